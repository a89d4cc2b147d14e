/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-config-doc: writes the key tables of docs/configuration.md from
 * the schema table (config_keys.c). The document keeps its prose; each
 * table stands between "<!-- schema:NAMES -->" and "<!-- /schema -->"
 * lines, and what is between them is replaced.
 *
 *   dpct-config-doc FILE            the updated document on stdout
 *   dpct-config-doc --write FILE    update FILE in place
 *   dpct-config-doc --check FILE    exit 1 (and say how to fix it) when FILE is stale
 *
 * Every documented key must appear in some table: a key that no marker
 * names is an error, so a new row cannot go undocumented.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_schema.h"

#define MARK_OPEN "<!-- schema:"
#define MARK_CLOSE "<!-- /schema -->"
#define REGEN "ninja -C build config-doc (or dpct-config-doc --write docs/configuration.md)"

static char *
read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else if (buf != NULL) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* Whether the row's section or key is among the space-separated `names`. */
static bool
named(const struct cfg_key *k, const char *names)
{
	const char *want = k->section[0] != '\0' ? k->section : k->key;
	size_t n = strlen(want);
	const char *s = names;

	while ((s = strstr(s, want)) != NULL) {
		if ((s == names || s[-1] == ' ') && (s[n] == ' ' || s[n] == '\0'))
			return true;
		s += n;
	}
	return false;
}

/* `in` with every marked table regenerated, into `out`. */
static int
regenerate(const char *in, FILE *out, const char *path)
{
	bool *seen = calloc(dpct_cfg_n_keys, sizeof(bool));
	const char *line = in, *end;
	unsigned lineno = 0, i;
	int rc = 0;

	if (seen == NULL)
		return -ENOMEM;
	while (rc == 0 && *line != '\0') {
		char names[256];
		size_t n;

		end = strchr(line, '\n');
		end = end != NULL ? end + 1 : line + strlen(line);
		lineno++;
		fwrite(line, 1, (size_t)(end - line), out);
		if (strncmp(line, MARK_OPEN, strlen(MARK_OPEN)) != 0) {
			line = end;
			continue;
		}
		n = (size_t)(end - line) - strlen(MARK_OPEN);
		if (n >= sizeof(names) || strstr(line, " -->") == NULL) {
			fprintf(stderr, "%s:%u: bad marker\n", path, lineno);
			rc = -EINVAL;
			break;
		}
		memcpy(names, line + strlen(MARK_OPEN), n);
		*strstr(names, " -->") = '\0';
		rc = dpct_cfg_doc_table(out, names);
		if (rc != 0) {
			fprintf(stderr, "%s:%u: no documented key in \"%s\"\n", path, lineno,
				names);
			break;
		}
		for (i = 0; i < dpct_cfg_n_keys; i++) {
			const struct cfg_key *k = &dpct_cfg_keys[i];

			if (dpct_cfg_documented(k) && named(k, names))
				seen[i] = true;
		}
		/* Skip the old table up to the closing marker, which is kept. */
		for (line = end; *line != '\0'; line = end) {
			end = strchr(line, '\n');
			end = end != NULL ? end + 1 : line + strlen(line);
			lineno++;
			if (strncmp(line, MARK_CLOSE, strlen(MARK_CLOSE)) == 0)
				break;
		}
		if (*line == '\0') {
			fprintf(stderr, "%s: \"%s\" table has no closing %s\n", path, names,
				MARK_CLOSE);
			rc = -EINVAL;
		}
	}
	for (i = 0; rc == 0 && i < dpct_cfg_n_keys; i++) {
		const struct cfg_key *k = &dpct_cfg_keys[i];

		if (dpct_cfg_documented(k) && !seen[i]) {
			fprintf(stderr, "%s: key %s%s%s is in no table (add it to a %sNAMES --> "
				"marker)\n", path, k->section, k->section[0] != '\0' ? "." : "",
				k->key, MARK_OPEN);
			rc = -EINVAL;
		}
	}
	free(seen);
	return rc;
}

/* The first line where a and b differ, for the failure message. */
static void
first_diff(const char *a, const char *b)
{
	unsigned line = 1;
	size_t i, start = 0;

	for (i = 0; a[i] != '\0' && a[i] == b[i]; i++)
		if (a[i] == '\n') {
			line++;
			start = i + 1;
		}
	fprintf(stderr, "first difference at line %u:\n  file:      %.*s\n  generated: %.*s\n",
		line, (int)strcspn(a + start, "\n"), a + start, (int)strcspn(b + start, "\n"),
		b + start);
}

int
main(int argc, char **argv)
{
	const char *mode = argc == 3 ? argv[1] : "", *path = argv[argc - 1];
	char *in, *gen = NULL;
	size_t len = 0, glen = 0;
	FILE *out;
	int rc;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(mode, "--check") != 0 &&
				     strcmp(mode, "--write") != 0)) {
		fprintf(stderr, "usage: %s [--check | --write] docs/configuration.md\n", argv[0]);
		return 2;
	}
	in = read_all(path, &len);
	if (in == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno != 0 ? errno : EIO));
		return 2;
	}
	out = open_memstream(&gen, &glen);
	if (out == NULL) {
		free(in);
		return 2;
	}
	rc = regenerate(in, out, path);
	fclose(out);
	if (rc != 0) {
		rc = 2;
	} else if (strcmp(mode, "--check") == 0) {
		if (glen != len || memcmp(gen, in, len) != 0) {
			fprintf(stderr, "%s is stale: its key tables differ from the schema "
				"(app/dpct/config_keys.c). Regenerate it: %s\n", path, REGEN);
			first_diff(in, gen);
			rc = 1;
		}
	} else if (strcmp(mode, "--write") == 0) {
		out = fopen(path, "wb");
		if (out == NULL || fwrite(gen, 1, glen, out) != glen || fclose(out) != 0) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			rc = 2;
		}
	} else {
		fwrite(gen, 1, glen, stdout);
	}
	free(gen);
	free(in);
	return rc;
}
