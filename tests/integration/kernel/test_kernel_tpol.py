#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Timeout policies against Linux (TAP): a zone with a custom policy gives
the same entry timeouts as the kernel with the equivalent nftables
`ct timeout` objects.

Kernel side (the namespaces of test_kernel_ref.py): a raw-priority chain
puts every connection in zone 3 (`ct zone set 3`), and a chain after
conntrack gives TCP and UDP connections their `ct timeout` object
(`ct timeout set`, which needs the connection to exist, so it runs after
conntrack's prerouting hook):

    ct timeout tcp-short { protocol tcp; l3proto ip;
                           policy = { established: 120, close: 5 } }
    ct timeout udp-short { protocol udp; l3proto ip;
                           policy = { unreplied: 10, replied: 20 } }

dpct side: the same capture replayed by dpct (net_pcap, packet clock,
--flush-on-eof) with `table.zone` 3 and

    "timeout_policies": {"policies": {"short": {
        "tcp": {"established": 120, "close": 5},
        "udp": {"unreplied": 10, "replied": 20}}},
      "rules": [{"zone": 3, "policy": "short"}]}

Compared per flow (original tuple): every NEW and UPDATE event's type, TCP
state and CTA_TIMEOUT. The kernel reports the time left in whole seconds
when it sends the event, a jiffy or more after it set the timeout, so its
value may be one second lower than dpct's (which is computed on the packet
clock of the packet that set it); any larger difference fails. Three checks
make sure the comparison can fail: the kernel's ESTABLISHED, CLOSE and
ASSURED-UDP events carry the policy's values (120, 5, 20 s), dpct's events
are in zone 3, and dpct without the policy differs from the kernel.

Skips (TAP SKIP) when not root or when network namespaces, veth, nftables'
ct timeout, conntrack, tcpreplay or the dpct binaries are missing. The
namespaces are always removed.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_kernel_ref as kref  # noqa: E402

ZONE = 3
POLICY = {"tcp": {"established": 120, "close": 5}, "udp": {"unreplied": 10, "replied": 20}}
NFT_RULES = """table inet dpct_tpol {
  ct timeout tcp-short { protocol tcp; l3proto ip; policy = { established: 120, close: 5 }; }
  ct timeout udp-short { protocol udp; l3proto ip; policy = { unreplied: 10, replied: 20 }; }
  chain raw {
    type filter hook prerouting priority -300; policy accept;
    ct zone set %d
  }
  chain pol {
    type filter hook prerouting priority -100; policy accept;
    meta l4proto tcp ct timeout set "tcp-short"
    meta l4proto udp ct timeout set "udp-short"
  }
}
""" % ZONE
WORKLOADS = [("short-tcp", 150, []), ("udp", 120, [])]


def kernel_timeouts(xml_path):
    """`conntrack -E -o xml` into {key: [(type, state, timeout), ...]} (NEW and UPDATE)
    and the set of zones seen."""
    flows, zones = {}, set()
    text = open(xml_path, encoding="utf-8", errors="replace").read()
    for m in re.finditer(r"<flow type=\"(\w+)\">.*?</flow>", text, re.S):
        f = ET.fromstring(m.group(0))
        if f.get("type") == "destroy":
            continue
        orig = f.find("meta[@direction='original']")
        ind = f.find("meta[@direction='independent']")
        l3, l4 = orig.find("layer3"), orig.find("layer4")
        proto = int(l4.get("protonum"))
        key = (proto, kref.norm_ip(l3.findtext("src")), kref.norm_ip(l3.findtext("dst")),
               int(l4.findtext("sport", "0")), int(l4.findtext("dport", "0")))
        z = f.findtext(".//zone")
        zones.add(int(z) if z is not None else 0)
        state = ind.findtext("state") if ind is not None else None
        to = ind.findtext("timeout") if ind is not None else None
        flows.setdefault(key, []).append((f.get("type"), state or "-",
                                          int(to) if to is not None else None))
    return flows, zones


def dpct_timeouts(json_path):
    """dpct-events JSON into {key: [(type, state, timeout), ...]} (NEW and UPDATE)
    and the set of zones seen."""
    flows, zones = {}, set()
    for line in open(json_path, encoding="utf-8"):
        line = line.strip()
        if not line.startswith("{"):
            continue
        e = json.loads(line)
        if e["type"] == "destroy":
            continue
        o = e["orig"]
        proto = e["l4proto"]
        key = (proto, kref.norm_ip(o["src"]), kref.norm_ip(o["dst"]), o.get("sport", 0),
               o.get("dport", 0))
        zones.add(e.get("zone", o.get("zone", 0)))
        flows.setdefault(key, []).append((e["type"], e.get("state", "-") if proto == 6 else "-",
                                          e.get("timeout")))
    return flows, zones


def compare(kflows, dflows):
    """Readable differences (empty: the same events and timeouts, kernel <= dpct by <= 1 s)."""
    diffs = []
    for key in sorted(set(kflows) | set(dflows), key=str):
        k, d = kflows.get(key), dflows.get(key)
        if k is None or d is None:
            diffs.append("flow %s: only in %s" % (key, "dpct" if k is None else "the kernel"))
            continue
        if [e[:2] for e in k] != [e[:2] for e in d]:
            diffs.append("flow %s: events kernel %s, dpct %s" % (key, k, d))
            continue
        for ke, de in zip(k, d):
            if ke[2] is None or de[2] is None or not 0 <= de[2] - ke[2] <= 1:
                diffs.append("flow %s: %s %s timeout kernel %s s, dpct %s s" % (
                    key, de[0], de[1], ke[2], de[2]))
    return diffs


def dpct_replay(pcap, json_path, policy):
    """Replay through dpct in zone 3, with the policy or without; events into json_path."""
    sock_dir = tempfile.mkdtemp(prefix="dpct_tpol_ev_")
    sock = os.path.join(sock_dir, "events.sock")
    cfg = os.path.join(kref.TMP, "dpct-tpol.json")
    doc = {"events": {"socket": sock}, "table": {"zone": ZONE}}
    if policy:
        doc["timeout_policies"] = {"policies": {"short": POLICY},
                                   "rules": [{"zone": ZONE, "policy": "short"}]}
    with open(cfg, "w") as f:
        json.dump(doc, f)
    with open(json_path, "w") as out, open(json_path + ".err", "w") as err:
        ev = subprocess.Popen([kref.EVENTS, "--socket", sock, "--reliable", "--format", "json",
                               "--idle-exit-ms", "3000", "--max-seconds", "120"],
                              stdout=out, stderr=err)
    try:
        r = kref.run([kref.DPCT, "--no-huge", "-m", "256", "--no-pci", "--file-prefix",
                      "dpct-tpol-%d" % os.getpid(), "-l", "0-1",
                      "--vdev", "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null" % pcap, "--",
                      "--config", cfg, "--replay", "--flush-on-eof", "--wait-listeners", "1",
                      "--drain-timeout-ms", "20000"], check=False, timeout=180)
        if r.returncode != 0:
            raise RuntimeError("dpct exit %d: %s" % (r.returncode, r.stderr[-2000:]))
        ev.wait(30)
    finally:
        if ev.poll() is None:
            ev.kill()
            ev.wait()
        shutil.rmtree(sock_dir, ignore_errors=True)


def kernel_uses_policy(workload, kflows):
    """The kernel applied the objects: its events carry the policy's values."""
    seen = {}
    for evs in kflows.values():
        for _, state, to in evs:
            seen.setdefault(state, []).append(to)
    if workload == "short-tcp":
        est = seen.get("ESTABLISHED", [])
        assert est and all(t in (119, 120) for t in est), "kernel ESTABLISHED: %s" % est[:10]
        close = seen.get("CLOSE", [])
        assert close and all(t in (4, 5) for t in close), "kernel CLOSE: %s" % close[:10]
    else:
        tos = seen.get("-", [])
        assert any(t in (19, 20) for t in tos), "kernel UDP: no replied (20 s) timeout"
        assert all(t in (9, 10, 19, 20) for t in tos), "kernel UDP timeouts %s" % sorted(
            set(tos))


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, desc):
        self.n += 1
        print("ok %d - %s" % (self.n, desc))

    def skip(self, desc, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, desc, why))

    def fail(self, desc):
        self.n += 1
        self.failed += 1
        print("not ok %d - %s" % (self.n, desc))
        for line in traceback.format_exc().splitlines():
            print("# " + line)


def main():
    reason = kref.skip_reason()
    if reason is None and not kref.dpct_available():
        reason = "dpct or dpct-events not built"
    if reason:
        print("1..0 # SKIP %s" % reason)
        return 0
    shutil.rmtree(kref.TMP, ignore_errors=True)
    kref.TMP = tempfile.mkdtemp(prefix="dpct-ktpol-")
    ref = kref.KernelRef()
    try:
        try:
            ref.setup()
            ref.ns(ref.ct, "nft", "-f", "-", input=NFT_RULES)
            ref.ns(ref.ct, "conntrack", "-L", timeout=10)
        except Exception as e:  # noqa: BLE001
            print("1..0 # SKIP kernel reference unavailable: %s" % str(e).splitlines()[0])
            return 0
        print("1..%d" % (3 * len(WORKLOADS)))
        tap = Tap()
        for workload, nflows, extra in WORKLOADS:
            kflows = None
            desc = "kernel with ct timeout objects, zone %d: %s" % (ZONE, workload)
            try:
                pcap, _ = kref.generate(workload, nflows, extra)
                paced = pcap.replace(".pcap", "-paced.pcap")
                kref.pace(pcap, paced)
                xml_path = paced + ".kernel.xml"
                for attempt in range(5):
                    try:
                        ref.replay(paced, xml_path,
                                   bufsize=min(8388608 << (2 * attempt), 268435456))
                        break
                    except kref.EventsLost:
                        if attempt == 4:
                            raise
                        print("# kernel events lost, replaying again with a larger buffer")
                kflows, kzones = kernel_timeouts(xml_path)
                assert kflows, "no kernel events"
                assert kzones == {ZONE}, "kernel zones %s" % kzones
                kernel_uses_policy(workload, kflows)
                tap.ok("%s (%d flows, %d events)" % (desc, len(kflows),
                                                     sum(len(v) for v in kflows.values())))
            except Exception:  # noqa: BLE001
                kflows = None
                tap.fail(desc)
            for policy in (True, False):
                desc = ("dpct with the zone's timeout policy equals Linux: %s" if policy else
                        "dpct without the policy differs from Linux's policy: %s") % workload
                if kflows is None:
                    tap.skip(desc, "no kernel reference")
                    continue
                try:
                    json_path = paced + (".dpct.json" if policy else ".dpct-nopol.json")
                    dpct_replay(paced, json_path, policy)
                    dflows, dzones = dpct_timeouts(json_path)
                    assert dzones == {ZONE}, "dpct zones %s" % dzones
                    diffs = compare(kflows, dflows)
                    if policy and diffs:
                        raise AssertionError("%d differences:\n%s" % (
                            len(diffs), "\n".join(diffs[:20])))
                    if not policy:
                        assert diffs, "no difference: the comparison does not see timeouts"
                        print("# without the policy: %d differences, e.g. %s" % (
                            len(diffs), diffs[0]))
                    tap.ok(desc)
                except Exception:  # noqa: BLE001
                    tap.fail(desc)
            sys.stdout.flush()
        return 1 if tap.failed else 0
    finally:
        ref.cleanup()
        shutil.rmtree(kref.TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
