/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Connection limits: checking the rules and creating the counting table
 * (control path). Admission and release are in ct_limit.c.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "ct_limit_priv.h"

static inline void
prefix_mask(uint8_t *out, const uint8_t *in, unsigned len)
{
	unsigned i;

	for (i = 0; i < 16; i++) {
		unsigned bits = i * 8;

		if (bits >= len)
			out[i] = 0;
		else if (len - bits < 8)
			out[i] = in[i] & (uint8_t)(0xff00u >> (len - bits));
		else
			out[i] = in[i];
	}
}

static int
rule_check(const struct ct_limit_rule *r, unsigned i, char *err, size_t errlen)
{
	unsigned bits = r->family == 6 ? 128 : 32;
	uint8_t m[16];

	if (r->max == 0) {
		snprintf(err, errlen, "limit rule %u: max must be >= 1", i);
		return -EINVAL;
	}
	if (r->family == 0)
		return 0;
	if (r->max > LIM_CNT_MAX) {
		snprintf(err, errlen, "limit rule %u: max %u over %u, the most a source count holds",
			 i, r->max, LIM_CNT_MAX);
		return -EINVAL;
	}
	if (r->family != 4 && r->family != 6) {
		snprintf(err, errlen, "limit rule %u: family %u is not 4 or 6", i, r->family);
		return -EINVAL;
	}
	if (r->prefix_len > bits || r->group_len < r->prefix_len || r->group_len > bits) {
		snprintf(err, errlen, "limit rule %u: need prefix %u <= group %u <= %u", i,
			 r->prefix_len, r->group_len, bits);
		return -EINVAL;
	}
	prefix_mask(m, r->addr, r->prefix_len);
	if (memcmp(m, r->addr, sizeof(m)) != 0) {
		snprintf(err, errlen, "limit rule %u: address has bits beyond /%u", i,
			 r->prefix_len);
		return -EINVAL;
	}
	return 0;
}

struct ct_limits *
ct_limits_create(const struct ct_limit_rule *rules, unsigned n, uint32_t keys, uint64_t seed,
		 const struct ct_mem *mem, char *err, size_t errlen)
{
	char dummy[8];
	struct ct_limits *l;
	uint64_t slots;
	unsigned i;

	if (err == NULL) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (n == 0 || n > CT_MAX_LIMITS) {
		snprintf(err, errlen, "%u limit rules, need 1..%u", n, CT_MAX_LIMITS);
		return NULL;
	}
	if (keys == 0 || keys > (1u << 28)) {
		snprintf(err, errlen, "limit keys %u out of range 1..%u", keys, 1u << 28);
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (rule_check(&rules[i], i, err, errlen) != 0)
			return NULL;
	slots = (uint64_t)keys * 3 / 2 + 2;
	l = ct_mem_zalloc(mem, sizeof(*l), 64);
	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* A line more than the slots: ct_limits_prefetch() may look one line past a home. */
	l->slot = ct_mem_zalloc(mem, (size_t)(slots + 4) * sizeof(struct lim_slot), 64);
	if (l->slot == NULL) {
		ct_mem_free(mem, l);
		snprintf(err, errlen, "out of memory for %llu limit slots",
			 (unsigned long long)slots);
		return NULL;
	}
	memcpy(l->rules, rules, n * sizeof(rules[0]));
	for (i = 0; i < n; i++) {
		static const uint8_t ones[16] = {
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		};
		uint8_t b[16];

		memcpy(l->m[i].addr, rules[i].addr, 16);
		prefix_mask(b, ones, rules[i].prefix_len);
		memcpy(l->m[i].pm, b, 16);
		prefix_mask(b, ones, rules[i].group_len);
		memcpy(l->m[i].gm, b, 16);
		if (rules[i].family == 0)
			l->zone_rule[l->n_zone++] = (uint8_t)i;
		else
			l->src_rule[rules[i].family == 6][l->n_src[rules[i].family == 6]++] =
				(uint8_t)i;
	}
	l->n = n;
	l->n_slots = (uint32_t)slots;
	l->max_used = keys;
	l->seed = seed;
	return l;
}

void
ct_limits_free(struct ct_limits *l, const struct ct_mem *mem)
{
	if (l == NULL)
		return;
	ct_mem_free(mem, l->slot);
	ct_mem_free(mem, l);
}
