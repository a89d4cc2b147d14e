/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The external cache (sync.h): the peer's connections by original tuple,
 * in a fixed pool with chained buckets, allocated once.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sync.h"

#define NIL UINT32_MAX

struct sync_cache {
	uint32_t max;
	uint32_t n_buckets;       /* power of two */
	uint32_t count;
	uint32_t free_head;
	uint32_t *bucket;
	uint32_t *next;           /* chain, or the free list */
	struct sync_cache_ent *ent;
	struct sync_cache_stats st;
};

static uint32_t
hash_tuple(const struct ct_tuple *t)
{
	const uint8_t *p = (const uint8_t *)t;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(*t); i++)
		h = (h ^ p[i]) * 16777619u;
	return h ^ h >> 15;
}

/* Only the bytes that make the key: addresses past the family's length are 0. */
static void
key_of(const struct ct_tuple *in, struct ct_tuple *k)
{
	size_t alen = in->family == 4 ? 4 : 16;

	memset(k, 0, sizeof(*k));
	memcpy(k->src, in->src, alen);
	memcpy(k->dst, in->dst, alen);
	k->sport = in->sport;
	k->dport = in->dport;
	k->proto = in->proto;
	k->family = in->family;
	k->zone = in->zone;
}

struct sync_cache *
sync_cache_create(uint32_t max)
{
	struct sync_cache *c;
	uint32_t i, nb = 1;

	if (max == 0 || max > (1u << 26)) {
		errno = EINVAL;
		return NULL;
	}
	while (nb < max)
		nb <<= 1;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto nomem;
	c->bucket = malloc(sizeof(uint32_t) * nb);
	c->next = malloc(sizeof(uint32_t) * max);
	c->ent = calloc(max, sizeof(*c->ent));
	if (c->bucket == NULL || c->next == NULL || c->ent == NULL) {
		sync_cache_free(c);
		goto nomem;
	}
	c->max = max;
	c->n_buckets = nb;
	for (i = 0; i < nb; i++)
		c->bucket[i] = NIL;
	for (i = 0; i < max; i++)
		c->next[i] = i + 1 < max ? i + 1 : NIL;
	c->free_head = 0;
	return c;
nomem:
	errno = ENOMEM;
	return NULL;
}

void
sync_cache_free(struct sync_cache *c)
{
	if (c == NULL)
		return;
	free(c->bucket);
	free(c->next);
	free(c->ent);
	free(c);
}

static uint32_t *
find_link(struct sync_cache *c, const struct ct_tuple *k)
{
	uint32_t *link = &c->bucket[hash_tuple(k) & (c->n_buckets - 1)];

	while (*link != NIL) {
		if (memcmp(&c->ent[*link].e.orig, k, sizeof(*k)) == 0)
			return link;
		link = &c->next[*link];
	}
	return link;
}

const struct sync_cache_ent *
sync_cache_find(const struct sync_cache *c, const struct ct_tuple *orig)
{
	struct ct_tuple k;
	uint32_t *link;

	key_of(orig, &k);
	link = find_link((struct sync_cache *)(uintptr_t)c, &k);
	return *link == NIL ? NULL : &c->ent[*link];
}

int
sync_cache_apply(struct sync_cache *c, const struct sync_msg *m, uint64_t now_ns)
{
	struct sync_cache_ent *x;
	struct ct_tuple k;
	uint32_t *link, i;

	if (!m->data)
		return -EINVAL;
	key_of(&m->e.orig, &k);
	link = find_link(c, &k);
	if (m->type == SYNC_T_CT_DEL) {
		if (*link == NIL) {
			c->st.del_unknown++;
			return -ENOENT;
		}
		i = *link;
		if (m->e.has_ext && c->ent[i].e.has_ext && m->e.id != c->ent[i].e.id) {
			c->st.del_stale++;
			return -ESTALE;
		}
		*link = c->next[i];
		c->next[i] = c->free_head;
		c->free_head = i;
		c->count--;
		c->st.deleted++;
		return 0;
	}
	if (*link == NIL) {
		if (c->free_head == NIL) {
			c->st.full++;
			return -ENOSPC;
		}
		i = c->free_head;
		c->free_head = c->next[i];
		c->next[i] = NIL;
		*link = i;
		c->count++;
		c->st.inserted++;
		x = &c->ent[i];
		memset(x, 0, sizeof(*x));
	} else {
		x = &c->ent[*link];
		c->st.updated++;
		/* conntrackd sends no timeout when it commits with its own: keep ours. */
		if (!m->e.has_timeout) {
			uint32_t to = x->e.timeout_s;

			x->e = m->e;
			x->e.timeout_s = to;
			x->e.has_timeout = true;
			goto keyed;
		}
	}
	x->e = m->e;
keyed:
	x->e.orig = k;
	x->updated_ns = now_ns;
	return 0;
}

uint32_t
sync_cache_count(const struct sync_cache *c)
{
	return c->count;
}

unsigned
sync_cache_walk(const struct sync_cache *c, sync_cache_fn fn, void *arg)
{
	uint32_t b, i;
	unsigned n = 0;

	for (b = 0; b < c->n_buckets; b++)
		for (i = c->bucket[b]; i != NIL; i = c->next[i]) {
			n++;
			if (fn(&c->ent[i], arg) != 0)
				return n;
		}
	return n;
}

void
sync_cache_clear(struct sync_cache *c)
{
	uint32_t i;

	for (i = 0; i < c->n_buckets; i++)
		c->bucket[i] = NIL;
	for (i = 0; i < c->max; i++)
		c->next[i] = i + 1 < c->max ? i + 1 : NIL;
	c->free_head = 0;
	c->count = 0;
}

const struct sync_cache_stats *
sync_cache_stats(const struct sync_cache *c)
{
	return &c->st;
}
