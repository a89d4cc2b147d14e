#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""/dpct/shards on a box with more shards than one telemetry reply holds
(the library's 16 KiB): dpct with 20 workers (on the machine's CPUs, over a
net_null port that receives nothing).

- every reply stays under 16 KiB and is whole JSON;
- the pages (`/dpct/shards`, then `/dpct/shards,<next>` while "next" is
  given) hold every shard exactly once, each with every counter of shard 0;
- a first shard out of range or not a number is refused;
- `dpct-ctl stats` prints a line for every shard, and dpct-exporter reports
  dpct_shard_entries for every shard.
No root needed."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

WORKERS = 20
TEL_MAX = 16384


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def raw(prefix, command):
    rc, out, err = d.ctl(prefix, 'raw', command)
    try:
        v = json.loads(out) if rc == 0 else None
    except ValueError:
        return rc, None, err + out, 0
    # The library's reply is compact JSON: {"<command>": <value>}.
    size = len(json.dumps({command: v}, separators=(',', ':'))) if v is not None else 0
    return rc, v, err, size


def main():
    t = d.Tap()
    exporter = os.path.join(d.BUILD, 'tools', 'dpct-exporter', 'dpct-exporter')
    d.need([d.DPCT, d.CTL, exporter], t)
    tmp = d.tmpdir('telshards')
    prefix, port_id = d.uniq('telshards')
    cfg = d.write_config(tmp, d.base_config(port_id, table={'max_entries': 20 * 4096},
                                            workers={'rxd': 128, 'txd': 128, 'mbufs': 65536}))
    ncpu = len(os.sched_getaffinity(0))
    lcores = '0@0,(1-%d)@(0-%d)' % (WORKERS, max(ncpu - 1, 0))
    cmd = d.dpct_cmd(prefix, cfg, lcores=lcores, replay=False,
                     extra_eal=['--vdev', 'net_null0,no-rx=1'])
    cmd[cmd.index('-m') + 1] = '1024'
    dp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    exp = None
    try:
        info = None
        deadline = time.time() + 60
        while time.time() < deadline and dp.poll() is None:
            rc, info, _, _ = raw(prefix, '/dpct/info')
            if rc == 0 and info:
                break
            time.sleep(0.3)
        t.eq((info or {}).get('workers'), WORKERS, 'dpct runs %d workers' % WORKERS)

        seen, first, pages, sizes, keys0 = {}, 0, 0, [], None
        while pages < 64:
            rc, page, err, size = raw(prefix, '/dpct/shards' + (',%d' % first if first else ''))
            pages += 1
            sizes.append(size)
            if rc != 0 or not isinstance(page, dict):
                t.check(False, 'page from shard %d answers' % first, err)
                break
            nxt = page.pop('next', None)
            for k, v in page.items():
                seen[k] = seen.get(k, 0) + 1
                if keys0 is None:
                    keys0 = set(v)
                elif set(v) != keys0:
                    t.check(False, 'shard %s has the counters of shard 0' % k,
                            'differs: %s' % sorted(set(v) ^ keys0)[:8])
            if nxt is None:
                break
            if not isinstance(nxt, int) or nxt <= first:
                t.check(False, '"next" moves forward', repr(nxt))
                break
            first = nxt
        t.check(pages > 1, 'the shards take more than one page (%d)' % pages)
        t.check(max(sizes) < TEL_MAX, 'every page is under 16 KiB (largest %d bytes)'
                % max(sizes))
        t.eq(sorted(seen, key=int), [str(i) for i in range(WORKERS)],
             'the pages hold every shard')
        t.check(all(n == 1 for n in seen.values()), 'each shard once', repr(seen))
        t.check(keys0 is not None and len(keys0) > 20, 'a shard has its counters (%d)'
                % len(keys0 or ()))

        for bad, why in (('/dpct/shards,%d' % WORKERS, 'bad first shard'),
                         ('/dpct/shards,x', 'bad first shard'),
                         ('/dpct/shards,-1', 'bad first shard'),
                         ('/dpct/shards,1,2', 'bad first shard')):
            rc, _, err, _ = raw(prefix, bad)
            t.check(rc != 0 and why in err, '%s refused' % bad, err.strip())

        rc, out, err = d.ctl(prefix, 'stats')
        lines = [ln for ln in out.splitlines() if ln.startswith('cpu=')]
        t.eq(len(lines), WORKERS, 'dpct-ctl stats: a line per shard')

        port = free_port()
        exp = subprocess.Popen([exporter, '--file-prefix', prefix, '--listen',
                                '127.0.0.1:%d' % port], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        body = ''
        for _ in range(50):
            try:
                body = urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port,
                                              timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.2)
        shards = {ln.split('shard="')[1].split('"')[0] for ln in body.splitlines()
                  if ln.startswith('dpct_shard_entries{')}
        t.eq(len(shards), WORKERS, 'dpct-exporter: dpct_shard_entries for every shard')
    finally:
        if exp is not None:
            exp.terminate()
            exp.wait(timeout=10)
        rc, log = d.stop(dp)
        t.eq(rc, 0, 'dpct stops cleanly') or print('# ' + log[-1500:])
    return t.done()


if __name__ == '__main__':
    sys.exit(main())
