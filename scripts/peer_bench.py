#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dpct beside the systems a user would deploy instead (scripts/peer-bench.sh):
OVS-DPDK's userspace conntrack, Linux nf_conntrack, and dpdk-testpmd io as
the I/O floor, on the same dpct-gen captures, in interleaved rounds, with
one table of medians. A benchmark: it prints numbers and asserts nothing.

Cycles/packet of a DPDK system are the CPU time of its packet thread (dpct's
and testpmd's rte-worker-1, OVS's pmd-c01) times the TSC rate, over the
packets it received, between two samples taken while the count was still
growing: start-up, idle polling after the end of the capture and the other
jobs on a shared machine are not counted. Two drivers:

  pcap  net_pcap reading the capture file once (libpcap per packet), TX
        dropped by the PMD (no tx_pcap): the issue's set-up;
  mem   net_pcap with infinite_rx=1: the capture is copied into mbufs at
        start and replayed from memory in a loop, TX dropped: a PMD that
        costs tens of cycles, so each system's own work shows. Looping makes
        the established workloads: after the first pass every flow of the
        capture has an entry.

Linux: tcpreplay at top speed from a namespace into a veth pair, a
forwarding namespace with nftables `ct state` rules (or a `notrack` rule,
the floor), out through a second veth into a namespace that drops at
ingress. Cycles/packet: softirq time of all CPUs (/proc/stat) times the TSC
rate over the packets sent (the machine's other busy time is not counted:
tcpreplay's preload and other jobs would swamp it).
"""

import json
import os
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests',
                                'integration', 'app'))
import dpctlib as d  # noqa: E402

RUNS = int(os.environ.get('RUNS', '5'))
MEM_SECONDS = float(os.environ.get('MEM_SECONDS', '3'))
SHORT_FLOWS = int(os.environ.get('SHORT_FLOWS', '200000'))
BULK_FLOWS = int(os.environ.get('BULK_FLOWS', '10000'))
# The looped driver keeps the whole capture in mbufs (~5 KB of --no-huge
# memory each): smaller captures of the same shape there.
SHORT_FLOWS_MEM = int(os.environ.get('SHORT_FLOWS_MEM', '20000'))
BULK_FLOWS_MEM = int(os.environ.get('BULK_FLOWS_MEM', '1000'))
EST_LARGE = int(os.environ.get('EST_LARGE', str(1 << 20)))
WORKLOADS = os.environ.get('WORKLOADS', 'short-tcp,bulk-tcp,short-tcp-loop,bulk-tcp-loop,'
                           'est-64k,est-1m').split(',')
SYSTEMS = os.environ.get('SYSTEMS', 'dpct,dpct-ev,testpmd,ovs,linux').split(',')
OVS_VSWITCHD = os.environ.get('OVS_VSWITCHD', '/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk')
OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema'
# OVS's shared mempool holds at most 262,144 mbufs (netdev-dpdk MAX_NB_MBUF);
# infinite_rx copies every packet of the capture into one of them at start.
OVS_MAX_MBUFS = 262144
SAMPLE_S = 0.01


def tsc_hz():
    if os.environ.get('TSC_HZ'):
        return float(os.environ['TSC_HZ'])
    with open('/proc/cpuinfo') as f:
        m = re.search(r'cpu MHz\s*:\s*([\d.]+)', f.read())
    return float(m.group(1)) * 1e6


TSC = tsc_hz()
HZ = os.sysconf('SC_CLK_TCK')


# ---- captures -------------------------------------------------------------

def pcap_frames(path):
    with open(path, 'rb') as f:
        # dpct-gen writes little-endian, microsecond pcap files.
        if f.read(24)[:4] != b'\xd4\xc3\xb2\xa1':
            raise ValueError('%s: not a little-endian microsecond pcap file' % path)
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            incl = struct.unpack('<I', rec[8:12])[0]
            yield rec, f.read(incl)


def write_pcap(path, frames):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for rec, fr in frames:
            f.write(rec)
            f.write(fr)


def first_of_each_flow(src, dst):
    """The first packet of each flow of a dpct-gen capture (IPv4 5-tuple,
    direction kept): looped, every packet after the first pass hits an
    established entry and each flow costs one mbuf."""
    seen = set()

    def keep():
        for rec, fr in pcap_frames(src):
            if len(fr) < 38 or fr[12:14] != b'\x08\x00':
                continue
            ihl = (fr[14] & 15) * 4
            key = fr[23:24] + fr[26:34] + fr[14 + ihl:18 + ihl]
            if key not in seen:
                seen.add(key)
                yield rec, fr
    write_pcap(dst, keep())
    return len(seen)


def with_dst_mac(src, dst, mac):
    write_pcap(dst, ((rec, mac + fr[6:]) for rec, fr in pcap_frames(src)))


def count_packets(path):
    return sum(1 for _ in pcap_frames(path))


def make_captures(w):
    gen = {'short-tcp': ('short-tcp', SHORT_FLOWS, None, 'pcap'),
           'short-tcp-loop': ('short-tcp', SHORT_FLOWS_MEM, None, 'mem'),
           'bulk-tcp': ('bulk-tcp', BULK_FLOWS, None, 'pcap'),
           'bulk-tcp-loop': ('bulk-tcp', BULK_FLOWS_MEM, None, 'mem'),
           'est-64k': ('udp', 65536, 65536, 'mem'),
           'est-1m': ('udp', EST_LARGE, min(EST_LARGE, 1000000), 'mem')}
    caps = {}
    for wl in WORKLOADS:
        if wl not in gen:
            sys.exit('peer-bench: WORKLOADS: no workload %r (%s)' % (wl, ', '.join(gen)))
        kind, flows, conc, mode = gen[wl]
        path = os.path.join(w, wl + '.pcap')
        d.gen(path, kind, flows, concurrency=conc, seed=3, timeout=600)
        if wl.startswith('est-'):
            full = path + '.full'
            os.rename(path, full)
            first_of_each_flow(full, path)
            os.unlink(full)
        caps[wl] = {'path': path, 'packets': count_packets(path), 'flows': flows,
                    'modes': [mode], 'looped': mode == 'mem'}
        print('capture %s: dpct-gen --workload %s --flows %d%s: %d packets%s'
              % (wl, kind, flows, ' --concurrency %d' % conc if conc else '',
                 caps[wl]['packets'], ', first packet of each flow kept'
                 if wl.startswith('est-') else ''), flush=True)
    return caps


# ---- sampling a DPDK packet thread ------------------------------------------

def thread_cpu(pid, prefix, tid):
    try:
        if tid is None:
            for t in sorted(os.listdir('/proc/%d/task' % pid), key=int):
                with open('/proc/%d/task/%s/comm' % (pid, t)) as f:
                    if f.read().startswith(prefix):
                        tid = int(t)
                        break
        if tid is None:
            return None, None
        with open('/proc/%d/task/%d/schedstat' % (pid, tid)) as f:
            return int(f.read().split()[0]) / 1e9, tid
    except (OSError, ValueError, IndexError):
        return None, tid


def telemetry_rx(prefix):
    v = d.telemetry(prefix, '/ethdev/stats,0', timeout=2)
    return v.get('ipackets') if isinstance(v, dict) else None


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False


def start_limit(cap, mode):
    """Seconds a run may take: start-up grows with the packets a looped
    capture copies into mbufs (and the table it needs)."""
    return 120 + (cap['packets'] // 5000 if mode == 'mem' else 0)


def sample(pid, prefix, count, mode, limit_s):
    """(time, packets, thread CPU s) every SAMPLE_S until the capture is done
    (pcap: the count stood still for 1.5 s) or MEM_SECONDS after the first
    packet (mem), or limit_s; then the cycles/packet and Mpps between the
    first sample with packets (mem: 1 s later, past the first pass) and the
    last one taken while the count still grew. None when it never moved."""
    s, tid, t0 = [], None, time.monotonic()
    while time.monotonic() < t0 + limit_s:
        time.sleep(SAMPLE_S)
        if not alive(pid) or (not s and time.monotonic() > t0 + limit_s / 2):
            break
        c = count()
        cpu, tid = thread_cpu(pid, prefix, tid)
        now = time.monotonic()
        if c is None or cpu is None:
            continue
        s.append((now, c, cpu))
        moving = [x for x in s if x[1] > 0]
        if not moving:
            if now - s[0][0] > limit_s / 4:
                break
            continue
        if mode == 'mem' and now - moving[0][0] >= MEM_SECONDS + 1.0:
            break
        if mode == 'pcap' and now - min(x[0] for x in s if x[1] == c) >= 1.5:
            break
    moving = [x for x in s if x[1] > 0]
    if len(moving) < 3:
        return None
    final = moving[-1][1]
    if mode == 'mem':
        a = next((x for x in moving if x[0] >= moving[0][0] + 1.0), moving[0])
        b = moving[-1]
    else:
        a = moving[0]
        grew = [x for x in moving if x[1] < final]
        b = grew[-1] if grew else moving[-1]
    if b[1] <= a[1] or b[2] <= a[2]:
        return None
    return {'cpp': (b[2] - a[2]) * TSC / (b[1] - a[1]),
            'mpps': (b[1] - a[1]) / (b[0] - a[0]) / 1e6, 'packets': final}


def vdev(name, cap, mode):
    """net_pcap reading the capture; no tx_pcap: the PMD drops what is sent."""
    return '%s,rx_pcap=%s%s' % (name, cap, ',infinite_rx=1' if mode == 'mem' else '')


def mem_mb(packets, mode):
    return 768 + (packets * 5000 // (1 << 20) if mode == 'mem' else 0)


def runtime_gone(prefix):
    """EAL's runtime directory of a finished process (its sockets, config)."""
    shutil.rmtree(os.path.join('/var/run/dpdk', prefix), ignore_errors=True)


def stop_proc(p, timeout=30):
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


# ---- the systems ------------------------------------------------------------

def run_dpct(w, cap, mode, events, tag):
    prefix, sock = d.uniq('peer_%s' % tag)
    cfg = d.base_config(sock, events={'enabled': events, 'reliable': events}, seed=0)
    cfg.pop('timeouts', None)
    flows = cap['flows']
    cfg['table'] = {'max_entries': max(262144, 1 << (2 * flows - 1).bit_length()),
                    'early_drop': True}
    if mode == 'mem':
        cfg['workers'] = {'mbufs': cap['packets'] + 32768}
    path = d.write_config(w, cfg, 'peer-%s.json' % tag)
    app = []
    lst = None
    if events:
        app += d.wait_listeners_args(1)
        lst = d.start_events(sock, os.devnull, None, reliable=True, fmt='json',
                             idle_ms=120000, max_s=180, extra=['--events', 'new,destroy'])
        os.sched_setaffinity(lst.pid, {0})
    cmd = d.dpct_cmd(prefix, path, extra_eal=['--vdev', vdev('net_pcap0', cap['path'], mode)],
                     app=app, replay=False)
    cmd[cmd.index('-m') + 1] = str(mem_mb(cap['packets'], mode))
    log = open(os.path.join(w, 'dpct-%s.log' % tag), 'w')
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        r = sample(p.pid, 'rte-worker-', lambda: telemetry_rx(prefix), mode,
                   start_limit(cap, mode))
    finally:
        stop_proc(p)
        runtime_gone(prefix)
        if lst is not None:
            d.stop(lst, timeout=10)
            lst._dpct_out.close()
        log.close()
    return r or 'no packets counted (log %s)' % log.name


def run_testpmd(w, cap, mode, tag):
    prefix = 'peer_tpmd_%d_%s' % (os.getpid(), tag)
    cmd = ['dpdk-testpmd', '--no-huge', '-m', str(mem_mb(cap['packets'], mode)), '--no-pci',
           '-l', '0-1', '--file-prefix', prefix, '--log-level', 'lib.eal:error',
           '--vdev', vdev('net_pcap0', cap['path'], mode), '--', '--forward-mode=io',
           '--no-flush-rx', '--stats-period', '60',
           '--total-num-mbufs=%d' % (cap['packets'] + 32768 if mode == 'mem' else 32768)]
    log = open(os.path.join(w, 'testpmd-%s.log' % tag), 'w')
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        r = sample(p.pid, 'rte-worker-', lambda: telemetry_rx(prefix), mode,
                   start_limit(cap, mode))
    finally:
        stop_proc(p)
        runtime_gone(prefix)
        log.close()
    return r or 'no packets counted (log %s)' % log.name


OVS_FLOWS = """table=0,priority=10,ct_state=-trk,ip,actions=ct(table=1)
table=0,priority=0,actions=drop
table=1,priority=10,ct_state=+trk+new,ip,in_port=1,actions=ct(commit),output:2
table=1,priority=10,ct_state=+trk+est,ip,in_port=1,actions=output:2
table=1,priority=0,actions=drop
"""


def pmd_stats(ctl):
    out = subprocess.run(['ovs-appctl', '-t', ctl, 'dpif-netdev/pmd-stats-show'],
                         capture_output=True, text=True, timeout=10).stdout
    part = out.split('pmd thread', 1)
    if len(part) < 2:
        return None, None
    rx = re.search(r'packets received: (\d+)', part[1])
    avg = re.search(r'avg processing cycles per packet: ([\d.]+)', part[1])
    return (int(rx.group(1)) if rx else None), (float(avg.group(1)) if avg else None)


def run_ovs(w, cap, mode, tag):
    """ovs-vswitchd (DPDK) in a private run directory with a fresh database:
    two net_pcap ports (p0 reads the capture, p1 reads an empty one and
    drops what it sends), the usual two-table ct pipeline, the PMD on CPU 1,
    started only once the ports are in the bridge."""
    if mode == 'mem' and cap['packets'] + 16384 > OVS_MAX_MBUFS:
        return ('not run: infinite_rx needs an mbuf per packet (%d) and OVS\'s mempool holds '
                'at most %d' % (cap['packets'], OVS_MAX_MBUFS))
    if not os.access(OVS_VSWITCHD, os.X_OK):
        return 'not run: %s missing (apt-get install openvswitch-switch-dpdk)' % OVS_VSWITCHD
    rd = tempfile.mkdtemp(prefix='ovs_', dir=w)
    prefix = 'peer_ovs_%d_%s' % (os.getpid(), tag)
    env = dict(os.environ, OVS_RUNDIR=rd, OVS_DBDIR=rd, OVS_LOGDIR=rd, OVS_SYSCONFDIR=rd)
    db = 'unix:%s/db.sock' % rd
    ctl = os.path.join(rd, 'ovs-vswitchd.ctl')
    empty = os.path.join(w, 'empty.pcap')
    write_pcap(empty, [])
    pids = []

    def sh(*cmd, timeout=30):
        return subprocess.run(list(cmd), env=env, capture_output=True, text=True,
                              timeout=timeout, check=True)

    def vsctl(*a):
        return sh('ovs-vsctl', '--db=' + db, '--timeout=30', *a, timeout=40)

    try:
        sh('ovsdb-tool', 'create', rd + '/conf.db', OVS_SCHEMA)
        sh('ovsdb-server', rd + '/conf.db', '--remote=punix:' + rd + '/db.sock',
           '--pidfile=' + rd + '/ovsdb-server.pid', '--detach', '--log-file=' + rd + '/db.log',
           '--unixctl=' + rd + '/ovsdb-server.ctl')
        pids.append(rd + '/ovsdb-server.pid')
        vsctl('--no-wait', 'init')
        # pmd-cpu-mask on CPU 63, which this machine lacks: no PMD polls until
        # both ports are in the bridge; then CPU 1. --legacy-mem: DPDK refuses
        # --in-memory (which OVS may add) with --no-huge otherwise.
        vsctl('--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:dpdk-init=true',
              'other_config:dpdk-extra=--no-huge -m %d --legacy-mem --no-pci -l 0 '
              '--file-prefix %s' % (mem_mb(cap['packets'], mode) + 1024, prefix),
              'other_config:pmd-cpu-mask=0x8000000000000000')
        sh(OVS_VSWITCHD, db, '--pidfile=' + rd + '/ovs-vswitchd.pid', '--detach',
           '--log-file=' + rd + '/vswitchd.log', '--unixctl=' + ctl, timeout=120)
        pids.append(rd + '/ovs-vswitchd.pid')
        vsctl('add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev')
        vsctl('add-port', 'br0', 'p0', '--', 'set', 'Interface', 'p0', 'type=dpdk',
              'options:dpdk-devargs=' + vdev('net_pcap0', cap['path'], mode),
              'ofport_request=1')
        vsctl('add-port', 'br0', 'p1', '--', 'set', 'Interface', 'p1', 'type=dpdk',
              'options:dpdk-devargs=net_pcap1,rx_pcap=' + empty, 'ofport_request=2')
        with open(rd + '/flows', 'w') as f:
            f.write(OVS_FLOWS)
        sh('ovs-ofctl', 'del-flows', 'br0')
        sh('ovs-ofctl', 'add-flows', 'br0', rd + '/flows')
        ofport = vsctl('get', 'Interface', 'p0', 'ofport').stdout.strip()
        if ofport != '1':
            return 'not run: p0 did not come up (ofport %s; log %s/vswitchd.log)' % (ofport, rd)
        vsctl('set', 'Open_vSwitch', '.', 'other_config:pmd-cpu-mask=0x2')
        with open(rd + '/ovs-vswitchd.pid') as f:
            pid = int(f.read())
        r = sample(pid, 'pmd', lambda: telemetry_rx(prefix), mode, start_limit(cap, mode))
        if r is None:
            with open(rd + '/vswitchd.log') as f:
                err = [ln.split('|', 4)[-1].strip() for ln in f if '|ERR|' in ln]
            return 'not run: the PMD counted no packets; ovs-vswitchd: %s' % (
                err[0] if err else 'no error logged')
        r['ovs_avg'] = pmd_stats(ctl)[1]
        return r
    except (subprocess.SubprocessError, OSError) as e:
        err = getattr(e, 'stderr', '') or ''
        return 'not run: %s %s' % (e, err.strip().splitlines()[-1:] if err else '')
    finally:
        for pf in reversed(pids):
            try:
                with open(pf) as f:
                    pid = int(f.read())
                os.kill(pid, signal.SIGTERM)
                for _ in range(100):
                    os.kill(pid, 0)
                    time.sleep(0.1)
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        shutil.rmtree(rd, ignore_errors=True)
        runtime_gone(prefix)


# ---- Linux nf_conntrack -----------------------------------------------------

NS = ['peer_src_%d' % os.getpid(), 'peer_fwd_%d' % os.getpid(), 'peer_snk_%d' % os.getpid()]
MAC_IN = bytes.fromhex('02000000a001')
MAC_SINK = '02:00:00:00:b0:01'

NFT_CT = """table inet peer {
 chain forward_f {
  type filter hook forward priority 0; policy accept;
  ct state invalid counter drop
  ct state established,related counter accept
  ct state new counter accept
 }
}
"""
NFT_NOTRACK = """table inet peer {
 chain prerouting_raw {
  type filter hook prerouting priority -300; policy accept;
  notrack
 }
 chain forward_f {
  type filter hook forward priority 0; policy accept;
  counter accept
 }
}
"""


def sh(cmd, timeout=30, check=True):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout,
                          check=check)


def linux_down():
    for ns in NS:
        sh('ip netns del %s' % ns, check=False)


def linux_up(rules):
    linux_down()
    src, fwd, snk = NS
    for ns in NS:
        sh('ip netns add %s' % ns)
    sh('ip link add pa0 netns %s type veth peer name pa1 netns %s' % (src, fwd))
    sh('ip link add pb1 netns %s type veth peer name pb0 netns %s' % (fwd, snk))
    sh('ip -n %s link set pa1 address %s' % (fwd, ':'.join('%02x' % b for b in MAC_IN)))
    sh('ip -n %s link set pb0 address %s' % (snk, MAC_SINK))
    for ns, dev in ((src, 'pa0'), (fwd, 'pa1'), (fwd, 'pb1'), (snk, 'pb0')):
        sh('ip -n %s link set %s up' % (ns, dev))
    e = 'ip netns exec %s ' % fwd
    for k in ('net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0',
              'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.pa1.rp_filter=0'):
        sh(e + 'sysctl -qw ' + k)
    sh('ip -n %s addr add 169.254.9.2/30 dev pb1' % fwd)
    sh('ip -n %s neigh replace 169.254.9.1 lladdr %s dev pb1 nud permanent' % (fwd, MAC_SINK))
    sh('ip -n %s route add default via 169.254.9.1 dev pb1' % fwd)
    p = subprocess.run(['ip', 'netns', 'exec', fwd, 'nft', '-f', '-'], input=rules, text=True,
                       capture_output=True, timeout=30)
    if p.returncode:
        raise RuntimeError('nft: ' + p.stderr.strip())
    p = subprocess.run(['ip', 'netns', 'exec', snk, 'nft', '-f', '-'], text=True,
                       input='table netdev sink {\n chain in {\n  type filter hook ingress device '
                       'pb0 priority 0; policy drop;\n }\n}\n', capture_output=True, timeout=30)
    if p.returncode:
        raise RuntimeError('nft: ' + p.stderr.strip())


def softirq_s():
    """Softirq time of all CPUs, seconds (/proc/stat, field 7 of `cpu`)."""
    with open('/proc/stat') as f:
        return int(f.readline().split()[7]) / HZ


def tx_packets(ns, dev):
    out = sh('ip -n %s -s -j link show %s' % (ns, dev)).stdout
    s = json.loads(out)[0]['stats64']
    return s['rx']['packets'], s['tx']['packets']


def run_linux(w, cap, rules, loops, warm):
    mac_cap = cap['path'] + '.mac'
    if not os.path.exists(mac_cap):
        with_dst_mac(cap['path'], mac_cap, MAC_IN)
    try:
        linux_up(rules)
        rp = ['ip', 'netns', 'exec', NS[0], 'tcpreplay', '-q', '-t', '-K', '-i', 'pa0']
        if warm:
            subprocess.run(rp + [mac_cap], capture_output=True, timeout=300, check=True)
        pb_rx0 = tx_packets(NS[2], 'pb0')[0]
        pa_rx0 = tx_packets(NS[1], 'pa1')[0]
        si0 = softirq_s()
        t0 = time.monotonic()
        p = subprocess.run(rp + ['--loop=%d' % loops, mac_cap], capture_output=True, text=True,
                           timeout=600, check=True)
        t1 = time.monotonic()
        si1 = softirq_s()
        sent = tx_packets(NS[1], 'pa1')[0] - pa_rx0
        fwd = tx_packets(NS[2], 'pb0')[0] - pb_rx0
        m = re.search(r'Actual: (\d+) packets .* in ([\d.]+) seconds', p.stdout)
        pk = int(m.group(1)) if m else sent
        secs = float(m.group(2)) if m else t1 - t0
        inval = re.search(r'ct state invalid counter packets (\d+)',
                          sh('ip netns exec %s nft list ruleset' % NS[1]).stdout)
        conns = sh('ip netns exec %s conntrack -C' % NS[1], check=False).stdout.strip()
        return {'cpp': (si1 - si0) * TSC / pk,
                'mpps': pk / secs / 1e6, 'packets': pk, 'forwarded': fwd,
                'invalid': int(inval.group(1)) if inval else None, 'conns': conns}
    except (subprocess.SubprocessError, OSError, RuntimeError, ValueError, KeyError) as e:
        return 'not run: %s' % e
    finally:
        linux_down()


# ---- the rounds and the table -----------------------------------------------

def one_round(w, caps, i, res):
    for wl, cap in caps.items():
        for mode in cap['modes']:
            tag = '%s_%s_%d' % (wl, mode, i)
            rows = []
            if 'dpct' in SYSTEMS:
                rows.append(('dpct', run_dpct(w, cap, mode, False, tag + '_off')))
            if 'dpct-ev' in SYSTEMS:
                rows.append(('dpct-ev', run_dpct(w, cap, mode, True, tag + '_on')))
            if 'testpmd' in SYSTEMS:
                rows.append(('testpmd', run_testpmd(w, cap, mode, tag)))
            if 'ovs' in SYSTEMS:
                rows.append(('ovs', run_ovs(w, cap, mode, tag)))
            for name, r in rows:
                res.setdefault((wl, mode, name), []).append(r)
                print('round %d %s/%s %s: %s' % (i, wl, mode, name, fmt_raw(r)), flush=True)
        if 'linux' in SYSTEMS:
            est = cap['looped']
            loops = 5 if est else 1
            if est and cap['flows'] > 200000:
                lr = {'ct': 'not run: nf_conntrack_max (%s) is system-wide; 1M entries would '
                      'need it raised' % sh('sysctl -n net.netfilter.nf_conntrack_max',
                                            check=False).stdout.strip()}
                lr['notrack'] = lr['ct']
            else:
                lr = {'ct': run_linux(w, cap, NFT_CT, loops, est),
                      'notrack': run_linux(w, cap, NFT_NOTRACK, loops, est)}
            for k, r in lr.items():
                res.setdefault((wl, 'kernel', 'linux-' + k), []).append(r)
                print('round %d %s linux %s: %s' % (i, wl, k, fmt_raw(r)), flush=True)


def fmt_raw(r):
    if isinstance(r, str):
        return r
    return ', '.join('%s %s' % (k, ('%.2f' % v) if isinstance(v, float) else v)
                     for k, v in r.items())


def med(rs, key='cpp'):
    v = [r[key] for r in rs if isinstance(r, dict) and r.get(key) is not None]
    return statistics.median(v) if v else None


def why(rs):
    s = [r for r in rs if isinstance(r, str)]
    return s[0] if s else 'not run'


def table(caps, res):
    print()
    print('medians of %d interleaved rounds; cycles/packet at %.0f MHz TSC; "above" = above '
          'the floor (testpmd io on the same driver; Linux: the notrack row)' % (RUNS, TSC / 1e6))
    print()
    hdr = ('| workload | driver | dpct | dpct+listener | testpmd io | OVS-DPDK | dpct above '
           '| OVS above | dpct ÷ OVS (above) | Linux ct | Linux notrack | Linux above '
           '| dpct ÷ Linux (above) |')
    print(hdr)
    print('|' + '---|' * (hdr.count('|') - 1))

    def c(x):
        return '%.0f' % x if x is not None else '—'

    def q(a, b):
        return '%.2f' % (a / b) if a is not None and b else '—'

    for wl in caps:
        lct = med(res.get((wl, 'kernel', 'linux-ct'), []))
        lnt = med(res.get((wl, 'kernel', 'linux-notrack'), []))
        lab = lct - lnt if lct is not None and lnt is not None else None
        for mode in caps[wl]['modes']:
            g = {n: med(res.get((wl, mode, n), [])) for n in ('dpct', 'dpct-ev', 'testpmd', 'ovs')}
            fl = g['testpmd']
            da = g['dpct'] - fl if g['dpct'] is not None and fl is not None else None
            oa = g['ovs'] - fl if g['ovs'] is not None and fl is not None else None
            print('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |'
                  % (wl, 'net_pcap file' if mode == 'pcap' else 'net_pcap infinite_rx',
                     c(g['dpct']), c(g['dpct-ev']), c(fl), c(g['ovs']), c(da), c(oa),
                     q(da, oa), c(lct), c(lnt), c(lab), q(da, lab)))
    print()
    for wl in caps:
        for mode in caps[wl]['modes'] + ['kernel']:
            for n in ('dpct', 'dpct-ev', 'testpmd', 'ovs', 'linux-ct', 'linux-notrack'):
                rs = res.get((wl, mode, n))
                if not rs:
                    continue
                m = med(rs)
                if m is None:
                    print('%s/%s %s: %s' % (wl, mode, n, why(rs)))
                    continue
                extra = ''
                if n == 'ovs':
                    extra = ', OVS pmd-stats-show avg processing cycles/packet %s' % c(
                        med(rs, 'ovs_avg'))
                if n.startswith('linux'):
                    extra = (', %s forwarded of %s sent, invalid %s, conntrack -C %s' % (
                                 c(med(rs, 'forwarded')),
                                 c(med(rs, 'packets')), c(med(rs, 'invalid')),
                                 [r.get('conns') for r in rs if isinstance(r, dict)][-1:]))
                print('%s/%s %s: %.2f Mpps, %s cycles/packet (%d rounds)%s'
                      % (wl, mode, n, med(rs, 'mpps'), c(m),
                         sum(1 for r in rs if isinstance(r, dict)), extra))


def main():
    w = tempfile.mkdtemp(prefix='dpct_peer_')

    # SIGTERM (the timeout in peer-bench.sh) and SIGINT unwind through the
    # finally blocks: the running system is stopped, OVS's daemons killed,
    # the namespaces deleted and the captures removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(1))
    try:
        print('peer-bench: %d rounds, TSC %.0f MHz, %s, %d CPUs' % (
            RUNS, TSC / 1e6, sh('lscpu | sed -n "s/^Model name: *//p"', check=False).stdout.strip(),
            os.cpu_count()), flush=True)
        caps = make_captures(w)
        res = {}
        for i in range(1, RUNS + 1):
            one_round(w, caps, i, res)
        table(caps, res)
    finally:
        linux_down()
        shutil.rmtree(w, ignore_errors=True)
        if d._SOCK_DIR:
            shutil.rmtree(d._SOCK_DIR, ignore_errors=True)


if __name__ == '__main__':
    main()
