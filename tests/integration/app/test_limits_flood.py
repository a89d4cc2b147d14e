#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A flood from one source (docs/limits.md): one source opens 100,000
connections among normal traffic from 5,000 other sources (two each), with
a per-source limit of 1,000. Every other source's connections are tracked,
the flood's excess is dropped and counted against the rule (stats,
/dpct/stats, --stats-json), `dpct-ctl top` names the flooding source first
and the fill alarm's log line names it too. Run with 1 and 2 workers; with
2 the flood's live entries are measured against the limit (overshoot), and
a source opening exactly the limit shows how much a split limit can hold
back (undershoot)."""
import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpctlib as d  # noqa: E402

FLOOD = int(os.environ.get('DPCT_LIMITS_FLOOD', '100000'))
OTHERS = 5000
PER_OTHER = 2
LIMIT = 1000
FLOOD_SRC = '203.0.113.66'
EXACT_SRC = '198.51.100.9'    # opens exactly LIMIT connections


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip4(a):
    return bytes(int(x) for x in a.split('.'))


def syn(src, dst, sport, dport):
    """An Ethernet/IPv4/TCP SYN with correct checksums."""
    s, t = ip4(src), ip4(dst)
    tcp = struct.pack('!HHIIBBHHH', sport, dport, 1000, 0, 5 << 4, 0x02, 64240, 0, 0)
    tc = csum(s + t + struct.pack('!BBH', 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack('!H', tc) + tcp[18:]
    iph = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, s, t)
    iph = iph[:10] + struct.pack('!H', csum(iph)) + iph[12:]
    eth = b'\x02\0\0\0\0\x02' + b'\x02\0\0\0\0\x01' + b'\x08\x00'
    return eth + iph + tcp


def other_src(i):
    return '10.%d.%d.%d' % (1 + i // 65536, (i // 256) % 256, i % 256)


def write_pcap(path, exact=False):
    """The flood interleaved with the others: 20 flood SYNs, then one of
    another source, round robin; with `exact`, EXACT_SRC's LIMIT SYNs too."""
    pkts = []
    others = [(other_src(i), 20000 + k) for k in range(PER_OTHER) for i in range(OTHERS)]
    oi = 0
    for f in range(FLOOD):
        pkts.append(syn(FLOOD_SRC, '192.0.2.%d' % (1 + f % 200), 1024 + f % 60000,
                        80 + f // 60000))
        if f % 20 == 19 and oi < len(others):
            src, sport = others[oi]
            pkts.append(syn(src, '192.0.2.250', sport, 443))
            oi += 1
    for src, sport in others[oi:]:
        pkts.append(syn(src, '192.0.2.250', sport, 443))
    if exact:
        for k in range(LIMIT):
            pkts.append(syn(EXACT_SRC, '192.0.2.251', 30000 + k, 22))
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, p in enumerate(pkts):
            f.write(struct.pack('<IIII', 1700000000 + i // 100000, i % 100000 * 10,
                                len(p), len(p)))
            f.write(p)
    return len(pkts)


def count(prefix):
    v = d.telemetry(prefix, '/dpct/count')
    return v.get('count') if isinstance(v, dict) else None


def settled(prefix):
    last = [None]

    def step():
        c = count(prefix)
        ok = c is not None and c == last[0] and c > 0
        last[0] = c
        return ok
    return d.wait_for(step, 90, step=1.0)


def run(t, tmp, pcap, workers, exact):
    tag = '%dw' % workers
    prefix, chan = d.uniq('limits%d' % workers)
    cfg = d.base_config(chan, table={'max_entries': 262144},
                        timeouts={'tcp_syn_sent': 3600},
                        fill_alarm={'high_pct': 4, 'low_pct': 2},
                        limits={'rules': [{'name': 'per_host', 'source': '0.0.0.0/0',
                                           'max': LIMIT}]},
                        workers={'count': workers})
    path = d.write_config(tmp, cfg, 'limits_%s.json' % tag)
    stats = os.path.join(tmp, 'stats_%s.json' % tag)
    lcores = '0@0,1@0' if workers == 1 else '0@0,1@0,2@0'
    dp = subprocess.Popen(d.dpct_cmd(prefix, path, pcap, '/dev/null', lcores=lcores,
                                     replay=False, app=['--fwd', 'drop'], stats=stats),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    measured = {}
    try:
        up = d.wait_for(lambda: dp.poll() is not None or count(prefix) is not None, 30)
        if not t.check(up and dp.poll() is None, '%s: dpct up' % tag):
            return measured
        settled(prefix)
        want_others = OTHERS * PER_OTHER
        rc, ents, err = d.dump(chan, timeout=120)
        t.eq(rc, 0, '%s: dump exit 0' % tag) or print('# ' + err[-500:])
        by_src = {}
        for e in ents:
            by_src[e['orig']['src']] = by_src.get(e['orig']['src'], 0) + 1
        others = sum(n for s, n in by_src.items() if s.startswith('10.'))
        t.eq(others, want_others, '%s: every other source\'s connection is tracked' % tag)
        t.eq(len([s for s in by_src if s.startswith('10.')]), OTHERS,
             '%s: all %d other sources have entries' % (tag, OTHERS))
        flood = by_src.get(FLOOD_SRC, 0)
        measured['flood_live'] = flood
        t.check(flood <= LIMIT, '%s: the flood holds at most the limit (%d live, limit %d)'
                % (tag, flood, LIMIT))
        t.eq(flood, LIMIT, '%s: 100,000 tries fill every worker\'s share' % tag)
        if exact:
            measured['exact_live'] = by_src.get(EXACT_SRC, 0)
        st = d.telemetry(prefix, '/dpct/stats')
        drops = st.get('limit_drop') if isinstance(st, dict) else None
        excess = FLOOD - flood + (LIMIT - measured.get('exact_live', LIMIT))
        t.eq(drops, excess, '%s: /dpct/stats limit_drop counts the excess' % tag)
        per_rule = st.get('limit_drop_by_rule', {}) if isinstance(st, dict) else {}
        t.eq(per_rule.get('per_host'), excess, '%s: counted against rule per_host' % tag)
        rc, out, err = d.ctl(prefix, 'top', '-n', '5')
        rows = [ln.split() for ln in out.splitlines() if ln[:1].isdigit()]
        t.check(rc == 0 and rows and rows[0][1] == FLOOD_SRC,
                '%s: dpct-ctl top names the flooding source first' % tag, out + err)
        if rows:
            n = int(rows[0][3])
            bound = d.first_int(out.split('at most +', 1)[1]) if 'at most +' in out else 0
            t.check(flood <= n <= flood + bound,
                    '%s: its count %d within the bound (%d..%d)' % (tag, n, flood,
                                                                     flood + bound))
        rc, out, err = d.ctl(prefix, 'top', '--by', 'dst', '--json')
        top = json.loads(out) if rc == 0 else {}
        t.check(top.get('top') and top['top'][0]['addr'] == '192.0.2.250' and
                top['top'][0]['entries'] >= want_others,
                '%s: by destination, the servers of the others lead' % tag, out + err)
        rc, out, err = d.ctl(prefix, 'top', '--zone', '3')
        t.check(rc == 0 and not [ln for ln in out.splitlines() if ln[:1].isdigit()],
                '%s: nothing in an unused zone' % tag, out + err)
        if workers == 1:
            for bad, msg in (('/dpct/top,sources', 'is not src or dst'),
                             ('/dpct/top,src,70000', 'is not 0..65535 or any'),
                             ('/dpct/top,src,any,0', 'is not 1..64'),
                             ('/dpct/top,src,any,5,9', 'at most 3 parameters')):
                v = d.telemetry(prefix, bad)
                t.check(isinstance(v, dict) and msg in v.get('errmsg', ''),
                        '%s: %s refused: %s' % (tag, bad, msg), str(v))
            # Limits are set at start: a reload that changes them is refused.
            rc, out, err = d.ctl(prefix, 'reload', timeout=40)
            t.eq(rc, 0, '%s: a reload of the same file goes through' % tag) or \
                print('# ' + err[-300:])
            cfg['limits']['rules'][0]['max'] = 2 * LIMIT
            d.write_config(tmp, cfg, 'limits_%s.json' % tag)
            rc, out, err = d.ctl(prefix, 'reload', timeout=40)
            t.check(rc != 0 and 'the limits section changed' in err,
                    '%s: a reload with another limit is refused' % tag, out + err)
    finally:
        rc, log = d.stop(dp, 60)
        t.eq(rc, 0, '%s: dpct stops cleanly' % tag) or print('# ' + log[-1500:])
    t.check('heaviest sources of this shard: %s zone 0' % FLOOD_SRC in log,
            '%s: the fill alarm names the flooding source' % tag,
            '\n'.join(ln for ln in log.splitlines() if 'full' in ln or 'heaviest' in ln))
    try:
        sj = d.load_json(stats)
        tot = sj.get('totals', {})
        t.eq(tot.get('limit_drop_by_rule', {}).get('per_host'), tot.get('limit_drop'),
             '%s: --stats-json per rule' % tag)
        t.check(tot.get('limit_drop', 0) >= FLOOD - LIMIT,
                '%s: --stats-json limit_drop %s' % (tag, tot.get('limit_drop')))
    except (OSError, ValueError) as e:
        t.check(False, '%s: --stats-json readable' % tag, str(e))
    return measured


def main():
    t = d.Tap()
    d.need([d.DPCT, d.EVENTS, d.CTL], t)
    tmp = d.tmpdir('limits')
    pcap = os.path.join(tmp, 'flood.pcap')
    write_pcap(pcap)
    run(t, tmp, pcap, 1, False)
    pcap2 = os.path.join(tmp, 'flood_exact.pcap')
    write_pcap(pcap2, exact=True)
    m = run(t, tmp, pcap2, 2, True)
    # The measurement docs/limits.md quotes: a split limit never overshoots;
    # a source with exactly `max` connections keeps what its flows' spread allows.
    print('# 2 workers: flood live %s of limit %d (overshoot %d); a source opening '
          'exactly %d connections keeps %s' % (m.get('flood_live'), LIMIT,
                                               max(0, (m.get('flood_live') or 0) - LIMIT),
                                               LIMIT, m.get('exact_live')))
    t.check(m.get('exact_live') is not None and 0 < m['exact_live'] <= LIMIT,
            '2w: a source at exactly the limit keeps at most the limit (%s)'
            % m.get('exact_live'))
    t.done()


main()
