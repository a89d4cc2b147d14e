#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""NAT on live traffic (TAP): dpct is the gateway between a client namespace
(10.10.0.2, the inside) and a server namespace (203.0.113.10, the outside),
net_af_packet on the host ends of the two veths, a "nat" section that
translates 10.10.0.0/24 to the pool 198.51.100.8/30, ports 20000-29999, with
two workers (each owns half of the ports on every pool address).

dpct forwards frames between its two ports unchanged but for the
translation, so each side's gateway is a static neighbour with the far
side's MAC address: the client routes everything via 10.10.0.1 (the server's
MAC), the server routes the pool 198.51.100.0/24 via 203.0.113.1 (the
client's MAC) and has no route to the inside at all. The server namespace
tracks connections itself (an nftables ct rule) and rejects TCP port 5004
with an ICMP host unreachable.

Checked:
- real TCP connections, UDP exchanges and echo requests from the client get
  their answers;
- the server's sockets see a pool address and a port of the pool's range as
  their peer, and its conntrack (`conntrack -L`) shows the pool address, never
  the inside one; no frame seen in the server namespace carries an inside
  address, none seen in the client namespace a pool address;
- dpct's events for each connection carry the mapping the server saw (reply
  tuple: pool address and port) and SRC_NAT|SRC_NAT_DONE, and `dpct-ctl list`
  prints it;
- a port forward (dnat 198.51.100.20:80 -> the client's 8080): connections
  from the server reach the client's socket, which sees the server's own
  address as its peer, and the answer comes back from 198.51.100.20:80;
- port-block mode: a second inside address (10.10.1.2) translated by a
  block-mode pool (198.51.100.16/30, blocks of 500): its TCP connections and
  UDP exchanges are answered, and the server sees all of each protocol's
  ports in one block of one address (not checked against Linux, which has no
  port blocks: its ports spread over the range);
- dpct's counters at exit: 19 connections bound, 1 block, none exhausted,
  no rewrite failed;
- ICMP errors from the server side reach the client with the quoted header
  translated back (the client's own address and port) and right checksums
  (outer IPv4, ICMP, quoted IPv4, and the quoted UDP/TCP segment when the error
  quotes it whole): a UDP port unreachable (the client's connected socket gets
  ECONNREFUSED), a TCP host unreachable from an nftables reject (connect()
  gets EHOSTUNREACH) and a time exceeded quoting 8 bytes of a UDP flow, sent
  by hand from the server namespace.

DPCT_NAT_LIVE_GATEWAY=kernel runs the same checks with a Linux forwarding
namespace and nftables snat as the gateway instead of dpct: the test's own
check that what it asserts is what NAT does. Needs root, ip, nft, conntrack
and ethtool; skips otherwise.
"""
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402
import natlib as nl  # noqa: E402

CLIENT, GW_IN, GW_OUT, SERVER = '10.10.0.2', '10.10.0.1', '203.0.113.1', '203.0.113.10'
INSIDE_NET = ipaddress.ip_network('10.10.0.0/24')
POOL_NET = ipaddress.ip_network('198.51.100.8/30')
PORT_LO, PORT_HI = 20000, 29999
# A port forward: the outside connects to PUBLIC:80, the client's 8080 answers.
PUBLIC, PUBLIC_PORT, FWD_PORT = '198.51.100.20', 80, 8080
MAC_C, MAC_S = '02:00:00:cc:00:02', '02:00:00:5e:00:02'
# A subscriber in port-block mode (RFC 7422): another inside address, its
# own pool; all its connections must use one block of BLOCK ports.
SUB, SUB_NET = '10.10.1.2', ipaddress.ip_network('10.10.1.0/24')
CGN_NET = ipaddress.ip_network('198.51.100.16/30')
CGN_LO, CGN_HI, BLOCK = 40000, 47999, 500
EHOSTUNREACH = 113
# Two workers: each owns half of the pool's ports, and a reply (which comes
# in on either port, no RSS on af_packet) must reach the worker whose slice
# holds its port. DPCT_NAT_LIVE_WORKERS changes it.
WORKERS = int(os.environ.get('DPCT_NAT_LIVE_WORKERS', '2'))
S_SRC_NAT, S_SRC_NAT_DONE = 1 << 4, 1 << 7
S_DST_NAT, S_DST_NAT_DONE = 1 << 5, 1 << 8

NAT_CONFIG = {
    'pools': [{'name': 'public', 'addresses': str(POOL_NET),
               'ports': '%d-%d' % (PORT_LO, PORT_HI)},
              {'name': 'cgnat', 'addresses': str(CGN_NET), 'ports': '%d-%d' % (CGN_LO, CGN_HI),
               'mode': 'block', 'block_size': BLOCK, 'blocks_per_address': 1}],
    'rules': [{'name': 'web-in', 'action': 'dnat', 'in_port': 1, 'proto': 'tcp', 'dst': PUBLIC,
               'dport': PUBLIC_PORT, 'to': CLIENT, 'to_port': FWD_PORT},
              {'name': 'lan-out', 'action': 'snat', 'in_port': 0, 'src': str(INSIDE_NET),
               'pool': 'public'},
              {'name': 'subscribers', 'action': 'snat', 'in_port': 0, 'src': str(SUB_NET),
               'pool': 'cgnat'}],
}

ACTIONS = (
    [dict(op='tcp', src=CLIENT, dst=SERVER, dport=5001) for _ in range(3)] +
    [dict(op='udp', src=CLIENT, dst=SERVER, dport=5002) for _ in range(3)] +
    [dict(op='ping', src=CLIENT, dst=SERVER, id=0x5101 + i, count=3) for i in range(2)] +
    [dict(op='udp', src=CLIENT, dst=SERVER, dport=5003, expect='refused'),
     dict(op='tcp', src=CLIENT, dst=SERVER, dport=5004, expect='error', errno=EHOSTUNREACH)])

FWD_ACTIONS = [dict(op='tcp', src=SERVER, dst=PUBLIC, dport=PUBLIC_PORT) for _ in range(2)]
SUB_ACTIONS = ([dict(op='tcp', src=SUB, dst=SERVER, dport=5011) for _ in range(4)] +
               [dict(op='udp', src=SUB, dst=SERVER, dport=5012) for _ in range(3)])


def in_pool(addr):
    return addr is not None and ipaddress.ip_address(addr) in POOL_NET


def inside(addr):
    return addr is not None and (ipaddress.ip_address(addr) in INSIDE_NET or
                                 ipaddress.ip_address(addr) in SUB_NET)


def in_cgn(addr):
    return addr is not None and ipaddress.ip_address(addr) in CGN_NET


def build(net, mode, tmp):
    c, s = net.ns('C'), net.ns('S')
    hosts = None
    if mode == 'dpct':
        hc, _ = net.veth(None, 'hc', c, 'eth0', mac_b=MAC_C)
        hs, _ = net.veth(None, 'hs', s, 'eth0', mac_b=MAC_S)
        hosts = (hc, hs)
        nl.sh(['ip', '-n', c, 'neigh', 'add', GW_IN, 'lladdr', MAC_S, 'dev', 'eth0',
               'nud', 'permanent'])
        nl.sh(['ip', '-n', s, 'neigh', 'add', GW_OUT, 'lladdr', MAC_C, 'dev', 'eth0',
               'nud', 'permanent'])
    else:
        f = net.ns('F')
        net.veth(c, 'eth0', f, 'in0')
        net.veth(f, 'out0', s, 'eth0')
        nl.sh(['ip', '-n', f, 'addr', 'add', GW_IN + '/24', 'dev', 'in0'])
        nl.sh(['ip', '-n', f, 'addr', 'add', GW_OUT + '/24', 'dev', 'out0'])
        nl.sh(['ip', '-n', f, 'route', 'add', str(SUB_NET), 'dev', 'in0'])
        nl.sh(nl.in_ns(f, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']))
        lo, hi = POOL_NET[0], POOL_NET[-1]
        nl.sh(nl.in_ns(f, ['nft', '-f', '-']), input=(
            'table ip nat {\n chain pre {\n  type nat hook prerouting priority dstnat;\n'
            '  iifname "out0" ip daddr %s tcp dport %d dnat to %s:%d\n }\n chain post {' % (
                PUBLIC, PUBLIC_PORT, CLIENT, FWD_PORT) +
            '\n  type nat hook postrouting priority srcnat;\n'
            '\n  oifname "out0" ip saddr %s meta l4proto { tcp, udp } snat to %s-%s:%d-%d\n'
            '  oifname "out0" ip saddr %s snat to %s-%s\n'
            '  oifname "out0" ip saddr %s meta l4proto { tcp, udp } snat to %s-%s:%d-%d\n'
            ' }\n}\n' % (INSIDE_NET, lo, hi, PORT_LO, PORT_HI, INSIDE_NET, lo, hi,
                         SUB_NET, CGN_NET[0], CGN_NET[-1], CGN_LO, CGN_HI)))
    nl.sh(['ip', '-n', c, 'addr', 'add', CLIENT + '/24', 'dev', 'eth0'])
    nl.sh(['ip', '-n', c, 'addr', 'add', SUB + '/24', 'dev', 'eth0'])
    nl.sh(['ip', '-n', c, 'route', 'add', 'default', 'via', GW_IN])
    nl.sh(['ip', '-n', s, 'addr', 'add', SERVER + '/24', 'dev', 'eth0'])
    nl.sh(['ip', '-n', s, 'route', 'add', '198.51.100.0/24', 'via', GW_OUT])
    nl.enable_conntrack(s)
    nl.sh(nl.in_ns(s, ['nft', '-f', '-']), input=(
        'table inet dpct_rej {\n chain in {\n  type filter hook input priority 0;\n'
        '  tcp dport 5004 reject with icmp type host-unreachable\n }\n}\n'))
    return c, s, hosts


def start_dpct(tmp, hosts):
    prefix, chan = d.uniq('natlive')
    cfg = d.base_config(chan, nat=NAT_CONFIG)
    # Linux's timeouts: the flows are still in the table when it is listed.
    del cfg['timeouts']
    cfg_path = d.write_config(tmp, cfg, 'natlive.json')
    evpath = os.path.join(tmp, 'events.json')
    lst = d.start_events(chan, evpath, None, idle_ms=0, max_s=120)
    log = open(os.path.join(tmp, 'dpct.log'), 'w')
    lcores = '0@0,(1-%d)@1' % WORKERS if WORKERS > 1 else '0-1'
    stats = os.path.join(tmp, 'stats.json')
    eal = ['--vdev', 'net_af_packet0,iface=%s' % hosts[0],
           '--vdev', 'net_af_packet1,iface=%s' % hosts[1]]
    dp = subprocess.Popen(d.dpct_cmd(prefix, cfg_path, replay=False, lcores=lcores, stats=stats,
                                     extra_eal=eal),
                          stdout=log, stderr=subprocess.STDOUT, text=True)
    ok = d.wait_for(lambda: dp.poll() is not None or len(d.listeners(prefix)) >= 1, 30)
    if not ok or dp.poll() is not None:
        log.flush()
        raise RuntimeError('dpct did not come up (exit %s): %s' % (
            dp.poll(), open(log.name).read()[-2000:]))
    return dp, lst, prefix, chan, evpath


def ct_lines(text):
    """`conntrack -L` lines as (line, [(src, dst), (src, dst)])."""
    out = []
    for line in text.splitlines():
        pairs = re.findall(r'src=(\S+) dst=(\S+)', line)
        if pairs:
            out.append((line, pairs))
    return out


def main():
    t = d.Tap()
    if os.geteuid() != 0:
        t.skip_all('needs root (network namespaces)')
    for tool in ('ip', 'nft', 'conntrack', 'ethtool'):
        if shutil.which(tool) is None:
            t.skip_all('%s not installed' % tool)
    mode = os.environ.get('DPCT_NAT_LIVE_GATEWAY', 'dpct')
    if mode == 'dpct':
        d.need([d.DPCT, d.EVENTS, d.CTL], t)
    print('# gateway: %s' % mode)

    def on_term(signum, frame):
        raise SystemExit(1)
    signal.signal(signal.SIGTERM, on_term)
    tmp = d.tmpdir('natlive')
    net = nl.Netns('nl%d' % (os.getpid() % 100000))
    dp = lst = None
    try:
        c, s, hosts = build(net, mode, tmp)
        if mode == 'dpct':
            dp, lst, prefix, chan, evpath = start_dpct(tmp, hosts)
        caps = {}
        for role, ns in (('C', c), ('S', s)):
            path = os.path.join(tmp, 'cap-%s.pcap' % role)
            caps[role] = (path, net.popen(nl.helper(ns, 'capture', 'eth0', path, 90)))
        peers_path = os.path.join(tmp, 'peers.json')
        srv = net.popen(nl.helper(s, 'serve', json.dumps({'tcp': [[SERVER, 5001], [SERVER, 5011]],
                                                          'udp': [[SERVER, 5002],
                                                                  [SERVER, 5012]]}),
                                  peers_path, 90))
        fwd_path = os.path.join(tmp, 'peers-inside.json')
        net.popen(nl.helper(c, 'serve', json.dumps({'tcp': [[CLIENT, FWD_PORT]]}), fwd_path, 90))
        for path in [p for p, _ in caps.values()] + [peers_path, fwd_path]:
            if not d.wait_for(lambda: os.path.exists(path + '.ready'), 10):
                raise RuntimeError('%s: helper did not start' % path)
        r = subprocess.run(nl.helper(c, 'client', json.dumps(ACTIONS)), capture_output=True,
                           text=True, timeout=90)
        t.eq(r.returncode, 0, 'client ran', ) or print('# ' + r.stderr[-1000:])
        results = json.loads(r.stdout) if r.returncode == 0 else []
        for res in results:
            what = '%s to %s:%s' % (res['op'], res['dst'], res.get('dport', res.get('id')))
            t.check(res.get('ok'), 'client: %s: %s' % (
                what, res.get('result', 'replies %s' % res.get('replies', 'ok'))), res)
        r = subprocess.run(nl.helper(s, 'client', json.dumps(FWD_ACTIONS)), capture_output=True,
                           text=True, timeout=60)
        fwd = json.loads(r.stdout) if r.returncode == 0 else []
        t.check(len(fwd) == 2 and all(x.get('ok') for x in fwd),
                'port forward: the server\'s connections to %s:%d got their answers' % (
                    PUBLIC, PUBLIC_PORT), fwd or r.stderr[-500:])
        fwd_peers = sorted(tuple(e['peer']) for e in nl.json_lines(fwd_path))
        t.eq(fwd_peers, sorted((SERVER, x.get('sport')) for x in fwd),
             'port forward: the client\'s socket saw the server\'s own address and ports')
        r = subprocess.run(nl.helper(c, 'client', json.dumps(SUB_ACTIONS)), capture_output=True,
                           text=True, timeout=60)
        sub = json.loads(r.stdout) if r.returncode == 0 else []
        t.check(len(sub) == 7 and all(x.get('ok') for x in sub),
                'block mode: the subscriber\'s 4 TCP connections and 3 UDP exchanges answered',
                sub or r.stderr[-500:])
        allpeers = nl.json_lines(peers_path)
        peers = [e for e in allpeers if e['local'][1] in (5001, 5002)]
        subp = [e for e in allpeers if e['local'][1] in (5011, 5012)]
        t.check(len(subp) == 7 and all(in_cgn(e['peer'][0]) and
                                       CGN_LO <= e['peer'][1] <= CGN_HI for e in subp),
                'block mode: the server saw the subscriber as a cgnat address and port', subp)
        print('# subscriber peers: %s' % ' '.join('%s/%s:%d' % (e['proto'], e['peer'][0],
                                                               e['peer'][1]) for e in subp))
        if mode == 'dpct':
            for proto in ('tcp', 'udp'):
                mine = [e['peer'] for e in subp if e['proto'] == proto]
                blocks = {(a, (p - CGN_LO) // BLOCK) for a, p in mine}
                t.check(mine and len(blocks) == 1,
                        'block mode: the subscriber\'s %s ports are in one block of %d of one '
                        'address' % (proto, BLOCK), mine)
        tcp_peers = [e['peer'] for e in peers if e['proto'] == 'tcp']
        udp_peers = [e['peer'] for e in peers if e['proto'] == 'udp']
        t.eq((len(tcp_peers), len(udp_peers)), (3, 3), 'server saw 3 TCP and 3 UDP peers')
        t.check(all(in_pool(a) and PORT_LO <= p <= PORT_HI for a, p in tcp_peers + udp_peers),
                'server: every peer is a pool address and a pool port', peers)
        print('# server peers: %s' % ' '.join('%s/%s:%d' % (e['proto'], e['peer'][0],
                                                           e['peer'][1]) for e in peers))

        # An ICMP time exceeded about one UDP flow, as a router on the
        # server's side would send it: to the public address and port.
        udp_cl = [x for x in results if x['op'] == 'udp' and x.get('expect') != 'refused']
        te_peer = udp_peers[0] if udp_peers else [str(POOL_NET[0]), PORT_LO]
        subprocess.run(nl.helper(s, 'icmp-error', json.dumps({
            'type': 11, 'code': 0, 'src': SERVER, 'dst': te_peer[0], 'quote': {
                'src': te_peer[0], 'dst': SERVER, 'proto': 17, 'sport': te_peer[1],
                'dport': 5002}})), check=True, timeout=20)
        time.sleep(1)

        # The server's own conntrack.
        ct = nl.sh(nl.in_ns(s, ['conntrack', '-L', '-o', 'extended']), check=False)
        lines = ct_lines(ct.stdout)
        for proto, n in (('tcp', 3), ('udp', 3), ('icmp', 2)):
            mine = [ln for ln, pairs in lines if ln.split()[2] == proto and
                    pairs[0][1] == SERVER]
            pool = [ln for ln in mine if in_pool(re.search(r'src=(\S+)', ln).group(1))]
            t.check(len(pool) >= n, "server's conntrack: %d %s entries from the pool "
                    "(>= %d)" % (len(pool), proto, n), ct.stdout)
        leak = [ln for ln, pairs in lines if any(inside(a) or inside(b) for a, b in pairs)]
        t.check(not leak, "server's conntrack never shows the inside address", '\n'.join(leak))

        if mode == 'dpct':
            crc, listing, cerr = d.ctl(prefix, 'list')
            t.eq(crc, 0, 'dpct-ctl list') or print('# ' + cerr[-500:])
            mapped = [ln for ln in listing.splitlines() if 'src=%s' % CLIENT in ln and
                      any(in_pool(b) for a, b in re.findall(r'src=(\S+) dst=(\S+)', ln)[1:])]
            t.check(len(mapped) >= 8, 'dpct-ctl list: %d entries from %s translated to the '
                    'pool (>= 8)' % (len(mapped), CLIENT), listing)

        for role, (path, p) in caps.items():
            p.send_signal(signal.SIGTERM)
            p.wait(20)
        srv.send_signal(signal.SIGTERM)
        srv.wait(10)
        pk = {role: [x for x in (nl.parse_ipv4(f) for f in d.read_pcap(path)) if x]
              for role, (path, _) in caps.items()}
        t.check(pk['S'] and not [x for x in pk['S'] if inside(x['src']) or inside(x['dst'])],
                'server side: %d IPv4 packets, none with an inside address' % len(pk['S']))
        t.check(pk['C'] and not [x for x in pk['C'] if in_pool(x['src']) or in_pool(x['dst']) or
                                 in_cgn(x['src']) or in_cgn(x['dst']) or
                                 PUBLIC in (x['src'], x['dst'])],
                'client side: %d IPv4 packets, none with a pool or the public address'
                % len(pk['C']))
        echo = [x for x in pk['S'] if x['proto'] == 1 and x['l4'][:1] == b'\x08']
        t.check(len(echo) == 6 and all(in_pool(x['src']) for x in echo),
                'server side: the 6 echo requests come from the pool', [
                    (x['src'], x['dst']) for x in echo])
        errs = [e for e in (nl.icmp_error_check(x) for x in pk['C']
                            if x['dst'] == CLIENT) if e]
        by_kind = {(e['type'], e['code']): e for e in errs}
        refused = [x for x in results if x.get('expect') == 'refused']
        rejected = [x for x in results if x.get('expect') == 'error']
        for (ty, code), name, proto, dport, cl, whole in (
                ((3, 3), 'port unreachable (UDP)', 17, 5003, refused, True),
                ((3, 1), 'host unreachable (TCP reject)', 6, 5004, rejected, True),
                ((11, 0), 'time exceeded (UDP, 8 bytes quoted)', 17, 5002, udp_cl, False)):
            e = by_kind.get((ty, code))
            if not t.check(e is not None, 'client got the %s' % name, errs):
                continue
            want_sports = [x.get('sport') for x in cl]
            t.check(e['src'] == CLIENT and e['dst'] == SERVER and e['proto'] == proto and
                    e['dport'] == dport and e['sport'] in want_sports and
                    e['outer_dst'] == CLIENT and e['outer_src'] == SERVER,
                    '%s: quoted header is the client\'s own %s:%s -> %s:%d' % (
                        name, CLIENT, e['sport'], SERVER, dport), e)
            t.check(e['ip_csum_ok'] and e['icmp_csum_ok'] and e['inner_ip_csum_ok'],
                    '%s: outer IPv4, ICMP and quoted IPv4 checksums right' % name, e)
            if whole:
                t.check(e['whole_quote'] and e['inner_l4_csum_ok'],
                        '%s: quoted %s segment whole, its checksum right' % (
                            name, 'UDP' if proto == 17 else 'TCP'), e)

        if mode == 'dpct':
            time.sleep(0.5)
            d.stop(lst, 20)  # its output is whole once it has exited
            lst = None
            evs = d.events(evpath)
            news = {}
            for e in evs:
                if e.get('type') == 'new' and e['orig']['src'] == CLIENT:
                    news[(e['proto'], e['orig'].get('sport', e['orig'].get('icmp_id')),
                          e['orig'].get('dport'))] = e
            seen = {('tcp', tuple(p)) for p in tcp_peers} | {('udp', tuple(p)) for p in udp_peers}
            got = set()
            for e in news.values():
                if e['proto'] in ('tcp', 'udp') and e['orig'].get('dport') in (5001, 5002):
                    got.add((e['proto'], (e['reply']['dst'], e['reply']['dport'])))
            t.eq(got, seen, 'dpct NEW events carry the mappings the server saw as peers')
            bad = [e for e in news.values() if not (in_pool(e.get('reply', {}).get('dst')) and
                   (e['status'] & (S_SRC_NAT | S_SRC_NAT_DONE)) == S_SRC_NAT | S_SRC_NAT_DONE)]
            t.check(len(news) >= 10 and not bad, 'dpct: %d NEW events from the client, each '
                    'with a pool address and SRC_NAT|SRC_NAT_DONE' % len(news), bad)
            dn = [e for e in evs if e.get('type') == 'new' and e['orig']['dst'] == PUBLIC]
            t.check(len(dn) == 2 and all(
                (e['reply']['src'], e['reply']['sport']) == (CLIENT, FWD_PORT) and
                (e['status'] & (S_DST_NAT | S_DST_NAT_DONE)) == S_DST_NAT | S_DST_NAT_DONE
                for e in dn), 'dpct: the forwarded connections\' NEW events have reply src '
                '%s:%d and DST_NAT|DST_NAT_DONE' % (CLIENT, FWD_PORT), dn)
    finally:
        if lst is not None:
            d.stop(lst, 20)
        if dp is not None:
            rc, out = d.stop(dp, 30)
            t.eq(rc, 0, 'dpct stops cleanly') or print('# ' + open(
                os.path.join(tmp, 'dpct.log')).read()[-1500:])
            stats = os.path.join(tmp, 'stats.json')
            nat = d.load_json(stats).get('nat', {}) if rc == 0 and os.path.exists(stats) else {}
            print('# nat: ' + json.dumps({k: v for k, v in nat.items() if k != 'workers'},
                                         sort_keys=True))
            # 3 TCP, 3 UDP, 2 echo, the refused UDP, the rejected TCP, 2
            # forwarded; the subscriber's 4 TCP and 3 UDP in one block.
            t.eq([nat.get(k) for k in ('bound', 'exhausted', 'rewrite_failed', 'release_orphan',
                                       'blocks_alloc')],
                 [19, 0, 0, 0, 1], 'nat counters: 19 connections bound, none exhausted, no '
                 'rewrite failed, no orphan release, 1 port block')
        net.cleanup()
        if not os.environ.get('DPCT_KEEP_TMP'):
            shutil.rmtree(tmp, ignore_errors=True)
    t.done()


main()
