# SPDX-License-Identifier: BSD-3-Clause
"""Bad flow-export configurations and unreachable collectors (issue 11).
Unknown keys, bad addresses, ports out of range, a bad transport, reliable
UDP, a paced TCP collector, pacing rates out of range, export without events: exit status 1 and the JSON path in stderr,
nothing started. Unreachable collectors: a UDP one costs only lost
datagrams; a TCP one is logged and retried with backoff; nothing crashes
and the data plane forwards every packet. A reliable TCP collector that
never comes keeps the DESTROYs on the dying list (exit status 3 after the
drain timeout, undelivered_destroy > 0); an unreliable one does not."""

import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipfixlib  # noqa: E402
from ipfixlib import dpctlib  # noqa: E402

COLL = {'host': '127.0.0.1', 'port': 4739}
CASES = [
    ('unknown key', {'ipfix': {'collectors': [COLL], 'bogus': 1}},
     'unknown key at $.export.ipfix.bogus'),
    ('unknown section', {'netflow': {}}, 'unknown key at $.export.netflow'),
    ('unknown collector key', {'ipfix': {'collectors': [dict(COLL, prot=1)]}},
     'unknown key at $.export.ipfix.collectors[0].prot'),
    ('hostname', {'ipfix': {'collectors': [dict(COLL, host='collector.example')]}},
     '$.export.ipfix.collectors[0].host: "collector.example" is not an IPv4 or IPv6 address'),
    ('bad address', {'ipfix': {'collectors': [dict(COLL, host='10.0.0.300')]}},
     '$.export.ipfix.collectors[0].host'),
    ('port out of range', {'ipfix': {'collectors': [dict(COLL, port=70000)]}},
     '$.export.ipfix.collectors[0].port: 70000 is out of range 1..65535'),
    ('port zero', {'ipfix': {'collectors': [dict(COLL, port=0)]}},
     '$.export.ipfix.collectors[0].port: 0 is out of range 1..65535'),
    ('port type', {'ipfix': {'collectors': [dict(COLL, port='4739')]}},
     '$.export.ipfix.collectors[0].port: expected integer, got string'),
    ('transport', {'ipfix': {'collectors': [dict(COLL, transport='sctp')]}},
     '$.export.ipfix.collectors[0].transport: "sctp" is not one of "udp", "tcp"'),
    ('reliable udp', {'ipfix': {'collectors': [dict(COLL, reliable=True)]}},
     '$.export.ipfix.collectors[0].reliable: only a tcp collector can be reliable'),
    ('duplicate', {'ipfix': {'collectors': [COLL, COLL]}},
     '$.export.ipfix.collectors[1]: the same collector as collectors[0]'),
    ('too many', {'ipfix': {'collectors': [dict(COLL, port=p + 1) for p in range(9)]}},
     '$.export.ipfix.collectors: 9 collectors, at most 8'),
    ('mtu', {'ipfix': {'collectors': [COLL], 'mtu': 100}},
     '$.export.ipfix.mtu: 100 is out of range 512..65000'),
    ('backoff order', {'ipfix': {'collectors': [COLL], 'reconnect_min_ms': 500,
                                 'reconnect_max_ms': 100}},
     '$.export.ipfix.reconnect_max_ms'),
    ('domain type', {'ipfix': {'collectors': [COLL], 'observation_domain_id': -1}},
     '$.export.ipfix.observation_domain_id: -1 is out of range'),
    ('paced tcp', {'ipfix': {'collectors': [dict(COLL, transport='tcp', max_rate_pps=100)]}},
     '$.export.ipfix.collectors[0].max_rate_pps: a tcp collector is not paced'),
    ('rate bits', {'ipfix': {'collectors': [COLL], 'max_rate_bps': 5000}},
     '$.export.ipfix.max_rate_bps: 5000 is below 100000 (0 is no limit)'),
    ('rate messages', {'ipfix': {'collectors': [dict(COLL, max_rate_pps=10 ** 8)]}},
     '$.export.ipfix.collectors[0].max_rate_pps: 100000000 is out of range 0..10000000'),
]


tel_last = {}


def tel_set(v):
    if v is not None:
        tel_last['v'] = v
    return v


def main():
    tap = dpctlib.Tap()
    dpctlib.need([dpctlib.DPCT, dpctlib.GEN], tap)
    d = dpctlib.tmpdir('ipfix_cfg')
    for i, (name, export, want) in enumerate(CASES):
        path = os.path.join(d, 'c%d.json' % i)
        with open(path, 'w') as f:
            json.dump({'export': export}, f)
        prefix, _ = dpctlib.uniq('ipfx_bad%d' % i)
        rc, out, err = dpctlib.run_dpct(dpctlib.dpct_cmd(prefix, path, replay=False), 60)
        tap.eq(rc, 1, '%s: exit status 1' % name)
        tap.check(want in err, '%s: stderr names %r' % (name, want), err[-400:])
    path = os.path.join(d, 'noev.json')
    with open(path, 'w') as f:
        json.dump({'events': {'enabled': False}, 'export': {'ipfix': {'collectors': [COLL]}}}, f)
    prefix, _ = dpctlib.uniq('ipfx_noev')
    rc, out, err = dpctlib.run_dpct(dpctlib.dpct_cmd(prefix, path, replay=False), 60)
    tap.eq(rc, 1, 'export without events: exit status 1')
    tap.check('$.export.ipfix: flow export needs events.enabled' in err,
              'export without events: named', err[-300:])

    pcap = dpctlib.gen(os.path.join(d, 'in.pcap'), 'mix', 300, seed=41)
    npk = len(dpctlib.read_pcap(pcap))
    udp_port = ipfixlib.free_port()
    tcp_port = ipfixlib.free_port(ipfixlib.socket.SOCK_STREAM)
    runs = [
        ('udp nobody listening', {'host': '127.0.0.1', 'port': udp_port}, 0),
        ('tcp down, unreliable', {'host': '127.0.0.1', 'port': tcp_port, 'transport': 'tcp',
                                  'reliable': False}, 0),
        ('tcp down, reliable', {'host': '127.0.0.1', 'port': tcp_port, 'transport': 'tcp'}, 3),
    ]
    for i, (name, coll, want_rc) in enumerate(runs):
        prefix, port_id = dpctlib.uniq('ipfx_down%d' % i)
        cfg = ipfixlib.export_cfg(port_id, [coll], reconnect_min_ms=20,
                                  reconnect_max_ms=200)
        stats = os.path.join(d, 'st%d.json' % i)
        drain = '6000' if want_rc == 3 else '2000'
        cmd = dpctlib.dpct_cmd(prefix, dpctlib.write_config(d, cfg, 'r%d.json' % i), rx=pcap,
                               tx=os.path.join(d, 'tx%d.pcap' % i), stats=stats,
                               app=['--flush-on-eof', '--drain-timeout-ms', drain])
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        tel = None
        if want_rc == 3:
            # While it waits for the collector: per-collector counters in telemetry.
            ipfixlib.wait_for(lambda: p.poll() is not None or (
                (tel_set(ipfixlib.telemetry(prefix, '/dpct/export')) or {}).get('0', {})
                .get('connect_failures', 0) > 1), 20)
            tel = tel_last.get('v')
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        rc = p.returncode
        if want_rc == 3:
            e0 = (tel or {}).get('0', {})
            tap.check(e0.get('transport') == 'tcp' and e0.get('connected') == 0 and
                      e0.get('connect_failures', 0) > 1 and 'records_refused' in e0 and
                      'templates_sent' in e0 and 'reconnects' in e0 and 'records_sent' in e0,
                      '%s: /dpct/export shows the collector\'s counters' % name, tel)
        tap.eq(rc, want_rc, '%s: exit status %d' % (name, want_rc)) or print('# ' + err[-800:])
        st = dpctlib.load_json(stats)
        tap.eq(dpctlib.counter(st, 'tx'), npk, '%s: every packet forwarded' % name)
        tap.eq(dpctlib.counter(st, 'insert'), 300, '%s: every flow tracked' % name)
        ex = st['export'][0]
        und = dpctlib.counter(st, 'undelivered_destroy')
        if coll.get('transport') == 'tcp':
            tap.check(ex['connect_failures'] >= 2 and 'connect failed' in err and
                      'retry in' in err, '%s: failed connects logged and retried' % name,
                      err[-500:])
            tap.check(ex['records_refused'] > 0 and not ex['connected'],
                      '%s: records refused while down' % name, ex)
            if want_rc == 3:
                tap.check(und > 0, '%s: the DESTROYs wait on the dying list (%d)' % (name, und))
            else:
                tap.eq(und, 0, '%s: an unreliable exporter does not hold DESTROYs' % name)
        else:
            tap.eq(ex['records_sent'], 300, '%s: records still sent (and lost)' % name)
            tap.eq(und, 0, '%s: undelivered_destroy 0' % name)
    shutil.rmtree(d, ignore_errors=True)
    tap.done()


if __name__ == '__main__':
    main()
