# SPDX-License-Identifier: BSD-3-Clause
"""Helpers for the monitoring tests: the exposition-format parser, an HTTP
fetch with a deadline, a free loopback port, dpct-exporter's path and its
metric list, and a fake DPDK telemetry v2 server (SOCK_SEQPACKET) whose
answers a test changes while the exporter scrapes it."""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'app'))
import dpctlib as d  # noqa: E402,F401

EXPORTER = os.path.join(d.BUILD, 'tools', 'dpct-exporter', 'dpct-exporter')
PROMTOOL = '/usr/bin/promtool'
PROMETHEUS = '/usr/bin/prometheus'

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def _unescape(v):
    out, i = [], 0
    while i < len(v):
        if v[i] == '\\' and i + 1 < len(v):
            out.append({'n': '\n', '\\': '\\', '"': '"'}.get(v[i + 1], v[i + 1]))
            i += 2
        else:
            out.append(v[i])
            i += 1
    return ''.join(out)


def parse_metrics(text):
    """{name: [(labels dict, float value), ...]} and the (name, type) of
    each # TYPE line; raises ValueError on a line that is not the format."""
    samples, types = {}, {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith('# TYPE '):
            _, _, name, typ = line.split(' ', 3)
            types[name] = typ
            continue
        if line.startswith('#'):
            continue
        m = _SAMPLE.match(line)
        if m is None:
            raise ValueError('not a sample line: %r' % line)
        labels = {}
        rest = m.group(3) or ''
        pos = 0
        while pos < len(rest):
            lm = _LABEL.match(rest, pos)
            if lm is None:
                raise ValueError('bad labels in %r' % line)
            labels[lm.group(1)] = _unescape(lm.group(2))
            pos = lm.end()
        samples.setdefault(m.group(1), []).append((labels, float(m.group(4))))
    return samples, types


def value(samples, name, **labels):
    """The one sample of `name` whose labels include `labels`, or None."""
    hits = [v for lab, v in samples.get(name, [])
            if all(lab.get(k) == str(x) for k, x in labels.items())]
    return hits[0] if len(hits) == 1 else None


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(url, timeout=10):
    """(status, body) or (None, error text)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors='replace')
    except (OSError, ValueError) as e:
        return None, str(e)


def wait_http(url, timeout):
    """Poll until `url` answers 200; its body or None."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        st, body = http_get(url, timeout=5)
        if st == 200:
            return body
        time.sleep(0.1)
    return None


def exporter_metrics():
    """{name: type} from dpct-exporter --list-metrics."""
    p = subprocess.run([EXPORTER, '--list-metrics'], capture_output=True, text=True,
                       timeout=10, check=True)
    out = {}
    for line in p.stdout.splitlines():
        name, typ, _ = line.split(' ', 2)
        out[name] = typ
    return out


def promql_metric_names(expr):
    """The dpct_ metric names a PromQL expression reads."""
    return set(re.findall(r'\b(dpct_[a-zA-Z0-9_]+)', expr))


class FakeTelemetry:
    """A DPDK telemetry v2 server on `path`: greets each connection and
    answers commands from self.answers ({command: value}); self.mode
    changes what goes on the wire ('ok', 'garbage', 'oversize', 'silent',
    'close', 'bad_greeting', 'not_object')."""

    def __init__(self, path, answers):
        self.path = path
        self.answers = answers
        self.mode = 'ok'
        self.max_output_len = 16384
        self.oversize_max = 2 << 20
        self.commands = []
        self.lock = threading.Lock()
        self.stopping = False
        self.srv = None
        self.thread = None

    def start(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.srv.bind(self.path)
        self.srv.listen(16)
        self.srv.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def stop(self):
        """Close the listening socket and remove it: as if dpct exited."""
        self.stopping = True
        if self.thread is not None:
            self.thread.join(5)
        if self.srv is not None:
            self.srv.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        c.settimeout(10)
        try:
            # Room for the oversize replies (SO_SNDBUFFORCE: past wmem_max, as root).
            try:
                c.setsockopt(socket.SOL_SOCKET, getattr(socket, 'SO_SNDBUFFORCE', 32), 8 << 20)
            except OSError:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
            if self.mode == 'bad_greeting':
                c.send(b'\xff\xfe hello')
            else:
                c.send(json.dumps({'version': 'DPDK 22.11.0', 'pid': os.getpid(),
                                   'max_output_len': self.max_output_len}).encode())
            for _ in range(1000):
                cmd = c.recv(1024).decode(errors='replace')
                if not cmd:
                    return
                with self.lock:
                    self.commands.append(cmd)
                mode = self.mode
                if mode == 'close':
                    return
                if mode == 'silent':
                    time.sleep(5)
                    return
                if mode == 'garbage':
                    c.send(b'{"/dpct/stats": {"count": 1,, \x00\xff garbage')
                    continue
                if mode == 'oversize':
                    pad = min(self.max_output_len * 4, self.oversize_max)
                    c.send(json.dumps({cmd: {'pad': 'x' * pad}}).encode())
                    continue
                if mode == 'not_object':
                    c.send(json.dumps({cmd: [1, 2, 3]}).encode())
                    continue
                key = cmd.split(',', 1)[0]
                val = self.answers.get(cmd, self.answers.get(key))
                c.send(json.dumps({key: val}).encode())
        except OSError:
            pass
        finally:
            c.close()
