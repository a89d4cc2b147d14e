/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * "$.export": IPFIX flow export (docs/configuration.md, "export").
 *
 *   "export": {"ipfix": {
 *       "enabled": true, "observation_domain_id": 1, "active_timeout_s": 60,
 *       "template_refresh_s": 60, "mtu": 1400, "tcp_message_bytes": 16384,
 *       "buffer_bytes": 4194304, "sndbuf": 0, "flush_ms": 100,
 *       "reconnect_min_ms": 100, "reconnect_max_ms": 10000,
 *       "max_rate_pps": 2000, "max_rate_bps": 0,
 *       "collectors": [{"host": "192.0.2.10", "port": 4739,
 *                       "transport": "udp" | "tcp", "reliable": true,
 *                       "max_rate_pps": ..., "max_rate_bps": ...}]}}
 *
 * A UDP collector's rates are its own or, without them, the section's; a
 * TCP collector is not paced.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config_util.h"
#include "config_export.h"

#define EXP_TIMEOUT_MAX_S 4294967u
#define EXP_REFRESH_MAX_S 86400u
#define EXP_FLUSH_MAX_MS  60000u
#define EXP_BACKOFF_MAX_MS 3600000u
#define EXP_SNDBUF_MAX    (1u << 30)

struct exp_ctx {
	char *err;
	size_t errlen;
};

/* The context's error text: dpct_cfg_fail() on x's buffer. */
#define efail(x, ...) dpct_cfg_fail((x)->err, (x)->errlen, __VA_ARGS__)

static int
ekeys(struct exp_ctx *x, json_t *o, const char *path, const char *const *keys)
{
	const char *key;
	json_t *v;
	unsigned i;

	if (!json_is_object(o))
		return efail(x, "%s: expected object, got %s", path, dpct_json_type(o));
	json_object_foreach(o, key, v) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(keys[i], key) == 0)
				break;
		if (keys[i] == NULL)
			return efail(x, "unknown key at %s.%s", path, key);
	}
	return 0;
}

static int
eu32(struct exp_ctx *x, json_t *o, const char *key, const char *path, uint32_t min,
     uint32_t max, uint32_t *out)
{
	json_t *v = json_object_get(o, key);
	json_int_t n;

	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return efail(x, "%s.%s: expected integer, got %s", path, key, dpct_json_type(v));
	n = json_integer_value(v);
	if (n < (json_int_t)min || n > (json_int_t)max)
		return efail(x, "%s.%s: %" JSON_INTEGER_FORMAT " is out of range %u..%u", path,
			     key, n, min, max);
	*out = (uint32_t)n;
	return 0;
}

static int
eu64(struct exp_ctx *x, json_t *o, const char *key, const char *path, uint64_t min,
     uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	json_int_t n;

	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return efail(x, "%s.%s: expected integer, got %s", path, key, dpct_json_type(v));
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return efail(x, "%s.%s: %" JSON_INTEGER_FORMAT " is out of range %" PRIu64
			     "..%" PRIu64, path, key, n, min, max);
	*out = (uint64_t)n;
	return 0;
}

/* "max_rate_pps" and "max_rate_bps" of `o` (at `path`) into *pps and *bps. */
static int
erates(struct exp_ctx *x, json_t *o, const char *path, uint32_t *pps, uint64_t *bps)
{
	int rc;

	if ((rc = eu32(x, o, "max_rate_pps", path, 0, EV_IPFIX_RATE_PPS_MAX, pps)) != 0 ||
	    (rc = eu64(x, o, "max_rate_bps", path, 0, EV_IPFIX_RATE_BPS_MAX, bps)) != 0)
		return rc;
	if (*bps != 0 && *bps < EV_IPFIX_RATE_BPS_MIN)
		return efail(x, "%s.max_rate_bps: %" PRIu64 " is below %" PRIu64 " (0 is no "
			     "limit)", path, *bps, EV_IPFIX_RATE_BPS_MIN);
	return 0;
}

static int
ebool(struct exp_ctx *x, json_t *o, const char *key, const char *path, bool *out)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return efail(x, "%s.%s: expected boolean, got %s", path, key, dpct_json_type(v));
	*out = json_is_true(v);
	return 0;
}

void
dpct_config_export_defaults(struct dpct_export_conf *e)
{
	memset(e, 0, sizeof(*e));
	e->ipfix_enabled = true;
	ev_ipfix_conf_init(&e->ipfix);
	e->max_rate_pps = EV_IPFIX_RATE_PPS_DEFAULT;
	e->max_rate_bps = 0;
}

static int
parse_collector(struct exp_ctx *x, json_t *o, unsigned idx, const struct dpct_export_conf *e,
		struct ev_ipfix_collector *c)
{
	static const char *const keys[] = {"host", "port", "transport", "reliable",
					   "max_rate_pps", "max_rate_bps", NULL};
	char p[64], why[160];
	uint32_t port = 4739;
	json_t *v;
	int rc;

	snprintf(p, sizeof(p), "$.export.ipfix.collectors[%u]", idx);
	memset(c, 0, sizeof(*c));
	if ((rc = ekeys(x, o, p, keys)) != 0)
		return rc;
	v = json_object_get(o, "host");
	if (v == NULL)
		return efail(x, "%s: a collector needs \"host\"", p);
	if (!json_is_string(v))
		return efail(x, "%s.host: expected string, got %s", p, dpct_json_type(v));
	if (strlen(json_string_value(v)) >= sizeof(c->host))
		return efail(x, "%s.host: \"%.40s...\" is not an IPv4 or IPv6 address", p,
			     json_string_value(v));
	strcpy(c->host, json_string_value(v));
	if ((rc = eu32(x, o, "port", p, 1, 65535, &port)) != 0)
		return rc;
	c->port = (uint16_t)port;
	c->transport = EV_IPFIX_UDP;
	v = json_object_get(o, "transport");
	if (v != NULL) {
		const char *s;

		if (!json_is_string(v))
			return efail(x, "%s.transport: expected string, got %s", p, dpct_json_type(v));
		s = json_string_value(v);
		if (strcmp(s, "udp") == 0)
			c->transport = EV_IPFIX_UDP;
		else if (strcmp(s, "tcp") == 0)
			c->transport = EV_IPFIX_TCP;
		else
			return efail(x, "%s.transport: \"%s\" is not one of \"udp\", \"tcp\"", p,
				     s);
	}
	c->reliable = c->transport == EV_IPFIX_TCP;
	if (json_object_get(o, "reliable") != NULL) {
		if ((rc = ebool(x, o, "reliable", p, &c->reliable)) != 0)
			return rc;
		if (c->reliable && c->transport != EV_IPFIX_TCP)
			return efail(x, "%s.reliable: only a tcp collector can be reliable", p);
	}
	c->max_rate_pps = e->max_rate_pps;
	c->max_rate_bps = e->max_rate_bps;
	if ((rc = erates(x, o, p, &c->max_rate_pps, &c->max_rate_bps)) != 0)
		return rc;
	if (c->transport == EV_IPFIX_TCP) {
		if (c->max_rate_pps != 0 && json_object_get(o, "max_rate_pps") != NULL)
			return efail(x, "%s.max_rate_pps: a tcp collector is not paced (TCP's "
				     "receive window is its flow control)", p);
		if (c->max_rate_bps != 0 && json_object_get(o, "max_rate_bps") != NULL)
			return efail(x, "%s.max_rate_bps: a tcp collector is not paced (TCP's "
				     "receive window is its flow control)", p);
		c->max_rate_pps = 0;
		c->max_rate_bps = 0;
	}
	if (ev_ipfix_collector_check(c, why, sizeof(why)) < 0)
		return efail(x, "%s.host: %s", p, why);
	return 0;
}

static int
parse_ipfix(struct exp_ctx *x, json_t *o, struct dpct_export_conf *e)
{
	static const char *const keys[] = {"enabled", "observation_domain_id", "active_timeout_s",
					   "template_refresh_s", "mtu", "tcp_message_bytes",
					   "buffer_bytes", "sndbuf", "flush_ms",
					   "reconnect_min_ms", "reconnect_max_ms", "max_rate_pps",
					   "max_rate_bps", "collectors", NULL};
	const char *p = "$.export.ipfix";
	struct ev_ipfix_conf *c = &e->ipfix;
	json_t *v;
	size_t i, j;
	int rc;

	if ((rc = ekeys(x, o, p, keys)) != 0)
		return rc;
	if ((rc = ebool(x, o, "enabled", p, &e->ipfix_enabled)) != 0 ||
	    (rc = eu32(x, o, "observation_domain_id", p, 0, UINT32_MAX, &c->domain)) != 0 ||
	    (rc = eu32(x, o, "active_timeout_s", p, 0, EXP_TIMEOUT_MAX_S,
		       &c->active_timeout_s)) != 0 ||
	    (rc = eu32(x, o, "template_refresh_s", p, 1, EXP_REFRESH_MAX_S,
		       &c->template_refresh_s)) != 0 ||
	    (rc = eu32(x, o, "mtu", p, 512, 65000, &c->mtu)) != 0 ||
	    (rc = eu32(x, o, "tcp_message_bytes", p, 512, 65535, &c->tcp_message_bytes)) != 0 ||
	    (rc = eu32(x, o, "buffer_bytes", p, 65536, 1u << 30, &c->buffer_bytes)) != 0 ||
	    (rc = eu32(x, o, "sndbuf", p, 0, EXP_SNDBUF_MAX, &c->sndbuf)) != 0 ||
	    (rc = eu32(x, o, "flush_ms", p, 0, EXP_FLUSH_MAX_MS, &c->flush_ms)) != 0 ||
	    (rc = eu32(x, o, "reconnect_min_ms", p, 1, EXP_BACKOFF_MAX_MS,
		       &c->reconnect_min_ms)) != 0 ||
	    (rc = eu32(x, o, "reconnect_max_ms", p, 1, EXP_BACKOFF_MAX_MS,
		       &c->reconnect_max_ms)) != 0 ||
	    (rc = erates(x, o, p, &e->max_rate_pps, &e->max_rate_bps)) != 0)
		return rc;
	if (c->reconnect_max_ms < c->reconnect_min_ms)
		return efail(x, "%s.reconnect_max_ms: %u must not be below reconnect_min_ms %u", p,
			     c->reconnect_max_ms, c->reconnect_min_ms);
	if (c->buffer_bytes < 2 * c->tcp_message_bytes)
		return efail(x, "%s.buffer_bytes: %u must hold two tcp messages (%u bytes)", p,
			     c->buffer_bytes, 2 * c->tcp_message_bytes);
	v = json_object_get(o, "collectors");
	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return efail(x, "%s.collectors: expected array, got %s", p, dpct_json_type(v));
	if (json_array_size(v) > EV_IPFIX_MAX_COLLECTORS)
		return efail(x, "%s.collectors: %zu collectors, at most %u are supported", p,
			     json_array_size(v), EV_IPFIX_MAX_COLLECTORS);
	for (i = 0; i < json_array_size(v); i++) {
		rc = parse_collector(x, json_array_get(v, i), (unsigned)i, e, &e->collectors[i]);
		if (rc != 0)
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp(e->collectors[i].host, e->collectors[j].host) == 0 &&
			    e->collectors[i].port == e->collectors[j].port &&
			    e->collectors[i].transport == e->collectors[j].transport)
				return efail(x, "%s.collectors[%zu]: the same collector as "
					     "collectors[%zu]", p, i, j);
	}
	e->n_collectors = (unsigned)json_array_size(v);
	return 0;
}

int
dpct_config_export_parse(struct dpct_export_conf *e, json_t *v, bool events_enabled,
			 char *err, size_t errlen)
{
	static const char *const keys[] = {"ipfix", NULL};
	struct exp_ctx x = {err, errlen};
	struct dpct_export_conf n = *e;
	json_t *o;
	int rc;

	if ((rc = ekeys(&x, v, "$.export", keys)) != 0)
		return rc;
	o = json_object_get(v, "ipfix");
	if (o != NULL) {
		/* A section that is given replaces the collector list as a whole. */
		n.n_collectors = 0;
		memset(n.collectors, 0, sizeof(n.collectors));
		if ((rc = parse_ipfix(&x, o, &n)) != 0)
			return rc;
	}
	if (dpct_config_export_on(&n) && !events_enabled)
		return efail(&x, "$.export.ipfix: flow export needs events.enabled");
	*e = n;
	return 0;
}

static void
eset(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (v == NULL || o == NULL || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

json_t *
dpct_config_export_json(const struct dpct_export_conf *e)
{
	json_t *root = json_object(), *o = json_object(), *a = json_array();
	const struct ev_ipfix_conf *c = &e->ipfix;
	bool ok = root != NULL && o != NULL && a != NULL;
	unsigned i;

	eset(o, "enabled", json_boolean(e->ipfix_enabled), &ok);
	eset(o, "observation_domain_id", json_integer(c->domain), &ok);
	eset(o, "active_timeout_s", json_integer(c->active_timeout_s), &ok);
	eset(o, "template_refresh_s", json_integer(c->template_refresh_s), &ok);
	eset(o, "mtu", json_integer(c->mtu), &ok);
	eset(o, "tcp_message_bytes", json_integer(c->tcp_message_bytes), &ok);
	eset(o, "buffer_bytes", json_integer(c->buffer_bytes), &ok);
	eset(o, "sndbuf", json_integer(c->sndbuf), &ok);
	eset(o, "flush_ms", json_integer(c->flush_ms), &ok);
	eset(o, "reconnect_min_ms", json_integer(c->reconnect_min_ms), &ok);
	eset(o, "reconnect_max_ms", json_integer(c->reconnect_max_ms), &ok);
	eset(o, "max_rate_pps", json_integer(e->max_rate_pps), &ok);
	eset(o, "max_rate_bps", json_integer((json_int_t)e->max_rate_bps), &ok);
	for (i = 0; i < e->n_collectors && i < EV_IPFIX_MAX_COLLECTORS; i++) {
		const struct ev_ipfix_collector *k = &e->collectors[i];
		json_t *co = json_object();

		eset(co, "host", json_string(k->host), &ok);
		eset(co, "port", json_integer(k->port), &ok);
		eset(co, "transport", json_string(k->transport == EV_IPFIX_TCP ? "tcp" : "udp"),
		     &ok);
		eset(co, "reliable", json_boolean(k->reliable), &ok);
		if (k->transport == EV_IPFIX_UDP) {
			eset(co, "max_rate_pps", json_integer(k->max_rate_pps), &ok);
			eset(co, "max_rate_bps", json_integer((json_int_t)k->max_rate_bps), &ok);
		}
		if (co == NULL || a == NULL || json_array_append_new(a, co) != 0)
			ok = false;
	}
	if (a != NULL && json_object_set_new(o, "collectors", a) != 0)
		ok = false;
	if (o != NULL && root != NULL && json_object_set_new(root, "ipfix", o) != 0)
		ok = false;
	if (!ok) {
		json_decref(root);
		return NULL;
	}
	return root;
}

bool
dpct_config_export_on(const struct dpct_export_conf *e)
{
	return e->ipfix_enabled && e->n_collectors > 0;
}

unsigned
dpct_config_export_active_s(const struct dpct_export_conf *e)
{
	return dpct_config_export_on(e) ? e->ipfix.active_timeout_s : 0;
}
