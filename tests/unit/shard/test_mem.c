/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The caller's allocator (struct ct_mem): a shard and an event
 * channel take every block from it, aligned as asked, and give every block
 * back; a failing allocator makes creation fail cleanly.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "ev.h"
#include "dpct_test.h"

struct counting {
	unsigned live;
	unsigned calls;
	unsigned fail_after;   /* 0 = never */
	int bad_align;
};

static void *
c_zalloc(void *arg, size_t size, size_t align)
{
	struct counting *c = arg;
	void *p;

	c->calls++;
	if (c->fail_after != 0 && c->calls >= c->fail_after)
		return NULL;
	if (align < 64)
		c->bad_align = 1;
	p = aligned_alloc(align, (size + align - 1) & ~(align - 1));
	if (p == NULL)
		return NULL;
	memset(p, 0, size);
	c->live++;
	return p;
}

static void
c_free(void *arg, void *p)
{
	struct counting *c = arg;

	c->live--;
	free(p);
}

static int
test_shard_and_chan_use_callers_allocator(void)
{
	struct counting c = { 0 };
	struct ct_conf conf;
	struct ct_shard *s;
	struct ev_chan *ch;
	char err[128];

	ct_conf_init(&conf);
	conf.max_entries = 4096;
	conf.mem.zalloc = c_zalloc;
	conf.mem.free = c_free;
	conf.mem.arg = &c;
	s = ct_shard_create(&conf, err, sizeof(err));
	T_ASSERT(s != NULL);
	T_ASSERT(c.live >= 5);     /* shard, pool, buckets, wheel, stage */
	T_ASSERT(!c.bad_align);
	ch = ev_chan_create_mem(1024, 1024, &conf.mem, err, sizeof(err));
	T_ASSERT(ch != NULL);
	T_ASSERT(c.live >= 8);
	ev_chan_free(ch);
	ct_shard_free(s);
	T_EQ(c.live, 0);
	return 0;
}

static int
test_failing_allocator(void)
{
	struct ct_conf conf;
	unsigned k;
	char err[128];

	for (k = 1; k <= 5; k++) {
		struct counting c = { .fail_after = k };

		ct_conf_init(&conf);
		conf.max_entries = 1024;
		conf.mem.zalloc = c_zalloc;
		conf.mem.free = c_free;
		conf.mem.arg = &c;
		T_ASSERT(ct_shard_create(&conf, err, sizeof(err)) == NULL);
		T_ASSERT(strstr(err, "memory") != NULL);
		T_EQ(c.live, 0);
	}
	for (k = 1; k <= 3; k++) {
		struct counting c = { .fail_after = k };
		struct ct_mem m = { c_zalloc, c_free, &c };

		T_ASSERT(ev_chan_create_mem(64, 64, &m, err, sizeof(err)) == NULL);
		T_EQ(c.live, 0);
	}
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_shard_and_chan_use_callers_allocator),
	T_CASE(test_failing_allocator),
};

T_MAIN(cases)
