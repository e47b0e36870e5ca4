#!/usr/bin/env bash
# A household on one bridge, for tests: phone, tv and laptop in network namespaces with veth pairs and fixed
# MACs, addresses from a real DHCP server (dnsmasq, DNS off) and a real DHCP client (busybox udhcpc).
#   household.sh up ID DIR     creates it; DIR gets the lease file, dnsmasq's pid and a summary (env file)
#   household.sh down ID DIR   removes everything `up` made (namespaces, bridge, dnsmasq by its PID)
# ID is a number 1-250: the bridge is hb-ID, the LAN 10.77.ID.0/24 and fd77:0:0:ID::/64.
set -euo pipefail
action=$1 id=$2 dir=$3
bridge="hb-$id"
devices=(phone tv laptop)
ns() { echo "hh$id-$1"; }

down() {
  [[ -f $dir/dnsmasq.pid ]] && kill "$(cat "$dir/dnsmasq.pid")" 2>/dev/null || true
  for device in "${devices[@]}"; do ip netns del "$(ns "$device")" 2>/dev/null || true; done
  ip link del "$bridge" 2>/dev/null || true
}

if [[ $action == down ]]; then down; exit 0; fi

mkdir -p "$dir"
down
ip link add "$bridge" type bridge
ip link set "$bridge" address "02:77:00:00:$(printf %02x "$id"):01"
ip addr add "10.77.$id.1/24" dev "$bridge"
ip -6 addr add "fd77:0:0:$id::1/64" dev "$bridge" nodad
ip link set "$bridge" up

cat > "$dir/udhcpc.script" <<'SCRIPT'
#!/bin/sh
[ "$1" = bound ] || [ "$1" = renew ] || exit 0
ip addr add "$ip/${mask:-24}" dev "$interface"
SCRIPT
chmod +x "$dir/udhcpc.script"

: > "$dir/leases"
dnsmasq --port=0 --interface="$bridge" --bind-interfaces --except-interface=lo \
  --dhcp-range="10.77.$id.100,10.77.$id.199,1h" --dhcp-leasefile="$dir/leases" --dhcp-authoritative \
  --pid-file="$dir/dnsmasq.pid" --no-resolv --no-hosts --log-facility="$dir/dnsmasq.log"

: > "$dir/env"
index=0
for device in "${devices[@]}"; do
  index=$((index + 1))
  name=$(ns "$device")
  mac="02:77:00:$(printf %02x "$id"):00:$(printf %02x "$index")"
  ip netns add "$name"
  ip link add "h$id-$device" type veth peer name eth0 netns "$name"
  ip link set "h$id-$device" master "$bridge" up
  ip -n "$name" link set eth0 address "$mac"
  ip -n "$name" link set lo up
  ip -n "$name" link set eth0 up
  # Two IPv6 addresses, as a phone with a stable and a temporary address has.
  ip -n "$name" -6 addr add "fd77:0:0:$id::${index}0/64" dev eth0 nodad
  ip -n "$name" -6 addr add "fd77:0:0:$id::${index}1/64" dev eth0 nodad
  ip netns exec "$name" busybox udhcpc -i eth0 -n -q -t 10 -T 1 -x "hostname:$device" -s "$dir/udhcpc.script" >/dev/null 2>&1
  address=$(ip -n "$name" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
  [[ -n $address ]] || { echo "no DHCP lease for $device" >&2; exit 1; }
  echo "$device $name $mac $address fd77:0:0:$id::${index}0 fd77:0:0:$id::${index}1" >> "$dir/env"
done
