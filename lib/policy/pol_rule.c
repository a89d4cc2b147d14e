/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The rule model: names, consistency checks and the reference matcher that
 * the unit tests hold rte_acl's answers against. No EAL, no JSON.
 */

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol.h"

static const char *const pol_action_names[POL_ACTION_MAX] = {
	[POL_ACCEPT] = "accept",
	[POL_DROP] = "drop",
	[POL_NOTRACK] = "notrack",
};

static const char *const pol_state_names[CT_STATE_MAX] = {
	[CT_STATE_NEW] = "new",
	[CT_STATE_ESTABLISHED] = "established",
	[CT_STATE_RELATED] = "related",
	[CT_STATE_INVALID] = "invalid",
	[CT_STATE_UNTRACKED] = "untracked",
};

const char *
pol_action_name(unsigned a)
{
	return a < POL_ACTION_MAX ? pol_action_names[a] : NULL;
}

const char *
pol_state_name(unsigned st)
{
	return st < CT_STATE_MAX ? pol_state_names[st] : NULL;
}

int
pol_action_parse(const char *s)
{
	unsigned i;

	for (i = 0; i < POL_ACTION_MAX; i++)
		if (strcmp(s, pol_action_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

int
pol_state_parse(const char *s)
{
	unsigned i;

	for (i = 0; i < CT_STATE_MAX; i++)
		if (strcmp(s, pol_state_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

void
pol_rule_init(struct pol_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->proto = -1;
	r->icmp_type = -1;
	r->in_port = -1;
	r->zone = -1;
	r->action = POL_ACCEPT;
}

static int
check_fail(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
	return -EINVAL;
}

static bool
proto_has_ports(int proto)
{
	/* TCP, UDP, DCCP, SCTP, UDP-Lite: the tuple's ports are real ports. */
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_DCCP ||
	       proto == IPPROTO_SCTP || proto == IPPROTO_UDPLITE;
}

static bool
prefix_clean(const uint8_t *a, unsigned len, unsigned max)
{
	unsigned i;

	for (i = len; i < max; i++)
		if (a[i / 8] & (0x80u >> (i % 8)))
			return false;
	for (i = max / 8; i < 16; i++)
		if (a[i] != 0)
			return false;
	return true;
}

int
pol_rule_check(const struct pol_rule *r, char *err, size_t errlen)
{
	unsigned i, amax = r->family == 4 ? 32 : 128;

	if (r->action >= POL_ACTION_MAX)
		return check_fail(err, errlen, "unknown action");
	if (r->states >= (1u << CT_STATE_MAX))
		return check_fail(err, errlen, "unknown state");
	if (r->family != 0 && r->family != 4 && r->family != 6)
		return check_fail(err, errlen, "family must be 4 or 6");
	if ((r->src_len != 0 || r->dst_len != 0) && r->family == 0)
		return check_fail(err, errlen, "a prefix needs the IP version (set by the prefix)");
	if (r->src_len > amax || r->dst_len > amax)
		return check_fail(err, errlen, "prefix length beyond the address");
	if (!prefix_clean(r->src, r->src_len, amax) || !prefix_clean(r->dst, r->dst_len, amax))
		return check_fail(err, errlen, "prefix has host bits set");
	if (r->proto < -1 || r->proto > 255)
		return check_fail(err, errlen, "protocol out of range 0..255");
	if (r->icmp_type < -1 || r->icmp_type > 255)
		return check_fail(err, errlen, "icmp type out of range 0..255");
	if (r->icmp_type >= 0 && r->proto != IPPROTO_ICMP && r->proto != IPPROTO_ICMPV6)
		return check_fail(err, errlen, "icmp_type needs proto icmp or icmpv6");
	if (r->icmp_type >= 0 && r->proto == IPPROTO_ICMP && r->family == 6)
		return check_fail(err, errlen, "proto icmp is IPv4; use icmpv6");
	if (r->icmp_type >= 0 && r->proto == IPPROTO_ICMPV6 && r->family == 4)
		return check_fail(err, errlen, "proto icmpv6 is IPv6; use icmp");
	if ((r->n_sport != 0 || r->n_dport != 0) && !proto_has_ports(r->proto))
		return check_fail(err, errlen, "ports need proto tcp, udp, sctp, dccp or udplite");
	if (r->n_sport > POL_MAX_PORT_RANGES || r->n_dport > POL_MAX_PORT_RANGES)
		return check_fail(err, errlen, "too many port ranges");
	for (i = 0; i < r->n_sport; i++)
		if (r->sport[i].lo > r->sport[i].hi)
			return check_fail(err, errlen, "port range with low > high");
	for (i = 0; i < r->n_dport; i++)
		if (r->dport[i].lo > r->dport[i].hi)
			return check_fail(err, errlen, "port range with low > high");
	if (r->in_port < -1 || r->in_port > 65535 || r->zone < -1 || r->zone > 65535)
		return check_fail(err, errlen, "port or zone out of range");
	if (r->action == POL_NOTRACK && r->states != 0)
		return check_fail(err, errlen,
				  "notrack rules run before tracking and cannot match state");
	if (memchr(r->name, '\0', sizeof(r->name)) == NULL)
		return check_fail(err, errlen, "name too long");
	return 0;
}

static bool
prefix_match(const uint8_t *pfx, unsigned len, const uint8_t *a)
{
	unsigned full = len / 8, rem = len % 8;

	if (memcmp(pfx, a, full) != 0)
		return false;
	return rem == 0 || ((pfx[full] ^ a[full]) & (uint8_t)(0xff << (8 - rem))) == 0;
}

static bool
range_match(const struct pol_range *r, unsigned n, uint16_t v)
{
	unsigned i;

	if (n == 0)
		return true;
	for (i = 0; i < n; i++)
		if (v >= r[i].lo && v <= r[i].hi)
			return true;
	return false;
}

bool
pol_rule_match(const struct pol_rule *r, const struct pol_pkt *p)
{
	const struct ct_tuple *t = &p->pkt->tuple;
	bool icmp = t->proto == IPPROTO_ICMP || t->proto == IPPROTO_ICMPV6;

	if (r->states != 0 && !(r->states & (1u << p->state)))
		return false;
	if (r->in_port >= 0 && r->in_port != p->in_port)
		return false;
	if (r->zone >= 0 && r->zone != t->zone)
		return false;
	if (r->family != 0 && r->family != t->family)
		return false;
	if (r->proto >= 0 && r->proto != t->proto)
		return false;
	if (r->src_len != 0 && !prefix_match(r->src, r->src_len, t->src))
		return false;
	if (r->dst_len != 0 && !prefix_match(r->dst, r->dst_len, t->dst))
		return false;
	if (!range_match(r->sport, r->n_sport, t->sport))
		return false;
	if (!range_match(r->dport, r->n_dport, t->dport))
		return false;
	if (r->icmp_type >= 0 && (!icmp || r->icmp_type != p->pkt->icmp_type))
		return false;
	return true;
}

unsigned
pol_ruleset_match(const struct pol_ruleset *rs, const struct pol_pkt *p)
{
	uint32_t i;

	for (i = 0; i < rs->n_rules; i++)
		if (rs->rules[i].action != POL_NOTRACK && pol_rule_match(&rs->rules[i], p))
			return i;
	return POL_RULE_DEFAULT;
}

uint32_t
pol_rule_expansion(const struct pol_rule *r)
{
	uint32_t st = r->states ? (uint32_t)__builtin_popcount(r->states) : 1;

	return st * (r->n_sport ? r->n_sport : 1) * (r->n_dport ? r->n_dport : 1);
}

void
pol_ruleset_init(struct pol_ruleset *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->default_action = POL_ACCEPT;
}

void
pol_ruleset_clear(struct pol_ruleset *rs)
{
	free(rs->rules);
	pol_ruleset_init(rs);
}

int
pol_ruleset_copy(struct pol_ruleset *dst, const struct pol_ruleset *src)
{
	pol_ruleset_init(dst);
	dst->default_action = src->default_action;
	if (src->n_rules == 0)
		return 0;
	dst->rules = malloc(sizeof(*dst->rules) * src->n_rules);
	if (dst->rules == NULL)
		return -ENOMEM;
	memcpy(dst->rules, src->rules, sizeof(*dst->rules) * src->n_rules);
	dst->n_rules = src->n_rules;
	return 0;
}

bool
pol_ruleset_has_notrack(const struct pol_ruleset *rs)
{
	uint32_t i;

	for (i = 0; i < rs->n_rules; i++)
		if (rs->rules[i].action == POL_NOTRACK)
			return true;
	return false;
}
