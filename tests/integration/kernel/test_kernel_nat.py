#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""NAT against the kernel (TAP): the same traffic through Linux's nftables
snat/dnat in a forwarding namespace and through dpct must give the same
flows (original tuples), the same translated addresses and the same status
bits per flow. Ports may differ where dpct picks another free port than
Linux: the test prints, per flow, whether the port matched.

Kernel side: namespaces client (C) - forwarder (F) - server (S), veths
between them. F forwards with an nftables `ip nat` table: prerouting dnat
198.51.100.20:8080 -> 10.10.0.5:80 (a port forward to a server inside),
postrouting: 10.10.0.3 left alone (accept = no translation), the rest of
10.10.0.0/24 snat to 198.51.100.1. Its conntrack is read over ctnetlink
(events and a dump, status bits included).

dpct side: the same client and server namespaces with the same addresses and
routes, but the two veths meet in dpct (net_af_packet on the host ends,
forwarding port 0 <-> port 1) with the equivalent "nat" section; the
gateways' MAC addresses are static neighbours that point across dpct, which
forwards frames unchanged but for the translation. dpct-events (reliable,
JSON) records the events and a dump (what `dpct-ctl list` prints) the table.

The traffic, one action after another, identical on both sides (fixed
source ports and echo ids, so the original tuples are the same): TCP
connections and UDP exchanges with real sockets, echo requests, a UDP
datagram to a closed port (the port unreachable must reach the client's
socket), the same inside port from two inside addresses (the second must get
another public port), an excluded address, and TCP connections from the
server to the forwarded port. Then both tables are dumped and flushed.

Compared per flow: present on both sides; reply tuple addresses equal;
the whole status word (SEEN_REPLY, ASSURED, CONFIRMED, SRC_NAT, DST_NAT,
SRC_NAT_DONE, DST_NAT_DONE, DYING) equal in the table, on the NEW event and on
the DESTROY; the reply port (or echo id) printed as matched or not. Every
client action must succeed on both sides, and the servers must see the same
peer addresses (the public address, or the inside one where excluded).
Needs root, ip, nft, ethtool, conntrack; skips otherwise.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'app'))
import dpctlib as d  # noqa: E402
import natlib as nl  # noqa: E402

CLIENT_NET = '10.10.0.0/24'
CLIENT_ADDRS = ['10.10.0.2', '10.10.0.3', '10.10.0.4', '10.10.0.5']
GW_IN, GW_OUT = '10.10.0.1', '203.0.113.1'
SERVER = '203.0.113.10'
POOL = '198.51.100.1'
PUBLIC, PUBLIC_PORT = '198.51.100.20', 8080
INSIDE_SRV, INSIDE_PORT = '10.10.0.5', 80
EXCLUDED = '10.10.0.3'
MAC_C, MAC_S = '02:00:00:cc:00:01', '02:00:00:5e:00:01'

# Linux's IPS_* status bits. The whole status word is compared (CONFIRMED
# and, on a DESTROY, DYING included): dpct reports them as Linux does.
S_SEEN_REPLY, S_ASSURED, S_CONFIRMED = 1 << 1, 1 << 2, 1 << 3
S_SRC_NAT, S_DST_NAT, S_SRC_NAT_DONE, S_DST_NAT_DONE = 1 << 4, 1 << 5, 1 << 7, 1 << 8
MASK = 0xffffffff

SERVERS_S = {'tcp': [[SERVER, 5001]], 'udp': [[SERVER, 5002]]}
SERVERS_C = {'tcp': [[INSIDE_SRV, INSIDE_PORT]]}


def tcp(src, sport, dst, dport, **kw):
    return dict(op='tcp', src=src, sport=sport, dst=dst, dport=dport, **kw)


def udp(src, sport, dst, dport, **kw):
    return dict(op='udp', src=src, sport=sport, dst=dst, dport=dport, **kw)


def ping(src, ident, dst, **kw):
    return dict(op='ping', src=src, id=ident, dst=dst, count=2, **kw)


# (namespace role, action): one after another.
TRAFFIC = [
    ('C', tcp('10.10.0.2', 41001, SERVER, 5001)),
    ('C', tcp('10.10.0.2', 41002, SERVER, 5001)),
    # Same inside port from another address: the public port is taken.
    ('C', tcp('10.10.0.4', 41001, SERVER, 5001)),
    ('C', tcp(EXCLUDED, 41010, SERVER, 5001)),
    ('C', udp('10.10.0.2', 42001, SERVER, 5002)),
    ('C', udp('10.10.0.2', 42002, SERVER, 5002)),
    ('C', udp('10.10.0.4', 42001, SERVER, 5002)),
    ('C', udp(EXCLUDED, 42010, SERVER, 5002)),
    ('C', udp('10.10.0.2', 42020, SERVER, 5003, expect='refused')),
    ('C', ping('10.10.0.2', 0x4301, SERVER)),
    ('C', ping('10.10.0.4', 0x4301, SERVER)),
    ('C', ping(EXCLUDED, 0x4310, SERVER)),
    ('S', tcp(SERVER, 43001, PUBLIC, PUBLIC_PORT)),
    ('S', tcp(SERVER, 43002, PUBLIC, PUBLIC_PORT)),
]

NFT_RULES = '''table ip dpct_nat {
 chain pre {
  type nat hook prerouting priority dstnat; policy accept;
  iifname "out0" ip daddr %(pub)s tcp dport %(pport)d dnat to %(isrv)s:%(iport)d
 }
 chain post {
  type nat hook postrouting priority srcnat; policy accept;
  oifname "out0" ip saddr %(excl)s accept
  oifname "out0" ip saddr %(net)s snat to %(pool)s
 }
}
''' % dict(pub=PUBLIC, pport=PUBLIC_PORT, isrv=INSIDE_SRV, iport=INSIDE_PORT, excl=EXCLUDED,
           net=CLIENT_NET, pool=POOL)

NAT_CONFIG = {
    'pools': [{'name': 'public', 'addresses': POOL}],
    'rules': [
        {'name': 'web-in', 'action': 'dnat', 'in_port': 1, 'proto': 'tcp', 'dst': PUBLIC,
         'dport': PUBLIC_PORT, 'to': INSIDE_SRV, 'to_port': INSIDE_PORT},
        {'name': 'keep', 'action': 'exclude', 'in_port': 0, 'src': EXCLUDED},
        {'name': 'lan-out', 'action': 'snat', 'in_port': 0, 'src': CLIENT_NET,
         'pool': 'public'},
    ],
}


def setup_client_server(net, c, s):
    """Addresses and routes of the client and server namespaces (both sides)."""
    for a in CLIENT_ADDRS:
        nl.sh(['ip', '-n', c, 'addr', 'add', a + '/24', 'dev', 'eth0'])
    nl.sh(['ip', '-n', c, 'route', 'add', 'default', 'via', GW_IN])
    nl.sh(['ip', '-n', s, 'addr', 'add', SERVER + '/24', 'dev', 'eth0'])
    for dst in ('198.51.100.0/24', CLIENT_NET):
        nl.sh(['ip', '-n', s, 'route', 'add', dst, 'via', GW_OUT])


def run_traffic(net, nss, tmp, side):
    """Servers up, the actions in order, servers down; (results, peers)."""
    peers = {}
    servers = []
    for role, spec in (('S', SERVERS_S), ('C', SERVERS_C)):
        path = os.path.join(tmp, '%s-peers-%s.json' % (side, role))
        servers.append((path, net.popen(nl.helper(nss[role], 'serve', json.dumps(spec), path,
                                                  120))))
    for path, p in servers:
        if not d.wait_for(lambda: os.path.exists(path + '.ready') or p.poll() is not None, 10):
            raise RuntimeError('%s: server did not start' % side)
        if p.poll() is not None:
            raise RuntimeError('%s: server exited %d' % (side, p.returncode))
    results = []
    for role, act in TRAFFIC:
        r = subprocess.run(nl.helper(nss[role], 'client', json.dumps([act])),
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            results.append(dict(act, ok=False, error=r.stderr.strip()[-400:]))
        else:
            results += json.loads(r.stdout)
    for path, p in servers:
        p.send_signal(signal.SIGTERM)
        p.wait(10)
        for e in nl.json_lines(path):
            peers.setdefault((e['proto'], tuple(e['local'])), []).append(tuple(e['peer']))
    return results, peers


def kernel_side(tmp):
    net = nl.Netns('kn%d' % (os.getpid() % 100000))
    try:
        c, f, s = net.ns('C'), net.ns('F'), net.ns('S')
        net.veth(c, 'eth0', f, 'in0')
        net.veth(f, 'out0', s, 'eth0')
        nl.sh(['ip', '-n', f, 'addr', 'add', GW_IN + '/24', 'dev', 'in0'])
        nl.sh(['ip', '-n', f, 'addr', 'add', GW_OUT + '/24', 'dev', 'out0'])
        nl.sh(nl.in_ns(f, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']))
        setup_client_server(net, c, s)
        nl.sh(nl.in_ns(f, ['nft', '-f', '-']), input=NFT_RULES)
        evpath = os.path.join(tmp, 'kernel-events.json')
        lst = net.popen(nl.helper(f, 'ctnl-listen', evpath, 180))
        if not nl.wait_file_lines(evpath, 1, 10):
            raise RuntimeError('ctnetlink listener did not start')
        results, peers = run_traffic(net, {'C': c, 'S': s}, tmp, 'kernel')
        r = nl.sh(nl.helper(f, 'ctnl-dump'), timeout=30)
        table = [json.loads(ln) for ln in r.stdout.splitlines() if ln.startswith('{')]
        nl.sh(nl.in_ns(f, ['conntrack', '-F']), check=False)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            evs = nl.json_lines(evpath)
            if sum(1 for e in evs if e['type'] == 'destroy') >= len(table):
                break
            time.sleep(0.2)
        time.sleep(0.5)
        lst.send_signal(signal.SIGTERM)
        lst.wait(10)
        events = [e for e in nl.json_lines(evpath) if e['type'] in ('new', 'update', 'destroy')]
        errors = [e for e in nl.json_lines(evpath) if e['type'] == 'error']
        if errors:
            raise RuntimeError('kernel event listener lost events: %s' % errors)
        return results, peers, table, events
    finally:
        net.cleanup()


def dpct_side(tmp):
    net = nl.Netns('kd%d' % (os.getpid() % 100000))
    prefix, chan = d.uniq('knat')
    dp = lst = None
    try:
        c, s = net.ns('C'), net.ns('S')
        hc, _ = net.veth(None, 'hc', c, 'eth0', mac_b=MAC_C)
        hs, _ = net.veth(None, 'hs', s, 'eth0', mac_b=MAC_S)
        setup_client_server(net, c, s)
        # dpct is a bump in the wire: the gateways are the far side's MAC.
        nl.sh(['ip', '-n', c, 'neigh', 'add', GW_IN, 'lladdr', MAC_S, 'dev', 'eth0',
               'nud', 'permanent'])
        nl.sh(['ip', '-n', s, 'neigh', 'add', GW_OUT, 'lladdr', MAC_C, 'dev', 'eth0',
               'nud', 'permanent'])
        # Linux's timeouts (the defaults): the table is dumped after the traffic.
        cfg = d.base_config(chan, nat=NAT_CONFIG)
        del cfg['timeouts']
        cfg_path = d.write_config(tmp, cfg, 'dpct-knat.json')
        evpath = os.path.join(tmp, 'dpct-events.json')
        lst = d.start_events(chan, evpath, None, idle_ms=0, max_s=180)
        log = open(os.path.join(tmp, 'dpct.log'), 'w')
        dp = subprocess.Popen(d.dpct_cmd(prefix, cfg_path, replay=False, lcores='0-1', extra_eal=[
            '--vdev', 'net_af_packet0,iface=%s' % hc, '--vdev', 'net_af_packet1,iface=%s' % hs]),
            stdout=log, stderr=subprocess.STDOUT, text=True)
        if not d.wait_for(lambda: dp.poll() is not None or len(d.listeners(prefix)) >= 1, 30):
            raise RuntimeError('dpct: no listener subscribed within 30 s')
        if dp.poll() is not None:
            raise RuntimeError('dpct exited %d: %s' % (dp.returncode,
                                                       open(log.name).read()[-2000:]))
        results, peers = run_traffic(net, {'C': c, 'S': s}, tmp, 'dpct')
        rc, table, err = d.dump(chan, timeout=30)
        if rc != 0:
            raise RuntimeError('dpct-events --dump: exit %d: %s' % (rc, err))
        n = len(table)
        crc, out, cerr = d.ctl(prefix, 'flush')
        if crc != 0:
            raise RuntimeError('dpct-ctl flush: %s' % cerr)
        d.wait_for(lambda: sum(1 for e in nl.json_lines(evpath)
                               if e.get('type') == 'destroy') >= n, 10)
        time.sleep(0.5)
        d.stop(lst, 20)
        lst = None
        events = [e for e in d.events(evpath) if e.get('type') in ('new', 'update', 'destroy')]
        rc, _ = d.stop(dp, 30)
        dp = None
        if rc != 0:
            raise RuntimeError('dpct exit %s: %s' % (
                rc, open(os.path.join(tmp, 'dpct.log')).read()[-1500:]))
        return results, peers, table, events
    finally:
        if lst is not None:
            d.stop(lst, 20)
        if dp is not None:
            rc, _ = d.stop(dp, 30)
            if rc != 0:
                print('# dpct exit %s: %s' % (
                    rc, open(os.path.join(tmp, 'dpct.log')).read()[-1500:]))
        net.cleanup()


def key(e):
    o = e['orig']
    p = e.get('l4proto')
    if p == 1:
        return (p, o['src'], o['dst'], o.get('icmp_id'), 0)
    return (p, o['src'], o['dst'], o.get('sport'), o.get('dport'))


def rport(e):
    r = e.get('reply', {})
    return r.get('icmp_id') if e.get('l4proto') == 1 else (r.get('sport'), r.get('dport'))


def by_key(entries):
    out = {}
    for e in entries:
        out.setdefault(key(e), []).append(e)
    return out


def first(evs, kind):
    for e in evs:
        if e['type'] == kind:
            return e
    return None


def compare(t, kern, dp):
    (kres, kpeers, ktab, kevs), (dres, dpeers, dtab, devs) = kern, dp
    for side, res in (('kernel', kres), ('dpct', dres)):
        bad = [r for r in res if not r.get('ok')]
        t.check(not bad, '%s: all %d client actions succeeded' % (side, len(res)),
                json.dumps(bad, indent=1))
    # Peers in the order the connections came: the same addresses; the
    # ports may differ where dpct picked another free port than Linux.
    t.eq(sorted((k, [a for a, _ in v]) for k, v in dpeers.items()),
         sorted((k, [a for a, _ in v]) for k, v in kpeers.items()),
         'servers saw the same peer addresses through dpct as through Linux')
    for k in sorted(set(kpeers) & set(dpeers)):
        for kp, dp_ in zip(kpeers[k], dpeers[k]):
            if kp != dp_:
                print('# %s server %s:%d saw %s:%d through Linux, %s:%d through dpct' % (
                    k[0], k[1][0], k[1][1], kp[0], kp[1], dp_[0], dp_[1]))
    kt, dt = by_key(ktab), by_key(dtab)
    t.eq(sorted(dt), sorted(kt), 'same flows in the table (%d)' % len(kt))
    matched = differ = 0
    for k in sorted(set(kt) & set(dt), key=str):
        ke, de = kt[k][0], dt[k][0]
        name = '%s %s:%s -> %s:%s' % ({6: 'tcp', 17: 'udp', 1: 'icmp'}.get(k[0], k[0]),
                                     k[1], k[3], k[2], k[4])
        t.eq((de['reply']['src'], de['reply']['dst']), (ke['reply']['src'], ke['reply']['dst']),
             '%s: translated addresses (reply %s -> %s)' % (
                 name, ke['reply']['src'], ke['reply']['dst']))
        t.eq(de['status'] & MASK, ke['status'] & MASK,
             '%s: status bits 0x%x' % (name, ke['status'] & MASK))
        if rport(de) == rport(ke):
            matched += 1
            print('# %s: port matched (reply %s)' % (name, rport(ke)))
        else:
            differ += 1
            print('# %s: port differs: kernel reply %s, dpct reply %s' % (
                name, rport(ke), rport(de)))
    print('# ports: %d matched, %d differ' % (matched, differ))
    ke_, de_ = by_key(kevs), by_key(devs)
    for kind in ('new', 'destroy'):
        diffs = []
        for k in sorted(set(kt), key=str):
            kf, df = first(ke_.get(k, []), kind), first(de_.get(k, []), kind)
            if kf is None or df is None:
                diffs.append('%s: %s kernel %s dpct %s' % (k, kind, kf is not None,
                                                           df is not None))
                continue
            if (kf['status'] & MASK, kf['reply']['src'], kf['reply']['dst']) != \
                    (df['status'] & MASK, df['reply']['src'], df['reply']['dst']):
                diffs.append('%s: %s kernel status 0x%x reply %s->%s, dpct 0x%x %s->%s' % (
                    k, kind, kf['status'] & MASK, kf['reply']['src'], kf['reply']['dst'],
                    df['status'] & MASK, df['reply']['src'], df['reply']['dst']))
        t.check(not diffs, '%s events: same status bits and translated addresses per flow'
                % kind.upper(), '\n'.join(diffs))
    # What the translation must have done, whatever Linux does: the forward
    # flows leave as the pool address, the excluded one as itself.
    snat = [e for e in dtab if e['orig']['src'] in CLIENT_ADDRS and
            e['orig']['src'] != EXCLUDED]
    t.check(snat and all(e['reply']['dst'] == POOL and e['status'] & S_SRC_NAT for e in snat),
            'dpct: every inside flow but the excluded one has reply dst %s and SRC_NAT' % POOL,
            '\n'.join(json.dumps(e) for e in snat))
    dn = [e for e in dtab if e['orig']['dst'] == PUBLIC]
    t.check(len(dn) == 2 and all(e['reply']['src'] == INSIDE_SRV and
                                 e['reply'].get('sport') == INSIDE_PORT and
                                 e['status'] & S_DST_NAT for e in dn),
            'dpct: the forwarded connections have reply src %s:%d and DST_NAT' % (
                INSIDE_SRV, INSIDE_PORT), '\n'.join(json.dumps(e) for e in dn))


def skip_reason():
    if os.geteuid() != 0:
        return 'needs root (network namespaces, nftables)'
    for tool in ('ip', 'nft', 'ethtool', 'conntrack'):
        if shutil.which(tool) is None:
            return '%s not installed' % tool
    return None


def main():
    t = d.Tap()
    why = skip_reason()
    if why:
        t.skip_all(why)
    d.need([d.DPCT, d.EVENTS, d.CTL], t)

    def on_term(signum, frame):
        raise SystemExit(1)
    signal.signal(signal.SIGTERM, on_term)
    tmp = tempfile.mkdtemp(prefix='dpct_knat_')
    try:
        try:
            kern = kernel_side(tmp)
        except Exception as e:  # noqa: BLE001
            t.check(False, 'kernel reference ran', repr(e))
            t.done()
        t.check(True, 'kernel reference: %d flows, %d events' % (len(kern[2]), len(kern[3])))
        try:
            dp = dpct_side(tmp)
        except Exception as e:  # noqa: BLE001
            t.check(False, 'dpct side ran', repr(e))
            t.done()
        t.check(True, 'dpct: %d flows, %d events' % (len(dp[2]), len(dp[3])))
        compare(t, kern, dp)
    finally:
        if os.environ.get('DPCT_KEEP_TMP'):
            print('# kept %s' % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    t.done()


if __name__ == '__main__':
    main()
