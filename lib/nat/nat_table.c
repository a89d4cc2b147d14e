/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAT tables: checking pools and rules, building the pool states (the
 * per-worker port bitmaps and block tables), handing them over to the next
 * table on a reload, and freeing them.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nat_private.h"

static void
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void
nat_rule_init(struct nat_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = NAT_EXCLUDE;
	r->in_port = NAT_ANY_PORT;
	r->zone = NAT_ANY_ZONE;
	r->dport_lo = 0;
	r->dport_hi = UINT16_MAX;
}

/* "rule \"name\"" or "rule 3" into buf. */
static const char *
rule_label(const struct nat_rule *r, unsigned i, char *buf, size_t len)
{
	if (memchr(r->name, '\0', sizeof(r->name)) != NULL && r->name[0] != '\0')
		snprintf(buf, len, "rule \"%s\"", r->name);
	else
		snprintf(buf, len, "rule %u", i);
	return buf;
}

static void
fmt_ip(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

static int
check_pool(const struct nat_pool *p, unsigned i, unsigned n_workers, char *err, size_t errlen)
{
	uint64_t n_addrs, range, slice;

	if (memchr(p->name, '\0', sizeof(p->name)) == NULL || p->name[0] == '\0') {
		fail(err, errlen, "pool %u: needs a name of 1..%d characters", i, NAT_NAME_MAX - 1);
		return -EINVAL;
	}
	if (p->addr_lo > p->addr_hi) {
		char a[16], b[16];

		fmt_ip(p->addr_lo, a, sizeof(a));
		fmt_ip(p->addr_hi, b, sizeof(b));
		fail(err, errlen, "pool \"%s\": address range %s-%s is empty (first > last)",
		     p->name, a, b);
		return -EINVAL;
	}
	n_addrs = (uint64_t)p->addr_hi - p->addr_lo + 1;
	if (n_addrs > NAT_MAX_POOL_ADDRS) {
		fail(err, errlen, "pool \"%s\": %" PRIu64 " addresses, at most %d (a /20)",
		     p->name, n_addrs, NAT_MAX_POOL_ADDRS);
		return -EINVAL;
	}
	if (p->port_lo == 0 || p->port_lo > p->port_hi) {
		fail(err, errlen, "pool \"%s\": port range %u-%u needs 1 <= lo <= hi <= 65535",
		     p->name, p->port_lo, p->port_hi);
		return -EINVAL;
	}
	range = (uint64_t)p->port_hi - p->port_lo + 1;
	if (range % n_workers != 0) {
		fail(err, errlen, "pool \"%s\": port range %u-%u (%" PRIu64
		     " ports) does not divide among %u workers", p->name, p->port_lo,
		     p->port_hi, range, n_workers);
		return -EINVAL;
	}
	slice = range / n_workers;
	if (p->mode == NAT_MODE_NAPT)
		return 0;
	if (p->mode != NAT_MODE_BLOCK) {
		fail(err, errlen, "pool \"%s\": unknown mode %u", p->name, p->mode);
		return -EINVAL;
	}
	if (p->block_size == 0 || p->block_size > 32768) {
		fail(err, errlen, "pool \"%s\": block_size %u needs 1..32768", p->name,
		     p->block_size);
		return -EINVAL;
	}
	if (p->blocks_per_addr_max == 0 || p->blocks_per_addr_max > 16) {
		fail(err, errlen, "pool \"%s\": blocks_per_address %u needs 1..16", p->name,
		     p->blocks_per_addr_max);
		return -EINVAL;
	}
	if (slice % p->block_size != 0) {
		fail(err, errlen, "pool \"%s\": block_size %u does not divide a worker's %" PRIu64
		     " ports (port range %u-%u among %u workers)", p->name, p->block_size, slice,
		     p->port_lo, p->port_hi, n_workers);
		return -EINVAL;
	}
	if (n_addrs * (range / p->block_size) > NAT_MAX_POOL_BLOCKS) {
		fail(err, errlen, "pool \"%s\": %" PRIu64 " blocks of %u ports, at most %u: "
		     "use a larger block_size", p->name, n_addrs * (range / p->block_size),
		     p->block_size, NAT_MAX_POOL_BLOCKS);
		return -EINVAL;
	}
	return 0;
}

/* Whether [lo1, hi1] and [lo2, hi2] share a value. */
static bool
overlap(uint32_t lo1, uint32_t hi1, uint32_t lo2, uint32_t hi2)
{
	return lo1 <= hi2 && lo2 <= hi1;
}

/* The first pool sharing an address with prefix/len, or -1. */
static int
prefix_pool(const struct nat_pool *pools, unsigned n, uint32_t pfx, unsigned len)
{
	uint32_t lo = pfx & nat_prefix_mask(len), hi = lo | ~nat_prefix_mask(len);
	unsigned i;

	for (i = 0; i < n; i++)
		if (overlap(lo, hi, pools[i].addr_lo, pools[i].addr_hi))
			return (int)i;
	return -1;
}

static int
check_rule(const struct nat_rule *rules, unsigned i, const struct nat_pool *pools,
	   unsigned n_pools, char *err, size_t errlen)
{
	const struct nat_rule *r = &rules[i];
	char lb[48], lb2[48], a[16];
	unsigned j;
	int pi;

	rule_label(r, i, lb, sizeof(lb));
	if (r->kind != NAT_SNAT && r->kind != NAT_DNAT && r->kind != NAT_EXCLUDE) {
		fail(err, errlen, "%s: unknown action %u", lb, r->kind);
		return -EINVAL;
	}
	if (r->src_len > 32 || r->dst_len > 32) {
		fail(err, errlen, "%s: prefix length %u is past 32", lb,
		     r->src_len > 32 ? r->src_len : r->dst_len);
		return -EINVAL;
	}
	if ((r->src & ~nat_prefix_mask(r->src_len)) != 0 ||
	    (r->dst & ~nat_prefix_mask(r->dst_len)) != 0) {
		fail(err, errlen, "%s: %s prefix has host bits set", lb,
		     (r->src & ~nat_prefix_mask(r->src_len)) != 0 ? "source" : "destination");
		return -EINVAL;
	}
	if (r->dport_lo > r->dport_hi) {
		fail(err, errlen, "%s: destination ports %u-%u need lo <= hi", lb, r->dport_lo,
		     r->dport_hi);
		return -EINVAL;
	}
	if (r->kind == NAT_SNAT) {
		if (r->pool >= n_pools) {
			fail(err, errlen, "%s: snat names no pool (index %u of %u)", lb, r->pool,
			     n_pools);
			return -EINVAL;
		}
		if (r->src_len > 0) {
			pi = prefix_pool(pools, n_pools, r->src, r->src_len);
			if (pi >= 0) {
				fmt_ip(r->src, a, sizeof(a));
				fail(err, errlen, "%s: source %s/%u covers an address of pool \"%s\" "
				     "(a translated packet would match again)", lb, a, r->src_len,
				     pools[pi].name);
				return -EINVAL;
			}
		}
		return 0;
	}
	if (r->kind != NAT_DNAT)
		return 0;
	if (r->dst_len != 32) {
		fail(err, errlen, "%s: dnat needs a single public address (dst /32), not /%u", lb,
		     r->dst_len);
		return -EINVAL;
	}
	if (r->proto != P_TCP && r->proto != P_UDP && r->proto != P_UDPLITE) {
		fail(err, errlen, "%s: dnat needs protocol tcp, udp or udplite, not %u", lb,
		     r->proto);
		return -EINVAL;
	}
	if ((uint32_t)r->to_port + (r->dport_hi - r->dport_lo) > UINT16_MAX) {
		fail(err, errlen, "%s: ports %u-%u mapped to %u end past 65535 (at %u)", lb,
		     r->dport_lo, r->dport_hi, r->to_port,
		     (uint32_t)r->to_port + (r->dport_hi - r->dport_lo));
		return -EINVAL;
	}
	pi = prefix_pool(pools, n_pools, r->to_addr, 32);
	if (pi >= 0) {
		fmt_ip(r->to_addr, a, sizeof(a));
		fail(err, errlen, "%s: inside address %s is an address of pool \"%s\" "
		     "(a translated packet would match again)", lb, a, pools[pi].name);
		return -EINVAL;
	}
	for (j = 0; j < i; j++) {
		const struct nat_rule *q = &rules[j];
		uint32_t qhi = (uint32_t)q->to_port + (q->dport_hi - q->dport_lo);
		uint32_t rhi = (uint32_t)r->to_port + (r->dport_hi - r->dport_lo);

		if (q->kind != NAT_DNAT || q->proto != r->proto)
			continue;
		rule_label(q, j, lb2, sizeof(lb2));
		if (q->dst == r->dst && overlap(q->dport_lo, q->dport_hi, r->dport_lo, r->dport_hi)) {
			fmt_ip(r->dst, a, sizeof(a));
			fail(err, errlen, "%s: %s %s ports %u-%u overlap those of %s", lb,
			     ct_proto_name(r->proto), a, r->dport_lo, r->dport_hi, lb2);
			return -EINVAL;
		}
		if (q->to_addr == r->to_addr && overlap(q->to_port, qhi, r->to_port, rhi)) {
			fmt_ip(r->to_addr, a, sizeof(a));
			fail(err, errlen, "%s: inside %s %s ports %u-%u overlap those of %s "
			     "(replies could not be told apart)", lb, ct_proto_name(r->proto), a,
			     r->to_port, rhi, lb2);
			return -EINVAL;
		}
	}
	return 0;
}

static int
check_all(const struct nat_pool *pools, unsigned n_pools, const struct nat_rule *rules,
	  unsigned n_rules, unsigned n_workers, char *err, size_t errlen)
{
	unsigned i, j;
	int rc;

	if (n_workers == 0 || n_workers > NAT_MAX_WORKERS) {
		fail(err, errlen, "%u workers: NAT needs 1..%d", n_workers, NAT_MAX_WORKERS);
		return -EINVAL;
	}
	if (n_pools > NAT_MAX_POOLS) {
		fail(err, errlen, "%u pools, at most %d", n_pools, NAT_MAX_POOLS);
		return -EINVAL;
	}
	if (n_rules > NAT_MAX_RULES) {
		fail(err, errlen, "%u rules, at most %d", n_rules, NAT_MAX_RULES);
		return -EINVAL;
	}
	if ((n_pools > 0 && pools == NULL) || (n_rules > 0 && rules == NULL)) {
		fail(err, errlen, "no pools or rules given with a non-zero count");
		return -EINVAL;
	}
	for (i = 0; i < n_pools; i++) {
		rc = check_pool(&pools[i], i, n_workers, err, errlen);
		if (rc != 0)
			return rc;
		for (j = 0; j < i; j++) {
			if (strcmp(pools[i].name, pools[j].name) == 0) {
				fail(err, errlen, "pool \"%s\": the name is used twice", pools[i].name);
				return -EINVAL;
			}
			if (overlap(pools[i].addr_lo, pools[i].addr_hi, pools[j].addr_lo,
				    pools[j].addr_hi)) {
				fail(err, errlen, "pool \"%s\": shares addresses with pool \"%s\"",
				     pools[i].name, pools[j].name);
				return -EINVAL;
			}
		}
	}
	for (i = 0; i < n_rules; i++) {
		rc = check_rule(rules, i, pools, n_pools, err, errlen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Pool states                                                               */

static void
pool_state_free(struct nat_pool_state *ps)
{
	unsigned w;

	if (ps == NULL)
		return;
	if (ps->w != NULL) {
		for (w = 0; w < ps->n_workers; w++) {
			struct nat_pw *pw = &ps->w[w];

			free(pw->map);
			free(pw->blk);
			free(pw->blk_map);
			free(pw->sub);
			free(pw->ev);
			free(pw->ev_blk);
		}
		free(ps->w);
	}
	free(ps);
}

static int
pw_init(struct nat_pool_state *ps, struct nat_pw *pw)
{
	uint32_t i, cap;

	pw->map = calloc((size_t)ps->n_addrs * NAT_CLASSES * ps->words, sizeof(uint64_t));
	if (pw->map == NULL)
		return -ENOMEM;
	if (ps->cfg.mode != NAT_MODE_BLOCK)
		return 0;
	for (cap = 2; cap < 2 * ps->n_blocks; cap *= 2)
		;
	pw->sub_mask = cap - 1;
	pw->ev_cap = 2 * ps->n_blocks;
	pw->blk = calloc(ps->n_blocks, sizeof(*pw->blk));
	pw->blk_map = calloc((ps->n_blocks + 63) / 64, sizeof(uint64_t));
	pw->sub = calloc(cap, sizeof(*pw->sub));
	pw->ev = calloc(pw->ev_cap, sizeof(*pw->ev));
	pw->ev_blk = calloc(pw->ev_cap, sizeof(*pw->ev_blk));
	if (pw->blk == NULL || pw->blk_map == NULL || pw->sub == NULL || pw->ev == NULL ||
	    pw->ev_blk == NULL)
		return -ENOMEM;
	for (i = 0; i < ps->n_blocks; i++)
		pw->blk[i].next = NAT_NIL;
	for (i = 0; i < cap; i++)
		pw->sub[i].head = NAT_NIL;
	return 0;
}

static struct nat_pool_state *
pool_state_new(const struct nat_pool *p, unsigned n_workers)
{
	struct nat_pool_state *ps = calloc(1, sizeof(*ps));
	unsigned w;

	if (ps == NULL)
		return NULL;
	ps->cfg = *p;
	ps->refcnt = 1;
	ps->n_addrs = p->addr_hi - p->addr_lo + 1;
	ps->slice = ((uint32_t)p->port_hi - p->port_lo + 1) / n_workers;
	ps->words = (ps->slice + 63) / 64;
	if (p->mode == NAT_MODE_BLOCK) {
		ps->bpa = ps->slice / p->block_size;
		ps->n_blocks = ps->n_addrs * ps->bpa;
	}
	ps->w = aligned_alloc(64, sizeof(*ps->w) * n_workers);
	if (ps->w == NULL)
		goto fail;
	memset(ps->w, 0, sizeof(*ps->w) * n_workers);
	ps->n_workers = n_workers;
	for (w = 0; w < n_workers; w++)
		if (pw_init(ps, &ps->w[w]) != 0)
			goto fail;
	return ps;
fail:
	pool_state_free(ps);
	return NULL;
}

static void
pool_state_put(struct nat_pool_state *ps)
{
	if (ps != NULL && --ps->refcnt == 0)
		pool_state_free(ps);
}

uint64_t
nat_pool_live(const struct nat_pool_state *ps)
{
	uint64_t n = 0;
	unsigned w;

	for (w = 0; w < ps->n_workers; w++) {
		const volatile struct nat_pw *pw = &ps->w[w];

		n += pw->in_use + pw->blocks_releasing;
	}
	return n;
}

static bool
pool_equal(const struct nat_pool *a, const struct nat_pool *b)
{
	if (strcmp(a->name, b->name) != 0 || a->addr_lo != b->addr_lo ||
	    a->addr_hi != b->addr_hi || a->port_lo != b->port_lo || a->port_hi != b->port_hi ||
	    a->mode != b->mode)
		return false;
	return a->mode != NAT_MODE_BLOCK || (a->block_size == b->block_size &&
					     a->blocks_per_addr_max == b->blocks_per_addr_max);
}

static void
counters_put(struct nat_counters *c)
{
	if (c != NULL && --c->refcnt == 0) {
		free(c->w);
		free(c);
	}
}

/* ------------------------------------------------------------------------ */
/* Tables                                                                    */

static int
cmp_pool_ix(const void *a, const void *b)
{
	const struct nat_pool_ix *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int
cmp_dnat_ix(const void *a, const void *b)
{
	const struct nat_dnat_ix *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

struct nat_table *
nat_table_build(const struct nat_pool *pools, unsigned n_pools, const struct nat_rule *rules,
		unsigned n_rules, unsigned n_workers, char *err, size_t errlen)
{
	struct nat_table *t;
	unsigned i;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (check_all(pools, n_pools, rules, n_rules, n_workers, err, errlen) != 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		goto nomem;
	t->n_pools = n_pools;
	t->n_rules = n_rules;
	t->n_workers = n_workers;
	t->pools = calloc(n_pools + 1, sizeof(*t->pools));
	t->rules = calloc(n_rules + 1, sizeof(*t->rules));
	t->ps = calloc(n_pools + 1, sizeof(*t->ps));
	t->by_addr = calloc(n_pools + 1, sizeof(*t->by_addr));
	t->dnat_ix = calloc(n_rules + 1, sizeof(*t->dnat_ix));
	t->cnt = calloc(1, sizeof(*t->cnt));
	if (t->pools == NULL || t->rules == NULL || t->ps == NULL || t->by_addr == NULL ||
	    t->dnat_ix == NULL || t->cnt == NULL)
		goto nomem;
	t->cnt->refcnt = 1;
	t->cnt->n_workers = n_workers;
	t->cnt->w = aligned_alloc(64, sizeof(*t->cnt->w) * n_workers);
	if (t->cnt->w == NULL)
		goto nomem;
	memset(t->cnt->w, 0, sizeof(*t->cnt->w) * n_workers);
	if (n_pools > 0)
		memcpy(t->pools, pools, sizeof(*pools) * n_pools);
	if (n_rules > 0)
		memcpy(t->rules, rules, sizeof(*rules) * n_rules);
	for (i = 0; i < n_pools; i++) {
		t->ps[i] = pool_state_new(&pools[i], n_workers);
		if (t->ps[i] == NULL)
			goto nomem;
		t->by_addr[i] = (struct nat_pool_ix){ pools[i].addr_lo, pools[i].addr_hi, i };
	}
	qsort(t->by_addr, n_pools, sizeof(*t->by_addr), cmp_pool_ix);
	for (i = 0; i < n_rules; i++) {
		if (rules[i].kind == NAT_DNAT)
			t->dnat_ix[t->n_dnat++] = (struct nat_dnat_ix){ rules[i].to_addr, i };
		if (rules[i].kind == NAT_SNAT && pools[rules[i].pool].mode == NAT_MODE_BLOCK) {
			t->has_block_rule = true;
			t->block_rules_end = i + 1;
		}
	}
	qsort(t->dnat_ix, t->n_dnat, sizeof(*t->dnat_ix), cmp_dnat_ix);
	return t;
nomem:
	fail(err, errlen, "out of memory for the NAT tables (%u pools, %u workers)", n_pools,
	     n_workers);
	nat_table_free(t);
	return NULL;
}

int
nat_table_adopt(struct nat_table *nt, const struct nat_table *old, char *err, size_t errlen)
{
	unsigned i, j;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (old == NULL || nt == old)
		return 0;
	/* Check everything first: a refusal leaves both tables as they were. */
	for (i = 0; i < old->n_pools; i++) {
		const struct nat_pool *op = &old->pools[i];
		uint64_t live = nat_pool_live(old->ps[i]);
		const struct nat_pool *np = NULL;

		if (live == 0)
			continue;
		if (nt->n_workers != old->n_workers) {
			fail(err, errlen, "pool \"%s\" holds %" PRIu64 " live bindings: the worker "
			     "count cannot change from %u to %u under them", op->name, live,
			     old->n_workers, nt->n_workers);
			return -EBUSY;
		}
		for (j = 0; j < nt->n_pools; j++)
			if (strcmp(nt->pools[j].name, op->name) == 0)
				np = &nt->pools[j];
		if (np == NULL) {
			fail(err, errlen, "pool \"%s\" holds %" PRIu64 " live bindings and is "
			     "missing from the new configuration", op->name, live);
			return -EBUSY;
		}
		if (!pool_equal(np, op)) {
			fail(err, errlen, "pool \"%s\" holds %" PRIu64 " live bindings and the new "
			     "configuration changes it (addresses, ports, mode or blocks)",
			     op->name, live);
			return -EBUSY;
		}
	}
	if (nt->n_workers != old->n_workers)
		return 0;
	for (j = 0; j < nt->n_pools; j++) {
		for (i = 0; i < old->n_pools; i++) {
			if (!pool_equal(&nt->pools[j], &old->pools[i]) || nt->ps[j] == old->ps[i])
				continue;
			pool_state_put(nt->ps[j]);
			nt->ps[j] = old->ps[i];
			nt->ps[j]->refcnt++;
			break;
		}
	}
	if (nt->cnt != old->cnt) {
		counters_put(nt->cnt);
		nt->cnt = old->cnt;
		nt->cnt->refcnt++;
	}
	return 0;
}

/* Whether `new` takes over old pool i's state (as nat_table_adopt() does). */
static bool
adopted(const struct nat_table *nt, const struct nat_table *old, unsigned i)
{
	unsigned j;

	if (nt->n_workers != old->n_workers)
		return false;
	for (j = 0; j < nt->n_pools; j++)
		if (pool_equal(&nt->pools[j], &old->pools[i]))
			return true;
	return false;
}

unsigned
nat_table_close_unadopted(const struct nat_table *nt, const struct nat_table *old, bool close)
{
	unsigned i, n = 0;

	if (nt == NULL || old == NULL || nt == old)
		return 0;
	for (i = 0; i < old->n_pools; i++) {
		if (adopted(nt, old, i))
			continue;
		__atomic_store_n(&old->ps[i]->closed, close ? 1 : 0, __ATOMIC_RELEASE);
		n++;
	}
	return n;
}

void
nat_table_free(struct nat_table *t)
{
	unsigned i;

	if (t == NULL)
		return;
	if (t->ps != NULL)
		for (i = 0; i < t->n_pools; i++)
			pool_state_put(t->ps[i]);
	counters_put(t->cnt);
	free(t->ps);
	free(t->pools);
	free(t->rules);
	free(t->by_addr);
	free(t->dnat_ix);
	free(t);
}

bool
nat_table_empty(const struct nat_table *t)
{
	return t == NULL || t->n_rules == 0;
}

unsigned
nat_table_pools(const struct nat_table *t, const struct nat_pool **pools)
{
	if (pools != NULL)
		*pools = t->pools;
	return t->n_pools;
}

unsigned
nat_table_rules(const struct nat_table *t, const struct nat_rule **rules)
{
	if (rules != NULL)
		*rules = t->rules;
	return t->n_rules;
}
