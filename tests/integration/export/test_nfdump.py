# SPDX-License-Identifier: BSD-3-Clause
"""IPFIX export to a real nfcapd (issue 11): a two-box fleet (an IPv4 mix
and an IPv6 mix, observation domains 1 and 2) exports over UDP to one
nfcapd on a loopback port; `nfdump -R` must list every flow each box
destroyed, exactly once, with packets and bytes per direction and start/end
times (ms) equal to the box's own DESTROY events (dpct-events JSON)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipfixlib  # noqa: E402
from ipfixlib import dpctlib  # noqa: E402



def run_box(tap, name, d, pcap, port, domain, ipv6):
    prefix, port_id = dpctlib.uniq('ipfx_' + name)
    cfg = ipfixlib.export_cfg(port_id, [{'host': '127.0.0.1', 'port': port}],
                              observation_domain_id=domain)
    cfg_path = dpctlib.write_config(d, cfg, name + '.json')
    evj, summ = os.path.join(d, name + '_ev.json'), os.path.join(d, name + '_sum.json')
    lis = dpctlib.start_events(port_id, evj, summ, reliable=False, rcvbuf=8 << 20,
                               idle_ms=2000, max_s=120)
    stats = os.path.join(d, name + '_stats.json')
    cmd = dpctlib.dpct_cmd(prefix, cfg_path, rx=pcap, tx=os.path.join(d, name + '_tx.pcap'),
                           stats=stats, app=['--flush-on-eof'] + dpctlib.wait_listeners_args(1))
    rc, out, err = dpctlib.run_dpct(cmd, timeout=180)
    lrc, lerr = dpctlib.finish(lis, 60)
    tap.eq(rc, 0, '%s: dpct exits 0' % name) or print('# ' + err[-1500:])
    st = dpctlib.load_json(stats)
    ex = st.get('export', [])
    tap.check(len(ex) == 1 and ex[0]['records_sent'] > 0 and ex[0]['templates_sent'] >= 1,
              '%s: exporter counters in --stats-json' % name, json.dumps(ex))
    tap.eq(dpctlib.counter(st, 'undelivered_destroy'), 0, '%s: undelivered_destroy 0' % name)
    return ipfixlib.destroys(evj), st


def main():
    tap = dpctlib.Tap()
    for tool in ('nfcapd', 'nfdump'):
        if shutil.which(tool) is None:
            tap.check(False, '%s installed (scripts/setup.sh)' % tool)
            tap.done()
    dpctlib.need([dpctlib.DPCT, dpctlib.GEN, dpctlib.EVENTS], tap)
    d = dpctlib.tmpdir('ipfix_nfdump')
    nfdir = os.path.join(d, 'nf')
    os.mkdir(nfdir)
    port = ipfixlib.free_port()
    nfc = subprocess.Popen(['nfcapd', '-b', '127.0.0.1', '-p', str(port), '-w', nfdir,
                            '-t', '3600'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    time.sleep(0.5)
    tap.check(nfc.poll() is None, 'nfcapd runs on udp port %d' % port)
    a_pcap = dpctlib.gen(os.path.join(d, 'a.pcap'), 'mix', 300, seed=11)
    b_pcap = dpctlib.gen(os.path.join(d, 'b.pcap'), 'mix', 200, ipv6=True, seed=12)
    ev_a, st_a = run_box(tap, 'box_a', d, a_pcap, port, 1, False)
    ev_b, st_b = run_box(tap, 'box_b', d, b_pcap, port, 2, True)
    time.sleep(0.5)
    nfc.send_signal(signal.SIGTERM)
    try:
        nfc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        nfc.kill()
    env = dict(os.environ, TZ='UTC')
    p = subprocess.run(['nfdump', '-R', nfdir, '-o', 'json'], capture_output=True, text=True,
                       env=env, timeout=60)
    tap.eq(p.returncode, 0, 'nfdump -R reads the files')
    try:
        recs = json.loads(p.stdout) if p.stdout.strip() else []
    except ValueError as e:
        recs = []
        tap.check(False, 'nfdump json parses', str(e) + p.stdout[:300])
    flows = [r for r in recs if r.get('type') == 'FLOW']
    got = sorted(ipfixlib.nf_flow(r) for r in flows)
    want = sorted(ipfixlib.ev_flow(e) for e in ev_a + ev_b)
    tap.eq(len(want), dpctlib.counter(st_a, 'insert') + dpctlib.counter(st_b, 'insert'),
           'dpct-events saw a DESTROY for every flow of both boxes')
    tap.eq(len(got), len(want), 'nfdump lists as many flows as were destroyed')
    missing = [w for w in want if w not in got]
    extra = [g for g in got if g not in want]
    tap.check(got == want, 'every flow: tuple, packets and bytes per direction, start/end ms '
              'equal dpct\'s DESTROY events', 'missing %s\nextra %s' % (missing[:5], extra[:5]))
    v6 = [r for r in flows if 'src6_addr' in r]
    tap.eq(len(v6), len(ev_b), 'box b\'s flows are IPv6')
    sysids = {r.get('export_sysid') for r in flows}
    tap.check(len(sysids) == 2, 'two observation domains: two exporters in nfdump',
              str(sysids))
    # nfdump's own loss accounting: no sequence failures for either domain.
    p = subprocess.run(['nfdump', '-R', nfdir, '-I'], capture_output=True, text=True, env=env,
                       timeout=60)
    seqf = [ln for ln in p.stdout.splitlines() if ln.startswith('Sequence failures')]
    tap.check(seqf and all(ln.split(':')[1].strip() == '0' for ln in seqf),
              'nfdump counts no sequence failure', p.stdout[-600:])
    shutil.rmtree(d, ignore_errors=True)
    tap.done()


if __name__ == '__main__':
    main()
