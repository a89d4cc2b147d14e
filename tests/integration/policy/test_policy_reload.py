#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Policy reloads under traffic. dpct forwards two endless captures
(net_pcap infinite_rx) while the test swaps the config file between two
rule sets 50 times, by `/dpct/reload` (what `dpct-ctl reload` sends) and by
SIGHUP, and tries bad rule files in between.

Port 0 carries UDP to ports 5000-5099, which both rule sets accept; port 1
carries ICMP echo requests and GRE, which both drop, and DNS queries, which
set A accepts and set B drops. So whichever generation judged a packet:
  - nothing received on port 0 is dropped,
  - what is forwarded from port 1 (tx of port 0) is at most its DNS packets,
  - rx = tx + dropped on every port pair (each packet judged exactly once),
  - the policy's drops are exactly the port drops (conntrack drops none),
  - the generation counter says 51 and both sets were in force at times.
Each bad file is refused with its JSON path and the old rules stay."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'app'))
import dpctlib as d  # noqa: E402

RELOADS = 50


def policy_a():
    return {'default': 'drop', 'rules': [
        {'state': ['established', 'related'], 'action': 'accept', 'name': 'est'},
        {'proto': 'udp', 'dport': '5000-5099', 'action': 'accept', 'name': 'app'},
        {'proto': 'udp', 'dport': 53, 'action': 'accept', 'name': 'dns'},
    ]}


def policy_b():
    return {'default': 'drop', 'rules': [
        {'proto': 'udp', 'dport': [53], 'action': 'drop', 'name': 'no-dns'},
        {'proto': 'udp', 'dport': ['5000-5049', '5050-5099'], 'action': 'accept'},
    ]}


BAD = [
    ({'rules': [{'proto': 'udp', 'dport': '99-1', 'action': 'accept'}]},
     '$.policy.rules[0].dport'),
    ({'rules': [{'action': 'allow'}]}, '$.policy.rules[0].action'),
    ({'default': 'drop', 'rules': [{'action': 'drop'}, {'src': '10.0.0.1/8',
                                                       'action': 'drop'}]},
     '$.policy.rules[1].src'),
    ({'rules': [{'state': 'new', 'action': 'notrack'}]}, '$.policy.rules[0]'),
]


def write_pcaps(tmp):
    code = '''
import sys
from scapy.all import Ether, IP, UDP, ICMP, GRE, wrpcap
e = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
a = [Ether(**e) / IP(src="10.0.0.%d" % (1 + i % 20), dst="192.0.2.1") /
     UDP(sport=20000 + i % 40, dport=5000 + i % 100) / (b"a" * 18) for i in range(600)]
b = []
for i in range(600):
    k = i % 3
    if k == 0:
        b.append(Ether(**e) / IP(src="192.0.2.%d" % (1 + i % 30), dst="10.0.0.1") /
                 ICMP(type=8, id=i % 50, seq=i))
    elif k == 1:
        b.append(Ether(**e) / IP(src="192.0.2.%d" % (1 + i % 30), dst="10.0.0.1", proto=47) /
                 GRE() / (b"g" * 20))
    else:
        b.append(Ether(**e) / IP(src="192.0.2.%d" % (1 + i % 30), dst="10.0.0.53") /
                 UDP(sport=30000 + i % 64, dport=53) / (b"q" * 20))
wrpcap(sys.argv[1], a)
wrpcap(sys.argv[2], b)
'''
    pa, pb = os.path.join(tmp, 'a.pcap'), os.path.join(tmp, 'b.pcap')
    subprocess.run(['/usr/bin/python3', '-c', code, pa, pb], check=True, timeout=120)
    return pa, pb


class Tel:
    """One telemetry connection for the whole run (as dpct-ctl talks)."""

    def __init__(self, prefix, deadline):
        path = os.path.join('/var/run/dpdk' if os.getuid() == 0 else os.path.join(
            os.environ.get('XDG_RUNTIME_DIR', '/tmp'), 'dpdk'), prefix, 'dpdk_telemetry.v2')
        last = None
        while time.time() < deadline:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                self.s.settimeout(10)
                self.s.connect(path)
                json.loads(self.s.recv(65536).decode())
                return
            except OSError as e:
                last = e
                self.s.close()
                time.sleep(0.2)
        raise RuntimeError('telemetry socket %s: %s' % (path, last))

    def cmd(self, c):
        self.s.send(c.encode())
        return json.loads(self.s.recv(1 << 20).decode()).get(c.split(',')[0])


def main():
    t = d.Tap()
    d.need([d.DPCT, d.CTL], t)
    tmp = d.tmpdir('polreload')
    gen = None
    prefix, port_id = d.uniq('polreload')
    pa, pb = write_pcaps(tmp)
    cfg = d.base_config(port_id, events={'enabled': False}, policy=policy_a(),
                        timeouts={'udp_unreplied': 600, 'icmp': 600, 'generic': 600,
                                  'gre_unreplied': 600})
    path = d.write_config(tmp, cfg)

    def write_policy(pol):
        c = dict(cfg)
        c['policy'] = pol
        tmpf = path + '.new'
        with open(tmpf, 'w') as f:
            json.dump(c, f)
        os.rename(tmpf, path)

    stats = os.path.join(tmp, 'stats.json')
    cmd = d.dpct_cmd(prefix, path, replay=False, lcores='0-1', stats=stats,
                     extra_eal=['--vdev', 'net_pcap0,rx_pcap=%s,tx_pcap=/dev/null,infinite_rx=1'
                                % pa,
                                '--vdev', 'net_pcap1,rx_pcap=%s,tx_pcap=/dev/null,infinite_rx=1'
                                % pb])
    dp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = ''
    try:
        tel = Tel(prefix, time.time() + 60)
        # The socket exists from EAL init on; the commands come a little later.
        deadline = time.time() + 30
        r = tel.cmd('/dpct/rules')
        while r is None and time.time() < deadline:
            time.sleep(0.1)
            r = tel.cmd('/dpct/rules')
        t.eq(r['generation'], 1, 'generation 1 at start')
        t.eq(r['n_rules'], 3, 'rule set A loaded from the config')
        rx0 = tel.cmd('/dpct/stats').get('found', 0)
        time.sleep(0.3)
        t.check(tel.cmd('/dpct/stats').get('found', 0) > rx0, 'traffic flows before reloads')
        gen, ok, bad_ok = 1, True, True
        both = {'a': 0, 'b': 0}
        for i in range(RELOADS):
            use_b = i % 2 == 0
            write_policy(policy_b() if use_b else policy_a())
            if i % 5 == 4:
                os.kill(dp.pid, signal.SIGHUP)
                deadline = time.time() + 20
                while time.time() < deadline and tel.cmd('/dpct/rules')['generation'] != gen + 1:
                    time.sleep(0.01)
                g = tel.cmd('/dpct/rules')['generation']
            else:
                rep = tel.cmd('/dpct/reload')
                g = rep.get('generation') if rep.get('ok') else None
            if g != gen + 1:
                ok = False
                print('# reload %d: generation %r, expected %d' % (i, g, gen + 1))
                break
            gen = g
            time.sleep(0.02)
            dropped = tel.cmd('/dpct/rules')['dropped']
            both['b' if use_b else 'a'] += 1
            if i % 12 == 6:
                pol, where = BAD[(i // 12) % len(BAD)]
                write_policy(pol)
                rep = tel.cmd('/dpct/reload')
                r = tel.cmd('/dpct/rules')
                if rep.get('ok') or where not in rep.get('error', '') or \
                        r['generation'] != gen or r['dropped'] < dropped:
                    bad_ok = False
                    print('# bad file %s: %r, generation %r' % (where, rep, r['generation']))
                write_policy(policy_b() if use_b else policy_a())
        t.check(ok, '%d reloads under traffic, each a new generation' % RELOADS)
        t.check(bad_ok, 'bad rule files refused with their JSON path, old rules kept')
        rc, o, e = d.ctl(prefix, 'reload')
        t.eq(rc, 0, 'dpct-ctl reload')
        gen += 1
        # timeout_policies are read at start: a reload that finds them changed
        # installs the rules and logs that the policies wait for a restart.
        c = dict(cfg)
        c['policy'] = policy_a()
        c['timeout_policies'] = {'policies': {'short': {'udp': {'replied': 30}}},
                                 'rules': [{'policy': 'short'}]}
        with open(path + '.new', 'w') as f:
            json.dump(c, f)
        os.rename(path + '.new', path)
        rc, o, e = d.ctl(prefix, 'reload')
        t.eq(rc, 0, 'dpct-ctl reload of a file with changed timeout_policies')
        gen += 1
        write_policy({'rules': [{'zone': 70000, 'action': 'drop'}]})
        rc, o, e = d.ctl(prefix, 'reload')
        t.check(rc == 1 and '$.policy.rules[0].zone' in e, 'dpct-ctl reload of a bad file fails',
                e)
        rc, o, e = d.ctl(prefix, 'rules')
        # The last good file written holds set A (an odd reload index).
        t.check(rc == 0 and ('generation %d' % gen) in o and '"dns"' in o and 'no-dns' not in o,
                'dpct-ctl rules prints the rules in force', o + e)
        time.sleep(0.2)
    except Exception as ex:  # noqa: BLE001
        t.check(False, 'run', repr(ex))
    finally:
        rc, out = d.stop(dp, timeout=60)
    t.eq(rc, 0, 'dpct exits cleanly after SIGINT')
    t.check('timeout_policies changed in %s: not applied by a reload' % path in out,
            'the reload logged that the changed timeout policies wait for a restart',
            out[-2000:])
    try:
        s = d.load_json(stats)
    except (OSError, ValueError) as ex:
        t.check(False, 'stats json', repr(ex) + out[-2000:])
        t.done()
    p0, p1 = s['ports'][0], s['ports'][1]
    pol = s.get('policy', {})
    tot = s['totals']
    t.check(p0['rx'] > 10000 and p1['rx'] > 10000, 'long run: both ports carried traffic',
            '%r %r' % (p0, p1))
    t.eq(p0['dropped'], 0, 'port 0 (accepted by both sets): nothing dropped')
    t.eq(p1['tx'], p0['rx'], 'port 0: everything forwarded')
    dns = (p1['rx'] + 2) // 3  # every third packet of capture b, from its first
    t.check(p0['tx'] <= dns, 'port 1: only DNS forwarded (%d of at most %d)' % (p0['tx'], dns))
    t.check(0 < p0['tx'] < dns, 'port 1: DNS forwarded under set A, dropped under set B')
    t.eq(p1['dropped'] + p0['tx'], p1['rx'], 'port 1: rx = forwarded + dropped')
    t.eq(pol.get('generation'), gen, 'final generation')
    t.eq(pol.get('reloads'), gen - 1, 'reload counter')
    t.check(pol.get('reload_failed', 0) >= 1, 'refused reloads counted')
    t.eq(pol.get('dropped'), tot['dropped'], 'policy drops are all the drops')
    t.eq(pol.get('accepted', 0) + pol.get('dropped', 0), tot['rx'],
         'every packet judged by policy exactly once')
    t.eq(tot['tx'] + tot['dropped'], tot['rx'], 'rx = tx + dropped')
    t.done()


if __name__ == '__main__':
    main()
