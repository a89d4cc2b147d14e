/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control core: the listener registry, the control step and the stall
 * policy.
 *
 * Listeners occupy slots 0..max_listeners-1 (at most EV_MAX_LISTENERS):
 * connections of a transport (ev_req.c admits them; the connection is the
 * subscription), sinks (tests) and record consumers (ev_consumer.h). A slot
 * is one bit of the resend mask: a DESTROY that some reliable listeners
 * refused comes back from the worker addressed to those slots only.
 *
 * Each step handles what the transport reports (ev_req.c), advances a dump
 * (ev_dump.c), delivers what the worker channels hold (ev_deliver.c), then
 * closes the listeners marked closing and demotes reliable listeners that
 * have refused too long. The core calls the transport through its ops
 * (ev_transport.h); the transport never calls back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ev.h"
#include "ev_consumer.h"
#include "ev_ctl_private.h"
#include "ev_nl.h"
#include "ev_unix.h"

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
		ctl->ls[i].conn = -1;
	for (i = 0; i < n; i++) {
		if (chans[i] == NULL) {
			snprintf(err, errlen, "channel %u is NULL", i);
			goto fail;
		}
		ctl->chans[i].chan = chans[i];
	}
	/* Without a socket, connections still come from ev_ctl_attach_peer(). */
	ctl->tops = &ev_unix_ops;
	ctl->tself = ev_unix_open(conf->no_socket ? NULL : ctl->conf.socket_path,
				  conf->socket_gid, err, errlen);
	if (ctl->tself == NULL)
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
	if (ctl->tself != NULL)
		ctl->tops->free(ctl->tself);
	free(ctl->chans);
	free(ctl->enc);
	free(ctl->dump_enc);
	free(ctl);
}

int
ev_ctl_fd(const struct ev_ctl *ctl)
{
	return ctl->tops->fd(ctl->tself);
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
			l->conn = -1;
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
ev_ctl_listener_close(struct ev_ctl *ctl, struct ev_listener *l, bool gone)
{
	if (!l->used)
		return;
	if (ctl->dump_slot == (int)l->slot)
		ev_ctl_dump_abort(ctl);
	if (l->conn >= 0) {
		ctl->tops->close(ctl->tself, l->conn);
		l->conn = -1;
	}
	if (gone)
		ctl->st.listeners_gone++;
	l->used = false;
	l->state = EV_LS_PENDING;
	ev_ctl_publish_kinds(ctl);
}

void
ev_ctl_publish_kinds(struct ev_ctl *ctl)
{
	uint32_t k = 0;
	unsigned i;

	for (i = 0; i < ctl->n_slots; i++)
		if (ev_listener_active(&ctl->ls[i]))
			k |= ctl->ls[i].mask;
	k &= EV_MASK_ANY;
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
		if (!ev_listener_active(&ctl->ls[i]))
			continue;
		n++;
		r += ev_listener_reliable(ctl, &ctl->ls[i]);
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
		out[n].reliable = ev_listener_reliable(ctl, l);
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

unsigned
ev_ctl_step(struct ev_ctl *ctl, uint64_t now, unsigned budget)
{
	uint64_t mono = ev_ctl_mono_ns();
	unsigned handled, i;

	/* Without a socket (tests) connections come only from
	 * ev_ctl_attach_peer() and requests from ev_ctl_handle_request(). */
	if (!ctl->conf.no_socket)
		ev_ctl_conns_step(ctl, mono);
	ev_ctl_dump_step(ctl);
	handled = ev_ctl_deliver(ctl, now, mono, budget);
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
