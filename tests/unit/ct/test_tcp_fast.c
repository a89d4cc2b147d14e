/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The established-ACK fast path (ct_tcp_fast.h) against the full TCP
 * tracker (ct_tcp_packet()): random connections (with and without
 * window scaling and SACK, strict and liberal) get random segments around
 * their windows: in window, beyond it, old, acks ahead and behind, zero
 * windows, retransmissions, SACK blocks, and now and then a FIN, RST or SYN.
 * For every segment the fast path either declines without touching the
 * entry, or gives the full tracker's verdict and timeout class and leaves
 * the entry byte for byte as the full tracker does.
 */

#include <stdint.h>
#include <string.h>

#include "ct_private.h"
#include "ct_tcp_fast.h"
#include "dpct_test.h"

enum { FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10 };

static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void
mkpkt(struct ct_pkt *p, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win, uint16_t len,
      unsigned opts)
{
	memset(p, 0, sizeof(*p));
	p->cls = CT_PKT_TRACK;
	p->tuple.family = 4;
	p->tuple.proto = 6;
	p->tcp_flags = flags;
	p->tcp_seq = seq;
	p->tcp_ack = ack;
	p->tcp_sack = ack;
	p->tcp_win = win;
	p->payload_len = len;
	if (opts != 0) {
		p->tcp_opts = CT_PKT_OPT_PRESENT;
		if (opts & 1) {
			p->tcp_opts |= CT_PKT_OPT_WSCALE;
			p->tcp_wscale = 7;
		}
		if (opts & 2)
			p->tcp_opts |= CT_PKT_OPT_SACKOK;
	}
}

/* The shard's part after an accepted packet, as in ct_shard.c process_one(). */
static void
shard_after(struct ct_entry *e, enum ct_dir dir, int v)
{
	if (v != CT_L4_ACCEPT && v != CT_L4_KILL && v != CT_L4_IGNORE)
		return;
	if (v != CT_L4_IGNORE)
		e->pkts_w[dir] += UINT64_C(1) << CT_PKTS_SHIFT;
	if (dir == CT_DIR_REPLY)
		e->status |= CT_S_SEEN_REPLY;
}

/* One connection through a handshake; 0 when the tracker refused it. */
static int
handshake(const struct ct_conf *c, struct ct_entry *e, struct ct_tw_cold *tx, uint32_t ci,
	  uint32_t si, unsigned opts)
{
	struct ct_pkt p;
	uint8_t cls = 0;
	int v;

	memset(e, 0, sizeof(*e));
	e->key.proto = 6;
	e->key.family = 4;
	mkpkt(&p, SYN, ci, 0, 64240, 0, opts);
	if (ct_tcp_new(c, e, tx, &p, &cls) != 0)
		return 0;
	e->tcp_state = CT_TCP_SYN_SENT;
	ct_entry_pkts_set(e, 0, 1);
	mkpkt(&p, SYN | ACK, si, ci + 1, 65160, 0, opts);
	v = ct_tcp_packet(c, e, tx, &p, CT_DIR_REPLY, 0, &cls);
	shard_after(e, CT_DIR_REPLY, v);
	mkpkt(&p, ACK, ci + 1, si + 1, 502, 0, 0);
	v = ct_tcp_packet(c, e, tx, &p, CT_DIR_ORIG, 0, &cls);
	shard_after(e, CT_DIR_ORIG, v);
	return e->tcp_state == CT_TCP_ESTABLISHED;
}

static int
test_tcp_fast_equals_full(void)
{
	static const uint8_t odd_flags[] = { FIN | ACK, RST, RST | ACK, SYN, SYN | ACK, ACK | PSH,
					     ACK };
	uint64_t x = 0x9e3779b97f4a7c15ull, fast_hits = 0, fast_ignore = 0, fast_invalid = 0,
		 declined = 0;
	unsigned conn, k;

	for (conn = 0; conn < 400; conn++) {
		struct ct_conf c;
		struct ct_entry e;
		struct ct_tw_cold tx;
		uint32_t ci = (uint32_t)rnd(&x), si = (uint32_t)rnd(&x);
		uint32_t next[2], acked[2];
		unsigned opts = conn % 4;

		ct_conf_init(&c);
		c.tcp_be_liberal = (conn % 7) == 3;
		c.tcp_max_retrans = 3;
		c.timeout_s[CT_TO_TCP_RETRANS] = 200;
		c.timeout_s[CT_TO_TCP_UNACK] = 300;
		if (!handshake(&c, &e, &tx, ci, si, opts))
			T_FAIL_("connection %u: handshake refused", conn);
		next[0] = ci + 1;
		next[1] = si + 1;
		acked[0] = si + 1;
		acked[1] = ci + 1;
		for (k = 0; k < 400; k++) {
			enum ct_dir d = (enum ct_dir)(rnd(&x) & 1);
			uint64_t r = rnd(&x);
			uint32_t seq = next[d], ack = next[!d];
			uint16_t len = (uint16_t)((r >> 8) % 3 == 0 ? 0 : (r >> 12) % 1460);
			uint16_t win = (uint16_t)((r >> 24) % 16 == 0 ? 0 : 200 + (r >> 28) % 600);
			uint8_t flags = ACK;
			struct ct_entry full, fast;
			struct ct_tw_cold tx_full, tx_fast;
			struct ct_pkt p;
			uint8_t cls_full = 0xee, cls_fast = 0xee;
			int vf, vq;

			switch ((r >> 40) % 16) {
			case 0: /* far ahead: rule I */
				seq += 100000000u;
				break;
			case 1: /* old: rule II */
				seq -= 200000u + (uint32_t)(r % 100000);
				break;
			case 2: /* acks data not sent: rule III */
				ack += 1u + (uint32_t)(r % 70000);
				break;
			case 3: /* a very old ack: rule IV */
				ack -= 1000000u;
				break;
			case 4: /* retransmission of the last segment */
				seq = next[d] - len;
				break;
			case 5: /* an ack of part of what is in flight */
				ack = acked[d] + (next[!d] - acked[d]) / 2;
				break;
			case 6:
				flags = odd_flags[(r >> 50) % (sizeof(odd_flags))];
				break;
			case 7: /* just beyond the window */
				seq += 65000u + (uint32_t)(r % 3000);
				break;
			default:
				break;
			}
			mkpkt(&p, flags, seq, ack, win, len, 0);
			if ((e.tw_seen[!d] & CT_TW_S_SACKOK) && (r >> 60) == 0)
				p.tcp_sack = ack + (uint32_t)(r % 5000);
			full = e;
			fast = e;
			tx_full = tx;
			tx_fast = tx;
			vf = ct_tcp_packet(&c, &full, &tx_full, &p, d, 0, &cls_full);
			vq = ct_tcp_fast(&c, &fast, &tx_fast, &p, d, &cls_fast);
			if (vq < 0) {
				declined++;
				T_MEMEQ(&fast, &e, sizeof(e));
				T_MEMEQ(&tx_fast, &tx, sizeof(tx));
				T_EQ(cls_fast, 0xee);
			} else {
				fast_hits++;
				fast_ignore += vq == CT_L4_IGNORE;
				fast_invalid += vq == CT_L4_INVALID_WINDOW;
				if (vq != vf)
					T_FAIL_("conn %u seg %u: fast %d, full %d", conn, k, vq, vf);
				T_EQ(cls_fast, cls_full);
				T_MEMEQ(&fast, &full, sizeof(full));
				T_MEMEQ(&tx_fast, &tx_full, sizeof(tx_full));
			}
			shard_after(&full, d, vf);
			e = full;
			tx = tx_full;
			if (vf == CT_L4_ACCEPT && flags == ACK) {
				if ((int32_t)(seq + len - next[d]) > 0)
					next[d] = seq + len;
				if ((int32_t)(ack - acked[d]) > 0 && (int32_t)(ack - next[!d]) <= 0)
					acked[d] = ack;
			}
			if (e.tcp_state != CT_TCP_ESTABLISHED)
				break; /* a FIN or RST ended it: next connection */
		}
	}
	printf("# fast path: %" PRIu64 " taken (%" PRIu64 " ignored, %" PRIu64
	       " invalid), %" PRIu64 " declined\n", fast_hits, fast_ignore, fast_invalid, declined);
	/* The comparison means something only when every outcome was exercised. */
	T_ASSERT(fast_hits > 5000);
	T_ASSERT(fast_ignore > 100);
	T_ASSERT(fast_invalid > 100);
	T_ASSERT(declined > 100);
	return 0;
}

/* ct_select() and ct_select_if() are `c ? a : b`, on every kind of operand. */
static int
test_select_table(void)
{
	static const struct {
		bool c;
		uint32_t a, b;
	} tab[] = {
		{ true, 1, 2 },
		{ false, 1, 2 },
		{ true, 0, UINT32_MAX },
		{ false, 0, UINT32_MAX },
		{ true, UINT32_MAX, 0 },
		{ false, UINT32_MAX, 0 },
		{ true, 0x80000000u, 0x7fffffffu },
		{ false, 0x80000000u, 0x7fffffffu },
		{ true, 7, 7 },
		{ false, 7, 7 },
	};
	unsigned i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		uint32_t want = tab[i].c ? tab[i].a : tab[i].b;
		volatile bool c = tab[i].c; /* not folded at compile time */

		T_UEQ(ct_select(c, tab[i].a, tab[i].b), want);
		T_UEQ(ct_select_if(true, c, tab[i].a, tab[i].b), want);
		T_UEQ(ct_select_if(false, c, tab[i].a, tab[i].b), want);
	}
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_tcp_fast_equals_full),
	T_CASE(test_select_table),
};

T_MAIN(cases)
