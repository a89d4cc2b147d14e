/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A shard's limits and top sketch around the life of an entry: admission
 * at creation (a refused connection is counted per rule), the counts an
 * entry holds released when its slot is freed, and the sketch counted
 * and uncounted with them. An entry holds limit counts when its bit in
 * lim_bits is set, so entries made without counts (imports beyond a limit,
 * a full counting table) release nothing.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "ct_shard_priv.h"

static inline void
bit_set(uint64_t *b, uint32_t i)
{
	b[i / 64] |= UINT64_C(1) << (i % 64);
}

static inline bool
bit_take(uint64_t *b, uint32_t i)
{
	uint64_t m = UINT64_C(1) << (i % 64);
	bool was = (b[i / 64] & m) != 0;

	b[i / 64] &= ~m;
	return was;
}

int
ct_shard_limit_init(struct ct_shard *s, char *err, size_t errlen)
{
	const struct ct_conf *c = &s->conf;

	if (c->n_limits > CT_MAX_LIMITS) {
		snprintf(err, errlen, "%u limit rules, at most %u", c->n_limits, CT_MAX_LIMITS);
		return -EINVAL;
	}
	if (c->n_limits != 0) {
		uint32_t keys = c->limit_keys != 0 ? c->limit_keys : c->max_entries;

		s->limits = ct_limits_create(c->limits, c->n_limits, keys,
					     c->top_seed ^ UINT64_C(0x243f6a8885a308d3), &c->mem,
					     err, errlen);
		if (s->limits == NULL)
			return -EINVAL;
		s->lim_bits = ct_mem_zalloc(&c->mem, ((size_t)s->cap + 63) / 64 * 8, 64);
		if (s->lim_bits == NULL) {
			snprintf(err, errlen, "out of memory for the limits");
			return -ENOMEM;
		}
	}
	if (c->top) {
		s->top = ct_mem_zalloc(&c->mem, sizeof(*s->top), 64);
		if (s->top == NULL) {
			snprintf(err, errlen, "out of memory for the top sketch");
			return -ENOMEM;
		}
		ct_top_init(s->top, c->top_seed);
	}
	return 0;
}

void
ct_shard_limit_fini(struct ct_shard *s)
{
	ct_limits_free(s->limits, &s->conf.mem);
	ct_mem_free(&s->conf.mem, s->lim_bits);
	ct_mem_free(&s->conf.mem, s->top);
	s->limits = NULL;
	s->lim_bits = NULL;
	s->top = NULL;
}

enum ct_limit_verdict
ct_shard_limit_admit(struct ct_shard *s, const struct ct_tuple *t, const struct ct_lim_hint *h)
{
	enum ct_limit_verdict v;
	unsigned rule = 0;

	if (s->limits == NULL)
		return CT_LIM_NONE;
	v = ct_limits_admit(s->limits, t, h, &rule);
	if (v == CT_LIM_OVER) {
		s->st.limit_drop++;
		s->st.limit_drop_by_rule[rule]++;
		s->st.drop++;
	}
	return v;
}

void
ct_shard_limit_created(struct ct_shard *s, uint32_t idx, enum ct_limit_verdict v)
{
	if (v == CT_LIM_COUNTED)
		bit_set(s->lim_bits, idx);
	else if (v == CT_LIM_NOROOM)
		s->st.limit_uncounted++;
	if (s->top != NULL)
		ct_top_add(s->top, &s->pool[idx].key);
}

void
ct_shard_limit_abort(struct ct_shard *s, const struct ct_tuple *t, enum ct_limit_verdict v)
{
	if (v == CT_LIM_COUNTED)
		ct_limits_release(s->limits, t, NULL);
}

void
ct_shard_limit_freed(struct ct_shard *s, uint32_t idx, const struct ct_lim_hint *h)
{
	const struct ct_tuple *t = &s->pool[idx].key;

	if (s->lim_bits != NULL && bit_take(s->lim_bits, idx))
		ct_limits_release(s->limits, t, h);
	if (s->top != NULL)
		ct_top_sub(s->top, t);
}

int
ct_shard_top_publish(struct ct_shard *s, struct ct_top *dst)
{
	if (s->top == NULL)
		return -ENOENT;
	ct_top_refresh(s->top);
	ct_top_copy(dst, s->top);
	return 0;
}

uint32_t
ct_shard_limit_count(const struct ct_shard *s, unsigned rule, const struct ct_tuple *t)
{
	if (s->limits == NULL)
		return 0;
	return ct_limits_count(s->limits, rule, t);
}

/* "addr (n)" of the three heaviest sources this shard counts. */
void
ct_shard_top_log(struct ct_shard *s)
{
	const struct ct_top *one[1];
	struct ct_top_item it[CT_TOP_CAND];
	char msg[256], a[INET6_ADDRSTRLEN];
	unsigned n, i;
	size_t off;

	if (s->top == NULL || s->log_fn == NULL)
		return;
	ct_top_refresh(s->top);
	one[0] = s->top;
	n = ct_top_merge(one, 1, CT_TOP_SRC, -1, it, CT_TOP_CAND);
	if (n == 0)
		return;
	if (n > 3)
		n = 3;
	off = (size_t)snprintf(msg, sizeof(msg), "heaviest sources of this shard:");
	for (i = 0; i < n && off < sizeof(msg); i++) {
		inet_ntop(it[i].key.family == 6 ? AF_INET6 : AF_INET, it[i].key.addr, a, sizeof(a));
		off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s %s zone %u (~%u entries)",
					i == 0 ? "" : ",", a, it[i].key.zone, it[i].est);
	}
	s->log_fn(s->log_arg, LOG_WARNING, msg);
}
