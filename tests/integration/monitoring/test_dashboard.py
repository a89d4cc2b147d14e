#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The Grafana dashboard: valid JSON, every panel has a title and queries,
every dpct_ metric it queries is one dpct-exporter emits, and the table,
drops, listeners, DESTROYs, collectors, ports and NAT each have a panel.
(test_prometheus.py runs every query in a real Prometheus.)"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promlib as pl  # noqa: E402

d = pl.d
DASH = os.path.join(d.SRC, 'config', 'grafana', 'dpct-dashboard.json')
# One metric per concern the dashboard must show.
MUST = ['dpct_up', 'dpct_table_fill_ratio', 'dpct_entries', 'dpct_shard_fill_ratio',
        'dpct_drops_total', 'dpct_early_drops_total', 'dpct_invalid_packets_total',
        'dpct_listener_state', 'dpct_dying_entries', 'dpct_destroy_resent_total',
        'dpct_events_sent_total', 'dpct_export_collector_up', 'dpct_port_received_packets_total',
        'dpct_nat_pool_usage_ratio', 'dpct_nat_exhausted_total', 'dpct_event_refusals_total']


def main():
    t = d.Tap()
    d.need([pl.EXPORTER], t)
    try:
        with open(DASH) as f:
            dash = json.load(f)
        ok = True
    except ValueError as e:
        ok = False
        t.check(False, 'dpct-dashboard.json parses', e)
    if ok:
        t.check(True, 'dpct-dashboard.json parses')
        panels = [p for p in dash.get('panels', []) if p.get('type') != 'row']
        t.check(len(panels) >= 10, '%d panels' % len(panels))
        untitled = [p.get('id') for p in panels if not p.get('title')]
        t.check(not untitled, 'every panel has a title', untitled)
        empty = [p['title'] for p in panels if not [x for x in p.get('targets', [])
                                                      if x.get('expr')]]
        t.check(not empty, 'every panel has a query', empty)
        ids = [p.get('id') for p in dash['panels']]
        t.eq(len(ids), len(set(ids)), 'panel ids are unique')
        used = set()
        for p in panels:
            for x in p['targets']:
                used |= pl.promql_metric_names(x['expr'])
        var = [v for v in dash.get('templating', {}).get('list', []) if v.get('name') ==
               'instance']
        if var:
            used |= pl.promql_metric_names(var[0].get('definition', ''))
        known = pl.exporter_metrics()
        unknown = sorted(used - set(known))
        t.check(not unknown, 'every metric queried is one the exporter emits', unknown)
        missing = [m for m in MUST if m not in used]
        t.check(not missing, 'panels for the table, drops, events, export, ports, NAT', missing)
    t.done()


main()
