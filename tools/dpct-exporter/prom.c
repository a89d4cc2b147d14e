/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The text exposition format: families declared in families.h, samples
 * buffered per family so each family is written as one block.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

static const struct {
	const char *name;
	enum prom_type type;
	const char *help;
} families[PROM_FAM_MAX] = {
#define PROM_FAM_DEF(id, n, t, h) [id] = { n, t, h },
	PROM_FAMILIES(PROM_FAM_DEF)
#undef PROM_FAM_DEF
};

const char *
prom_family_name(enum prom_family f)
{
	return families[f].name;
}

const char *
prom_family_type(enum prom_family f)
{
	return families[f].type == PROM_COUNTER ? "counter" : "gauge";
}

const char *
prom_family_help(enum prom_family f)
{
	return families[f].help;
}

void
prom_init(struct prom *p, size_t max_bytes)
{
	unsigned i;

	p->failed = 0;
	for (i = 0; i < PROM_FAM_MAX; i++)
		buf_init(&p->fam[i], max_bytes);
}

void
prom_free(struct prom *p)
{
	unsigned i;

	for (i = 0; i < PROM_FAM_MAX; i++)
		buf_free(&p->fam[i]);
}

/* A label value as the format wants it: \\, \" and \n escaped. */
static int
put_escaped(struct buf *b, const char *s)
{
	int rc = 0;

	for (; *s != '\0' && rc == 0; s++) {
		if (*s == '\\')
			rc = buf_append(b, "\\\\", 2);
		else if (*s == '"')
			rc = buf_append(b, "\\\"", 2);
		else if (*s == '\n')
			rc = buf_append(b, "\\n", 2);
		else
			rc = buf_append(b, s, 1);
	}
	return rc;
}

/* "name{a="x",b="y"} " into the family's buffer; the caller adds the value. */
static int
put_head(struct buf *b, enum prom_family f, const struct prom_label *labels, unsigned n)
{
	unsigned i;
	int rc;

	rc = buf_printf(b, "%s", families[f].name);
	if (n > PROM_MAX_LABELS)
		n = PROM_MAX_LABELS;
	for (i = 0; i < n && rc == 0; i++) {
		rc = buf_printf(b, "%s%s=\"", i == 0 ? "{" : ",", labels[i].name);
		if (rc == 0)
			rc = put_escaped(b, labels[i].value != NULL ? labels[i].value : "");
		if (rc == 0)
			rc = buf_append(b, "\"", 1);
	}
	if (rc == 0 && n > 0)
		rc = buf_append(b, "}", 1);
	if (rc == 0)
		rc = buf_append(b, " ", 1);
	return rc;
}

/* The shortest of %.15g and %.17g that reads back as `v`. */
static int
put_double(struct buf *b, double v)
{
	char s[40];

	snprintf(s, sizeof(s), "%.15g", v);
	if (strtod(s, NULL) != v)
		snprintf(s, sizeof(s), "%.17g", v);
	return buf_printf(b, "%s\n", s);
}

void
prom_add(struct prom *p, enum prom_family f, const struct prom_label *labels, unsigned n,
	 double v)
{
	struct buf *b = &p->fam[f];
	size_t mark = b->len;
	int rc;

	rc = put_head(b, f, labels, n);
	if (rc == 0) {
		if (isnan(v))
			rc = buf_printf(b, "NaN\n");
		else if (isinf(v))
			rc = buf_printf(b, "%sInf\n", v > 0 ? "+" : "-");
		else
			rc = put_double(b, v);
	}
	if (rc < 0) {
		b->len = mark;
		if (b->data != NULL)
			b->data[mark] = '\0';
		p->failed = 1;
	}
}

void
prom_add_u64(struct prom *p, enum prom_family f, const struct prom_label *labels, unsigned n,
	     uint64_t v)
{
	struct buf *b = &p->fam[f];
	size_t mark = b->len;
	int rc;

	rc = put_head(b, f, labels, n);
	if (rc == 0)
		rc = buf_printf(b, "%" PRIu64 "\n", v);
	if (rc < 0) {
		b->len = mark;
		if (b->data != NULL)
			b->data[mark] = '\0';
		p->failed = 1;
	}
}

int
prom_render(const struct prom *p, struct buf *out)
{
	unsigned i;
	int rc = 0;

	for (i = 0; i < PROM_FAM_MAX && rc == 0; i++) {
		if (p->fam[i].len == 0)
			continue;
		rc = buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", families[i].name,
				families[i].help, families[i].name, prom_family_type(i));
		if (rc == 0)
			rc = buf_append(out, p->fam[i].data, p->fam[i].len);
	}
	return rc;
}
