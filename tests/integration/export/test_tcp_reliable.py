# SPDX-License-Identifier: BSD-3-Clause
"""IPFIX over TCP as a reliable listener (issue 11). The collector is a
test collector of our own (ipfixlib.TcpCollector, Python, loopback): it has
a 4 KiB receive buffer and stops reading for 3 s shortly after the export
starts, while dpct replays 20,000 short TCP connections and flushes. The
exporter's ring (64 KiB) and send buffer fill, its refusals are nacks, and
the DESTROYs wait on the dying list (grace re-arm). After the collector
resumes, every flow's final record has arrived exactly once, over one
connection, and undelivered_destroy is 0. A second run with the collector
down at start (it comes up once dpct has failed to connect twice)
shows the logged retries and the same result."""

import collections
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipfixlib  # noqa: E402
from ipfixlib import dpctlib  # noqa: E402


def run(tap, d, name, pcap, col_port, flows, start_collector_late=None):
    prefix, port_id = dpctlib.uniq('ipfx_' + name)
    cfg = ipfixlib.export_cfg(port_id, [{'host': '127.0.0.1', 'port': col_port,
                                         'transport': 'tcp'}],
                              buffer_bytes=65536, tcp_message_bytes=4096, sndbuf=4096,
                              reconnect_min_ms=50, reconnect_max_ms=400)
    cfg['events']['destroy_grace_ms'] = 300
    # The pause must not demote the exporter: the dying entries it causes stay
    # above the default 10 % share of the table for over a second (the
    # demotion itself is tested in tests/integration/app/test_trust.py).
    cfg['events']['max_dying_pct'] = 0
    stats = os.path.join(d, name + '_st.json')
    cmd = dpctlib.dpct_cmd(prefix, dpctlib.write_config(d, cfg, name + '.json'), rx=pcap,
                           tx=os.path.join(d, name + '_tx.pcap'), stats=stats,
                           app=['--flush-on-eof', '--drain-timeout-ms', '60000'])
    import subprocess
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if start_collector_late is not None:
        start_collector_late(prefix)
    try:
        out, err = p.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    tap.eq(p.returncode, 0, '%s: dpct exits 0' % name) or print('# ' + (err or '')[-1500:])
    st = dpctlib.load_json(stats) if os.path.exists(stats) else {'totals': {}}
    return st, (out or '') + (err or '')


def check_once(tap, name, col, st, flows):
    ex = st.get('export', [{}])[0]
    finals = [r for r in col.records if r.get('end_reason') != 2]
    per = collections.Counter(r['flow_id'] for r in finals)
    tap.check(not col.errors, '%s: the stream decodes' % name, col.errors[:3])
    tap.eq(dpctlib.counter(st, 'insert'), flows, '%s: %d connections tracked' % (name, flows))
    tap.eq(len(per), flows, '%s: a final record for every flow' % name)
    dups = [k for k, v in per.items() if v != 1]
    tap.check(not dups, '%s: each exactly once' % name, 'duplicated: %s' % dups[:10])
    tap.eq(dpctlib.counter(st, 'undelivered_destroy'), 0, '%s: undelivered_destroy 0' % name)
    tap.eq(ex.get('unacked_at_exit'), 0, '%s: nothing left unacknowledged at exit' % name)
    return ex


def main():
    tap = dpctlib.Tap()
    dpctlib.need([dpctlib.DPCT, dpctlib.GEN], tap)
    d = dpctlib.tmpdir('ipfix_tcp')
    flows = 20000
    pcap = dpctlib.gen(os.path.join(d, 'tcp.pcap'), 'short-tcp', flows, concurrency=256,
                       seed=31)

    # 1. A collector that stops reading for 3 s.
    col = ipfixlib.TcpCollector(pause_after_s=0.0, pause_s=3.0, rcvbuf=4096)
    col.start()
    st, log = run(tap, d, 'pause', pcap, col.port, flows)
    ipfixlib.wait_for(lambda: len(col.records) >= flows, 10)
    col.stop()
    ex = check_once(tap, 'pause', col, st, flows)
    tap.check(ex.get('records_refused', 0) > 0, 'pause: the exporter refused records while '
              'the collector did not read (nacks)', ex)
    tap.check(dpctlib.counter(st, 'destroy_resent') > 0,
              'pause: refused DESTROYs waited on the dying list and were resent')
    tap.eq(col.connections, 1, 'pause: one connection, no reconnect')
    tap.eq(ex.get('reconnects'), 0, 'pause: reconnects 0')

    # 2. The collector is down when dpct starts and comes up later.
    port = ipfixlib.free_port(ipfixlib.socket.SOCK_STREAM)
    late = {}

    def start_late(prefix):
        # Up only once dpct has failed to connect at least twice (telemetry).
        ipfixlib.wait_for(lambda: ((ipfixlib.telemetry(prefix, '/dpct/export') or {})
                                   .get('0', {}).get('connect_failures', 0) >= 2), 30)
        c = ipfixlib.TcpCollector()
        c.lsock.close()
        c.lsock = ipfixlib.socket.socket(ipfixlib.socket.AF_INET, ipfixlib.socket.SOCK_STREAM)
        c.lsock.setsockopt(ipfixlib.socket.SOL_SOCKET, ipfixlib.socket.SO_REUSEADDR, 1)
        c.lsock.bind(('127.0.0.1', port))
        c.lsock.listen(4)
        c.lsock.settimeout(0.1)
        c.port = port
        c.start()
        late['c'] = c

    small = dpctlib.gen(os.path.join(d, 'small.pcap'), 'short-tcp', 2000, seed=32)
    st2, log2 = run(tap, d, 'late', small, port, 2000, start_collector_late=start_late)
    c = late['c']
    ipfixlib.wait_for(lambda: len(c.records) >= 2000, 10)
    c.stop()
    ex2 = check_once(tap, 'late', c, st2, 2000)
    tap.check(ex2.get('connect_failures', 0) > 0 and 'connect failed' in log2,
              'late: the failed connects are logged and retried', log2[-600:])
    tap.check(ex2.get('templates_sent', 0) >= 1, 'late: templates open the connection')
    shutil.rmtree(d, ignore_errors=True)
    tap.done()


if __name__ == '__main__':
    main()
