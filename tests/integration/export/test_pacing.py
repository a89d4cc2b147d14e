# SPDX-License-Identifier: BSD-3-Clause
"""Paced IPFIX over UDP to a stock nfcapd on loopback (docs/export.md,
"Pacing"). Debian's nfcapd runs with its defaults, as a new user starts it
(`nfcapd -w DIR -b 127.0.0.1 -p PORT`: no -B, the kernel's default socket
buffer), and dpct replays a 20,000-flow mix with --flush-on-eof, so that
the whole table ends, and is exported, in one burst.

  test_pacing.py default   the configuration sets no rate: the default
                           pacing must deliver every flow (each equal to
                           dpct's DESTROY event, from dpct-events), the
                           packet and byte totals, no sequence error at
                           nfcapd, nothing lost in dpct's counters. Then the
                           same in live mode, the flows kept open by long
                           timeouts and flushed by SIGTERM (--flush-on-exit),
                           at 500 messages/s so that most of the flush is
                           still queued when the control core's drain ends:
                           the shutdown drains the paced queue as well.
  test_pacing.py loss      the same replay at a rate far too low for it
                           (200 messages/s into a 1 MiB queue, a 2 s drain:
                           the flush's 1,171 messages overflow the queue and
                           outlast the drain): the loss must show at both
                           ends, exactly. dpct counts it (queue_dropped,
                           lost_at_exit, records_lost), nfcapd stores exactly
                           records_sent - records_lost flows, each one a
                           DESTROY of dpct's, and reports sequence errors:
                           at 200/s the bucket holds two messages, the
                           templates take one and the first data message the
                           other, so a message always leaves before the drops
                           and the next one shows the gap (at 10/s a fast
                           host flushed before the bucket refilled, every
                           message sent came after the drops, and nfcapd,
                           which first heard of the records past them, could
                           see none). Then pacing off (max_rate_pps 0): nothing
                           waits, dpct loses nothing itself, and a diagnostic
                           line tells what nfcapd lost and the sequence errors
                           it saw (6 to 24 % of the records on a 2-core host).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipfixlib  # noqa: E402
from ipfixlib import dpctlib  # noqa: E402

FLOWS = 20000



def udp_rx_queue(port):
    """Bytes waiting in the receive queue of the UDP socket bound to `port`
    (/proc/net/udp), or None when there is none."""
    try:
        with open('/proc/net/udp') as f:
            lines = f.readlines()[1:]
    except OSError:
        return None
    for ln in lines:
        cols = ln.split()
        if len(cols) > 4 and int(cols[1].split(':')[1], 16) == port:
            return int(cols[4].split(':')[1], 16)
    return None


LONG = {'tcp_established': 3600, 'tcp_time_wait': 3600, 'tcp_close': 3600,
        'tcp_fin_wait': 3600, 'tcp_last_ack': 3600, 'tcp_close_wait': 3600,
        'tcp_syn_sent': 3600, 'tcp_syn_recv': 3600, 'udp_unreplied': 3600,
        'udp_replied': 3600, 'icmp': 3600, 'icmpv6': 3600, 'generic': 3600,
        'gre_unreplied': 3600, 'gre_stream': 3600}


def run_live(tap, name, prefix, cmd, flows):
    """dpct in live mode: wait until it tracked `flows` connections, then
    SIGTERM (--flush-on-exit ends them all at once)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def inserted():
        st = ipfixlib.telemetry(prefix, '/dpct/stats') or {}
        return st.get('insert', 0) >= flows
    tap.check(ipfixlib.wait_for(inserted, 60), '%s: dpct tracked all %d flows' % (name, flows))
    count = (ipfixlib.telemetry(prefix, '/dpct/count') or {}).get('count', 0)
    tap.check(count >= flows * 0.9, '%s: most of them still open before the signal' % name,
              str(count))
    p.send_signal(signal.SIGTERM)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    return p.returncode, out, err


def run(tap, d, name, pcap, collector, ipfix, drain_ms, live_flows=0):
    """One replay into a fresh default nfcapd: (dpct's export counters, the
    DESTROY events, nfdump's flows, nfcapd's sequence errors, dpct's stats).
    live_flows: live mode, SIGTERM once that many flows are tracked."""
    nfdir = os.path.join(d, name + '_nf')
    os.mkdir(nfdir)
    port = ipfixlib.free_port()
    nfc = subprocess.Popen(['nfcapd', '-w', nfdir, '-b', '127.0.0.1', '-p', str(port)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ipfixlib.wait_for(lambda: udp_rx_queue(port) is not None or nfc.poll() is not None, 5)
    tap.check(nfc.poll() is None and udp_rx_queue(port) is not None,
              '%s: nfcapd (defaults, no -B) listens on udp port %d' % (name, port))
    prefix, chan = dpctlib.uniq('pace_' + name)
    coll = {'host': '127.0.0.1', 'port': port, 'transport': 'udp'}
    coll.update(collector)
    ip = {'collectors': [coll]}
    ip.update(ipfix)
    cfg = dpctlib.base_config(chan, export={'ipfix': ip})
    if live_flows:
        cfg['timeouts'] = dict(LONG)
    cfg_path = dpctlib.write_config(d, cfg, name + '.json')
    evj, summ = os.path.join(d, name + '_ev.json'), os.path.join(d, name + '_sum.json')
    lis = dpctlib.start_events(chan, evj, summ, reliable=True, rcvbuf=8 << 20,
                               idle_ms=2000, max_s=120)
    stats = os.path.join(d, name + '_stats.json')
    cmd = dpctlib.dpct_cmd(prefix, cfg_path, rx=pcap, tx=os.path.join(d, name + '_tx.pcap'),
                           stats=stats, replay=not live_flows,
                           app=['--flush-on-exit' if live_flows else '--flush-on-eof',
                                '--drain-timeout-ms', str(drain_ms)] +
                           dpctlib.wait_listeners_args(1))
    t0 = time.time()
    if live_flows:
        rc, out, err = run_live(tap, name, prefix, cmd, live_flows)
    else:
        rc, out, err = dpctlib.run_dpct(cmd, timeout=120)
    wall = time.time() - t0
    dpctlib.finish(lis, 60)
    tap.eq(rc, 0, '%s: dpct exits 0 (%.1f s)' % (name, wall)) or print('# ' + err[-1500:])
    # Everything dpct sent is in nfcapd's socket or read: let it read it all.
    ipfixlib.wait_for(lambda: udp_rx_queue(port) in (0, None), 10)
    time.sleep(0.3)
    nfc.send_signal(signal.SIGTERM)
    try:
        log, _ = nfc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        nfc.kill()
        log, _ = nfc.communicate()
    env = dict(os.environ, TZ='UTC')
    p = subprocess.run(['nfdump', '-R', nfdir, '-o', 'json'], capture_output=True, text=True,
                       env=env, timeout=60)
    try:
        recs = json.loads(p.stdout) if p.stdout.strip() else []
    except ValueError as e:
        recs = []
        tap.check(False, '%s: nfdump json parses' % name, str(e) + p.stdout[:300])
    flows = [r for r in recs if r.get('type') == 'FLOW']
    # nfcapd's loss accounting, as an operator reads it: nfdump -I on the
    # files (the stat record) and nfcapd's own line at exit.
    p = subprocess.run(['nfdump', '-R', nfdir, '-I'], capture_output=True, text=True, env=env,
                       timeout=60)
    seqf = [int(ln.split(':')[1]) for ln in p.stdout.splitlines()
            if ln.startswith('Sequence failures')]
    logseq = [int(ln.split('Sequence Errors:')[1].split(',')[0]) for ln in log.splitlines()
              if 'Sequence Errors:' in ln]
    tap.check(len(seqf) == 1 and logseq, '%s: nfdump -I and nfcapd report sequence errors'
              % name, p.stdout[-400:] + log[-400:])
    st = dpctlib.load_json(stats)
    ex = st.get('export', [{}])[0]
    print('# %s: %.1f s, dpct sent %d records in %d messages, lost %d (queue full %d, at '
          'exit %d), nfcapd stored %d flows, %s sequence errors'
          % (name, wall, ex.get('records_sent', -1), ex.get('messages', -1),
             ex.get('records_lost', -1), ex.get('queue_dropped', -1),
             ex.get('lost_at_exit', -1), len(flows), seqf))
    return ex, ipfixlib.destroys(evj), flows, (seqf or [-1])[0], (logseq or [-1])[0], st


def check_all_delivered(tap, name, rate, ex, evs, flows, seqf, logseq, st):
    want = sorted(ipfixlib.ev_flow(e) for e in evs)
    got = sorted(ipfixlib.nf_flow(r) for r in flows)
    tap.eq(ex.get('max_rate_pps'), rate, '%s: the collector is paced at %d messages/s'
           % (name, rate))
    tap.eq(len(want), dpctlib.counter(st, 'insert'), '%s: a DESTROY event for every flow' % name)
    tap.check(len(want) >= FLOWS * 0.99, '%s: the workload ends ~%d flows' % (name, FLOWS),
              str(len(want)))
    tap.eq(ex.get('records_sent'), len(want), '%s: dpct exported a record per DESTROY' % name)
    tap.eq(ex.get('records_lost'), 0, '%s: dpct lost no record (records_lost 0)' % name)
    tap.check(ex.get('messages_delayed', 0) > 0 and ex.get('queue_peak_bytes', 0) > 0,
              '%s: the flush waited in the pacing queue' % name, json.dumps(ex))
    tap.eq(len(got), len(want), '%s: nfcapd stored every flow' % name)
    tot = lambda fl, i: sum(f[i] for f in fl)  # noqa: E731
    tap.check(all(tot(got, i) == tot(want, i) for i in (5, 6, 7, 8)),
              '%s: packet and byte totals per direction equal the DESTROY events' % name,
              str([(tot(got, i), tot(want, i)) for i in (5, 6, 7, 8)]))
    have = set(got)
    missing = [w for w in want if w not in have]
    tap.check(got == want, '%s: every flow equals its DESTROY event' % name,
              'missing %s' % missing[:5])
    tap.eq(seqf, 0, '%s: nfdump -I counts no sequence failure' % name)
    tap.eq(logseq, 0, '%s: nfcapd logs no sequence error' % name)
    return len(want)


def check_default(tap, d, pcap):
    n = check_all_delivered(tap, 'default', 2000, *run(tap, d, 'default', pcap, {}, {}, 30000))
    check_all_delivered(tap, 'shutdown', 500, *run(tap, d, 'shutdown', pcap, {},
                                                   {'max_rate_pps': 500}, 30000,
                                                   live_flows=n))


def check_loss(tap, d, pcap):
    # A gap shows at nfcapd only after it has heard a message from before
    # the drops: the first data message takes the bucket's second token.
    ex, evs, flows, seqf, logseq, st = run(tap, d, 'absurd', pcap, {'max_rate_pps': 200},
                                          {'buffer_bytes': 1 << 20}, 2000)
    tap.check(ex.get('messages', 0) - ex.get('messages_delayed', 0) >= 1,
              'absurd: the first data message left at once, before the drops',
              json.dumps(ex))
    want = set(ipfixlib.ev_flow(e) for e in evs)
    got = [ipfixlib.nf_flow(r) for r in flows]
    tap.eq(len(evs), dpctlib.counter(st, 'insert'), 'absurd: a DESTROY event for every flow')
    lost = ex.get('records_lost', 0)
    tap.check(ex.get('queue_dropped', 0) > 0 and ex.get('lost_at_exit', 0) > 0 and
              lost == ex['queue_dropped'] + ex['lost_at_exit'],
              'absurd: dpct counts the loss: records_lost = queue_dropped + lost_at_exit',
              json.dumps(ex))
    tap.eq(ex.get('records_queued'), 0, 'absurd: nothing is left queued after exit')
    tap.eq(len(got), ex.get('records_sent', 0) - lost,
           'absurd: nfcapd stored exactly records_sent - records_lost flows')
    tap.check(all(g in want for g in got), 'absurd: each stored flow is a DESTROY of dpct\'s',
              'not: %s\nevents %d' % ([g for g in got if g not in want][:3], len(want)))
    tap.check(seqf > 0 and logseq > 0, 'absurd: nfcapd sees the gaps as sequence errors',
              '%d %d' % (seqf, logseq))
    ex, evs, flows, seqf, logseq, _ = run(tap, d, 'off', pcap, {'max_rate_pps': 0}, {}, 30000)
    tap.eq(ex.get('messages_delayed'), 0, 'off: nothing waited (no pacing)')
    tap.eq(ex.get('records_sent'), len(evs), 'off: dpct exported a record per DESTROY')
    tap.eq(ex.get('records_lost'), 0, 'off: dpct itself lost nothing (the kernel drops at '
           'the receiver)')
    want = set(ipfixlib.ev_flow(e) for e in evs)
    tap.check(all(ipfixlib.nf_flow(r) in want for r in flows), 'off: each stored flow is a DESTROY')
    # Whether, and how much, a burst overruns nfcapd depends on the host;
    # a loss at the very end has no later message to show its gap.
    print('# off: nfcapd lost %d of %d records (%.1f %%) without pacing, %d sequence errors'
          % (len(evs) - len(flows), len(evs), 100.0 * (len(evs) - len(flows)) / max(1, len(evs)),
             seqf))


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else 'default'
    tap = dpctlib.Tap()
    for tool in ('nfcapd', 'nfdump'):
        if shutil.which(tool) is None:
            tap.check(False, '%s installed (scripts/setup.sh)' % tool)
            tap.done()
    dpctlib.need([dpctlib.DPCT, dpctlib.GEN, dpctlib.EVENTS], tap)
    d = dpctlib.tmpdir('ipfix_pacing')
    pcap = dpctlib.gen(os.path.join(d, 'mix.pcap'), 'mix', FLOWS, seed=9)
    if mode == 'default':
        check_default(tap, d, pcap)
    else:
        check_loss(tap, d, pcap)
    shutil.rmtree(d, ignore_errors=True)
    tap.done()


if __name__ == '__main__':
    main()
