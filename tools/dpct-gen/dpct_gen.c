/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-gen: deterministic pcap workloads for dpct's tests, demo and the
 * Linux reference comparison.
 *
 *   dpct-gen --workload short-tcp|udp|icmp|mix|malformed|strict|bulk-tcp|sctp|dccp|gre|
 *                  ftp|tftp
 *            --flows N
 *            [--concurrency C] [--ipv6] [--seed S] -o FILE.pcap
 *
 * Exit status: 0 ok, 1 bad arguments, 2 runtime failure (memory, file).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

#define MAX_FLOWS 200000000ULL  /* tuples stay unique up to 256M flows */
#define MAX_CONCURRENCY 1000000ULL

static const char *const workload_names[GEN_W_MAX] = {
	[GEN_W_SHORT_TCP] = "short-tcp",
	[GEN_W_UDP] = "udp",
	[GEN_W_ICMP] = "icmp",
	[GEN_W_MIX] = "mix",
	[GEN_W_MALFORMED] = "malformed",
	[GEN_W_STRICT] = "strict",
	[GEN_W_BULK_TCP] = "bulk-tcp",
	[GEN_W_SCTP] = "sctp",
	[GEN_W_DCCP] = "dccp",
	[GEN_W_GRE] = "gre",
	[GEN_W_FTP] = "ftp",
	[GEN_W_TFTP] = "tftp",
};

static void
usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s --workload short-tcp|udp|icmp|mix|malformed|strict|bulk-tcp|\n"
		"                  sctp|dccp|gre|ftp|tftp --flows N\n"
		"       [--concurrency C] [--ipv6] [--seed S] -o FILE.pcap\n"
		"  --workload W     traffic shape (see docs/README.md)\n"
		"  --flows N        number of flows (malformed: half are single bad packets)\n"
		"  --concurrency C  flows open at once, interleaved round-robin (default 64)\n"
		"  --ipv6           IPv6 addresses (fd00::/8 clients, 2001:db8::/32 servers)\n"
		"  --seed S         PRNG seed (default 1); same arguments, same bytes\n"
		"  -o, --output F   pcap file to write (Ethernet, microsecond timestamps)\n"
		"  --vlan-dup A,B   write every frame twice, tagged VLAN A and VLAN B\n",
		prog);
}

/* Parse an unsigned decimal in [lo, hi]; 0 or -EINVAL. */
static int
parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "workload", required_argument, NULL, 'w' },
		{ "flows", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "seed", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "vlan-dup", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gen_params p = { .workload = GEN_W_MAX, .concurrency = 64, .seed = 1 };
	struct gen_result res;
	const char *path = NULL;
	int have_flows = 0, opt, rc, i, k, first;
	uint64_t v;
	pcap_t *pd;
	pcap_dumper_t *dumper;
	FILE *fp;

	while ((opt = getopt_long(argc, argv, "w:n:c:6s:o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'w':
			for (i = 0; i < GEN_W_MAX; i++)
				if (strcmp(optarg, workload_names[i]) == 0)
					break;
			if (i == GEN_W_MAX) {
				fprintf(stderr, "dpct-gen: unknown workload '%s'\n", optarg);
				usage(stderr, argv[0]);
				return 1;
			}
			p.workload = (enum gen_workload)i;
			break;
		case 'n':
			if (parse_u64(optarg, 0, MAX_FLOWS, &v) < 0) {
				fprintf(stderr, "dpct-gen: --flows wants 0..%llu, got '%s'\n",
					MAX_FLOWS, optarg);
				return 1;
			}
			p.flows = v;
			have_flows = 1;
			break;
		case 'c':
			if (parse_u64(optarg, 1, MAX_CONCURRENCY, &v) < 0) {
				fprintf(stderr, "dpct-gen: --concurrency wants 1..%llu, got '%s'\n",
					MAX_CONCURRENCY, optarg);
				return 1;
			}
			p.concurrency = (uint32_t)v;
			break;
		case '6':
			p.v6 = 1;
			break;
		case 's':
			if (parse_u64(optarg, 0, UINT64_MAX, &v) < 0) {
				fprintf(stderr, "dpct-gen: --seed wants an unsigned integer, got '%s'\n",
					optarg);
				return 1;
			}
			p.seed = v;
			break;
		case 'o':
			path = optarg;
			break;
		case 'V': {
			unsigned a, b;
			char c;

			if (sscanf(optarg, "%u,%u%c", &a, &b, &c) != 2 || a > 4095 || b > 4095 ||
			    a == b) {
				fprintf(stderr, "dpct-gen: --vlan-dup wants A,B: two VLAN ids "
					"0..4095, got '%s'\n", optarg);
				return 1;
			}
			p.vlan_dup[0] = (uint16_t)a;
			p.vlan_dup[1] = (uint16_t)b;
			p.n_vlan_dup = 2;
			break;
		}
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 1;
		}
	}
	if (optind < argc || p.workload == GEN_W_MAX || !have_flows || path == NULL) {
		if (optind < argc)
			fprintf(stderr, "dpct-gen: unexpected argument '%s'\n", argv[optind]);
		else
			fprintf(stderr, "dpct-gen: --workload, --flows and -o are required\n");
		usage(stderr, argv[0]);
		return 1;
	}

	pd = pcap_open_dead(DLT_EN10MB, GEN_FRAME_MAX);
	if (pd == NULL) {
		fprintf(stderr, "dpct-gen: pcap_open_dead failed\n");
		return 2;
	}
	dumper = pcap_dump_open(pd, path);
	if (dumper == NULL) {
		fprintf(stderr, "dpct-gen: %s: %s\n", path, pcap_geterr(pd));
		pcap_close(pd);
		return 2;
	}
	rc = gen_run(&p, dumper, &res);
	fp = pcap_dump_file(dumper);
	if (rc == 0 && (fflush(fp) != 0 || ferror(fp)))
		rc = -EIO;
	pcap_dump_close(dumper);
	pcap_close(pd);
	if (rc < 0) {
		fprintf(stderr, "dpct-gen: %s: %s\n", path, strerror(-rc));
		remove(path);
		return 2;
	}

	if (p.workload == GEN_W_MALFORMED) {
		fprintf(stderr, "dpct-gen: malformed:");
		for (k = GEN_K_BAD_FIRST; k < GEN_K_MAX; k++)
			fprintf(stderr, " %s=%" PRIu64, gen_kind_name((enum gen_kind)k),
				res.kind_count[k]);
		fprintf(stderr, "\n");
	}
	fprintf(stderr, "dpct-gen: kinds:");
	first = 1;
	for (k = 0; k < GEN_K_BAD_FIRST; k++) {
		if (res.kind_count[k] == 0)
			continue;
		fprintf(stderr, " %s=%" PRIu64, gen_kind_name((enum gen_kind)k),
			res.kind_count[k]);
		first = 0;
	}
	fprintf(stderr, "%s\n", first ? " none" : "");
	printf("dpct-gen: workload=%s flows=%" PRIu64 " packets=%" PRIu64 " bytes=%" PRIu64
	       " file=%s\n", workload_names[p.workload], res.flows, res.packets, res.bytes, path);
	return 0;
}
