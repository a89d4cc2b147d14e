/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EXPORT_H
#define DPCT_EXPORT_H

/**
 * @file
 * IPFIX flow export in the appliance (export.c, telemetry_export.c).
 */

#include <stdbool.h>

#include <jansson.h>

#include "ev_ipfix.h"

struct dpct_app;
struct dpct_export;

/** Per-collector counters, as named in --stats-json and /dpct/export. */
#define DPCT_EXPORT_STATS(X) \
	X(records_sent) X(records_refused) X(records_lost) X(interim_records) \
	X(final_records) X(interim_empty) X(messages) X(bytes) X(templates_sent) \
	X(reconnects) X(connect_failures) X(resent_bytes) X(send_errors) X(tracked_flows) \
	X(seq) X(queue_dropped) X(lost_at_exit) X(messages_delayed) X(records_queued) \
	X(queue_bytes) X(queue_peak_bytes) X(nat_records) X(nat_block_records)

/**
 * Create an exporter per configured collector and attach it to a->ctl.
 * Main lcore, before the control loop. No collector: nothing, 0.
 * @return 0, or -EINVAL/-ENOMEM (logged; nothing left attached).
 */
int dpct_export_start(struct dpct_app *a);

/**
 * At exit: flush, wait up to `timeout_ms` for TCP collectors to acknowledge
 * what is buffered and for paced UDP collectors to send what is queued
 * (what is still queued then is counted lost), keep the final counters,
 * close the exporters. Main lcore, after the control loop.
 */
void dpct_export_stop(struct dpct_app *a, unsigned timeout_ms);

/** Number of exporters. */
unsigned dpct_export_count(const struct dpct_app *a);

struct dpct_export_info {
	struct ev_ipfix_collector coll;
	bool reliable;
	struct ev_ipfix_stats st;
	uint64_t unacked_at_exit;
};

/** A copy of exporter `i`'s collector and counters (any thread). 0 or -ENOENT. */
int dpct_export_info(struct dpct_app *a, unsigned i, struct dpct_export_info *out);

/** One line per exporter on stdout (the periodic and final statistics). */
void dpct_export_print(struct dpct_app *a);

/** The counters of every exporter as a JSON array (for --stats-json). */
json_t *dpct_export_json(struct dpct_app *a);

/** Register /dpct/export (telemetry_export.c). */
int dpct_telemetry_export_init(struct dpct_app *a);

#endif /* DPCT_EXPORT_H */
