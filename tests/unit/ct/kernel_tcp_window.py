#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The window-tracking table of test_tcp_window.c, run through the running
kernel's conntrack with nf_conntrack_tcp_be_liberal=0.

test_tcp_window.c checks ct_tcp_window.c against verdicts, states and
timeouts worked out from Linux's tcp_in_window(); this checks those
expectations against the kernel itself. The scenarios are read from the C
file (the s_* arrays and the SC() list), so both run the same table. Each
segment is sent with scapy through a network namespace that forwards between
two veths; after each one the verdict is read from what the kernel did:
INVALID from an nftables `ct state invalid` counter, ACCEPT from the entry's
packet counter in that direction (accounting on), IGNORE from neither moving,
KILL from the entry being gone; the state and the remaining timeout
(timeout classes set as in the C test) from `conntrack -L`, also after an
INVALID_SHORTEN (an out-of-window FIN or RST that shortens the timeout).

TAP output; skips when not root or scapy/conntrack/nft are missing. Both
veth pairs live in namespaces of their own (the sender's and the tracker's,
names from the PID), so nothing touches the host's interfaces; the test
re-runs itself inside the sender's namespace. Registered as the integration
test `kernel-tcp-window`; by hand, as root:

    /usr/bin/python3 tests/unit/ct/kernel_tcp_window.py
"""
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# The child (--child PID) reuses its parent's names.
PID = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[1] == "--child" else os.getpid()
NS = "dpctw%d" % PID
INJ = "dpctwi%d" % PID
A0, B0 = "dpwa%d" % (PID % 100000), "dpwb%d" % (PID % 100000)
A1, B1 = A0 + "x", B0 + "x"
C, S = "10.1.0.2", "10.2.0.2"

# Timeout classes as the C test sets them (seconds).
TIMEOUTS = {"CT_TO_TCP_SYN_SENT": 120, "CT_TO_TCP_SYN_RECV": 60,
            "CT_TO_TCP_ESTABLISHED": 432000, "CT_TO_TCP_TIME_WAIT": 120,
            "CT_TO_TCP_CLOSE": 10, "CT_TO_TCP_RETRANS": 200, "CT_TO_TCP_UNACK": 300}
STATES = {"CT_TCP_NONE": "-", "CT_TCP_SYN_SENT": "SYN_SENT", "CT_TCP_SYN_RECV": "SYN_RECV",
          "CT_TCP_ESTABLISHED": "ESTABLISHED", "CT_TCP_FIN_WAIT": "FIN_WAIT",
          "CT_TCP_CLOSE_WAIT": "CLOSE_WAIT", "CT_TCP_LAST_ACK": "LAST_ACK",
          "CT_TCP_TIME_WAIT": "TIME_WAIT", "CT_TCP_CLOSE": "CLOSE"}
FLAGS = {"FIN": "F", "SYN": "S", "RST": "R", "PSH": "P", "ACK": "A"}


def sh(cmd, check=True):
    return subprocess.run(cmd, shell=True, check=check, capture_output=True, text=True).stdout


def ns(cmd, check=True):
    return sh("ip netns exec %s %s" % (NS, cmd), check)


def cval(expr, macros):
    """A C integer expression of the table (decimal, +, -, <<, u suffixes), mod 2^32."""
    e = expr.strip()
    for k, v in macros.items():
        e = re.sub(r"\b%s\b" % k, str(v), e)
    e = re.sub(r"(\d+)u\b", r"\1", e)
    if not re.fullmatch(r"[0-9+\-<() ]*", e):
        raise ValueError("not a plain integer expression: %r" % expr)
    return eval(e) % (1 << 32)  # noqa: S307 - digits and operators only


def load_table():
    src = open(os.path.join(HERE, "test_tcp_window.c")).read()
    hs = re.search(r"#define HANDSHAKE \\\n(.*?)\n\n", src, re.S).group(1)
    src = src.replace("HANDSHAKE,", hs.replace("\\\n", "\n") + ",")
    arrays = {}
    for m in re.finditer(r"static const struct seg (s_\w+)\[\] = \{(.*?)\n\};", src, re.S):
        body = re.sub(r"/\*.*?\*/", "", m.group(2), flags=re.S)
        segs = []
        for g in re.finditer(r"\{([^{}]*)\}", body):
            f = [x.strip() for x in g.group(1).split(",")]
            if len(f) != 11:
                raise ValueError("%s: %s" % (m.group(1), f))
            segs.append({
                "dir": f[0], "flags": "".join(FLAGS[x.strip()] for x in f[1].split("|")),
                "seq": cval(f[2], {}), "ack": cval(f[3], {}), "win": cval(f[4], {}),
                "len": cval(f[5], {}), "opt": f[6], "sack": cval(f[7], {}),
                "verdict": f[8], "state": f[9], "cls": f[10]})
        arrays[m.group(1)] = segs
    scen = []
    for m in re.finditer(r"SC\((s_\w+), (true|false), (true|false)\)", src):
        scen.append((m.group(1), m.group(2) == "true", m.group(3) == "true",
                     arrays[m.group(1)]))
    return scen


def setup():
    sh("ip netns add %s" % NS)
    sh("ip netns add %s" % INJ)
    sh("ip link add %s type veth peer name %s" % (A0, A1))
    sh("ip link add %s type veth peer name %s" % (B0, B1))
    sh("ip link set %s netns %s" % (A1, NS))
    sh("ip link set %s netns %s" % (B1, NS))
    sh("ip link set %s netns %s" % (A0, INJ))
    sh("ip link set %s netns %s" % (B0, INJ))
    # Segments of up to 60000 bytes (the window-scale scenarios) in one frame.
    sh("ip -n %s link set %s address 02:00:00:00:0a:00 mtu 65000 up" % (INJ, A0))
    sh("ip -n %s link set %s address 02:00:00:00:0b:00 mtu 65000 up" % (INJ, B0))
    ns("ip link set %s address 02:00:00:00:0a:01 mtu 65000 up" % A1)
    ns("ip link set %s address 02:00:00:00:0b:01 mtu 65000 up" % B1)
    ns("ip addr add 10.1.0.1/24 dev %s" % A1)
    ns("ip addr add 10.2.0.1/24 dev %s" % B1)
    ns("sysctl -qw net.ipv4.ip_forward=1")
    ns("sysctl -qw net.ipv4.conf.all.rp_filter=0")
    ns("ip neigh add 10.1.0.2 lladdr 02:00:00:00:0a:00 dev %s nud permanent" % A1)
    ns("ip neigh add 10.2.0.2 lladdr 02:00:00:00:0b:00 dev %s nud permanent" % B1)
    ns("nft add table inet t")
    ns("nft 'add chain inet t pre { type filter hook prerouting priority 0; }'")
    ns("nft add rule inet t pre ct state invalid counter")
    ns("sysctl -qw net.netfilter.nf_conntrack_acct=1 "
       "net.netfilter.nf_conntrack_checksum=1 "
       "net.netfilter.nf_conntrack_tcp_timeout_max_retrans=200 "
       "net.netfilter.nf_conntrack_tcp_timeout_unacknowledged=300")


def teardown():
    sh("ip netns del %s" % NS, False)
    sh("ip netns del %s" % INJ, False)
    # If a move into a namespace failed midway.
    sh("ip link del %s 2>/dev/null" % A0, False)
    sh("ip link del %s 2>/dev/null" % B0, False)


def invalid_count():
    m = re.search(r"counter packets (\d+)", ns("nft list table inet t"))
    return int(m.group(1)) if m else -1


def entry():
    """(state, timeout, orig packets, reply packets) of the TCP entry, or None."""
    out = ns("conntrack -L -p tcp 2>/dev/null", False).strip()
    if not out:
        return None
    m = re.search(r"tcp\s+6\s+(\d+)\s+(\S+)\s+.*?packets=(\d+).*?packets=(\d+)", out)
    return m.group(2), int(m.group(1)), int(m.group(3)), int(m.group(4))


def send(g):
    from scapy.all import Ether, IP, TCP, Raw, sendp
    opts = []
    if g["opt"] == "OPT_WS_SACK":
        opts = [("WScale", 7), ("SAckOK", b""), ("NOP", None), ("NOP", None)]
    elif g["opt"] == "OPT_WS_ONLY":
        opts = [("WScale", 7), ("NOP", None)]
    if g["sack"]:
        opts += [("NOP", None), ("NOP", None), ("SAck", (g["ack"], g["sack"]))]
    o = g["dir"] == "O"
    e = Ether(src="02:00:00:00:%s:00" % ("0a" if o else "0b"),
              dst="02:00:00:00:%s:01" % ("0a" if o else "0b")) / \
        IP(src=C if o else S, dst=S if o else C) / \
        TCP(sport=40000 if o else 80, dport=80 if o else 40000, flags=g["flags"], seq=g["seq"],
            ack=g["ack"], window=g["win"], options=opts)
    if g["len"]:
        e = e / Raw(b"x" * g["len"])
    sendp(e, iface=A0 if o else B0, verbose=False)
    time.sleep(0.03)


def run(name, liberal, loose, segs):
    ns("sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=%d "
       "net.netfilter.nf_conntrack_tcp_loose=%d" % (liberal, loose))
    ns("conntrack -F", False)
    time.sleep(0.05)
    for i, g in enumerate(segs):
        inv0, before = invalid_count(), entry()
        send(g)
        inv1, after = invalid_count(), entry()
        v = g["verdict"]
        want_state = STATES[g["state"]]
        if v == "V_NEWFAIL":
            ok = after is None and inv1 == inv0 + 1
        elif v == "CT_L4_KILL":
            ok = after is None and inv1 == inv0
        elif after is None:
            ok = False
        else:
            d = 2 if g["dir"] == "O" else 3
            moved = before is None or after[d] == before[d] + 1
            if v in ("CT_L4_INVALID", "CT_L4_INVALID_WINDOW", "CT_L4_INVALID_SHORTEN"):
                ok = inv1 == inv0 + 1 and before is not None and after[d] == before[d]
            elif v == "CT_L4_IGNORE":
                ok = inv1 == inv0 and before is not None and after[d] == before[d]
            else:  # ACCEPT or V_NEW
                ok = inv1 == inv0 and moved
            ok = ok and after[0] == want_state
            if ok and g["cls"] != "NOCLS" and v not in ("CT_L4_IGNORE", "CT_L4_INVALID",
                                                         "CT_L4_INVALID_WINDOW"):
                ok = abs(after[1] - TIMEOUTS[g["cls"]]) <= 2
        if not ok:
            return "step %d (%s %s seq %d ack %d): want %s %s %s; kernel: invalid +%d, " \
                   "entry %s -> %s" % (i, g["dir"], g["flags"], g["seq"], g["ack"], v,
                                       want_state, g["cls"], inv1 - inv0, before, after)
    return None


def child():
    """In the sender's namespace: run every scenario, TAP lines to stdout."""
    failed = 0
    for i, (name, liberal, loose, segs) in enumerate(load_table()):
        err = run(name, liberal, loose, segs)
        if err:
            failed += 1
            print("not ok %d - %s\n# %s" % (i + 1, name, err))
        else:
            print("ok %d - %s (%d segments as the kernel)" % (i + 1, name, len(segs)))
        sys.stdout.flush()
    return 1 if failed else 0


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return child()
    scen = load_table()
    print("1..%d" % len(scen))
    sys.stdout.flush()
    missing = [t for t in ("ip", "nft", "conntrack") if shutil.which(t) is None]
    try:
        import scapy.all  # noqa: F401
    except ImportError:
        missing.append("scapy")
    if os.geteuid() != 0 or missing:
        for i, (name, _, _, _) in enumerate(scen):
            print("ok %d - %s # SKIP needs root and %s" % (i + 1, name, missing or "netns"))
        return 0
    try:
        try:
            setup()
            ns("conntrack -L", True)
        except subprocess.CalledProcessError as e:
            for i, (name, _, _, _) in enumerate(scen):
                print("ok %d - %s # SKIP namespaces unavailable: %s" % (
                    i + 1, name, (e.stderr or "").strip()[:80]))
            return 0
        r = subprocess.run(["ip", "netns", "exec", INJ, sys.executable,
                            os.path.abspath(__file__), "--child", str(PID)], timeout=240)
        return r.returncode
    finally:
        teardown()


if __name__ == "__main__":
    sys.exit(main())
