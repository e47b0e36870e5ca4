#!/usr/bin/env python3
"""Starts a command, then asks 127.0.0.1:PORT for NAME every 10 ms until the answer is 0.0.0.0 (blocked).
Prints: seconds from start to that first blocked answer, and the process's resident MiB at that moment.
The process is left running; its PID is written to PIDFILE. Usage: first-answer.py PORT NAME PIDFILE -- CMD..."""
import os
import random
import socket
import struct
import subprocess
import sys
import time

port, name, pidfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
command = sys.argv[sys.argv.index("--") + 1:]

def query(qname):
    ident = random.randint(0, 65535)
    packet = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    packet += b"".join(bytes([len(label)]) + label.encode() for label in qname.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    return packet

def resident_mib(pid):
    total = 0
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            total = int(line.split()[1]) / 1024
    return total

started = time.monotonic()
process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
open(pidfile, "w").write(str(process.pid))
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(0.01)
while time.monotonic() - started < 120:
    try:
        sock.sendto(query(name), ("127.0.0.1", port))
        reply = sock.recv(4096)
        if reply.endswith(b"\x00\x04\x00\x00\x00\x00"):   # A record 0.0.0.0 at the end
            print(f"{time.monotonic() - started:.2f} {resident_mib(process.pid):.0f}")
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.01)
print("timeout -")
sys.exit(1)
