#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Seeds for fuzz_sync: conntrackd-format datagrams (docs/ha.md)."""
import os
import struct
import sys


def attr(t, v):
    a = struct.pack('>HH', 4 + len(v), t) + v
    return a + b'\0' * ((4 - len(a) % 4) % 4)


def msg(mtype, flags, seq, body):
    return struct.pack('>BBHI', 0x10 | mtype, flags, 8 + len(body), seq) + body


def ctl(flags, seq, frm=0, to=0):
    if flags & 0x0e:
        return struct.pack('>BBHIII', 0x1a, flags, 16, seq, frm, to)
    return struct.pack('>BBHI', 0x1a, flags, 8, seq)


def tcp4(status=0x0e, snat=False):
    b = attr(0, bytes([10, 0, 0, 1, 10, 0, 0, 2])) + attr(5, struct.pack('>I', status))
    b += attr(2, b'\x06') + attr(3, struct.pack('>HH', 40000, 80)) + attr(4, b'\x03')
    b += attr(25, b'\x07') + attr(26, b'\x07') + attr(6, struct.pack('>I', 432000))
    if snat:
        b += attr(12, bytes([33, 2, 0, 192])) + attr(14, struct.pack('<H', 61000))
    return b


def udp6():
    a = bytes([0x20] + [0] * 14 + [1]) + bytes([0x20] + [0] * 14 + [2])
    return attr(1, a) + attr(5, struct.pack('>I', 0x08)) + attr(2, b'\x11') + \
        attr(3, struct.pack('>HH', 5353, 53)) + attr(6, struct.pack('>I', 30))


def icmp4():
    return attr(0, bytes([1, 2, 3, 4, 5, 6, 7, 8])) + attr(5, struct.pack('>I', 8)) + \
        attr(2, b'\x01') + attr(22, b'\x08') + attr(23, b'\x00') + attr(24, b'\x34\x12')


def ext():
    return attr(1, struct.pack('>I', 7)) + attr(2, struct.pack('>H', 3)) + \
        attr(3, struct.pack('>H', 1)) + attr(4, b'\x23\x21') + \
        attr(5, bytes([10, 0, 0, 2, 10, 0, 0, 1]) + struct.pack('>HH', 80, 40000)) + \
        attr(6, struct.pack('>QQQQ', 3, 2, 180, 1500)) + attr(7, b'\x00')


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = {
        'new_tcp4': msg(0, 0x20, 100, tcp4()),
        'new_tcp4_ext': msg(0, 0, 100, tcp4()) + msg(15, 0, 100, ext()),
        'upd_snat': msg(1, 0, 7, tcp4(0x3e, True)),
        'del_udp6': msg(2, 0, 8, udp6()),
        'icmp_alive_ack': msg(0, 0, 9, icmp4()) + ctl(0x10, 10) + ctl(0x08, 11, 1, 9),
        'nack_resync': ctl(0x04, 1, 5, 9) + ctl(0x02, 2),
        'batch': b''.join(msg(i % 3, 0, 200 + i, tcp4()) for i in range(8)),
        'hello_gap': msg(0, 0x20, 1, tcp4()) + msg(0, 0, 5, udp6()) + msg(0, 0, 3, icmp4()),
        # TCP transport: a frame (length, payload, MAC of zeros) then a plain
        # stream cut inside its last message.
        'stream_frame': struct.pack('>H', 8) + ctl(0x10, 3) + b'\0' * 32 +
        (msg(0, 0, 4, tcp4()) + msg(15, 0, 4, ext()) + ctl(0x08, 5, 1, 4))[:-5],
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
