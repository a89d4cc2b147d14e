#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dpct-ctl: conntrack -S / -C / -L / -F / -D for a running dpct, over the
DPDK telemetry socket (v2 protocol: SOCK_SEQPACKET, one JSON reply per
command). Exits 1 with a message when dpct is not running."""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

VERSION = 'conntrack v1.4.7 (conntrack-tools)'
CT_S_SEEN_REPLY = 1 << 1
CT_S_ASSURED = 1 << 2
LIST_PAGE = 40


def sock_path(prefix):
    if os.getuid() == 0:
        base = '/var/run/dpdk'
    else:
        base = os.path.join(os.environ.get('XDG_RUNTIME_DIR', '/tmp'), 'dpdk')
    return os.path.join(base, prefix, 'dpdk_telemetry.v2')


class Telemetry:
    def __init__(self, prefix):
        path = sock_path(prefix)
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.settimeout(10)
        try:
            self.s.connect(path)
        except OSError as e:
            raise SystemExit('dpct-ctl: dpct is not running (file prefix %r): %s: %s'
                             % (prefix, path, e.strerror))
        info = json.loads(self.s.recv(65536).decode())
        self.max_len = info.get('max_output_len', 16384)

    def cmd(self, command):
        try:
            self.s.send(command.encode())
            raw = self.s.recv(self.max_len + 1024)
        except socket.timeout:
            raise SystemExit('dpct-ctl: %s: no answer from dpct within %g s'
                             % (command, self.s.gettimeout()))
        except OSError as e:
            raise SystemExit('dpct-ctl: %s: %s' % (command, e.strerror or e))
        if not raw:
            raise SystemExit('dpct-ctl: dpct closed the connection')
        reply = json.loads(raw.decode())
        key = command.split(',', 1)[0]
        val = reply.get(key)
        if val is None:
            raise SystemExit('dpct-ctl: %s failed (is this dpct? bad arguments?)' % command)
        if isinstance(val, dict) and 'errmsg' in val:
            raise SystemExit('dpct-ctl: %s' % val['errmsg'])
        return val


PORT_PROTOS = ('tcp', 'udp', 'sctp', 'udplite', 'dccp')
ICMP_PROTOS = ('icmp', 'icmpv6')
# ICMP query (request) types whose replies conntrack tracks, and their answers.
ICMP_REPLY = {False: {8: 0, 13: 14, 15: 16, 17: 18}, True: {128: 129, 139: 140}}


def icmp_from_ports(e):
    """type/code/id of both tuples from a telemetry entry's ports: the
    request's sender has sport = id and dport = type | code << 8 (ct.h); a
    key that is no query type is an echo, as lib/events encodes it."""
    v6 = e.get('proto') == 'icmpv6'
    key = e.get('dport', 0)
    if key & 0xff not in ICMP_REPLY[v6]:
        key = 128 if v6 else 8
    ident = e.get('sport', 0)
    e.update(type=key & 0xff, code=key >> 8, icmp_id=ident,
             rtype=ICMP_REPLY[v6][key & 0xff], rcode=key >> 8, ricmp_id=ident)


def l4_text(e, r):
    """A tuple's layer-4 fields where conntrack -L prints them (r: 'r' for
    the reply tuple, '' for the original)."""
    proto = e.get('proto')
    if proto in PORT_PROTOS:
        return 'sport=%u dport=%u' % (e.get(r + 'sport', 0), e.get(r + 'dport', 0))
    if proto in ICMP_PROTOS:
        if 'type' not in e:
            icmp_from_ports(e)
        return 'type=%u code=%u id=%u' % (e.get(r + 'type', 0), e.get(r + 'code', 0),
                                           e.get(r + 'icmp_id', 0))
    if proto == 'gre':
        return 'srckey=0x%x dstkey=0x%x' % (e.get(r + 'sport', 0), e.get(r + 'dport', 0))
    return None


def entry_line(e):
    proto = e.get('proto', 'unknown')
    f = ['%-8s %u %u' % (proto, e.get('protonum', 0), e.get('timeout', 0))]
    if 'state' in e:
        f.append(e['state'])
    status = e.get('status', 0)
    for r in ('', 'r'):
        f.append('src=%s dst=%s' % (e.get(r + 'src'), e.get(r + 'dst')))
        l4 = l4_text(e, r)
        if l4 is not None:
            f.append(l4)
        f.append('packets=%u bytes=%u' % (e.get(r + 'packets', 0), e.get(r + 'bytes', 0)))
        if not r and not status & CT_S_SEEN_REPLY:
            f.append('[UNREPLIED]')
    if status & CT_S_ASSURED:
        f.append('[ASSURED]')
    f.append('mark=%u' % e.get('mark', 0))
    if e.get('zone'):
        f.append('zone=%u' % e['zone'])
    f.append('use=1 id=%u' % e.get('id', 0))
    return ' '.join(f)


def events_tool():
    """dpct-events: beside this script (installed or in the build tree), else PATH."""
    here = os.path.dirname(os.path.realpath(sys.argv[0]))
    for cand in (os.path.join(here, 'dpct-events'),
                 os.path.join(here, '..', 'dpct-events', 'dpct-events')):
        if os.access(cand, os.X_OK):
            return cand
    return shutil.which('dpct-events')


def events_socket(t, args):
    """The events socket: --socket, else what dpct runs with (/dpct/config)."""
    if args.socket:
        return args.socket
    ev = t.cmd('/dpct/config').get('events', {})
    v = ev.get('socket') if isinstance(ev, dict) else None
    if isinstance(v, str) and v.startswith('"'):
        v = json.loads(v)
    return v or '/run/dpct/events.sock'


def dump_entry(ev):
    """A dpct-events --dump JSON object in the shape entry_line() prints."""
    o, r = ev.get('orig', {}), ev.get('reply', {})
    e = {'proto': ev.get('proto'), 'protonum': ev.get('l4proto', 0),
         'timeout': ev.get('timeout', 0), 'status': ev.get('status', 0),
         'src': o.get('src'), 'dst': o.get('dst'), 'sport': o.get('sport', 0),
         'dport': o.get('dport', 0), 'packets': o.get('packets', 0),
         'bytes': o.get('bytes', 0), 'rsrc': r.get('src'), 'rdst': r.get('dst'),
         'rsport': r.get('sport', 0), 'rdport': r.get('dport', 0),
         'rpackets': r.get('packets', 0), 'rbytes': r.get('bytes', 0),
         'mark': ev.get('mark', 0), 'zone': ev.get('zone', 0), 'id': ev.get('id', 0)}
    if 'state' in ev:
        e['state'] = ev['state']
    if e['proto'] in ICMP_PROTOS:
        for pre, tup in (('', o), ('r', r)):
            e.update({pre + 'type': tup.get('type', 0), pre + 'code': tup.get('code', 0),
                      pre + 'icmp_id': tup.get('icmp_id', 0)})
    return e


def do_list_dump(t, args):
    """The whole table in one dump over the events socket (IPCTNL_MSG_CT_GET)."""
    tool = events_tool()
    if tool is None:
        raise SystemExit('dpct-ctl: dpct-events not found (beside dpct-ctl or in PATH)')
    path = events_socket(t, args)
    p = subprocess.Popen([tool, '--socket', path, '--dump', '--format', 'json',
                          '--max-seconds', '600'], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    shown = 0
    for line in p.stdout:
        if line.startswith('{'):
            print(entry_line(dump_entry(json.loads(line))))
            shown += 1
    err = p.stderr.read()
    if p.wait() != 0:
        raise SystemExit('dpct-ctl: dump over %s failed: %s' % (path, err.strip()))
    sys.stdout.flush()
    print('%s: %u flow entries have been shown.' % (VERSION, shown), file=sys.stderr)
    return 0


def do_list_expect(t, args):
    """Every expectation in one dump (IPCTNL_MSG_EXP_GET), as conntrack -L expect."""
    tool = events_tool()
    if tool is None:
        raise SystemExit('dpct-ctl: dpct-events not found (beside dpct-ctl or in PATH)')
    path = events_socket(t, args)
    p = subprocess.Popen([tool, '--socket', path, '--expect', '--dump', '--format', 'text',
                          '--max-seconds', '600'], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    shown = 0
    for line in p.stdout:
        sys.stdout.write(line)
        shown += 1
    err = p.stderr.read()
    if p.wait() != 0:
        raise SystemExit('dpct-ctl: expectation dump over %s failed: %s' % (path, err.strip()))
    sys.stdout.flush()
    print('%s: %u expectations have been shown.' % (VERSION, shown), file=sys.stderr)
    return 0


def do_list(t, args):
    if args.table == 'expect':
        return do_list_expect(t, args)
    if not args.dying:
        return do_list_dump(t, args)
    # Dying entries are not in a dump: page them through telemetry.
    cmd = '/dpct/dying'
    cursor, shown = 0, 0
    for _ in range(1 << 22):
        page = t.cmd('%s,%u,%u' % (cmd, cursor, LIST_PAGE))
        n = page.get('n', 0)
        for i in range(n):
            e = page.get(str(i))
            if e is not None:
                print(entry_line(e))
                shown += 1
        cursor = page.get('next', 0)
        if cursor == 0:
            break
    sys.stdout.flush()
    print('%s: %u flow entries have been shown.' % (VERSION, shown), file=sys.stderr)
    return 0


def counters_text(d, prefix=''):
    """name=value pairs, nested counters as parent/name (as /dpct/shards gives them)."""
    out = []
    for n, v in d.items():
        if isinstance(v, dict):
            out.append(counters_text(v, prefix + n + '/'))
        else:
            out.append('%s%s=%s' % (prefix, n, v))
    return ' '.join(out)


def all_shards(t):
    """Every shard's counters: /dpct/shards gives as many as fit one reply and
    "next", the first one left out, when there are more."""
    shards, first = {}, 0
    for _ in range(4096):
        page = t.cmd('/dpct/shards' + (',%d' % first if first else ''))
        nxt = page.pop('next', None)
        shards.update(page)
        if not isinstance(nxt, int) or nxt <= first:
            break
        first = nxt
    return shards


def do_stats(t, args):
    shards = all_shards(t)
    for k in sorted(shards, key=lambda x: int(x) if x.isdigit() else -1):
        print('cpu=%-4s\t' % k + counters_text(shards[k]))
    print('total   \t' + counters_text(t.cmd('/dpct/stats')))
    return 0


def do_count(t, args):
    print(t.cmd('/dpct/count').get('count', 0))
    return 0


def do_flush(t, args):
    r = t.cmd('/dpct/flush')
    print('%s: %u flow entries have been deleted.' % (VERSION, r.get('deleted', 0)))
    return 0


def do_delete(t, args):
    vals = [args.proto, args.src, args.dst, args.sport, args.dport]
    if any(v is None for v in vals):
        raise SystemExit('dpct-ctl: delete needs proto src dst sport dport '
                         '(or -p/-s/-d/--sport/--dport)')
    r = t.cmd('/dpct/delete,%s,%s,%s,%s,%s' % tuple(vals))
    if r.get('rc', -1) != 0:
        print('%s: operation failed: such conntrack doesn\'t exist' % VERSION, file=sys.stderr)
        return 1
    print('%s: 1 flow entries have been deleted.' % VERSION)
    return 0


CONFIG_REF = '/dpct/config,'


def config_tree(t, path, depth=0):
    """The typed config at `path`, following the references /dpct/config
    gives for what telemetry cannot nest."""
    node = t.cmd(CONFIG_REF + path if path else '/dpct/config')

    def resolve(v):
        if isinstance(v, str) and v.startswith(CONFIG_REF) and depth < 16:
            return config_tree(t, v[len(CONFIG_REF):], depth + 1)
        if isinstance(v, dict):
            return undict(v)
        return v

    def undict(d):
        # Arrays come back as dicts keyed "0", "1", ...
        if d and all(k.isdigit() for k in d):
            return [resolve(d[k]) for k in sorted(d, key=int)]
        return {k: resolve(v) for k, v in d.items()}

    return undict(node)


def do_config(t, args):
    print(json.dumps(config_tree(t, args.path or ''), indent=1, sort_keys=True))
    return 0


def do_raw(t, args):
    print(json.dumps(t.cmd(args.command), indent=1, sort_keys=True))
    return 0


def do_rules(t, args):
    # Policy rules with their counters, paged through /dpct/rules.
    start, pages, out = 0, 0, []
    while pages < 100000:
        r = t.cmd('/dpct/rules,%d,40' % start)
        if not r:
            raise SystemExit('dpct-ctl: no /dpct/rules answer (is this dpct with policy?)')
        if pages == 0:
            head = r
        keys = sorted((k for k in r if k.startswith('r') and k[1:].isdigit()),
                      key=lambda k: int(k[1:]))
        out += [r[k] for k in keys]
        pages += 1
        start = r.get('next', 0)
        if not start or not keys:
            break
    if args.json:
        print(json.dumps({'summary': head, 'rules': out}, sort_keys=True))
        return 0
    print('generation %u, %u rules, default %s; accepted %u dropped %u notracked %u '
          'classified %u reloads %u refused %u' % (
              head['generation'], head['n_rules'], head['default'], head['accepted'],
              head['dropped'], head['notracked'], head['classified'], head['reloads'],
              head['reload_failed']))
    print('%6s %-8s %14s %12s  %s' % ('rule', 'action', 'packets', 'conns', 'match'))
    for e in out:
        print('%6u %-8s %14u %12u  %s' % (e['index'], e['action'], e['pkts'], e['conns'],
                                         e['rule']))
    print('%6s %-8s %14u %12u' % ('dflt', head['default'], head['default_pkts'],
                                  head['default_conns']))
    return 0


def do_reload(t, args):
    # A reload waits for one in progress and for the workers' grace period (5 s at most).
    t.s.settimeout(30)
    r = t.cmd('/dpct/reload')
    if not r or not r.get('ok'):
        print('dpct-ctl: reload refused, old rules stay: %s' % (r or {}).get('error', '?'),
              file=sys.stderr)
        return 1
    print('policy generation %u installed' % r['generation'])
    return 0


def do_ha(t, args):
    """State sync (docs/ha.md): show it, or switch the role as keepalived's
    notify script does (`conntrackd -c` becomes `dpct-ctl ha primary`)."""
    if args.role:
        r = t.cmd('/dpct/ha/role,%s' % args.role)
        if not r or 'errmsg' in r:
            print('dpct-ctl: ha %s refused: %s' % (args.role, (r or {}).get('errmsg', '?')),
                  file=sys.stderr)
            return 1
        if args.role == 'primary' and args.wait:
            # The commit runs on the control core: wait until it is done.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                h = t.cmd('/dpct/ha') or {}
                if h.get('role') == 'primary' and not h.get('committing'):
                    print('primary: committed %u entries (%u already tracked, %u timed out '
                          'meanwhile, %u refused) in %u ms' % (h.get('committed', 0),
                                                   h.get('commit_exists', 0),
                                                   h.get('commit_expired', 0),
                                                   h.get('commit_failed', 0),
                                                   h.get('commit_ms', 0)))
                    return 0
                time.sleep(0.1)
            print('dpct-ctl: ha primary: commit not finished after 60 s', file=sys.stderr)
            return 1
        print('role %s requested' % args.role)
        return 0
    h = t.cmd('/dpct/ha')
    if not h or 'errmsg' in h:
        print('dpct-ctl: %s' % (h or {}).get('errmsg', 'no answer'), file=sys.stderr)
        return 1
    print(json.dumps(h, indent=1, sort_keys=True) if args.json else
          counters_text(h))
    return 0


def do_top(t, args):
    """The heaviest sources (or destinations) by live entries, merged from the
    workers' sketches: each count is at most error_bound over the truth."""
    zone = 'any' if args.zone is None else str(args.zone)
    r = t.cmd('/dpct/top,%s,%s,%d' % (args.by, zone, args.n))
    items = [r[k] for k in sorted((k for k in r if k.isdigit()), key=int)]
    if args.json:
        print(json.dumps({'by': r.get('by'), 'zone': r.get('zone'),
                          'entries_counted': r.get('entries_counted'),
                          'error_bound': r.get('error_bound'), 'top': items}))
        return 0
    print('# live entries by %s, zone %s: %s counted, each count at most +%s'
          % (r.get('by'), r.get('zone'), r.get('entries_counted'), r.get('error_bound')))
    print('%-4s %-40s %5s %10s' % ('RANK', 'ADDRESS', 'ZONE', 'ENTRIES'))
    for i, e in enumerate(items, 1):
        print('%-4d %-40s %5s %10s' % (i, e.get('addr'), e.get('zone'), e.get('entries')))
    return 0


def main():
    # Output piped into head(1) ends quietly, like conntrack.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ap = argparse.ArgumentParser(prog='dpct-ctl', description=__doc__)
    ap.add_argument('--file-prefix', default='rte', help='dpct\'s EAL --file-prefix')
    sub = ap.add_subparsers(dest='cmd', required=True)
    sub.add_parser('stats', help='counters per shard and in total (conntrack -S)')
    sub.add_parser('count', help='live entries (conntrack -C)')
    p = sub.add_parser('list', help='entries (conntrack -L), or expectations '
                       '(list expect: conntrack -L expect)')
    p.add_argument('table', nargs='?', choices=['conntrack', 'expect'], default='conntrack',
                   help='conntrack (default) or expect')
    p.add_argument('--dying', action='store_true',
                   help='dying entries (through telemetry pages)')
    p.add_argument('--socket', help='dpct\'s events socket (default: from /dpct/config)')
    sub.add_parser('flush', help='destroy every entry (conntrack -F)')
    p = sub.add_parser('delete', help='destroy one entry (conntrack -D)')
    p.add_argument('pos', nargs='*', help='proto src dst sport dport')
    p.add_argument('-p', '--proto')
    p.add_argument('-s', '--src', '--orig-src')
    p.add_argument('-d', '--dst', '--orig-dst')
    p.add_argument('--sport', '--orig-port-src')
    p.add_argument('--dport', '--orig-port-dst')
    p = sub.add_parser('config', help='the running configuration as typed JSON')
    p.add_argument('path', nargs='?', help='a section, e.g. events or notrack/0')
    p = sub.add_parser('raw', help='send one telemetry command, print its JSON reply')
    p.add_argument('command', help='e.g. /dpct/stats or /dpct/list,0,10')
    p = sub.add_parser('rules', help='policy rules and their counters')
    p.add_argument('--json', action='store_true', help='one JSON object')
    sub.add_parser('reload', help='re-read the config file, install its policy rules')
    p = sub.add_parser('ha', help='state sync: counters, or switch the role')
    p.add_argument('role', nargs='?', choices=['primary', 'backup'],
                   help='primary: commit the peer\'s entries and take over; backup: '
                   'drop them and follow the peer')
    p.add_argument('--no-wait', dest='wait', action='store_false',
                   help='primary: return without waiting for the commit')
    p.add_argument('--json', action='store_true', help='counters as one JSON object')
    p = sub.add_parser('top', help='heaviest sources or destinations by live entries')
    p.add_argument('--by', choices=['src', 'dst'], default='src',
                   help='rank sources (default) or destinations')
    p.add_argument('--zone', type=int, help='only this zone (default: every zone)')
    p.add_argument('-n', type=int, default=10, help='how many (1..64, default 10)')
    p.add_argument('--json', action='store_true', help='one JSON object')
    args = ap.parse_args()
    if args.cmd == 'list' and args.table == 'expect' and args.dying:
        ap.error('list: --dying lists connections; expectations have no dying list to show')
    if args.cmd == 'top' and not 1 <= args.n <= 64:
        ap.error('top: -n must be 1..64')
    if args.cmd == 'top' and args.zone is not None and not 0 <= args.zone <= 65535:
        ap.error('top: --zone must be 0..65535')
    if args.cmd == 'delete' and args.pos:
        if len(args.pos) != 5:
            ap.error('delete: give proto src dst sport dport')
        args.proto, args.src, args.dst, args.sport, args.dport = args.pos
    # An expectation dump with --socket needs no telemetry (nor a running dpct to ask).
    if args.cmd == 'list' and args.table == 'expect' and args.socket:
        t = None
    else:
        t = Telemetry(args.file_prefix)
    return {'stats': do_stats, 'count': do_count, 'list': do_list, 'flush': do_flush,
            'delete': do_delete, 'config': do_config, 'raw': do_raw, 'rules': do_rules,
            'reload': do_reload, 'ha': do_ha, 'top': do_top}[args.cmd](t, args)


if __name__ == '__main__':
    sys.exit(main())
