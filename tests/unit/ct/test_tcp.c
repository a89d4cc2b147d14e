/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP tracker against Linux: the state table, the flag classes and the
 * valid flag combinations compared with values typed here from
 * net/netfilter/nf_conntrack_proto_tcp.c (independently of ct_tcp.c), and
 * whole connections driven through the tracker ops, with the shard's part
 * (SEEN_REPLY after an accepted reply packet, clearing `pending` once the
 * event is staged) simulated here.
 */

#include <stdint.h>
#include <string.h>

#include "ct_private.h"
#include "ct_tcp_window.h"
#include "dpct_test.h"

enum { FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20, ECE = 0x40,
       CWR = 0x80 };

/*
 * Linux tcp_conntracks[2][6][10], row by row, spelled with Linux's short
 * names: "NO SS SR ES FW CW LA TW CL S2", IV = invalid, IG = ignore.
 */
static const char *const linux_rows[2][6] = {
	{
		/* ORIGINAL     sNO sSS sSR sES sFW sCW sLA sTW sCL sS2 */
		/* syn    */ "SS SS IG IG IG IG IG SS SS S2",
		/* synack */ "IV IV SR IV IV IV IV IV IV SR",
		/* fin    */ "IV IV FW FW LA LA LA TW CL IV",
		/* ack    */ "ES IV ES ES CW CW TW TW CL IV",
		/* rst    */ "IV CL CL CL CL CL CL CL CL CL",
		/* none   */ "IV IV IV IV IV IV IV IV IV IV",
	},
	{
		/* REPLY        sNO sSS sSR sES sFW sCW sLA sTW sCL sS2 */
		/* syn    */ "IV S2 IV IV IV IV IV SS IV S2",
		/* synack */ "IV SR IG IG IG IG IG IG IG SR",
		/* fin    */ "IV IV FW FW LA LA LA TW CL IV",
		/* ack    */ "IV IG SR ES CW CW TW TW CL IG",
		/* rst    */ "IV CL CL CL CL CL CL CL CL CL",
		/* none   */ "IV IV IV IV IV IV IV IV IV IV",
	},
};

static int
short_name(const char *s)
{
	static const char *const names[] = { "NO", "SS", "SR", "ES", "FW", "CW", "LA", "TW", "CL",
					     "S2" };
	unsigned i;

	if (s[0] == 'I' && s[1] == 'V')
		return CT_TCP_IV;
	if (s[0] == 'I' && s[1] == 'G')
		return CT_TCP_IG;
	for (i = 0; i < 10; i++)
		if (s[0] == names[i][0] && s[1] == names[i][1])
			return (int)i;
	return -1;
}

static int
test_table_matches_linux(void)
{
	unsigned dir, pc, st, checked = 0;

	for (dir = 0; dir < 2; dir++)
		for (pc = 0; pc < CT_TCP_PC_MAX; pc++) {
			const char *row = linux_rows[dir][pc];

			T_EQ(strlen(row), 29);
			for (st = 0; st < CT_TCP_MAX; st++) {
				int want = short_name(row + 3 * st);

				T_ASSERT(want >= 0);
				if (ct_tcp_table[dir][pc][st] != want)
					T_FAIL_("dir %u class %u state %s: got %u want %d", dir, pc,
						ct_tcp_state_name(st), ct_tcp_table[dir][pc][st],
						want);
				checked++;
			}
		}
	T_EQ(checked, 2 * 6 * 10);
	return 0;
}

/* Linux get_conntrack_index(), written from its definition over the bits. */
static unsigned
linux_index(uint8_t f)
{
	int rst = !!(f & RST), syn = !!(f & SYN), fin = !!(f & FIN), ack = !!(f & ACK);

	if (rst)
		return CT_TCP_PC_RST;
	if (syn)
		return ack ? CT_TCP_PC_SYNACK : CT_TCP_PC_SYN;
	if (fin)
		return CT_TCP_PC_FIN;
	if (ack)
		return CT_TCP_PC_ACK;
	return CT_TCP_PC_NONE;
}

static int
test_pkt_class_all_flags(void)
{
	unsigned f;

	for (f = 0; f < 256; f++)
		if (ct_tcp_pkt_class((uint8_t)f) != linux_index((uint8_t)f))
			T_FAIL_("flags 0x%02x: class %u want %u", f, ct_tcp_pkt_class((uint8_t)f),
				linux_index((uint8_t)f));
	/* A few spelled out. */
	T_EQ(ct_tcp_pkt_class(SYN | RST), CT_TCP_PC_RST);
	T_EQ(ct_tcp_pkt_class(SYN | FIN), CT_TCP_PC_SYN);
	T_EQ(ct_tcp_pkt_class(FIN | ACK), CT_TCP_PC_FIN);
	T_EQ(ct_tcp_pkt_class(PSH), CT_TCP_PC_NONE);
	return 0;
}

static int
test_flags_invalid_all(void)
{
	/* Linux tcp_valid_flags[] entries (after masking PSH, ECE, CWR). */
	static const uint8_t valid[] = { SYN, SYN | URG, SYN | ACK, RST, RST | ACK, FIN | ACK,
					 FIN | ACK | URG, ACK, ACK | URG };
	unsigned f, i, n_valid = 0;

	for (f = 0; f < 256; f++) {
		uint8_t m = (uint8_t)(f & ~(PSH | ECE | CWR));
		int want_invalid = 1;

		for (i = 0; i < sizeof(valid); i++)
			if (m == valid[i])
				want_invalid = 0;
		n_valid += !want_invalid;
		if (!!ct_tcp_flags_invalid((uint8_t)f) != want_invalid)
			T_FAIL_("flags 0x%02x: invalid=%d want %d", f,
				ct_tcp_flags_invalid((uint8_t)f), want_invalid);
	}
	T_EQ(n_valid, 9 * 8);
	/* The classic scans are invalid: NULL, FIN alone, XMAS, SYN|FIN, SYN|RST. */
	T_ASSERT(ct_tcp_flags_invalid(0));
	T_ASSERT(ct_tcp_flags_invalid(FIN));
	T_ASSERT(ct_tcp_flags_invalid(FIN | PSH | URG));
	T_ASSERT(ct_tcp_flags_invalid(SYN | FIN));
	T_ASSERT(ct_tcp_flags_invalid(SYN | RST));
	T_ASSERT(!ct_tcp_flags_invalid(SYN | ECE | CWR));
	return 0;
}

static int
test_timeout_class_per_state(void)
{
	T_EQ(ct_tcp_timeout_class(CT_TCP_SYN_SENT), CT_TO_TCP_SYN_SENT);
	T_EQ(ct_tcp_timeout_class(CT_TCP_SYN_RECV), CT_TO_TCP_SYN_RECV);
	T_EQ(ct_tcp_timeout_class(CT_TCP_ESTABLISHED), CT_TO_TCP_ESTABLISHED);
	T_EQ(ct_tcp_timeout_class(CT_TCP_FIN_WAIT), CT_TO_TCP_FIN_WAIT);
	T_EQ(ct_tcp_timeout_class(CT_TCP_CLOSE_WAIT), CT_TO_TCP_CLOSE_WAIT);
	T_EQ(ct_tcp_timeout_class(CT_TCP_LAST_ACK), CT_TO_TCP_LAST_ACK);
	T_EQ(ct_tcp_timeout_class(CT_TCP_TIME_WAIT), CT_TO_TCP_TIME_WAIT);
	T_EQ(ct_tcp_timeout_class(CT_TCP_CLOSE), CT_TO_TCP_CLOSE);
	T_EQ(ct_tcp_timeout_class(CT_TCP_SYN_SENT2), CT_TO_TCP_SYN_SENT2);
	T_EQ(ct_tcp_timeout_class(CT_TCP_NONE), CT_TO_TCP_CLOSE);
	T_EQ(ct_tcp_timeout_class(200), CT_TO_TCP_CLOSE);
	/* Defaults are Linux's. */
	T_EQ(ct_timeout_default_s(CT_TO_TCP_ESTABLISHED), 432000);
	T_EQ(ct_timeout_default_s(CT_TO_TCP_SYN_RECV), 60);
	T_EQ(ct_timeout_default_s(CT_TO_TCP_TIME_WAIT), 120);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Connections through the ops                                               */

struct conn {
	struct ct_conf conf;
	struct ct_entry e;
	struct ct_tw_cold x;    /* the entry's cold TCP state */
	uint8_t cls;            /* timeout class in force */
	unsigned n_assured;     /* ASSURED events raised */
	unsigned n_protoinfo;
	uint8_t last_pending;   /* pending bits raised by the last packet */
};

static void
mkpkt(struct ct_pkt *p, uint8_t flags)
{
	memset(p, 0, sizeof(*p));
	p->tuple.family = 4;
	p->tuple.proto = 6;
	p->tuple.src[0] = 10;
	p->tuple.dst[0] = 10;
	p->tuple.dst[3] = 2;
	p->tuple.sport = 40000;
	p->tuple.dport = 80;
	p->tcp_flags = flags;
	p->tcp_win = 65535;
	p->cls = CT_PKT_TRACK;
}

/* @return 0 created, else the reason new_conn gave. */
static int
conn_open(struct conn *c, int loose, uint8_t flags)
{
	struct ct_pkt p;
	int rc;

	memset(c, 0, sizeof(*c));
	ct_conf_init(&c->conf);
	c->conf.tcp_loose = loose != 0;
	/*
	 * These walk the state table with sequence numbers all 0: window
	 * tracking is liberal here; test_tcp_window.c drives it.
	 */
	c->conf.tcp_be_liberal = true;
	mkpkt(&p, flags);
	c->e.key = p.tuple;
	rc = ct_tcp_new(&c->conf, &c->e, &c->x, &p, &c->cls);
	c->e.status = CT_S_CONFIRMED;
	return rc;
}

/* One packet; does what the shard does around the tracker. */
static enum ct_l4_verdict
conn_pkt_sa(struct conn *c, enum ct_dir dir, uint8_t flags, uint32_t seq, uint32_t ack)
{
	struct ct_pkt p;
	enum ct_l4_verdict v;
	uint8_t cls = 0xee;

	mkpkt(&p, flags);
	p.tcp_seq = seq;
	p.tcp_ack = ack;
	p.tcp_sack = ack;
	c->e.pending = 0;
	v = ct_tcp_packet(&c->conf, &c->e, &c->x, &p, dir, 0, &cls);
	c->last_pending = c->e.pending;
	if (c->e.pending & CT_EVI_ASSURED)
		c->n_assured++;
	if (c->e.pending & CT_EVI_PROTOINFO)
		c->n_protoinfo++;
	if (v == CT_L4_ACCEPT || v == CT_L4_KILL) {
		c->cls = cls;
		if (dir == CT_DIR_REPLY)
			c->e.status |= CT_S_SEEN_REPLY;
	} else if (v == CT_L4_IGNORE && dir == CT_DIR_REPLY) {
		/* Linux sets SEEN_REPLY for every reply packet the tracker lets through. */
		c->e.status |= CT_S_SEEN_REPLY;
	}
	return v;
}

static enum ct_l4_verdict
conn_pkt(struct conn *c, enum ct_dir dir, uint8_t flags)
{
	return conn_pkt_sa(c, dir, flags, 0, 0);
}

#define O CT_DIR_ORIG
#define R CT_DIR_REPLY

/*
 * Step: packet (with seq and ack), expected verdict and state, and whether
 * PROTOINFO must be raised: on every state change (Linux also changes state
 * with a SYN it does not count, e.g. the reply SYN of a simultaneous open).
 */
#define STEP_SA(c, dir, flags, seq, ack, verdict, state) do { \
	uint8_t old_ = (c)->e.tcp_state; \
	enum ct_l4_verdict v_ = conn_pkt_sa((c), (dir), (flags), (seq), (ack)); \
	T_EQ(v_, (verdict)); \
	T_STREQ(ct_tcp_state_name((c)->e.tcp_state), ct_tcp_state_name(state)); \
	T_EQ(!!((c)->last_pending & CT_EVI_PROTOINFO), old_ != (state)); \
} while (0)
#define STEP(c, dir, flags, verdict, state) STEP_SA(c, dir, flags, 0, 0, verdict, state)

static int
test_normal_open_close(void)
{
	struct conn c;

	T_EQ(conn_open(&c, 1, SYN), 0);
	T_EQ(c.e.tcp_state, CT_TCP_SYN_SENT);
	T_EQ(c.cls, CT_TO_TCP_SYN_SENT);
	T_EQ(c.e.tw_seen[CT_DIR_ORIG] & CT_TW_S_LIBERAL, 0);
	STEP(&c, R, SYN | ACK, CT_L4_ACCEPT, CT_TCP_SYN_RECV);
	T_EQ(c.cls, CT_TO_TCP_SYN_RECV);
	T_EQ(c.e.status & CT_S_ASSURED, 0);
	STEP(&c, O, ACK, CT_L4_ACCEPT, CT_TCP_ESTABLISHED);
	T_EQ(c.cls, CT_TO_TCP_ESTABLISHED);
	T_ASSERT(c.e.status & CT_S_ASSURED);
	T_ASSERT(c.last_pending & CT_EVI_ASSURED);
	STEP(&c, O, ACK | PSH, CT_L4_ACCEPT, CT_TCP_ESTABLISHED);
	STEP(&c, R, ACK | PSH, CT_L4_ACCEPT, CT_TCP_ESTABLISHED);
	STEP(&c, O, ACK, CT_L4_ACCEPT, CT_TCP_ESTABLISHED);
	T_EQ(c.last_pending, 0);
	STEP(&c, O, FIN | ACK, CT_L4_ACCEPT, CT_TCP_FIN_WAIT);
	T_ASSERT(c.e.tcp_flags & CT_TF_CLOSE_INIT_ORIG);
	T_EQ(c.e.tcp_flags & CT_TF_CLOSE_INIT_REPLY, 0);
	T_EQ(c.cls, CT_TO_TCP_FIN_WAIT);
	STEP(&c, R, ACK, CT_L4_ACCEPT, CT_TCP_CLOSE_WAIT);
	T_EQ(c.cls, CT_TO_TCP_CLOSE_WAIT);
	STEP(&c, R, FIN | ACK, CT_L4_ACCEPT, CT_TCP_LAST_ACK);
	T_EQ(c.cls, CT_TO_TCP_LAST_ACK);
	STEP(&c, O, ACK, CT_L4_ACCEPT, CT_TCP_TIME_WAIT);
	T_EQ(c.cls, CT_TO_TCP_TIME_WAIT);
	/* Retransmitted last ACK keeps TIME_WAIT. */
	STEP(&c, O, ACK, CT_L4_ACCEPT, CT_TCP_TIME_WAIT);
	T_EQ(c.n_assured, 1);
	/* SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT */
	T_EQ(c.n_protoinfo, 6);
	return 0;
}

static int
test_simultaneous_open(void)
{
	struct conn c;

	T_EQ(conn_open(&c, 1, SYN), 0);
	/* Linux changes the state but neither counts the SYN nor renews the timeout. */
	STEP(&c, R, SYN, CT_L4_IGNORE, CT_TCP_SYN_SENT2);
	/* Retransmitted SYNs from either side keep SYN_SENT2 (and now count). */
	STEP(&c, R, SYN, CT_L4_ACCEPT, CT_TCP_SYN_SENT2);
	STEP(&c, O, SYN, CT_L4_ACCEPT, CT_TCP_SYN_SENT2);
	STEP(&c, O, SYN | ACK, CT_L4_ACCEPT, CT_TCP_SYN_RECV);
	STEP(&c, R, SYN | ACK, CT_L4_IGNORE, CT_TCP_SYN_RECV);
	/* The table says SYN_RECV; the simultaneous-open rule makes it ESTABLISHED. */
	STEP(&c, R, ACK, CT_L4_ACCEPT, CT_TCP_ESTABLISHED);
	T_ASSERT(c.e.status & CT_S_ASSURED);
	T_EQ(c.n_assured, 1);
	STEP(&c, O, ACK, CT_L4_ACCEPT, CT_TCP_ESTABLISHED);
	T_EQ(c.n_assured, 1);
	return 0;
}

static int
test_no_simopen_reply_ack_stays_syn_recv(void)
{
	struct conn c;

	/* Without a simultaneous open a reply ACK in SYN_RECV answers a resent SYN. */
	T_EQ(conn_open(&c, 1, SYN), 0);
	STEP(&c, R, SYN | ACK, CT_L4_ACCEPT, CT_TCP_SYN_RECV);
	STEP(&c, R, ACK, CT_L4_ACCEPT, CT_TCP_SYN_RECV);
	T_EQ(c.e.status & CT_S_ASSURED, 0);
	return 0;
}

static int
establish(struct conn *c)
{
	T_EQ(conn_open(c, 1, SYN), 0);
	STEP(c, R, SYN | ACK, CT_L4_ACCEPT, CT_TCP_SYN_RECV);
	STEP(c, O, ACK, CT_L4_ACCEPT, CT_TCP_ESTABLISHED);
	return 0;
}

static int
test_simultaneous_close(void)
{
	struct conn c;

	T_EQ(establish(&c), 0);
	STEP(&c, O, FIN | ACK, CT_L4_ACCEPT, CT_TCP_FIN_WAIT);
	STEP(&c, R, FIN | ACK, CT_L4_ACCEPT, CT_TCP_LAST_ACK);
	/* Only the side that entered FIN_WAIT is marked as the initiator. */
	T_ASSERT(c.e.tcp_flags & CT_TF_CLOSE_INIT_ORIG);
	T_EQ(c.e.tcp_flags & CT_TF_CLOSE_INIT_REPLY, 0);
	STEP(&c, O, FIN | ACK, CT_L4_ACCEPT, CT_TCP_LAST_ACK);
	STEP(&c, O, ACK, CT_L4_ACCEPT, CT_TCP_TIME_WAIT);
	STEP(&c, R, ACK, CT_L4_ACCEPT, CT_TCP_TIME_WAIT);
	T_EQ(c.n_assured, 1);
	return 0;
}

static int
test_reply_side_closes_first(void)
{
	struct conn c;

	T_EQ(establish(&c), 0);
	STEP(&c, R, FIN | ACK, CT_L4_ACCEPT, CT_TCP_FIN_WAIT);
	T_ASSERT(c.e.tcp_flags & CT_TF_CLOSE_INIT_REPLY);
	T_EQ(c.e.tcp_flags & CT_TF_CLOSE_INIT_ORIG, 0);
	STEP(&c, O, ACK, CT_L4_ACCEPT, CT_TCP_CLOSE_WAIT);
	STEP(&c, O, FIN | ACK, CT_L4_ACCEPT, CT_TCP_LAST_ACK);
	STEP(&c, R, ACK, CT_L4_ACCEPT, CT_TCP_TIME_WAIT);
	return 0;
}

/* Drive a fresh connection into `st` (with a reply seen). */
static int
reach(struct conn *c, uint8_t st)
{
	if (st == CT_TCP_SYN_SENT)
		return conn_open(c, 1, SYN);
	if (st == CT_TCP_SYN_SENT2) {
		T_EQ(conn_open(c, 1, SYN), 0);
		STEP(c, R, SYN, CT_L4_IGNORE, CT_TCP_SYN_SENT2);
		return 0;
	}
	if (st == CT_TCP_SYN_RECV) {
		T_EQ(conn_open(c, 1, SYN), 0);
		STEP(c, R, SYN | ACK, CT_L4_ACCEPT, CT_TCP_SYN_RECV);
		return 0;
	}
	T_EQ(establish(c), 0);
	if (st == CT_TCP_ESTABLISHED)
		return 0;
	STEP(c, O, FIN | ACK, CT_L4_ACCEPT, CT_TCP_FIN_WAIT);
	if (st == CT_TCP_FIN_WAIT)
		return 0;
	STEP(c, R, ACK, CT_L4_ACCEPT, CT_TCP_CLOSE_WAIT);
	if (st == CT_TCP_CLOSE_WAIT)
		return 0;
	STEP(c, R, FIN | ACK, CT_L4_ACCEPT, CT_TCP_LAST_ACK);
	if (st == CT_TCP_LAST_ACK)
		return 0;
	STEP(c, O, ACK, CT_L4_ACCEPT, CT_TCP_TIME_WAIT);
	if (st == CT_TCP_TIME_WAIT)
		return 0;
	STEP(c, O, RST, CT_L4_ACCEPT, CT_TCP_CLOSE);
	return 0;
}

static int
test_rst_in_each_state(void)
{
	unsigned st, dir;

	for (st = CT_TCP_SYN_SENT; st < CT_TCP_MAX; st++)
		for (dir = 0; dir < 2; dir++) {
			struct conn c;
			enum ct_l4_verdict v;
			int seen;

			if (reach(&c, (uint8_t)st) != 0)
				T_FAIL_("could not reach %s", ct_tcp_state_name(st));
			T_EQ(c.e.tcp_state, st);
			seen = !!(c.e.status & CT_S_SEEN_REPLY);
			v = conn_pkt(&c, (enum ct_dir)dir, RST | ACK);
			T_EQ(c.e.tcp_state, CT_TCP_CLOSE);
			T_EQ(c.cls, CT_TO_TCP_CLOSE);
			/* Before any reply, a RST ends the entry right away. */
			if (v != (seen ? CT_L4_ACCEPT : CT_L4_KILL))
				T_FAIL_("RST dir %u in %s: verdict %d", dir, ct_tcp_state_name(st),
					v);
			T_EQ(!!(c.last_pending & CT_EVI_PROTOINFO), st != CT_TCP_CLOSE);
		}
	return 0;
}

static int
test_rst_answering_syn_kills(void)
{
	struct conn c;

	T_EQ(conn_open(&c, 1, SYN), 0);
	STEP(&c, R, RST | ACK, CT_L4_KILL, CT_TCP_CLOSE);
	return 0;
}

static int
test_syn_retransmit(void)
{
	struct conn c;

	T_EQ(conn_open(&c, 1, SYN), 0);
	/* Retransmitted SYNs before any reply: neither counted nor refreshing (Linux). */
	STEP(&c, O, SYN, CT_L4_IGNORE, CT_TCP_SYN_SENT);
	STEP(&c, O, SYN, CT_L4_IGNORE, CT_TCP_SYN_SENT);
	T_EQ(c.n_protoinfo, 0);
	T_EQ(c.cls, CT_TO_TCP_SYN_SENT);
	/* An ACK before the SYN/ACK is out of state; a reply ACK may be half-open: ignored. */
	STEP(&c, O, ACK, CT_L4_INVALID, CT_TCP_SYN_SENT);
	STEP(&c, R, ACK, CT_L4_IGNORE, CT_TCP_SYN_SENT);
	/* FIN before the handshake is invalid from either side. */
	STEP(&c, O, FIN | ACK, CT_L4_INVALID, CT_TCP_SYN_SENT);
	return 0;
}

static int
test_pickup_loose(void)
{
	struct conn c;

	T_EQ(conn_open(&c, 1, ACK), 0);
	T_EQ(c.e.tcp_state, CT_TCP_ESTABLISHED);
	T_ASSERT(c.e.tw_seen[CT_DIR_ORIG] & CT_TW_S_LIBERAL);
	/* No 5-day timeout before the other side answered. */
	T_EQ(c.cls, CT_TO_TCP_UNACK);
	STEP(&c, O, ACK | PSH, CT_L4_ACCEPT, CT_TCP_ESTABLISHED);
	T_EQ(c.cls, CT_TO_TCP_UNACK);
	/* The first reply: SEEN_REPLY is set only after it, so still not assured. */
	STEP(&c, R, ACK, CT_L4_ACCEPT, CT_TCP_ESTABLISHED);
	T_EQ(c.e.status & CT_S_ASSURED, 0);
	T_EQ(c.cls, CT_TO_TCP_UNACK);
	STEP(&c, O, ACK, CT_L4_ACCEPT, CT_TCP_ESTABLISHED);
	T_ASSERT(c.e.status & CT_S_ASSURED);
	T_EQ(c.cls, CT_TO_TCP_ESTABLISHED);
	T_EQ(c.n_assured, 1);
	T_EQ(c.n_protoinfo, 0);
	return 0;
}

static int
test_pickup_cap_follows_config(void)
{
	struct conn c;

	/* The cap applies only when ESTABLISHED is configured longer than UNACK. */
	memset(&c, 0, sizeof(c));
	ct_conf_init(&c.conf);
	c.conf.timeout_s[CT_TO_TCP_ESTABLISHED] = 100;
	{
		struct ct_pkt p;

		mkpkt(&p, ACK);
		T_EQ(ct_tcp_new(&c.conf, &c.e, &c.x, &p, &c.cls), 0);
	}
	T_EQ(c.cls, CT_TO_TCP_ESTABLISHED);
	return 0;
}

static int
test_pickup_strict_and_bad_first_packets(void)
{
	struct conn c;

	T_EQ(conn_open(&c, 0, ACK), CT_INV_STATE);
	T_EQ(conn_open(&c, 0, SYN), 0);
	/* Neither with nor without loose pickup do these create entries. */
	T_EQ(conn_open(&c, 1, SYN | ACK), CT_INV_STATE);
	T_EQ(conn_open(&c, 1, FIN | ACK), CT_INV_STATE);
	T_EQ(conn_open(&c, 1, RST), CT_INV_STATE);
	T_EQ(conn_open(&c, 1, RST | ACK), CT_INV_STATE);
	T_EQ(conn_open(&c, 0, SYN | ACK), CT_INV_STATE);
	return 0;
}

static int
test_reopen_from_time_wait(void)
{
	struct conn c;

	T_EQ(reach(&c, CT_TCP_TIME_WAIT), 0);
	T_EQ(conn_pkt(&c, O, SYN), CT_L4_REOPEN);
	T_EQ(c.e.tcp_state, CT_TCP_TIME_WAIT);
	/* The server may reopen with the roles switched. */
	T_EQ(reach(&c, CT_TCP_TIME_WAIT), 0);
	T_EQ(conn_pkt(&c, R, SYN), CT_L4_REOPEN);
	/* A new entry from that SYN starts over in SYN_SENT. */
	T_EQ(conn_open(&c, 1, SYN), 0);
	T_EQ(c.e.tcp_state, CT_TCP_SYN_SENT);
	return 0;
}

static int
test_reopen_from_close(void)
{
	struct conn c;

	/* Aborted by the client's RST: the client's next SYN reopens. */
	T_EQ(establish(&c), 0);
	STEP(&c, O, RST, CT_L4_ACCEPT, CT_TCP_CLOSE);
	T_EQ(conn_pkt(&c, O, SYN), CT_L4_REOPEN);
	/* Aborted by the server's RST, no close initiated: the client's SYN is ignored. */
	T_EQ(establish(&c), 0);
	STEP(&c, R, RST, CT_L4_ACCEPT, CT_TCP_CLOSE);
	STEP(&c, O, SYN, CT_L4_IGNORE, CT_TCP_CLOSE);
	/* A server SYN in CLOSE is invalid. */
	STEP(&c, R, SYN, CT_L4_INVALID, CT_TCP_CLOSE);
	return 0;
}

static int
test_syn_in_established_ignored_and_resync(void)
{
	struct conn c;

	T_EQ(establish(&c), 0);
	/* A new SYN on a connection we think is established: ignored, no refresh. */
	STEP_SA(&c, O, SYN, 5000, 0, CT_L4_IGNORE, CT_TCP_ESTABLISHED);
	/* A SYN/ACK acking something else does not resynchronise. */
	STEP_SA(&c, R, SYN | ACK, 9000, 4000, CT_L4_IGNORE, CT_TCP_ESTABLISHED);
	STEP_SA(&c, O, SYN, 5000, 0, CT_L4_IGNORE, CT_TCP_ESTABLISHED);
	/* The server answers it (ack = the SYN's end): the peers restarted, follow them. */
	STEP_SA(&c, R, SYN | ACK, 9000, 5001, CT_L4_ACCEPT, CT_TCP_SYN_RECV);
	T_EQ(c.e.tw_end[CT_DIR_ORIG], 5001);
	T_EQ(c.e.tw_end[CT_DIR_REPLY], 9001);
	STEP(&c, O, ACK, CT_L4_ACCEPT, CT_TCP_ESTABLISHED);
	/* A SYN/ACK without a preceding ignored SYN stays ignored. */
	STEP(&c, R, SYN | ACK, CT_L4_IGNORE, CT_TCP_ESTABLISHED);
	T_EQ(c.n_assured, 1);
	return 0;
}

static int
test_challenge_ack_in_last_ack(void)
{
	struct conn c;

	T_EQ(reach(&c, CT_TCP_LAST_ACK), 0);
	/* RFC 5961: a SYN in LAST_ACK draws a challenge ACK that must not close. */
	STEP(&c, O, SYN, CT_L4_IGNORE, CT_TCP_LAST_ACK);
	STEP(&c, R, ACK, CT_L4_IGNORE, CT_TCP_LAST_ACK);
	/* The real last ACK still closes. */
	STEP(&c, R, ACK, CT_L4_ACCEPT, CT_TCP_TIME_WAIT);
	return 0;
}

static int
test_invalid_leaves_state(void)
{
	struct conn c;
	uint8_t flags_before;

	T_EQ(reach(&c, CT_TCP_SYN_SENT2), 0);
	flags_before = c.e.tcp_flags;
	STEP(&c, O, ACK, CT_L4_INVALID, CT_TCP_SYN_SENT2);
	STEP(&c, O, FIN | ACK, CT_L4_INVALID, CT_TCP_SYN_SENT2);
	T_EQ(c.e.tcp_flags, flags_before);
	T_EQ(c.last_pending, 0);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_table_matches_linux),
	T_CASE(test_pkt_class_all_flags),
	T_CASE(test_flags_invalid_all),
	T_CASE(test_timeout_class_per_state),
	T_CASE(test_normal_open_close),
	T_CASE(test_simultaneous_open),
	T_CASE(test_no_simopen_reply_ack_stays_syn_recv),
	T_CASE(test_simultaneous_close),
	T_CASE(test_reply_side_closes_first),
	T_CASE(test_rst_in_each_state),
	T_CASE(test_rst_answering_syn_kills),
	T_CASE(test_syn_retransmit),
	T_CASE(test_pickup_loose),
	T_CASE(test_pickup_cap_follows_config),
	T_CASE(test_pickup_strict_and_bad_first_packets),
	T_CASE(test_reopen_from_time_wait),
	T_CASE(test_reopen_from_close),
	T_CASE(test_syn_in_established_ignored_and_resync),
	T_CASE(test_challenge_ack_in_last_ack),
	T_CASE(test_invalid_leaves_state),
};

T_MAIN(cases)
