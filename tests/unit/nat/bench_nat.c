/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/nat cost per operation (`meson test --benchmark nat_bench`, or run
 * the binary with an optional iteration count): ct_parse() of the same
 * frame as the baseline, nat_rewrite() of a TCP SYN to its snat tuple and
 * back, nat_owner() of a reply, and nat_bind() + nat_release() of a new
 * connection on a NAPT pool at 0%, 50% and 90% fill and in block mode.
 * Prints TAP with the numbers as diagnostics; nothing is asserted about
 * time.
 */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nat_test_util.h"

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile uint64_t sink;

static void
report(const char *what, uint64_t ns, unsigned n)
{
	printf("# %-44s %7.1f ns/op\n", what, (double)ns / n);
}

static void
bench_rewrite(unsigned n)
{
	struct ct_tuple to = tf_tuple(6, ip4(198, 51, 100, 1), ip4(192, 0, 2, 1), 1234, 80);
	struct ct_pkt p, q;
	struct tf f;
	uint64_t t0;
	unsigned i;

	tf_tcp(&f, ip4(10, 0, 0, 1), ip4(192, 0, 2, 1), 40000, 80, false);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		ct_parse(f.b, f.len, 0, &p);
		sink += p.hash;
	}
	report("ct_parse (baseline)", now_ns() - t0, n);
	ct_parse(f.b, f.len, 0, &p);
	q = p;
	q.tuple = to;
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		/* There and back, so each call changes addresses, port and both checksums. */
		nat_rewrite(f.b, f.len, &p, &to);
		nat_rewrite(f.b, f.len, &q, &p.tuple);
	}
	report("nat_rewrite tcp (address + port)", now_ns() - t0, 2 * n);
	sink += tf_check(&f);
}

static struct nat_table *
napt(uint8_t mode)
{
	struct nat_pool pool = tf_pool("public", ip4(198, 51, 100, 0), ip4(198, 51, 100, 3),
				       1024, 65535);
	struct nat_rule rules[2];
	char err[256];

	nat_rule_init(&rules[0]);
	rules[0].src = ip4(10, 9, 0, 0);
	rules[0].src_len = 16;
	rules[1] = tf_snat("out", ip4(10, 0, 0, 0), 8, 0);
	pool.mode = mode;
	pool.block_size = 512;
	pool.blocks_per_addr_max = 4;
	return nat_table_build(&pool, 1, rules, 2, 1, err, sizeof(err));
}

/* Bind + release of fresh connections with the pool filled to `fill` percent first. */
static void
bench_bind(unsigned n, unsigned fill, uint8_t mode)
{
	struct nat_table *t = napt(mode);
	uint32_t total = 4 * 64512, held = total / 100 * fill, i;
	struct ct_tuple *r = malloc(sizeof(*r) * (held + 1)), x;
	struct nat_block_ev ev[64];
	uint16_t status;
	struct ct_pkt p;
	struct tf f;
	uint64_t t0;
	char what[64];
	int rc;

	if (t == NULL || r == NULL)
		abort();
	tf_tcp(&f, ip4(10, 0, 0, 1), ip4(192, 0, 2, 1), 40000, 80, false);
	p = tf_parse(&f);
	for (i = 0; i < held; i++) {
		tf_w32(p.tuple.src, ip4(10, 1, (i >> 8) & 0xff, i & 0xff));
		p.tuple.sport = (uint16_t)(i * 7);
		p.hash = i * 2654435761u;
		status = 0;
		if (nat_bind(t, 0, &p, 0, NULL, NULL, &r[i], &status) != 1)
			abort();
	}
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		tf_w32(p.tuple.src, ip4(10, 2, (i >> 8) & 0xff, i & 0xff));
		p.tuple.sport = (uint16_t)(i * 13);
		p.hash = i * 40503u;
		status = 0;
		rc = nat_bind(t, 0, &p, 0, NULL, NULL, &x, &status);
		if (rc == 1)
			nat_release(t, 0, &x, status);
		if (mode == NAT_MODE_BLOCK && (i & 31) == 31)
			nat_block_events_done(t, 0, nat_block_events(t, 0, ev, 64));
	}
	snprintf(what, sizeof(what), "nat_bind + nat_release, %s %u%% full",
		 mode == NAT_MODE_BLOCK ? "block" : "napt", fill);
	report(what, now_ns() - t0, n);
	free(r);
	nat_table_free(t);
}

static void
bench_owner(unsigned n)
{
	struct nat_table *t = napt(NAT_MODE_NAPT);
	unsigned owner = 0, i;
	struct ct_pkt p;
	struct tf f;
	uint64_t t0;

	tf_tcp(&f, ip4(192, 0, 2, 1), ip4(198, 51, 100, 2), 80, 31000, false);
	p = tf_parse(&f);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		nat_owner(t, &p, 1, &owner);
		sink += owner;
	}
	report("nat_owner, reply to a pool port", now_ns() - t0, n);
	tf_tcp(&f, ip4(10, 0, 0, 1), ip4(192, 0, 2, 1), 40000, 80, false);
	p = tf_parse(&f);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		sink += nat_owner(t, &p, 1, &owner);
	}
	report("nat_owner, original direction (napt)", now_ns() - t0, n);
	nat_table_free(t);
	t = napt(NAT_MODE_BLOCK);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		nat_owner(t, &p, 1, &owner);
		sink += owner;
	}
	report("nat_owner, original direction (block)", now_ns() - t0, n);
	nat_table_free(t);
}

int
main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 2000000;

	printf("1..1\n");
	bench_rewrite(n);
	bench_owner(n);
	bench_bind(n / 4, 0, NAT_MODE_NAPT);
	bench_bind(n / 4, 50, NAT_MODE_NAPT);
	bench_bind(n / 4, 90, NAT_MODE_NAPT);
	bench_bind(n / 4, 0, NAT_MODE_BLOCK);
	printf("ok 1 - nat costs measured\n");
	return 0;
}
