#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Telemetry during a run: dpct on net_af_packet over a veth pair, UDP flows
sent into it; dpct-ctl count/stats/list answer while it runs, and flush
empties the table with a DESTROY per entry at the listener. Needs root."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

FLOWS = 20


def send_udp(iface, n):
    # scapy in a child so its import cost and sockets stay out of this process.
    code = ('from scapy.all import Ether, IP, UDP, sendp\n'
            'pk = [Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / '
            'IP(src="198.51.100.1", dst="198.51.100.2") / UDP(sport=10000 + i, dport=53) / '
            '(b"x" * 32) for i in range(%d)]\n'
            'sendp(pk, iface="%s", verbose=False)\n' % (n, iface))
    subprocess.run(['/usr/bin/python3', '-c', code], check=True, timeout=60)


def main():
    t = d.Tap()
    if os.geteuid() != 0:
        t.skip_all('needs root (veth + af_packet)')
    d.need([d.DPCT, d.EVENTS, d.CTL], t)
    tag = 't%d' % (os.getpid() % 100000)
    a, b = tag + 'a', tag + 'b'
    tmp = d.tmpdir('telemetry')
    prefix, port_id = d.uniq('telemetry')
    d.sh('ip link add %s type veth peer name %s' % (a, b))
    dp = lst = None
    try:
        for i in (a, b):
            d.sh('ip link set %s up' % i)
            d.sh('sysctl -qw net.ipv6.conf.%s.disable_ipv6=1' % i, check=False)
        cfg = d.write_config(tmp, d.base_config(port_id, timeouts={'udp_unreplied': 600}))
        evs = os.path.join(tmp, 'ev.json')
        lst = d.start_events(port_id, evs, os.path.join(tmp, 'sum.json'), idle_ms=0, max_s=120)
        cmd = d.dpct_cmd(prefix, cfg, replay=False, lcores='0-1',
                         extra_eal=['--vdev', 'net_af_packet0,iface=%s' % a])
        dp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Wait (bounded) for telemetry to answer.
        deadline = time.time() + 30
        rc = 1
        while time.time() < deadline and dp.poll() is None:
            rc, out, err = d.ctl(prefix, 'count')
            if rc == 0:
                break
            time.sleep(0.3)
        t.eq(rc, 0, 'dpct-ctl count answers while dpct runs')
        send_udp(b, FLOWS)
        count = None
        deadline = time.time() + 15
        while time.time() < deadline:
            rc, out, err = d.ctl(prefix, 'count')
            count = d.first_int(out)
            if count == FLOWS:
                break
            time.sleep(0.3)
        t.eq(count, FLOWS, 'count == flows sent')
        rc, out, err = d.ctl(prefix, 'stats')
        t.check(rc == 0 and 'insert' in out, 'dpct-ctl stats answers with counters', out + err)
        rc, out, err = d.ctl(prefix, 'list')
        lines = [ln for ln in out.splitlines() if '198.51.100.1' in ln]
        t.eq(len(lines), FLOWS, 'dpct-ctl list shows every entry')
        rc, out, err = d.ctl(prefix, 'flush')
        t.eq(rc, 0, 'dpct-ctl flush succeeds')
        deadline = time.time() + 15
        while time.time() < deadline:
            count = d.first_int(d.ctl(prefix, 'count')[1])
            if count == 0:
                break
            time.sleep(0.3)
        t.eq(count, 0, 'flush empties the table')
        # The listener's stdout is a file (block-buffered): stop it, then read.
        time.sleep(1.0)
        d.stop(lst, 20)
        lst = None
        destroys = sum(1 for e in d.events(evs) if e.get('type') == 'destroy')
        t.eq(destroys, FLOWS, 'dpct-events sees a DESTROY per flushed entry')
    finally:
        if dp is not None:
            rc, log = d.stop(dp)
            t.eq(rc, 0, 'dpct stops cleanly on SIGINT') or print('# ' + log[-1500:])
        if lst is not None:
            d.stop(lst, 20)
        d.sh('ip link del %s' % a, check=False)
    t.done()


main()
