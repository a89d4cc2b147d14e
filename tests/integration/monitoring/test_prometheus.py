#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Real Prometheus: dpct fills a 1,000-entry table from a 3,000-flow UDP
capture and stays up (live mode, long timeouts), a reliable dpct-events
listener subscribed; Debian's prometheus
scrapes dpct-exporter every second, with the shipped alert rules loaded.
The fill ratio, the drop counters, the entry count, the events sent and
the listener's state read back through /api/v1/query match dpct's
--stats-json at exit; every query of the
Grafana dashboard runs without error; every alert rule evaluates;
after dpct exits dpct_up goes to 0, and when dpct starts again to 1."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promlib as pl  # noqa: E402

d = pl.d
FLOWS = 3000
MAX_ENTRIES = 1000
SCRAPE = '1s'


def query(base, expr):
    """(status, [(labels, float value)]) of an instant query."""
    st, body = pl.http_get(base + '/api/v1/query?' + urllib.parse.urlencode({'query': expr}))
    if st != 200:
        return 'http %s: %s' % (st, body[:300]), []
    r = json.loads(body)
    if r.get('status') != 'success':
        return r.get('error', 'error'), []
    return 'success', [(x['metric'], float(x['value'][1])) for x in r['data']['result']
                       if 'value' in x]


def one(base, expr):
    st, res = query(base, expr)
    return res[0][1] if st == 'success' and len(res) == 1 else None


def wait_value(base, expr, want, timeout):
    """Poll until `expr` gives exactly one sample equal to `want`; the last value."""
    deadline = time.time() + timeout
    v = one(base, expr)
    while v != want and time.time() < deadline:
        time.sleep(0.3)
        v = one(base, expr)
    return v


def start_dpct(prefix, cfg, pcap, tmp, stats, app=()):
    cmd = d.dpct_cmd(prefix, cfg, replay=False, stats=stats, lcores='0@0,1@1,2@1', app=app)
    cmd[cmd.index('--'):cmd.index('--')] = [
        '--vdev', 'net_pcap0,rx_pcap=%s,tx_pcap=%s' % (pcap, os.path.join(tmp, 'tx.pcap'))]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def dashboard_exprs():
    with open(os.path.join(d.SRC, 'config', 'grafana', 'dpct-dashboard.json')) as f:
        dash = json.load(f)
    for p in dash['panels']:
        for tg in p.get('targets', []):
            yield p['title'], tg['expr'].replace('$__rate_interval', '1m') \
                .replace('$instance', '.*')


def main():
    t = d.Tap()
    if os.geteuid() != 0:
        t.skip_all('needs root (dpct on vdevs)')
    d.need([d.DPCT, d.GEN, pl.EXPORTER], t)
    if not os.access(pl.PROMETHEUS, os.X_OK):
        t.skip_all('prometheus not installed (scripts/setup.sh installs it)')
    tmp = d.tmpdir('prometheus')
    prefix, chan = d.uniq('prom')
    pcap = d.gen(os.path.join(tmp, 'udp.pcap'), 'udp', FLOWS, seed=3)
    n_pkts = len(d.read_pcap(pcap))
    cfg = d.write_config(tmp, {
        'table': {'max_entries': MAX_ENTRIES, 'early_drop': False},
        'timeouts': {'udp_unreplied': 600, 'udp_replied': 600},
        'events': {'enabled': True, 'reliable': True, 'socket': d.channel(chan)},
        'seed': 7})
    stats = os.path.join(tmp, 'stats.json')
    eport, pport = pl.free_port(), pl.free_port()
    base = 'http://127.0.0.1:%d' % pport
    with open(os.path.join(tmp, 'prometheus.yml'), 'w') as f:
        f.write('global:\n  scrape_interval: %s\n  evaluation_interval: %s\n'
                'rule_files:\n  - %s\n'
                'scrape_configs:\n  - job_name: dpct\n    scrape_timeout: 1s\n'
                '    static_configs:\n      - targets: ["127.0.0.1:%d"]\n'
                % (SCRAPE, SCRAPE,
                   os.path.abspath(os.path.join(d.SRC, 'config', 'prometheus', 'dpct-alerts.yml')),
                   eport))
    dp = ex = prom = lst = None
    try:
        lst = d.start_events(chan, os.path.join(tmp, 'ev.json'), None, idle_ms=0, max_s=200)
        dp = start_dpct(prefix, cfg, pcap, tmp, stats, app=d.wait_listeners_args(1))
        # Live mode: dpct reads the capture once and keeps its table.
        rx = d.wait_for(lambda: (d.telemetry(prefix, '/dpct/stats') or {}).get('rx') == n_pkts,
                        30, 0.2)
        t.check(rx, 'dpct received all %d packets and answers telemetry' % n_pkts)
        ex = subprocess.Popen([pl.EXPORTER, '--file-prefix', prefix, '--listen',
                               '127.0.0.1:%d' % eport, '--timeout-ms', '900'],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        prom = subprocess.Popen([pl.PROMETHEUS, '--config.file',
                                 os.path.join(tmp, 'prometheus.yml'),
                                 '--storage.tsdb.path', os.path.join(tmp, 'tsdb'),
                                 '--web.listen-address', '127.0.0.1:%d' % pport,
                                 '--log.level', 'warn'],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        ready = pl.wait_http(base + '/-/ready', 60)
        t.check(ready is not None, 'prometheus is ready')
        up = wait_value(base, 'up{job="dpct"}', 1.0, 30)
        t.eq(up, 1.0, 'prometheus scrapes dpct-exporter (up 1)')
        t.eq(wait_value(base, 'dpct_up', 1.0, 15), 1.0, 'dpct_up 1 in prometheus')
        # A scrape that ran out of time leaves series out (stale): read all
        # of them from the same moment, polling until every one is there.
        exprs = {
            'fill': 'dpct_table_fill_ratio', 'drops': 'sum(dpct_drops_total)',
            'full': 'dpct_drops_total{reason="table_full"}', 'early': 'dpct_early_drops_total',
            'count': 'dpct_entries', 'limit': 'dpct_entries_limit',
            'shard_sum': 'sum(dpct_shard_entries)', 'shards': 'count(dpct_shard_fill_ratio)',
            'port_rx': 'sum(dpct_port_received_packets_total)',
            'ev_sent': 'dpct_events_sent_total', 'lst_sent': 'sum(dpct_listener_sent_total)',
            'lst_up': 'count(dpct_listener_state == 1)'}
        deadline = time.time() + 30
        while True:
            v = {k: one(base, e) for k, e in exprs.items()}
            if all(x is not None for x in v.values()) or time.time() > deadline:
                break
            time.sleep(0.5)
        t.check(all(x is not None for x in v.values()), 'prometheus has every series',
                [k for k, x in v.items() if x is None])
        fill, drops, full, early = v['fill'], v['drops'], v['full'], v['early']
        count, limit, shard_sum, port_rx = v['count'], v['limit'], v['shard_sum'], v['port_rx']
        ev_sent, lst_sent = v['ev_sent'], v['lst_sent']
        st, res = query(base, 'dpct_shard_fill_ratio')
        shard_fill = sorted(x for _, x in res)
        st, res = query(base, 'dpct_listener_state == 1')
        states = [lab.get('state') for lab, _ in res]

        bad = []
        n_expr = 0
        for title, expr in dashboard_exprs():
            n_expr += 1
            st, _ = query(base, expr)
            if st != 'success':
                bad.append('%s: %s: %s' % (title, expr, st))
        t.check(n_expr > 20 and not bad, 'all %d dashboard queries run in prometheus' % n_expr,
                '\n'.join(bad))
        # Every rule evaluated at least once, without error.
        deadline = time.time() + 15
        rules = []
        while time.time() < deadline:
            st, body = pl.http_get(base + '/api/v1/rules')
            rules = [r for g in json.loads(body)['data']['groups'] for r in g['rules']] \
                if st == 200 else []
            if rules and all(r.get('lastEvaluation', '').find('0001-') != 0 for r in rules):
                break
            time.sleep(0.5)
        t.check(len(rules) >= 9 and all(r.get('health') == 'ok' for r in rules),
                'prometheus loads and evaluates all %d alert rules' % len(rules),
                json.dumps([(r.get('name'), r.get('health'), r.get('lastError')) for r in rules]))
        st, body = pl.http_get(base + '/api/v1/alerts')
        firing = [a['labels']['alertname'] for a in json.loads(body)['data']['alerts']] \
            if st == 200 else []
        t.check('DpctDown' not in firing, 'DpctDown is not active while dpct is up', firing)

        rc, log = d.stop(dp, 60)
        dp = None
        t.eq(rc, 0, 'dpct stops cleanly') or print('# ' + log[-1500:].replace('\n', '\n# '))
        tot = d.load_json(stats)['totals']
        t.check(tot['drop'] > 0 and tot['count'] == MAX_ENTRIES,
                'the capture filled the table (count %d, drop %d)' % (tot['count'], tot['drop']))
        t.eq(fill, (tot['count'] + tot['dying']) / tot['max_entries'],
             'fill ratio = --stats-json (count + dying) / max_entries')
        t.eq(drops, float(tot['drop']), 'sum(dpct_drops_total) = --stats-json drop')
        t.eq(full, float(tot['drop'] - tot['insert_failed'] - tot['nat_refused']),
             'table_full drops = drop - insert_failed - nat_refused')
        t.eq(early, float(tot['early_drop']), 'early drops = --stats-json early_drop')
        t.eq(count, float(tot['count']), 'entries = --stats-json count')
        t.eq(limit, float(tot['max_entries']), 'limit = --stats-json max_entries')
        t.eq(shard_sum, float(tot['count']), 'the shards\' entries add up to the count')
        t.eq(shard_fill, [1.0, 1.0], 'both shards full')
        t.eq(port_rx, float(n_pkts), 'port 0 received every packet of the capture')
        t.check(tot['events_sent'] > 0 and ev_sent == float(tot['events_sent']),
                'events sent = --stats-json events_sent (%s)' % tot['events_sent'],
                '%r != %r' % (ev_sent, tot['events_sent']))
        t.eq(states, ['reliable'], 'one listener, in state reliable')
        js = d.load_json(stats).get('listeners', [])
        t.eq(lst_sent, float(sum(x.get('sent', 0) for x in js)),
             'listener messages sent = --stats-json listeners[].sent')

        # dpct gone: the exporter stays up and says so.
        t.eq(wait_value(base, 'dpct_up', 0.0, 15), 0.0, 'dpct exited: dpct_up 0')
        t.eq(one(base, 'up{job="dpct"}'), 1.0, 'the exporter itself is still scraped')
        dp = start_dpct(prefix, cfg, pcap, tmp, os.path.join(tmp, 'stats2.json'))
        t.eq(wait_value(base, 'dpct_up', 1.0, 30), 1.0, 'dpct started again: dpct_up 1')
        t.check(ex.poll() is None, 'the exporter survived dpct restarting')
    finally:
        if dp is not None:
            d.stop(dp, 60)
        if lst is not None:
            d.stop(lst, 20)
        for p, name in ((prom, 'prometheus'), (ex, 'dpct-exporter')):
            if p is None:
                continue
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            try:
                _, err = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate()
            if p.returncode != 0:
                print('# %s exited %s: %s' % (name, p.returncode, (err or '')[-800:]))
        shutil.rmtree(os.path.join(tmp, 'tsdb'), ignore_errors=True)
        t.done()


main()
