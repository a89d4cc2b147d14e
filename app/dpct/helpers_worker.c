/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers on the workers (lib/helper/hlp_track.h): each worker's shard
 * gets its helpers from the "helpers" section when that has rules, and
 * the worker loop expires their expectations.
 */

#include <inttypes.h>

#include "dpct.h"
#include "hlp_track.h"

int
dpct_helpers_create(struct dpct_worker *w)
{
	const struct dpct_helpers_conf *hc = &dpct.cfg.helpers;
	struct hlp_conf c;
	char err[160];
	unsigned i, h;

	if (hc->n_rules == 0)
		return 0;
	memset(&c, 0, sizeof(c));
	c.max_expectations = hc->max_expectations;
	for (h = 1; h < DPCT_HELPER_MAX && h <= HLP_HELPERS; h++) {
		c.cls[h - 1].max_expected = (uint8_t)hc->pol[h].max_expected;
		c.cls[h - 1].timeout_s = hc->pol[h].timeout_s;
	}
	c.grace_ns = (uint64_t)dpct.cfg.destroy_grace_ms * 1000000u;
	c.n_rules = hc->n_rules;
	for (i = 0; i < hc->n_rules && i < HLP_MAX_RULES; i++)
		c.rules[i] = (struct hlp_rule){
			.helper = hc->rules[i].helper,
			.family = hc->rules[i].family,
			.port = hc->rules[i].port,
			.zone = hc->rules[i].zone,
			.any_zone = hc->rules[i].any_zone,
		};
	w->hlp = hlp_track_create(&c, w->shard, err, sizeof(err));
	if (w->hlp == NULL) {
		DPCT_LOG(ERR, "worker %u: helpers: %s\n", w->index, err);
		return -ENOMEM;
	}
	if (w->index == 0 && dpct.n_workers > 1)
		DPCT_LOG(WARNING, "helpers: %u workers: an expected connection is RELATED only "
			 "when it reaches its master's worker (docs/helpers.md)\n",
			 dpct.n_workers);
	return 0;
}

void
dpct_helpers_expire(struct dpct_worker *w, uint64_t now)
{
	if (w->hlp != NULL)
		hlp_track_expire(w->hlp, now, 64);
}

void
dpct_helpers_free(struct dpct_worker *w)
{
	hlp_track_free(w->hlp);
	w->hlp = NULL;
}
