/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-bench: the worker pipeline in memory.
 *
 *   dpct-bench --workload established|churn --flows N [--packets N]
 *              [--burst N] [--json] [--rules N] [--checksum verify|off]
 *              [--no-thp] [--events LIST] [--ring] [--traffic both|bulk] [--stagger] [--nat]
 *              [--limits N [--no-top]] [--top]
 *              [--tpol]
 *
 * --events: the records the shard builds, as the app's listeners would ask
 * (ct_shard_set_event_kinds()): a comma list of new, update and destroy
 * (as dpct-events --events), "all" (the default: every record a
 * connection's life makes) or "none" (no listener at all).
 *
 * --ring: the records go through an event channel (ev.h) as in the app:
 * each burst the worker's ev_worker_sync() pushes the staged records into
 * the ring (4096, the app's default) and applies the results, then the
 * control core's part takes them (ev_chan_pull_records(), which builds
 * each record from the shard's raw one) and acks the destroys. Without it
 * the bench takes the records from the shard itself (no ring copy). Sync's
 * cost to the workers (docs/ha.md, "Cost and scaling") is --events destroy
 * against --events all, both with --ring.
 *
 * Memory: the shard's tables come from lib/conntrack's heap allocator,
 * which advises blocks of 2 MiB and more as transparent huge pages (the
 * app uses DPDK hugepages). --no-thp gives the shard plain 4 KiB pages. The
 * rte_hash baseline lives in EAL's --no-huge memory, a memfd that THP does
 * not back on a default kernel (shmem_enabled "never"): 4 KiB pages, so
 * compare it with a --no-thp run for like-for-like paging.
 *
 * --limits N: a per-source limit rule of N live entries over 0.0.0.0/0 and
 * the top sketch (dpct's default: limits.top is on with or without rules);
 * --no-top without the sketch. --top: the sketch alone, no rule (dpct's
 * default config), the baseline that isolates what limit rules cost. Every flow has a source of its own, so nothing is refused:
 * it measures the counting (a count per source, one admit at each
 * creation and one release at each end) at its worst, a count for every
 * connection. --limit-group LEN counts per LEN-bit prefix of the source
 * instead (the rule's group_prefix; default 32): 24 gives 256 flows a
 * count, as a per-subnet limit would.
 * --tpol: every connection gets a timeout policy (ct_tpol.h) with the
 * global values, to measure the policy path against none.
 *
 * --rules N (policy): judge every burst with a stateful rule set
 * of N rules compiled with rte_acl (established/related accept first, N - 2
 * rules that the traffic never matches, tcp dport 80 new accept last);
 * NEW connections are classified, established packets only compare the
 * generation. Needs EAL (--no-huge) from the start.
 *
 * Per burst, like a worker after rx_burst: the NIC's part is simulated by
 * writing the flow's addresses, ports and flags into a small set of hot
 * 64-byte frames (as DMA into recycled mbufs would leave them in cache);
 * then the app's own worker pipeline (lib/pipeline: pipe_parse_burst() and
 * pipe_track_burst(), the functions dpct's workers call, over mbuf headers
 * that point at the frames), the staged event records committed as an
 * event ring would take them, and (churn) the control core's destroy acks
 * applied back so slots recycle. No EAL for the pipeline; EAL (--no-huge)
 * only for the rte_hash lookup_bulk baseline on the same keys in the same
 * run.
 *
 * cycles_per_pkt is the worker's work: the NIC's part (the frame writes,
 * and with --checksum the checksums) is timed per burst and taken out; it
 * is reported as nic_sim_cycles_per_pkt, the two together as
 * cycles_per_pkt_with_nic_sim. The quietest window is the worker's work
 * too.
 *
 * TCP segments carry per-flow sequence and ack numbers that a window tracker
 * accepts: each established packet is a new 10-byte data segment of its
 * direction that acks all the peer sent so far (a per-flow byte count in
 * the simulated NIC; the flows are not retransmitting), so the numbers
 * include window tracking as it runs on real traffic. With --traffic bulk
 * (established) only the original direction sends data; the reply
 * direction's segments are bare ACKs of it, as in a download, so whether a
 * segment moves a window edge follows its direction, which is random from
 * one packet to the next (the default, both, has every segment carry data
 * both ways). Churn walks every slot through the same 8-packet script, all
 * slots in step by default (one round over the slots after another), so
 * consecutive packets share their flags and direction; with --stagger every
 * packet comes from a slot picked at random, so the slots drift apart and
 * consecutive packets are at any point of their connections, as on a link
 * where connections open and close at random. --checksum writes
 * valid IPv4 and TCP checksums into every frame (in the timed loop, like the
 * rest of the simulated NIC) and, with "verify", checks them in software
 * after ct_parse (what dpct does on ports without checksum offload); "off"
 * writes them but does not check, so the two runs differ by the
 * verification alone.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_log.h>

#include "bench.h"

/* rte_hash lookup_bulk on the same flows' keys in the same random order
 * (churn: the keys of the first `flows` connections, as many as are live). */
static double
rte_hash_baseline(struct bench *b)
{
	struct rte_hash_parameters hp;
	struct rte_hash *h;
	struct ct_tuple *keys;
	const void *kp[32];
	int32_t pos[32];
	uint64_t x = 0x243f6a8885a308d3ull, t0, w0, cyc, lookups = 0;
	uint32_t f, i, n = b->flows;
	struct ct_pkt p;
	uint8_t frame[FRAME_LEN];

	memset(&hp, 0, sizeof(hp));
	hp.name = "dpct_bench_baseline";
	hp.entries = n + n / 4 + 64;
	hp.key_len = sizeof(struct ct_tuple);
	hp.hash_func = rte_hash_crc;
	hp.socket_id = 0;
	h = rte_hash_create(&hp);
	keys = malloc(sizeof(*keys) * n);
	if (h == NULL || keys == NULL) {
		free(keys);
		if (h != NULL)
			rte_hash_free(h);
		return -1;
	}
	frame_init(frame);
	for (f = 0; f < n; f++) {
		frame_set(frame, f, 0, TH_ACK);
		ct_parse(frame, FRAME_LEN, 0, &p);
		keys[f] = p.tuple;
		rte_hash_add_key(h, &keys[f]);
	}
	t0 = rte_rdtsc();
	w0 = t0;
	while (lookups < b->packets) {
		for (i = 0; i < 32; i++)
			kp[i] = &keys[rng_next(&x) % n];
		rte_hash_lookup_bulk(h, kp, 32, pos);
		lookups += 32;
		if (lookups % WINDOW == 0) {
			uint64_t t = rte_rdtsc();
			double c = (double)(t - w0) / WINDOW;

			if (b->rte_best == 0 || c < b->rte_best)
				b->rte_best = c;
			w0 = t;
		}
	}
	cyc = rte_rdtsc() - t0;
	rte_hash_free(h);
	free(keys);
	return (double)cyc / (double)lookups;
}

/* N rules the bench traffic (10.0.0.0/8 -> 192.0.2.0/26:80) meets only at the ends. */
static int
make_policy(struct bench *b)
{
	struct pol_ruleset rs;
	char err[256];
	int i, n = b->rules;

	pol_ruleset_init(&rs);
	rs.default_action = POL_DROP;
	rs.rules = calloc((size_t)(n > 0 ? n : 1), sizeof(*rs.rules));
	if (rs.rules == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		struct pol_rule *r = &rs.rules[i];

		pol_rule_init(r);
		if (i == 0) {
			r->states = (1u << CT_STATE_ESTABLISHED) | (1u << CT_STATE_RELATED);
		} else if (i == n - 1) {
			r->states = 1u << CT_STATE_NEW;
			r->proto = 6;
			r->n_dport = 1;
			r->dport[0].lo = r->dport[0].hi = 80;
		} else {
			/* 172.16.0.0/12 hosts, one port each: never the bench's flows. */
			r->action = POL_DROP;
			r->family = 4;
			r->proto = (int16_t)(i % 3 == 0 ? 17 : 6);
			r->src[0] = 172;
			r->src[1] = (uint8_t)(16 + (i >> 16 & 15));
			r->src[2] = (uint8_t)(i >> 8);
			r->src[3] = (uint8_t)i;
			r->src_len = 32;
			r->n_dport = 1;
			r->dport[0].lo = r->dport[0].hi = (uint16_t)(1 + i % 60000);
		}
	}
	rs.n_rules = (uint32_t)n;
	b->pol = pol_handle_create(&rs, 1, err, sizeof(err));
	pol_ruleset_clear(&rs);
	if (b->pol == NULL) {
		fprintf(stderr, "dpct-bench: policy: %s\n", err);
		return -1;
	}
	pol_worker_online(b->pol, 0);
	return 0;
}

/* The TSC rate without EAL: count cycles over 100 ms of CLOCK_MONOTONIC. */
static uint64_t
estimate_tsc_hz(void)
{
	struct timespec a, b;
	uint64_t c0, c1;
	double dt;

	clock_gettime(CLOCK_MONOTONIC, &a);
	c0 = rte_rdtsc();
	do {
		clock_gettime(CLOCK_MONOTONIC, &b);
		dt = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	} while (dt < 0.1);
	c1 = rte_rdtsc();
	return (uint64_t)((double)(c1 - c0) / dt);
}

/* --events: what ct_event_kinds_parse() takes, or all, none. -1 if bad. */
static int
kinds_parse(const char *arg)
{
	unsigned k;

	if (strcmp(arg, "all") == 0)
		return (int)CT_EVK_ALL;
	if (strcmp(arg, "none") == 0)
		return 0;
	return ct_event_kinds_parse(arg, &k) == 0 ? (int)k : -1;
}

/* The kinds as --events writes them (for the JSON). */
static void
kinds_name(unsigned k, char *out, size_t n)
{
	snprintf(out, n, "%s%s%s%s", k == 0 ? "none" : "", (k & CT_EVK_NEW) ? "new," : "",
		 (k & CT_EVK_UPDATE) ? "update," : "", (k & CT_EVK_DESTROY) ? "destroy," : "");
	if (k != 0)
		out[strlen(out) - 1] = '\0';
}

static void
usage(void)
{
	fprintf(stderr, "usage: dpct-bench --workload established|churn --flows N [--packets N]\n"
			"                  [--burst N] [--json] [--no-baseline] [--rules N]"
			" [--checksum verify|off] [--no-thp]\n"
			"                  [--events new,update,destroy|all|none] [--ring]"
			" [--traffic both|bulk]\n"
			"                  [--stagger] [--nat] [--tpol]\n"
			"                  [--limits N [--no-top] [--limit-group LEN]] [--top]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "workload", required_argument, NULL, 'w' },
		{ "flows", required_argument, NULL, 'f' },
		{ "packets", required_argument, NULL, 'p' },
		{ "burst", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "no-baseline", no_argument, NULL, 'n' },
		{ "rules", required_argument, NULL, 'r' },
		{ "checksum", required_argument, NULL, 'c' },
		{ "no-thp", no_argument, NULL, 't' },
		{ "events", required_argument, NULL, 'e' },
		{ "ring", no_argument, NULL, 'R' },
		{ "traffic", required_argument, NULL, 'T' },
		{ "stagger", no_argument, NULL, 'S' },
		{ "nat", no_argument, NULL, 'N' },
		{ "limits", required_argument, NULL, 'L' },
		{ "no-top", no_argument, NULL, 'O' },
		{ "top", no_argument, NULL, 'K' },
		{ "limit-group", required_argument, NULL, 'G' },
		{ "tpol", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench *b = calloc(1, sizeof(*b));
	char *eal_argv[] = { "dpct-bench", "--no-huge", "-m", "3072", "--no-pci",
			     "--no-shconf", "--log-level=error", "--no-telemetry", NULL };
	uint64_t cycles = 0, all_cycles, conns = 0, hz;
	double cpp, rte = -1;
	struct ct_stats st;
	int opt, churn, baseline = 1, i, eal_up = 0;
	unsigned j;

	if (b == NULL)
		return 2;
	b->burst = 32;
	b->rules = -1;
	b->limit_group = -1;
	b->ev_kinds = CT_EVK_ALL;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'w':
			b->workload = optarg;
			break;
		case 'f':
			b->flows = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			b->packets = strtoull(optarg, NULL, 10);
			break;
		case 'b':
			b->burst = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'j':
			b->json = 1;
			break;
		case 'n':
			baseline = 0;
			break;
		case 't':
			b->no_thp = 1;
			break;
		case 'e': {
			int k = kinds_parse(optarg);

			if (k < 0) {
				fprintf(stderr, "dpct-bench: --events: expected a comma list of new,"
						" update and destroy, or all or none; got \"%s\"\n",
					optarg);
				return 1;
			}
			b->ev_kinds = (unsigned)k;
			break;
		}
		case 'S':
			b->stagger = 1;
			break;
		case 'N':
			b->nat = 1;
			break;
		case 'L': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*optarg < '0' || *optarg > '9' || *end != '\0' || v == 0 ||
			    v > (1u << 28)) {
				fprintf(stderr, "dpct-bench: --limits: expected 1..%u live entries, "
						"got \"%s\"\n", 1u << 28, optarg);
				return 1;
			}
			b->limit = (uint32_t)v;
			break;
		}
		case 'O':
			b->no_top = 1;
			break;
		case 'K':
			b->top_only = 1;
			break;
		case 'G': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*optarg < '0' || *optarg > '9' || *end != '\0' || v > 32) {
				fprintf(stderr, "dpct-bench: --limit-group: expected 0..32, got \"%s\"\n",
					optarg);
				return 1;
			}
			b->limit_group = (int)v;
			break;
		}
		case 'T':
			if (strcmp(optarg, "bulk") == 0) {
				b->bulk = 1;
			} else if (strcmp(optarg, "both") != 0) {
				fprintf(stderr, "dpct-bench: --traffic: expected both or bulk, got \"%s\"\n",
					optarg);
				return 1;
			}
			break;
		case 'c':
			if (strcmp(optarg, "verify") == 0) {
				b->csum = 2;
			} else if (strcmp(optarg, "off") == 0) {
				b->csum = 1;
			} else {
				usage();
				return 1;
			}
			break;
		case 'P':
			b->tpol = 1;
			break;
		case 'R':
			b->ring = 1;
			break;
		case 'r':
			b->rules = (int)strtol(optarg, NULL, 10);
			if (b->rules < 0 || b->rules > POL_MAX_RULES) {
				usage();
				return 1;
			}
			break;
		default:
			usage();
			return opt == 'h' ? 0 : 1;
		}
	}
	if (b->workload == NULL || b->flows == 0 || b->flows > (1u << 24) || b->burst == 0 ||
	    b->burst > MAX_BURST ||
	    (strcmp(b->workload, "established") != 0 && strcmp(b->workload, "churn") != 0)) {
		usage();
		return 1;
	}
	churn = strcmp(b->workload, "churn") == 0;
	if ((b->no_top || b->limit_group >= 0) && b->limit == 0) {
		fprintf(stderr, "dpct-bench: --no-top and --limit-group are for --limits\n");
		return 1;
	}
	if (b->top_only && b->limit != 0) {
		fprintf(stderr, "dpct-bench: --top is the sketch without --limits (which has it)\n");
		return 1;
	}
	if (churn && b->bulk) {
		fprintf(stderr, "dpct-bench: --traffic is for --workload established\n");
		return 1;
	}
	if (!churn && b->stagger) {
		fprintf(stderr, "dpct-bench: --stagger is for --workload churn\n");
		return 1;
	}
	if (b->packets == 0)
		b->packets = churn ? (uint64_t)b->flows * 16 : 8000000;
	for (j = 0; j < MAX_BURST; j++) {
		frame_init(b->frames[j]);
		b->mbufs[j].buf_addr = b->frames[j];
		b->mbufs[j].data_len = FRAME_LEN;
		b->mbufs[j].pkt_len = FRAME_LEN;
		b->mbufs[j].nb_segs = 1;
		b->mptr[j] = &b->mbufs[j];
	}
	b->now = UINT64_C(1767225600) * 1000000000;
	if (b->rules >= 0) {
		rte_log_set_global_level(RTE_LOG_ERR);
		if (rte_eal_init((int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1, eal_argv) < 0) {
			fprintf(stderr, "dpct-bench: EAL init failed (needed by --rules)\n");
			return 2;
		}
		eal_up = 1;
		if (make_policy(b) != 0)
			return 2;
	}
	if (make_shard(b, churn ? b->flows * 2 + 1024 : b->flows + 1024, b->flows) != 0)
		return 2;
	if ((churn ? bench_churn(b, &cycles, &conns) : bench_established(b, &cycles)) != 0) {
		fprintf(stderr, "dpct-bench: out of memory\n");
		return 2;
	}
	ct_shard_stats(b->s, &st);
	hz = estimate_tsc_hz();
	/* The pipeline's cycles: the whole timed loop less the simulated NIC's part. */
	all_cycles = cycles;
	cycles -= b->nic_cycles < cycles ? b->nic_cycles : cycles;
	/* And less the control core's part (building the records, the acks), reported apart. */
	cycles -= b->ctl_cycles < cycles ? b->ctl_cycles : cycles;
	cpp = (double)cycles / (double)b->packets;
	if (baseline) {
		rte_log_set_global_level(RTE_LOG_ERR);
		i = eal_up ? 0 :
		    rte_eal_init((int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1, eal_argv);
		if (i >= 0) {
			eal_up = 1;
			rte = rte_hash_baseline(b);
		}
	}
	if (b->json) {
		printf("{\"workload\":\"%s\",\"flows\":%u,\"packets\":%" PRIu64
		       ",\"cycles_per_pkt\":%.1f,\"mpps\":%.2f,\"tsc_hz\":%" PRIu64
		       ",\"bytes_per_entry\":%zu",
		       b->workload, b->flows, b->packets, cpp,
		       (double)hz / cpp / 1e6, hz, ct_shard_bytes_per_entry(b->s));
		if (churn)
			printf(",\"new_conn_per_s\":%.0f",
			       (double)conns / ((double)cycles / (double)hz));
		printf(",\"rte_hash_cycles_per_key\":%.1f,\"drops\":%" PRIu64
		       ",\"best_window_cycles_per_pkt\":%.1f"
		       ",\"rte_hash_best_window_cycles_per_key\":%.1f"
		       ",\"nic_sim_cycles_per_pkt\":%.1f,\"cycles_per_pkt_with_nic_sim\":%.1f",
		       rte, b->drops, b->best_cpp, b->rte_best,
		       (double)b->nic_cycles / (double)b->packets,
		       (double)all_cycles / (double)b->packets);
		if (b->rules >= 0)
			printf(",\"rules\":%d,\"policy_cycles_per_pkt\":%.1f", b->rules,
			       b->pst.pol_pkts ? (double)b->pst.pol_cycles / (double)b->pst.pol_pkts : 0.0);
		if (b->rules >= 0 && churn && conns > 0)
			printf(",\"policy_cycles_per_conn\":%.1f",
			       (double)b->pst.pol_cycles / (double)conns);
		if (churn && conns > 0)
			printf(",\"cycles_per_conn\":%.1f", (double)cycles / (double)conns);
		printf(",\"window_ignored\":%" PRIu64, st.ignore);
		{
			char kn[32];

			kinds_name(b->ev_kinds, kn, sizeof(kn));
			printf(",\"events\":\"%s\",\"events_unwanted\":%" PRIu64, kn,
			       st.events_unwanted);
			printf(",\"ring\":%s,\"ring_full\":%" PRIu64 ",\"ring_lost\":%" PRIu64
			       ",\"control_cycles_per_pkt\":%.1f",
			       b->ring ? "true" : "false", st.ring_full, b->ring_lost,
			       (double)b->ctl_cycles / (double)b->packets);
		}
		printf(",\"nat\":%s", b->nat ? "true" : "false");
		printf(",\"limit_group\":%d", b->limit_group >= 0 ? b->limit_group : 32);
		printf(",\"limit\":%u,\"top\":%s,\"limit_drop\":%" PRIu64, b->limit,
		       (b->limit != 0 && !b->no_top) || b->top_only ? "true" : "false", st.limit_drop);
		printf(",\"checksum\":\"%s\",\"pages\":\"%s\",\"traffic\":\"%s\"}\n",
		       b->csum == 2 ? "verify" : b->csum == 1 ? "off" : "none",
		       b->no_thp ? "4k" : "thp",
		       churn ? (b->stagger ? "staggered" : "lockstep") : b->bulk ? "bulk" : "both");
	} else {
		printf("%s: %u flows, %" PRIu64 " packets: %.1f cycles/packet, %.2f Mpps at %.2f GHz,"
		       " %zu bytes/entry\n", b->workload, b->flows, b->packets, cpp,
		       (double)hz / cpp / 1e6, (double)hz / 1e9, ct_shard_bytes_per_entry(b->s));
		if (churn)
			printf("  %.0f new connections/s (%" PRIu64 " completed)\n",
			       (double)conns / ((double)cycles / (double)hz), conns);
		printf("  simulated NIC (frame writes, not counted above): %.1f cycles/packet\n",
		       (double)b->nic_cycles / (double)b->packets);
		if (b->best_cpp > 0)
			printf("  quietest window of %u packets: %.1f cycles/packet\n", WINDOW,
			       b->best_cpp);
		if (rte >= 0)
			printf("  rte_hash lookup_bulk baseline: %.1f cycles/key\n", rte);
		printf("  packets ignored by the TCP window check: %" PRIu64 "\n", st.ignore);
		printf("  packets dropped: %" PRIu64 "%s\n", b->drops,
		       b->csum == 2 ? " (checksums verified in software)" :
		       b->csum == 1 ? " (checksums written, not verified)" : "");
		if (b->rules >= 0)
			printf("  policy: %d rules (rte_acl), %.1f cycles/packet in pol_apply_burst\n",
			       b->rules, b->pst.pol_pkts ? (double)b->pst.pol_cycles / (double)b->pst.pol_pkts : 0.0);
		if (churn && conns > 0)
			printf("  %.1f cycles per connection (8 packets)\n",
			       (double)cycles / (double)conns);
	}
	if (b->pol != NULL) {
		pol_worker_offline(b->pol, 0);
		pol_handle_free(b->pol);
	}
	if (eal_up)
		rte_eal_cleanup();
	free_shard(b);
	free(b);
	return 0;
}
