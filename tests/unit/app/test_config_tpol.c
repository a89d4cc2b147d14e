/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "timeout_policies" section (app/dpct/config_tpol.c): every key, what
 * reaches the shard, one case per bad input with its exact message, the
 * limits, and the round trip through to_json.
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

static int
bad(const char *text, const char *msg)
{
	struct dpct_config c;
	int rc = parse(&c, text);

	if (rc != -EINVAL) {
		printf("# %s: rc %d, want -EINVAL\n", text, rc);
		return 1;
	}
	if (strcmp(errbuf, msg) != 0) {
		printf("# %s:\n#   got  \"%s\"\n#   want \"%s\"\n", text, errbuf, msg);
		return 1;
	}
	return 0;
}

static const char every_key[] =
	"{\"timeouts\": {\"tcp_close\": 7},"
	" \"timeout_policies\": {"
	"  \"policies\": {"
	"   \"short\": {\"tcp\": {\"established\": 120, \"close\": 10},"
	"             \"icmp\": {\"timeout\": 5}},"
	"   \"dns\": {\"udp\": {\"unreplied\": 3, \"replied\": 4}}},"
	"  \"rules\": [{\"zone\": 5, \"policy\": \"short\"},"
	"            {\"proto\": \"udp\", \"port\": 53, \"policy\": \"dns\"},"
	"            {\"proto\": 6, \"policy\": \"short\"}]}}";

static int
test_defaults_none(void)
{
	struct dpct_config c;
	struct ct_conf sc;

	T_EQ(parse(&c, "{}"), 0);
	T_EQ(c.tpol.n_policies, 0);
	T_EQ(c.tpol.n_rules, 0);
	dpct_config_shard(&c, 0, 1, &sc);
	T_EQ(sc.tpol.n_policies, 0);
	T_EQ(parse(&c, "{\"timeout_policies\": {}}"), 0);
	T_EQ(c.tpol.n_policies, 0);
	return 0;
}

static int
test_every_key(void)
{
	struct dpct_config c;
	struct ct_conf sc;
	struct ct_tuple t;

	T_EQ(parse(&c, every_key), 0);
	T_EQ(c.tpol.n_policies, 2);
	T_EQ(c.tpol.n_rules, 3);
	T_STREQ(c.tpol.pol[0].name, "short");
	T_EQ(c.tpol.pol[0].timeout_s[CT_TO_TCP_ESTABLISHED], 120);
	T_EQ(c.tpol.pol[0].timeout_s[CT_TO_TCP_CLOSE], 10);
	T_EQ(c.tpol.pol[0].timeout_s[CT_TO_ICMP], 5);
	T_EQ(c.tpol.pol[0].timeout_s[CT_TO_TCP_SYN_SENT], 0);
	T_EQ(c.tpol.pol[1].timeout_s[CT_TO_UDP_UNREPLIED], 3);
	T_EQ(c.tpol.rule[0].match, CT_TPOL_M_ZONE);
	T_EQ(c.tpol.rule[0].zone, 5);
	T_EQ(c.tpol.rule[0].policy, 1);
	T_EQ(c.tpol.rule[1].match, CT_TPOL_M_PROTO | CT_TPOL_M_PORT);
	T_EQ(c.tpol.rule[1].proto, 17);
	T_EQ(c.tpol.rule[1].port, 53);
	T_EQ(c.tpol.rule[1].policy, 2);
	T_EQ(c.tpol.rule[2].proto, 6);
	/* What the shard gets, with the global fallback. */
	dpct_config_shard(&c, 1, 2, &sc);
	T_EQ(sc.tpol.n_policies, 2);
	T_EQ(ct_tpol_timeout_s(&sc, 1, CT_TO_TCP_ESTABLISHED), 120);
	T_EQ(ct_tpol_timeout_s(&sc, 1, CT_TO_TCP_SYN_SENT), 120);
	T_EQ(ct_tpol_timeout_s(&sc, 2, CT_TO_TCP_CLOSE), 7);
	memset(&t, 0, sizeof(t));
	t.proto = 17;
	t.dport = 53;
	T_EQ(ct_tpol_select(&sc.tpol, &t), 2);
	t.zone = 5;
	T_EQ(ct_tpol_select(&sc.tpol, &t), 1);
	return 0;
}

static int
test_errors_name_the_path(void)
{
	T_EQ(bad("{\"timeout_policies\": []}",
		 "$.timeout_policies: expected object, got array"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policy\": {}}}",
		 "unknown key at $.timeout_policies.policy"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": []}}",
		 "$.timeout_policies.policies: expected object of name: policy, got array"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"a b\": {\"tcp\": {\"close\": 1}}}}}",
		 "$.timeout_policies.policies: policy name \"a b\": 1..31 characters of "
		 "A-Z a-z 0-9 _ - ."), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": 3}}}",
		 "$.timeout_policies.policies.p: expected object, got integer"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {}}}}",
		 "$.timeout_policies.policies.p: the policy gives no timeout (name a protocol "
		 "and at least one of its states)"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {\"tpc\": {\"close\": 1}}}}}",
		 "$.timeout_policies.policies.p: unknown protocol \"tpc\" (protocols: tcp, udp, "
		 "icmp, icmpv6, generic, sctp, gre)"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {\"tcp\": 5}}}}",
		 "$.timeout_policies.policies.p.tcp: expected object of state: seconds, got "
		 "integer"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {\"tcp\": {\"estab\": 5}}}}}",
		 "$.timeout_policies.policies.p.tcp: unknown state \"estab\" of tcp (states: "
		 "syn_sent, syn_recv, established, fin_wait, close_wait, last_ack, time_wait, "
		 "close, syn_sent2, retrans, unacknowledged)"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {\"icmp\": {\"echo\": 5}}}}}",
		 "$.timeout_policies.policies.p.icmp: unknown state \"echo\" of icmp (states: "
		 "timeout)"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {\"udp\": {\"replied\": 0}}}}}",
		 "$.timeout_policies.policies.p.udp.replied: 0 is out of range 1..1125899"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {\"udp\": {\"replied\": -5}}}}}",
		 "$.timeout_policies.policies.p.udp.replied: -5 is out of range 1..1125899"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {\"udp\": "
		 "{\"replied\": 1125900}}}}}",
		 "$.timeout_policies.policies.p.udp.replied: 1125900 is out of range "
		 "1..1125899"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {\"udp\": "
		 "{\"replied\": \"60\"}}}}}",
		 "$.timeout_policies.policies.p.udp.replied: expected integer, got string"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {\"udp\": {\"replied\": 1.5}}}}}",
		 "$.timeout_policies.policies.p.udp.replied: expected integer, got number"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"rules\": {}}}",
		 "$.timeout_policies.rules: expected array, got object"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"rules\": [{\"zone\": 1}]}}",
		 "$.timeout_policies.rules[0].policy: missing (the policy this rule gives)"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {\"tcp\": {\"close\": 1}}}, "
		 "\"rules\": [{\"zone\": 1, \"policy\": \"q\"}]}}",
		 "$.timeout_policies.rules[0].policy: no policy named \"q\" (defined: p)"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"rules\": [{\"policy\": \"q\"}]}}",
		 "$.timeout_policies.rules[0].policy: no policy named \"q\" (defined: none)"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {\"tcp\": {\"close\": 1}}}, "
		 "\"rules\": [{\"zone\": 65536, \"policy\": \"p\"}]}}",
		 "$.timeout_policies.rules[0].zone: 65536 is out of range 0..65535"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {\"tcp\": {\"close\": 1}}}, "
		 "\"rules\": [{\"proto\": \"tpc\", \"policy\": \"p\"}]}}",
		 "$.timeout_policies.rules[0].proto: unknown protocol \"tpc\" (tcp, udp, icmp, "
		 "icmpv6, sctp, dccp, udplite, gre or a number 0..255)"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {\"tcp\": {\"close\": 1}}}, "
		 "\"rules\": [{\"port\": 22, \"policy\": \"p\"}]}}",
		 "$.timeout_policies.rules[0].port: a port needs proto tcp, udp, sctp, dccp or "
		 "udplite"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {\"tcp\": {\"close\": 1}}}, "
		 "\"rules\": [{\"proto\": \"icmp\", \"port\": 22, \"policy\": \"p\"}]}}",
		 "$.timeout_policies.rules[0].port: a port needs proto tcp, udp, sctp, dccp or "
		 "udplite"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {\"tcp\": {\"close\": 1}}}, "
		 "\"rules\": [{\"proto\": \"tcp\", \"port\": 0, \"policy\": \"p\"}]}}",
		 "$.timeout_policies.rules[0].port: 0 is out of range 1..65535"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"policies\": {\"p\": {\"tcp\": {\"close\": 1}}}, "
		 "\"rules\": [{\"zone\": 1, \"policy\": \"p\", \"dport\": 1}]}}",
		 "unknown key at $.timeout_policies.rules[0].dport"), 0);
	T_EQ(bad("{\"timeout_policies\": {\"rules\": [3]}}",
		 "$.timeout_policies.rules[0]: expected object, got integer"), 0);
	return 0;
}

static int
test_limits(void)
{
	char doc[16384];
	size_t o;
	unsigned i;

	/* 16 policies */
	o = (size_t)snprintf(doc, sizeof(doc), "{\"timeout_policies\": {\"policies\": {");
	for (i = 0; i < CT_TPOL_MAX + 1; i++)
		o += (size_t)snprintf(doc + o, sizeof(doc) - o, "%s\"p%u\": {\"udp\": "
				      "{\"replied\": %u}}", i ? "," : "", i, i + 1);
	snprintf(doc + o, sizeof(doc) - o, "}}}");
	T_EQ(bad(doc, "$.timeout_policies.policies: 16 policies, at most 15"), 0);
	/* 65 rules */
	o = (size_t)snprintf(doc, sizeof(doc), "{\"timeout_policies\": {\"policies\": {\"p\": "
			     "{\"udp\": {\"replied\": 9}}}, \"rules\": [");
	for (i = 0; i < CT_TPOL_MAX_RULES + 1; i++)
		o += (size_t)snprintf(doc + o, sizeof(doc) - o, "%s{\"zone\": %u, \"policy\": "
				      "\"p\"}", i ? "," : "", i);
	snprintf(doc + o, sizeof(doc) - o, "]}}");
	T_EQ(bad(doc, "$.timeout_policies.rules: 65 rules, at most 64"), 0);
	/* 15 policies naming every protocol: 16 + 15 x 16 = 256 slots, the most there are */
	o = (size_t)snprintf(doc, sizeof(doc), "{\"timeout_policies\": {\"policies\": {");
	for (i = 0; i < CT_TPOL_MAX; i++)
		o += (size_t)snprintf(doc + o, sizeof(doc) - o, "%s\"p%u\": {\"tcp\": {\"close\": "
				      "1}, \"udp\": {\"replied\": 2}, \"icmp\": {\"timeout\": 3}, "
				      "\"icmpv6\": {\"timeout\": 4}, "
				      "\"generic\": {\"timeout\": 5}}", i ? "," : "", i);
	snprintf(doc + o, sizeof(doc) - o, "}}}");
	{
		struct dpct_config c;
		int rc = parse(&c, doc);

		if (CT_TO_MAX * (CT_TPOL_MAX + 1) <= CT_TSLOT_MAX) {
			if (rc != 0)
				printf("# %s\n", errbuf);
			T_EQ(rc, 0);
			T_EQ(ct_tpol_slots(&c.tpol), CT_TO_MAX * (CT_TPOL_MAX + 1));
		} else {
			T_EQ(rc, -EINVAL);
			T_ASSERT(strstr(errbuf, "timeout slots, at most 256") != NULL);
		}
	}
	return 0;
}

static int
test_round_trip(void)
{
	struct dpct_config a, b;
	char *text;

	T_EQ(parse(&a, every_key), 0);
	text = dpct_config_to_json(&a);
	T_ASSERT(text != NULL);
	dpct_config_defaults(&b);
	if (dpct_config_parse(&b, text, strlen(text), errbuf, sizeof(errbuf)) != 0) {
		printf("# %s\n# %s\n", errbuf, text);
		free(text);
		return 1;
	}
	T_ASSERT(strstr(text, "\"established\": 120") != NULL ||
		 strstr(text, "\"established\":120") != NULL);
	free(text);
	T_MEMEQ(&a.tpol, &b.tpol, sizeof(a.tpol));
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_defaults_none),
	T_CASE(test_every_key),
	T_CASE(test_errors_name_the_path),
	T_CASE(test_limits),
	T_CASE(test_round_trip),
};

T_MAIN(cases)
