/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CONFIG_EXPORT_H
#define DPCT_CONFIG_EXPORT_H

/**
 * @file
 * The "export" section of the configuration (docs/configuration.md,
 * docs/export.md): IPFIX flow export to collectors. Strict like the rest:
 * unknown keys, wrong types and out-of-range values are errors naming the
 * JSON path. No EAL needed.
 */

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "ev_ipfix.h"

struct dpct_export_conf {
	bool ipfix_enabled;             /**< "enabled" (default true; needs collectors) */
	unsigned n_collectors;
	struct ev_ipfix_collector collectors[EV_IPFIX_MAX_COLLECTORS];
	struct ev_ipfix_conf ipfix;     /**< the rest of "export.ipfix" (log hook unset) */
	/** "export.ipfix.max_rate_pps" / "max_rate_bps": what a UDP collector
	 * without its own gets. collectors[i] holds each one's effective
	 * rates (0 for TCP collectors, which are not paced). */
	uint32_t max_rate_pps;
	uint64_t max_rate_bps;
};

/** Defaults: no collector (export off), ev_ipfix_conf_init() values,
 * max_rate_pps EV_IPFIX_RATE_PPS_DEFAULT, max_rate_bps 0. */
void dpct_config_export_defaults(struct dpct_export_conf *e);

/**
 * Parse "$.export" (`v`) into `e`. `events_enabled` is the events section's
 * setting: export needs event records.
 * @return 0 or -EINVAL with the message in `err`.
 */
int dpct_config_export_parse(struct dpct_export_conf *e, json_t *v, bool events_enabled,
			     char *err, size_t errlen);

/** The section as JSON (NULL on ENOMEM), for dpct_config_to_json(). */
json_t *dpct_config_export_json(const struct dpct_export_conf *e);

/** Whether anything is exported (enabled and at least one collector). */
bool dpct_config_export_on(const struct dpct_export_conf *e);

/** The shards' active timeout: export.ipfix.active_timeout_s when export is on, else 0. */
unsigned dpct_config_export_active_s(const struct dpct_export_conf *e);

#endif /* DPCT_CONFIG_EXPORT_H */
