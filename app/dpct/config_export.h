/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CONFIG_EXPORT_H
#define DPCT_CONFIG_EXPORT_H

/**
 * @file
 * The "export" section of the configuration (docs/configuration.md,
 * docs/export.md): IPFIX flow export to collectors. Its keys are rows of
 * the schema table (config_keys.c). No EAL needed.
 */

#include <stdbool.h>

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

/** Whether anything is exported (enabled and at least one collector). */
bool dpct_config_export_on(const struct dpct_export_conf *e);

/** The shards' active timeout: export.ipfix.active_timeout_s when export is on, else 0. */
unsigned dpct_config_export_active_s(const struct dpct_export_conf *e);

#endif /* DPCT_CONFIG_EXPORT_H */
