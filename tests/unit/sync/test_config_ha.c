/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "ha" configuration section (app/dpct/config_ha.c): what it accepts,
 * and each refusal with its message; unauthenticated sync from anywhere is
 * refused; the secret never appears in the JSON of the configuration.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dpct_config.h"
#include "dpct_test.h"

static char errbuf[512];

static int
parse(struct dpct_config *c, const char *text)
{
	dpct_config_defaults(c);
	return dpct_config_parse(c, text, strlen(text), errbuf, sizeof(errbuf));
}

#define SECRET "\"secret\": \"0123456789abcdef\""

static int
test_ha_accepted(void)
{
	struct dpct_config *c = malloc(sizeof(*c));
	char *json;

	T_ASSERT(c != NULL);
	T_EQ(parse(c, "{}"), 0);
	T_ASSERT(!dpct_config_ha_on(&c->ha));
	T_EQ(parse(c, "{\"ha\": {\"peer\": \"192.0.2.1\", " SECRET "}}"), 0);
	T_ASSERT(dpct_config_ha_on(&c->ha));
	T_EQ(c->ha.role, DPCT_HA_PRIMARY);
	T_EQ(c->ha.port, 3780);
	T_EQ(c->ha.auth, DPCT_HA_AUTH_HMAC);
	T_EQ(parse(c, "{\"ha\": {\"peer\": \"fd00::1\", \"bind\": \"fd00::2\", \"auth\": \"none\", "
		      "\"role\": \"backup\", \"extensions\": false}}"), 0);
	T_EQ(c->ha.role, DPCT_HA_BACKUP);
	T_EQ(c->ha.auth, DPCT_HA_AUTH_NONE);
	T_EQ(parse(c, "{\"ha\": {\"peer\": \"225.0.0.50\", \"transport\": \"multicast\", "
		      "\"interface\": \"sync0\", \"auth\": \"none\"}}"), 0);
	T_EQ(parse(c, "{\"ha\": {\"peer\": \"192.0.2.1\", \"bind\": \"192.0.2.2\", "
		      "\"transport\": \"tcp\", \"auth\": \"none\"}}"), 0);
	T_EQ(c->ha.transport, DPCT_HA_TCP);
	T_EQ(c->ha.tcp_buffer, 4u << 20);
	T_EQ(parse(c, "{\"ha\": {\"peer\": \"192.0.2.1\", \"transport\": \"tcp\", "
		      "\"tcp_buffer\": 65536, " SECRET "}}"), 0);
	T_EQ(c->ha.tcp_buffer, 65536);
	T_EQ(parse(c, "{\"ha\": {\"enabled\": false, \"peer\": \"192.0.2.1\", \"auth\": "
		      "\"none\"}}"), 0);
	T_ASSERT(!dpct_config_ha_on(&c->ha));
	T_EQ(parse(c, "{\"ha\": {\"peer\": \"192.0.2.1\", " SECRET "}}"), 0);
	json = dpct_config_to_json(c);
	T_ASSERT(json != NULL);
	T_ASSERT(strstr(json, "0123456789abcdef") == NULL);
	T_ASSERT(strstr(json, "(set)") != NULL);
	free(json);
	free(c);
	return 0;
}

static int
test_ha_refused(void)
{
	static const struct {
		const char *json;
		const char *msg;
	} cases[] = {
		{ "{\"ha\": {\"peer\": \"192.0.2.1\", \"auth\": \"none\"}}",
		  "$.ha.auth: \"none\" accepts sync from anyone: it needs bind" },
		{ "{\"ha\": {\"peer\": \"192.0.2.1\"}}",
		  "$.ha.secret: required with auth \"hmac-sha256\"" },
		{ "{\"ha\": {\"peer\": \"192.0.2.1\", \"secret\": \"short\"}}",
		  "$.ha.secret: the secret must be 16 to 128 bytes, got 5" },
		{ "{\"ha\": {\"peer\": \"sync.example\"}}",
		  "$.ha.peer: \"sync.example\" is not an IPv4 or IPv6 address" },
		{ "{\"ha\": {\"peer\": \"192.0.2.1\", \"bind\": \"fd00::1\", " SECRET "}}",
		  "$.ha.bind: \"fd00::1\" and peer \"192.0.2.1\" are not of the same family" },
		{ "{\"ha\": {\"peer\": \"225.0.0.50\", " SECRET "}}",
		  "$.ha.peer: \"225.0.0.50\" is a multicast address but transport is \"udp\"" },
		{ "{\"ha\": {\"peer\": \"225.0.0.50\", \"transport\": \"multicast\", " SECRET "}}",
		  "$.ha.interface: required with multicast" },
		{ "{\"ha\": {\"peer\": \"192.0.2.1\", \"transport\": \"sctp\", " SECRET "}}",
		  "$.ha.transport" },
		{ "{\"ha\": {\"peer\": \"225.0.0.50\", \"transport\": \"tcp\", " SECRET "}}",
		  "$.ha.peer: \"225.0.0.50\" is a multicast address but transport is \"tcp\"" },
		{ "{\"ha\": {\"peer\": \"192.0.2.1\", \"transport\": \"tcp\", "
		  "\"tcp_buffer\": 4096, " SECRET "}}",
		  "$.ha.tcp_buffer" },
		{ "{\"ha\": {\"peer\": \"192.0.2.1\", \"role\": \"master\", " SECRET "}}",
		  "$.ha.role" },
		{ "{\"ha\": {\"peer\": \"192.0.2.1\", \"interface\": \"a/b\", " SECRET "}}",
		  "$.ha.interface: \"a/b\" is not an interface name" },
		{ "{\"ha\": {\"peer\": \"192.0.2.1\", \"resend_queue\": 8, " SECRET "}}",
		  "$.ha.resend_queue" },
		{ "{\"events\": {\"enabled\": false}, "
		  "\"ha\": {\"peer\": \"192.0.2.1\", " SECRET "}}",
		  "$.ha: state sync is built from event records: it needs events.enabled" },
		{ "{\"ha\": {\"peer\": \"192.0.2.1\", \"colour\": 1, " SECRET "}}",
		  "colour" },
	};
	struct dpct_config *c = malloc(sizeof(*c));
	size_t i;

	T_ASSERT(c != NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(c, cases[i].json);

		if (rc != -EINVAL || strstr(errbuf, cases[i].msg) == NULL) {
			printf("# %s: rc %d, \"%s\"\n", cases[i].json, rc, errbuf);
			free(c);
			return 1;
		}
	}
	free(c);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_ha_accepted),
	T_CASE(test_ha_refused),
};

T_MAIN(cases)
