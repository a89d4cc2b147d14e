#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Seeds for fuzz_ipfix: event records as the target cuts its input, each a
192-byte struct ct_event_rec (lib/conntrack/ct.h, x86-64 layout) followed by
its 32-byte interim base. Plain biflows, translated ones (SNAT, DNAT, ICMP)
and port blocks. Run: tests/fuzz/ipfix/gen_corpus.py tests/fuzz/ipfix/corpus"""

import os
import socket
import struct
import sys

CT_S_SRC_NAT, CT_S_DST_NAT = 1 << 4, 1 << 5
CT_S_SRC_NAT_DONE, CT_S_DST_NAT_DONE = 1 << 7, 1 << 8
CT_EV_DESTROY = 1 << 2
CT_REC_F_INTERIM, CT_REC_F_NAT_BLOCK = 0x04, 0x08


def tuple4(proto, src, sport, dst, dport, zone=0):
    """struct ct_tuple: src[16] dst[16] sport dport proto family zone (40 bytes)."""
    a = socket.inet_aton(src) + bytes(12)
    b = socket.inet_aton(dst) + bytes(12)
    return a + b + struct.pack('<HHBBH', sport, dport, proto, 4, zone)


def tuple6(proto, src, sport, dst, dport):
    return (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
            struct.pack('<HHBBH', sport, dport, proto, 6, 0))


def reverse(t):
    return t[16:32] + t[0:16] + t[34:36] + t[32:34] + t[36:]


def rec(orig, reply, i, status=0, events=CT_EV_DESTROY, flags=0, block=(0, 0, 0),
        interim_base=False):
    t0 = 1767225600 * 10**9
    body = orig + struct.pack('<QQQQQQIIIHHHBBIIIBBBBBBBB',
                              10 + i, 5 + i, 1000 + i, 700 + i, t0 + i * 10**9,
                              t0 + (i + 30) * 10**9 if events & CT_EV_DESTROY else 0,
                              i, i, 0, 8 | 2 | status, events, 0, 3, flags, 0, 1234567,
                              0, 0, 0, 0, 0, 0x1b, 0, 1, 1 if events else 0)
    body += reply + struct.pack('<HHB', block[0], block[1], block[2]) + bytes(19)
    assert len(body) == 192, len(body)
    base = struct.pack('<QQQQ', 2, 1, 100, 50) if interim_base else bytes(32)
    return body + base


def snat(i, proto=6, interim=False):
    o = tuple4(proto, '10.0.0.2', 40000 + i, '192.0.2.1', 80)
    r = tuple4(proto, '192.0.2.1', 80, '198.51.100.1', 1024 + i)
    return rec(o, r, i, CT_S_SRC_NAT | CT_S_SRC_NAT_DONE, 0 if interim else CT_EV_DESTROY,
               CT_REC_F_INTERIM if interim else 0, interim_base=interim)


def dnat(i):
    o = tuple4(17, '203.0.113.9', 5000 + i, '198.51.100.20', 80)
    r = tuple4(17, '10.0.0.5', 8080, '203.0.113.9', 5000 + i)
    return rec(o, r, i, CT_S_DST_NAT | CT_S_DST_NAT_DONE)


def icmp_snat(i):
    # An echo: sport = id, dport = type 8; the reply's dport = translated id.
    o = tuple4(1, '10.0.0.2', 0x1234, '192.0.2.1', 8)
    r = tuple4(1, '192.0.2.1', 8, '198.51.100.1', 2000 + i)
    return rec(o, r, i, CT_S_SRC_NAT | CT_S_SRC_NAT_DONE)


def block(i, event, lo, hi):
    o = tuple4(0, '10.1.2.%d' % (i + 1), 0, '0.0.0.0', 0, zone=9)
    r = tuple4(0, '0.0.0.0', 0, '203.0.113.1', 0)
    return rec(o, r, i, 0, 0, CT_REC_F_NAT_BLOCK, (lo, hi, event))


def plain(i, v6=False):
    o = tuple6(17, '2001:db8::1', 53, '2001:db8::2', 4000 + i) if v6 else \
        tuple4(6, '10.9.9.9', 1234 + i, '192.0.2.7', 443)
    return rec(o, reverse(o), i)


SEEDS = {
    'recs_1': [plain(1)],
    'recs_2': [plain(1), plain(2, v6=True)],
    'recs_5': [plain(i, v6=i % 2 == 1) for i in range(5)],
    'nat_snat': [snat(1), snat(2, interim=True), icmp_snat(3)],
    'nat_dnat': [dnat(1), dnat(2)],
    'nat_block': [block(0, 1, 1536, 2047), block(1, 2, 1024, 1024)],
    'nat_mix': [plain(1), snat(2), block(3, 1, 2048, 2559), dnat(4), plain(5, v6=True),
                icmp_snat(6), block(7, 2, 2048, 2559), snat(8, proto=17)],
}


def main():
    d = sys.argv[1]
    for name, recs in SEEDS.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(b''.join(recs))


if __name__ == '__main__':
    main()
