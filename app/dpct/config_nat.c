/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "nat" section of the JSON configuration: {"pools": [...], "rules":
 * [...]} into lib/nat's pools and rules, every fault with its JSON path;
 * the section back as JSON for /dpct/config; the table built from it.
 * The keys of the three objects are rows of the schema table
 * (config_keys.c), which also documents them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config_keys.h"
#include "config_nat.h"
#include "config_schema.h"
#include "config_util.h"
#include "dpct_config.h"

#define NAT_PATH_LEN 32       /* "$.nat.rules[1023]" */
#define NAT_KEY_PATH_LEN 64   /* ... ".blocks_per_address" */

/* Where the error text goes. */
struct nx {
	char *err;
	size_t errlen;
};

#define nx_fail(x, ...) dpct_cfg_fail((x)->err, (x)->errlen, __VA_ARGS__)

static const struct {
	const char *name;
	uint8_t proto;
} nat_protos[] = {
	{"icmp", 1}, {"tcp", 6}, {"udp", 17}, {"udplite", 136},
};

static const char *const nat_actions[] = {NULL, "snat", "dnat", "exclude"};
static const char *const nat_modes[] = {"napt", "block"};

static bool
nat_port_proto(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 136;
}

/* A string member, or NULL when absent; an error when of another type. */
static int
nx_string(struct nx *x, json_t *o, const char *key, const char *path, const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return nx_fail(x, "%s.%s: expected string, got %s", path, key, dpct_json_type(v));
	*out = json_string_value(v);
	return 0;
}

/* A name: 1..31 of [A-Za-z0-9_.-]. */
static int
nx_name(struct nx *x, const char *path, const char *s, char *out)
{
	size_t i, n = strlen(s);

	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			break;
	}
	if (n == 0 || n >= NAT_NAME_MAX || i != n)
		return nx_fail(x, "%s.name: \"%.64s\" is not a name (1..%u of A-Z a-z 0-9 _ . -)",
			       path, s, NAT_NAME_MAX - 1);
	memcpy(out, s, n + 1);
	return 0;
}

/* One dotted-quad IPv4 address into host order. */
static bool
nat_addr(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	*out = ntohl(a.s_addr);
	return true;
}

/* "a.b.c.d" or "a.b.c.d/len", host bits zero, into host order. */
static int
nx_prefix(struct nx *x, const char *path, const char *s, uint32_t *addr, uint8_t *plen)
{
	char buf[INET_ADDRSTRLEN + 4], *slash, *end;
	unsigned long len = 32;
	uint32_t mask;

	if (strlen(s) >= sizeof(buf))
		return nx_fail(x, "%s: \"%.64s\" is not an IPv4 prefix", path, s);
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (!nat_addr(buf, addr))
		return nx_fail(x, "%s: \"%s\" is not an IPv4 prefix%s", path, s,
			       strchr(s, ':') != NULL ? " (NAT is IPv4 only)" : "");
	if (slash != NULL) {
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || errno != 0 || len > 32)
			return nx_fail(x, "%s: \"%s\" has a prefix length outside 0..32", path, s);
	}
	mask = len == 0 ? 0 : UINT32_MAX << (32 - len);
	if ((*addr & ~mask) != 0)
		return nx_fail(x, "%s: \"%s\" has host bits set beyond /%lu", path, s, len);
	*plen = (uint8_t)len;
	return 0;
}

/* A port range: an integer in min..65535 or "lo-hi" with min <= lo <= hi. */
static int
nx_ports(struct nx *x, json_t *v, const char *path, unsigned min, uint16_t *lo, uint16_t *hi)
{
	unsigned long a, b;
	const char *s;
	char *end;
	uint64_t n;
	int rc;

	if (json_is_integer(v)) {
		rc = dpct_cfg_uint(x->err, x->errlen, v, path, min, UINT16_MAX, &n);
		if (rc == 0)
			*lo = *hi = (uint16_t)n;
		return rc;
	}
	if (!json_is_string(v))
		return nx_fail(x, "%s: expected integer or string \"lo-hi\", got %s", path,
			       dpct_json_type(v));
	s = json_string_value(v);
	errno = 0;
	a = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '-' || end[1] < '0' || end[1] > '9' ||
	    errno != 0)
		return nx_fail(x, "%s: \"%.32s\" is not a port range \"lo-hi\"", path, s);
	b = strtoul(end + 1, &end, 10);
	if (*end != '\0' || errno != 0)
		return nx_fail(x, "%s: \"%.32s\" is not a port range \"lo-hi\"", path, s);
	if (a < min || a > b || b > UINT16_MAX)
		return nx_fail(x, "%s: \"%s\" needs %u <= lo <= hi <= 65535", path, s, min);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

/* An optional integer member in min..max. */
static int
nx_uint(struct nx *x, json_t *o, const char *key, const char *path, uint64_t min,
	uint64_t max, bool *present, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	char p[NAT_KEY_PATH_LEN];

	*present = v != NULL;
	if (v == NULL)
		return 0;
	snprintf(p, sizeof(p), "%s.%s", path, key);
	return dpct_cfg_uint(x->err, x->errlen, v, p, min, max, out);
}

/* addresses: "a.b.c.d", "a.b.c.d/len" or "a.b.c.d-e.f.g.h". */
static int
nx_pool_addrs(struct nx *x, const char *path, const char *s, struct nat_pool *pl)
{
	char buf[2 * INET_ADDRSTRLEN + 2], *dash;
	uint64_t count;
	uint8_t len;
	int rc;

	if (strlen(s) >= sizeof(buf))
		return nx_fail(x, "%s: \"%.64s\" is not an IPv4 address, prefix or range",
			       path, s);
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash != NULL) {
		*dash = '\0';
		if (!nat_addr(buf, &pl->addr_lo) || !nat_addr(dash + 1, &pl->addr_hi))
			return nx_fail(x, "%s: \"%s\" is not an IPv4 address, prefix or range",
				       path, s);
		if (pl->addr_lo > pl->addr_hi)
			return nx_fail(x, "%s: \"%s\" is an empty range (first above last)",
				       path, s);
	} else {
		dash = strchr(buf, '/');
		if (dash != NULL)
			*dash = '\0';
		if (!nat_addr(buf, &pl->addr_lo))
			return nx_fail(x, "%s: \"%s\" is not an IPv4 address, prefix or range",
				       path, s);
		rc = nx_prefix(x, path, s, &pl->addr_lo, &len);
		if (rc != 0)
			return rc;
		pl->addr_hi = pl->addr_lo | (len == 0 ? UINT32_MAX : ~(UINT32_MAX << (32 - len)));
	}
	count = (uint64_t)pl->addr_hi - pl->addr_lo + 1;
	if (count > NAT_MAX_POOL_ADDRS)
		return nx_fail(x, "%s: \"%s\" has %" PRIu64 " addresses, at most %u are supported",
			       path, s, count, NAT_MAX_POOL_ADDRS);
	return 0;
}

static int
nx_pool(struct nx *x, json_t *o, unsigned idx, struct dpct_nat_conf *n)
{
	struct nat_pool *pl = &n->pools[idx];
	char p[NAT_PATH_LEN], q[NAT_KEY_PATH_LEN];
	const char *s;
	uint64_t v;
	bool has;
	unsigned i;
	int rc;

	snprintf(p, sizeof(p), "$.nat.pools[%u]", idx);
	memset(pl, 0, sizeof(*pl));
	if ((rc = dpct_cfg_check_keys("nat.pools[]", o, p, x->err, x->errlen)) != 0)
		return rc;
	if ((rc = nx_string(x, o, "name", p, &s)) != 0)
		return rc;
	if (s == NULL)
		return nx_fail(x, "%s: missing \"name\"", p);
	if ((rc = nx_name(x, p, s, pl->name)) != 0)
		return rc;
	for (i = 0; i < idx; i++)
		if (strcmp(n->pools[i].name, pl->name) == 0)
			return nx_fail(x, "%s.name: \"%s\" is already the name of pools[%u]", p,
				       s, i);
	if ((rc = nx_string(x, o, "addresses", p, &s)) != 0)
		return rc;
	if (s == NULL)
		return nx_fail(x, "%s: missing \"addresses\"", p);
	snprintf(q, sizeof(q), "%s.addresses", p);
	if ((rc = nx_pool_addrs(x, q, s, pl)) != 0)
		return rc;
	pl->port_lo = 1024;
	pl->port_hi = 65535;
	if (json_object_get(o, "ports") != NULL) {
		snprintf(q, sizeof(q), "%s.ports", p);
		rc = nx_ports(x, json_object_get(o, "ports"), q, 1, &pl->port_lo, &pl->port_hi);
		if (rc != 0)
			return rc;
	}
	if ((rc = nx_string(x, o, "mode", p, &s)) != 0)
		return rc;
	if (s != NULL && strcmp(s, "block") == 0)
		pl->mode = NAT_MODE_BLOCK;
	else if (s != NULL && strcmp(s, "napt") != 0)
		return nx_fail(x, "%s.mode: \"%s\" is not one of \"napt\", \"block\"", p, s);
	if ((rc = nx_uint(x, o, "block_size", p, 1, 32768, &has, &v)) != 0)
		return rc;
	if (has && pl->mode != NAT_MODE_BLOCK)
		return nx_fail(x, "%s.block_size: only a pool of mode \"block\" has blocks", p);
	if (pl->mode == NAT_MODE_BLOCK)
		pl->block_size = has ? (uint16_t)v : 512;
	if ((rc = nx_uint(x, o, "blocks_per_address", p, 1, 16, &has, &v)) != 0)
		return rc;
	if (has && pl->mode != NAT_MODE_BLOCK)
		return nx_fail(x, "%s.blocks_per_address: only a pool of mode \"block\" has blocks",
			       p);
	if (pl->mode == NAT_MODE_BLOCK) {
		pl->blocks_per_addr_max = has ? (uint8_t)v : 1;
		if (pl->block_size > (unsigned)pl->port_hi - pl->port_lo + 1)
			return nx_fail(x, "%s.block_size: %u is more than the %u ports of %u-%u",
				       p, pl->block_size, pl->port_hi - pl->port_lo + 1,
				       pl->port_lo, pl->port_hi);
	}
	return 0;
}

static int
nx_proto(struct nx *x, json_t *v, const char *path, uint8_t *out)
{
	uint64_t n;
	unsigned i;
	int rc;

	if (json_is_string(v)) {
		for (i = 0; i < sizeof(nat_protos) / sizeof(nat_protos[0]); i++)
			if (strcmp(nat_protos[i].name, json_string_value(v)) == 0) {
				*out = nat_protos[i].proto;
				return 0;
			}
		return nx_fail(x, "%s: unknown protocol \"%.32s\" (tcp, udp, udplite, icmp or "
			       "a number)", path, json_string_value(v));
	}
	if (!json_is_integer(v))
		return nx_fail(x, "%s: expected string or integer, got %s", path,
			       dpct_json_type(v));
	rc = dpct_cfg_uint(x->err, x->errlen, v, path, 1, 255, &n);
	if (rc == 0)
		*out = (uint8_t)n;
	return rc;
}

/* The members that only some actions take. */
static int
nx_rule_action_keys(struct nx *x, json_t *o, const char *p, uint8_t kind)
{
	static const struct {
		const char *key;
		uint8_t kind;
	} only[] = {{"pool", NAT_SNAT}, {"to", NAT_DNAT}, {"to_port", NAT_DNAT}};
	unsigned i;

	for (i = 0; i < sizeof(only) / sizeof(only[0]); i++)
		if (json_object_get(o, only[i].key) != NULL && kind != only[i].kind)
			return nx_fail(x, "%s.%s: only a %s rule takes \"%s\"", p, only[i].key,
				       nat_actions[only[i].kind], only[i].key);
	return 0;
}

/* snat: "pool" names a pool. */
static int
nx_rule_pool(struct nx *x, json_t *o, const char *p, const struct dpct_nat_conf *n,
	     struct nat_rule *r)
{
	const char *s;
	unsigned i;
	int rc;

	if ((rc = nx_string(x, o, "pool", p, &s)) != 0)
		return rc;
	if (s == NULL)
		return nx_fail(x, "%s: a snat rule needs \"pool\"", p);
	for (i = 0; i < n->n_pools; i++)
		if (strcmp(n->pools[i].name, s) == 0)
			break;
	if (i == n->n_pools)
		return nx_fail(x, "%s.pool: no pool named \"%.32s\"", p, s);
	r->pool = (uint16_t)i;
	return 0;
}

/* dnat: one public address, a port protocol, "to" and "to_port". */
static int
nx_rule_dnat(struct nx *x, json_t *o, const char *p, bool has_proto, struct nat_rule *r)
{
	char q[NAT_KEY_PATH_LEN];
	const char *s;
	uint64_t v;
	bool has;
	int rc;

	if (!has_proto)
		return nx_fail(x, "%s: a dnat rule needs \"proto\" tcp, udp or udplite", p);
	if (!nat_port_proto(r->proto))
		return nx_fail(x, "%s.proto: a dnat rule needs tcp, udp or udplite", p);
	if (json_object_get(o, "dst") == NULL)
		return nx_fail(x, "%s: a dnat rule needs \"dst\" (the public address)", p);
	if (r->dst_len != 32)
		return nx_fail(x, "%s.dst: a dnat rule needs one public address (/32)", p);
	if ((rc = nx_string(x, o, "to", p, &s)) != 0)
		return rc;
	if (s == NULL)
		return nx_fail(x, "%s: a dnat rule needs \"to\" (the inside address)", p);
	if (!nat_addr(s, &r->to_addr))
		return nx_fail(x, "%s.to: \"%.64s\" is not an IPv4 address", p, s);
	if ((rc = nx_uint(x, o, "to_port", p, 1, UINT16_MAX, &has, &v)) != 0)
		return rc;
	if (has && json_object_get(o, "dport") == NULL)
		return nx_fail(x, "%s.to_port: needs \"dport\" (the public ports it maps)", p);
	r->to_port = has ? (uint16_t)v : r->dport_lo;
	snprintf(q, sizeof(q), "%s.to_port", p);
	if ((uint32_t)r->to_port + (r->dport_hi - r->dport_lo) > UINT16_MAX)
		return nx_fail(x, "%s: dport %u-%u mapped to %u.. ends past 65535", q,
			       r->dport_lo, r->dport_hi, r->to_port);
	return 0;
}

static int
nx_rule(struct nx *x, json_t *o, unsigned idx, struct dpct_nat_conf *n)
{
	struct nat_rule *r = &n->rules[idx];
	char p[NAT_PATH_LEN], q[NAT_KEY_PATH_LEN];
	bool has, has_proto;
	const char *s;
	json_t *v;
	uint64_t u;
	int rc;

	snprintf(p, sizeof(p), "$.nat.rules[%u]", idx);
	memset(r, 0, sizeof(*r));
	nat_rule_init(r);
	if ((rc = dpct_cfg_check_keys("nat.rules[]", o, p, x->err, x->errlen)) != 0)
		return rc;
	if ((rc = nx_string(x, o, "name", p, &s)) != 0)
		return rc;
	if (s != NULL && (rc = nx_name(x, p, s, r->name)) != 0)
		return rc;
	if ((rc = nx_string(x, o, "action", p, &s)) != 0)
		return rc;
	if (s == NULL)
		return nx_fail(x, "%s: missing \"action\" (snat, dnat or exclude)", p);
	if (strcmp(s, "snat") == 0)
		r->kind = NAT_SNAT;
	else if (strcmp(s, "dnat") == 0)
		r->kind = NAT_DNAT;
	else if (strcmp(s, "exclude") == 0)
		r->kind = NAT_EXCLUDE;
	else
		return nx_fail(x, "%s.action: \"%.32s\" is not one of \"snat\", \"dnat\", "
			       "\"exclude\"", p, s);
	if ((rc = nx_rule_action_keys(x, o, p, r->kind)) != 0)
		return rc;
	if ((rc = nx_uint(x, o, "in_port", p, 0, 63, &has, &u)) != 0)
		return rc;
	if (has)
		r->in_port = (uint16_t)u;
	if ((rc = nx_uint(x, o, "zone", p, 0, UINT16_MAX, &has, &u)) != 0)
		return rc;
	if (has)
		r->zone = (int32_t)u;
	v = json_object_get(o, "proto");
	has_proto = v != NULL;
	snprintf(q, sizeof(q), "%s.proto", p);
	if (has_proto && (rc = nx_proto(x, v, q, &r->proto)) != 0)
		return rc;
	if (r->kind == NAT_SNAT && has_proto && !nat_port_proto(r->proto) && r->proto != 1)
		return nx_fail(x, "%s: snat translates tcp, udp, udplite and icmp only", q);
	if ((rc = nx_string(x, o, "src", p, &s)) != 0)
		return rc;
	snprintf(q, sizeof(q), "%s.src", p);
	if (s != NULL && (rc = nx_prefix(x, q, s, &r->src, &r->src_len)) != 0)
		return rc;
	if ((rc = nx_string(x, o, "dst", p, &s)) != 0)
		return rc;
	snprintf(q, sizeof(q), "%s.dst", p);
	if (s != NULL && (rc = nx_prefix(x, q, s, &r->dst, &r->dst_len)) != 0)
		return rc;
	v = json_object_get(o, "dport");
	if (v != NULL) {
		snprintf(q, sizeof(q), "%s.dport", p);
		if ((rc = nx_ports(x, v, q, 0, &r->dport_lo, &r->dport_hi)) != 0)
			return rc;
		if (!nat_port_proto(r->proto))
			return nx_fail(x, "%s: a port needs proto tcp, udp or udplite", q);
	}
	if (r->kind == NAT_SNAT)
		return nx_rule_pool(x, o, p, n, r);
	if (r->kind == NAT_DNAT)
		return nx_rule_dnat(x, o, p, has_proto, r);
	return 0;
}

/* nat: {"pools": [...], "rules": [...]}; pools first, rules name them. */
int
dpct_cfg_nat_parse(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		   struct dpct_config *c)
{
	struct nx ctx = {p->err, p->errlen}, *x = &ctx;
	struct dpct_nat_conf *n = &c->nat;
	struct nat_table *t = NULL;
	json_t *pools, *rules;
	size_t i;
	int rc;

	(void)k;
	(void)path;
	memset(n, 0, sizeof(*n));
	if ((rc = dpct_cfg_check_keys("nat", v, "$.nat", x->err, x->errlen)) != 0)
		return rc;
	pools = json_object_get(v, "pools");
	rules = json_object_get(v, "rules");
	if (pools != NULL && !json_is_array(pools))
		return nx_fail(x, "$.nat.pools: expected array, got %s", dpct_json_type(pools));
	if (rules != NULL && !json_is_array(rules))
		return nx_fail(x, "$.nat.rules: expected array, got %s", dpct_json_type(rules));
	if (json_array_size(pools) > NAT_MAX_POOLS)
		return nx_fail(x, "$.nat.pools: %zu pools, at most %u are supported",
			       json_array_size(pools), NAT_MAX_POOLS);
	if (json_array_size(rules) > NAT_MAX_RULES)
		return nx_fail(x, "$.nat.rules: %zu rules, at most %u are supported",
			       json_array_size(rules), NAT_MAX_RULES);
	for (i = 0; i < json_array_size(pools); i++) {
		if ((rc = nx_pool(x, json_array_get(pools, i), (unsigned)i, n)) != 0)
			goto out;
		n->n_pools = (uint16_t)(i + 1);
	}
	for (i = 0; i < json_array_size(rules); i++) {
		if ((rc = nx_rule(x, json_array_get(rules, i), (unsigned)i, n)) != 0)
			goto out;
		n->n_rules = (uint16_t)(i + 1);
	}
	/* The checks between pools and rules, with the worker count when the
	 * file gives one (0: checked again at start with the real count). */
	rc = dpct_nat_build(c, c->workers != 0 ? c->workers : 1, &t, x->err, x->errlen);
	nat_table_free(t);
out:
	if (rc != 0)
		memset(n, 0, sizeof(*n));
	return rc;
}

int
dpct_nat_check_workers(const struct dpct_nat_conf *n, unsigned n_workers, char *err,
		       size_t errlen)
{
	unsigned i, ports, share;

	if (n_workers == 0 || n_workers > NAT_MAX_WORKERS)
		return dpct_cfg_fail(err, errlen, "$.nat: %u workers, NAT supports 1..%u",
				     n_workers, NAT_MAX_WORKERS);
	for (i = 0; i < n->n_pools; i++) {
		const struct nat_pool *pl = &n->pools[i];

		ports = (unsigned)pl->port_hi - pl->port_lo + 1;
		share = ports / n_workers;
		if (ports % n_workers != 0)
			return dpct_cfg_fail(err, errlen, "$.nat.pools[%u]: port range %u-%u (%u "
					     "ports) does not divide among %u workers", i,
					     pl->port_lo, pl->port_hi, ports, n_workers);
		if (pl->mode == NAT_MODE_BLOCK && share % pl->block_size != 0)
			return dpct_cfg_fail(err, errlen, "$.nat.pools[%u]: a worker's %u ports "
					     "(%u-%u over %u workers) do not divide into blocks "
					     "of %u", i, share, pl->port_lo, pl->port_hi,
					     n_workers, pl->block_size);
	}
	return 0;
}

/*
 * lib/nat names a pool or rule at the start of its message (`pool "a": `,
 * `rule "web": `, `rule 3: `): put its JSON path there instead when it is
 * one object of the section, else prefix "$.nat: ".
 */
static int
nat_msg_path(const struct dpct_nat_conf *n, const char *msg, char *err, size_t errlen)
{
	const char *q, *rest;
	unsigned i, hit = 0, found = 0;
	size_t len;
	char *end;

	if (strncmp(msg, "pool \"", 6) == 0 || strncmp(msg, "rule \"", 6) == 0) {
		q = strchr(msg + 6, '"');
		if (q == NULL || q[1] != ':' || q[2] != ' ')
			goto plain;
		len = (size_t)(q - (msg + 6));
		rest = q + 3;
		if (msg[0] == 'p') {
			for (i = 0; i < n->n_pools; i++)
				if (strlen(n->pools[i].name) == len &&
				    strncmp(n->pools[i].name, msg + 6, len) == 0)
					found++, hit = i;
		} else {
			for (i = 0; i < n->n_rules; i++)
				if (strlen(n->rules[i].name) == len &&
				    strncmp(n->rules[i].name, msg + 6, len) == 0)
					found++, hit = i;
		}
		if (found != 1)
			goto plain;
		return dpct_cfg_fail(err, errlen, "$.nat.%s[%u]: %s", msg[0] == 'p' ? "pools" :
				     "rules", hit, rest);
	}
	if (strncmp(msg, "rule ", 5) == 0 && msg[5] >= '0' && msg[5] <= '9') {
		errno = 0;
		hit = (unsigned)strtoul(msg + 5, &end, 10);
		if (errno == 0 && end[0] == ':' && end[1] == ' ' && hit < n->n_rules)
			return dpct_cfg_fail(err, errlen, "$.nat.rules[%u]: %s", hit, end + 2);
	}
plain:
	return dpct_cfg_fail(err, errlen, "$.nat: %s", msg[0] != '\0' ? msg : "refused");
}

int
dpct_nat_build(const struct dpct_config *c, unsigned n_workers, struct nat_table **out,
	       char *err, size_t errlen)
{
	const struct dpct_nat_conf *n = &c->nat;
	char msg[256];
	int rc;

	*out = NULL;
	rc = dpct_nat_check_workers(n, n_workers, err, errlen);
	if (rc != 0)
		return rc;
	msg[0] = '\0';
	errno = 0;
	*out = nat_table_build(n->pools, n->n_pools, n->rules, n->n_rules, n_workers, msg,
			       sizeof(msg));
	if (*out != NULL)
		return 0;
	if (errno == ENOMEM) {
		dpct_cfg_fail(err, errlen, "$.nat: out of memory building the table%s%s",
			      msg[0] != '\0' ? ": " : "", msg);
		return -ENOMEM;
	}
	return nat_msg_path(n, msg, err, errlen);
}

/* ------------------------------------------------------------------------ */
/* Back to JSON (/dpct/config), in the form the parser reads.                */

static void
nx_set(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (v == NULL || o == NULL || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

static json_t *
nat_addr_json(uint32_t a)
{
	struct in_addr in = {.s_addr = htonl(a)};
	char buf[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &in, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *
nat_prefix_json(uint32_t a, unsigned len)
{
	struct in_addr in = {.s_addr = htonl(a)};
	char buf[INET_ADDRSTRLEN], pfx[INET_ADDRSTRLEN + 4];

	inet_ntop(AF_INET, &in, buf, sizeof(buf));
	snprintf(pfx, sizeof(pfx), "%s/%u", buf, len);
	return json_string(pfx);
}

static json_t *
nat_range_json(unsigned lo, unsigned hi)
{
	char buf[16];

	if (lo == hi)
		return json_integer(lo);
	snprintf(buf, sizeof(buf), "%u-%u", lo, hi);
	return json_string(buf);
}

static json_t *
nat_pool_json(const struct nat_pool *pl, bool *ok)
{
	struct in_addr lo = {.s_addr = htonl(pl->addr_lo)}, hi = {.s_addr = htonl(pl->addr_hi)};
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], buf[2 * INET_ADDRSTRLEN + 2];
	json_t *o = json_object();

	nx_set(o, "name", json_string(pl->name), ok);
	inet_ntop(AF_INET, &lo, a, sizeof(a));
	inet_ntop(AF_INET, &hi, b, sizeof(b));
	if (pl->addr_lo == pl->addr_hi)
		snprintf(buf, sizeof(buf), "%s", a);
	else
		snprintf(buf, sizeof(buf), "%s-%s", a, b);
	nx_set(o, "addresses", json_string(buf), ok);
	nx_set(o, "ports", nat_range_json(pl->port_lo, pl->port_hi), ok);
	nx_set(o, "mode", json_string(nat_modes[pl->mode == NAT_MODE_BLOCK]), ok);
	if (pl->mode == NAT_MODE_BLOCK) {
		nx_set(o, "block_size", json_integer(pl->block_size), ok);
		nx_set(o, "blocks_per_address", json_integer(pl->blocks_per_addr_max), ok);
	}
	return o;
}

static json_t *
nat_rule_json(const struct nat_rule *r, const struct dpct_nat_conf *n, bool *ok)
{
	json_t *o = json_object();
	const char *pname = NULL;
	unsigned i;

	if (r->name[0] != '\0')
		nx_set(o, "name", json_string(r->name), ok);
	nx_set(o, "action", json_string(r->kind <= NAT_EXCLUDE ? nat_actions[r->kind] : NULL),
	       ok);
	if (r->in_port != NAT_ANY_PORT)
		nx_set(o, "in_port", json_integer(r->in_port), ok);
	if (r->zone != NAT_ANY_ZONE)
		nx_set(o, "zone", json_integer(r->zone), ok);
	if (r->proto != 0) {
		for (i = 0; i < sizeof(nat_protos) / sizeof(nat_protos[0]); i++)
			if (nat_protos[i].proto == r->proto)
				pname = nat_protos[i].name;
		nx_set(o, "proto", pname != NULL ? json_string(pname) : json_integer(r->proto),
		       ok);
	}
	if (r->src_len != 0)
		nx_set(o, "src", nat_prefix_json(r->src, r->src_len), ok);
	if (r->dst_len != 0)
		nx_set(o, "dst", nat_prefix_json(r->dst, r->dst_len), ok);
	if (r->dport_lo != 0 || r->dport_hi != UINT16_MAX)
		nx_set(o, "dport", nat_range_json(r->dport_lo, r->dport_hi), ok);
	if (r->kind == NAT_SNAT)
		nx_set(o, "pool", r->pool < n->n_pools ? json_string(n->pools[r->pool].name) :
		       NULL, ok);
	if (r->kind == NAT_DNAT) {
		nx_set(o, "to", nat_addr_json(r->to_addr), ok);
		if (r->to_port != r->dport_lo)
			nx_set(o, "to_port", json_integer(r->to_port), ok);
	}
	return o;
}

/* The section, or nothing when it has neither pools nor rules. */
int
dpct_cfg_nat_emit(const struct cfg_key *k, const struct dpct_config *c, json_t **out)
{
	const struct dpct_nat_conf *n = &c->nat;
	json_t *o, *pools, *rules;
	bool ok = true;
	unsigned i;

	(void)k;
	*out = NULL;
	if (n->n_pools == 0 && n->n_rules == 0)
		return 0;
	o = json_object();
	pools = json_array();
	rules = json_array();
	nx_set(o, "pools", pools, &ok);
	nx_set(o, "rules", rules, &ok);
	for (i = 0; ok && i < n->n_pools && i < NAT_MAX_POOLS; i++)
		if (json_array_append_new(pools, nat_pool_json(&n->pools[i], &ok)) != 0)
			ok = false;
	for (i = 0; ok && i < n->n_rules && i < NAT_MAX_RULES; i++)
		if (json_array_append_new(rules, nat_rule_json(&n->rules[i], n, &ok)) != 0)
			ok = false;
	if (!ok) {
		json_decref(o);
		return -ENOMEM;
	}
	*out = o;
	return 0;
}
