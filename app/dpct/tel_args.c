/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Strict parsing of telemetry command arguments, shared by every /dpct/
 * command (tel_args.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <rte_telemetry.h>

#include "tel_args.h"

/*
 * Arguments are parsed strictly: a command that takes none refuses any, and
 * a bad, missing or extra field is answered {"errmsg": "..."} (the reply of a
 * failed callback would be a bare null, which says nothing).
 */
int
dpct_tel_error(struct rte_tel_data *d, const char *fmt, ...)
{
	char msg[RTE_TEL_MAX_STRING_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "errmsg", msg);
	return 0;
}

bool
dpct_tel_has_params(const char *params)
{
	return params != NULL && *params != '\0';
}


/* Unsigned decimal, digits only, no sign, no spaces, at most `max`. */
int
dpct_tel_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/*
 * Split `params` at commas into at most `max` fields of `buf` (empty fields
 * kept). @return the number of fields, or -E2BIG when there are more.
 */
int
dpct_tel_split(const char *params, char *buf, size_t len, char **f, unsigned max)
{
	unsigned n = 0;
	char *p;

	if (params == NULL)
		params = "";
	if (strlen(params) >= len)
		return -E2BIG;
	snprintf(buf, len, "%s", params);
	p = buf;
	for (;;) {
		char *c = strchr(p, ',');

		if (n == max)
			return -E2BIG;
		f[n++] = p;
		if (c == NULL)
			break;
		*c = '\0';
		p = c + 1;
	}
	return (int)n;
}

