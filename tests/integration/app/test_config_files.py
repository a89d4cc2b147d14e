#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Config paths that are not config files: a FIFO, a directory, /dev/zero, a
socket and a 50 MB file.

At start, each is refused with a message naming the path and what it is,
exit status 1, within a second (a FIFO used to block dpct silently).

At reload, a running dpct (an endless capture on net_pcap, events on, a
policy of two rules) gets each of them in place of its config file, then
SIGHUP and `dpct-ctl reload`. Each reload is refused within a second (the
reload_failed counter, dpct-ctl's message and exit status 1, no traceback),
the rules stay, and the events socket answers a dump right after (a FIFO
used to block the control core, so dumps and dpct-ctl timed out). A good
file afterwards installs by both ways."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

BIG = 50 * 1000 * 1000
LIMIT_S = 1.0
SLOW_RULES = 4000


def policy(n):
    """n accept rules for UDP port ranges, default accept: nothing is dropped."""
    return {'default': 'accept',
            'rules': [{'proto': 'udp', 'dport': 1000 + i, 'action': 'accept',
                       'name': 'r%d' % i} for i in range(n)]}


class Log:
    """dpct's stdout and stderr, read as they come, each line with its time."""

    def __init__(self, p):
        self.p, self.lines, self.lock = p, [], threading.Lock()
        self.threads = [threading.Thread(target=self._read, args=(f,), daemon=True)
                        for f in (p.stdout, p.stderr)]
        for th in self.threads:
            th.start()

    def _read(self, f):
        for line in f:
            with self.lock:
                self.lines.append((time.monotonic(), line))

    def when(self, text):
        """The time of the first line containing `text`, or None."""
        with self.lock:
            return next((ts for ts, ln in self.lines if text in ln), None)

    def stop(self, timeout):
        """SIGINT, bounded wait (then SIGKILL); (rc, all the output)."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        for th in self.threads:
            th.join(timeout=10)
        with self.lock:
            return self.p.returncode, ''.join(ln for _, ln in self.lines)


def slow_policy(n):
    """n rules that take rte_acl seconds to compile (prefixes x port lists x states)."""
    return {'default': 'accept',
            'rules': [{'proto': 'udp', 'src': '10.%d.%d.0/24' % (i // 250, i % 250),
                       'dport': ['%d-%d' % (1000 + i, 2000 + i), 53, 80, 443],
                       'state': ['new', 'established'], 'action': 'accept'}
                      for i in range(n)]}


def clear(path):
    """Remove whatever stands at `path`."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def make_bad(kind, path, tmp):
    """Put `kind` at `path` (whatever was there goes); what the message says it is."""
    clear(path)
    if kind == 'fifo':
        os.mkfifo(path)
        return 'is a FIFO (named pipe), not a regular file'
    if kind == 'directory':
        os.mkdir(path)
        return 'is a directory, not a regular file'
    if kind == '/dev/zero':
        os.symlink('/dev/zero', path)
        return 'is a character device, not a regular file'
    if kind == 'socket':
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()
        return 'is a socket, not a regular file'
    if kind == '50 MB file':
        # Valid JSON all the way, so only the size can refuse it.
        with open(path, 'w') as f:
            f.write('{"seed": 7' + ' ' * (BIG - 11) + '}')
        return '%d bytes, more than the 1048576 bytes a config file may have' % BIG
    raise ValueError(kind)


KINDS = ['fifo', 'directory', '/dev/zero', 'socket', '50 MB file']


def at_start(t, tmp):
    for kind in KINDS:
        path = os.path.join(tmp, 'start-%s.json' % kind.replace('/', '_').replace(' ', '_'))
        want = make_bad(kind, path, tmp)
        prefix, _ = d.uniq('cfgfile_start')
        cmd = d.dpct_cmd(prefix, path, replay=False)
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            rc, err = p.returncode, p.stderr
        except subprocess.TimeoutExpired:
            rc, err = None, '[still running after 20 s]'
        dt = time.monotonic() - t0
        t.eq(rc, 1, 'start, %s as --config: exit status 1' % kind)
        t.check(path in err and want in err, 'start, %s: stderr names the path and %r'
                % (kind, want), err[-1500:])
        t.check(dt < LIMIT_S, 'start, %s: refused in %.3f s (< %g s)' % (kind, dt, LIMIT_S))


def rules(prefix):
    r = d.telemetry(prefix, '/dpct/rules')
    return r if isinstance(r, dict) else {}


def dump_ok(chan, why, t):
    """A dump answers within 10 s with the live entries."""
    t0 = time.monotonic()
    rc, ents, err = d.dump(chan, timeout=10)
    dt = time.monotonic() - t0
    return t.check(rc == 0 and len(ents) > 0,
                   '%s: a dump answers (%d entries in %.2f s)' % (why, len(ents), dt),
                   'rc %r, stderr %s' % (rc, err[-800:]))


def at_reload(t, tmp):
    prefix, chan = d.uniq('cfgfile_reload')
    pcap = d.gen(os.path.join(tmp, 'udp.pcap'), 'udp', 200, concurrency=200)
    cfg = d.base_config(chan, policy=policy(2),
                        timeouts={'udp_unreplied': 600, 'udp_replied': 600})
    good = json.dumps(cfg)
    path = os.path.join(tmp, 'reload.json')
    with open(path, 'w') as f:
        f.write(good)
    cmd = d.dpct_cmd(prefix, path, replay=False,
                     extra_eal=['--vdev', 'net_pcap0,rx_pcap=%s,tx_pcap=/dev/null,infinite_rx=1'
                                % pcap])
    dp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = Log(dp)
    out = ''
    try:
        r = d.wait_for(lambda: rules(prefix).get('generation') == 1, 60)
        t.check(r, 'dpct runs with generation 1 of the policy', rules(prefix))
        t.check(d.wait_for(lambda: d.dump(chan, timeout=10)[1], 30), 'entries to dump')
        failed = rules(prefix).get('reload_failed', 0)
        for kind in KINDS:
            want = make_bad(kind, path, tmp)
            # SIGHUP: refused on the reload thread, counted, rules stay.
            t0 = time.monotonic()
            os.kill(dp.pid, signal.SIGHUP)
            seen = d.wait_for(lambda: rules(prefix).get('reload_failed', 0) > failed, 5,
                              step=0.02)
            dt = time.monotonic() - t0
            r = rules(prefix)
            t.check(seen and dt < LIMIT_S, 'reload by SIGHUP, %s: refused in %.3f s' % (kind, dt),
                    r)
            failed = r.get('reload_failed', failed)
            dump_ok(chan, 'after SIGHUP with %s' % kind, t)
            # /dpct/reload through dpct-ctl: its message, exit 1, no traceback.
            t0 = time.monotonic()
            rc, o, e = d.ctl(prefix, 'reload', timeout=30)
            dt = time.monotonic() - t0
            t.check(rc == 1 and want in e and path in e and 'Traceback' not in e + o,
                    'dpct-ctl reload, %s: exit 1 with %r' % (kind, want), 'rc %r: %s' % (rc, e))
            t.check(dt < LIMIT_S + 1, 'dpct-ctl reload, %s: answered in %.3f s' % (kind, dt))
            r = rules(prefix)
            t.check(r.get('generation') == 1 and r.get('n_rules') == 2 and
                    r.get('reload_failed', 0) == failed + 1,
                    '%s: old rules stay, both refusals counted' % kind, r)
            failed = r.get('reload_failed', failed)
            rc, o, e = d.ctl(prefix, 'count', timeout=30)
            t.eq(rc, 0, 'dpct-ctl count answers after %s' % kind)
        # A good file again: both ways install it.
        clear(path)
        cfg['policy'] = policy(3)
        with open(path, 'w') as f:
            json.dump(cfg, f)
        rc, o, e = d.ctl(prefix, 'reload', timeout=30)
        t.check(rc == 0 and 'generation 2' in o, 'dpct-ctl reload of a good file', o + e)
        cfg['policy'] = policy(4)
        with open(path, 'w') as f:
            json.dump(cfg, f)
        os.kill(dp.pid, signal.SIGHUP)
        r = d.wait_for(lambda: rules(prefix).get('generation') == 3, 10, step=0.02)
        t.check(r and rules(prefix).get('n_rules') == 4, 'SIGHUP with a good file installs it',
                rules(prefix))
        dump_ok(chan, 'after the good reloads', t)
        # A reload that takes seconds (rte_acl compiling thousands of rules):
        # the events socket answers dumps while it runs.
        cfg['policy'] = slow_policy(SLOW_RULES)
        with open(path + '.new', 'w') as f:
            json.dump(cfg, f, separators=(',', ':'))
        os.rename(path + '.new', path)
        t0 = time.monotonic()
        os.kill(dp.pid, signal.SIGHUP)
        installed = 'policy: generation 4 installed from %s (SIGHUP)' % path
        dumps = []
        while time.monotonic() - t0 < 60 and log.when(installed) is None:
            t1 = time.monotonic()
            rc, ents, err = d.dump(chan, timeout=10)
            dumps.append((t1, time.monotonic(), rc == 0 and len(ents) > 0))
        done = d.wait_for(lambda: log.when(installed), 60)
        during = [x for x in dumps if done is not None and x[1] < done]
        t.check(done is not None, 'the slow reload installs (%.1f s)'
                % ((done or time.monotonic()) - t0))
        t.check(len(during) >= 1 and all(ok for _, _, ok in during) and
                max(b - a for a, b, _ in during) < LIMIT_S,
                '%d dumps answered while it ran, the slowest in %.2f s' %
                (len(during), max([b - a for a, b, _ in during] or [0])))
    except Exception as ex:  # noqa: BLE001
        t.check(False, 'run', repr(ex))
    finally:
        rc, out = log.stop(timeout=60)
    t.eq(rc, 0, 'dpct exits cleanly after SIGINT')
    for source in ('SIGHUP', '/dpct/reload'):
        lines = [ln for ln in out.splitlines()
                 if 'policy reload (%s) refused, old rules stay: %s' % (source, path) in ln]
        t.eq(len(lines), len(KINDS), 'the log has a line per refused reload by %s' % source)
    t.check('(SIGHUP)' in out and 'generation 3 installed' in out,
            'the log names the good SIGHUP reload', out[-2000:])


def main():
    t = d.Tap()
    d.need([d.DPCT, d.CTL, d.EVENTS], t)
    tmp = d.tmpdir('cfgfile')
    try:
        at_start(t, tmp)
        at_reload(t, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # 50 MB files
    t.done()


if __name__ == '__main__':
    main()
