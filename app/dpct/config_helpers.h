/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CONFIG_HELPERS_H
#define DPCT_CONFIG_HELPERS_H

/**
 * @file
 * The "helpers" section (docs/helpers.md): which connections get the FTP
 * or TFTP helper (rules, as nftables assigns `ct helper` objects), each
 * helper's expectation policy and the expectation table's size. Parsed
 * strictly by config_helpers.c. Without rules there are no helpers and
 * nothing of them is allocated.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DPCT_HELPER_RULES 64

/** Helpers, numbered as enum ct_exp_helper. */
enum {
	DPCT_HELPER_FTP = 1,
	DPCT_HELPER_TFTP = 2,
	DPCT_HELPER_MAX,
};

/** A rule: connections to `port` over the helper's protocol get the helper. */
struct dpct_helper_rule {
	uint8_t helper;          /**< "helper": DPCT_HELPER_* */
	uint8_t family;          /**< "family": 4, 6, 0 = both */
	uint16_t port;           /**< "port": the original destination port */
	uint16_t zone;           /**< "zone" */
	bool any_zone;           /**< no "zone": every zone */
};

/** A helper's expectation policy (Linux's nf_conntrack_expect_policy). */
struct dpct_helper_policy {
	uint32_t max_expected;   /**< "max_expected": live expectations per master */
	uint32_t timeout_s;      /**< "timeout": seconds an expectation lives */
};

struct dpct_helpers_conf {
	uint32_t max_expectations;   /**< "max_expectations": per worker, live and dying */
	struct dpct_helper_policy pol[DPCT_HELPER_MAX]; /**< "ftp", "tftp" by DPCT_HELPER_* */
	uint16_t n_rules;
	struct dpct_helper_rule rules[DPCT_HELPER_RULES];
};

struct dpct_config;

/** The name of helper `h` ("ftp", "tftp"), NULL when unknown. */
const char *dpct_helper_name(unsigned h);

/**
 * Whether a reload may take configuration `next` while `cur` runs:
 * helpers are set at start only.
 * @return 0, or -EINVAL with a message when the helpers section differs.
 */
int dpct_config_helpers_reload(const struct dpct_config *cur, const struct dpct_config *next,
			       char *err, size_t errlen);

#endif /* DPCT_CONFIG_HELPERS_H */
