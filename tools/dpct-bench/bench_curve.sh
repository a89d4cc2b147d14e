#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The dpct-bench curve of docs/PERFORMANCE.md: established at 64K, 256K, 1M,
# 4M and 16M live flows and churn at 1M (slots in step, and --stagger:
# connections interleaved at random), RUNS runs each (default 3), each run
# beside rte_hash lookup_bulk on the same keys; prints every run's JSON and
# a table of medians. A benchmark: numbers, no assertions.
#
#   tools/dpct-bench/bench_curve.sh build/tools/dpct-bench/dpct-bench [RUNS] [SIZES...]
set -euo pipefail
BENCH=${1:?usage: bench_curve.sh DPCT_BENCH [RUNS] [SIZES...]}
RUNS=${2:-3}
shift $(( $# >= 2 ? 2 : 1 ))
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(65536 262144 1000000 4000000 16000000 churn:1000000 churn-stagger:1000000)
OUT=$(mktemp -d "${TMPDIR:-/tmp}/dpct-curve.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

for sz in "${SIZES[@]}"; do
	wl=established
	n=$sz
	extra=()
	if [[ $sz == churn:* ]]; then
		wl=churn
		n=${sz#churn:}
	elif [[ $sz == churn-stagger:* ]]; then
		wl=churn
		n=${sz#churn-stagger:}
		extra=(--stagger)
	fi
	for r in $(seq 1 "$RUNS"); do
		"$BENCH" --workload "$wl" --flows "$n" "${extra[@]}" --json |
			tee -a "$OUT/$wl${extra[*]}-$n.json"
	done
done

/usr/bin/python3 - "$OUT" "${SIZES[@]}" <<'PY'
import json, os, statistics, sys
out = sys.argv[1]
print()
print('| workload | live flows | cycles/pkt (runs) | median | rte_hash cycles/key (median) '
      '| ratio | quietest window: dpct / rte_hash (min over runs) | new conn/s (median) '
      '| bytes/entry |')
print('|---|---|---|---|---|---|---|---|---|')
for sz in sys.argv[2:]:
    wl, n = sz.split(':') if ':' in sz else ('established', sz)
    f = {'churn-stagger': 'churn--stagger'}.get(wl, wl)
    rows = [json.loads(l) for l in open(os.path.join(out, f'{f}-{n}.json')) if l.strip()]
    cpp = [r['cycles_per_pkt'] for r in rows]
    rh = [r['rte_hash_cycles_per_key'] for r in rows]
    m, mh = statistics.median(cpp), statistics.median(rh)
    bw = min(r.get('best_window_cycles_per_pkt', 0) or m for r in rows)
    bh = min(r.get('rte_hash_best_window_cycles_per_key', 0) or mh for r in rows)
    nc = statistics.median([r['new_conn_per_s'] for r in rows]) if wl != 'established' else None
    print(f"| {wl} | {int(n):,} | {', '.join(f'{c:.1f}' for c in cpp)} | **{m:.1f}** | "
          f"{mh:.1f} | {m / mh:.2f} | {bw:.1f} / {bh:.1f} = {bw / bh:.2f} | "
          f"{f'{nc / 1e6:.2f} M' if nc else '—'} | {rows[0]['bytes_per_entry']} |")
PY
