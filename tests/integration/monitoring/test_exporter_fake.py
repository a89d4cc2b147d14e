#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dpct-exporter against a fake DPDK telemetry v2 server: every metric it
declares comes out with the values the replies hold (promtool lints the
text), and garbage, oversize, non-object and silent replies, a bad
greeting, a server that hangs up or goes away give dpct_up 0 and an error
count, never a crash; when the server comes back, dpct_up is 1 again."""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promlib as pl  # noqa: E402

d = pl.d
# Generous: the fake server is Python threads on a shared machine.
TIMEOUT_MS = 2500

STATS = {
    'found': 5000, 'invalid': 12, 'ignore': 4, 'insert': 2000, 'insert_failed': 3, 'drop': 100,
    'early_drop': 40, 'error': 0, 'search_restart': 0, 'expired': 1200, 'deleted': 6,
    'untracked': 2, 'notrack': 9, 'related': 1, 'handoff': 0, 'events_sent': 3000,
    'events_failed': 11, 'events_retried': 5, 'destroy_resent': 17, 'ring_full': 0,
    'listener_dropped': 8, 'destroy_acked': 1100, 'fill_alarm': 2, 'table_full_warn': 1,
    'events_unwanted': 0, 'nat_refused': 7, 'count': 750, 'dying': 50, 'max_entries': 1000,
    'invalid_by_reason': {'trunc_l3': 10, 'tcp_window': 2},
    'undelivered_destroy': 50, 'rx': 9000, 'tx': 8800, 'tx_dropped': 0, 'dropped': 200,
    'events_retried_ctl': 0, 'listeners_gone': 1, 'subscribe_refused': 3,
    'listener_demoted': 1, 'limit_drop': 20, 'limit_uncounted': 1,
    'limit_drop_by_rule': {'per_host': 15, 'tenant_5': 5},
    'exp_sent': 40, 'exp_failed': 3, 'exp_retried': 2, 'exp_resent': 1, 'exp_destroy_acked': 19,
}
ANSWERS = {
    '/dpct/stats': STATS,
    '/dpct/info': {'version': '0.1.0', 'workers': 2, 'ports': 1, 'fwd': 'io', 'replay': 0,
                   'max_entries': 1000, 'events': 1},
    '/dpct/shards': {
        '0': {'count': 400, 'dying': 50, 'max_entries': 500, 'drop': 60, 'early_drop': 40},
        '1': {'count': 350, 'dying': 0, 'max_entries': 500, 'drop': 40, 'early_drop': 0},
    },
    '/dpct/listeners': {
        '0': {'port_id': 1, 'uid': 0, 'pid': 4242, 'mask': 7, 'reliable': 1, 'sent': 900,
              'failed': 4, 'dropped': 0, 'seq': 900, 'slot': 0, 'kind': 'events',
              'state': 'reliable'},
        '1': {'port_id': 2, 'uid': 1000, 'pid': 4343, 'mask': 7, 'reliable': 0, 'sent': 10,
              'failed': 7, 'dropped': 3, 'seq': 10, 'slot': 1, 'kind': 'we"ird\\kind\n',
              'state': 'demoted'},
    },
    '/dpct/refusals': {'1000': {'not_allowed': 2, 'over_uid_limit': 0, 'no_slot': 1,
                                'timed_out': 0, 'evicted': 0, 'cut': 0}},
    '/dpct/export': {
        '0': {'host': '127.0.0.1', 'port': 4739, 'transport': 'tcp', 'reliable': 1,
              'connected': 1, 'records_sent': 500, 'records_refused': 0, 'records_lost': 0,
              'bytes': 64000, 'reconnects': 1, 'connect_failures': 0, 'send_errors': 0,
              'queue_dropped': 0, 'queue_bytes': 0},
        '1': {'host': '2001:db8::1', 'port': 2055, 'transport': 'udp', 'reliable': 0,
              'connected': 0, 'records_sent': 20, 'records_refused': 1, 'records_lost': 4,
              'bytes': 3000, 'reconnects': 0, 'connect_failures': 6, 'send_errors': 2,
              'queue_dropped': 5, 'queue_bytes': 128},
    },
    '/dpct/nat': {'enabled': 1,
                  'totals': {'bound': 300, 'released': 100, 'exhausted': 12, 'refused': 7,
                             'ports_in_use': 200, 'ports_total': 800},
                  'worker0': {'bound': 300}},
    '/dpct/top': {'by': 'src', 'zone': 'any', 'entries_counted': 750, 'error_bound': 1, 'n': 2,
                  '1': {'addr': '203.0.113.66', 'zone': 0, 'entries': 500},
                  '2': {'addr': '2001:db8::5', 'zone': 3, 'entries': 9}},
    '/ethdev/list': [0, 1],
    '/ethdev/stats,0': {'ipackets': 9000, 'opackets': 8800, 'ibytes': 900000,
                        'obytes': 880000, 'imissed': 3, 'ierrors': 0, 'oerrors': 1,
                        'rx_nombuf': 0},
    '/ethdev/stats,1': {'ipackets': 10, 'opackets': 20, 'ibytes': 1000, 'obytes': 2000,
                        'imissed': 0, 'ierrors': 0, 'oerrors': 0, 'rx_nombuf': 0},
}


def scrape(url):
    st, body = pl.http_get(url, timeout=10)
    if st != 200:
        return None, body
    return pl.parse_metrics(body)[0], body


def errors(s, cmd):
    return pl.value(s, 'dpct_exporter_command_errors_total', command=cmd) or 0


def main():
    t = d.Tap()
    d.need([pl.EXPORTER], t)
    if not os.access(pl.PROMTOOL, os.X_OK):
        t.skip_all('promtool not installed (scripts/setup.sh installs prometheus)')
    tmp = tempfile.mkdtemp(prefix='dpct_exporter_')
    path = os.path.join(tmp, 'dpdk_telemetry.v2')
    srv = pl.FakeTelemetry(path, ANSWERS)
    srv.start()
    port = pl.free_port()
    url = 'http://127.0.0.1:%d/metrics' % port
    ex = subprocess.Popen([pl.EXPORTER, '--socket', path, '--listen', '127.0.0.1:%d' % port,
                           '--timeout-ms', str(TIMEOUT_MS)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        body = pl.wait_http(url, 15)
        if not t.check(body is not None, 'the exporter answers on /metrics'):
            raise RuntimeError('no answer on ' + url)
        s, types = pl.parse_metrics(body)
        st, page = pl.http_get('http://127.0.0.1:%d/' % port)
        t.check(st == 200 and '/metrics' in page, '/ links to /metrics')
        st, _ = pl.http_get('http://127.0.0.1:%d/nope' % port)
        t.eq(st, 404, 'an unknown path is 404')
        lint = subprocess.run([pl.PROMTOOL, 'check', 'metrics'], input=body,
                              capture_output=True, text=True, timeout=30)
        t.check(lint.returncode == 0, 'promtool check metrics accepts the text',
                lint.stdout + lint.stderr)
        declared = pl.exporter_metrics()
        missing = sorted(set(declared) - set(s))
        t.check(not missing, 'every declared family is emitted from a full dpct', missing)
        wrong = sorted(n for n in declared if types.get(n, declared[n]) != declared[n])
        t.check(not wrong, 'TYPE lines match --list-metrics', wrong)
        t.eq(pl.value(s, 'dpct_up'), 1.0, 'dpct_up 1')
        t.eq(pl.value(s, 'dpct_entries'), 750.0, 'entries')
        t.eq(pl.value(s, 'dpct_dying_entries'), 50.0, 'dying entries')
        t.eq(pl.value(s, 'dpct_entries_limit'), 1000.0, 'limit')
        t.eq(pl.value(s, 'dpct_table_fill_ratio'), 0.8, 'fill ratio = (750 + 50) / 1000')
        t.eq(pl.value(s, 'dpct_drops_total', reason='table_full'), 70.0,
             'table_full drops = drop - insert_failed - nat_refused - limit_drop')
        t.eq(pl.value(s, 'dpct_drops_total', reason='limit'), 20.0, 'limit drops')
        t.eq(pl.value(s, 'dpct_limit_drops_total', rule='per_host'), 15.0, 'drops per rule')
        t.eq(pl.value(s, 'dpct_limit_drops_total', rule='tenant_5'), 5.0, 'drops per rule 2')
        t.eq(pl.value(s, 'dpct_limit_uncounted_total'), 1.0, 'limit uncounted')
        t.eq(pl.value(s, 'dpct_top_source_entries', addr='203.0.113.66', zone=0), 500.0,
             'top source')
        t.eq(pl.value(s, 'dpct_top_source_entries', addr='2001:db8::5', zone=3), 9.0,
             'top source, IPv6 in zone 3')
        t.eq(pl.value(s, 'dpct_top_error_bound_entries'), 1.0, 'top error bound')
        t.eq(pl.value(s, 'dpct_drops_total', reason='insert_failed'), 3.0, 'insert_failed')
        t.eq(pl.value(s, 'dpct_drops_total', reason='nat_refused'), 7.0, 'nat_refused')
        t.eq(sum(v for _, v in s['dpct_drops_total']), 100.0, 'drops sum to drop')
        t.eq(pl.value(s, 'dpct_early_drops_total'), 40.0, 'early drops')
        t.eq(pl.value(s, 'dpct_invalid_packets_total', reason='trunc_l3'), 10.0,
             'invalid by reason')
        t.eq(pl.value(s, 'dpct_shard_fill_ratio', shard=0), 0.9, 'shard 0 fill ratio')
        t.eq(pl.value(s, 'dpct_shard_drops_total', shard=1), 40.0, 'shard 1 drops')
        t.eq(pl.value(s, 'dpct_listener_state', slot=1, state='demoted'), 1.0,
             'listener 1 demoted')
        t.eq(pl.value(s, 'dpct_listener_state', slot=1, state='reliable'), 0.0,
             'listener 1 not reliable')
        t.eq(pl.value(s, 'dpct_listener_state', slot=0, state='reliable'), 1.0,
             'listener 0 reliable')
        t.eq(pl.value(s, 'dpct_listener_failed_total', kind='we"ird\\kind\n'), 7.0,
             'a label value with a quote, backslash and newline survives escaping')
        t.eq(pl.value(s, 'dpct_export_collector_up', collector='[2001:db8::1]:2055'), 0.0,
             'collector down, IPv6 address in brackets')
        t.eq(pl.value(s, 'dpct_export_collector_up', collector='127.0.0.1:4739',
                      transport='tcp'), 1.0, 'collector up')
        t.eq(pl.value(s, 'dpct_port_received_packets_total', port=0), 9000.0, 'port 0 rx')
        t.eq(pl.value(s, 'dpct_port_transmitted_bytes_total', port=1), 2000.0, 'port 1 tx bytes')
        t.eq(pl.value(s, 'dpct_nat_pool_usage_ratio'), 0.25, 'NAT pool usage 200 / 800')
        t.eq(pl.value(s, 'dpct_nat_exhausted_total'), 12.0, 'NAT exhausted')
        t.eq(pl.value(s, 'dpct_event_refusals_total', uid=1000, reason='not_allowed'), 2.0,
             'refusals by uid and reason')
        t.eq(pl.value(s, 'dpct_info', version='0.1.0', fwd='io'), 1.0, 'info labels')
        t.eq(pl.value(s, 'dpct_destroy_resent_total'), 17.0, 'destroy_resent')
        t.eq(pl.value(s, 'dpct_listener_demotions_total'), 1.0, 'listener demotions')
        t.eq(pl.value(s, 'dpct_expect_events_failed_total'), 3.0, 'expectation nacks')
        t.eq(pl.value(s, 'dpct_expect_destroy_acked_total'), 19.0, 'expectation DESTROYs acked')
        t.eq(sum(errors(s, c) for c in ('/dpct/stats', '/dpct/shards', '/ethdev/stats')), 0,
             'no command errors')

        # Wrong types: counters as strings, negative, nested: left out, no crash.
        ANSWERS['/dpct/stats'] = dict(STATS, count='many', dying=-5, drop=[1], early_drop=None,
                                      invalid_by_reason=[{'x': 1}])
        ANSWERS['/dpct/shards'] = {'0': 'zero', '1': [1, 2], '2': {'count': {'a': 1}}}
        ANSWERS['/ethdev/list'] = ['0', -1, 70000, {'x': 1}, 1]
        ANSWERS['/dpct/listeners'] = {'0': {'state': 7, 'kind': 3}}
        s, body = scrape(url)
        t.check(s is not None and pl.value(s, 'dpct_up') == 1.0,
                'wrong-typed values: still up', body)
        if s is not None:
            t.check('dpct_entries' not in s and 'dpct_dying_entries' not in s and
                    'dpct_table_fill_ratio' not in s and 'dpct_drops_total' not in s,
                    'wrong-typed values are left out, nothing derived from them')
            t.eq(pl.value(s, 'dpct_entries_limit'), 1000.0, 'the well-typed ones remain')
            t.eq([lab['port'] for lab, _ in s.get('dpct_port_received_packets_total', [])],
                 ['1'], 'only the valid port id is asked for')
        ANSWERS['/dpct/stats'] = STATS
        ANSWERS['/dpct/shards'] = {'errmsg': '/dpct/shards: refused'}
        ANSWERS['/dpct/info'] = {'errmsg': '/dpct/info: nope'}

        base = pl.value(s, 'dpct_exporter_command_errors_total', command='/dpct/stats') or 0
        cases = [('garbage', 'a reply that is not JSON'),
                 ('oversize', 'a reply over max_output_len'),
                 ('not_object', 'a reply whose value is no object'),
                 ('bad_greeting', 'a greeting that is not JSON'),
                 ('close', 'the server hangs up after the command'),
                 ('silent', 'no reply within --timeout-ms')]
        for mode, what in cases:
            srv.mode = mode
            t0 = time.time()
            s, body = scrape(url)
            dt = time.time() - t0
            t.check(s is not None and pl.value(s, 'dpct_up') == 0.0,
                    '%s: dpct_up 0' % what, body)
            if s is not None:
                n = errors(s, '/dpct/stats')
                t.eq(n, base + 1, '%s: counted in command_errors_total' % what)
                base = n
            t.check(dt < TIMEOUT_MS / 1000.0 + 2, '%s: scrape ends in %.2f s' % (what, dt))
            t.check(ex.poll() is None, '%s: the exporter is alive' % what)
        srv.mode = 'oversize'
        srv.max_output_len = 1 << 30
        s, body = scrape(url)
        t.check(s is not None and pl.value(s, 'dpct_up') == 0.0,
                'a greeting advertising 1 GiB: a 2 MiB reply is refused (1 MiB cap)', body)
        srv.max_output_len = 16384
        srv.mode = 'ok'
        s, body = scrape(url)
        t.check(s is not None and pl.value(s, 'dpct_up') == 1.0, 'good replies: up again',
                body)
        if s is not None:
            t.check('dpct_shard_entries' not in s and errors(s, '/dpct/shards') == 1,
                    'an errmsg reply leaves its metrics out and is counted')
            t.check('dpct_info' not in s, 'an errmsg from /dpct/info leaves dpct_info out')

        # dpct goes away, then comes back (a restart).
        srv.stop()
        s, body = scrape(url)
        t.check(s is not None and pl.value(s, 'dpct_up') == 0.0, 'socket gone: dpct_up 0',
                body)
        t.check(s is not None and 'dpct_entries' not in s, 'socket gone: no stale samples')
        srv.start()
        s, body = scrape(url)
        t.check(s is not None and pl.value(s, 'dpct_up') == 1.0,
                'socket back: dpct_up 1 at the next scrape', body)
        t.check(ex.poll() is None, 'the exporter survived all of it')
    finally:
        if ex.poll() is None:
            ex.send_signal(signal.SIGTERM)
        try:
            _, err = ex.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            ex.kill()
            _, err = ex.communicate()
        t.eq(ex.returncode, 0, 'the exporter exits 0 on SIGTERM')
        print('# exporter stderr (tail):')
        for line in (err or '').splitlines()[-15:]:
            print('#   ' + line)
        srv.stop()
        t.done()


main()
