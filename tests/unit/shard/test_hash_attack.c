/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The keyed flow hash against a bucket-filling attack.
 *
 * Under a key the attacker knows (a fixed seed), tuples are searched whose
 * both candidate buckets are the victim's; 16 of them fill those buckets and
 * the victim's insert fails. Under random keys the same set is harmless:
 * the victim's flow is created. CRC32C, linear, would have kept the
 * collision for every seed.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ct_private.h"
#include "dpct_test.h"

#define NB 256           /* index buckets of the test shard */
#define CRAFTED 20       /* both buckets, 10 slots each */
#define FIXED_SEED 0x5eed5eedull
#define MAX_TRIES 20000000u
#define T0 1000000000ull

static struct ct_pkt
udp_pkt(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	struct ct_pkt p;

	memset(&p, 0, sizeof(p));
	p.tuple.family = 4;
	p.tuple.proto = 17;
	memcpy(p.tuple.src, &src, 4);
	memcpy(p.tuple.dst, &dst, 4);
	p.tuple.sport = sport;
	p.tuple.dport = dport;
	p.cls = CT_PKT_TRACK;
	p.len = 64;
	return p;
}

static void
rehash(struct ct_pkt *p)
{
	uint64_t h = ct_tuple_hash64(&p->tuple);

	p->hash = (uint32_t)h;
	p->owner_hash = (uint32_t)(h >> 32);
}

static struct ct_shard *
mkshard(void)
{
	struct ct_conf c;
	char err[128];

	ct_conf_init(&c);
	c.max_entries = 2048;
	c.buckets = NB;
	c.events_enabled = false;
	c.seed = 1;
	return ct_shard_create(&c, err, sizeof(err));
}

static int
in_pair(uint32_t b, uint32_t v1, uint32_t v2)
{
	return b == v1 || b == v2;
}

/* Tuples whose both candidate buckets are the victim's, under the current key. */
static unsigned
craft(const struct ct_pkt *victim, struct ct_pkt *out, unsigned want)
{
	uint32_t v1, v2, b1, b2, i;
	unsigned n = 0;

	ct_index_buckets(NB, victim->hash, &v1, &v2);
	for (i = 0; i < MAX_TRIES && n < want; i++) {
		struct ct_pkt p = udp_pkt(0x0a000000u + (i >> 16), 0x01020304u,
					  (uint16_t)(i & 0xffff), 53);

		rehash(&p);
		ct_index_buckets(NB, p.hash, &b1, &b2);
		if (in_pair(b1, v1, v2) && in_pair(b2, v1, v2))
			out[n++] = p;
	}
	return n;
}

/* Insert the crafted set, then the victim; 1 if the victim's insert failed. */
static int
attack(const struct ct_pkt *set, unsigned n, struct ct_pkt victim, unsigned *inserted)
{
	struct ct_shard *s = mkshard();
	struct ct_event_rec snap;
	struct ct_stats st;
	uint8_t v;
	unsigned i;
	int failed;

	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		struct ct_pkt p = set[i];

		rehash(&p);     /* as the parser would, under the key in force */
		ct_process_burst(s, &p, 1, T0, &v);
	}
	ct_shard_stats(s, &st);
	*inserted = (unsigned)st.insert;
	rehash(&victim);
	ct_process_burst(s, &victim, 1, T0, &v);
	ct_shard_stats(s, &st);
	failed = st.insert_failed == 1 && v == CT_V_DROP &&
		 ct_shard_lookup(s, &victim.tuple, T0, &snap) == -ENOENT;
	ct_shard_free(s);
	return failed;
}

static int
test_crafted_set_fills_victim_buckets_under_known_key(void)
{
	struct ct_pkt victim = udp_pkt(0xc0a80001u, 0x08080808u, 40000, 443);
	struct ct_pkt set[CRAFTED];
	unsigned n, inserted, owners = 0, i;

	T_EQ(ct_hash_set_seed(FIXED_SEED), 0);
	rehash(&victim);
	n = craft(&victim, set, CRAFTED);
	T_EQ(n, CRAFTED);
	T_EQ(attack(set, n, victim, &inserted), 1);
	T_EQ(inserted, CRAFTED);
	/* The owner bits are not the bucket bits: the set aimed at the buckets
	 * does not also pick one worker of four. */
	for (i = 0; i < n; i++)
		owners |= 1u << ct_hash_owner(set[i].owner_hash, 4);
	T_ASSERT(__builtin_popcount(owners) > 1);
	return 0;
}

static int
test_same_set_harmless_under_random_keys(void)
{
	struct ct_pkt victim = udp_pkt(0xc0a80001u, 0x08080808u, 40000, 443);
	struct ct_pkt set[CRAFTED];
	unsigned n, inserted, k;

	T_EQ(ct_hash_set_seed(FIXED_SEED), 0);
	rehash(&victim);
	n = craft(&victim, set, CRAFTED);
	T_EQ(n, CRAFTED);
	for (k = 0; k < 8; k++) {
		T_EQ(ct_hash_set_seed(0), 0);   /* a fresh random key, as each process gets */
		T_EQ(attack(set, n, victim, &inserted), 0);
		T_EQ(inserted, CRAFTED);
	}
	return 0;
}

static int
test_seed_fixes_key(void)
{
	struct ct_pkt p = udp_pkt(0x0a000001u, 0x0a000002u, 1234, 80);
	uint64_t a, b, c;

	T_EQ(ct_hash_set_seed(77), 0);
	a = ct_tuple_hash64(&p.tuple);
	T_EQ(ct_hash_set_seed(78), 0);
	b = ct_tuple_hash64(&p.tuple);
	T_EQ(ct_hash_set_seed(77), 0);
	c = ct_tuple_hash64(&p.tuple);
	T_ASSERT(a == c);
	T_ASSERT(a != b);
	T_EQ(ct_hash_set_seed(0), 0);
	b = ct_tuple_hash64(&p.tuple);
	T_ASSERT(a != b);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_crafted_set_fills_victim_buckets_under_known_key),
	T_CASE(test_same_set_harmless_under_random_keys),
	T_CASE(test_seed_fixes_key),
};

T_MAIN(cases)
