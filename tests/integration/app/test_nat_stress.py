#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""NAT, nothing lost (TAP): 100,000 short translated TCP connections through
dpct on net_af_packet (a client namespace and a server namespace, as in
test_nat_live.py), a reliable listener with a 2,048-byte receive buffer,
then a flush.

The connections are real on the server's side: the client namespace sends
SYNs from 105 inside addresses (10.20.0.0/16) and inside ports 40000-40999,
the server's TCP stack (a listening socket, syncookies always) answers each
with a SYN-ACK to the pool address and port dpct chose, and dpct translates
it back. For 100 of the addresses (a local route) the client's stack, which
has no socket for it, answers with a RST, which ends the connection:
SYN_SENT, SYN_RECV, CLOSE. The other 5 get no answer: their connections
(1 in 21) stay in SYN_RECV, holding their ports, until a flush. The pool is
two addresses and 16,000 ports each (20000-35999) that no inside port falls
into, so every connection gets a port chosen by dpct, and each port serves
several connections one after another. 95% of the connections come first,
then `dpct-ctl flush` ends those still in the table, then the last 5% come
at once (taking ports while the flushed connections' DESTROYs are still
queued for the listener), then a second flush.

A port is held until its DESTROY reached the listener, which the 2 KiB
buffer delays by seconds, more on a busy machine: with one pool address the
pool ran out at 4,000 connections a second (dpct refused and counted 4,051,
nat.exhausted). So the sender goes in chunks of 5,000 and waits before a
chunk while more than 60% of the pool's ports are held, and af_packet's
rings have 8,192 frames, so that a worker not scheduled for a while loses
no SYN in the kernel.

Checked on the listener's event log (NEW and DESTROY, in the order received):
- every NEW and every DESTROY carries its mapping: reply tuple from the
  server to the pool address and a pool port, SRC_NAT|SRC_NAT_DONE (only
  DESTROY is reliable, as in ctnetlink: about half the NEWs are lost to the
  small buffer, and those that arrive are checked);
- every connection dpct inserted gets exactly one DESTROY, and dpct reports
  0 undelivered DESTROYs at exit;
- no public address:port:protocol is held by two connections at once: when a
  mapping appears on a connection while another connection that had it has
  not had its DESTROY delivered yet, that is a failure;
- ports were in fact reused (the check above had something to check), and
  the replies came back through the mapping (SEEN_REPLY on the DESTROY).
DPCT_NAT_STRESS_FLOWS, DPCT_NAT_STRESS_RATE (SYNs a second) and
DPCT_NAT_STRESS_WORKERS (default 1; 2 passed too, in 54 s) change the size.
Needs root, ip and ethtool; skips otherwise.
"""
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402
import natlib as nl  # noqa: E402

FLOWS = int(os.environ.get('DPCT_NAT_STRESS_FLOWS', '100000'))
RATE = int(os.environ.get('DPCT_NAT_STRESS_RATE', '4000'))
WORKERS = int(os.environ.get('DPCT_NAT_STRESS_WORKERS', '1'))
CHUNK = 5000
# Rings of 8,192 frames (the default is 512): a worker that a busy machine
# does not schedule for a second loses no SYN in the kernel's ring.
AFP = 'net_af_packet%d,iface=%s,framecnt=8192'
GW_IN, GW_OUT, SERVER, SPORT = '10.10.0.1', '203.0.113.1', '203.0.113.10', 5001
INSIDE = ipaddress.ip_network('10.20.0.0/16')
LOCAL = '10.20.0.0/24'
# 100 addresses the client's stack owns (it resets each SYN-ACK) and 5 it
# does not (it drops their SYN-ACKs: those connections stay in SYN_RECV
# until a flush ends them).
SRCS = ['10.20.0.%d' % i for i in range(1, 101)] + ['10.20.1.%d' % i for i in range(1, 6)]
POOL = '198.51.100.8/31'
POOL_ADDRS = {'198.51.100.8', '198.51.100.9'}
PORT_LO, PORT_HI = 20000, 35999
MAC_C, MAC_S = '02:00:00:cc:00:03', '02:00:00:5e:00:03'
S_SEEN_REPLY, S_SRC_NAT, S_SRC_NAT_DONE = 1 << 1, 1 << 4, 1 << 7

NAT_CONFIG = {
    'pools': [{'name': 'public', 'addresses': POOL, 'ports': '%d-%d' % (PORT_LO, PORT_HI)}],
    'rules': [{'name': 'lan-out', 'action': 'snat', 'in_port': 0, 'src': str(INSIDE),
               'pool': 'public'}],
}


def build(net):
    c, s = net.ns('C'), net.ns('S')
    hc, _ = net.veth(None, 'hc', c, 'eth0', mac_b=MAC_C)
    hs, _ = net.veth(None, 'hs', s, 'eth0', mac_b=MAC_S)
    nl.sh(['ip', '-n', c, 'addr', 'add', '10.10.0.2/24', 'dev', 'eth0'])
    nl.sh(['ip', '-n', c, 'route', 'add', 'local', LOCAL, 'dev', 'lo'])
    nl.sh(['ip', '-n', c, 'route', 'add', 'default', 'via', GW_IN])
    nl.sh(['ip', '-n', c, 'neigh', 'add', GW_IN, 'lladdr', MAC_S, 'dev', 'eth0',
           'nud', 'permanent'])
    nl.sh(['ip', '-n', s, 'addr', 'add', SERVER + '/24', 'dev', 'eth0'])
    nl.sh(['ip', '-n', s, 'route', 'add', '198.51.100.0/24', 'via', GW_OUT])
    nl.sh(['ip', '-n', s, 'neigh', 'add', GW_OUT, 'lladdr', MAC_C, 'dev', 'eth0',
           'nud', 'permanent'])
    for ns in (c, s):
        nl.sh(nl.in_ns(ns, ['sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0',
                            'net.ipv4.conf.default.rp_filter=0',
                            'net.ipv4.conf.eth0.rp_filter=0']))
    # Stateless SYN-ACKs: every SYN is answered, whatever the backlog.
    nl.sh(nl.in_ns(s, ['sysctl', '-qw', 'net.ipv4.tcp_syncookies=2']))
    return c, s, hc, hs


def pool_busy(prefix):
    """The share of the pool's TCP ports held now (0 when dpct does not answer)."""
    v = d.telemetry(prefix, '/dpct/nat')
    tot = v.get('totals') if isinstance(v, dict) else None
    if not isinstance(tot, dict) or not tot.get('ports_total'):
        return 0.0
    # ports_total counts each port once per protocol (TCP, UDP, ICMP).
    return tot.get('ports_in_use', 0) / (tot['ports_total'] / 3.0)


def walk(evs):
    """The event log checked in order: (counters, failures)."""
    holder = {}       # (addr, port, proto) -> flow holding it, DESTROY not yet seen
    users = {}        # (addr, port, proto) -> flows that had it, in order
    destroyed = set()
    new_flows = set()
    n = {'new': 0, 'destroy': 0, 'seen_reply': 0, 'dup_destroy': 0, 'after_destroy': 0}
    bad_map, clash = [], []
    for e in evs:
        ty = e.get('type')
        if ty not in ('new', 'destroy'):
            continue
        o, r = e.get('orig', {}), e.get('reply', {})
        flow = (e.get('l4proto'), o.get('src'), o.get('sport'), o.get('dst'), o.get('dport'),
                e.get('id'))
        n[ty] += 1
        ok = (r.get('src') == SERVER and r.get('sport') == SPORT and r.get('dst') in POOL_ADDRS and
              PORT_LO <= (r.get('dport') or 0) <= PORT_HI and
              (e.get('status', 0) & (S_SRC_NAT | S_SRC_NAT_DONE)) ==
              S_SRC_NAT | S_SRC_NAT_DONE and
              ipaddress.ip_address(o.get('src', '0.0.0.0')) in INSIDE)
        if not ok:
            bad_map.append(e)
        m = (r.get('dst'), r.get('dport'), e.get('l4proto')) if ok else None
        if flow in destroyed:
            n['dup_destroy' if ty == 'destroy' else 'after_destroy'] += 1
            continue
        h = holder.get(m) if ok else None
        if ok and h is None:
            holder[m] = flow
            users.setdefault(m, []).append(flow)
        elif ok and h != flow:
            clash.append('%s:%d/%d given to %s while %s had not had its DESTROY' % (
                m[0], m[1], m[2], flow, h))
        if ty == 'new':
            new_flows.add(flow)
        else:
            destroyed.add(flow)
            if e.get('status', 0) & S_SEEN_REPLY:
                n['seen_reply'] += 1
            if ok and holder.get(m) == flow:
                del holder[m]
    n['flows_destroyed'] = len(destroyed)
    n['new_without_destroy'] = len(new_flows - destroyed)
    n['ports_used'] = len(users)
    n['ports_reused'] = sum(1 for v in users.values() if len(v) > 1)
    n['max_holders_of_one_port'] = max((len(v) for v in users.values()), default=0)
    return n, bad_map, clash


def main():
    t = d.Tap()
    if os.geteuid() != 0:
        t.skip_all('needs root (network namespaces)')
    for tool in ('ip', 'ethtool'):
        if shutil.which(tool) is None:
            t.skip_all('%s not installed' % tool)
    d.need([d.DPCT, d.EVENTS, d.CTL], t)

    def on_term(signum, frame):
        raise SystemExit(1)
    signal.signal(signal.SIGTERM, on_term)
    tmp = d.tmpdir('natstress')
    net = nl.Netns('ns%d' % (os.getpid() % 100000))
    prefix, chan = d.uniq('natstress')
    dp = lst = None
    t0 = time.monotonic()
    try:
        c, s, hc, hs = build(net)
        cfg = d.base_config(chan, table={'max_entries': 262144}, nat=NAT_CONFIG,
                            events={'destroy_grace_ms': 500})
        cfg_path = d.write_config(tmp, cfg, 'natstress.json')
        evpath = os.path.join(tmp, 'events.json')
        stats = os.path.join(tmp, 'stats.json')
        lst = d.start_events(chan, evpath, None, reliable=True, rcvbuf=2048, idle_ms=0,
                             max_s=240, extra=['--events', 'new,destroy'])
        log = open(os.path.join(tmp, 'dpct.log'), 'w')
        lcores = '0@0,(1-%d)@1' % WORKERS if WORKERS > 1 else '0-1'
        dp = subprocess.Popen(d.dpct_cmd(prefix, cfg_path, replay=False, lcores=lcores,
                                         stats=stats, extra_eal=[
                                             '--vdev', AFP % (0, hc), '--vdev', AFP % (1, hs)]),
                              stdout=log, stderr=subprocess.STDOUT, text=True)
        up = d.wait_for(lambda: dp.poll() is not None or len(d.listeners(prefix)) >= 1, 30)
        if not t.check(up and dp.poll() is None, 'dpct up with a reliable listener',
                       open(log.name).read()[-2000:]):
            t.done()
        peers = os.path.join(tmp, 'peers.json')
        srv = net.popen(nl.helper(s, 'serve', json.dumps({'tcp': [[SERVER, SPORT]]}),
                                  peers, 200))
        d.wait_for(lambda: os.path.exists(peers + '.ready'), 10)
        # Two waves: the first ends with a flush while its last connections
        # are still in the table, and the second takes ports at once, while
        # the DESTROYs of the flushed ones are still on their way through
        # the listener's small buffer.
        second = FLOWS // 20
        flushed = []
        throttled = [0.0]

        def send(first, count):
            """SYNs first..first+count-1 in chunks; before each chunk, wait
            while more than 60% of the pool's TCP ports are held: on a busy
            machine the listener drains late, ports wait for their DESTROYs
            and the pool would run out (dpct refuses and counts that, but
            then fewer connections pass)."""
            sent = 0
            for k in range(first, first + count, CHUNK):
                n = min(CHUNK, first + count - k)
                t1 = time.monotonic()
                d.wait_for(lambda: pool_busy(prefix) <= 0.6, 30, 0.05)
                throttled[0] += time.monotonic() - t1
                spec = {'srcs': SRCS, 'sport_lo': 40000, 'sport_hi': 40999, 'dst': SERVER,
                        'dports': [SPORT], 'count': n, 'rate': RATE, 'first': k}
                r = subprocess.run(nl.helper(c, 'syn-flood', json.dumps(spec)),
                                   capture_output=True, text=True, timeout=n / RATE * 3 + 30)
                if r.returncode != 0:
                    print('# syn-flood: ' + r.stderr[-300:])
                    break
                sent += json.loads(r.stdout)['sent']
            return sent
        for first, count in ((0, FLOWS - second), (FLOWS - second, second)):
            sent = send(first, count)
            t.eq(sent, count, '%d SYNs sent' % sent)
            frc, fout, ferr = d.ctl(prefix, 'flush', timeout=60)
            t.eq(frc, 0, 'dpct-ctl flush: %s' % (fout.strip() or ferr.strip()))
            flushed.append(d.first_int(fout.split(':', 1)[-1]) or 0)
        print('# waited %.1f s for the pool to drain below 60%%' % throttled[0])
        t.check(flushed[0] > 0, 'the first flush ended live connections (%d)' % flushed[0])

        def settled():
            v = d.telemetry(prefix, '/dpct/count')
            return isinstance(v, dict) and v.get('count') == 0 and v.get('dying') == 0
        t.check(d.wait_for(settled, 90, 0.5), 'table empty and nothing dying after the flush',
                d.telemetry(prefix, '/dpct/count'))
        rc, out = d.stop(dp, 60)
        dp = None
        t.eq(rc, 0, 'dpct exit 0') or print('# ' + open(log.name).read()[-1500:])
        lrc, lerr = d.finish(lst, 30)
        lst = None
        t.check(d.listener_ended_ok(lrc, lerr), 'listener ended cleanly (%d)' % lrc, lerr[-500:])
        srv.send_signal(signal.SIGTERM)

        st = d.load_json(stats) if os.path.exists(stats) else {}
        if not t.check(bool(st), 'stats written'):
            t.done()
        ins = d.counter(st, 'insert')
        und = d.counter(st, 'undelivered_destroy')
        print('# insert %d, events_failed %d, destroy_resent %d, undelivered %d' % (
            ins, d.counter(st, 'events_failed'), d.counter(st, 'destroy_resent'), und))
        nat = st.get('nat') or {}
        print('# nat: ' + json.dumps({k: v for k, v in nat.items() if k != 'workers'},
                                     sort_keys=True))
        t.eq((nat.get('bound'), nat.get('released')), (ins, ins),
             'nat: every inserted connection bound and released (%d)' % ins)
        t.eq(nat.get('release_orphan', 0), 0, 'nat: no orphan release')
        t.check(ins + nat.get('exhausted', 0) <= FLOWS,
                'inserted %d + refused for an exhausted pool %d <= %d SYNs' % (
                    ins, nat.get('exhausted', 0), FLOWS))
        t.eq(und, 0, 'undelivered_destroy 0')
        evs = d.events(evpath)
        n, bad_map, clash = walk(evs)
        print('# ' + json.dumps(n, sort_keys=True))
        t.check(ins >= FLOWS * 0.99, 'dpct inserted %d connections of %d' % (ins, FLOWS))
        t.check(not bad_map, 'every NEW (%d) and DESTROY (%d) carries its mapping '
                '(%s, %d-%d, SRC_NAT|SRC_NAT_DONE)' % (n['new'], n['destroy'], POOL, PORT_LO,
                                                        PORT_HI),
                '\n'.join(json.dumps(e) for e in bad_map[:10]))
        t.eq(n['flows_destroyed'], ins, 'a DESTROY for every connection inserted')
        t.eq((n['dup_destroy'], n['after_destroy']), (0, 0),
             'no duplicate DESTROY, no event after a DESTROY')
        t.eq(n['new_without_destroy'], 0, 'every connection with a NEW got its DESTROY')
        t.check(not clash, 'no public address:port held by two connections at once (%d ports, '
                '%d reused, up to %d connections each)' % (
                    n['ports_used'], n['ports_reused'], n['max_holders_of_one_port']),
                '\n'.join(clash[:10]))
        t.check(n['ports_reused'] > 0, 'ports were reused (%d)' % n['ports_reused'])
        t.check(n['seen_reply'] >= n['flows_destroyed'] * 0.99,
                'replies came back through the mapping: SEEN_REPLY on %d of %d DESTROYs' % (
                    n['seen_reply'], n['flows_destroyed']))
        print('# %.1f s' % (time.monotonic() - t0))
    finally:
        if lst is not None:
            d.stop(lst, 20)
        if dp is not None:
            d.stop(dp, 30)
        net.cleanup()
        if not os.environ.get('DPCT_KEEP_TMP'):
            subprocess.run(['rm', '-rf', tmp])
    t.done()


main()
