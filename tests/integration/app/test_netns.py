#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Real traffic: two network namespaces joined through dpct (net_af_packet on
the host ends of two veth pairs). A real TCP client and server exchange data;
dpct-events must report the connection NEW -> ESTABLISHED -> its close and a
DESTROY after the (short) time_wait timeout. Needs root."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

SERVER = r'''
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.199.0.2", 5001)); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.settimeout(10)
data = b""
while not data.endswith(b"\n"):
    chunk = c.recv(4096)
    if not chunk:
        break
    data += chunk
c.sendall(data.upper()); c.close(); s.close()
'''
CLIENT = r'''
import socket, sys
c = socket.create_connection(("10.199.0.2", 5001), timeout=10)
c.sendall(b"hello through dpct " * 100 + b"\n")
got = b""
while True:
    chunk = c.recv(4096)
    if not chunk:
        break
    got += chunk
c.close()
sys.exit(0 if got == (b"hello through dpct " * 100 + b"\n").upper() else 3)
'''


def main():
    t = d.Tap()
    if os.geteuid() != 0:
        t.skip_all('needs root (network namespaces)')
    d.need([d.DPCT, d.EVENTS], t)
    tag = 'n%d' % (os.getpid() % 100000)
    nsa, nsb = tag + 'A', tag + 'B'
    ha, hb = tag + 'ha', tag + 'hb'
    tmp = d.tmpdir('netns')
    prefix, port_id = d.uniq('netns')
    dp = lst = srv = None
    try:
        for ns, host, addr, mac in ((nsa, ha, '10.199.0.1', '02:00:00:aa:00:01'),
                                    (nsb, hb, '10.199.0.2', '02:00:00:bb:00:02')):
            d.sh('ip netns add %s' % ns)
            d.sh('ip link add %s type veth peer name eth0 netns %s' % (host, ns))
            d.sh('ip -n %s link set eth0 address %s' % (ns, mac))
            d.sh('ip -n %s addr add %s/24 dev eth0' % (ns, addr))
            d.sh('ip -n %s link set eth0 up' % ns)
            d.sh('ip -n %s link set lo up' % ns)
            d.sh('ip link set %s up' % host)
            d.sh('sysctl -qw net.ipv6.conf.%s.disable_ipv6=1' % host, check=False)
            # af_packet sees what the kernel hands it: no offloaded segments
            # or checksums, so the tracker judges real packets.
            d.sh('ip netns exec %s ethtool -K eth0 tx off tso off gso off' % ns, check=False)
            d.sh('ethtool -K %s rx off gro off' % host, check=False)
        # Static neighbours: the test is about TCP, not ARP through dpct.
        d.sh('ip -n %s neigh add 10.199.0.2 lladdr 02:00:00:bb:00:02 dev eth0' % nsa)
        d.sh('ip -n %s neigh add 10.199.0.1 lladdr 02:00:00:aa:00:01 dev eth0' % nsb)
        cfg = d.write_config(tmp, d.base_config(port_id, timeouts={'tcp_time_wait': 1,
                                                                   'tcp_close': 1}))
        evs = os.path.join(tmp, 'ev.json')
        lst = d.start_events(port_id, evs, os.path.join(tmp, 'sum.json'), idle_ms=0, max_s=120)
        dp = subprocess.Popen(d.dpct_cmd(prefix, cfg, replay=False, lcores='0-1', extra_eal=[
            '--vdev', 'net_af_packet0,iface=%s' % ha, '--vdev', 'net_af_packet1,iface=%s' % hb]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        t.check(dp.poll() is None, 'dpct running on the veth pair')
        srv = subprocess.Popen(['ip', 'netns', 'exec', nsb, '/usr/bin/python3', '-c', SERVER])
        time.sleep(0.5)
        cl = subprocess.run(['ip', 'netns', 'exec', nsa, '/usr/bin/python3', '-c', CLIENT],
                            timeout=40)
        t.eq(cl.returncode, 0, 'client and server exchanged data through dpct')
        try:
            srv.wait(timeout=20)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
        t.eq(srv.returncode, 0, 'server finished')
        srv = None
        time.sleep(4)  # time_wait 1 s plus the timer sweep
        d.stop(lst, 20)
        lst = None
        flow = [(e.get('type'), (e.get('state') or '').upper()) for e in d.events(evs)
                if e.get('proto') == 'tcp' and e.get('orig', {}).get('dport') == 5001]
        types = [f[0] for f in flow]
        states = [f[1] for f in flow]
        t.check(types[:1] == ['new'], 'first event is NEW', flow)
        t.check('ESTABLISHED' in states, 'reaches ESTABLISHED', flow)
        t.check(any(s in ('FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE')
                    for s in states), 'reports the close', flow)
        t.check(types[-1:] == ['destroy'], 'ends with DESTROY after time_wait', flow)
    finally:
        if srv is not None:
            srv.kill()
            srv.wait()
        if dp is not None:
            rc, log = d.stop(dp)
            t.eq(rc, 0, 'dpct stops cleanly') or print('# ' + log[-1500:])
        if lst is not None:
            d.stop(lst, 20)
        for ns in (nsa, nsb):
            d.sh('ip netns del %s' % ns, check=False)
        for h in (ha, hb):
            d.sh('ip link del %s' % h, check=False)
    t.done()


main()
