/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The walker over the schema table (config_keys.c): defaults, strict
 * parsing with one message per fault class, the JSON of /dpct/config and
 * the markdown tables of docs/configuration.md.
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* strtok_r() where the build undefines _GNU_SOURCE */
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_schema.h"
#include "config_util.h"
#include "dpct_config.h"

#define CFG_MAX_CHILDREN 32

/* The field of row `k` in `c`. */
static void *
cfg_field(const struct cfg_key *k, const struct dpct_config *c)
{
	return (char *)(uintptr_t)c + k->off;
}

static uint64_t
cfg_get_uint(const struct cfg_key *k, const struct dpct_config *c)
{
	const void *f = cfg_field(k, c);

	switch (k->size) {
	case 1: return *(const uint8_t *)f;
	case 2: return *(const uint16_t *)f;
	case 4: return *(const uint32_t *)f;
	default: return *(const uint64_t *)f;
	}
}

static void
cfg_set_uint(const struct cfg_key *k, struct dpct_config *c, uint64_t v)
{
	void *f = cfg_field(k, c);

	switch (k->size) {
	case 1: *(uint8_t *)f = (uint8_t)v; break;
	case 2: *(uint16_t *)f = (uint16_t)v; break;
	case 4: *(uint32_t *)f = (uint32_t)v; break;
	default: *(uint64_t *)f = v; break;
	}
}

/* Whether the row is a key of `section` itself. */
static bool
cfg_in(const struct cfg_key *k, const char *section)
{
	return k->key != NULL && strcmp(k->section, section) == 0;
}

/*
 * The name of the subsection of `section` that row `k` lies in ("ipfix"
 * for "export.ipfix" under "export"), or NULL. Item sections are no
 * subsections: a custom row parses them.
 */
static const char *
cfg_subsection(const struct cfg_key *k, const char *section, char *name, size_t len)
{
	size_t n = strlen(section);
	const char *rest, *dot;

	if ((k->flags & CFG_F_ITEM) != 0 || k->section[0] == '\0')
		return NULL;
	if (n == 0) {
		rest = k->section;
	} else {
		if (strncmp(k->section, section, n) != 0 || k->section[n] != '.')
			return NULL;
		rest = k->section + n + 1;
	}
	dot = strchr(rest, '.');
	n = dot != NULL ? (size_t)(dot - rest) : strlen(rest);
	if (n == 0 || n >= len)
		return NULL;
	memcpy(name, rest, n);
	name[n] = '\0';
	return name;
}

int
dpct_cfg_check_keys(const char *section, json_t *o, const char *path, char *err,
		    size_t errlen)
{
	bool quoted = false;
	const char *key;
	char name[64];
	json_t *v;
	unsigned i;

	if (!json_is_object(o))
		return dpct_cfg_fail(err, errlen, "%s: expected object, got %s", path,
				     dpct_json_type(o));
	for (i = 0; i < dpct_cfg_n_keys; i++)
		if (cfg_in(&dpct_cfg_keys[i], section))
			quoted = quoted || (dpct_cfg_keys[i].flags & CFG_F_QUOTED) != 0;
	json_object_foreach(o, key, v) {
		for (i = 0; i < dpct_cfg_n_keys; i++) {
			const struct cfg_key *k = &dpct_cfg_keys[i];

			if (cfg_in(k, section) && strcmp(k->key, key) == 0)
				break;
			if (cfg_subsection(k, section, name, sizeof(name)) != NULL &&
			    strcmp(name, key) == 0)
				break;
		}
		if (i == dpct_cfg_n_keys) {
			if (quoted)
				return dpct_cfg_fail(err, errlen, "%s: unknown key \"%s\"", path,
						     key);
			return dpct_cfg_fail(err, errlen, "unknown key at %s.%s", path, key);
		}
	}
	return 0;
}

int
dpct_cfg_uint(char *err, size_t errlen, json_t *v, const char *path, uint64_t min,
	      uint64_t max, uint64_t *out)
{
	json_int_t n;

	if (!json_is_integer(v))
		return dpct_cfg_fail(err, errlen, "%s: expected integer, got %s", path,
				     dpct_json_type(v));
	n = json_integer_value(v);
	/* Checked against the range before it is stored: a value never wraps. */
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return dpct_cfg_fail(err, errlen, "%s: %" JSON_INTEGER_FORMAT " is out of range %"
				     PRIu64 "..%" PRIu64, path, n, min, max);
	*out = (uint64_t)n;
	return 0;
}

void
dpct_cfg_schema_defaults(struct dpct_config *c)
{
	unsigned i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < dpct_cfg_n_keys; i++) {
		const struct cfg_key *k = &dpct_cfg_keys[i];

		if ((k->flags & CFG_F_ITEM) != 0 || k->type == CFG_CHECK)
			continue;
		if (k->init != NULL) {
			k->init(k, c);
			continue;
		}
		switch (k->type) {
		case CFG_BOOL:
			*(bool *)cfg_field(k, c) = k->dflt != 0;
			break;
		case CFG_UINT:
		case CFG_RING:
		case CFG_ENUM:
			cfg_set_uint(k, c, k->dflt);
			break;
		case CFG_NUMBER:
			*(double *)cfg_field(k, c) = k->fdflt;
			break;
		case CFG_STRING:
			snprintf(cfg_field(k, c), k->size, "%s", k->sdflt);
			break;
		case CFG_IDS:
			/* The list is zeroed: `dflt` entries of id 0. */
			*(unsigned *)((char *)c + k->off_n) = (unsigned)k->dflt;
			break;
		case CFG_CUSTOM:
		case CFG_CHECK:
			break;
		}
	}
}

static int
cfg_parse_ids(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
	      struct dpct_config *c)
{
	uint32_t *list = cfg_field(k, c);
	char q[160];
	uint64_t id = 0;
	size_t i;
	int rc;

	if (!json_is_array(v))
		return dpct_cfg_fail(p->err, p->errlen, "%s: expected array, got %s", path,
				     dpct_json_type(v));
	if (json_array_size(v) > k->max)
		return dpct_cfg_fail(p->err, p->errlen, "%s: %zu ids, at most %" PRIu64
				     " are supported", path, json_array_size(v), k->max);
	for (i = 0; i < json_array_size(v); i++) {
		snprintf(q, sizeof(q), "%s[%zu]", path, i);
		/* (uid_t)-1 is "no id" for the kernel; never a listener's. */
		rc = dpct_cfg_uint(p->err, p->errlen, json_array_get(v, i), q, 0, UINT32_MAX - 1,
				   &id);
		if (rc != 0)
			return rc;
		list[i] = (uint32_t)id;
	}
	*(unsigned *)((char *)c + k->off_n) = (unsigned)json_array_size(v);
	return 0;
}

static int
cfg_parse_enum(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
	       struct dpct_config *c)
{
	char list[128];
	size_t n = 0;
	unsigned i;

	if (!json_is_string(v))
		return dpct_cfg_fail(p->err, p->errlen, "%s: expected string, got %s", path,
				     dpct_json_type(v));
	list[0] = '\0';
	for (i = 0; k->names[i] != NULL; i++) {
		if (strcmp(k->names[i], json_string_value(v)) == 0) {
			cfg_set_uint(k, c, i);
			return 0;
		}
		if (n < sizeof(list))
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s\"%s\"",
					      i > 0 ? ", " : "", k->names[i]);
	}
	return dpct_cfg_fail(p->err, p->errlen, "%s: \"%s\" is not one of %s", path,
			     json_string_value(v), list);
}

/* The type's parser for a present key. */
static int
cfg_parse_value(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		struct dpct_config *c)
{
	uint64_t n;
	double d;
	int rc;

	switch (k->type) {
	case CFG_BOOL:
		if (!json_is_boolean(v))
			return dpct_cfg_fail(p->err, p->errlen, "%s: expected boolean, got %s",
					     path, dpct_json_type(v));
		*(bool *)cfg_field(k, c) = json_is_true(v);
		return 0;
	case CFG_UINT:
	case CFG_RING:
		rc = dpct_cfg_uint(p->err, p->errlen, v, path, k->min, k->max, &n);
		if (rc != 0)
			return rc;
		/* rte_ring sizes are powers of two; refuse rather than round silently. */
		if (k->type == CFG_RING && (n & (n - 1)) != 0)
			return dpct_cfg_fail(p->err, p->errlen, "%s: %" PRIu64
					     " is not a power of two", path, n);
		cfg_set_uint(k, c, n);
		return 0;
	case CFG_NUMBER:
		if (!json_is_number(v))
			return dpct_cfg_fail(p->err, p->errlen, "%s: expected number, got %s",
					     path, dpct_json_type(v));
		d = json_number_value(v);
		if (!(d >= k->fmin && d <= k->fmax))
			return dpct_cfg_fail(p->err, p->errlen, "%s: %g is out of range %g..%g",
					     path, d, k->fmin, k->fmax);
		*(double *)cfg_field(k, c) = d;
		return 0;
	case CFG_ENUM:
		return cfg_parse_enum(p, k, v, path, c);
	case CFG_IDS:
		return cfg_parse_ids(p, k, v, path, c);
	case CFG_STRING:
	case CFG_CUSTOM:
	case CFG_CHECK:
		break;
	}
	/* A string or custom row without its callback is a table bug. */
	return dpct_cfg_fail(p->err, p->errlen, "%s: no parser", path);
}

static int
cfg_walk(struct cfg_parse *p, const char *section, json_t *o, const char *path,
	 struct dpct_config *c)
{
	char done[CFG_MAX_CHILDREN][64], name[64], sub[128], q[128];
	unsigned i, j, n_done = 0;
	json_t *v;
	int rc;

	rc = dpct_cfg_check_keys(section, o, path, p->err, p->errlen);
	for (i = 0; rc == 0 && i < dpct_cfg_n_keys; i++) {
		const struct cfg_key *k = &dpct_cfg_keys[i];

		if ((k->flags & CFG_F_ITEM) != 0)
			continue;
		if (k->type == CFG_CHECK && strcmp(k->section, section) == 0) {
			rc = k->parse(p, k, NULL, path, c);
		} else if (cfg_in(k, section)) {
			v = json_object_get(o, k->key);
			snprintf(q, sizeof(q), "%s.%s", path, k->key);
			if (k->parse != NULL && (v != NULL || (k->flags & CFG_F_ALWAYS) != 0))
				rc = k->parse(p, k, v, q, c);
			else if (k->parse == NULL && v != NULL)
				rc = cfg_parse_value(p, k, v, q, c);
		} else if (cfg_subsection(k, section, name, sizeof(name)) != NULL) {
			for (j = 0; j < n_done; j++)
				if (strcmp(done[j], name) == 0)
					break;
			if (j < n_done || n_done == CFG_MAX_CHILDREN)
				continue;
			snprintf(done[n_done++], sizeof(done[0]), "%s", name);
			v = json_object_get(o, name);
			if (v == NULL)
				continue;
			snprintf(sub, sizeof(sub), "%s%s%s", section, section[0] != '\0' ? "." : "",
				 name);
			snprintf(q, sizeof(q), "%s.%s", path, name);
			rc = cfg_walk(p, sub, v, q, c);
		}
	}
	return rc;
}

int
dpct_cfg_schema_parse(struct cfg_parse *p, json_t *root, struct dpct_config *c)
{
	return cfg_walk(p, "", root, "$", c);
}

static int
cfg_emit_value(const struct cfg_key *k, const struct dpct_config *c, json_t **out)
{
	const uint32_t *list;
	unsigned i, n;

	switch (k->type) {
	case CFG_BOOL:
		*out = json_boolean(*(const bool *)cfg_field(k, c));
		break;
	case CFG_UINT:
	case CFG_RING:
		*out = json_integer((json_int_t)cfg_get_uint(k, c));
		break;
	case CFG_NUMBER:
		*out = json_real(*(const double *)cfg_field(k, c));
		break;
	case CFG_STRING:
		*out = json_string(cfg_field(k, c));
		break;
	case CFG_ENUM:
		*out = json_string(k->names[cfg_get_uint(k, c)]);
		break;
	case CFG_IDS:
		list = cfg_field(k, c);
		n = *(const unsigned *)((const char *)c + k->off_n);
		*out = json_array();
		for (i = 0; *out != NULL && i < n && i < k->max; i++)
			if (json_array_append_new(*out, json_integer(list[i])) != 0) {
				json_decref(*out);
				*out = NULL;
			}
		break;
	case CFG_CUSTOM:
	case CFG_CHECK:
		return 0;
	}
	return *out != NULL ? 0 : -ENOMEM;
}

static int
cfg_emit(const char *section, json_t *o, const struct dpct_config *c)
{
	char done[CFG_MAX_CHILDREN][64], name[64], sub[128];
	unsigned i, j, n_done = 0;
	json_t *v;
	int rc = 0;

	for (i = 0; rc == 0 && i < dpct_cfg_n_keys; i++) {
		const struct cfg_key *k = &dpct_cfg_keys[i];

		if ((k->flags & (CFG_F_ITEM | CFG_F_NOEMIT)) != 0 || k->type == CFG_CHECK)
			continue;
		v = NULL;
		if (cfg_in(k, section)) {
			rc = k->emit != NULL ? k->emit(k, c, &v) : cfg_emit_value(k, c, &v);
			if (rc == 0 && v != NULL && json_object_set_new(o, k->key, v) != 0)
				rc = -ENOMEM;
		} else if (cfg_subsection(k, section, name, sizeof(name)) != NULL) {
			for (j = 0; j < n_done; j++)
				if (strcmp(done[j], name) == 0)
					break;
			if (j < n_done || n_done == CFG_MAX_CHILDREN)
				continue;
			snprintf(done[n_done++], sizeof(done[0]), "%s", name);
			snprintf(sub, sizeof(sub), "%s%s%s", section, section[0] != '\0' ? "." : "",
				 name);
			v = json_object();
			if (v == NULL || json_object_set_new(o, name, v) != 0)
				rc = -ENOMEM;
			else
				rc = cfg_emit(sub, v, c);
		}
	}
	return rc;
}

json_t *
dpct_cfg_schema_json(const struct dpct_config *c)
{
	json_t *root = json_object();

	if (root != NULL && cfg_emit("", root, c) != 0) {
		json_decref(root);
		root = NULL;
	}
	return root;
}

bool
dpct_cfg_documented(const struct cfg_key *k)
{
	return k->key != NULL && k->type != CFG_CHECK && (k->flags & CFG_F_NODOC) == 0;
}

/* A derived cell: the type's name, the default, the range. */
static void
cfg_doc_cells(const struct cfg_key *k, char *type, char *dflt, char *range, size_t len)
{
	static const char *const tn[] = {
		[CFG_BOOL] = "boolean", [CFG_UINT] = "integer", [CFG_RING] = "integer",
		[CFG_NUMBER] = "number", [CFG_STRING] = "string", [CFG_ENUM] = "string",
		[CFG_IDS] = "array of integers", [CFG_CUSTOM] = "", [CFG_CHECK] = "",
	};
	size_t n = 0;
	unsigned i;

	snprintf(type, len, "%s", k->doc_type != NULL ? k->doc_type : tn[k->type]);
	dflt[0] = '\0';
	range[0] = '\0';
	switch (k->type) {
	case CFG_BOOL:
		snprintf(dflt, len, "%s", k->dflt != 0 ? "true" : "false");
		break;
	case CFG_UINT:
	case CFG_RING:
		snprintf(dflt, len, "%" PRIu64, k->dflt);
		snprintf(range, len, "%s%" PRIu64 "..%" PRIu64,
			 k->type == CFG_RING ? "power of two, " : "", k->min, k->max);
		break;
	case CFG_NUMBER:
		snprintf(dflt, len, "%g", k->fdflt);
		snprintf(range, len, "%g..%g", k->fmin, k->fmax);
		break;
	case CFG_STRING:
		snprintf(dflt, len, "`\"%s\"`", k->sdflt);
		break;
	case CFG_ENUM:
		snprintf(dflt, len, "`\"%s\"`", k->names[k->dflt]);
		for (i = 0; k->names[i] != NULL && n < len; i++)
			n += (size_t)snprintf(range + n, len - n, "%s`\"%s\"`", i > 0 ? ", " : "",
					      k->names[i]);
		break;
	case CFG_IDS:
		snprintf(dflt, len, "%s", k->dflt != 0 ? "`[0]`" : "`[]`");
		break;
	case CFG_CUSTOM:
	case CFG_CHECK:
		break;
	}
	if (k->doc_default != NULL)
		snprintf(dflt, len, "%s", k->doc_default);
	if (k->doc_range != NULL)
		snprintf(range, len, "%s", k->doc_range);
}

static int
cfg_doc_row(FILE *f, const struct cfg_key *k, const char *prefix)
{
	char type[128], dflt[128], range[128];
	const char *cells[4];
	unsigned i;

	cfg_doc_cells(k, type, dflt, range, sizeof(type));
	cells[0] = type;
	cells[1] = dflt;
	cells[2] = range;
	cells[3] = k->doc != NULL ? k->doc : "";
	if (fprintf(f, "| `%s%s%s` |", prefix, prefix[0] != '\0' ? "." : "", k->key) < 0)
		return -EIO;
	for (i = 0; i < 4; i++)
		if (fprintf(f, cells[i][0] != '\0' ? " %s |" : "%s |", cells[i]) < 0)
			return -EIO;
	return fputc('\n', f) == EOF ? -EIO : 0;
}

int
dpct_cfg_doc_table(FILE *f, const char *names)
{
	char list[256], *save = NULL, *name;
	bool many = strchr(names, ' ') != NULL;
	unsigned i, rows;
	int rc;

	if (fputs("| Key | Type | Default | Range | Meaning |\n|---|---|---|---|---|\n", f) == EOF)
		return -EIO;
	snprintf(list, sizeof(list), "%s", names);
	for (name = strtok_r(list, " ", &save); name != NULL; name = strtok_r(NULL, " ", &save)) {
		rows = 0;
		for (i = 0; i < dpct_cfg_n_keys; i++) {
			const struct cfg_key *k = &dpct_cfg_keys[i];

			if (!dpct_cfg_documented(k))
				continue;
			if (strcmp(k->section, name) == 0)
				rc = cfg_doc_row(f, k, many ? name : "");
			else if (k->section[0] == '\0' && strcmp(k->key, name) == 0)
				rc = cfg_doc_row(f, k, "");
			else
				continue;
			if (rc != 0)
				return rc;
			rows++;
		}
		if (rows == 0)
			return -ENOENT;
	}
	return 0;
}
