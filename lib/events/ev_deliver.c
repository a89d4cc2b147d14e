/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Delivery: drains the worker channels, encodes ctnetlink, delivers it to
 * the listeners and returns delivery results to the workers.
 *
 * Records are handled in chunks of up to EV_CTL_BURST per channel. Each
 * record is encoded once into a contiguous buffer; each connection then
 * gets the messages its mask wants, gathered into datagrams of at most its
 * batch size and sent through the transport (no copy; the per-listener
 * nlmsg_seq is written into the shared buffer just before each send, which
 * copies). A datagram succeeds or fails as a whole. Record consumers get
 * the records themselves (ev_consumer.h).
 *
 * Expectation records (CT_REC_F_EXP) share the chunk: they are encoded as
 * ctnetlink expectation messages and go only to listeners whose mask has
 * an expectation group bit (EV_MASK_EXP_*), never to record consumers;
 * their results are the CT_RES_EXP_* kinds and their counts the exp_*
 * statistics, apart from the connection events'.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include <linux/netlink.h>

#include "ev.h"
#include "ev_consumer.h"
#include "ev_ctl_private.h"
#include "ev_nl.h"
#include "ev_nl_exp.h"

/* Send one gathered datagram to `l`: 0, or the negative errno. */
static int
send_datagram(struct ev_ctl *ctl, struct ev_listener *l, unsigned iovcnt, size_t bytes)
{
	ctl->st.datagrams++;
	if (l->type == EV_LT_SINK)
		return l->fn(l->arg, ctl->iov, iovcnt, bytes);
	return ev_ctl_conn_send(ctl, l, ctl->iov, iovcnt);
}

static bool
err_gone(int rc)
{
	return rc == -EPIPE || rc == -ECONNRESET || rc == -ENOTCONN || rc == -ECONNREFUSED;
}

/* Record i refused by `l`: a reliable listener's slot goes into the
 * record's nack mask; for an unreliable one it is lost. */
static void
refused(struct ev_ctl *ctl, struct ev_listener *l, unsigned i)
{
	l->failed++;
	if (ev_listener_reliable(ctl, l)) {
		ctl->fail_mask[i] |= 1u << l->slot;
	} else {
		/* Lost for good: the sequence number is spent (a gap). */
		l->dropped++;
		l->seq++;
		ctl->chunk_dropped++;
	}
}

/* Outcome of one datagram. Returns false when the listener must not get
 * more datagrams in this chunk. */
static bool
datagram_done(struct ev_ctl *ctl, struct ev_listener *l, unsigned cnt, int rc, uint64_t mono)
{
	unsigned k;

	if (rc == 0) {
		l->sent += cnt;
		l->seq += cnt;
		l->refusing_since = 0;
		for (k = 0; k < cnt; k++)
			ctl->ok[ctl->dg_idx[k]] = 1;
		return true;
	}
	if (err_gone(rc)) {
		/* The listener is gone: forget it; its records are not
		 * failures (nobody is there to miss them). */
		ev_ctl_listener_close(ctl, l, true);
		return false;
	}
	if (l->refusing_since == 0)
		l->refusing_since = mono ? mono : 1;
	for (k = 0; k < cnt; k++)
		refused(ctl, l, ctl->dg_idx[k]);
	/* A full socket stays full for the microseconds a chunk takes. */
	l->blocked = true;
	return false;
}

/* Record i is for listener l's slot: not a re-send addressed to other slots only. */
static bool
targeted(const struct ev_ctl *ctl, const struct ev_listener *l, unsigned i)
{
	return ctl->recs[i].targets == 0 || (ctl->recs[i].targets & (1u << l->slot)) != 0;
}

static bool
addressed(const struct ev_ctl *ctl, const struct ev_listener *l, unsigned i)
{
	return ctl->live[i] && (ctl->kind[i] & l->mask) && targeted(ctl, l, i);
}

/* Record i as ctnetlink, encoded the first time a listener needs it: its length, 0 if none. */
static unsigned
encoded(struct ev_ctl *ctl, unsigned i)
{
	int len;

	if (ctl->encoded[i])
		return ctl->len[i];
	ctl->encoded[i] = 1;
	if (ctl->recs[i].flags & CT_REC_F_EXP)
		len = ev_nl_exp_encode(&ctl->recs[i], 0, ctl->enc, ctl->enc_pos,
				       (size_t)EV_CTL_BURST * EV_NL_MSG_MAX);
	else
		len = ev_nl_encode(&ctl->recs[i], EV_NL_F_DEFAULT, ctl->enc, ctl->enc_pos,
				   (size_t)EV_CTL_BURST * EV_NL_MSG_MAX);
	if (len <= 0)
		return 0;
	ctl->st.encoded++;
	ctl->off[i] = (uint32_t)ctl->enc_pos;
	ctl->len[i] = (uint16_t)len;
	ctl->enc_pos += (size_t)len;
	return ctl->len[i];
}

/* Send the gathered datagram; false when the listener must get no more in this chunk. */
static bool
flush_datagram(struct ev_ctl *ctl, struct ev_listener *l, unsigned *cnt, size_t *bytes,
	       uint64_t mono)
{
	bool go = datagram_done(ctl, l, *cnt, send_datagram(ctl, l, *cnt, *bytes), mono);

	*cnt = 0;
	*bytes = 0;
	return go;
}

/*
 * The listener's records of the chunk, in datagrams of up to its batch
 * size. One that refused a datagram in the previous chunk is probed
 * first with a datagram of one message: while its socket stays full,
 * each chunk costs it one encoding and one send, and the rest of its
 * records are refused unencoded (a slow listener would otherwise cost an
 * encoding of every record it refuses, on the CPU it may share with the
 * control core).
 */
static void
deliver_to(struct ev_ctl *ctl, struct ev_listener *l, unsigned n, uint64_t mono)
{
	unsigned i, cnt = 0;
	size_t bytes = 0;
	bool go = true, probe = l->blocked;

	l->blocked = false;
	for (i = 0; i < n; i++) {
		struct nlmsghdr *h;
		unsigned len;

		if (!addressed(ctl, l, i))
			continue;
		/* The probe: its one message goes before the next is encoded. */
		if (cnt > 0 && probe) {
			probe = false;
			if (!(go = flush_datagram(ctl, l, &cnt, &bytes, mono)))
				break;
		}
		len = encoded(ctl, i);
		if (len == 0)
			continue;
		if (cnt > 0 && (cnt == EV_CTL_MAX_IOV || bytes + len > l->batch) &&
		    !(go = flush_datagram(ctl, l, &cnt, &bytes, mono)))
			break;
		h = (struct nlmsghdr *)(ctl->enc + ctl->off[i]);
		h->nlmsg_seq = l->seq + cnt + 1;
		ctl->iov[cnt].iov_base = h;
		ctl->iov[cnt].iov_len = len;
		ctl->dg_idx[cnt] = (uint16_t)i;
		cnt++;
		bytes += len;
	}
	if (go && cnt > 0)
		flush_datagram(ctl, l, &cnt, &bytes, mono);
	if (!l->blocked || !l->used)
		return;
	/* Everything after the refused datagram meets the same full socket. */
	for (; i < n; i++)
		if (addressed(ctl, l, i))
			refused(ctl, l, i);
}

static void
deliver_consumer(struct ev_ctl *ctl, struct ev_listener *l, unsigned n, uint64_t now,
		 uint64_t mono)
{
	const struct ct_event_rec *recs = ctl->recs;
	unsigned i, m = 0;
	bool all = true;
	int rc;

	for (i = 0; i < n; i++) {
		/* Interim flow records (no event bits) go to every consumer;
		 * expectations to none. */
		bool want = !(ctl->recs[i].flags & CT_REC_F_EXP) &&
			    (ctl->recs[i].events == 0 || (ctl->kind[i] & l->mask)) &&
			    targeted(ctl, l, i);

		if (want)
			ctl->cidx[m++] = (uint16_t)i;
		else
			all = false;
	}
	if (m == 0)
		return;
	if (!all) {
		for (i = 0; i < m; i++)
			ctl->crecs[i] = ctl->recs[ctl->cidx[i]];
		recs = ctl->crecs;
	}
	/* deliver() even while blocked(): the consumer refuses, and counts, what
	 * it cannot take (an exporter's records_refused). */
	memset(ctl->crefused, 0, m);
	rc = l->cops->deliver(l->cself, recs, m, now, ctl->crefused);
	for (i = 0; i < m; i++) {
		unsigned k = ctl->cidx[i];

		if ((rc < 0 || ctl->crefused[i]) && ctl->recs[k].events == 0) {
			/* An interim flow record (no event bits) is never nacked:
			 * the flow's next record carries its counts. */
			l->failed++;
		} else if (rc < 0 || ctl->crefused[i]) {
			if (l->refusing_since == 0)
				l->refusing_since = mono ? mono : 1;
			refused(ctl, l, k);
		} else {
			l->sent++;
			l->seq++;
			l->refusing_since = 0;
			ctl->ok[k] = 1;
		}
	}
}

/* Push results to the channel; what does not fit goes to the backlog
 * (empty whenever this is called). */
static void
push_results(struct ev_ctl *ctl, struct ev_ctl_chan *ch, const struct ct_result *r,
	     unsigned n)
{
	unsigned pushed = ev_chan_push_results(ch->chan, r, n);

	if (pushed < n) {
		memcpy(ch->backlog, r + pushed, (n - pushed) * sizeof(*r));
		ch->bl_head = 0;
		ch->bl_n = n - pushed;
		ctl->st.result_backlog += ch->bl_n;
	}
}

static bool
flush_backlog(struct ev_ctl *ctl, struct ev_ctl_chan *ch)
{
	unsigned pushed;

	if (ch->bl_n == 0)
		return true;
	pushed = ev_chan_push_results(ch->chan, ch->backlog + ch->bl_head, ch->bl_n);
	ch->bl_head += pushed;
	ch->bl_n -= pushed;
	ctl->st.result_backlog -= pushed;
	return ch->bl_n == 0;
}

/* Targets that still name a listener: a slot that was freed since is
 * nobody's to wait for. */
static uint32_t
live_targets(const struct ev_ctl *ctl, uint32_t targets)
{
	uint32_t live = 0;
	unsigned i;

	for (i = 0; i < ctl->n_slots; i++)
		if (ev_listener_active(&ctl->ls[i]))
			live |= 1u << i;
	return targets & live;
}

/*
 * The result of expectation record i, as for a connection's: a reliable
 * listener's refusal nacks it (CT_RES_EXP_NACK, or CT_RES_EXP_DESTROY_NACK
 * with the refusing slots), a DESTROY delivered to every reliable listener
 * is acked (CT_RES_EXP_DESTROY_ACK: the slot may be freed). A record no
 * encoder takes counts as delivered. Returns true when `res` was filled.
 */
static bool
exp_result(struct ev_ctl *ctl, const struct ct_event_rec *r, unsigned i, struct ct_result *res)
{
	bool destroy = ctl->kind[i] == EV_MASK_EXP_DESTROY;

	if (r->flags & CT_REC_F_RETRY)
		ctl->st.exp_retried++;
	if (r->flags & CT_REC_F_RESEND)
		ctl->st.exp_resent++;
	if (ctl->ok[i])
		ctl->st.exp_sent++;
	if (ctl->fail_mask[i] != 0) {
		ctl->st.exp_failed++;
		res->kind = destroy ? CT_RES_EXP_DESTROY_NACK : CT_RES_EXP_NACK;
	} else if (destroy) {
		ctl->st.exp_destroy_acked++;
		res->kind = CT_RES_EXP_DESTROY_ACK;
	} else {
		/* Its DESTROY waits for this: none may reach a listener first. */
		res->kind = CT_RES_EXP_NEW_ACK;
	}
	res->slot = r->slot;
	res->id = r->id;
	res->events = r->events;
	res->pad = 0;
	res->targets = destroy ? ctl->fail_mask[i] : 0;
	return true;
}

/*
 * The chunk's connection records, for consumers (an expectation is
 * nobody's flow or sync state): the chunk itself when it holds no
 * expectation, else a copy without them in crecs, and their fail masks
 * (as they stand) in cfail. Returns how many.
 */
static unsigned
conn_recs(struct ev_ctl *ctl, unsigned n, const struct ct_event_rec **recs,
	  const uint32_t **fail)
{
	unsigned k, m;

	*recs = ctl->recs;
	*fail = ctl->fail_mask;
	for (k = 0; k < n && !(ctl->recs[k].flags & CT_REC_F_EXP); k++)
		;
	if (k == n)
		return n;
	for (m = 0, k = 0; k < n; k++) {
		if (ctl->recs[k].flags & CT_REC_F_EXP)
			continue;
		ctl->crecs[m] = ctl->recs[k];
		ctl->cfail[m++] = ctl->fail_mask[k];
	}
	*recs = ctl->crecs;
	*fail = ctl->cfail;
	return m;
}

/*
 * Hand the chunk's connection records to the consumers that want them
 * before (`done` false: chunk_begin()) or after (chunk_done(), with how
 * the chunk went) every listener and consumer had it.
 */
static void
consumers_chunk(struct ev_ctl *ctl, unsigned n, bool done)
{
	const struct ct_event_rec *recs = NULL;
	const uint32_t *fail = NULL;
	unsigned i, m = 0;
	bool got = false;

	for (i = 0; i < ctl->n_slots; i++) {
		struct ev_listener *l = &ctl->ls[i];

		if (l->type != EV_LT_CONSUMER || !ev_listener_active(l) ||
		    (done ? l->cops->chunk_done == NULL : l->cops->chunk_begin == NULL))
			continue;
		if (!got) {
			got = true;
			m = conn_recs(ctl, n, &recs, &fail);
		}
		if (m == 0)
			continue;
		if (done)
			l->cops->chunk_done(l->cself, recs, m, fail);
		else
			l->cops->chunk_begin(l->cself, recs, m);
	}
}

static void
process_chunk(struct ev_ctl *ctl, struct ev_ctl_chan *ch, unsigned n, uint64_t now,
	      uint64_t mono)
{
	unsigned i, nres = 0, sent = 0, failed = 0;

	ctl->chunk_dropped = 0;
	ctl->enc_pos = 0;
	for (i = 0; i < n; i++) {
		const struct ct_event_rec *r = &ctl->recs[i];
		bool exp = (r->flags & CT_REC_F_EXP) != 0;

		ctl->kind[i] = (uint8_t)(exp ? ev_nl_exp_kind(r) : ev_nl_rec_kind(r));
		ctl->fail_mask[i] = 0;
		ctl->ok[i] = 0;
		ctl->encoded[i] = 0;
		ctl->len[i] = 0;
		/* What the encoder refuses can never be delivered: for nobody. */
		ctl->live[i] = exp ? ev_nl_exp_encodable(r, false) : ev_nl_rec_encodable(r, false);
		if (r->targets != 0) {
			ctl->recs[i].targets = live_targets(ctl, r->targets);
			ctl->st.resend_targeted++;
			/* Every listener it was for has gone: delivered. */
			if (ctl->recs[i].targets == 0)
				ctl->live[i] = 0;
		}
	}
	consumers_chunk(ctl, n, false);
	for (i = 0; i < ctl->n_slots; i++) {
		struct ev_listener *l = &ctl->ls[i];

		if (!ev_listener_active(l))
			continue;
		if (l->type == EV_LT_CONSUMER)
			deliver_consumer(ctl, l, n, now, mono);
		else
			deliver_to(ctl, l, n, mono);
	}

	for (i = 0; i < n; i++) {
		const struct ct_event_rec *r = &ctl->recs[i];
		struct ct_result *res = &ctl->res[nres];
		bool destroy = ctl->kind[i] == EV_MASK_DESTROY;

		if (r->flags & CT_REC_F_EXP) {
			if (exp_result(ctl, r, i, res))
				nres++;
			continue;
		}
		if (r->flags & CT_REC_F_RETRY)
			ctl->st.events_retried++;
		if (r->flags & CT_REC_F_RESEND)
			ctl->st.destroy_resent++;
		/* A port block (CT_REC_F_NAT_BLOCK) is no conntrack event: the
		 * exporters count it, events_sent does not. */
		if (ctl->ok[i] && !(r->flags & CT_REC_F_NAT_BLOCK)) {
			ctl->st.events_sent++;
			sent++;
		}
		/*
		 * A record that could not be encoded (not IPv4/IPv6, no bits) can
		 * never be delivered: treat it as delivered so a destroy frees
		 * its slot instead of being re-sent forever.
		 */
		if (ctl->fail_mask[i] != 0) {
			ctl->st.events_failed++;
			failed++;
			res->kind = destroy ? CT_RES_DESTROY_NACK : CT_RES_NACK;
		} else if (destroy) {
			ctl->st.destroy_acked++;
			res->kind = CT_RES_DESTROY_ACK;
		} else {
			continue;
		}
		res->slot = r->slot;
		res->id = r->id;
		res->events = r->events;
		res->pad = 0;
		res->targets = destroy ? ctl->fail_mask[i] : 0;
		nres++;
	}
	consumers_chunk(ctl, n, true);
	ctl->st.listener_dropped += ctl->chunk_dropped;
	ev_chan_count(ch->chan, sent, failed, ctl->chunk_dropped);
	if (nres > 0)
		push_results(ctl, ch, ctl->res, nres);
}

unsigned
ev_ctl_deliver(struct ev_ctl *ctl, uint64_t now, uint64_t mono, unsigned budget)
{
	unsigned handled = 0, c, k;

	if (budget == 0)
		budget = EV_CTL_BURST;
	/* Round-robin start so one busy shard cannot starve the others. */
	for (k = 0; k < ctl->n_chans; k++) {
		struct ev_ctl_chan *ch;
		unsigned left = budget;

		c = (ctl->next_chan + k) % ctl->n_chans;
		ch = &ctl->chans[c];
		/* Never lose a result: while some wait, take no new records
		 * from this channel (they stay in its ring). */
		if (!flush_backlog(ctl, ch))
			continue;
		while (left > 0) {
			unsigned want = left < EV_CTL_BURST ? left : EV_CTL_BURST;
			unsigned n = ev_chan_pull_records(ch->chan, ctl->recs, want);

			if (n == 0)
				break;
			process_chunk(ctl, ch, n, now, mono);
			handled += n;
			left -= n;
			if (ch->bl_n != 0)
				break;
		}
	}
	if (ctl->n_chans > 0)
		ctl->next_chan = (ctl->next_chan + 1) % ctl->n_chans;
	return handled;
}
