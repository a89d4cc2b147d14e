/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CONFIG_SCHEMA_H
#define DPCT_CONFIG_SCHEMA_H

/**
 * @file
 * The configuration as one table: a row per key with its section, JSON
 * type, the field of struct dpct_config it fills, its default, its range
 * and the one line of docs/configuration.md that says what it does. From
 * the table come the defaults (dpct_config_defaults()), the parser and its
 * messages (dpct_config_parse_full()), the unknown-key check, the JSON of
 * /dpct/config (dpct_config_to_json()) and the key tables of
 * docs/configuration.md (dpct-config-doc).
 *
 * Sections are dotted names ("events", "export.ipfix"); "" is the document
 * itself. Rows are walked in table order, which is the order keys are
 * parsed, emitted and documented in; a section is entered where its first
 * row stands. Sections whose rows carry CFG_F_ITEM describe the objects of
 * an array ("notrack[]") or a section a custom row parses ("policy"): the
 * walker skips them, their custom parser checks their keys with
 * dpct_cfg_check_keys(), and the doc generator prints their tables.
 *
 * Thread safety: the table is constant; every function here is reentrant.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

struct dpct_config;
struct pol_ruleset;

enum cfg_type {
	CFG_BOOL,       /**< JSON boolean into a bool */
	CFG_UINT,       /**< integer in min..max into an unsigned field of 1, 2, 4 or 8 bytes */
	CFG_RING,       /**< CFG_UINT that must also be a power of two (an rte_ring size) */
	CFG_NUMBER,     /**< JSON number in fmin..fmax into a double */
	CFG_STRING,     /**< string into a char array (validated by the row's parse callback) */
	CFG_ENUM,       /**< one of `names` into a uint8_t: its index */
	CFG_IDS,        /**< array of at most `max` ids 0..4294967294 into uint32_t[] and a
			 *   count (unsigned at off_n); the default is `dflt` entries of 0 */
	CFG_CUSTOM,     /**< the row's callbacks do it all */
	CFG_CHECK,      /**< no key: `parse` checks the section's keys together */
};

/** Row flags. */
#define CFG_F_ITEM   0x1u  /**< parsed by a custom row's callback, not by the walker */
#define CFG_F_ALWAYS 0x2u  /**< `parse` is called also when the key is absent (v NULL) */
#define CFG_F_NOEMIT 0x4u  /**< not part of dpct_config_to_json() */
#define CFG_F_NODOC  0x8u  /**< in no table of docs/configuration.md */
#define CFG_F_QUOTED 0x10u /**< unknown keys of this section read `PATH: unknown key "K"` */

/** Where a parse reports, and what it gives besides struct dpct_config. */
struct cfg_parse {
	char *err;
	size_t errlen;
	struct pol_ruleset *rules;      /**< the policy's rules, NULL: validated only */
	bool has_policy;                /**< the document had a "policy" section */
};

struct cfg_key;

/** Parse `v` (NULL when absent and CFG_F_ALWAYS) found at `path`. @return 0, -EINVAL, -ENOMEM. */
typedef int (*cfg_parse_fn)(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
			    const char *path, struct dpct_config *c);
/** The value as JSON into *out (NULL: the key is left out). @return 0 or -ENOMEM. */
typedef int (*cfg_emit_fn)(const struct cfg_key *k, const struct dpct_config *c, json_t **out);
/** Set the default (instead of the type's rule). */
typedef void (*cfg_init_fn)(const struct cfg_key *k, struct dpct_config *c);

struct cfg_key {
	const char *section;            /**< "table", "export.ipfix", "" (the document) */
	const char *key;                /**< NULL for CFG_CHECK */
	enum cfg_type type;
	unsigned flags;                 /**< CFG_F_* */
	size_t off;                     /**< the field in struct dpct_config */
	size_t size;                    /**< its size in bytes */
	size_t off_n;                   /**< CFG_IDS: the count's field */
	uint64_t min, max;              /**< CFG_UINT, CFG_RING; CFG_IDS: max ids */
	double fmin, fmax;              /**< CFG_NUMBER */
	const char *const *names;       /**< CFG_ENUM, NULL-terminated */
	uint64_t dflt;                  /**< CFG_BOOL, CFG_UINT, CFG_RING, CFG_ENUM, CFG_IDS */
	double fdflt;                   /**< CFG_NUMBER */
	const char *sdflt;              /**< CFG_STRING */
	cfg_parse_fn parse;             /**< replaces the type's parser */
	cfg_emit_fn emit;               /**< replaces the type's JSON */
	cfg_init_fn init;               /**< replaces the type's default */
	/* docs/configuration.md; NULL cells are derived from the type. */
	const char *doc_type;
	const char *doc_default;
	const char *doc_range;
	const char *doc;                /**< the "Meaning" cell */
};

/** The table, in parse order. */
extern const struct cfg_key dpct_cfg_keys[];
extern const unsigned dpct_cfg_n_keys;

/**
 * Object check and unknown-key check of `o` at `path` against the keys of
 * `section` (its rows and its subsections). Messages: "PATH: expected
 * object, got TYPE"; "unknown key at PATH.KEY" (or, for CFG_F_QUOTED
 * sections, "PATH: unknown key \"KEY\"").
 * @return 0 or -EINVAL.
 */
int dpct_cfg_check_keys(const char *section, json_t *o, const char *path, char *err,
			size_t errlen);

/** An integer at `path` in min..max ("expected integer", "out of range"). @return 0, -EINVAL. */
int dpct_cfg_uint(char *err, size_t errlen, json_t *v, const char *path, uint64_t min,
		  uint64_t max, uint64_t *out);

/** Every row's default into `c` (all other bytes zero). */
void dpct_cfg_schema_defaults(struct dpct_config *c);

/** Parse the document `root` into `c` (over what `c` holds). @return 0, -EINVAL, -ENOMEM. */
int dpct_cfg_schema_parse(struct cfg_parse *p, json_t *root, struct dpct_config *c);

/** `c` as the JSON the parser reads, or NULL (ENOMEM). */
json_t *dpct_cfg_schema_json(const struct dpct_config *c);

/**
 * The markdown table of the sections or top-level keys named in `names`
 * (space-separated, as in "<!-- schema:tcp checksum zones -->"); with more
 * than one name, keys are shown with their section ("tcp.loose").
 * @return 0, -ENOENT (a name with no documented row) or -errno of the stream.
 */
int dpct_cfg_doc_table(FILE *f, const char *names);

/** Whether row `k` appears in docs/configuration.md. */
bool dpct_cfg_documented(const struct cfg_key *k);

#endif /* DPCT_CONFIG_SCHEMA_H */
