/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct: entry point. App options are parsed and the config is loaded before
 * EAL starts, so bad arguments and bad configs exit 1 with nothing started.
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>

#include "dpct.h"
#include "dpct_export.h"
#include "dpct_top.h"
#include "ha.h"
#include "dpct_default_config.h"
#include "mem.h"

RTE_LOG_REGISTER_DEFAULT(dpct_logtype, INFO);

struct dpct_app dpct;

static void
usage(const char *prog)
{
	printf("Usage: %s [EAL options] -- [--config FILE] [--fwd io|drop]\n"
	       "       [--stats-period SEC] [--replay] [--flush-on-eof]\n"
	       "       [--drain-timeout-ms N] [--stats-json FILE] [--wait-listeners N]\n"
	       "       [--flush-on-exit]\n"
	       "  --config FILE         JSON configuration (default: the embedded demo config)\n"
	       "  --fwd io|drop         forwarding engine (default io; rxonly = drop)\n"
	       "  --stats-period SEC    print statistics every SEC seconds (0 = off)\n"
	       "  --replay              packet clock from pcap timestamps; exit when every\n"
	       "                        port is exhausted and the dying list is empty\n"
	       "  --flush-on-eof        in replay mode, flush the table when input ends\n"
	       "  --drain-timeout-ms N  bound on the drain at exit (default 30000)\n"
	       "  --flush-on-exit       on SIGTERM/SIGINT, send a DESTROY for every live entry\n"
	       "                        and drain them before exiting\n"
	       "  --stats-json FILE     write final statistics as one JSON object\n"
	       "  --wait-listeners N    hold RX until N event listeners subscribed (max 30 s)\n"
	       "  --help                this text\n"
	       "Exit status: 0 ok; 1 bad config or arguments; 2 runtime failure;\n"
	       "             3 destroy events undelivered at the end of the drain\n", prog);
}

static int
parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s == '\0' || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* Returns 0, 1 for --help, or -EINVAL. */
static int
parse_app_args(int argc, char **argv, struct dpct_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "fwd", required_argument, NULL, 'f' },
		{ "stats-period", required_argument, NULL, 'p' },
		{ "replay", no_argument, NULL, 'r' },
		{ "flush-on-eof", no_argument, NULL, 'F' },
		{ "flush-on-exit", no_argument, NULL, 'X' },
		{ "drain-timeout-ms", required_argument, NULL, 'd' },
		{ "stats-json", required_argument, NULL, 'j' },
		{ "wait-listeners", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "io") != 0 && strcmp(optarg, "drop") != 0 &&
			    strcmp(optarg, "rxonly") != 0) {
				fprintf(stderr, "dpct: --fwd: unknown engine '%s' (io|drop)\n",
					optarg);
				return -EINVAL;
			}
			o->fwd_name = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 86400, &o->stats_period_s) < 0) {
				fprintf(stderr, "dpct: --stats-period: bad value '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'r':
			o->replay = true;
			break;
		case 'F':
			o->flush_on_eof = true;
			break;
		case 'X':
			o->flush_on_exit = true;
			break;
		case 'd':
			if (parse_uint(optarg, 86400000, &o->drain_timeout_ms) < 0) {
				fprintf(stderr, "dpct: --drain-timeout-ms: bad value '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'j':
			o->stats_json = optarg;
			break;
		case 'w':
			if (parse_uint(optarg, 64, &o->wait_listeners) < 0) {
				fprintf(stderr, "dpct: --wait-listeners: bad value '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			return 1;
		default:
			fprintf(stderr, "dpct: bad option '%s'\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dpct: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/*
 * net_pcap in 22.11 has no end-of-file signal: count each rx_pcap's records
 * now so replay mode knows when a port's input is exhausted.
 */
static void
count_pcap_inputs(int argc, char **argv)
{
	int i;

	for (i = 0; i < DPCT_MAX_PORTS; i++)
		dpct.ports[i].pcap_records = -1;
	for (i = 1; i < argc; i++) {
		const char *v = NULL;
		char name[64], path[4096];
		const char *p, *q;
		size_t len;
		int64_t n;

		if (strcmp(argv[i], "--vdev") == 0 && i + 1 < argc)
			v = argv[++i];
		else if (strncmp(argv[i], "--vdev=", 7) == 0)
			v = argv[i] + 7;
		if (v == NULL || strncmp(v, "net_pcap", 8) != 0)
			continue;
		p = strstr(v, "rx_pcap=");
		if (p == NULL)
			continue;
		len = strcspn(v, ",");
		if (len >= sizeof(name))
			continue;
		memcpy(name, v, len);
		name[len] = '\0';
		p += 8;
		q = p + strcspn(p, ",");
		if ((size_t)(q - p) >= sizeof(path))
			continue;
		memcpy(path, p, q - p);
		path[q - p] = '\0';
		n = dpct_pcap_count(path);
		/* Matched to ports by device name once EAL has created them. */
		for (unsigned k = 0; k < DPCT_MAX_PORTS; k++) {
			if (dpct.ports[k].name[0] == '\0') {
				snprintf(dpct.ports[k].name, sizeof(dpct.ports[k].name), "%s",
					 name);
				dpct.ports[k].pcap_records = n;
				dpct.ports[k].pcap_infinite = strstr(v, "infinite_rx=1") != NULL;
				break;
			}
		}
	}
}

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&dpct.sig, true);
}

int
main(int argc, char **argv)
{
	struct pol_ruleset rules;
	bool has_policy = false;
	char err[512];
	int dd, rc, n_eal;
	unsigned lcore;

	for (dd = 1; dd < argc; dd++)
		if (strcmp(argv[dd], "--") == 0)
			break;

	dpct.opts.fwd_name = "io";
	dpct.opts.drain_timeout_ms = 30000;
	if (dd < argc) {
		rc = parse_app_args(argc - dd, argv + dd, &dpct.opts);
		if (rc == 1) {
			usage(argv[0]);
			return DPCT_EXIT_OK;
		}
		if (rc < 0) {
			usage(argv[0]);
			return DPCT_EXIT_USAGE;
		}
	}
	dpct.fwd = strcmp(dpct.opts.fwd_name, "io") == 0 ? &dpct_fwd_io : &dpct_fwd_drop;

	/* The file is read once: the policy rules come from the same parse. */
	dpct_config_defaults(&dpct.cfg);
	if (dpct.opts.config_path != NULL)
		rc = dpct_config_load_full(&dpct.cfg, dpct.opts.config_path, &rules, &has_policy,
					   err, sizeof(err));
	else
		rc = dpct_config_parse_full(&dpct.cfg, dpct_default_config,
					    strlen(dpct_default_config), &rules, &has_policy, err,
					    sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "dpct: config: %s\n", err);
		return DPCT_EXIT_USAGE;
	}

	count_pcap_inputs(dd, argv);

	n_eal = rte_eal_init(dd, argv);
	if (n_eal < 0) {
		fprintf(stderr, "dpct: EAL init failed: %s\n", rte_strerror(rte_errno));
		pol_ruleset_clear(&rules);
		return DPCT_EXIT_USAGE;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	dpct.tsc_hz = rte_get_tsc_hz();
	{
		/* Live clock = TSC + this offset: epoch ns, as the kernel's CTA_TIMESTAMP
		 * (replay uses the capture times, already epoch). */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		dpct.epoch_offset_ns = (uint64_t)ts.tv_sec * 1000000000ull +
				       (uint64_t)ts.tv_nsec - dpct_now();
	}
	atomic_store(&dpct.rc, DPCT_EXIT_OK);

	/*
	 * A table that cannot fit is refused before its first byte (or the mbuf
	 * pool) is allocated. Workers as dpct_ports_init() counts them: every
	 * lcore but the main one, at most workers.count.
	 */
	if (dpct_mem_check(&dpct, RTE_MIN(dpct.cfg.workers != 0 ? dpct.cfg.workers :
					  rte_lcore_count() - 1, rte_lcore_count() - 1)) < 0) {
		pol_ruleset_clear(&rules);
		rte_eal_cleanup();
		return DPCT_EXIT_USAGE;
	}
	rc = dpct_ports_init(&dpct);
	if (rc == 0)
		rc = dpct_workers_init(&dpct);
	if (rc == 0)
		rc = dpct_top_init(&dpct);
	if (rc < 0) {
		pol_ruleset_clear(&rules);
		dpct_workers_free(&dpct);
		dpct_ports_close(&dpct);
		rte_eal_cleanup();
		return DPCT_EXIT_RUNTIME;
	}
	if (dpct_policy_init(&dpct, &rules, has_policy) < 0) {
		dpct_policy_free(&dpct);
		dpct_workers_free(&dpct);
		dpct_ports_close(&dpct);
		rte_eal_cleanup();
		return DPCT_EXIT_USAGE;
	}
	/* NAT: the pools' ports are divided among the workers now counted. */
	if (dpct_nat_init(&dpct, err, sizeof(err)) < 0) {
		fprintf(stderr, "dpct: config: %s\n", err);
		dpct_policy_free(&dpct);
		dpct_workers_free(&dpct);
		dpct_ports_close(&dpct);
		rte_eal_cleanup();
		return DPCT_EXIT_USAGE;
	}
	if (dpct_telemetry_init(&dpct) < 0 || dpct_telemetry_rules_init(&dpct) < 0 ||
	    dpct_telemetry_nat_init(&dpct) < 0 || dpct_telemetry_ha_init(&dpct) < 0 ||
	    dpct_telemetry_top_init(&dpct) < 0)
		DPCT_LOG(WARNING, "telemetry commands not registered\n");

	RTE_LCORE_FOREACH_WORKER(lcore) {
		for (unsigned i = 0; i < dpct.n_workers; i++)
			if (dpct.workers[i].lcore == lcore)
				rte_eal_remote_launch(dpct_worker_main, &dpct.workers[i], lcore);
	}
	rc = dpct_control_run(&dpct);
	/* While the workers still run: a reload in progress gets its grace period. */
	dpct_policy_stop(&dpct);
	dpct_export_stop(&dpct, dpct.opts.drain_timeout_ms);
	dpct_ha_stop(&dpct);
	atomic_store(&dpct.quit, true);
	rte_eal_mp_wait_lcore();

	dpct_print_stats(&dpct, true);
	if (dpct.opts.stats_json != NULL &&
	    dpct_write_stats_json(&dpct, dpct.opts.stats_json) < 0) {
		DPCT_LOG(ERR, "cannot write %s\n", dpct.opts.stats_json);
		if (rc == DPCT_EXIT_OK)
			rc = DPCT_EXIT_RUNTIME;
	}
	dpct_workers_free(&dpct);
	dpct_policy_free(&dpct);
	dpct_nat_free(&dpct);
	dpct_ports_close(&dpct);
	rte_eal_cleanup();
	return rc;
}
