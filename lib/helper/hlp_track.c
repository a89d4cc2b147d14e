/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers on a shard (hlp_track.h): rules, per-entry state, the
 * expectation table, RELATED connections and expectation records.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "ct_helper.h"
#include "hlp_track.h"

/* An expectation's `pending` bit: its DESTROY is staged, a result is awaited. */
#define P_AWAIT 0x80    /* its DESTROY is out, waiting for a result */
#define P_NEW_OUT 0x40  /* its NEW is out, waiting for a result: no DESTROY yet */
#define P_DSENT 0x20    /* its DESTROY was staged before (the next is a resend) */

/* What the table does not keep about an expectation, by its index. */
struct exp_side {
	struct ct_tuple master;   /* the master's original tuple */
	uint64_t due_ns;          /* a refused DESTROY: when to send it again */
	uint32_t targets;         /* ... and to which listener slots (0 = all) */
	uint8_t helper;           /* CT_EXP_HELPER_* */
	uint8_t queued;           /* on the resend queue */
	uint8_t resend;           /* the next DESTROY is a resend */
	uint8_t refused;          /* refusals of its DESTROY so far (the back-off) */
};

struct hlp_track {
	struct hlp_track_head head;  /* first: hlp_track_helped() reads it */
	struct ct_shard *s;
	struct hlp_exp_table *t;
	struct exp_side *side;
	uint32_t *queue;             /* refused DESTROYs in refusal order (a ring) */
	uint32_t q_head, q_n, max;
	bool events;
	struct hlp_conf c;
	struct hlp_track_stats st;
	/* Other workers' expectations (hlp_track_set_peers()), NULL without peers */
	struct hlp_exp_table *copies;
	struct hlp_msg *copy_of;     /* by copy index: whose it is */
	hlp_send_fn send;
	void *send_arg;
	uint16_t self;
	uint64_t prng;               /* spreads the resends (xorshift64) */
};

static const uint8_t helper_proto[HLP_HELPERS + 1] = {
	[CT_EXP_HELPER_FTP] = IPPROTO_TCP,
	[CT_EXP_HELPER_TFTP] = IPPROTO_UDP,
};

static struct hlp_master *
master_of(void *arg, uint32_t slot, uint32_t id)
{
	struct hlp_track *h = arg;

	if (slot >= h->head.n_slots || h->head.slots[slot].id != id)
		return NULL;
	return &h->head.slots[slot].m;
}

static void
fill(struct hlp_track *h, uint32_t idx, struct ct_event_rec *r, uint16_t events, uint64_t now)
{
	const struct hlp_exp *x = hlp_exp_get(h->t, idx);
	const struct exp_side *d = &h->side[idx];

	r->orig = x->tuple;
	r->reply = d->master;
	r->id = x->id;
	r->slot = idx;
	r->master_id = x->master_id;
	r->start_ns = now;
	if (x->state == HLP_EXP_LIVE && x->expires_ns > now)
		r->timeout_s = (uint32_t)((x->expires_ns - now + 999999999u) / 1000000000u);
	r->events = events;
	r->exp_helper = d->helper;
}

unsigned
hlp_track_dump(struct hlp_track *h, uint32_t *cursor, unsigned max, uint64_t now,
	       int (*fn)(const struct ct_event_rec *r, void *arg), void *arg)
{
	unsigned n = 0;
	uint32_t i;

	for (i = *cursor; i < h->max && n < max; i++) {
		const struct hlp_exp *x = hlp_exp_get(h->t, i);
		struct ct_event_rec r;

		if (x->state != HLP_EXP_LIVE)
			continue;
		memset(&r, 0, sizeof(r));
		r.flags = CT_REC_F_EXP;
		r.shard = ct_shard_index(h->s);
		fill(h, i, &r, 0, now);
		if (fn(&r, arg) != 0)
			break;
		n++;
	}
	*cursor = i >= h->max ? UINT32_MAX : i;
	return n;
}

/* Stage EXP NEW for live expectation idx, or remember it as missed. */
static void
stage_new(struct hlp_track *h, uint32_t idx, uint64_t now)
{
	struct hlp_exp *x = hlp_exp_get(h->t, idx);
	struct ct_event_rec *r;
	bool again;

	if (!h->events)
		return;
	r = ct_shard_stage_exp(h->s);
	if (r == NULL) {
		h->st.not_sent++;
		x->missed |= CT_EXP_EV_NEW;
		return;
	}
	again = (x->missed & CT_EXP_EV_NEW) != 0;
	x->missed &= (uint8_t)~CT_EXP_EV_NEW;
	x->pending |= P_NEW_OUT;
	fill(h, idx, r, CT_EXP_EV_NEW, now);
	if (again)
		r->flags |= CT_REC_F_RETRY;
}

/*
 * A refused DESTROY is sent again at a uniform random point of a window of
 * `grace_ns` that doubles with each refusal of that expectation (at most
 * 2^3 times, and not past 4 s unless the grace itself is longer), as a
 * connection's DESTROY is: refusals all due at once would meet a full
 * listener together again.
 */
static uint64_t
resend_delay(struct hlp_track *h, struct exp_side *d)
{
	unsigned k = d->refused < 3 ? d->refused : 3;
	uint64_t cap = h->c.grace_ns > UINT64_C(4000000000) ? h->c.grace_ns : UINT64_C(4000000000);
	uint64_t win = h->c.grace_ns << k;

	if (win > cap)
		win = cap;
	if (d->refused != UINT8_MAX)
		d->refused++;
	h->prng ^= h->prng << 13;
	h->prng ^= h->prng >> 7;
	h->prng ^= h->prng << 17;
	return win != 0 ? h->prng % win : 0;
}

static void
queue_push(struct hlp_track *h, uint32_t idx, uint64_t due)
{
	struct exp_side *d = &h->side[idx];

	if (d->queued || h->q_n == h->max)
		return;
	d->queued = 1;
	d->due_ns = due;
	h->queue[(h->q_head + h->q_n++) % h->max] = idx;
}

/*
 * Dying expectation idx: stage its DESTROY (after a NEW no listener got),
 * or queue it for later when there is no room; without expectation
 * events, free it.
 */
static void
stage_destroy(struct hlp_track *h, uint32_t idx, uint64_t now)
{
	struct hlp_exp *x = hlp_exp_get(h->t, idx);
	struct exp_side *d = &h->side[idx];
	struct ct_event_rec *r;

	if (!h->events) {
		hlp_exp_free(h->t, idx);
		return;
	}
	if (x->missed & CT_EXP_EV_NEW)
		stage_new(h, idx, now);
	/*
	 * Until every reliable listener has the NEW, no DESTROY: a listener
	 * that refused the NEW must not get the DESTROY alone.
	 */
	if (x->pending & P_NEW_OUT) {
		queue_push(h, idx, now);
		return;
	}
	r = (x->missed & CT_EXP_EV_NEW) ? NULL : ct_shard_stage_exp(h->s);
	if (r == NULL) {
		h->st.not_sent++;
		queue_push(h, idx, now);
		return;
	}
	fill(h, idx, r, CT_EXP_EV_DESTROY, now);
	r->targets = d->targets;
	if (d->resend) {
		r->flags |= CT_REC_F_RESEND;
		h->st.resent++;
	}
	x->pending |= P_AWAIT | P_DSENT;
}

static void
peer_send(struct hlp_track *h, unsigned to, uint8_t type, uint32_t idx)
{
	const struct hlp_exp *x = hlp_exp_get(h->t, idx);
	struct hlp_msg m;

	if (h->send == NULL)
		return;
	memset(&m, 0, sizeof(m));
	m.tuple = x->tuple;
	m.idx = idx;
	m.id = x->id;
	m.master_id = x->master_id;
	m.origin = h->self;
	m.type = type;
	m.cls = x->cls;
	h->st.msg_lost += h->send(h->send_arg, to, &m);
}

/* Live expectation idx just ended: the other workers drop their copies; its DESTROY. */
static void
exp_end(struct hlp_track *h, uint32_t idx, uint64_t now)
{
	peer_send(h, HLP_TO_ALL, HLP_MSG_DEL, idx);
	stage_destroy(h, idx, now);
}

/* A copy matched by a new connection: dropped here, confirmed to its master's worker. */
static uint32_t
copy_match(struct hlp_track *h, const struct ct_tuple *t, uint64_t now)
{
	struct hlp_msg m;
	uint32_t c;

	c = hlp_exp_match(h->copies, t, now, NULL, NULL);
	if (c == HLP_EXP_NIL)
		return 0;
	m = h->copy_of[c];
	hlp_exp_free(h->copies, c);
	m.type = HLP_MSG_CONFIRMED;
	h->st.related_copy++;
	h->st.msg_lost += h->send(h->send_arg, m.origin, &m);
	return m.master_id;
}

/* The ct_helper_hook: a new entry. */
static uint16_t
on_created(void *arg, uint32_t slot, uint32_t id, const struct ct_pkt *p, uint64_t now)
{
	struct hlp_track *h = arg;
	struct hlp_slot *sl = &h->head.slots[slot];
	struct hlp_exp_stats es;
	uint16_t status = 0;
	unsigned i;

	memset(sl, 0, sizeof(*sl));
	hlp_master_init(&sl->m);
	sl->id = id;
	hlp_exp_stats(h->t, &es);
	if (es.live != 0) {
		uint32_t idx = hlp_exp_match(h->t, &p->tuple, now, master_of, h);

		if (idx != HLP_EXP_NIL) {
			sl->expected = 1;
			sl->master_id = hlp_exp_get(h->t, idx)->master_id;
			h->st.related++;
			status = CT_S_EXPECTED;
			exp_end(h, idx, now);
		}
	}
	if (status == 0 && h->copies != NULL) {
		hlp_exp_stats(h->copies, &es);
		if (es.live != 0 && (sl->master_id = copy_match(h, &p->tuple, now)) != 0) {
			sl->expected = 1;
			h->st.related++;
			status = CT_S_EXPECTED;
		}
	}
	for (i = 0; i < h->c.n_rules; i++) {
		const struct hlp_rule *r = &h->c.rules[i];

		if (p->tuple.proto != helper_proto[r->helper] || p->tuple.dport != r->port ||
		    (r->family != 0 && r->family != p->tuple.family) ||
		    (!r->any_zone && r->zone != p->tuple.zone))
			continue;
		sl->helper = r->helper;
		h->st.helped++;
		break;
	}
	return status;
}

/* The ct_helper_hook: an entry ended; its expectations end with it. */
static void
on_ended(void *arg, uint32_t slot, uint32_t id, uint64_t now)
{
	struct hlp_track *h = arg;
	struct hlp_slot *sl;
	uint32_t out[256];
	unsigned n, i;

	if (slot >= h->head.n_slots || h->head.slots[slot].id != id)
		return;
	sl = &h->head.slots[slot];
	if (sl->m.count != 0) {
		n = hlp_exp_remove_master(h->t, &sl->m, out, 256);
		for (i = 0; i < n && i < 256; i++)
			exp_end(h, out[i], now);
	}
	sl->id = 0;
}

/* The expectation a result or a record names, NULL when stale. */
static struct hlp_exp *
exp_of(struct hlp_track *h, uint32_t slot, uint32_t id)
{
	struct hlp_exp *x = hlp_exp_get(h->t, slot);

	if (x == NULL || x->state == HLP_EXP_FREE || x->id != id)
		return NULL;
	return x;
}

static int
on_result(void *arg, const struct ct_result *r, uint64_t now)
{
	struct hlp_track *h = arg;
	struct hlp_exp *x;

	if (hlp_exp_get(h->t, r->slot) == NULL)
		return -EINVAL;
	x = exp_of(h, r->slot, r->id);
	if (x == NULL)
		return -ESTALE;
	switch (r->kind) {
	case CT_RES_EXP_NACK:
		/*
		 * Live: staged again on the master's next packet. Dying (ended
		 * since): sent again before its DESTROY is, so a listener that
		 * refused the NEW does not get the DESTROY alone.
		 */
		x->pending &= (uint8_t)~P_NEW_OUT;
		x->missed |= CT_EXP_EV_NEW;
		if (x->state == HLP_EXP_DYING) {
			/* Its DESTROY waits on it: the NEW again after a back-off. */
			struct exp_side *d = &h->side[r->slot];
			uint64_t due = now + resend_delay(h, d);

			if (d->queued)
				d->due_ns = due;
			else
				queue_push(h, r->slot, due);
		}
		return 0;
	case CT_RES_EXP_NEW_ACK:
		x->pending &= (uint8_t)~P_NEW_OUT;
		return 0;
	case CT_RES_EXP_DESTROY_ACK:
		if (x->state != HLP_EXP_DYING || !(x->pending & P_AWAIT))
			return -ESTALE;
		h->side[r->slot].queued = 0;
		return hlp_exp_free(h->t, r->slot);
	case CT_RES_EXP_DESTROY_NACK:
		if (x->state != HLP_EXP_DYING || !(x->pending & P_AWAIT))
			return -ESTALE;
		x->pending &= (uint8_t)~P_AWAIT;
		h->side[r->slot].targets = r->targets;
		h->side[r->slot].resend = 1;
		queue_push(h, r->slot, now + resend_delay(h, &h->side[r->slot]));
		return 0;
	default:
		return -EINVAL;
	}
}

static void
on_unsent(void *arg, const struct ct_event_rec *r, uint64_t now)
{
	struct hlp_track *h = arg;
	struct hlp_exp *x = exp_of(h, r->slot, r->id);

	if (x == NULL)
		return;
	h->st.not_sent++;
	if (r->events & CT_EXP_EV_DESTROY) {
		x->pending &= (uint8_t)~P_AWAIT;
		h->side[r->slot].targets = r->targets;
		queue_push(h, r->slot, now);
	} else {
		x->pending &= (uint8_t)~P_NEW_OUT;
		x->missed |= CT_EXP_EV_NEW;
	}
}

static int
conf_check(const struct hlp_conf *c, char *err, size_t errlen)
{
	unsigned i;

	if (c->max_expectations == 0 || c->max_expectations > (1u << 20)) {
		snprintf(err, errlen, "max_expectations %u outside 1..1048576",
			 c->max_expectations);
		return -EINVAL;
	}
	for (i = 0; i < HLP_HELPERS; i++)
		if (c->cls[i].timeout_s == 0 || c->cls[i].timeout_s > 86400 ||
		    c->cls[i].max_expected == 0) {
			snprintf(err, errlen, "helper %u: timeout 1..86400 s and max_expected "
				 "1..255 needed", i + 1);
			return -EINVAL;
		}
	if (c->n_rules == 0 || c->n_rules > HLP_MAX_RULES) {
		snprintf(err, errlen, "%u helper rules, 1..%u allowed", c->n_rules,
			 HLP_MAX_RULES);
		return -EINVAL;
	}
	for (i = 0; i < c->n_rules; i++)
		if (c->rules[i].helper == 0 || c->rules[i].helper > HLP_HELPERS ||
		    c->rules[i].port == 0) {
			snprintf(err, errlen, "helper rule %u: bad helper or port 0", i);
			return -EINVAL;
		}
	return 0;
}

struct hlp_track *
hlp_track_create(const struct hlp_conf *c, struct ct_shard *s, char *err, size_t errlen)
{
	struct ct_helper_hook hook;
	struct hlp_track *h;
	int rc;

	if (conf_check(c, err, errlen) != 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		goto nomem;
	h->c = *c;
	h->s = s;
	h->prng = UINT64_C(0x9e3779b97f4a7c15) ^ ((uint64_t)ct_shard_index(s) << 17);
	h->max = c->max_expectations;
	h->head.n_slots = ct_shard_slots(s);
	h->head.slots = calloc(h->head.n_slots, sizeof(*h->head.slots));
	h->side = calloc(h->max, sizeof(*h->side));
	h->queue = calloc(h->max, sizeof(*h->queue));
	h->t = hlp_exp_table_create(h->max, c->cls, HLP_HELPERS);
	if (h->head.slots == NULL || h->side == NULL || h->queue == NULL || h->t == NULL)
		goto nomem;
	hook = (struct ct_helper_hook){
		.created = on_created,
		.ended = on_ended,
		.exp_result = on_result,
		.exp_unsent = on_unsent,
		.arg = h,
	};
	rc = ct_shard_set_helper(s, &hook);
	if (rc != 0) {
		snprintf(err, errlen, "helpers on a shard with entries");
		hlp_track_free(h);
		return NULL;
	}
	return h;
nomem:
	snprintf(err, errlen, "no memory for helpers (%u slots, %u expectations)",
		 ct_shard_slots(s), c->max_expectations);
	hlp_track_free(h);
	return NULL;
}

void
hlp_track_free(struct hlp_track *h)
{
	if (h == NULL)
		return;
	if (h->t != NULL)
		ct_shard_set_helper(h->s, NULL);
	hlp_exp_table_free(h->t);
	hlp_exp_table_free(h->copies);
	free(h->copy_of);
	free(h->queue);
	free(h->side);
	free(h->head.slots);
	free(h);
}

void
hlp_track_set_events(struct hlp_track *h, bool on)
{
	h->events = on;
}

bool
hlp_track_may_carry(const struct hlp_track *h, const struct ct_pkt *p)
{
	unsigned i;

	if (p->payload_len == 0 || p->cls != CT_PKT_TRACK)
		return false;
	for (i = 0; i < h->c.n_rules; i++) {
		const struct hlp_rule *r = &h->c.rules[i];

		if (p->tuple.proto == helper_proto[r->helper] &&
		    (p->tuple.dport == r->port || p->tuple.sport == r->port))
			return true;
	}
	return false;
}

enum hlp_verdict
hlp_track_payload(struct hlp_track *h, uint32_t slot, uint32_t id, const struct ct_pkt *p,
		  enum ct_dir dir, bool seen_reply, const uint8_t *data, uint32_t len,
		  uint64_t now)
{
	struct hlp_slot *sl = &h->head.slots[slot];
	struct ct_tuple o, r;
	struct hlp_expect e;
	enum hlp_verdict v;
	uint32_t x, ev, rep;

	/* NEWs the ring or a listener refused, again on the master's next packet. */
	for (x = sl->m.head; x != HLP_EXP_NIL; x = hlp_exp_get(h->t, x)->mnext)
		if (hlp_exp_get(h->t, x)->missed & CT_EXP_EV_NEW)
			stage_new(h, x, now);
	if (len == 0 || ct_shard_entry_tuples(h->s, slot, id, &o, &r) != 0)
		return HLP_PASS;
	if (sl->helper == CT_EXP_HELPER_FTP && p->tuple.proto == IPPROTO_TCP) {
		struct hlp_seg seg = {
			.dir = dir, .seen_reply = seen_reply, .seq = p->tcp_seq,
			.data = data, .len = len,
		};

		v = hlp_ftp_segment(&sl->ftp, &o, &r, &seg, &e, NULL);
	} else if (sl->helper == CT_EXP_HELPER_TFTP && p->tuple.proto == IPPROTO_UDP) {
		v = hlp_tftp_datagram(&o, &r, data, len, &e);
	} else {
		return HLP_PASS;
	}
	if (v == HLP_DROP)
		h->st.dropped++;
	if (v != HLP_EXPECT)
		return v;
	h->st.cmds++;
	x = hlp_exp_add(h->t, &e, sl->helper - 1u, slot, id, &sl->m, now, &ev, &rep);
	if (ev != HLP_EXP_NIL)
		exp_end(h, ev, now);
	if (rep != HLP_EXP_NIL)
		exp_end(h, rep, now);
	if (x == HLP_EXP_NIL) {
		h->st.refused++;
		return HLP_PASS;
	}
	h->side[x] = (struct exp_side){.master = o, .helper = sl->helper};
	peer_send(h, HLP_TO_ALL, HLP_MSG_ADD, x);
	stage_new(h, x, now);
	return HLP_EXPECT;
}

unsigned
hlp_track_expire(struct hlp_track *h, uint64_t now, unsigned budget)
{
	uint32_t out[64];
	unsigned n, i, k;

	if (budget > 64)
		budget = 64;
	n = hlp_exp_expire(h->t, now, master_of, h, out, budget);
	for (i = 0; i < n; i++)
		exp_end(h, out[i], now);
	/* Copies expire on their own too (their master's DEL may have been lost). */
	if (h->copies != NULL) {
		unsigned c = hlp_exp_expire(h->copies, now, NULL, NULL, out, budget);

		for (i = 0; i < c; i++)
			hlp_exp_free(h->copies, out[i]);
	}
	/*
	 * Refused DESTROYs that are due, `budget` looked at a call: the queue
	 * is in refusal order, not due order (each waits a random time), so
	 * one not yet due goes to the back instead of holding up the rest;
	 * one that finds no staging room goes to the back too.
	 */
	for (k = 0; k < budget && h->q_n != 0; k++) {
		uint32_t idx = h->queue[h->q_head];
		struct exp_side *d = &h->side[idx];
		struct hlp_exp *x = hlp_exp_get(h->t, idx);

		h->q_head = (h->q_head + 1) % h->max;
		h->q_n--;
		d->queued = 0;
		if (d->due_ns > now) {
			queue_push(h, idx, d->due_ns);
			continue;
		}
		if (x->state != HLP_EXP_DYING || (x->pending & P_AWAIT))
			continue;
		if (x->pending & P_NEW_OUT) {
			/* Its NEW's result is not back yet. */
			queue_push(h, idx, now);
			continue;
		}
		d->resend = (x->pending & P_DSENT) != 0;
		stage_destroy(h, idx, now);
		if (!(x->pending & (P_AWAIT | P_NEW_OUT)))
			break;
	}
	return n;
}

int
hlp_track_set_peers(struct hlp_track *h, unsigned self, hlp_send_fn send, void *arg)
{
	if (h->copies == NULL) {
		h->copies = hlp_exp_table_create(h->max, h->c.cls, HLP_HELPERS);
		h->copy_of = calloc(h->max, sizeof(*h->copy_of));
		if (h->copies == NULL || h->copy_of == NULL) {
			hlp_exp_table_free(h->copies);
			free(h->copy_of);
			h->copies = NULL;
			h->copy_of = NULL;
			return -ENOMEM;
		}
	}
	h->self = (uint16_t)self;
	h->send = send;
	h->send_arg = arg;
	return 0;
}

void
hlp_track_receive(struct hlp_track *h, const struct hlp_msg *m, uint64_t now)
{
	struct hlp_master dummy;
	struct hlp_expect e;
	struct hlp_exp *x;
	uint32_t c, ev, rep;

	if (h->copies == NULL)
		return;
	switch (m->type) {
	case HLP_MSG_ADD:
		/* Each copy its own master: copies are never evicted here, their
		 * master's worker does that and says so. */
		hlp_master_init(&dummy);
		memset(&e, 0, sizeof(e));
		e.tuple = m->tuple;
		c = hlp_exp_add(h->copies, &e, m->cls, m->origin, m->id, &dummy, now, &ev, &rep);
		if (rep != HLP_EXP_NIL)
			hlp_exp_free(h->copies, rep);
		if (c != HLP_EXP_NIL) {
			h->copy_of[c] = *m;
			h->st.copies++;
		}
		break;
	case HLP_MSG_DEL:
		c = hlp_exp_find(h->copies, &m->tuple);
		if (c == HLP_EXP_NIL || h->copy_of[c].origin != m->origin ||
		    h->copy_of[c].id != m->id)
			break;
		hlp_exp_remove(h->copies, c, NULL);
		hlp_exp_free(h->copies, c);
		break;
	case HLP_MSG_CONFIRMED:
		x = hlp_exp_get(h->t, m->idx);
		if (x == NULL || x->state != HLP_EXP_LIVE || x->id != m->id)
			break;
		/* Ended as confirmed, as if the connection had come here. */
		c = hlp_exp_match(h->t, &x->tuple, 0, master_of, h);
		if (c != HLP_EXP_NIL)
			exp_end(h, c, now);
		break;
	default:
		break;
	}
}

void
hlp_track_stats(const struct hlp_track *h, struct hlp_track_stats *out)
{
	*out = h->st;
	hlp_exp_stats(h->t, &out->exp);
}

struct hlp_exp_table *
hlp_track_table(struct hlp_track *h)
{
	return h->t;
}
