/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conntrack(8)'s event line for a decoded ctnetlink message. The layout, in
 * order (every field followed by one space, the last space dropped):
 *   "[NEW]" / "[UPDATE]" / "[DESTROY]" right-aligned in 9 columns;
 *   with EV_TEXT_LAYER3 the family name in 8 columns and its number (2, 10);
 *   the protocol name in 8 columns and its number; the timeout when the
 *   message has one; the TCP state when it has one;
 *   per direction src/dst and the protocol part: sport/dport for TCP, UDP,
 *   UDP-Lite, SCTP and DCCP, srckey/dstkey (hex) for GRE, type/code/id for
 *   ICMP and ICMPv6; then that direction's counters; [UNREPLIED] after the
 *   original direction when SEEN_REPLY is clear;
 *   [ASSURED]; mark=; zone=; delta-time= (whole seconds of stop minus whole
 *   seconds of start; "now" when there is no stop); with EV_TEXT_KTIMESTAMP
 *   [start=ctime] [stop=ctime]; with EV_TEXT_ID id=.
 */

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "ev_text.h"

struct out {
	char *buf;
	size_t len;
	int n;            /* characters the full text needs */
};

static void
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	size_t at = (size_t)o->n < o->len ? (size_t)o->n : o->len;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(o->buf + at, o->len - at, fmt, ap);
	va_end(ap);
	if (r > 0)
		o->n += r;
}

static const char *
l4_name(uint8_t p)
{
	switch (p) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_UDPLITE: return "udplite";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	case IPPROTO_SCTP: return "sctp";
	case IPPROTO_GRE: return "gre";
	case IPPROTO_DCCP: return "dccp";
	default: return "unknown";
	}
}

static const char *
tcp_state(uint8_t s)
{
	static const char *const names[] = {
		"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT",
		"LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2",
	};

	return s < sizeof(names) / sizeof(names[0]) ? names[s] : names[0];
}

static void
put_tuple(struct out *o, const struct ev_nl_ct *ct, int dir)
{
	const struct ct_tuple *t = dir ? &ct->reply : &ct->orig;
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int af = ct->family == 6 ? AF_INET6 : AF_INET;

	if (inet_ntop(af, t->src, s, sizeof(s)) == NULL || inet_ntop(af, t->dst, d, sizeof(d)) == NULL)
		return;
	put(o, "src=%s dst=%s ", s, d);
	switch (ct->orig.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		/* DCCP's tuple has no ports (ev_nl.c): 0, as libnetfilter_conntrack prints. */
		put(o, "sport=%u dport=%u ", t->sport, t->dport);
		break;
	case IPPROTO_GRE:
		/* GRE keys travel as the tuple's ports (0 when the tracker has none). */
		put(o, "srckey=0x%x dstkey=0x%x ", t->sport, t->dport);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* The reply tuple carries the id as its dport (ev_nl.c). */
		put(o, "type=%d code=%d id=%d ", ct->icmp_type[dir], ct->icmp_code[dir],
		    dir ? t->dport : t->sport);
		break;
	default:
		break;
	}
}

static void
put_ctime(struct out *o, const char *tag, uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000u);
	char tmp[64];
	struct tm tm;
	size_t n;

	/* ctime() without its newline, in local time, as the library prints it. */
	if (localtime_r(&t, &tm) == NULL || asctime_r(&tm, tmp) == NULL)
		return;
	n = strlen(tmp);
	if (n > 0 && tmp[n - 1] == '\n')
		tmp[n - 1] = '\0';
	put(o, "[%s=%s] ", tag, tmp);
}

int
ev_text_format(char *buf, size_t len, const struct ev_nl_ct *ct, unsigned flags, time_t now)
{
	static const char *const kind[] = { [EV_MASK_NEW] = "[NEW]", [EV_MASK_UPDATE] = "[UPDATE]",
					    [EV_MASK_DESTROY] = "[DESTROY]" };
	struct out o = { buf, len, 0 };

	if (len > 0)
		buf[0] = '\0';
	if (!(flags & EV_TEXT_NO_HEADER) && ct->kind < sizeof(kind) / sizeof(kind[0]) &&
	    kind[ct->kind] != NULL)
		put(&o, "%9s ", kind[ct->kind]);
	if (flags & EV_TEXT_LAYER3)
		put(&o, "%-8s %u ", ct->family == 6 ? "ipv6" : "ipv4",
		    ct->family == 6 ? AF_INET6 : AF_INET);
	put(&o, "%-8s %u ", l4_name(ct->orig.proto), ct->orig.proto);
	if (ct->present & EV_NL_HAS_TIMEOUT)
		put(&o, "%u ", ct->timeout_s);
	if (ct->present & EV_NL_HAS_TCP_STATE)
		put(&o, "%s ", ct->orig.proto == IPPROTO_SCTP ?
				       ev_nl_state_name(ct->orig.proto, ct->tcp_state) :
				       tcp_state(ct->tcp_state));
	put_tuple(&o, ct, 0);
	if (ct->present & EV_NL_HAS_COUNTERS)
		put(&o, "packets=%" PRIu64 " bytes=%" PRIu64 " ", ct->pkts[0], ct->bytes[0]);
	if ((ct->present & EV_NL_HAS_STATUS) && !(ct->status & CT_S_SEEN_REPLY))
		put(&o, "[UNREPLIED] ");
	if (ct->present & EV_NL_HAS_REPLY)
		put_tuple(&o, ct, 1);
	if (ct->present & EV_NL_HAS_COUNTERS)
		put(&o, "packets=%" PRIu64 " bytes=%" PRIu64 " ", ct->pkts[1], ct->bytes[1]);
	if ((ct->present & EV_NL_HAS_STATUS) && (ct->status & CT_S_ASSURED))
		put(&o, "[ASSURED] ");
	if (ct->present & EV_NL_HAS_MARK)
		put(&o, "mark=%u ", ct->mark);
	if (ct->present & EV_NL_HAS_ZONE)
		put(&o, "zone=%u ", ct->orig.zone);
	if (ct->present & EV_NL_HAS_START) {
		time_t stop = (ct->present & EV_NL_HAS_STOP) && ct->stop_ns != 0 ?
			      (time_t)(ct->stop_ns / 1000000000u) : now;

		put(&o, "delta-time=%llu ",
		    (unsigned long long)(stop - (time_t)(ct->start_ns / 1000000000u)));
	}
	if (flags & EV_TEXT_KTIMESTAMP) {
		if (ct->present & EV_NL_HAS_START)
			put_ctime(&o, "start", ct->start_ns);
		if (ct->present & EV_NL_HAS_STOP)
			put_ctime(&o, "stop", ct->stop_ns);
	}
	if ((flags & EV_TEXT_ID) && (ct->present & EV_NL_HAS_ID))
		put(&o, "id=%u ", ct->id);
	/* The last space goes. */
	if (o.n > 0) {
		o.n--;
		if ((size_t)o.n < len)
			buf[o.n] = '\0';
	}
	return o.n;
}
