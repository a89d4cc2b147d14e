#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# dpct beside its peers on the same dpct-gen captures, in one table: dpct (one
# worker, events off, and with a reliable dpct-events listener), dpdk-testpmd
# io (the I/O floor), OVS-DPDK's userspace conntrack (Debian's
# openvswitch-switch-dpdk) and Linux nf_conntrack (tcpreplay through veths
# into a forwarding namespace with nftables ct rules, a notrack floor);
# cycles/packet, each above its floor, and dpct's ratios (docs/PERFORMANCE.md).
# The work is in scripts/peer_bench.py. Root; a benchmark, never a CI test.
#
#   bash scripts/peer-bench.sh [BUILD_DIR]
#     RUNS=5 (interleaved rounds)  MEM_SECONDS=3 (window on the looped driver)
#     WORKLOADS=short-tcp,bulk-tcp,short-tcp-loop,bulk-tcp-loop,est-64k,est-1m
#     SHORT_FLOWS=200000
#     BULK_FLOWS=10000  EST_LARGE=1048576  SYSTEMS=dpct,dpct-ev,testpmd,ovs,linux
#     SHORT_FLOWS_MEM=20000 BULK_FLOWS_MEM=1000 (looped captures)  PEER_TIMEOUT=5400
#     TSC_HZ (default: /proc/cpuinfo)  INSTALL_OVS=1 (apt-get it when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
export DPCT_BUILD=${1:-build} DPCT_SRC=.
if [ "$(id -u)" -ne 0 ]; then
	echo "peer-bench: needs root (namespaces, nftables, DPDK)" >&2
	exit 1
fi
for t in dpdk-testpmd tcpreplay nft ip conntrack; do
	command -v "$t" >/dev/null || { echo "peer-bench: $t missing (scripts/setup.sh)" >&2; exit 1; }
done
# OVS-DPDK is not in scripts/setup.sh (CI never needs it): installed here
# when missing (INSTALL_OVS=0: not; the OVS rows then say why not run). Where
# the init system lets packages start services, Debian's openvswitch-switch
# starts the system's OVS on install; this script never uses that one: its
# ovsdb-server and ovs-vswitchd-dpdk run in a private directory.
if [ ! -x /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk ] && [ "${INSTALL_OVS:-1}" = 1 ]; then
	echo "peer-bench: installing openvswitch-switch-dpdk"
	DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q openvswitch-switch-dpdk \
		>/dev/null || echo "peer-bench: apt-get install openvswitch-switch-dpdk failed; OVS rows not run" >&2
fi
exec timeout --signal=TERM --kill-after=60 "${PEER_TIMEOUT:-5400}" /usr/bin/python3 scripts/peer_bench.py
