#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Full-pipeline rate: dpct (io, one worker) with events off, and with events
# on and a dpct-events listener attached, versus dpdk-testpmd
# --forward-mode=io on the same net_pcap vdev and input, in the same run,
# RUNS times each, with the ratios to testpmd (docs/PERFORMANCE.md). The
# work is in scripts/pipeline_bench.py, which starts dpct and the listener
# through the integration tests' helpers (tests/integration/app/dpctlib.py).
#
#   bash scripts/pipeline-bench.sh [BUILD_DIR]   RUNS=3 SECONDS_PER_RUN=9 UNTRACKED=1 OFFLOAD=0
#                                                 LISTENER_CPUS=0 LISTENER_EVENTS=new,destroy
#                                                 WORKLOAD=mix
# (UNTRACKED=0: no untracked floor row; OFFLOAD=1: a tracked row with checksum off, as
# on a NIC that verifies checksums; LISTENER_CPUS=any: listener not pinned;
# LISTENER_EVENTS=all: the listener takes every kind of event; WORKLOAD=bulk: long
# TCP connections instead of the churning mix.)
set -euo pipefail
cd "$(dirname "$0")/.."
export DPCT_BUILD=${1:-build} DPCT_SRC=.
exec /usr/bin/python3 scripts/pipeline_bench.py
