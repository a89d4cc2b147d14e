# SPDX-License-Identifier: BSD-3-Clause
"""Helpers for the NAT integration tests (test_nat_live.py, test_nat_stress.py,
tests/integration/kernel/test_kernel_nat.py): network namespaces joined by
veths, the traffic each side runs (real sockets), a ctnetlink client for the
kernel's conntrack (status bits included, which `conntrack -L` does not
print), a packet capture and packet checks (checksums, ICMP errors).

Imported by the tests, and run as a script inside a namespace for the parts
that must live there:
  natlib.py serve SPEC_JSON PEERS_OUT MAX_S     servers; one JSON line per peer seen
  natlib.py client SPEC_JSON                    client actions; JSON results on stdout
  natlib.py ctnl-dump                           the namespace's conntrack table (JSON lines)
  natlib.py ctnl-listen OUT MAX_S               its conntrack events (JSON lines)
  natlib.py capture IFACE OUT_PCAP MAX_S        every frame on IFACE into a pcap
  natlib.py syn-flood SPEC_JSON                 raw SYNs (the stress test's connections)
  natlib.py icmp-error SPEC_JSON                one ICMP error quoting a given header
Everything stops by itself after MAX_S seconds at the latest (SIGTERM/SIGINT sooner).
"""

import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.abspath(__file__)
PY = '/usr/bin/python3'

# ---- namespaces ------------------------------------------------------------------------


def sh(cmd, check=True, timeout=30, input=None):
    r = subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, text=True,
                       timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise RuntimeError('%s: exit %d: %s' % (cmd if isinstance(cmd, str) else ' '.join(cmd),
                                                 r.returncode, (r.stderr or r.stdout).strip()))
    return r


def in_ns(ns, args):
    """A command line that runs `args` in namespace `ns`."""
    return ['ip', 'netns', 'exec', ns] + list(args)


def helper(ns, *args):
    """This script, in namespace `ns`, with arguments."""
    return in_ns(ns, [PY, HERE] + [str(a) for a in args])


class Netns:
    """Namespaces and host-side links this test created; cleanup() removes them all."""

    def __init__(self, tag):
        self.tag = tag
        self.nss = []
        self.links = []
        self.procs = []

    def ns(self, name):
        ns = '%s%s' % (self.tag, name)
        sh(['ip', 'netns', 'add', ns])
        self.nss.append(ns)
        sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
        # No IPv6: no router or neighbour solicitations, MLD reports or
        # DAD in the traffic the tests compare.
        sh(in_ns(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1',
                      'net.ipv6.conf.default.disable_ipv6=1']), check=False)
        return ns

    def veth(self, ns_a, dev_a, ns_b, dev_b, mac_a=None, mac_b=None):
        """A veth pair, end `dev_a` in `ns_a` and `dev_b` in `ns_b` (None: the
        host's namespace; a host name must be unique: it is prefixed with the tag)."""
        if ns_a is None:
            dev_a = self.tag + dev_a
        if ns_b is None:
            dev_b = self.tag + dev_b
        cmd = ['ip']
        if ns_a:
            cmd += ['-n', ns_a]
        cmd += ['link', 'add', dev_a, 'type', 'veth', 'peer', 'name', dev_b]
        if ns_b:
            cmd += ['netns', ns_b]
        sh(cmd)
        for ns, dev, mac in ((ns_a, dev_a, mac_a), (ns_b, dev_b, mac_b)):
            pre = ['ip'] + (['-n', ns] if ns else [])
            if ns is None:
                self.links.append(dev)
            if mac:
                sh(pre + ['link', 'set', dev, 'address', mac])
            sh(pre + ['link', 'set', dev, 'up'])
            if ns is None:
                sh(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % dev], check=False)
                # af_packet sees what the kernel hands it: whole frames with
                # their checksums computed.
                sh(['ethtool', '-K', dev, 'rx', 'off', 'tx', 'off', 'gro', 'off', 'tso', 'off',
                    'gso', 'off'], check=False)
            else:
                sh(in_ns(ns, ['ethtool', '-K', dev, 'rx', 'off', 'tx', 'off', 'tso', 'off',
                              'gso', 'off', 'gro', 'off']), check=False)
        return dev_a, dev_b

    def popen(self, args, **kw):
        p = subprocess.Popen(args, **kw)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for ns in self.nss:
            subprocess.run(['ip', 'netns', 'del', ns], capture_output=True, timeout=30)
        for dev in self.links:
            subprocess.run(['ip', 'link', 'del', dev], capture_output=True, timeout=30)


def enable_conntrack(ns, table='dpct_test'):
    """Make the kernel track connections in `ns`: a rule with a ct match
    registers conntrack's hooks there."""
    sh(in_ns(ns, ['nft', '-f', '-']), input=(
        'table inet %s {\n chain pre {\n  type filter hook prerouting priority -150; '
        'policy accept;\n  ct state new,established,related,invalid counter\n }\n'
        ' chain out {\n  type filter hook output priority -150; policy accept;\n'
        '  ct state new,established,related,invalid counter\n }\n}\n' % table))


def wait_file_lines(path, n, timeout):
    """Wait until `path` has at least n lines; the lines."""
    end = time.monotonic() + timeout
    lines = []
    while time.monotonic() < end:
        if os.path.exists(path):
            with open(path) as f:
                lines = f.read().splitlines()
            if len(lines) >= n:
                break
        time.sleep(0.05)
    return lines


def json_lines(path):
    """The JSON objects of a file written line by line; a last line still
    being written (no newline yet) is left out."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            if not line.endswith('\n'):
                break
            line = line.strip()
            if line.startswith('{'):
                out.append(json.loads(line))
    return out


# ---- checksums and packets -------------------------------------------------------------

def csum(data):
    """The Internet checksum (RFC 1071) of `data`: 0 when data carries a right one."""
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ip4(a):
    return socket.inet_aton(a)


def ip4s(b):
    return socket.inet_ntoa(b)


def l4_csum_ok(src, dst, proto, seg):
    """Whether a TCP/UDP segment's checksum is right for the pseudo-header
    src, dst (4-byte addresses). A UDP checksum of 0 (none) counts as right."""
    if proto == 17 and len(seg) >= 8 and seg[6:8] == b'\0\0':
        return True
    ph = src + dst + struct.pack('!BBH', 0, proto, len(seg))
    return csum(ph + seg) == 0


def parse_ipv4(frame):
    """An Ethernet frame's IPv4 packet as a dict, None for anything else."""
    if len(frame) < 34 or frame[12:14] != b'\x08\x00':
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0xf) * 4
    tot = struct.unpack('!H', ip[2:4])[0]
    ip = ip[:tot]
    return {'src': ip4s(ip[12:16]), 'dst': ip4s(ip[16:20]), 'proto': ip[9], 'ihl': ihl,
            'hdr': ip[:ihl], 'l4': ip[ihl:], 'raw': ip}


def ports(proto, l4):
    if proto in (6, 17) and len(l4) >= 4:
        return struct.unpack('!HH', l4[:4])
    return None, None


def icmp_error_check(pkt):
    """An ICMP error (dict from parse_ipv4) checked: the quoted packet's
    addresses and ports, and whether every checksum is right: outer IPv4
    header, ICMP, quoted IPv4 header, quoted TCP/UDP when the whole segment
    is quoted (None when it cannot be checked)."""
    icmp = pkt['l4']
    if pkt['proto'] != 1 or len(icmp) < 8 + 20 or icmp[0] not in (3, 4, 5, 11, 12):
        return None
    inner = icmp[8:]
    ihl = (inner[0] & 0xf) * 4
    itot = struct.unpack('!H', inner[2:4])[0]
    iproto = inner[9]
    iseg = inner[ihl:]
    sport, dport = ports(iproto, iseg)
    l4ok = None
    if iproto in (6, 17) and len(inner) >= itot:
        l4ok = l4_csum_ok(inner[12:16], inner[16:20], iproto, inner[ihl:itot])
    return {'type': icmp[0], 'code': icmp[1], 'outer_src': pkt['src'], 'outer_dst': pkt['dst'],
            'src': ip4s(inner[12:16]), 'dst': ip4s(inner[16:20]), 'proto': iproto,
            'sport': sport, 'dport': dport,
            'ip_csum_ok': csum(pkt['hdr']) == 0, 'icmp_csum_ok': csum(icmp) == 0,
            'inner_ip_csum_ok': csum(inner[:ihl]) == 0, 'inner_l4_csum_ok': l4ok,
            'whole_quote': len(inner) >= itot}


def write_pcap(path, frames):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for ts, fr in frames:
            f.write(struct.pack('<IIII', int(ts), int((ts % 1) * 1e6), len(fr), len(fr)) + fr)


# ---- ctnetlink (the kernel's conntrack, with its status bits) --------------------------

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_NEW, IPCTNL_MSG_CT_GET, IPCTNL_MSG_CT_DELETE = 0, 1, 2
NLM_F_REQUEST, NLM_F_DUMP, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x300, 0x200, 0x400
NLMSG_ERROR, NLMSG_DONE = 2, 3
TCP_STATES = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT',
              'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2']


def nl_attrs(data):
    """{type: payload} of a netlink attribute stream (flags stripped)."""
    out, off = {}, 0
    while off + 4 <= len(data):
        ln, ty = struct.unpack('HH', data[off:off + 4])
        if ln < 4:
            break
        out[ty & 0x3fff] = data[off + 4:off + ln]
        off += (ln + 3) & ~3
    return out


def nl_tuple(data):
    a = nl_attrs(data)
    ip, pr = nl_attrs(a.get(1, b'')), nl_attrs(a.get(2, b''))
    t = {'src': ip4s(ip[1]) if 1 in ip else None, 'dst': ip4s(ip[2]) if 2 in ip else None}
    proto = pr[1][0] if 1 in pr else 0
    if proto == 1:
        t['icmp_id'] = struct.unpack('!H', pr[4])[0] if 4 in pr else 0
        t['type'] = pr[5][0] if 5 in pr else 0
        t['code'] = pr[6][0] if 6 in pr else 0
    else:
        t['sport'] = struct.unpack('!H', pr[2])[0] if 2 in pr else 0
        t['dport'] = struct.unpack('!H', pr[3])[0] if 3 in pr else 0
    return proto, t


def nl_ct(msg_type, flags, body):
    """A ctnetlink conntrack message as a dict shaped like dpct-events' JSON."""
    a = nl_attrs(body[4:])  # after struct nfgenmsg
    proto, orig = nl_tuple(a.get(1, b''))
    _, reply = nl_tuple(a.get(2, b''))
    sub = msg_type & 0xff
    if sub == IPCTNL_MSG_CT_DELETE:
        kind = 'destroy'
    elif flags & (NLM_F_CREATE | NLM_F_EXCL):
        kind = 'new'
    else:
        kind = 'update'
    ev = {'type': kind, 'l4proto': proto, 'orig': orig, 'reply': reply,
          'status': struct.unpack('!I', a[3])[0] if 3 in a else None,
          'id': struct.unpack('!I', a[12])[0] if 12 in a else None}
    if 4 in a:
        tcp = nl_attrs(nl_attrs(a[4]).get(1, b''))
        if 1 in tcp:
            ev['state'] = TCP_STATES[tcp[1][0]] if tcp[1][0] < len(TCP_STATES) else str(tcp[1][0])
    return ev


def nl_messages(buf):
    off = 0
    while off + 16 <= len(buf):
        ln, ty, fl, _, _ = struct.unpack('IHHII', buf[off:off + 16])
        if ln < 16:
            return
        yield ty, fl, buf[off + 16:off + ln]
        off += (ln + 3) & ~3


def ctnl_dump():
    """The current namespace's conntrack table (IPv4) as a list of dicts."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.settimeout(10)
    s.bind((0, 0))
    hdr = struct.pack('IHHII', 16 + 4, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET,
                      NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
    s.send(hdr + struct.pack('!BBH', socket.AF_INET, 0, 0))
    out = []
    while True:
        buf = s.recv(1 << 20)
        for ty, fl, body in nl_messages(buf):
            if ty == NLMSG_DONE:
                s.close()
                return out
            if ty == NLMSG_ERROR:
                err = struct.unpack('i', body[:4])[0]
                if err:
                    raise OSError(-err, 'ctnetlink dump: %s' % os.strerror(-err))
                continue
            if ty >> 8 == NFNL_SUBSYS_CTNETLINK:
                e = nl_ct(ty, fl, body)
                e['type'] = 'entry'
                out.append(e)


def ctnl_listen(out_path, max_s):
    """Write the namespace's conntrack events as JSON lines until a signal or max_s."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    s.bind((0, 7))  # NFNLGRP_CONNTRACK_NEW, _UPDATE, _DESTROY
    stop = stopper()
    end = time.monotonic() + max_s
    with open(out_path, 'w') as f:
        f.write('{"type":"ready"}\n')
        f.flush()
        while not stop and time.monotonic() < end:
            r, _, _ = select.select([s], [], [], 0.1)
            if not r:
                continue
            try:
                buf = s.recv(1 << 20)
            except OSError as e:
                f.write(json.dumps({'type': 'error', 'errno': e.errno}) + '\n')
                continue
            for ty, fl, body in nl_messages(buf):
                if ty >> 8 == NFNL_SUBSYS_CTNETLINK:
                    f.write(json.dumps(nl_ct(ty, fl, body)) + '\n')
            f.flush()


def stopper():
    """A list that becomes non-empty at SIGTERM/SIGINT."""
    stop = []

    def on_sig(signum, frame):
        stop.append(signum)
    signal.signal(signal.SIGTERM, on_sig)
    signal.signal(signal.SIGINT, on_sig)
    return stop


# ---- traffic ---------------------------------------------------------------------------

def serve(spec, peers_out, max_s):
    """Servers from spec {"tcp": [[addr, port], ...], "udp": [[addr, port], ...]}: TCP
    reads a line and sends it back upper-cased, UDP answers each datagram the
    same way. Every peer is written to peers_out as a JSON line as it is seen."""
    stop = stopper()
    lock = threading.Lock()
    out = open(peers_out, 'w')

    def note(proto, local, peer):
        with lock:
            out.write(json.dumps({'proto': proto, 'local': list(local), 'peer': list(peer)})
                      + '\n')
            out.flush()
    socks = []
    for addr, port in spec.get('tcp', []):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(64)
        s.setblocking(False)
        socks.append(('tcp', s))
    for addr, port in spec.get('udp', []):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr, port))
        s.setblocking(False)
        socks.append(('udp', s))

    def tcp_conn(c, local, peer):
        c.settimeout(5)
        data = b''
        try:
            while not data.endswith(b'\n'):
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            c.sendall(data.upper())
        except OSError:
            pass
        c.close()
    with open(peers_out + '.ready', 'w'):
        pass
    end = time.monotonic() + max_s
    while not stop and time.monotonic() < end:
        r, _, _ = select.select([s for _, s in socks], [], [], 0.1)
        for proto, s in socks:
            if s not in r:
                continue
            if proto == 'tcp':
                try:
                    c, peer = s.accept()
                except OSError:
                    continue
                note('tcp', s.getsockname(), peer)
                threading.Thread(target=tcp_conn, args=(c, s.getsockname(), peer),
                                 daemon=True).start()
            else:
                try:
                    data, peer = s.recvfrom(65535)
                except OSError:
                    continue
                note('udp', s.getsockname(), peer)
                s.sendto(data.upper(), peer)
    out.close()


def icmp_echo(ident, seq, payload, typ=8):
    body = struct.pack('!BBHHH', typ, 0, 0, ident, seq) + payload
    c = csum(body)
    return body[:2] + struct.pack('!H', c) + body[4:]


def client_action(a):
    """One client action; a result dict with "ok" and what happened."""
    op = a['op']
    res = dict(a)
    t0 = time.monotonic()
    try:
        if op == 'tcp':
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.settimeout(a.get('timeout', 5))
            s.bind((a['src'], a.get('sport', 0)))
            res['sport'] = s.getsockname()[1]
            try:
                s.connect((a['dst'], a['dport']))
            except OSError as e:
                res.update(ok=a.get('expect') == 'error' and e.errno == a.get('errno', e.errno),
                           result='error', errno=e.errno, error=str(e))
                s.close()
                return res
            res['sport'] = s.getsockname()[1]
            msg = ('hello %s:%d\n' % (a['src'], res['sport'])).encode()
            s.sendall(msg)
            got = b''
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            s.close()
            res.update(ok=got == msg.upper() and a.get('expect', 'reply') == 'reply',
                       got=got.decode(errors='replace'))
        elif op == 'udp':
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(a.get('timeout', 3))
            s.bind((a['src'], a.get('sport', 0)))
            s.connect((a['dst'], a['dport']))
            res['sport'] = s.getsockname()[1]
            msg = ('datagram %s:%d' % (a['src'], res['sport'])).encode()
            s.send(msg)
            try:
                got = s.recv(65535)
                res.update(result='reply', ok=(a.get('expect', 'reply') == 'reply' and
                                               got == msg.upper()))
            except ConnectionRefusedError:
                # An ICMP port unreachable reached this socket: its quoted
                # header carried this socket's own address and port.
                res.update(result='refused', ok=a.get('expect') == 'refused')
            except socket.timeout:
                res.update(result='timeout', ok=False)
            s.close()
        elif op == 'ping':
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            s.bind((a['src'], 0))
            ident, n = a['id'], a.get('count', 1)
            got = 0
            for seq in range(1, n + 1):
                s.sendto(icmp_echo(ident, seq, b'dpct-nat-ping'), (a['dst'], 0))
                end = time.monotonic() + a.get('timeout', 2)
                while time.monotonic() < end:
                    r, _, _ = select.select([s], [], [], max(0, end - time.monotonic()))
                    if not r:
                        break
                    pkt, peer = s.recvfrom(65535)
                    ihl = (pkt[0] & 0xf) * 4
                    icmp = pkt[ihl:]
                    if (peer[0] == a['dst'] and len(icmp) >= 8 and icmp[0] == 0 and
                            struct.unpack('!HH', icmp[4:8]) == (ident, seq)):
                        got += 1
                        break
            s.close()
            res.update(replies=got, ok=got == n)
        else:
            res.update(ok=False, error='unknown op %r' % op)
    except OSError as e:
        res.update(ok=False, error=str(e), errno=e.errno)
    res['ms'] = round((time.monotonic() - t0) * 1000, 1)
    return res


def client(spec):
    return [client_action(a) for a in spec]


def capture(iface, out_pcap, max_s):
    """Every frame on `iface` (both directions) into a pcap, until a signal or max_s."""
    stop = stopper()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # ETH_P_ALL
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((iface, 0))
    frames = []
    with open(out_pcap + '.ready', 'w'):
        pass
    end = time.monotonic() + max_s
    while not stop and time.monotonic() < end:
        r, _, _ = select.select([s], [], [], 0.1)
        if r:
            try:
                frames.append((time.time(), s.recv(65535)))
            except OSError:
                pass
    # Whatever is still queued.
    s.setblocking(False)
    for _ in range(100000):
        try:
            frames.append((time.time(), s.recv(65535)))
        except OSError:
            break
    write_pcap(out_pcap, frames)


def syn_flood(spec):
    """Raw TCP SYNs: spec {"srcs": [addr, ...], "sport_lo", "sport_hi", "dst", "dports":
    [port, ...], "count", "rate", "first"}. Flow k (first, first + 1, ...) comes from
    srcs[k % len], port sport_lo + (k // len) % span, to dports[k % len(dports)];
    `rate` SYNs a second at most. The
    sources are the sending namespace's own addresses, so its stack answers
    the SYN-ACK with a RST, which ends the connection. Prints the count sent."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    dst = ip4(spec['dst'])
    srcs = [ip4(a) for a in spec['srcs']]
    span = spec['sport_hi'] - spec['sport_lo'] + 1
    dports = spec['dports']
    count, rate, k0 = spec['count'], spec['rate'], spec.get('first', 0)
    t0 = time.monotonic()
    sent = 0
    for k in range(k0, k0 + count):
        if k % 64 == 0:
            ahead = (k - k0) / rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
        src = srcs[k % len(srcs)]
        sport = spec['sport_lo'] + (k // len(srcs)) % span
        dport = dports[k % len(dports)]
        seq = (k * 2654435761) & 0xffffffff
        tcp = struct.pack('!HHIIBBHHH', sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
        c = csum(src + dst + struct.pack('!BBH', 0, 6, len(tcp)) + tcp)
        tcp = tcp[:16] + struct.pack('!H', c) + tcp[18:]
        iph = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), k & 0xffff, 0x4000, 64, 6,
                          0, src, dst)
        iph = iph[:10] + struct.pack('!H', csum(iph)) + iph[12:]
        for _ in range(1000):
            try:
                s.sendto(iph + tcp, (spec['dst'], 0))
                sent += 1
                break
            except (BlockingIOError, OSError):
                time.sleep(0.001)
    print(json.dumps({'sent': sent, 'seconds': round(time.monotonic() - t0, 2)}))


def icmp_error(spec):
    """Send an ICMP error from spec["src"] to spec["dst"] (type, code) quoting
    an IPv4 header spec["quote"] {src, dst, proto, sport, dport} and 8 bytes of
    its transport header, as a router does."""
    q = spec['quote']
    l4 = struct.pack('!HHHH', q['sport'], q['dport'], 8 + 20, 0)
    if q['proto'] == 6:
        l4 = struct.pack('!HHI', q['sport'], q['dport'], 12345)
    qip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + 28, 0x1234, 0, 1, q['proto'], 0,
                      ip4(q['src']), ip4(q['dst']))
    qip = qip[:10] + struct.pack('!H', csum(qip)) + qip[12:]
    body = struct.pack('!BBHI', spec['type'], spec['code'], 0, 0) + qip + l4
    body = body[:2] + struct.pack('!H', csum(body)) + body[4:]
    iph = struct.pack('!BBHHHBBH4s4s', 0x45, 0xc0, 20 + len(body), 0x4321, 0, 64, 1, 0,
                      ip4(spec['src']), ip4(spec['dst']))
    iph = iph[:10] + struct.pack('!H', csum(iph)) + iph[12:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(iph + body, (spec['dst'], 0))
    s.close()


def main(argv):
    cmd = argv[1]
    if cmd == 'serve':
        serve(json.loads(argv[2]), argv[3], float(argv[4]))
    elif cmd == 'client':
        print(json.dumps(client(json.loads(argv[2]))))
    elif cmd == 'ctnl-dump':
        for e in ctnl_dump():
            print(json.dumps(e))
    elif cmd == 'ctnl-listen':
        ctnl_listen(argv[2], float(argv[3]))
    elif cmd == 'capture':
        capture(argv[2], argv[3], float(argv[4]))
    elif cmd == 'icmp-error':
        icmp_error(json.loads(argv[2]))
    elif cmd == 'syn-flood':
        syn_flood(json.loads(argv[2]))
    else:
        raise SystemExit('natlib.py: unknown command %r' % cmd)


if __name__ == '__main__':
    main(sys.argv)
