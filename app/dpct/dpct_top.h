/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_TOP_H
#define DPCT_TOP_H

/*
 * Who fills the table (telemetry_top.c): the workers' top sketches,
 * published and merged without stopping the workers (docs/limits.md).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ct.h"

struct dpct_app;
struct dpct_worker;

/** Room for every worker's published sketch (limits.top). @return 0, -ENOMEM. */
int dpct_top_init(struct dpct_app *a);

/** Worker: count a loop tick and publish a copy of the sketch every 100 ticks
 *  (at once with `now`). No lock; the copy is behind a sequence number. */
void dpct_top_publish(struct dpct_worker *w, bool now);

/**
 * The `max` heaviest keys of dimension `dim` (CT_TOP_SRC, CT_TOP_DST) in
 * zone `zone` (-1: every zone), merged over the workers' latest copies;
 * `*total` the entries the copies counted.
 * @return the number of items, -ENOENT (the sketch is off) or -ENOMEM.
 * Thread safety: any thread but the workers; allocates.
 */
int dpct_top_collect(unsigned dim, int zone, struct ct_top_item *out, unsigned max,
		     uint64_t *total);

/** A key's address as text into `buf`. */
const char *dpct_top_addr(const struct ct_top_key *k, char *buf, size_t len);

/** The sketch's error bound for `total` entries counted (ct_limit.h), rounded up. */
uint64_t dpct_top_bound(uint64_t total);

/** Register /dpct/top. @return 0 or -EINVAL. */
int dpct_telemetry_top_init(struct dpct_app *a);

/** Add "top" (heaviest sources and destinations) to --stats-json's root. */
void dpct_top_stats_json(json_t *root);

#endif /* DPCT_TOP_H */
