/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The expectation table (hlp_exp.h): slots with a free list, an
 * open-addressed index of the live ones (linear probing, deletion by
 * backward shift, so no tombstones), a list per master and an age list per
 * helper class.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hlp_exp.h"

#define HLP_EXP_MAX (1u << 20)
#define EMPTY HLP_EXP_NIL

struct hlp_exp_table {
	struct hlp_exp *slots;
	uint32_t *index;          /* slot of a live expectation, or EMPTY */
	uint32_t max;
	uint32_t mask;            /* index size - 1 */
	uint32_t used;            /* live + dying */
	uint32_t free_head;       /* free slots, linked through mnext */
	uint32_t next_id;
	unsigned n_classes;
	struct hlp_exp_class cls[HLP_EXP_CLASSES];
	uint32_t chead[HLP_EXP_CLASSES], ctail[HLP_EXP_CLASSES];
	struct hlp_exp_stats st;
};

/* The tuple as expectations are keyed: the source port open. */
static uint32_t
key_hash(const struct ct_tuple *t)
{
	struct ct_tuple k = *t;

	k.sport = 0;
	return ct_tuple_hash(&k);
}

static bool
key_eq(const struct ct_tuple *a, const struct ct_tuple *b)
{
	return memcmp(a->src, b->src, sizeof(a->src)) == 0 &&
	       memcmp(a->dst, b->dst, sizeof(a->dst)) == 0 && a->dport == b->dport &&
	       a->proto == b->proto && a->family == b->family && a->zone == b->zone;
}

struct hlp_exp_table *
hlp_exp_table_create(uint32_t max, const struct hlp_exp_class *classes, unsigned n_classes)
{
	struct hlp_exp_table *t;
	uint32_t size = 2, i;

	if (max == 0 || max > HLP_EXP_MAX || classes == NULL || n_classes == 0 ||
	    n_classes > HLP_EXP_CLASSES) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < n_classes; i++)
		if (classes[i].timeout_s == 0 || classes[i].timeout_s > 86400 ||
		    classes[i].max_expected == 0) {
			errno = EINVAL;
			return NULL;
		}
	while (size < 2 * max)
		size <<= 1;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->slots = calloc(max, sizeof(*t->slots));
	t->index = malloc((size_t)size * sizeof(*t->index));
	if (t->slots == NULL || t->index == NULL) {
		hlp_exp_table_free(t);
		errno = ENOMEM;
		return NULL;
	}
	memset(t->index, 0xff, (size_t)size * sizeof(*t->index));
	t->max = max;
	t->mask = size - 1;
	for (i = 0; i < max; i++)
		t->slots[i].mnext = i + 1 < max ? i + 1 : HLP_EXP_NIL;
	t->free_head = 0;
	t->next_id = 1;
	t->n_classes = n_classes;
	memcpy(t->cls, classes, n_classes * sizeof(*classes));
	for (i = 0; i < HLP_EXP_CLASSES; i++)
		t->chead[i] = t->ctail[i] = HLP_EXP_NIL;
	return t;
}

void
hlp_exp_table_free(struct hlp_exp_table *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t->index);
	free(t);
}

struct hlp_exp *
hlp_exp_get(struct hlp_exp_table *t, uint32_t idx)
{
	return idx < t->max ? &t->slots[idx] : NULL;
}

void
hlp_exp_stats(const struct hlp_exp_table *t, struct hlp_exp_stats *out)
{
	*out = t->st;
}

/* The index position holding the live expectation keyed like `tuple`, or EMPTY. */
static uint32_t
index_find(const struct hlp_exp_table *t, const struct ct_tuple *tuple)
{
	uint32_t i = key_hash(tuple) & t->mask;

	for (; t->index[i] != EMPTY; i = (i + 1) & t->mask)
		if (key_eq(&t->slots[t->index[i]].tuple, tuple))
			return i;
	return EMPTY;
}

static void
index_insert(struct hlp_exp_table *t, uint32_t idx)
{
	uint32_t i = key_hash(&t->slots[idx].tuple) & t->mask;

	while (t->index[i] != EMPTY)
		i = (i + 1) & t->mask;
	t->index[i] = idx;
}

/* Remove the index entry at position `pos`, shifting later ones of the run back. */
static void
index_delete(struct hlp_exp_table *t, uint32_t pos)
{
	uint32_t i = pos, j = pos, k;

	for (;;) {
		j = (j + 1) & t->mask;
		if (t->index[j] == EMPTY)
			break;
		k = key_hash(&t->slots[t->index[j]].tuple) & t->mask;
		/* An entry whose home lies cyclically in (i, j] stays where it is. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		t->index[i] = t->index[j];
		i = j;
	}
	t->index[i] = EMPTY;
}

/* LIVE -> DYING: out of the index, its master's list and its class's age list. */
static void
end_live(struct hlp_exp_table *t, uint32_t idx, struct hlp_master *m, enum hlp_exp_end end)
{
	struct hlp_exp *x = &t->slots[idx];
	uint32_t pos = index_find(t, &x->tuple);

	if (pos != EMPTY && t->index[pos] == idx)
		index_delete(t, pos);
	if (m != NULL) {
		uint32_t *p = &m->head;

		while (*p != HLP_EXP_NIL && *p != idx)
			p = &t->slots[*p].mnext;
		if (*p == idx) {
			*p = x->mnext;
			m->count--;
		}
	}
	if (x->cprev != HLP_EXP_NIL)
		t->slots[x->cprev].cnext = x->cnext;
	else
		t->chead[x->cls] = x->cnext;
	if (x->cnext != HLP_EXP_NIL)
		t->slots[x->cnext].cprev = x->cprev;
	else
		t->ctail[x->cls] = x->cprev;
	x->mnext = x->cprev = x->cnext = HLP_EXP_NIL;
	x->state = HLP_EXP_DYING;
	x->end = (uint8_t)end;
	t->st.live--;
	t->st.dying++;
	switch (end) {
	case HLP_EXP_END_CONFIRMED:
		t->st.confirmed++;
		break;
	case HLP_EXP_END_EXPIRED:
		t->st.expired++;
		break;
	case HLP_EXP_END_EVICTED:
		t->st.evicted++;
		break;
	default:
		t->st.removed++;
		break;
	}
}

uint32_t
hlp_exp_add(struct hlp_exp_table *t, const struct hlp_expect *e, unsigned cls,
	    uint32_t master_slot, uint32_t master_id, struct hlp_master *m, uint64_t now_ns,
	    uint32_t *evicted, uint32_t *replaced)
{
	struct hlp_exp *x;
	uint32_t idx, pos, *p;

	if (evicted != NULL)
		*evicted = HLP_EXP_NIL;
	if (replaced != NULL)
		*replaced = HLP_EXP_NIL;
	if (cls >= t->n_classes || m == NULL) {
		errno = EINVAL;
		return HLP_EXP_NIL;
	}
	/* The same tuple expected already: by this master it is replaced, by another refused. */
	pos = index_find(t, &e->tuple);
	if (pos != EMPTY) {
		uint32_t old = t->index[pos];

		if (t->slots[old].master_slot != master_slot ||
		    t->slots[old].master_id != master_id || t->slots[old].cls != cls) {
			errno = EALREADY;
			return HLP_EXP_NIL;
		}
		end_live(t, old, m, HLP_EXP_END_REMOVED);
		t->st.replaced++;
		if (replaced != NULL)
			*replaced = old;
	}
	if (m->count >= t->cls[cls].max_expected && m->head != HLP_EXP_NIL) {
		uint32_t old = m->head;

		end_live(t, old, m, HLP_EXP_END_EVICTED);
		if (evicted != NULL)
			*evicted = old;
	}
	if (t->free_head == HLP_EXP_NIL) {
		t->st.refused_full++;
		errno = ENOSPC;
		return HLP_EXP_NIL;
	}
	idx = t->free_head;
	x = &t->slots[idx];
	t->free_head = x->mnext;
	memset(x, 0, sizeof(*x));
	x->tuple = e->tuple;
	x->tuple.sport = 0;
	x->cmd = e->cmd;
	x->cls = (uint8_t)cls;
	x->expires_ns = now_ns + (uint64_t)t->cls[cls].timeout_s * 1000000000ull;
	x->id = t->next_id++;
	if (t->next_id == 0)
		t->next_id = 1;
	x->master_slot = master_slot;
	x->master_id = master_id;
	x->state = HLP_EXP_LIVE;
	x->mnext = HLP_EXP_NIL;
	/* Newest last on the master's list and on its class's age list. */
	for (p = &m->head; *p != HLP_EXP_NIL; p = &t->slots[*p].mnext)
		;
	*p = idx;
	m->count++;
	x->cnext = HLP_EXP_NIL;
	x->cprev = t->ctail[cls];
	if (t->ctail[cls] != HLP_EXP_NIL)
		t->slots[t->ctail[cls]].cnext = idx;
	else
		t->chead[cls] = idx;
	t->ctail[cls] = idx;
	index_insert(t, idx);
	t->used++;
	t->st.live++;
	t->st.added++;
	return idx;
}

uint32_t
hlp_exp_match(struct hlp_exp_table *t, const struct ct_tuple *tuple, uint64_t now_ns,
	      struct hlp_master *(*master_of)(void *arg, uint32_t slot, uint32_t id), void *arg)
{
	uint32_t pos = index_find(t, tuple), idx;
	struct hlp_exp *x;
	struct hlp_master *m;

	if (pos == EMPTY)
		return HLP_EXP_NIL;
	idx = t->index[pos];
	x = &t->slots[idx];
	/* Expired: no match; hlp_exp_expire() ends it and reports it. */
	if (x->expires_ns <= now_ns)
		return HLP_EXP_NIL;
	m = master_of != NULL ? master_of(arg, x->master_slot, x->master_id) : NULL;
	end_live(t, idx, m, HLP_EXP_END_CONFIRMED);
	return idx;
}

uint32_t
hlp_exp_find(const struct hlp_exp_table *t, const struct ct_tuple *tuple)
{
	uint32_t pos = index_find(t, tuple);

	return pos == EMPTY ? HLP_EXP_NIL : t->index[pos];
}

unsigned
hlp_exp_expire(struct hlp_exp_table *t, uint64_t now_ns,
	       struct hlp_master *(*master_of)(void *arg, uint32_t slot, uint32_t id), void *arg,
	       uint32_t *out, unsigned max)
{
	unsigned c, n = 0;

	for (c = 0; c < t->n_classes; c++) {
		while (n < max && t->chead[c] != HLP_EXP_NIL &&
		       t->slots[t->chead[c]].expires_ns <= now_ns) {
			uint32_t idx = t->chead[c];
			struct hlp_exp *x = &t->slots[idx];

			end_live(t, idx,
				 master_of != NULL ? master_of(arg, x->master_slot, x->master_id) :
						     NULL,
				 HLP_EXP_END_EXPIRED);
			out[n++] = idx;
		}
	}
	return n;
}

unsigned
hlp_exp_remove_master(struct hlp_exp_table *t, struct hlp_master *m, uint32_t *out,
		      unsigned max)
{
	unsigned n = 0;

	while (m->head != HLP_EXP_NIL) {
		uint32_t idx = m->head;

		end_live(t, idx, m, HLP_EXP_END_REMOVED);
		if (n < max)
			out[n] = idx;
		n++;
	}
	return n;
}

int
hlp_exp_remove(struct hlp_exp_table *t, uint32_t idx, struct hlp_master *m)
{
	if (idx >= t->max || t->slots[idx].state != HLP_EXP_LIVE)
		return -ENOENT;
	end_live(t, idx, m, HLP_EXP_END_REMOVED);
	return 0;
}

int
hlp_exp_free(struct hlp_exp_table *t, uint32_t idx)
{
	struct hlp_exp *x;

	if (idx >= t->max || t->slots[idx].state != HLP_EXP_DYING)
		return -ENOENT;
	x = &t->slots[idx];
	memset(x, 0, sizeof(*x));
	x->state = HLP_EXP_FREE;
	x->mnext = t->free_head;
	t->free_head = idx;
	t->used--;
	t->st.dying--;
	return 0;
}
