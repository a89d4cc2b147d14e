#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The same stateful rule set in the kernel and in dpct, on one generated
capture: the set of packets forwarded must be the same.

    ct state established,related accept
    ct state invalid drop
    iif "lan" ct state new accept
    tcp dport { 22, 443 } ct state new accept
    drop

Kernel: a router netns with nftables' forward chain, fed from a host netns
over two veth pairs (lan, wan); what comes out of the other side is
captured. dpct: replay of the same packets on two net_pcap ports (port 0 =
lan), one worker, burst 1; non-IP filler frames keep the two ports'
packets interleaved in capture order and are left out of the comparison.

Deliberate differences, kept out of the capture (docs/policy.md):
  - A connection dpct drops at its first packet keeps that verdict in both
    directions. Linux never confirms it, so a mid-stream packet from the
    other side (a pure ACK or data from lan, a UDP reply from lan) would
    start a new connection there, judged by that side's rules.
  - The kernel runs with liberal TCP window tracking: dpct does not track
    windows.
IPv4 packets are told apart by their IP id, IPv6 ones by their flow label.
Needs root (netns, veth, nft); skips otherwise."""
import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'app'))
import dpctlib as d  # noqa: E402

NFT = '''table inet filter {
    chain forward {
        type filter hook forward priority 0; policy drop;
        ct state established,related accept
        ct state invalid drop
        iifname "%s" ct state new accept
        tcp dport { 22, 443 } ct state new accept
    }
}
'''

POLICY = {'default': 'drop', 'rules': [
    {'state': ['established', 'related'], 'action': 'accept'},
    {'state': 'invalid', 'action': 'drop'},
    {'in_port': 0, 'state': 'new', 'action': 'accept', 'name': 'lan'},
    {'proto': 'tcp', 'dport': [22, 443], 'state': 'new', 'action': 'accept'},
]}

# Builds the capture: [(side, packet)], written as all.pcap + sides.json.
GEN = r'''
import json, sys
from scapy.all import Ether, IP, IPv6, TCP, UDP, ICMP, ICMPv6EchoRequest, ICMPv6EchoReply, wrpcap
out = []
ipid = [0]
def ip(src, dst):
    # Every packet its own id: the IPv4 id, or the IPv6 flow label.
    ipid[0] += 1
    if ":" in src:
        return IPv6(src=src, dst=dst, fl=ipid[0], hlim=64)
    return IP(src=src, dst=dst, id=ipid[0], ttl=64)
def add(side, p):
    out.append((side, Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / p))
other = {"lan": "wan", "wan": "lan"}
def tcp(cside, c, s, cp, sp, drop_first=False, pickup=False):
    sside = other[cside]
    x, y = 1000 + cp, 5000 + sp
    A = lambda fl, sq, ak, data=b"": TCP(sport=cp, dport=sp, flags=fl, seq=sq, ack=ak, window=8192) / data
    B = lambda fl, sq, ak, data=b"": TCP(sport=sp, dport=cp, flags=fl, seq=sq, ack=ak, window=8192) / data
    if pickup:
        add(cside, ip(c, s) / A("PA", x + 1, y + 1, b"mid-stream"))
        add(sside, ip(s, c) / B("A", y + 1, x + 11))
        add(cside, ip(c, s) / A("PA", x + 11, y + 1, b"more"))
        return
    add(cside, ip(c, s) / A("S", x, 0))
    if drop_first:
        add(cside, ip(c, s) / A("S", x, 0))                 # retransmission
        add(sside, ip(s, c) / B("SA", y, x + 1))
        add(cside, ip(c, s) / A("A", x + 1, y + 1))
        return
    add(sside, ip(s, c) / B("SA", y, x + 1))
    add(cside, ip(c, s) / A("A", x + 1, y + 1))
    add(cside, ip(c, s) / A("PA", x + 1, y + 1, b"0123456789"))
    add(sside, ip(s, c) / B("PA", y + 1, x + 11, b"abcdef"))
    add(cside, ip(c, s) / A("FA", x + 11, y + 7))
    add(sside, ip(s, c) / B("FA", y + 7, x + 12))
    add(cside, ip(c, s) / A("A", x + 12, y + 8))
L = ["10.1.0.%d" % i for i in (10, 11, 12)]
W = ["10.2.0.%d" % i for i in (20, 21, 22)]
tcp("lan", L[0], W[0], 40001, 80)                        # out: iif lan
tcp("lan", L[1], W[1], 40002, 8080)
tcp("wan", W[0], L[0], 50001, 22)                        # in: ssh
tcp("wan", W[1], L[1], 50002, 443)                       # in: https
tcp("wan", W[2], L[2], 50003, 80, drop_first=True)       # in: refused
tcp("wan", W[2], L[0], 50004, 8080, drop_first=True)
tcp("wan", W[1], L[2], 50005, 22, pickup=True)           # mid-stream, loose pickup
add("lan", ip(L[0], W[0]) / UDP(sport=3333, dport=53) / b"query")
add("wan", ip(W[0], L[0]) / UDP(sport=53, dport=3333) / b"answer")
q = ip(L[1], W[1]) / UDP(sport=3334, dport=53) / b"query2"
add("lan", q)
add("wan", ip(W[1], L[1]) / ICMP(type=3, code=3) / bytes(q)[:28])   # related to an accepted flow
r = ip(W[2], L[2]) / UDP(sport=4444, dport=5353) / b"in"
add("wan", r)                                            # dropped, no reply
add("wan", ip(W[2], L[2]) / UDP(sport=4444, dport=5353) / b"in again")
add("lan", ip(L[2], W[2]) / ICMP(type=3, code=3) / bytes(r)[:28])   # quotes a dropped flow
add("lan", ip(L[0], W[2]) / ICMP(type=8, id=77, seq=1))
add("wan", ip(W[2], L[0]) / ICMP(type=0, id=77, seq=1))
add("wan", ip(W[0], L[1]) / ICMP(type=8, id=78, seq=1))  # ping from wan: dropped
add("lan", ip(L[1], W[0]) / ICMP(type=0, id=78, seq=1))  # its reply: invalid in Linux too
L6, W6 = "fd01::10", "fd02::20"
tcp("wan", W6, L6, 50011, 443)                            # IPv6 in: https
tcp("wan", W6, L6, 50012, 25, drop_first=True)           # IPv6 in: refused
tcp("lan", L6, W6, 40011, 80)                            # IPv6 out
add("lan", ip(L6, W6) / UDP(sport=3335, dport=53) / b"q6")
add("wan", ip(W6, L6) / UDP(sport=53, dport=3335) / b"a6")
add("wan", ip(W6, L6) / ICMPv6EchoRequest(id=9, seq=1))   # ping6 from wan: dropped
add("lan", ip(L6, W6) / ICMPv6EchoReply(id=9, seq=1))
add("lan", ip(L6, W6) / ICMPv6EchoRequest(id=10, seq=1))  # ping6 out
add("wan", ip(W6, L6) / ICMPv6EchoReply(id=10, seq=1))
add("lan", ip(L[2], W[0]) / TCP(sport=40009, dport=80, flags="SF", seq=9))  # invalid flags
add("wan", ip(W[0], L[2]) / TCP(sport=50009, dport=22, flags="SF", seq=9))
wrpcap(sys.argv[1], [p for _, p in out])
json.dump([s for s, _ in out], open(sys.argv[2], "w"))
'''

# Runs in the host netns: send every packet on its side, in order, and report
# the IP ids the router forwarded to the other side.
SEND = r'''
import json, sys, time
from scapy.all import rdpcap, Ether, IP, IPv6, AsyncSniffer, conf
pk = rdpcap(sys.argv[1])
sides = json.load(open(sys.argv[2]))
ifs = {"lan": sys.argv[3], "wan": sys.argv[4]}
hmac = {"lan": sys.argv[5], "wan": sys.argv[6]}
rmac = {"lan": sys.argv[7], "wan": sys.argv[8]}
got = {"lan": [], "wan": []}
sn = {}
for s in ("lan", "wan"):
    def keep(p, s=s):
        return Ether in p and p[Ether].src.lower() == rmac[s].lower() and \
            (IP in p or (IPv6 in p and p[IPv6].fl != 0))
    sn[s] = AsyncSniffer(iface=ifs[s], lfilter=keep, store=True)
    sn[s].start()
time.sleep(1.0)
socks = {s: conf.L2socket(iface=ifs[s]) for s in ifs}
for p, s in zip(pk, sides):
    p[Ether].src = hmac[s]
    p[Ether].dst = rmac[s]
    socks[s].send(p)
    time.sleep(0.004)
time.sleep(1.0)
res = {}
for s in ("lan", "wan"):
    sn[s].stop()
    res[s] = sorted(p[IP].id if IP in p else p[IPv6].fl for p in sn[s].results)
print(json.dumps(res))
'''


def sh(cmd, check=True):
    return d.sh(cmd, check=check, timeout=60)


def mac(ns, ifname):
    out = sh('ip netns exec %s cat /sys/class/net/%s/address' % (ns, ifname)).stdout
    return out.strip()


def pcap_write(path, frames):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            sec, usec = 1767225600 + i // 1000, (i % 1000) * 1000
            f.write(struct.pack('<IIII', sec, usec, len(fr), len(fr)))
            f.write(fr)


FILLER = b'\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x88\xb5' + b'\x00' * 46


def ipv4_id(fr):
    """The packet's id: IPv4 id or IPv6 flow label (None for fillers)."""
    if len(fr) >= 34 and fr[12:14] == b'\x08\x00':
        return struct.unpack('>H', fr[18:20])[0]
    if len(fr) >= 54 and fr[12:14] == b'\x86\xdd':
        return struct.unpack('>I', fr[14:18])[0] & 0xfffff
    return None


def run_dpct(tmp, frames, sides):
    """Two ports, alternating lan/wan reads (burst 1): fillers keep order."""
    lan, wan, want = [], [], 'lan'
    for fr, s in zip(frames, sides):
        if s != want:
            (lan if want == 'lan' else wan).append(FILLER)
        (lan if s == 'lan' else wan).append(fr)
        want = 'wan' if s == 'lan' else 'lan'
    while len(lan) < len(wan):
        lan.append(FILLER)
    while len(wan) < len(lan):
        wan.append(FILLER)
    pl, pw = os.path.join(tmp, 'lan.pcap'), os.path.join(tmp, 'wan.pcap')
    tl, tw = os.path.join(tmp, 'lan_out.pcap'), os.path.join(tmp, 'wan_out.pcap')
    pcap_write(pl, lan)
    pcap_write(pw, wan)
    prefix, port_id = d.uniq('polnft')
    cfg = d.base_config(port_id, events={'enabled': False}, policy=POLICY,
                        workers={'count': 1, 'burst': 1})
    path = d.write_config(tmp, cfg)
    stats = os.path.join(tmp, 'stats.json')
    cmd = d.dpct_cmd(prefix, path, lcores='0-1', stats=stats,
                     extra_eal=['--vdev', 'net_pcap0,rx_pcap=%s,tx_pcap=%s' % (pl, tl),
                                '--vdev', 'net_pcap1,rx_pcap=%s,tx_pcap=%s' % (pw, tw)])
    rc, out, err = d.run_dpct(cmd, timeout=120)
    if rc != 0:
        raise RuntimeError('dpct exited %d: %s' % (rc, (out + err)[-1500:]))
    fwd = {'lan': [], 'wan': []}
    for side, p in (('lan', tl), ('wan', tw)):
        fwd[side] = sorted(i for i in (ipv4_id(f) for f in d.read_pcap(p)) if i is not None)
    return fwd, d.load_json(stats)


def main():
    t = d.Tap()
    if os.geteuid() != 0:
        t.skip_all('needs root (netns, veth, nft)')
    for tool in ('nft', 'ip'):
        if subprocess.run(['which', tool], capture_output=True).returncode != 0:
            t.skip_all('%s not installed' % tool)
    d.need([d.DPCT], t)
    tmp = d.tmpdir('polnft')
    allp, sidesp = os.path.join(tmp, 'all.pcap'), os.path.join(tmp, 'sides.json')
    subprocess.run(['/usr/bin/python3', '-c', GEN, allp, sidesp], check=True, timeout=120)
    frames = d.read_pcap(allp)
    sides = json.load(open(sidesp))
    ids = {ipv4_id(f): s for f, s in zip(frames, sides)}
    t.eq(len(ids), len(frames), 'every packet has its own IP id')

    pid = os.getpid() % 1000000
    R, H = 'polR%d' % pid, 'polH%d' % pid
    hl, hw, rl, rw = 'phl%d' % pid, 'phw%d' % pid, 'prl%d' % pid, 'prw%d' % pid
    kern = None
    try:
        sh('ip netns add %s' % R)
        sh('ip netns add %s' % H)
        for a, b in ((hl, rl), (hw, rw)):
            sh('ip link add %s netns %s type veth peer name %s netns %s' % (a, H, b, R))
        for ns, i in ((H, hl), (H, hw), (R, rl), (R, rw)):
            # IPv6 only where the router needs it: no ND or RS noise from H.
            sh('ip netns exec %s sysctl -qw net.ipv6.conf.%s.disable_ipv6=%d'
               % (ns, i, 1 if ns == H else 0), check=False)
            sh('ip -n %s link set %s up' % (ns, i))
        sh('ip -n %s link set lo up' % R)
        sh('ip -n %s addr add 10.1.255.254/16 dev %s' % (R, rl))
        sh('ip -n %s addr add 10.2.255.254/16 dev %s' % (R, rw))
        sh('ip -n %s addr add fd01::1/64 dev %s nodad' % (R, rl))
        sh('ip -n %s addr add fd02::1/64 dev %s nodad' % (R, rw))
        for k in ('net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0',
                  'net.ipv4.conf.%s.rp_filter=0' % rl, 'net.ipv4.conf.%s.rp_filter=0' % rw,
                  'net.ipv4.conf.all.send_redirects=0', 'net.ipv6.conf.all.forwarding=1'):
            sh('ip netns exec %s sysctl -qw %s' % (R, k))
        hmac = {'lan': mac(H, hl), 'wan': mac(H, hw)}
        rmac = {'lan': mac(R, rl), 'wan': mac(R, rw)}
        for i in (10, 11, 12):
            sh('ip -n %s neigh replace 10.1.0.%d lladdr %s dev %s nud permanent'
               % (R, i, hmac['lan'], rl))
        for i in (20, 21, 22):
            sh('ip -n %s neigh replace 10.2.0.%d lladdr %s dev %s nud permanent'
               % (R, i, hmac['wan'], rw))
        sh('ip -n %s -6 neigh replace fd01::10 lladdr %s dev %s nud permanent'
           % (R, hmac['lan'], rl))
        sh('ip -n %s -6 neigh replace fd02::20 lladdr %s dev %s nud permanent'
           % (R, hmac['wan'], rw))
        nft = os.path.join(tmp, 'rules.nft')
        with open(nft, 'w') as f:
            f.write(NFT % rl)
        sh('ip netns exec %s nft -f %s' % (R, nft))
        # Conntrack sysctls appear once the rules pulled nf_conntrack in.
        sh('ip netns exec %s sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=1' % R,
           check=False)
        sh('ip netns exec %s sysctl -qw net.netfilter.nf_conntrack_tcp_loose=1' % R,
           check=False)
        p = subprocess.run(['ip', 'netns', 'exec', H, '/usr/bin/python3', '-c', SEND, allp,
                            sidesp, hl, hw, hmac['lan'], hmac['wan'], rmac['lan'],
                            rmac['wan']], capture_output=True, text=True, timeout=180)
        if p.returncode != 0:
            raise RuntimeError('sender: %s' % p.stderr[-1500:])
        kern = json.loads(p.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, RuntimeError, ValueError, OSError) as ex:
        t.check(False, 'kernel run', repr(ex))
    finally:
        sh('ip netns del %s' % H, check=False)
        sh('ip netns del %s' % R, check=False)
    if kern is None:
        t.done()
    # Packets that came out on the lan side were sent from the wan side.
    k_fwd = set(kern['lan']) | set(kern['wan'])
    t.check(set(kern['lan']) <= {i for i, s in ids.items() if s == 'wan'} and
            set(kern['wan']) <= {i for i, s in ids.items() if s == 'lan'},
            'kernel forwarded each packet to the other side')
    try:
        fwd, stats = run_dpct(tmp, frames, sides)
    except (RuntimeError, OSError, subprocess.SubprocessError) as ex:
        t.check(False, 'dpct run', repr(ex))
        t.done()
    d_fwd = set(fwd['lan']) | set(fwd['wan'])
    t.check(0 < len(k_fwd) < len(frames), 'kernel forwarded some packets and dropped others',
            '%d of %d' % (len(k_fwd), len(frames)))
    only_k = sorted(k_fwd - d_fwd)
    only_d = sorted(d_fwd - k_fwd)
    t.check(not only_k and not only_d, 'same packets forwarded by nftables and dpct (%d of %d)'
            % (len(k_fwd), len(frames)),
            'kernel only: %s\ndpct only: %s' % (only_k, only_d))
    pol = stats.get('policy', {})
    t.check(pol.get('dropped', 0) > 0 and pol.get('accepted', 0) > 0,
            'dpct policy counters saw both verdicts', json.dumps(pol)[:300])
    t.done()


if __name__ == '__main__':
    main()
