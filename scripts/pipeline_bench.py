#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Full-pipeline rate (scripts/pipeline-bench.sh): dpct with events off, dpct
with events on and a dpct-events listener attached, and dpdk-testpmd
--forward-mode=io, on the same net_pcap vdev and input, one after the other
in each run; Mpps from the growth of RX-packets between the periodic
statistics lines, over the time between their arrival (start-up excluded;
testpmd's lines come every 3 s, dpct's every 2 s, so a fixed period would
overstate testpmd by half), and the ratios to testpmd of the same run. A
benchmark: it prints numbers and asserts nothing.

The listener is pinned to CPU 0, beside dpct's control lcore (LISTENER_CPUS,
default 0; `any` leaves it to the scheduler): as deployed, the worker's CPU
is the worker's alone. Unpinned on a 2-CPU machine the scheduler often puts the
listener on the worker's CPU, and the worker then gets a third of it.

Also, unless UNTRACKED=0: dpct with every packet exempt from tracking
(`notrack` for IPv4 and IPv6) and `checksum` off, in the same run: the
pipeline's floor (ports, worker loop, parse, forwarding) without the
tracker, so the gap to testpmd splits into tracker and the rest. And, for
the events-on run, what the control core did with the events (sent,
refused, destroys re-sent) and how many packets conntrack dropped."""

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
# dpct runs with -l 0-1 (dpctlib.dpct_cmd): lcore 0 the control core, lcore 1
# the worker. LISTENER_CPUS=any lets the scheduler put the listener anywhere.
_lc = os.environ.get('LISTENER_CPUS', '0')
LISTENER_CPUS = None if _lc == 'any' else {int(c) for c in _lc.split(',')}


RX_RE = re.compile(r'RX-packets:\s+(\d+)')


def rate(samples):
    """Mpps from (arrival time, RX-packets) samples of the periodic statistics:
    growth between the first and the last line, over the time between their
    arrival. The lines' own period is not trusted: dpdk-testpmd's
    --stats-period 2 prints every 3 s here (it sleeps 1 s between checks),
    dpct's every 2 s."""
    # dpct prints per-port and accumulated lines: keep the first of equal ones.
    u = [x for i, x in enumerate(samples) if i == 0 or x[1] != samples[i - 1][1]]
    if len(u) < 2 or u[-1][0] - u[0][0] < 1.0:
        return float('nan')
    return (u[-1][1] - u[0][1]) / (u[-1][0] - u[0][0]) / 1e6


def run(cmd, seconds):
    """cmd for `seconds`, then SIGINT; (its output, the (time, RX-packets) of
    each statistics line that arrived before the SIGINT). stdbuf makes
    testpmd's stdout line-buffered so each line arrives when it is printed
    (dpct flushes its own)."""
    p = subprocess.Popen(['stdbuf', '-oL'] + cmd, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                         errors='replace')
    lines, samples = [], []

    def reader():
        for line in p.stdout:
            t = time.monotonic()
            lines.append(line)
            m = RX_RE.search(line)
            if m:
                samples.append((t, int(m.group(1))))

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
    """The last `events:` and `conntrack:` lines of dpct's statistics."""
    ev = re.findall(r'events: sent (\d+) failed (\d+) destroy_resent (\d+)', text)
    ct = re.findall(r'conntrack: .* drop (\d+) ', text)
    if not ev or not ct:
        return ''
    return ('events sent %s, refused %s, destroys re-sent %s; conntrack drop %s'
            % (ev[-1][0], ev[-1][1], ev[-1][2], ct[-1]))


def dpct_rate(w, vdev, events, i, untracked=False, info=None):
    tag = 'untr' if untracked else 'on' if events else 'off'
    prefix, port_id = d.uniq('pb_%s_%d' % (tag, i))
    cfg = d.base_config(port_id, events={'enabled': events, 'reliable': events}, seed=0)
    # The appliance's defaults (Linux timeouts, default table), as before.
    cfg.pop('timeouts', None)
    cfg.pop('table', None)
    if untracked:
        cfg['notrack'] = [{'family': 4}, {'family': 6}]
        cfg['checksum'] = 'off'
    path = d.write_config(w, cfg, 'pb-%s.json' % tag)
    app = ['--stats-period', '2', '--fwd', 'io']
    lst = None
    if events:
        app += d.wait_listeners_args(1)
        lst = d.start_events(port_id, os.path.join(w, 'ev%d.json' % i),
                             os.path.join(w, 'sum%d.json' % i), reliable=True,
                             fmt='json', idle_ms=(T + 20) * 1000, max_s=T + 30)
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
    return rate(samples)


def main():
    w = d.tmpdir('pbench')
    pcap = os.path.join(w, 'mix.pcap')
    d.gen(pcap, 'mix', 2000, seed=3)
    vdev = 'net_pcap0,rx_pcap=%s,tx_pcap=/dev/null,infinite_rx=1' % pcap
    rows = []
    for i in range(1, RUNS + 1):
        info = []
        off = dpct_rate(w, vdev, False, i)
        on = dpct_rate(w, vdev, True, i, info=info)
        untr = dpct_rate(w, vdev, False, i, untracked=True) if UNTRACKED else float('nan')
        tp = rate(run(['dpdk-testpmd', '--no-huge', '-m', '512', '--no-pci', '-l', '0-1',
                       '--file-prefix', 'pb-tpmd-%d-%d' % (os.getpid(), i), '--vdev', vdev,
                       '--', '--forward-mode=io', '--stats-period', '2',
                       '--total-num-mbufs=20000'], T)[1])
        rows.append((off, on, tp, untr))
        print('run %d: dpct events off %.2f Mpps, events on + listener %.2f Mpps, '
              'testpmd io %.2f Mpps; ratios off %.2f, on %.2f'
              % (i, off, on, tp, off / tp if tp else float('nan'),
                 on / tp if tp else float('nan')), flush=True)
        if UNTRACKED:
            print('  dpct untracked (notrack all, checksum off) %.2f Mpps, ratio %.2f'
                  % (untr, untr / tp if tp else float('nan')), flush=True)
        if info and info[0]:
            print('  events on: %s' % info[0], flush=True)
    med = [statistics.median(c) for c in zip(*rows)]
    ro = statistics.median([r[0] / r[2] for r in rows if r[2]])
    rn = statistics.median([r[1] / r[2] for r in rows if r[2]])
    print('median: dpct events off %.2f Mpps, events on %.2f Mpps, testpmd io %.2f Mpps; '
          'median ratio off %.2f (target >= 0.8), on %.2f (target >= 0.7)'
          % (med[0], med[1], med[2], ro, rn))
    if UNTRACKED:
        print('median: dpct untracked %.2f Mpps, ratio %.2f'
              % (med[3], statistics.median([r[3] / r[2] for r in rows if r[2]])))
    subprocess.run(['rm', '-rf', w])


if __name__ == '__main__':
    main()
