# SPDX-License-Identifier: BSD-3-Clause
"""conntrackd -> dpct (docs/ha.md). A network namespace tracks real traffic
(TCP connections over its loopback, held open, and UDP exchanges) with the
kernel's conntrack, and Debian's conntrackd syncs its table over FTFW/UDP to
a dpct backup on the root side of a veth link. The backup's external cache
must hold the same connections as `conntrack -L` in the namespace. After
`dpct-ctl ha primary` they are in dpct's table (a dump shows them, TCP ones
ESTABLISHED); then each TCP connection's next packets, both ways, with
sequence numbers dpct never saw, reach dpct on net_af_packet: dpct, with
tcp.be_liberal and tcp.loose off, must pass them all and keep the
connections ESTABLISHED, where the same packets of a connection it did not
take over are INVALID."""

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

N_TCP, N_UDP = 40, 20
TRAFFIC = r'''
import socket, sys, time
n_tcp, n_udp, port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port)); srv.listen(128)
conns = []
for i in range(n_tcp):
    c = socket.create_connection(("127.0.0.1", port)); s, _ = srv.accept()
    c.sendall(b"x" * 100); s.recv(100); s.sendall(b"y" * 100); c.recv(100)
    conns += [c, s]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", port + 1))
for i in range(n_udp):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.sendto(b"q", ("127.0.0.1", port + 1)); d, a = u.recvfrom(10); u.sendto(b"r", a)
    c.recv(10); conns.append(c)
print("ready", flush=True)
time.sleep(120)
'''


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def tcp_frame(src, dst, sport, dport, seq, ack):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    tcp = struct.pack('!HHIIBBHHH', sport, dport, seq, ack, 5 << 4, 0x10, 65535, 0, 0)
    tcp = tcp[:16] + struct.pack('!H', csum(s + d + struct.pack('!BBH', 0, 6, len(tcp)) +
                                             tcp)) + tcp[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, s, d)
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return b'\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00' + ip + tcp


def main():
    tap = dpctlib.Tap()
    for tool in ('conntrackd', 'conntrack', 'nft'):
        if shutil.which(tool) is None:
            tap.check(False, '%s installed (scripts/setup.sh)' % tool)
            tap.done()
    dpctlib.need([dpctlib.DPCT, dpctlib.EVENTS, dpctlib.CTL], tap)
    d = dpctlib.tmpdir('ha_from_ctd')
    link = halib.Link('fc')
    pid = os.getpid() % 100000
    vin, vdp = 'hci%d' % pid, 'hcd%d' % pid
    procs = []
    try:
        link.setup()
        # Conntrack runs in a namespace once a rule needs it.
        link.exec('nft', '-f', '-', input='table inet ha_ct {\n'
                  ' chain pre { type filter hook prerouting priority 0; ct state new counter\n }\n'
                  ' chain out { type filter hook output priority 0; ct state new counter\n }\n'
                  '}\n')
        halib.run(['ip', 'link', 'add', vin, 'type', 'veth', 'peer', 'name', vdp])
        for dev in (vin, vdp):
            halib.run(['ip', 'link', 'set', dev, 'up'])
            halib.run(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % dev], check=False)
        port = 3780
        conf = halib.conntrackd_conf(d, link, port)
        ctd = subprocess.Popen(['ip', 'netns', 'exec', link.ns, 'conntrackd', '-C', conf],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(ctd)
        prefix, chan = dpctlib.uniq('ha_fc')
        cfg = dpctlib.base_config(chan)
        cfg['tcp'] = {'be_liberal': False, 'loose': False}
        cfg['ha'] = {'role': 'backup', 'peer': link.ns_addr, 'bind': link.host_addr,
                     'auth': 'none', 'port': port}
        cp = dpctlib.write_config(d, cfg)
        dp = subprocess.Popen(dpctlib.dpct_cmd(
            prefix, cp, replay=False, extra_eal=['--vdev', 'net_af_packet0,iface=%s' % vdp]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(dp)
        up = dpctlib.wait_for(lambda: (dpctlib.telemetry(prefix, '/dpct/ha') or {}).get(
            'peer_known') == 1, 30, 0.5)
        tap.check(up and ctd.poll() is None, 'conntrackd and the dpct backup said HELLO')
        app_port = 20000 + pid % 20000
        tr = subprocess.Popen(['ip', 'netns', 'exec', link.ns, '/usr/bin/python3', '-c',
                               TRAFFIC, str(N_TCP), str(N_UDP), str(app_port)],
                              stdout=subprocess.PIPE, text=True)
        procs.append(tr)
        tap.eq(tr.stdout.readline().strip(), 'ready', 'traffic in the namespace: %d TCP '
               'connections held open, %d UDP exchanges' % (N_TCP, N_UDP))
        time.sleep(3)   # conntrackd's events, its sync, dpct's next step
        kern_all = halib.parse_ct(link.exec('conntrack', '-L').stdout)
        kern = {k: v for k, v in kern_all.items()
                if k[1] == '127.0.0.1' and k[4] in (app_port, app_port + 1)}
        tap.eq(len(kern), N_TCP + N_UDP, 'conntrack -L in the namespace: every connection')
        ha = dpctlib.telemetry(prefix, '/dpct/ha') or {}
        # conntrackd syncs all it tracks: the test's and the sync link's own.
        tap.eq(ha.get('cache_entries'), len(kern_all),
               'the backup\'s external cache holds as many connections as the kernel (%d)'
               % len(kern_all))
        rc, out, err = dpctlib.ctl(prefix, 'ha', 'primary', timeout=60)
        tap.eq(rc, 0, 'dpct-ctl ha primary: ' + (out + err).strip())
        rc, ents, err = dpctlib.dump(chan)
        tap.eq(rc, 0, 'dpct-events --dump reads the table')
        table = {halib.ev_key(e): e for e in ents}
        missing = [k for k in kern if k not in table]
        tap.check(not missing, 'dpct\'s table holds every connection of the namespace',
                  str(missing[:3]))
        tcp = [k for k in kern if k[0] == 6]
        bad = [k for k in tcp if k in table and table[k].get('state') != 'ESTABLISHED']
        tap.check(not bad, 'TCP connections ESTABLISHED in dpct',
                  str([(k, table[k].get('state')) for k in bad[:3]]))
        st0 = dpctlib.telemetry(prefix, '/dpct/stats') or {}
        # Their next packets, both ways, and one connection dpct never had.
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((vin, 0))
        for i, k in enumerate(tcp):
            s.send(tcp_frame(k[1], k[2], k[3], k[4], 1000000 + i, 2000000 + i))
            s.send(tcp_frame(k[2], k[1], k[4], k[3], 2000000 + i, 1000100 + i))
        s.send(tcp_frame('127.0.0.1', '127.0.0.1', 1, app_port, 5, 6))
        s.close()
        time.sleep(2)
        st1 = dpctlib.telemetry(prefix, '/dpct/stats') or {}

        def total(st, name):
            try:
                return dpctlib.counter(st, name)
            except KeyError:
                return -1
        print('# invalid before %s after %s, found before %s after %s' % (
            total(st0, 'invalid'), total(st1, 'invalid'), total(st0, 'found'),
            total(st1, 'found')))
        tap.eq(total(st1, 'invalid') - total(st0, 'invalid'), 1,
               'only the connection dpct never had is INVALID (be_liberal and loose off)')
        tap.check(total(st1, 'found') - total(st0, 'found') >= 2 * len(tcp),
                  'every packet of a taken-over connection found its entry')
        rc, ents, err = dpctlib.dump(chan)
        table = {halib.ev_key(e): e for e in ents}
        bad = [k for k in tcp if table.get(k, {}).get('state') != 'ESTABLISHED']
        tap.check(not bad, 'still ESTABLISHED after their next packets',
                  str([(k, table.get(k, {}).get('state')) for k in bad[:3]]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        halib.run(['ip', 'link', 'del', vin], check=False)
        link.teardown()
    shutil.rmtree(d, ignore_errors=True)
    tap.done()


if __name__ == '__main__':
    main()
