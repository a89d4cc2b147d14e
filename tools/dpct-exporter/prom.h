/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EXPORTER_PROM_H
#define DPCT_EXPORTER_PROM_H

/*
 * The Prometheus text exposition format (version 0.0.4): every metric family
 * dpct-exporter can emit is declared once in PROM_FAMILIES, with its type and
 * help; samples are added to their family in any order and prom_render()
 * writes each family that has samples as one contiguous block.
 *
 * Not thread safe: one scrape at a time owns a struct prom.
 */

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum prom_type { PROM_GAUGE, PROM_COUNTER };

/* X(id, name, type, help) */
#include "families.h"

enum prom_family {
#define PROM_FAM_ENUM(id, name, type, help) id,
	PROM_FAMILIES(PROM_FAM_ENUM)
#undef PROM_FAM_ENUM
	PROM_FAM_MAX
};

/** Up to this many labels a sample. */
#define PROM_MAX_LABELS 6

struct prom_label {
	const char *name;
	const char *value;
};

struct prom {
	struct buf fam[PROM_FAM_MAX];
	int failed;  /**< a buffer hit its bound: the output is incomplete */
};

/** An empty set; every buffer bounded by `max_bytes` each. */
void prom_init(struct prom *p, size_t max_bytes);
void prom_free(struct prom *p);

/**
 * One sample of family `f`. `labels` has `n` entries (n <= PROM_MAX_LABELS);
 * label values are escaped as the format requires. NaN and infinities are
 * written as NaN, +Inf, -Inf.
 */
void prom_add(struct prom *p, enum prom_family f, const struct prom_label *labels, unsigned n,
	      double v);
/** As prom_add() for an integer value, written exactly. */
void prom_add_u64(struct prom *p, enum prom_family f, const struct prom_label *labels,
		  unsigned n, uint64_t v);

/**
 * Append every family with samples to `out`: "# HELP", "# TYPE", samples.
 * @return 0, or -ENOSPC when `out` hit its bound.
 */
int prom_render(const struct prom *p, struct buf *out);

/** The name, type name ("gauge", "counter") and help of family `f`. */
const char *prom_family_name(enum prom_family f);
const char *prom_family_type(enum prom_family f);
const char *prom_family_help(enum prom_family f);

#endif
