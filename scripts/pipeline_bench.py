#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Full-pipeline rate (scripts/pipeline-bench.sh): dpct with events off, dpct
with events on and a dpct-events listener attached, and dpdk-testpmd
--forward-mode=io, on the same net_pcap vdev and input, one after the other
in each run; Mpps from the growth of RX-packets between the periodic
statistics lines, over the time between their arrival (start-up excluded;
testpmd's lines come every 3 s, dpct's every 2 s, so a fixed period would
overstate testpmd by half), and the ratios to testpmd of the same run. A
benchmark: it prints numbers and asserts nothing. Each rate is also given
per CPU second of the worker thread (its schedstat at each line), which the
other jobs on a shared machine do not move.

The listener is pinned to CPU 0, beside dpct's control lcore (LISTENER_CPUS,
default 0; `any` leaves it to the scheduler): as deployed, the worker's CPU
is the worker's alone. Unpinned on a 2-CPU machine the scheduler often puts the
listener on the worker's CPU, and the worker then gets a third of it.

Also, unless UNTRACKED=0: dpct with every packet exempt from tracking
(`notrack` for IPv4 and IPv6) and `checksum` off, in the same run: the
pipeline's floor (ports, worker loop, parse, forwarding) without the
tracker, so the gap to testpmd splits into tracker and the rest. And, for
the events-on run, what the control core did with the events (sent,
refused, destroys re-sent) and how many packets conntrack dropped.

With OFFLOAD=1, one more dpct row: tracked, events off, `checksum` off,
which is what the worker does on a NIC that verifies checksums itself
(RTE_MBUF_F_RX_*_CKSUM_GOOD): net_pcap reports nothing, so every tracked
packet is summed in software in the other rows."""

import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests',
                                'integration', 'app'))
import dpctlib as d  # noqa: E402

RUNS = int(os.environ.get('RUNS', '3'))
T = int(os.environ.get('SECONDS_PER_RUN', '9'))
UNTRACKED = os.environ.get('UNTRACKED', '1') != '0'
OFFLOAD = os.environ.get('OFFLOAD', '0') != '0'
# dpct runs with -l 0-1 (dpctlib.dpct_cmd): lcore 0 the control core, lcore 1
# the worker. LISTENER_CPUS=any lets the scheduler put the listener anywhere.
_lc = os.environ.get('LISTENER_CPUS', '0')
LISTENER_CPUS = None if _lc == 'any' else {int(c) for c in _lc.split(',')}
# The kinds the listener subscribes to (dpct-events --events). By default
# NEW and DESTROY, what a reliable flow-accounting or audit consumer takes;
# LISTENER_EVENTS=all for every kind, as `conntrack -E`. The mix makes about
# 7 events a TCP connection (NEW, the state changes, DESTROY), ~1.8 M/s at
# 3 Mpps: more than one listener sharing CPU 0 with the control core
# formats here, so that row is in the table-full mode (docs/PERFORMANCE.md).
LISTENER_EVENTS = os.environ.get('LISTENER_EVENTS', 'new,destroy')
# The input (dpct-gen). `mix` (default): 2000 flows of TCP, UDP, ICMP, GRE
# and ESP, ~6 packets a flow, so the looped capture opens a connection every
# ~12 packets; `bulk`: 120 long TCP connections (handshake, 64 data segments
# of 1000 bytes acked every second one, close), a connection every 104
# packets, as on a link that carries long flows. Both ~12,000 packets.
WORKLOAD = os.environ.get('WORKLOAD', 'mix')
_INPUTS = {'mix': ('mix', 2000), 'bulk': ('bulk-tcp', 120)}


RX_RE = re.compile(r'RX-packets:\s+(\d+)')


def rate(samples, cpu=False):
    """Mpps from (arrival time, RX-packets, worker CPU s) samples of the
    periodic statistics: growth between the first and the last line, over
    the time between their arrival (cpu: over the CPU time the worker thread
    got meanwhile, which other jobs on the machine do not change). The
    lines' own period is not trusted: dpdk-testpmd's --stats-period 2 prints
    every 3 s here (it sleeps 1 s between checks), dpct's every 2 s."""
    # dpct prints per-port and accumulated lines: keep the first of equal ones.
    u = [x for i, x in enumerate(samples) if i == 0 or x[1] != samples[i - 1][1]]
    if len(u) < 2 or u[-1][0] - u[0][0] < 1.0:
        return float('nan')
    k = 2 if cpu else 0
    if u[-1][k] is None or u[0][k] is None or u[-1][k] <= u[0][k]:
        return float('nan')
    return (u[-1][1] - u[0][1]) / (u[-1][k] - u[0][k]) / 1e6


def worker_cpu_s(pid, tid):
    """CPU seconds of the thread named rte-worker-* (EAL's first worker lcore
    in dpct and testpmd alike) of pid; (seconds, tid), or (None, tid)."""
    try:
        if tid is None:
            for t in sorted(os.listdir('/proc/%d/task' % pid), key=int):
                with open('/proc/%d/task/%s/comm' % (pid, t)) as f:
                    if f.read().startswith('rte-worker-'):
                        tid = int(t)
                        break
        if tid is None:
            return None, None
        with open('/proc/%d/task/%d/schedstat' % (pid, tid)) as f:
            return int(f.read().split()[0]) / 1e9, tid
    except (OSError, ValueError, IndexError):
        return None, tid


def run(cmd, seconds):
    """cmd for `seconds`, then SIGINT; (its output, the (time, RX-packets,
    worker CPU s) of each statistics line that arrived before the SIGINT).
    stdbuf makes
    testpmd's stdout line-buffered so each line arrives when it is printed
    (dpct flushes its own)."""
    p = subprocess.Popen(['stdbuf', '-oL'] + cmd, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                         errors='replace')
    lines, samples = [], []

    def reader():
        tid = None
        for line in p.stdout:
            t = time.monotonic()
            lines.append(line)
            m = RX_RE.search(line)
            if m:
                c, tid = worker_cpu_s(p.pid, tid)
                samples.append((t, int(m.group(1)), c))

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    try:
        p.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pass
    stop = time.monotonic()
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    th.join(10)
    return ''.join(lines), [x for x in list(samples) if x[0] < stop]


def event_stats(text):
    """The last `events:` and `conntrack:` lines of dpct's statistics, and the
    share of the packets received that conntrack dropped (a full table)."""
    ev = re.findall(r'events: sent (\d+) failed (\d+) destroy_resent (\d+)', text)
    ct = re.findall(r'conntrack: .* drop (\d+) ', text)
    rx = RX_RE.findall(text)
    if not ev or not ct:
        return ''
    drop = int(ct[-1])
    share = 100.0 * drop / int(rx[-1]) if rx and int(rx[-1]) else float('nan')
    out = ('events sent %s, refused %s, destroys re-sent %s; conntrack drop %s (%.0f %% of '
           'the packets received)' % (ev[-1][0], ev[-1][1], ev[-1][2], ct[-1], share))
    if share > 1:
        out += ('\n  (table-full mode: the listener did not keep up, dying entries filled the '
                'table, and the rate counts new connections dropped; not a healthy pipeline)')
    return out


def dpct_rate(w, vdev, events, i, untracked=False, info=None, csum_off=False):
    tag = 'untr' if untracked else 'on' if events else 'csoff' if csum_off else 'off'
    prefix, port_id = d.uniq('pb_%s_%d' % (tag, i))
    cfg = d.base_config(port_id, events={'enabled': events, 'reliable': events}, seed=0)
    # The appliance's defaults (Linux timeouts, default table), as before.
    cfg.pop('timeouts', None)
    cfg.pop('table', None)
    if untracked:
        cfg['notrack'] = [{'family': 4}, {'family': 6}]
    if untracked or csum_off:
        cfg['checksum'] = 'off'
    path = d.write_config(w, cfg, 'pb-%s.json' % tag)
    app = ['--stats-period', '2', '--fwd', 'io']
    lst = None
    if events:
        app += d.wait_listeners_args(1)
        # The listener does all its work (receive, parse, acknowledge,
        # format JSON) and writes to /dev/null, as testpmd's and dpct's TX
        # go to /dev/null: ~1 GB of lines per run written to a file costs
        # the listener more kernel time than all the rest. No --summary
        # either: that test instrument keeps a table entry for every
        # connection it ever saw.
        kinds = ['--events', LISTENER_EVENTS] if LISTENER_EVENTS != 'all' else []
        lst = d.start_events(port_id, os.devnull, None, reliable=True,
                             fmt='json', idle_ms=(T + 20) * 1000, max_s=T + 30, extra=kinds)
        if LISTENER_CPUS:
            # The deployment layout: the worker's CPU is dpct's alone; the
            # listener runs beside the control lcore (docs/PERFORMANCE.md).
            try:
                os.sched_setaffinity(lst.pid, LISTENER_CPUS)
            except OSError as e:
                print('listener not pinned to %s: %s' % (sorted(LISTENER_CPUS), e), flush=True)
    out, samples = run(d.dpct_cmd(prefix, path, extra_eal=['--vdev', vdev], app=app,
                                  replay=False), T)
    if lst is not None:
        d.stop(lst, timeout=10)
        if hasattr(lst, '_dpct_out'):
            lst._dpct_out.close()
    if info is not None:
        info.append(event_stats(out))
    return rate(samples), rate(samples, cpu=True)


def ratio(a, b):
    return a / b if b and b == b else float('nan')


def main():
    w = d.tmpdir('pbench')
    if WORKLOAD not in _INPUTS:
        sys.exit('pipeline_bench: WORKLOAD must be one of %s, not %r' %
                 (', '.join(sorted(_INPUTS)), WORKLOAD))
    pcap = os.path.join(w, WORKLOAD + '.pcap')
    d.gen(pcap, _INPUTS[WORKLOAD][0], _INPUTS[WORKLOAD][1], seed=3)
    vdev = 'net_pcap0,rx_pcap=%s,tx_pcap=/dev/null,infinite_rx=1' % pcap
    nan = (float('nan'), float('nan'))
    rows = []
    for i in range(1, RUNS + 1):
        info = []
        off = dpct_rate(w, vdev, False, i)
        on = dpct_rate(w, vdev, True, i, info=info)
        untr = dpct_rate(w, vdev, False, i, untracked=True) if UNTRACKED else nan
        csoff = dpct_rate(w, vdev, False, i, csum_off=True) if OFFLOAD else nan
        s = run(['dpdk-testpmd', '--no-huge', '-m', '512', '--no-pci', '-l', '0-1',
                 '--file-prefix', 'pb-tpmd-%d-%d' % (os.getpid(), i), '--vdev', vdev,
                 '--', '--forward-mode=io', '--stats-period', '2',
                 '--total-num-mbufs=20000'], T)[1]
        tp = (rate(s), rate(s, cpu=True))
        rows.append((off, on, tp, untr, csoff))
        print('run %d: dpct events off %.2f Mpps, events on + listener %.2f Mpps, '
              'testpmd io %.2f Mpps; ratios off %.2f, on %.2f'
              % (i, off[0], on[0], tp[0], ratio(off[0], tp[0]), ratio(on[0], tp[0])), flush=True)
        if UNTRACKED:
            print('  dpct untracked (notrack all, checksum off) %.2f Mpps, ratio %.2f'
                  % (untr[0], ratio(untr[0], tp[0])), flush=True)
        if OFFLOAD:
            print('  dpct events off, checksum off (as with NIC checksum offload) %.2f Mpps, '
                  'ratio %.2f; per worker-CPU second %.2f Mpps, ratio %.2f'
                  % (csoff[0], ratio(csoff[0], tp[0]), csoff[1], ratio(csoff[1], tp[1])),
                  flush=True)
        print('  per worker-CPU second: off %.2f, on %.2f, untracked %.2f, testpmd %.2f Mpps; '
              'ratios off %.2f, on %.2f, untracked %.2f'
              % (off[1], on[1], untr[1], tp[1], ratio(off[1], tp[1]), ratio(on[1], tp[1]),
                 ratio(untr[1], tp[1])), flush=True)
        if info and info[0]:
            print('  events on (listener: %s): %s' % (LISTENER_EVENTS, info[0]), flush=True)
    for k, what in ((0, 'wall clock'), (1, 'per worker-CPU second')):
        med = [statistics.median(r[c][k] for r in rows) for c in range(5)]
        rt = [statistics.median(ratio(r[c][k], r[2][k]) for r in rows) for c in (0, 1, 3, 4)]
        print('median (%s): dpct events off %.2f Mpps, events on %.2f Mpps, testpmd io %.2f Mpps; '
              'median ratio off %.2f (target >= 0.8), on %.2f (target >= 0.7)'
              % (what, med[0], med[1], med[2], rt[0], rt[1]))
        if UNTRACKED:
            print('median (%s): dpct untracked %.2f Mpps, ratio %.2f' % (what, med[3], rt[2]))
        if OFFLOAD:
            print('median (%s): dpct events off, checksum off %.2f Mpps, ratio %.2f'
                  % (what, med[4], rt[3]))
    subprocess.run(['rm', '-rf', w])


if __name__ == '__main__':
    main()
