#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Helpers in the appliance (issue 29): with `established,related accept`,
control connections accepted by port and default drop, the data connections
of generated FTP (active and passive, IPv4 and IPv6) and TFTP sessions pass
with the helpers configured and are dropped without them; with the helpers
their NEW events carry IPS_EXPECTED and the control connections' do not.
With three workers, copies of expectations make connections RELATED on
other workers than their master's. `dpct-ctl list expect` (an
IPCTNL_MSG_EXP_GET dump over the events socket) lists the live
expectations of every worker, each once, as `conntrack -L expect` does."""
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

IPS_EXPECTED = 1

POLICY = {
    'default': 'drop',
    'rules': [
        {'state': ['established', 'related'], 'action': 'accept'},
        {'proto': 'tcp', 'dport': 21, 'state': 'new', 'action': 'accept'},
        {'proto': 'udp', 'dport': 69, 'state': 'new', 'action': 'accept'},
    ],
}

HELPERS = {'rules': [{'helper': 'ftp', 'port': 21}, {'helper': 'tftp', 'port': 69}]}


def ports(frame):
    """(proto, sport, dport) of an untagged IPv4/IPv6 TCP or UDP frame."""
    et = struct.unpack('!H', frame[12:14])[0]
    if et == 0x0800:
        ihl = (frame[14] & 0x0f) * 4
        proto, l4 = frame[23], 14 + ihl
    elif et == 0x86dd:
        proto, l4 = frame[20], 54
    else:
        return None
    return (proto,) + struct.unpack('!HH', frame[l4:l4 + 4])


def is_control(p):
    return p is not None and (21 in p[1:] or (p[0] == 17 and 69 in p[1:]))


def run(t, name, tmp, rx, helpers, lcores='0-1'):
    prefix, port_id = d.uniq(name)
    cfg = d.base_config(port_id, policy=POLICY)
    if helpers:
        cfg['helpers'] = HELPERS
    cfg_path = d.write_config(tmp, cfg, name + '.json')
    tx = os.path.join(tmp, name + '.tx.pcap')
    evs = os.path.join(tmp, name + '.events.json')
    lst = d.start_events(port_id, evs, os.path.join(tmp, name + '.sum.json'), idle_ms=2000,
                         max_s=120)
    stats = os.path.join(tmp, name + '.stats.json')
    cmd = d.dpct_cmd(prefix, cfg_path, rx, tx, lcores=lcores, stats=stats,
                     app=d.wait_listeners_args(1) + ['--flush-on-eof'])
    rc, _, err = d.run_dpct(cmd, timeout=180)
    t.eq(rc, 0, '%s: dpct exit status 0' % name) or print('# ' + err[-1500:])
    lrc, lerr = d.finish(lst, 60)
    t.check(d.listener_ended_ok(lrc, lerr), '%s: dpct-events ended' % name, lerr[-800:])
    st = d.load_json(stats) if os.path.exists(stats) else {}
    return d.read_pcap(tx), d.events(evs), st


def check(t, name, tmp, rx, n_sessions, lcores='0-1'):
    sent = d.read_pcap(rx)
    data_sent = [f for f in sent if not is_control(ports(f))]
    ctl_sent = len(sent) - len(data_sent)
    t.check(len(data_sent) > 0, '%s: the capture has data connections' % name)

    out, evs, st = run(t, name + '_helper', tmp, rx, True, lcores)
    data_out = [f for f in out if not is_control(ports(f))]
    t.eq(len(out), len(sent), '%s with helpers: every packet passes' % name)
    t.eq(len(data_out), len(data_sent), '%s with helpers: every data packet passes' % name)
    new = [e for e in evs if e.get('type') == 'new']
    ctl = [e for e in new if is_control((e.get('l4proto'),
                                         e['orig'].get('sport'), e['orig'].get('dport')))]
    data = [e for e in new if e not in ctl]
    t.eq(len(data), n_sessions, '%s with helpers: one NEW per data connection' % name)
    t.check(all(e.get('status', 0) & IPS_EXPECTED for e in data),
            '%s with helpers: data connections are EXPECTED (RELATED)' % name,
            str([e.get('status') for e in data][:8]))
    t.check(ctl and not any(e.get('status', 0) & IPS_EXPECTED for e in ctl),
            '%s with helpers: control connections are not EXPECTED' % name)
    h = st.get('helpers', {})
    t.eq((h.get('helped'), h.get('commands'), h.get('related')),
         (n_sessions, n_sessions, n_sessions),
         '%s with helpers: --stats-json helpers: helped, commands, related' % name)
    t.eq(h.get('expectations', {}).get('confirmed'), n_sessions,
         '%s with helpers: every expectation confirmed' % name)

    out, evs, st = run(t, name + '_nohelper', tmp, rx, False, lcores)
    t.check('helpers' not in st, '%s without helpers: no helpers in --stats-json' % name)
    data_out = [f for f in out if not is_control(ports(f))]
    t.eq(len(data_out), 0, '%s without helpers: every data packet dropped' % name)
    t.eq(len(out), ctl_sent, '%s without helpers: every control packet passes' % name)


def multi_worker(t, tmp):
    """Three workers: a data connection that reaches another worker than its
    master's is RELATED from that worker's copy. Replayed at full speed a
    copy can lose the race with its connection's SYN, so only the use of
    copies and the agreement of events and counters are checked."""
    rx = os.path.join(tmp, 'ftp_mw.pcap')
    d.gen(rx, 'ftp', 200, concurrency=200, seed=3)
    out, evs, st = run(t, 'ftp_mw', tmp, rx, True, lcores='0@0,1@1,2@1,3@0')
    h = st.get('helpers', {})
    related = [e for e in evs if e.get('type') == 'new' and e.get('status', 0) & IPS_EXPECTED]
    t.check(h.get('related_copy', 0) > 0,
            '3 workers: data connections RELATED from another worker\'s copy',
            str(h))
    t.eq(h.get('related'), len(related), '3 workers: related equals EXPECTED NEW events')
    t.eq(h.get('expectations', {}).get('confirmed'), len(related),
         '3 workers: each RELATED connection confirmed its expectation once')
    t.eq(h.get('messages_lost'), 0, '3 workers: no copy lost')
    print('# 3 workers: %d of 200 data connections RELATED, %d from a copy' % (
        len(related), h.get('related_copy', 0)))


def write_pcap(path, frames):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack('<IIII', 1700000000 + i // 1000, (i % 1000) * 1000, len(fr),
                                len(fr)))
            f.write(fr)


def dump_live(t, tmp):
    """Control connections only (their data connections never come): every
    announced connection stays expected; the dump lists each once, from
    every worker, with its master."""
    full = os.path.join(tmp, 'ftp_dump_full.pcap')
    d.gen(full, 'ftp', 40, concurrency=40, seed=5)
    frames = [f for f in d.read_pcap(full) if is_control(ports(f))]
    rx = os.path.join(tmp, 'ftp_dump.pcap')
    write_pcap(rx, frames)
    prefix, port_id = d.uniq('ftp_dump')
    cfg = d.base_config(port_id, helpers=HELPERS)
    cfg_path = d.write_config(tmp, cfg, 'ftp_dump.json')
    cmd = d.dpct_cmd(prefix, cfg_path, rx, os.path.join(tmp, 'ftp_dump.tx.pcap'),
                     lcores='0@0,1@1,2@1', replay=False)
    dp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def count():
            rc, out, _ = d.ctl(prefix, 'count')
            return d.first_int(out) if rc == 0 else None
        t.eq(d.wait_for(lambda: count() == 40, 60, 0.3) and count(), 40,
             'dump: the 40 control connections are tracked')
        lines = []
        for _ in range(30):
            rc, out, err = d.ctl(prefix, 'list', 'expect')
            lines = [ln for ln in out.splitlines() if 'proto=' in ln]
            if rc == 0 and len(lines) >= 40:
                break
            time.sleep(0.3)
        t.eq((rc, len(lines)), (0, 40), 'dpct-ctl list expect: one line per session')
        t.check('40 expectations have been shown' in err, 'dpct-ctl list expect: the count line',
                err.strip()[-300:])
        t.eq(len(set(lines)), 40, 'dump: each expectation once')
        t.check(all('master-src=' in ln and 'helper=ftp' in ln for ln in lines),
                'dump: each with its master and helper', '\n'.join(lines[:3]))
    finally:
        rc, log = d.stop(dp)
        t.eq(rc, 0, 'dump: dpct stops cleanly') or print('# ' + log[-1500:])


def main():
    t = d.Tap()
    d.need([d.DPCT, d.GEN, d.EVENTS], t)
    tmp = d.tmpdir('helpers')
    for name, workload, ipv6 in (('ftp4', 'ftp', False), ('ftp6', 'ftp', True),
                                 ('tftp', 'tftp', False)):
        rx = os.path.join(tmp, name + '.pcap')
        d.gen(rx, workload, 12, concurrency=4, ipv6=ipv6, seed=3)
        check(t, name, tmp, rx, 12)
    multi_worker(t, tmp)
    dump_live(t, tmp)
    t.done()


if __name__ == '__main__':
    main()
