#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Telemetry arguments and replies, against a running dpct (live mode on a
net_pcap vdev that has delivered a small capture and then stays idle):

- every command refuses junk, missing and extra fields with {"errmsg": ...};
- /dpct/stats carries every total of --stats-json, under the same names;
- /dpct/shards carries every per-shard counter of --stats-json;
- /dpct/config is typed, and `dpct-ctl config` rebuilds the whole document
  (values equal to the config file's);
- /dpct/flush leaves the table empty and says so.
No root needed."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

FLOWS = 50


def raw(prefix, command):
    """(rc, reply dict or None, stderr) of `dpct-ctl raw`."""
    rc, out, err = d.ctl(prefix, 'raw', command)
    try:
        return rc, json.loads(out) if rc == 0 else None, err
    except ValueError:
        return rc, None, err + out


def main():
    t = d.Tap()
    d.need([d.DPCT, d.GEN, d.CTL], t)
    tmp = d.tmpdir('telargs')
    prefix, port_id = d.uniq('telargs')
    pcap = d.gen(os.path.join(tmp, 'udp.pcap'), 'udp', FLOWS)
    cfg_obj = d.base_config(port_id, timeouts={'udp_unreplied': 600, 'udp_replied': 600},
                            table={'max_entries': 8192})
    cfg = d.write_config(tmp, cfg_obj)
    stats = os.path.join(tmp, 'stats.json')
    cmd = d.dpct_cmd(prefix, cfg, rx=pcap, tx=os.path.join(tmp, 'out.pcap'), replay=False,
                     stats=stats)
    dp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 30
        count = None
        while time.time() < deadline and dp.poll() is None:
            rc, out, err = d.ctl(prefix, 'count')
            count = d.first_int(out) if rc == 0 else None
            if count == FLOWS:
                break
            time.sleep(0.3)
        t.eq(count, FLOWS, 'dpct-ctl count answers with every flow of the capture')

        # Junk, missing and extra fields: a clear error, never ignored.
        bad = [
            ('/dpct/stats,1', 'takes no parameters'),
            ('/dpct/count,x', 'takes no parameters'),
            ('/dpct/info, ', 'takes no parameters'),
            ('/dpct/shards,1', 'bad first shard'),
            ('/dpct/shards,x', 'bad first shard'),
            ('/dpct/listeners,all', 'takes no parameters'),
            ('/dpct/flush,now', 'takes no parameters'),
            ('/dpct/list,abc', 'bad cursor'),
            ('/dpct/list,-1', 'bad cursor'),
            ('/dpct/list, 0', 'bad cursor'),
            ('/dpct/list,0x0', 'bad cursor'),
            ('/dpct/list,0,41', 'max must be'),
            ('/dpct/list,0,0', 'max must be'),
            ('/dpct/list,0,5,7', 'parameters are'),
            ('/dpct/list,99999999999999', 'names no shard'),
            ('/dpct/delete,udp,198.51.100.1', 'parameters are'),
            ('/dpct/delete,udp,198.51.100.1,198.51.100.2,1,53,0,9', 'parameters are'),
            ('/dpct/delete,udp,,198.51.100.2,1,53', 'bad src'),
            ('/dpct/delete,bogus,198.51.100.1,198.51.100.2,1,53', 'bad proto'),
            ('/dpct/delete,udp,198.51.100.1,2001:db8::1,1,53', 'bad dst'),
            ('/dpct/delete,udp,198.51.100.1,198.51.100.2,+5,53', 'bad sport'),
            ('/dpct/delete,udp,198.51.100.1,198.51.100.2,5,65536', 'bad dport'),
            ('/dpct/delete,udp,198.51.100.1,198.51.100.2,5,53,zone1', 'bad zone'),
            ('/dpct/config,nosuchsection', 'no section'),
            ('/dpct/rules,abc', 'bad start'),
            ('/dpct/rules,0,41', 'max must be'),
            ('/dpct/rules,0,1,2', 'parameters are'),
            ('/dpct/reload,now', 'takes no parameters'),
            ('/dpct/export,0', 'takes no parameters'),
        ]
        for command, why in bad:
            rc, reply, err = raw(prefix, command)
            t.check(rc != 0 and why in err, '%s refused (%s)' % (command, why),
                    'rc=%r stderr=%r reply=%r' % (rc, err.strip(), reply))

        rc, page, err = raw(prefix, '/dpct/list,0,5')
        t.check(rc == 0 and page.get('n') == 5 and all(str(i) in page for i in range(5)),
                '/dpct/list,0,5 gives a page of 5', repr(page) + err)
        rc, page, err = raw(prefix, '/dpct/list')
        t.check(rc == 0 and page.get('n', 0) > 0, '/dpct/list without parameters works', err)

        # /dpct/config is typed and complete.
        rc, top, err = raw(prefix, '/dpct/config')
        t.check(rc == 0 and isinstance(top.get('table', {}).get('max_entries'), int),
                '/dpct/config: table.max_entries is a number', repr(top)[:400] + err)
        rc, out, err = d.ctl(prefix, 'config')
        full = json.loads(out) if rc == 0 else {}
        t.eq(full.get('table', {}).get('max_entries'), 8192, 'dpct-ctl config: max_entries')
        t.eq(full.get('timeouts', {}).get('udp_unreplied'), 600,
             'dpct-ctl config: timeouts.udp_unreplied')
        t.eq(full.get('seed'), cfg_obj['seed'], 'dpct-ctl config: seed')
        refs = [line for line in out.splitlines() if '/dpct/config,' in line]
        t.check(rc == 0 and not refs, 'dpct-ctl config resolves every nested section',
                '\n'.join(refs[:5]) + err)

        # /dpct/stats and /dpct/shards against --stats-json, compared at exit.
        rc, live_stats, err = raw(prefix, '/dpct/stats')
        t.check(rc == 0 and live_stats.get('count') == FLOWS, '/dpct/stats count', err)
        rc, live_shards, err = raw(prefix, '/dpct/shards')
        t.check(rc == 0 and '0' in live_shards, '/dpct/shards has shard 0', err)

        rc, out, err = d.ctl(prefix, 'flush')
        t.eq(rc, 0, 'dpct-ctl flush succeeds')
        rc, fl, err = raw(prefix, '/dpct/count')
        t.eq((fl or {}).get('count'), 0, 'the table is empty after one /dpct/flush')
    finally:
        rc, log = d.stop(dp)
        t.eq(rc, 0, 'dpct stops cleanly on SIGINT') or print('# ' + log[-1500:])
    final = d.load_json(stats) if os.path.exists(stats) else {}
    tot = final.get('totals', {})
    t.check(tot and set(live_stats) == set(tot),
            '/dpct/stats has exactly the totals of --stats-json',
            'only live: %s; only file: %s' % (sorted(set(live_stats) - set(tot)),
                                              sorted(set(tot) - set(live_stats))))
    # Telemetry nests one level: a shard's nested counters are "<key>/<member>".
    shard0 = {}
    for k, v in ((final.get('shards') or [{}])[0]).items():
        if isinstance(v, dict):
            shard0.update(('%s/%s' % (k, k2), v2) for k2, v2 in v.items())
        else:
            shard0[k] = v
    t.check(shard0 and set(live_shards.get('0', {})) == set(shard0),
            '/dpct/shards has every per-shard counter of --stats-json',
            'only live: %s; only file: %s' % (
                sorted(set(live_shards.get('0', {})) - set(shard0)),
                sorted(set(shard0) - set(live_shards.get('0', {})))))
    t.done()


main()
