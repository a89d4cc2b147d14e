/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * FTFW reliability (sync.h): sequence numbers, the resend store, ACK/NACK
 * and HELLO, as conntrackd's sync-ftfw.c behaves on the wire.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sync.h"

/*
 * A message kept for resending. key, gen and seq outlive the release (len
 * 0) until the slot is reused: an ACKed message still tells that a resend
 * of an older one for its connection would undo it.
 */
struct slot {
	uint64_t key;             /* the connection's key, 0 for control messages */
	uint32_t gen;             /* sequence number the content was first sent with */
	uint32_t seq;             /* sequence number it was last sent with */
	uint16_t len;             /* 0 = free */
	uint8_t msg[SYNC_MSG_MAX];
};

struct sync_ftfw {
	/* Sender */
	uint32_t next_seq;
	unsigned n_slots;
	unsigned pending;
	bool hello_done;
	bool handshake_new;       /* hello_done just became true */
	bool say_hello_back;
	/* Receiver */
	bool rx_seq_set;
	uint32_t rx_last;
	bool ack_from_set;
	uint32_t ack_from;
	unsigned window_size;
	unsigned window;
	struct sync_ftfw_stats st;
	struct kg {               /* slots[i].key and .gen, packed for scans */
		uint64_t key;
		uint32_t gen;
	} *kg;
	struct slot slots[];
};

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct sync_ftfw *
sync_ftfw_create(unsigned slots, unsigned window, uint32_t first_seq)
{
	struct sync_ftfw *f;

	if (slots == 0 || window == 0 || slots > (1u << 20)) {
		errno = EINVAL;
		return NULL;
	}
	f = calloc(1, sizeof(*f) + (size_t)slots * sizeof(struct slot));
	if (f != NULL) {
		f->kg = calloc(slots, sizeof(*f->kg));
		if (f->kg == NULL) {
			free(f);
			f = NULL;
		}
	}
	if (f == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	f->n_slots = slots;
	f->next_seq = first_seq;
	f->window_size = window;
	f->window = window;
	return f;
}

void
sync_ftfw_free(struct sync_ftfw *f)
{
	if (f != NULL)
		free(f->kg);
	free(f);
}

uint8_t
sync_ftfw_tx_flags(struct sync_ftfw *f)
{
	uint8_t fl = f->hello_done ? 0 : SYNC_F_HELLO;

	if (f->say_hello_back) {
		fl |= SYNC_F_HELLO_BACK;
		f->say_hello_back = false;
	}
	return fl;
}

uint32_t
sync_ftfw_tx_seq(struct sync_ftfw *f)
{
	return f->next_seq++;
}

static int
keep(struct sync_ftfw *f, const uint8_t *msg, uint16_t len, uint64_t key, bool fresh,
     uint32_t gen)
{
	struct slot *s;
	uint32_t seq;

	if (msg == NULL || len < SYNC_HDR_LEN || len > SYNC_MSG_MAX)
		return -EINVAL;
	seq = get32(msg + 4);
	s = &f->slots[seq % f->n_slots];
	if (s->len != 0 && s->key != 0) {
		f->st.overwritten++;
		f->pending--;
	}
	s->seq = seq;
	s->gen = fresh ? seq : gen;
	s->len = len;
	s->key = key;
	f->kg[seq % f->n_slots].key = key;
	f->kg[seq % f->n_slots].gen = s->gen;
	memcpy(s->msg, msg, len);
	if (key != 0) {
		f->pending++;
		f->st.sent += fresh;
	}
	return 0;
}

bool
sync_ftfw_sent_since(const struct sync_ftfw *f, uint64_t key, uint32_t seq)
{
	uint32_t i;

	for (i = 0; i < f->n_slots; i++)
		if (f->kg[i].key == key && !sync_seq_before(f->kg[i].gen, seq))
			return true;
	return false;
}

uint32_t
sync_ftfw_next_seq(const struct sync_ftfw *f)
{
	return f->next_seq;
}

int
sync_ftfw_tx_keep(struct sync_ftfw *f, const uint8_t *msg, uint16_t len, uint64_t key)
{
	return keep(f, msg, len, key, true, 0);
}

/*
 * Whether content newer than `gen` was sent for `key` and is still in the
 * store (pending or ACKed). A resent copy keeps its first number but sits
 * at a new place: every slot is looked at, in the compact key/gen array.
 */
static bool
superseded(const struct sync_ftfw *f, uint64_t key, uint32_t gen)
{
	uint32_t i;

	for (i = 0; i < f->n_slots; i++)
		if (f->kg[i].key == key && sync_seq_before(gen, f->kg[i].gen))
			return true;
	return false;
}

uint64_t
sync_flow_key(const struct ct_tuple *t)
{
	const uint8_t *p = (const uint8_t *)t;
	uint64_t h = 14695981039346656037ull;
	size_t i;

	for (i = 0; i < sizeof(*t); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h != 0 ? h : 1;
}

/* At most one pass over the store, whatever range a peer sends. */
static uint32_t
span(const struct sync_ftfw *f, uint32_t from, uint32_t to)
{
	uint32_t n = to - from + 1;

	return n == 0 || n > f->n_slots ? f->n_slots : n;
}

/* Free for reuse; key, gen and seq stay (see struct slot). */
static void
release(struct sync_ftfw *f, struct slot *s)
{
	s->len = 0;
	if (s->key != 0) {
		f->pending--;
		f->st.acked++;
	}
}

void
sync_ftfw_on_ack(struct sync_ftfw *f, uint32_t from, uint32_t to)
{
	uint32_t i, n;

	if (sync_seq_before(to, from))
		return;
	n = span(f, from, to);
	/* A range wider than the store: release whatever falls inside it. */
	if (to - from + 1 > f->n_slots || to - from + 1 == 0) {
		for (i = 0; i < f->n_slots; i++) {
			struct slot *s = &f->slots[i];

			if (s->len != 0 && !sync_seq_before(s->seq, from) &&
			    !sync_seq_before(to, s->seq))
				release(f, s);
		}
		return;
	}
	for (i = 0; i < n; i++) {
		struct slot *s = &f->slots[(from + i) % f->n_slots];

		if (s->len != 0 && s->seq == from + i)
			release(f, s);
	}
}

/* Restamp a stored message (and the extension that shares its sequence). */
static void
restamp(uint8_t *msg, uint16_t len, uint32_t seq, uint8_t flags)
{
	uint16_t first = (uint16_t)(msg[2] << 8 | msg[3]);

	put32(msg + 4, seq);
	msg[1] = (uint8_t)((msg[1] & ~(SYNC_F_HELLO | SYNC_F_HELLO_BACK)) | flags);
	if (first + SYNC_HDR_LEN <= len)
		put32(msg + first + 4, seq);
}

/*
 * Resend what is stored of [from, from + n), in order, each with a new
 * sequence number. Walking from the oldest slot up, each message lands in a
 * slot already walked: nothing still to be walked is overwritten. A number
 * whose slot was released (ACKed, or already resent under a later number)
 * is skipped; one whose slot a later message took is *missing.
 */
static int
resend_range(struct sync_ftfw *f, uint32_t from, uint32_t n, sync_emit_cb emit, void *arg,
	     bool *missing)
{
	uint8_t buf[SYNC_MSG_MAX];
	uint32_t i;
	int resent = 0;

	for (i = 0; i < n; i++) {
		uint32_t seq = from + i;
		struct slot *s = &f->slots[seq % f->n_slots];
		uint64_t key;
		uint32_t gen;
		uint16_t len;

		if (s->seq != seq) {
			/* The slot holds a later message: what `seq` carried is not known. */
			*missing = true;
			continue;
		}
		if (s->len == 0) {
			/* ACKed, or resent under a later number (a NACK that overlaps an
			 * earlier one, when the resend was lost too): not lost. */
			continue;
		}
		len = s->len;
		key = s->key;
		gen = s->gen;
		memcpy(buf, s->msg, len);
		s->len = 0;
		f->pending -= key != 0;
		if (key != 0 && superseded(f, key, gen)) {
			/* A later message says where the connection stands now:
			 * sending this one again would undo it (a NEW after its DEL). */
			f->st.superseded++;
			continue;
		}
		restamp(buf, len, sync_ftfw_tx_seq(f), sync_ftfw_tx_flags(f));
		keep(f, buf, len, key, false, gen);
		f->st.resent += key != 0;
		if (emit != NULL)
			emit(arg, buf, len);
		resent++;
	}
	return resent;
}

int
sync_ftfw_on_nack(struct sync_ftfw *f, uint32_t from, uint32_t to, sync_emit_cb emit,
		  void *arg)
{
	bool missing = false;
	int resent;

	if (sync_seq_before(to, from))
		return 0;
	if (to - from + 1 > f->n_slots || to - from + 1 == 0)
		missing = true;
	resent = resend_range(f, from, span(f, from, to), emit, arg, &missing);
	if (missing) {
		f->st.unrecoverable++;
		return -ENOENT;
	}
	return resent;
}

static void
ctl(struct sync_ctl *out, unsigned *n, uint8_t flags, uint32_t from, uint32_t to)
{
	out[*n].flags = flags;
	out[*n].from = from;
	out[*n].to = to;
	(*n)++;
}

enum sync_rx_verdict
sync_ftfw_rx(struct sync_ftfw *f, const struct sync_msg *m, struct sync_ctl out[2],
	     unsigned *n_out)
{
	uint32_t exp = f->rx_last + 1;
	bool in_sync;

	*n_out = 0;
	if ((m->flags & SYNC_F_HELLO_BACK) && !f->hello_done) {
		f->hello_done = true;
		f->handshake_new = true;
	}
	if (m->flags & SYNC_F_HELLO) {
		/* The peer (re)started: whatever we counted before no longer applies. */
		f->say_hello_back = true;
		f->st.hellos++;
		if (f->ack_from_set && sync_seq_before(m->seq, f->ack_from)) {
			f->window = f->window_size - 1;
			f->ack_from = m->seq;
		}
		in_sync = true;
	} else if (!f->rx_seq_set || m->seq == exp) {
		in_sync = true;
	} else if (sync_seq_before(exp, m->seq)) {
		f->st.gaps += m->seq - exp;
		if (f->ack_from_set) {
			ctl(out, n_out, SYNC_F_ACK, f->ack_from, exp - 1);
			f->st.acks_sent++;
		}
		ctl(out, n_out, SYNC_F_NACK, exp, m->seq - 1);
		f->st.nacks_sent++;
		f->window = f->window_size - 1;
		f->ack_from = m->seq;
		f->ack_from_set = true;
		in_sync = false;
	} else {
		f->st.before++;
		return SYNC_RX_DROP;
	}
	if (in_sync) {
		if (!f->ack_from_set) {
			f->ack_from_set = true;
			f->ack_from = m->seq;
		}
		if (f->window <= 1) {
			ctl(out, n_out, SYNC_F_ACK, f->ack_from, m->seq);
			f->st.acks_sent++;
			f->window = f->window_size;
			f->ack_from_set = false;
		} else {
			f->window--;
		}
	}
	f->rx_seq_set = true;
	f->rx_last = m->seq;
	f->st.received++;
	return SYNC_RX_ACCEPT;
}

void
sync_ftfw_tick(struct sync_ftfw *f, struct sync_ctl *out)
{
	if (f->ack_from_set && f->rx_seq_set) {
		out->flags = SYNC_F_ACK;
		out->from = f->ack_from;
		out->to = f->rx_last;
		f->ack_from_set = false;
		f->window = f->window_size;
		f->st.acks_sent++;
	} else {
		out->flags = SYNC_F_ALIVE;
		out->from = 0;
		out->to = 0;
	}
}

int
sync_ftfw_resend_pending(struct sync_ftfw *f, sync_emit_cb emit, void *arg)
{
	bool missing = false;

	return resend_range(f, f->next_seq - f->n_slots, f->n_slots, emit, arg, &missing);
}

bool
sync_ftfw_handshake_done(struct sync_ftfw *f)
{
	bool v = f->handshake_new;

	f->handshake_new = false;
	return v;
}

bool
sync_ftfw_peer_known(const struct sync_ftfw *f)
{
	return f->hello_done;
}

unsigned
sync_ftfw_pending(const struct sync_ftfw *f)
{
	return f->pending;
}

const struct sync_ftfw_stats *
sync_ftfw_stats(const struct sync_ftfw *f)
{
	return &f->st;
}
