/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EXPORTER_COLLECT_H
#define DPCT_EXPORTER_COLLECT_H

/*
 * One scrape: a handful of telemetry commands to dpct within a time budget,
 * turned into metric samples. Not thread safe: one scrape at a time.
 */

#include "prom.h"
#include "tel.h"

/** The most ports, shards, listeners, collectors or uids read from one reply. */
#define COLLECT_MAX_ITEMS 1024

/**
 * Ask dpct (through `t`) for its counters and add them to `p`, with dpct_up,
 * the scrape duration and the exporter's command error counters. Never
 * fails: what dpct does not answer is left out and counted.
 * @param timeout_ms  the budget of the whole scrape.
 * @return 1 when dpct answered /dpct/stats (dpct_up 1), else 0.
 */
int collect_scrape(struct tel *t, struct prom *p, unsigned timeout_ms);

#endif
