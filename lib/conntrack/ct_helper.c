/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a connection helper asks of a shard (ct_helper.h): its hook, an
 * entry's tuples, and staging room for expectation records.
 */

#include <errno.h>
#include <string.h>

#include "ct_shard_priv.h"
#include "ct_stage.h"

int
ct_shard_set_helper(struct ct_shard *s, const struct ct_helper_hook *h)
{
	if (h == NULL)
		memset(&s->hlp, 0, sizeof(s->hlp));
	else if (!ct_shard_empty(s))
		return -EBUSY;
	else
		s->hlp = *h;
	return 0;
}

uint32_t
ct_shard_slots(const struct ct_shard *s)
{
	return s->cap;
}

uint16_t
ct_shard_index(const struct ct_shard *s)
{
	return s->conf.shard_index;
}

int
ct_shard_entry_tuples(const struct ct_shard *s, uint32_t slot, uint32_t id,
		      struct ct_tuple *orig, struct ct_tuple *reply)
{
	const struct ct_entry *e;

	if (slot >= s->cap)
		return -EINVAL;
	e = &s->pool[slot];
	if (!(e->eflags & CT_EF_USED) || e->id != id || (e->status & CT_S_DYING))
		return -ESTALE;
	ct_entry_key(e, orig);
	ct_reply_tuple(s, slot, reply);
	return 0;
}

struct ct_event_rec *
ct_shard_stage_exp(struct ct_shard *s)
{
	struct ct_event_rec *r;

	if (!s->conf.events_enabled)
		return NULL;
	if (!ct_stage_room(s)) {
		s->st.ring_full++;
		return NULL;
	}
	r = &s->stage[s->stage_n++];
	memset(r, 0, sizeof(*r));
	r->flags = CT_REC_F_EXP;
	r->shard = s->conf.shard_index;
	r->seq = (uint32_t)s->seq++;
	return r;
}
