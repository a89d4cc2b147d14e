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
 * The section's scalar keys are rows of the schema table (config_keys.c);
 * this file parses and writes back the collectors. A UDP collector's rates
 * are its own or, without them, the section's; a TCP collector is not paced.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config_export.h"
#include "config_keys.h"
#include "config_util.h"
#include "dpct_config.h"

struct exp_ctx {
	char *err;
	size_t errlen;
};

/* The context's error text: dpct_cfg_fail() on x's buffer. */
#define efail(x, ...) dpct_cfg_fail((x)->err, (x)->errlen, __VA_ARGS__)

/* o.key at `path`, when present, within min..max. */
static int
eu64(struct exp_ctx *x, json_t *o, const char *key, const char *path, uint64_t min,
     uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	char p[96];

	if (v == NULL)
		return 0;
	snprintf(p, sizeof(p), "%s.%s", path, key);
	return dpct_cfg_uint(x->err, x->errlen, v, p, min, max, out);
}

static int
eu32(struct exp_ctx *x, json_t *o, const char *key, const char *path, uint32_t min,
     uint32_t max, uint32_t *out)
{
	uint64_t n = *out;
	int rc = eu64(x, o, key, path, min, max, &n);

	*out = (uint32_t)n;
	return rc;
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

static int
parse_collector(struct exp_ctx *x, json_t *o, unsigned idx, const struct dpct_export_conf *e,
		struct ev_ipfix_collector *c)
{
	char p[64], why[160];
	uint32_t port = 4739;
	json_t *v;
	int rc;

	snprintf(p, sizeof(p), "$.export.ipfix.collectors[%u]", idx);
	memset(c, 0, sizeof(*c));
	rc = dpct_cfg_check_keys("export.ipfix.collectors[]", o, p, x->err, x->errlen);
	if (rc != 0)
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
			return efail(x, "%s.transport: expected string, got %s", p,
				     dpct_json_type(v));
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

int
dpct_cfg_collectors_parse(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
			  const char *path, struct dpct_config *cfg)
{
	struct exp_ctx x = {p->err, p->errlen};
	struct dpct_export_conf *e = &cfg->export;
	size_t i, j;
	int rc;

	(void)k;
	/* A section that is given replaces the collector list as a whole. */
	e->n_collectors = 0;
	memset(e->collectors, 0, sizeof(e->collectors));
	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return efail(&x, "%s: expected array, got %s", path, dpct_json_type(v));
	if (json_array_size(v) > EV_IPFIX_MAX_COLLECTORS)
		return efail(&x, "%s: %zu collectors, at most %u are supported", path,
			     json_array_size(v), EV_IPFIX_MAX_COLLECTORS);
	for (i = 0; i < json_array_size(v); i++) {
		rc = parse_collector(&x, json_array_get(v, i), (unsigned)i, e, &e->collectors[i]);
		if (rc != 0)
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp(e->collectors[i].host, e->collectors[j].host) == 0 &&
			    e->collectors[i].port == e->collectors[j].port &&
			    e->collectors[i].transport == e->collectors[j].transport)
				return efail(&x, "%s[%zu]: the same collector as collectors[%zu]",
					     path, i, j);
	}
	e->n_collectors = (unsigned)json_array_size(v);
	return 0;
}

static void
eset(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (v == NULL || o == NULL || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

int
dpct_cfg_collectors_emit(const struct cfg_key *k, const struct dpct_config *cfg, json_t **out)
{
	const struct dpct_export_conf *e = &cfg->export;
	json_t *a = json_array();
	bool ok = a != NULL;
	unsigned i;

	(void)k;
	for (i = 0; ok && i < e->n_collectors && i < EV_IPFIX_MAX_COLLECTORS; i++) {
		const struct ev_ipfix_collector *c = &e->collectors[i];
		json_t *co = json_object();

		eset(co, "host", json_string(c->host), &ok);
		eset(co, "port", json_integer(c->port), &ok);
		eset(co, "transport", json_string(c->transport == EV_IPFIX_TCP ? "tcp" : "udp"),
		     &ok);
		eset(co, "reliable", json_boolean(c->reliable), &ok);
		if (c->transport == EV_IPFIX_UDP) {
			eset(co, "max_rate_pps", json_integer(c->max_rate_pps), &ok);
			eset(co, "max_rate_bps", json_integer((json_int_t)c->max_rate_bps), &ok);
		}
		if (co == NULL || json_array_append_new(a, co) != 0)
			ok = false;
	}
	if (!ok) {
		json_decref(a);
		a = NULL;
	}
	*out = a;
	return a != NULL ? 0 : -ENOMEM;
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
