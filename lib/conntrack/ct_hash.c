/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The keyed flow hash.
 *
 * CRC32C with a seed is no defence against crafted collisions: CRC is
 * linear, so two equal-length tuples that collide under one seed collide
 * under every seed. dpct uses vector multiply-shift instead (Dietzfelbinger;
 * Thorup, "High Speed Hashing for Integers and Strings", 2015): the tuple,
 * in direction-independent order, is five 64-bit words x_i, the key is six
 * random 128-bit numbers a_0..a_4, b, and
 *
 *     h(x) = (b + sum a_i * x_i) mod 2^128, top 64 bits.
 *
 * which is strongly universal: two given tuples collide with probability
 * 2^-64 over the key, so who does not know the key cannot aim at a bucket.
 * A fixed bijective finaliser (murmur3's fmix64) then spreads every bit, so
 * the low half (the shard's bucket and signature bits) and the high half
 * (the owner) are unrelated functions of the tuple. An IPv4 tuple is two
 * words, x_0 and x_4: its two ends (address and port, 48 bits each, the
 * lower first) and proto, family and zone packed into 128 bits
 * (ct_hash_v4() in ct_hash.h, inline in the parser's fast path): two
 * 64x128-bit multiplies.
 * The family is in the tail, so IPv4 and IPv6 tuples are distinct vectors.
 *
 * The key is process-wide: parsing (any core) and every shard must agree on
 * it. It is random from getrandom() at load time and replaced only at
 * start-up, before any worker runs (ct_hash_set_seed()).
 */

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ct_hash.h"
#include "ct_private.h"

/* Written at load and at start-up only (ct_hash_set_seed), read by every core. */
struct ct_hash_key ct_hkey;

static inline uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int
random_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;
	unsigned tries;
	int fd;

	for (tries = 0; got < len && tries < 16; tries++) {
		ssize_t n = getrandom(p + got, len - got, 0);

		if (n > 0)
			got += (size_t)n;
		else if (n < 0 && errno != EINTR)
			break;
	}
	if (got == len)
		return 0;
	/* Kernels without getrandom(2). */
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (tries = 0; got < len && tries < 16; tries++) {
		ssize_t n = read(fd, p + got, len - got);

		if (n > 0)
			got += (size_t)n;
		else if (n < 0 && errno != EINTR)
			break;
	}
	close(fd);
	return got == len ? 0 : -EIO;
}

int
ct_hash_set_seed(uint64_t seed)
{
	uint64_t w[sizeof(struct ct_hash_key) / 8];
	unsigned i;
	int rc;

	if (seed == 0) {
		rc = random_bytes(w, sizeof(w));
		if (rc != 0)
			return rc;
	} else {
		uint64_t x = seed;

		for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
			w[i] = splitmix64(&x);
	}
	memcpy(&ct_hkey, w, sizeof(ct_hkey));
	return 0;
}

__attribute__((constructor)) static void
ct_hash_load(void)
{
	if (ct_hash_set_seed(0) != 0) {
		/* No entropy source at all: better than a constant, and
		 * ct_hash_set_seed(0) at start-up reports the failure. */
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)getpid() ^
		    (uint64_t)(uintptr_t)&ts;
		ct_hash_set_seed(x | 1);
	}
}

int
ct_tuple_canonical_swapped(const struct ct_tuple *t)
{
	return ct_tuple_swapped(t);
}

uint64_t
ct_tuple_hash64(const struct ct_tuple *t)
{
	const struct ct_hash_key *k = &ct_hkey;
	uint64_t a[2], b[2], tail;
	ct_u128 acc = ((ct_u128)k->b_hi << 64) | k->b_lo;

	/* The last 8 bytes: sport, dport, proto, family, zone. */
	memcpy(&tail, (const uint8_t *)t + offsetof(struct ct_tuple, sport), sizeof(tail));
	if (t->family == 4) {
		uint32_t s4, d4;

		memcpy(&s4, t->src, 4);
		memcpy(&d4, t->dst, 4);
		return ct_hash_v4(s4, d4, tail);
	}
	if (ct_tuple_swapped(t)) {
		const uint16_t ports[2] = { t->dport, t->sport };

		memcpy(a, t->dst, 16);
		memcpy(b, t->src, 16);
		memcpy(&tail, ports, sizeof(ports));
	} else {
		memcpy(a, t->src, 16);
		memcpy(b, t->dst, 16);
	}
	acc += ct_hash_term(k, 0, a[0]);
	acc += ct_hash_term(k, 1, a[1]);
	acc += ct_hash_term(k, 2, b[0]);
	acc += ct_hash_term(k, 3, b[1]);
	acc += ct_hash_term(k, 4, tail);
	return ct_hash_fmix64((uint64_t)(acc >> 64));
}

uint32_t
ct_tuple_hash(const struct ct_tuple *t)
{
	return (uint32_t)ct_tuple_hash64(t);
}
