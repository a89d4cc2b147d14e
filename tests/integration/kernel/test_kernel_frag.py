#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Fragments against Linux (TAP): one capture of fragmented traffic goes
through the kernel's conntrack (nf_defrag reassembles before it) in the
namespace of test_kernel_ref.py, and through dpct (reassembly before
tracking, lib/pipeline/pipe_frag.c) with one and with two workers; per flow
the events, the final flags and both directions' counters must be equal.

Scenarios, each on addresses of its own, over IPv4 and IPv6 and with
checksums verified (Linux's default). For each of UDP (a fragmented request,
an unfragmented reply), ICMP echo (request and reply fragmented alike) and
TCP (a handshake, a fragmented 2,972-byte segment, ACK and FINs):
  complete     3 fragments in order
  out-of-order the same, last fragment first
  lone         the middle fragment never comes: the datagram is never
               tracked (Linux drops it after ipfrag_time)
  overlapping  the second fragment starts inside the first: Linux drops the
               whole datagram
  tiny         8-byte fragments (TCP: the SYN with a 40-byte header); over
               IPv6 Linux drops a first fragment without the whole upper-layer
               header (RFC 8200 4.5), so there the SYN never counts
and, IPv6 only, an atomic fragment (offset 0, M clear) of UDP: Linux counts
it without the fragment header's 8 bytes.
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
    """[(name, [frames], tracked)] for one family; every scenario's flows on
    addresses of their own. `tracked`: whether Linux makes an entry."""
    mac = kr.RX_MAC
    n = [0]

    def hosts():
        n[0] += 1
        if fam == 4:
            return "10.77.%d.1" % n[0], "198.51.100.%d" % n[0]
        return "fd00:77::%x:1" % n[0], "2001:db8:77::%x" % n[0]

    payload = bytes(range(256)) * 12  # 3,072 bytes
    ident = [0x1000]

    def frag(c, s, l4, how):
        """The datagram `l4` cut as `how` says."""
        ident[0] += 1
        if how == "complete":
            return fp.fragments(mac, fam, c, s, l4, [1232, 2464], ident=ident[0])
        if how == "out-of-order":
            return fp.fragments(mac, fam, c, s, l4, [1232, 2464], ident=ident[0],
                                order=[2, 0, 1])
        if how == "lone":  # the middle fragment never comes
            return fp.fragments(mac, fam, c, s, l4, [1232, 2464], ident=ident[0],
                                order=[0, 2])
        if how == "overlapping":
            return fp.overlapping(mac, fam, c, s, l4, ident=ident[0])
        if how == "tiny":  # 8-byte fragments, the first 5 of them
            cuts = [8, 16, 24, 32]
            return fp.fragments(mac, fam, c, s, l4, cuts, ident=ident[0])
        raise ValueError(how)

    out = []
    for how in ("complete", "out-of-order", "lone", "overlapping", "tiny"):
        big = how != "tiny"
        data = payload[:2992] if big else payload[:32]
        lost = how in ("lone", "overlapping")

        # UDP: a fragmented request, an unfragmented reply when it got through
        c, s = hosts()
        fr = frag(c, s, fp.udp(fam, c, s, 40000, 53, data), how)
        fr.append(fp.packet(mac, fam, s, c, fp.udp(fam, s, c, 53, 40000, b"ok" * 10)))
        out.append(("%s udp" % how, fr, True))

        # ICMP echo request and reply, both fragmented the same way
        c, s = hosts()
        fr = frag(c, s, fp.icmp_echo(fam, c, s, 0x4242, 1, data), how)
        fr += frag(s, c, fp.icmp_echo(fam, s, c, 0x4242, 1, data, reply=True), how)
        out.append(("%s icmp" % how, fr, not lost))

        # TCP: the handshake, then a data segment (tiny: the SYN itself) cut so
        c, s = hosts()
        isn, rsn = 1000, 5000
        syn_opts = b""
        if how == "tiny":
            # MSS, SACK-permitted, timestamps, window scale: a 40-byte header
            syn_opts = (struct.pack("!BBH", 2, 4, 1460) + b"\x04\x02" +
                        struct.pack("!BBII", 8, 10, 1, 0) + b"\x01" + struct.pack("!BBB", 3, 3, 7))
            fr = frag(c, s, fp.tcp(fam, c, s, 41000, 80, isn, 0, 0x02, opts=syn_opts), how)
        else:
            fr = [fp.packet(mac, fam, c, s, fp.tcp(fam, c, s, 41000, 80, isn, 0, 0x02))]
        fr += [fp.packet(mac, fam, s, c, fp.tcp(fam, s, c, 80, 41000, rsn, isn + 1, 0x12)),
               fp.packet(mac, fam, c, s, fp.tcp(fam, c, s, 41000, 80, isn + 1, rsn + 1, 0x10))]
        sent = 0
        if big:
            seg = payload[:2972]
            fr += frag(c, s, fp.tcp(fam, c, s, 41000, 80, isn + 1, rsn + 1, 0x18, seg), how)
            sent = 0 if lost else len(seg)
        fr += [fp.packet(mac, fam, s, c,
                         fp.tcp(fam, s, c, 80, 41000, rsn + 1, isn + 1 + sent, 0x10)),
               fp.packet(mac, fam, c, s,
                         fp.tcp(fam, c, s, 41000, 80, isn + 1 + sent, rsn + 1, 0x11)),
               fp.packet(mac, fam, s, c,
                         fp.tcp(fam, s, c, 80, 41000, rsn + 1, isn + 2 + sent, 0x11)),
               fp.packet(mac, fam, c, s,
                         fp.tcp(fam, c, s, 41000, 80, isn + 2 + sent, rsn + 2, 0x10))]
        out.append(("%s tcp" % how, fr, True))

    # a bad UDP checksum over the whole datagram: INVALID, no entry
    c, s = hosts()
    proto, data = fp.udp(fam, c, s, 40004, 53, payload[:2992])
    data = data[:6] + struct.pack("!H", (struct.unpack("!H", data[6:8])[0] ^ 0x0101) or 1) + \
        data[8:]
    out.append(("bad checksum udp", frag(c, s, (proto, data), "complete"), False))

    if fam == 6:
        c, s = hosts()
        req = fp.udp(6, c, s, 40005, 53, b"atomic" * 20)
        out.append(("atomic udp", fp.fragments(mac, 6, c, s, req, [], ident=0x9999,
                                               atomic=True) +
                    [fp.packet(mac, 6, s, c, fp.udp(6, s, c, 53, 40005, b"re" * 8))], True))
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
            frames, names, want = [], [], 0
            for name, fr, tracked in scenarios(fam):
                names.append(name)
                frames += fr
                want += tracked
            pcap = os.path.join(kr.TMP, "frag%d.pcap" % fam)
            fp.write_pcap(pcap, frames)
            kflows = None
            try:
                xml_path = pcap + ".kernel.xml"
                ref.replay(pcap, xml_path)
                kflows = kr.kernel_events(xml_path)
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
