#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Determinism and handoff: the same pcap replayed twice gives the same
stats and per-flow event sequences; two workers fed by one net_pcap queue
(software handoff) give the same per-flow results and totals as one."""
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

# Counters that describe traffic and table behaviour; delivery-side
# counters (events_failed, resends) depend on the listener's scheduling.
STABLE = ['insert', 'invalid', 'found', 'drop', 'early_drop', 'expired', 'deleted',
          'notrack', 'related', 'insert_failed']


def run(t, tmp, name, pcap, lcores):
    prefix, port_id = d.uniq(name)
    cfg = d.write_config(tmp, d.base_config(port_id), name + '.json')
    evs = os.path.join(tmp, name + '.ev.json')
    summ = os.path.join(tmp, name + '.sum.json')
    stats = os.path.join(tmp, name + '.stats.json')
    tx = os.path.join(tmp, name + '.tx.pcap')
    lst = d.start_events(port_id, evs, summ, reliable=True, idle_ms=2000, max_s=120)
    rc, out, err = d.run_dpct(d.dpct_cmd(prefix, cfg, pcap, tx, lcores=lcores, stats=stats,
                                         app=['--flush-on-eof'] + d.wait_listeners_args(1)),
                              timeout=180)
    t.eq(rc, 0, '%s: dpct exit 0' % name) or print('# ' + err[-1500:])
    lrc, lerr = d.finish(lst, 60)
    t.check(d.listener_ended_ok(lrc, lerr),
            '%s: dpct-events ended by itself or saw dpct exit (status %d)' % (name, lrc),
            lerr[-800:])
    st = d.load_json(stats) if os.path.exists(stats) else {}
    return st, d.per_flow(d.events(evs)), (d.read_pcap(tx) if os.path.exists(tx) else [])


def totals(st):
    out = {}
    for k in STABLE + ['rx', 'tx']:
        try:
            out[k] = d.counter(st, k)
        except KeyError:
            pass
    return out


def main():
    t = d.Tap()
    d.need([d.DPCT, d.GEN, d.EVENTS], t)
    tmp = d.tmpdir('determ')
    pcap = d.gen(os.path.join(tmp, 'mix.pcap'), 'mix', 400, concurrency=64, seed=21)
    a_st, a_fl, a_tx = run(t, tmp, 'det_a', pcap, '0-1')
    b_st, b_fl, b_tx = run(t, tmp, 'det_b', pcap, '0-1')
    t.check(len(a_fl) > 0, 'events seen (%d flows)' % len(a_fl))
    t.eq(totals(a_st), totals(b_st), 'same pcap twice: same stats')
    diff = [k for k in set(a_fl) | set(b_fl) if a_fl.get(k) != b_fl.get(k)]
    t.eq(len(diff), 0, 'same pcap twice: same per-flow event sequences',
         ) or print('# first: %r\n#  %r\n#  %r' % (diff[0], a_fl.get(diff[0]), b_fl.get(diff[0])))
    t.eq(a_tx, b_tx, 'same pcap twice: same tx pcap')

    # Two workers, one pcap queue: packets for the other shard are handed off.
    # Three lcores mapped onto the CPUs there are (CI machines may have two).
    cpus = sorted(os.sched_getaffinity(0))
    lmap = '0@%d,1@%d,2@%d' % (cpus[0], cpus[-1], cpus[-1] if len(cpus) < 3 else cpus[2])
    h_st, h_fl, h_tx = run(t, tmp, 'det_handoff', pcap, lmap)
    if h_st:
        t.check(d.counter(h_st, 'handoff') > 0, 'two workers: handoff > 0')
    # Three lcores on two CPUs: the worker that owns the TX queue can be off
    # its CPU longer than a handed-back frame may wait (fwd_io gives up after
    # 1 ms and counts it in tx_dropped). Such a frame is dropped and counted,
    # never lost: tx + tx_dropped is the one-worker tx, and the frames that
    # left are the one-worker frames less exactly that many.
    h_tot, a_tot = totals(h_st), totals(a_st)
    tx_dropped = sum(p.get('tx_dropped', 0) for p in h_st.get('ports', []))
    if 'tx' in h_tot:
        h_tot['tx'] += tx_dropped
    t.eq(h_tot, a_tot, 'two workers: same totals as one (%d frames counted in tx_dropped)'
         % tx_dropped) or print('# one: %r\n# two: %r' % (a_tot, h_tot))
    diff = [k for k in set(a_fl) | set(h_fl) if a_fl.get(k) != h_fl.get(k)]
    t.eq(len(diff), 0, 'two workers: same per-flow event sequences') or \
        print('# first: %r\n#  %r\n#  %r' % (diff[0], a_fl.get(diff[0]), h_fl.get(diff[0])))
    missing = collections.Counter(a_tx)
    missing.subtract(collections.Counter(h_tx))
    t.check(all(v >= 0 for v in missing.values()) and sum(missing.values()) == tx_dropped,
            'two workers: the same frames forwarded, less the %d counted as dropped'
            % tx_dropped)
    t.done()


main()
