/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-events' JSON lines: one object per event or dump entry
 * (docs/events.md, "dpct-events").
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "ev.h"
#include "ev_json.h"

static const char *
proto_name(uint8_t p)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_UDPLITE:
		return "udplite";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_DCCP:
		return "dccp";
	case IPPROTO_GRE:
		return "gre";
	default:
		return "unknown";
	}
}

static void
addr_str(const struct ct_tuple *t, const uint8_t *a, char *out, size_t len)
{
	inet_ntop(t->family == 4 ? AF_INET : AF_INET6, a, out, (socklen_t)len);
}

/*
 * One JSON line is built in a buffer and written with one fwrite: a
 * fprintf per field was half of the listener's time at 175 K events/s
 * (docs/PERFORMANCE.md, "Full pipeline"). The output is the same, byte for byte.
 */
struct jline {
	char b[1024];   /* the longest line (IPv6, ICMP, every field) is ~560 bytes */
	size_t n;
};

static void
jl_put(struct jline *j, const char *s, size_t len)
{
	if (len > sizeof(j->b) - j->n)
		len = sizeof(j->b) - j->n;
	memcpy(j->b + j->n, s, len);
	j->n += len;
}

#define JL_LIT(j, lit) jl_put((j), (lit), sizeof(lit) - 1)

static void
jl_str(struct jline *j, const char *s)
{
	jl_put(j, s, strlen(s));
}

static void
jl_u64(struct jline *j, uint64_t v)
{
	char t[20];
	size_t i = sizeof(t);

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	jl_put(j, t + i, sizeof(t) - i);
}

/* An address as inet_ntop() writes it; IPv4 without its sprintf(). */
static void
jl_addr(struct jline *j, const struct ct_tuple *t, const uint8_t *a)
{
	char s[INET6_ADDRSTRLEN];

	if (t->family == 4) {
		unsigned i;

		for (i = 0; i < 4; i++) {
			if (i != 0)
				JL_LIT(j, ".");
			jl_u64(j, a[i]);
		}
		return;
	}
	addr_str(t, a, s, sizeof(s));
	jl_str(j, s);
}

static void
json_tuple(struct jline *j, const struct ev_nl_ct *ct, int dir)
{
	const struct ct_tuple *t = dir ? &ct->reply : &ct->orig;

	JL_LIT(j, "{\"src\":\"");
	jl_addr(j, t, t->src);
	JL_LIT(j, "\",\"dst\":\"");
	jl_addr(j, t, t->dst);
	JL_LIT(j, "\"");
	if (t->proto == IPPROTO_ICMP || t->proto == IPPROTO_ICMPV6) {
		JL_LIT(j, ",\"type\":");
		jl_u64(j, ct->icmp_type[dir]);
		JL_LIT(j, ",\"code\":");
		jl_u64(j, ct->icmp_code[dir]);
		JL_LIT(j, ",\"icmp_id\":");
		jl_u64(j, dir ? t->dport : t->sport);
	} else {
		JL_LIT(j, ",\"sport\":");
		jl_u64(j, t->sport);
		JL_LIT(j, ",\"dport\":");
		jl_u64(j, t->dport);
	}
	if (ct->present & EV_NL_HAS_COUNTERS) {
		JL_LIT(j, ",\"packets\":");
		jl_u64(j, ct->pkts[dir]);
		JL_LIT(j, ",\"bytes\":");
		jl_u64(j, ct->bytes[dir]);
	}
	JL_LIT(j, "}");
}

void
ev_json_print(FILE *o, const struct ev_nl_ct *ct, bool dump)
{
	static const char *const type[] = { [EV_MASK_NEW] = "new", [EV_MASK_UPDATE] = "update",
					    [EV_MASK_DESTROY] = "destroy" };
	struct jline j = { .n = 0 };
	const char *ty = dump ? "entry" : (ct->kind < sizeof(type) / sizeof(type[0]) &&
					  type[ct->kind] != NULL) ? type[ct->kind] : "unknown";

	JL_LIT(&j, "{\"type\":\"");
	jl_str(&j, ty);
	JL_LIT(&j, "\",\"family\":");
	jl_u64(&j, ct->family);
	JL_LIT(&j, ",\"proto\":\"");
	jl_str(&j, proto_name(ct->orig.proto));
	JL_LIT(&j, "\",\"l4proto\":");
	jl_u64(&j, ct->orig.proto);
	JL_LIT(&j, ",\"id\":");
	jl_u64(&j, ct->id);
	JL_LIT(&j, ",\"status\":");
	jl_u64(&j, ct->status);
	if (ct->status & CT_S_ASSURED)
		JL_LIT(&j, ",\"assured\":true,\"orig\":");
	else
		JL_LIT(&j, ",\"assured\":false,\"orig\":");
	json_tuple(&j, ct, 0);
	if (ct->present & EV_NL_HAS_REPLY) {
		JL_LIT(&j, ",\"reply\":");
		json_tuple(&j, ct, 1);
	}
	if (ct->present & EV_NL_HAS_TIMEOUT) {
		JL_LIT(&j, ",\"timeout\":");
		jl_u64(&j, ct->timeout_s);
	}
	if (ct->present & EV_NL_HAS_TCP_STATE) {
		JL_LIT(&j, ",\"state\":\"");
		jl_str(&j, ev_nl_state_name(ct->orig.proto, ct->tcp_state));
		JL_LIT(&j, "\"");
	}
	if (ct->present & EV_NL_HAS_START) {
		JL_LIT(&j, ",\"start_ns\":");
		jl_u64(&j, ct->start_ns);
	}
	if (ct->present & EV_NL_HAS_STOP) {
		JL_LIT(&j, ",\"stop_ns\":");
		jl_u64(&j, ct->stop_ns);
	}
	if (ct->present & EV_NL_HAS_MARK) {
		JL_LIT(&j, ",\"mark\":");
		jl_u64(&j, ct->mark);
	}
	if (ct->present & EV_NL_HAS_ZONE) {
		JL_LIT(&j, ",\"zone\":");
		jl_u64(&j, ct->orig.zone);
	}
	JL_LIT(&j, "}\n");
	fwrite(j.b, 1, j.n, o);
}
