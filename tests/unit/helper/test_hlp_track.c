/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers on a shard (hlp_track.h): rules give a connection its helper,
 * commands in its payload make expectations, a new connection matching one
 * is created RELATED (CT_S_EXPECTED) with its master's id, and the
 * expectation's NEW and DESTROY records are staged, retried and freed by
 * their results.
 */

#include <arpa/inet.h>
#include <errno.h>

#include "ct_helper.h"
#include "dpct_test.h"
#include "hlp_track.h"

#define SEC UINT64_C(1000000000)
#define T0 (UINT64_C(1767225600) * SEC)

static struct ct_pkt
pkt(uint8_t proto, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	struct ct_pkt p;

	memset(&p, 0, sizeof(p));
	p.tuple.family = 4;
	p.tuple.proto = proto;
	inet_pton(AF_INET, src, p.tuple.src);
	inet_pton(AF_INET, dst, p.tuple.dst);
	p.tuple.sport = sport;
	p.tuple.dport = dport;
	p.cls = CT_PKT_TRACK;
	p.tcp_flags = proto == 6 ? 0x02 : 0;
	p.len = 64;
	p.hash = ct_tuple_hash(&p.tuple);
	return p;
}

static struct ct_shard *
shard(void)
{
	struct ct_conf c;
	char err[128];

	ct_conf_init(&c);
	c.max_entries = 1024;
	c.events_enabled = true;
	c.destroy_grace_ms = 1000;
	c.seed = 42;
	c.shard_count = 1;
	return ct_shard_create(&c, err, sizeof(err));
}

static struct hlp_track *
helpers(struct ct_shard *s, bool events)
{
	struct hlp_conf c;
	struct hlp_track *h;
	char err[128];

	memset(&c, 0, sizeof(c));
	c.max_expectations = 64;
	c.cls[0] = (struct hlp_exp_class){.timeout_s = 300, .max_expected = 1};
	c.cls[1] = (struct hlp_exp_class){.timeout_s = 300, .max_expected = 1};
	c.grace_ns = SEC;
	c.n_rules = 2;
	c.rules[0] = (struct hlp_rule){.helper = CT_EXP_HELPER_FTP, .port = 21, .any_zone = 1};
	c.rules[1] = (struct hlp_rule){.helper = CT_EXP_HELPER_TFTP, .port = 69, .family = 4,
				       .any_zone = 1};
	h = hlp_track_create(&c, s, err, sizeof(err));
	if (h == NULL)
		printf("# %s\n", err);
	else
		hlp_track_set_events(h, events);
	return h;
}

/* One packet through the shard; its info. */
static struct ct_pkt_info
track(struct ct_shard *s, struct ct_pkt p, uint64_t now)
{
	struct ct_pkt_info pi;
	uint8_t v;

	ct_process_burst_info(s, &p, 1, now, &v, &pi);
	return pi;
}

/* Staged records into out[]; every one accepted. */
static unsigned
take(struct ct_shard *s, struct ct_event_rec *out, unsigned max, uint64_t now)
{
	unsigned n, i;
	struct ct_event_rec *r = ct_shard_ev_peek(s, &n);

	for (i = 0; i < n && i < max; i++)
		out[i] = r[i];
	ct_shard_ev_commit(s, n, now);
	/* As the control core answers: every NEW taken by every listener. */
	for (i = 0; i < n && i < max; i++) {
		struct ct_result res = {.slot = out[i].slot, .id = out[i].id,
					.events = out[i].events, .kind = CT_RES_EXP_NEW_ACK};

		if ((out[i].flags & CT_REC_F_EXP) && (out[i].events & CT_EXP_EV_NEW))
			(void)ct_shard_apply_result(s, &res, now);
	}
	return n;
}

/* The expectation records among r[0..n), with events `ev`, into *out; how many. */
static unsigned
exp_recs(const struct ct_event_rec *r, unsigned n, uint16_t ev, struct ct_event_rec *out)
{
	unsigned i, k = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++)
		if ((r[i].flags & CT_REC_F_EXP) && r[i].events == ev) {
			if (k == 0)
				*out = r[i];
			k++;
		}
	return k;
}

static enum hlp_verdict
say(struct hlp_track *h, const struct ct_pkt_info *m, const struct ct_pkt *ctl, enum ct_dir d,
    uint32_t seq, const char *text, uint64_t now)
{
	struct ct_pkt p = *ctl;

	p.tcp_seq = seq;
	return hlp_track_payload(h, m->slot, m->id, &p, d, true, (const uint8_t *)text,
				 (uint32_t)strlen(text), now);
}

static void
ack(struct ct_shard *s, const struct ct_event_rec *r, uint8_t kind, uint64_t now)
{
	struct ct_result res = {.slot = r->slot, .id = r->id, .events = r->events, .kind = kind};

	ct_shard_apply_result(s, &res, now);
}

/* Passive FTP: 227 makes an expectation; the data connection is RELATED and ends it. */
static int
test_ftp_passive(void)
{
	struct ct_shard *s = shard();
	struct hlp_track *h;
	struct ct_event_rec rec[16], x = {0}, y = {0};
	struct hlp_track_stats st;
	struct ct_pkt ctl = pkt(6, "10.0.0.1", "10.0.0.2", 40000, 21), data;
	struct ct_pkt_info m, d;
	const char *banner = "220 hi\r\n";
	unsigned n;

	T_ASSERT(s != NULL);
	h = helpers(s, true);
	T_ASSERT(h != NULL);
	m = track(s, ctl, T0);
	T_ASSERT(hlp_track_helped(h, m.slot, m.id));
	T_ASSERT(!hlp_track_expected(h, m.slot, m.id));
	take(s, rec, 16, T0);
	/* The banner sets a line start; the 227 after it is read. */
	T_EQ(say(h, &m, &ctl, CT_DIR_REPLY, 5000, banner, T0), HLP_PASS);
	T_EQ(say(h, &m, &ctl, CT_DIR_REPLY, 5000 + 8,
		 "227 Entering Passive Mode (10,0,0,2,195,80).\r\n", T0), HLP_EXPECT);
	hlp_track_stats(h, &st);
	T_EQ(st.exp.live, 1);
	T_EQ(st.cmds, 1);
	n = take(s, rec, 16, T0);
	T_EQ(exp_recs(rec, n, CT_EXP_EV_NEW, &x), 1);
	T_EQ(x.orig.dport, 50000);
	T_EQ(x.orig.sport, 0);
	T_MEMEQ(x.orig.src, ctl.tuple.src, 4);
	T_MEMEQ(x.orig.dst, ctl.tuple.dst, 4);
	T_EQ(x.master_id, m.id);
	T_MEMEQ(&x.reply, &ctl.tuple, sizeof(ctl.tuple));
	T_EQ(x.exp_helper, CT_EXP_HELPER_FTP);
	T_EQ(x.timeout_s, 300);
	/* Another port of the server is not expected. */
	d = track(s, pkt(6, "10.0.0.1", "10.0.0.2", 45000, 50001), T0 + SEC);
	T_ASSERT(!hlp_track_expected(h, d.slot, d.id));
	/* The data connection: RELATED, its NEW says so, the expectation ends. */
	data = pkt(6, "10.0.0.1", "10.0.0.2", 45001, 50000);
	d = track(s, data, T0 + SEC);
	T_ASSERT(hlp_track_expected(h, d.slot, d.id));
	T_ASSERT(!hlp_track_helped(h, d.slot, d.id));
	n = take(s, rec, 16, T0 + SEC);
	T_EQ(exp_recs(rec, n, CT_EXP_EV_DESTROY, &y), 1);
	T_EQ(y.id, x.id);
	T_EQ(y.slot, x.slot);
	T_ASSERT(ct_shard_lookup(s, &data.tuple, T0 + SEC, &x) == 0);
	T_ASSERT(x.status & CT_S_EXPECTED);
	hlp_track_stats(h, &st);
	T_EQ(st.exp.live, 0);
	T_EQ(st.exp.confirmed, 1);
	T_EQ(st.related, 1);
	/* Dying until its DESTROY is acknowledged; a second match finds nothing. */
	T_EQ(st.exp.dying, 1);
	d = track(s, pkt(6, "10.0.0.1", "10.0.0.2", 45002, 50000), T0 + SEC);
	T_ASSERT(!hlp_track_expected(h, d.slot, d.id));
	ack(s, &y, CT_RES_EXP_DESTROY_ACK, T0 + SEC);
	hlp_track_stats(h, &st);
	T_EQ(st.exp.dying, 0);
	hlp_track_free(h);
	ct_shard_free(s);
	return 0;
}

/* max_expected 1 evicts the older; a master that ends takes its expectation along. */
static int
test_evict_and_master_end(void)
{
	struct ct_shard *s = shard();
	struct hlp_track *h = helpers(s, true);
	struct ct_event_rec rec[16], x = {0};
	struct hlp_track_stats st;
	struct ct_pkt ctl = pkt(6, "10.0.0.1", "10.0.0.2", 40000, 21);
	const char *port1 = "PORT 10,0,0,1,4,1\r\n", *port2 = "PORT 10,0,0,1,4,2\r\n";
	struct ct_pkt_info m;
	uint32_t seq = 100;
	unsigned n;

	T_ASSERT(h != NULL);
	m = track(s, ctl, T0);
	say(h, &m, &ctl, CT_DIR_ORIG, seq, "USER a\r\n", T0);
	seq += 8;
	T_EQ(say(h, &m, &ctl, CT_DIR_ORIG, seq, port1, T0), HLP_EXPECT);
	seq += (uint32_t)strlen(port1);
	take(s, rec, 16, T0);
	T_EQ(say(h, &m, &ctl, CT_DIR_ORIG, seq, port2, T0), HLP_EXPECT);
	n = take(s, rec, 16, T0);
	T_EQ(exp_recs(rec, n, CT_EXP_EV_DESTROY, &x), 1);
	T_EQ(x.orig.dport, 1025);
	T_EQ(exp_recs(rec, n, CT_EXP_EV_NEW, &x), 1);
	T_EQ(x.orig.dport, 1026);
	/* Active mode: from the server, any port, to the client's. */
	T_MEMEQ(x.orig.src, ctl.tuple.dst, 4);
	hlp_track_stats(h, &st);
	T_EQ(st.exp.evicted, 1);
	T_EQ(st.exp.live, 1);
	/* The master ends: its expectation with it. */
	T_EQ(ct_shard_delete(s, &ctl.tuple, T0 + SEC), 0);
	n = take(s, rec, 16, T0 + SEC);
	T_EQ(exp_recs(rec, n, CT_EXP_EV_DESTROY, &x), 1);
	T_EQ(x.orig.dport, 1026);
	hlp_track_stats(h, &st);
	T_EQ(st.exp.live, 0);
	T_EQ(st.exp.removed, 1);
	T_EQ(st.exp.dying, 2);
	hlp_track_free(h);
	ct_shard_free(s);
	return 0;
}

/* Expiry; a refused DESTROY resent after the grace; a NEW the ring refused retried. */
static int
test_expiry_and_retries(void)
{
	struct ct_shard *s = shard();
	struct hlp_track *h = helpers(s, true);
	struct ct_event_rec rec[16], x = {0};
	struct hlp_track_stats st;
	struct ct_pkt ctl = pkt(6, "10.0.0.1", "10.0.0.2", 40000, 21);
	struct ct_pkt_info m;
	unsigned n;

	T_ASSERT(h != NULL);
	m = track(s, ctl, T0);
	take(s, rec, 16, T0);
	say(h, &m, &ctl, CT_DIR_REPLY, 5000, "220 hi\r\n", T0);
	T_EQ(say(h, &m, &ctl, CT_DIR_REPLY, 5008, "229 Entering Extended Passive Mode "
		 "(|||6446|)\r\n", T0), HLP_EXPECT);
	/* The ring takes nothing: NEW is remembered, staged again on the next packet. */
	ct_shard_ev_commit(s, 0, T0);
	hlp_track_stats(h, &st);
	T_EQ(st.not_sent, 1);
	n = take(s, rec, 16, T0);
	T_EQ(exp_recs(rec, n, CT_EXP_EV_NEW, &x), 0);
	say(h, &m, &ctl, CT_DIR_ORIG, 100, "", T0);
	n = take(s, rec, 16, T0);
	T_EQ(exp_recs(rec, n, CT_EXP_EV_NEW, &x), 1);
	T_EQ(x.orig.dport, 6446);
	/* Nothing due before 300 s; then it expires. */
	T_EQ(hlp_track_expire(h, T0 + 299 * SEC, 64), 0);
	T_EQ(hlp_track_expire(h, T0 + 301 * SEC, 64), 1);
	n = take(s, rec, 16, T0 + 301 * SEC);
	T_EQ(exp_recs(rec, n, CT_EXP_EV_DESTROY, &x), 1);
	T_EQ(x.flags & CT_REC_F_RESEND, 0);
	/*
	 * A listener refused it: sent again, flagged, to those only, at a
	 * random point of the grace (1 s), so by its end.
	 */
	{
		struct ct_result res = {.slot = x.slot, .id = x.id, .events = x.events,
					.kind = CT_RES_EXP_DESTROY_NACK, .targets = 0x4};

		T_EQ(ct_shard_apply_result(s, &res, T0 + 301 * SEC), 0);
	}
	hlp_track_expire(h, T0 + 302 * SEC, 64);
	n = take(s, rec, 16, T0 + 302 * SEC);
	T_EQ(exp_recs(rec, n, CT_EXP_EV_DESTROY, &x), 1);
	T_ASSERT(x.flags & CT_REC_F_RESEND);
	T_EQ(x.targets, 0x4);
	/* Refused again: the window doubles (2 s); resent once within it. */
	{
		struct ct_result res = {.slot = x.slot, .id = x.id, .events = x.events,
					.kind = CT_RES_EXP_DESTROY_NACK, .targets = 0x4};

		T_EQ(ct_shard_apply_result(s, &res, T0 + 302 * SEC), 0);
	}
	hlp_track_expire(h, T0 + 304 * SEC, 64);
	n = take(s, rec, 16, T0 + 304 * SEC);
	T_EQ(exp_recs(rec, n, CT_EXP_EV_DESTROY, &x), 1);
	hlp_track_expire(h, T0 + 305 * SEC, 64);
	T_EQ(take(s, rec, 16, T0 + 305 * SEC), 0);
	/* A stale result changes nothing; the right one frees it. */
	{
		struct ct_result res = {.slot = x.slot, .id = x.id + 1,
					.kind = CT_RES_EXP_DESTROY_ACK};

		T_EQ(ct_shard_apply_result(s, &res, T0 + 303 * SEC), -ESTALE);
	}
	ack(s, &x, CT_RES_EXP_DESTROY_ACK, T0 + 303 * SEC);
	hlp_track_stats(h, &st);
	T_EQ(st.exp.dying, 0);
	T_EQ(st.resent, 2);
	hlp_track_free(h);
	ct_shard_free(s);
	return 0;
}

/* TFTP: a read request expects the server's reply from any port; events off frees at once. */
static int
test_tftp_no_events(void)
{
	struct ct_shard *s = shard();
	struct hlp_track *h = helpers(s, false);
	struct ct_pkt q = pkt(17, "10.0.0.1", "10.0.0.2", 3000, 69);
	struct ct_event_rec rec[16], x = {0};
	struct hlp_track_stats st;
	struct ct_pkt_info m, d;
	static const uint8_t rrq[] = "\0\1file\0octet";
	unsigned n;

	T_ASSERT(h != NULL);
	m = track(s, q, T0);
	T_ASSERT(hlp_track_helped(h, m.slot, m.id));
	T_EQ(hlp_track_payload(h, m.slot, m.id, &q, CT_DIR_ORIG, false, rrq, sizeof(rrq), T0),
	     HLP_EXPECT);
	d = track(s, pkt(17, "10.0.0.2", "10.0.0.1", 4000, 3000), T0 + SEC);
	T_ASSERT(hlp_track_expected(h, d.slot, d.id));
	n = take(s, rec, 16, T0 + SEC);
	T_EQ(exp_recs(rec, n, CT_EXP_EV_NEW, &x) + exp_recs(rec, n, CT_EXP_EV_DESTROY, &x), 0);
	hlp_track_stats(h, &st);
	T_EQ(st.exp.confirmed, 1);
	T_EQ(st.exp.dying, 0);
	/* A TFTP rule for IPv4 only, and no rule for port 2121: no helper. */
	m = track(s, pkt(6, "10.0.0.1", "10.0.0.2", 40001, 2121), T0);
	T_ASSERT(!hlp_track_helped(h, m.slot, m.id));
	hlp_track_free(h);
	ct_shard_free(s);
	return 0;
}

/* Messages between two workers: a queue per destination. */
struct mailbox {
	struct hlp_msg q[2][16];
	unsigned n[2];
};

static struct mailbox mbox;

static unsigned
send_to(void *arg, unsigned to, const struct hlp_msg *m)
{
	unsigned from = (unsigned)(uintptr_t)arg, w;

	for (w = 0; w < 2; w++) {
		if (w == from || (to != HLP_TO_ALL && to != w))
			continue;
		if (mbox.n[w] == 16)
			return 1;
		mbox.q[w][mbox.n[w]++] = *m;
	}
	return 0;
}

static void
deliver(struct hlp_track *h, unsigned w, uint64_t now)
{
	unsigned i;

	for (i = 0; i < mbox.n[w]; i++)
		hlp_track_receive(h, &mbox.q[w][i], now);
	mbox.n[w] = 0;
}

/* Two workers: the data connection reaches the other one, which has a copy. */
static int
test_two_workers(void)
{
	struct ct_shard *sa = shard(), *sb = shard();
	struct hlp_track *a = helpers(sa, true), *b = helpers(sb, true);
	struct ct_pkt ctl = pkt(6, "10.0.0.1", "10.0.0.2", 40000, 21);
	struct ct_event_rec rec[16], x = {0}, y = {0};
	struct hlp_track_stats st;
	struct ct_pkt_info m, d;
	unsigned n;

	T_ASSERT(a != NULL && b != NULL);
	memset(&mbox, 0, sizeof(mbox));
	T_EQ(hlp_track_set_peers(a, 0, send_to, (void *)(uintptr_t)0), 0);
	T_EQ(hlp_track_set_peers(b, 1, send_to, (void *)(uintptr_t)1), 0);
	m = track(sa, ctl, T0);
	say(a, &m, &ctl, CT_DIR_REPLY, 5000, "220 hi\r\n", T0);
	T_EQ(say(a, &m, &ctl, CT_DIR_REPLY, 5008,
		 "227 Entering Passive Mode (10,0,0,2,195,80).\r\n", T0), HLP_EXPECT);
	n = take(sa, rec, 16, T0);
	T_EQ(exp_recs(rec, n, CT_EXP_EV_NEW, &x), 1);
	T_EQ(mbox.n[1], 1);
	deliver(b, 1, T0);
	hlp_track_stats(b, &st);
	T_EQ(st.copies, 1);
	/* The data connection on worker b: RELATED, with the master's id; no event from b. */
	d = track(sb, pkt(6, "10.0.0.1", "10.0.0.2", 45001, 50000), T0 + SEC);
	T_ASSERT(hlp_track_expected(b, d.slot, d.id));
	n = take(sb, rec, 16, T0 + SEC);
	T_EQ(exp_recs(rec, n, CT_EXP_EV_DESTROY, &y) + exp_recs(rec, n, CT_EXP_EV_NEW, &y), 0);
	T_ASSERT(ct_shard_lookup(sb, &rec[0].orig, T0 + SEC, &y) == 0);
	T_ASSERT(y.status & CT_S_EXPECTED);
	/* Worker a hears of it: the expectation ends as confirmed, its DESTROY from a. */
	T_EQ(mbox.n[0], 1);
	deliver(a, 0, T0 + SEC);
	hlp_track_stats(a, &st);
	T_EQ(st.exp.confirmed, 1);
	T_EQ(st.exp.live, 0);
	n = take(sa, rec, 16, T0 + SEC);
	T_EQ(exp_recs(rec, n, CT_EXP_EV_DESTROY, &y), 1);
	T_EQ(y.id, x.id);
	/* A second one, and its master ends: b's copy goes with the DEL. */
	deliver(b, 1, T0 + SEC);
	T_EQ(say(a, &m, &ctl, CT_DIR_REPLY, 5008 + 46,
		 "227 Entering Passive Mode (10,0,0,2,195,81).\r\n", T0 + SEC), HLP_EXPECT);
	deliver(b, 1, T0 + SEC);
	T_EQ(ct_shard_delete(sa, &ctl.tuple, T0 + 2 * SEC), 0);
	deliver(b, 1, T0 + 2 * SEC);
	d = track(sb, pkt(6, "10.0.0.1", "10.0.0.2", 45002, 50001), T0 + 2 * SEC);
	T_ASSERT(!hlp_track_expected(b, d.slot, d.id));
	hlp_track_free(a);
	hlp_track_free(b);
	ct_shard_free(sa);
	ct_shard_free(sb);
	return 0;
}

/* Bad configurations are refused with a message. */
static int
test_conf(void)
{
	struct ct_shard *s = shard();
	struct hlp_conf c;
	char err[128] = "";

	memset(&c, 0, sizeof(c));
	c.max_expectations = 64;
	c.cls[0] = c.cls[1] = (struct hlp_exp_class){.timeout_s = 300, .max_expected = 1};
	c.n_rules = 1;
	c.rules[0] = (struct hlp_rule){.helper = 3, .port = 21, .any_zone = 1};
	T_ASSERT(hlp_track_create(&c, s, err, sizeof(err)) == NULL);
	T_ASSERT(err[0] != '\0');
	c.rules[0].helper = CT_EXP_HELPER_FTP;
	c.max_expectations = 0;
	T_ASSERT(hlp_track_create(&c, s, err, sizeof(err)) == NULL);
	ct_shard_free(s);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_ftp_passive),
	T_CASE(test_evict_and_master_end),
	T_CASE(test_expiry_and_retries),
	T_CASE(test_tftp_no_events),
	T_CASE(test_two_workers),
	T_CASE(test_conf),
};

T_MAIN(cases)
