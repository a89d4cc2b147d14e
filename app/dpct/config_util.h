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
#include <stddef.h>
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

#endif /* DPCT_CONFIG_UTIL_H */
