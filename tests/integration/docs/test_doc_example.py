#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The libnetfilter_conntrack client of docs/events.md, as a reader copies it:
the C block after the `doc-example: dpct_listen.c` marker is extracted,
compiled with cc against libnetfilter_conntrack alone (no dpct header),
and run as a listener (with -d: subscribe, then dump) beside
`dpct-events --format text` through a replay of the mix workload, IPv4 and
IPv6. Its event lines must equal dpct-events' line for line (dpct-events
adds ` id=N`, as `-o extended,id`), which tests/unit/ev/test_ev_text.c
holds equal to nfct_snprintf(); the lines must also have the layout of
`conntrack -E -o extended`. It must end with exit 3 and its message when
dpct exits, and report no loss and no cut datagram."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'app'))
import dpctlib as d  # noqa: E402

DOC = os.path.join(d.SRC, 'docs', 'events.md')
MARKER = '<!-- doc-example: dpct_listen.c'
FLOWS = 300
HEADERS = ('    [NEW] ', ' [UPDATE] ', '[DESTROY] ')

# conntrack -E -o extended (nfct_snprintf, NFCT_O_DEFAULT, NFCT_OF_SHOW_LAYER3):
# a 9-wide right-aligned [TYPE], the layer 3 name padded to 8 and its number,
# the layer 4 name padded to 8 and its number, then the timeout (on a DESTROY
# only what a flush left), the TCP state, the original tuple, counters (DESTROY), [UNREPLIED],
# the reply tuple, counters, [ASSURED], delta-time (DESTROY).
ADDR = r'src=\S+ dst=\S+ '
L4 = r'(sport=\d+ dport=\d+|type=\d+ code=\d+ id=\d+)'
# (what, lines it applies to, their pattern with %s for the layer 3 part)
FORMATS = [
    ('NEW tcp', '    [NEW] ', ' tcp ',
     r'^    \[NEW\] %s tcp      6 120 SYN_SENT ' + ADDR + L4 + r' \[UNREPLIED\] ' + ADDR + L4 +
     r'$'),
    ('UPDATE tcp', ' [UPDATE] ', ' tcp ',
     r'^ \[UPDATE\] %s tcp      6 \d+ [A-Z_]+ ' + ADDR + L4 + r' (\[UNREPLIED\] )?' + ADDR + L4 +
     r'( \[ASSURED\])?$'),
    ('DESTROY tcp/udp/icmp', '[DESTROY] ', ' tcp |  udp |icmp',
     r'^\[DESTROY\] %s (tcp      6|udp      17|icmp     1|icmpv6   58)( \d+)?( [A-Z_]+)? ' +
     ADDR + L4 +
     r' packets=\d+ bytes=\d+ (\[UNREPLIED\] )?' + ADDR + L4 + r' packets=\d+ bytes=\d+ '
     r'(\[ASSURED\] )?delta-time=\d+$'),
]


def doc_example():
    """The C code after the marker: (code, why-not)."""
    with open(DOC) as f:
        text = f.read()
    at = text.find(MARKER)
    if at < 0:
        return None, 'no "%s" marker in %s' % (MARKER, DOC)
    m = re.compile(r'^```c\n(.*?)^```$', re.S | re.M).search(text, at)
    if m is None:
        return None, 'no ```c block after the marker'
    return m.group(1), ''


def run_pair(t, tmp, name, exe, pcap):
    """A replay with the doc's listener and dpct-events; their outputs."""
    prefix, chan = d.uniq('docex' + name)
    cfg = d.write_config(tmp, d.base_config(chan), name + '.json')
    dp = subprocess.Popen(d.dpct_cmd(prefix, cfg, rx=pcap, tx='/dev/null',
                                     app=['--flush-on-eof', '--wait-listeners', '2']),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ex_out, ev_out = os.path.join(tmp, name + '.ex.txt'), os.path.join(tmp, name + '.ev.txt')
    ex = ev = None
    try:
        # The example does not retry its connect (dpct-events does): wait for the socket.
        if not t.check(d.wait_for(lambda: os.path.exists(chan) or dp.poll() is not None, 30)
                       and dp.poll() is None, '%s: dpct serves its events socket' % name):
            return None
        with open(ex_out, 'w') as o:
            ex = subprocess.Popen([exe, '-d', chan], stdout=o, stderr=subprocess.PIPE, text=True)
        ev = d.start_events(chan, ev_out, None, reliable=False, fmt='text', idle_ms=0, max_s=120)
        try:
            _, err = dp.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            dp.kill()
            _, err = dp.communicate()
        t.eq(dp.returncode, 0, '%s: dpct exit 0' % name) or print('# ' + err[-1500:])
        erc, eerr = d.finish(ex, 30)
        ex = None
        vrc, verr = d.finish(ev, 30)
        ev = None
        t.check(erc == 3 and 'dpct closed the connection (end of stream)' in eerr,
                '%s: the example says dpct closed the connection, exit 3 (%d)' % (name, erc),
                eerr[-800:])
        t.check('lost' not in eerr and 'cut' not in eerr and 'refused' not in eerr,
                '%s: the example lost nothing and was refused nothing' % name, eerr[-800:])
        t.check(vrc == d.EVENTS_DPCT_GONE, '%s: dpct-events saw dpct exit (%d)' % (name, vrc),
                verr[-800:])
        with open(ex_out) as f:
            ex_lines = f.read().splitlines()
        with open(ev_out) as f:
            ev_lines = f.read().splitlines()
        return ex_lines, ev_lines
    finally:
        for p in (ex, ev):
            if p is not None:
                p.kill()
                p.wait()
        if dp.poll() is None:
            dp.kill()
            dp.wait()


def main():
    t = d.Tap()
    d.need([d.DPCT, d.GEN, d.EVENTS], t)
    cc = shutil.which('cc')
    if cc is None or subprocess.run(['pkg-config', '--exists', 'libnetfilter_conntrack']
                                    ).returncode != 0:
        t.check(False, 'cc and libnetfilter_conntrack (pkg-config) present')
        t.done()
    tmp = d.tmpdir('docex')
    code, why = doc_example()
    if not t.check(code is not None, 'docs/events.md has the marked C example', why):
        t.done()
    t.check('#include "' not in code and 'ev.h' not in code,
            'the example includes no dpct header')
    src, exe = os.path.join(tmp, 'dpct_listen.c'), os.path.join(tmp, 'dpct_listen')
    with open(src, 'w') as f:
        f.write(code)
    flags = subprocess.run(['pkg-config', '--cflags', '--libs', 'libnetfilter_conntrack'],
                           capture_output=True, text=True).stdout.split()
    p = subprocess.run([cc, '-std=gnu11', '-Wall', '-Wextra', '-Werror', '-o', exe, src] + flags,
                       capture_output=True, text=True, timeout=120)
    if not t.check(p.returncode == 0, 'the example compiles (cc -Wall -Wextra -Werror)',
                   p.stderr):
        t.done()
    for name, ipv6 in (('ipv4', False), ('ipv6', True)):
        pcap = d.gen(os.path.join(tmp, name + '.pcap'), 'mix', FLOWS, ipv6=ipv6, seed=3)
        got = run_pair(t, tmp, name, exe, pcap)
        if got is None:
            continue
        ex_lines, ev_lines = got
        events = [ln for ln in ex_lines if ln.startswith(HEADERS)]
        dumped = [ln for ln in ex_lines if not ln.startswith(HEADERS)]
        # The dump asked for at subscription time may catch the replay's start.
        l3 = 'ipv6     10' if ipv6 else 'ipv4     2'
        t.check(all(ln.startswith(l3 + ' ') for ln in dumped),
                '%s: the example\'s other lines are dump entries (conntrack -L -o extended)'
                % name, '\n'.join(dumped[:5]))
        plain, no_id = [], []
        for ln in ev_lines:
            m = re.match(r'^(.*) id=\d+$', ln)
            if m is None:
                no_id.append(ln)
            else:
                plain.append(m.group(1))
        t.check(not no_id, '%s: dpct-events lines end with id= (-o extended,id)' % name,
                '\n'.join(no_id[:5]))
        t.check(len(events) >= 2 * FLOWS, '%s: the example printed %d events' % (name, len(events)))
        diff = [(i, a, b) for i, (a, b) in enumerate(zip(events, plain)) if a != b]
        t.check(len(events) == len(plain) and not diff,
                '%s: the example prints what dpct-events prints, line for line (%d, %d)'
                % (name, len(events), len(plain)),
                '\n'.join('line %d:\n  doc: %s\n  dpct-events: %s' % x for x in diff[:3]))
        for what, head, protos, pat in FORMATS:
            rx = re.compile(pat % re.escape(l3))
            lines = [ln for ln in events if ln.startswith(head) and
                     any(x in ln for x in protos.split('|'))]
            bad = [ln for ln in lines if not rx.match(ln)]
            t.check(lines and not bad, '%s: %s lines have conntrack -E -o extended\'s layout '
                    '(%d)' % (name, what, len(lines)), '\n'.join(bad[:3]))
        t.check(any(' udp      17 ' in ln for ln in events) and
                any(' icmp' in ln for ln in events), '%s: udp and icmp events too' % name)
    t.done()


main()
