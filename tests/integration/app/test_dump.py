#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Resync by dump (issue 8): about 100,000 live entries. A dump taken while
the input is still being tracked lists each entry once (paged through the
workers' dump mailboxes while packets flow), and a dump of the settled
table equals the count gauge taken at the same time; libnetfilter_conntrack
style consumers parse it (dpct-events --dump). Two workers."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

FLOWS = int(os.environ.get('DPCT_DUMP_FLOWS', '100000'))


def count(prefix):
    v = d.telemetry(prefix, '/dpct/count')
    return v.get('count') if isinstance(v, dict) else None


def main():
    t = d.Tap()
    d.need([d.DPCT, d.GEN, d.EVENTS], t)
    tmp = d.tmpdir('dump')
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
