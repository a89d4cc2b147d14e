# SPDX-License-Identifier: BSD-3-Clause
"""dpct -> conntrackd (docs/ha.md): Debian's conntrackd runs FTFW over UDP in
a network namespace, on a veth link to dpct's side; dpct replays 10,000
connections with state sync on (auth none on the dedicated link, dpct's
extension messages on). conntrackd's external cache (`conntrackd -e`) must
hold exactly the connections still live in dpct at the end (NEW/UPDATE
events without a DESTROY, from a reliable dpct-events), with their TCP
states; conntrackd must count no malformed message and must have skipped
every extension message; dpct must have every message ACKed. After
`conntrackd -c` the namespace's kernel table (`conntrack -L`) holds the same
connections, TCP states, and timeouts no longer than the last synced ones.

With the argument `loss`, netem drops 10 % of the datagrams both ways on the
link: the same must hold, with resends and NACKs counted on both sides.
With `multicast`, both sides use conntrackd's Multicast transport (group
225.0.0.50 joined on the link). With `tcp`, conntrackd's TCP transport: each
side listens for the other's stream and connects for its own; dpct's
connection counters must show one stream each way and nothing dropped.
With `sctp`, SCTP associations (dpct-gen's sctp workload) instead of the
mix: their states travel in conntrackd's SCTP attributes, and conntrackd
and then the kernel must hold each live association in the state dpct
last reported."""

import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halib  # noqa: E402
from halib import dpctlib  # noqa: E402

FLOWS = 10000


def main():
    tap = dpctlib.Tap()
    for tool in ('conntrackd', 'conntrack'):
        if shutil.which(tool) is None:
            tap.check(False, '%s installed (scripts/setup.sh)' % tool)
            tap.done()
    dpctlib.need([dpctlib.DPCT, dpctlib.GEN, dpctlib.EVENTS], tap)
    loss = len(sys.argv) > 1 and sys.argv[1] == 'loss'
    mcast = len(sys.argv) > 1 and sys.argv[1] == 'multicast'
    tcp = len(sys.argv) > 1 and sys.argv[1] == 'tcp'
    sctp = len(sys.argv) > 1 and sys.argv[1] == 'sctp'
    flows = 2000 if sctp else FLOWS
    d = dpctlib.tmpdir('ha_ctd')
    link = halib.Link('ct')
    ctd = None
    try:
        link.setup()
        port = 3780
        if loss:
            # netem where the kernel has it; otherwise nftables' random
            # numbers, in the test's namespace only, both directions.
            ok = all(halib.run(cmd, check=False).returncode == 0 for cmd in (
                ['tc', 'qdisc', 'add', 'dev', link.host_if, 'root', 'netem', 'loss', '10%'],
                ['ip', 'netns', 'exec', link.ns, 'tc', 'qdisc', 'add', 'dev', link.ns_if,
                 'root', 'netem', 'loss', '10%']))
            if not ok:
                rules = ('table inet ha_loss {\n'
                         ' chain in { type filter hook input priority 0; policy accept;\n'
                         '  udp dport %d numgen random mod 10 == 0 counter drop\n }\n'
                         ' chain out { type filter hook output priority 0; policy accept;\n'
                         '  udp sport %d numgen random mod 10 == 0 counter drop\n }\n'
                         '}\n' % (port, port))
                link.exec('nft', '-f', '-', input=rules)
            tap.check(True, '10 %% of the sync datagrams dropped both ways (%s)'
                      % ('netem' if ok else 'nftables numgen'))
        conf = halib.conntrackd_conf(d, link, port, multicast=mcast, tcp=tcp)
        ctd = subprocess.Popen(['ip', 'netns', 'exec', link.ns, 'conntrackd', '-C', conf],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ok = dpctlib.wait_for(lambda: os.path.exists(os.path.join(d, 'ctd.sock')), 10)
        tap.check(ok and ctd.poll() is None, 'conntrackd runs in namespace %s' % link.ns)
        pcap = dpctlib.gen(os.path.join(d, 'a.pcap'), 'sctp' if sctp else 'mix', flows,
                           concurrency=512, seed=25)
        prefix, chan = dpctlib.uniq('ha_ctd')
        cfg = dpctlib.base_config(chan)
        cfg['ha'] = {'peer': link.ns_addr, 'bind': link.host_addr, 'auth': 'none',
                     'port': port, 'drain_ms': 10000}
        if mcast:
            cfg['ha'] = {'peer': halib.MCAST_GROUP, 'transport': 'multicast',
                         'interface': link.host_if, 'auth': 'none', 'port': port,
                         'drain_ms': 10000}
        if tcp:
            cfg['ha']['transport'] = 'tcp'
        cp = dpctlib.write_config(d, cfg)
        evj, summ = os.path.join(d, 'ev.json'), os.path.join(d, 'sum.json')
        lis = dpctlib.start_events(chan, evj, summ, reliable=True, rcvbuf=8 << 20,
                                   idle_ms=3000, max_s=120)
        st = os.path.join(d, 'st.json')
        t0 = time.monotonic()
        cmd = dpctlib.dpct_cmd(prefix, cp, rx=pcap, tx=os.path.join(d, 'tx.pcap'), stats=st,
                               app=dpctlib.wait_listeners_args(1))
        rc, _, err = dpctlib.run_dpct(cmd, timeout=180)
        dpctlib.finish(lis, 60)
        tap.eq(rc, 0, 'dpct exits 0')
        print('# ' + err[-1500:].replace('\n', '\n# '))
        ha = dpctlib.load_json(st).get('ha', {})
        print('# dpct ha: ' + json.dumps({k: ha.get(k) for k in (
            'tx_new', 'tx_update', 'tx_destroy', 'tx_datagrams', 'tx_bytes', 'acked',
            'resent', 'superseded', 'overwritten', 'unrecoverable', 'gaps', 'nacks_sent',
            'pending_at_exit', 'rx_ctl', 'resync_requests',
            'peer_known')}))
        if tcp:
            print('# dpct tcp: ' + json.dumps({k: ha.get(k) for k in ha if k.startswith('tcp_')}))
            tap.check(ha.get('tcp_connects', 0) >= 1 and ha.get('tcp_accepts', 0) >= 1,
                      'a stream each way: dpct connected (%s) and accepted conntrackd (%s)'
                      % (ha.get('tcp_connects'), ha.get('tcp_accepts')))
            tap.check(ha.get('tcp_tx_dropped') == 0 and ha.get('tcp_rx_bad_stream') == 0,
                      'nothing dropped, no bad stream (%s, %s)'
                      % (ha.get('tcp_tx_dropped'), ha.get('tcp_rx_bad_stream')))
        if loss:
            tap.check(ha.get('resent', 0) > 0 and ha.get('unrecoverable', 1) == 0,
                      'dpct resent what conntrackd NACKed (%s), nothing unrecoverable'
                      % ha.get('resent'))
        evs = dpctlib.events(evj)
        news = sum(1 for e in evs if e['type'] == 'new')
        stj = dpctlib.load_json(st)
        print('# events: %s; listeners %s' % (
            {t: sum(1 for e in evs if e['type'] == t) for t in ('new', 'update', 'destroy')},
            json.dumps(stj.get('listeners'))[:600]))
        tap.eq(ha.get('tx_new'), news, 'one sync NEW per NEW event')
        tap.eq(ha.get('tx_destroy'), sum(1 for e in evs if e['type'] == 'destroy'),
               'one sync DEL per DESTROY event')
        tap.eq(ha.get('pending_at_exit'), 0, 'conntrackd ACKed every message before dpct exited')
        tap.check(ha.get('peer_known') is True, 'conntrackd answered the HELLO')
        live = halib.live_at_end(evs)
        tap.check(len(live) > flows // 10,
                  '%d connections live at the end of the replay' % len(live))
        if sctp:
            n_sctp = sum(1 for k in live if k[0] == 132)
            tap.check(n_sctp > flows // 10 and all('state' in live[k] for k in live
                                                   if k[0] == 132),
                      '%d SCTP associations live, each with its state' % n_sctp)

        ext = halib.parse_ct(link.exec('conntrackd', '-C', conf, '-e').stdout)
        tap.eq(len(ext), len(live), 'conntrackd -e: as many entries as live connections')
        missing = [k for k in live if k not in ext]
        extra = [k for k in ext if k not in live]
        tap.check(not missing and not extra, 'conntrackd -e: exactly the live connections',
                  'missing %s extra %s' % (missing[:3], extra[:3]))
        bad_state = [k for k, e in live.items() if k in ext and 'state' in e and
                     ext[k][0] != e['state']]
        tap.check(not bad_state, 'conntrackd -e: every TCP and SCTP state as dpct last '
                  'reported it',
                  str([(k, ext[k], live[k].get('state')) for k in bad_state[:3]]))
        net = link.exec('conntrackd', '-C', conf, '-s', 'network').stdout
        if loss:
            lost = [ln for ln in net.splitlines() if 'Packets lost' in ln]
            tap.check(lost and int(lost[0].split()[-1]) > 0,
                      'conntrackd saw the losses (%s)' % (lost[0].strip() if lost else '?'))
        mal = [ln for ln in net.splitlines() if 'Malformed' in ln]
        tap.check(mal and all(ln.split()[-1] == '0' for ln in mal),
                  'conntrackd counts no malformed message', net)
        before = [ln for ln in net.splitlines() if 'Packets before' in ln]
        n_ext = ha.get('tx_new', 0) + ha.get('tx_update', 0) + ha.get('tx_destroy', 0)
        # Under loss, the extensions of lost datagrams never arrive (the
        # resent ones do): at least 80 %.
        tap.check(before and int(before[0].split()[-1]) >= (n_ext * 8 // 10 if loss else n_ext),
                  'conntrackd skipped the %d extension messages as duplicates' % n_ext,
                  before[0] if before else net)

        c = link.exec('conntrackd', '-C', conf, '-c', check=False)
        tap.eq(c.returncode, 0, 'conntrackd -c commits the external cache')
        elapsed = time.monotonic() - t0
        kern = halib.parse_ct(link.exec('conntrack', '-L').stdout)
        missing = [k for k in live if k not in kern]
        extra = [k for k in kern if k not in live]
        tap.check(not missing and not extra,
                  'conntrack -L in the namespace: exactly the %d live connections' % len(live),
                  'missing %d %s extra %d %s' % (len(missing), missing[:3], len(extra),
                                                  extra[:3]))
        bad_state = [k for k, e in live.items() if k in kern and 'state' in e and
                     kern[k][0] != e['state']]
        tap.check(not bad_state, 'conntrack -L: TCP and SCTP states as dpct reported them',
                  str([(k, kern[k], live[k].get('state')) for k in bad_state[:3]]))
        bad_to = [k for k, e in live.items() if k in kern and kern[k][1] is not None and
                  not (e['timeout'] - elapsed - 5 <= kern[k][1] <= e['timeout'])]
        tap.check(not bad_to, 'conntrack -L: each timeout is the synced one, less the time '
                  'since (%.0f s)' % elapsed,
                  str([(k, kern[k], live[k]['timeout']) for k in bad_to[:3]]))
    finally:
        if ctd is not None:
            ctd.terminate()
            try:
                ctd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                ctd.kill()
        link.teardown()
    shutil.rmtree(d, ignore_errors=True)
    tap.done()


if __name__ == '__main__':
    main()
