/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Connection limits (a counting table per shard) and the top sketch
 * (Count-Min by source and destination with a few candidate keys). See
 * ct_limit.h for the contract and the sketch's error bound.
 */

#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "ct_limit_priv.h"

/* ------------------------------------------------------------------------ */
/* Hashing                                                                   */

static inline uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

/*
 * A keyed hash of an address as two words and a tail of at most 32 bits
 * (24 are used). An address that fits 32 bits (IPv4's, whose word a0 holds
 * it in its low half) takes one mix of itself and the tail side by side,
 * which no two such keys share (mix64 is a bijection); others take two.
 */
static inline uint64_t
key_hash2(uint64_t a0, uint64_t a1, uint32_t tail, uint64_t seed)
{
	if (((a0 >> 32) | a1) == 0)
		return mix64(a0 ^ ((uint64_t)tail << 32) ^ seed);
	return mix64(mix64(a0 ^ seed) ^ a1 ^ ((uint64_t)tail << 17));
}

/* The same of 16 address bytes. */
static inline uint64_t
key_hash(const uint8_t *addr, uint32_t tail, uint64_t seed)
{
	uint64_t a0, a1;

	memcpy(&a0, addr, sizeof(a0));
	memcpy(&a1, addr + 8, sizeof(a1));
	return key_hash2(a0, a1, tail, seed);
}

/* ------------------------------------------------------------------------ */
/* Limits                                                                    */

/* The tag of a source rule's count (struct lim_slot): of masked source, zone and rule. */
static inline uint64_t
key_fp(uint64_t a0, uint64_t a1, uint32_t zone, unsigned i, uint64_t seed)
{
	return (key_hash2(a0, a1, zone << 8 | i, seed) | LIM_TAG_BIT) & ~LIM_CNT_MASK;
}

/*
 * The hint of `t`: the rules that apply to it (the first source rule of its
 * family that matches it, the first zone rule of its zone, in rule order)
 * and the keys of their counts. A source rule counts the source's first
 * group_len bits, in its zone unless any_zone (key: its tag); a zone rule
 * its zone (key 0: the rule's own count, zcount[]).
 */
static inline void
hint_work(const struct ct_limits *l, const struct ct_tuple *t, struct ct_lim_hint *h)
{
	const uint8_t *src = l->src_rule[t->family == 6];
	unsigned k, ns = t->family == 4 || t->family == 6 ? l->n_src[t->family == 6] : 0;
	unsigned n = 0;
	uint64_t a0, a1;

	memcpy(&a0, t->src, sizeof(a0));
	memcpy(&a1, t->src + 8, sizeof(a1));
	for (k = 0; k < ns; k++) {
		unsigned i = src[k];
		const struct ct_limit_rule *r = &l->rules[i];
		const struct lim_mask *m = &l->m[i];

		if ((!r->any_zone && r->zone != t->zone) ||
		    (((a0 ^ m->addr[0]) & m->pm[0]) | ((a1 ^ m->addr[1]) & m->pm[1])) != 0)
			continue;
		h->fp[0] = key_fp(a0 & m->gm[0], a1 & m->gm[1], r->any_zone ? 0 : t->zone, i,
				  l->seed);
		h->rule[0] = (uint8_t)i;
		n = 1;
		break;
	}
	for (k = 0; k < l->n_zone; k++) {
		unsigned i = l->zone_rule[k], at = n;

		if (l->rules[i].zone != t->zone)
			continue;
		if (n == 1 && i < h->rule[0]) {
			/* The zone rule comes first. */
			h->fp[1] = h->fp[0];
			h->rule[1] = h->rule[0];
			at = 0;
		}
		h->fp[at] = 0;
		h->rule[at] = (uint8_t)i;
		n++;
		break;
	}
	h->n = (uint8_t)n;
}

/* The first slot a tag (or a slot's word) probes: its top 32 bits over the table. */
static inline uint32_t
home_of(const struct ct_limits *l, uint64_t w)
{
	return (uint32_t)(((w >> 32) * l->n_slots) >> 32);
}

/* The slot holding tag `fp`, or the empty slot ending its probe run. */
static inline uint32_t
slot_find(const struct ct_limits *l, uint64_t fp)
{
	uint32_t i = home_of(l, fp);

	for (;;) {
		uint64_t w = l->slot[i].w;

		if (w == 0 || (w & ~LIM_CNT_MASK) == fp)
			return i;
		if (++i == l->n_slots)
			i = 0;
	}
}

/* Cyclic distance from a to b. */
static inline uint32_t
dist(const struct ct_limits *l, uint32_t a, uint32_t b)
{
	return b >= a ? b - a : b + l->n_slots - a;
}

/* Empty slot `i`, moving later members of its probe run back (no tombstones). */
static void
slot_delete(struct ct_limits *l, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		struct lim_slot *s;

		if (++j == l->n_slots)
			j = 0;
		s = &l->slot[j];
		if (s->w == 0)
			break;
		/* s may move to i when i lies cyclically within [home, j). */
		if (dist(l, home_of(l, s->w), j) >= dist(l, i, j)) {
			l->slot[i] = *s;
			i = j;
		}
	}
	memset(&l->slot[i], 0, sizeof(l->slot[i]));
	l->used--;
}

/* The hint for `t`: `h` when it is set, else worked out into `tmp`. */
static inline const struct ct_lim_hint *
hint_of(const struct ct_limits *l, const struct ct_tuple *t, const struct ct_lim_hint *h,
	struct ct_lim_hint *tmp)
{
	if (h != NULL && h->n != CT_LIM_HINT_UNSET)
		return h;
	hint_work(l, t, tmp);
	return tmp;
}

enum ct_limit_verdict
ct_limits_admit(struct ct_limits *l, const struct ct_tuple *t, const struct ct_lim_hint *hint,
		unsigned *rule)
{
	struct ct_lim_hint tmp;
	const struct ct_lim_hint *h = hint_of(l, t, hint, &tmp);
	struct lim_slot *src = NULL;
	int zone = -1;
	unsigned i;

	if (h->n == 0)
		return CT_LIM_NONE;
	/*
	 * A hint holds at most one source rule's key and one zone rule's. Both
	 * are read first, in rule order: over a limit, nothing changes.
	 */
	for (i = 0; i < h->n; i++) {
		unsigned r = h->rule[i];
		uint32_t c;

		if (h->fp[i] == 0) {
			zone = (int)r;
			c = l->zcount[r];
		} else {
			src = &l->slot[slot_find(l, h->fp[i])];
			c = (uint32_t)(src->w & LIM_CNT_MASK); /* an empty slot: 0 */
		}
		if (c >= l->rules[r].max) {
			if (rule != NULL)
				*rule = r;
			return CT_LIM_OVER;
		}
	}
	if (src != NULL) {
		if (src->w == 0) {
			if (l->used >= l->max_used)
				return CT_LIM_NOROOM;
			src->w = h->fp[h->fp[0] != 0 ? 0 : 1];
			l->used++;
		}
		src->w++;
	}
	if (zone >= 0)
		l->zcount[zone]++;
	return CT_LIM_COUNTED;
}

/* Work out `t`'s hint into `h` and prefetch the lines its counts' probes start on. */
static inline void
limits_prefetch(const struct ct_limits *l, const struct ct_tuple *t, struct ct_lim_hint *h)
{
	unsigned i;

	hint_work(l, t, h);
	for (i = 0; i < h->n; i++) {
		uint32_t home;

		if (h->fp[i] == 0)
			continue;
		home = home_of(l, h->fp[i]);
		/* 8 slots a line: a probe from the line's last two goes on into the next. */
		__builtin_prefetch(&l->slot[home]);
		if ((home & 7) >= 6)
			__builtin_prefetch(&l->slot[home + 2]);
	}
}

void
ct_limits_prefetch(const struct ct_limits *l, const struct ct_tuple *t, struct ct_lim_hint *h)
{
	struct ct_lim_hint tmp;

	limits_prefetch(l, t, h != NULL ? h : &tmp);
}

/* The counts of hint `h` go down by one; those that reach 0 are deleted. */
static inline void
limits_release(struct ct_limits *l, const struct ct_lim_hint *h)
{
	unsigned i;

	for (i = 0; i < h->n; i++) {
		struct lim_slot *s;

		if (h->fp[i] == 0) {
			if (l->zcount[h->rule[i]] != 0)
				l->zcount[h->rule[i]]--;
			continue;
		}
		s = &l->slot[slot_find(l, h->fp[i])];
		if (s->w == 0)
			continue;
		if ((--s->w & LIM_CNT_MASK) == 0)
			slot_delete(l, (uint32_t)(s - l->slot));
	}
}

void
ct_limits_release(struct ct_limits *l, const struct ct_tuple *t, const struct ct_lim_hint *hint)
{
	struct ct_lim_hint tmp;

	limits_release(l, hint_of(l, t, hint, &tmp));
}

uint32_t
ct_limits_count(const struct ct_limits *l, unsigned rule, const struct ct_tuple *t)
{
	const struct ct_limit_rule *r;
	uint64_t a0, a1;
	uint32_t at;

	if (rule >= l->n)
		return 0;
	r = &l->rules[rule];
	if (r->family == 0)
		return r->zone == t->zone ? l->zcount[rule] : 0;
	memcpy(&a0, t->src, sizeof(a0));
	memcpy(&a1, t->src + 8, sizeof(a1));
	at = slot_find(l, key_fp(a0 & l->m[rule].gm[0], a1 & l->m[rule].gm[1],
				 !r->any_zone ? t->zone : 0, rule, l->seed));
	return (uint32_t)(l->slot[at].w & LIM_CNT_MASK);
}

uint32_t
ct_limits_keys_used(const struct ct_limits *l)
{
	return l->used;
}

/* ------------------------------------------------------------------------ */
/* Top sketch                                                                */

void
ct_top_key_of(const struct ct_tuple *tu, unsigned dim, struct ct_top_key *k)
{
	memcpy(k->addr, dim == CT_TOP_SRC ? tu->src : tu->dst, sizeof(k->addr));
	k->zone = tu->zone;
	k->family = tu->family;
	k->pad = 0;
}

static inline uint64_t
top_hash(const struct ct_top *t, const struct ct_top_key *k)
{
	return key_hash(k->addr, (uint32_t)k->zone << 8 | k->family, t->seed);
}

/* Row r's counter of hash h (double hashing: h1 + r * h2). */
static inline uint32_t
top_col(uint64_t h, unsigned r)
{
	uint32_t h1 = (uint32_t)h, h2 = (uint32_t)(h >> 32) | 1;

	return (h1 + r * h2) & (CT_TOP_WIDTH - 1);
}

void
ct_top_init(struct ct_top *t, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->seed = seed;
}

static inline bool
key_eq(const struct ct_top_key *a, const struct ct_top_key *b)
{
	return a->family == b->family && a->zone == b->zone &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static void
cand_min_update(struct ct_top_part *p)
{
	unsigned i;

	p->min_i = 0;
	p->cand_min = p->cand[0].est;
	for (i = 1; i < CT_TOP_CAND; i++) {
		if (p->cand[i].est < p->cand_min) {
			p->cand_min = p->cand[i].est;
			p->min_i = i;
		}
	}
}

/*
 * `tu`'s key of dimension `dim` (hash h) rose to `est` above the smallest
 * candidate: update its candidate, or take the smallest one's place. The
 * smallest is searched again only when it may have changed (estimates
 * only grow here).
 */
static void
cand_offer(struct ct_top_part *p, const struct ct_tuple *tu, unsigned dim, uint64_t h,
	   uint32_t est)
{
	uint32_t fp = (uint32_t)(h >> 32);
	struct ct_top_key k;
	unsigned i;

	ct_top_key_of(tu, dim, &k);
	for (i = 0; i < CT_TOP_CAND; i++)
		if (p->cand_fp[i] == fp && p->cand[i].est != 0 && key_eq(&p->cand[i].key, &k))
			break;
	if (i < CT_TOP_CAND) {
		p->cand[i].est = est;
		if (i == p->min_i)
			cand_min_update(p);
		return;
	}
	i = p->min_i;
	p->cand[i].key = k;
	p->cand[i].est = est;
	p->cand_fp[i] = fp;
	cand_min_update(p);
}

/* `tu`'s hash in dimension `dim`: top_hash() of its key, without building it. */
static inline uint64_t
tuple_hash(const struct ct_top *t, const struct ct_tuple *tu, unsigned dim)
{
	return key_hash(dim == CT_TOP_SRC ? tu->src : tu->dst,
			(uint32_t)tu->zone << 8 | tu->family, t->seed);
}

/* The counters `tu`'s entry counts in, c->col[dim][row], each prefetched when `pf`. */
static inline void
top_cols(const struct ct_top *t, const struct ct_tuple *tu, struct ct_top_cols *c, bool pf)
{
	unsigned d, r;

	for (d = 0; d < CT_TOP_DIMS; d++) {
		uint64_t h = tuple_hash(t, tu, d);

		for (r = 0; r < CT_TOP_ROWS; r++) {
			c->col[d][r] = (uint16_t)top_col(h, r);
			if (pf)
				__builtin_prefetch(&t->part[d].cnt[r][c->col[d][r]]);
		}
	}
}

static inline void
part_add(struct ct_top *t, unsigned dim, const struct ct_tuple *tu, const uint16_t *col)
{
	struct ct_top_part *p = &t->part[dim];
	uint32_t est = UINT32_MAX;
	unsigned r;

	for (r = 0; r < CT_TOP_ROWS; r++) {
		uint32_t c = ++p->cnt[r][col[r]];

		est = c < est ? c : est;
	}
	/* Rarely: the key's hash again for its candidate's fingerprint. */
	if (est > p->cand_min)
		cand_offer(p, tu, dim, tuple_hash(t, tu, dim), est);
}

static inline void
part_sub(struct ct_top *t, unsigned dim, const uint16_t *col)
{
	struct ct_top_part *p = &t->part[dim];
	unsigned r;

	for (r = 0; r < CT_TOP_ROWS; r++) {
		uint32_t *c = &p->cnt[r][col[r]];

		*c -= *c != 0;
	}
}

void
ct_top_hashes(const struct ct_top *t, const struct ct_tuple *tu, struct ct_top_cols *c)
{
	top_cols(t, tu, c, true);
}

void
ct_top_add_hashed(struct ct_top *t, const struct ct_tuple *tu, const struct ct_top_cols *c)
{
	part_add(t, CT_TOP_SRC, tu, c->col[CT_TOP_SRC]);
	part_add(t, CT_TOP_DST, tu, c->col[CT_TOP_DST]);
	t->total++;
}

static inline void
top_sub_cols(struct ct_top *t, const struct ct_top_cols *c)
{
	part_sub(t, CT_TOP_SRC, c->col[CT_TOP_SRC]);
	part_sub(t, CT_TOP_DST, c->col[CT_TOP_DST]);
	if (t->total != 0)
		t->total--;
}

void
ct_top_sub_hashed(struct ct_top *t, const struct ct_top_cols *c)
{
	top_sub_cols(t, c);
}

void
ct_top_add(struct ct_top *t, const struct ct_tuple *tu)
{
	struct ct_top_cols c;

	top_cols(t, tu, &c, false);
	ct_top_add_hashed(t, tu, &c);
}

void
ct_top_sub(struct ct_top *t, const struct ct_tuple *tu)
{
	struct ct_top_cols c;

	top_cols(t, tu, &c, false);
	top_sub_cols(t, &c);
}

void
ct_limits_top_prefetch(const struct ct_limits *l, const struct ct_top *t, const struct ct_tuple *tu,
		       struct ct_lim_hint *h)
{
	if (l != NULL)
		limits_prefetch(l, tu, h);
	else
		h->n = 0;
	if (t != NULL)
		top_cols(t, tu, &h->top, true);
}

void
ct_limits_top_release(struct ct_limits *l, struct ct_top *t, const struct ct_tuple *tu,
		      const struct ct_lim_hint *h)
{
	struct ct_lim_hint tmp;

	if (h == NULL || h->n == CT_LIM_HINT_UNSET) {
		tmp.n = 0;
		if (l != NULL)
			hint_work(l, tu, &tmp);
		if (t != NULL)
			top_cols(t, tu, &tmp.top, false);
		h = &tmp;
	}
	if (l != NULL)
		limits_release(l, h);
	if (t != NULL)
		top_sub_cols(t, &h->top);
}

uint32_t
ct_top_estimate(const struct ct_top *t, unsigned dim, const struct ct_top_key *k)
{
	const struct ct_top_part *p = &t->part[dim];
	uint64_t h = top_hash(t, k);
	uint32_t est = UINT32_MAX;
	unsigned r;

	for (r = 0; r < CT_TOP_ROWS; r++) {
		uint32_t c = p->cnt[r][top_col(h, r)];

		est = c < est ? c : est;
	}
	return est;
}

void
ct_top_refresh(struct ct_top *t)
{
	unsigned d, i;

	for (d = 0; d < CT_TOP_DIMS; d++) {
		struct ct_top_part *p = &t->part[d];

		for (i = 0; i < CT_TOP_CAND; i++) {
			if (p->cand[i].est == 0)
				continue;
			p->cand[i].est = ct_top_estimate(t, d, &p->cand[i].key);
			if (p->cand[i].est == 0) {
				memset(&p->cand[i], 0, sizeof(p->cand[i]));
				p->cand_fp[i] = 0;
			}
		}
		cand_min_update(p);
	}
}

void
ct_top_copy(struct ct_top *dst, const struct ct_top *src)
{
	memcpy(dst, src, sizeof(*dst));
}

static int
item_cmp(const void *a, const void *b)
{
	const struct ct_top_item *x = a, *y = b;

	if (x->est != y->est)
		return x->est > y->est ? -1 : 1;
	if (x->key.zone != y->key.zone)
		return x->key.zone < y->key.zone ? -1 : 1;
	if (x->key.family != y->key.family)
		return x->key.family < y->key.family ? -1 : 1;
	return memcmp(x->key.addr, y->key.addr, sizeof(x->key.addr));
}

/* The estimate of `k` in the sum of the sketches. */
static uint32_t
merged_estimate(const struct ct_top *const *t, unsigned n, unsigned dim,
		const struct ct_top_key *k)
{
	uint64_t h = top_hash(t[0], k), est = UINT64_MAX;
	unsigned r, s;

	for (r = 0; r < CT_TOP_ROWS; r++) {
		uint64_t sum = 0;
		uint32_t col = top_col(h, r);

		for (s = 0; s < n; s++)
			sum += t[s]->part[dim].cnt[r][col];
		est = sum < est ? sum : est;
	}
	return est > UINT32_MAX ? UINT32_MAX : (uint32_t)est;
}

unsigned
ct_top_merge(const struct ct_top *const *t, unsigned n, unsigned dim, int zone,
	     struct ct_top_item *out, unsigned cap)
{
	unsigned s, i, j, m = 0;

	if (n == 0 || dim >= CT_TOP_DIMS)
		return 0;
	for (s = 1; s < n; s++)
		if (t[s]->seed != t[0]->seed)
			return 0;
	for (s = 0; s < n; s++) {
		for (i = 0; i < CT_TOP_CAND; i++) {
			const struct ct_top_item *c = &t[s]->part[dim].cand[i];

			if (c->est == 0 || c->key.family == 0 || (zone >= 0 && c->key.zone != zone))
				continue;
			for (j = 0; j < m; j++)
				if (key_eq(&out[j].key, &c->key))
					break;
			if (j < m || m == cap)
				continue;
			out[m].key = c->key;
			out[m].est = merged_estimate(t, n, dim, &c->key);
			if (out[m].est != 0)
				m++;
		}
	}
	qsort(out, m, sizeof(*out), item_cmp);
	return m;
}
