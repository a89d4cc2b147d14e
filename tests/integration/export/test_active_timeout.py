# SPDX-License-Identifier: BSD-3-Clause
"""Active timeout (issue 11): flows of 5 minutes on the replay clock (a UDP
pair and a TCP connection, one packet each way every second) with
export.ipfix.active_timeout_s = 60 yield interim records (flowEndReason 2)
every minute, and the deltas of all records of each flow sum to the totals
of its DESTROY event; a short flow gets only its final record. Interim
records never reach ctnetlink listeners: dpct-events sees exactly NEW,
the usual updates and one DESTROY per flow."""

import collections
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipfixlib  # noqa: E402
from ipfixlib import dpctlib  # noqa: E402

T0 = 1767225600.0


def make_pcap(path):
    from scapy.all import Ether, IP, UDP, TCP, Raw, wrpcap
    a, b, c = '10.9.0.1', '10.9.0.2', '10.9.0.3'
    pk = []

    def add(t, p):
        p.time = T0 + t
        pk.append(p)
    e = Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')
    add(0.0, e / IP(src=a, dst=b) / TCP(sport=40000, dport=80, flags='S', seq=100))
    add(0.001, e / IP(src=b, dst=a) / TCP(sport=80, dport=40000, flags='SA', seq=500, ack=101))
    add(0.002, e / IP(src=a, dst=b) / TCP(sport=40000, dport=80, flags='A', seq=101, ack=501))
    for k in range(300):
        t = 0.5 + k
        add(t, e / IP(src=a, dst=c) / UDP(sport=5353, dport=9999) / Raw(b'x' * (10 + k % 7)))
        add(t + 0.01, e / IP(src=c, dst=a) / UDP(sport=9999, dport=5353) / Raw(b'y' * 20))
        add(t + 0.02, e / IP(src=a, dst=b) / TCP(sport=40000, dport=80, flags='PA',
                                                  seq=101 + 10 * k, ack=501) / Raw(b'z' * 10))
        add(t + 0.03, e / IP(src=b, dst=a) / TCP(sport=80, dport=40000, flags='A', seq=501,
                                                  ack=111 + 10 * k))
    s = 101 + 3000
    add(300.6, e / IP(src=a, dst=b) / TCP(sport=40000, dport=80, flags='FA', seq=s, ack=501))
    add(300.61, e / IP(src=b, dst=a) / TCP(sport=80, dport=40000, flags='FA', seq=501,
                                           ack=s + 1))
    add(300.62, e / IP(src=a, dst=b) / TCP(sport=40000, dport=80, flags='A', seq=s + 1,
                                           ack=502))
    # A short flow: one DNS-like exchange.
    add(10.0, e / IP(src=c, dst=b) / UDP(sport=1234, dport=53) / Raw(b'q' * 30))
    add(10.01, e / IP(src=b, dst=c) / UDP(sport=53, dport=1234) / Raw(b'r' * 60))
    pk.sort(key=lambda p: p.time)
    wrpcap(path, pk)


def main():
    tap = dpctlib.Tap()
    dpctlib.need([dpctlib.DPCT, dpctlib.EVENTS], tap)
    d = dpctlib.tmpdir('ipfix_active')
    pcap = os.path.join(d, 'long.pcap')
    make_pcap(pcap)
    col = ipfixlib.UdpCollector()
    col.start()
    prefix, port_id = dpctlib.uniq('ipfx_act')
    cfg = ipfixlib.export_cfg(port_id, [{'host': '127.0.0.1', 'port': col.port}],
                              active_timeout_s=60)
    evj, summ = os.path.join(d, 'ev.json'), os.path.join(d, 'sum.json')
    lis = dpctlib.start_events(port_id, evj, summ, reliable=True, idle_ms=2000, max_s=120)
    stats = os.path.join(d, 'st.json')
    cmd = dpctlib.dpct_cmd(prefix, dpctlib.write_config(d, cfg), rx=pcap,
                           tx=os.path.join(d, 'tx.pcap'), stats=stats,
                           app=['--flush-on-eof'] + dpctlib.wait_listeners_args(1))
    rc, out, err = dpctlib.run_dpct(cmd, timeout=120)
    dpctlib.finish(lis, 60)
    tap.eq(rc, 0, 'dpct exits 0') or print('# ' + err[-1000:])
    st = dpctlib.load_json(stats)
    ipfixlib.wait_for(lambda: len(col.records) >= st['export'][0]['records_sent'], 10)
    col.stop()
    tap.check(not col.errors, 'the export decodes', col.errors[:3])
    evs = dpctlib.events(evj)
    dest = {e['id']: e for e in evs if e['type'] == 'destroy'}
    tap.eq(len(dest), 3, 'three flows destroyed')
    by = collections.defaultdict(list)
    for r in col.records:
        by[r['flow_id']].append(r)
    tap.eq(set(by), set(dest), 'records for exactly the destroyed flows')
    for fid, e in sorted(dest.items()):
        recs = by.get(fid, [])
        name = '%s %s:%s' % (e['proto'], e['orig']['src'], e['orig'].get('sport'))
        sums = [sum(r.get(k, 0) for r in recs) for k in ('packets', 'octets', 'r_packets',
                                                         'r_octets')]
        want = [e['orig']['packets'], e['orig']['bytes'], e['reply']['packets'],
                e['reply']['bytes']]
        tap.eq(sums, want, '%s: deltas of its %d records sum to the DESTROY totals' %
               (name, len(recs)))
        interim = [r for r in recs if r['end_reason'] == 2]
        final = [r for r in recs if r['end_reason'] != 2]
        tap.eq(len(final), 1, '%s: one final record' % name)
        long_flow = e['stop_ns'] - e['start_ns'] > 200 * 10**9
        if long_flow:
            tap.check(4 <= len(interim) <= 5, '%s: an interim record a minute (%d)' %
                      (name, len(interim)))
            ends = [r['end_ms'] for r in interim]
            tap.check(ends == sorted(ends) and all(r['start_ms'] == e['start_ns'] // 10**6
                                                   for r in recs),
                      '%s: same flowStart, increasing flowEnd' % name)
        else:
            tap.eq(len(interim), 0, '%s: a short flow has no interim record' % name)
        # TCP closed with FINs (flushed in TIME_WAIT: still its FIN end); the
        # long UDP pair is flushed at the end of input; the short one timed out.
        want_reason = 3 if e['l4proto'] == 6 else 4 if long_flow else 1
        tap.eq(final[0]['end_reason'] if final else None, want_reason,
               '%s: flowEndReason %d' % (name, want_reason))
    tcp = [e for e in dest.values() if e['l4proto'] == 6]
    tap.check(tcp and by[tcp[0]['id']][-1].get('tcp_flags') == 0x1b,
              'TCP: tcpControlBits is the OR of the flags seen (FIN|SYN|PSH|ACK)')
    tap.eq(st['export'][0]['interim_records'], sum(
        1 for r in col.records if r['end_reason'] == 2), 'interim_records counter')
    per = dpctlib.per_flow(evs)
    tap.check(all(sum(1 for x in v if x[0] == 'destroy') == 1 for v in per.values()),
              'ctnetlink listeners see one DESTROY per flow and no interim event')
    shutil.rmtree(d, ignore_errors=True)
    tap.done()


if __name__ == '__main__':
    main()
