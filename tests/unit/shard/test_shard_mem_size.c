/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ct_shard_mem_size() against what ct_shard_create() really asks its
 * allocator for: the shard, the hot and cold entry arrays, the index, the
 * timer wheel and the event staging buffer, block by block, over table
 * sizes that cross the wheel's bounds, with and without early-drop
 * headroom and with the bucket count given or derived.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "dpct_test.h"

#define MAX_BLOCKS 16

struct blocks {
	unsigned n;
	size_t size[MAX_BLOCKS];
	unsigned live;
};

static void *
b_zalloc(void *arg, size_t size, size_t align)
{
	struct blocks *b = arg;
	void *p;

	if (b->n < MAX_BLOCKS)
		b->size[b->n] = size;
	b->n++;
	p = aligned_alloc(align, (size + align - 1) & ~(align - 1));
	if (p != NULL) {
		memset(p, 0, size);
		b->live++;
	}
	return p;
}

static void
b_free(void *arg, void *p)
{
	struct blocks *b = arg;

	b->live--;
	free(p);
}

static int
check(uint32_t max_entries, uint32_t buckets, bool early_drop, uint32_t stage)
{
	struct blocks b = { 0 };
	struct ct_shard_mem m;
	struct ct_conf conf;
	struct ct_shard *s;
	char err[128];
	uint64_t sum = 0;
	unsigned i;

	ct_conf_init(&conf);
	conf.max_entries = max_entries;
	conf.buckets = buckets;
	conf.early_drop = early_drop;
	conf.ev_stage_size = stage;
	conf.mem.zalloc = b_zalloc;
	conf.mem.free = b_free;
	conf.mem.arg = &b;
	T_EQ(ct_shard_mem_size(&conf, &m), 0);
	s = ct_shard_create(&conf, err, sizeof(err));
	T_ASSERT(s != NULL);
	/* shard, pool, cold, buckets, wheel, stage: nothing else, nothing more. */
	T_EQ(b.n, 6);
	T_UEQ(b.size[1] + b.size[2], m.entries);
	T_UEQ(b.size[3], m.index);
	T_UEQ(b.size[4], m.wheel);
	T_UEQ(b.size[5], m.stage);
	T_ASSERT(b.size[0] <= m.shard);
	T_ASSERT(m.shard - b.size[0] <= 2048);
	for (i = 0; i < 6; i++)
		sum += b.size[i];
	T_ASSERT(sum <= m.total && m.total - sum <= 2048);
	T_UEQ(m.total, m.entries + m.index + m.wheel + m.stage + m.shard);
	/* The parts agree with the shard's own per-entry figure. */
	T_UEQ((m.entries + m.index + m.wheel + max_entries - 1) / max_entries,
	      ct_shard_bytes_per_entry(s));
	ct_shard_free(s);
	T_EQ(b.live, 0);
	return 0;
}

static int
test_matches_allocation(void)
{
	static const uint32_t sizes[] = {1, 2, 100, 4096, 16383, 16384, 65536, 100000,
					 262144, 1000003};
	unsigned i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (check(sizes[i], 0, true, 1024) != 0 || check(sizes[i], 0, false, 1) != 0 ||
		    check(sizes[i], 1u << 12, true, 4096) != 0) {
			printf("# max_entries %u\n", sizes[i]);
			return 1;
		}
	}
	return 0;
}

/* The documented per-entry figures: 156 B an entry, 64 B a bucket, 4 B a slot. */
static int
test_parts(void)
{
	struct ct_shard_mem m;
	struct ct_conf conf;

	ct_conf_init(&conf);
	conf.max_entries = 1u << 20;
	conf.early_drop = true;
	conf.buckets = 1u << 17;
	T_EQ(ct_shard_mem_size(&conf, &m), 0);
	T_UEQ(m.slots, (1u << 20) + (1u << 20) / 64 + 16);
	T_UEQ(m.entries, m.slots * 156);
	T_UEQ(m.index, (1u << 17) * 64);
	T_UEQ(m.wheel_slots, 65536);
	T_UEQ(m.wheel, 65536 * 4);
	/* What ct_shard_create() refuses, refused without allocating. */
	conf.max_entries = 0;
	T_EQ(ct_shard_mem_size(&conf, &m), -EINVAL);
	conf.max_entries = (1u << 30) + 1;
	T_EQ(ct_shard_mem_size(&conf, &m), -EINVAL);
	T_ASSERT(m.entries > (uint64_t)156 << 30);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_matches_allocation),
	T_CASE(test_parts),
};

T_MAIN(cases)
