#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The reliable-delivery stress test end to end: 100,000 short TCP
connections, a listener with a 2 KiB receive buffer, --flush-on-eof and a
500 ms grace. A reliable listener gets every DESTROY (with failures and
resends on the way); an unreliable one loses some, and dpct counts it."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

FLOWS = int(os.environ.get('DPCT_STRESS_FLOWS', '100000'))


def run(t, tmp, pcap, reliable):
    name = 'stress_rel' if reliable else 'stress_unrel'
    prefix, port_id = d.uniq(name)
    cfg = d.base_config(port_id, table={'max_entries': 262144},
                        events={'destroy_grace_ms': 15000, 'ring_size': 4096})
    cfg_path = d.write_config(tmp, cfg, name + '.json')
    summ = os.path.join(tmp, name + '.sum.json')
    stats = os.path.join(tmp, name + '.stats.json')
    lst = d.start_events(port_id, os.devnull, summ, reliable=reliable, rcvbuf=2048,
                         fmt='none', idle_ms=5000, max_s=400)
    rc, out, err = d.run_dpct(
        d.dpct_cmd(prefix, cfg_path, pcap, os.path.join(tmp, name + '.tx.pcap'), stats=stats,
                   app=['--flush-on-eof', '--drain-timeout-ms', '120000', '--fwd', 'drop'] +
                   d.wait_listeners_args(1)), timeout=420)
    lrc, lerr = d.finish(lst, 60)
    t.eq(rc, 0, '%s: dpct exit 0' % name) or print('# ' + err[-1500:])
    t.check(d.listener_ended_ok(lrc, lerr),
            '%s: dpct-events ended by itself or saw dpct exit (status %d)' % (name, lrc),
            lerr[-800:])
    st = d.load_json(stats) if os.path.exists(stats) else {}
    sm = d.load_json(summ) if os.path.exists(summ) else {}
    t.check(bool(st) and bool(sm), '%s: stats and summary written' % name)
    return st, sm


def main():
    t = d.Tap()
    d.need([d.DPCT, d.GEN, d.EVENTS], t)
    tmp = d.tmpdir('stress')
    pcap = d.gen(os.path.join(tmp, 'tcp.pcap'), 'short-tcp', FLOWS, concurrency=1000, seed=4)
    st, sm = run(t, tmp, pcap, True)
    if st and sm:
        ins = d.counter(st, 'insert')
        t.check(ins >= FLOWS, 'reliable: every flow inserted (%d)' % ins)
        # Only DESTROY is reliable (as in ctnetlink): a NEW the listener's
        # full socket refused may be lost, but every entry's DESTROY arrives.
        t.eq(sm['flows_destroyed'], ins, 'reliable: a DESTROY for every entry')
        t.check(sm['flows_destroyed'] >= sm['flows_new'],
                'reliable: every NEW\'d flow destroyed (%d new, %d destroyed)'
                % (sm['flows_new'], sm['flows_destroyed']))
        t.eq(sm['flows_destroyed'] - sm['destroy_without_new'], sm['flows_new'],
             'reliable: each flow the listener saw NEW for was destroyed there')
        t.eq(sm['duplicate_destroy'], 0, 'reliable: no duplicate DESTROY')
        t.eq(d.counter(st, 'undelivered_destroy'), 0, 'reliable: undelivered_destroy 0')
        t.check(d.counter(st, 'events_failed') > 0, 'reliable: events_failed > 0 (%d)'
                % d.counter(st, 'events_failed'))
        t.check(d.counter(st, 'destroy_resent') > 0, 'reliable: destroy_resent > 0 (%d)'
                % d.counter(st, 'destroy_resent'))
    st, sm = run(t, tmp, pcap, False)
    if st and sm:
        t.check(sm['destroy'] < FLOWS, 'unreliable: destroys lost (%d of %d)'
                % (sm['destroy'], FLOWS))
        t.check(d.counter(st, 'listener_dropped') > 0, 'unreliable: listener_dropped > 0')
    t.done()


main()
