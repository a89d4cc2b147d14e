/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dumps: a listener sends IPCTNL_MSG_CT_GET with NLM_F_DUMP, as
 * `conntrack -L` does to the kernel, and gets every live entry as a
 * ctnetlink message with NLM_F_MULTI (the request's nlmsg_seq), then
 * NLMSG_DONE. One dump runs at a time; the entries come from the pager the
 * app installed (it pages through the workers' mailboxes, so the packet
 * path never stalls) and go out through the connection's transport as it
 * has room: a dump is never lossy, it waits. Events keep flowing on the same connection
 * meanwhile (consumers dedupe by id).
 *
 * IPCTNL_MSG_EXP_GET with NLM_F_DUMP (NFNL_SUBSYS_CTNETLINK_EXP, as
 * `conntrack -L expect` sends) is the same walk over the expectation pager
 * (ev_ctl_set_exp_dump()): its records are CT_REC_F_EXP snapshots, answered
 * as IPCTNL_MSG_EXP_NEW messages. Both kinds share the one-at-a-time queue.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>

#include "ev.h"
#include "ev_ctl_private.h"
#include "ev_nl.h"
#include "ev_nl_exp.h"

/* The pager of the running dump (NULL when it was removed). */
static const struct ev_dump_ops *
cur_ops(const struct ev_ctl *ctl, void **arg)
{
	*arg = ctl->dump_exp ? ctl->exp_dump_arg : ctl->dump_arg;
	return ctl->dump_exp ? ctl->exp_dump_ops : ctl->dump_ops;
}

void
ev_ctl_set_dump(struct ev_ctl *ctl, const struct ev_dump_ops *ops, void *arg)
{
	if (ctl->dump_slot >= 0 && !ctl->dump_exp)
		ev_ctl_dump_abort(ctl);
	ctl->dump_ops = ops;
	ctl->dump_arg = arg;
}

void
ev_ctl_set_exp_dump(struct ev_ctl *ctl, const struct ev_dump_ops *ops, void *arg)
{
	if (ctl->dump_slot >= 0 && ctl->dump_exp)
		ev_ctl_dump_abort(ctl);
	ctl->exp_dump_ops = ops;
	ctl->exp_dump_arg = arg;
}

int
ev_ctl_dump_request(struct ev_ctl *ctl, struct ev_listener *l, const struct nlmsghdr *h)
{
	bool exp = (h->nlmsg_type >> 8) == NFNL_SUBSYS_CTNETLINK_EXP;
	struct nfgenmsg nfg;

	if ((exp ? ctl->exp_dump_ops : ctl->dump_ops) == NULL)
		return -EOPNOTSUPP;
	if (h->nlmsg_len < NLMSG_HDRLEN + sizeof(nfg))
		return -EINVAL;
	/* Filters (CTA_MARK, CTA_ZONE, status) are not supported: refuse
	 * rather than answer a different question. */
	if (NLMSG_ALIGN(h->nlmsg_len) > NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfg)))
		return -EOPNOTSUPP;
	memcpy(&nfg, (const uint8_t *)h + NLMSG_HDRLEN, sizeof(nfg));
	if (nfg.nfgen_family != AF_UNSPEC && nfg.nfgen_family != AF_INET &&
	    nfg.nfgen_family != AF_INET6)
		return -EAFNOSUPPORT;
	if (l->dump_wanted || ctl->dump_slot == (int)l->slot)
		return -EBUSY;
	l->dump_wanted = true;
	l->dump_exp = exp;
	l->dump_family = nfg.nfgen_family == AF_INET ? 4 : nfg.nfgen_family == AF_INET6 ? 6 : 0;
	l->dump_seq = h->nlmsg_seq;
	l->dump_pid = h->nlmsg_pid;
	return 0;
}

void
ev_ctl_dump_abort(struct ev_ctl *ctl)
{
	const struct ev_dump_ops *ops;
	void *arg;

	if (ctl->dump_slot < 0)
		return;
	ops = cur_ops(ctl, &arg);
	if (ops != NULL && ops->end != NULL)
		ops->end(arg);
	ctl->dump_slot = -1;
}

static void
dump_start(struct ev_ctl *ctl)
{
	unsigned k;

	for (k = 0; k < ctl->n_slots; k++) {
		unsigned s = (ctl->dump_next + k) % ctl->n_slots;
		struct ev_listener *l = &ctl->ls[s];

		const struct ev_dump_ops *ops;
		void *arg;

		if (!l->used || !l->dump_wanted || l->closing)
			continue;
		/* A request whose pager was removed since waits for a new one. */
		if ((l->dump_exp ? ctl->exp_dump_ops : ctl->dump_ops) == NULL)
			continue;
		l->dump_wanted = false;
		ctl->dump_slot = (int)s;
		ctl->dump_exp = l->dump_exp;
		ctl->dump_next = s + 1;
		ctl->dump_src_done = false;
		ctl->dump_n = ctl->dump_pos = 0;
		ops = cur_ops(ctl, &arg);
		if (ops->begin != NULL)
			ops->begin(arg);
		return;
	}
}

/* Encode recs[pos..n) (those of the wanted family) into one datagram. */
static size_t
dump_fill(struct ev_ctl *ctl, struct ev_listener *l, unsigned *taken)
{
	size_t pos = 0;
	unsigned i;

	for (i = ctl->dump_pos; i < ctl->dump_n; i++) {
		struct ct_event_rec *r = &ctl->dump_recs[i];
		struct nlmsghdr *h;
		int len;

		if (l->dump_family != 0 && r->orig.family != l->dump_family)
			continue;
		if (pos + EV_NL_MSG_MAX > l->batch && pos > 0)
			break;
		if (ctl->dump_exp)
			len = ev_nl_exp_encode(r, EV_NL_F_DUMP, ctl->dump_enc, pos,
					       EV_CTL_DUMP_BUF);
		else
			len = ev_nl_encode(r, EV_NL_F_DEFAULT | EV_NL_F_DUMP, ctl->dump_enc, pos,
					   EV_CTL_DUMP_BUF);
		if (len == -ENOSPC)
			break;
		if (len < 0)
			continue;
		h = (struct nlmsghdr *)(ctl->dump_enc + pos);
		h->nlmsg_seq = l->dump_seq;
		h->nlmsg_pid = 0;
		pos += (size_t)len;
		(*taken)++;
	}
	/* Entries skipped or refused by the encoder are consumed too. */
	ctl->dump_fill_end = i;
	return pos;
}

static int
send_done(struct ev_ctl *ctl, const struct ev_listener *l)
{
	struct {
		struct nlmsghdr h;
		int32_t status;
	} done;
	struct iovec iov = { .iov_base = &done, .iov_len = sizeof(done) };

	memset(&done, 0, sizeof(done));
	done.h.nlmsg_len = sizeof(done);
	done.h.nlmsg_type = NLMSG_DONE;
	done.h.nlmsg_flags = NLM_F_MULTI;
	done.h.nlmsg_seq = l->dump_seq;
	return ev_ctl_conn_send(ctl, l, &iov, 1);
}

void
ev_ctl_dump_step(struct ev_ctl *ctl)
{
	const struct ev_dump_ops *ops;
	struct ev_listener *l;
	void *arg;
	unsigned d;

	if (ctl->dump_ops == NULL && ctl->exp_dump_ops == NULL)
		return;
	if (ctl->dump_slot < 0)
		dump_start(ctl);
	if (ctl->dump_slot < 0)
		return;
	l = &ctl->ls[ctl->dump_slot];
	ops = cur_ops(ctl, &arg);
	for (d = 0; d < EV_CTL_DUMP_DGRAMS; d++) {
		struct iovec iov;
		unsigned taken = 0;
		size_t bytes;
		int rc;

		if (ctl->dump_pos == ctl->dump_n) {
			if (ctl->dump_src_done) {
				rc = send_done(ctl, l);
				if (rc == -EAGAIN || rc == -ENOBUFS)
					return;
				ctl->dump_slot = -1;
				if (ops->end != NULL)
					ops->end(arg);
				if (rc == 0)
					ctl->st.dumps++;
				else
					ev_ctl_listener_close(ctl, l, true);
				return;
			}
			ctl->dump_pos = 0;
			ctl->dump_n = ops->next(arg, ctl->dump_recs, EV_CTL_DUMP_PAGE,
						&ctl->dump_src_done);
			if (ctl->dump_n == 0 && !ctl->dump_src_done)
				return;
			continue;
		}
		bytes = dump_fill(ctl, l, &taken);
		if (bytes == 0) {
			ctl->dump_pos = ctl->dump_fill_end;
			continue;
		}
		iov.iov_base = ctl->dump_enc;
		iov.iov_len = bytes;
		ctl->st.datagrams++;
		rc = ev_ctl_conn_send(ctl, l, &iov, 1);
		if (rc == 0) {
			ctl->dump_pos = ctl->dump_fill_end;
			l->dumped += taken;
			ctl->st.dump_entries += taken;
			continue;
		}
		/* Full: the same entries go out on a later step. Anything else
		 * (the peer went away) ends the connection. */
		if (rc != -EAGAIN && rc != -ENOBUFS)
			ev_ctl_listener_close(ctl, l, true);
		return;
	}
}
