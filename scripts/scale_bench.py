#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Multi-core scaling (scripts/scale-bench.sh): dpct with 1, 2, 4, 8 workers
(those the machine has CPUs for), one port per worker, RUNS interleaved
rounds, medians. A benchmark: it prints numbers and asserts nothing.

Each port is net_pcap with infinite_rx=1 (the capture is kept in mbufs and
replayed from memory in a loop, TX dropped): a PMD that costs tens of
cycles and, unlike net_null, carries real flows. Each port gets its own
dpct-gen capture (its own seed), so the flows differ between ports. vdevs
have no RSS: each worker reads its own port and hands the packets whose
flow another shard owns to that worker through the software handoff rings
(docs/deployment.md), so with W workers about (W-1)/W of the packets cross.

Reported per worker count: Mpps in all and per worker (wall clock, over a
window after the first pass), cycles/packet over the workers' CPU time,
and the handoff share: the `handoff` counter of --stats-json over `rx`."""

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import shutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_bench as pb  # noqa: E402
d = pb.d

RUNS = int(os.environ.get('RUNS', '3'))
SECONDS = float(os.environ.get('SECONDS_PER_RUN', '4'))
FLOWS = int(os.environ.get('FLOWS', '20000'))
WORKLOAD = os.environ.get('WORKLOAD', 'short-tcp')
NCPU = os.cpu_count() or 1
COUNTS = [int(x) for x in os.environ.get('WORKERS', '1,2,4,8').split(',')
          if int(x) <= NCPU]


def workers_cpu(pid):
    """Summed CPU seconds of the threads named rte-worker-*. A thread that
    ends while it is read (the telemetry server starts one per client) is
    skipped; the workers live as long as the process."""
    tot = 0.0
    try:
        tasks = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return None
    for t in tasks:
        try:
            with open('/proc/%d/task/%s/comm' % (pid, t)) as f:
                if not f.read().startswith('rte-worker-'):
                    continue
            with open('/proc/%d/task/%s/schedstat' % (pid, t)) as f:
                tot += int(f.read().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            continue
    return tot


def rx_all(prefix, nports):
    n = 0
    for k in range(nports):
        v = d.telemetry(prefix, '/ethdev/stats,%d' % k, timeout=2)
        if not isinstance(v, dict):
            return None
        n += v.get('ipackets', 0)
    return n


def one(w, caps, nw, i):
    prefix, sock = d.uniq('scale_%d_%d' % (nw, i))
    cfg = d.base_config(sock, events={'enabled': False, 'reliable': False}, seed=0)
    cfg.pop('timeouts', None)
    pkts = sum(c[1] for c in caps[:nw])
    cfg['table'] = {'max_entries': 1 << 20, 'early_drop': True}
    cfg['workers'] = {'count': nw, 'mbufs': pkts + 32768 * nw}
    path = d.write_config(w, cfg, 'scale-%d.json' % nw)
    stats = os.path.join(w, 'scale-%d-%d.stats.json' % (nw, i))
    # The main lcore (control) on CPU 0; worker k on CPU k mod CPUs: with as
    # many workers as CPUs the last one shares CPU 0 with the control core.
    lcores = ','.join(['0@0'] + ['%d@%d' % (k, k % NCPU) for k in range(1, nw + 1)])
    eal = []
    for k in range(nw):
        eal += ['--vdev', 'net_pcap%d,rx_pcap=%s,infinite_rx=1' % (k, caps[k][0])]
    cmd = d.dpct_cmd(prefix, path, lcores=lcores, extra_eal=eal, replay=False, stats=stats)
    cmd[cmd.index('-m') + 1] = str(768 + pkts * 5000 // (1 << 20))
    log = open(os.path.join(w, 'scale-%d-%d.log' % (nw, i)), 'w')
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        s, t0 = [], time.monotonic()
        while time.monotonic() < t0 + 90 and p.poll() is None:
            time.sleep(0.05)
            c = rx_all(prefix, nw)
            if c is None or c == 0:
                continue
            s.append((time.monotonic(), c, workers_cpu(p.pid)))
            if s[-1][0] - s[0][0] >= SECONDS + 1:
                break
    finally:
        pb.stop_proc(p)
        pb.runtime_gone(prefix)
        log.close()
    a = next((x for x in s if x[0] >= s[0][0] + 1.0), None) if s else None
    if a is None or s[-1][1] <= a[1] or s[-1][2] is None or a[2] is None:
        return 'no packets counted (log %s)' % log.name
    b = s[-1]
    try:
        tot = d.load_json(stats)['totals']
        share = tot['handoff'] / tot['rx'] if tot.get('rx') else None
    except (OSError, ValueError, KeyError):
        share = None
    mpps = (b[1] - a[1]) / (b[0] - a[0]) / 1e6
    return {'mpps': mpps, 'per_worker': mpps / nw, 'cpp': (b[2] - a[2]) * pb.TSC / (b[1] - a[1]),
            'handoff': share}


def main():
    w = tempfile.mkdtemp(prefix='dpct_scale_')
    # SIGTERM (timeout) and SIGINT unwind through the finally blocks: the
    # running dpct is stopped and the captures removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(1))
    try:
        print('scale-bench: workers %s (%d CPUs: %s), %d rounds, %s x %d flows per port, '
              'TSC %.0f MHz' % (COUNTS, NCPU, pb.sh('lscpu | sed -n "s/^Model name: *//p"',
                                                     check=False).stdout.strip(),
                                RUNS, WORKLOAD, FLOWS, pb.TSC / 1e6), flush=True)
        caps = []
        for k in range(max(COUNTS)):
            path = os.path.join(w, 'port%d.pcap' % k)
            d.gen(path, WORKLOAD, FLOWS, seed=11 + k, timeout=300)
            caps.append((path, pb.count_packets(path)))
        res = {}
        for i in range(1, RUNS + 1):
            for nw in COUNTS:
                r = one(w, caps, nw, i)
                res.setdefault(nw, []).append(r)
                print('round %d, %d workers: %s' % (i, nw, pb.fmt_raw(r)), flush=True)
        print()
        print('| workers | Mpps | Mpps per worker | cycles/packet (workers CPU) | handoff share |')
        print('|---|---|---|---|---|')
        for nw in COUNTS:
            ok = [r for r in res[nw] if isinstance(r, dict)]
            if not ok:
                print('| %d | %s | | | |' % (nw, pb.why(res[nw])))
                continue

            def m(k):
                v = [r[k] for r in ok if r[k] is not None]
                return statistics.median(v) if v else float('nan')
            print('| %d | %.2f | %.2f | %.0f | %.2f |'
                  % (nw, m('mpps'), m('per_worker'), m('cpp'), m('handoff')))
        print('(medians of %d rounds)' % RUNS)
    finally:
        shutil.rmtree(w, ignore_errors=True)
        if d._SOCK_DIR:
            shutil.rmtree(d._SOCK_DIR, ignore_errors=True)


if __name__ == '__main__':
    main()
