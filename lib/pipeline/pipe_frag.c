/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IP reassembly before tracking (pipe_frag.h). rte_ip_frag reassembles
 * copies; each copy's first segment points at its original in a dynamic
 * mbuf field, so whatever rte_ip_frag does with a copy (chain it into a
 * datagram, put it on the death row) says what becomes of the original.
 */
#define ALLOW_EXPERIMENTAL_API 1 /* rte_ip_frag_table_del_expired_entries() */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "nat.h"
#include "pipe_frag.h"

#define P_FRAGMENT 44
#define IP4_MF_OFF 0x3fff       /* MF and the offset in the IPv4 flags word */
#define BUCKET_ENTRIES 8
#define POOL_SLACK 64
#define DATAGRAM_MAX (65535 + 40 + 26) /* IPv6 payload + header + L2 with two tags */

struct pipe_frag {
	struct rte_ip_frag_tbl *tbl;
	struct rte_mempool *pool;
	struct rte_ip_frag_death_row dr;
	struct pipe_frag_stats st;
	bool csum_verify;
	uint8_t buf[DATAGRAM_MAX];   /* a datagram made flat for its parse */
};

uint64_t pipe_frag_flag;
static int orig_off = -1;

static inline struct rte_mbuf **
orig_of(struct rte_mbuf *c)
{
	return RTE_MBUF_DYNFIELD(c, orig_off, struct rte_mbuf **);
}

static int
register_fields(void)
{
	static const struct rte_mbuf_dynfield fd = {
		.name = "dpct_frag_original",
		.size = sizeof(struct rte_mbuf *),
		.align = __alignof__(struct rte_mbuf *),
	};
	static const struct rte_mbuf_dynflag fl = { .name = "dpct_frag_datagram" };
	int off, bit;

	off = rte_mbuf_dynfield_register(&fd);
	if (off < 0)
		return -rte_errno;
	bit = rte_mbuf_dynflag_register(&fl);
	if (bit < 0)
		return -rte_errno;
	orig_off = off;
	pipe_frag_flag = UINT64_C(1) << bit;
	return 0;
}

struct pipe_frag *
pipe_frag_create(const struct pipe_frag_conf *c, const char *name, char *err, size_t errlen)
{
	char pname[RTE_MEMPOOL_NAMESIZE];
	struct pipe_frag *f;
	unsigned n;
	int rc;

	if (c->max_datagrams == 0 || c->max_datagrams > 65536 || c->timeout_ns == 0) {
		snprintf(err, errlen,
			 "fragments: max_datagrams must be 1..65536 and the timeout > 0");
		return NULL;
	}
	rc = register_fields();
	if (rc != 0) {
		snprintf(err, errlen, "fragments: mbuf dynamic field: %s", rte_strerror(-rc));
		return NULL;
	}
	f = rte_zmalloc_socket("dpct_frag", sizeof(*f), RTE_CACHE_LINE_SIZE, c->socket);
	if (f == NULL) {
		snprintf(err, errlen, "fragments: no memory for the state (%zu bytes)", sizeof(*f));
		return NULL;
	}
	f->csum_verify = c->csum_verify;
	f->tbl = rte_ip_frag_table_create(c->max_datagrams, BUCKET_ENTRIES, c->max_datagrams,
					  c->timeout_ns, c->socket);
	if (f->tbl == NULL) {
		snprintf(err, errlen, "fragments: table of %u datagrams: %s", c->max_datagrams,
			 rte_strerror(rte_errno));
		goto fail;
	}
	n = c->max_datagrams * RTE_LIBRTE_IP_FRAG_MAX_FRAG + POOL_SLACK;
	snprintf(pname, sizeof(pname), "dpct_frag_%s", name);
	f->pool = rte_pktmbuf_pool_create(pname, n, 32, 0, RTE_MBUF_DEFAULT_BUF_SIZE, c->socket);
	if (f->pool == NULL) {
		snprintf(err, errlen, "fragments: pool of %u mbufs: %s", n,
			 rte_strerror(rte_errno));
		goto fail;
	}
	return f;
fail:
	pipe_frag_free(f);
	return NULL;
}

/* Free what the death row holds, originals first. */
static void
bury(struct pipe_frag *f)
{
	uint32_t i;
	struct rte_mbuf *s;

	for (i = 0; i < f->dr.cnt; i++) {
		for (s = f->dr.row[i]; s != NULL; s = s->next) {
			struct rte_mbuf *o = *orig_of(s);

			if (o == NULL)
				continue;
			rte_pktmbuf_free(o);
			*orig_of(s) = NULL;
			f->st.dropped++;
			f->st.waiting--;
		}
	}
	rte_ip_frag_free_death_row(&f->dr, 0);
}

void
pipe_frag_expire(struct pipe_frag *f, uint64_t now)
{
	unsigned guard;

	/* del_expired stops when the death row is nearly full: go on until it did not. */
	for (guard = 0; guard < 1024; guard++) {
		rte_ip_frag_table_del_expired_entries(f->tbl, &f->dr, now);
		if (f->dr.cnt == 0)
			break;
		bury(f);
	}
}

void
pipe_frag_free(struct pipe_frag *f)
{
	if (f == NULL)
		return;
	if (f->tbl != NULL) {
		pipe_frag_expire(f, UINT64_MAX / 2);
		rte_ip_frag_table_destroy(f->tbl);
	}
	rte_mempool_free(f->pool);
	rte_free(f);
}

bool
pipe_frag_check(const struct rte_mbuf *m, const struct ct_pkt *pk)
{
	const uint8_t *ip;

	if (pk->l3_off == 0 || pipe_frag_is_datagram(m))
		return false;
	switch (pk->cls) {
	case CT_PKT_TRACK:
	case CT_PKT_ICMP_ERROR:
		/* The common case answered from the parse: IPv6 without extension headers. */
		if (pk->tuple.family == 6 && pk->l4_off == pk->l3_off + 40)
			return false;
		break;
	case CT_PKT_FRAGMENT:
		break;
	case CT_PKT_INVALID:
		/* IPv4: a first fragment too short for its L4 header is reassembled
		 * (Linux does). IPv6: Linux drops it from reassembly (RFC 8200 4.5,
		 * ipv6frag_thdr_truncated()) and conntrack sees it invalid; so it
		 * stays as parsed, and the datagram's other fragments time out. */
		if (pk->invalid_reason != CT_INV_IP_FRAG || pk->tuple.family != 4)
			return false;
		break;
	default:
		return false;
	}
	ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, pk->l3_off);
	if (rte_pktmbuf_data_len(m) < (uint32_t)pk->l3_off + 48)
		return rte_pktmbuf_data_len(m) >= (uint32_t)pk->l3_off + 20 &&
		       pk->tuple.family == 4 && ip[0] >> 4 == 4 &&
		       ((ip[6] << 8 | ip[7]) & IP4_MF_OFF) != 0;
	if (ip[0] >> 4 == 4)
		return ((ip[6] << 8 | ip[7]) & IP4_MF_OFF) != 0;
	return ip[0] >> 4 == 6 && ip[6] == P_FRAGMENT;
}

uint32_t
pipe_frag_hash(const struct rte_mbuf *m, const struct ct_pkt *pk)
{
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, pk->l3_off);
	struct ct_tuple t;
	uint32_t id;

	memset(&t, 0, sizeof(t));
	t.zone = pk->tuple.zone;
	if (ip[0] >> 4 == 4) {
		t.family = 4;
		t.proto = ip[9];
		memcpy(t.src, ip + 12, 4);
		memcpy(t.dst, ip + 16, 4);
		id = (uint32_t)ip[4] << 8 | ip[5];
	} else {
		t.family = 6;
		t.proto = ip[40];
		memcpy(t.src, ip + 8, 16);
		memcpy(t.dst, ip + 24, 16);
		memcpy(&id, ip + 44, 4);
	}
	t.sport = (uint16_t)id;
	t.dport = (uint16_t)(id >> 16);
	return (uint32_t)(ct_tuple_hash64(&t) >> 32);
}

/* The IPv4 header checksum of a fragment, as ip_rcv() checks it. */
static bool
ip4_header_ok(const struct rte_mbuf *m, uint32_t l3)
{
	const struct rte_ipv4_hdr *h = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, l3);
	uint32_t ihl = (uint32_t)(h->version_ihl & 0x0f) * 4;

	if (ihl < 20 || rte_pktmbuf_data_len(m) < l3 + ihl)
		return false;
	return rte_raw_cksum(h, ihl) == 0xffff;
}

static struct rte_mbuf *
reassemble(struct pipe_frag *f, struct rte_mbuf *c, uint32_t l3, uint64_t now)
{
	uint8_t *ip = rte_pktmbuf_mtod_offset(c, uint8_t *, l3);
	uint32_t iplen;

	c->l2_len = l3;
	if (ip[0] >> 4 == 4) {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;

		c->l3_len = (h->version_ihl & 0x0f) * 4;
		iplen = rte_be_to_cpu_16(h->total_length);
		if (c->pkt_len > l3 + iplen)
			rte_pktmbuf_trim(c, (uint16_t)(c->pkt_len - l3 - iplen));
		return rte_ipv4_frag_reassemble_packet(f->tbl, &f->dr, c, now, h);
	}
	c->l3_len = sizeof(struct rte_ipv6_hdr) + sizeof(struct rte_ipv6_fragment_ext);
	iplen = 40 + rte_be_to_cpu_16(((struct rte_ipv6_hdr *)ip)->payload_len);
	if (c->pkt_len > l3 + iplen)
		rte_pktmbuf_trim(c, (uint16_t)(c->pkt_len - l3 - iplen));
	if ((ip[42] << 8 | ip[43]) == 0) {
		/* An atomic fragment (offset 0, M clear): the datagram is the packet
		 * without its fragment header, as Linux's reassembly makes it. */
		ip[6] = ip[40];
		iplen -= 8;
		ip[4] = (uint8_t)((iplen - 40) >> 8);
		ip[5] = (uint8_t)(iplen - 40);
		uint8_t *d = rte_pktmbuf_mtod(c, uint8_t *);

		memmove(d + 8, d, l3 + 40);
		rte_pktmbuf_adj(c, 8);
		return c;
	}
	return rte_ipv6_frag_reassemble_packet(f->tbl, &f->dr, c, now,
					       (struct rte_ipv6_hdr *)ip,
					       (struct rte_ipv6_fragment_ext *)(ip + 40));
}

int
pipe_frag_add(struct pipe_frag *f, struct rte_mbuf *m, const struct ct_pkt *pk, uint64_t now,
	      struct rte_mbuf **dg, struct ct_pkt *dpk)
{
	struct rte_mbuf *c, *r, *s;
	const uint8_t *flat;
	uint32_t l3 = pk->l3_off, n = 0;

	f->st.fragments++;
	if (f->csum_verify && pk->tuple.family == 4 && !ip4_header_ok(m, l3)) {
		f->st.bad_csum++;
		rte_pktmbuf_free(m);
		return 0;
	}
	c = rte_pktmbuf_copy(m, f->pool, 0, UINT32_MAX);
	if (c == NULL) {
		f->st.no_mbuf++;
		rte_pktmbuf_free(m);
		return 0;
	}
	for (s = c; s != NULL; s = s->next)
		*orig_of(s) = NULL;
	*orig_of(c) = m;
	f->st.waiting++;
	r = reassemble(f, c, l3, now);
	if (f->dr.cnt != 0)
		bury(f);
	if (r == NULL)
		return 0;
	for (s = r; s != NULL; s = s->next)
		n += *orig_of(s) != NULL;
	f->st.waiting -= n;
	f->st.datagrams++;
	r->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK |
			 RTE_MBUF_F_RX_RSS_HASH);
	/* Each fragment's IPv4 header was checked (or not, as configured) on its own;
	 * the datagram's L4 checksum is summed over the chain when it is tracked. */
	r->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN |
		       pipe_frag_flag;
	if (r->pkt_len > sizeof(f->buf)) {
		/* Larger than any IP datagram: Linux drops it too. */
		struct rte_mbuf *o[RTE_LIBRTE_IP_FRAG_MAX_FRAG + 1];
		unsigned k = pipe_frag_release(r, o, RTE_DIM(o));

		f->st.dropped += k;
		rte_pktmbuf_free_bulk(o, k);
		return 0;
	}
	flat = rte_pktmbuf_read(r, 0, r->pkt_len, f->buf);
	ct_parse(flat, r->pkt_len, pk->tuple.zone, dpk);
	dpk->in_port = r->port;
	/* Parsed flat, but rewritten fragment by fragment (pipe_frag_rewrite()):
	 * never in place as one plain frame (ct_process_burst_nat()). */
	dpk->plain = 0;
	*dg = r;
	return 1;
}

unsigned
pipe_frag_release(struct rte_mbuf *dg, struct rte_mbuf **out, unsigned max)
{
	struct rte_mbuf *s;
	unsigned n = 0;

	for (s = dg; s != NULL; s = s->next) {
		struct rte_mbuf *o = *orig_of(s);

		if (o == NULL)
			continue;
		*orig_of(s) = NULL;
		if (n < max)
			out[n++] = o;
		else
			rte_pktmbuf_free(o);
	}
	rte_pktmbuf_free(dg);
	return n;
}

int
pipe_frag_rewrite(struct rte_mbuf *dg, const struct ct_tuple *to)
{
	struct rte_mbuf *s;
	struct ct_pkt p;
	int rc;

	for (s = dg; s != NULL; s = s->next) {
		struct rte_mbuf *o = *orig_of(s);

		if (o == NULL)
			continue;
		ct_parse_mbuf(o, 0, &p);
		rc = nat_rewrite(rte_pktmbuf_mtod(o, uint8_t *), rte_pktmbuf_data_len(o), &p, to);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void
pipe_frag_stats(const struct pipe_frag *f, struct pipe_frag_stats *out)
{
	*out = f->st;
}
