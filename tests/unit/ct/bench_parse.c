/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Parser and hash cost per packet (`meson test --benchmark ct_parse_bench`,
 * or run the binary with an optional iteration count). Prints TAP with the
 * numbers as diagnostics; nothing is asserted about time.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_hash_crc.h>
#ifdef __SSE4_2__
#include <nmmintrin.h>
#endif

#include "ct_private.h"

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The flow hash dpct used before issue 10 (unkeyed CRC32C of the canonical
 * tuple + murmur3 fmix32), kept here only as the cost baseline of the keyed
 * hash in the same run.
 */
static inline uint32_t
crc_step(uint32_t h, uint64_t w)
{
#ifdef __SSE4_2__
	return (uint32_t)_mm_crc32_u64(h, w);
#else
	return rte_hash_crc_8byte(w, h);
#endif
}

static inline uint64_t
ld_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap64(v);
}

static inline int
swapped(const struct ct_tuple *t)
{
	uint64_t a = ld_be64(t->src), b = ld_be64(t->dst);

	if (a != b)
		return a > b;
	a = ld_be64(t->src + 8);
	b = ld_be64(t->dst + 8);
	if (a != b)
		return a > b;
	return t->sport > t->dport;
}

static uint32_t
crc_tuple_hash(const struct ct_tuple *t)
{
	uint64_t a[2], b[2], tail;
	uint32_t h;

	memcpy(&tail, (const uint8_t *)t + offsetof(struct ct_tuple, sport), sizeof(tail));
	if (swapped(t)) {
		const uint16_t ports[2] = { t->dport, t->sport };

		memcpy(a, t->dst, 16);
		memcpy(b, t->src, 16);
		memcpy(&tail, ports, sizeof(ports));
	} else {
		memcpy(a, t->src, 16);
		memcpy(b, t->dst, 16);
	}
	h = crc_step(0x9e3779b9, a[0]);
	h = crc_step(h, a[1]);
	h = crc_step(h, b[0]);
	h = crc_step(h, b[1]);
	h = crc_step(h, tail);
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* ns per hash of `fam` tuples whose port and an address byte vary. */
static double
bench_hash(int fam, int keyed, unsigned iters, uint64_t *sink)
{
	struct ct_tuple t;
	uint64_t t0, t1;
	unsigned i;

	memset(&t, 0, sizeof(t));
	t.family = (uint8_t)fam;
	t.proto = 6;
	t.src[0] = 10;
	t.dst[0] = 11;
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		t.sport = (uint16_t)i;
		t.src[3] = (uint8_t)(i >> 16);
		*sink += keyed ? ct_tuple_hash64(&t) : crc_tuple_hash(&t);
	}
	t1 = now_ns();
	return (double)(t1 - t0) / iters;
}

/* IPv4/TCP, 64 bytes. */
static const uint8_t tcp4[] = {
	2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00,
	0x45, 0, 0, 46, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 198, 51, 100, 7,
	0x9c, 0x40, 0, 80, 0, 0, 3, 0xe8, 0, 0, 7, 0xd0, 0x50, 0x18, 0x72, 0x10, 0, 0, 0, 0,
	'h', 'e', 'l', 'l', 'o', '!', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* VLAN + IPv6 + hop-by-hop + UDP. */
static const uint8_t udp6[] = {
	2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0x00, 0, 100, 0x86, 0xdd,
	0x60, 0, 0, 0, 0, 20, 0, 64,
	0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x20, 1, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x22,
	17, 0, 1, 4, 0, 0, 0, 0,
	0x14, 0xe9, 0, 53, 0, 12, 0, 0, 'a', 'b', 'c', 'd',
};

static void
bench(const char *name, const uint8_t *frame, uint32_t len, unsigned iters, unsigned idx)
{
	uint8_t buf[256];
	struct ct_pkt p;
	uint64_t t0, t1, sink = 0;
	unsigned i;

	memcpy(buf, frame, len);
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		/* Vary the source port so the hash input changes. */
		buf[len == sizeof(tcp4) ? 35 : 77] = (uint8_t)i;
		ct_parse(buf, len, 0, &p);
		sink += p.hash + p.cls;
	}
	t1 = now_ns();
	printf("ok %u - %s: %.1f ns/packet (cls %u, sink %llu)\n", idx, name,
	       (double)(t1 - t0) / iters, p.cls, (unsigned long long)(sink & 1));
}

int
main(int argc, char **argv)
{
	unsigned iters = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 5000000;
	struct ct_tuple t;
	uint64_t t0, t1, sink = 0;
	unsigned i;

	printf("1..7\n");
	bench("parse IPv4/TCP", tcp4, sizeof(tcp4), iters, 1);
	bench("parse VLAN/IPv6/HBH/UDP", udp6, sizeof(udp6), iters, 2);
	memset(&t, 0, sizeof(t));
	t.family = 6;
	t.proto = 6;
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		t.sport = (uint16_t)i;
		t.src[15] = (uint8_t)(i >> 16);
		sink += ct_tuple_hash(&t);
	}
	t1 = now_ns();
	printf("ok 3 - ct_tuple_hash: %.1f ns/tuple (sink %llu)\n", (double)(t1 - t0) / iters,
	       (unsigned long long)(sink & 1));
	/* The keyed hash against the unkeyed CRC it replaced, same run (issue 10). */
	printf("ok 4 - IPv4 keyed multiply-shift: %.1f ns/tuple\n", bench_hash(4, 1, iters, &sink));
	printf("ok 5 - IPv4 CRC32C (old, unkeyed): %.1f ns/tuple\n", bench_hash(4, 0, iters, &sink));
	printf("ok 6 - IPv6 keyed multiply-shift: %.1f ns/tuple\n", bench_hash(6, 1, iters, &sink));
	printf("ok 7 - IPv6 CRC32C (old, unkeyed): %.1f ns/tuple (sink %llu)\n",
	       bench_hash(6, 0, iters, &sink), (unsigned long long)(sink & 1));
	return 0;
}
