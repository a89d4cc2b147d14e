# SPDX-License-Identifier: BSD-3-Clause
"""Bad sync input to a running dpct backup (docs/ha.md): datagrams with a
wrong HMAC, from an address that is not the peer, malformed (truncated,
bad length, bad version, bad attributes) under a valid HMAC, and a valid
message replayed. Each lands in its counter of /dpct/ha and changes
nothing: the external cache holds only the one valid connection, and dpct
keeps running and exits 0. (The parser itself is fuzzed: fuzz_sync.)

With `tcp`, the backup takes conntrackd's TCP transport (plain messages on
a stream, auth none on its bind address): a message written in pieces is
put back together; a stream from an address that is not the peer is
refused; a garbage stream, a message claiming 60,000 bytes and a peer
closing inside a message are each counted (tcp_rx_bad_stream,
tcp_rx_truncated), their connection closed, and nothing else changes."""

import hashlib
import hmac
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halib  # noqa: E402
from halib import dpctlib  # noqa: E402

SECRET = b'bad input test secret, 32 bytes'


def attr(t, v):
    a = struct.pack('>HH', 4 + len(v), t) + v
    return a + b'\0' * ((4 - len(a) % 4) % 4)


def msg(mtype, flags, seq, body):
    return struct.pack('>BBHI', 0x10 | mtype, flags, 8 + len(body), seq) + body


def tcp_new(seq, sport, flags=0x20):
    b = attr(0, bytes([10, 9, 0, 1, 10, 9, 0, 2])) + attr(5, struct.pack('>I', 0x0e))
    b += attr(2, b'\x06') + attr(3, struct.pack('>HH', sport, 80)) + attr(4, b'\x03')
    b += attr(6, struct.pack('>I', 600))
    return msg(0, flags, seq, b)


def sign(d, key=SECRET):
    return d + hmac.new(key, d, hashlib.sha256).digest()


def main_tcp():
    tap = dpctlib.Tap()
    dpctlib.need([dpctlib.DPCT], tap)
    d = dpctlib.tmpdir('ha_badt')
    pid = os.getpid() % 100000
    port = 20000 + (pid + 11) % 20000
    prefix, chan = dpctlib.uniq('ha_badt')
    cfg = dpctlib.base_config(chan)
    cfg['ha'] = {'role': 'backup', 'peer': '127.0.0.5', 'bind': '127.0.0.6', 'port': port,
                 'transport': 'tcp', 'auth': 'none', 'drain_ms': 0}
    cp = dpctlib.write_config(d, cfg)
    pcap = os.path.join(d, 'empty.pcap')
    with open(pcap, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    dp = subprocess.Popen(dpctlib.dpct_cmd(prefix, cp, rx=pcap, tx=os.path.join(d, 'tx.pcap'),
                                           replay=False),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    socks = []

    def ha():
        return dpctlib.telemetry(prefix, '/dpct/ha') or {}

    def stream(src='127.0.0.5'):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((src, 0))
        s.settimeout(5)
        s.connect(('127.0.0.6', port))
        socks.append(s)
        return s

    def closed_by_dpct(s):
        try:
            return s.recv(16) == b''
        except OSError:
            return True

    def after(act, counter, n, name):
        before = ha()
        act()
        ok = dpctlib.wait_for(lambda: ha().get(counter, 0) - before.get(counter, 0) >= n, 5, 0.1)
        now = ha()
        tap.check(ok and now.get(counter, 0) - before.get(counter, 0) == n,
                  '%s: %s +%d' % (name, counter, now.get(counter, 0) - before.get(counter, 0)))
        return now

    try:
        ok = dpctlib.wait_for(lambda: ha().get('role') == 'backup', 30, 0.2)
        tap.check(ok, 'dpct runs as a backup over tcp')
        s = stream()
        h = after(lambda: s.sendall(tcp_new(1000, 40000)), 'rx_data', 1, 'a valid NEW')
        tap.eq(h.get('cache_entries'), 1, 'the valid connection is in the cache')
        m = tcp_new(1001, 40010, flags=0)

        def pieces():
            for a, b in ((0, 3), (3, 11), (11, len(m))):
                s.sendall(m[a:b])
                time.sleep(0.2)
        after(pieces, 'rx_data', 1, 'a message written in three pieces')
        tap.check(ha().get('tcp_server_connected') in (1, True), 'the peer\'s stream is up')
        after(lambda: stream('127.0.0.7'), 'rx_wrong_peer', 1,
              'a stream from another address refused')
        g = stream()
        after(lambda: g.sendall(b'\xff' * 64), 'tcp_rx_bad_stream', 1, 'a garbage stream')
        tap.check(closed_by_dpct(g), 'dpct closed the garbage stream')
        g = stream()
        after(lambda: g.sendall(struct.pack('>BBHI', 0x10, 0, 60000, 1002) + b'\0' * 64),
              'tcp_rx_bad_stream', 1, 'a message claiming 60,000 bytes')
        tap.check(closed_by_dpct(g), 'dpct closed that stream')
        g = stream()
        half = tcp_new(1003, 40003)[:20]
        after(lambda: (g.sendall(half), time.sleep(0.3), g.close()), 'tcp_rx_truncated', 1,
              'the peer closing inside a message')
        h = ha()
        tap.eq(h.get('cache_entries'), 2, 'the cache still holds only the two valid connections')
        tap.eq(h.get('rx_data'), 2, 'no other message taken')
        tap.check(dp.poll() is None, 'dpct still runs')
    finally:
        for s in socks:
            s.close()
        rc, out = dpctlib.stop(dp, 30)
    tap.eq(rc, 0, 'dpct exits 0')
    shutil.rmtree(d, ignore_errors=True)
    tap.done()


def main():
    if 'tcp' in sys.argv[1:]:
        main_tcp()
    tap = dpctlib.Tap()
    dpctlib.need([dpctlib.DPCT], tap)
    d = dpctlib.tmpdir('ha_bad')
    pid = os.getpid() % 100000
    port = 20000 + (pid + 7) % 20000
    prefix, chan = dpctlib.uniq('ha_bad')
    cfg = dpctlib.base_config(chan)
    cfg['ha'] = {'role': 'backup', 'peer': '127.0.0.5', 'bind': '127.0.0.6', 'port': port,
                 'secret': SECRET.decode(), 'drain_ms': 0}
    cp = dpctlib.write_config(d, cfg)
    pcap = os.path.join(d, 'empty.pcap')
    with open(pcap, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    dp = subprocess.Popen(dpctlib.dpct_cmd(prefix, cp, rx=pcap, tx=os.path.join(d, 'tx.pcap'),
                                           replay=False),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # /dpct/ha answers with the role once the sync socket is bound.
        ok = dpctlib.wait_for(lambda: (dpctlib.telemetry(prefix, '/dpct/ha') or {}).get(
            'role') == 'backup', 30, 0.2)
        tap.check(ok, 'dpct runs as a backup')
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(('127.0.0.5', port))
        other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        other.bind(('127.0.0.7', port))
        dst = ('127.0.0.6', port)

        def ha():
            return dpctlib.telemetry(prefix, '/dpct/ha') or {}

        def after(send, counter, n, name):
            before = ha()
            for _ in range(n):
                send()
            ok = dpctlib.wait_for(lambda: ha().get(counter, 0) - before.get(counter, 0) >= n,
                                  5, 0.1)
            now = ha()
            tap.check(ok and now.get(counter, 0) - before.get(counter, 0) == n,
                      '%s: %s +%d' % (name, counter, now.get(counter, 0) -
                                       before.get(counter, 0)))
            return now

        good = sign(tcp_new(1000, 40000))
        h = after(lambda: peer.sendto(good, dst), 'rx_data', 1, 'a valid NEW')
        tap.eq(h.get('cache_entries'), 1, 'the valid connection is in the cache')
        nxt = sign(tcp_new(1001, 40010, flags=0))
        after(lambda: peer.sendto(nxt, dst), 'rx_data', 1, 'the next message in order')
        after(lambda: peer.sendto(nxt, dst), 'before', 1, 'the same message replayed')
        after(lambda: peer.sendto(sign(tcp_new(1001, 40001), b'x' * 31), dst), 'rx_bad_auth', 1,
              'a wrong HMAC')
        after(lambda: peer.sendto(tcp_new(1002, 40002), dst), 'rx_bad_auth', 1,
              'no HMAC at all')
        after(lambda: other.sendto(sign(tcp_new(1003, 40003)), dst), 'rx_wrong_peer', 1,
              'a valid message from another address')
        after(lambda: peer.sendto(sign(tcp_new(1004, 40004)[:6]), dst), 'rx_bad_auth', 1,
              'a truncated header: too short for a header and its HMAC')
        bad = [
            sign(struct.pack('>BBHI', 0x10, 0, 4, 1005)),                   # length < header
            sign(struct.pack('>BBHI', 0x10, 0, 400, 1006) + b'\0' * 8),     # length > datagram
            sign(struct.pack('>BBHI', 0x20, 0, 8, 1007)),                   # version 2
            sign(msg(0, 0, 1008, attr(0, b'\1\2\3'))),                      # IPv4 of 3 bytes
            sign(msg(0, 0, 1009, attr(40, b'\0\0\0\0'))),                   # unknown type 40
            sign(msg(12, 0, 1010, b'')),                                    # type 12
            sign(msg(15, 0, 1011, attr(1, b'\0\0\0\1'))),                   # orphan extension
        ]
        it = iter(bad)
        after(lambda: peer.sendto(next(it), dst), 'rx_malformed', len(bad),
              '%d malformed messages under a valid HMAC' % len(bad))
        h = ha()
        tap.eq(h.get('cache_entries'), 2, 'the cache still holds only the two valid connections')
        tap.check(dp.poll() is None, 'dpct still runs')
        peer.close()
        other.close()
    finally:
        rc, out = dpctlib.stop(dp, 30)
    tap.eq(rc, 0, 'dpct exits 0')
    shutil.rmtree(d, ignore_errors=True)
    tap.done()


if __name__ == '__main__':
    main()
