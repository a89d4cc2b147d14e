/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker <-> control channels: two rte_rings (elem API) over aligned heap
 * memory, so no EAL and no memzone is needed. rte_ring_init() only fills
 * the ring header; the enqueue/dequeue paths are inline and touch nothing
 * but the ring.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_ring_peek_zc.h>

#include "ev.h"

/* Delivery counters for the owning shard: written by the control core,
 * read by the worker in ev_worker_sync(). Monotonic, so the worker reports
 * deltas; relaxed atomics are enough (a late read is reported next time). */
struct ev_chan_ctr {
	uint64_t sent;
	uint64_t failed;
	uint64_t dropped;
};

struct ev_chan {
	/* Immutable after create */
	struct ct_mem mem;
	struct rte_ring *rec;
	struct rte_ring *res;
	/* Written by control, read by worker */
	struct ev_chan_ctr ctl __rte_cache_aligned;
	uint32_t kinds;            /* EV_MASK_* some listener wants */
	/* Owned by the worker: what it already reported to its shard */
	struct ev_chan_ctr reported __rte_cache_aligned;
	struct ct_shard *lent;     /* the shard staging into reserved slots, or NULL */
	uint32_t moved_avg;        /* records moved a call, x 16, averaged (ev_chan_lend_auto()) */
};

static struct rte_ring *
ring_alloc(const struct ct_mem *mem, const char *name, unsigned esize, unsigned count, char *err,
	   size_t errlen)
{
	struct rte_ring *r;
	ssize_t sz;
	size_t asz;
	int rc;

	count = rte_align32pow2(count < 2 ? 2 : count);
	sz = rte_ring_get_memsize_elem(esize, count);
	if (sz < 0) {
		snprintf(err, errlen, "ring %s: bad size %u", name, count);
		return NULL;
	}
	asz = RTE_ALIGN_CEIL((size_t)sz, RTE_CACHE_LINE_SIZE);
	r = ct_mem_zalloc(mem, asz, RTE_CACHE_LINE_SIZE);
	if (r == NULL) {
		snprintf(err, errlen, "ring %s: out of memory (%zu bytes)", name, asz);
		return NULL;
	}
	rc = rte_ring_init(r, name, count, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (rc != 0) {
		snprintf(err, errlen, "ring %s: init failed: %s", name, strerror(-rc));
		ct_mem_free(mem, r);
		return NULL;
	}
	return r;
}

struct ev_chan *
ev_chan_create(unsigned rec_ring_size, unsigned res_ring_size, char *err, size_t errlen)
{
	return ev_chan_create_mem(rec_ring_size, res_ring_size, NULL, err, errlen);
}

struct ev_chan *
ev_chan_create_mem(unsigned rec_ring_size, unsigned res_ring_size, const struct ct_mem *mem,
		   char *err, size_t errlen)
{
	static const struct ct_mem heap;
	char dummy[8];
	struct ev_chan *c;

	if (err == NULL) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (rec_ring_size == 0 || res_ring_size == 0 || rec_ring_size > (1u << 24) ||
	    res_ring_size > (1u << 24)) {
		snprintf(err, errlen, "ring sizes must be in [1, 16M]");
		return NULL;
	}
	if (mem == NULL)
		mem = &heap;
	c = ct_mem_zalloc(mem, RTE_ALIGN_CEIL(sizeof(*c), RTE_CACHE_LINE_SIZE),
			  RTE_CACHE_LINE_SIZE);
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->mem = *mem;
	c->kinds = EV_MASK_ANY;
	/* +1: an rte_ring of size N holds N - 1 elements. */
	c->rec = ring_alloc(mem, "ev_rec", sizeof(struct ct_event_rec), rec_ring_size + 1, err,
			    errlen);
	if (c->rec == NULL)
		goto fail;
	c->res = ring_alloc(mem, "ev_res", sizeof(struct ct_result), res_ring_size + 1, err,
			    errlen);
	if (c->res == NULL)
		goto fail;
	return c;
fail:
	ev_chan_free(c);
	return NULL;
}

void
ev_chan_free(struct ev_chan *c)
{
	struct ct_mem mem;

	if (c == NULL)
		return;
	mem = c->mem;
	ct_mem_free(&mem, c->rec);
	ct_mem_free(&mem, c->res);
	ct_mem_free(&mem, c);
}

/* One record at a time, a 192-byte copy the compiler unrolls (12 moves). */
static inline void
rec_copy(void *dst, const void *src, unsigned n)
{
	struct ct_event_rec *d = dst;
	const struct ct_event_rec *r = src;
	unsigned i;

	for (i = 0; i < n; i++)
		memcpy(&d[i], &r[i], sizeof(*r));
}

/*
 * Reserved in place and copied record by record: rte_ring's own element
 * copy moves a 192-byte record 4 bytes at a time, about 200 instructions a
 * record on the worker, more than staging it (docs/ha.md, "Cost and
 * scaling"). The ring has one producer (RING_F_SP_ENQ), as the zero-copy
 * API needs.
 */
unsigned
ev_chan_push_records(struct ev_chan *c, const struct ct_event_rec *r, unsigned n)
{
	struct rte_ring_zc_data zcd;
	unsigned got;

	/* The ring's one reservation is the shard's: its records go first. */
	if (c->lent != NULL)
		ev_chan_settle(c);
	got = rte_ring_enqueue_zc_burst_elem_start(c->rec, sizeof(*r), n, &zcd, NULL);
	if (got == 0)
		return 0;
	rec_copy(zcd.ptr1, r, zcd.n1);
	if (got > zcd.n1)
		rec_copy(zcd.ptr2, r + zcd.n1, got - zcd.n1);
	rte_ring_enqueue_zc_elem_finish(c->rec, got);
	return got;
}

/*
 * The shard writes each record once, into the slots reserved here: no
 * staging buffer, no copy (docs/ha.md, "Cost and scaling"). The
 * reservation stays open until ev_chan_settle(); with one producer
 * (RING_F_SP_ENQ) the consumer sees none of it before then, and the
 * unused part is given back by finishing with fewer elements.
 */
unsigned
ev_chan_lend(struct ev_chan *c, struct ct_shard *s)
{
	struct rte_ring_zc_data zcd;
	unsigned want = ct_shard_ev_room(s), got;

	if (c->lent != NULL || want == 0)
		return 0;
	got = rte_ring_enqueue_zc_bulk_elem_start(c->rec, sizeof(struct ct_event_rec), want, &zcd,
						  NULL);
	if (got == 0)
		return 0;
	if (ct_shard_ev_lend(s, zcd.ptr1, zcd.n1, zcd.ptr2, got - zcd.n1) != 0) {
		rte_ring_enqueue_zc_elem_finish(c->rec, 0);
		return 0;
	}
	c->lent = s;
	return got;
}

unsigned
ev_chan_lend_auto(struct ev_chan *c, struct ct_shard *s, unsigned moved)
{
	/* avg += (16 * moved - avg) / 8, saturating: 16 x the mean. */
	uint32_t add = moved < 65536 ? 2 * moved : 2 * 65536;

	c->moved_avg = c->moved_avg - c->moved_avg / 8 + add;
	if (c->moved_avg < 16 * EV_CHAN_LEND_MIN)
		return 0;
	return ev_chan_lend(c, s);
}

unsigned
ev_chan_settle(struct ev_chan *c)
{
	unsigned n;

	if (c->lent == NULL)
		return 0;
	n = ct_shard_ev_reclaim(c->lent);
	rte_ring_enqueue_zc_elem_finish(c->rec, n);
	c->lent = NULL;
	return n;
}

unsigned
ev_chan_pull_results(struct ev_chan *c, struct ct_result *out, unsigned max)
{
	return rte_ring_dequeue_burst_elem(c->res, out, sizeof(*out), max, NULL);
}

unsigned
ev_chan_pull_records(struct ev_chan *c, struct ct_event_rec *out, unsigned max)
{
	struct rte_ring_zc_data zcd;
	unsigned n = rte_ring_dequeue_zc_burst_elem_start(c->rec, sizeof(*out), max, &zcd, NULL), i;

	/* In place, as ev_chan_push_records(): one consumer (RING_F_SC_DEQ). */
	if (n == 0)
		return 0;
	rec_copy(out, zcd.ptr1, zcd.n1);
	if (n > zcd.n1)
		rec_copy(out + zcd.n1, zcd.ptr2, n - zcd.n1);
	rte_ring_dequeue_zc_elem_finish(c->rec, n);
	/* The worker pushed its shard's raw records (ev_worker_sync()). */
	for (i = 0; i < n; i++)
		ct_event_rec_cook(&out[i]);
	return n;
}

unsigned
ev_chan_push_results(struct ev_chan *c, const struct ct_result *r, unsigned n)
{
	return rte_ring_enqueue_burst_elem(c->res, r, sizeof(*r), n, NULL);
}

unsigned
ev_chan_records_pending(const struct ev_chan *c)
{
	return rte_ring_count(c->rec);
}

unsigned
ev_chan_results_pending(const struct ev_chan *c)
{
	return rte_ring_count(c->res);
}

bool
ev_chan_take_counts(struct ev_chan *c, unsigned *sent, unsigned *failed, unsigned *dropped)
{
	struct ev_chan_ctr cur;

	cur.sent = __atomic_load_n(&c->ctl.sent, __ATOMIC_RELAXED);
	cur.failed = __atomic_load_n(&c->ctl.failed, __ATOMIC_RELAXED);
	cur.dropped = __atomic_load_n(&c->ctl.dropped, __ATOMIC_RELAXED);
	*sent = (unsigned)(cur.sent - c->reported.sent);
	*failed = (unsigned)(cur.failed - c->reported.failed);
	*dropped = (unsigned)(cur.dropped - c->reported.dropped);
	c->reported = cur;
	return *sent != 0 || *failed != 0 || *dropped != 0;
}

void
ev_chan_count(struct ev_chan *c, unsigned sent, unsigned failed, unsigned dropped)
{
	if (sent != 0)
		__atomic_store_n(&c->ctl.sent, c->ctl.sent + sent, __ATOMIC_RELAXED);
	if (failed != 0)
		__atomic_store_n(&c->ctl.failed, c->ctl.failed + failed, __ATOMIC_RELAXED);
	if (dropped != 0)
		__atomic_store_n(&c->ctl.dropped, c->ctl.dropped + dropped, __ATOMIC_RELAXED);
}

void
ev_chan_set_kinds(struct ev_chan *c, uint32_t kinds)
{
	__atomic_store_n(&c->kinds, kinds & EV_MASK_ANY, __ATOMIC_RELEASE);
}

uint32_t
ev_chan_kinds(const struct ev_chan *c)
{
	return __atomic_load_n(&c->kinds, __ATOMIC_ACQUIRE);
}
