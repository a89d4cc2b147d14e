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

#include "ct_private.h"

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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

	printf("1..3\n");
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
	return 0;
}
