#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Multi-core scaling: dpct with 1, 2, 4, 8 workers (as many as the machine
# has CPUs for), one in-memory net_pcap port per worker, the software
# handoff between workers; Mpps per worker and the handoff share
# (docs/PERFORMANCE.md). The work is in scripts/scale_bench.py. Root; a
# benchmark, nothing in CI depends on it.
#
#   bash scripts/scale-bench.sh [BUILD_DIR]
#     RUNS=3  SECONDS_PER_RUN=4  WORKERS=1,2,4,8  WORKLOAD=short-tcp  FLOWS=20000 (per port)
set -euo pipefail
cd "$(dirname "$0")/.."
export DPCT_BUILD=${1:-build} DPCT_SRC=.
exec timeout --signal=TERM --kill-after=60 "${SCALE_TIMEOUT:-1800}" /usr/bin/python3 scripts/scale_bench.py
