/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The appliance's JSON configuration: defaults, a strict parser that names
 * the JSON path of every fault, the reverse (to JSON, for telemetry and the
 * round-trip test) and the derivation of per-shard and events settings.
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* getgrnam_r() where the build undefines _GNU_SOURCE */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config_notrack.h"
#include "config_policy.h"
#include "config_util.h"
#include "dpct_config.h"

/* Bounds shared by the parser and docs/configuration.md. */
#define CFG_MAX_ENTRIES_MAX   (1u << 28)
#define CFG_RING_MIN          16u
#define CFG_RING_MAX          (1u << 20)
#define CFG_TIMEOUT_MAX_S     4294967u       /* seconds that still fit in ms in 32 bits */
#define CFG_GRACE_MAX_MS      CT_GRACE_MAX_MS
#define CFG_BATCH_MIN         4096u
#define CFG_BATCH_MAX         EV_DGRAM_MAX
#define CFG_DESC_MIN          64u
#define CFG_DESC_MAX          32768u
#define CFG_MBUFS_MIN         1024u
#define CFG_MBUFS_MAX         (1u << 24)

/* Parser state: where the error text goes. */
struct cfg_ctx {
	char *err;
	size_t errlen;
};

#define cfg_fail(x, ...) dpct_cfg_fail((x)->err, (x)->errlen, __VA_ARGS__)

void
dpct_config_defaults(struct dpct_config *c)
{
	unsigned i;

	memset(c, 0, sizeof(*c));
	c->max_entries = 262144;
	c->load_factor = 0.8;
	c->early_drop = true;
	c->tcp_loose = true;
	c->zone = 0;
	dpct_config_tracker_defaults(&c->tracker);
	for (i = 0; i < CT_TO_MAX; i++)
		c->timeout_s[i] = ct_timeout_default_s(i);
	c->invalid_policy = CT_INVALID_DROP;
	c->fill_alarm_high_pct = 90;
	c->fill_alarm_low_pct = 80;
	c->n_notrack = 0;
	c->events_enabled = true;
	c->events_reliable = true;
	c->destroy_grace_ms = 15000;
	c->event_ring_size = 4096;
	c->result_ring_size = 4096;
	c->stage_size = 1024;
	snprintf(c->socket_path, sizeof(c->socket_path), "%s", EV_DEFAULT_SOCKET);
	c->socket_gid = -1;
	c->allowed_uids[0] = 0;
	c->n_allowed_uids = 1;
	c->reliable_uids[0] = 0;
	c->n_reliable_uids = 1;
	c->reliable_stall_ms = 30000;
	c->max_dying_pct = 10;
	c->max_listeners = 8;
	c->batch_bytes = 16384;
	c->max_conns_per_uid = 2;
	c->reserved_slots = c->max_listeners / 2;
	c->subscribe_timeout_ms = 1000;
	c->workers = 0;
	c->burst = 32;
	c->rxd = 1024;
	c->txd = 1024;
	c->mbufs = 0;
	c->handoff_ring_size = 1024;
	c->seed = 0;
	dpct_config_export_defaults(&c->export);
}

/*
 * Every object is checked against its list of keys first, so a typo is
 * reported as such rather than silently falling back to a default.
 */
static int
cfg_check_keys(struct cfg_ctx *x, json_t *obj, const char *path, const char *const *keys)
{
	const char *key;
	json_t *v;
	unsigned i;

	json_object_foreach(obj, key, v) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(keys[i], key) == 0)
				break;
		if (keys[i] == NULL)
			return cfg_fail(x, "unknown key at %s.%s", path, key);
	}
	return 0;
}

static int
cfg_object(struct cfg_ctx *x, json_t *v, const char *path)
{
	if (!json_is_object(v))
		return cfg_fail(x, "%s: expected object, got %s", path, dpct_json_type(v));
	return 0;
}

/* An integer within [min, max]; JSON values beyond the field never wrap. */
static int
cfg_uint(struct cfg_ctx *x, json_t *v, const char *path, uint64_t min, uint64_t max,
	 uint64_t *out)
{
	json_int_t n;

	if (!json_is_integer(v))
		return cfg_fail(x, "%s: expected integer, got %s", path, dpct_json_type(v));
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return cfg_fail(x, "%s: %" JSON_INTEGER_FORMAT " is out of range %" PRIu64
				"..%" PRIu64, path, n, min, max);
	*out = (uint64_t)n;
	return 0;
}

static int
cfg_u32(struct cfg_ctx *x, json_t *obj, const char *key, const char *path, uint32_t min,
	uint32_t max, uint32_t *out)
{
	json_t *v = json_object_get(obj, key);
	char p[96];
	uint64_t n = 0;
	int rc;

	if (v == NULL)
		return 0;
	snprintf(p, sizeof(p), "%s.%s", path, key);
	rc = cfg_uint(x, v, p, min, max, &n);
	if (rc == 0)
		*out = (uint32_t)n;
	return rc;
}

static int
cfg_uns(struct cfg_ctx *x, json_t *obj, const char *key, const char *path, unsigned min,
	unsigned max, unsigned *out)
{
	uint32_t n = *out;
	int rc = cfg_u32(x, obj, key, path, min, max, &n);

	*out = n;
	return rc;
}

static int
cfg_ring(struct cfg_ctx *x, json_t *obj, const char *key, const char *path, uint32_t *out)
{
	uint32_t n = *out;
	int rc = cfg_u32(x, obj, key, path, CFG_RING_MIN, CFG_RING_MAX, &n);

	if (rc != 0)
		return rc;
	/* rte_ring sizes are powers of two; refuse rather than round silently. */
	if ((n & (n - 1)) != 0)
		return cfg_fail(x, "%s.%s: %u is not a power of two", path, key, n);
	*out = n;
	return 0;
}

static int
cfg_bool(struct cfg_ctx *x, json_t *obj, const char *key, const char *path, bool *out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return cfg_fail(x, "%s.%s: expected boolean, got %s", path, key,
				dpct_json_type(v));
	*out = json_is_true(v);
	return 0;
}

static int
cfg_table(struct cfg_ctx *x, json_t *o, struct dpct_config *c)
{
	static const char *const keys[] = {"max_entries", "load_factor", "early_drop",
					   "tcp_loose", "zone", NULL};
	const char *p = "$.table";
	uint32_t zone = c->zone;
	json_t *v;
	int rc;

	if ((rc = cfg_object(x, o, p)) != 0 || (rc = cfg_check_keys(x, o, p, keys)) != 0)
		return rc;
	rc = cfg_u32(x, o, "max_entries", p, 1, CFG_MAX_ENTRIES_MAX, &c->max_entries);
	if (rc == 0)
		rc = cfg_bool(x, o, "early_drop", p, &c->early_drop);
	if (rc == 0)
		rc = cfg_bool(x, o, "tcp_loose", p, &c->tcp_loose);
	if (rc == 0)
		rc = cfg_u32(x, o, "zone", p, 0, UINT16_MAX, &zone);
	if (rc != 0)
		return rc;
	c->zone = (uint16_t)zone;
	v = json_object_get(o, "load_factor");
	if (v != NULL) {
		double lf;

		if (!json_is_number(v))
			return cfg_fail(x, "$.table.load_factor: expected number, got %s",
					dpct_json_type(v));
		lf = json_number_value(v);
		if (!(lf >= 0.25 && lf <= 0.95))
			return cfg_fail(x, "$.table.load_factor: %g is out of range 0.25..0.95",
					lf);
		c->load_factor = lf;
	}
	return 0;
}

static int
cfg_timeouts(struct cfg_ctx *x, json_t *o, struct dpct_config *c)
{
	const char *p = "$.timeouts";
	const char *key;
	json_t *v;
	unsigned i;
	int rc;

	if ((rc = cfg_object(x, o, p)) != 0)
		return rc;
	json_object_foreach(o, key, v) {
		for (i = 0; i < CT_TO_MAX; i++)
			if (strcmp(ct_timeout_name(i), key) == 0)
				break;
		if (i == CT_TO_MAX)
			return cfg_fail(x, "unknown key at %s.%s", p, key);
		rc = cfg_u32(x, o, key, p, 1, CFG_TIMEOUT_MAX_S, &c->timeout_s[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
cfg_invalid(struct cfg_ctx *x, json_t *o, struct dpct_config *c)
{
	static const char *const keys[] = {"policy", NULL};
	const char *s;
	json_t *v;
	int rc;

	if ((rc = cfg_object(x, o, "$.invalid")) != 0 ||
	    (rc = cfg_check_keys(x, o, "$.invalid", keys)) != 0)
		return rc;
	v = json_object_get(o, "policy");
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return cfg_fail(x, "$.invalid.policy: expected string, got %s", dpct_json_type(v));
	s = json_string_value(v);
	if (strcmp(s, "drop") == 0)
		c->invalid_policy = CT_INVALID_DROP;
	else if (strcmp(s, "pass") == 0)
		c->invalid_policy = CT_INVALID_PASS;
	else
		return cfg_fail(x, "$.invalid.policy: \"%s\" is not one of \"drop\", \"pass\"", s);
	return 0;
}

static int
cfg_fill_alarm(struct cfg_ctx *x, json_t *o, struct dpct_config *c)
{
	static const char *const keys[] = {"high_pct", "low_pct", NULL};
	const char *p = "$.fill_alarm";
	uint32_t hi = c->fill_alarm_high_pct, lo = c->fill_alarm_low_pct;
	int rc;

	if ((rc = cfg_object(x, o, p)) != 0 || (rc = cfg_check_keys(x, o, p, keys)) != 0)
		return rc;
	if ((rc = cfg_u32(x, o, "high_pct", p, 0, 100, &hi)) != 0 ||
	    (rc = cfg_u32(x, o, "low_pct", p, 0, 99, &lo)) != 0)
		return rc;
	c->fill_alarm_high_pct = (uint8_t)hi;
	c->fill_alarm_low_pct = (uint8_t)lo;
	return 0;
}

/* An array of uids or gids at $.events.KEY. */
static int
cfg_id_list(struct cfg_ctx *x, json_t *o, const char *key, uint32_t *list, unsigned *n)
{
	json_t *v = json_object_get(o, key);
	char q[64];
	uint64_t id = 0;
	size_t i;
	int rc;

	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return cfg_fail(x, "$.events.%s: expected array, got %s", key, dpct_json_type(v));
	if (json_array_size(v) > EV_MAX_UIDS)
		return cfg_fail(x, "$.events.%s: %zu ids, at most %u are supported", key,
				json_array_size(v), EV_MAX_UIDS);
	for (i = 0; i < json_array_size(v); i++) {
		snprintf(q, sizeof(q), "$.events.%s[%zu]", key, i);
		/* (uid_t)-1 is "no id" for the kernel; never a listener's. */
		rc = cfg_uint(x, json_array_get(v, i), q, 0, UINT32_MAX - 1, &id);
		if (rc != 0)
			return rc;
		list[i] = (uint32_t)id;
	}
	*n = (unsigned)json_array_size(v);
	return 0;
}

/* events.socket (an absolute path) and events.socket_group (a group name
 * or a gid). */
static int
cfg_events_socket(struct cfg_ctx *x, json_t *o, struct dpct_config *c)
{
	json_t *v = json_object_get(o, "socket");
	uint64_t gid = 0;
	int rc;

	if (v != NULL) {
		const char *sp = json_string_value(v);

		if (!json_is_string(v))
			return cfg_fail(x, "$.events.socket: expected string, got %s",
					dpct_json_type(v));
		if (sp[0] != '/' || strlen(sp) >= sizeof(c->socket_path) || sp[strlen(sp) - 1] == '/')
			return cfg_fail(x, "$.events.socket: \"%s\" is not an absolute file path "
					"of at most %zu bytes", sp, sizeof(c->socket_path) - 1);
		snprintf(c->socket_path, sizeof(c->socket_path), "%s", sp);
	}
	v = json_object_get(o, "socket_group");
	if (v == NULL)
		return 0;
	if (json_is_string(v)) {
		char buf[4096];
		struct group gr, *res = NULL;
		const char *name = json_string_value(v);

		if (strlen(name) == 0 || strlen(name) >= sizeof(c->socket_group))
			return cfg_fail(x, "$.events.socket_group: bad group name \"%s\"", name);
		if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || res == NULL)
			return cfg_fail(x, "$.events.socket_group: no group named \"%s\"", name);
		snprintf(c->socket_group, sizeof(c->socket_group), "%s", name);
		c->socket_gid = (int64_t)gr.gr_gid;
		return 0;
	}
	rc = cfg_uint(x, v, "$.events.socket_group", 0, UINT32_MAX - 1, &gid);
	if (rc != 0)
		return rc;
	c->socket_group[0] = '\0';
	c->socket_gid = (int64_t)gid;
	return 0;
}

static int
cfg_events(struct cfg_ctx *x, json_t *o, struct dpct_config *c)
{
	static const char *const keys[] = {"enabled", "reliable", "destroy_grace_ms",
					   "ring_size", "result_ring_size", "stage_size",
					   "socket", "socket_group", "allowed_uids",
					   "allowed_gids", "reliable_uids", "reliable_stall_ms",
					   "max_dying_pct", "max_listeners", "batch_bytes",
					   "max_conns_per_uid", "reserved_slots",
					   "subscribe_timeout_ms", NULL};
	const char *p = "$.events";
	int rc;

	if ((rc = cfg_object(x, o, p)) != 0)
		return rc;
	if (json_object_get(o, "netlink_port_id") != NULL)
		return cfg_fail(x, "$.events.netlink_port_id: removed: events are served on the "
				"AF_UNIX socket $.events.socket (default %s) instead of "
				"NETLINK_USERSOCK", EV_DEFAULT_SOCKET);
	if ((rc = cfg_check_keys(x, o, p, keys)) != 0)
		return rc;
	if ((rc = cfg_bool(x, o, "enabled", p, &c->events_enabled)) != 0 ||
	    (rc = cfg_bool(x, o, "reliable", p, &c->events_reliable)) != 0 ||
	    (rc = cfg_u32(x, o, "destroy_grace_ms", p, 1, CFG_GRACE_MAX_MS,
			  &c->destroy_grace_ms)) != 0 ||
	    (rc = cfg_ring(x, o, "ring_size", p, &c->event_ring_size)) != 0 ||
	    (rc = cfg_ring(x, o, "result_ring_size", p, &c->result_ring_size)) != 0 ||
	    (rc = cfg_u32(x, o, "stage_size", p, 1, CFG_RING_MAX, &c->stage_size)) != 0 ||
	    (rc = cfg_uns(x, o, "max_listeners", p, 1, EV_MAX_LISTENERS,
			  &c->max_listeners)) != 0 ||
	    (rc = cfg_u32(x, o, "batch_bytes", p, CFG_BATCH_MIN, CFG_BATCH_MAX,
			  &c->batch_bytes)) != 0 ||
	    (rc = cfg_u32(x, o, "reliable_stall_ms", p, 1, 86400000u,
			  &c->reliable_stall_ms)) != 0 ||
	    (rc = cfg_u32(x, o, "max_dying_pct", p, 0, 100, &c->max_dying_pct)) != 0 ||
	    (rc = cfg_events_socket(x, o, c)) != 0 ||
	    (rc = cfg_id_list(x, o, "allowed_uids", c->allowed_uids, &c->n_allowed_uids)) != 0 ||
	    (rc = cfg_id_list(x, o, "allowed_gids", c->allowed_gids, &c->n_allowed_gids)) != 0 ||
	    (rc = cfg_id_list(x, o, "reliable_uids", c->reliable_uids, &c->n_reliable_uids)) != 0 ||
	    (rc = cfg_uns(x, o, "max_conns_per_uid", p, 1, EV_MAX_LISTENERS,
			  &c->max_conns_per_uid)) != 0 ||
	    (rc = cfg_u32(x, o, "subscribe_timeout_ms", p, 100, 60000,
			  &c->subscribe_timeout_ms)) != 0)
		return rc;
	/* Absent: half of max_listeners, whatever that was set to. */
	if (json_object_get(o, "reserved_slots") == NULL)
		c->reserved_slots = c->max_listeners / 2;
	return cfg_uns(x, o, "reserved_slots", p, 0, c->max_listeners, &c->reserved_slots);
}

static int
cfg_workers(struct cfg_ctx *x, json_t *o, struct dpct_config *c)
{
	static const char *const keys[] = {"count", "burst", "rxd", "txd", "mbufs",
					   "handoff_ring_size", NULL};
	const char *p = "$.workers";
	int rc;

	if ((rc = cfg_object(x, o, p)) != 0 || (rc = cfg_check_keys(x, o, p, keys)) != 0)
		return rc;
	if ((rc = cfg_uns(x, o, "count", p, 0, DPCT_MAX_WORKERS, &c->workers)) != 0 ||
	    (rc = cfg_uns(x, o, "burst", p, 1, 512, &c->burst)) != 0 ||
	    (rc = cfg_uns(x, o, "rxd", p, CFG_DESC_MIN, CFG_DESC_MAX, &c->rxd)) != 0 ||
	    (rc = cfg_uns(x, o, "txd", p, CFG_DESC_MIN, CFG_DESC_MAX, &c->txd)) != 0 ||
	    (rc = cfg_ring(x, o, "handoff_ring_size", p, &c->handoff_ring_size)) != 0)
		return rc;
	if (json_object_get(o, "mbufs") != NULL) {
		json_t *v = json_object_get(o, "mbufs");
		uint64_t n;

		/* 0 keeps "derive from queues and descriptors". */
		if ((rc = cfg_uint(x, v, "$.workers.mbufs", 0, CFG_MBUFS_MAX, &n)) != 0)
			return rc;
		if (n != 0 && n < CFG_MBUFS_MIN)
			return cfg_fail(x, "$.workers.mbufs: %" PRIu64 " is out of range %u..%u "
					"(or 0 to derive)", n, CFG_MBUFS_MIN, CFG_MBUFS_MAX);
		c->mbufs = (unsigned)n;
	}
	return 0;
}

/* Limits that involve more than one key. */
static int
cfg_consistency(struct cfg_ctx *x, const struct dpct_config *c)
{
	if (c->fill_alarm_high_pct != 0 && c->fill_alarm_low_pct >= c->fill_alarm_high_pct)
		return cfg_fail(x, "$.fill_alarm.low_pct: %u must be below high_pct %u",
				c->fill_alarm_low_pct, c->fill_alarm_high_pct);
	if (c->workers != 0 && c->max_entries < c->workers)
		return cfg_fail(x, "$.table.max_entries: %u is fewer than the %u workers",
				c->max_entries, c->workers);
	return 0;
}

int
dpct_config_parse_full(struct dpct_config *c, const char *text, size_t len,
		       struct pol_ruleset *rs, bool *has_policy, char *err, size_t errlen)
{
	static const char *const keys[] = {"table", "timeouts", "invalid", "fill_alarm",
					   "notrack", "events", "workers", "seed", "policy",
					   "export", "tcp", "checksum", "zones", NULL};
	struct cfg_ctx x = {err, errlen};
	struct pol_ruleset rules;
	struct dpct_config n;
	bool policy = false;
	json_error_t je;
	json_t *root, *v;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (has_policy != NULL)
		*has_policy = false;
	if (rs != NULL)
		pol_ruleset_init(rs);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		if (json_error_code(&je) == json_error_out_of_memory)
			return -ENOMEM;
		return cfg_fail(&x, "line %d, column %d: %s", je.line, je.column, je.text);
	}
	/* Parse into copies so a failed parse leaves `c` and `rs` untouched. */
	n = *c;
	pol_ruleset_init(&rules);
	rc = cfg_object(&x, root, "$");
	if (rc == 0)
		rc = cfg_check_keys(&x, root, "$", keys);
	if (rc == 0 && (v = json_object_get(root, "table")) != NULL)
		rc = cfg_table(&x, v, &n);
	if (rc == 0 && (v = json_object_get(root, "timeouts")) != NULL)
		rc = cfg_timeouts(&x, v, &n);
	if (rc == 0 && (v = json_object_get(root, "invalid")) != NULL)
		rc = cfg_invalid(&x, v, &n);
	if (rc == 0 && (v = json_object_get(root, "fill_alarm")) != NULL)
		rc = cfg_fill_alarm(&x, v, &n);
	if (rc == 0 && (v = json_object_get(root, "notrack")) != NULL)
		rc = dpct_config_notrack_parse(v, &n, err, errlen);
	if (rc == 0 && (v = json_object_get(root, "events")) != NULL)
		rc = cfg_events(&x, v, &n);
	if (rc == 0 && (v = json_object_get(root, "workers")) != NULL)
		rc = cfg_workers(&x, v, &n);
	if (rc == 0 && (v = json_object_get(root, "seed")) != NULL) {
		uint64_t s;

		rc = cfg_uint(&x, v, "$.seed", 0, INT64_MAX, &s);
		if (rc == 0)
			n.seed = s;
	}
	/* Only validated when the caller does not want the rules. */
	if (rc == 0 && (v = json_object_get(root, "policy")) != NULL) {
		rc = dpct_policy_parse(v, rs != NULL ? &rules : NULL, err, errlen);
		policy = true;
	}
	if (rc == 0 && (v = json_object_get(root, "export")) != NULL)
		rc = dpct_config_export_parse(&n.export, v, n.events_enabled, err, errlen);
	if (rc == 0)
		rc = dpct_config_tracker_parse(root, &n, err, errlen);
	if (rc == 0)
		rc = cfg_consistency(&x, &n);
	json_decref(root);
	if (rc != 0) {
		pol_ruleset_clear(&rules);
		return rc;
	}
	*c = n;
	if (rs != NULL)
		*rs = rules;
	if (has_policy != NULL)
		*has_policy = policy;
	return 0;
}

int
dpct_config_parse(struct dpct_config *c, const char *text, size_t len, char *err,
		  size_t errlen)
{
	return dpct_config_parse_full(c, text, len, NULL, NULL, err, errlen);
}

/* json_object_set_new() with ENOMEM folded into one flag. */
static void
cfg_set(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (v == NULL || o == NULL || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

static json_t *
cfg_id_json(const uint32_t *list, unsigned n, bool *ok)
{
	json_t *a = json_array();
	unsigned i;

	for (i = 0; i < n && i < EV_MAX_UIDS; i++)
		if (a == NULL || json_array_append_new(a, json_integer(list[i])) != 0)
			*ok = false;
	return a;
}

char *
dpct_config_to_json(const struct dpct_config *c)
{
	json_t *root = json_object(), *o;
	bool ok = root != NULL;
	char *text = NULL;
	unsigned i;

	o = json_object();
	cfg_set(o, "max_entries", json_integer(c->max_entries), &ok);
	cfg_set(o, "load_factor", json_real(c->load_factor), &ok);
	cfg_set(o, "early_drop", json_boolean(c->early_drop), &ok);
	cfg_set(o, "tcp_loose", json_boolean(c->tcp_loose), &ok);
	cfg_set(o, "zone", json_integer(c->zone), &ok);
	cfg_set(root, "table", o, &ok);

	o = json_object();
	for (i = 0; i < CT_TO_MAX; i++)
		cfg_set(o, ct_timeout_name(i), json_integer(c->timeout_s[i]), &ok);
	cfg_set(root, "timeouts", o, &ok);

	o = json_object();
	cfg_set(o, "policy", json_string(c->invalid_policy == CT_INVALID_PASS ? "pass" : "drop"),
		&ok);
	cfg_set(root, "invalid", o, &ok);

	o = json_object();
	cfg_set(o, "high_pct", json_integer(c->fill_alarm_high_pct), &ok);
	cfg_set(o, "low_pct", json_integer(c->fill_alarm_low_pct), &ok);
	cfg_set(root, "fill_alarm", o, &ok);

	cfg_set(root, "notrack", dpct_config_notrack_json(c), &ok);

	o = json_object();
	cfg_set(o, "enabled", json_boolean(c->events_enabled), &ok);
	cfg_set(o, "reliable", json_boolean(c->events_reliable), &ok);
	cfg_set(o, "destroy_grace_ms", json_integer(c->destroy_grace_ms), &ok);
	cfg_set(o, "ring_size", json_integer(c->event_ring_size), &ok);
	cfg_set(o, "result_ring_size", json_integer(c->result_ring_size), &ok);
	cfg_set(o, "stage_size", json_integer(c->stage_size), &ok);
	cfg_set(o, "socket", json_string(c->socket_path), &ok);
	if (c->socket_group[0] != '\0')
		cfg_set(o, "socket_group", json_string(c->socket_group), &ok);
	else if (c->socket_gid >= 0)
		cfg_set(o, "socket_group", json_integer(c->socket_gid), &ok);
	cfg_set(o, "allowed_uids", cfg_id_json(c->allowed_uids, c->n_allowed_uids, &ok), &ok);
	cfg_set(o, "allowed_gids", cfg_id_json(c->allowed_gids, c->n_allowed_gids, &ok), &ok);
	cfg_set(o, "reliable_uids", cfg_id_json(c->reliable_uids, c->n_reliable_uids, &ok), &ok);
	cfg_set(o, "reliable_stall_ms", json_integer(c->reliable_stall_ms), &ok);
	cfg_set(o, "max_dying_pct", json_integer(c->max_dying_pct), &ok);
	cfg_set(o, "max_listeners", json_integer(c->max_listeners), &ok);
	cfg_set(o, "batch_bytes", json_integer(c->batch_bytes), &ok);
	cfg_set(o, "max_conns_per_uid", json_integer(c->max_conns_per_uid), &ok);
	cfg_set(o, "reserved_slots", json_integer(c->reserved_slots), &ok);
	cfg_set(o, "subscribe_timeout_ms", json_integer(c->subscribe_timeout_ms), &ok);
	cfg_set(root, "events", o, &ok);

	o = json_object();
	cfg_set(o, "count", json_integer(c->workers), &ok);
	cfg_set(o, "burst", json_integer(c->burst), &ok);
	cfg_set(o, "rxd", json_integer(c->rxd), &ok);
	cfg_set(o, "txd", json_integer(c->txd), &ok);
	cfg_set(o, "mbufs", json_integer(c->mbufs), &ok);
	cfg_set(o, "handoff_ring_size", json_integer(c->handoff_ring_size), &ok);
	cfg_set(root, "workers", o, &ok);

	cfg_set(root, "seed", json_integer((json_int_t)c->seed), &ok);
	cfg_set(root, "export", dpct_config_export_json(&c->export), &ok);
	ok = ok && dpct_config_tracker_to_json(root, c);

	if (ok)
		text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
	json_decref(root);
	return text;
}

void
dpct_config_shard(const struct dpct_config *c, unsigned index, unsigned count,
		  struct ct_conf *out)
{
	uint64_t slots, buckets = 1;
	uint32_t share;
	unsigned i;

	ct_conf_init(out);
	if (count == 0)
		count = 1;
	/* Remainder goes to the first shards so the totals add up exactly. */
	share = c->max_entries / count + (index < c->max_entries % count ? 1 : 0);
	if (share == 0)
		share = 1;
	out->max_entries = share;
	/* 8 slots per bucket; the index is sized for load_factor at a full table. */
	slots = (uint64_t)((double)share / c->load_factor) + 1;
	while (buckets * 8 < slots)
		buckets <<= 1;
	out->buckets = (uint32_t)buckets;
	for (i = 0; i < CT_TO_MAX; i++)
		out->timeout_s[i] = c->timeout_s[i];
	out->tcp_loose = c->tcp_loose;
	out->invalid_policy = c->invalid_policy;
	out->early_drop = c->early_drop;
	out->fill_alarm_high_pct = c->fill_alarm_high_pct;
	out->fill_alarm_low_pct = c->fill_alarm_low_pct;
	out->events_enabled = c->events_enabled;
	out->destroy_grace_ms = c->destroy_grace_ms;
	out->ev_stage_size = c->stage_size;
	/* Distinct per shard; 0 stays 0 ("seed from time" in the shard). */
	out->seed = c->seed == 0 ? 0 : c->seed + (uint64_t)index * 0x9e3779b97f4a7c15ull;
	if (c->seed != 0 && out->seed == 0)
		out->seed = 1;
	out->shard_index = (uint16_t)index;
	out->shard_count = (uint16_t)count;
	out->n_notrack = c->n_notrack;
	memcpy(out->notrack, c->notrack, sizeof(out->notrack));
	out->active_timeout_s = dpct_config_export_active_s(&c->export);
	dpct_config_tracker_shard(c, out);
}

void
dpct_config_events(const struct dpct_config *c, struct ev_ctl_conf *out)
{
	unsigned i;

	ev_ctl_conf_init(out);
	snprintf(out->socket_path, sizeof(out->socket_path), "%s", c->socket_path);
	out->socket_gid = c->socket_gid;
	for (i = 0; i < c->n_allowed_uids && i < EV_MAX_UIDS; i++)
		out->allowed_uids[i] = c->allowed_uids[i];
	out->n_allowed_uids = c->n_allowed_uids;
	for (i = 0; i < c->n_allowed_gids && i < EV_MAX_UIDS; i++)
		out->allowed_gids[i] = c->allowed_gids[i];
	out->n_allowed_gids = c->n_allowed_gids;
	for (i = 0; i < c->n_reliable_uids && i < EV_MAX_UIDS; i++)
		out->reliable_uids[i] = c->reliable_uids[i];
	out->n_reliable_uids = c->n_reliable_uids;
	out->reliable_stall_ms = c->reliable_stall_ms;
	out->max_dying_pct = c->max_dying_pct;
	out->max_listeners = c->max_listeners;
	out->reliable = c->events_reliable;
	out->max_batch_bytes = c->batch_bytes;
	out->max_conns_per_uid = c->max_conns_per_uid;
	out->reserved_slots = c->reserved_slots;
	out->subscribe_timeout_ms = c->subscribe_timeout_ms;
}
