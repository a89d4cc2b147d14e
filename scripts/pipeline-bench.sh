#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Full-pipeline rate: dpct (io, one worker, events off) versus
# dpdk-testpmd --forward-mode=io on the same net_pcap vdev and input, in the
# same run, RUNS times each (docs/PERFORMANCE.md). The rate is taken from the
# growth of RX-packets between the periodic statistics (start-up excluded).
#
#   bash scripts/pipeline-bench.sh [BUILD_DIR]      RUNS=3 SECONDS_PER_RUN=9
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
RUNS=${RUNS:-3}
T=${SECONDS_PER_RUN:-9}
W=$(mktemp -d /tmp/dpct-pbench.XXXXXX)
trap 'rm -rf "$W"' EXIT

"$B/tools/dpct-gen/dpct-gen" --workload mix --flows 2000 --seed 3 -o "$W/mix.pcap" >/dev/null 2>&1
echo '{"events": {"enabled": false}}' >"$W/perf.json"
VDEV="net_pcap0,rx_pcap=$W/mix.pcap,tx_pcap=/dev/null,infinite_rx=1"

# Mpps from "RX-packets: N" lines printed every 2 s: (last - first) / elapsed.
rate() {
	/usr/bin/python3 -c '
import re, sys
v = [int(m.group(1)) for m in re.finditer(r"RX-packets:\s+(\d+)", sys.stdin.read())]
# dpct prints per-port and accumulated lines: keep one value per period.
u = [x for i, x in enumerate(v) if i == 0 or x != v[i - 1]]
print("%.2f" % ((u[-2] - u[0]) / (2.0 * (len(u) - 2)) / 1e6) if len(u) >= 3 else "nan")'
}

for i in $(seq 1 "$RUNS"); do
	d=$(timeout -s INT "$T" "$B/app/dpct/dpct" --no-huge -m 512 --no-pci -l 0-1 \
		--file-prefix "pb-dpct-$$-$i" --vdev "$VDEV" -- --config "$W/perf.json" \
		--stats-period 2 2>&1 | rate || true)
	t=$(timeout -s INT "$T" dpdk-testpmd --no-huge -m 512 --no-pci -l 0-1 \
		--file-prefix "pb-tpmd-$$-$i" --vdev "$VDEV" -- --forward-mode=io \
		--stats-period 2 --total-num-mbufs=20000 2>&1 </dev/null | rate || true)
	echo "run $i: dpct $d Mpps, testpmd io $t Mpps"
done
