/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The schema's callbacks for keys no plain type covers: the events socket
 * and its group, reserved_slots (which follows max_listeners), "0 or a
 * range" counts, the checksum mode's message, the policy section, and the
 * checks that involve more than one key.
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* getgrnam_r() where the build undefines _GNU_SOURCE */
#endif
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config_keys.h"
#include "config_policy.h"
#include "config_util.h"
#include "dpct_config.h"

/* A key that no longer exists and what replaced it. */
int
dpct_cfg_removed(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		 struct dpct_config *c)
{
	(void)k;
	(void)v;
	(void)c;
	return dpct_cfg_fail(p->err, p->errlen, "%s: removed: events are served on the "
			     "AF_UNIX socket $.events.socket (default %s) instead of "
			     "NETLINK_USERSOCK", path, EV_DEFAULT_SOCKET);
}

/* events.socket: an absolute file path that fits sun_path. */
int
dpct_cfg_socket(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		struct dpct_config *c)
{
	const char *sp = json_string_value(v);

	(void)k;
	if (!json_is_string(v))
		return dpct_cfg_fail(p->err, p->errlen, "%s: expected string, got %s", path,
				     dpct_json_type(v));
	if (sp[0] != '/' || strlen(sp) >= sizeof(c->socket_path) || sp[strlen(sp) - 1] == '/')
		return dpct_cfg_fail(p->err, p->errlen, "%s: \"%s\" is not an absolute file path "
				     "of at most %zu bytes", path, sp, sizeof(c->socket_path) - 1);
	snprintf(c->socket_path, sizeof(c->socket_path), "%s", sp);
	return 0;
}

/* events.socket_group: a group name (looked up now) or a gid. */
int
dpct_cfg_socket_group(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
		      const char *path, struct dpct_config *c)
{
	uint64_t gid = 0;
	int rc;

	(void)k;
	if (json_is_string(v)) {
		char buf[4096];
		struct group gr, *res = NULL;
		const char *name = json_string_value(v);

		if (strlen(name) == 0 || strlen(name) >= sizeof(c->socket_group))
			return dpct_cfg_fail(p->err, p->errlen, "%s: bad group name \"%s\"", path,
					     name);
		if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || res == NULL)
			return dpct_cfg_fail(p->err, p->errlen, "%s: no group named \"%s\"", path,
					     name);
		snprintf(c->socket_group, sizeof(c->socket_group), "%s", name);
		c->socket_gid = (int64_t)gr.gr_gid;
		return 0;
	}
	rc = dpct_cfg_uint(p->err, p->errlen, v, path, 0, UINT32_MAX - 1, &gid);
	if (rc != 0)
		return rc;
	c->socket_group[0] = '\0';
	c->socket_gid = (int64_t)gid;
	return 0;
}

/* The name when one was given, else the gid, else nothing. */
int
dpct_cfg_socket_group_emit(const struct cfg_key *k, const struct dpct_config *c, json_t **out)
{
	(void)k;
	*out = NULL;
	if (c->socket_group[0] != '\0')
		*out = json_string(c->socket_group);
	else if (c->socket_gid >= 0)
		*out = json_integer(c->socket_gid);
	else
		return 0;
	return *out != NULL ? 0 : -ENOMEM;
}

void
dpct_cfg_socket_group_init(const struct cfg_key *k, struct dpct_config *c)
{
	(void)k;
	c->socket_group[0] = '\0';
	c->socket_gid = -1;
}

/* events.reserved_slots: absent, half of max_listeners; at most max_listeners. */
int
dpct_cfg_reserved_slots(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
			const char *path, struct dpct_config *c)
{
	uint64_t n;
	int rc;

	if (v == NULL) {
		c->reserved_slots = c->max_listeners / 2;
		return 0;
	}
	rc = dpct_cfg_uint(p->err, p->errlen, v, path, k->min, c->max_listeners, &n);
	if (rc == 0)
		c->reserved_slots = (unsigned)n;
	return rc;
}

/* workers.mbufs: 0 keeps "derive from queues and descriptors". */
int
dpct_cfg_mbufs(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
	       struct dpct_config *c)
{
	uint64_t n;
	int rc;

	rc = dpct_cfg_uint(p->err, p->errlen, v, path, 0, k->max, &n);
	if (rc != 0)
		return rc;
	if (n != 0 && n < k->min)
		return dpct_cfg_fail(p->err, p->errlen, "%s: %" PRIu64 " is out of range %" PRIu64
				     "..%" PRIu64 " (or 0 to derive)", path, n, k->min, k->max);
	c->mbufs = (unsigned)n;
	return 0;
}

/* export.ipfix.max_rate_bps: 0 is no limit. */
int
dpct_cfg_rate_bps(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		  struct dpct_config *c)
{
	uint64_t n;
	int rc;

	rc = dpct_cfg_uint(p->err, p->errlen, v, path, 0, k->max, &n);
	if (rc != 0)
		return rc;
	if (n != 0 && n < k->min)
		return dpct_cfg_fail(p->err, p->errlen, "%s: %" PRIu64 " is below %" PRIu64
				     " (0 is no limit)", path, n, k->min);
	c->export.max_rate_bps = n;
	return 0;
}

/* checksum: the two modes, in the words of its message. */
int
dpct_cfg_checksum(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		  struct dpct_config *c)
{
	const char *s = json_string_value(v);

	(void)k;
	if (!json_is_string(v))
		return dpct_cfg_fail(p->err, p->errlen, "%s: expected string, got %s", path,
				     dpct_json_type(v));
	if (strcmp(s, "verify") == 0)
		c->tracker.checksum = DPCT_CSUM_VERIFY;
	else if (strcmp(s, "off") == 0)
		c->tracker.checksum = DPCT_CSUM_OFF;
	else
		return dpct_cfg_fail(p->err, p->errlen, "%s: \"%s\" is neither \"verify\" nor "
				     "\"off\"", path, s);
	return 0;
}

/* policy: the rules into p->rules from this same parse (validated only when NULL). */
int
dpct_cfg_policy_parse(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
		      const char *path, struct dpct_config *c)
{
	(void)k;
	(void)path;
	(void)c;
	p->has_policy = true;
	return dpct_policy_parse(v, p->rules, p->err, p->errlen);
}

/* export.ipfix: limits between its keys. */
int
dpct_cfg_export_check(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
		      const char *path, struct dpct_config *c)
{
	const struct ev_ipfix_conf *x = &c->export.ipfix;

	(void)k;
	(void)v;
	if (x->reconnect_max_ms < x->reconnect_min_ms)
		return dpct_cfg_fail(p->err, p->errlen, "%s.reconnect_max_ms: %u must not be "
				     "below reconnect_min_ms %u", path, x->reconnect_max_ms,
				     x->reconnect_min_ms);
	if (x->buffer_bytes < 2 * x->tcp_message_bytes)
		return dpct_cfg_fail(p->err, p->errlen, "%s.buffer_bytes: %u must hold two tcp "
				     "messages (%u bytes)", path, x->buffer_bytes,
				     2 * x->tcp_message_bytes);
	return 0;
}

/* export: flow export is built from event records. */
int
dpct_cfg_export_events(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
		       const char *path, struct dpct_config *c)
{
	(void)k;
	(void)v;
	if (dpct_config_export_on(&c->export) && !c->events_enabled)
		return dpct_cfg_fail(p->err, p->errlen, "%s.ipfix: flow export needs "
				     "events.enabled", path);
	return 0;
}

/* Limits that involve more than one section. */
int
dpct_cfg_consistency(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
		     const char *path, struct dpct_config *c)
{
	(void)k;
	(void)v;
	(void)path;
	if (c->fill_alarm_high_pct != 0 && c->fill_alarm_low_pct >= c->fill_alarm_high_pct)
		return dpct_cfg_fail(p->err, p->errlen, "$.fill_alarm.low_pct: %u must be below "
				     "high_pct %u", c->fill_alarm_low_pct, c->fill_alarm_high_pct);
	if (c->workers != 0 && c->max_entries < c->workers)
		return dpct_cfg_fail(p->err, p->errlen, "$.table.max_entries: %u is fewer than the "
				     "%u workers", c->max_entries, c->workers);
	return 0;
}
