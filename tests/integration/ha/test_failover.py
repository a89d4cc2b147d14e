# SPDX-License-Identifier: BSD-3-Clause
"""dpct -> dpct failover (docs/ha.md). A primary tracks 20,000 connections
replayed by tcpreplay onto a veth pair (net_af_packet) and syncs them to a
backup over loopback (HMAC-authenticated); each box has a reliable
dpct-events listener. The primary is killed with SIGKILL mid-replay, the
backup promoted with `dpct-ctl ha primary`, which commits its external cache
into its shards, then stopped with --flush-on-exit: every committed
connection ends there and is reported. The backup's listener must get a
DESTROY for every connection live at the kill (a NEW on the primary's
listener and no DESTROY), and none for a connection whose DESTROY the
primary's listener already had, but for those in its last control step
(the DEL goes out after the listeners took the end: reported twice, never
lost); beyond those, only connections that listener never heard of (a NEW
it missed). The figures are printed.

With the argument `late`, the backup starts 3 s into the replay: what the
primary tracked before comes to it only through the full resync it asks
for at startup (conntrackd's StartupResync), and the same must hold. With
`tcp`, the pair syncs over the TCP transport (HMAC frames on a stream each
way) instead of UDP. With `slow`, the primary's reliable listener has a
small socket buffer and is stopped (SIGSTOP) 1.5 s before the kill: the
DESTROYs it refuses wait on the primary's dying list, the backup keeps
those connections (an UPD marked as ended, not yet a DEL), commits them to
end at once on promotion, and reports each once; the DESTROYs the listener
did take are not reported again."""

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halib  # noqa: E402
from halib import dpctlib  # noqa: E402

FLOWS = 20000
SECRET = 'failover test secret, 32 bytes!'


def empty_pcap(path):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    return path


def box_cfg(chan, role, bind, peer, port, transport):
    cfg = dpctlib.base_config(chan)
    cfg['timeouts'] = {'tcp_time_wait': 1, 'tcp_close': 1}
    cfg['ha'] = {'role': role, 'peer': peer, 'bind': bind, 'port': port, 'secret': SECRET,
                 'drain_ms': 0, 'transport': transport}
    return cfg


def keys(evs, kind):
    return {halib.ev_key(e) for e in evs if e['type'] == kind}


def main():
    tap = dpctlib.Tap()
    if shutil.which('tcpreplay') is None:
        tap.check(False, 'tcpreplay installed (scripts/setup.sh)')
        tap.done()
    dpctlib.need([dpctlib.DPCT, dpctlib.GEN, dpctlib.EVENTS, dpctlib.CTL], tap)
    late = 'late' in sys.argv[1:]
    transport = 'tcp' if 'tcp' in sys.argv[1:] else 'udp'
    slow = 'slow' in sys.argv[1:]
    d = dpctlib.tmpdir('ha_fo')
    pid = os.getpid() % 100000
    vin, vdp = 'hfi%d' % pid, 'hfd%d' % pid
    port = 20000 + pid % 20000
    procs = []
    try:
        halib.run(['ip', 'link', 'add', vin, 'type', 'veth', 'peer', 'name', vdp])
        for dev in (vin, vdp):
            halib.run(['ip', 'link', 'set', dev, 'up'])
            halib.run(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % dev], check=False)
        pcap = dpctlib.gen(os.path.join(d, 'a.pcap'), 'mix', FLOWS, concurrency=2048, seed=31)
        n_pkts = len(dpctlib.read_pcap(pcap))

        # Backup: no traffic of its own (an empty capture, live clock).
        bprefix, bchan = dpctlib.uniq('ha_fo_b')
        bcfg = dpctlib.write_config(d, box_cfg(bchan, 'backup', '127.0.0.3', '127.0.0.2', port,
                                                    transport),
                                    'backup.json')
        bev = os.path.join(d, 'b_ev.json')
        bst = os.path.join(d, 'b_st.json')

        def start_backup():
            lis = dpctlib.start_events(bchan, bev, None, reliable=True, rcvbuf=16 << 20,
                                       idle_ms=0, max_s=300)
            p = subprocess.Popen(dpctlib.dpct_cmd(
                bprefix, bcfg, rx=empty_pcap(os.path.join(d, 'empty.pcap')),
                tx=os.path.join(d, 'b_tx.pcap'), stats=bst, replay=False,
                app=['--flush-on-exit'] + dpctlib.wait_listeners_args(1)),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs.append(p)
            return lis, p

        def both_up():
            return dpctlib.wait_for(lambda: (dpctlib.telemetry(bprefix, '/dpct/ha') or {}).get(
                'peer_known') == 1 and (dpctlib.telemetry(pprefix, '/dpct/ha') or {}).get(
                'peer_known') == 1, 30, 0.5)

        if not late:
            blis, backup = start_backup()

        # Primary on the veth pair.
        pprefix, pchan = dpctlib.uniq('ha_fo_p')
        pcfg = dpctlib.write_config(d, box_cfg(pchan, 'primary', '127.0.0.2', '127.0.0.3',
                                               port, transport), 'primary.json')
        pev = os.path.join(d, 'p_ev.json')
        plis = dpctlib.start_events(pchan, pev, None, reliable=True,
                                    rcvbuf=(64 << 10) if slow else 16 << 20,
                                    idle_ms=0, max_s=300)
        primary = subprocess.Popen(dpctlib.dpct_cmd(
            pprefix, pcfg, replay=False, extra_eal=['--vdev', 'net_af_packet0,iface=%s' % vdp],
            app=dpctlib.wait_listeners_args(1)),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(primary)
        if not late:
            tap.check(both_up(), 'primary and backup answered each other\'s HELLO')
        else:
            time.sleep(3)

        # About 12 s of replay; the kill comes after 6.
        pps = max(1000, n_pkts // 12)
        rep = subprocess.Popen(['tcpreplay', '-q', '-i', vin, '-p', str(pps), pcap],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(rep)
        if late:
            time.sleep(3)
            blis, backup = start_backup()
            tap.check(both_up(), 'the backup, started 3 s into the replay, and the primary '
                      'answered each other\'s HELLO')
            ok = dpctlib.wait_for(lambda: (dpctlib.telemetry(pprefix, '/dpct/ha') or {}).get(
                'resync_requests', 0) >= 1 and not (dpctlib.telemetry(
                    pprefix, '/dpct/ha') or {}).get('resyncing'), 10, 0.2)
            pha = dpctlib.telemetry(pprefix, '/dpct/ha') or {}
            tap.check(ok and pha.get('resync_sent', 0) > 0,
                      'the primary answered the backup\'s resync request with its table '
                      '(%s connections)' % pha.get('resync_sent'))
            time.sleep(2)
        elif slow:
            time.sleep(4.5)
            plis.send_signal(signal.SIGSTOP)
            time.sleep(1.5)
        else:
            time.sleep(6)
        pha = dpctlib.telemetry(pprefix, '/dpct/ha') or {}
        primary.send_signal(signal.SIGKILL)
        primary.wait(timeout=30)
        if slow:
            plis.send_signal(signal.SIGCONT)
        rep.terminate()
        rep.wait(timeout=30)
        prc, _ = dpctlib.finish(plis, 30)
        tap.eq(prc, dpctlib.EVENTS_DPCT_GONE, 'the primary\'s listener saw it die')
        pevs = dpctlib.events(pev)
        p_new, p_del = keys(pevs, 'new'), keys(pevs, 'destroy')
        live = p_new - p_del
        tap.check(len(p_new) > 2000 and len(live) > 500,
                  'killed mid-replay: %d NEW, %d DESTROY on the primary' % (len(p_new),
                                                                            len(p_del)))
        time.sleep(1)
        bha = dpctlib.telemetry(bprefix, '/dpct/ha') or {}
        print('# primary ha before the kill: %s' % json.dumps(
            {k: pha.get(k) for k in ('sent', 'acked', 'resent', 'gaps', 'pending', 'tx_destroy',
                                     'tx_destroy_pending', 'tx_destroy_late')}))
        print('# backup ha before promotion: %s' % json.dumps(
            {k: bha.get(k) for k in ('rx_data', 'cache_entries', 'gaps', 'nacks_sent',
                                     'rx_bad_auth', 'rx_malformed')}))
        if transport == 'tcp':
            print('# backup tcp: %s' % json.dumps({k: bha[k] for k in bha
                                                   if k.startswith('tcp_')}))
            tap.check(bha.get('tcp_accepts', 0) >= 1 and pha.get('tcp_connects', 0) >= 1 and
                      bha.get('rx_bad_auth') == 0 and bha.get('tcp_rx_bad_stream') == 0,
                      'over TCP: the backup accepted the primary\'s stream, every frame '
                      'authenticated')
            if not late:
                tap.check(bha.get('tcp_connect_errors', 0) >= 1 and
                          bha.get('tcp_connects', 0) >= 1,
                          'the backup, started first, retried with backoff (%s refused) until '
                          'the primary listened' % bha.get('tcp_connect_errors'))
        # A listener can miss NEWs (stopped, or the worker's event ring full
        # on a loaded machine: the NEW waits for the flow's next packet).
        # The flows it never heard of are owed their end as well, so the
        # cache may hold more than `live`: only those.
        known = {halib.ev_key(e) for e in pevs}
        tap.check(bha.get('cache_entries', 0) >= len(live),
                  'the backup\'s external cache holds the %d connections live at the '
                  'kill, and %d the primary\'s listener never heard of' % (
                      len(live), bha.get('cache_entries', 0) - len(live)))
        n_cache = bha.get('cache_entries')
        t0 = time.monotonic()
        rc, out, err = dpctlib.ctl(bprefix, 'ha', 'primary', timeout=90)
        tap.eq(rc, 0, 'dpct-ctl ha primary: ' + (out + err).strip())
        print('# promotion took %.2f s' % (time.monotonic() - t0))
        bha = dpctlib.telemetry(bprefix, '/dpct/ha') or {}
        tap.eq(bha.get('committed'), n_cache, 'every cached connection committed to a shard')
        print('# backup after promotion: %s' % json.dumps(
            {k: bha.get(k) for k in ('role', 'committed', 'commit_exists', 'commit_expired',
                                     'commit_dying', 'commit_failed', 'commit_ms')}))
        if slow:
            # DESTROYs refused on the primary and not delivered by the kill.
            undelivered = pha.get('tx_destroy_pending', 0) - pha.get('tx_destroy_late', 0)
            print('# refused on the primary: %d DESTROYs (%d delivered late before the '
                  'kill, about %d pending at it; the telemetry read came just before), '
                  'committed as ended: %d' % (pha.get('tx_destroy_pending', 0),
                                              pha.get('tx_destroy_late', 0), undelivered,
                                              bha.get('commit_dying', 0)))
            tap.check(bha.get('commit_dying', 0) > 0,
                      'the stopped listener refused DESTROYs: %d connections ended on the '
                      'primary were committed to end at once' % bha.get('commit_dying', 0))
        backup.send_signal(signal.SIGTERM)
        try:
            backup.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            backup.kill()
        tap.eq(backup.returncode, 0, 'the backup flushes and exits 0')
        dpctlib.finish(blis, 30)
        bevs = dpctlib.events(bev)
        b_new, b_del = keys(bevs, 'new'), keys(bevs, 'destroy')
        n_b_del = sum(1 for e in bevs if e['type'] == 'destroy')
        lost = live - b_del
        dup = p_del & b_del
        extra = b_del - live - dup
        # The DEL follows the listeners' delivery (only an end every reliable
        # listener took is an end on the peer): a kill between the two leaves
        # the peer to report that end again. Only the last control step's can
        # be such: at most CTL_BUDGET (4096) records a step.
        p_del_order = [halib.ev_key(e) for e in pevs if e['type'] == 'destroy']
        last_step = set(p_del_order[-4096:])
        print('# figures: live at kill %d, DESTROYs by the primary %d, by the backup %d '
              '(%d events), duplicates %d, lost %d, unknown %d' % (
                  len(live), len(p_del), len(b_del), n_b_del, len(dup), len(lost), len(extra)))
        tap.eq(len(b_new), 0, 'the backup reports no NEW for the connections it took over')
        tap.eq(len(lost), 0, 'every connection live at the kill got its DESTROY from the backup')
        tap.check(dup <= last_step, 'a connection reported on both boxes (%d) is one whose '
                  'DESTROY the primary\'s listener had in its last control step before the '
                  'kill, its DEL not yet sent' % len(dup), str(list(dup - last_step)[:3]))
        tap.eq(n_b_del, len(b_del), 'one DESTROY per connection on the backup')
        tap.check(not (extra & known), 'beyond those live at the kill, the backup reports '
                  'only connections the primary\'s listener never heard of (%d)' % len(extra),
                  str(list(extra & known)[:3]))
        tap.eq(len(extra) + len(dup), n_cache - len(live),
               'those and the connections reported twice are the cache\'s extra entries')
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        halib.run(['ip', 'link', 'del', vin], check=False)
    shutil.rmtree(d, ignore_errors=True)
    tap.done()


if __name__ == '__main__':
    main()
