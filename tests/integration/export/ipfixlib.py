# SPDX-License-Identifier: BSD-3-Clause
"""Helpers for the flow-export tests: a small IPFIX decoder (templates and
data sets, the IEs dpct exports), test collectors of our own on loopback
(UDP that writes what it receives as a pcap for tshark; TCP that can stop
reading for a while), free-port selection and dpct-events comparisons."""

import calendar
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'app'))
import dpctlib  # noqa: E402

REVERSE_PEN = 29305
IE = {1: 'octets', 2: 'packets', 4: 'proto', 6: 'tcp_flags', 7: 'sport', 8: 'src4',
      10: 'ingress', 11: 'dport', 12: 'dst4', 27: 'src6', 28: 'dst6', 32: 'icmp',
      139: 'icmp', 136: 'end_reason', 148: 'flow_id', 152: 'start_ms', 153: 'end_ms',
      234: 'vrf'}


class Decoder:
    """Template-driven IPFIX message decoder (RFC 7011)."""

    def __init__(self):
        self.templates = {}
        self.errors = []

    def message(self, m):
        """Decode one message; returns (header dict, [record dicts])."""
        if len(m) < 16:
            raise ValueError('short message')
        ver, length, etime, seq, dom = struct.unpack('>HHIII', m[:16])
        if ver != 10 or length != len(m):
            raise ValueError('bad header: version %d length %d of %d' % (ver, length, len(m)))
        off, recs, tsets = 16, [], 0
        while off < length:
            sid, slen = struct.unpack('>HH', m[off:off + 4])
            if slen < 4 or off + slen > length:
                raise ValueError('bad set length %d at %d' % (slen, off))
            body = m[off + 4:off + slen]
            if sid == 2:
                tsets += 1
                self._templates(dom, body)
            elif sid >= 256:
                recs += self._data(dom, sid, body)
            elif sid != 3:
                raise ValueError('bad set id %d' % sid)
            off += slen
        return {'seq': seq, 'domain': dom, 'export_time': etime, 'templates': tsets}, recs

    def _templates(self, dom, b):
        off = 0
        while len(b) - off >= 4:
            tid, n = struct.unpack('>HH', b[off:off + 4])
            off += 4
            fields = []
            for _ in range(n):
                fid, flen = struct.unpack('>HH', b[off:off + 4])
                off += 4
                pen = 0
                if fid & 0x8000:
                    pen = struct.unpack('>I', b[off:off + 4])[0]
                    off += 4
                fields.append((fid & 0x7fff, flen, pen))
            self.templates[(dom, tid)] = fields

    def _data(self, dom, tid, b):
        t = self.templates.get((dom, tid))
        if t is None:
            self.errors.append('data set %d before its template' % tid)
            return []
        size = sum(f[1] for f in t)
        out, off = [], 0
        while len(b) - off >= size:
            r = {'template': tid}
            for fid, flen, pen in t:
                v = b[off:off + flen]
                off += flen
                name = IE.get(fid)
                if name is None or (pen and pen != REVERSE_PEN):
                    continue
                if name in ('src4', 'dst4', 'src6', 'dst6'):
                    fam = socket.AF_INET if name.endswith('4') else socket.AF_INET6
                    r[name[:3]] = socket.inet_ntop(fam, v)
                    continue
                if pen == REVERSE_PEN:
                    name = 'r_' + name
                r[name] = int.from_bytes(v, 'big')
            out.append(r)
        return out


def free_port(kind=socket.SOCK_DGRAM):
    """A port the kernel just handed out on loopback (bound then released)."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pcap_header():
    return struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)


def pcap_udp_frame(payload, sport, dport, ts):
    """An Ethernet/IPv4/UDP frame on loopback carrying `payload`."""
    udp = struct.pack('>HHHH', sport, dport, 8 + len(payload), 0) + payload
    tot = 20 + len(udp)
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, tot, 0, 0x4000, 64, 17, 0,
                     socket.inet_aton('127.0.0.1'), socket.inet_aton('127.0.0.1'))
    csum = 0
    for i in range(0, 20, 2):
        csum += (ip[i] << 8) | ip[i + 1]
    while csum >> 16:
        csum = (csum & 0xffff) + (csum >> 16)
    ip = ip[:10] + struct.pack('>H', ~csum & 0xffff) + ip[12:]
    frame = b'\x00' * 12 + b'\x08\x00' + ip + udp
    sec, usec = int(ts), int((ts - int(ts)) * 1e6)
    return struct.pack('<IIII', sec, usec, len(frame), len(frame)) + frame


class UdpCollector(threading.Thread):
    """Receives datagrams on a loopback port, decodes them, writes a pcap."""

    def __init__(self, pcap=None):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.pcap = open(pcap, 'wb') if pcap else None
        if self.pcap:
            self.pcap.write(pcap_header())
        self.dec = Decoder()
        self.headers, self.records, self.datagrams = [], [], 0
        self.errors = []
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            try:
                data, addr = self.sock.recvfrom(70000)
            except socket.timeout:
                continue
            self.datagrams += 1
            if self.pcap:
                self.pcap.write(pcap_udp_frame(data, addr[1], self.port, time.time()))
            try:
                h, recs = self.dec.message(data)
                self.headers.append((h, len(recs)))
                self.records += recs
            except (ValueError, struct.error) as e:
                self.errors.append(str(e))

    def stop(self):
        self._halt.set()
        self.join(5)
        self.sock.close()
        if self.pcap:
            self.pcap.close()


class TcpCollector(threading.Thread):
    """Accepts dpct's IPFIX/TCP connections; stops reading during `pause`
    (seconds after the first byte, for `pause_s`), with a small receive buffer
    so dpct's send buffer fills. Decodes the stream into records."""

    def __init__(self, pause_after_s=0.0, pause_s=0.0, rcvbuf=4096):
        super().__init__(daemon=True)
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(4)
        self.lsock.settimeout(0.1)
        self.port = self.lsock.getsockname()[1]
        self.pause_after_s, self.pause_s = pause_after_s, pause_s
        self.dec = Decoder()
        self.records, self.headers, self.errors = [], [], []
        self.connections = 0
        self.paused = False
        self._halt = threading.Event()

    def run(self):
        conn = None
        buf = b''
        first = None
        while not self._halt.is_set():
            if conn is None:
                try:
                    conn, _ = self.lsock.accept()
                    conn.settimeout(0.05)
                    self.connections += 1
                    buf = b''
                except socket.timeout:
                    continue
            now = time.time()
            if first is not None and self.pause_s > 0 and \
                    first + self.pause_after_s <= now < first + self.pause_after_s + self.pause_s:
                self.paused = True
                time.sleep(0.05)
                continue
            self.paused = False
            try:
                data = conn.recv(1 << 16)
            except socket.timeout:
                continue
            except OSError:
                data = b''
            if not data:
                conn.close()
                conn = None
                continue
            if first is None:
                first = now
            buf += data
            while len(buf) >= 4:
                ml = struct.unpack('>H', buf[2:4])[0]
                if ml < 16 or len(buf) < ml:
                    if ml < 16:
                        self.errors.append('bad message length %d' % ml)
                        buf = b''
                    break
                try:
                    h, recs = self.dec.message(buf[:ml])
                    self.headers.append((h, len(recs)))
                    self.records += recs
                except (ValueError, struct.error) as e:
                    self.errors.append(str(e))
                buf = buf[ml:]
        if conn is not None:
            conn.close()

    def stop(self):
        self._halt.set()
        self.join(5)
        self.lsock.close()


def export_cfg(port_id, collectors, **ipfix):
    ip = {'collectors': collectors, 'flush_ms': 20}
    ip.update(ipfix)
    return dpctlib.base_config(port_id, export={'ipfix': ip})


def destroys(events_path):
    """DESTROY events of a dpct-events JSON file."""
    return [e for e in dpctlib.events(events_path) if e.get('type') == 'destroy']


def ev_flow(e):
    """(proto, src, dst, sport, dport, pkts, bytes, rpkts, rbytes, start_ms, end_ms) of
    a DESTROY event; ICMP has no ports."""
    o, r = e['orig'], e.get('reply', {})
    icmp = e['l4proto'] in (1, 58)
    return (e['l4proto'], o['src'], o['dst'], 0 if icmp else o['sport'],
            0 if icmp else o['dport'], o.get('packets', 0), o.get('bytes', 0),
            r.get('packets', 0), r.get('bytes', 0), e['start_ns'] // 1000000,
            e['stop_ns'] // 1000000)


def rec_flow(r):
    """The same tuple for a decoded IPFIX record."""
    return (r['proto'], r['src'], r['dst'], r.get('sport', 0), r.get('dport', 0),
            r.get('packets', 0), r.get('octets', 0), r.get('r_packets', 0),
            r.get('r_octets', 0), r['start_ms'], r['end_ms'])


def wait_for(cond, timeout):
    t = time.time() + timeout
    while time.time() < t:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def telemetry(prefix, command):
    """One DPDK telemetry command to dpct (--file-prefix `prefix`); the reply's
    value, or None when the socket is not there (yet)."""
    import json
    base = '/var/run/dpdk' if os.geteuid() == 0 else \
        os.path.join(os.environ.get('XDG_RUNTIME_DIR', '/tmp'), 'dpdk')
    path = os.path.join(base, prefix, 'dpdk_telemetry.v2')
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(2)
    try:
        s.connect(path)
        info = json.loads(s.recv(65536).decode())
        s.send(command.encode())
        reply = json.loads(s.recv(info.get('max_output_len', 16384) + 1024).decode())
        return reply.get(command)
    except (OSError, ValueError):
        return None
    finally:
        s.close()


def iso_ms(s):
    """nfdump's '2026-01-01T00:00:01.500' (UTC) -> epoch ms."""
    day, frac = s.split('.') if '.' in s else (s, '0')
    return calendar.timegm(time.strptime(day, '%Y-%m-%dT%H:%M:%S')) * 1000 + int(frac[:3])


def nf_flow(r):
    """An `nfdump -o json` record as the tuple ev_flow() makes of a DESTROY."""
    icmp = r['proto'] in (1, 58)
    src = r.get('src4_addr', r.get('src6_addr'))
    dst = r.get('dst4_addr', r.get('dst6_addr'))
    return (r['proto'], src, dst, 0 if icmp else r.get('src_port', 0),
            0 if icmp else r.get('dst_port', 0), r.get('in_packets', 0), r.get('in_bytes', 0),
            r.get('out_packets', 0), r.get('out_bytes', 0), iso_ms(r['first']),
            iso_ms(r['last']))
