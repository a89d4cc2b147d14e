/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Expectation messages as conntrack(8) prints them (ev_exp_text.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ev.h"
#include "ev_exp_text.h"

/* snprintf that keeps counting past the end, as snprintf does. */
struct out {
	char *buf;
	size_t len, pos;
};

static void __attribute__((format(printf, 2, 3)))
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->pos < o->len ? o->buf + o->pos : NULL,
		      o->pos < o->len ? o->len - o->pos : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->pos += (size_t)n;
}

static void
addr(char *s, size_t len, uint8_t family, const uint8_t *a)
{
	if (inet_ntop(family == 4 ? AF_INET : AF_INET6, a, s, (socklen_t)len) == NULL)
		snprintf(s, len, "?");
}

static bool
has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE ||
	       proto == IPPROTO_SCTP;
}

/* "src=A dst=B sport=P dport=Q " with `prefix` on the addresses. */
static void
tuple(struct out *o, const char *prefix, const struct ct_tuple *t, uint8_t proto)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

	addr(s, sizeof(s), t->family, t->src);
	addr(d, sizeof(d), t->family, t->dst);
	put(o, "%ssrc=%s %sdst=%s ", prefix, s, prefix, d);
	if (has_ports(proto))
		put(o, "sport=%u dport=%u ", t->sport, t->dport);
}

int
ev_exp_text_format(char *buf, size_t len, const struct ev_nl_exp *e, bool header)
{
	static const char *const fl[] = { "PERMANENT", "INACTIVE", "USERSPACE" };
	struct out o = { .buf = buf, .len = len, .pos = 0 };
	bool first = true;
	unsigned i;

	if (len > 0)
		buf[0] = '\0';
	if (header)
		put(&o, "%9s ", e->kind == EV_MASK_EXP_DESTROY ? "[DESTROY]" : "[NEW]");
	put(&o, "%u proto=%u ", e->timeout_s, e->tuple.proto);
	tuple(&o, "", &e->tuple, e->tuple.proto);
	tuple(&o, "mask-", &e->mask, e->tuple.proto);
	tuple(&o, "master-", &e->master, e->master.proto);
	if (e->present & EV_NL_EXP_HAS_ZONE)
		put(&o, "zone=%u ", e->tuple.zone);
	for (i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
		if (!(e->flags & (1u << i)))
			continue;
		put(&o, "%s%s", first ? "" : ",", fl[i]);
		first = false;
	}
	if (!first)
		put(&o, " ");
	put(&o, "class=%u", e->class_);
	if (e->helper[0] != '\0')
		put(&o, " helper=%s", e->helper);
	return (int)o.pos;
}

static void
json_tuple(FILE *f, const char *name, const struct ct_tuple *t)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

	addr(s, sizeof(s), t->family, t->src);
	addr(d, sizeof(d), t->family, t->dst);
	fprintf(f, "\"%s\":{\"src\":\"%s\",\"dst\":\"%s\",\"proto\":%u,\"sport\":%u,\"dport\":%u}",
		name, s, d, t->proto, t->sport, t->dport);
}

void
ev_exp_json_print(FILE *f, const struct ev_nl_exp *e, bool dump)
{
	char helper[sizeof(e->helper)];
	size_t i;

	/* A helper name is printable ASCII without quotes or backslashes. */
	for (i = 0; i < sizeof(helper) - 1 && e->helper[i] != '\0'; i++)
		helper[i] = (e->helper[i] >= 0x20 && e->helper[i] < 0x7f && e->helper[i] != '"' &&
			     e->helper[i] != '\\') ? e->helper[i] : '?';
	helper[i] = '\0';
	fprintf(f, "{\"type\":\"expect\",\"event\":\"%s\",\"family\":%u,\"id\":%u,",
		dump ? "dump" : e->kind == EV_MASK_EXP_DESTROY ? "destroy" : "new", e->family,
		e->id);
	json_tuple(f, "tuple", &e->tuple);
	fputc(',', f);
	json_tuple(f, "mask", &e->mask);
	fputc(',', f);
	json_tuple(f, "master", &e->master);
	fprintf(f, ",\"timeout\":%u,\"flags\":%u,\"class\":%u,\"zone\":%u,\"helper\":\"%s\"}\n",
		e->timeout_s, e->flags, e->class_, e->tuple.zone, helper);
}
