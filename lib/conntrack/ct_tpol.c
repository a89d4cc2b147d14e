/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Timeout policies (ct_tpol.h): protocol and state names from the timeout
 * table, the checks, the rule match and the shard's slot tables
 * (ct_tpol_rt.h).
 */

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "ct_shard_priv.h"
#include "ct_tpol_rt.h"

/* Length of the protocol part of class `cls`'s name. */
static size_t
proto_len(unsigned cls)
{
	const char *n = ct_timeout_name(cls);
	const char *u = strchr(n, '_');

	return u != NULL ? (size_t)(u - n) : strlen(n);
}

static bool
same_proto(unsigned a, unsigned b)
{
	size_t la = proto_len(a);

	return la == proto_len(b) && memcmp(ct_timeout_name(a), ct_timeout_name(b), la) == 0;
}

int
ct_tpol_class_split(unsigned cls, char *buf, size_t len, const char **state)
{
	size_t n;

	if (cls >= CT_TO_MAX)
		return -EINVAL;
	n = proto_len(cls);
	if (n + 1 > len)
		return -ENOSPC;
	memcpy(buf, ct_timeout_name(cls), n);
	buf[n] = '\0';
	if (state != NULL)
		*state = ct_timeout_name(cls)[n] == '_' ? ct_timeout_name(cls) + n + 1 :
							  CT_TPOL_STATE_ONLY;
	return 0;
}

int
ct_tpol_class_find(const char *proto, const char *state)
{
	bool known = false;
	unsigned i;

	for (i = 0; i < CT_TO_MAX; i++) {
		const char *n = ct_timeout_name(i);
		size_t pl = proto_len(i);

		if (strlen(proto) != pl || memcmp(n, proto, pl) != 0)
			continue;
		known = true;
		if (n[pl] == '_' ? strcmp(n + pl + 1, state) == 0 :
				   strcmp(state, CT_TPOL_STATE_ONLY) == 0)
			return (int)i;
	}
	return known ? -ESRCH : -ENOENT;
}

/* Whether policy `p` gives a value for some class of the protocol of `cls`. */
static bool
names_proto(const struct ct_tpol *p, unsigned cls)
{
	unsigned i;

	for (i = 0; i < CT_TO_MAX; i++)
		if (p->timeout_s[i] != 0 && same_proto(i, cls))
			return true;
	return false;
}

unsigned
ct_tpol_slots(const struct ct_tpol_conf *tc)
{
	unsigned n = CT_TO_MAX, k, i;

	for (k = 0; k < tc->n_policies && k < CT_TPOL_MAX; k++)
		for (i = 0; i < CT_TO_MAX; i++)
			n += names_proto(&tc->pol[k], i);
	return n;
}

static bool
has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE ||
	       proto == IPPROTO_SCTP || proto == IPPROTO_DCCP;
}

#define FAIL(...) do { \
	if (err != NULL) \
		snprintf(err, errlen, __VA_ARGS__); \
	return -EINVAL; \
} while (0)

int
ct_tpol_check(const struct ct_tpol_conf *tc, uint32_t max_s, char *err, size_t errlen)
{
	unsigned k, j, i, n;

	if (tc->n_policies > CT_TPOL_MAX)
		FAIL("%u timeout policies, at most %u", tc->n_policies, CT_TPOL_MAX);
	if (tc->n_rules > CT_TPOL_MAX_RULES)
		FAIL("%u timeout policy rules, at most %u", tc->n_rules, CT_TPOL_MAX_RULES);
	for (k = 0; k < tc->n_policies; k++) {
		const struct ct_tpol *p = &tc->pol[k];

		if (p->name[0] == '\0' || memchr(p->name, '\0', sizeof(p->name)) == NULL)
			FAIL("timeout policy %u: the name must be 1..%u bytes", k + 1,
			     CT_TPOL_NAME_MAX - 1);
		for (j = 0; j < k; j++)
			if (strcmp(tc->pol[j].name, p->name) == 0)
				FAIL("timeout policy \"%s\" is defined twice", p->name);
		for (i = 0; i < CT_TO_MAX; i++)
			if (p->timeout_s[i] > max_s)
				FAIL("timeout policy \"%s\": %s = %u s is over %u s", p->name,
				     ct_timeout_name(i), p->timeout_s[i], max_s);
	}
	for (k = 0; k < tc->n_rules; k++) {
		const struct ct_tpol_rule *r = &tc->rule[k];

		if (r->policy == 0 || r->policy > tc->n_policies)
			FAIL("timeout policy rule %u: policy %u of %u", k, r->policy,
			     tc->n_policies);
		if (r->match & ~(CT_TPOL_M_ZONE | CT_TPOL_M_PROTO | CT_TPOL_M_PORT))
			FAIL("timeout policy rule %u: unknown match bits 0x%x", k, r->match);
		if ((r->match & CT_TPOL_M_PORT) &&
		    (!(r->match & CT_TPOL_M_PROTO) || !has_ports(r->proto)))
			FAIL("timeout policy rule %u: a port needs a protocol with ports "
			     "(tcp, udp, udplite, sctp, dccp)", k);
	}
	n = ct_tpol_slots(tc);
	if (n > CT_TSLOT_MAX)
		FAIL("timeout policies need %u timeout slots, at most %u: fewer policies, or "
		     "fewer protocols a policy", n, CT_TSLOT_MAX);
	return 0;
}

#undef FAIL

unsigned
ct_tpol_select(const struct ct_tpol_conf *tc, const struct ct_tuple *t)
{
	unsigned k;

	for (k = 0; k < tc->n_rules; k++) {
		const struct ct_tpol_rule *r = &tc->rule[k];

		if ((r->match & CT_TPOL_M_ZONE) && r->zone != t->zone)
			continue;
		if ((r->match & CT_TPOL_M_PROTO) && r->proto != t->proto)
			continue;
		if ((r->match & CT_TPOL_M_PORT) && r->port != t->dport)
			continue;
		return r->policy;
	}
	return 0;
}

uint32_t
ct_tpol_timeout_s(const struct ct_conf *c, unsigned pol, unsigned cls)
{
	uint32_t v;

	if (cls >= CT_TO_MAX || pol > c->tpol.n_policies)
		return 0;
	v = pol == 0 ? 0 : c->tpol.pol[pol - 1].timeout_s[cls];
	return v != 0 ? v : c->timeout_s[cls];
}

unsigned
ct_tpol_find(const struct ct_tpol_conf *tc, const char *name)
{
	unsigned k;

	for (k = 0; k < tc->n_policies && k < CT_TPOL_MAX; k++)
		if (strncmp(tc->pol[k].name, name, CT_TPOL_NAME_MAX) == 0)
			return k + 1;
	return 0;
}

int
ct_tpol_rt_init(struct ct_shard *s, char *err, size_t errlen)
{
	const struct ct_tpol_conf *tc = &s->conf.tpol;
	struct ct_tpol_rt *tp = &s->tp;
	unsigned k, i, n;
	int rc;

	rc = ct_tpol_check(tc, UINT32_MAX, err, errlen);
	if (rc != 0)
		return rc;
	for (i = 0; i < CT_TO_MAX; i++) {
		tp->slot_pol[i] = 0;
		tp->slot_cls[i] = (uint8_t)i;
		tp->slot_of[0][i] = (uint8_t)i;
	}
	tp->conf[0] = &s->conf;
	tp->n_rules = tc->n_rules;
	n = CT_TO_MAX;
	if (tc->n_policies != 0) {
		tp->copies = ct_mem_zalloc(&s->conf.mem, tc->n_policies * sizeof(struct ct_conf),
					   64);
		if (tp->copies == NULL) {
			if (err != NULL)
				snprintf(err, errlen, "out of memory for %u timeout policies",
					 tc->n_policies);
			return -ENOMEM;
		}
	}
	for (k = 1; k <= tc->n_policies; k++) {
		const struct ct_tpol *p = &tc->pol[k - 1];
		struct ct_conf *c = &tp->copies[k - 1];

		*c = s->conf;
		for (i = 0; i < CT_TO_MAX; i++) {
			uint64_t t;

			c->timeout_s[i] = ct_tpol_timeout_s(&s->conf, k, i);
			if (!names_proto(p, i)) {
				tp->slot_of[k][i] = (uint8_t)i;
				continue;
			}
			t = ((uint64_t)c->timeout_s[i] * CT_NS_PER_S + CT_TICK_NS - 1) >>
			    CT_TICK_SHIFT;
			if (t >= CT_MAX_TIMEOUT_TICKS) {
				if (err != NULL)
					snprintf(err, errlen, "timeout policy \"%s\": %s = %u s "
						 "out of range", p->name, ct_timeout_name(i),
						 c->timeout_s[i]);
				return -EINVAL;
			}
			tp->slot_of[k][i] = (uint8_t)n;
			tp->slot_pol[n] = (uint8_t)k;
			tp->slot_cls[n] = (uint8_t)i;
			s->to_ticks[n] = (uint32_t)t;
			n++;
		}
		tp->conf[k] = c;
	}
	tp->n_slots = (uint16_t)n;
	return 0;
}

void
ct_tpol_rt_free(struct ct_shard *s)
{
	ct_mem_free(&s->conf.mem, s->tp.copies);
	s->tp.copies = NULL;
}
