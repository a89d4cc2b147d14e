/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_TEL_ARGS_H
#define DPCT_TEL_ARGS_H

/*
 * Telemetry arguments are parsed strictly: a command that takes none
 * refuses any, and a bad, missing or extra field is answered
 * {"errmsg": "..."} (a failed callback's reply would be a bare null, which
 * says nothing). Thread safety: pure functions.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rte_tel_data;

/** Answer {"errmsg": <formatted>} in `d`. @return 0 (the callback's return value). */
int dpct_tel_error(struct rte_tel_data *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** True when `params` is non-empty. */
bool dpct_tel_has_params(const char *params);

/** An unsigned decimal, digits only (no sign, space or prefix), at most `max`.
 * @return 0; -EINVAL not a number; -ERANGE above max. */
int dpct_tel_parse_uint(const char *s, uint64_t max, uint64_t *out);

/**
 * Split `params` at commas into at most `max` fields of `buf` (empty fields
 * kept, NULL is one empty field).
 * @return the number of fields, or -E2BIG when there are more or it does not fit.
 */
int dpct_tel_split(const char *params, char *buf, size_t len, char **f, unsigned max);

/** In a command callback: refuse any argument. */
#define DPCT_TEL_NO_PARAMS(cmd, params, d) do { \
	if (dpct_tel_has_params(params)) \
		return dpct_tel_error(d, "%s takes no parameters", cmd); \
} while (0)

#endif /* DPCT_TEL_ARGS_H */
