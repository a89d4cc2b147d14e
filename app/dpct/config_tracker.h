/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CONFIG_TRACKER_H
#define DPCT_CONFIG_TRACKER_H

/**
 * @file
 * The tracker's strictness settings: "tcp" (be_liberal, loose,
 * max_retrans), "checksum" ("verify" | "off") and "zones" (rules mapping a
 * port and VLAN id to a conntrack zone). Rows of the schema table
 * (config_keys.c); docs/configuration.md, "Strict tracking", is the
 * reference.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ct.h"

#define DPCT_MAX_ZONE_RULES 64
#define DPCT_ZONE_ANY 0xffffffffu       /**< rule field matches anything */

enum dpct_checksum_mode {
	DPCT_CSUM_VERIFY = 0,           /**< Linux nf_conntrack_checksum=1 (default) */
	DPCT_CSUM_OFF = 1,
};

/** One zone rule: a packet whose port and outer VLAN match gets `zone`. */
struct dpct_zone_rule {
	uint32_t port;                  /**< DPDK port id, or DPCT_ZONE_ANY */
	uint32_t vlan;                  /**< 0..4095, CT_VLAN_NONE (untagged) or DPCT_ZONE_ANY */
	uint16_t zone;
};

struct dpct_tracker_config {
	bool tcp_be_liberal;            /**< "tcp.be_liberal" */
	uint8_t tcp_max_retrans;        /**< "tcp.max_retrans" */
	uint8_t checksum;               /**< "checksum": enum dpct_checksum_mode */
	uint16_t n_zone_rules;
	struct dpct_zone_rule zone_rules[DPCT_MAX_ZONE_RULES];
};

struct dpct_config;

/** The shard settings these keys control. */
void dpct_config_tracker_shard(const struct dpct_config *c, struct ct_conf *out);

/**
 * The zone of a packet from `port` with outer VLAN `vlan` (CT_VLAN_NONE when
 * untagged): the first matching rule's, else `dflt` (table.zone).
 */
static inline uint16_t
dpct_zone_lookup(const struct dpct_tracker_config *t, uint16_t dflt, uint16_t port,
		 uint16_t vlan)
{
	unsigned i;

	for (i = 0; i < t->n_zone_rules; i++) {
		const struct dpct_zone_rule *r = &t->zone_rules[i];

		if ((r->port == DPCT_ZONE_ANY || r->port == port) &&
		    (r->vlan == DPCT_ZONE_ANY || r->vlan == vlan))
			return r->zone;
	}
	return dflt;
}

#endif /* DPCT_CONFIG_TRACKER_H */
