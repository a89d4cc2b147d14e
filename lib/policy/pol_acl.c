/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generations: a rule set compiled into rte_acl contexts (one for the
 * filter rules, one for notrack rules), per-worker per-rule counters, and
 * the handover: publish the new generation, wait for every worker's
 * quiescent state (rte_rcu_qsbr), free the old one.
 */

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_acl.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "pol.h"

/* ct_shard_decide() keeps rule indices 0..0x7ffe and POL_RULE_DEFAULT (0xffff). */
_Static_assert(POL_MAX_RULES - 1 <= 0x7ffe && POL_RULE_DEFAULT == 0xffff,
	       "rule indices fit the entry's packed decision");

/*
 * The classification key, in network byte order as rte_acl wants it. The
 * first field is one byte; the others come in groups of four bytes.
 */
struct pol_key {
	uint8_t proto;            /* input 0 */
	uint8_t pad0[3];
	uint8_t state;            /* input 1: one-hot 1 << ct_state */
	uint8_t family;           /* one-hot: 1 = IPv4, 2 = IPv6 */
	uint16_t in_port;
	uint16_t zone;            /* input 2 */
	uint16_t icmp_type;       /* ICMP type, 0 for other protocols */
	uint32_t src[4];          /* inputs 3..6 */
	uint32_t dst[4];          /* inputs 7..10 */
	uint16_t sport;           /* input 11 */
	uint16_t dport;
};
_Static_assert(sizeof(struct pol_key) == 48, "pol_key layout");

enum {
	F_PROTO, F_STATE, F_FAMILY, F_INPORT, F_ZONE, F_ICMP,
	F_SRC0, F_SRC1, F_SRC2, F_SRC3, F_DST0, F_DST1, F_DST2, F_DST3,
	F_SPORT, F_DPORT, F_NUM,
};

RTE_ACL_RULE_DEF(pol_acl_rule, F_NUM);

#define FDEF(t, sz, f, in, member) \
	{ .type = RTE_ACL_FIELD_TYPE_ ## t, .size = sz, .field_index = f, .input_index = in, \
	  .offset = offsetof(struct pol_key, member) }

static const struct rte_acl_field_def pol_fields[F_NUM] = {
	FDEF(BITMASK, 1, F_PROTO, 0, proto),
	FDEF(BITMASK, 1, F_STATE, 1, state),
	FDEF(BITMASK, 1, F_FAMILY, 1, family),
	FDEF(RANGE, 2, F_INPORT, 1, in_port),
	FDEF(RANGE, 2, F_ZONE, 2, zone),
	FDEF(RANGE, 2, F_ICMP, 2, icmp_type),
	FDEF(MASK, 4, F_SRC0, 3, src[0]),
	FDEF(MASK, 4, F_SRC1, 4, src[1]),
	FDEF(MASK, 4, F_SRC2, 5, src[2]),
	FDEF(MASK, 4, F_SRC3, 6, src[3]),
	FDEF(MASK, 4, F_DST0, 7, dst[0]),
	FDEF(MASK, 4, F_DST1, 8, dst[1]),
	FDEF(MASK, 4, F_DST2, 9, dst[2]),
	FDEF(MASK, 4, F_DST3, 10, dst[3]),
	FDEF(RANGE, 2, F_SPORT, 11, sport),
	FDEF(RANGE, 2, F_DPORT, 11, dport),
};

#define POL_BURST 512
#define POL_MAX_WORKERS 128

/* Per-worker totals over all generations (single writer each). */
struct pol_wtot {
	uint64_t accepted;
	uint64_t dropped;
	uint64_t notracked;
	uint64_t classified;
} __rte_cache_aligned;

struct pol_gen {
	uint32_t gen;
	uint32_t n_rules;
	uint8_t default_action;
	bool has_notrack;
	struct rte_acl_ctx *acl;      /* filter rules; NULL when there are none */
	struct rte_acl_ctx *raw;      /* notrack rules; NULL when there are none */
	uint8_t *action;              /* [n_rules] */
	unsigned n_workers;
	struct pol_rule_stats *cnt;   /* [n_workers][stride], stride = n_rules + 1 rounded */
	uint32_t stride;
	struct pol_ruleset rs;        /* the source, for reports */
	struct pol_wtot *wtot;        /* the handle's per-worker totals */
};


struct pol_handle {
	_Atomic(struct pol_gen *) cur;
	struct rte_rcu_qsbr *qs;
	unsigned n_workers;
	uint32_t next_gen;
	pthread_mutex_t lock;         /* install and report; never on the packet path */
	struct pol_gen *deferred;     /* old generation whose grace period timed out */
	uint64_t reloads;
	uint64_t reload_failed;
	struct pol_wtot *wtot;        /* [n_workers] */
};

/* Single-writer counters that other threads read (no read-modify-write). */
#define POL_CNT_ADD(x, n) __atomic_store_n(&(x), (x) + (n), __ATOMIC_RELAXED)
#define POL_CNT_GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static int
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */

static inline void
key_fill(struct pol_key *k, const struct ct_pkt *p, uint8_t state, uint16_t in_port)
{
	const struct ct_tuple *t = &p->tuple;

	memset(k, 0, sizeof(*k));
	k->proto = t->proto;
	k->state = (uint8_t)(1u << state);
	k->family = t->family == 4 ? 1 : t->family == 6 ? 2 : 0;
	k->in_port = rte_cpu_to_be_16(in_port);
	k->zone = rte_cpu_to_be_16(t->zone);
	if (t->proto == IPPROTO_ICMP || t->proto == IPPROTO_ICMPV6)
		k->icmp_type = rte_cpu_to_be_16(p->icmp_type);
	/* The tuple's addresses are already in network order. */
	memcpy(k->src, t->src, 16);
	memcpy(k->dst, t->dst, 16);
	k->sport = rte_cpu_to_be_16(t->sport);
	k->dport = rte_cpu_to_be_16(t->dport);
}

/* ------------------------------------------------------------------------ */
/* Compilation                                                               */

static void
set_prefix(struct rte_acl_field *f, const uint8_t *a, unsigned len, unsigned family)
{
	unsigned w;

	for (w = 0; w < 4; w++) {
		unsigned bits;
		uint32_t v;

		if (family == 4 && w > 0) {
			/* IPv4 keys hold zeros there; any value matches anyway. */
			f[w].value.u32 = 0;
			f[w].mask_range.u32 = 0;
			continue;
		}
		bits = len > w * 32 ? RTE_MIN(len - w * 32, 32u) : 0;
		memcpy(&v, a + 4 * w, 4);
		f[w].value.u32 = bits ? rte_be_to_cpu_32(v) : 0;
		f[w].mask_range.u32 = bits;
	}
}

static void
set_range(struct rte_acl_field *f, const struct pol_range *r, unsigned n, unsigned i)
{
	if (n == 0) {
		f->value.u16 = 0;
		f->mask_range.u16 = 0xffff;
	} else {
		f->value.u16 = r[i].lo;
		f->mask_range.u16 = r[i].hi;
	}
}

/* Add rules `want_notrack` selects to a new context named after `tag`. */
static int
build_ctx(const struct pol_ruleset *rs, bool want_notrack, uint32_t gen, const char *tag,
	  struct rte_acl_ctx **out, char *err, size_t errlen)
{
	struct rte_acl_param prm;
	struct rte_acl_config cfg;
	struct pol_acl_rule *buf = NULL;
	struct rte_acl_ctx *ctx = NULL;
	uint32_t total = 0, i, k = 0;
	char name[RTE_ACL_NAMESIZE];
	int rc;

	*out = NULL;
	for (i = 0; i < rs->n_rules; i++)
		if ((rs->rules[i].action == POL_NOTRACK) == want_notrack)
			total += pol_rule_expansion(&rs->rules[i]);
	if (total == 0)
		return 0;
	if (total > POL_MAX_EXPANDED)
		return fail(err, errlen, -ENOSPC,
			    "%u ACL rules after expanding state and port lists, at most %u", total,
			    POL_MAX_EXPANDED);
	buf = calloc(total, sizeof(*buf));
	if (buf == NULL)
		return fail(err, errlen, -ENOMEM, "out of memory for %u ACL rules", total);
	for (i = 0; i < rs->n_rules; i++) {
		const struct pol_rule *r = &rs->rules[i];
		unsigned st, si, di, ns = r->n_sport ? r->n_sport : 1;
		unsigned nd = r->n_dport ? r->n_dport : 1;

		if ((r->action == POL_NOTRACK) != want_notrack)
			continue;
		/* No state set: one ACL rule with the state wildcarded. */
		for (st = 0; st < (r->states != 0 ? CT_STATE_MAX : 1u); st++) {
			if (r->states != 0 && !(r->states & (1u << st)))
				continue;
			for (si = 0; si < ns; si++) {
				for (di = 0; di < nd; di++) {
					struct pol_acl_rule *a = &buf[k++];
					struct rte_acl_field *f = a->field;

					a->data.category_mask = 1;
					/* First match wins: earlier rules rank higher. */
					a->data.priority = (int32_t)(RTE_ACL_MAX_PRIORITY - 1 - i);
					a->data.userdata = i + 1;
					f[F_PROTO].value.u8 = r->proto >= 0 ? (uint8_t)r->proto : 0;
					f[F_PROTO].mask_range.u8 = r->proto >= 0 ? 0xff : 0;
					f[F_STATE].value.u8 = r->states ? (uint8_t)(1u << st) : 0;
					f[F_STATE].mask_range.u8 = r->states ? (uint8_t)(1u << st) : 0;
					f[F_FAMILY].value.u8 = r->family == 4 ? 1 :
							       r->family == 6 ? 2 : 0;
					f[F_FAMILY].mask_range.u8 = r->family ? 3 : 0;
					f[F_INPORT].value.u16 = r->in_port >= 0 ?
								(uint16_t)r->in_port : 0;
					f[F_INPORT].mask_range.u16 = r->in_port >= 0 ?
								     (uint16_t)r->in_port : 0xffff;
					f[F_ZONE].value.u16 = r->zone >= 0 ? (uint16_t)r->zone : 0;
					f[F_ZONE].mask_range.u16 = r->zone >= 0 ?
								   (uint16_t)r->zone : 0xffff;
					f[F_ICMP].value.u16 = r->icmp_type >= 0 ?
							      (uint16_t)r->icmp_type : 0;
					f[F_ICMP].mask_range.u16 = r->icmp_type >= 0 ?
								   (uint16_t)r->icmp_type : 0xffff;
					set_prefix(&f[F_SRC0], r->src, r->src_len, r->family);
					set_prefix(&f[F_DST0], r->dst, r->dst_len, r->family);
					set_range(&f[F_SPORT], r->sport, r->n_sport, si);
					set_range(&f[F_DPORT], r->dport, r->n_dport, di);
				}
			}
		}
	}
	memset(&prm, 0, sizeof(prm));
	snprintf(name, sizeof(name), "pol%s%u_%d", tag, gen, (int)getpid());
	prm.name = name;
	prm.socket_id = SOCKET_ID_ANY;
	prm.rule_size = RTE_ACL_RULE_SZ(F_NUM);
	prm.max_rule_num = total;
	ctx = rte_acl_create(&prm);
	if (ctx == NULL) {
		rc = fail(err, errlen, -ENOMEM, "rte_acl_create: %s", rte_strerror(rte_errno));
		goto out;
	}
	rc = rte_acl_add_rules(ctx, (const struct rte_acl_rule *)buf, total);
	if (rc != 0) {
		rc = fail(err, errlen, -EIO, "rte_acl_add_rules: %s", rte_strerror(-rc));
		goto out;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.num_categories = 1;
	cfg.num_fields = F_NUM;
	memcpy(cfg.defs, pol_fields, sizeof(pol_fields));
	rc = rte_acl_build(ctx, &cfg);
	if (rc != 0) {
		rc = fail(err, errlen, -EIO, "rte_acl_build (%u rules): %s", total,
			  rte_strerror(-rc));
		goto out;
	}
	*out = ctx;
	ctx = NULL;
	rc = 0;
out:
	rte_acl_free(ctx);
	free(buf);
	return rc;
}

static void
gen_free(struct pol_gen *g)
{
	if (g == NULL)
		return;
	rte_acl_free(g->acl);
	rte_acl_free(g->raw);
	free(g->action);
	rte_free(g->cnt);
	pol_ruleset_clear(&g->rs);
	free(g);
}

static struct pol_gen *
gen_build(const struct pol_ruleset *rs, unsigned n_workers, struct pol_wtot *wtot, uint32_t gen,
	  char *err, size_t errlen, int *rcp)
{
	struct pol_gen *g;
	char msg[200];
	uint32_t i;
	int rc;

	if (rs->n_rules > POL_MAX_RULES) {
		*rcp = fail(err, errlen, -EINVAL, "%u rules, at most %u", rs->n_rules,
			    POL_MAX_RULES);
		return NULL;
	}
	if (rs->default_action != POL_ACCEPT && rs->default_action != POL_DROP) {
		*rcp = fail(err, errlen, -EINVAL, "default must be accept or drop");
		return NULL;
	}
	for (i = 0; i < rs->n_rules; i++) {
		if (pol_rule_check(&rs->rules[i], msg, sizeof(msg)) != 0) {
			*rcp = fail(err, errlen, -EINVAL, "rule %u: %s", i, msg);
			return NULL;
		}
	}
	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		*rcp = fail(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	g->gen = gen;
	g->n_rules = rs->n_rules;
	g->default_action = rs->default_action;
	g->has_notrack = pol_ruleset_has_notrack(rs);
	g->n_workers = n_workers;
	g->wtot = wtot;
	/* Each worker's counters on cache lines of their own. */
	g->stride = RTE_ALIGN_CEIL(rs->n_rules + 1,
				   RTE_CACHE_LINE_SIZE / sizeof(struct pol_rule_stats));
	g->cnt = rte_zmalloc("pol_cnt", sizeof(*g->cnt) * g->stride * n_workers,
			     RTE_CACHE_LINE_SIZE);
	g->action = malloc(rs->n_rules + 1);
	rc = pol_ruleset_copy(&g->rs, rs);
	if (g->cnt == NULL || g->action == NULL || rc != 0) {
		*rcp = fail(err, errlen, -ENOMEM, "out of memory for %u rules", rs->n_rules);
		goto fail;
	}
	for (i = 0; i < rs->n_rules; i++)
		g->action[i] = rs->rules[i].action;
	rc = build_ctx(rs, false, gen, "f", &g->acl, err, errlen);
	if (rc == 0)
		rc = build_ctx(rs, true, gen, "n", &g->raw, err, errlen);
	if (rc != 0) {
		*rcp = rc;
		goto fail;
	}
	*rcp = 0;
	return g;
fail:
	gen_free(g);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* The handle and the handover                                               */

struct pol_handle *
pol_handle_create(const struct pol_ruleset *rs, unsigned n_workers, char *err, size_t errlen)
{
	struct pol_handle *h;
	struct pol_gen *g;
	size_t sz;
	int rc;

	if (n_workers == 0 || n_workers > POL_MAX_WORKERS) {
		fail(err, errlen, -EINVAL, "%u workers, 1..%u", n_workers, POL_MAX_WORKERS);
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		fail(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	h->n_workers = n_workers;
	sz = rte_rcu_qsbr_get_memsize(n_workers);
	h->qs = rte_zmalloc("pol_qsbr", sz, RTE_CACHE_LINE_SIZE);
	h->wtot = rte_zmalloc("pol_wtot", sizeof(*h->wtot) * n_workers, RTE_CACHE_LINE_SIZE);
	if (h->qs == NULL || h->wtot == NULL) {
		fail(err, errlen, -ENOMEM, "out of EAL memory for the RCU state");
		goto fail;
	}
	if (rte_rcu_qsbr_init(h->qs, n_workers) != 0) {
		fail(err, errlen, -EINVAL, "rte_rcu_qsbr_init: %s", rte_strerror(rte_errno));
		goto fail;
	}
	for (unsigned i = 0; i < n_workers; i++)
		rte_rcu_qsbr_thread_register(h->qs, i);
	h->next_gen = 1;
	g = gen_build(rs, n_workers, h->wtot, h->next_gen, err, errlen, &rc);
	if (g == NULL)
		goto fail;
	h->next_gen++;
	atomic_store_explicit(&h->cur, g, memory_order_release);
	return h;
fail:
	rte_free(h->qs);
	rte_free(h->wtot);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return NULL;
}

void
pol_handle_free(struct pol_handle *h)
{
	if (h == NULL)
		return;
	gen_free(atomic_load(&h->cur));
	gen_free(h->deferred);
	rte_free(h->qs);
	rte_free(h->wtot);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* Wait for a grace period, bounded. true when every online worker moved on. */
static bool
grace_wait(struct pol_handle *h, unsigned wait_ms)
{
	uint64_t token = rte_rcu_qsbr_start(h->qs);
	uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz() * wait_ms / 1000;

	while (rte_rcu_qsbr_check(h->qs, token, false) == 0) {
		if (rte_get_timer_cycles() > end)
			return false;
		usleep(50);
	}
	return true;
}

int
pol_install(struct pol_handle *h, const struct pol_ruleset *rs, unsigned wait_ms, char *err,
	    size_t errlen)
{
	struct pol_gen *g, *old;
	int rc;

	pthread_mutex_lock(&h->lock);
	/* A generation left over from a timed-out wait goes first. */
	if (h->deferred != NULL && grace_wait(h, wait_ms)) {
		gen_free(h->deferred);
		h->deferred = NULL;
	}
	if (h->deferred != NULL) {
		h->reload_failed++;
		rc = fail(err, errlen, -EBUSY,
			  "a worker has not left generation %u yet; try again", h->deferred->gen);
		goto out;
	}
	g = gen_build(rs, h->n_workers, h->wtot, h->next_gen, err, errlen, &rc);
	if (g == NULL) {
		h->reload_failed++;
		goto out;
	}
	h->next_gen = h->next_gen == UINT32_MAX ? 1 : h->next_gen + 1;
	old = atomic_exchange_explicit(&h->cur, g, memory_order_acq_rel);
	h->reloads++;
	if (grace_wait(h, wait_ms))
		gen_free(old);
	else
		h->deferred = old;
	rc = (int)g->gen;
out:
	pthread_mutex_unlock(&h->lock);
	return rc;
}

void
pol_note_refused(struct pol_handle *h)
{
	pthread_mutex_lock(&h->lock);
	h->reload_failed++;
	pthread_mutex_unlock(&h->lock);
}

void
pol_worker_online(struct pol_handle *h, unsigned wid)
{
	rte_rcu_qsbr_thread_online(h->qs, wid);
}

void
pol_worker_offline(struct pol_handle *h, unsigned wid)
{
	rte_rcu_qsbr_thread_offline(h->qs, wid);
}

void
pol_quiescent(struct pol_handle *h, unsigned wid)
{
	rte_rcu_qsbr_quiescent(h->qs, wid);
}

const struct pol_gen *
pol_current(struct pol_handle *h)
{
	return atomic_load_explicit(&h->cur, memory_order_acquire);
}

uint32_t
pol_gen_number(const struct pol_gen *g)
{
	return g->gen;
}

bool
pol_gen_has_notrack(const struct pol_gen *g)
{
	return g->has_notrack;
}

bool
pol_gen_trivial(const struct pol_gen *g)
{
	return g->n_rules == 0 && g->default_action == POL_ACCEPT;
}

/* ------------------------------------------------------------------------ */
/* The packet path                                                           */

static inline struct pol_rule_stats *
wcnt(const struct pol_gen *g, unsigned wid, unsigned rule)
{
	return &g->cnt[(size_t)wid * g->stride + (rule == POL_RULE_DEFAULT ? g->n_rules : rule)];
}

static inline struct pol_wtot *
pol_wtot_of(const struct pol_gen *g, unsigned wid)
{
	return &g->wtot[wid];
}

void
pol_apply_burst(const struct pol_gen *g, unsigned wid, struct ct_shard *s,
		const struct ct_pkt *pkts, const uint16_t *in_port, uint16_t n, uint8_t *verdict,
		const struct ct_pkt_info *info)
{
	struct pol_key keys[POL_BURST];
	const uint8_t *kp[POL_BURST];
	uint32_t res[POL_BURST];
	uint16_t need[POL_BURST];
	struct pol_wtot *tot = pol_wtot_of(g, wid);
	uint64_t acc = 0, drp = 0;
	unsigned i, k = 0;

	if (n > POL_BURST)
		n = POL_BURST;
	for (i = 0; i < n; i++) {
		const struct ct_pkt_info *pi = &info[i];
		struct pol_rule_stats *c;

		if (verdict[i] != CT_V_PASS || pkts[i].cls == CT_PKT_NOT_IP ||
		    pkts[i].cls == CT_PKT_NOTRACK)
			continue;
		if (pi->dec.gen != g->gen) {
			key_fill(&keys[k], &pkts[i], pi->state, in_port[i]);
			kp[k] = (const uint8_t *)&keys[k];
			need[k++] = (uint16_t)i;
			continue;
		}
		/* The connection's verdict of this generation: a compare, no lookup. */
		c = wcnt(g, wid, pi->dec.rule);
		POL_CNT_ADD(c->pkts, 1);
		if (pi->dec.verdict == CT_V_DROP) {
			verdict[i] = CT_V_DROP;
			drp++;
		} else {
			acc++;
		}
	}
	if (k > 0) {
		if (g->acl != NULL)
			rte_acl_classify(g->acl, kp, res, k, 1);
		else
			memset(res, 0, sizeof(res[0]) * k);
		POL_CNT_ADD(tot->classified, k);
	}
	for (i = 0; i < k; i++) {
		const struct ct_pkt_info *pi = &info[need[i]];
		unsigned rule = res[i] ? res[i] - 1 : POL_RULE_DEFAULT;
		uint8_t act = rule == POL_RULE_DEFAULT ? g->default_action : g->action[rule];
		struct ct_decision d = {
			.gen = g->gen,
			.rule = (uint16_t)rule,
			.verdict = act == POL_DROP ? CT_V_DROP : CT_V_PASS,
		}, cur;
		struct pol_rule_stats *c;

		/* An ICMP error is judged, not its connection re-decided; a
		 * connection created from an expectation (RELATED) is decided. */
		if (pi->slot != UINT32_MAX && pkts[need[i]].cls != CT_PKT_ICMP_ERROR) {
			int rc = ct_shard_decide(s, pi->slot, pi->id, &d, &cur);

			if (rc >= 0)
				d = cur;
			if (rc == 1)
				POL_CNT_ADD(wcnt(g, wid, d.rule)->conns, 1);
		}
		c = wcnt(g, wid, d.rule);
		POL_CNT_ADD(c->pkts, 1);
		if (d.verdict == CT_V_DROP) {
			verdict[need[i]] = CT_V_DROP;
			drp++;
		} else {
			acc++;
		}
	}
	if (acc != 0)
		POL_CNT_ADD(tot->accepted, acc);
	if (drp != 0)
		POL_CNT_ADD(tot->dropped, drp);
}

unsigned
pol_notrack_burst(const struct pol_gen *g, unsigned wid, struct ct_pkt *pkts,
		  const uint8_t *const *frames, const uint16_t *in_port, uint16_t n)
{
	struct pol_key keys[POL_BURST];
	const uint8_t *kp[POL_BURST];
	uint32_t res[POL_BURST];
	uint16_t idx[POL_BURST];
	unsigned i, k = 0, marked = 0;

	if (g->raw == NULL)
		return 0;
	if (n > POL_BURST)
		n = POL_BURST;
	for (i = 0; i < n; i++) {
		const struct ct_pkt *p = &pkts[i];
		struct ct_pkt outer;

		if (p->cls == CT_PKT_ICMP_ERROR) {
			/* The error's own header, not the flow it quotes. */
			outer = *p;
			if (frames == NULL || ct_pkt_outer_tuple(p, frames[i], &outer.tuple) != 0)
				continue;
			p = &outer;
		} else if (p->cls != CT_PKT_TRACK) {
			continue;
		}
		key_fill(&keys[k], p, CT_STATE_UNTRACKED, in_port[i]);
		kp[k] = (const uint8_t *)&keys[k];
		idx[k++] = (uint16_t)i;
	}
	if (k == 0)
		return 0;
	rte_acl_classify(g->raw, kp, res, k, 1);
	for (i = 0; i < k; i++) {
		if (res[i] == 0)
			continue;
		pkts[idx[i]].cls = CT_PKT_NOTRACK;
		POL_CNT_ADD(wcnt(g, wid, res[i] - 1)->pkts, 1);
		marked++;
	}
	if (marked != 0)
		POL_CNT_ADD(pol_wtot_of(g, wid)->notracked, marked);
	return marked;
}

unsigned
pol_classify_one(const struct pol_gen *g, const struct pol_pkt *p, bool notrack)
{
	struct rte_acl_ctx *ctx = notrack ? g->raw : g->acl;
	struct pol_key k;
	const uint8_t *kp = (const uint8_t *)&k;
	uint32_t res = 0;

	if (ctx == NULL)
		return POL_RULE_DEFAULT;
	key_fill(&k, p->pkt, notrack ? CT_STATE_UNTRACKED : p->state, p->in_port);
	rte_acl_classify(ctx, &kp, &res, 1, 1);
	return res ? res - 1 : POL_RULE_DEFAULT;
}

/* ------------------------------------------------------------------------ */
/* Reports                                                                   */

int
pol_report(struct pol_handle *h, uint32_t *gen, struct pol_ruleset *rs,
	   struct pol_rule_stats **stats, struct pol_totals *totals)
{
	struct pol_rule_stats *st;
	struct pol_gen *g;
	unsigned w, r;
	int rc = 0;

	pthread_mutex_lock(&h->lock);
	g = atomic_load(&h->cur);
	*gen = g->gen;
	st = calloc(g->n_rules + 1, sizeof(*st));
	if (st == NULL || pol_ruleset_copy(rs, &g->rs) != 0) {
		free(st);
		rc = -ENOMEM;
		goto out;
	}
	for (w = 0; w < g->n_workers; w++) {
		for (r = 0; r <= g->n_rules; r++) {
			const struct pol_rule_stats *c = &g->cnt[(size_t)w * g->stride + r];

			st[r].pkts += POL_CNT_GET(c->pkts);
			st[r].conns += POL_CNT_GET(c->conns);
		}
	}
	*stats = st;
	memset(totals, 0, sizeof(*totals));
	for (w = 0; w < h->n_workers; w++) {
		totals->accepted += POL_CNT_GET(h->wtot[w].accepted);
		totals->dropped += POL_CNT_GET(h->wtot[w].dropped);
		totals->notracked += POL_CNT_GET(h->wtot[w].notracked);
		totals->classified += POL_CNT_GET(h->wtot[w].classified);
	}
	totals->reloads = h->reloads;
	totals->reload_failed = h->reload_failed;
out:
	pthread_mutex_unlock(&h->lock);
	return rc;
}
