# SPDX-License-Identifier: BSD-3-Clause
"""Helpers for the app's integration tests: paths, generated pcaps, a tiny
pcap reader, running dpct / dpct-events / dpct-ctl with bounded waits, and
TAP output. Every run gets a unique --file-prefix and events channel (an
AF_UNIX socket path in a directory of its own) so meson can run the tests in
parallel."""

import json
import os
import struct
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get('DPCT_BUILD', 'build')
SRC = os.environ.get('DPCT_SRC', '.')
DPCT = os.path.join(BUILD, 'app', 'dpct', 'dpct')
GEN = os.path.join(BUILD, 'tools', 'dpct-gen', 'dpct-gen')
EVENTS = os.path.join(BUILD, 'tools', 'dpct-events', 'dpct-events')
CTL = os.path.join(BUILD, 'tools', 'dpct-ctl', 'dpct-ctl')


class Tap:
    """TAP producer: ok()/fail() per check, plan printed at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, cond, name, detail=''):
        self.n += 1
        print(('ok %d - %s' if cond else 'not ok %d - %s') % (self.n, name))
        if not cond:
            self.failed += 1
            for line in str(detail).splitlines()[:40]:
                print('#   ' + line)
        sys.stdout.flush()
        return cond

    def eq(self, a, b, name):
        return self.check(a == b, name, '%r != %r' % (a, b))

    def skip_all(self, why):
        print('1..0 # SKIP %s' % why)
        sys.exit(0)

    def done(self):
        print('1..%d' % self.n)
        sys.exit(1 if self.failed else 0)


def need(paths, tap):
    missing = [p for p in paths if not os.access(p, os.X_OK)]
    if missing:
        # The meson registration only adds a test once its binaries exist.
        tap.check(False, 'binaries present', 'missing: ' + ' '.join(missing))
        tap.done()


_SOCK_DIR = None
NOBODY = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups']


def sock_dir():
    """A directory for this process's events sockets: owned by us, mode 0755
    (dpct refuses directories others can write; nobody may traverse it)."""
    global _SOCK_DIR
    if _SOCK_DIR is None:
        _SOCK_DIR = tempfile.mkdtemp(prefix='dpct_ev_')
        os.chmod(_SOCK_DIR, 0o755)
    return _SOCK_DIR


def channel(chan):
    """The events socket path for a channel: a path as given, or (the old
    netlink port id argument) a unique path derived from the number."""
    if isinstance(chan, str):
        return chan
    return os.path.join(sock_dir(), 'ev-%d-%d.sock' % (os.getpid(), int(chan)))


def uniq(name):
    """A file prefix and events channel (socket path) unique to this test process."""
    pid = os.getpid()
    return '%s_%d' % (name, pid), os.path.join(sock_dir(), '%s-%d.sock' % (name, pid))


def tmpdir(name):
    return tempfile.mkdtemp(prefix='dpct_%s_' % name)


def gen(out, workload, flows, concurrency=None, ipv6=False, seed=1, timeout=120):
    cmd = [GEN, '--workload', workload, '--flows', str(flows), '--seed', str(seed), '-o', out]
    if concurrency:
        cmd += ['--concurrency', str(concurrency)]
    if ipv6:
        cmd.append('--ipv6')
    subprocess.run(cmd, check=True, timeout=timeout, stdout=subprocess.DEVNULL)
    return out


def read_pcap(path):
    """Frames of a classic pcap file, as bytes, in order."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack('<I', data[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        end = '<'
    elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
        end = '>'
    else:
        raise ValueError('%s: not a pcap file' % path)
    off, frames = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack(end + 'I', data[off + 8:off + 12])[0]
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


def write_config(d, cfg, name='dpct.json'):
    path = os.path.join(d, name)
    with open(path, 'w') as f:
        json.dump(cfg, f, indent=1)
    return path


def base_config(chan, **over):
    cfg = {
        'table': {'max_entries': 65536, 'early_drop': True},
        'timeouts': {'tcp_time_wait': 1, 'tcp_close': 1},
        'events': {'enabled': True, 'reliable': True, 'destroy_grace_ms': 500,
                   'socket': channel(chan)},
        'seed': 7,
    }
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k].update(v)
        else:
            cfg[k] = v
    return cfg


def dpct_cmd(prefix, cfg_path, rx=None, tx=None, lcores='0-1', extra_eal=(), app=(),
             stats=None, replay=True):
    cmd = [DPCT, '--no-huge', '-m', '512', '--no-pci', '--file-prefix', prefix,
           '--lcores' if '@' in lcores else '-l', lcores, '--log-level', 'lib.eal:error']
    if rx is not None:
        cmd += ['--vdev', 'net_pcap0,rx_pcap=%s,tx_pcap=%s' % (rx, tx)]
    cmd += list(extra_eal)
    cmd += ['--', '--config', cfg_path]
    if replay:
        cmd.append('--replay')
    if stats:
        cmd += ['--stats-json', stats]
    cmd += list(app)
    return cmd


_HELP = None


def dpct_help():
    global _HELP
    if _HELP is None:
        try:
            p = subprocess.run([DPCT, '--no-huge', '-m', '64', '--no-pci', '--no-shconf',
                                '-l', '0', '--', '--help'], capture_output=True, text=True,
                               timeout=30)
            _HELP = p.stdout + p.stderr
        except (OSError, subprocess.TimeoutExpired):
            _HELP = ''
    return _HELP


def wait_listeners_args(n):
    """If dpct can hold replay until listeners subscribe, use it; otherwise
    the listener is started first and retries every 100 ms until dpct's
    port answers (which happens during EAL/port setup, before replay)."""
    if '--wait-listeners' in dpct_help():
        return ['--wait-listeners', str(n)]
    return []


def events_cmd(chan, *args):
    """A dpct-events command line for channel `chan`."""
    return [EVENTS, '--socket', channel(chan)] + list(args)


def start_events(chan, out_json, summary, reliable=True, rcvbuf=None, fmt='json',
                 idle_ms=3000, max_s=300, user=None, extra=()):
    """dpct-events in the background; user='nobody' runs it unprivileged;
    summary=None: no --summary (no per-connection table in the listener)."""
    cmd = events_cmd(chan, '--format', fmt, '--idle-exit-ms', str(idle_ms),
                     '--max-seconds', str(max_s))
    if summary is not None:
        cmd += ['--summary', summary]
    if reliable:
        cmd.append('--reliable')
    if rcvbuf:
        cmd += ['--rcvbuf', str(rcvbuf)]
    cmd += list(extra)
    if user == 'nobody':
        cmd = NOBODY + cmd
    out = open(out_json, 'w')
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, text=True)
    p._dpct_out = out
    return p


def finish(p, timeout):
    """Wait for a process, killing it at the deadline; (rc, stderr)."""
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        err = (err or '') + '\n[killed after %ss]' % timeout
    if hasattr(p, '_dpct_out'):
        p._dpct_out.close()
    return p.returncode, err or ''


def run_dpct(cmd, timeout=120):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def load_json(path):
    with open(path) as f:
        return json.load(f)


def counter(stats, *names):
    """A total counter from --stats-json: looked up at the top level, then in
    "totals"/"total" and "ports" sums, under the first of `names` present."""
    for name in names:
        for scope in (stats, stats.get('totals'), stats.get('total')):
            if isinstance(scope, dict) and name in scope and \
                    isinstance(scope[name], (int, float)):
                return scope[name]
    for name in names:
        ports = stats.get('ports')
        if isinstance(ports, list) and ports and all(name in p for p in ports):
            return sum(p[name] for p in ports)
    raise KeyError('none of %s in stats-json: %s' % (names, json.dumps(stats)[:400]))


def events(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith('{'):
                out.append(json.loads(line))
    return out


def flow_key(ev):
    """A direction-independent key for a flow from a dpct-events JSON object."""
    # The original-direction tuple, not the id: ids depend on the shard
    # layout, and tests compare runs with different worker counts.
    o = ev.get('orig', {})
    return (ev.get('proto'), o.get('src'), o.get('dst'), o.get('sport'), o.get('dport'),
            o.get('icmp_id'))


def per_flow(evs):
    """{flow: [(type, state, status), ...]} in arrival order."""
    flows = {}
    for ev in evs:
        flows.setdefault(flow_key(ev), []).append(
            (ev.get('type'), ev.get('state'), ev.get('status')))
    return flows


def sh(cmd, check=True, timeout=30):
    """A setup command (ip, ethtool); output captured."""
    return subprocess.run(cmd, shell=True, check=check, timeout=timeout,
                          capture_output=True, text=True)


def dump(chan, timeout=60, user=None):
    """dpct-events --dump --format json: (rc, [entry, ...], stderr)."""
    cmd = events_cmd(chan, '--dump', '--format', 'json', '--max-seconds', str(timeout))
    if user == 'nobody':
        cmd = NOBODY + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 10)
    ents = [json.loads(ln) for ln in p.stdout.splitlines() if ln.startswith('{')]
    return p.returncode, ents, p.stderr


def telemetry(prefix, command, timeout=10):
    """One DPDK telemetry command (v2 socket) to dpct; its value, or None."""
    import socket
    base = '/var/run/dpdk' if os.getuid() == 0 else os.path.join(
        os.environ.get('XDG_RUNTIME_DIR', '/tmp'), 'dpdk')
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(timeout)
    try:
        s.connect(os.path.join(base, prefix, 'dpdk_telemetry.v2'))
        info = json.loads(s.recv(65536).decode())
        s.send(command.encode())
        reply = json.loads(s.recv(info.get('max_output_len', 16384) + 1024).decode())
        return reply.get(command.split(',', 1)[0])
    except (OSError, ValueError):
        return None
    finally:
        s.close()


def listeners(prefix):
    """/dpct/listeners as a list of dicts ([] when dpct does not answer)."""
    v = telemetry(prefix, '/dpct/listeners')
    if not isinstance(v, dict):
        return []
    return [v[k] for k in sorted(v, key=lambda x: int(x) if x.isdigit() else 0)]


def wait_for(cond, timeout, step=0.1):
    """Poll cond() until true or timeout; its last value."""
    deadline = time.time() + timeout
    v = cond()
    while not v and time.time() < deadline:
        time.sleep(step)
        v = cond()
    return v


def ctl(prefix, *args, timeout=20):
    p = subprocess.run([CTL, '--file-prefix', prefix] + list(args), capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def first_int(text):
    for tok in text.replace(':', ' ').split():
        if tok.isdigit():
            return int(tok)
    return None


def stop(p, timeout=60):
    """SIGINT (clean shutdown), then wait bounded; (rc, stdout+stderr)."""
    import signal
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        err = (err or '') + '\n[killed after %ss]' % timeout
    return p.returncode, (out or '') + (err or '')


# dpct-events' exit status when dpct closed the connection under it.
EVENTS_DPCT_GONE = 3


def listener_ended_ok(rc, err):
    """A dpct-events run ended as a replay test expects: 0 (--idle-exit-ms,
    --max-seconds or a signal came first) or 3 with its message (dpct
    finished the replay and exited first, closing the connection). Any
    other status (a refusal, a crash, a kill at the deadline) is a failure."""
    return rc == 0 or (rc == EVENTS_DPCT_GONE and
                       'dpct-events: dpct closed the connection (' in err)
