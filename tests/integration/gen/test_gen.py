#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dpct-gen integration tests (TAP).

The captures are checked two ways: scapy must parse every packet and agree
with its checksums, and an independent byte-level validator written here
classifies every malformed packet, so the per-shape counts dpct-gen prints
must match what is actually in the file.
"""
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import traceback

import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, IP, IPv6, TCP, UDP, ICMP, RawPcapReader, raw  # noqa: E402
from scapy.layers.inet6 import _ICMPv6  # noqa: E402

BUILD = os.environ.get("DPCT_BUILD", "build")
GEN = os.path.join(BUILD, "tools", "dpct-gen", "dpct-gen")
PARSE_CHECK = os.path.join(BUILD, "tests", "integration", "gen", "gen_parse_check")
EPOCH = 1767225600  # 2026-01-01T00:00:00Z
WORKLOADS = ["short-tcp", "udp", "icmp", "mix", "malformed", "sctp", "dccp", "gre"]
BAD_KINDS = ["trunc_eth", "trunc_ip", "bad_ihl", "bad_total_len", "trunc_tcp", "trunc_udp",
             "trunc_icmp", "bad_tcp_doff", "syn_fin", "bad_udp_len", "bad_icmp_quote",
             "trunc_ipv6_ext"]

TMP = tempfile.mkdtemp(prefix="dpct-gen-test-")

# Which lib/conntrack invalid reason each malformed shape must get.
PARSER_REASON = {"trunc_eth": "trunc_l2", "trunc_ip": "trunc_l3", "bad_ihl": "ip_hdrlen",
                 "bad_total_len": "ip_totlen", "trunc_tcp": "trunc_l4", "trunc_udp": "trunc_l4",
                 "trunc_icmp": "trunc_l4", "bad_tcp_doff": "tcp_doff", "syn_fin": "tcp_flags",
                 "bad_udp_len": "udp_len", "bad_icmp_quote": "icmp",
                 "trunc_ipv6_ext": "ipv6_exthdr"}


class Skip(Exception):
    """The case cannot run here (reported as TAP SKIP)."""


def gen(workload, flows, *extra, name=None):
    """Run dpct-gen; return (path, stdout, stderr)."""
    path = os.path.join(TMP, name or "%s-%d-%s.pcap" % (workload, flows, "-".join(extra)))
    cmd = [GEN, "--workload", workload, "--flows", str(flows), "-o", path] + list(extra)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "%s: rc %d: %s" % (cmd, r.returncode, r.stderr)
    return path, r.stdout, r.stderr


def records(path):
    """[(time_us, bytes)] of a pcap, via scapy's raw reader."""
    out = []
    for data, meta in RawPcapReader(path):
        out.append((meta.sec * 1000000 + meta.usec, bytes(data)))
    return out


def csum(b):
    if len(b) & 1:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s  # 0xffff when the embedded checksum is right


def l4_ok(proto, src, dst, l4, v6):
    if proto == 1:
        return csum(l4) == 0xffff
    if v6:
        ph = src + dst + struct.pack("!I3xB", len(l4), proto)
    else:
        ph = src + dst + struct.pack("!xBH", proto, len(l4))
    return csum(ph + l4) == 0xffff


def classify_l4(proto, src, dst, l4, v6):
    """None if the L4 segment is well formed with a right checksum, else the shape name."""
    if proto == 6:
        if len(l4) < 20:
            return "trunc_tcp"
        doff = (l4[12] >> 4) * 4
        if doff < 20 or doff > len(l4):
            return "bad_tcp_doff"
        if (l4[13] & 0x03) == 0x03:
            return "syn_fin"
        return None if l4_ok(6, src, dst, l4, v6) else "bad_checksum"
    if proto == 17:
        if len(l4) < 8:
            return "trunc_udp"
        if struct.unpack("!H", l4[4:6])[0] != len(l4):
            return "bad_udp_len"
        return None if l4_ok(17, src, dst, l4, v6) else "bad_checksum"
    if proto in (1, 58):
        if len(l4) < 8:
            return "trunc_icmp"
        if not l4_ok(proto, src, dst, l4, v6):
            return "bad_checksum"
        is_err = (l4[0] in (3, 4, 5, 11, 12)) if proto == 1 else l4[0] < 128
        if is_err:
            q = l4[8:]
            if proto == 1:
                if len(q) < 28 or (q[0] >> 4) != 4 or csum(q[:(q[0] & 15) * 4]) != 0xffff:
                    return "bad_icmp_quote"
            elif len(q) < 48 or (q[0] >> 4) != 6:
                return "bad_icmp_quote"
        return None
    return None


def classify(frame):
    """None for a good frame, else the malformed shape it is (dpct-gen's names)."""
    if len(frame) < 14:
        return "trunc_eth"
    et = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if et == 0x0800:
        if len(ip) < 20:
            return "trunc_ip"
        ihl = (ip[0] & 15) * 4
        if ihl < 20:
            return "bad_ihl"
        tot = struct.unpack("!H", ip[2:4])[0]
        if tot > len(ip) or tot < ihl:
            return "bad_total_len"
        if csum(ip[:ihl]) != 0xffff:
            return "bad_checksum"
        return classify_l4(ip[9], ip[12:16], ip[16:20], ip[ihl:tot], False)
    if et == 0x86dd:
        if len(ip) < 40:
            return "trunc_ip"
        plen = struct.unpack("!H", ip[4:6])[0]
        if plen > len(ip) - 40:
            return "bad_total_len"
        nh, off, end = ip[6], 40, 40 + plen
        while nh in (0, 43, 60):
            if off + 2 > end or off + (ip[off + 1] + 1) * 8 > end:
                return "trunc_ipv6_ext"
            nh, off = ip[off], off + (ip[off + 1] + 1) * 8
        return classify_l4(nh, ip[8:24], ip[24:40], ip[off:end], True)
    return "not_ip"


def flow_key(frame):
    """Direction-independent (proto, {ep, ep}) of a good TCP/UDP frame, else None."""
    p = Ether(frame)
    l3 = p[IP] if IP in p else p[IPv6] if IPv6 in p else None
    if l3 is None:
        return None
    for l4 in (TCP, UDP):
        if l4 in p:
            a = (l3.src, p[l4].sport)
            b = (l3.dst, p[l4].dport)
            return (l4.__name__, frozenset((a, b)))
    return None


# ---- test cases -------------------------------------------------------------------------

def test_determinism():
    for w in WORKLOADS:
        for extra in ([], ["--ipv6"]):
            a, _, _ = gen(w, 300, "--seed", "7", *extra, name="a.pcap")
            da = open(a, "rb").read()
            b, _, _ = gen(w, 300, "--seed", "7", *extra, name="b.pcap")
            db = open(b, "rb").read()
            assert da == db, "%s %s: two runs differ" % (w, extra)
            c, _, _ = gen(w, 300, "--seed", "8", *extra, name="c.pcap")
            assert open(c, "rb").read() != da, "%s %s: seed has no effect" % (w, extra)


def test_summary_and_clock():
    for w in WORKLOADS:
        path, out, _ = gen(w, 250)
        m = re.search(r"flows=(\d+) packets=(\d+) bytes=(\d+)", out)
        assert m, "no summary line: %r" % out
        recs = records(path)
        assert int(m.group(1)) == 250
        assert int(m.group(2)) == len(recs), "%s: summary %s packets, file %d" % (
            w, m.group(2), len(recs))
        assert int(m.group(3)) == sum(len(d) for _, d in recs)
        assert recs[0][0] == EPOCH * 1000000, "%s: clock starts at %d" % (w, recs[0][0])
        for (t0, _), (t1, _) in zip(recs, recs[1:]):
            assert t1 > t0, "%s: timestamps not increasing" % w


def test_good_packets_valid():
    """Every packet of the good workloads: scapy parses it, its checksums are right
    (by scapy's recomputation and by ours), frames carry the fixed MACs."""
    macs = {("02:00:00:00:00:01", "02:00:00:00:00:02"), ("02:00:00:00:00:02", "02:00:00:00:00:01")}
    for w in ["short-tcp", "udp", "icmp", "mix"]:
        for extra in ([], ["--ipv6"]):
            path, _, _ = gen(w, 200, *extra)
            for i, (_, frame) in enumerate(records(path)):
                why = classify(frame)
                assert why is None, "%s %s packet %d: %s" % (w, extra, i, why)
                p = Ether(frame)
                assert (p.src, p.dst) in macs, "%s packet %d: MACs %s %s" % (w, i, p.src, p.dst)
                q = p.copy()
                # The outer layers only: quoted headers keep what was sent.
                for layer in (IP, TCP, UDP, ICMP):
                    if layer in q:
                        del q[layer].chksum
                if _ICMPv6 in q:
                    del q[_ICMPv6].cksum
                assert raw(Ether(raw(q))) == frame, \
                    "%s %s packet %d: scapy computes other checksums" % (w, extra, i)
                l3 = p[IPv6] if extra else p[IP]
                if extra:
                    assert l3.src.startswith(("fd00:", "2001:db8:")), l3.src
                else:
                    assert l3.src.startswith(("10.", "192.0.2.", "198.51.100.")), l3.src


def test_short_tcp_structure():
    for extra in ([], ["--ipv6"]):
        path, _, _ = gen("short-tcp", 400, "--concurrency", "16", *extra)
        flows = {}
        order = []
        for _, frame in records(path):
            p = Ether(frame)
            k = flow_key(frame)
            if k not in flows:
                flows[k] = []
                order.append(k)
            l3 = p[IP] if IP in p else p[IPv6]
            flows[k].append((l3.src, p[TCP]))
        assert len(flows) == 400, "flows %d" % len(flows)
        normal = ["S", "SA", "A", "PA", "PA", "FA", "A", "FA", "A"]
        rst = ["S", "SA", "A", "PA", "PA", "RA"]
        n_rst = 0
        for k in order:
            segs = flows[k]
            flags = [str(t.flags) for _, t in segs]
            assert flags in (normal, rst), "flow %s: flags %s" % (k, flags)
            n_rst += flags == rst
            cli = segs[0][0]
            dirs = [s == cli for s, _ in segs]
            want = [True, False, True, True, False, True, False, False, True]
            assert dirs == want[:len(dirs)], "flow %s: directions %s" % (k, dirs)
            # Sequence/ack consistency: every ACK acknowledges all the peer sent so far.
            nxt = {True: None, False: None}
            for src, t in segs:
                d = src == cli
                if nxt[d] is not None:
                    assert t.seq == nxt[d], "flow %s: seq %d, expected %d" % (k, t.seq, nxt[d])
                if "A" in str(t.flags):
                    assert t.ack == nxt[not d], "flow %s: ack %d, expected %d" % (
                        k, t.ack, nxt[not d])
                adv = len(bytes(t.payload)) if t.payload.name == "Raw" else 0
                adv += ("S" in str(t.flags)) + ("F" in str(t.flags))
                nxt[d] = (t.seq + adv) & 0xffffffff
            assert len(bytes(segs[3][1].payload)) > 0 and len(bytes(segs[4][1].payload)) > 0
        # 1 in 8 on average; bounds wide enough for any seed at 400 flows.
        assert 15 <= n_rst <= 90, "RST closes: %d of 400" % n_rst


def test_concurrency():
    for c in (1, 16, 64):
        path, _, _ = gen("short-tcp", 200, "--concurrency", str(c))
        first, last = {}, {}
        for i, (_, frame) in enumerate(records(path)):
            k = flow_key(frame)
            first.setdefault(k, i)
            last[k] = i
        events = sorted([(i, 1) for i in first.values()] + [(i, -1) for i in last.values()],
                        key=lambda e: (e[0], -e[1]))
        open_now = peak = 0
        for _, d in events:
            open_now += d
            peak = max(peak, open_now)
        assert peak == c, "concurrency %d: peak %d open flows" % (c, peak)
        # Round-robin: the first c packets are c different flows' SYNs.
        recs = records(path)[:c]
        assert len({flow_key(f) for _, f in recs}) == c


def test_udp_and_icmp_shapes():
    for extra in ([], ["--ipv6"]):
        path, _, err = gen("udp", 300, *extra)
        seen = {}
        for t, frame in records(path):
            p = Ether(frame)
            k = flow_key(frame)
            seen.setdefault(k, []).append((t, p[UDP].dport, p[UDP].sport))
        dns = [v for v in seen.values() if v[0][1] == 53]
        assert dns and all(len(v) == 2 and v[1][2] == 53 for v in dns), "DNS pairs"
        rr = [v for v in seen.values() if v[0][1] == 123]
        assert rr and all(v[-1][0] - v[0][0] > 2000000 for v in rr), "long UDP exchanges"
        oneway = [v for v in seen.values() if v[0][1] == 514]
        assert oneway and all(all(x[1] == 514 for x in v) for v in oneway), "one-way flows"

        path, _, _ = gen("icmp", 300, *extra)
        sent = set()
        n_err = n_echo = 0
        for _, frame in records(path):
            ip = frame[14:]
            if extra:
                proto, l4 = ip[6], ip[40:40 + struct.unpack("!H", ip[4:6])[0]]
                err_types, echo = range(0, 128), (128, 129)
                iplen = 40 + len(l4)
            else:
                iplen = struct.unpack("!H", ip[2:4])[0]
                proto, l4 = ip[9], ip[20:iplen]
                err_types, echo = (3, 11), (0, 8)
            if proto in (1, 58) and l4[0] in err_types:
                n_err += 1
                assert l4[8:] in sent, "ICMP error quotes a packet that was never sent"
            elif proto in (1, 58):
                assert l4[0] in echo
                n_echo += 1
            sent.add(ip[:iplen])
        assert n_err > 0 and n_echo > 0


def test_malformed_counts():
    for extra in ([], ["--ipv6"]):
        path, _, err = gen("malformed", 600, *extra)
        m = re.search(r"malformed:(.*)", err)
        assert m, "no malformed summary on stderr: %r" % err
        claimed = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}
        assert set(claimed) == set(BAD_KINDS), claimed
        found = {k: 0 for k in BAD_KINDS}
        for i, (_, frame) in enumerate(records(path)):
            why = classify(frame)
            if why is not None:
                assert why in found, "packet %d: unexpected defect %s" % (i, why)
                found[why] += 1
        assert found == claimed, "claimed %s, found %s" % (claimed, found)
        for k in BAD_KINDS:
            if k == "bad_ihl" and extra:
                assert claimed[k] == 0
            else:
                assert claimed[k] > 0, "%s never generated" % k
        assert sum(claimed.values()) == 300


def test_conntrack_parser_agrees():
    """lib/conntrack's parser classifies every generated packet as dpct-gen meant it:
    good traffic is tracked (ICMP errors as errors), each malformed shape gets
    its own invalid reason."""
    if not os.access(PARSE_CHECK, os.X_OK):
        raise Skip("gen_parse_check not built")
    for w in WORKLOADS:
        for extra in ([], ["--ipv6"]):
            path, _, err = gen(w, 600, "--seed", "11", *extra)
            r = subprocess.run([PARSE_CHECK, path], capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            got = json.loads(r.stdout)
            kinds = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)",
                                                       re.search(r"kinds:(.*)", err).group(1))}
            cls = got["classes"]
            assert cls["not_ip"] == cls["fragment"] == cls["other"] == 0, (w, extra, cls)
            errors = kinds.get("icmp_port_unreach", 0) + kinds.get("icmp_host_unreach", 0)
            assert cls["icmp_error"] == errors, "%s %s: %d ICMP errors parsed, %d sent" % (
                w, extra, cls["icmp_error"], errors)
            want = {}
            if w == "malformed":
                m = re.search(r"malformed:(.*)", err)
                for k, v in re.findall(r"(\w+)=(\d+)", m.group(1)):
                    if int(v):
                        want[PARSER_REASON[k]] = want.get(PARSER_REASON[k], 0) + int(v)
            assert got["invalid"] == want, "%s %s: parser says %s, dpct-gen wrote %s" % (
                w, extra, got["invalid"], want)
            assert cls["invalid"] == sum(want.values())


def test_bad_arguments():
    bad = [[], ["--workload", "nope", "--flows", "1", "-o", "/dev/null"],
           ["--workload", "udp", "--flows", "-1", "-o", "/dev/null"],
           ["--workload", "udp", "--flows", "x", "-o", "/dev/null"],
           ["--workload", "udp", "--flows", "5", "--concurrency", "0", "-o", "/dev/null"],
           ["--workload", "udp", "--flows", "5"],
           ["--workload", "udp", "--flows", "5", "-o", "/dev/null", "extra"]]
    for args in bad:
        r = subprocess.run([GEN] + args, capture_output=True, text=True, timeout=10)
        assert r.returncode == 1, "%s: rc %d" % (args, r.returncode)
        assert "usage" in r.stderr or "wants" in r.stderr, args
    r = subprocess.run([GEN, "--workload", "udp", "--flows", "5", "-o",
                        os.path.join(TMP, "no", "such", "dir.pcap")],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2, "unwritable output: rc %d" % r.returncode
    path, out, _ = gen("mix", 0)
    assert records(path) == [] and "packets=0" in out


CASES = [test_determinism, test_summary_and_clock, test_good_packets_valid,
         test_short_tcp_structure, test_concurrency, test_udp_and_icmp_shapes,
         test_malformed_counts, test_conntrack_parser_agrees, test_bad_arguments]


def main():
    if not os.access(GEN, os.X_OK):
        print("1..0 # SKIP dpct-gen not built at %s" % GEN)
        return 0
    print("1..%d" % len(CASES))
    failed = 0
    for i, case in enumerate(CASES, 1):
        try:
            case()
            print("ok %d - %s" % (i, case.__name__))
        except Skip as e:
            print("ok %d - %s # SKIP %s" % (i, case.__name__, e))
        except Exception:  # noqa: BLE001 - report every failure as TAP
            failed += 1
            print("not ok %d - %s" % (i, case.__name__))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        sys.stdout.flush()
    subprocess.run(["rm", "-rf", TMP])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
