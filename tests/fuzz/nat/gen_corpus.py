#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the seed corpus of fuzz_nat.

Each seed is a 13-byte header, the format fuzz_nat.c reads:
    u8 ctl | new source (4) | new destination (4) | new sport (2) | new dport (2)
then one Ethernet frame. ctl bits 0-3 say which of the four the rewrite
changes; bit 4 picks worker 1 for the binding. Frames carry correct
checksums so that the target's "a valid frame stays valid" check has work:
TCP, UDP (with and without a checksum), UDP-Lite, ICMP echo and errors
quoting TCP, UDP and echo (whole and cut to 8 bytes), VLAN, IP options,
fragments, GRE, DCCP, SCTP. Deterministic: same files every run.

usage: gen_corpus.py OUTDIR
"""

import os
import struct
import sys

INSIDE, SERVER = bytes([10, 1, 0, 7]), bytes([192, 0, 2, 1])
POOL, PUBLIC, FWD = bytes([198, 51, 100, 1]), bytes([198, 51, 100, 20]), bytes([10, 0, 0, 5])
BLOCKSUB = bytes([10, 2, 0, 9])


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def eth(tags=()):
    h = bytes.fromhex("020000000001020000000002")
    for i, tpid in enumerate(tags):
        h += struct.pack("!HH", tpid, 100 + i)
    return h + struct.pack("!H", 0x0800)


def ip4(proto, src, dst, l4, frag=0, opts=b"", l4csum=True, cov=None):
    ihl = 5 + len(opts) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(l4), 0x1234, frag, 64,
                      proto, 0, src, dst) + opts
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    l4 = bytearray(l4)
    if l4csum and frag & 0x3fff == 0:
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(l4))
        if proto == 6:
            l4[16:18] = b"\0\0"
            l4[16:18] = struct.pack("!H", csum(pseudo + bytes(l4)))
        elif proto in (17, 136):
            l4[6:8] = b"\0\0"
            n = len(l4) if proto == 17 or cov in (None, 0) else cov
            c = csum(pseudo + bytes(l4[:n]))
            l4[6:8] = struct.pack("!H", c or 0xffff)
        elif proto == 1:
            l4[2:4] = b"\0\0"
            l4[2:4] = struct.pack("!H", csum(bytes(l4)))
    return hdr + bytes(l4)


def tcp(sp, dp, flags=0x02, payload=b""):
    return struct.pack("!HHIIBBHHH", sp, dp, 1000, 0, 5 << 4, flags, 29200, 0, 0) + payload


def udp(sp, dp, payload=b"", ulen=None):
    return struct.pack("!HHHH", sp, dp, ulen if ulen is not None else 8 + len(payload), 0) + \
        payload


def icmp(t, code=0, ident=0, payload=b""):
    return struct.pack("!BBHHH", t, code, 0, ident, 1) + payload


def seed(frame, ctl=0x0f, src=POOL, dst=SERVER, sport=1111, dport=2222):
    return struct.pack("!B4s4sHH", ctl, src, dst, sport, dport) + frame


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    s = {}
    s["tcp_snat"] = seed(eth() + ip4(6, INSIDE, SERVER, tcp(40000, 80, payload=b"hi")), 0x05)
    s["tcp_dnat"] = seed(eth() + ip4(6, SERVER, PUBLIC, tcp(5555, 85)), 0x0a, dst=FWD,
                         dport=8085)
    s["tcp_reply"] = seed(eth() + ip4(6, SERVER, POOL, tcp(80, 1030, 0x12)), 0x0a,
                          dst=INSIDE, dport=40000)
    s["tcp_vlan"] = seed(eth((0x8100,)) + ip4(6, INSIDE, SERVER, tcp(1, 2)), 0x1f)
    s["tcp_opts"] = seed(eth() + ip4(6, INSIDE, SERVER, tcp(3, 4), opts=bytes([1, 1, 1, 0])))
    s["udp"] = seed(eth() + ip4(17, INSIDE, SERVER, udp(5353, 53, b"query")), 0x05)
    s["udp_nocsum"] = seed(eth() + ip4(17, INSIDE, SERVER, udp(5353, 53, b"q"), l4csum=False))
    s["udp_block"] = seed(eth() + ip4(17, BLOCKSUB, SERVER, udp(5353, 53, b"q")), 0x15)
    s["udplite"] = seed(eth() + ip4(136, INSIDE, SERVER, udp(7, 8, b"lite", ulen=8), cov=8))
    s["udplite_full"] = seed(eth() + ip4(136, INSIDE, SERVER, udp(7, 8, b"lite", ulen=0), cov=0))
    s["echo"] = seed(eth() + ip4(1, INSIDE, SERVER, icmp(8, 0, 77, b"p" * 24)), 0x05)
    s["echo_reply"] = seed(eth() + ip4(1, SERVER, POOL, icmp(0, 0, 1030, b"p" * 24)), 0x0a,
                           dst=INSIDE, dport=77)
    s["timestamp"] = seed(eth() + ip4(1, INSIDE, SERVER, icmp(13, 0, 5, bytes(12))))
    q_tcp = ip4(6, POOL, SERVER, tcp(1030, 80))
    q_udp = ip4(17, POOL, SERVER, udp(1030, 53, b"query"))
    q_echo = ip4(1, POOL, SERVER, icmp(8, 0, 1030, b"ping"))
    for name, q in (("tcp", q_tcp), ("udp", q_udp), ("echo", q_echo)):
        s["error_" + name] = seed(eth() + ip4(1, SERVER, POOL, icmp(3, 3, 0) + q), 0x05,
                                  src=INSIDE, sport=40000)
        s["error_" + name + "_8"] = seed(eth() + ip4(1, SERVER, POOL, icmp(11, 0, 0) + q[:28]),
                                         0x05, src=INSIDE, sport=40000)
    s["error_dnat"] = seed(eth() + ip4(1, bytes([10, 0, 0, 254]), SERVER, icmp(3, 1, 0) +
                                       ip4(6, SERVER, FWD, tcp(5555, 8085))), 0x0a,
                           dst=PUBLIC, dport=85)
    s["fragment_first"] = seed(eth() + ip4(17, INSIDE, SERVER, udp(1, 2, bytes(32), ulen=3000),
                                           frag=0x2000))
    s["fragment_later"] = seed(eth() + ip4(17, INSIDE, SERVER, bytes(48), frag=185), 0x03)
    s["gre"] = seed(eth() + ip4(47, INSIDE, SERVER, bytes(24)), 0x03)
    s["dccp"] = seed(eth() + ip4(33, INSIDE, SERVER, struct.pack("!HHBB", 1, 2, 3, 0) +
                                 bytes(12)), 0x01)
    s["sctp"] = seed(eth() + ip4(132, INSIDE, SERVER, struct.pack("!HH", 1, 2) + bytes(16)))
    # ctl bit 6: the rewrite is also told of fewer bytes (dport's low byte fewer).
    s["tcp_cut"] = seed(eth() + ip4(6, INSIDE, SERVER, tcp(40000, 80)), 0x4f, dport=0x0a0a)
    s["error_udp_cut"] = seed(eth() + ip4(1, SERVER, POOL, icmp(3, 3, 0) + q_udp), 0x45,
                              src=INSIDE, sport=40000, dport=30)
    s["echo_cut"] = seed(eth() + ip4(1, INSIDE, SERVER, icmp(8, 0, 77, b"p" * 4)), 0x45,
                         dport=14)
    s["short"] = seed(eth() + ip4(6, INSIDE, SERVER, tcp(1, 2))[:30])
    for name, data in s.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
