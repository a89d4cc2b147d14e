/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: lib/nat on random frames. The input is a 13-byte header
 *     u8 ctl | new source (4) | new destination (4) | new sport (2) | new dport (2)
 * (big endian) and then one Ethernet frame, copied to a buffer of exactly
 * its size so that any read or write past it is caught by the sanitizers.
 * ctl bits 0-3 say which of the four parts of the parsed tuple the rewrite
 * changes, bit 4 picks the worker (of 2) that binds, bit 5 the input port,
 * bit 6 adds a rewrite told of fewer bytes than there are (as many fewer
 * as the last header byte says).
 *
 * The frame is parsed with ct_parse() and:
 *  - nat_owner() on a fixed table (NAPT and block pools, dnat, exclude)
 *    names a worker in range;
 *  - nat_bind() on it (first packets): a translated flow's reply comes
 *    back to the binding worker (nat_owner()), the frame rewritten to the
 *    translated tuple is accepted, and after nat_release() and draining
 *    the block events no port is held and no release was an orphan;
 *  - nat_rewrite() to the derived tuple: refused frames are left
 *    unchanged; rewritten ones parse to the same class with the target's
 *    addresses (and ports, for TCP, UDP and UDP-Lite), only the bytes a
 *    rewrite may change have changed, and a frame whose checksums were
 *    right (ct_pkt_csum_verify()) still has them right.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat.h"
#include "../../unit/nat/nat_test_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 13
#define WORKERS 2

static struct nat_table *tab;

static uint32_t
ip(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

static struct nat_table *
table(void)
{
	struct nat_pool pools[2];
	struct nat_rule rules[5];
	char err[256];
	unsigned i;

	memset(pools, 0, sizeof(pools));
	strcpy(pools[0].name, "napt");
	pools[0].addr_lo = ip(198, 51, 100, 0);
	pools[0].addr_hi = ip(198, 51, 100, 3);
	pools[0].port_lo = 1024;
	pools[0].port_hi = 1087;
	strcpy(pools[1].name, "cgn");
	pools[1].addr_lo = ip(203, 0, 113, 0);
	pools[1].addr_hi = ip(203, 0, 113, 1);
	pools[1].port_lo = 2000;
	pools[1].port_hi = 2063;
	pools[1].mode = NAT_MODE_BLOCK;
	pools[1].block_size = 16;
	pools[1].blocks_per_addr_max = 2;
	for (i = 0; i < 5; i++)
		nat_rule_init(&rules[i]);
	rules[0].src = ip(10, 9, 0, 0);
	rules[0].src_len = 16;
	rules[1].kind = NAT_DNAT;
	rules[1].proto = 6;
	rules[1].dst = ip(198, 51, 100, 20);
	rules[1].dst_len = 32;
	rules[1].dport_lo = 80;
	rules[1].dport_hi = 90;
	rules[1].to_addr = ip(10, 0, 0, 5);
	rules[1].to_port = 8080;
	rules[2].kind = NAT_SNAT;
	rules[2].src = ip(10, 1, 0, 0);
	rules[2].src_len = 16;
	rules[2].pool = 0;
	rules[3].kind = NAT_SNAT;
	rules[3].src = ip(10, 2, 0, 0);
	rules[3].src_len = 16;
	rules[3].pool = 1;
	rules[4].kind = NAT_SNAT;
	rules[4].in_port = 1;
	rules[4].pool = 0;
	return nat_table_build(pools, 2, rules, 5, WORKERS, err, sizeof(err));
}

static void
drain(unsigned w)
{
	struct nat_block_ev ev[8];
	unsigned n, rounds;

	for (rounds = 0; rounds < 64; rounds++) {
		n = nat_block_events(tab, w, ev, 8);
		if (n == 0)
			return;
		nat_block_events_done(tab, w, n);
	}
	abort();
}

static void
bind_and_release(const uint8_t *frame, uint32_t len, const struct ct_pkt *p, uint8_t ctl)
{
	unsigned w = (ctl >> 4) & 1, owner;
	struct ct_tuple reply, fwd;
	struct nat_stats st;
	uint16_t status = 0;
	struct ct_pkt rp;
	uint8_t *copy;
	int rc;

	if (p->cls == CT_PKT_TRACK || p->cls == CT_PKT_ICMP_ERROR)
		if (nat_owner(tab, p, WORKERS, &owner) == 1 && owner >= WORKERS)
			abort();
	if (p->cls != CT_PKT_TRACK)
		return;
	rc = nat_bind(tab, w, p, (ctl >> 5) & 1, NULL, NULL, &reply, &status);
	if (rc != 0 && rc != 1 && rc != NAT_ERR_EXHAUSTED && rc != NAT_ERR_PROTO)
		abort();
	if (rc == 1) {
		if (status & NAT_S_SRC_NAT) {
			/* The reply to the pool port comes back to this worker. */
			rp = *p;
			rp.tuple = reply;
			rp.icmp_type = 0;
			if (nat_owner(tab, &rp, WORKERS, &owner) != 1 || owner != w)
				abort();
		}
		copy = malloc(len);
		if (copy == NULL)
			abort();
		memcpy(copy, frame, len);
		ct_tuple_reverse(&fwd, &reply);
		if (nat_rewrite(copy, len, p, &fwd) != 0)
			abort();
		free(copy);
		nat_release(tab, w, &reply, status);
	}
	drain(w);
	nat_worker_stats(tab, w, &st);
	if (st.ports_in_use != 0 || st.release_orphan != 0)
		abort();
}

/*
 * The rewrite given fewer bytes than the parse saw (a caller's mistake):
 * in a buffer of exactly that size it must not touch anything outside,
 * and a refusal leaves the bytes as they were.
 */
static void
rewrite_cut(const uint8_t *frame, uint32_t len, const struct ct_pkt *p,
	    const struct ct_tuple *to, uint8_t cut)
{
	uint32_t n = len > cut ? len - cut : 0;
	uint8_t *b = malloc(n > 0 ? n : 1), *c = malloc(n > 0 ? n : 1);

	if (b == NULL || c == NULL)
		abort();
	memcpy(b, frame, n);
	memcpy(c, frame, n);
	if (nat_rewrite(b, n, p, to) != 0 && memcmp(b, c, n) != 0)
		abort();
	free(b);
	free(c);
}

static void
put32(uint8_t *d, const uint8_t *s)
{
	memcpy(d, s, 4);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ctl, *frame, *orig;
	struct ct_pkt p, q, v;
	struct ct_tuple to;
	uint32_t len;
	bool valid;
	int rc;

	if (size < HDR || size - HDR > 65535)
		return 0;
	if (tab == NULL) {
		tab = table();
		if (tab == NULL)
			abort();
	}
	ctl = data[0];
	len = (uint32_t)(size - HDR);
	frame = malloc(len > 0 ? len : 1);
	orig = malloc(len > 0 ? len : 1);
	if (frame == NULL || orig == NULL)
		abort();
	memcpy(frame, data + HDR, len);
	memcpy(orig, data + HDR, len);
	ct_parse(frame, len, 0, &p);
	bind_and_release(frame, len, &p, ctl);
	if (p.cls != CT_PKT_TRACK && p.cls != CT_PKT_ICMP_ERROR && p.cls != CT_PKT_FRAGMENT)
		goto out;
	to = p.tuple;
	if (ctl & 1)
		put32(to.src, data + 1);
	if (ctl & 2)
		put32(to.dst, data + 5);
	if (ctl & 4)
		to.sport = (uint16_t)(data[9] << 8 | data[10]);
	if (ctl & 8)
		to.dport = (uint16_t)(data[11] << 8 | data[12]);
	if (ctl & 0x40)
		rewrite_cut(frame, len, &p, &to, data[12]);
	v = p;
	valid = p.cls != CT_PKT_FRAGMENT &&
		ct_pkt_csum_verify(frame, len, &v, CT_CSUM_IP | CT_CSUM_L4) == 0;
	rc = nat_rewrite(frame, len, &p, &to);
	if (rc != 0) {
		if ((rc != -EINVAL && rc != -EPROTONOSUPPORT) || memcmp(frame, orig, len) != 0)
			abort();
		if (p.tuple.family == 4 && rc == -EINVAL)
			abort();   /* the parser's own offsets are always within the frame */
		goto out;
	}
	if (p.tuple.family != 4)
		abort();
	ct_parse(frame, len, 0, &q);
	if (q.cls != p.cls || memcmp(q.tuple.src, to.src, 4) != 0 ||
	    memcmp(q.tuple.dst, to.dst, 4) != 0)
		abort();
	if (p.cls != CT_PKT_FRAGMENT &&
	    (to.proto == 6 || to.proto == 17 || to.proto == 136) &&
	    memcmp(&q.tuple, &to, sizeof(to)) != 0)
		abort();
	if (valid && ct_pkt_csum_verify(frame, len, &q, CT_CSUM_IP | CT_CSUM_L4) != 0)
		abort();
	if (tf_changed_only_allowed(orig, frame, len, &p) >= 0)
		abort();
out:
	free(frame);
	free(orig);
	return 0;
}
