/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Connections: admission and the request path (docs/events.md).
 *
 * A connection the transport accepted is admitted by its peer's
 * credentials (SO_PEERCRED): uid 0, allowed_uids or allowed_gids. Slots
 * nobody can hoard: a uid other than 0 holds at most max_conns_per_uid
 * connections, reserved_slots are kept for uid 0 and reliable_uids, a
 * connection that does not subscribe or dump within subscribe_timeout_ms
 * is closed, and when every slot is taken uid 0 takes the slot of the
 * oldest connection that has not subscribed. Refusals and closings are
 * counted per uid and logged at most once per EV_CTL_LOG_EVERY_NS per uid.
 *
 * The connection is the subscription: a peer that closes (or dies) is
 * unsubscribed at once. Its first message is EV_MSG_SUBSCRIBE or a dump
 * request; requests are budgeted by message per step (EV_CTL_REQ_BUDGET),
 * a datagram holds at most EV_REQ_PER_DGRAM of them and at most EV_REQ_MAX
 * bytes, and a peer whose requests keep being refused (EV_CTL_BAD_MAX) is
 * cut off. Every refused request, and every one that asks (NLM_F_ACK), is
 * answered with an NLMSG_ERROR.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>

#include "ev.h"
#include "ev_ctl_private.h"
#include "ev_nl.h"

/* ------------------------------------------------------------------------ */
/* Refusals                                                                  */

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

/* ------------------------------------------------------------------------ */
/* Acks                                                                      */

/* Answer `req` on `conn` with an NLMSG_ERROR carrying `error` (0: an ack). */
static void
send_ack(struct ev_ctl *ctl, int conn, const struct nlmsghdr *req, int error)
{
	struct {
		struct nlmsghdr h;
		struct nlmsgerr e;
	} ack;
	struct iovec iov = { .iov_base = &ack, .iov_len = sizeof(ack) };

	if (conn < 0)
		return;
	memset(&ack, 0, sizeof(ack));
	ack.h.nlmsg_len = sizeof(ack);
	ack.h.nlmsg_type = NLMSG_ERROR;
	/* Only the request header is echoed back (NETLINK_CAP_ACK style). */
	ack.h.nlmsg_flags = error != 0 ? NLM_F_CAPPED : 0;
	ack.h.nlmsg_seq = req->nlmsg_seq;
	ack.h.nlmsg_pid = 0;
	ack.e.error = error;
	ack.e.msg = *req;
	/* A peer too busy to take its ack times out and retries. */
	(void)ctl->tops->send(ctl->tself, conn, &iov, 1);
}

static void
ack(struct ev_ctl *ctl, const struct ev_listener *l, const struct nlmsghdr *req, int error)
{
	send_ack(ctl, l->conn, req, error);
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                  */

static bool
in_list(const uint32_t *list, unsigned n, uint32_t v)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (list[i] == v)
			return true;
	return false;
}

static bool
peer_allowed(const struct ev_ctl *ctl, uint32_t uid, uint32_t gid)
{
	return uid == 0 || in_list(ctl->conf.allowed_uids, ctl->conf.n_allowed_uids, uid) ||
	       in_list(ctl->conf.allowed_gids, ctl->conf.n_allowed_gids, gid);
}

static void
set_bufsize(struct ev_ctl *ctl, struct ev_listener *l, uint32_t want)
{
	int got = -1;
	unsigned b;

	if (want == 0)
		want = ctl->conf.sndbuf;
	if (want < EV_CTL_BUF_MIN / 2)
		want = EV_CTL_BUF_MIN / 2;
	if (want > EV_CTL_BUF_MAX)
		want = EV_CTL_BUF_MAX;
	if (l->conn >= 0)
		got = ctl->tops->set_sndbuf(ctl->tself, l->conn, want);
	/* What a socket buffer asked for gets: twice the request. */
	if (got < 0)
		got = (int)want * 2;
	/* A datagram must fit the buffer (len <= sndbuf - 32); half of it
	 * leaves room for the next one. */
	b = (unsigned)got / 2;
	if (b > ctl->conf.max_batch_bytes)
		b = ctl->conf.max_batch_bytes;
	if (b < EV_NL_MSG_MAX)
		b = EV_NL_MSG_MAX;
	l->batch = b;
}

static int
do_subscribe(struct ev_ctl *ctl, struct ev_listener *l, const struct nlmsghdr *h)
{
	const void *payload = (const uint8_t *)h + NLMSG_HDRLEN;
	size_t plen = h->nlmsg_len - NLMSG_HDRLEN;
	struct ev_subscribe sub;
	bool rel;

	if (ev_nl_parse_subscribe(payload, plen, &sub) < 0)
		return -EINVAL;
	rel = (sub.flags & EV_SUB_F_RELIABLE) != 0;
	if (rel && !in_list(ctl->conf.reliable_uids, ctl->conf.n_reliable_uids, l->uid)) {
		ctl->st.subscribe_refused++;
		return -EACCES;
	}
	l->mask = sub.mask;
	l->want_reliable = rel;
	/* A re-subscribe may change the mask, never undo a demotion. */
	if (l->state != EV_LS_DEMOTED)
		l->state = rel ? EV_LS_RELIABLE : EV_LS_UNRELIABLE;
	set_bufsize(ctl, l, sub.bufsize);
	/* Before the answer: the workers build what it asked for from then on. */
	ev_ctl_publish_kinds(ctl);
	return 0;
}

static int
handle_one(struct ev_ctl *ctl, struct ev_listener *l, const struct nlmsghdr *h, bool *close_it)
{
	switch (h->nlmsg_type) {
	case EV_MSG_SUBSCRIBE:
		return do_subscribe(ctl, l, h);
	case EV_MSG_UNSUBSCRIBE:
		/* The connection is the subscription: this ends it. */
		*close_it = true;
		return 0;
	case (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET:
	case (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_GET:
		/* A single-entry GET (no NLM_F_DUMP) is not served. */
		if ((h->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
			return -EOPNOTSUPP;
		return ev_ctl_dump_request(ctl, l, h);
	default:
		return -EOPNOTSUPP;
	}
}

static void
refused_request(struct ev_ctl *ctl, struct ev_listener *l)
{
	ctl->st.requests_refused++;
	l->bad++;
}

static int
handle_datagram(struct ev_ctl *ctl, struct ev_listener *l, const void *buf, size_t len,
		unsigned *budget)
{
	const uint8_t *p = buf;
	int last = -EINVAL;
	unsigned k = 0;
	bool close_it = false;

	while (len >= NLMSG_HDRLEN) {
		struct nlmsghdr h;
		uint8_t msg[NLMSG_HDRLEN + 64] __attribute__((aligned(8)));
		size_t alen;

		memcpy(&h, p, sizeof(h));
		if (k == EV_REQ_PER_DGRAM || h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len) {
			/* Answered, and the rest of the datagram is not read:
			 * past a bad length there is no next header to trust. */
			last = k == EV_REQ_PER_DGRAM ? -E2BIG : -EINVAL;
			ack(ctl, l, &h, last);
			refused_request(ctl, l);
			k++;
			break;
		}
		/* Requests are tiny: work on an aligned copy, cut to what we read. */
		memset(msg, 0, sizeof(msg));
		memcpy(msg, p, h.nlmsg_len < sizeof(msg) ? h.nlmsg_len : sizeof(msg));
		((struct nlmsghdr *)msg)->nlmsg_len =
			h.nlmsg_len < sizeof(msg) ? h.nlmsg_len : (uint32_t)sizeof(msg);
		k++;
		if (*budget > 0)
			(*budget)--;
		if (h.nlmsg_type == NLMSG_NOOP) {
			last = 0;
		} else {
			last = handle_one(ctl, l, (const struct nlmsghdr *)msg, &close_it);
			if (last != 0 || (h.nlmsg_flags & NLM_F_ACK))
				ack(ctl, l, &h, last);
			if (last != 0)
				refused_request(ctl, l);
			else
				l->bad = 0;
		}
		alen = NLMSG_ALIGN(h.nlmsg_len);
		if (alen >= len || close_it)
			break;
		p += alen;
		len -= alen;
	}
	if (k == 0) {
		/* Fewer bytes than a header: nothing to echo but what came. */
		struct nlmsghdr h = { .nlmsg_len = (uint32_t)len };

		memcpy(&h, buf, len < sizeof(h) ? len : sizeof(h));
		ack(ctl, l, &h, -EINVAL);
		refused_request(ctl, l);
	}
	if (close_it)
		l->closing = true;
	if (l->bad >= EV_CTL_BAD_MAX && !l->closing) {
		ctl->st.peers_cut++;
		ev_ctl_note_refusal(ctl, l->uid, l->pid, offsetof(struct ev_refusal, cut),
				    "connection closed after repeated refused requests");
		l->closing = true;
	}
	return last;
}

int
ev_ctl_handle_request(struct ev_ctl *ctl, unsigned slot, const void *buf, size_t len)
{
	unsigned budget = EV_REQ_PER_DGRAM;
	struct ev_listener *l;
	int rc;

	if (slot >= ctl->n_slots || !ctl->ls[slot].used || ctl->ls[slot].type != EV_LT_SOCKET)
		return -ENOENT;
	l = &ctl->ls[slot];
	if (l->closing)
		return -ENOENT;
	rc = handle_datagram(ctl, l, buf, len, &budget);
	if (l->closing)
		ev_ctl_listener_close(ctl, l, false);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Admission                                                                 */

/*
 * Refuse a connection with a reason the peer can read, then close it. What
 * the peer sent before it was accepted is read and dropped first: closing
 * an AF_UNIX socket with datagrams still queued makes the peer's next
 * recv() fail with ECONNRESET before it reads the reason.
 */
static void
refuse_conn(struct ev_ctl *ctl, int conn, int error)
{
	struct nlmsghdr req = { .nlmsg_len = NLMSG_HDRLEN };
	uint8_t drop[NLMSG_HDRLEN];
	unsigned i;

	send_ack(ctl, conn, &req, error);
	for (i = 0; i < EV_CTL_REFUSE_DRAIN; i++)
		if (ctl->tops->recv(ctl->tself, conn, drop, sizeof(drop)) <= 0)
			break;
	ctl->tops->close(ctl->tself, conn);
}

/* A connection that has not subscribed and is not dumping: it holds a slot
 * and gets nothing for it yet. */
static bool
conn_idle(const struct ev_ctl *ctl, const struct ev_listener *l)
{
	return l->used && l->type == EV_LT_SOCKET && l->state == EV_LS_PENDING &&
	       !l->dump_wanted && ctl->dump_slot != (int)l->slot;
}

/*
 * May a connection of `uid` take a slot now? 0, or -EUSERS with the counter
 * it is refused under. With no slot free, uid 0 is given the slot of the
 * oldest idle connection of another uid.
 */
static int
admit(struct ev_ctl *ctl, uint32_t uid, size_t *why)
{
	bool privileged = uid == 0 ||
			  in_list(ctl->conf.reliable_uids, ctl->conf.n_reliable_uids, uid);
	struct ev_listener *oldest = NULL;
	unsigned i, held = 0, free_slots = 0;

	for (i = 0; i < ctl->n_slots; i++) {
		struct ev_listener *l = &ctl->ls[i];

		if (!l->used) {
			free_slots++;
			continue;
		}
		if (l->type != EV_LT_SOCKET)
			continue;
		held += l->uid == uid;
		if (l->uid != 0 && conn_idle(ctl, l) &&
		    (oldest == NULL || l->connected_ns < oldest->connected_ns))
			oldest = l;
	}
	if (uid != 0 && held >= ctl->conf.max_conns_per_uid) {
		*why = offsetof(struct ev_refusal, over_uid_limit);
		return -EUSERS;
	}
	if (!privileged && free_slots <= ctl->conf.reserved_slots) {
		*why = offsetof(struct ev_refusal, no_slot);
		return -EUSERS;
	}
	if (free_slots > 0)
		return 0;
	if (uid != 0 || oldest == NULL) {
		*why = offsetof(struct ev_refusal, no_slot);
		return -EUSERS;
	}
	ctl->st.peers_evicted++;
	ev_ctl_note_refusal(ctl, oldest->uid, oldest->pid, offsetof(struct ev_refusal, evicted),
			    "unsubscribed connection closed to make room for uid 0");
	ev_ctl_listener_close(ctl, oldest, false);
	return 0;
}

static const char *
refusal_text(size_t why)
{
	if (why == offsetof(struct ev_refusal, over_uid_limit))
		return "connection refused: the uid holds events.max_conns_per_uid connections";
	if (why == offsetof(struct ev_refusal, not_allowed))
		return "connection refused: uid and gid not allowed (events.allowed_uids/gids)";
	return "connection refused: no free listener slot for this uid "
	       "(events.max_listeners, events.reserved_slots)";
}

int
ev_ctl_attach_peer(struct ev_ctl *ctl, int fd, uint32_t uid, uint32_t gid, uint32_t pid)
{
	size_t why = offsetof(struct ev_refusal, not_allowed);
	struct ev_listener *l = NULL;
	int rc = -EPERM;

	if (peer_allowed(ctl, uid, gid)) {
		rc = admit(ctl, uid, &why);
		if (rc == 0)
			l = ev_ctl_slot_alloc(ctl);
		if (rc == 0 && l == NULL)
			rc = -EUSERS;
	}
	if (rc != 0) {
		ctl->st.subscribe_refused++;
		ev_ctl_note_refusal(ctl, uid, pid, why, refusal_text(why));
		if (fd >= 0)
			refuse_conn(ctl, fd, rc);
		return rc;
	}
	l->type = EV_LT_SOCKET;
	l->state = EV_LS_PENDING;
	l->conn = fd;
	l->uid = uid;
	l->gid = gid;
	l->pid = pid;
	l->mask = 0;
	if (fd >= 0) {
		/* Its datagrams come back from poll() tagged with its slot. */
		rc = ctl->tops->watch(ctl->tself, fd, l->slot);
		if (rc < 0) {
			ctl->tops->close(ctl->tself, fd);
			l->conn = -1;
			l->used = false;
			return rc;
		}
	}
	set_bufsize(ctl, l, 0);
	return (int)l->slot;
}

/* ------------------------------------------------------------------------ */
/* What the transport reports                                                */

/* Read one connection's requests: false when it is gone. */
static bool
read_peer(struct ev_ctl *ctl, struct ev_listener *l, unsigned *budget)
{
	uint8_t buf[EV_REQ_MAX] __attribute__((aligned(8)));

	while (*budget > 0 && !l->closing) {
		ssize_t n = ctl->tops->recv(ctl->tself, l->conn, buf, sizeof(buf));

		if (n < 0)
			return n == -EAGAIN;
		if (n == 0)
			return false;
		if ((size_t)n > sizeof(buf)) {
			/* Requests are small: refuse the datagram whole, naming
			 * its first header. */
			ack(ctl, l, (const struct nlmsghdr *)buf, -EMSGSIZE);
			refused_request(ctl, l);
			(*budget)--;
			continue;
		}
		handle_datagram(ctl, l, buf, (size_t)n, budget);
	}
	return true;
}

static void
conn_opened(struct ev_ctl *ctl, const struct ev_conn_event *e)
{
	if (e->cred_err != 0) {
		/* No credentials, no authority. */
		ctl->st.subscribe_refused++;
		refuse_conn(ctl, e->conn, -EPERM);
		return;
	}
	(void)ev_ctl_attach_peer(ctl, e->conn, e->uid, e->gid, e->pid);
}

static void
conn_ready(struct ev_ctl *ctl, const struct ev_conn_event *e, unsigned *budget)
{
	struct ev_listener *l;

	if (e->tag >= ctl->n_slots || !ctl->ls[e->tag].used || ctl->ls[e->tag].conn < 0)
		return;
	l = &ctl->ls[e->tag];
	if (e->readable && !read_peer(ctl, l, budget)) {
		ev_ctl_listener_close(ctl, l, true);
		return;
	}
	if (e->hangup) {
		/* Requests it sent before going were read above. */
		ev_ctl_listener_close(ctl, l, true);
		return;
	}
	if (l->closing)
		ev_ctl_listener_close(ctl, l, false);
}

void
ev_ctl_conns_step(struct ev_ctl *ctl, uint64_t mono)
{
	struct ev_conn_event evs[EV_MAX_LISTENERS + 1 + EV_TRANSPORT_ACCEPT_MAX];
	unsigned budget = EV_CTL_REQ_BUDGET, n, i;

	n = ctl->tops->poll(ctl->tself, evs, sizeof(evs) / sizeof(evs[0]));
	for (i = 0; i < n; i++) {
		if (evs[i].what == EV_CONN_OPENED)
			conn_opened(ctl, &evs[i]);
		else
			conn_ready(ctl, &evs[i], &budget);
	}
	/* A connection that neither subscribes nor dumps holds a slot. */
	for (i = 0; i < ctl->n_slots; i++) {
		struct ev_listener *l = &ctl->ls[i];

		if (conn_idle(ctl, l) && mono > l->connected_ns &&
		    mono - l->connected_ns > (uint64_t)ctl->conf.subscribe_timeout_ms * 1000000u) {
			ctl->st.peers_cut++;
			ev_ctl_note_refusal(ctl, l->uid, l->pid, offsetof(struct ev_refusal, timed_out),
					    "connection closed: no subscribe or dump within "
					    "events.subscribe_timeout_ms");
			ev_ctl_listener_close(ctl, l, false);
		}
	}
}
