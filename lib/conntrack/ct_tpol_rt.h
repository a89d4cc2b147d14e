/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_TPOL_RT_H
#define DPCT_CT_TPOL_RT_H

/*
 * A shard's timeout policies (ct_tpol.h) as its packet path reads them:
 * slot tables built once by ct_tpol_rt_init() and, per policy, a copy of
 * the shard's conf whose timeout_s holds that policy's values, so the
 * trackers pick classes from the entry's own timeouts without knowing
 * about policies. An entry's ct_entry.to_class is a slot; slots below
 * CT_TO_MAX are the global classes themselves, so an entry without a
 * policy takes no table lookup.
 */

#include <stdint.h>

#include "ct.h"

struct ct_shard;

struct ct_tpol_rt {
	uint8_t slot_pol[CT_TSLOT_MAX];              /* slot -> policy (0 = global) */
	uint8_t slot_cls[CT_TSLOT_MAX];              /* slot -> class */
	uint8_t slot_of[CT_TPOL_MAX + 1][CT_TO_MAX]; /* (policy, class) -> slot */
	const struct ct_conf *conf[CT_TPOL_MAX + 1]; /* the trackers' conf per policy */
	struct ct_conf *copies;                      /* conf[1..n], from the shard's allocator */
	uint16_t n_slots;
	uint8_t n_rules;                             /* 0: every entry gets slot == class */
};

/*
 * Build s->tp and s->to_ticks[] for the slots of s->conf.tpol (the global
 * slots' ticks must be set). @return 0, -EINVAL or -ENOMEM with a message.
 */
int ct_tpol_rt_init(struct ct_shard *s, char *err, size_t errlen);
/* Free what ct_tpol_rt_init() took. */
void ct_tpol_rt_free(struct ct_shard *s);

/* The slot of class `cls` under policy `pol`. */
static inline uint8_t
ct_tpol_slot(const struct ct_tpol_rt *tp, unsigned pol, uint8_t cls)
{
	if (__builtin_expect(pol == 0, 1))
		return cls;
	return tp->slot_of[pol][cls];
}

/* The policy of a new connection with original tuple `t`. */
static inline unsigned
ct_tpol_pick(const struct ct_tpol_rt *tp, const struct ct_conf *c, const struct ct_tuple *t)
{
	if (__builtin_expect(tp->n_rules == 0, 1))
		return 0;
	return ct_tpol_select(&c->tpol, t);
}

#endif /* DPCT_CT_TPOL_RT_H */
