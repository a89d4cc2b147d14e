#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Same-run A/B of dpct-bench: runs A and B in pairs on each workload,
the order swapped every pair (A B, B A, A B, ...), and prints each side's
median and minimum cycles/packet, B/A of the medians, and the median and
range of the pairs' own B/A ratios (the figure to quote on a noisy
machine: a pair's two runs see about the same load).

  bench_ab.py A [B] [RUNS] [WORKLOAD...]

A and B are a dpct-bench binary, each optionally followed by arguments in
the same string: two builds ("old/dpct-bench" "new/dpct-bench") or one
build with and without a feature ("b/dpct-bench" "b/dpct-bench --limits
1000"). WORKLOAD is a dpct-bench argument string, e.g. "--workload
established --flows 65536"; the default is established at 64K and 1M and
staggered churn at 1M. Prints numbers only; asserts nothing."""
import json
import shlex
import statistics
import subprocess
import sys

DEFAULT = ['--workload established --flows 65536',
           '--workload established --flows 1000000',
           '--workload churn --flows 1000000 --stagger']


def run(bench, args):
    p = subprocess.run(shlex.split(bench) + args.split() + ['--json', '--no-baseline'],
                       capture_output=True, text=True, timeout=600, check=True)
    return json.loads(p.stdout)['cycles_per_pkt']


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    a, b = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    loads = sys.argv[4:] or DEFAULT
    print('A: %s\nB: %s' % (a, b))
    print('| workload | pairs | A median (min) | B median (min) | B/A of medians '
          '| B/A of pairs: median (range) |')
    print('|---|---|---|---|---|---|')
    for w in loads:
        ra, rb, pr = [], [], []
        for i in range(runs):
            if i % 2 == 0:
                ra.append(run(a, w))
                rb.append(run(b, w))
            else:
                rb.append(run(b, w))
                ra.append(run(a, w))
            pr.append(rb[-1] / ra[-1])
        ma, mb = statistics.median(ra), statistics.median(rb)
        print('| %s | %d | %.1f (%.1f) | %.1f (%.1f) | %.3f | %.3f (%.3f-%.3f) |'
              % (w, runs, ma, min(ra), mb, min(rb), mb / ma, statistics.median(pr),
                 min(pr), max(pr)), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
