#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Bad configurations and arguments: exit status 1, the JSON path (or
line/column) in stderr, nothing started; bad EAL/app arguments print usage
and exit 1 without crashing."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

CASES = [
    ('unknown key', '{"events": {"foo": 1}}', 'unknown key at $.events.foo'),
    ('wrong type', '{"table": {"max_entries": "1000"}}',
     '$.table.max_entries: expected integer, got string'),
    ('out of range', '{"events": {"destroy_grace_ms": 0}}',
     '$.events.destroy_grace_ms: 0 is out of range 1..3600000'),
    ('beyond the type', '{"table": {"max_entries": 4294967296}}',
     '$.table.max_entries: 4294967296 is out of range'),
    ('fill alarm order', '{"fill_alarm": {"high_pct": 50, "low_pct": 60}}',
     '$.fill_alarm.low_pct'),
    ('fewer entries than workers', '{"table": {"max_entries": 1}, "workers": {"count": 2}}',
     '$.table.max_entries'),
    ('ring not a power of two', '{"events": {"ring_size": 1000}}',
     '$.events.ring_size: 1000 is not a power of two'),
    ('bad prefix', '{"notrack": [{"prefix": "10.0.0.0/33"}]}', '$.notrack[0].prefix'),
    ('too many notrack rules',
     '{"notrack": [%s]}' % ','.join('{"proto": "udp", "port": %d}' % (i + 1) for i in range(65)),
     '$.notrack: 65 rules'),
    ('bad enum', '{"invalid": {"policy": "reject"}}', '$.invalid.policy'),
    ('syntax', '{\n  "table": {\n    "max_entries" 5}}', 'line 3, column '),
    ('timeout policy: unknown state',
     '{"timeout_policies": {"policies": {"p": {"tcp": {"estab": 5}}}}}',
     '$.timeout_policies.policies.p.tcp: unknown state "estab" of tcp (states: syn_sent'),
    ('timeout policy: unknown protocol',
     '{"timeout_policies": {"policies": {"p": {"tpc": {"close": 5}}}}}',
     '$.timeout_policies.policies.p: unknown protocol "tpc" (protocols: tcp, udp'),
    ('timeout policy: zero', '{"timeout_policies": {"policies": {"p": {"udp": {"replied": 0}}}}}',
     '$.timeout_policies.policies.p.udp.replied: 0 is out of range 1..1125899'),
    ('timeout policy: negative',
     '{"timeout_policies": {"policies": {"p": {"udp": {"replied": -1}}}}}',
     '$.timeout_policies.policies.p.udp.replied: -1 is out of range 1..1125899'),
    ('timeout policy: beyond the table',
     '{"timeout_policies": {"policies": {"p": {"tcp": {"established": 4000000}}}}}',
     '$.timeout_policies.policies.p.tcp.established: 4000000 is out of range 1..1125899'),
    ('timeout policy: rule names none',
     '{"timeout_policies": {"policies": {"p": {"tcp": {"close": 5}}}, '
     '"rules": [{"zone": 1, "policy": "q"}]}}',
     '$.timeout_policies.rules[0].policy: no policy named "q" (defined: p)'),
]


def main():
    t = d.Tap()
    d.need([d.DPCT], t)
    tmp = d.tmpdir('badcfg')
    for i, (name, text, want) in enumerate(CASES):
        path = os.path.join(tmp, 'c%d.json' % i)
        with open(path, 'w') as f:
            f.write(text)
        prefix, _ = d.uniq('badcfg%d' % i)
        rc, out, err = d.run_dpct(d.dpct_cmd(prefix, path, replay=False), timeout=60)
        t.eq(rc, 1, '%s: exit status 1' % name)
        t.check(want in err, '%s: stderr names %r' % (name, want), err)
    prefix, _ = d.uniq('badcfg_missing')
    rc, out, err = d.run_dpct(d.dpct_cmd(prefix, os.path.join(tmp, 'none.json'), replay=False))
    t.eq(rc, 1, 'missing config file: exit status 1')
    t.check('none.json' in err, 'missing config file named in stderr', err)
    good = d.write_config(tmp, {})
    for name, cmd in [
        ('unknown app option', d.dpct_cmd('badarg1_%d' % os.getpid(), good,
                                          app=['--no-such-option'], replay=False)),
        # No --config at all is valid (the embedded demo); a --config
        # without its value is not.
        ('--config without a value', [d.DPCT, '--no-huge', '-m', '64', '--no-pci',
                                      '--file-prefix', 'badarg2_%d' % os.getpid(), '-l', '0-1',
                                      '--', '--config']),
        ('bad --fwd', d.dpct_cmd('badarg3_%d' % os.getpid(), good, app=['--fwd', 'sideways'],
                                 replay=False)),
        ('bad EAL option', [d.DPCT, '--no-huge', '--definitely-not-eal', '--', '--config', good]),
    ]:
        rc, out, err = d.run_dpct(cmd, timeout=60)
        t.eq(rc, 1, '%s: exit status 1 (not a crash: %d)' % (name, rc))
        t.check('usage' in (out + err).lower() or 'Usage' in out + err,
                '%s: usage printed' % name, err[-2000:])
    t.done()


main()
