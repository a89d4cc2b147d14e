#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The embedded demo: install, build, generate a workload with dpct-gen, replay
# it through dpct on net_pcap vdevs (no hugepages, no NIC), print the
# connection events dpct-events receives, and the statistics at exit.
#
#   bash scripts/demo.sh
#   BUILD=build  FLOWS=2000  WORKLOAD=mix  SKIP_SETUP=1   (environment knobs)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
B=${BUILD:-build}
FLOWS=${FLOWS:-2000}
WORKLOAD=${WORKLOAD:-mix}
JOBS=${JOBS:-2}

if [ -z "${SKIP_SETUP:-}" ]; then
	bash scripts/setup.sh
fi
if [ ! -f "$B/build.ninja" ]; then
	meson setup "$B"
fi
ninja -C "$B" -j"$JOBS"

W=$(mktemp -d /tmp/dpct-demo.XXXXXX)
EV_PID=
cleanup() {
	if [ -n "$EV_PID" ] && kill -0 "$EV_PID" 2>/dev/null; then
		kill "$EV_PID" 2>/dev/null || true
		wait "$EV_PID" 2>/dev/null || true
	fi
	rm -rf "$W"
}
trap cleanup EXIT

echo "== 1. generate: $WORKLOAD, $FLOWS flows"
"$B/tools/dpct-gen/dpct-gen" --workload "$WORKLOAD" --flows "$FLOWS" --seed 1 -o "$W/in.pcap"

DPCT=$B/app/dpct/dpct
EVENTS=$B/tools/dpct-events/dpct-events
BENCH=$B/tools/dpct-bench/dpct-bench

if [ -x "$DPCT" ] && [ -x "$EVENTS" ]; then
	echo "== 2. listen: dpct-events (reliable, conntrack -E format)"
	"$EVENTS" --reliable --format text --summary "$W/summary.json" \
		--idle-exit-ms 3000 --max-seconds 120 >"$W/events.txt" 2>"$W/events.err" &
	EV_PID=$!

	echo "== 3. replay through dpct (net_pcap in -> net_pcap out, --no-huge)"
	rc=0
	"$DPCT" --no-huge -m 256 --no-pci --file-prefix "dpct-demo-$$" -l 0-1 \
		--vdev "net_pcap0,rx_pcap=$W/in.pcap,tx_pcap=$W/out.pcap" -- \
		--config config/default.json --replay --flush-on-eof --wait-listeners 1 \
		--drain-timeout-ms 20000 --stats-json "$W/stats.json" || rc=$?

	# dpct-events exits by itself once events stop for --idle-exit-ms.
	for _ in $(seq 1 100); do
		kill -0 "$EV_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$EV_PID" 2>/dev/null || true
	EV_PID=

	echo "== 4. events (first 20 of $(wc -l <"$W/events.txt"))"
	head -n 20 "$W/events.txt"
	echo "..."
	tail -n 5 "$W/events.txt"
	if [ -s "$W/summary.json" ]; then
		echo "== listener summary"
		cat "$W/summary.json"
		echo
	fi
	if [ -s "$W/stats.json" ]; then
		echo "== dpct statistics (--stats-json)"
		# The first 60 lines, without a pipe that head(1) would break.
		/usr/bin/python3 -c 'import json, sys
print("\n".join(json.dumps(json.load(open(sys.argv[1])), indent=4).splitlines()[:60]))' \
			"$W/stats.json"
	fi
	echo "dpct exit status: $rc"
	exit "$rc"
fi

# Until the appliance binary is built, show the pipeline it runs: the
# in-memory benchmark of parse -> shard -> state machine -> event bits.
if [ -x "$BENCH" ]; then
	echo "== 2. (dpct not built yet) in-memory pipeline: dpct-bench"
	"$BENCH" --workload established --flows 65536 --json
	"$BENCH" --workload churn --flows 65536 --json
	exit 0
fi

echo "== 2. (dpct and dpct-bench not built yet) the generated capture:"
/usr/bin/python3 - "$W/in.pcap" <<'PY'
import sys, collections, logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import PcapReader
kinds = collections.Counter()
for i, p in enumerate(PcapReader(sys.argv[1])):
    if i < 12:
        print("  " + p.summary())
    kinds[p.lastlayer().name if p.lastlayer().name not in ("Raw", "Padding") else
          p.getlayer(2).name if p.getlayer(2) else "?"] += 1
print("packets by protocol:", dict(kinds))
PY
