#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the seed corpus of fuzz_ct_packet.

Each seed is a sequence of records (u8 ctl, u16 little-endian length, frame),
the format fuzz_parse.c reads: whole conversations (TCP open/close over IPv4,
IPv6 and VLANs, UDP, ICMP echo and errors, fragments, generic protocols) and
malformed frames of every kind the parser rejects. A few seeds are single raw
frames, for the whole-input parse. Deterministic: same files every run.

usage: gen_corpus.py OUTDIR
"""

import os
import struct
import sys

A4, B4 = bytes([192, 0, 2, 1]), bytes([198, 51, 100, 7])
A6 = bytes.fromhex("20010db8000000000000000000000001")
B6 = bytes.fromhex("20010db8000100000000000000000022")
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def eth(et, tags=()):
    h = bytes.fromhex("020000000001020000000002")
    for i, tpid in enumerate(tags):
        h += struct.pack("!HH", tpid, 100 + i)
    return h + struct.pack("!H", et)


def ip4(proto, src, dst, payload, frag=0, opts=b"", totlen=None):
    ihl = 5 + len(opts) // 4
    tot = totlen if totlen is not None else ihl * 4 + len(payload)
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, 0x1234, frag, 64, proto, 0,
                       src, dst) + opts + payload


def ip6(nh, src, dst, payload, plen=None):
    pl = plen if plen is not None else len(payload)
    return struct.pack("!IHBB16s16s", 0x60000000, pl, nh, 64, src, dst) + payload


def ext(nh, body_len8=0):
    return struct.pack("!BB", nh, body_len8) + bytes(6 + 8 * body_len8)


def frag6(nh, off8, more):
    return struct.pack("!BBHI", nh, 0, (off8 << 3) | more, 0xabcd)


def tcp(sp, dp, flags, seq=1000, ack=0, payload=b"", doff=5):
    return struct.pack("!HHIIBBHHH", sp, dp, seq, ack, doff << 4, flags, 29200, 0, 0) + \
        bytes(4 * max(doff - 5, 0)) + payload


def udp(sp, dp, payload=b"", ulen=None):
    return struct.pack("!HHHH", sp, dp, ulen if ulen is not None else 8 + len(payload), 0) + \
        payload


def icmp(t, code=0, ident=0, payload=b""):
    return struct.pack("!BBHHH", t, code, 0, ident, 1) + payload


def v4(proto, l4, src=A4, dst=B4, tags=(), **kw):
    return eth(0x0800, tags) + ip4(proto, src, dst, l4, **kw)


def v6(nh, l4, src=A6, dst=B6, tags=(), **kw):
    return eth(0x86dd, tags) + ip6(nh, src, dst, l4, **kw)


def rec(frame, ctl=0):
    return struct.pack("<BH", ctl, len(frame)) + frame


def tcp_conv(mk, c, s, tags=(), ctl=None):
    """A whole TCP connection: open, data both ways, close."""
    seq = [
        (c, s, SYN), (s, c, SYN | ACK), (c, s, ACK), (c, s, PSH | ACK),
        (s, c, PSH | ACK), (c, s, FIN | ACK), (s, c, ACK), (s, c, FIN | ACK), (c, s, ACK),
    ]
    out = b""
    for i, (src, dst, fl) in enumerate(seq):
        pl = b"hello" if fl & PSH else b""
        out += rec(mk(6, tcp(40000 if src == c else 80, 80 if src == c else 40000, fl,
                             payload=pl), src=src, dst=dst, tags=tags),
                   ctl=((i % 4) | 0x20) if ctl is None else ctl)
    return out


TAG_C, TAG_S = 0x11111111, 0x22222222


def chunk(ctype, flags=0, body=b""):
    c = struct.pack("!BBH", ctype, flags, 4 + len(body)) + body
    return c + bytes(-len(c) % 4)


def init_body(tag):
    return struct.pack("!IIHHI", tag, 65536, 10, 10, tag ^ 0x1234)


def sctp(sp, dp, vtag, chunks):
    return struct.pack("!HHII", sp, dp, vtag, 0) + b"".join(chunks)


def sctp_conv(mk, c, s, close=True):
    """An SCTP association from c to s: handshake, DATA, SACK and the SHUTDOWN sequence."""
    fwd = [(0, [chunk(1, 0, init_body(TAG_C))]),
           (TAG_C, [chunk(2, 0, init_body(TAG_S) + struct.pack("!HHI", 7, 8, 1))]),
           (TAG_S, [chunk(10, 0, bytes(4))]), (TAG_C, [chunk(11)]),
           (TAG_S, [chunk(0, 3, bytes(16) + b"data")]), (TAG_C, [chunk(3, 0, bytes(12))])]
    if close:
        fwd += [(TAG_S, [chunk(7, 0, bytes(4))]), (TAG_C, [chunk(8)]), (TAG_S, [chunk(14)])]
    out = b""
    for i, (tag, chunks) in enumerate(fwd):
        if tag in (0, TAG_S):
            out += rec(mk(132, sctp(5000, 36412, tag, chunks), src=c, dst=s))
        else:
            out += rec(mk(132, sctp(36412, 5000, tag, chunks), src=s, dst=c))
    return out


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = {}
    seeds["tcp4_conversation"] = tcp_conv(v4, A4, B4)
    seeds["tcp6_conversation"] = tcp_conv(v6, A6, B6)
    seeds["tcp4_vlan_conversation"] = tcp_conv(v4, A4, B4, tags=(0x8100,))
    seeds["tcp6_qinq_conversation"] = tcp_conv(v6, A6, B6, tags=(0x88a8, 0x8100))
    seeds["tcp4_rst_reopen"] = b"".join([
        rec(v4(6, tcp(1, 2, SYN))), rec(v4(6, tcp(2, 1, RST | ACK), src=B4, dst=A4)),
        rec(v4(6, tcp(1, 2, SYN)), 0x21), rec(v4(6, tcp(2, 1, SYN | ACK), src=B4, dst=A4)),
        rec(v4(6, tcp(1, 2, ACK))), rec(v4(6, tcp(1, 2, RST)), 0x2a), rec(v4(6, tcp(1, 2, SYN))),
    ])
    seeds["tcp4_simultaneous_open"] = b"".join([
        rec(v4(6, tcp(5, 6, SYN))), rec(v4(6, tcp(6, 5, SYN), src=B4, dst=A4)),
        rec(v4(6, tcp(5, 6, SYN | ACK))), rec(v4(6, tcp(6, 5, SYN | ACK), src=B4, dst=A4)),
        rec(v4(6, tcp(6, 5, ACK), src=B4, dst=A4)),
    ])
    seeds["tcp4_pickup"] = b"".join(
        rec(v4(6, tcp(7, 8, ACK | PSH, payload=b"x" * 10), src=s, dst=d), 0x05)
        for s, d in [(A4, B4), (B4, A4)] * 3)
    seeds["udp4_stream"] = b"".join(
        rec(v4(17, udp(5353, 53, b"q" * 12), src=s, dst=d), 0x0b) for s, d in [(A4, B4), (B4, A4)] * 4)
    seeds["udp6_exthdrs"] = b"".join([
        rec(v6(0, ext(43) + ext(60, 1) + ext(17) + udp(1, 2, b"abc"))),
        rec(v6(17, udp(2, 1, b"def"), src=B6, dst=A6), 0x2c),
    ])
    seeds["icmp4_echo"] = rec(v4(1, icmp(8, 0, 77, b"p" * 56))) + \
        rec(v4(1, icmp(0, 0, 77, b"p" * 56), src=B4, dst=A4), 0x20)
    seeds["icmp6_echo"] = rec(v6(58, icmp(128, 0, 9))) + rec(v6(58, icmp(129, 0, 9), src=B6, dst=A6))
    quoted4 = ip4(6, A4, B4, tcp(40000, 80, SYN)[:8], totlen=60)
    seeds["icmp4_error"] = rec(v4(6, tcp(40000, 80, SYN))) + \
        rec(v4(1, icmp(3, 3, 0) + quoted4, src=B4, dst=A4), 0x20) + \
        rec(v4(1, icmp(11, 0, 0) + ip4(1, A4, B4, icmp(8, 0, 5)), src=B4, dst=A4))
    quoted6 = ip6(17, A6, B6, udp(4000, 53)[:8], plen=100)
    seeds["icmp6_error"] = rec(v6(17, udp(4000, 53))) + \
        rec(v6(58, icmp(1, 4, 0) + quoted6, src=B6, dst=A6)) + \
        rec(v6(58, icmp(2, 0, 0) + ip6(60, A6, B6, ext(17) + udp(4000, 53)), src=B6, dst=A6))
    seeds["icmp_untracked_and_invalid"] = rec(v6(58, icmp(135) + bytes(16))) + \
        rec(v6(58, icmp(137) + bytes(32))) + rec(v4(1, icmp(9)))
    seeds["generic"] = rec(v4(47, bytes(24))) + rec(v4(47, bytes(24), src=B4, dst=A4)) + \
        rec(v6(50, bytes(40))) + rec(v6(59, b""))
    seeds["fragments"] = b"".join([
        rec(v4(17, udp(1, 2, bytes(64), ulen=3000), frag=0x2000)),
        rec(v4(17, bytes(100), frag=185)),
        rec(v4(6, tcp(1, 2, ACK)[:12], frag=0x2000)),
        rec(v6(44, frag6(17, 0, 1) + udp(9, 10, bytes(32), ulen=5000))),
        rec(v6(44, frag6(17, 100, 1) + bytes(64))),
    ])
    seeds["malformed"] = b"".join([
        rec(b"\x02\x00\x00"),
        rec(eth(0x8100)[:15]),
        rec(eth(0x0800) + b"\x45\x00"),
        rec(v4(17, udp(1, 2))[:14] + b"\x44" + v4(17, udp(1, 2))[15:]),
        rec(v4(17, udp(1, 2), totlen=19)),
        rec(v4(17, udp(1, 2), totlen=400)),
        rec(v4(6, tcp(1, 2, ACK, doff=4))),
        rec(v4(6, tcp(1, 2, ACK, doff=15))),
        rec(v4(6, tcp(1, 2, SYN | FIN))),
        rec(v4(6, tcp(1, 2, 0))),
        rec(v4(17, udp(1, 2, ulen=7))),
        rec(v4(17, udp(1, 2, ulen=90))),
        rec(v6(17, udp(1, 2), plen=900)),
        rec(v6(60, b"".join(ext(60) for _ in range(9)) + udp(1, 2))),
        rec(v6(43, ext(17, 200) [:8] + udp(1, 2))),
        rec(eth(0x0800, (0x88a8, 0x8100, 0x8100)) + ip4(17, A4, B4, udp(1, 2))),
        rec(v4(1, icmp(3, 1, 0) + ip4(1, A4, B4, icmp(3, 1, 0)), src=B4, dst=A4)),
        rec(eth(0x0806) + bytes(28)),
    ])
    # More flows than the fuzz shard's 64 entries: table full, early drop.
    seeds["table_full_syn"] = b"".join(
        rec(v4(6, tcp(10000 + i, 80, SYN)), 0x20 if i % 16 == 15 else 0) for i in range(100))
    seeds["udp_many_flows_zones"] = b"".join(
        rec(v4(17, udp(20000 + i, 53, b"z"), src=A4 if i % 3 else B4), 0x10 * (i & 1))
        for i in range(80))
    # Clock jumps (ctl & 15) that expire entries between packets.
    seeds["tcp4_time_jumps"] = tcp_conv(v4, A4, B4, ctl=0x2f) + tcp_conv(v4, B4, A4, ctl=0x2d)
    # Event ring accepting all, none, half or one record (ctl bits 6-7).
    seeds["ring_modes"] = b"".join(
        rec(v4(6, tcp(30000 + i, 443, SYN)), (i % 4) << 6 | 0x20) for i in range(24)) + \
        b"".join(rec(v4(6, tcp(30000 + i, 443, RST)), 0xc0 | 0x2f) for i in range(24))
    seeds["tcp4_challenge_ack"] = b"".join([
        rec(v4(6, tcp(1, 2, SYN))), rec(v4(6, tcp(2, 1, SYN | ACK), src=B4, dst=A4)),
        rec(v4(6, tcp(1, 2, ACK))), rec(v4(6, tcp(1, 2, FIN | ACK))),
        rec(v4(6, tcp(2, 1, FIN | ACK), src=B4, dst=A4)), rec(v4(6, tcp(1, 2, SYN))),
        rec(v4(6, tcp(2, 1, ACK), src=B4, dst=A4)), rec(v4(6, tcp(2, 1, ACK), src=B4, dst=A4)),
    ])
    seeds["tcp6_reopen_time_wait"] = tcp_conv(v6, A6, B6) + rec(v6(6, tcp(40000, 80, SYN))) + \
        rec(v6(6, tcp(80, 40000, SYN | ACK), src=B6, dst=A6))
    seeds["icmp4_queries"] = b"".join(
        rec(v4(1, icmp(t, 0, 3, bytes(12)), src=s, dst=d))
        for t, s, d in [(13, A4, B4), (14, B4, A4), (15, A4, B4), (16, B4, A4), (17, A4, B4),
                        (18, B4, A4), (0, A4, B4), (8, B4, A4)])
    seeds["icmp_error_without_flow"] = rec(v4(1, icmp(3, 3, 0) + quoted4, src=B4, dst=A4)) + \
        rec(v6(58, icmp(3, 0, 0) + quoted6, src=B6, dst=A6))
    # Single raw frames for the whole-input parse.
    seeds["raw_vlan_three_tags"] = eth(0x0800, (0x88a8, 0x8100, 0x8100)) + ip4(17, A4, B4, udp(1, 2))
    seeds["raw_bad_ihl"] = eth(0x0800) + b"\x4f" + ip4(17, A4, B4, udp(1, 2))[1:]
    seeds["raw_tcp_bad_flags"] = v4(6, tcp(1, 2, SYN | FIN))
    seeds["raw_exthdr_chain_9"] = v6(60, b"".join(ext(60) for _ in range(8)) + ext(17) + udp(1, 2))
    seeds["raw_frag4_first_short"] = v4(6, tcp(1, 2, ACK)[:12], frag=0x2000)
    seeds["raw_udp_bad_len"] = v4(17, udp(1, 2, ulen=90))
    seeds["raw_tcp4"] = v4(6, tcp(1234, 80, SYN))
    seeds["raw_tcp6_vlan"] = v6(6, tcp(1234, 80, SYN | ACK), tags=(0x8100,))
    seeds["raw_udp6_frag"] = v6(44, frag6(17, 0, 1) + udp(1, 2, bytes(16)))
    seeds["raw_icmp4_error"] = v4(1, icmp(3, 3) + quoted4, src=B4, dst=A4)
    seeds["raw_icmp6_error"] = v6(58, icmp(1, 4) + quoted6, src=B6, dst=A6)
    seeds["raw_ah_mobility"] = v6(51, struct.pack("!BB", 135, 4) + bytes(22) + ext(6) +
                                  tcp(1, 2, ACK))
    # SCTP: associations, wrong tags, the T bit, heartbeats, Linux's basic
    # chunk checks; GRE v0 and PPTP; DCCP (generic, ports 0).
    seeds["sctp4_association"] = sctp_conv(v4, A4, B4)
    seeds["sctp6_association"] = sctp_conv(v6, A6, B6)
    seeds["sctp4_abort_badtag"] = b"".join([
        sctp_conv(v4, A4, B4, close=False),
        rec(v4(132, sctp(5000, 36412, 0xdead, [chunk(0, 3, bytes(16))]))),
        rec(v4(132, sctp(36412, 5000, TAG_C, [chunk(6, 1)]), src=B4, dst=A4)),
        rec(v4(132, sctp(36412, 5000, TAG_S, [chunk(6, 1)]), src=B4, dst=A4))])
    seeds["sctp4_heartbeat_path"] = b"".join([
        rec(v4(132, sctp(5000, 36412, TAG_S, [chunk(4, 0, bytes(8))]))),
        rec(v4(132, sctp(36412, 5000, TAG_C, [chunk(5, 0, bytes(8))]), src=B4, dst=A4)),
        rec(v4(132, sctp(5000, 36412, 0x77, [chunk(4, 0, bytes(8))]))),
        rec(v4(132, sctp(36412, 5000, 0x88, [chunk(5, 0, bytes(8))]), src=B4, dst=A4))])
    seeds["sctp4_bad_chunks"] = b"".join([
        rec(v4(132, sctp(5000, 36412, 0, [chunk(1, 0, init_body(TAG_C)), chunk(0, 3)]))),
        rec(v4(132, sctp(5000, 36412, TAG_S, [chunk(0, 3), chunk(10, 0)]))),
        rec(v4(132, sctp(5000, 36412, TAG_S, []))),
        rec(v4(132, sctp(5000, 36412, 0, [chunk(1, 0, bytes(4))]))),
        rec(v4(132, sctp(5000, 36412, TAG_S, [chunk(4, 0)] * 8))),
        rec(v4(132, sctp(5000, 36412, TAG_S, [struct.pack("!BBH", 0, 0, 0)])))])
    seeds["gre_v0_and_pptp"] = b"".join([
        rec(v4(47, struct.pack("!HH", 0, 0x0800) + bytes(20))),
        rec(v4(47, struct.pack("!HH", 0, 0x0800) + bytes(20), src=B4, dst=A4)),
        rec(v4(47, struct.pack("!BBHHHI", 0x30, 1, 0x880b, 4, 0x1234, 1) + bytes(4))),
        rec(v4(47, struct.pack("!BBHHHI", 0x30, 1, 0x880b, 4, 0x4321, 1) + bytes(4),
               src=B4, dst=A4)),
        rec(v4(47, struct.pack("!BBHHH", 0x20, 1, 0x0800, 4, 0x1234))),
        rec(v4(47, b"\x00"))])
    seeds["dccp4_conversation"] = b"".join(
        rec(v4(33, struct.pack("!HHBBHBB", 5000, 5004, 4, 0, 0, (t << 1) | 1, 0) + bytes(6),
               **({"src": B4, "dst": A4} if r else {})))
        for t, r in ((0, 0), (1, 1), (3, 0), (2, 0), (6, 0), (7, 1)))
    seeds["raw_sctp4_init"] = v4(132, sctp(5000, 36412, 0, [chunk(1, 0, init_body(TAG_C))]))
    total = 0
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        total += len(data)
    print("%d seeds, %d bytes" % (len(seeds), total))


if __name__ == "__main__":
    main()
