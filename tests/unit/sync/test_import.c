/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ct_shard_import() (lib/conntrack/ct_import.c): a connection taken over
 * from a failover peer continues with its next packets in its state, with
 * window tracking strict (be_liberal off) and mid-stream pickup off, where
 * a shard without it finds the same packets INVALID; no NEW is reported,
 * its end is; refusals, each with its errno. An SCTP association goes
 * through conntrackd's wire format first: its state and verification tags
 * reach the shard, which checks the next packets against them.
 */
#include <errno.h>
#include <netinet/in.h>

#include "ct_import.h"
#include "dpct_test.h"
#include "sync.h"

static const uint8_t A4[4] = { 10, 0, 0, 1 }, B4[4] = { 192, 0, 2, 7 };

struct frame {
	uint8_t b[128];
	uint32_t n;
};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Ethernet and a 20-byte IPv4 header of `l4len` bytes of `proto`; the L4 header's start. */
static uint8_t *
eth_ip4(struct frame *f, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint16_t l4len)
{
	uint8_t *ip = f->b + 14;

	memset(f->b, 0, sizeof(f->b));
	f->b[0] = 2, f->b[6] = 2, f->b[11] = 1;
	put16(f->b + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4len));
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	f->n = 14 + 20 + l4len;
	return ip + 20;
}

/* Ethernet + IPv4 + TCP without options or payload (checksums not verified here). */
static void
tcp4(struct frame *f, const uint8_t *src, const uint8_t *dst, uint16_t sp, uint16_t dp,
     uint8_t flags, uint32_t seq, uint32_t ack)
{
	uint8_t *t = eth_ip4(f, src, dst, IPPROTO_TCP, 20);

	put16(t, sp);
	put16(t + 2, dp);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);
}

static struct ct_shard *
mkshard(uint32_t max)
{
	struct ct_conf c;
	char err[128];

	ct_conf_init(&c);
	c.max_entries = max;
	c.seed = 7;
	c.tcp_loose = false;
	c.tcp_be_liberal = false;
	c.invalid_policy = CT_INVALID_DROP;
	c.events_enabled = true;
	return ct_shard_create(&c, err, sizeof(err));
}

static uint8_t
feed(struct ct_shard *s, const struct frame *f, uint64_t now)
{
	struct ct_pkt p;
	uint8_t v;

	ct_parse(f->b, f->n, 0, &p);
	ct_process_burst(s, &p, 1, now, &v);
	return v;
}

/* A4:sport -> B4:dport of `proto`, zero but for its tuple. */
static struct ct_event_rec
rec_a_b(uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	r.orig.family = 4;
	r.orig.proto = proto;
	memcpy(r.orig.src, A4, 4);
	memcpy(r.orig.dst, B4, 4);
	r.orig.sport = sport;
	r.orig.dport = dport;
	return r;
}

static struct ct_event_rec
est_rec(void)
{
	struct ct_event_rec r = rec_a_b(IPPROTO_TCP, 40000, 443);

	r.status = CT_S_SEEN_REPLY | CT_S_ASSURED;
	r.tcp_state = CT_TCP_ESTABLISHED;
	r.timeout_s = 100;
	r.pkts[0] = 5, r.pkts[1] = 4, r.bytes[0] = 500, r.bytes[1] = 4000;
	r.tcp_wscale[0] = 7, r.tcp_wscale[1] = 7;
	return r;
}

/* Staged records since the last call: how many carried NEW, and the last one. */
static unsigned
drain(struct ct_shard *s, uint64_t now, unsigned *news, struct ct_event_rec *last)
{
	unsigned n, i;
	struct ct_event_rec *r = ct_shard_ev_peek(s, &n);

	*news = 0;
	for (i = 0; i < n; i++) {
		*news += (r[i].events & CT_EV_NEW) != 0;
		*last = r[i];
	}
	ct_shard_ev_commit(s, n, now);
	return n;
}

static int
test_import_continues(void)
{
	const uint64_t t0 = 1000000000ull;
	struct ct_shard *s = mkshard(1024), *plain = mkshard(1024);
	struct ct_event_rec r = est_rec(), got, last;
	struct ct_stats st;
	struct frame f;
	unsigned news;

	memset(&last, 0, sizeof(last));
	T_ASSERT(s != NULL && plain != NULL);
	T_EQ(ct_shard_import(s, &r, t0), 0);
	T_EQ(ct_shard_lookup(s, &r.orig, t0, &got), 0);
	T_EQ(got.tcp_state, CT_TCP_ESTABLISHED);
	T_EQ(got.status & (CT_S_ASSURED | CT_S_CONFIRMED), CT_S_ASSURED | CT_S_CONFIRMED);
	T_ASSERT(got.timeout_s >= 99 && got.timeout_s <= 100);
	T_UEQ(got.bytes[1], 4000);
	T_NE(got.id, 0);
	/* Mid-stream data both ways, sequence numbers the shard never saw. */
	tcp4(&f, A4, B4, 40000, 443, 0x18, 7777777, 123456);
	T_EQ(feed(s, &f, t0 + 1000), CT_V_PASS);
	T_EQ(feed(plain, &f, t0 + 1000), CT_V_DROP);       /* without the import: INVALID */
	tcp4(&f, B4, A4, 443, 40000, 0x10, 123456, 7777777);
	T_EQ(feed(s, &f, t0 + 2000), CT_V_PASS);
	ct_shard_stats(s, &st);
	T_EQ(st.invalid, 0);
	T_EQ(st.count, 1);
	T_EQ(ct_shard_lookup(s, &r.orig, t0 + 2000, &got), 0);
	T_EQ(got.tcp_state, CT_TCP_ESTABLISHED);
	T_UEQ(got.pkts[0], 6);
	/* Its end is reported; its start is not (the peer did that). */
	T_EQ(ct_shard_delete(s, &r.orig, t0 + 3000), 0);
	drain(s, t0 + 3000, &news, &last);
	T_EQ(news, 0);
	T_ASSERT(last.events & CT_EV_DESTROY);
	T_ASSERT(memcmp(&last.orig, &r.orig, sizeof(r.orig)) == 0);
	ct_shard_free(s);
	ct_shard_free(plain);
	return 0;
}

/* The synced remaining timeout, not the class's, decides the end. */
static int
test_import_timeout(void)
{
	const uint64_t t0 = 5000000000ull;
	struct ct_shard *s = mkshard(1024);
	struct ct_event_rec r = est_rec(), last;
	unsigned news, n = 0, i;

	memset(&last, 0, sizeof(last));
	T_ASSERT(s != NULL);
	r.timeout_s = 2;
	T_EQ(ct_shard_import(s, &r, t0), 0);
	for (i = 1; i <= 40 && n == 0; i++) {
		ct_shard_expire(s, t0 + i * 100000000ull, 64);
		n = drain(s, t0 + i * 100000000ull, &news, &last);
	}
	T_EQ(n, 1);
	T_ASSERT(last.events & CT_EV_DESTROY);
	T_ASSERT(i >= 20 && i <= 25);    /* 2 s, at the wheel's resolution */
	ct_shard_free(s);
	return 0;
}

static int
test_import_refusals(void)
{
	static const struct {
		const char *name;
		int want;
	} cases[] = {
		{ "same tuple again", -EEXIST },
		{ "the reply direction of it", -EEXIST },
		{ "source NAT", -ENOTSUP },
		{ "family 5", -EINVAL },
		{ "TCP state NONE", -EINVAL },
		{ "TCP state 10", -EINVAL },
		{ "second entry in a full shard", -ENOSPC },
	};
	struct ct_shard *s = mkshard(1);
	struct ct_event_rec r = est_rec();
	size_t i;

	T_ASSERT(s != NULL);
	T_EQ(ct_shard_import(s, &r, 1000), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ct_event_rec x = est_rec();
		int rc;

		switch (i) {
		case 1:
			memcpy(x.orig.src, B4, 4);
			memcpy(x.orig.dst, A4, 4);
			x.orig.sport = 443;
			x.orig.dport = 40000;
			break;
		case 2: x.status |= CT_S_SRC_NAT; x.orig.sport = 1; break;
		case 3: x.orig.family = 5; break;
		case 4: x.tcp_state = CT_TCP_NONE; x.orig.sport = 2; break;
		case 5: x.tcp_state = CT_TCP_MAX; x.orig.sport = 3; break;
		case 6: x.orig.sport = 4; break;
		}
		rc = ct_shard_import(s, &x, 2000);
		if (rc != cases[i].want) {
			printf("# %s: %d, want %d\n", cases[i].name, rc, cases[i].want);
			return 1;
		}
	}
	ct_shard_free(s);
	return 0;
}

/* Ethernet + IPv4 + SCTP with one DATA chunk (the CRC32c is not checked here). */
static void
sctp4(struct frame *f, const uint8_t *src, const uint8_t *dst, uint16_t sp, uint16_t dp,
      uint32_t vtag, uint32_t tsn)
{
	uint8_t *sh = eth_ip4(f, src, dst, IPPROTO_SCTP, 12 + 20), *ch = sh + 12;

	put16(sh, sp);
	put16(sh + 2, dp);
	put32(sh + 4, vtag);
	ch[0] = 0;          /* DATA */
	ch[1] = 0x03;       /* B and E: one whole message */
	put16(ch + 2, 20);
	put32(ch + 4, tsn);
	ch[16] = 'x';       /* stream 0, sequence 0, PPID 0, one byte */
}

static void
take_entry(void *arg, const struct sync_msg *m)
{
	if (m->data)
		*(struct sync_entry *)arg = m->e;
}

static int
test_import_sctp(void)
{
	const uint64_t t0 = 1000000000ull;
	struct ct_shard *s = mkshard(1024);
	struct ct_event_rec r = rec_a_b(IPPROTO_SCTP, 36412, 38412), in, got;
	struct sync_rx_errors err = { 0 };
	struct sync_entry e;
	uint8_t buf[SYNC_MSG_MAX];
	struct frame f;
	int len;

	T_ASSERT(s != NULL);
	/* An established association, as the primary reports it. */
	r.status = CT_S_SEEN_REPLY | CT_S_ASSURED | CT_S_CONFIRMED;
	r.tcp_state = 4;    /* SCTP_CONNTRACK_ESTABLISHED */
	r.sctp_vtag[0] = 0x11223344;
	r.sctp_vtag[1] = 0x55667788;
	r.timeout_s = 200;
	/* conntrackd's format alone (no dpct extension), as a conntrackd peer sends it. */
	len = sync_encode_rec(&r, 1, 0, false, buf, sizeof(buf));
	T_ASSERT(len > 0);
	memset(&e, 0, sizeof(e));
	T_EQ(sync_parse(buf, (size_t)len, take_entry, &e, &err), 1);
	T_EQ(e.tcp_state, 4);
	T_UEQ(e.sctp_vtag[0], 0x11223344);
	T_UEQ(e.sctp_vtag[1], 0x55667788);
	/* The backup's promotion makes a record of it (app/dpct/ha_cache.c). */
	memset(&in, 0, sizeof(in));
	in.orig = e.orig;
	in.reply = e.reply;
	in.status = (uint16_t)e.status;
	in.tcp_state = e.tcp_state;
	in.sctp_vtag[0] = e.sctp_vtag[0];
	in.sctp_vtag[1] = e.sctp_vtag[1];
	in.timeout_s = e.timeout_s;
	T_EQ(ct_shard_import(s, &in, t0), 0);
	T_EQ(ct_shard_lookup(s, &r.orig, t0, &got), 0);
	T_EQ(got.tcp_state, 4);
	T_UEQ(got.sctp_vtag[0], 0x11223344);
	T_UEQ(got.sctp_vtag[1], 0x55667788);
	/* Each direction's next DATA with its tag (vtag[dir], as Linux keeps them): both pass. */
	sctp4(&f, A4, B4, 36412, 38412, 0x11223344, 1000);
	T_EQ(feed(s, &f, t0 + 1000), CT_V_PASS);
	sctp4(&f, B4, A4, 38412, 36412, 0x55667788, 2000);
	T_EQ(feed(s, &f, t0 + 2000), CT_V_PASS);
	/* A wrong tag is not of this association: INVALID, dropped. */
	sctp4(&f, A4, B4, 36412, 38412, 0xdeadbeef, 1001);
	T_EQ(feed(s, &f, t0 + 3000), CT_V_DROP);
	T_EQ(ct_shard_lookup(s, &r.orig, t0 + 3000, &got), 0);
	T_EQ(got.tcp_state, 4);
	ct_shard_free(s);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_import_sctp),
	T_CASE(test_import_continues),
	T_CASE(test_import_timeout),
	T_CASE(test_import_refusals),
};

T_MAIN(cases)
