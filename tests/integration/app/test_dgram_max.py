#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Datagrams no correct reader truncates: with events.batch_bytes at its
maximum and IPv6 short TCP connections (the largest messages), a reliable
reader with the documented buffer size (65536 bytes) gets no truncated
datagram (MSG_TRUNC), every datagram is at most 65536 bytes, batching
does fill datagrams past the default 16384, and every DESTROY arrives, once.
A batch_bytes over the maximum is refused at startup."""
import os
import select
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

FLOWS = int(os.environ.get('DPCT_DGRAM_FLOWS', '20000'))
DGRAM_MAX = 65536          # docs/events.md: the largest datagram dpct sends
MSG_SUBSCRIBE, F_RELIABLE, MASK_ALL = 0x20, 0x1, 0x7
NLMSG_ERROR, NLMSG_DONE = 2, 3
CT_NEW, CT_DELETE = (1 << 8) | 0, (1 << 8) | 2


def subscribe(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    deadline = time.time() + 30
    while True:
        try:
            s.connect(path)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    payload = struct.pack('=IIII', 1, F_RELIABLE, MASK_ALL, 16 << 20)
    s.send(struct.pack('=IHHII', 16 + len(payload), MSG_SUBSCRIBE, 0x1 | 0x4, 1, 0) + payload)
    return s


def read_all(s, max_s):
    """Read until EOF; per-type counts, truncations, the largest datagram."""
    counts, trunc, biggest, dgrams = {}, 0, 0, 0
    destroy_ids = {}
    deadline = time.time() + max_s
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], 1.0)
        if not r:
            continue
        data, _, flags, _ = s.recvmsg(DGRAM_MAX, 0, socket.MSG_TRUNC)
        if not data:
            break
        dgrams += 1
        if flags & socket.MSG_TRUNC:
            trunc += 1
        biggest = max(biggest, len(data))
        off = 0
        while off + 16 <= len(data):
            ln, typ = struct.unpack_from('=IH', data, off)
            if ln < 16:
                break
            counts[typ] = counts.get(typ, 0) + 1
            if typ == CT_DELETE:
                body = data[off + 20:off + ln]
                key = bytes(body)
                # The tuple attributes identify the flow; the id attribute
                # (CTA_ID, 12) is found by walking the attributes.
                a = 0
                while a + 4 <= len(body):
                    alen, atype = struct.unpack_from('=HH', body, a)
                    if alen < 4:
                        break
                    if atype & 0x7fff == 12:
                        key = body[a + 4:a + 8]
                    a += (alen + 3) & ~3
                destroy_ids[key] = destroy_ids.get(key, 0) + 1
            off += (ln + 3) & ~3
    return counts, trunc, biggest, dgrams, destroy_ids


def main():
    t = d.Tap()
    d.need([d.DPCT, d.GEN], t)
    tmp = d.tmpdir('dgram')
    pcap = d.gen(os.path.join(tmp, 'w6.pcap'), 'short-tcp', FLOWS, concurrency=1024, ipv6=True,
                 seed=5)
    prefix, chan = d.uniq('dgram')

    # Over the maximum: refused at startup, naming the key and the range.
    bad = d.write_config(tmp, d.base_config(chan, events={'batch_bytes': DGRAM_MAX + 1}),
                         'bad.json')
    rc, out, err = d.run_dpct(d.dpct_cmd(prefix + 'b', bad, pcap, '/dev/null'), timeout=60)
    t.check(rc != 0 and '$.events.batch_bytes: 65537 is out of range 4096..65536' in err,
            'batch_bytes over 65536 refused', err[-500:])

    cfg = d.write_config(tmp, d.base_config(
        chan, table={'max_entries': 131072}, events={'batch_bytes': DGRAM_MAX}))
    stats = os.path.join(tmp, 'stats.json')
    dp = subprocess.Popen(d.dpct_cmd(prefix, cfg, pcap, '/dev/null', stats=stats,
                                     app=['--flush-on-eof'] + d.wait_listeners_args(1)),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        s = subscribe(chan)
        counts, trunc, biggest, dgrams, destroys = read_all(s, 240)
        s.close()
    finally:
        rc, out = d.stop(dp, 120)
    t.eq(rc, 0, 'dpct exits 0') or print('# ' + out[-1500:])
    t.eq(trunc, 0, 'no datagram truncated in a %d-byte buffer (%d datagrams)'
         % (DGRAM_MAX, dgrams))
    t.check(0 < biggest <= DGRAM_MAX, 'largest datagram %d <= %d' % (biggest, DGRAM_MAX))
    t.check(biggest > 16384, 'batching fills datagrams past 16384 bytes (%d)' % biggest)
    t.eq(counts.get(NLMSG_ERROR, 0), 1, 'one ack (the subscribe)')
    t.eq(len(destroys), FLOWS, 'a DESTROY for every flow')
    t.eq(sum(1 for v in destroys.values() if v != 1), 0, 'each DESTROY once')
    st = d.load_json(stats)
    t.eq(d.counter(st, 'undelivered_destroy'), 0, 'undelivered_destroy 0')
    return t.done()


if __name__ == '__main__':
    sys.exit(main())
