# SPDX-License-Identifier: BSD-3-Clause
"""Shared pieces of the state-sync tests (docs/ha.md): a network namespace
joined to the root namespace by a veth pair (the dedicated sync link), a
conntrackd configuration, conntrack's text format parsed."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'app'))
import dpctlib  # noqa: E402,F401

NS_ADDR, HOST_ADDR = '10.201.%d.2', '10.201.%d.1'


def run(cmd, check=True, timeout=60, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout,
                          **kw)


class Link:
    """A namespace with one veth end; the other end in the root namespace."""

    def __init__(self, tag):
        pid = os.getpid() % 100000
        self.ns = 'dpct-ha-%s-%d' % (tag, pid)
        self.host_if, self.ns_if = 'hh%s%d' % (tag[:2], pid), 'hn%s%d' % (tag[:2], pid)
        self.net = pid % 250 + 1
        self.host_addr, self.ns_addr = HOST_ADDR % self.net, NS_ADDR % self.net
        self.up = False

    def setup(self):
        run(['ip', 'netns', 'add', self.ns])
        self.up = True
        run(['ip', 'link', 'add', self.host_if, 'type', 'veth', 'peer', 'name', self.ns_if])
        run(['ip', 'link', 'set', self.ns_if, 'netns', self.ns])
        run(['ip', 'addr', 'add', self.host_addr + '/30', 'dev', self.host_if])
        run(['ip', 'link', 'set', self.host_if, 'up'])
        run(['ip', '-n', self.ns, 'addr', 'add', self.ns_addr + '/30', 'dev', self.ns_if])
        run(['ip', '-n', self.ns, 'link', 'set', self.ns_if, 'up'])
        run(['ip', '-n', self.ns, 'link', 'set', 'lo', 'up'])

    def exec(self, *cmd, **kw):
        return run(['ip', 'netns', 'exec', self.ns] + list(cmd), **kw)

    def teardown(self):
        if self.up:
            run(['ip', 'link', 'del', self.host_if], check=False)
            run(['ip', 'netns', 'del', self.ns], check=False)
            self.up = False


MCAST_GROUP = '225.0.0.50'


def conntrackd_conf(d, link, port, window=300, multicast=False, tcp=False):
    path = os.path.join(d, 'conntrackd.conf')
    if tcp:
        # conntrackd listens on IPv4_address:Port, connects to the destination.
        channel = ('\tTCP {\n\t\tIPv4_address %s\n\t\tIPv4_Destination_Address %s\n'
                   '\t\tPort %d\n' % (link.ns_addr, link.host_addr, port))
    elif multicast:
        channel = ('\tMulticast {\n\t\tIPv4_address %s\n\t\tGroup %d\n\t\tIPv4_interface %s\n'
                   % (MCAST_GROUP, port, link.ns_addr))
    else:
        channel = ('\tUDP {\n\t\tIPv4_address %s\n\t\tIPv4_Destination_Address %s\n'
                   '\t\tPort %d\n' % (link.ns_addr, link.host_addr, port))
    channel += ('\t\tInterface %s\n\t\tSndSocketBuffer 8388608\n\t\tRcvSocketBuffer 8388608\n'
                '\t\tChecksum on\n\t}\n' % link.ns_if)
    with open(path, 'w') as f:
        f.write('Sync {\n\tMode FTFW {\n\t\tDisableExternalCache Off\n'
                '\t\tACKWindowSize %d\n\t}\n' % window + channel + '}\n')
        f.write('''General {
	Systemd off
	HashSize 65536
	HashLimit 262144
	LogFile %s
	Syslog off
	LockFile %s
	UNIX {
		Path %s
	}
	NetlinkBufferSize 2097152
	NetlinkBufferSizeMaxGrowth 8388608
}
''' % (os.path.join(d, 'ctd.log'), os.path.join(d, 'ctd.lock'), os.path.join(d, 'ctd.sock')))
    return path


_CT_LINE = re.compile(r'^(\w+)\s+(\d+)\s+(?:(\d+)\s+)?(?:([A-Z_]+)\s+)?src=(\S+) dst=(\S+)'
                      r'(?: sport=(\d+) dport=(\d+))?(?: type=(\d+) code=(\d+) id=(\d+))?')


def parse_ct(text):
    """conntrack/conntrackd plain lines: {(l4proto, src, dst, sport, dport): (state, timeout)},
    ICMP keyed by (id, type) in place of the ports."""
    out = {}
    for line in text.splitlines():
        m = _CT_LINE.match(line.strip())
        if not m:
            continue
        proto, _, timeout, state, src, dst, sport, dport = m.group(1, 2, 3, 4, 5, 6, 7, 8)
        if m.group(9) is not None:
            sport, dport = m.group(11), m.group(9)
        key = (int(m.group(2)), src, dst, int(sport or 0), int(dport or 0))
        out[key] = (state, int(timeout) if timeout else None)
    return out


def ev_key(ev):
    """The parse_ct() key of a dpct-events JSON object."""
    o = ev['orig']
    if 'icmp_id' in o:
        return (ev['l4proto'], o['src'], o['dst'], o['icmp_id'], o['type'])
    return (ev['l4proto'], o['src'], o['dst'], o.get('sport', 0), o.get('dport', 0))


def live_at_end(evs):
    """{key: last event} of the flows with no DESTROY."""
    live = {}
    for ev in evs:
        k = ev_key(ev)
        if ev['type'] == 'destroy':
            live.pop(k, None)
        else:
            live[k] = ev
    return live
