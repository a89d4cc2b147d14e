# SPDX-License-Identifier: BSD-3-Clause
"""IPFIX export to pmacct's nfacctd (issue 11, docs/export.md): nfacctd on a
loopback UDP port with the print plugin (JSON, appended to a file, the
stand-in for the Kafka plugin of the docs) receives dpct's export of a
mixed capture; every flow dpct destroyed appears once with the original
direction's packets, bytes, TCP flags and start/end times of its DESTROY
event (nfacctd does not read RFC 5103's reverse elements)."""

import collections
import json
import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipfixlib  # noqa: E402
from ipfixlib import dpctlib  # noqa: E402


def ts_ms(s):
    import calendar
    day, frac = s.split('.') if '.' in s else (s, '0')
    return calendar.timegm(time.strptime(day, '%Y-%m-%d %H:%M:%S')) * 1000 + int(frac[:3])


PROTOS = {'icmp': 1, 'tcp': 6, 'udp': 17, 'gre': 47, 'esp': 50, 'ipv6-icmp': 58}


def proto_num(name):
    if name in PROTOS:
        return PROTOS[name]
    try:
        return int(name)
    except ValueError:
        return socket.getprotobyname(name)


def main():
    tap = dpctlib.Tap()
    if shutil.which('nfacctd') is None:
        tap.check(False, 'nfacctd installed (scripts/setup.sh: pmacct)')
        tap.done()
    dpctlib.need([dpctlib.DPCT, dpctlib.GEN, dpctlib.EVENTS], tap)
    d = dpctlib.tmpdir('ipfix_pmacct')
    port = ipfixlib.free_port()
    out = os.path.join(d, 'flows.json')
    conf = os.path.join(d, 'nfacctd.conf')
    with open(conf, 'w') as f:
        f.write('daemonize: false\nnfacctd_ip: 127.0.0.1\nnfacctd_port: %d\n'
                'nfacctd_time_new: false\nplugins: print[flows]\n'
                'aggregate[flows]: peer_src_ip, src_host, dst_host, src_port, dst_port, proto, '
                'tcpflags, timestamp_start, timestamp_end, in_iface\n'
                'print_output[flows]: json\nprint_output_file[flows]: %s\n'
                'print_output_file_append[flows]: true\nprint_refresh_time[flows]: 1\n'
                % (port, out))
    env = dict(os.environ, TZ='UTC')
    nfa = subprocess.Popen(['nfacctd', '-f', conf], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, env=env)
    time.sleep(1.0)
    tap.check(nfa.poll() is None, 'nfacctd runs on udp port %d' % port)
    pcap = dpctlib.gen(os.path.join(d, 'in.pcap'), 'mix', 200, seed=51)
    prefix, port_id = dpctlib.uniq('ipfx_pm')
    cfg = ipfixlib.export_cfg(port_id, [{'host': '127.0.0.1', 'port': port}],
                              observation_domain_id=3)
    evj, summ = os.path.join(d, 'ev.json'), os.path.join(d, 'sum.json')
    lis = dpctlib.start_events(port_id, evj, summ, reliable=False, rcvbuf=8 << 20,
                               idle_ms=2000, max_s=120)
    stats = os.path.join(d, 'st.json')
    cmd = dpctlib.dpct_cmd(prefix, dpctlib.write_config(d, cfg), rx=pcap,
                           tx=os.path.join(d, 'tx.pcap'), stats=stats,
                           app=['--flush-on-eof'] + dpctlib.wait_listeners_args(1))
    rc, o, err = dpctlib.run_dpct(cmd, timeout=120)
    dpctlib.finish(lis, 60)
    tap.eq(rc, 0, 'dpct exits 0') or print('# ' + err[-800:])
    want = collections.Counter()
    for e in ipfixlib.destroys(evj):
        f = ipfixlib.ev_flow(e)
        want[(f[1], f[2], f[3], f[4], e['l4proto'], f[5], f[6], f[9], f[10])] += 1

    def lines():
        if not os.path.exists(out):
            return []
        with open(out) as fh:
            return [json.loads(ln) for ln in fh if ln.strip().startswith('{')]
    ipfixlib.wait_for(lambda: len(lines()) >= sum(want.values()), 20)
    nfa.terminate()
    try:
        nfa.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        nfa.kill()
    got = collections.Counter()
    for r in lines():
        icmp = r.get('ip_proto') in ('icmp', 'ipv6-icmp')
        got[(r['ip_src'], r['ip_dst'], 0 if icmp else r['port_src'],
             0 if icmp else r['port_dst'], proto_num(r['ip_proto']), r['packets'], r['bytes'],
             ts_ms(r['timestamp_start']), ts_ms(r['timestamp_end']))] += 1
    tap.eq(sum(want.values()), dpctlib.counter(dpctlib.load_json(stats), 'insert'),
           'a DESTROY event for every flow')
    tap.check(got == want, 'nfacctd shows every destroyed flow once: addresses, ports, '
              'protocol, packets, bytes, start/end',
              'missing %s\nextra %s' % (list((want - got).items())[:4],
                                        list((got - want).items())[:4]))
    flags = [r for r in lines() if r.get('ip_proto') == 'tcp']
    tap.check(flags and all(int(r['tcp_flags']) != 0 for r in flags),
              'TCP flags reach nfacctd (one-byte tcpControlBits)')
    shutil.rmtree(d, ignore_errors=True)
    tap.done()


if __name__ == '__main__':
    main()
