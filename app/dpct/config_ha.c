/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "ha" section's callbacks (config_ha.h): addresses, interface,
 * secret, and the checks across its keys.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include "config_keys.h"
#include "config_util.h"
#include "dpct_config.h"

static int
ha_addr(struct cfg_parse *p, json_t *v, const char *path, char *out, size_t cap, bool empty_ok)
{
	const char *s = json_string_value(v);
	struct in6_addr a6;
	struct in_addr a4;

	if (!json_is_string(v))
		return dpct_cfg_fail(p->err, p->errlen, "%s: expected string, got %s", path,
				     dpct_json_type(v));
	if (s[0] == '\0' && empty_ok) {
		out[0] = '\0';
		return 0;
	}
	if (strlen(s) >= cap || (inet_pton(AF_INET, s, &a4) != 1 &&
				 inet_pton(AF_INET6, s, &a6) != 1))
		return dpct_cfg_fail(p->err, p->errlen, "%s: \"%s\" is not an IPv4 or IPv6 address "
				     "(no name resolution)", path, s);
	snprintf(out, cap, "%s", s);
	return 0;
}

int
dpct_cfg_ha_peer(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		 struct dpct_config *c)
{
	(void)k;
	return ha_addr(p, v, path, c->ha.peer, sizeof(c->ha.peer), true);
}

int
dpct_cfg_ha_bind(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		 struct dpct_config *c)
{
	(void)k;
	return ha_addr(p, v, path, c->ha.bind, sizeof(c->ha.bind), true);
}

int
dpct_cfg_ha_interface(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
		      const char *path, struct dpct_config *c)
{
	const char *s = json_string_value(v);

	(void)k;
	if (!json_is_string(v))
		return dpct_cfg_fail(p->err, p->errlen, "%s: expected string, got %s", path,
				     dpct_json_type(v));
	if (strlen(s) >= IF_NAMESIZE || strchr(s, '/') != NULL || strchr(s, ' ') != NULL)
		return dpct_cfg_fail(p->err, p->errlen, "%s: \"%s\" is not an interface name "
				     "(at most %d bytes)", path, s, IF_NAMESIZE - 1);
	snprintf(c->ha.interface, sizeof(c->ha.interface), "%s", s);
	return 0;
}

int
dpct_cfg_ha_secret(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		   struct dpct_config *c)
{
	const char *s = json_string_value(v);
	size_t n;

	(void)k;
	if (!json_is_string(v))
		return dpct_cfg_fail(p->err, p->errlen, "%s: expected string, got %s", path,
				     dpct_json_type(v));
	n = strlen(s);
	if (n < DPCT_HA_SECRET_MIN || n > DPCT_HA_SECRET_MAX)
		return dpct_cfg_fail(p->err, p->errlen, "%s: the secret must be %d to %d bytes, "
				     "got %zu", path, DPCT_HA_SECRET_MIN, DPCT_HA_SECRET_MAX, n);
	snprintf(c->ha.secret, sizeof(c->ha.secret), "%s", s);
	return 0;
}

/* The secret never appears in /dpct/config or --stats-json. */
int
dpct_cfg_ha_secret_emit(const struct cfg_key *k, const struct dpct_config *c, json_t **out)
{
	(void)k;
	*out = c->ha.secret[0] != '\0' ? json_string("(set)") : NULL;
	return 0;
}

bool
dpct_config_ha_on(const struct dpct_ha_conf *h)
{
	return h->enabled && h->peer[0] != '\0';
}

static bool
is_v6(const char *s)
{
	return strchr(s, ':') != NULL;
}

static bool
is_multicast(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1)
		return IN_MULTICAST(ntohl(a4.s_addr));
	return inet_pton(AF_INET6, s, &a6) == 1 && a6.s6_addr[0] == 0xff;
}

/* ha: the checks across keys; sync from anywhere, unauthenticated, is refused. */
int
dpct_cfg_ha_check(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		  struct dpct_config *c)
{
	const struct dpct_ha_conf *h = &c->ha;

	(void)k;
	(void)v;
	if (!dpct_config_ha_on(h))
		return 0;
	if (h->bind[0] != '\0' && is_v6(h->bind) != is_v6(h->peer))
		return dpct_cfg_fail(p->err, p->errlen, "%s.bind: \"%s\" and peer \"%s\" are not "
				     "of the same family", path, h->bind, h->peer);
	if ((h->transport == DPCT_HA_MULTICAST) != is_multicast(h->peer))
		return dpct_cfg_fail(p->err, p->errlen, "%s.peer: \"%s\" %s a multicast address "
				     "but transport is \"%s\"", path, h->peer,
				     is_multicast(h->peer) ? "is" : "is not",
				     h->transport == DPCT_HA_MULTICAST ? "multicast" :
				     h->transport == DPCT_HA_TCP ? "tcp" : "udp");
	if (h->transport == DPCT_HA_MULTICAST && h->interface[0] == '\0')
		return dpct_cfg_fail(p->err, p->errlen, "%s.interface: required with multicast "
				     "(the dedicated link the group is joined on)", path);
	if (h->auth == DPCT_HA_AUTH_HMAC && h->secret[0] == '\0')
		return dpct_cfg_fail(p->err, p->errlen, "%s.secret: required with auth "
				     "\"hmac-sha256\" (or auth \"none\" on a dedicated link)",
				     path);
	if (h->auth == DPCT_HA_AUTH_NONE && h->bind[0] == '\0' && h->interface[0] == '\0')
		return dpct_cfg_fail(p->err, p->errlen, "%s.auth: \"none\" accepts sync from "
				     "anyone: it needs bind (an address of a dedicated link or "
				     "namespace) or interface", path);
	if (!c->events_enabled)
		return dpct_cfg_fail(p->err, p->errlen, "%s: state sync is built from event "
				     "records: it needs events.enabled", path);
	return 0;
}
