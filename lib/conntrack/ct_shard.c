/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A shard's life cycle (create, free), its statistics and accessors, and
 * its operator warnings. The rest of the shard is in ct_index.c,
 * ct_wheel.c, ct_stage.c, ct_process.c and ct_control.c (ct_shard_priv.h
 * describes the whole).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "ct_index.h"
#include "ct_wheel.h"

/*
 * Timer wheel slots: max_entries / 4, a power of two between these bounds
 * (a shard of 64K entries has 16K slots, ~17 s a turn; from 256K on, 64K
 * slots, ~69 s). Deadlines beyond one turn are revisited once a turn.
 */
#define CT_WHEEL_MIN_BITS 12
#define CT_WHEEL_MAX_BITS 16

/* ------------------------------------------------------------------------ */
/* Operator warnings                                                         */

void
ct_shard_log(struct ct_shard *s, int level, const char *fmt, unsigned long long a,
	  unsigned long long b, unsigned long long c)
{
	char msg[192];

	if (s->log_fn == NULL)
		return;
	snprintf(msg, sizeof(msg), fmt, a, b, c);
	s->log_fn(s->log_arg, level, msg);
}
/* ------------------------------------------------------------------------ */
/* Fill alarm                                                                */

void
ct_shard_fill_check(struct ct_shard *s)
{
	uint64_t used = (uint64_t)s->st.count + s->st.dying;
	uint64_t max = s->conf.max_entries;

	if (s->conf.fill_alarm_high_pct == 0)
		return;
	if (!s->alarm_on && used * 100 >= (uint64_t)s->conf.fill_alarm_high_pct * max) {
		s->alarm_on = 1;
		s->st.fill_alarm++;
		ct_shard_log(s, LOG_WARNING,
			  "conntrack table %llu%% full (%llu of %llu entries incl. dying)",
			  used * 100 / max, used, max);
		ct_shard_top_log(s);
	} else if (s->alarm_on && used * 100 < (uint64_t)s->conf.fill_alarm_low_pct * max) {
		s->alarm_on = 0;
		ct_shard_log(s, LOG_NOTICE,
			  "conntrack table back to %llu%% (%llu of %llu entries incl. dying)",
			  used * 100 / max, used, max);
	}
}
/* ------------------------------------------------------------------------ */
/* Statistics and life cycle                                                 */

void
ct_shard_stats(const struct ct_shard *s, struct ct_stats *out)
{
	*out = s->st;
	out->max_entries = s->conf.max_entries;
}

void
ct_stats_add(struct ct_stats *a, const struct ct_stats *b)
{
	unsigned i;

#define CT_X_ADD(f) a->f += b->f;
	CT_STATS_TABLE(CT_X_ADD)
#undef CT_X_ADD
	for (i = 0; i < CT_INV_MAX; i++)
		a->invalid_by_reason[i] += b->invalid_by_reason[i];
	for (i = 0; i < CT_MAX_LIMITS; i++)
		a->limit_drop_by_rule[i] += b->limit_drop_by_rule[i];
	a->count += b->count;
	a->dying += b->dying;
	a->max_entries += b->max_entries;
}

void
ct_shard_count_handoff(struct ct_shard *s, unsigned n)
{
	s->st.handoff += n;
}

void
ct_shard_count_events(struct ct_shard *s, unsigned sent, unsigned failed,
		      unsigned listener_dropped)
{
	s->st.events_sent += sent;
	s->st.events_failed += failed;
	s->st.listener_dropped += listener_dropped;
}

size_t
ct_shard_bytes_per_entry(const struct ct_shard *s)
{
	size_t total = (size_t)s->cap * (sizeof(struct ct_entry) + sizeof(struct ct_entry_cold)) +
		       (size_t)s->nb * sizeof(struct ct_bucket) +
		       (size_t)s->wheel_size * sizeof(uint32_t);

	return (total + s->conf.max_entries - 1) / s->conf.max_entries;
}

void
ct_shard_set_event_kinds(struct ct_shard *s, unsigned kinds)
{
	s->ev_kinds = kinds & CT_EVK_ALL;
	s->ev_filter = !s->conf.events_enabled ||
		       (s->ev_kinds & (CT_EVK_NEW | CT_EVK_UPDATE)) != (CT_EVK_NEW | CT_EVK_UPDATE);
}

int
ct_shard_set_nat(struct ct_shard *s, const struct ct_nat_hook *h)
{
	if (!s->conf.nat)
		return -ENOTSUP;
	if (!ct_shard_empty(s))
		return -EBUSY;
	if (h == NULL || h->bind == NULL)
		memset(&s->nat, 0, sizeof(s->nat));
	else
		s->nat = *h;
	return 0;
}

uint32_t
ct_shard_live(const struct ct_shard *s)
{
	return s->st.count;
}

bool
ct_shard_empty(const struct ct_shard *s)
{
	return s->st.count == 0 && s->st.dying == 0;
}

const struct ct_conf *
ct_shard_conf(const struct ct_shard *s)
{
	return &s->conf;
}

void
ct_shard_set_log(struct ct_shard *s, ct_log_fn fn, void *arg)
{
	s->log_fn = fn;
	s->log_arg = arg;
}

struct ct_shard *
ct_shard_create(const struct ct_conf *conf, char *err, size_t errlen)
{
	struct ct_shard *s;
	uint32_t i;
	uint64_t nb;

#define FAIL(...) do { if (err != NULL) snprintf(err, errlen, __VA_ARGS__); goto fail; } while (0)
	s = ct_mem_zalloc(&conf->mem, sizeof(*s), 64);
	if (s == NULL) {
		if (err != NULL)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->conf = *conf;
	ct_shard_set_event_kinds(s, CT_EVK_ALL);
	if (conf->max_entries == 0 || conf->max_entries > (1u << 30))
		FAIL("max_entries %u out of range 1..%u", conf->max_entries, 1u << 30);
	if (conf->shard_count == 0 || conf->shard_index >= conf->shard_count)
		FAIL("shard %u of %u", conf->shard_index, conf->shard_count);
	if (conf->ev_stage_size == 0)
		FAIL("ev_stage_size must be > 0");
	if (conf->n_notrack > CT_MAX_NOTRACK)
		FAIL("%u notrack rules, at most %u", conf->n_notrack, CT_MAX_NOTRACK);
	if (conf->fill_alarm_high_pct > 100 ||
	    (conf->fill_alarm_high_pct != 0 &&
	     conf->fill_alarm_low_pct >= conf->fill_alarm_high_pct))
		FAIL("fill alarm %u/%u%%: need low < high <= 100", conf->fill_alarm_low_pct,
		     conf->fill_alarm_high_pct);
	for (i = 0; i < CT_TO_MAX; i++) {
		uint64_t t = ((uint64_t)conf->timeout_s[i] * CT_NS_PER_S + CT_TICK_NS - 1) >>
			     CT_TICK_SHIFT;

		if (conf->timeout_s[i] == 0 || t >= CT_MAX_TIMEOUT_TICKS)
			FAIL("timeout %s = %u s out of range", ct_timeout_name(i),
			     conf->timeout_s[i]);
		s->to_ticks[i] = (uint32_t)t;
	}
	if (ct_tpol_rt_init(s, err, errlen) != 0)
		goto fail;
	if (conf->destroy_grace_ms > CT_GRACE_MAX_MS)
		FAIL("destroy grace %u ms out of range 0..%u", conf->destroy_grace_ms,
		     CT_GRACE_MAX_MS);
	s->grace_ns = (uint64_t)conf->destroy_grace_ms * 1000000u;
	s->grace_cap_ns = (uint64_t)CT_GRACE_BACKOFF_CAP_MS * 1000000u;
	if (s->grace_cap_ns < s->grace_ns)
		s->grace_cap_ns = s->grace_ns;
	if (conf->active_timeout_s != 0) {
		uint64_t t = ((uint64_t)conf->active_timeout_s * CT_NS_PER_S + CT_TICK_NS - 1) >>
			     CT_TICK_SHIFT;

		if (t >= CT_MAX_TIMEOUT_TICKS)
			FAIL("active timeout %u s out of range", conf->active_timeout_s);
		s->act_ticks = (uint32_t)t;
	}
	/* Early drop needs a little room over the limit for the replacing entry
	 * while the victim waits on the dying list. */
	s->cap = conf->max_entries +
		 (conf->early_drop ? CT_EARLY_DROP_HEADROOM(conf->max_entries) : 0);
	/* 80 % load of 10-slot buckets; translated entries have two keys
	 * (ct_shard_mem_size() agrees). */
	nb = conf->buckets ? conf->buckets :
			     ((uint64_t)conf->max_entries * (conf->nat ? 2 : 1) * 8 + 63) / 64;
	if (nb < 2)
		nb = 2;
	if (nb > UINT32_MAX / 2)
		FAIL("too many buckets");
	s->nb = (uint32_t)nb;
	s->pool = ct_mem_zalloc(&conf->mem, (size_t)s->cap * sizeof(struct ct_entry), 64);
	s->cold = ct_mem_zalloc(&conf->mem, (size_t)s->cap * sizeof(struct ct_entry_cold), 64);
	s->buckets = ct_mem_zalloc(&conf->mem, (size_t)s->nb * sizeof(struct ct_bucket), 64);
	/* The largest power of two of at most max_entries / 4 slots (1 byte an
	 * entry, whatever the size), within [2^MIN, 2^MAX]. */
	for (i = CT_WHEEL_MIN_BITS;
	     i < CT_WHEEL_MAX_BITS && (4ull << (i + 1)) <= conf->max_entries; i++)
		;
	s->wheel_size = 1u << i;
	s->wheel_mask = s->wheel_size - 1;
	s->wheel = ct_mem_zalloc(&conf->mem, (size_t)s->wheel_size * sizeof(uint32_t), 64);
	s->stage_cap = conf->ev_stage_size;
	s->stage = ct_mem_zalloc(&conf->mem, (size_t)s->stage_cap * sizeof(struct ct_event_rec),
				 64);
	s->stage_own = s->stage;
	if (s->pool == NULL || s->cold == NULL || s->buckets == NULL || s->wheel == NULL ||
	    s->stage == NULL)
		FAIL("out of memory for %u entries", s->cap);
	/* Pop order 0, 1, 2...: neighbours in time are neighbours in memory. */
	for (i = 0; i < s->cap; i++) {
		s->cold[i].tprev = CT_NIL;
		s->cold[i].tnext = i + 1 < s->cap ? i + 1 : CT_NIL;
	}
	s->free_head = 0;
	s->n_free = s->cap;
	for (i = 0; i < s->wheel_size; i++)
		s->wheel[i] = CT_NIL;
	s->prng = conf->seed ^ (UINT64_C(0x5851f42d4c957f2d) * (conf->shard_index + 1));
	s->st.max_entries = conf->max_entries;
	{
		char lerr[160];

		if (ct_shard_limit_init(s, lerr, sizeof(lerr)) != 0)
			FAIL("%s", lerr);
	}
	return s;
#undef FAIL
fail:
	ct_shard_free(s);
	return NULL;
}

void
ct_shard_free(struct ct_shard *s)
{
	struct ct_mem mem;

	if (s == NULL)
		return;
	mem = s->conf.mem;
	ct_shard_limit_fini(s);
	ct_mem_free(&mem, s->pool);
	ct_mem_free(&mem, s->cold);
	ct_mem_free(&mem, s->buckets);
	ct_mem_free(&mem, s->wheel);
	ct_mem_free(&mem, s->stage_own);
	ct_tpol_rt_free(s);
	ct_mem_free(&mem, s);
}
