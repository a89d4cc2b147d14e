/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Entries taken over from a failover peer (ct_import.h): the entry a first
 * packet would have made, with the peer's state instead of the packet's.
 */

#include <errno.h>

#include "ct_import.h"
#include "ct_index.h"
#include "ct_stage.h"
#include "ct_tcp_window.h"
#include "ct_wheel.h"

/* The id a created entry gets (ct_process.c's sequence: unique across shards). */
static uint32_t
import_id(struct ct_shard *s)
{
	uint32_t id;

	do {
		id = s->id_next * s->conf.shard_count + s->conf.shard_index + 1;
		s->id_next++;
	} while (id == 0);
	return id;
}

static uint8_t
import_class(const struct ct_event_rec *r)
{
	switch (r->orig.proto) {
	case IPPROTO_TCP:
		return ct_tcp_timeout_class(r->tcp_state);
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		return (r->status & CT_S_ASSURED) ? CT_TO_UDP_REPLIED : CT_TO_UDP_UNREPLIED;
	case IPPROTO_ICMP:
		return CT_TO_ICMP;
	case IPPROTO_ICMPV6:
		return CT_TO_ICMPV6;
	case IPPROTO_SCTP:
		return ct_sctp_timeout_class(r->tcp_state);
	case IPPROTO_GRE:
		return (r->status & CT_S_ASSURED) ? CT_TO_GRE_STREAM : CT_TO_GRE_UNREPLIED;
	default:
		return CT_TO_GENERIC;
	}
}

/* What ct_tw_new() leaves for a mid-stream pickup, with the peer's window scales. */
static void
import_window(struct ct_entry *e, const struct ct_event_rec *r)
{
	unsigned d;

	e->tw_retrans = CT_TW_R_LAST_WIN0;
	/* Neither side's highest ack is known: each is set by that side's next ACK. */
	for (d = 0; d < 2; d++) {
		uint8_t sc = r->tcp_wscale[d] & CT_TW_S_SCALE_MASK;

		e->tw_seen[d] = CT_TW_S_SACKOK | CT_TW_S_LIBERAL;
		if (r->tcp_wscale[0] != 0 && r->tcp_wscale[1] != 0)
			e->tw_seen[d] |= (uint8_t)(CT_TW_S_WSCALE | sc);
	}
}

int
ct_shard_import(struct ct_shard *s, const struct ct_event_rec *r, uint64_t now)
{
	const struct ct_tuple *t = &r->orig;
	uint32_t now_tick, idx, h, next_free, ticks;
	struct ct_entry *e;
	enum ct_dir dir;
	uint8_t cls;

	if (t->family != 4 && t->family != 6)
		return -EINVAL;
	if (t->proto == IPPROTO_TCP && (r->tcp_state == CT_TCP_NONE || r->tcp_state >= CT_TCP_MAX))
		return -EINVAL;
	if (t->proto == IPPROTO_SCTP && r->tcp_state >= CT_SCTP_MAX)
		return -EINVAL;
	if (r->status & CT_S_NAT_MASK)
		return -ENOTSUP;
	now_tick = ct_shard_now(s, &now);
	h = ct_tuple_hash(t);
	if (ct_index_lookup(s, t, h, &dir) != CT_NIL)
		return -EEXIST;
	if (s->n_free == 0 || s->st.count + s->st.dying >= s->conf.max_entries)
		return -ENOSPC;
	idx = s->free_head;
	e = &s->pool[idx];
	next_free = s->cold[idx].tnext;
	*e = ct_entry_zero;
	e->key = *t;
	if (ct_index_insert(s, idx, h) != 0) {
		s->st.insert_failed++;
		return -ENOSPC;
	}
	s->free_head = next_free;
	s->n_free--;
	s->cold[idx].tnext = CT_NIL;
	s->cold[idx].tprev = CT_NIL;
	s->cold[idx].start_ns = now;
	memset(&s->cold[idx].tw, 0, sizeof(s->cold[idx].tw));
	cls = import_class(r);
	e->eflags = CT_EF_USED;
	e->id = import_id(s);
	e->status = (uint16_t)((r->status & ~CT_S_DYING) | CT_S_CONFIRMED);
	e->missed = ct_ev_from_linux(r->events & (uint16_t)~(CT_EV_NEW | CT_EV_DESTROY));
	ct_entry_pkts_set(e, 0, r->pkts[0]);
	ct_entry_pkts_set(e, 1, r->pkts[1]);
	e->bytes[0] = r->bytes[0];
	e->bytes[1] = r->bytes[1];
	e->to_class = ct_tpol_slot(&s->tp, ct_tpol_pick(&s->tp, &s->conf, t), cls);
	ticks = s->to_ticks[e->to_class];
	if (r->timeout_s != 0 &&
	    ((uint64_t)r->timeout_s * CT_NS_PER_S) >> CT_TICK_SHIFT < ticks)
		ticks = (uint32_t)(((uint64_t)r->timeout_s * CT_NS_PER_S) >> CT_TICK_SHIFT);
	e->expiry = now_tick + ticks;
	if (t->proto == IPPROTO_TCP) {
		e->tcp_state = r->tcp_state;
		/* As a pickup: the last packet an ACK from the original side. */
		e->tcp_flags = (uint8_t)(CT_TCP_PC_ACK << CT_TF_LAST_SHIFT);
		import_window(e, r);
	} else if (t->proto == IPPROTO_SCTP) {
		/* The state and the tags the peer had: packets are checked against them. */
		e->tcp_state = r->tcp_state;
		e->sctp_vtag[0] = r->sctp_vtag[0];
		e->sctp_vtag[1] = r->sctp_vtag[1];
	} else if (t->proto == IPPROTO_UDP || t->proto == IPPROTO_UDPLITE) {
		/* Past the stream rule's 2 s: the peer saw the start. */
		e->udp_start_ns = now - 3 * CT_NS_PER_S;
	}
	ct_wheel_link(s, idx);
	s->st.count++;
	s->last_created = idx;
	/* The peer admitted it: beyond a limit it stays, without counts. */
	if (s->limits != NULL || s->top != NULL) {
		enum ct_limit_verdict lv = CT_LIM_NONE;

		if (s->limits != NULL)
			lv = ct_limits_admit(s->limits, t, NULL, NULL);
		ct_shard_limit_created(s, idx, lv, NULL);
	}
	ct_shard_fill_check(s);
	return 0;
}
