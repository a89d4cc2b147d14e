/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control core: drains the worker channels, encodes ctnetlink, unicasts
 * to subscribed listeners with MSG_DONTWAIT and returns delivery results.
 *
 * Records are handled in chunks of up to EV_CTL_BURST per channel. Each
 * record is encoded once into a contiguous buffer; each listener then gets
 * the messages its mask wants, gathered by sendmsg() into datagrams of at
 * most max_batch_bytes (no copy). A datagram succeeds or fails as a whole,
 * so all records in it share the outcome for that listener.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/netlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "ev.h"
#include "ev_consumer.h"
#include "ev_nl.h"

#define EV_CTL_BURST 256      /* records per channel per chunk */
#define EV_CTL_MAX_IOV 256    /* messages per datagram (<= UIO_MAXIOV) */
#define EV_CTL_RECV_MAX 16    /* request datagrams read per step */

struct ev_listener {
	bool used;
	bool reliable;
	bool blocked;        /* refused a datagram in the current chunk */
	uint32_t port_id;
	uint32_t uid;
	uint32_t pid;
	uint32_t mask;
	ev_sink_fn fn;       /* NULL: the netlink socket */
	void *arg;
	uint64_t sent;
	uint64_t failed;
};

struct ev_ctl_chan {
	struct ev_chan *chan;
	struct ct_result backlog[EV_CTL_BURST];  /* results the ring could not take */
	unsigned bl_head;
	unsigned bl_n;
};

/* A record consumer (ev_consumer.h); its delivery is at the end of this file. */
#define EV_CTL_MAX_CONSUMERS 8
struct ev_ctl_consumer {
	const struct ev_consumer_ops *ops;
	void *self;
	bool reliable;
};

struct ev_ctl {
	struct ev_ctl_conf conf;
	struct nl_sock *sk;
	int fd;
	unsigned n_chans;
	unsigned next_chan;
	struct ev_ctl_chan *chans;
	unsigned n_slots;
	struct ev_listener *ls;
	struct ev_ctl_stats st;

	/* Scratch for one chunk */
	struct ct_event_rec recs[EV_CTL_BURST];
	uint32_t off[EV_CTL_BURST];
	uint16_t len[EV_CTL_BURST];
	uint8_t kind[EV_CTL_BURST];
	uint8_t fail[EV_CTL_BURST];     /* a reliable listener refused it */
	uint8_t ok[EV_CTL_BURST];       /* at least one listener took it */
	uint16_t dg_idx[EV_CTL_MAX_IOV];
	struct iovec iov[EV_CTL_MAX_IOV];
	struct ct_result res[EV_CTL_BURST];
	uint8_t *enc;

	/* Record consumers */
	struct ev_ctl_consumer cons[EV_CTL_MAX_CONSUMERS];
	unsigned n_cons;
	uint8_t cons_refused[EV_CTL_BURST];
};

static void consumers_deliver(struct ev_ctl *ctl, unsigned n, uint64_t now, unsigned *dropped);
static void consumers_poll(struct ev_ctl *ctl, uint64_t now);

void
ev_ctl_conf_init(struct ev_ctl_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->port_id = EV_DEFAULT_PORT_ID;
	c->max_listeners = 8;
	c->reliable = true;
	c->max_batch_bytes = 16384;
}

static int
open_socket(struct ev_ctl *ctl, char *err, size_t errlen)
{
	int rc;

	ctl->sk = nl_socket_alloc();
	if (ctl->sk == NULL) {
		snprintf(err, errlen, "nl_socket_alloc failed");
		return -ENOMEM;
	}
	nl_socket_disable_seq_check(ctl->sk);
	nl_socket_set_local_port(ctl->sk, ctl->conf.port_id);
	rc = nl_connect(ctl->sk, NETLINK_USERSOCK);
	if (rc < 0) {
		snprintf(err, errlen, "netlink port id %u: %s%s", ctl->conf.port_id,
			 nl_geterror(rc), rc == -NLE_EXIST ? " (port id in use)" : "");
		return -EADDRINUSE;
	}
	ctl->fd = nl_socket_get_fd(ctl->sk);
	rc = nl_socket_set_nonblocking(ctl->sk);
	if (rc == 0)
		rc = nl_socket_set_passcred(ctl->sk, 1);
	/* The send buffer bounds one datagram (netlink: len <= sndbuf - 32). */
	if (rc == 0)
		rc = nl_socket_set_buffer_size(ctl->sk, (int)ctl->conf.rcvbuf,
					       (int)(ctl->conf.max_batch_bytes * 2 + 4096));
	if (rc < 0) {
		snprintf(err, errlen, "netlink socket setup: %s", nl_geterror(rc));
		return -EIO;
	}
	return 0;
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
	if (conf->max_listeners == 0 || conf->max_listeners > 1024) {
		snprintf(err, errlen, "max_listeners must be in [1, 1024]");
		return NULL;
	}
	if (conf->max_batch_bytes < EV_NL_MSG_MAX || conf->max_batch_bytes > 1u << 20) {
		snprintf(err, errlen, "max_batch_bytes must be in [%u, 1048576]", EV_NL_MSG_MAX);
		return NULL;
	}
	if (conf->n_allowed_uids > EV_MAX_UIDS) {
		snprintf(err, errlen, "at most %u allowed uids", EV_MAX_UIDS);
		return NULL;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ctl->conf = *conf;
	ctl->fd = -1;
	ctl->n_chans = n;
	ctl->chans = calloc(n ? n : 1, sizeof(*ctl->chans));
	ctl->n_slots = conf->max_listeners;
	ctl->ls = calloc(ctl->n_slots, sizeof(*ctl->ls));
	ctl->enc = malloc((size_t)EV_CTL_BURST * EV_NL_MSG_MAX);
	if (ctl->chans == NULL || ctl->ls == NULL || ctl->enc == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if (chans[i] == NULL) {
			snprintf(err, errlen, "channel %u is NULL", i);
			goto fail;
		}
		ctl->chans[i].chan = chans[i];
	}
	if (!conf->no_socket && open_socket(ctl, err, errlen) < 0)
		goto fail;
	return ctl;
fail:
	ev_ctl_free(ctl);
	return NULL;
}

void
ev_ctl_free(struct ev_ctl *ctl)
{
	if (ctl == NULL)
		return;
	if (ctl->sk != NULL)
		nl_socket_free(ctl->sk);
	free(ctl->chans);
	free(ctl->ls);
	free(ctl->enc);
	free(ctl);
}

int
ev_ctl_fd(const struct ev_ctl *ctl)
{
	return ctl->fd;
}

/* ------------------------------------------------------------------------ */
/* Listener registry and the subscribe protocol                              */

static struct ev_listener *
listener_find(struct ev_ctl *ctl, uint32_t port_id)
{
	unsigned i;

	for (i = 0; i < ctl->n_slots; i++)
		if (ctl->ls[i].used && ctl->ls[i].port_id == port_id)
			return &ctl->ls[i];
	return NULL;
}

static bool
uid_allowed(const struct ev_ctl *ctl, uint32_t uid)
{
	unsigned i;

	if (uid == 0)
		return true;
	for (i = 0; i < ctl->conf.n_allowed_uids; i++)
		if (ctl->conf.allowed_uids[i] == uid)
			return true;
	return false;
}

static int
listener_add(struct ev_ctl *ctl, uint32_t port_id, uint32_t uid, uint32_t pid,
	     const struct ev_subscribe *sub, ev_sink_fn fn, void *arg)
{
	struct ev_listener *l = listener_find(ctl, port_id);
	unsigned i;

	if (l == NULL) {
		for (i = 0; i < ctl->n_slots && l == NULL; i++)
			if (!ctl->ls[i].used)
				l = &ctl->ls[i];
		if (l == NULL)
			return -EUSERS;
		memset(l, 0, sizeof(*l));
		l->used = true;
		l->port_id = port_id;
	}
	/* A re-subscribe from the same port updates flags and mask. */
	l->uid = uid;
	l->pid = pid;
	l->mask = sub->mask;
	l->reliable = (sub->flags & EV_SUB_F_RELIABLE) != 0;
	l->fn = fn;
	l->arg = arg;
	return 0;
}

int
ev_ctl_add_sink(struct ev_ctl *ctl, uint32_t port_id, uint32_t flags, uint32_t mask,
		ev_sink_fn fn, void *arg)
{
	struct ev_subscribe sub = { .version = EV_PROTO_VERSION, .flags = flags, .mask = mask };
	int rc;

	if (fn == NULL || ev_nl_parse_subscribe(&sub, sizeof(sub), &sub) < 0)
		return -EINVAL;
	rc = listener_add(ctl, port_id, 0, 0, &sub, fn, arg);
	if (rc < 0)
		ctl->st.subscribe_refused++;
	return rc;
}

static void
send_ack(struct ev_ctl *ctl, uint32_t port_id, const struct nlmsghdr *req, int error)
{
	struct {
		struct nlmsghdr h;
		struct nlmsgerr e;
	} ack;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = port_id };

	if (ctl->fd < 0)
		return;
	memset(&ack, 0, sizeof(ack));
	ack.h.nlmsg_len = sizeof(ack);
	ack.h.nlmsg_type = NLMSG_ERROR;
	/* Only the request header is echoed back (NETLINK_CAP_ACK style). */
	ack.h.nlmsg_flags = error != 0 ? NLM_F_CAPPED : 0;
	ack.h.nlmsg_seq = req->nlmsg_seq;
	ack.h.nlmsg_pid = ctl->conf.port_id;
	ack.e.error = error;
	ack.e.msg = *req;
	/* A listener too busy to take its ack will time out and retry. */
	(void)sendto(ctl->fd, &ack, sizeof(ack), MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
}

static int
handle_one(struct ev_ctl *ctl, uint32_t port_id, uint32_t uid, uint32_t pid,
	   const struct nlmsghdr *h)
{
	const void *payload = (const uint8_t *)h + NLMSG_HDRLEN;
	size_t plen = h->nlmsg_len - NLMSG_HDRLEN;
	struct ev_subscribe sub;
	struct ev_listener *l;
	int rc;

	switch (h->nlmsg_type) {
	case EV_MSG_SUBSCRIBE:
		if (ev_nl_parse_subscribe(payload, plen, &sub) < 0)
			return -EINVAL;
		if (!uid_allowed(ctl, uid)) {
			ctl->st.subscribe_refused++;
			return -EPERM;
		}
		rc = listener_add(ctl, port_id, uid, pid, &sub, NULL, NULL);
		if (rc < 0)
			ctl->st.subscribe_refused++;
		return rc;
	case EV_MSG_UNSUBSCRIBE:
		l = listener_find(ctl, port_id);
		if (l == NULL)
			return -ENOENT;
		/* Only the subscriber itself (or root) may remove it. */
		if (uid != 0 && uid != l->uid)
			return -EPERM;
		l->used = false;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

int
ev_ctl_handle_request(struct ev_ctl *ctl, uint32_t port_id, uint32_t uid, uint32_t pid,
		      const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int last = -EINVAL;

	/* Port 0 is the kernel: never a listener. */
	if (port_id == 0)
		return -EINVAL;
	while (len >= NLMSG_HDRLEN) {
		struct nlmsghdr h;
		uint8_t msg[NLMSG_HDRLEN + 64] __attribute__((aligned(8)));
		size_t alen;

		memcpy(&h, p, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len)
			break;
		/* Requests are tiny: work on an aligned copy, cut to what we read. */
		memset(msg, 0, sizeof(msg));
		memcpy(msg, p, h.nlmsg_len < sizeof(msg) ? h.nlmsg_len : sizeof(msg));
		((struct nlmsghdr *)msg)->nlmsg_len =
			h.nlmsg_len < sizeof(msg) ? h.nlmsg_len : (uint32_t)sizeof(msg);
		if (h.nlmsg_type == NLMSG_NOOP || h.nlmsg_type == NLMSG_DONE ||
		    h.nlmsg_type == NLMSG_ERROR) {
			last = 0;
		} else {
			last = handle_one(ctl, port_id, uid, pid, (const struct nlmsghdr *)msg);
			send_ack(ctl, port_id, &h, last);
		}
		alen = NLMSG_ALIGN(h.nlmsg_len);
		if (alen >= len)
			break;
		p += alen;
		len -= alen;
	}
	return last;
}

static void
recv_requests(struct ev_ctl *ctl)
{
	uint8_t buf[4096] __attribute__((aligned(8)));
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct ucred))];
	} cbuf;
	unsigned i;

	for (i = 0; i < EV_CTL_RECV_MAX; i++) {
		struct sockaddr_nl from;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b),
		};
		struct cmsghdr *cm;
		const struct ucred *cred = NULL;
		ssize_t n;

		n = recvmsg(ctl->fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* EAGAIN: nothing more; ENOBUFS: requests overran our
			 * buffer, the senders will retry. */
			return;
		}
		if (mh.msg_flags & MSG_TRUNC)
			continue;
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS)
				cred = (const struct ucred *)CMSG_DATA(cm);
		if (cred == NULL) {
			/* No credentials, no authority: answer as unauthorised. */
			ev_ctl_handle_request(ctl, from.nl_pid, UINT32_MAX, 0, buf, (size_t)n);
			continue;
		}
		ev_ctl_handle_request(ctl, from.nl_pid, cred->uid, (uint32_t)cred->pid, buf,
				      (size_t)n);
	}
}

unsigned
ev_ctl_listener_count(const struct ev_ctl *ctl, unsigned *reliable)
{
	unsigned i, n = 0, r = 0;

	for (i = 0; i < ctl->n_slots; i++) {
		if (!ctl->ls[i].used)
			continue;
		n++;
		r += ctl->ls[i].reliable;
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
		out[n].port_id = l->port_id;
		out[n].uid = l->uid;
		out[n].pid = l->pid;
		out[n].mask = l->mask;
		out[n].reliable = l->reliable;
		out[n].sent = l->sent;
		out[n].failed = l->failed;
		n++;
	}
	return n;
}

/* ------------------------------------------------------------------------ */
/* Delivery                                                                  */

/* Send one gathered datagram to `l`: 0, or the negative errno. */
static int
send_datagram(struct ev_ctl *ctl, struct ev_listener *l, unsigned iovcnt, size_t bytes)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = l->port_id };
	struct msghdr mh = {
		.msg_name = &to, .msg_namelen = sizeof(to),
		.msg_iov = ctl->iov, .msg_iovlen = iovcnt,
	};
	ssize_t rc;

	ctl->st.datagrams++;
	if (l->fn != NULL)
		return l->fn(l->arg, ctl->iov, iovcnt, bytes);
	if (ctl->fd < 0)
		return -ENOTCONN;
	do {
		rc = sendmsg(ctl->fd, &mh, MSG_DONTWAIT);
	} while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

/* Outcome of one datagram for the records it carried. Returns false when
 * the listener must not get more datagrams in this chunk. */
static bool
datagram_done(struct ev_ctl *ctl, struct ev_listener *l, unsigned cnt, int rc,
	      unsigned *dropped)
{
	unsigned k;

	if (rc == 0) {
		l->sent += cnt;
		for (k = 0; k < cnt; k++)
			ctl->ok[ctl->dg_idx[k]] = 1;
		return true;
	}
	if (rc == -ECONNREFUSED) {
		/* The listener's socket is gone: forget it; its records are
		 * not failures (nobody is there to miss them). */
		l->used = false;
		ctl->st.listeners_gone++;
		return false;
	}
	l->failed += cnt;
	if ((rc == -EAGAIN || rc == -ENOBUFS) && l->reliable && ctl->conf.reliable) {
		for (k = 0; k < cnt; k++)
			ctl->fail[ctl->dg_idx[k]] = 1;
	} else {
		*dropped += cnt;
	}
	/* A full socket stays full for the microseconds a chunk takes. */
	l->blocked = true;
	return false;
}

static void
deliver_to(struct ev_ctl *ctl, struct ev_listener *l, unsigned n, unsigned *dropped)
{
	unsigned i, cnt = 0;
	size_t bytes = 0;
	bool go = true;

	l->blocked = false;
	for (i = 0; i < n && go; i++) {
		if (ctl->len[i] == 0 || !(ctl->kind[i] & l->mask))
			continue;
		if (cnt > 0 && (cnt == EV_CTL_MAX_IOV ||
				bytes + ctl->len[i] > ctl->conf.max_batch_bytes)) {
			go = datagram_done(ctl, l, cnt, send_datagram(ctl, l, cnt, bytes), dropped);
			cnt = 0;
			bytes = 0;
			if (!go)
				break;
		}
		ctl->iov[cnt].iov_base = ctl->enc + ctl->off[i];
		ctl->iov[cnt].iov_len = ctl->len[i];
		ctl->dg_idx[cnt] = (uint16_t)i;
		cnt++;
		bytes += ctl->len[i];
	}
	if (go && cnt > 0) {
		datagram_done(ctl, l, cnt, send_datagram(ctl, l, cnt, bytes), dropped);
		cnt = 0;
	}
	if (!l->blocked || !l->used)
		return;
	/* Everything after the refused datagram meets the same full socket. */
	for (; i < n; i++) {
		if (ctl->len[i] == 0 || !(ctl->kind[i] & l->mask))
			continue;
		l->failed++;
		if (l->reliable && ctl->conf.reliable)
			ctl->fail[i] = 1;
		else
			(*dropped)++;
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

static void
process_chunk(struct ev_ctl *ctl, struct ev_ctl_chan *ch, unsigned n, uint64_t now)
{
	unsigned i, nres = 0, sent = 0, failed = 0, dropped = 0;
	size_t pos = 0;

	for (i = 0; i < n; i++) {
		int len = ev_nl_encode(&ctl->recs[i], EV_NL_F_DEFAULT, ctl->enc, pos,
				       (size_t)EV_CTL_BURST * EV_NL_MSG_MAX);

		ctl->off[i] = (uint32_t)pos;
		ctl->len[i] = len > 0 ? (uint16_t)len : 0;
		ctl->kind[i] = (uint8_t)ev_nl_rec_kind(&ctl->recs[i]);
		ctl->fail[i] = 0;
		ctl->ok[i] = 0;
		if (len > 0)
			pos += (size_t)len;
	}
	for (i = 0; i < ctl->n_slots; i++)
		if (ctl->ls[i].used)
			deliver_to(ctl, &ctl->ls[i], n, &dropped);
	consumers_deliver(ctl, n, now, &dropped);

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
		if (ctl->fail[i] && ctl->len[i] != 0) {
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
		res->pad2 = 0;
		nres++;
	}
	ctl->st.listener_dropped += dropped;
	ev_chan_count(ch->chan, sent, failed, dropped);
	if (nres > 0)
		push_results(ctl, ch, ctl->res, nres);
}

unsigned
ev_ctl_step(struct ev_ctl *ctl, uint64_t now, unsigned budget)
{
	unsigned handled = 0, c, k;

	if (ctl->fd >= 0)
		recv_requests(ctl);
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
			process_chunk(ctl, ch, n, now);
			handled += n;
			left -= n;
			if (ch->bl_n != 0)
				break;
		}
	}
	if (ctl->n_chans > 0)
		ctl->next_chan = (ctl->next_chan + 1) % ctl->n_chans;
	consumers_poll(ctl, now);
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

/* ------------------------------------------------------------------------ */
/* Record consumers (ev_consumer.h)                                          */
/*
 * A minimal registry (the IPFIX exporter's, issue 11), to be reconciled
 * with the listener rewrite: every consumer gets every record of the chunk
 * (no per-consumer resend mask yet, so a DESTROY resent for one refusing
 * consumer reaches the others again). A reliable consumer's refusal of a
 * record with event bits fails it exactly as a refusing reliable socket
 * does (nack, or a re-armed DESTROY); an interim record (no event bits) is
 * never nacked. An unreliable consumer's refusals count as listener_dropped.
 */

int
ev_ctl_add_consumer(struct ev_ctl *ctl, const struct ev_consumer_ops *ops, void *self,
		    bool reliable)
{
	if (ctl == NULL || ops == NULL || ops->deliver == NULL)
		return -EINVAL;
	if (ctl->n_cons == EV_CTL_MAX_CONSUMERS)
		return -EUSERS;
	ctl->cons[ctl->n_cons].ops = ops;
	ctl->cons[ctl->n_cons].self = self;
	ctl->cons[ctl->n_cons].reliable = reliable;
	ctl->n_cons++;
	return 0;
}

static void
consumers_deliver(struct ev_ctl *ctl, unsigned n, uint64_t now, unsigned *dropped)
{
	unsigned c, i;

	for (c = 0; c < ctl->n_cons; c++) {
		const struct ev_ctl_consumer *k = &ctl->cons[c];
		bool reliable = k->reliable && ctl->conf.reliable;

		/* deliver() even while blocked(): the consumer counts its refusals. */
		if (k->ops->deliver(k->self, ctl->recs, n, now, ctl->cons_refused) < 0)
			memset(ctl->cons_refused, 1, n);
		for (i = 0; i < n; i++) {
			if (!ctl->cons_refused[i] || ctl->recs[i].events == 0)
				continue;
			if (reliable)
				ctl->fail[i] = 1;
			else
				(*dropped)++;
		}
	}
}

static void
consumers_poll(struct ev_ctl *ctl, uint64_t now)
{
	unsigned c;

	for (c = 0; c < ctl->n_cons; c++)
		if (ctl->cons[c].ops->poll != NULL)
			ctl->cons[c].ops->poll(ctl->cons[c].self, now);
}
