# SPDX-License-Identifier: BSD-3-Clause
"""NAT in the flow export, end to end (docs/export.md, "NAT"): the real dpct
replays a dpct-gen mix through a NAT configuration and exports to two real
nfcapd, one over UDP and one over TCP (nfcapd reads IPFIX over UDP only: a
test collector of ours takes the TCP stream and hands each IPFIX message,
unchanged, to the second nfcapd as one datagram).

Run 1, NAPT: a dnat rule (192.0.2.10:80 -> 10.0.0.5:8080) and a snat rule
(10.0.0.0/8 -> 198.51.100.0/28). For every DESTROY event dpct-events printed,
`nfdump -o json` of each nfcapd has exactly one record with its original
tuple and counts; for a translated flow (IPS_SRC_NAT/IPS_DST_NAT in its
status) with the post-NAT address and port equal to the reverse of the
event's reply tuple and natEvent 5, `nfdump -o nel` prints them; an
untranslated flow has no NAT fields.

Run 2, port blocks (a block-mode pool, 512 ports a block): both nfcapd list
one "Port block allocation" (natEvent 16) and one "de-allocation" (17) per
inside address, from that address's pool address; every translated flow's
post-NAT port lies in its inside address's block (the portRange IEs, read
by our own decoder from the TCP stream: nfcapd decodes them from IPFIX only
from 1.7.4 on, and where it does they are checked too)."""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipfixlib  # noqa: E402
from ipfixlib import dpctlib  # noqa: E402

IPS_SRC_NAT, IPS_DST_NAT = 1 << 4, 1 << 5
NAT_FIELDS = {225: 'xsrc', 226: 'xdst', 227: 'xsport', 228: 'xdport', 230: 'nat_event',
              323: 'event_ms', 361: 'pb_start', 362: 'pb_end', 363: 'pb_step',
              364: 'pb_ports'}
FLOWS = 300
BLOCK = 512


class RelayDecoder(ipfixlib.Decoder):
    """Decodes like ipfixlib's, and sends each message on to a UDP collector."""

    def __init__(self, port):
        super().__init__()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.to = ('127.0.0.1', port)
        self.relayed = 0

    def message(self, m):
        self.sock.sendto(m, self.to)
        self.relayed += 1
        return super().message(m)


def start_nfcapd(d, name):
    nfdir = os.path.join(d, name)
    os.mkdir(nfdir)
    port = ipfixlib.free_port()
    p = subprocess.Popen(['nfcapd', '-b', '127.0.0.1', '-p', str(port), '-w', nfdir,
                          '-t', '3600', '-B', str(8 << 20)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    return p, port, nfdir


def stop_nfcapd(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()


def nfdump(nfdir, fmt):
    env = dict(os.environ, TZ='UTC')
    return subprocess.run(['nfdump', '-R', nfdir, '-o', fmt], capture_output=True, text=True,
                          env=env, timeout=60)


def nat_config(mode):
    if mode == 'napt':
        pools = [{'name': 'public', 'addresses': '198.51.100.0/28', 'ports': '1024-65535'}]
        rules = [{'name': 'web-in', 'action': 'dnat', 'proto': 'tcp', 'dst': '192.0.2.10',
                  'dport': 80, 'to': '10.0.0.5', 'to_port': 8080},
                 {'name': 'lan-out', 'action': 'snat', 'in_port': 0, 'src': '10.0.0.0/8',
                  'pool': 'public'}]
    else:
        pools = [{'name': 'cgnat', 'addresses': '203.0.113.1-203.0.113.4',
                  'ports': '1024-65535', 'mode': 'block', 'block_size': BLOCK,
                  'blocks_per_address': 1}]
        rules = [{'name': 'cgn', 'action': 'snat', 'in_port': 0, 'src': '10.0.0.0/8',
                  'pool': 'cgnat'}]
    return {'pools': pools, 'rules': rules}


def ip_of(v):
    return socket.inet_ntoa(struct.pack('>I', v))


def run_box(tap, d, mode, pcap, udp_port, tcp_port, domain):
    prefix, port_id = dpctlib.uniq('natx_' + mode)
    cfg = ipfixlib.export_cfg(port_id, [{'host': '127.0.0.1', 'port': udp_port},
                                        {'host': '127.0.0.1', 'port': tcp_port,
                                         'transport': 'tcp'}],
                              observation_domain_id=domain)
    cfg['nat'] = nat_config(mode)
    cfg_path = dpctlib.write_config(d, cfg, mode + '.json')
    evj, summ = os.path.join(d, mode + '_ev.json'), os.path.join(d, mode + '_sum.json')
    lis = dpctlib.start_events(port_id, evj, summ, reliable=True, rcvbuf=8 << 20,
                               idle_ms=2000, max_s=120)
    stats = os.path.join(d, mode + '_stats.json')
    cmd = dpctlib.dpct_cmd(prefix, cfg_path, rx=pcap, tx=os.path.join(d, mode + '_tx.pcap'),
                           stats=stats, app=['--flush-on-eof', '--drain-timeout-ms', '20000'] +
                           dpctlib.wait_listeners_args(1))
    rc, out, err = dpctlib.run_dpct(cmd, timeout=180)
    dpctlib.finish(lis, 60)
    if not tap.eq(rc, 0, '%s: dpct exits 0 with the nat section' % mode):
        print('# ' + err[-2000:].replace('\n', '\n# '))
        return [], {}
    st = dpctlib.load_json(stats)
    ex = st.get('export', [])
    tap.check(len(ex) == 2 and all(e['records_sent'] > 0 and e['nat_records'] > 0
                                   for e in ex),
              '%s: both exporters sent translated flow records' % mode, json.dumps(ex)[:600])
    tap.eq(dpctlib.counter(st, 'undelivered_destroy'), 0, '%s: undelivered_destroy 0' % mode)
    return ipfixlib.destroys(evj), ex


def post_nat(e):
    """(xsrc, xdst, xsport, xdport) of a DESTROY event: the reverse of its
    reply tuple; ICMP records carry no ports."""
    r = e['reply']
    icmp = e['l4proto'] in (1, 58)
    return (r['dst'], r['src'], 0 if icmp else r['dport'], 0 if icmp else r['sport'])


def nf_post_nat(r):
    icmp = r['proto'] in (1, 58)
    return (r.get('src4_xlt_ip'), r.get('dst4_xlt_ip'),
            0 if icmp else int(r.get('src_xlt_port', -1)),
            0 if icmp else int(r.get('dst_xlt_port', -1)))


def check_flows(tap, tag, evs, nfdir, want_dnat):
    p = nfdump(nfdir, 'json')
    tap.eq(p.returncode, 0, '%s: nfdump -R -o json reads the files' % tag)
    try:
        recs = json.loads(p.stdout) if p.stdout.strip() else []
    except ValueError as e:
        tap.check(False, '%s: nfdump json parses' % tag, str(e) + p.stdout[:300])
        return []
    flows = [r for r in recs if 'proto' in r]
    by_key = {}
    for r in flows:
        by_key.setdefault(ipfixlib.nf_flow(r), []).append(r)
    nat = [e for e in evs if e['status'] & (IPS_SRC_NAT | IPS_DST_NAT)]
    snat = [e for e in nat if e['status'] & IPS_SRC_NAT]
    dnat = [e for e in nat if e['status'] & IPS_DST_NAT]
    tap.check(len(snat) > 0 and (len(dnat) > 0) == want_dnat,
              '%s: the events have translated flows (%d snat, %d dnat)' % (tag, len(snat),
                                                                           len(dnat)))
    tap.eq(len(flows), len(evs), '%s: nfdump lists one record per DESTROY event' % tag)
    bad = []
    for e in evs:
        got = by_key.get(ipfixlib.ev_flow(e), [])
        if len(got) != 1:
            bad.append(('count %d' % len(got), ipfixlib.ev_flow(e)))
            continue
        r = got[0]
        if e in nat:
            if nf_post_nat(r) != post_nat(e) or r.get('nat_event_id') != '5':
                bad.append(('post-NAT', ipfixlib.ev_flow(e), post_nat(e), nf_post_nat(r),
                            r.get('nat_event_id')))
        elif 'src4_xlt_ip' in r or 'nat_event_id' in r:
            bad.append(('NAT fields on an untranslated flow', ipfixlib.ev_flow(e)))
    tap.check(not bad, '%s: every flow once, translated ones with the post-NAT address '
              'and port of their reply tuple and natEvent 5, the others without' % tag,
              str(bad[:4]))
    # The NAT output format prints the translated source of a SNAT flow.
    nel = nfdump(nfdir, 'nel').stdout
    e = next((x for x in snat if x['l4proto'] in (6, 17)), None)
    if e is not None:
        xs = post_nat(e)
        want = '%s:%d' % (xs[0], xs[2])
        inside = '%s:%d' % (e['orig']['src'], e['orig']['sport'])
        # The flow from the inside address (not the server's replies, a flow of their own).
        line = [ln for ln in nel.splitlines()
                if '->' in ln and ln.split('->')[0].split()[-1] == inside]
        tap.check(len(line) == 1 and want in line[0],
                  '%s: nfdump -o nel prints %s -> ... %s' % (tag, inside, want), str(line[:2]))
    return recs


def check_blocks(tap, tag, evs, recs, ours):
    """Port-block records: nfdump's (events, addresses) and ours (ranges)."""
    nat = [e for e in evs if e['status'] & IPS_SRC_NAT]
    inside = {}
    for e in nat:
        inside.setdefault(e['orig']['src'], set()).add(post_nat(e)[0])
    tap.check(len(inside) > 0 and all(len(v) == 1 for v in inside.values()),
              '%s: each inside address used one pool address' % tag,
              str([(k, v) for k, v in inside.items() if len(v) != 1][:3]))
    blk = [r for r in recs if r.get('nat_event_id') in ('16', '17')]
    allocs = sorted((r.get('src4_addr'), r.get('src4_xlt_ip'))
                    for r in blk if r['nat_event_id'] == '16')
    frees = sorted((r.get('src4_addr'), r.get('src4_xlt_ip'))
                   for r in blk if r['nat_event_id'] == '17')
    want = sorted((k, next(iter(v))) for k, v in inside.items())
    tap.check(allocs == want, '%s: nfdump lists one port block allocation (16) per inside '
              'address, from its pool address (%d)' % (tag, len(want)),
              'got %s want %s' % (allocs[:3], want[:3]))
    tap.check(frees == want, '%s: ... and one de-allocation (17) each after the flush' % tag,
              'got %d of %d: %s' % (len(frees), len(want), frees[:3]))
    if any('pblock_start' in r for r in blk):
        tap.check(all(int(r['pblock_end']) - int(r['pblock_start']) + 1 == BLOCK for r in blk),
                  '%s: nfdump decodes the port ranges' % tag)
    # The ranges, from the IPFIX stream itself.
    mine = [r for r in ours if r.get('nat_event') in (16, 17)]
    ranges = {}
    ok = len(mine) == len(blk)
    for r in mine:
        ok = ok and r.get('pb_ports') == BLOCK and r.get('pb_step') == 1 and \
            r['pb_end'] - r['pb_start'] + 1 == BLOCK
        if r['nat_event'] == 16:
            ranges[r['src']] = (ip_of(r['xsrc']), r['pb_start'], r['pb_end'])
    tap.check(ok, '%s: our decoder reads every block: %d ports, step 1' % (tag, BLOCK),
              str(mine[:2]))
    outside = []
    for e in nat:
        xs = post_nat(e)
        rg = ranges.get(e['orig']['src'])
        if e['l4proto'] in (6, 17) and (rg is None or rg[0] != xs[0] or
                                        not rg[1] <= xs[2] <= rg[2]):
            outside.append((e['orig']['src'], xs, rg))
    tap.check(not outside, '%s: every translated TCP/UDP flow\'s port is in its inside '
              'address\'s block' % tag, str(outside[:3]))


def main():
    tap = dpctlib.Tap()
    for tool in ('nfcapd', 'nfdump'):
        if shutil.which(tool) is None:
            tap.check(False, '%s installed (scripts/setup.sh)' % tool)
            tap.done()
    dpctlib.need([dpctlib.DPCT, dpctlib.GEN, dpctlib.EVENTS], tap)
    ipfixlib.IE.update(NAT_FIELDS)
    d = dpctlib.tmpdir('nat_nfdump')
    pcap = dpctlib.gen(os.path.join(d, 'mix.pcap'), 'mix', FLOWS, seed=21)
    for domain, mode in ((1, 'napt'), (2, 'block')):
        nf_udp, udp_port, dir_udp = start_nfcapd(d, mode + '_udp')
        nf_tcp, tcp_in, dir_tcp = start_nfcapd(d, mode + '_tcp')
        relay = ipfixlib.TcpCollector(rcvbuf=1 << 20)
        relay.dec = RelayDecoder(tcp_in)
        relay.start()
        time.sleep(0.5)
        tap.check(nf_udp.poll() is None and nf_tcp.poll() is None,
                  '%s: two nfcapd run (udp %d, relay %d)' % (mode, udp_port, tcp_in))
        evs, ex = run_box(tap, d, mode, pcap, udp_port, relay.port, domain)
        ipfixlib.wait_for(lambda: sum(n for _, n in relay.headers) >=
                          (ex[1]['records_sent'] if len(ex) == 2 else 0), 10)
        time.sleep(0.5)
        relay.stop()
        stop_nfcapd(nf_udp)
        stop_nfcapd(nf_tcp)
        tap.check(not relay.errors and relay.dec.relayed > 0,
                  '%s: the TCP stream decodes; %d messages relayed' % (mode, relay.dec.relayed),
                  str(relay.errors[:3]))
        if not evs:
            continue
        for tag, nfdir in (('udp', dir_udp), ('tcp', dir_tcp)):
            recs = check_flows(tap, '%s/%s' % (mode, tag), evs, nfdir, mode == 'napt')
            if mode == 'block':
                check_blocks(tap, '%s/%s' % (mode, tag), evs, recs, relay.records)
    shutil.rmtree(d, ignore_errors=True)
    tap.done()


if __name__ == '__main__':
    main()
