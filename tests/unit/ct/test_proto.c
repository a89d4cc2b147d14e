/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SCTP and GRE trackers and what the parser gives them (and DCCP,
 * which Linux 6.16+ tracks generically). SCTP scenarios are tables of
 * packets, each built as a frame, parsed by ct_parse() and fed to the
 * tracker, with the verdict, state, ASSURED bit and timeout class Linux
 * 6.x (nf_conntrack_proto_sctp.c) gives them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ct_import.h"
#include "ct_private.h"
#include "dpct_test.h"

enum { O = CT_DIR_ORIG, R = CT_DIR_REPLY };

/* SCTP chunk types. */
enum {
	DATA = 0, INIT = 1, INIT_ACK = 2, SACK = 3, HB = 4, HB_ACK = 5, ABORT = 6,
	SHUT = 7, SHUT_ACK = 8, CE = 10, CA = 11, SHUT_COMP = 14,
	ZERO_LEN = 0x100,  /* a DATA chunk whose length field is 0 */
	T_BIT = 0x200,     /* with the chunk's T flag */
	END = 0xffff,
};

#define TC 0x11111111u  /* the client's tag: what packets to the client carry */
#define TS 0x22222222u  /* the server's */

/* Expected outcome: new entry created, or a verdict on an existing one. */
enum { NEW_OK = 100, NEW_INV = 101 };

struct sctp_step {
	uint8_t dir;
	uint32_t vtag;
	uint16_t chunks[8];   /* END-terminated */
	uint8_t want;         /* NEW_OK, NEW_INV, or enum ct_l4_verdict */
	uint8_t state;        /* enum ct_sctp_state after the packet */
	uint8_t assured;
};

struct sctp_scenario {
	const char *name;
	struct sctp_step steps[12];
	unsigned n;
};

/* An IPv4 SCTP frame from dir: the common header with vtag, then the chunks. */
static uint32_t
sctp_frame(uint8_t *f, uint8_t dir, uint32_t vtag, const uint16_t *chunks)
{
	static const uint8_t cli[4] = { 10, 0, 0, 1 }, srv[4] = { 10, 0, 0, 2 };
	uint8_t *ip = f + 14, *l4 = ip + 20;
	uint32_t off = 12, i;

	memset(f, 0, 14 + 20 + 12);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[8] = 64;
	ip[9] = 132;
	memcpy(ip + 12, dir == O ? cli : srv, 4);
	memcpy(ip + 16, dir == O ? srv : cli, 4);
	l4[0] = dir == O ? 0x13 : 0x8e;  /* 5000 and 36412 */
	l4[1] = dir == O ? 0x88 : 0x3c;
	l4[2] = dir == O ? 0x8e : 0x13;
	l4[3] = dir == O ? 0x3c : 0x88;
	l4[4] = (uint8_t)(vtag >> 24);
	l4[5] = (uint8_t)(vtag >> 16);
	l4[6] = (uint8_t)(vtag >> 8);
	l4[7] = (uint8_t)vtag;
	for (i = 0; chunks[i] != END; i++) {
		uint8_t type = (uint8_t)chunks[i];
		uint16_t len = 4;

		memset(l4 + off, 0, 20);
		l4[off] = type;
		l4[off + 1] = (chunks[i] & T_BIT) ? 1 : 0;
		if (type == INIT || type == INIT_ACK) {
			/* The initiate tag: the sender's own. */
			uint32_t it = dir == O ? TC : TS;

			l4[off + 4] = (uint8_t)(it >> 24);
			l4[off + 5] = (uint8_t)(it >> 16);
			l4[off + 6] = (uint8_t)(it >> 8);
			l4[off + 7] = (uint8_t)it;
			len = 20;
		} else if (type == DATA) {
			len = 20;
		}
		if (chunks[i] & ZERO_LEN)
			len = 0;
		l4[off + 2] = (uint8_t)(len >> 8);
		l4[off + 3] = (uint8_t)len;
		off += len == 0 ? 4 : ((uint32_t)len + 3) & ~3u;
	}
	ip[2] = (uint8_t)((20 + off) >> 8);
	ip[3] = (uint8_t)(20 + off);
	return 14 + 20 + off;
}

#define C(...) { __VA_ARGS__, END }
#define HANDSHAKE \
	{ O, 0, C(INIT), NEW_OK, CT_SCTP_CLOSED, 0 }, \
	{ R, TC, C(INIT_ACK), CT_L4_ACCEPT, CT_SCTP_COOKIE_WAIT, 0 }, \
	{ O, TS, C(CE), CT_L4_ACCEPT, CT_SCTP_COOKIE_ECHOED, 0 }, \
	{ R, TC, C(CA), CT_L4_ACCEPT, CT_SCTP_ESTABLISHED, 1 }

static const struct sctp_scenario scenarios[] = {
	{ "association and SHUTDOWN from the client", {
		HANDSHAKE,
		{ O, TS, C(DATA), CT_L4_ACCEPT, CT_SCTP_ESTABLISHED, 1 },
		{ R, TC, C(SACK), CT_L4_ACCEPT, CT_SCTP_ESTABLISHED, 1 },
		{ O, TS, C(HB), CT_L4_ACCEPT, CT_SCTP_ESTABLISHED, 1 },
		{ R, TC, C(HB_ACK), CT_L4_ACCEPT, CT_SCTP_ESTABLISHED, 1 },
		{ O, TS, C(SHUT), CT_L4_ACCEPT, CT_SCTP_SHUTDOWN_SENT, 1 },
		{ R, TC, C(SHUT_ACK), CT_L4_ACCEPT, CT_SCTP_SHUTDOWN_ACK_SENT, 1 },
		{ O, TS, C(SHUT_COMP), CT_L4_ACCEPT, CT_SCTP_CLOSED, 1 } }, 11 },
	{ "SHUTDOWN from the server, SHUTDOWN_COMPLETE with the T bit", {
		HANDSHAKE,
		{ R, TC, C(SACK, SHUT), CT_L4_ACCEPT, CT_SCTP_SHUTDOWN_RECD, 1 },
		{ O, TS, C(SHUT_ACK), CT_L4_ACCEPT, CT_SCTP_SHUTDOWN_ACK_SENT, 1 },
		/* T set: the tag is the other direction's (TS), not this one's. */
		{ R, TC, C(SHUT_COMP | T_BIT), CT_L4_INVALID, CT_SCTP_SHUTDOWN_ACK_SENT, 1 },
		{ R, TS, C(SHUT_COMP | T_BIT), CT_L4_ACCEPT, CT_SCTP_CLOSED, 1 } }, 8 },
	{ "wrong verification tags", {
		HANDSHAKE,
		{ O, TS ^ 1, C(DATA), CT_L4_INVALID, CT_SCTP_ESTABLISHED, 1 },
		{ O, TC, C(DATA), CT_L4_INVALID, CT_SCTP_ESTABLISHED, 1 },
		{ R, TC ^ 1, C(ABORT), CT_L4_INVALID, CT_SCTP_ESTABLISHED, 1 },
		/* T set: the other direction's tag. */
		{ R, TC, C(ABORT | T_BIT), CT_L4_INVALID, CT_SCTP_ESTABLISHED, 1 },
		{ R, TS, C(ABORT | T_BIT), CT_L4_ACCEPT, CT_SCTP_CLOSED, 1 } }, 9 },
	{ "COOKIE_ECHO with another tag", {
		{ O, 0, C(INIT), NEW_OK, CT_SCTP_CLOSED, 0 },
		{ R, TC, C(INIT_ACK), CT_L4_ACCEPT, CT_SCTP_COOKIE_WAIT, 0 },
		{ O, TC, C(CE), CT_L4_INVALID, CT_SCTP_COOKIE_WAIT, 0 },
		{ O, TS, C(CE, DATA), CT_L4_ACCEPT, CT_SCTP_COOKIE_ECHOED, 0 } }, 4 },
	{ "INIT retransmitted: accepted, not refreshed", {
		{ O, 0, C(INIT), NEW_OK, CT_SCTP_CLOSED, 0 },
		{ O, 0, C(INIT), CT_L4_IGNORE, CT_SCTP_CLOSED, 0 },
		{ R, TC, C(INIT_ACK), CT_L4_ACCEPT, CT_SCTP_COOKIE_WAIT, 0 } }, 3 },
	{ "INIT with a tag", { { O, 7, C(INIT), NEW_INV, 0, 0 } }, 1 },
	{ "out of the blue ABORT", { { O, TS, C(ABORT), NEW_INV, 0, 0 } }, 1 },
	{ "out of the blue COOKIE_ACK", { { O, TS, C(CA), NEW_INV, 0, 0 } }, 1 },
	{ "DATA creates nothing", { { O, TS, C(DATA), NEW_INV, 0, 0 } }, 1 },
	{ "SHUTDOWN_ACK out of the blue: the answer carries its tag", {
		{ O, TS, C(SHUT_ACK), NEW_OK, CT_SCTP_SHUTDOWN_ACK_SENT, 0 },
		/* Linux keeps the tag for the reply direction: T must be clear. */
		{ R, TS, C(SHUT_COMP | T_BIT), CT_L4_INVALID, CT_SCTP_SHUTDOWN_ACK_SENT, 0 },
		{ R, TS, C(SHUT_COMP), CT_L4_ACCEPT, CT_SCTP_CLOSED, 0 } }, 3 },
	{ "a HEARTBEAT opens a secondary path", {
		{ O, TS, C(HB), NEW_OK, CT_SCTP_HEARTBEAT_SENT, 0 },
		{ R, TC, C(HB_ACK), CT_L4_ACCEPT, CT_SCTP_ESTABLISHED, 1 },
		{ O, TS, C(DATA), CT_L4_ACCEPT, CT_SCTP_ESTABLISHED, 1 },
		/* A restart's HEARTBEAT with a new tag passes unrefreshed; its ACK sets tags. */
		{ O, 0x33333333u, C(HB), CT_L4_IGNORE, CT_SCTP_ESTABLISHED, 1 },
		{ O, 0x33333333u, C(HB, DATA), CT_L4_INVALID, CT_SCTP_ESTABLISHED, 1 },
		{ R, 0x44444444u, C(HB_ACK), CT_L4_ACCEPT, CT_SCTP_ESTABLISHED, 1 },
		{ R, 0x44444444u, C(DATA), CT_L4_ACCEPT, CT_SCTP_ESTABLISHED, 1 } }, 7 },
	{ "Linux's basic checks", {
		HANDSHAKE,
		{ O, TS, C(DATA, CE), CT_L4_INVALID, CT_SCTP_ESTABLISHED, 1 },
		{ O, TS, C(DATA, SHUT_COMP), CT_L4_INVALID, CT_SCTP_ESTABLISHED, 1 },
		{ O, TS, C(DATA | ZERO_LEN), CT_L4_INVALID, CT_SCTP_ESTABLISHED, 1 },
		{ O, TS, C(SACK, DATA), CT_L4_ACCEPT, CT_SCTP_ESTABLISHED, 1 },
		{ O, TS, { END }, CT_L4_INVALID, CT_SCTP_ESTABLISHED, 1 } }, 9 },
	{ "INIT not alone", { { O, 0, C(INIT, DATA), NEW_INV, 0, 0 } }, 1 },
	{ "more state-changing chunks than the parser keeps", {
		HANDSHAKE,
		{ O, TS, C(HB, HB, HB, HB, HB, HB), CT_L4_ACCEPT, CT_SCTP_ESTABLISHED, 1 },
		{ O, TS, C(HB, HB, HB, HB, HB, HB, HB), CT_L4_INVALID, CT_SCTP_ESTABLISHED, 1 } },
	  6 },
};

static int
run_scenario(const struct sctp_scenario *sc)
{
	struct ct_conf conf;
	struct ct_entry e;
	uint8_t frame[256];
	unsigned i;

	ct_conf_init(&conf);
	memset(&e, 0, sizeof(e));
	for (i = 0; i < sc->n; i++) {
		const struct sctp_step *st = &sc->steps[i];
		struct ct_pkt p;
		uint8_t cls = 0xee;
		uint32_t len = sctp_frame(frame, st->dir, st->vtag, st->chunks);
		int got;

		if (ct_parse(frame, len, 0, &p) != CT_PKT_TRACK) {
			T_FAIL_("%s step %u: parse class %u reason %u", sc->name, i, p.cls,
				p.invalid_reason);
		}
		if (st->want == NEW_OK || st->want == NEW_INV) {
			memset(&e, 0, sizeof(e));
			got = ct_l4_sctp.new_conn(&conf, &e, &p, &cls) == 0 ? NEW_OK : NEW_INV;
		} else {
			got = ct_l4_sctp.packet(&conf, &e, &p, (enum ct_dir)st->dir, 0, &cls);
			/* The shard marks the reply seen after an accepted or ignored reply. */
			if (st->dir == R && (got == CT_L4_ACCEPT || got == CT_L4_IGNORE))
				e.status |= CT_S_SEEN_REPLY;
		}
		if (got != st->want)
			T_FAIL_("%s step %u: verdict %d, want %d", sc->name, i, got, st->want);
		if (got == NEW_INV)
			continue;
		if (e.tcp_state != st->state)
			T_FAIL_("%s step %u: state %s, want %s", sc->name, i,
				ct_sctp_state_name(e.tcp_state), ct_sctp_state_name(st->state));
		if (!!(e.status & CT_S_ASSURED) != st->assured)
			T_FAIL_("%s step %u: assured %d", sc->name, i, !st->assured);
		if ((got == NEW_OK || got == CT_L4_ACCEPT) &&
		    cls != ct_sctp_timeout_class(e.tcp_state))
			T_FAIL_("%s step %u: timeout %s", sc->name, i, ct_timeout_name(cls));
		if (got != NEW_OK && got != CT_L4_ACCEPT && cls != 0xee)
			T_FAIL_("%s step %u: refreshed on a verdict %d", sc->name, i, got);
	}
	return 0;
}

static int
test_sctp_scenarios(void)
{
	size_t i;

	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (run_scenario(&scenarios[i]) != 0)
			return 1;
	return 0;
}

/* The tags an association leaves in the entry, as CTA_PROTOINFO_SCTP reports them. */
static int
test_sctp_tags(void)
{
	const uint16_t init[] = C(INIT), init_ack[] = C(INIT_ACK);
	struct ct_conf conf;
	struct ct_entry e;
	struct ct_pkt p;
	uint8_t frame[128], cls;

	ct_conf_init(&conf);
	memset(&e, 0, sizeof(e));
	T_EQ(ct_parse(frame, sctp_frame(frame, O, 0, init), 0, &p), CT_PKT_TRACK);
	T_EQ(ct_l4_sctp.new_conn(&conf, &e, &p, &cls), 0);
	T_UEQ(e.sctp_vtag[CT_DIR_ORIG], 0);
	T_UEQ(e.sctp_vtag[CT_DIR_REPLY], TC);
	T_EQ(ct_parse(frame, sctp_frame(frame, R, TC, init_ack), 0, &p), CT_PKT_TRACK);
	T_EQ(ct_l4_sctp.packet(&conf, &e, &p, CT_DIR_REPLY, 0, &cls), CT_L4_ACCEPT);
	T_UEQ(e.sctp_vtag[CT_DIR_ORIG], TS);
	T_UEQ(e.sctp_vtag[CT_DIR_REPLY], TC);
	T_ASSERT(e.pending & CT_EVI_PROTOINFO);
	return 0;
}

/* The table itself: what every row and column must hold, whatever the cell. */
static int
test_sctp_table_shape(void)
{
	unsigned d, row, s;

	for (d = 0; d < 2; d++)
		for (row = 0; row < CT_SCTP_C_MAX; row++)
			for (s = 0; s < CT_SCTP_MAX; s++) {
				uint8_t v = ct_sctp_table[d][row][s];

				T_ASSERT(v == CT_SCTP_IV || (v > CT_SCTP_NONE && v < CT_SCTP_MAX));
				/* Nothing comes from the reply side of what does not exist. */
				if (d == CT_DIR_REPLY && (s == CT_SCTP_NONE ||
							  s == CT_SCTP_HEARTBEAT_SENT))
					T_ASSERT(v == CT_SCTP_IV ||
						 (s == CT_SCTP_HEARTBEAT_SENT &&
						  (row == CT_SCTP_C_HEARTBEAT ||
						   row == CT_SCTP_C_HEARTBEAT_ACK)));
				else if (row == CT_SCTP_C_ABORT)
					T_EQ(v, CT_SCTP_CLOSED);
			}
	T_EQ(ct_sctp_table[CT_DIR_REPLY][CT_SCTP_C_COOKIE_ACK][CT_SCTP_COOKIE_ECHOED],
	     CT_SCTP_ESTABLISHED);
	T_EQ(ct_sctp_table[CT_DIR_REPLY][CT_SCTP_C_ERROR][CT_SCTP_COOKIE_ECHOED], CT_SCTP_CLOSED);
	T_EQ(ct_sctp_timeout_class(CT_SCTP_NONE), CT_TO_SCTP_CLOSED);
	T_EQ(ct_timeout_default_s(CT_TO_SCTP_ESTABLISHED), 210);
	T_EQ(ct_timeout_default_s(CT_TO_SCTP_HEARTBEAT_SENT), 30);
	T_EQ(ct_timeout_default_s(CT_TO_SCTP_COOKIE_WAIT), 3);
	T_STREQ(ct_sctp_state_name(CT_SCTP_SHUTDOWN_ACK_SENT), "SHUTDOWN_ACK_SENT");
	T_STREQ(ct_sctp_state_name(CT_SCTP_MAX), "UNKNOWN");
	return 0;
}

/* An association taken over from a peer (HA) keeps its state and tags. */
static int
test_sctp_import(void)
{
	const uint16_t data[] = C(DATA);
	struct ct_event_rec r;
	struct ct_conf conf;
	struct ct_shard *s;
	struct ct_stats st;
	struct ct_pkt p;
	uint8_t frame[128], v;
	char err[128];

	ct_conf_init(&conf);
	conf.max_entries = 64;
	s = ct_shard_create(&conf, err, sizeof(err));
	T_ASSERT(s != NULL);
	memset(&r, 0, sizeof(r));
	T_EQ(ct_parse(frame, sctp_frame(frame, O, TS, data), 0, &p), CT_PKT_TRACK);
	r.orig = p.tuple;
	r.status = CT_S_SEEN_REPLY | CT_S_ASSURED;
	r.tcp_state = CT_SCTP_MAX;
	T_EQ(ct_shard_import(s, &r, 1000000000), -EINVAL);
	r.tcp_state = CT_SCTP_ESTABLISHED;
	r.sctp_vtag[CT_DIR_ORIG] = TS;
	r.sctp_vtag[CT_DIR_REPLY] = TC;
	T_EQ(ct_shard_import(s, &r, 1000000000), 0);
	T_EQ(ct_process_burst(s, &p, 1, 2000000000, &v), 1);
	T_EQ(v, CT_V_PASS);
	T_EQ(ct_parse(frame, sctp_frame(frame, R, TS, data), 0, &p), CT_PKT_TRACK);
	T_EQ(ct_process_burst(s, &p, 1, 2000000001, &v), 1);
	T_EQ(v, CT_V_DROP);
	ct_shard_stats(s, &st);
	T_EQ(st.found, 2);
	T_EQ(st.invalid, 1);
	ct_shard_free(s);
	return 0;
}

/* An SCTP first fragment cannot be tracked: its chunks are in the later fragments. */
static int
test_sctp_first_fragment(void)
{
	const uint16_t init[] = C(INIT);
	uint8_t frame[128];
	struct ct_pkt p;
	uint32_t len = sctp_frame(frame, O, 0, init);

	frame[14 + 6] = 0x20; /* MF */
	T_EQ(ct_parse(frame, len, 0, &p), CT_PKT_INVALID);
	T_EQ(p.invalid_reason, CT_INV_IP_FRAG);
	return 0;
}

/* An IPv4 frame of protocol `proto` carrying `l4`. */
static uint32_t
ip_frame(uint8_t *f, uint8_t proto, int reply, const uint8_t *l4, uint32_t l4len)
{
	static const uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };

	memset(f, 0, 34);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)((20 + l4len) >> 8);
	f[17] = (uint8_t)(20 + l4len);
	f[22] = 64;
	f[23] = proto;
	memcpy(f + 26, reply ? b : a, 4);
	memcpy(f + 30, reply ? a : b, 4);
	memcpy(f + 34, l4, l4len);
	return 34 + l4len;
}

/* GREv0 keys 0; PPTP's enhanced GRE its call ID (Linux without a keymap); not PPP: invalid. */
static int
test_gre_keys(void)
{
	const uint8_t v0[8] = { 0x20, 0x00, 0x08, 0x00, 0xaa, 0xbb, 0xcc, 0xdd };
	const uint8_t v1[12] = { 0x30, 0x01, 0x88, 0x0b, 0x00, 0x04, 0x12, 0x34, 0, 0, 0, 1 };
	const uint8_t v1ip[12] = { 0x30, 0x01, 0x08, 0x00, 0x00, 0x04, 0x12, 0x34, 0, 0, 0, 1 };
	uint8_t frame[128];
	struct ct_pkt p;

	T_EQ(ct_parse(frame, ip_frame(frame, 47, 0, v0, sizeof(v0)), 0, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.sport, 0);
	T_EQ(p.tuple.dport, 0);
	T_EQ(ct_parse(frame, ip_frame(frame, 47, 0, v0, 2), 0, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.dport, 0);
	T_EQ(ct_parse(frame, ip_frame(frame, 47, 0, v1, sizeof(v1)), 0, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.sport, 0);
	T_EQ(p.tuple.dport, 0x1234);
	T_EQ(ct_parse(frame, ip_frame(frame, 47, 0, v1ip, sizeof(v1ip)), 0, &p), CT_PKT_INVALID);
	T_EQ(p.invalid_reason, CT_INV_STATE);
	return 0;
}

/* An ICMP error quoting enhanced GRE relates to the flow keyed by its call ID. */
static int
test_gre_quoted(void)
{
	const uint8_t v1[8] = { 0x30, 0x01, 0x88, 0x0b, 0x00, 0x04, 0x12, 0x34 };
	uint8_t err[8 + 20 + 8] = { 3, 1 }, frame[128], quoted[128];
	struct ct_pkt p;

	/* The quoted packet: the GRE packet from 10.0.0.1 to 10.0.0.2, its IP header. */
	ip_frame(quoted, 47, 0, v1, sizeof(v1));
	memcpy(err + 8, quoted + 14, 20 + 8);
	T_EQ(ct_parse(frame, ip_frame(frame, 1, 1, err, sizeof(err)), 0, &p), CT_PKT_ICMP_ERROR);
	T_EQ(p.tuple.proto, 47);
	T_EQ(p.tuple.sport, 0);
	T_EQ(p.tuple.dport, 0x1234);
	err[8 + 20 + 3] = 0x00; /* not PPP: Linux has no tuple for it */
	T_EQ(ct_parse(frame, ip_frame(frame, 1, 1, err, sizeof(err)), 0, &p), CT_PKT_INVALID);
	T_EQ(p.invalid_reason, CT_INV_ICMP);
	return 0;
}

/* GRE: unreplied until the packet after a reply, then the stream timeout and ASSURED. */
static int
test_gre_tracker(void)
{
	const uint8_t v0[4] = { 0x00, 0x00, 0x08, 0x00 };
	struct ct_conf conf;
	struct ct_entry e;
	struct ct_pkt p;
	uint8_t frame[64], cls = 0xee;

	ct_conf_init(&conf);
	T_EQ(ct_timeout_default_s(CT_TO_GRE_UNREPLIED), 30);
	T_EQ(ct_timeout_default_s(CT_TO_GRE_STREAM), 180);
	memset(&e, 0, sizeof(e));
	T_EQ(ct_parse(frame, ip_frame(frame, 47, 0, v0, sizeof(v0)), 0, &p), CT_PKT_TRACK);
	T_ASSERT(ct_l4_get(47) == &ct_l4_gre);
	T_EQ(ct_l4_gre.new_conn(&conf, &e, &p, &cls), 0);
	T_EQ(cls, CT_TO_GRE_UNREPLIED);
	T_EQ(ct_l4_gre.packet(&conf, &e, &p, CT_DIR_ORIG, 0, &cls), CT_L4_ACCEPT);
	T_EQ(cls, CT_TO_GRE_UNREPLIED);
	/* The first reply: Linux sets SEEN_REPLY after the tracker ran. */
	T_EQ(ct_l4_gre.packet(&conf, &e, &p, CT_DIR_REPLY, 0, &cls), CT_L4_ACCEPT);
	T_EQ(cls, CT_TO_GRE_UNREPLIED);
	T_ASSERT(!(e.status & CT_S_ASSURED));
	e.status |= CT_S_SEEN_REPLY;
	T_EQ(ct_l4_gre.packet(&conf, &e, &p, CT_DIR_ORIG, 0, &cls), CT_L4_ACCEPT);
	T_EQ(cls, CT_TO_GRE_STREAM);
	T_ASSERT(e.status & CT_S_ASSURED);
	T_ASSERT(e.pending & CT_EVI_ASSURED);
	e.pending = 0;
	T_EQ(ct_l4_gre.packet(&conf, &e, &p, CT_DIR_REPLY, 0, &cls), CT_L4_ACCEPT);
	T_EQ(e.pending, 0);
	return 0;
}

/* DCCP: Linux 6.16+ has no DCCP tracker; the generic one keys it with ports 0. */
static int
test_dccp_generic(void)
{
	/* A REQUEST whose data offset is too small: Linux's old dccp_error() refused it. */
	const uint8_t req[20] = { 0x13, 0x88, 0x13, 0x8c, 0x01, 0x00, 0xde, 0xad, 0x01 };
	uint8_t frame[64];
	struct ct_pkt p;

	T_EQ(ct_parse(frame, ip_frame(frame, 33, 0, req, sizeof(req)), 0, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.sport, 0);
	T_EQ(p.tuple.dport, 0);
	T_ASSERT(ct_l4_get(33) == &ct_l4_other);
	/* The checksum (0xdead) is not checked. */
	T_EQ(ct_pkt_csum_verify(frame, 34 + sizeof(req), &p, CT_CSUM_L4), 0);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_sctp_scenarios),
	T_CASE(test_sctp_tags),
	T_CASE(test_sctp_table_shape),
	T_CASE(test_sctp_import),
	T_CASE(test_sctp_first_fragment),
	T_CASE(test_gre_keys),
	T_CASE(test_gre_quoted),
	T_CASE(test_gre_tracker),
	T_CASE(test_dccp_generic),
};

int
main(void)
{
	return t_run(cases, sizeof(cases) / sizeof(cases[0]));
}
