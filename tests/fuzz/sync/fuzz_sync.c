/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sync parser on any datagram: it must never read outside the input,
 * every message it hands over must be well formed, and every data message
 * must survive a round trip (rebuilt as a record, encoded, parsed again:
 * the same tuples, status, state and timeout). The messages then drive an
 * FTFW state, whose NACK handling must stay within its store. The same
 * bytes as a TCP stream, in both modes: every unit the splitter gives
 * lies within what arrived and parses on its own.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync.h"

static void
die(const char *why)
{
	fprintf(stderr, "fuzz_sync: %s\n", why);
	abort();
}

struct ctx {
	struct sync_ftfw *f;
	unsigned n;
};

static void
check_same(void *arg, const struct sync_msg *m)
{
	const struct sync_entry *want = arg;
	const struct sync_entry *e = &m->e;

	if (!m->data)
		die("re-encoded message not data");
	/* dpct's status is 16 bits (ct_event_rec), conntrackd's 32. */
	if (e->status != (want->status & 0xffff) || e->tcp_state != want->tcp_state)
		die("status or state differ");
	if (memcmp(&e->orig, &want->orig, sizeof(e->orig)) != 0)
		die("original tuple differs");
	if (memcmp(&e->reply, &want->reply, sizeof(e->reply)) != 0)
		die("reply tuple differs");
}

static void
round_trip(const struct sync_msg *m)
{
	struct sync_rx_errors err = { 0 };
	struct ct_event_rec r;
	uint8_t buf[SYNC_MSG_MAX];
	int len;

	memset(&r, 0, sizeof(r));
	r.orig = m->e.orig;
	r.reply = m->e.reply;
	r.status = m->e.status;
	r.tcp_state = m->e.tcp_state;
	r.timeout_s = m->e.timeout_s;
	r.events = m->type == SYNC_T_CT_DEL ? CT_EV_DESTROY : CT_EV_NEW;
	/* With the extension the exact reply tuple travels, NAT bits or not. */
	len = sync_encode_rec(&r, m->seq, 0, true, buf, sizeof(buf));
	if (len < 0)
		abort();
	if (sync_parse(buf, (size_t)len, check_same, (void *)&m->e, &err) != 1)
		abort();
}

static void
on_msg(void *arg, const struct sync_msg *m)
{
	struct ctx *c = arg;
	struct sync_ctl out[2];
	unsigned n;

	if (m->version != SYNC_PROTO_VERSION || m->len < SYNC_HDR_LEN)
		abort();
	if (m->data) {
		if (m->type > SYNC_T_CT_DEL || (m->e.orig.family != 4 && m->e.orig.family != 6))
			abort();
		round_trip(m);
	}
	if (sync_ftfw_rx(c->f, m, out, &n) == SYNC_RX_ACCEPT && m->type == SYNC_T_CTL) {
		if (m->flags & SYNC_F_ACK)
			sync_ftfw_on_ack(c->f, m->from, m->to);
		if (m->flags & SYNC_F_NACK)
			(void)sync_ftfw_on_nack(c->f, m->from, m->to, NULL, NULL);
	}
	if (n > 2)
		abort();
	c->n++;
}

static void
split_stream(const uint8_t *data, size_t size, enum sync_stream_mode mode, struct ctx *c)
{
	struct sync_rx_errors err = { 0 };
	size_t off = 0;

	while (off < size) {
		long u = sync_stream_unit(data + off, size - off, mode);

		if (u <= 0)
			return;
		if ((size_t)u > size - off || (size_t)u > SYNC_STREAM_UNIT_MAX)
			die("stream unit past the bytes received");
		if (mode == SYNC_STREAM_PLAIN) {
			c->n = 0;
			if (sync_parse(data + off, (size_t)u, on_msg, c, &err) != c->n)
				abort();
		}
		off += (size_t)u;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sync_rx_errors err = { 0 };
	struct ctx c = { .f = sync_ftfw_create(16, 4, 1), .n = 0 };
	uint8_t *copy;

	if (c.f == NULL)
		return 0;
	/* An exact-size heap copy: ASan catches any read past the end. */
	copy = malloc(size ? size : 1);
	if (copy == NULL) {
		sync_ftfw_free(c.f);
		return 0;
	}
	memcpy(copy, data, size);
	if (sync_parse(copy, size, on_msg, &c, &err) != c.n)
		abort();
	if (sync_ftfw_pending(c.f) > 16)
		abort();
	split_stream(copy, size, SYNC_STREAM_PLAIN, &c);
	split_stream(copy, size, SYNC_STREAM_FRAMED, &c);
	free(copy);
	sync_ftfw_free(c.f);
	return 0;
}
