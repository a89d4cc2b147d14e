/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Runs lib/conntrack's parser over every packet of a capture and prints one
 * JSON object: packets per parse class and invalid packets per reason name.
 * test_gen.py checks it against the shapes dpct-gen says it wrote, so the
 * generator and the parser keep each other honest.
 *
 *   gen_parse_check FILE.pcap
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <pcap/pcap.h>

#include "ct.h"

static const char *const class_names[] = {
	[CT_PKT_TRACK] = "track",
	[CT_PKT_ICMP_ERROR] = "icmp_error",
	[CT_PKT_NOT_IP] = "not_ip",
	[CT_PKT_FRAGMENT] = "fragment",
	[CT_PKT_INVALID] = "invalid",
};

#define N_CLASSES (sizeof(class_names) / sizeof(class_names[0]))

int
main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	uint64_t by_class[N_CLASSES], by_reason[CT_INV_MAX], other = 0;
	struct pcap_pkthdr *h;
	const u_char *data;
	struct ct_pkt pkt;
	pcap_t *p;
	unsigned i;
	int rc, first;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE.pcap\n", argv[0]);
		return 1;
	}
	p = pcap_open_offline(argv[1], errbuf);
	if (p == NULL) {
		fprintf(stderr, "%s: %s\n", argv[1], errbuf);
		return 2;
	}
	memset(by_class, 0, sizeof(by_class));
	memset(by_reason, 0, sizeof(by_reason));
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		memset(&pkt, 0xa5, sizeof(pkt)); /* the parser must fill everything it reports */
		ct_parse(data, h->caplen, 0, &pkt);
		if (pkt.cls >= N_CLASSES) {
			other++;
			continue;
		}
		by_class[pkt.cls]++;
		if (pkt.cls == CT_PKT_INVALID)
			by_reason[pkt.invalid_reason < CT_INV_MAX ? pkt.invalid_reason : 0]++;
	}
	if (rc != PCAP_ERROR_BREAK) {
		fprintf(stderr, "%s: %s\n", argv[1], pcap_geterr(p));
		pcap_close(p);
		return 2;
	}
	pcap_close(p);

	printf("{\"classes\":{");
	for (i = 0; i < N_CLASSES; i++)
		printf("%s\"%s\":%" PRIu64, i ? "," : "", class_names[i], by_class[i]);
	printf(",\"other\":%" PRIu64 "},\"invalid\":{", other);
	first = 1;
	for (i = 0; i < CT_INV_MAX; i++) {
		if (by_reason[i] == 0)
			continue;
		printf("%s\"%s\":%" PRIu64, first ? "" : ",", ct_invalid_reason_name(i),
		       by_reason[i]);
		first = 0;
	}
	printf("}}\n");
	return 0;
}
