# SPDX-License-Identifier: BSD-3-Clause
"""Wireshark's IPFIX decoder on dpct's export (issue 11): dpct exports a
mixed IPv4 and an IPv6 capture over UDP to a test collector of our own
(ipfixlib.UdpCollector), which writes every datagram it receives to a pcap;
`tshark -r pcap -d udp.port==N,cflow` must decode every message as IPFIX
with no malformed-packet or error-level expert warning, and find the
templates and all the data records."""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipfixlib  # noqa: E402
from ipfixlib import dpctlib  # noqa: E402


def main():
    tap = dpctlib.Tap()
    if shutil.which('tshark') is None:
        tap.check(False, 'tshark installed (scripts/setup.sh)')
        tap.done()
    dpctlib.need([dpctlib.DPCT, dpctlib.GEN], tap)
    d = dpctlib.tmpdir('ipfix_tshark')
    cap = os.path.join(d, 'export.pcap')
    col = ipfixlib.UdpCollector(pcap=cap)
    col.start()
    total_sent = 0
    for i, ipv6 in enumerate((False, True)):
        pcap = dpctlib.gen(os.path.join(d, 'in%d.pcap' % i), 'mix', 150, ipv6=ipv6, seed=21 + i)
        prefix, port_id = dpctlib.uniq('ipfx_ts%d' % i)
        cfg = ipfixlib.export_cfg(port_id, [{'host': '127.0.0.1', 'port': col.port}],
                                  observation_domain_id=5 + i, mtu=1200)
        stats = os.path.join(d, 'st%d.json' % i)
        cmd = dpctlib.dpct_cmd(prefix, dpctlib.write_config(d, cfg, 'c%d.json' % i), rx=pcap,
                               tx=os.path.join(d, 'tx%d.pcap' % i), stats=stats,
                               app=['--flush-on-eof'])
        rc, out, err = dpctlib.run_dpct(cmd, timeout=120)
        tap.eq(rc, 0, 'dpct run %d exits 0' % i) or print('# ' + err[-800:])
        total_sent += dpctlib.load_json(stats)['export'][0]['records_sent']
    ipfixlib.wait_for(lambda: len(col.records) >= total_sent, 10)
    col.stop()
    tap.check(not col.errors, 'our decoder reads every datagram', col.errors[:3])
    tap.eq(len(col.records), total_sent, 'every exported record arrived')
    base = ['tshark', '-n', '-r', cap, '-d', 'udp.port==%d,cflow' % col.port]
    p = subprocess.run(base + ['-V'], capture_output=True, text=True, timeout=120)
    tap.eq(p.returncode, 0, 'tshark reads the capture')
    text = p.stdout + p.stderr
    bad = [ln for ln in text.splitlines() if 'Malformed' in ln or 'malformed' in ln or
           'Expert Info (Error' in ln or 'Expert Info (Warning' in ln]
    tap.check(not bad, 'no malformed packet or expert warning', '\n'.join(bad[:10]))
    p = subprocess.run(base + ['-T', 'fields', '-e', 'cflow.version', '-e', 'cflow.od_id'],
                       capture_output=True, text=True, timeout=120)
    lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
    tap.eq(len(lines), col.datagrams, 'tshark decodes every datagram as IPFIX')
    tap.check(lines and all(ln.split('\t')[0] == '10' for ln in lines), 'all version 10',
              lines[:3])
    doms = {ln.split('\t')[1] for ln in lines if '\t' in ln}
    tap.eq(doms, {'5', '6'}, 'both observation domains')
    p = subprocess.run(base + ['-T', 'fields', '-e', 'cflow.flow_id', '-e',
                               'cflow.flow_end_reason', '-e', 'cflow.srcaddrv6'],
                       capture_output=True, text=True, timeout=120)
    ids, reasons = [], set()
    for ln in p.stdout.splitlines():
        f = ln.split('\t')
        ids += [v for v in f[0].split(',') if v]
        if len(f) > 1:
            reasons |= {v for v in f[1].split(',') if v}
    tap.eq(len(ids), total_sent, 'tshark finds every data record (flowId)')
    tap.check(reasons and reasons <= {'1', '2', '3', '4', '5'},
              'flowEndReason decoded, in 1..5', reasons)
    tap.check('2001:db8' in p.stdout or 'fd00' in p.stdout, 'IPv6 records decoded')
    shutil.rmtree(d, ignore_errors=True)
    tap.done()


if __name__ == '__main__':
    main()
