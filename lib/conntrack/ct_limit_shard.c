/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A shard's limits and top sketch around the life of an entry: admission
 * at creation (a refused connection is counted per rule), the counts an
 * entry holds released when its slot is freed, and the sketch counted
 * and uncounted with them.
 *
 * Which counts an entry holds is worked out again from its key when it is
 * freed (the rules are fixed at start and the key does not change): the
 * counts of the rules that match it. The rare entry that rules match but
 * that holds no counts (made when the counting table was full, or an
 * import beyond a limit) has its bit set in lim_unc; while no bit is set
 * (lim_unc_n 0), the usual case, neither creation nor release reads it.
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
		s->lim_unc = ct_mem_zalloc(&c->mem, ((size_t)s->cap + 63) / 64 * 8, 64);
		s->lim_unc_n = 0;
		if (s->lim_unc == NULL) {
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
	ct_mem_free(&s->conf.mem, s->lim_unc);
	ct_mem_free(&s->conf.mem, s->top);
	s->limits = NULL;
	s->lim_unc = NULL;
	s->lim_unc_n = 0;
	s->top = NULL;
}

void
ct_shard_limit_uncounted(struct ct_shard *s, uint32_t idx, enum ct_limit_verdict v)
{
	/* Rules match it, it holds no counts: its release must take none. */
	if (v == CT_LIM_NOROOM)
		s->st.limit_uncounted++;
	bit_set(s->lim_unc, idx);
	s->lim_unc_n++;
}

void
ct_shard_limit_abort(struct ct_shard *s, const struct ct_tuple *t, enum ct_limit_verdict v,
		     const struct ct_lim_hint *h)
{
	if (v == CT_LIM_COUNTED)
		ct_limits_release(s->limits, t, h);
}

void
ct_shard_limit_freed(struct ct_shard *s, uint32_t idx, const struct ct_lim_hint *h)
{
	struct ct_limits *l = s->limits;
	struct ct_tuple k;

	/* An entry that rules match but that holds no counts releases none. */
	if (__builtin_expect(s->lim_unc_n != 0, 0) && l != NULL && bit_take(s->lim_unc, idx)) {
		s->lim_unc_n--;
		l = NULL;
	}
	ct_limits_top_release(l, s->top, ct_entry_key_ref(&s->pool[idx], &k), h);
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
