#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""NAT configuration at start and on reload, under traffic.

At start: a pool whose port range does not divide among the workers dpct
resolves (workers.count 0, three worker lcores) stops dpct with exit status
1 and the pool's JSON path.

A run started without NAT refuses a reload that adds NAT (restart instead).

Then dpct runs with a NAT config (pool "public" for the LAN 10.0.0.0/8, a
snat rule) and a two-rule policy, on net_pcap with an endless capture of
TCP SYNs from the LAN to the outside: the translated connections hold
bindings in pool "public". With the file changed under it, `/dpct/reload`
(what `dpct-ctl reload` sends) and `dpct-ctl reload`:
  (a) a bad nat section, with a changed policy beside it, and a section
      whose ports do not divide among the two running workers (the file
      alone, workers.count 0, passes): refused with the message and its
      JSON path, the policy's generation and rules stay, dpct keeps running;
  (b) a config without pool "public", or with its ports changed, while it
      holds bindings: refused with lib/nat's message naming the pool and
      its live bindings; the policy beside it and the bindings stay;
  (c) a harmless change (a rule added, pool "public" unchanged): accepted, a
      new policy generation, and the log says what NAT table was installed.
Every refusal is counted in reload_failed; dpct exits 0 after SIGINT."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402


def pools(with_public=True):
    p = [{'name': 'spare', 'addresses': '203.0.113.1-203.0.113.2', 'ports': '2000-2999'}]
    if with_public:
        p.insert(0, {'name': 'public', 'addresses': '198.51.100.0/30', 'ports': '1024-65535'})
    return p


def nat(with_public=True, extra_rules=()):
    rules = [{'name': 'lan-out', 'action': 'snat', 'src': '10.0.0.0/8', 'pool': 'public'}]
    if not with_public:
        rules = [{'name': 'lan-out', 'action': 'snat', 'src': '10.0.0.0/8', 'pool': 'spare'}]
    return {'pools': pools(with_public), 'rules': list(extra_rules) + rules}


POLICY = {'default': 'accept', 'rules': [
    {'name': 'est', 'state': ['established', 'related'], 'action': 'accept'},
    {'name': 'web', 'proto': 'tcp', 'dport': 80, 'action': 'accept'},
]}
POLICY_CHANGED = {'default': 'accept', 'rules': [
    {'name': 'no-ssh', 'proto': 'tcp', 'dport': 22, 'action': 'drop'},
]}


def write_pcap(tmp):
    """TCP SYNs from 40 LAN hosts to port 80 outside, on port 0 (forwarded to port 1)."""
    code = '''
import sys
from scapy.all import Ether, IP, TCP, wrpcap
e = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
wrpcap(sys.argv[1], [Ether(**e) / IP(src="10.0.1.%d" % (1 + i % 40), dst="192.0.2.1") /
                     TCP(sport=40000 + i, dport=80, flags="S", seq=1000 + i)
                     for i in range(200)])
'''
    path = os.path.join(tmp, 'syn.pcap')
    subprocess.run(['/usr/bin/python3', '-c', code, path], check=True, timeout=120)
    return path


def start_refusal(t, tmp, syn):
    """workers.count 0 on three worker lcores: 2 ports do not divide among 3."""
    prefix, chan = d.uniq('natstart')
    cfg = d.base_config(chan, events={'enabled': False},
                        workers={'count': 0, 'rxd': 64, 'txd': 64},
                        nat={'pools': [{'name': 'tiny', 'addresses': '198.51.100.9',
                                        'ports': '5000-5001'}]})
    path = d.write_config(tmp, cfg, 'start.json')
    cmd = d.dpct_cmd(prefix, path, rx=syn, tx='/dev/null', lcores='0@0,(1-3)@1', replay=True)
    rc, out, err = d.run_dpct(cmd, timeout=120)
    want = '$.nat.pools[0]: port range 5000-5001 (2 ports) does not divide among 3 workers'
    t.check(rc == 1 and want in out + err, 'start: pool not dividing among the resolved '
            'worker count refused (exit 1, its path)', 'rc %d\n%s' % (rc, (out + err)[-1500:]))


def off_at_start(t, tmp, syn):
    """A run started without NAT refuses a reload that adds it (its shards have
    no room for translated entries) and keeps running."""
    prefix, chan = d.uniq('natoff')
    cfg = d.base_config(chan, events={'enabled': False}, policy=POLICY)
    path = d.write_config(tmp, cfg, 'off.json')
    cmd = d.dpct_cmd(prefix, path, replay=False, lcores='0-1',
                     extra_eal=['--vdev', 'net_pcap0,rx_pcap=%s,tx_pcap=/dev/null,infinite_rx=1'
                                % syn])
    dp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        up = d.wait_for(lambda: (d.telemetry(prefix, '/dpct/rules') or {}).get('generation'),
                        60)
        cfg['nat'] = nat()
        d.write_config(tmp, cfg, 'off.json')
        rc, o, e = d.ctl(prefix, 'reload')
        t.check(up == 1 and rc == 1 and 'dpct started without NAT' in e and
                dp.poll() is None, 'NAT off at start: a reload adding it refused', o + e)
    finally:
        rc, out = d.stop(dp, timeout=60)
    t.eq(rc, 0, 'NAT off at start: dpct exits cleanly')


def main():
    t = d.Tap()
    d.need([d.DPCT, d.CTL], t)
    tmp = d.tmpdir('natreload')
    syn = write_pcap(tmp)
    start_refusal(t, tmp, syn)
    off_at_start(t, tmp, syn)

    prefix, chan = d.uniq('natreload')
    cfg = d.base_config(chan, events={'enabled': False}, policy=POLICY, nat=nat(),
                        timeouts={'tcp_syn_sent': 600}, workers={'count': 2})
    path = d.write_config(tmp, cfg)

    def write(c):
        tmpf = path + '.new'
        with open(tmpf, 'w') as f:
            json.dump(c, f)
        os.rename(tmpf, path)

    def with_(**over):
        c = json.loads(json.dumps(cfg))
        c.update(over)
        return c

    def rules():
        return d.telemetry(prefix, '/dpct/rules') or {}

    stats = os.path.join(tmp, 'stats.json')
    cmd = d.dpct_cmd(prefix, path, replay=False, lcores='0@0,(1-2)@1', stats=stats,
                     extra_eal=['--vdev', 'net_pcap0,rx_pcap=%s,tx_pcap=/dev/null,infinite_rx=1'
                                % syn, '--vdev', 'net_null1'])
    dp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    refused = 0
    try:
        r = d.wait_for(lambda: rules().get('generation'), 60)
        t.eq(r, 1, 'dpct up, policy generation 1')
        conf = d.telemetry(prefix, '/dpct/config,nat/pools/0') or {}
        t.check(conf.get('name') == 'public' and conf.get('addresses') ==
                '198.51.100.0-198.51.100.3', '/dpct/config shows the nat section', repr(conf))
        found = d.wait_for(lambda: (d.telemetry(prefix, '/dpct/stats') or {}).get('found', 0)
                           > 0 or (d.telemetry(prefix, '/dpct/stats') or {}).get('created',
                                                                                 0) > 0, 20)
        t.check(found, 'SYNs from the LAN are tracked')

        # (a) a bad nat section beside a changed policy: nothing changes.
        write(with_(policy=POLICY_CHANGED,
                    nat={'pools': pools(), 'rules': [{'action': 'snat', 'pool': 'pubic'}]}))
        rep = d.telemetry(prefix, '/dpct/reload') or {}
        refused += 1
        t.check(not rep.get('ok') and
                '$.nat.rules[0].pool: no pool named "pubic"' in rep.get('error', ''),
                '(a) bad nat section refused with its path', repr(rep))
        r = rules()
        t.check(r.get('generation') == 1 and r.get('n_rules') == 2,
                '(a) the policy did not change either', repr(r))
        rc, o, e = d.ctl(prefix, 'reload')
        refused += 1
        t.check(rc == 1 and 'no pool named "pubic"' in e, '(a) dpct-ctl reload fails with '
                'the message', 'rc %d: %s%s' % (rc, o, e))
        t.check(dp.poll() is None, '(a) dpct still running')
        # A section the file alone accepts (its workers.count 0 is checked as 1)
        # but whose ports do not divide among the 2 workers running.
        odd = nat()
        odd['pools'][1]['ports'] = '5000-5002'
        write(with_(policy=POLICY_CHANGED, nat=odd, workers={'count': 0}))
        rep = d.telemetry(prefix, '/dpct/reload') or {}
        refused += 1
        t.check(not rep.get('ok') and '$.nat.pools[1]: port range 5000-5002 (3 ports) does '
                'not divide among 2 workers' in rep.get('error', ''),
                '(a) ports not dividing among the running workers refused', repr(rep))
        r = rules()
        t.check(r.get('generation') == 1 and r.get('n_rules') == 2,
                '(a) the policy did not change either', repr(r))

        # (b) pool "public" holds the LAN's bindings: removing or changing it is refused.
        nat_tot = d.wait_for(lambda: ((d.telemetry(prefix, '/dpct/nat') or {}).get('totals')
                                      or {}).get('ports_in_use', 0) > 0 and
                             d.telemetry(prefix, '/dpct/nat')['totals'], 20)
        t.check(nat_tot and nat_tot.get('bound', 0) > 0,
                '(b) the LAN SYNs hold bindings in the pool', repr(nat_tot))
        write(with_(policy=POLICY_CHANGED, nat=nat(with_public=False)))
        rep = d.telemetry(prefix, '/dpct/reload') or {}
        refused += 1
        t.check(not rep.get('ok') and 'pool "public" holds' in rep.get('error', '') and
                'live bindings and is missing from the new configuration' in rep['error'],
                '(b) removing a pool with live bindings refused', repr(rep))
        changed = nat()
        changed['pools'][0]['ports'] = '2048-65535'
        write(with_(policy=POLICY_CHANGED, nat=changed))
        rc, o, e = d.ctl(prefix, 'reload')
        refused += 1
        t.check(rc == 1 and 'pool "public" holds' in e and 'changes it' in e,
                '(b) changing a pool with live bindings refused (dpct-ctl)', o + e)
        r = rules()
        t.check(r.get('generation') == 1 and r.get('n_rules') == 2,
                '(b) the policy did not change either', repr(r))
        after = (d.telemetry(prefix, '/dpct/nat') or {}).get('totals') or {}
        t.check(after.get('release_orphan', 0) == 0 and after.get('ports_in_use', 0) > 0,
                '(b) the bindings stay in force', repr(after))

        # (c) a harmless change: one more rule, pool "public" as it was.
        write(with_(nat=nat(extra_rules=[{'name': 'no-nat-lab', 'action': 'exclude',
                                          'src': '10.9.0.0/16'}])))
        rc, o, e = d.ctl(prefix, 'reload')
        t.check(rc == 0, '(c) a rule added: dpct-ctl reload accepted', o + e)
        t.eq(rules().get('generation'), 2, '(c) new policy generation')
        time.sleep(0.3)
        after = (d.telemetry(prefix, '/dpct/nat') or {}).get('totals') or {}
        t.check(after.get('ports_in_use', 0) > 0 and after.get('release_orphan', 0) == 0,
                '(c) the new table took over the live bindings', repr(after))
        t.check(dp.poll() is None, '(c) dpct still running')
    except Exception as ex:  # noqa: BLE001
        t.check(False, 'run', repr(ex))
    finally:
        rc, out = d.stop(dp, timeout=60)
    t.eq(rc, 0, 'dpct exits cleanly after SIGINT')
    t.check('nat: 2 pools, 2 rules installed from %s (/dpct/reload)' % path in out,
            'the log names the NAT table installed by the reload', out[-2000:])
    t.check(out.count('no pool named "pubic"') >= 2, 'each refusal logged', out[-2000:])
    try:
        s = d.load_json(stats)
    except (OSError, ValueError) as ex:
        t.check(False, 'stats json', repr(ex) + out[-2000:])
        t.done()
    pol = s.get('policy', {})
    t.eq(pol.get('reload_failed'), refused, 'every refusal counted in reload_failed')
    t.eq(pol.get('generation'), 2, 'final policy generation')
    t.done()


if __name__ == '__main__':
    main()
