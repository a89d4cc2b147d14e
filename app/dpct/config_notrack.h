/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CONFIG_NOTRACK_H
#define DPCT_CONFIG_NOTRACK_H

/**
 * @file
 * The "notrack" section of the JSON configuration (docs/configuration.md):
 * an array of at most CT_MAX_NOTRACK rules {"proto", "port", "prefix",
 * "family"}. Parsed by dpct_config_parse(); no EAL needed.
 * Thread safety: none of these keeps state.
 */

#include <stddef.h>

#include <jansson.h>

struct dpct_config;

/**
 * Parse the value of "notrack" into c->notrack and c->n_notrack.
 * @return 0, or -EINVAL with `err` naming the JSON path ("$.notrack[2].port").
 */
int dpct_config_notrack_parse(json_t *a, struct dpct_config *c, char *err, size_t errlen);

/** c's rules as the JSON array the parser reads, or NULL (ENOMEM). */
json_t *dpct_config_notrack_json(const struct dpct_config *c);

#endif /* DPCT_CONFIG_NOTRACK_H */
