#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Same-run A/B of two dpct-bench binaries: runs A, B, A, B, ... on each
workload and prints the median and minimum cycles/packet of each, and
B/A of the medians. Interleaving spreads the machine's noise over both.

  bench_ab.py A_BENCH B_BENCH [RUNS] [WORKLOAD...]

WORKLOAD is a dpct-bench argument string, e.g. "--workload established
--flows 65536"; the default is established at 64K and 1M and staggered
churn at 1M. Prints numbers only; asserts nothing."""
import json
import statistics
import subprocess
import sys

DEFAULT = ['--workload established --flows 65536',
           '--workload established --flows 1000000',
           '--workload churn --flows 1000000 --stagger']


def run(bench, args):
    p = subprocess.run([bench] + args.split() + ['--json', '--no-baseline'],
                       capture_output=True, text=True, timeout=600, check=True)
    return json.loads(p.stdout)['cycles_per_pkt']


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    a, b = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    loads = sys.argv[4:] or DEFAULT
    print('| workload | runs | A median (min) | B median (min) | B/A |')
    print('|---|---|---|---|---|')
    for w in loads:
        ra, rb = [], []
        for _ in range(runs):
            ra.append(run(a, w))
            rb.append(run(b, w))
        ma, mb = statistics.median(ra), statistics.median(rb)
        print('| %s | %d | %.1f (%.1f) | %.1f (%.1f) | %.3f |'
              % (w, runs, ma, min(ra), mb, min(rb), mb / ma), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
