#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Install everything dpct needs to build, test and run its demo on Debian 12.
# Run as root (or with sudo available). Safe to run again: packages already
# present are not downloaded twice, and nothing is touched when all are there.
set -euo pipefail

PACKAGES=(
	# build
	gcc meson ninja-build pkg-config
	# DPDK 22.11 (libraries, headers, dpdk-testpmd, dpdk-telemetry.py, PMDs)
	dpdk dpdk-dev libdpdk-dev
	# libraries dpct links against
	libjansson-dev libnl-3-dev libnl-nf-3-dev libpcap-dev libnetfilter-conntrack-dev
	# tests: Linux reference behaviour, replay, packet checks
	conntrack tcpreplay python3 python3-scapy nftables iproute2 procps
	# fuzzing (libFuzzer runtime for clang 14)
	clang libclang-rt-14-dev
	# flow export tests: real IPFIX collectors and Wireshark's decoder
	nfdump tshark pmacct
	# monitoring: dpct-exporter's HTTP server; Prometheus and promtool for its tests
	libmicrohttpd-dev prometheus
)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all ${#PACKAGES[@]} packages present"
	exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "setup: missing packages (${missing[*]}) and not root; run as root" >&2
		exit 1
	fi
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q "${missing[@]}"
