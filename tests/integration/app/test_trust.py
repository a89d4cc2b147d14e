#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The trusted event channel (issue 8), end to end with the real dpct: the
AF_UNIX events socket cannot be squatted, forged into or inherited, who may
subscribe, a dead listener, a stalled reliable listener demoted while a
healthy one gets every DESTROY exactly once, sequence gaps equal to dpct's
per-listener `dropped`, and --flush-on-exit. The unprivileged parts run as
nobody (setpriv). Needs root."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

FORGED_SRC = '203.0.113.66'


def as_nobody_py(code, timeout=30):
    """Run Python `code` as nobody; (rc, stdout+stderr)."""
    p = subprocess.run(d.NOBODY + ['/usr/bin/python3', '-c', code], capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def forged_destroy():
    """A ctnetlink DESTROY for a flow dpct never saw (tuple with FORGED_SRC)."""
    def nla(t, payload):
        ln = 4 + len(payload)
        return struct.pack('=HH', ln, t) + payload + b'\0' * ((4 - ln % 4) % 4)

    def nest(t, *parts):
        return nla(t | 0x8000, b''.join(parts))
    ip = nest(1, nla(1, socket.inet_aton(FORGED_SRC)), nla(2, socket.inet_aton('192.0.2.1')))
    proto = nest(2, nla(1, b'\x06'), nla(2, struct.pack('>H', 4444)),
                 nla(3, struct.pack('>H', 80)))
    attrs = nest(1, ip, proto) + nla(12, struct.pack('>I', 4242)) + \
        nla(3, struct.pack('>I', 0x0e))
    body = struct.pack('=BBH', 2, 0, 0) + attrs
    return struct.pack('=IHHII', 16 + len(body), (1 << 8) | 2, 0, 1, 0) + body


FORGE_CODE = r'''
import socket, sys, errno
msg = bytes.fromhex(%r)
sent = 0
# Every NETLINK_USERSOCK port id in /proc/net/netlink (the old transport).
for line in open('/proc/net/netlink').read().splitlines()[1:]:
    f = line.split()
    if len(f) > 2 and f[1] == '2':
        try:
            s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 2)
            s.sendto(msg, (int(f[2]), 0))
            sent += 1
        except OSError:
            pass
# The events socket itself.
try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(%r)
    s.send(msg)
    sent += 1
except OSError as e:
    print('events socket: %%s' %% e.strerror)
print('sent', sent)
'''


def squat_code(path):
    """As nobody: take the old well-known netlink port id and try to put
    something where the socket goes (both must not stop dpct)."""
    return r'''
import os, socket
try:
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 2)
    s.bind((1146110804, 0))
    print('bound netlink 1146110804')
except OSError as e:
    print('netlink bind:', e.strerror)
try:
    u = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    u.bind(%r)
    u.listen(1)
    print('SQUATTED')
except OSError as e:
    print('unix bind:', e.strerror)
import time
time.sleep(%d)
''' % (path, 40)


def start_dpct(tmp, name, pcap, cfg_over, app=(), replay=False):
    prefix, chan = d.uniq(name)
    cfg = d.write_config(tmp, d.base_config(chan, **cfg_over), name + '.json')
    stats = os.path.join(tmp, name + '.stats.json')
    cmd = d.dpct_cmd(prefix, cfg, pcap, '/dev/null', stats=stats, replay=replay,
                     app=['--fwd', 'drop'] + list(app))
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p, prefix, chan, stats


def wait_up(prefix, p, timeout=30):
    return d.wait_for(lambda: p.poll() is not None or
                      d.telemetry(prefix, '/dpct/count') is not None, timeout) and \
        p.poll() is None


def n_listeners(prefix):
    return len(d.listeners(prefix))


def test_main(t, tmp, pcap, flows):
    """Start despite squatters; refused, forged, dead listeners; dump; flush-on-exit."""
    prefix, chan = d.uniq('trust_main')
    squat = subprocess.Popen(d.NOBODY + ['/usr/bin/python3', '-c', squat_code(chan)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(0.5)
    # A stale socket of a "dead dpct" where dpct's goes.
    if not os.path.exists(chan):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.bind(chan)
        s.close()
    dp, prefix, chan, stats = start_dpct(tmp, 'trust_main', pcap,
                                         {'timeouts': {'tcp_time_wait': 600,
                                                       'tcp_close': 600}},
                                         app=['--flush-on-exit', '--wait-listeners', '1'])
    l1 = l2 = None
    try:
        evs = os.path.join(tmp, 'main.ev.json')
        l1 = d.start_events(chan, evs, os.path.join(tmp, 'main.sum.json'), idle_ms=0,
                            max_s=120)
        up = wait_up(prefix, dp)
        t.check(up, 'start: dpct serves despite a nobody squatting netlink port 1146110804 '
                'and a stale socket at its path')
        t.check(d.wait_for(lambda: n_listeners(prefix) == 1, 20),
                'start: a root listener subscribes')
        # nobody: the socket is root:root 0660.
        p = subprocess.run(d.NOBODY + d.events_cmd(chan, '--max-seconds', '5'),
                           capture_output=True, text=True, timeout=30)
        t.check(p.returncode == 2 and 'permission denied' in p.stderr,
                'subscribe: nobody is refused with a clear error', p.stderr)
        # Forgery by nobody at every socket it can reach.
        code = FORGE_CODE % (forged_destroy().hex(), chan)
        rc, out = as_nobody_py(code)
        t.check(rc == 0 and 'sent' in out, 'forgery: nobody sent its forged DESTROYs', out)
        # Dead listener: a second root listener, SIGKILLed.
        l2 = subprocess.Popen(d.events_cmd(chan, '--reliable', '--format', 'none'),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t.check(d.wait_for(lambda: n_listeners(prefix) == 2, 20), 'dead: two listeners')
        pid2 = l2.pid
        l2.kill()
        l2.wait()
        l2 = None
        t0 = time.time()
        gone = d.wait_for(lambda: n_listeners(prefix) == 1, 5, step=0.02)
        t.check(gone and time.time() - t0 < 1.0,
                'dead: a SIGKILLed listener is unsubscribed at once (%.2f s)' % (time.time() - t0))
        ls = d.listeners(prefix)
        t.check(all(x.get('pid') != pid2 for x in ls), 'dead: nobody inherits its slot', ls)
        # Dump: the whole table, each entry once, as many as the count gauge.
        count = (d.telemetry(prefix, '/dpct/count') or {}).get('count')
        rc, ents, err = d.dump(chan)
        ids = [e['id'] for e in ents]
        t.check(rc == 0 and len(ids) == len(set(ids)), 'dump: exit 0, each entry once', err)
        t.eq(len(ents), count, 'dump: size equals the count gauge (%s)' % count)
        t.check(count == flows, 'dump: the table holds every flow (%s of %d)' % (count, flows))
        rc, out, err = d.ctl(prefix, 'list')
        t.eq(len([ln for ln in out.splitlines() if 'src=' in ln]), count,
             'dpct-ctl list shows the whole table (by one dump)')
    finally:
        # --flush-on-exit: every live entry gets its DESTROY before exit.
        rc, log = d.stop(dp, 90)
        t.eq(rc, 0, 'flush-on-exit: dpct exits 0 on SIGINT') or print('# ' + log[-1500:])
        if l2 is not None:
            l2.kill()
        lrc, lerr = d.finish(l1, 30)
        squat.kill()
        sq = squat.communicate()[0]
    t.check('SQUATTED' not in sq, 'start: nobody could not bind the socket path', sq)
    evl = d.events(evs)
    t.check(not any(e.get('orig', {}).get('src') == FORGED_SRC for e in evl),
            'forgery: no forged event printed by the listener')
    new = {e['id'] for e in evl if e.get('type') == 'new'}
    dest = [e['id'] for e in evl if e.get('type') == 'destroy']
    t.check(new and new <= set(dest), 'flush-on-exit: every NEW the listener saw got its '
            'DESTROY (%d new, %d destroy)' % (len(new), len(dest)))
    t.eq(len(dest), len(set(dest)), 'flush-on-exit: no duplicate DESTROY')
    st = d.load_json(stats) if os.path.exists(stats) else {}
    t.check(st and d.counter(st, 'undelivered_destroy') == 0,
            'flush-on-exit: undelivered_destroy 0')


def test_credentials(t, tmp, pcap):
    """socket_group lets nobody connect; SO_PEERCRED decides the rest."""
    for name, over, expect in (
            ('trust_grp', {}, 'may not subscribe'),
            ('trust_gid', {'allowed_gids': [65534]}, None)):
        ev = {'socket_group': 'nogroup'}
        ev.update(over)
        dp, prefix, chan, _ = start_dpct(tmp, name, pcap, {'events': ev})
        try:
            if not wait_up(prefix, dp):
                t.check(False, '%s: dpct up' % name, dp.stderr.read()[-800:])
                continue
            p = subprocess.run(d.NOBODY + d.events_cmd(chan, '--max-seconds', '5',
                                                       '--idle-exit-ms', '500'),
                               capture_output=True, text=True, timeout=30)
            if expect:
                t.check(p.returncode == 2 and expect in p.stderr,
                        '%s: nobody in the socket group, not allowed: refused' % name,
                        p.stderr)
            else:
                t.check(p.returncode == 0, '%s: nobody with an allowed gid subscribes' % name,
                        p.stderr)
                p = subprocess.run(d.NOBODY + d.events_cmd(chan, '--reliable',
                                                           '--max-seconds', '5'),
                                   capture_output=True, text=True, timeout=30)
                t.check(p.returncode == 2 and 'reliable delivery is not allowed' in p.stderr,
                        '%s: ... but not reliably (reliable_uids)' % name, p.stderr)
                rc, ents, err = d.dump(chan, user='nobody')
                t.eq(rc, 0, '%s: nobody may dump' % name)
        finally:
            d.stop(dp, 30)


def test_stalled(t, tmp, pcap, flows):
    """A SIGSTOPped reliable listener is demoted; the healthy one keeps every
    guarantee."""
    name = 'trust_stall'
    dp, prefix, chan, stats = start_dpct(
        tmp, name, pcap, {'events': {'reliable_stall_ms': 1500, 'destroy_grace_ms': 300}},
        app=['--wait-listeners', '2', '--flush-on-eof', '--drain-timeout-ms', '60000'],
        replay=True)
    summ = os.path.join(tmp, name + '.sum.json')
    good = d.start_events(chan, os.devnull, summ, fmt='none', idle_ms=4000, max_s=200)
    bad = subprocess.Popen(d.events_cmd(chan, '--reliable', '--rcvbuf', '4096', '--format',
                                        'none'), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        t.check(d.wait_for(lambda: n_listeners(prefix) == 2 or dp.poll() is not None, 30),
                'stall: two reliable listeners')
        bad.send_signal(signal.SIGSTOP)
        out, err = dp.communicate(timeout=200)
    except subprocess.TimeoutExpired:
        dp.kill()
        out, err = dp.communicate()
    finally:
        bad.send_signal(signal.SIGCONT)
        bad.kill()
        bad.wait()
    lrc, lerr = d.finish(good, 60)
    t.eq(dp.returncode, 0, 'stall: dpct exit 0') or print('# ' + err[-1500:])
    st = d.load_json(stats) if os.path.exists(stats) else {}
    sm = d.load_json(summ) if os.path.exists(summ) else {}
    if not (st and sm):
        t.check(False, 'stall: stats and summary written')
        return
    t.check(d.counter(st, 'listener_demoted') >= 1, 'stall: the stopped listener was demoted')
    t.check('demoted' in err and 'pid %d' % bad.pid in err,
            'stall: the demotion log line names the listener', err[-800:])
    t.eq(d.counter(st, 'drop'), 0, 'stall: no connection dropped')
    ins = d.counter(st, 'insert')
    t.check(ins >= flows, 'stall: every flow inserted (%d)' % ins)
    t.eq(sm['flows_destroyed'], ins, 'stall: the healthy listener got a DESTROY per entry')
    t.eq(sm['duplicate_destroy'], 0, 'stall: ... exactly once')
    # What remains (docs/events.md): retried NEW/UPDATE snapshots go to all.
    print('# stall: healthy listener got %d NEW for %d flows, %d UPDATE; demoted after '
          'reliable_stall_ms 1500' % (sm['new'], sm['flows_new'], sm['update']))
    t.eq(d.counter(st, 'undelivered_destroy'), 0, 'stall: undelivered_destroy 0')


def test_gaps(t, tmp, pcap):
    """An unreliable listener counts its losses as gaps in nlmsg_seq: they
    equal dpct's per-listener dropped (the tail after its last message is
    what dpct's last seq says)."""
    name = 'trust_gaps'
    dp, prefix, chan, stats = start_dpct(tmp, name, pcap, {},
                                         app=['--wait-listeners', '1', '--flush-on-eof'],
                                         replay=True)
    summ = os.path.join(tmp, name + '.sum.json')
    lst = d.start_events(chan, os.devnull, summ, reliable=False, rcvbuf=2048, fmt='none',
                         idle_ms=4000, max_s=200)
    try:
        out, err = dp.communicate(timeout=200)
    except subprocess.TimeoutExpired:
        dp.kill()
        out, err = dp.communicate()
    d.finish(lst, 60)
    st = d.load_json(stats) if os.path.exists(stats) else {}
    sm = d.load_json(summ) if os.path.exists(summ) else {}
    ls = st.get('listeners', [])
    if not (sm and len(ls) == 1):
        t.check(False, 'gaps: summary and one listener in stats', json.dumps(st)[:400])
        return
    dropped, seq = ls[0]['dropped'], ls[0]['seq']
    t.check(dropped > 0, 'gaps: the 2 KiB listener lost events (%d)' % dropped)
    t.eq(sm['lost'] + (seq - sm['last_seq']), dropped,
         'gaps: lost (%d) + tail (%d) == dpct\'s dropped' % (sm['lost'], seq - sm['last_seq']))
    t.eq(sm['events'] + dropped, seq, 'gaps: received + dropped == messages numbered')


def test_exit3(t, tmp, pcap):
    """Live mode: DESTROYs still undelivered at the drain timeout are exit 3,
    as in replay mode (a stopped reliable listener that is never demoted)."""
    name = 'trust_exit3'
    dp, prefix, chan, stats = start_dpct(
        tmp, name, pcap, {'events': {'reliable_stall_ms': 600000, 'max_dying_pct': 0},
                          'timeouts': {'tcp_time_wait': 600, 'tcp_close': 600}},
        app=['--flush-on-exit', '--drain-timeout-ms', '2000', '--wait-listeners', '1'])
    bad = subprocess.Popen(d.events_cmd(chan, '--reliable', '--rcvbuf', '4096', '--format',
                                        'none'), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        ok = wait_up(prefix, dp) and d.wait_for(lambda: n_listeners(prefix) == 1, 20)
        t.check(ok, 'exit3: dpct up with a reliable listener')
        bad.send_signal(signal.SIGSTOP)
        d.wait_for(lambda: ((d.telemetry(prefix, '/dpct/count') or {}).get('count') or 0)
                   > 0, 20)
        rc, log = d.stop(dp, 60)
        t.eq(rc, 3, 'exit3: flush-on-exit with DESTROYs undelivered at the drain timeout '
             'exits 3') or print('# ' + log[-800:])
        t.check('undelivered' in log, 'exit3: the log says how many are undelivered')
    finally:
        bad.send_signal(signal.SIGCONT)
        bad.kill()
        bad.wait()
        if dp.poll() is None:
            dp.kill()
            dp.wait()


def main():
    t = d.Tap()
    if os.geteuid() != 0:
        t.skip_all('needs root (setpriv to nobody)')
    d.need([d.DPCT, d.GEN, d.EVENTS, d.CTL], t)
    tmp = d.tmpdir('trust')
    small = d.gen(os.path.join(tmp, 'small.pcap'), 'short-tcp', 300, concurrency=300, seed=3)
    test_main(t, tmp, small, 300)
    test_credentials(t, tmp, small)
    test_exit3(t, tmp, small)
    mid = d.gen(os.path.join(tmp, 'mid.pcap'), 'short-tcp', 5000, concurrency=200, seed=5)
    test_stalled(t, tmp, mid, 5000)
    test_gaps(t, tmp, mid)
    t.done()


main()
