#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The shipped alert rules: promtool check rules and promtool test rules
pass, every alert has a unit test, and every dpct_ metric the rules name
is one dpct-exporter emits (--list-metrics)."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promlib as pl  # noqa: E402

d = pl.d
RULES = os.path.join(d.SRC, 'config', 'prometheus', 'dpct-alerts.yml')
TESTS = os.path.join(d.SRC, 'config', 'prometheus', 'dpct-alerts.test.yml')
DOC = os.path.join(d.SRC, 'docs', 'monitoring.md')


def main():
    t = d.Tap()
    d.need([pl.EXPORTER], t)
    if not os.access(pl.PROMTOOL, os.X_OK):
        t.skip_all('promtool not installed (scripts/setup.sh installs prometheus)')
    p = subprocess.run([pl.PROMTOOL, 'check', 'rules', RULES], capture_output=True, text=True,
                       timeout=60)
    t.check(p.returncode == 0, 'promtool check rules dpct-alerts.yml', p.stdout + p.stderr)
    p = subprocess.run([pl.PROMTOOL, 'test', 'rules', os.path.basename(TESTS)],
                       cwd=os.path.dirname(TESTS), capture_output=True, text=True, timeout=120)
    t.check(p.returncode == 0, 'promtool test rules dpct-alerts.test.yml', p.stdout + p.stderr)
    with open(RULES) as f:
        rules = f.read()
    with open(TESTS) as f:
        tests = f.read()
    alerts = re.findall(r'^\s*- alert:\s*(\w+)', rules, re.M)
    t.check(len(alerts) >= 8, '%d alerts defined' % len(alerts))
    for a in alerts:
        fired = re.search(r'alertname:\s*%s\s*\n\s*exp_alerts:\s*\n\s*- exp_labels' % a, tests)
        quiet = re.search(r'alertname:\s*%s\s*\n\s*exp_alerts:\s*\[\]' % a, tests)
        t.check(fired and quiet, '%s: a test where it fires and one where it does not' % a)
    known = pl.exporter_metrics()
    used = pl.promql_metric_names(rules)
    unknown = sorted(used - set(known))
    t.check(used and not unknown, 'the rules name only metrics the exporter emits', unknown)
    with open(DOC) as f:
        doc = f.read()
    rows = dict(re.findall(r'^\| `(dpct_\w+)` \| (gauge|counter) \|', doc, re.M))
    wrong = sorted(n for n in known if rows.get(n) != known[n])
    t.check(not wrong, 'docs/monitoring.md has a row with the right type for every metric',
            wrong)
    stale = sorted(set(rows) - set(known))
    t.check(not stale, 'docs/monitoring.md lists no metric the exporter lacks', stale)
    undoc = [a for a in alerts if '**%s.**' % a not in doc or '`%s`' % a not in doc]
    t.check(not undoc, 'docs/monitoring.md says when each alert fires and what to do', undoc)
    t.done()


main()
