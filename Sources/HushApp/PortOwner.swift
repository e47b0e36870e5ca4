import Foundation

/// Who holds a port Hush could not bind, found through /proc, and what to do about it.
enum PortOwner {
    static func describe(port: UInt16) -> String? {
        var inodes = Set<String>()
        for table in ["/proc/net/udp", "/proc/net/udp6", "/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 9, let local = fields[1].split(separator: ":").last,
                      UInt16(local, radix: 16) == port else { continue }
                inodes.insert(String(fields[9]))
            }
        }
        guard !inodes.isEmpty else { return nil }
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for pid in processes where Int(pid) != nil {
            let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            for fd in descriptors {
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                      target.hasPrefix("socket:["), inodes.contains(String(target.dropFirst(8).dropLast())) else { continue }
                let name = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
                return "\(name) (pid \(pid)) holds port \(port). " + advice(for: name)
            }
        }
        return "another process holds port \(port) (not visible from here: try `ss -lunp 'sport = :\(port)'` as root)."
    }

    static func advice(for name: String) -> String {
        switch name {
        case "systemd-resolve", "systemd-resolved":
            "Turn off its stub listener: set DNSStubListener=no in /etc/systemd/resolved.conf, then `systemctl restart systemd-resolved`."
        case "dnsmasq":
            "Stop it (`systemctl disable --now dnsmasq`), or keep it for DHCP only with `port=0` in its config."
        case "named", "unbound", "pihole-FTL", "AdGuardHome", "blocky":
            "Another DNS server is running: stop it, or give Hush another --listen address."
        case "hush":
            "Hush is already running."
        default:
            "Stop it, or give Hush another --listen address."
        }
    }
}
