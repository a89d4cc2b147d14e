#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Translated entries as the table tools print them (docs/events.md): dpct
tracks a UDP capture through a snat rule (10.0.0.0/8 -> 198.51.100.0/28) and
a dnat rule (192.0.2.11:53 -> 10.0.0.5:5353) and keeps the entries. A dump
(dpct-events --dump, JSON) shows each translated entry's reply tuple as its
replies arrive (SNAT: to a pool address; DNAT: from the inside address and
port) and Linux's IPS_SRC_NAT/IPS_DST_NAT(_DONE) status bits; `dpct-ctl list`
prints the same two tuples as the dump's conntrack -L text, entry for entry,
and telemetry's /dpct/list pages the same reply tuples.
Untranslated entries (the server's replies in the capture, to the inside
addresses) carry no NAT bit."""
import ipaddress
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

FLOWS = 64
IPS_SRC_NAT, IPS_DST_NAT = 1 << 4, 1 << 5
IPS_SRC_NAT_DONE, IPS_DST_NAT_DONE = 1 << 7, 1 << 8
POOL = ipaddress.ip_network('198.51.100.0/28')


def count(prefix):
    v = d.telemetry(prefix, '/dpct/count')
    return v.get('count') if isinstance(v, dict) else None


def tuples(line):
    """The two tuples of a conntrack -L style line (as test_dump.py reads them)."""
    m = re.search(r'(src=.*?) (\[ASSURED\] |mark=|zone=|delta-time=|use=|id=)', line)
    return m.group(1) if m else None


def nat_bits(e, which):
    """Linux's bits of a translated entry: the one translation it has, and
    both _DONE bits (nf_nat sets up a null binding for the other hook)."""
    st = e['status']
    return st & (IPS_SRC_NAT | IPS_DST_NAT) == which and \
        st & (IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE) == IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE


def settled(prefix, last):
    c = count(prefix)
    ok = c is not None and c > 0 and c == last[0]
    last[0] = c
    return ok


def main():
    t = d.Tap()
    d.need([d.DPCT, d.GEN, d.EVENTS, d.CTL], t)
    tmp = d.tmpdir('nat_list')
    pcap = d.gen(os.path.join(tmp, 'udp.pcap'), 'udp', FLOWS, seed=9)
    prefix, chan = d.uniq('natlist')
    cfg = d.base_config(chan, timeouts={'udp_unreplied': 600, 'udp_replied': 600, 'icmp': 600})
    cfg['nat'] = {
        'pools': [{'name': 'public', 'addresses': '198.51.100.0/28'}],
        'rules': [{'name': 'dns-in', 'action': 'dnat', 'proto': 'udp', 'dst': '192.0.2.11',
                   'dport': 53, 'to': '10.0.0.5', 'to_port': 5353},
                  {'name': 'lan-out', 'action': 'snat', 'src': '10.0.0.0/8',
                   'pool': 'public'}]}
    path = d.write_config(tmp, cfg, 'nat.json')
    dp = subprocess.Popen(d.dpct_cmd(prefix, path, pcap, '/dev/null', replay=False,
                                     app=['--fwd', 'drop']),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        last = [None]
        up = d.wait_for(lambda: dp.poll() is not None or settled(prefix, last), 30, step=0.5)
        if not t.check(up and dp.poll() is None, 'dpct tracks the capture (%s entries)'
                       % count(prefix)):
            return
        ev = subprocess.run(d.events_cmd(chan, '--dump', '--format', 'json',
                                         '--max-seconds', '30'),
                            capture_output=True, text=True, timeout=40)
        t.eq(ev.returncode, 0, 'dpct-events --dump exit 0') or print('# ' + ev.stderr[-500:])
        entries = [json.loads(ln) for ln in ev.stdout.splitlines() if ln.startswith('{')]
        snat = [e for e in entries if ipaddress.ip_address(e['orig']['src']) in
                ipaddress.ip_network('10.0.0.0/8')]
        dnat = [e for e in snat if e['orig']['dst'] == '192.0.2.11' and e['l4proto'] == 17
                and e['orig']['dport'] == 53]
        snat = [e for e in snat if e not in dnat]
        t.check(len(snat) > 0 and len(dnat) > 0, 'the dump has snat (%d) and dnat (%d) '
                'entries' % (len(snat), len(dnat)))
        bad = [e for e in snat
               if ipaddress.ip_address(e['reply']['dst']) not in POOL or
               e['reply']['src'] != e['orig']['dst'] or
               not nat_bits(e, IPS_SRC_NAT)]
        t.check(not bad, 'snat: reply tuple to a pool address, IPS_SRC_NAT and both _DONE',
                json.dumps(bad[:2]))
        bad = [e for e in dnat
               if e['reply']['src'] != '10.0.0.5' or e['reply']['sport'] != 5353 or
               e['reply']['dst'] != e['orig']['src'] or
               not nat_bits(e, IPS_DST_NAT)]
        t.check(not bad, 'dnat: reply tuple from 10.0.0.5:5353, IPS_DST_NAT and both _DONE',
                json.dumps(bad[:2]))
        plain = [e for e in entries if e not in snat and e not in dnat]
        t.check(plain and all(e['status'] & (IPS_SRC_NAT | IPS_DST_NAT) == 0 for e in plain),
                'untranslated entries (%d) have no IPS_SRC_NAT/IPS_DST_NAT' % len(plain))
        txt = subprocess.run(d.events_cmd(chan, '--dump', '--format', 'text',
                                          '--max-seconds', '30'),
                             capture_output=True, text=True, timeout=40)
        rc, out, err = d.ctl(prefix, 'list')
        t.eq(rc, 0, 'dpct-ctl list exit 0') or print('# ' + err[-500:])
        ref = sorted(tuples(ln) for ln in txt.stdout.splitlines() if 'src=' in ln)
        got = sorted(tuples(ln) for ln in out.splitlines() if 'src=' in ln)
        t.check(got == ref and None not in got and len(got) == len(entries),
                'dpct-ctl list prints the dump\'s two tuples for every entry (%d)' % len(got),
                'dpct-ctl %s\ndpct-events %s' % (got[:2], ref[:2]))
        # Telemetry's pages (/dpct/list, and /dpct/dying behind dpct-ctl list
        # --dying) give the same reply tuple.
        tel, cursor = {}, 0
        for _ in range(1000):
            page = d.telemetry(prefix, '/dpct/list,%d,16' % cursor) or {}
            for i in range(page.get('n', 0)):
                x = page.get(str(i))
                if isinstance(x, dict):
                    tel[(x['src'], x['sport'])] = x
            cursor = page.get('next', 0)
            if not cursor:
                break
        bad = [(e['orig'], tel.get((e['orig']['src'], e['orig']['sport'])))
               for e in snat + dnat
               if (lambda x: x is None or (x['rsrc'], x['rdst'], x['rsport'], x['rdport']) !=
                   (e['reply']['src'], e['reply']['dst'], e['reply']['sport'],
                    e['reply']['dport']))(tel.get((e['orig']['src'], e['orig']['sport'])))]
        t.check(tel and not bad, '/dpct/list: translated entries with the dump\'s reply tuple',
                str(bad[:2]))
        e = snat[0]
        want = 'src=%s dst=%s sport=%d dport=%d' % (e['reply']['src'], e['reply']['dst'],
                                                    e['reply']['sport'], e['reply']['dport'])
        t.check(any(want in ln for ln in out.splitlines()),
                'dpct-ctl list shows a translated reply tuple (%s)' % want)
    finally:
        rc, log = d.stop(dp, 60)
        t.eq(rc, 0, 'dpct stops cleanly') or print('# ' + log[-1500:])
    t.done()


if __name__ == '__main__':
    main()
