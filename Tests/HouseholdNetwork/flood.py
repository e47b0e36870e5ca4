"""A LAN flood: QUERIES copies of one EDNS query to SERVER PORT as fast as a socket sends, reading what comes
back as it goes. Prints 'sent BYTES received BYTES replies N'. Bounded: the count given, then 1 s of quiet."""
import socket
import struct
import sys

server, port, name, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
question = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0" + struct.pack("!HH", 16, 1)
opt = b"\0" + struct.pack("!HHIH", 41, 4096, 0, 0)
family = socket.AF_INET6 if ":" in server else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.connect((server, port))
sent = received = replies = 0


def drain(timeout):
    global received, replies
    sock.settimeout(timeout)
    while True:
        try:
            data = sock.recv(65535)
        except (socket.timeout, BlockingIOError):
            return
        received += len(data)
        replies += 1


for i in range(count):
    packet = struct.pack("!HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 1) + question + opt
    sock.send(packet)
    sent += len(packet)
    if i % 20 == 19:
        drain(0)
drain(1.0)
print(f"sent {sent} received {received} replies {replies}")
