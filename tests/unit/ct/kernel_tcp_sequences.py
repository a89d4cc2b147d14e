#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The TCP sequences of test_tcp.c, run through the running kernel's conntrack.

test_tcp.c checks ct_tcp.c against states typed from Linux's source; this
checks that those expectations are what the kernel actually does. Each
sequence is sent with scapy through a network namespace that routes between
two veths (conntrack confirms in POSTROUTING, so packets must be forwarded),
with nf_conntrack_tcp_be_liberal=1 so that window tracking, which dpct does
not do, cannot turn a crafted packet INVALID. After every packet the entry's
state (conntrack -L), ASSURED, and who the original side is are compared with
the expectation. TAP output; skips when not root or scapy/conntrack/nft are
missing. Not registered with meson (it changes the host's network
namespaces); run it by hand as root:

    /usr/bin/python3 tests/unit/ct/kernel_tcp_sequences.py
"""
import os
import re
import shutil
import subprocess
import sys
import time

NS = "dpctk%d" % os.getpid()
A0, B0 = "dpka%d" % (os.getpid() % 100000), "dpkb%d" % (os.getpid() % 100000)
A1, B1 = A0 + "x", B0 + "x"

def sh(cmd, check=True):
    return subprocess.run(cmd, shell=True, check=check, capture_output=True, text=True).stdout


def ns(cmd, check=True):
    return sh("ip netns exec %s %s" % (NS, cmd), check)


def setup():
    sh("ip netns add %s" % NS)
    sh("ip link add %s type veth peer name %s" % (A0, A1))
    sh("ip link add %s type veth peer name %s" % (B0, B1))
    sh("ip link set %s netns %s" % (A1, NS))
    sh("ip link set %s netns %s" % (B1, NS))
    sh("ip link set %s address 02:00:00:00:0a:00 up" % A0)
    sh("ip link set %s address 02:00:00:00:0b:00 up" % B0)
    ns("ip link set %s address 02:00:00:00:0a:01 up" % A1)
    ns("ip link set %s address 02:00:00:00:0b:01 up" % B1)
    ns("ip addr add 10.1.0.1/24 dev %s" % A1)
    ns("ip addr add 10.2.0.1/24 dev %s" % B1)
    ns("sysctl -qw net.ipv4.ip_forward=1")
    ns("sysctl -qw net.ipv4.conf.all.rp_filter=0")
    ns("ip neigh add 10.1.0.2 lladdr 02:00:00:00:0a:00 dev %s nud permanent" % A1)
    ns("ip neigh add 10.2.0.2 lladdr 02:00:00:00:0b:00 dev %s nud permanent" % B1)
    ns("nft add table inet t")
    ns("nft 'add chain inet t pre { type filter hook prerouting priority 0; }'")
    ns("nft add rule inet t pre ct state invalid counter")
    ns("sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=1")


def teardown():
    sh("ip netns del %s" % NS, False)
    sh("ip link del %s" % A0, False)
    sh("ip link del %s" % B0, False)


SEQ = {"c": 1000, "s": 5000}


def send(side, flags):
    from scapy.all import Ether, IP, TCP, sendp
    if side == "c":
        e = Ether(src="02:00:00:00:0a:00", dst="02:00:00:00:0a:01") / \
            IP(src="10.1.0.2", dst="10.2.0.2") / \
            TCP(sport=40000, dport=80, flags=flags, seq=SEQ["c"],
                ack=SEQ["s"] if "A" in flags else 0, window=8192)
        sendp(e, iface=A0, verbose=False)
    else:
        e = Ether(src="02:00:00:00:0b:00", dst="02:00:00:00:0b:01") / \
            IP(src="10.2.0.2", dst="10.1.0.2") / \
            TCP(sport=80, dport=40000, flags=flags, seq=SEQ["s"],
                ack=SEQ["c"] if "A" in flags else 0, window=8192)
        sendp(e, iface=B0, verbose=False)
    if "S" in flags or "F" in flags:
        SEQ[side] += 1
    time.sleep(0.03)


def entry():
    """(state, original source, assured) of the only TCP entry, or ("-", "-", False)."""
    out = ns("conntrack -L -p tcp 2>/dev/null", False).strip()
    if not out:
        return "-", "-", False
    m = re.search(r"tcp\s+6\s+\d+\s+(\S+)\s+src=(\S+)", out)
    return m.group(1), m.group(2), "ASSURED" in out


C, S = "10.1.0.2", "10.2.0.2"
# (name, [(side, flags, state after, original source, assured)]); side "c" is
# the client 10.1.0.2, "s" the server; ("new", "c") jumps the client's
# sequence numbers, as a restarted client would.
SEQUENCES = [
    ("normal open and close", [
        ("c", "S", "SYN_SENT", C, False), ("s", "SA", "SYN_RECV", C, False),
        ("c", "A", "ESTABLISHED", C, True), ("c", "FA", "FIN_WAIT", C, True),
        ("s", "A", "CLOSE_WAIT", C, True), ("s", "FA", "LAST_ACK", C, True),
        ("c", "A", "TIME_WAIT", C, True)]),
    ("simultaneous open", [
        ("c", "S", "SYN_SENT", C, False), ("s", "S", "SYN_SENT2", C, False),
        ("c", "SA", "SYN_RECV", C, False), ("s", "SA", "SYN_RECV", C, False),
        ("s", "A", "ESTABLISHED", C, True), ("c", "A", "ESTABLISHED", C, True)]),
    ("SYN in ESTABLISHED, SYN/ACK resync", [
        ("c", "S", "SYN_SENT", C, False), ("s", "SA", "SYN_RECV", C, False),
        ("c", "A", "ESTABLISHED", C, True), ("new", "c"),
        ("c", "S", "ESTABLISHED", C, True), ("s", "SA", "SYN_RECV", C, True),
        ("c", "A", "ESTABLISHED", C, True)]),
    ("server SYN in TIME_WAIT reopens with roles switched", [
        ("c", "S", "SYN_SENT", C, False), ("s", "SA", "SYN_RECV", C, False),
        ("c", "A", "ESTABLISHED", C, True), ("c", "FA", "FIN_WAIT", C, True),
        ("s", "A", "CLOSE_WAIT", C, True), ("s", "FA", "LAST_ACK", C, True),
        ("c", "A", "TIME_WAIT", C, True), ("s", "S", "SYN_SENT", S, False)]),
    ("client RST then SYN reopens", [
        ("c", "S", "SYN_SENT", C, False), ("s", "SA", "SYN_RECV", C, False),
        ("c", "A", "ESTABLISHED", C, True), ("c", "R", "CLOSE", C, True),
        ("c", "S", "SYN_SENT", C, False)]),
    ("server RST then client SYN is ignored", [
        ("c", "S", "SYN_SENT", C, False), ("s", "SA", "SYN_RECV", C, False),
        ("c", "A", "ESTABLISHED", C, True), ("s", "R", "CLOSE", C, True),
        ("c", "S", "CLOSE", C, True)]),
    ("RST answering the SYN removes the entry", [
        ("c", "S", "SYN_SENT", C, False), ("s", "RA", "-", "-", False)]),
    ("challenge ACK in LAST_ACK", [
        ("c", "S", "SYN_SENT", C, False), ("s", "SA", "SYN_RECV", C, False),
        ("c", "A", "ESTABLISHED", C, True), ("c", "FA", "FIN_WAIT", C, True),
        ("s", "A", "CLOSE_WAIT", C, True), ("s", "FA", "LAST_ACK", C, True),
        ("c", "S", "LAST_ACK", C, True), ("s", "A", "LAST_ACK", C, True),
        ("s", "A", "TIME_WAIT", C, True)]),
    ("mid-stream pickup, assured on the second reply-seen packet", [
        ("c", "A", "ESTABLISHED", C, False), ("s", "A", "ESTABLISHED", C, False),
        ("c", "A", "ESTABLISHED", C, True)]),
]


def run(name, steps):
    ns("conntrack -F", False)
    SEQ["c"], SEQ["s"] = 1000, 5000
    for step in steps:
        if step[0] == "new":
            SEQ[step[1]] += 100000
            continue
        side, flags, want_state, want_src, want_assured = step
        send(side, flags)
        got = entry()
        if got != (want_state, want_src, want_assured):
            return "%s %s: got %s, want %s" % (side, flags, got,
                                                (want_state, want_src, want_assured))
    return None


def main():
    print("1..%d" % len(SEQUENCES))
    missing = [t for t in ("ip", "nft", "conntrack") if shutil.which(t) is None]
    try:
        import scapy.all  # noqa: F401
    except ImportError:
        missing.append("scapy")
    if os.geteuid() != 0 or missing:
        for i, (name, _) in enumerate(SEQUENCES):
            print("ok %d - %s # SKIP needs root and %s" % (i + 1, name, missing or "netns"))
        return 0
    failed = 0
    try:
        setup()
        for i, (name, steps) in enumerate(SEQUENCES):
            err = run(name, steps)
            if err:
                failed += 1
                print("not ok %d - %s\n# %s" % (i + 1, name, err))
            else:
                print("ok %d - %s" % (i + 1, name))
    finally:
        teardown()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
