#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Fragments against Linux (TAP): one capture of fragmented traffic goes
through the kernel's conntrack (nf_defrag reassembles before it) in the
namespace of test_kernel_ref.py, and through dpct (reassembly before
tracking, lib/pipeline/pipe_frag.c) with one and with two workers; per flow
the events, the final flags and both directions' counters must be equal.

Scenarios, each on addresses of its own, over IPv4 and IPv6 and with
checksums verified (Linux's default):
  complete     a 3,000-byte UDP datagram in 3 fragments and its reply; a
               3,000-byte ICMP echo and its fragmented reply; a TCP
               connection whose 2,000-byte segment comes in 2 fragments
  out-of-order the UDP datagram's fragments last first
  lone         a UDP datagram missing its middle fragment: never tracked
  overlapping  a UDP datagram whose second fragment overlaps the first:
               Linux drops the whole datagram
  tiny         a TCP SYN with options in 8-byte fragments, then the handshake
  atomic       (IPv6) a UDP datagram with a fragment header of offset 0 and
               M clear: Linux counts it without the header's 8 bytes
A bad UDP checksum over a fragmented datagram is INVALID on both sides
(no entry). Skips like test_kernel_ref.py.
"""
import os
import struct
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fragpkt as fp  # noqa: E402
import test_kernel_ref as kr  # noqa: E402


def scenarios(fam):
    """[(name, [frames])] for one family; every scenario's flows on their own addresses."""
    mac = kr.RX_MAC
    n = [0]

    def hosts():
        n[0] += 1
        if fam == 4:
            return "10.77.%d.1" % n[0], "198.51.100.%d" % n[0]
        return "fd00:77::%x:1" % n[0], "2001:db8:77::%x" % n[0]

    out = []
    payload = bytes(range(256)) * 12  # 3,072 bytes

    # complete UDP, 3 fragments, and a small reply
    c, s = hosts()
    req = fp.udp(fam, c, s, 40000, 53, payload[:2992])
    fr = fp.fragments(mac, fam, c, s, req, [1232, 2464], ident=0x1111)
    rep = fp.packet(mac, fam, s, c, fp.udp(fam, s, c, 53, 40000, b"ok" * 10))
    out.append(("complete udp", fr + [rep]))

    # complete ICMP echo both ways fragmented
    c, s = hosts()
    echo = fp.icmp_echo(fam, c, s, 0x4242, 1, payload[:2992])
    back = fp.icmp_echo(fam, s, c, 0x4242, 1, payload[:2992], reply=True)
    out.append(("complete icmp",
                fp.fragments(mac, fam, c, s, echo, [1232, 2464], ident=0x2222) +
                fp.fragments(mac, fam, s, c, back, [1232, 2456], ident=0x2223)))

    # complete TCP: handshake, a fragmented 2,000-byte segment, its ACK, FINs
    c, s = hosts()
    isn, rsn = 1000, 5000
    tfr = [fp.packet(mac, fam, c, s, fp.tcp(fam, c, s, 41000, 80, isn, 0, 0x02)),
           fp.packet(mac, fam, s, c, fp.tcp(fam, s, c, 80, 41000, rsn, isn + 1, 0x12)),
           fp.packet(mac, fam, c, s, fp.tcp(fam, c, s, 41000, 80, isn + 1, rsn + 1, 0x10))]
    seg = fp.tcp(fam, c, s, 41000, 80, isn + 1, rsn + 1, 0x18, payload[:2000])
    tfr += fp.fragments(mac, fam, c, s, seg, [1232], ident=0x3333)
    tfr += [fp.packet(mac, fam, s, c, fp.tcp(fam, s, c, 80, 41000, rsn + 1, isn + 2001, 0x10)),
            fp.packet(mac, fam, c, s, fp.tcp(fam, c, s, 41000, 80, isn + 2001, rsn + 1, 0x11)),
            fp.packet(mac, fam, s, c, fp.tcp(fam, s, c, 80, 41000, rsn + 1, isn + 2002, 0x11)),
            fp.packet(mac, fam, c, s, fp.tcp(fam, c, s, 41000, 80, isn + 2002, rsn + 2, 0x10))]
    out.append(("complete tcp", tfr))

    # out of order
    c, s = hosts()
    req = fp.udp(fam, c, s, 40001, 53, payload[:2992])
    out.append(("out-of-order udp",
                fp.fragments(mac, fam, c, s, req, [1232, 2464], ident=0x4444, order=[2, 0, 1])))

    # lone: the middle fragment never comes
    c, s = hosts()
    req = fp.udp(fam, c, s, 40002, 53, payload[:2992])
    out.append(("lone udp",
                fp.fragments(mac, fam, c, s, req, [1232, 2464], ident=0x5555, order=[0, 2])))

    # overlapping
    c, s = hosts()
    req = fp.udp(fam, c, s, 40003, 53, payload[:2992])
    out.append(("overlapping udp", fp.overlapping(mac, fam, c, s, req, ident=0x6666)))

    # tiny: the SYN's 40-byte header (MSS, SACK-permitted, timestamps, window
    # scale) in 8-byte fragments, then the rest of the handshake
    c, s = hosts()
    opts = (struct.pack("!BBH", 2, 4, 1460) + b"\x04\x02" + struct.pack("!BBII", 8, 10, 1, 0)
            + b"\x01" + struct.pack("!BBB", 3, 3, 7))
    syn = fp.tcp(fam, c, s, 42000, 443, isn, 0, 0x02, opts=opts)
    tiny = fp.fragments(mac, fam, c, s, syn, [8, 16, 24, 32], ident=0x7777)
    tiny += [fp.packet(mac, fam, s, c, fp.tcp(fam, s, c, 443, 42000, rsn, isn + 1, 0x12)),
             fp.packet(mac, fam, c, s, fp.tcp(fam, c, s, 42000, 443, isn + 1, rsn + 1, 0x10))]
    out.append(("tiny tcp", tiny))

    # a bad UDP checksum over the whole datagram: INVALID, no entry
    c, s = hosts()
    proto, data = fp.udp(fam, c, s, 40004, 53, payload[:2992])
    data = data[:6] + struct.pack("!H", (struct.unpack("!H", data[6:8])[0] ^ 0x0101) or 1) + \
        data[8:]
    out.append(("bad checksum udp",
                fp.fragments(mac, fam, c, s, (proto, data), [1232, 2464], ident=0x8888)))

    if fam == 6:
        c, s = hosts()
        req = fp.udp(6, c, s, 40005, 53, b"atomic" * 20)
        out.append(("atomic udp", fp.fragments(mac, 6, c, s, req, [], ident=0x9999,
                                               atomic=True) +
                    [fp.packet(mac, 6, s, c, fp.udp(6, s, c, 53, 40005, b"re" * 8))]))
    return out


def dpct_run(pcap, json_path, lcores):
    """dpct on the capture (packet clock, flush at EOF) with a reliable listener."""
    orig = kr.run

    def run_with_lcores(cmd, **kw):
        if cmd and cmd[0] == kr.DPCT:
            i = cmd.index("-l")
            cmd = cmd[:i] + ["--lcores", lcores] + cmd[i + 2:]
        return orig(cmd, **kw)
    kr.run = run_with_lcores
    try:
        return kr.dpct_replay(pcap, json_path)
    finally:
        kr.run = orig


def main():
    reason = kr.skip_reason()
    if reason:
        print("1..0 # SKIP %s" % reason)
        return 0
    if not kr.dpct_available():
        print("1..0 # SKIP dpct not built")
        return 0
    ref = kr.KernelRef()
    try:
        try:
            ref.setup()
            ref.ns(ref.ct, "conntrack", "-L", timeout=10)
        except Exception as e:  # noqa: BLE001
            print("1..0 # SKIP kernel reference unavailable: %s" % str(e).splitlines()[0])
            return 0
        print("1..6")
        tap = kr.Tap()
        for fam in (4, 6):
            label = "IPv%d" % fam
            frames, names = [], []
            for name, fr in scenarios(fam):
                names.append(name)
                frames += fr
            pcap = os.path.join(kr.TMP, "frag%d.pcap" % fam)
            fp.write_pcap(pcap, frames)
            kflows = None
            try:
                xml_path = pcap + ".kernel.xml"
                ref.replay(pcap, xml_path)
                kflows = kr.kernel_events(xml_path)
                # complete udp, icmp, tcp, out-of-order, tiny (+ atomic): tracked;
                # lone, overlapping and the bad checksum: not.
                want = 5 + (1 if fam == 6 else 0)
                assert len(kflows) == want, "kernel: %d flows, expected %d: %s" % (
                    len(kflows), want, sorted(kflows))
                tap.ok("kernel reference: fragments %s (%d flows: %s)" % (
                    label, len(kflows), ", ".join(names)))
            except Exception:  # noqa: BLE001
                kflows = None
                tap.fail("kernel reference: fragments %s" % label)
            for workers, lcores in ((1, "0@0,1@1"), (2, "0@0,1@1,2@0")):
                desc = "dpct with %d worker%s equals Linux: fragments %s" % (
                    workers, "s" if workers > 1 else "", label)
                if kflows is None:
                    tap.skip(desc, "no kernel reference")
                    continue
                try:
                    json_path = "%s.dpct%d.json" % (pcap, workers)
                    stats = dpct_run(pcap, json_path, lcores)
                    diffs = kr.compare(kflows, kr.dpct_events(json_path))
                    if diffs:
                        raise AssertionError("%d differences:\n%s" % (
                            len(diffs), "\n".join(diffs[:20])))
                    tap.ok(desc)
                except Exception:  # noqa: BLE001
                    tap.fail(desc)
                    print("# " + "\n# ".join(traceback.format_exc().splitlines()[-3:]))
            sys.stdout.flush()
        return 1 if tap.failed else 0
    finally:
        ref.cleanup()
        kr.shutil.rmtree(kr.TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
