/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ct_replay: lib/conntrack alone on a capture, for the Linux reference test.
 *
 * One shard, the packets' capture time as the clock (as dpct --replay), every
 * event record printed as a JSON line in dpct-events' format (the fields the
 * comparison uses), and at the end of the capture a flush (as dpct
 * --flush-on-eof) whose DESTROYs are acknowledged as a listener that keeps up
 * would. It compares the library's semantics with Linux without the app,
 * EAL or netlink in the way.
 *
 *   ct_replay FILE.pcap > events.jsonl
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <pcap/pcap.h>

#include "ct.h"

static void
print_addr(const struct ct_tuple *t, const uint8_t *a)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(t->family == 6 ? AF_INET6 : AF_INET, a, buf, sizeof(buf));
	printf("\"%s\"", buf);
}

static void
print_record(const struct ct_event_rec *r)
{
	const struct ct_tuple *t = &r->orig;
	const char *type;

	/* As ctnetlink: DESTROY -> delete, NEW or RELATED -> new, anything else -> update. */
	if (r->events & CT_EV_DESTROY)
		type = "destroy";
	else if (r->events & (CT_EV_NEW | CT_EV_RELATED))
		type = "new";
	else
		type = "update";
	printf("{\"type\":\"%s\",\"family\":%u,\"l4proto\":%u,\"id\":%u,\"status\":%u,"
	       "\"assured\":%s,\"events\":%u", type, t->family, t->proto, r->id, r->status,
	       (r->status & CT_S_ASSURED) ? "true" : "false", r->events);
	if (t->proto == 6)
		printf(",\"state\":\"%s\"", ct_tcp_state_name(r->tcp_state));
	/* SCTP: as ctnetlink, the state only in messages that carry CTA_PROTOINFO. */
	if (t->proto == 132 &&
	    (r->events & (CT_EV_NEW | CT_EV_RELATED | CT_EV_PROTOINFO | CT_EV_DESTROY)))
		printf(",\"state\":\"%s\"", ct_sctp_state_name(r->tcp_state));
	printf(",\"orig\":{\"src\":");
	print_addr(t, t->src);
	printf(",\"dst\":");
	print_addr(t, t->dst);
	if (t->zone != 0)
		printf(",\"zone\":%u", t->zone);
	if (t->proto == 1 || t->proto == 58)
		printf(",\"icmp_id\":%u", t->sport);
	else
		printf(",\"sport\":%u,\"dport\":%u", t->sport, t->dport);
	/* Counters as ctnetlink sends them: on DESTROY. */
	if (r->events & CT_EV_DESTROY)
		printf(",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 "},\"reply\":{\"packets\":%"
		       PRIu64 ",\"bytes\":%" PRIu64 "}}\n", r->pkts[0], r->bytes[0], r->pkts[1],
		       r->bytes[1]);
	else
		printf("}}\n");
}

/* Print and commit every staged record; destroys are delivered, so ack them. */
static unsigned
drain(struct ct_shard *s, uint64_t now)
{
	struct ct_event_rec *recs;
	static struct ct_result res[4096];
	unsigned n, i, k = 0, total;

	recs = ct_shard_ev_peek(s, &n);
	total = n;
	for (i = 0; i < n; i++)
		print_record(&recs[i]);
	/* Copy what the acks need before commit empties the staging buffer. */
	for (i = 0; i < n; i++) {
		if (!(recs[i].events & CT_EV_DESTROY))
			continue;
		if (k == sizeof(res) / sizeof(res[0]))
			break; /* left dying: the exit status says so */
		memset(&res[k], 0, sizeof(res[k]));
		res[k].slot = recs[i].slot;
		res[k].id = recs[i].id;
		res[k].events = recs[i].events;
		res[k].kind = CT_RES_DESTROY_ACK;
		k++;
	}
	ct_shard_ev_commit(s, n, now);
	for (i = 0; i < k; i++)
		ct_shard_apply_result(s, &res[i], now);
	return total;
}

int
main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE], err[256];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct ct_conf conf;
	struct ct_shard *s;
	struct ct_stats st;
	struct ct_pkt pkt;
	uint64_t now = 0, packets = 0;
	uint8_t verdict;
	pcap_t *p;
	int rc, guard, by_vlan = 0;
	uint16_t zone = 0;

	/* --zone-by-vlan: each frame's zone is its outer VLAN id (untagged: 0). */
	if (argc == 3 && strcmp(argv[1], "--zone-by-vlan") == 0) {
		by_vlan = 1;
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s [--zone-by-vlan] FILE.pcap\n", argv[0]);
		return 1;
	}
	p = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (p == NULL) {
		fprintf(stderr, "%s: %s\n", argv[1], errbuf);
		return 2;
	}
	ct_conf_init(&conf);
	conf.max_entries = 1u << 20;
	conf.seed = 1;
	conf.shard_index = 0;
	conf.shard_count = 1;
	s = ct_shard_create(&conf, err, sizeof(err));
	if (s == NULL) {
		fprintf(stderr, "ct_shard_create: %s\n", err);
		pcap_close(p);
		return 2;
	}
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		now = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
		if (by_vlan) {
			zone = ct_frame_vlan(data, h->caplen);
			if (zone == CT_VLAN_NONE)
				zone = 0;
		}
		ct_parse(data, h->caplen, zone, &pkt);
		/* nf_conntrack_checksum=1, as the kernel reference runs */
		ct_pkt_csum_verify(data, h->caplen, &pkt, CT_CSUM_IP | CT_CSUM_L4);
		ct_process_burst(s, &pkt, 1, now, &verdict);
		drain(s, now);
		ct_shard_expire(s, now, 64);
		drain(s, now);
		packets++;
	}
	if (rc != PCAP_ERROR_BREAK) {
		fprintf(stderr, "%s: %s\n", argv[1], pcap_geterr(p));
		rc = 2;
		goto out;
	}
	/* End of input: flush, bounded (each round empties the staging buffer). */
	for (guard = 0; guard < 1000000; guard++) {
		if (ct_shard_flush(s, now, 0) == 0 && drain(s, now) == 0)
			break;
		drain(s, now);
	}
	ct_shard_stats(s, &st);
	fprintf(stderr, "ct_replay: packets=%" PRIu64 " insert=%" PRIu64 " invalid=%" PRIu64
		" count=%u dying=%u\n", packets, st.insert, st.invalid, st.count, st.dying);
	rc = ct_shard_empty(s) ? 0 : 3;
out:
	ct_shard_free(s);
	pcap_close(p);
	return rc;
}
