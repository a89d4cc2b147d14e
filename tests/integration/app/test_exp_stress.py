#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Expectation events under the stress shape of Linux's reliable-delivery
commit: a reliable listener of the expectation groups with a 2,048-byte
buffer, 20,000 FTP sessions (each makes one expectation), then a flush.
Every expectation must have exactly one NEW and one DESTROY delivered, 0
undelivered, and the expectation nack and resend counters must show the
listener was full on the way."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

SESSIONS = int(os.environ.get('DPCT_EXP_STRESS_SESSIONS', '20000'))
# The FTP helper on TCP port 21 (an nftables `ct helper` object and its
# rule), with room for every session's expectation while its DESTROY waits.
HELPER_CFG = {'helpers': {'rules': [{'helper': 'ftp', 'port': 21}],
                          'max_expectations': 65536}}


def read_events(path):
    """(NEW count per id, DESTROY count per id) from dpct-events --format json."""
    new, gone = {}, {}
    with open(path) as f:
        for line in f:
            if not line.startswith('{'):
                continue
            e = json.loads(line)
            if e.get('type') != 'expect':
                continue
            book = new if e['event'] == 'new' else gone if e['event'] == 'destroy' else None
            if book is not None:
                book[e['id']] = book.get(e['id'], 0) + 1
    return new, gone


def main():
    t = d.Tap()
    d.need([d.DPCT, d.GEN, d.EVENTS], t)
    tmp = d.tmpdir('exp_stress')

    pcap = d.gen(os.path.join(tmp, 'ftp.pcap'), 'ftp', SESSIONS, concurrency=1000, seed=29,
                 timeout=300)
    prefix, port_id = d.uniq('exp_stress')
    cfg = d.base_config(port_id, table={'max_entries': 262144},
                        events={'destroy_grace_ms': 15000, 'ring_size': 4096})
    cfg.update(HELPER_CFG)
    cfg_path = d.write_config(tmp, cfg, 'exp_stress.json')
    out = os.path.join(tmp, 'exp.json')
    summ = os.path.join(tmp, 'exp.sum.json')
    stats = os.path.join(tmp, 'exp.stats.json')
    lst = d.start_events(port_id, out, summ, reliable=True, rcvbuf=2048, fmt='json',
                         idle_ms=40000, max_s=500, extra=['--expect'])
    rc, _, err = d.run_dpct(
        d.dpct_cmd(prefix, cfg_path, pcap, os.path.join(tmp, 'exp.tx.pcap'), stats=stats,
                   app=['--flush-on-eof', '--drain-timeout-ms', '120000', '--fwd', 'drop'] +
                   d.wait_listeners_args(1)), timeout=540)
    lrc, lerr = d.finish(lst, 60)
    t.eq(rc, 0, 'dpct exit 0 (every DESTROY delivered by the end of the drain)') or \
        print('# ' + err[-1500:])
    t.check(d.listener_ended_ok(lrc, lerr),
            'dpct-events ended by itself or saw dpct exit (status %d)' % lrc, lerr[-800:])
    st = d.load_json(stats) if os.path.exists(stats) else {}
    t.check(bool(st) and os.path.exists(out), 'stats and events written')
    if not st:
        t.done()
    new, gone = read_events(out)
    t.check(len(new) >= SESSIONS,
            'an expectation NEW for every session (%d ids, %d sessions)' % (len(new), SESSIONS))
    t.eq(sorted(new), sorted(gone), 'every expectation NEW\'d has its DESTROY, and no other')
    t.eq(sum(1 for v in new.values() if v != 1), 0, 'each NEW delivered once')
    t.eq(sum(1 for v in gone.values() if v != 1), 0, 'each DESTROY delivered once')
    t.eq(d.counter(st, 'undelivered_destroy'), 0, 'undelivered_destroy 0')
    t.eq(d.counter(st, 'exp_destroy_acked'), len(gone),
         'exp_destroy_acked counts every expectation DESTROY')
    t.check(d.counter(st, 'exp_failed') > 0,
            'expectation nacks counted: exp_failed > 0 (%d)' % d.counter(st, 'exp_failed'))
    t.check(d.counter(st, 'exp_resent') + d.counter(st, 'exp_retried') > 0,
            'expectation resends counted: exp_resent %d, exp_retried %d'
            % (d.counter(st, 'exp_resent'), d.counter(st, 'exp_retried')))
    t.done()


main()
