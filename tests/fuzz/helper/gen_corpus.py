#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Seeds for fuzz_ftp: control byte, then (len | dir << 7, payload) segments."""
import os
import sys

ORIG, REPLY = 0, 1


def seg(direction, text):
    data = text.encode() if isinstance(text, str) else text
    assert len(data) < 128
    return bytes([len(data) | direction << 7]) + data


SEEDS = {
    'active': (0x0a, [(REPLY, '220 hi\r\n'), (ORIG, 'USER a\r\n'),
                      (ORIG, 'PORT 10,0,0,1,4,1\r\n')]),
    'passive': (0x0a, [(REPLY, '227 Entering Passive Mode (10,0,0,2,195,80).\r\n')]),
    'epsv': (0x0a, [(REPLY, '229 Entering Extended Passive Mode (|||6446|)\r\n')]),
    'eprt4': (0x0a, [(ORIG, 'EPRT |1|10.0.0.1|6275|\r\n')]),
    'eprt6': (0x0b, [(ORIG, 'EPRT |2|a00::1|6275|\r\n')]),
    'split': (0x0a, [(ORIG, 'PORT 10,0,0,1,'), (ORIG, '4,1\r\n')]),
    'partial': (0x0a, [(ORIG, 'POR')]),
    'pickup': (0x06, [(ORIG, 'PORT 10,0,0,1,4,1\r\n')]),
    'tftp': (0x00, [(ORIG, b'\x00\x01file\x00octet\x00')]),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, (ctl, segs) in SEEDS.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(bytes([ctl]) + b''.join(seg(d, t) for d, t in segs))


if __name__ == '__main__':
    main()
