# SPDX-License-Identifier: BSD-3-Clause
"""Frames for the fragment tests, built by hand (no scapy here): Ethernet,
IPv4 and IPv6 (with a fragment header), UDP, TCP and ICMP/ICMPv6 echo with
correct checksums over the whole datagram; fragmenting at given offsets;
a pcap writer and reader; and a reassembler that checks what came out."""
import ipaddress
import struct

ETH_SRC = bytes.fromhex("020000000001")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def addr(a):
    return ipaddress.ip_address(a).packed


def pseudo(fam, src, dst, proto, length):
    if fam == 4:
        return addr(src) + addr(dst) + struct.pack("!BBH", 0, proto, length)
    return addr(src) + addr(dst) + struct.pack("!IxxxB", length, proto)


def udp(fam, src, dst, sport, dport, payload):
    h = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    c = csum(pseudo(fam, src, dst, 17, 8 + len(payload)) + h + payload) or 0xffff
    return 17, h[:6] + struct.pack("!H", c) + payload


def tcp(fam, src, dst, sport, dport, seq, ack, flags, payload=b"", win=64240, opts=b""):
    doff = (20 + len(opts)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, win, 0, 0) + opts
    c = csum(pseudo(fam, src, dst, 6, len(h) + len(payload)) + h + payload)
    return 6, h[:16] + struct.pack("!H", c) + h[18:] + payload


def icmp_echo(fam, src, dst, ident, seq, payload, reply=False):
    if fam == 4:
        t = 0 if reply else 8
        h = struct.pack("!BBHHH", t, 0, 0, ident, seq)
        c = csum(h + payload)
        return 1, h[:2] + struct.pack("!H", c) + h[4:] + payload
    t = 129 if reply else 128
    h = struct.pack("!BBHHH", t, 0, 0, ident, seq)
    c = csum(pseudo(6, src, dst, 58, len(h) + len(payload)) + h + payload)
    return 58, h[:2] + struct.pack("!H", c) + h[4:] + payload


def eth(dst_mac, fam, ip):
    return dst_mac + ETH_SRC + struct.pack("!H", 0x0800 if fam == 4 else 0x86dd) + ip


def ip4(src, dst, proto, ident, off, mf, body, ttl=64):
    fl = (0x2000 if mf else 0) | (off // 8)
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident, fl, ttl, proto, 0,
                    addr(src), addr(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + body


def ip6(src, dst, nh, body, hlim=64):
    return struct.pack("!IHBB", 6 << 28, len(body), nh, hlim) + addr(src) + addr(dst) + body


def frag6(nh, ident, off, mf, body):
    return struct.pack("!BBHI", nh, 0, (off // 8) << 3 | (1 if mf else 0), ident) + body


def packet(dst_mac, fam, src, dst, l4, ident=1):
    """One unfragmented frame."""
    proto, data = l4
    if fam == 4:
        return eth(dst_mac, 4, ip4(src, dst, proto, ident, 0, False, data))
    return eth(dst_mac, 6, ip6(src, dst, proto, data))


def fragments(dst_mac, fam, src, dst, l4, cuts, ident, order=None, atomic=False):
    """The datagram carrying `l4` split at byte offsets `cuts` (multiples of 8,
    into the L4 bytes); `order` lists the pieces' indices in sending order.
    `atomic` (IPv6): one fragment header with offset 0 and M clear."""
    proto, data = l4
    if atomic:
        return [eth(dst_mac, 6, ip6(src, dst, 44, frag6(proto, ident, 0, False, data)))]
    bounds = [0] + list(cuts) + [len(data)]
    pieces = []
    for i in range(len(bounds) - 1):
        a, b = bounds[i], bounds[i + 1]
        mf = i < len(bounds) - 2
        if fam == 4:
            pieces.append(eth(dst_mac, 4, ip4(src, dst, proto, ident, a, mf, data[a:b])))
        else:
            pieces.append(eth(dst_mac, 6, ip6(src, dst, 44, frag6(proto, ident, a, mf,
                                                                 data[a:b]))))
    return [pieces[i] for i in (order if order is not None else range(len(pieces)))]


def overlapping(dst_mac, fam, src, dst, l4, ident):
    """Three fragments, the second starting inside the first."""
    proto, data = l4
    spans = [(0, 1232, True), (1000, 2232, True), (2232, len(data), False)]
    out = []
    for a, b, mf in spans:
        if fam == 4:
            out.append(eth(dst_mac, 4, ip4(src, dst, proto, ident, a, mf, data[a:b])))
        else:
            out.append(eth(dst_mac, 6, ip6(src, dst, 44, frag6(proto, ident, a, mf, data[a:b]))))
    return out


def write_pcap(path, frames, gap_us=2000, start_s=1700000000):
    out = bytearray(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    t = start_s * 1000000
    for f in frames:
        out += struct.pack("<IIII", t // 1000000, t % 1000000, len(f), len(f)) + f
        t += gap_us
    with open(path, "wb") as fh:
        fh.write(out)


def read_pcap(path):
    data = open(path, "rb").read()
    off, frames = 24, []
    while off + 16 <= len(data):
        _, _, cap, _ = struct.unpack("<IIII", data[off:off + 16])
        frames.append(data[off + 16:off + 16 + cap])
        off += 16 + cap
    return frames


def defragment4(frames):
    """IPv4 frames -> (whole datagrams as (header, L4 bytes), count of fragments).
    Fragments are grouped by (src, dst, proto, id); a group must tile its
    datagram exactly."""
    groups, whole, nfrag = {}, [], 0
    for f in frames:
        ip = f[14:]
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack("!H", ip[2:4])[0]
        fl = struct.unpack("!H", ip[6:8])[0]
        assert csum(ip[:ihl]) == 0, "bad IPv4 header checksum in a fragment"
        if fl & 0x3fff == 0:
            whole.append((ip[:ihl], ip[ihl:tot]))
            continue
        nfrag += 1
        key = (ip[12:16], ip[16:20], ip[9], ip[4:6])
        groups.setdefault(key, []).append(((fl & 0x1fff) * 8, bool(fl & 0x2000), ip[:ihl],
                                           ip[ihl:tot]))
    for key, parts in groups.items():
        parts.sort(key=lambda p: p[0])
        body, hdr = b"", None
        for off, mf, h, data in parts:
            assert off == len(body), "fragments do not tile the datagram"
            body += data
            if off == 0:
                hdr = h
        assert not parts[-1][1], "last fragment has MF set"
        whole.append((hdr, body))
    return whole, nfrag
