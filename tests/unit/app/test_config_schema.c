/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The schema table (app/dpct/config_keys.c) against the libraries and
 * against itself: defaults the app shares with ct_conf_init(),
 * ev_ctl_conf_init() and ev_ipfix_conf_init() agree; every integer and
 * boolean key is parsed into its own field (and no other), at its bounds,
 * with the one message format; every section refuses an unknown key.
 * (docs/configuration.md against the table: the app_config_doc test.)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_schema.h"
#include "dpct_config.h"
#include "dpct_test.h"

static char errbuf[512];

/* The defaults the app shares with lib/conntrack's shard configuration. */
static int
test_ct_defaults(void)
{
	struct dpct_config c;
	struct ct_conf lib, app;
	unsigned i;

	ct_conf_init(&lib);
	dpct_config_defaults(&c);
	dpct_config_shard(&c, 0, 1, &app);
	T_UEQ(app.max_entries, lib.max_entries);
	for (i = 0; i < CT_TO_MAX; i++)
		T_UEQ(app.timeout_s[i], lib.timeout_s[i]);
	T_EQ(app.tcp_loose, lib.tcp_loose);
	T_EQ(app.tcp_be_liberal, lib.tcp_be_liberal);
	T_UEQ(app.tcp_max_retrans, lib.tcp_max_retrans);
	T_UEQ(app.invalid_policy, lib.invalid_policy);
	T_EQ(app.early_drop, lib.early_drop);
	T_UEQ(app.fill_alarm_high_pct, lib.fill_alarm_high_pct);
	T_UEQ(app.fill_alarm_low_pct, lib.fill_alarm_low_pct);
	T_EQ(app.events_enabled, lib.events_enabled);
	T_UEQ(app.destroy_grace_ms, lib.destroy_grace_ms);
	T_UEQ(app.ev_stage_size, lib.ev_stage_size);
	T_UEQ(app.seed, lib.seed);
	T_UEQ(app.n_notrack, lib.n_notrack);
	return 0;
}

/*
 * ... with lib/events' control core. The one deliberate difference:
 * allowed_uids is [0] in the app (root may always connect) and empty in
 * the library.
 */
static int
test_ev_defaults(void)
{
	struct ev_ctl_conf lib, app;
	struct dpct_config c;

	ev_ctl_conf_init(&lib);
	dpct_config_defaults(&c);
	dpct_config_events(&c, &app);
	T_STREQ(app.socket_path, lib.socket_path);
	T_EQ(app.socket_gid, lib.socket_gid);
	T_UEQ(app.max_listeners, lib.max_listeners);
	T_EQ(app.reliable, lib.reliable);
	T_UEQ(app.max_batch_bytes, lib.max_batch_bytes);
	T_UEQ(app.n_reliable_uids, lib.n_reliable_uids);
	T_UEQ(app.reliable_uids[0], lib.reliable_uids[0]);
	T_UEQ(app.n_allowed_gids, lib.n_allowed_gids);
	T_UEQ(app.reliable_stall_ms, lib.reliable_stall_ms);
	T_UEQ(app.max_dying_pct, lib.max_dying_pct);
	T_UEQ(app.subscribe_timeout_ms, lib.subscribe_timeout_ms);
	T_UEQ(app.max_conns_per_uid, lib.max_conns_per_uid);
	/* The library's "half of max_listeners", made concrete. */
	T_UEQ(lib.reserved_slots, EV_RESERVED_HALF);
	T_UEQ(app.reserved_slots, app.max_listeners / 2);
	T_UEQ(c.n_allowed_uids, 1);
	T_UEQ(c.allowed_uids[0], 0);
	return 0;
}

/* ... and with lib/events' IPFIX exporter: the whole struct. */
static int
test_ipfix_defaults(void)
{
	struct ev_ipfix_conf lib;
	struct dpct_config c;

	ev_ipfix_conf_init(&lib);
	dpct_config_defaults(&c);
	T_MEMEQ(&c.export.ipfix, &lib, sizeof(lib));
	T_UEQ(c.export.max_rate_pps, EV_IPFIX_RATE_PPS_DEFAULT);
	return 0;
}

/* {"a": {"b": {key: value}}} for section "a.b" ("" is the document). */
static void
doc_for(const struct cfg_key *k, const char *value, char *buf, size_t len)
{
	char sec[64], *s, *save = NULL;
	size_t n = 0;
	unsigned depth = 0;

	snprintf(sec, sizeof(sec), "%s", k->section);
	for (s = strtok_r(sec, ".", &save); s != NULL; s = strtok_r(NULL, ".", &save)) {
		n += (size_t)snprintf(buf + n, len - n, "{\"%s\": ", s);
		depth++;
	}
	n += (size_t)snprintf(buf + n, len - n, "{\"%s\": %s}", k->key, value);
	while (depth-- > 0)
		n += (size_t)snprintf(buf + n, len - n, "}");
}

/* "$.a.b.key" */
static void
path_for(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "$.%s%s%s", k->section, k->section[0] != '\0' ? "." : "", k->key);
}

static uint64_t
field(const struct cfg_key *k, const struct dpct_config *c)
{
	const char *f = (const char *)c + k->off;
	uint64_t v = 0;

	switch (k->size) {
	case 1: v = *(const uint8_t *)f; break;
	case 2: v = *(const uint16_t *)f; break;
	case 4: v = *(const uint32_t *)f; break;
	case 8: v = *(const uint64_t *)f; break;
	}
	return v;
}

/* A plain integer or boolean row, parsed by its type alone. */
static bool
plain(const struct cfg_key *k)
{
	return (k->flags & CFG_F_ITEM) == 0 && k->parse == NULL && k->key != NULL &&
	       (k->type == CFG_UINT || k->type == CFG_RING || k->type == CFG_BOOL);
}

/* The one pair of keys that set the same field: "tcp.loose" is "table.tcp_loose". */
static bool
alias(const struct cfg_key *a, const struct cfg_key *b)
{
	return (strcmp(a->key, "tcp_loose") == 0 && strcmp(b->key, "loose") == 0) ||
	       (strcmp(a->key, "loose") == 0 && strcmp(b->key, "tcp_loose") == 0);
}

/* No two rows fill overlapping bytes of struct dpct_config (but the alias). */
static int
test_fields_distinct(void)
{
	unsigned i, j, n = 0;

	for (i = 0; i < dpct_cfg_n_keys; i++) {
		const struct cfg_key *a = &dpct_cfg_keys[i];

		if ((a->flags & CFG_F_ITEM) != 0 || a->key == NULL || a->size == 0)
			continue;
		n++;
		for (j = i + 1; j < dpct_cfg_n_keys; j++) {
			const struct cfg_key *b = &dpct_cfg_keys[j];

			if ((b->flags & CFG_F_ITEM) != 0 || b->key == NULL || b->size == 0 ||
			    alias(a, b))
				continue;
			if (a->off < b->off + b->size && b->off < a->off + a->size) {
				printf("# %s.%s and %s.%s fill the same bytes\n", a->section,
				       a->key, b->section, b->key);
				return 1;
			}
		}
	}
	T_ASSERT(n > 60);
	return 0;
}

/* Setting key i changes its field and no field of another row. */
static int
only_own_field(unsigned i, const struct dpct_config *c, const struct dpct_config *dflt)
{
	unsigned j;

	for (j = 0; j < dpct_cfg_n_keys; j++) {
		const struct cfg_key *o = &dpct_cfg_keys[j];

		if (!plain(o) || j == i || alias(o, &dpct_cfg_keys[i]))
			continue;
		if (field(o, c) != field(o, dflt)) {
			printf("# setting %s.%s changed %s.%s\n", dpct_cfg_keys[i].section,
			       dpct_cfg_keys[i].key, o->section, o->key);
			return 1;
		}
	}
	return 0;
}

static int
test_every_integer_key(void)
{
	struct dpct_config c, dflt;
	char doc[256], path[96], want[256], val[32];
	unsigned i, n = 0;

	dpct_config_defaults(&dflt);
	for (i = 0; i < dpct_cfg_n_keys; i++) {
		const struct cfg_key *k = &dpct_cfg_keys[i];
		uint64_t v;

		if (!plain(k) || k->type == CFG_BOOL)
			continue;
		n++;
		path_for(k, path, sizeof(path));
		/*
		 * The largest value or, where that is the default or breaks a
		 * limit between keys (low_pct below high_pct), the smallest.
		 */
		v = k->max;
		snprintf(val, sizeof(val), "%" PRIu64, v);
		doc_for(k, val, doc, sizeof(doc));
		c = dflt;
		if (v == k->dflt || dpct_config_parse(&c, doc, strlen(doc), errbuf,
						      sizeof(errbuf)) != 0) {
			v = k->min;
			snprintf(val, sizeof(val), "%" PRIu64, v);
			doc_for(k, val, doc, sizeof(doc));
			c = dflt;
			if (dpct_config_parse(&c, doc, strlen(doc), errbuf, sizeof(errbuf)) != 0) {
				printf("# %s: %s\n", doc, errbuf);
				return 1;
			}
		}
		T_UEQ(field(k, &c), v);
		if (only_own_field(i, &c, &dflt) != 0)
			return 1;
		/* One past the top is refused with the one range message. */
		if (k->max < INT64_MAX) {
			snprintf(val, sizeof(val), "%" PRIu64, k->max + 1);
			doc_for(k, val, doc, sizeof(doc));
			snprintf(want, sizeof(want), "%s: %" PRIu64 " is out of range %" PRIu64
				 "..%" PRIu64, path, k->max + 1, k->min, k->max);
			c = dflt;
			T_EQ(dpct_config_parse(&c, doc, strlen(doc), errbuf, sizeof(errbuf)),
			     -EINVAL);
			T_STREQ(errbuf, want);
		}
		doc_for(k, "\"1\"", doc, sizeof(doc));
		snprintf(want, sizeof(want), "%s: expected integer, got string", path);
		T_EQ(dpct_config_parse(&c, doc, strlen(doc), errbuf, sizeof(errbuf)), -EINVAL);
		T_STREQ(errbuf, want);
	}
	printf("# %u integer keys\n", n);
	T_ASSERT(n > 40);
	return 0;
}

static int
test_every_boolean_key(void)
{
	struct dpct_config c, dflt;
	char doc[256], path[96], want[256];
	unsigned i, n = 0;

	dpct_config_defaults(&dflt);
	for (i = 0; i < dpct_cfg_n_keys; i++) {
		const struct cfg_key *k = &dpct_cfg_keys[i];
		const bool *f = (const bool *)((const char *)&c + k->off);

		if (!plain(k) || k->type != CFG_BOOL)
			continue;
		n++;
		doc_for(k, k->dflt != 0 ? "false" : "true", doc, sizeof(doc));
		c = dflt;
		T_EQ(dpct_config_parse(&c, doc, strlen(doc), errbuf, sizeof(errbuf)), 0);
		T_EQ(*f, k->dflt == 0);
		if (only_own_field(i, &c, &dflt) != 0)
			return 1;
		path_for(k, path, sizeof(path));
		doc_for(k, "1", doc, sizeof(doc));
		snprintf(want, sizeof(want), "%s: expected boolean, got integer", path);
		T_EQ(dpct_config_parse(&c, doc, strlen(doc), errbuf, sizeof(errbuf)), -EINVAL);
		T_STREQ(errbuf, want);
	}
	T_ASSERT(n >= 7);
	return 0;
}

/* Every section of the walker refuses a key it does not have. */
static int
test_every_section_unknown_key(void)
{
	struct dpct_config c;
	struct cfg_key k = {.key = "bogus"};
	char doc[256], path[96], want[160];
	unsigned i, n = 0;

	for (i = 0; i < dpct_cfg_n_keys; i++) {
		if ((dpct_cfg_keys[i].flags & CFG_F_ITEM) != 0 || dpct_cfg_keys[i].key == NULL)
			continue;
		if (i > 0 && strcmp(dpct_cfg_keys[i - 1].section, dpct_cfg_keys[i].section) == 0)
			continue;
		k.section = dpct_cfg_keys[i].section;
		doc_for(&k, "1", doc, sizeof(doc));
		path_for(&k, path, sizeof(path));
		snprintf(want, sizeof(want), "unknown key at %s", path);
		dpct_config_defaults(&c);
		T_EQ(dpct_config_parse(&c, doc, strlen(doc), errbuf, sizeof(errbuf)), -EINVAL);
		T_STREQ(errbuf, want);
		n++;
	}
	T_ASSERT(n >= 10);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_ct_defaults),
	T_CASE(test_ev_defaults),
	T_CASE(test_ipfix_defaults),
	T_CASE(test_fields_distinct),
	T_CASE(test_every_integer_key),
	T_CASE(test_every_boolean_key),
	T_CASE(test_every_section_unknown_key),
};

T_MAIN(cases)
