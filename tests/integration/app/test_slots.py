#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Slots nobody can hoard, end to end with the real dpct: uid 65534 is in
allowed_uids and opens as many events connections as it can, holds them,
and reconnects whenever one is closed, for the whole run. Root's reliable
listener, a dump and `dpct-ctl list` still work, every DESTROY of a
20,000-flow workload reaches root's listener exactly once, and dpct counts
the hoarder's refusals under its uid. Needs root (setpriv to nobody)."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

FLOWS = int(os.environ.get('DPCT_SLOTS_FLOWS', '20000'))
NOBODY_UID = 65534

# As nobody: keep as many connections as dpct lets us have, never
# subscribe, reconnect at once when dpct closes one. Bounded by a stop file
# and a deadline; prints a JSON summary.
HOARD = r'''
import json, os, select, socket, sys, time
path, stop, deadline = sys.argv[1], sys.argv[2], time.time() + float(sys.argv[3])
held, attempts, refused, closed, most = [], 0, 0, 0, 0
while time.time() < deadline and not os.path.exists(stop):
    for _ in range(64 - len(held)):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.setblocking(False)
        attempts += 1
        try:
            s.connect(path)
            held.append(s)
        except OSError:
            refused += 1
            s.close()
    r, _, _ = select.select(held, [], [], 0.02)
    for s in r:
        try:
            data = s.recv(4096)
        except OSError:
            data = b''
        # An NLMSG_ERROR (-EUSERS) or EOF: dpct refused or closed it.
        closed += 1
        held.remove(s)
        s.close()
    most = max(most, len(held))
print(json.dumps({'attempts': attempts, 'refused_at_connect': refused,
                  'closed_by_dpct': closed, 'most_held': most}))
'''


def main():
    t = d.Tap()
    d.need([d.DPCT, d.GEN, d.EVENTS, d.CTL], t)
    if os.getuid() != 0:
        t.skip_all('needs root (setpriv to nobody)')
    tmp = d.tmpdir('slots')
    os.chmod(tmp, 0o755)
    pcap = d.gen(os.path.join(tmp, 'w.pcap'), 'short-tcp', FLOWS, concurrency=256, seed=21)
    prefix, chan = d.uniq('slots')
    cfg = d.write_config(tmp, d.base_config(
        chan, table={'max_entries': 131072},
        events={'socket_group': 'nogroup', 'allowed_uids': [0, NOBODY_UID]}))
    stats = os.path.join(tmp, 'stats.json')
    dp = subprocess.Popen(d.dpct_cmd(prefix, cfg, pcap, '/dev/null', replay=False, stats=stats,
                                     app=['--fwd', 'drop', '--flush-on-exit'] +
                                     d.wait_listeners_args(1)),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop_file = os.path.join(tmp, 'stop')
    hoard = lis = None
    hout = ''
    try:
        up = d.wait_for(lambda: dp.poll() is not None or
                        d.telemetry(prefix, '/dpct/count') is not None, 30)
        if not t.check(up and dp.poll() is None, 'dpct up'):
            return t.done()
        hoard = subprocess.Popen(d.NOBODY + ['/usr/bin/python3', '-c', HOARD, chan, stop_file,
                                             '120'],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The hoarder holds what it can get before root comes.
        held = d.wait_for(lambda: sum(1 for li in d.listeners(prefix)
                                      if li.get('uid') == NOBODY_UID) >= 2, 10)
        t.check(held, 'uid 65534 holds connections before root connects')
        t.check(len(d.listeners(prefix)) <= 8, 'no more connections than max_listeners')
        evj, summ = os.path.join(tmp, 'ev.json'), os.path.join(tmp, 'sum.json')
        lis = d.start_events(chan, evj, summ, reliable=True, rcvbuf=8 << 20, idle_ms=600000,
                             max_s=300)
        # Subscribing releases the input (--wait-listeners 1).
        subscribed = d.wait_for(lambda: any(li.get('uid') == 0 and li.get('reliable')
                                            for li in d.listeners(prefix)), 20)
        t.check(subscribed, "root's reliable listener subscribed while uid 65534 hoards")
        rc, ents, err = d.dump(chan, timeout=60)
        t.eq(rc, 0, 'root dump works while uid 65534 hoards') or print('# ' + err[-500:])
        rc, out, err = d.ctl(prefix, 'list', timeout=60)
        t.eq(rc, 0, 'dpct-ctl list works while uid 65534 hoards') or \
            print('# ' + (out + err)[-500:])
        # Every flow ends (TIME_WAIT 1 s) while the hoarder keeps at it.
        d.wait_for(lambda: (d.telemetry(prefix, '/dpct/count') or {}).get('count') == 0, 60,
                   step=0.5)
        rc, out, err = d.ctl(prefix, 'list', timeout=60)
        t.eq(rc, 0, 'dpct-ctl list again after the flows ended')
        refusals = d.telemetry(prefix, '/dpct/refusals') or {}
        nob = refusals.get(str(NOBODY_UID), {})
        t.check(nob.get('over_uid_limit', 0) + nob.get('no_slot', 0) > 0,
                'refusals of uid 65534 counted under its uid', json.dumps(refusals))
        t.check(all(v.get('no_slot', 0) == 0 and v.get('over_uid_limit', 0) == 0
                    for k, v in refusals.items() if k == '0'),
                'root was never refused', json.dumps(refusals))
    finally:
        open(stop_file, 'w').close()
        if hoard is not None:
            try:
                hout = hoard.communicate(timeout=30)[0] or ''
            except subprocess.TimeoutExpired:
                hoard.kill()
                hout = hoard.communicate()[0] or ''
        rc_d, out_d = d.stop(dp, 120)
        if lis is not None:
            lrc, lerr = d.finish(lis, 60)
    t.eq(rc_d, 0, 'dpct exits 0') or print('# ' + out_d[-1500:])
    print('# listener: rc %s %s' % (lrc, lerr[-800:].replace('\n', '\n# ')))
    print('# hoarder: %s' % hout[-800:].replace('\n', '\n# '))
    hs = {}
    try:
        hs = json.loads(hout.strip().splitlines()[0])
    except (ValueError, IndexError):
        pass
    t.check(hs.get('attempts', 0) > 100 and hs.get('closed_by_dpct', 0) > 50,
            'the hoarder kept reconnecting', json.dumps(hs) or hout[-300:])
    t.check(0 < hs.get('most_held', 0) <= 64, 'the hoarder held connections', json.dumps(hs))
    evs = d.events(evj)
    destroys = {}
    for e in evs:
        if e.get('type') == 'destroy':
            k = d.flow_key(e)
            destroys[k] = destroys.get(k, 0) + 1
    t.eq(len(destroys), FLOWS, "every flow's DESTROY reached root's listener")
    t.eq(sum(1 for v in destroys.values() if v != 1), 0, 'each DESTROY exactly once')
    summary = d.load_json(summ)
    t.eq(summary.get('lost'), 0, "root's listener lost nothing")
    t.eq(summary.get('duplicate_destroy'), 0, 'no duplicate DESTROY')
    st = d.load_json(stats)
    t.eq(d.counter(st, 'undelivered_destroy'), 0, 'undelivered_destroy 0')
    rec = [r for r in st.get('refusals', []) if r.get('uid') == NOBODY_UID]
    t.check(rec and rec[0]['over_uid_limit'] + rec[0]['no_slot'] +
            rec[0]['timed_out'] > 0, '--stats-json refusals for uid 65534',
            json.dumps(st.get('refusals')))
    t.check(d.counter(st, 'subscribe_refused') > 0, 'subscribe_refused counted')
    return t.done()


if __name__ == '__main__':
    sys.exit(main())
