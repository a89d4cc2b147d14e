#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Replay through net_pcap -> net_pcap: allowed packets come out unchanged,
invalid ones follow the policy, table-full drops at the configured limit,
NOTRACK bypasses the table, and --stats-json adds up."""
import collections
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402


def replay(t, name, tmp, rx, cfg, lcores='0-1', app=(), listen=False, kinds=None):
    """One replay; returns (stats, tx frames, events or None)."""
    prefix, port_id = d.uniq(name)
    cfg['events']['socket'] = d.channel(port_id)
    cfg_path = d.write_config(tmp, cfg, name + '.json')
    tx = os.path.join(tmp, name + '.tx.pcap')
    stats = os.path.join(tmp, name + '.stats.json')
    lst = None
    if listen:
        evs = os.path.join(tmp, name + '.events.json')
        summ = os.path.join(tmp, name + '.summary.json')
        lst = d.start_events(port_id, evs, summ, idle_ms=2000, max_s=120,
                             extra=['--events', kinds] if kinds else [])
    cmd = d.dpct_cmd(prefix, cfg_path, rx, tx, lcores=lcores, stats=stats,
                     app=list(app) + (d.wait_listeners_args(1) if listen else []))
    rc, out, err = d.run_dpct(cmd, timeout=180)
    t.eq(rc, 0, '%s: dpct exit status 0' % name) or print('# ' + err[-1500:])
    got_events = None
    if lst is not None:
        lrc, lerr = d.finish(lst, 60)
        t.check(d.listener_ended_ok(lrc, lerr),
                '%s: dpct-events ended by itself or saw dpct exit (status %d)' % (name, lrc),
                lerr[-800:])
        got_events = d.events(evs)
    st = d.load_json(stats) if os.path.exists(stats) else {}
    t.check(bool(st), '%s: stats-json written' % name)
    return st, (d.read_pcap(tx) if os.path.exists(tx) else []), got_events


def late_subscriber(t, tmp, rx, nflows):
    """--wait-listeners counts subscribed listeners: a client that connects
    and subscribes only a second later still gets every connection's NEW and
    DESTROY (the workers build a kind from the subscribe on, so RX must not
    start at the connect)."""
    prefix, port_id = d.uniq('late')
    cfg = d.base_config(0)
    sock = d.channel(port_id)
    cfg['events']['socket'] = sock
    # A second of silence is within this deadline (the default, 1 s, would
    # close the connection: docs/events.md).
    cfg['events']['subscribe_timeout_ms'] = 5000
    cfg_path = d.write_config(tmp, cfg, 'late.json')
    cmd = d.dpct_cmd(prefix, cfg_path, rx, os.path.join(tmp, 'late.tx.pcap'),
                     app=['--flush-on-eof'] + d.wait_listeners_args(1))
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    counts = {'new': 0, 'destroy': 0}
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        for _ in range(200):            # dpct creates the socket at start-up
            try:
                s.connect(sock)
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(1.0)                 # connected, not subscribed
        # nlmsghdr (EV_MSG_SUBSCRIBE 0x20, NLM_F_REQUEST | NLM_F_ACK), then
        # struct ev_subscribe {version 1, flags 0, mask all, bufsize 0}.
        try:
            s.send(struct.pack('=IHHII', 32, 0x20, 0x5, 1, 0) + struct.pack('=IIII', 1, 0, 7, 0))
            sent = True
        except OSError:                 # dpct had already finished the replay and gone
            sent = False
        s.settimeout(3.0)
        deadline = time.time() + 60
        while sent and time.time() < deadline:
            try:
                buf = s.recv(1 << 20)
            except socket.timeout:
                break
            if not buf:
                break
            off = 0
            while off + 16 <= len(buf):
                ln, typ, flags = struct.unpack_from('=IHH', buf, off)
                if ln < 16:
                    break
                if typ == 0x100 and flags & 0x400:      # CT_NEW with NLM_F_CREATE
                    counts['new'] += 1
                elif typ == 0x102:                     # CT_DELETE
                    counts['destroy'] += 1
                off += (ln + 3) & ~3
        s.close()
    finally:
        try:
            _, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
    t.eq(p.returncode, 0, 'late subscribe: dpct exit status 0') or print('# ' + (err or '')[-800:])
    t.eq(counts, {'new': nflows, 'destroy': nflows},
         'late subscribe: every NEW and DESTROY reaches a listener that subscribed after connecting')


def check_subset(t, name, rx, tx):
    """tx must be rx minus some frames, every frame byte-identical."""
    left = collections.Counter(rx)
    extra = 0
    for f in tx:
        if left[f] > 0:
            left[f] -= 1
        else:
            extra += 1
    t.eq(extra, 0, '%s: every transmitted frame is an unchanged received frame' % name)


def main():
    t = d.Tap()
    d.need([d.DPCT, d.GEN], t)
    tmp = d.tmpdir('replay')

    # Clean TCP: everything passes, one insert per flow, counters add up.
    rx = d.gen(os.path.join(tmp, 'tcp.pcap'), 'short-tcp', 300, concurrency=50, seed=3)
    rxf = d.read_pcap(rx)
    st, tx, _ = replay(t, 'tcp', tmp, rx, d.base_config(0))
    if st:
        nrx = d.counter(st, 'rx', 'rx_packets', 'ipackets')
        ntx = d.counter(st, 'tx', 'tx_packets', 'opackets')
        ndrop = d.counter(st, 'dropped', 'drops', 'drop_packets')
        t.eq(nrx, len(rxf), 'tcp: rx counts every frame of the pcap')
        t.eq(nrx, ntx + ndrop, 'tcp: rx == tx + dropped')
        t.eq(d.counter(st, 'insert'), 300, 'tcp: insert == flows')
        t.eq(len(tx), ntx, 'tcp: tx pcap holds tx frames')
        t.eq(ndrop, 0, 'tcp: nothing dropped')
        t.eq(d.counter(st, 'undelivered_destroy'), 0, 'tcp: undelivered_destroy 0')
    check_subset(t, 'tcp', rxf, tx)
    t.eq(tx, rxf, 'tcp: one worker keeps the order: tx == rx')

    # Malformed traffic under both policies.
    mal = d.gen(os.path.join(tmp, 'mal.pcap'), 'malformed', 200, seed=5)
    malf = d.read_pcap(mal)
    st, tx, _ = replay(t, 'inv_drop', tmp, mal, d.base_config(0, invalid={'policy': 'drop'}))
    if st:
        inv = d.counter(st, 'invalid')
        t.check(inv > 0, 'drop policy: invalid counted (%d)' % inv)
        t.eq(len(tx) + d.counter(st, 'dropped', 'drops', 'drop_packets'), len(malf),
             'drop policy: rx == tx + dropped')
        t.check(len(tx) <= len(malf) - inv, 'drop policy: invalid packets not forwarded',
                '%d tx, %d rx, %d invalid' % (len(tx), len(malf), inv))
    check_subset(t, 'inv_drop', malf, tx)
    st, tx, _ = replay(t, 'inv_pass', tmp, mal, d.base_config(0, invalid={'policy': 'pass'}))
    if st:
        t.check(d.counter(st, 'invalid') > 0, 'pass policy: invalid still counted')
        t.eq(len(tx), len(malf), 'pass policy: every packet forwarded')
    check_subset(t, 'inv_pass', malf, tx)

    # Table full: all flows open at once, room for 64, no early drop.
    full = d.gen(os.path.join(tmp, 'full.pcap'), 'short-tcp', 400, concurrency=400, seed=9)
    st, tx, _ = replay(t, 'full', tmp, full,
                       d.base_config(0, table={'max_entries': 64, 'early_drop': False},
                                     timeouts={'tcp_time_wait': 120, 'tcp_close': 10}))
    if st:
        # Entries that time out free their slot, so inserts minus removals
        # (not inserts alone) are bounded by the limit.
        live = d.counter(st, 'insert') - d.counter(st, 'expired') - d.counter(st, 'deleted')
        t.check(live <= 64, 'table full: never more than max_entries live (%d)' % live)
        t.check(d.counter(st, 'insert') >= 64, 'table full: the table did fill')
        refused = d.counter(st, 'insert_failed') + d.counter(st, 'drop')
        t.check(refused > 0, 'table full: refusals counted (%d)' % refused)
        t.eq(d.counter(st, 'early_drop'), 0, 'table full: no early drop when off')
        t.check(d.counter(st, 'dropped', 'drops', 'drop_packets') > 0,
                'table full: packets of refused flows dropped')
    check_subset(t, 'full', d.read_pcap(full), tx)

    # NOTRACK: UDP bypasses the table entirely, no events.
    udp = d.gen(os.path.join(tmp, 'udp.pcap'), 'udp', 100, seed=11)
    udpf = d.read_pcap(udp)
    st, tx, evs = replay(t, 'notrack', tmp, udp,
                         d.base_config(0, notrack=[{'proto': 'udp'}]), listen=True)
    if st:
        t.eq(d.counter(st, 'notrack'), len(udpf), 'notrack: every packet counted')
        t.eq(d.counter(st, 'insert'), 0, 'notrack: no entries')
    t.eq(tx, udpf, 'notrack: all packets forwarded unchanged')
    t.eq(len(evs or []), 0, 'notrack: no events')

    # NOTRACK of a whole family: ICMP errors too are untracked, by their own
    # header as in Linux's raw table (not looked up as the flow they quote,
    # which would find nothing and call them invalid); policy rules alike.
    for fam6 in (False, True):
        mix = d.gen(os.path.join(tmp, 'mixnt%d.pcap' % fam6), 'mix', 300, ipv6=fam6, seed=7)
        mixf = d.read_pcap(mix)
        fam = 6 if fam6 else 4
        for how, over in (('cfg', {'notrack': [{'family': fam}]}),
                          ('pol', {'policy': {'rules': [{'action': 'notrack', 'family': fam}]}})):
            name = 'nt_all%d_%s' % (fam, how)
            st, tx, _ = replay(t, name, tmp, mix, d.base_config(0, **over))
            if st:
                t.eq(d.counter(st, 'invalid'), 0, '%s: ICMP errors are not invalid' % name)
                t.eq(d.counter(st, 'insert'), 0, '%s: no entries' % name)
            t.eq(tx, mixf, '%s: every packet forwarded unchanged' % name)

    late_subscriber(t, tmp, rx, 300)

    # The records built follow what listeners subscribe to: with a
    # DESTROY-only listener the workers build no NEW or UPDATE, and every
    # connection still ends with its DESTROY, as with a listener of all;
    # with a NEW-only one, no DESTROY is built and the entries still go.
    st_all, _, ev_all = replay(t, 'kinds_all', tmp, rx, d.base_config(0), listen=True,
                               app=['--flush-on-eof'])
    st_d, tx, ev_d = replay(t, 'kinds_destroy', tmp, rx, d.base_config(0), listen=True,
                            app=['--flush-on-eof'], kinds='destroy')
    st_n, tx_n, ev_n = replay(t, 'kinds_new', tmp, rx, d.base_config(0), listen=True,
                              app=['--flush-on-eof'], kinds='new')
    ev_all, ev_d, ev_n = ev_all or [], ev_d or [], ev_n or []
    n_all = collections.Counter(e.get('type') for e in ev_all)
    n_d = collections.Counter(e.get('type') for e in ev_d)
    t.eq(dict(collections.Counter(e.get('type') for e in ev_n)), {'new': 300},
         'kinds: a NEW-only listener gets the 300 NEWs only')
    if st_n:
        t.eq(d.counter(st_n, 'events_unwanted'), n_all['update'] + n_all['destroy'],
             'kinds: NEW only: events_unwanted == the UPDATEs and DESTROYs not built')
        t.eq(d.counter(st_n, 'undelivered_destroy'), 0, 'kinds: NEW only: no entry left dying')
    t.eq(tx_n, rxf, 'kinds: NEW only: traffic forwarded unchanged')
    t.eq(n_all['destroy'], 300, 'kinds: a listener of all gets 300 DESTROYs')
    t.check(n_all['new'] == 300 and n_all['update'] > 0,
            'kinds: ... and the NEWs and UPDATEs (%s)' % dict(n_all))
    t.eq(dict(n_d), {'destroy': 300}, 'kinds: a DESTROY-only listener gets the 300 DESTROYs only')
    if st_all and st_d:
        t.eq(d.counter(st_all, 'events_unwanted'), 0, 'kinds: all wanted: events_unwanted 0')
        t.eq(d.counter(st_d, 'events_unwanted'), n_all['new'] + n_all['update'],
             'kinds: DESTROY only: events_unwanted == the NEWs and UPDATEs not built')
        t.eq(d.counter(st_d, 'undelivered_destroy'), 0, 'kinds: DESTROY only: none undelivered')
    t.eq(tx, rxf, 'kinds: traffic forwarded as without listeners')
    t.done()


main()
