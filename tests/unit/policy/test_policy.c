/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/policy: rule checks; every match field, action, rule order and the
 * default, each answered by the reference matcher and by the rte_acl
 * context alike; random rule sets against the reference; the verdict
 * stored in conntrack entries (established packets not classified, ICMP
 * errors following their connection, NEW drops); re-decision after a
 * reload; a refused rule set changing nothing; notrack; and reloads while
 * a worker thread judges bursts (the RCU handover; run under ASan it
 * catches a generation freed too early). Needs EAL (--no-huge).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_lcore.h>

#include "pol.h"
#include "shard_test_util.h"

static uint32_t
ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	uint8_t x[4] = {(uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d};
	uint32_t v;

	memcpy(&v, x, 4);
	return v;
}

static struct pol_rule
R(uint8_t action)
{
	struct pol_rule r;

	pol_rule_init(&r);
	r.action = action;
	return r;
}

/* Reference and rte_acl must give the same rule for `p`; returns it. */
static int
both(const struct pol_gen *g, const struct pol_ruleset *rs, const struct pol_pkt *p,
     unsigned *out)
{
	unsigned a = pol_ruleset_match(rs, p), b = pol_classify_one(g, p, false);

	if (a != b) {
		printf("# reference %u != rte_acl %u (proto %u state %u port %u)\n", a, b,
		       p->pkt->tuple.proto, p->state, p->in_port);
		return 1;
	}
	*out = a;
	return 0;
}

static int
test_rule_check(void)
{
	struct pol_rule r;
	char err[128];

	r = R(POL_ACCEPT);
	T_EQ(pol_rule_check(&r, err, sizeof(err)), 0);
	r.icmp_type = 3;
	T_EQ(pol_rule_check(&r, err, sizeof(err)), -EINVAL);
	T_ASSERT(strstr(err, "icmp") != NULL);
	r = R(POL_ACCEPT);
	r.n_dport = 1;
	r.dport[0].lo = r.dport[0].hi = 22;
	T_EQ(pol_rule_check(&r, err, sizeof(err)), -EINVAL);   /* ports without tcp/udp */
	r.proto = 6;
	T_EQ(pol_rule_check(&r, err, sizeof(err)), 0);
	r.dport[0].lo = 30;
	T_EQ(pol_rule_check(&r, err, sizeof(err)), -EINVAL);   /* lo > hi */
	r = R(POL_ACCEPT);
	r.src_len = 8;
	T_EQ(pol_rule_check(&r, err, sizeof(err)), -EINVAL);   /* prefix without family */
	r.family = 4;
	r.src[0] = 10;
	T_EQ(pol_rule_check(&r, err, sizeof(err)), 0);
	r.src[1] = 1;                                           /* host bits */
	T_EQ(pol_rule_check(&r, err, sizeof(err)), -EINVAL);
	r = R(POL_NOTRACK);
	r.states = 1u << CT_STATE_NEW;
	T_EQ(pol_rule_check(&r, err, sizeof(err)), -EINVAL);   /* notrack with state */
	r = R(9);
	T_EQ(pol_rule_check(&r, err, sizeof(err)), -EINVAL);
	T_EQ(pol_state_parse("established"), CT_STATE_ESTABLISHED);
	T_EQ(pol_state_parse("bogus"), -EINVAL);
	T_EQ(pol_action_parse("notrack"), POL_NOTRACK);
	T_STREQ(pol_state_name(CT_STATE_UNTRACKED), "untracked");
	return 0;
}

/* One table: a rule set, a packet, the expected rule. */
struct mcase {
	const char *what;
	struct ct_pkt pkt;
	uint8_t state;
	uint16_t in_port;
	unsigned want;
};

static int
run_cases(const struct pol_ruleset *rs, const struct mcase *c, unsigned n)
{
	struct pol_handle *h;
	char err[256];
	unsigned i, got = 0;
	int rc = 0;

	h = pol_handle_create(rs, 1, err, sizeof(err));
	if (h == NULL) {
		printf("# create: %s\n", err);
		return 1;
	}
	for (i = 0; i < n; i++) {
		struct pol_pkt p = {&c[i].pkt, c[i].state, c[i].in_port};

		if (both(pol_current(h), rs, &p, &got) != 0 || got != c[i].want) {
			printf("# case %s: got %u want %u\n", c[i].what, got, c[i].want);
			rc = 1;
		}
	}
	pol_handle_free(h);
	return rc;
}

static int
test_each_field(void)
{
	struct pol_rule rules[10];
	struct pol_ruleset rs = {POL_DROP, 10, rules};
	uint32_t a = ip4(10, 1, 2, 3), b = ip4(192, 0, 2, 7), c = ip4(198, 51, 100, 0);
	struct ct_pkt z, v6;
	unsigned i;

	for (i = 0; i < 10; i++)
		rules[i] = R(POL_ACCEPT);
	rules[0].states = 1u << CT_STATE_INVALID;               /* 0: state */
	rules[0].action = POL_DROP;
	rules[1].in_port = 3;                                   /* 1: input port */
	rules[2].zone = 7;                                      /* 2: zone */
	rules[3].family = 6;                                    /* 3: IP version */
	rules[4].proto = 47;                                    /* 4: protocol */
	rules[5].family = 4;                                    /* 5: source prefix */
	rules[5].src[0] = 10;
	rules[5].src_len = 8;
	rules[6].family = 4;                                    /* 6: destination prefix */
	memcpy(rules[6].dst, &c, 4);
	rules[6].dst_len = 24;
	rules[7].proto = 6;                                     /* 7: dport list */
	rules[7].n_dport = 2;
	rules[7].dport[0] = (struct pol_range){22, 22};
	rules[7].dport[1] = (struct pol_range){8000, 8100};
	rules[8].proto = 17;                                    /* 8: sport range */
	rules[8].n_sport = 1;
	rules[8].sport[0] = (struct pol_range){53, 53};
	rules[9].proto = 1;                                     /* 9: ICMP type */
	rules[9].family = 4;
	rules[9].icmp_type = 8;
	z = mk(6, b, b, 1000, 80, TH_SYN);
	v6 = z;
	v6.tuple.family = 6;
	{
		struct ct_pkt zone7 = mk(6, b, b, 1000, 80, TH_SYN), echo = mk(1, b, b, 9, 9, 0);
		struct ct_pkt reply = mk(1, b, b, 9, 9, 0);

		zone7.tuple.zone = 7;
		reply.icmp_type = 0;
	{
		struct ct_pkt gre = mk(47, b, b, 0, 0, 0), src = mk(6, a, b, 1, 2, 0);
		struct ct_pkt dst = mk(6, b, ip4(198, 51, 100, 200), 1, 2, 0);
		struct ct_pkt dst_no = mk(6, b, ip4(198, 51, 101, 1), 1, 2, 0);
		struct ct_pkt p22 = mk(6, b, b, 5, 22, 0), p8050 = mk(6, b, b, 5, 8050, 0);
		struct ct_pkt p8101 = mk(6, b, b, 5, 8101, 0), u53 = mk(17, b, b, 53, 9, 0);
		struct ct_pkt u53d = mk(17, b, b, 9, 53, 0);
		const struct mcase cases[] = {
			{"nothing matches: default", z, CT_STATE_NEW, 0, POL_RULE_DEFAULT},
			{"state invalid", z, CT_STATE_INVALID, 3, 0},
			{"state new is not invalid", z, CT_STATE_NEW, 3, 1},
			{"input port 3", z, CT_STATE_ESTABLISHED, 3, 1},
			{"input port 2", z, CT_STATE_ESTABLISHED, 2, POL_RULE_DEFAULT},
			{"zone 7", zone7, CT_STATE_NEW, 0, 2},
			{"IPv6", v6, CT_STATE_NEW, 0, 3},
			{"protocol gre", gre, CT_STATE_NEW, 0, 4},
			{"source 10/8", src, CT_STATE_NEW, 0, 5},
			{"destination in /24", dst, CT_STATE_NEW, 0, 6},
			{"destination outside /24", dst_no, CT_STATE_NEW, 0, POL_RULE_DEFAULT},
			{"dport 22 of list", p22, CT_STATE_NEW, 0, 7},
			{"dport 8050 in range of list", p8050, CT_STATE_NEW, 0, 7},
			{"dport 8101 outside", p8101, CT_STATE_NEW, 0, POL_RULE_DEFAULT},
			{"udp sport 53", u53, CT_STATE_NEW, 0, 8},
			{"udp dport 53 is not sport", u53d, CT_STATE_NEW, 0, POL_RULE_DEFAULT},
			{"icmp echo request", echo, CT_STATE_NEW, 0, 9},
			{"icmp echo reply", reply, CT_STATE_NEW, 0, POL_RULE_DEFAULT},
		};

		return run_cases(&rs, cases, RTE_DIM(cases));
	}
	}
}

static int
test_order_and_default(void)
{
	struct pol_rule rules[3];
	struct pol_ruleset rs = {POL_ACCEPT, 3, rules};
	struct ct_pkt p = mk(6, ip4(1, 1, 1, 1), ip4(2, 2, 2, 2), 1000, 22, TH_SYN);
	struct ct_pkt u = mk(17, ip4(1, 1, 1, 1), ip4(2, 2, 2, 2), 1000, 22, 0);
	const struct mcase cases[] = {
		{"first of two matching rules wins", p, CT_STATE_NEW, 0, 0},
		{"later rule when the first does not match", p, CT_STATE_ESTABLISHED, 0, 1},
		{"default accept", u, CT_STATE_NEW, 0, POL_RULE_DEFAULT},
	};

	rules[0] = R(POL_DROP);
	rules[0].proto = 6;
	rules[0].states = 1u << CT_STATE_NEW;
	rules[1] = R(POL_ACCEPT);
	rules[1].proto = 6;
	rules[2] = R(POL_ACCEPT);   /* shadowed by rule 1 for tcp */
	rules[2].proto = 6;
	rules[2].n_dport = 1;
	rules[2].dport[0] = (struct pol_range){22, 22};
	return run_cases(&rs, cases, RTE_DIM(cases));
}

static uint64_t rng = 88172645463325252ull;

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* Values drawn from small pools so that rules and packets do meet. */
static void
rand_addr(uint8_t *a, unsigned family)
{
	static const uint8_t pool[4][4] = {{10, 0, 0, 1}, {10, 0, 1, 9}, {192, 0, 2, 1},
					   {10, 128, 0, 1}};

	memset(a, 0, 16);
	if (family == 4) {
		memcpy(a, pool[rnd(4)], 4);
	} else {
		a[0] = 0x20;
		a[1] = 0x01;
		a[15] = (uint8_t)rnd(4);
		a[5] = (uint8_t)(rnd(2) << 7);
	}
}

static int
test_random_vs_reference(void)
{
	static const uint8_t protos[] = {6, 17, 1, 58, 47};
	struct pol_rule rules[60];
	struct pol_ruleset rs = {POL_DROP, 60, rules};
	struct pol_handle *h;
	char err[256];
	unsigned i, round, got, nonzero = 0;

	for (round = 0; round < 5; round++) {
		for (i = 0; i < RTE_DIM(rules); i++) {
			struct pol_rule *r = &rules[i];

			*r = R(rnd(2) ? POL_ACCEPT : POL_DROP);
			if (rnd(2))
				r->states = (uint8_t)(1 + rnd((1u << CT_STATE_MAX) - 1));
			if (rnd(4) == 0)
				r->in_port = (int32_t)rnd(3);
			if (rnd(6) == 0)
				r->zone = (int32_t)rnd(2);
			if (rnd(2))
				r->proto = protos[rnd(RTE_DIM(protos))];
			r->family = r->proto == 1 ? 4 : r->proto == 58 ? 6 :
				    (uint8_t)(rnd(3) == 0 ? 0 : rnd(2) ? 4 : 6);
			if (r->family != 0 && rnd(2)) {
				rand_addr(r->src, r->family);
				r->src_len = (uint8_t)(r->family == 4 ? 8 * (1 + rnd(4)) :
						       16 * (1 + rnd(8)));
				for (unsigned b = r->src_len; b < 128; b++)
					r->src[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
			}
			if (r->family != 0 && rnd(3) == 0) {
				rand_addr(r->dst, r->family);
				r->dst_len = r->family == 4 ? 32 : 128;
			}
			if ((r->proto == 6 || r->proto == 17) && rnd(2)) {
				r->n_dport = (uint8_t)(1 + rnd(3));
				for (unsigned k = 0; k < r->n_dport; k++) {
					uint16_t lo = (uint16_t)rnd(100);

					r->dport[k] = (struct pol_range){lo, (uint16_t)(lo + rnd(20))};
				}
			}
			if ((r->proto == 6 || r->proto == 17) && rnd(4) == 0) {
				r->n_sport = 1;
				r->sport[0] = (struct pol_range){0, (uint16_t)rnd(60)};
			}
			if ((r->proto == 1 || r->proto == 58) && rnd(2))
				r->icmp_type = (int16_t)rnd(4);
			if (pol_rule_check(r, err, sizeof(err)) != 0) {
				printf("# generated rule %u invalid: %s\n", i, err);
				return 1;
			}
		}
		h = pol_handle_create(&rs, 1, err, sizeof(err));
		if (h == NULL) {
			printf("# create: %s\n", err);
			return 1;
		}
		for (i = 0; i < 3000; i++) {
			struct ct_pkt p;
			struct pol_pkt pp;

			memset(&p, 0, sizeof(p));
			p.tuple.family = rnd(2) ? 4 : 6;
			p.tuple.proto = protos[rnd(RTE_DIM(protos))];
			rand_addr(p.tuple.src, p.tuple.family);
			rand_addr(p.tuple.dst, p.tuple.family);
			p.tuple.sport = (uint16_t)rnd(120);
			p.tuple.dport = (uint16_t)rnd(120);
			p.tuple.zone = (uint16_t)rnd(2);
			p.icmp_type = (uint8_t)rnd(4);
			pp.pkt = &p;
			pp.state = (uint8_t)rnd(CT_STATE_MAX);
			pp.in_port = (uint16_t)rnd(3);
			if (both(pol_current(h), &rs, &pp, &got) != 0) {
				pol_handle_free(h);
				return 1;
			}
			nonzero += got != POL_RULE_DEFAULT;
		}
		pol_handle_free(h);
	}
	/* The draw must exercise rules, not only the default. */
	T_ASSERT(nonzero > 1000);
	return 0;
}

/* A stateful firewall on a real shard. */
static void
firewall(struct pol_rule *rules, struct pol_ruleset *rs)
{
	rules[0] = R(POL_ACCEPT);
	rules[0].states = (1u << CT_STATE_ESTABLISHED) | (1u << CT_STATE_RELATED);
	rules[1] = R(POL_DROP);
	rules[1].states = 1u << CT_STATE_INVALID;
	rules[2] = R(POL_ACCEPT);
	rules[2].states = 1u << CT_STATE_NEW;
	rules[2].in_port = 0;
	rules[3] = R(POL_ACCEPT);
	rules[3].states = 1u << CT_STATE_NEW;
	rules[3].proto = 6;
	rules[3].n_dport = 2;
	rules[3].dport[0] = (struct pol_range){22, 22};
	rules[3].dport[1] = (struct pol_range){443, 443};
	rs->default_action = POL_DROP;
	rs->n_rules = 4;
	rs->rules = rules;
}

/* Track and judge one burst on worker 0. */
static void
judge(struct pol_handle *h, struct ct_shard *s, const struct ct_pkt *in, const uint16_t *port,
      unsigned n, uint64_t now, uint8_t *verdict)
{
	struct ct_pkt pk[16];
	struct ct_pkt_info info[16];
	const struct pol_gen *g = pol_current(h);

	memcpy(pk, in, sizeof(pk[0]) * n);
	pol_notrack_burst(g, 0, pk, NULL, port, (uint16_t)n);
	ct_process_burst_info(s, pk, (uint16_t)n, now, verdict, info);
	pol_apply_burst(g, 0, s, pk, port, (uint16_t)n, verdict, info);
}

static int
test_stateful_shard(void)
{
	struct pol_rule rules[4];
	struct pol_ruleset rs;
	struct pol_rule_stats *st;
	struct pol_totals t;
	struct pol_ruleset cur;
	struct pol_handle *h;
	struct ct_shard *s = mkshard(1024, 0, NULL);
	uint32_t lan = ip4(10, 1, 0, 5), wan = ip4(203, 0, 113, 9), gen;
	struct ct_pkt ssh = mk(6, wan, lan, 40000, 22, TH_SYN);
	struct ct_pkt web = mk(6, wan, lan, 40001, 80, TH_SYN);
	struct ct_pkt out = mk(6, lan, wan, 50000, 80, TH_SYN);
	struct ct_pkt err_ssh, err_web, burst[8];
	uint16_t port[8] = {1, 1, 1, 1, 1, 1, 1, 1};
	uint8_t v[8];
	char err[256];
	uint64_t sum = 0;
	unsigned i;

	T_ASSERT(s != NULL);
	firewall(rules, &rs);
	h = pol_handle_create(&rs, 1, err, sizeof(err));
	T_ASSERT(h != NULL);
	pol_worker_online(h, 0);
	/* SYN to 22 and to 80 from the wan side (port 1) in one burst, with
	 * the server's SYN/ACKs. */
	burst[0] = ssh;
	burst[1] = web;
	burst[2] = rev(ssh, TH_SYN | TH_ACK);
	burst[3] = rev(web, TH_SYN | TH_ACK);
	port[2] = port[3] = 0;
	judge(h, s, burst, port, 4, T0, v);
	T_EQ(v[0], CT_V_PASS);
	T_EQ(v[1], CT_V_DROP);
	T_EQ(v[2], CT_V_PASS);       /* the connection's verdict */
	T_EQ(v[3], CT_V_DROP);       /* even though a new packet from lan would pass */
	/* Established packets: no classification. */
	T_EQ(pol_report(h, &gen, &cur, &st, &t), 0);
	pol_ruleset_clear(&cur);
	free(st);
	T_UEQ(t.classified, 4);      /* the SYN/ACKs arrived undecided in the same burst */
	burst[0] = rev(ssh, TH_ACK);
	burst[0].tuple = ssh.tuple;
	burst[0].hash = ssh.hash;
	burst[0].tcp_flags = TH_ACK;
	burst[1] = rev(ssh, TH_ACK);
	port[0] = 1;
	port[1] = 0;
	judge(h, s, burst, port, 2, T0 + SEC, v);
	T_EQ(v[0], CT_V_PASS);
	T_EQ(v[1], CT_V_PASS);
	/* ICMP errors quoting each flow follow the connection's verdict. */
	err_ssh = ssh;
	err_ssh.cls = CT_PKT_ICMP_ERROR;
	err_ssh.icmp_type = 3;
	err_web = web;
	err_web.cls = CT_PKT_ICMP_ERROR;
	err_web.icmp_type = 3;
	burst[0] = err_ssh;
	burst[1] = err_web;
	port[0] = port[1] = 0;
	/* A lan-side connection: accepted by "iif lan ct state new". */
	burst[2] = out;
	port[2] = 0;
	judge(h, s, burst, port, 3, T0 + 2 * SEC, v);
	T_EQ(v[0], CT_V_PASS);
	T_EQ(v[1], CT_V_DROP);
	T_EQ(v[2], CT_V_PASS);
	T_EQ(pol_report(h, &gen, &cur, &st, &t), 0);
	T_UEQ(gen, 1);
	T_UEQ(t.classified, 5);      /* only the lan connection's SYN */
	T_UEQ(t.accepted + t.dropped, 9);
	for (i = 0; i <= cur.n_rules; i++)
		sum += st[i].pkts;
	T_UEQ(sum, 9);               /* every judged packet counted once */
	T_UEQ(st[2].conns, 1);       /* iif lan: the outgoing connection */
	T_UEQ(st[3].conns, 1);       /* dport 22 */
	T_UEQ(st[cur.n_rules].conns, 1); /* the default: port 80 from wan */
	T_UEQ(st[cur.n_rules].pkts, 3);  /* its SYN, SYN/ACK and ICMP error */
	pol_ruleset_clear(&cur);
	free(st);
	pol_worker_offline(h, 0);
	pol_handle_free(h);
	ct_shard_free(s);
	return 0;
}

static int
test_reload_redecides(void)
{
	struct pol_rule rules[4], strict[1];
	struct pol_ruleset rs, rs2 = {POL_DROP, 1, strict}, bad;
	struct pol_rule badr;
	struct pol_handle *h;
	struct ct_shard *s = mkshard(1024, 0, NULL);
	struct ct_pkt ssh = mk(6, ip4(203, 0, 113, 9), ip4(10, 1, 0, 5), 40000, 22, TH_SYN);
	struct ct_pkt b[2];
	uint16_t port[2] = {1, 0};
	uint8_t v[2];
	char err[256];
	int gen;

	T_ASSERT(s != NULL);
	firewall(rules, &rs);
	h = pol_handle_create(&rs, 1, err, sizeof(err));
	T_ASSERT(h != NULL);
	pol_worker_online(h, 0);
	b[0] = ssh;
	b[1] = rev(ssh, TH_SYN | TH_ACK);
	judge(h, s, b, port, 2, T0, v);
	T_EQ(v[0], CT_V_PASS);
	T_EQ(v[1], CT_V_PASS);
	/* A refused set changes nothing. */
	badr = R(POL_ACCEPT);
	badr.icmp_type = 4;        /* needs proto icmp */
	bad.default_action = POL_ACCEPT;
	bad.n_rules = 1;
	bad.rules = &badr;
	gen = pol_install(h, &bad, 1000, err, sizeof(err));
	T_EQ(gen, -EINVAL);
	T_ASSERT(strstr(err, "rule 0") != NULL);
	T_UEQ(pol_gen_number(pol_current(h)), 1);
	/* The strict set: only new ssh; established traffic is re-decided on its
	 * next packet, with state established, and now falls to the default. */
	strict[0] = R(POL_ACCEPT);
	strict[0].states = 1u << CT_STATE_NEW;
	strict[0].proto = 6;
	strict[0].n_dport = 1;
	strict[0].dport[0] = (struct pol_range){22, 22};
	/* The worker is online but this thread is it: report quiescence first
	 * from a helper would deadlock, so take it offline across the install. */
	pol_worker_offline(h, 0);
	gen = pol_install(h, &rs2, 1000, err, sizeof(err));
	pol_worker_online(h, 0);
	T_EQ(gen, 2);
	b[0] = ssh;
	b[0].tcp_flags = TH_ACK;
	judge(h, s, b, port, 1, T0 + SEC, v);
	T_EQ(v[0], CT_V_DROP);
	/* Back to the firewall: established accept again. */
	pol_worker_offline(h, 0);
	gen = pol_install(h, &rs, 1000, err, sizeof(err));
	pol_worker_online(h, 0);
	T_EQ(gen, 3);
	judge(h, s, b, port, 1, T0 + 2 * SEC, v);
	T_EQ(v[0], CT_V_PASS);
	pol_worker_offline(h, 0);
	pol_handle_free(h);
	ct_shard_free(s);
	return 0;
}

static int
test_notrack(void)
{
	struct pol_rule rules[2];
	struct pol_ruleset rs = {POL_DROP, 2, rules};
	struct pol_handle *h;
	struct ct_shard *s = mkshard(1024, 0, NULL);
	struct ct_pkt dns = mk(17, ip4(192, 0, 2, 1), ip4(192, 0, 2, 53), 3333, 53, 0);
	struct ct_pkt other = mk(17, ip4(192, 0, 2, 1), ip4(192, 0, 2, 53), 3333, 54, 0);
	struct ct_pkt b[2];
	struct ct_stats cs;
	uint16_t port[2] = {0, 0};
	uint8_t v[2];
	char err[256];

	T_ASSERT(s != NULL);
	rules[0] = R(POL_ACCEPT);
	rules[0].proto = 17;
	rules[1] = R(POL_NOTRACK);
	rules[1].proto = 17;
	rules[1].n_dport = 1;
	rules[1].dport[0] = (struct pol_range){53, 53};
	h = pol_handle_create(&rs, 1, err, sizeof(err));
	T_ASSERT(h != NULL);
	T_ASSERT(pol_gen_has_notrack(pol_current(h)));
	b[0] = dns;
	b[1] = other;
	judge(h, s, b, port, 2, T0, v);
	T_EQ(v[0], CT_V_PASS);
	T_EQ(v[1], CT_V_PASS);
	ct_shard_stats(s, &cs);
	T_UEQ(cs.notrack, 1);
	T_UEQ(cs.insert, 1);         /* only the port-54 flow is tracked */
	pol_handle_free(h);
	ct_shard_free(s);
	return 0;
}

/* An ICMPv4 destination unreachable from 198.51.100.1 to 10.0.0.1, quoting
 * UDP 10.0.0.1:5000 -> 192.0.2.1:53 (checksums are not looked at). */
static unsigned
icmp_unreach(uint8_t *f)
{
	static const uint8_t hdr[] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00,
		0x45, 0, 0, 56, 0, 0, 0, 0, 64, 1, 0, 0, 198, 51, 100, 1, 10, 0, 0, 1,
		3, 3, 0, 0, 0, 0, 0, 0,
		0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 192, 0, 2, 1,
		0x13, 0x88, 0, 53, 0, 8, 0, 0,
	};

	memcpy(f, hdr, sizeof(hdr));
	return sizeof(hdr);
}

/* Policy notrack rules see an ICMP error by its own header, as nftables'
 * raw table does: ICMP from the router, not the UDP flow it quotes. */
static int
test_notrack_icmp_error(void)
{
	static const struct {
		const char *what;
		int16_t proto, icmp_type;
		uint8_t src[4], src_len;
		bool marked;
	} tab[] = {
		{ "icmp", 1, -1, { 0 }, 0, true },
		{ "icmp type 3", 1, 3, { 0 }, 0, true },
		{ "icmp type 11", 1, 11, { 0 }, 0, false },
		{ "udp (the quoted flow's)", 17, -1, { 0 }, 0, false },
		{ "saddr 198.51.100.0/24 (the router)", -1, -1, { 198, 51, 100, 0 }, 24, true },
		{ "saddr 10.0.0.0/8 (the quoted sender)", -1, -1, { 10, 0, 0, 0 }, 8, false },
	};
	uint8_t f[128];
	const uint8_t *frames[1] = { f };
	struct ct_pkt p;
	uint16_t port[1] = { 0 };
	unsigned i, n = icmp_unreach(f);

	T_EQ(ct_parse(f, n, 0, &p), CT_PKT_ICMP_ERROR);
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		struct pol_rule rules[1];
		struct pol_ruleset rs = { POL_ACCEPT, 1, rules };
		struct pol_handle *h;
		struct ct_pkt q = p;
		char err[256];

		rules[0] = R(POL_NOTRACK);
		rules[0].proto = tab[i].proto;
		rules[0].icmp_type = tab[i].icmp_type;
		if (tab[i].src_len) {
			rules[0].family = 4;
			memcpy(rules[0].src, tab[i].src, 4);
			rules[0].src_len = tab[i].src_len;
		}
		h = pol_handle_create(&rs, 1, err, sizeof(err));
		if (h == NULL)
			T_FAIL_("%s: %s", tab[i].what, err);
		T_EQ(pol_notrack_burst(pol_current(h), 0, &q, NULL, port, 1), 0);
		T_EQ(pol_notrack_burst(pol_current(h), 0, &q, frames, port, 1),
		     (unsigned)tab[i].marked);
		if ((q.cls == CT_PKT_NOTRACK) != tab[i].marked)
			T_FAIL_("%s: class %d", tab[i].what, q.cls);
		pol_handle_free(h);
	}
	return 0;
}

/* Reloads while a worker thread judges bursts. */
struct rcu_arg {
	struct pol_handle *h;
	atomic_bool stop;
	uint64_t judged;
	uint64_t bursts;
};

static void *
rcu_worker(void *arg)
{
	struct rcu_arg *a = arg;
	struct ct_shard *s = mkshard(1024, 0, NULL);
	uint16_t port[8] = {0, 1, 0, 1, 0, 1, 0, 1};
	uint8_t v[8];
	uint64_t now = T0;
	unsigned i, k = 0;

	if (s == NULL)
		return NULL;
	pol_worker_online(a->h, 0);
	while (!atomic_load(&a->stop) && a->bursts < 2000000) {
		struct ct_pkt b[8];

		pol_quiescent(a->h, 0);
		for (i = 0; i < 8; i++, k++)
			b[i] = mk(k % 3 ? 6 : 17, ip4(10, 0, 0, 1 + k % 50), ip4(10, 9, 0, 1),
				  (uint16_t)(1000 + k % 200), (uint16_t)(k % 2 ? 22 : 80),
				  TH_SYN);
		judge(a->h, s, b, port, 8, now, v);
		now += SEC / 1000;
		a->judged += 8;
		a->bursts++;
	}
	pol_worker_offline(a->h, 0);
	ct_shard_free(s);
	return NULL;
}

static int
test_reload_under_traffic(void)
{
	struct pol_rule r1[4], r2[2];
	struct pol_ruleset a, b = {POL_ACCEPT, 2, r2};
	struct rcu_arg arg;
	struct pol_rule_stats *st;
	struct pol_ruleset cur;
	struct pol_totals t;
	pthread_t th;
	char err[256];
	uint32_t gen;
	int i, rc;

	firewall(r1, &a);
	r2[0] = R(POL_DROP);
	r2[0].proto = 17;
	r2[1] = R(POL_ACCEPT);
	r2[1].proto = 6;
	r2[1].n_dport = 1;
	r2[1].dport[0] = (struct pol_range){22, 22};
	memset(&arg, 0, sizeof(arg));
	arg.h = pol_handle_create(&a, 1, err, sizeof(err));
	T_ASSERT(arg.h != NULL);
	T_EQ(pthread_create(&th, NULL, rcu_worker, &arg), 0);
	for (i = 0; i < 50; i++) {
		rc = pol_install(arg.h, i % 2 ? &a : &b, 5000, err, sizeof(err));
		if (rc < 0)
			printf("# install %d: %s\n", i, err);
		T_EQ(rc, i + 2);
		usleep(1000);
	}
	atomic_store(&arg.stop, true);
	pthread_join(th, NULL);
	T_EQ(pol_report(arg.h, &gen, &cur, &st, &t), 0);
	T_UEQ(gen, 51);
	T_UEQ(t.reloads, 50);
	T_UEQ(t.accepted + t.dropped, arg.judged);
	T_ASSERT(arg.bursts > 50);
	pol_ruleset_clear(&cur);
	free(st);
	pol_handle_free(arg.h);
	return 0;
}

/* The states ct_process_burst_info() reports, as nftables' ct state. */
static int
test_states(void)
{
	struct ct_conf c;
	struct ct_shard *s;
	struct ct_pkt_info info[8];
	struct ct_pkt p[8];
	struct ct_decision d = {.gen = 5, .rule = 3, .verdict = CT_V_DROP}, cur;
	uint8_t v[8];
	char err[128];
	uint32_t a = ip4(10, 0, 0, 1), b = ip4(10, 0, 0, 2);

	ct_conf_init(&c);
	c.max_entries = 64;
	c.events_enabled = false;
	c.invalid_policy = CT_INVALID_PASS;
	s = ct_shard_create(&c, err, sizeof(err));
	T_ASSERT(s != NULL);
	p[0] = mk(17, a, b, 1000, 53, 0);           /* new */
	p[1] = mk(17, a, b, 1000, 53, 0);           /* orig again, no reply yet: new */
	p[2] = rev(p[0], 0);                        /* reply: established */
	p[3] = mk(17, a, b, 1000, 53, 0);           /* orig after a reply: established */
	p[4] = p[0];
	p[4].cls = CT_PKT_ICMP_ERROR;               /* quotes the flow: related */
	p[5] = mk(6, a, b, 1, 2, TH_SYN | TH_ACK);  /* SYN/ACK without entry: invalid */
	p[6] = p[0];
	p[6].cls = CT_PKT_FRAGMENT;                 /* later fragment: untracked */
	p[7] = p[0];
	p[7].cls = CT_PKT_NOTRACK;                  /* policy notrack: untracked */
	ct_process_burst_info(s, p, 8, T0, v, info);
	T_EQ(info[0].state, CT_STATE_NEW);
	T_EQ(info[1].state, CT_STATE_NEW);
	T_EQ(info[2].state, CT_STATE_ESTABLISHED);
	T_EQ(info[3].state, CT_STATE_ESTABLISHED);
	T_EQ(info[4].state, CT_STATE_RELATED);
	T_EQ(info[5].state, CT_STATE_INVALID);
	T_EQ(v[5], CT_V_PASS);                      /* invalid.policy pass */
	T_EQ(info[6].state, CT_STATE_UNTRACKED);
	T_EQ(info[7].state, CT_STATE_UNTRACKED);
	T_UEQ(info[1].slot, info[0].slot);
	T_UEQ(info[4].slot, info[0].slot);
	T_UEQ(info[5].slot, UINT32_MAX);
	T_EQ(info[0].dec.gen, 0);
	/* Store a decision; the next packet reports it; the same generation is kept. */
	T_EQ(ct_shard_decide(s, info[0].slot, info[0].id, &d, &cur), 1);
	d.verdict = CT_V_PASS;
	T_EQ(ct_shard_decide(s, info[0].slot, info[0].id, &d, &cur), 0);
	T_EQ(cur.verdict, CT_V_DROP);
	T_EQ(ct_shard_decide(s, info[0].slot, info[0].id + 1, &d, &cur), -ESTALE);
	T_EQ(ct_shard_decide(s, 1u << 30, 0, &d, &cur), -EINVAL);
	ct_process_burst_info(s, p, 1, T0 + SEC, v, info);
	T_EQ(info[0].dec.gen, 5);
	T_EQ(info[0].dec.rule, 3);
	/* An out-of-state packet of a decided connection is judged as invalid. */
	{
		struct ct_pkt t[4];

		t[0] = mk(6, a, b, 7000, 22, TH_SYN);
		t[1] = rev(t[0], TH_SYN | TH_ACK);
		t[2] = mk(6, a, b, 7000, 22, TH_ACK);
		ct_process_burst_info(s, t, 3, T0 + SEC, v, info);
		T_EQ(info[2].state, CT_STATE_ESTABLISHED);
		T_EQ(ct_shard_decide(s, info[2].slot, info[2].id, &d, &cur), 1);
		t[3] = mk(6, a, b, 7000, 22, TH_SYN | TH_ACK);  /* SYN/ACK from the client */
		ct_process_burst_info(s, &t[3], 1, T0 + SEC, v, info);
		T_EQ(info[0].state, CT_STATE_INVALID);
		T_EQ(info[0].dec.gen, 0);
		T_EQ(v[0], CT_V_PASS);
	}
	/* A live entry's event snapshot never shows the decision as a stop time. */
	{
		struct ct_event_rec r;

		T_EQ(ct_shard_lookup(s, &p[0].tuple, T0 + SEC, &r), 0);
		T_UEQ(r.stop_ns, 0);
	}
	ct_shard_free(s);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_states),
	T_CASE(test_rule_check),
	T_CASE(test_each_field),
	T_CASE(test_order_and_default),
	T_CASE(test_random_vs_reference),
	T_CASE(test_stateful_shard),
	T_CASE(test_reload_redecides),
	T_CASE(test_notrack),
	T_CASE(test_notrack_icmp_error),
	T_CASE(test_reload_under_traffic),
};

int
main(int argc, char **argv)
{
	char prefix[64];
	char *eal[] = {argv[0], "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
		       "--file-prefix", prefix, "-l", "0", "--log-level", "lib.eal:error", NULL};

	(void)argc;
	snprintf(prefix, sizeof(prefix), "t_policy_%d", (int)getpid());
	if (rte_eal_init((int)RTE_DIM(eal) - 1, eal) < 0) {
		printf("1..1\nnot ok 1 - EAL init (--no-huge) failed\n");
		return 1;
	}
	return t_run(cases, RTE_DIM(cases));
}
