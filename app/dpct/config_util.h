/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CONFIG_UTIL_H
#define DPCT_CONFIG_UTIL_H

/*
 * What every section parser of the JSON config shares (dpct_config.c and
 * config_{tracker,policy,export}.c): the error text and the JSON type names
 * the messages use. Inline, so callers' flow analysis sees that a failure
 * is always -EINVAL. Thread safety: pure functions.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/** Write the message into err[0..errlen) (when err is not NULL). @return -EINVAL. */
static inline int __attribute__((format(printf, 3, 4)))
dpct_cfg_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/** "object", "array", "string", "integer", "number", "boolean" or "null". */
static inline const char *
dpct_json_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "unknown";
}

/** What dpct_cfg_prefix() read. */
struct dpct_prefix {
	uint8_t family;   /**< 4 or 6 */
	unsigned len;     /**< prefix length (the width for a bare address) */
	unsigned max;     /**< the family's width: 32 or 128 */
	bool host_bits;   /**< bits beyond len are set ("10.1.2.3/16") */
};

/**
 * "addr" or "addr/len", IPv4 or IPv6: the address into addr[16] (zero
 * padded) and what it is into *out.
 * @return 0; -EINVAL when it is no address (or too long to be one);
 *         -ERANGE when the length is not a number in 0..out->max (out->max
 *         is set). Thread safety: pure function.
 */
int dpct_cfg_prefix(const char *s, uint8_t addr[16], struct dpct_prefix *out);

#endif /* DPCT_CONFIG_UTIL_H */
