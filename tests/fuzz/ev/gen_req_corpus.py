#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the corpus of fuzz_ev_request (fuzz_req.c): chunk lists
[op][len][bytes] with subscribe, dump, unsubscribe and garbage requests.
Usage: gen_req_corpus.py DIR"""
import os
import struct
import sys

NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
SUB, UNSUB, CT_GET = 0x20, 0x21, (1 << 8) | 1
EXP_GET = (2 << 8) | 1  # NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_GET
MASK_EXP = 0x38         # NFNLGRP_CONNTRACK_EXP_NEW/_UPDATE/_DESTROY as group bits


def nlmsg(typ, flags, seq, payload):
    return struct.pack('=IHHII', 16 + len(payload), typ, flags, seq, 0) + payload


def sub(flags=0, mask=7, bufsize=None, version=1):
    p = struct.pack('=III', version, flags, mask)
    if bufsize is not None:
        p += struct.pack('=I', bufsize)
    return nlmsg(SUB, NLM_F_REQUEST | NLM_F_ACK, 1, p)


def dump(family=0, typ=CT_GET, flags=NLM_F_REQUEST | NLM_F_DUMP):
    return nlmsg(typ, flags, 2, struct.pack('=BBH', family, 0, 0))


def chunk(op, conn, data=b''):
    return bytes([(op & 3) | (conn << 2) | 0x40, len(data)]) + data


def step(n, byte=0x05):
    return chunk(2, 0, bytes([byte]) * n)


CASES = {
    'subscribe_step': chunk(1, 0) + chunk(0, 0, sub()) + step(10, 0x01) + step(5, 0x04),
    'reliable_refused': chunk(1, 1, b'\x01') + chunk(0, 1, sub(1)) + step(3),
    'reliable_root': chunk(1, 0) + chunk(0, 0, sub(1, 4, 4096)) + step(30, 0x04) +
    step(30, 0x84),
    'dump': chunk(1, 0) + chunk(0, 0, dump()) + step(1) + step(1) + step(1),
    'dump_follow': chunk(1, 0) + chunk(0, 0, sub() + dump(2)) + step(20) + step(20),
    'dump_busy': chunk(1, 0) + chunk(0, 0, dump() + dump()) + chunk(3, 0) + step(1),
    'unsubscribe': chunk(1, 0) + chunk(0, 0, sub()) +
    chunk(0, 0, nlmsg(UNSUB, NLM_F_REQUEST | NLM_F_ACK, 3, b'')) + step(2),
    'garbage': chunk(1, 2, b'\x02') + chunk(0, 2, b'\xff' * 40) +
    chunk(0, 2, nlmsg(0x55, 1, 1, b'xx')) + chunk(0, 2, b'\x10\x00\x00\x00'),
    'many_peers': b''.join(chunk(1, c) + chunk(0, c, sub(c & 1)) for c in range(4)) +
    step(32, 0x04) + chunk(3, 1) + step(32, 0x84),
    'exp_subscribe': chunk(1, 0) + chunk(0, 0, sub(1, MASK_EXP | 7, 4096)) +
    step(20, 0x41) + step(20, 0x42) + step(10, 0x05),
    'exp_refused': chunk(1, 0) + chunk(0, 0, sub(1, MASK_EXP, 4096)) +
    b''.join(step(32, 0x43) for _ in range(8)),
    'exp_only_new': chunk(1, 0) + chunk(0, 0, sub(0, 0x08)) + step(16, 0x41) + step(16, 0x42),
    'exp_bad_mask': chunk(1, 0) + chunk(0, 0, sub(0, 0x40)),
    'exp_dump': chunk(1, 0) + chunk(0, 0, dump(0, EXP_GET)) + step(1) + step(1) + step(1),
    'exp_dump_v6': chunk(1, 0) + chunk(0, 0, dump(10, EXP_GET) + dump()) + step(1) + step(1),
    'exp_get_nodump': chunk(1, 0) + chunk(0, 0, dump(0, EXP_GET, NLM_F_REQUEST)),
    'dump_filter': chunk(1, 0) + chunk(0, 0, nlmsg(CT_GET, NLM_F_REQUEST | NLM_F_DUMP, 9,
                                                   struct.pack('=BBH', 2, 0, 0) +
                                                   struct.pack('=HHI', 8, 8, 1))),
}


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for name, data in CASES.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)


main()
