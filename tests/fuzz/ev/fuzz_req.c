/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the request path of the events socket (issue 8): subscribe,
 * unsubscribe, dump requests and garbage, from several connections, with
 * control steps (delivery, a dump in progress, the stall policy) in
 * between. The input is a list of chunks [op][len][len bytes]:
 *   op & 3 == 0  the bytes are one request datagram on connection (op >> 2) & 3
 *   op & 3 == 1  a new connection; the first byte picks the peer's uid
 *   op & 3 == 2  a control step, after pushing `len` event records (a byte
 *                with bit 0x40 pushes an expectation record)
 *   op & 3 == 3  the peer of connection (op >> 2) & 3 closes
 * Both dump pagers are installed (connections and expectations).
 * Invariants checked: the listener count never exceeds the cap, a dump
 * never sends more entries than the pagers gave, results stay sane and an
 * expectation's result is always one of the CT_RES_EXP_* kinds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"
#include "ev_nl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LISTENERS 4

struct pager {
	unsigned left, given;
};

static void
pg_begin(void *arg)
{
	((struct pager *)arg)->left = 300;
}

static unsigned
pg_next(void *arg, struct ct_event_rec *out, unsigned max, bool *done)
{
	struct pager *p = arg;
	unsigned n = 0;

	while (n < max && n < 64 && p->left > 0) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].orig.family = (p->left & 1) ? 4 : 6;
		out[n].orig.proto = (p->left & 2) ? 6 : 17;
		out[n].orig.sport = (uint16_t)p->left;
		out[n].id = p->left;
		p->left--;
		n++;
	}
	p->given += n;
	*done = p->left == 0;
	return n;
}

static void
pg_end(void *arg)
{
	(void)arg;
}

static const struct ev_dump_ops pg_ops = { pg_begin, pg_next, pg_end };

/* Expectations: 100 a dump. */
static void
xp_begin(void *arg)
{
	((struct pager *)arg)->left = 100;
}

static unsigned
xp_next(void *arg, struct ct_event_rec *out, unsigned max, bool *done)
{
	struct pager *p = arg;
	unsigned n = 0;

	while (n < max && n < 64 && p->left > 0) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].flags = CT_REC_F_EXP;
		out[n].orig.family = out[n].reply.family = (p->left & 1) ? 4 : 6;
		out[n].orig.proto = out[n].reply.proto = 6;
		out[n].orig.dport = (uint16_t)p->left;
		out[n].id = p->left;
		out[n].exp_helper = CT_EXP_HELPER_FTP;
		p->left--;
		n++;
	}
	p->given += n;
	*done = p->left == 0;
	return n;
}

static const struct ev_dump_ops xp_ops = { xp_begin, xp_next, pg_end };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ev_ctl_conf conf;
	struct ev_ctl_stats st;
	struct ev_chan *chan;
	struct ev_ctl *ctl;
	struct pager pg = { 0 }, xpg = { 0 };
	int slots[MAX_LISTENERS] = { -1, -1, -1, -1 };
	int peers[MAX_LISTENERS] = { -1, -1, -1, -1 };
	struct ct_result res[64];
	size_t off = 0;
	unsigned k, n;

	chan = ev_chan_create(64, 64, NULL, 0);
	if (chan == NULL)
		abort();
	ev_ctl_conf_init(&conf);
	conf.no_socket = true;
	conf.max_listeners = MAX_LISTENERS;
	conf.allowed_uids[0] = 1000;
	conf.n_allowed_uids = 1;
	conf.reliable_stall_ms = 1;
	ctl = ev_ctl_create(&conf, &chan, 1, NULL, 0);
	if (ctl == NULL)
		abort();
	ev_ctl_set_dump(ctl, &pg_ops, &pg);
	ev_ctl_set_exp_dump(ctl, &xp_ops, &xpg);

	while (off + 2 <= size) {
		uint8_t op = data[off], len = data[off + 1];
		const uint8_t *p = data + off + 2;
		unsigned c = (op >> 2) & 3;

		if ((size_t)len > size - off - 2)
			len = (uint8_t)(size - off - 2);
		off += 2 + (size_t)len;
		switch (op & 3) {
		case 0:
			if (slots[c] >= 0)
				(void)ev_ctl_handle_request(ctl, (unsigned)slots[c], p, len);
			break;
		case 1: {
			static const uint32_t uids[4] = { 0, 1000, 65534, 0 };
			uint32_t uid = uids[len > 0 ? p[0] & 3 : 0];
			int sv[2] = { -1, -1 }, s;

			if (slots[c] >= 0)
				break;
			/* Half the connections are real socketpairs (a dump and
			 * events go out, and fill the peer), half send nowhere. */
			if ((op & 0x40) && socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
				sv[0] = sv[1] = -1;
			s = ev_ctl_attach_peer(ctl, sv[0], uid, uid, 1);
			if (s < 0) {
				if (sv[1] >= 0)
					close(sv[1]);
				break;
			}
			slots[c] = s;
			peers[c] = sv[1];
			break;
		}
		case 2:
			for (k = 0; k < len && k < 32; k++) {
				struct ct_event_rec r;

				memset(&r, 0, sizeof(r));
				r.orig.family = 4;
				r.orig.proto = 17;
				r.orig.sport = (uint16_t)k;
				r.slot = k;
				r.id = 1 + k;
				r.events = (uint16_t)(p[k] & 0x3f);
				if (p[k] & 0x40) {
					/* Expectation ids are 1000 up: see the results. */
					r.flags = CT_REC_F_EXP;
					r.orig.proto = 6;
					r.reply = r.orig;
					r.id = 1000 + k;
					r.events = (uint16_t)(p[k] & 3);
				}
				r.targets = (p[k] & 0x80) ? (uint32_t)(p[k] & 0xf) : 0;
				(void)ev_chan_push_records(chan, &r, 1);
			}
			ev_ctl_step(ctl, 0, 64);
			while ((n = ev_chan_pull_results(chan, res, 64)) > 0)
				for (k = 0; k < n; k++)
					if (res[k].kind < CT_RES_NACK ||
					    res[k].kind > CT_RES_EXP_NEW_ACK ||
					    (res[k].kind >= CT_RES_EXP_NACK) != (res[k].id >= 1000))
						abort();
			break;
		case 3:
			if (peers[c] >= 0)
				close(peers[c]);
			peers[c] = -1;
			slots[c] = -1;
			ev_ctl_step(ctl, 0, 64);
			break;
		}
		if (ev_ctl_listener_count(ctl, NULL) > MAX_LISTENERS)
			abort();
	}
	ev_ctl_step(ctl, 0, 64);
	ev_ctl_get_stats(ctl, &st);
	if (st.dump_entries > pg.given + xpg.given)
		abort();
	ev_ctl_free(ctl);
	ev_chan_free(chan);
	for (k = 0; k < MAX_LISTENERS; k++)
		if (peers[k] >= 0)
			close(peers[k]);
	return 0;
}
