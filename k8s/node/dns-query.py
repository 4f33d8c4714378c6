"""One DNS A query over UDP: dns-query.py SERVER NAME. Prints the answer's addresses and
exits 0 when there is at least one, 1 otherwise (used to wait for CoreDNS)."""

import socket
import struct
import sys

server, name = sys.argv[1], sys.argv[2]
query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
query += b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
query += struct.pack(">HH", 1, 1)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(2)
sock.sendto(query, (server, 53))
reply = sock.recv(4096)
rcode, answers = reply[3] & 0x0F, struct.unpack(">H", reply[6:8])[0]
# skip the question, then read A records (names are compressed pointers in CoreDNS replies)
pos = len(query)
addresses = []
for _ in range(answers):
    while reply[pos] != 0 and reply[pos] & 0xC0 != 0xC0:
        pos += reply[pos] + 1
    pos += 2 if reply[pos] & 0xC0 == 0xC0 else 1
    rtype, _, _, length = struct.unpack(">HHIH", reply[pos : pos + 10])
    pos += 10
    if rtype == 1:
        addresses.append(socket.inet_ntoa(reply[pos : pos + length]))
    pos += length
print(f"{name}: rcode {rcode}, {' '.join(addresses) or 'no address'}")
sys.exit(0 if rcode == 0 and addresses else 1)
