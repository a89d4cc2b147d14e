#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""NAT of fragmented datagrams (TAP).

dpct with a snat rule (10.0.0.0/8 to 198.51.100.1) and fragments reassembled
before tracking replays, from a net_pcap port, a 3,000-byte UDP datagram from
10.0.1.5 in three fragments (the last one first), a 3,000-byte ICMP echo in
three fragments, and one unfragmented UDP datagram, with one and with two
workers. The output capture must hold every fragment, each translated (source
198.51.100.1, a correct IPv4 header checksum), and scapy's defragment() of
the output must give datagrams whose UDP and ICMP checksums are correct
(the first fragment's checksum was updated for the whole datagram), with the
original payload. The same run with fragments.enabled false drops the
datagrams (the first fragment fails the UDP checksum) and forwards the later
fragments untranslated: the check fails there, which is what shows it can.
"""
import os
import sys

try:
    from scapy.all import Ether, ICMP, IP, UDP, Raw, defragment, fragment, rdpcap, wrpcap
except ImportError:
    if sys.executable != "/usr/bin/python3" and os.access("/usr/bin/python3", os.X_OK):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("1..0 # SKIP scapy not installed")
    sys.exit(0)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

PUBLIC = "198.51.100.1"
PAYLOAD = bytes(range(256)) * 12


def capture(tmp):
    e = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    udp = IP(src="10.0.1.5", dst="192.0.2.1", id=0x1234) / UDP(sport=40000, dport=53) / \
        Raw(PAYLOAD[:2992])
    icmp = IP(src="10.0.1.6", dst="192.0.2.1", id=0x2345) / ICMP(id=77, seq=1) / \
        Raw(PAYLOAD[:2992])
    fu = [Ether(**e) / f for f in fragment(udp, fragsize=1232)]
    fi = [Ether(**e) / f for f in fragment(icmp, fragsize=1232)]
    whole = Ether(**e) / IP(src="10.0.1.7", dst="192.0.2.1") / UDP(sport=40001, dport=53) / \
        Raw(b"small")
    pkts = list(reversed(fu)) + fi + [whole]
    for i, p in enumerate(pkts):
        p.time = 1700000000 + i * 0.001
    path = os.path.join(tmp, "frag.pcap")
    wrpcap(path, pkts)
    return path, len(fu) + len(fi) + 1


def check_output(out_path, n_in):
    """What left: problems as a list of strings (empty: all good)."""
    bad = []
    pkts = [p for p in rdpcap(out_path) if IP in p]
    if len(pkts) != n_in:
        bad.append("%d packets out, %d in" % (len(pkts), n_in))
    for p in pkts:
        ip = p[IP]
        if ip.src != PUBLIC:
            bad.append("not translated: %s id %#x frag %d" % (ip.src, ip.id, ip.frag))
        sent = ip.chksum
        ip2 = IP(bytes(ip))
        del ip2.chksum
        if IP(bytes(ip2)).chksum != sent:
            bad.append("bad IPv4 header checksum: id %#x frag %d" % (ip.id, ip.frag))
    whole = defragment([p[IP] for p in pkts])
    datagrams = [w for w in whole if IP in w and w[IP].flags.MF == 0 and w[IP].frag == 0]
    seen = set()
    for w in datagrams:
        raw = bytes(w[IP])
        w = IP(raw)
        if UDP in w:
            l4 = w[UDP]
            want = l4.chksum
            del l4.chksum
            got = IP(bytes(w))[UDP].chksum
            seen.add("udp%d" % len(w[Raw].load))
            if got != want:
                bad.append("UDP checksum of the reassembled datagram %#x, should be %#x"
                           % (want, got))
        elif ICMP in w:
            l4 = w[ICMP]
            want = l4.chksum
            del l4.chksum
            got = IP(bytes(w))[ICMP].chksum
            seen.add("icmp%d" % len(w[Raw].load))
            if got != want:
                bad.append("ICMP checksum of the reassembled datagram %#x, should be %#x"
                           % (want, got))
        if Raw in w and len(w[Raw].load) == 2992 and w[Raw].load != PAYLOAD[:2992]:
            bad.append("payload changed")
    for want in ("udp2992", "icmp2992", "udp5"):
        if want not in seen:
            bad.append("no %s datagram in the output" % want)
    return bad


def run(t, tmp, cap, n_in, lcores, enabled, meet="auto"):
    prefix, chan = d.uniq("natfrag")
    cfg = d.base_config(chan, events={"enabled": False},
                        fragments={"enabled": enabled, "meet": meet},
                        nat={"pools": [{"name": "public", "addresses": PUBLIC,
                                        "ports": "1024-65535"}],
                             "rules": [{"name": "out", "action": "snat", "src": "10.0.0.0/8",
                                        "pool": "public"}]})
    path = d.write_config(tmp, cfg, "nat%s.json" % prefix)
    out = os.path.join(tmp, "out-%s.pcap" % prefix)
    stats = os.path.join(tmp, "stats-%s.json" % prefix)
    cmd = d.dpct_cmd(prefix, path, rx=cap, tx=out, lcores=lcores, stats=stats)
    rc, o, e = d.run_dpct(cmd, timeout=120)
    if rc != 0:
        return ["dpct exit %d: %s" % (rc, (o + e)[-1500:])], None
    return check_output(out, n_in), d.load_json(stats)


def main():
    t = d.Tap()
    d.need([d.DPCT], t)
    tmp = d.tmpdir("natfrag")
    cap, n_in = capture(tmp)
    for workers, lcores, meet in ((1, "0-1", "auto"), (2, "0@0,1@1,2@0", "auto"),
                                  (3, "0@0,1@1,2@0,3@1", "hash")):
        what = "%d worker(s), meet %s" % (workers, meet)
        bad, st = run(t, tmp, cap, n_in, lcores, True, meet)
        t.check(not bad, "%s: every fragment translated, the reassembled "
                "datagrams' checksums right" % what, "\n".join(bad[:10]))
        fr = (st or {}).get("fragments", {})
        t.check(fr.get("datagrams") == 2 and fr.get("fragments") == n_in - 1 and
                fr.get("waiting") == 0 and fr.get("dropped") == 0,
                "%s: fragments counted (2 datagrams from %d fragments)" % (
                    what, n_in - 1), str(fr))
    bad, _ = run(t, tmp, cap, n_in, "0-1", False)
    t.check(bool(bad), "fragments.enabled false: the check above finds the difference",
            "no difference found")
    t.done()


if __name__ == "__main__":
    main()
