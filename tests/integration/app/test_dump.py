#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Resync by dump (issue 8): about 100,000 live entries. A dump taken while
the input is still being tracked lists each entry once (paged through the
workers' dump mailboxes while packets flow), and a dump of the settled
table equals the count gauge taken at the same time; libnetfilter_conntrack
style consumers parse it (dpct-events --dump). Two workers."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

FLOWS = int(os.environ.get('DPCT_DUMP_FLOWS', '100000'))
ICMP_FLOWS = 24


def count(prefix):
    v = d.telemetry(prefix, '/dpct/count')
    return v.get('count') if isinstance(v, dict) else None


def tuples(line):
    """The two tuples of a conntrack -L style line: from the first src= to
    the flags or fields that follow the reply's counters."""
    m = re.search(r'(src=.*?) (\[ASSURED\] |mark=|zone=|delta-time=|use=|id=)', line)
    return m.group(1) if m else None


def icmp_list(t, tmp):
    """dpct-ctl list shows ICMP and ICMPv6 entries with type=, code=, id= in
    both tuples, where conntrack -L has them: the same tuple text as
    dpct-events' dump lines (nfct_snprintf's layout, tests/unit/ev/test_ev_text.c)."""
    p4 = d.gen(os.path.join(tmp, 'icmp4.pcap'), 'icmp', ICMP_FLOWS, seed=5)
    p6 = d.gen(os.path.join(tmp, 'icmp6.pcap'), 'icmp', ICMP_FLOWS, ipv6=True, seed=6)
    prefix, chan = d.uniq('dumpicmp')
    cfg = d.write_config(tmp, d.base_config(chan, timeouts={'icmp': 600, 'icmpv6': 600}),
                         'icmp.json')
    dp = subprocess.Popen(d.dpct_cmd(prefix, cfg, p4, '/dev/null', replay=False,
                                     extra_eal=['--vdev', 'net_pcap1,rx_pcap=%s,tx_pcap=/dev/null'
                                                % p6], app=['--fwd', 'drop']),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        want = 2 * ICMP_FLOWS
        up = d.wait_for(lambda: dp.poll() is not None or count(prefix) == want, 30)
        if not t.check(up and dp.poll() is None and count(prefix) == want,
                       'icmp: dpct tracks the %d flows of the icmp workload (%s)' % (want, count(prefix))):
            return
        rc, out, err = d.ctl(prefix, 'list')
        t.eq(rc, 0, 'icmp: dpct-ctl list exit 0') or print('# ' + err[-500:])
        lines = [ln for ln in out.splitlines() if 'src=' in ln]
        t.eq(len(lines), want, 'icmp: dpct-ctl list shows every entry')
        pat = re.compile(r'^(icmp     1|icmpv6   58) \d+ src=(\S+) dst=(\S+) '
                         r'type=(8|128) code=0 id=(\d+) packets=\d+ bytes=\d+ '
                         r'src=\3 dst=\2 type=(0|129) code=0 id=\5 packets=\d+ bytes=\d+ '
                         r'mark=0 use=1 id=\d+$')
        # The workload's echoes; its other flows are UDP and TCP that drew ICMP errors.
        echo = [ln for ln in lines if ln.startswith('icmp')]
        bad = [ln for ln in echo if not pat.match(ln)]
        t.check(not bad, 'icmp: echo entries as conntrack -L prints them '
                '(type=, code=, id= in both tuples)', '\n'.join(bad[:5]))
        t.check(any(ln.startswith('icmpv6') for ln in echo) and
                any(ln.startswith('icmp ') for ln in echo), 'icmp: both families listed')
        ev = subprocess.run(d.events_cmd(chan, '--dump', '--format', 'text',
                                         '--max-seconds', '30'),
                            capture_output=True, text=True, timeout=40)
        ref = sorted(tuples(ln) for ln in ev.stdout.splitlines() if 'src=' in ln)
        got = sorted(tuples(ln) for ln in lines)
        t.check(ev.returncode == 0 and got == ref and None not in got,
                'icmp: dpct-ctl list tuples equal dpct-events --dump text (conntrack -L)',
                'dpct-ctl %s\ndpct-events %s' % (got[:2], ref[:2]))
    finally:
        rc, log = d.stop(dp, 60)
        t.eq(rc, 0, 'icmp: dpct stops cleanly') or print('# ' + log[-1500:])


def main():
    t = d.Tap()
    d.need([d.DPCT, d.GEN, d.EVENTS, d.CTL], t)
    tmp = d.tmpdir('dump')
    icmp_list(t, tmp)
    pcap = d.gen(os.path.join(tmp, 'udp.pcap'), 'udp', FLOWS, seed=11)
    prefix, chan = d.uniq('dump')
    cfg = d.write_config(tmp, d.base_config(chan, table={'max_entries': 262144},
                                            timeouts={'udp_unreplied': 3600,
                                                      'udp_replied': 3600}))
    dp = subprocess.Popen(d.dpct_cmd(prefix, cfg, pcap, '/dev/null', lcores='0@0,1@1,2@1',
                                     replay=False, app=['--fwd', 'drop']),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        up = d.wait_for(lambda: dp.poll() is not None or count(prefix) is not None, 30)
        if not t.check(up and dp.poll() is None, 'dpct up'):
            return
        # While the capture is being tracked.
        c0 = count(prefix)
        rc, ents, err = d.dump(chan, timeout=120)
        c1 = count(prefix)
        ids = [e['id'] for e in ents]
        t.eq(rc, 0, 'dump during the input: exit 0') or print('# ' + err[-500:])
        t.eq(len(ids), len(set(ids)), 'dump during the input: each entry once (%d)' % len(ids))
        t.check(c0 is not None and c1 is not None and c0 <= len(ids) <= c1 or c0 == c1,
                'dump during the input: between the gauges before and after (%s..%s, %d)'
                % (c0, c1, len(ids)))
        # Settled: count stops moving.
        last = [None]

        def settled():
            c = count(prefix)
            ok = c is not None and c == last[0]
            last[0] = c
            return ok
        d.wait_for(settled, 60, step=1.0)
        c0 = count(prefix)
        rc, ents, err = d.dump(chan, timeout=120)
        c1 = count(prefix)
        ids = [e['id'] for e in ents]
        t.eq(rc, 0, 'dump: exit 0')
        t.check(c0 == c1 and c0 is not None and c0 >= FLOWS * 0.99,
                'table settled with about %d entries (%s)' % (FLOWS, c0))
        t.eq(len(ents), c0, 'dump size equals the count gauge')
        t.eq(len(set(ids)), len(ids), 'each live entry once')
        keys = {(e['orig']['src'], e['orig']['dst'], e['orig'].get('sport'),
                 e['orig'].get('dport')) for e in ents}
        t.eq(len(keys), len(ents), 'each tuple once')
        t.check(all(e.get('proto') == 'udp' and 'timeout' in e and 'packets' in e['orig']
                    for e in ents), 'entries carry proto, timeout and counters')
        st = d.telemetry(prefix, '/dpct/listeners')
        t.check(isinstance(st, dict), 'telemetry still answers after the dumps')
    finally:
        rc, log = d.stop(dp, 60)
        t.eq(rc, 0, 'dpct stops cleanly') or print('# ' + log[-1500:])
        t.done()


main()
