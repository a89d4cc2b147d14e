/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control core: drains the worker channels, encodes ctnetlink and
 * delivers it to the listeners, returns delivery results.
 *
 * Listeners occupy slots 0..max_listeners-1 (at most EV_MAX_LISTENERS):
 * socket connections (ev_unix.c accepts them; the connection is the
 * subscription), sinks (tests) and record consumers (ev_consumer.h). A slot
 * is one bit of the resend mask: a DESTROY that some reliable listeners
 * refused comes back from the worker addressed to those slots only.
 *
 * Records are handled in chunks of up to EV_CTL_BURST per channel. Each
 * record is encoded once into a contiguous buffer; each socket listener
 * then gets the messages its mask wants, gathered by sendmsg() into
 * datagrams of at most its batch size (no copy; the per-listener nlmsg_seq
 * is written into the shared buffer just before each sendmsg(), which
 * copies). A datagram succeeds or fails as a whole.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>

#include "ev.h"
#include "ev_consumer.h"
#include "ev_ctl_private.h"
#include "ev_nl.h"

void
ev_ctl_conf_init(struct ev_ctl_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->socket_path, sizeof(c->socket_path), "%s", EV_DEFAULT_SOCKET);
	c->socket_gid = -1;
	c->max_listeners = 8;
	c->reliable = true;
	c->max_batch_bytes = 16384;
	c->sndbuf = 4u << 20;
	c->reliable_uids[0] = 0;
	c->n_reliable_uids = 1;
	c->reliable_stall_ms = 30000;
	c->max_dying_pct = 10;
	c->subscribe_timeout_ms = 1000;
	c->max_conns_per_uid = 2;
	c->reserved_slots = EV_RESERVED_HALF;
}

uint64_t
ev_ctl_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
ev_ctl_log(struct ev_ctl *ctl, int level, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (ctl->log_fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl->log_fn(ctl->log_arg, level, msg);
}

void
ev_ctl_set_log(struct ev_ctl *ctl, ev_log_fn fn, void *arg)
{
	ctl->log_fn = fn;
	ctl->log_arg = arg;
}

const char *
ev_listener_state_name(unsigned state)
{
	switch (state) {
	case EV_LS_PENDING:
		return "pending";
	case EV_LS_RELIABLE:
		return "reliable";
	case EV_LS_UNRELIABLE:
		return "unreliable";
	case EV_LS_DEMOTED:
		return "demoted";
	default:
		return "unknown";
	}
}

struct ev_ctl *
ev_ctl_create(const struct ev_ctl_conf *conf, struct ev_chan *const *chans, unsigned n,
	      char *err, size_t errlen)
{
	char dummy[8];
	struct ev_ctl *ctl;
	unsigned i;

	if (err == NULL) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (conf == NULL || (n > 0 && chans == NULL)) {
		snprintf(err, errlen, "no configuration or channels");
		return NULL;
	}
	if (conf->max_listeners == 0 || conf->max_listeners > EV_MAX_LISTENERS) {
		snprintf(err, errlen, "max_listeners must be in [1, %u]", EV_MAX_LISTENERS);
		return NULL;
	}
	if (conf->max_batch_bytes < EV_NL_MSG_MAX || conf->max_batch_bytes > EV_DGRAM_MAX) {
		snprintf(err, errlen, "max_batch_bytes must be in [%u, %u]", EV_NL_MSG_MAX,
			 EV_DGRAM_MAX);
		return NULL;
	}
	if (conf->max_conns_per_uid == 0 || conf->max_conns_per_uid > EV_MAX_LISTENERS) {
		snprintf(err, errlen, "max_conns_per_uid must be in [1, %u]", EV_MAX_LISTENERS);
		return NULL;
	}
	if (conf->reserved_slots != EV_RESERVED_HALF && conf->reserved_slots > conf->max_listeners) {
		snprintf(err, errlen, "reserved_slots (%u) must be at most max_listeners (%u)",
			 conf->reserved_slots, conf->max_listeners);
		return NULL;
	}
	if (conf->n_allowed_uids > EV_MAX_UIDS || conf->n_allowed_gids > EV_MAX_UIDS ||
	    conf->n_reliable_uids > EV_MAX_UIDS) {
		snprintf(err, errlen, "at most %u allowed/reliable uids and gids", EV_MAX_UIDS);
		return NULL;
	}
	if (conf->max_dying_pct > 100) {
		snprintf(err, errlen, "max_dying_pct must be in [0, 100]");
		return NULL;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ctl->conf = *conf;
	ctl->conf.socket_path[sizeof(ctl->conf.socket_path) - 1] = '\0';
	if (conf->reserved_slots == EV_RESERVED_HALF)
		ctl->conf.reserved_slots = conf->max_listeners / 2;
	ctl->lfd = -1;
	ctl->ep = -1;
	ctl->dump_slot = -1;
	ctl->kinds = UINT32_MAX;
	ctl->n_chans = n;
	ctl->chans = calloc(n ? n : 1, sizeof(*ctl->chans));
	ctl->n_slots = conf->max_listeners;
	ctl->enc = malloc((size_t)EV_CTL_BURST * EV_NL_MSG_MAX);
	ctl->dump_enc = malloc(EV_CTL_DUMP_BUF);
	if (ctl->chans == NULL || ctl->enc == NULL || ctl->dump_enc == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < EV_MAX_LISTENERS; i++)
		ctl->ls[i].fd = -1;
	for (i = 0; i < n; i++) {
		if (chans[i] == NULL) {
			snprintf(err, errlen, "channel %u is NULL", i);
			goto fail;
		}
		ctl->chans[i].chan = chans[i];
	}
	if (!conf->no_socket && ev_unix_open(ctl, err, errlen) < 0)
		goto fail;
	ev_ctl_publish_kinds(ctl);
	return ctl;
fail:
	ev_ctl_free(ctl);
	return NULL;
}

void
ev_ctl_free(struct ev_ctl *ctl)
{
	unsigned i;

	if (ctl == NULL)
		return;
	/* Closing the listeners tells no channel: they may be gone already. */
	ctl->n_chans = 0;
	for (i = 0; i < EV_MAX_LISTENERS; i++)
		if (ctl->ls[i].used)
			ev_ctl_listener_close(ctl, &ctl->ls[i], false);
	ev_unix_close(ctl);
	free(ctl->chans);
	free(ctl->enc);
	free(ctl->dump_enc);
	free(ctl);
}

int
ev_ctl_fd(const struct ev_ctl *ctl)
{
	return ctl->ep;
}

void
ev_ctl_set_table(struct ev_ctl *ctl, uint64_t dying, uint64_t max_entries)
{
	ctl->table_dying = dying;
	ctl->table_max = max_entries;
}

/* ------------------------------------------------------------------------ */
/* Listener registry                                                         */

struct ev_listener *
ev_ctl_slot_alloc(struct ev_ctl *ctl)
{
	unsigned i;

	for (i = 0; i < ctl->n_slots; i++) {
		struct ev_listener *l = &ctl->ls[i];

		if (!l->used) {
			memset(l, 0, sizeof(*l));
			l->used = true;
			l->fd = -1;
			l->slot = i;
			l->id = i;
			l->batch = ctl->conf.max_batch_bytes;
			l->connected_ns = ev_ctl_mono_ns();
			return l;
		}
	}
	return NULL;
}

void
ev_ctl_note_refusal(struct ev_ctl *ctl, uint32_t uid, uint32_t pid, size_t field,
		    const char *why)
{
	uint64_t now = ev_ctl_mono_ns();
	struct ev_refusal *r;
	unsigned i;

	for (i = 0; i < ctl->n_refusals; i++)
		if (ctl->refusals[i].uid == uid)
			break;
	if (i == ctl->n_refusals) {
		if (ctl->n_refusals < EV_REFUSAL_UIDS) {
			ctl->refusals[i].uid = uid;
			ctl->n_refusals++;
		} else {
			i = EV_REFUSAL_UIDS;
			ctl->refusals[i].uid = EV_REFUSAL_OTHER;
		}
	}
	r = &ctl->refusals[i];
	(*(uint64_t *)((uint8_t *)r + field))++;
	if (ctl->refusal_logged_ns[i] != 0 && now - ctl->refusal_logged_ns[i] < EV_CTL_LOG_EVERY_NS) {
		ctl->refusal_unlogged[i]++;
		return;
	}
	if (ctl->refusal_unlogged[i] > 0)
		ev_ctl_log(ctl, 4, "events: uid %u pid %u: %s (and %" PRIu64 " more refusals of "
			   "this uid since the last report)\n", uid, pid, why,
			   ctl->refusal_unlogged[i]);
	else
		ev_ctl_log(ctl, 4, "events: uid %u pid %u: %s\n", uid, pid, why);
	ctl->refusal_logged_ns[i] = now;
	ctl->refusal_unlogged[i] = 0;
}

unsigned
ev_ctl_refusals(const struct ev_ctl *ctl, struct ev_refusal *out, unsigned max)
{
	unsigned i, n = 0;

	for (i = 0; i < ctl->n_refusals && n < max; i++)
		out[n++] = ctl->refusals[i];
	if (ctl->refusals[EV_REFUSAL_UIDS].uid == EV_REFUSAL_OTHER && n < max)
		out[n++] = ctl->refusals[EV_REFUSAL_UIDS];
	return n;
}

void
ev_ctl_listener_close(struct ev_ctl *ctl, struct ev_listener *l, bool gone)
{
	if (!l->used)
		return;
	if (ctl->dump_slot == (int)l->slot)
		ev_ctl_dump_abort(ctl);
	if (l->fd >= 0)
		ev_unix_forget(ctl, l);
	if (gone)
		ctl->st.listeners_gone++;
	l->used = false;
	l->state = EV_LS_PENDING;
	ev_ctl_publish_kinds(ctl);
}

static bool
listener_reliable(const struct ev_ctl *ctl, const struct ev_listener *l)
{
	return l->state == EV_LS_RELIABLE && ctl->conf.reliable;
}

static bool
listener_active(const struct ev_listener *l)
{
	return l->used && !l->closing && l->state != EV_LS_PENDING;
}

void
ev_ctl_publish_kinds(struct ev_ctl *ctl)
{
	uint32_t k = 0;
	unsigned i;

	for (i = 0; i < ctl->n_slots; i++)
		if (listener_active(&ctl->ls[i]))
			k |= ctl->ls[i].mask;
	k &= EV_MASK_ALL;
	if (k == ctl->kinds)
		return;
	ctl->kinds = k;
	for (i = 0; i < ctl->n_chans; i++)
		ev_chan_set_kinds(ctl->chans[i].chan, k);
}

int
ev_ctl_add_sink(struct ev_ctl *ctl, uint32_t id, uint32_t flags, uint32_t mask,
		ev_sink_fn fn, void *arg)
{
	struct ev_subscribe sub = { .version = EV_PROTO_VERSION, .flags = flags, .mask = mask };
	struct ev_listener *l;

	if (fn == NULL || ev_nl_parse_subscribe(&sub, sizeof(sub), &sub) < 0)
		return -EINVAL;
	l = ev_ctl_slot_alloc(ctl);
	if (l == NULL) {
		ctl->st.subscribe_refused++;
		return -EUSERS;
	}
	l->type = EV_LT_SINK;
	l->id = id;
	l->mask = sub.mask;
	l->want_reliable = (sub.flags & EV_SUB_F_RELIABLE) != 0;
	l->state = l->want_reliable ? EV_LS_RELIABLE : EV_LS_UNRELIABLE;
	l->fn = fn;
	l->arg = arg;
	ev_ctl_publish_kinds(ctl);
	return 0;
}

int
ev_ctl_add_consumer(struct ev_ctl *ctl, const struct ev_consumer_ops *ops, void *self,
		    bool reliable)
{
	struct ev_listener *l;

	if (ctl == NULL || ops == NULL || ops->deliver == NULL)
		return -EINVAL;
	l = ev_ctl_slot_alloc(ctl);
	if (l == NULL) {
		ctl->st.subscribe_refused++;
		return -EUSERS;
	}
	l->type = EV_LT_CONSUMER;
	l->mask = ops->mask == 0 ? EV_MASK_ALL : (ops->mask & EV_MASK_ALL) | EV_MASK_DESTROY;
	l->want_reliable = reliable;
	l->state = reliable ? EV_LS_RELIABLE : EV_LS_UNRELIABLE;
	l->cops = ops;
	l->cself = self;
	ev_ctl_publish_kinds(ctl);
	return 0;
}

unsigned
ev_ctl_listener_count(const struct ev_ctl *ctl, unsigned *reliable)
{
	unsigned i, n = 0, r = 0;

	for (i = 0; i < ctl->n_slots; i++) {
		if (!listener_active(&ctl->ls[i]))
			continue;
		n++;
		r += listener_reliable(ctl, &ctl->ls[i]);
	}
	if (reliable != NULL)
		*reliable = r;
	return n;
}

unsigned
ev_ctl_listeners(const struct ev_ctl *ctl, struct ev_listener_info *out, unsigned max)
{
	unsigned i, n = 0;

	for (i = 0; i < ctl->n_slots && n < max; i++) {
		const struct ev_listener *l = &ctl->ls[i];

		if (!l->used)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].port_id = l->id;
		out[n].slot = l->slot;
		out[n].kind = l->type == EV_LT_SOCKET ? "socket" :
			      l->type == EV_LT_SINK ? "sink" :
			      (l->cops->kind != NULL ? l->cops->kind : "consumer");
		out[n].state = l->state;
		out[n].uid = l->uid;
		out[n].gid = l->gid;
		out[n].pid = l->pid;
		out[n].mask = l->mask;
		out[n].reliable = listener_reliable(ctl, l);
		out[n].seq = l->seq;
		out[n].sent = l->sent;
		out[n].failed = l->failed;
		out[n].dropped = l->dropped;
		out[n].dumped = l->dumped;
		n++;
	}
	return n;
}

/* ------------------------------------------------------------------------ */
/* Stall policy                                                              */

static void
demote(struct ev_ctl *ctl, struct ev_listener *l, const char *why)
{
	l->state = EV_LS_DEMOTED;
	ctl->st.listener_demoted++;
	ev_ctl_log(ctl, 4, "events: reliable listener demoted to unreliable: slot %u %s uid %u "
		   "pid %u: %s\n", l->slot, l->type == EV_LT_SOCKET ? "socket" :
		   l->type == EV_LT_SINK ? "sink" : l->cops->kind ? l->cops->kind : "consumer",
		   l->uid, l->pid, why);
}

static void
stall_policy(struct ev_ctl *ctl, uint64_t mono)
{
	uint64_t stall = (uint64_t)ctl->conf.reliable_stall_ms * 1000000u;
	uint64_t dying_grace = stall < 1000000000u ? stall : 1000000000u;
	bool over = ctl->conf.max_dying_pct != 0 && ctl->table_max != 0 &&
		    ctl->table_dying * 100 > (uint64_t)ctl->conf.max_dying_pct * ctl->table_max;
	char why[96];
	unsigned i;

	for (i = 0; i < ctl->n_slots; i++) {
		struct ev_listener *l = &ctl->ls[i];

		if (!l->used || l->state != EV_LS_RELIABLE || l->refusing_since == 0)
			continue;
		if (mono - l->refusing_since >= stall) {
			snprintf(why, sizeof(why), "refused every delivery for %u ms",
				 ctl->conf.reliable_stall_ms);
			demote(ctl, l, why);
		} else if (over && mono - l->refusing_since >= dying_grace) {
			snprintf(why, sizeof(why), "its refusals keep %" PRIu64 " dying entries, "
				 "over %u %% of %" PRIu64, ctl->table_dying,
				 ctl->conf.max_dying_pct, ctl->table_max);
			demote(ctl, l, why);
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Delivery                                                                  */

/* Send one gathered datagram to `l`: 0, or the negative errno. */
static int
send_datagram(struct ev_ctl *ctl, struct ev_listener *l, unsigned iovcnt, size_t bytes)
{
	ctl->st.datagrams++;
	if (l->type == EV_LT_SINK)
		return l->fn(l->arg, ctl->iov, iovcnt, bytes);
	return ev_unix_send(l, ctl->iov, iovcnt);
}

static bool
err_gone(int rc)
{
	return rc == -EPIPE || rc == -ECONNRESET || rc == -ENOTCONN || rc == -ECONNREFUSED;
}

/* One refusal of `cnt` messages (indices in dg_idx or, with `first` >= 0,
 * the records first.. of the chunk that match the listener). */
static void
refused(struct ev_ctl *ctl, struct ev_listener *l, unsigned i)
{
	l->failed++;
	if (listener_reliable(ctl, l)) {
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
		/* Interim flow records (no event bits) go to every consumer. */
		bool want = (ctl->recs[i].events == 0 || (ctl->kind[i] & l->mask)) &&
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
		if (listener_active(&ctl->ls[i]))
			live |= 1u << i;
	return targets & live;
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

		ctl->kind[i] = (uint8_t)ev_nl_rec_kind(r);
		ctl->fail_mask[i] = 0;
		ctl->ok[i] = 0;
		ctl->encoded[i] = 0;
		ctl->len[i] = 0;
		/* What ev_nl_encode() refuses can never be delivered: for nobody. */
		ctl->live[i] = ev_nl_rec_encodable(r, false);
		if (r->targets != 0) {
			ctl->recs[i].targets = live_targets(ctl, r->targets);
			ctl->st.resend_targeted++;
			/* Every listener it was for has gone: delivered. */
			if (ctl->recs[i].targets == 0)
				ctl->live[i] = 0;
		}
	}
	for (i = 0; i < ctl->n_slots; i++) {
		struct ev_listener *l = &ctl->ls[i];

		if (!listener_active(l))
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

		if (r->flags & CT_REC_F_RETRY)
			ctl->st.events_retried++;
		if (r->flags & CT_REC_F_RESEND)
			ctl->st.destroy_resent++;
		if (ctl->ok[i]) {
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
	ctl->st.listener_dropped += ctl->chunk_dropped;
	ev_chan_count(ch->chan, sent, failed, ctl->chunk_dropped);
	if (nres > 0)
		push_results(ctl, ch, ctl->res, nres);
}

unsigned
ev_ctl_step(struct ev_ctl *ctl, uint64_t now, unsigned budget)
{
	uint64_t mono = ev_ctl_mono_ns();
	unsigned handled = 0, c, k, i;

	if (ctl->ep >= 0)
		ev_unix_poll(ctl, mono);
	ev_ctl_dump_step(ctl);
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
	for (i = 0; i < ctl->n_slots; i++) {
		struct ev_listener *l = &ctl->ls[i];

		if (l->used && l->type == EV_LT_CONSUMER && l->cops->poll != NULL)
			l->cops->poll(l->cself, now);
		if (l->used && l->closing)
			ev_ctl_listener_close(ctl, l, false);
	}
	stall_policy(ctl, mono);
	ev_ctl_publish_kinds(ctl);
	return handled;
}

bool
ev_ctl_idle(const struct ev_ctl *ctl)
{
	unsigned c;

	for (c = 0; c < ctl->n_chans; c++)
		if (ctl->chans[c].bl_n != 0 || ev_chan_records_pending(ctl->chans[c].chan) != 0)
			return false;
	return true;
}

void
ev_ctl_get_stats(const struct ev_ctl *ctl, struct ev_ctl_stats *out)
{
	*out = ctl->st;
}
