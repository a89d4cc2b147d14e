#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Strict tracking in the appliance (issue 9): zones from the VLAN in the
worker, checksum verification and window tracking by configuration with
their reason counters in --stats-json, byte counters of the IP datagram, and
CTA_TIMESTAMP in epoch time both on the packet clock and on the live clock."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402


def gen(path, workload, flows, extra=()):
    r = subprocess.run([d.GEN, '--workload', workload, '--flows', str(flows), '--seed', '5',
                        '-o', path] + list(extra), capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    m = re.search(r'kinds:(.*)', r.stderr)
    return {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', m.group(1))} if m else {}


def replay(t, name, tmp, rx, cfg, live=False, live_s=0, lcores='0-1'):
    """One run with a reliable listener; (stats, events)."""
    prefix, port_id = d.uniq(name)
    cfg['events']['socket'] = d.channel(port_id)
    cfg_path = d.write_config(tmp, cfg, name + '.json')
    stats = os.path.join(tmp, name + '.stats.json')
    evs = os.path.join(tmp, name + '.events.json')
    lst = d.start_events(port_id, evs, os.path.join(tmp, name + '.sum.json'), idle_ms=2000,
                         max_s=120)
    cmd = d.dpct_cmd(prefix, cfg_path, rx, os.path.join(tmp, name + '.tx.pcap'), stats=stats,
                     replay=not live, lcores=lcores,
                     app=d.wait_listeners_args(1) + ([] if live else ['--flush-on-eof']))
    if live:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(live_s)
        rc, err = d.stop(p)
    else:
        rc, _, err = d.run_dpct(cmd, timeout=180)
    t.eq(rc, 0, '%s: dpct exit status 0' % name) or print('# ' + err[-1500:])
    lrc, lerr = d.finish(lst, 60)
    t.check(d.listener_ended_ok(lrc, lerr),
            '%s: dpct-events ended by itself or saw dpct exit (status %d)' % (name, lrc),
            lerr[-800:])
    st = d.load_json(stats) if os.path.exists(stats) else {'totals': {}}
    return st, d.events(evs)


def reasons(st):
    return st.get('totals', {}).get('invalid_by_reason', {})


def main():
    t = d.Tap()
    d.need([d.DPCT, d.GEN, d.EVENTS], t)
    tmp = d.tmpdir('strict')

    # Zones: the same 40 connections on VLAN 10 and VLAN 20.
    rx = os.path.join(tmp, 'dup.pcap')
    gen(rx, 'short-tcp', 40, ['--vlan-dup', '10,20'])
    st, evs = replay(t, 'zones', tmp, rx, d.base_config(0, zones=[
        {'vlan': 10, 'zone': 1}, {'vlan': 20, 'zone': 2}]))
    t.eq(d.counter(st, 'insert'), 80, 'zones: one entry per connection and VLAN')
    new = [e for e in evs if e['type'] == 'new']
    by_zone = {}
    for e in new:
        by_zone.setdefault(e.get('zone', 0), set()).add(d.flow_key(e))
    t.eq(sorted(by_zone), [1, 2], 'zones: NEW events carry CTA_ZONE 1 and 2')
    t.check(by_zone.get(1) == by_zone.get(2) and len(by_zone.get(1, ())) == 40,
            'zones: the same 40 tuples in each zone')
    st, _ = replay(t, 'nozones', tmp, rx, d.base_config(0))
    t.eq(d.counter(st, 'insert'), 40, 'no zones: the two VLANs share one entry per tuple')

    # Checksums and windows: the "strict" workload.
    rx = os.path.join(tmp, 'strict.pcap')
    kinds = gen(rx, 'strict', 120)
    bad_csum = sum(kinds.get(k, 0) for k in ('csum_tcp', 'csum_udp', 'csum_icmp',
                                             'udp_shortlen'))
    oow = kinds.get('tcp_oow_rst', 0) + kinds.get('tcp_oow_data', 0)
    st, evs = replay(t, 'verify', tmp, rx, d.base_config(0))
    r = reasons(st)
    t.eq(r.get('checksum'), bad_csum, 'verify: every bad checksum (and short UDP length) '
         'counted under "checksum"')
    t.eq(r.get('tcp_window'), oow, 'verify: every out-of-window RST and segment counted '
         'under "tcp_window"')
    t.eq(d.counter(st, 'insert'), 120, 'verify: one entry per flow, none from a bad packet')
    # Two workers: a packet verified by the worker that received it is marked
    # GOOD and not summed again by its owner (track_in.c); the counts stay.
    st2, _ = replay(t, 'verify2', tmp, rx, d.base_config(0), lcores='0@0,1@1,2@1')
    t.eq(reasons(st2).get('checksum'), bad_csum, 'verify, 2 workers: every bad checksum '
         'counted under "checksum"')
    t.eq(d.counter(st2, 'insert'), 120, 'verify, 2 workers: one entry per flow')
    t.check(d.counter(st2, 'handoff') > 0, 'verify, 2 workers: packets were handed over')
    # Counted bytes are IP datagrams: for each destroyed flow the bytes are at
    # least 20 (IPv4 header) per packet and never the Ethernet frame's 14 more.
    dst = [e for e in evs if e['type'] == 'destroy']
    t.eq(len(dst), 120, 'verify: a DESTROY per flow')
    t.check(all(abs(e['start_ns'] - 1767225600 * 10 ** 9) < 86400 * 10 ** 9 for e in dst),
            'replay: CTA_TIMESTAMP start is the capture time (epoch ns)')
    icmp_q = [e for e in dst if e.get('l4proto', 0) == 1 or e.get('proto') == 'icmp']
    t.check(len(icmp_q) > 0 and
            all(e['orig'].get('bytes', 0) % e['orig'].get('packets', 1) == 0 and
                e['orig'].get('bytes') // max(e['orig'].get('packets'), 1) in (28, 40, 32, 84)
                for e in icmp_q),
            'ICMP queries: bytes per packet are the IP datagram (28/32/40 query, 84 echo)')
    # Notrack comes first, as Linux's raw table before conntrack's checksum
    # check: UDP that a notrack rule takes out of tracking (the config's or
    # the policy's) is not summed, so its bad checksums and short lengths
    # pass untracked; the other bad checksums are still counted.
    udp_bad = kinds.get('csum_udp', 0) + kinds.get('udp_shortlen', 0)
    t.check(udp_bad > 0 and bad_csum > udp_bad, 'strict workload: bad UDP and other bad checksums')
    for name, over in (('nt_cfg', {'notrack': [{'proto': 'udp'}]}),
                       ('nt_pol', {'policy': {'rules': [{'action': 'notrack', 'proto': 'udp'}]}})):
        st, _ = replay(t, name, tmp, rx, d.base_config(0, **over))
        t.eq(reasons(st).get('checksum'), bad_csum - udp_bad,
             '%s: notracked UDP is not checksum-verified, the rest is' % name)
        t.check(d.counter(st, 'notrack') > 0 or
                st.get('totals', {}).get('policy', {}).get('notracked', 0) > 0,
                '%s: UDP was taken out of tracking' % name)
    st, _ = replay(t, 'off', tmp, rx, d.base_config(0, checksum='off'))
    t.eq(reasons(st).get('checksum'), 0, 'checksum off: nothing counted as a bad checksum')
    st, _ = replay(t, 'liberal', tmp, rx, d.base_config(0, tcp={'be_liberal': True}))
    t.eq(reasons(st).get('tcp_window'), 0, 'tcp.be_liberal: nothing out of window')

    # The live clock: wall time at startup plus TSC time.
    rx = os.path.join(tmp, 'live.pcap')
    gen(rx, 'short-tcp', 10)
    before = time.time()
    _, evs = replay(t, 'live', tmp, rx, d.base_config(0), live=True, live_s=5)
    after = time.time()
    dst = [e for e in evs if e['type'] == 'destroy' and 'start_ns' in e]
    t.check(len(dst) > 0, 'live: DESTROY events with timestamps')
    t.check(all(before - 60 <= e['start_ns'] / 1e9 <= after + 60 for e in dst),
            'live: CTA_TIMESTAMP start is wall-clock time (epoch ns)',
            [e['start_ns'] for e in dst[:3]])
    t.done()


main()
