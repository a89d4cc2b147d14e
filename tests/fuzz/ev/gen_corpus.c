/* SPDX-License-Identifier: BSD-3-Clause */
/* Writes the seed corpus of fuzz_ev_netlink: encoder output for every record
 * shape, one batched datagram and subscribe requests. */
#include <stdio.h>
#include <string.h>

#include <linux/netlink.h>

#include "ev.h"
#include "ev_nl.h"

static uint8_t buf[16384] __attribute__((aligned(8)));

static int
put(const char *dir, const char *name, const void *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, len, f) != len) {
		perror(path);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

int
main(int argc, char **argv)
{
	static const uint8_t protos[] = { 6, 17, 1, 58, 47 };
	static const uint16_t events[] = { CT_EV_NEW, CT_EV_PROTOINFO | CT_EV_ASSURED,
					   CT_EV_DESTROY };
	struct {
		struct nlmsghdr h;
		struct ev_subscribe s;
	} req;
	size_t batch = 0;
	unsigned p, e, fam;
	char name[64];

	if (argc != 2) {
		fprintf(stderr, "usage: gen_ev_corpus DIR\n");
		return 1;
	}
	for (fam = 4; fam <= 6; fam += 2) {
		for (p = 0; p < sizeof(protos); p++) {
			for (e = 0; e < 3; e++) {
				struct ct_event_rec r;
				int len;

				memset(&r, 0, sizeof(r));
				r.orig.family = (uint8_t)fam;
				r.orig.proto = protos[p];
				r.orig.src[0] = 10;
				r.orig.dst[0] = 10;
				r.orig.dst[3] = 2;
				r.orig.sport = 40000;
				r.orig.dport = protos[p] == 1 || protos[p] == 58 ? 40000 : 80;
				r.orig.zone = (uint16_t)(e == 1 ? 5 : 0);
				r.id = 1000 + p * 3 + e;
				r.events = events[e];
				r.status = CT_S_CONFIRMED | (e ? CT_S_SEEN_REPLY | CT_S_ASSURED : 0);
				r.tcp_state = (uint8_t)(e == 2 ? CT_TCP_TIME_WAIT : CT_TCP_SYN_SENT);
				r.timeout_s = 120;
				r.mark = e == 1 ? 7 : 0;
				r.pkts[0] = 4;
				r.bytes[0] = 300;
				r.start_ns = 1;
				r.stop_ns = e == 2 ? 2000000000 : 0;
				len = ev_nl_encode(&r, e == 2 ? EV_NL_F_DEFAULT | EV_NL_F_PAD64 :
						   EV_NL_F_DEFAULT, buf, 0, sizeof(buf));
				if (len < 0)
					return 1;
				snprintf(name, sizeof(name), "ct_v%u_p%u_e%u", fam, protos[p], e);
				if (put(argv[1], name, buf, (size_t)len) < 0)
					return 1;
				if (batch + (size_t)len <= sizeof(buf) / 2) {
					static uint8_t b2[sizeof(buf)] __attribute__((aligned(8)));

					len = ev_nl_encode(&r, EV_NL_F_DEFAULT, b2, batch,
							   sizeof(b2));
					if (len > 0) {
						static uint8_t all[sizeof(buf)];

						memcpy(all + batch, b2 + batch, (size_t)len);
						batch += (size_t)len;
						if (put(argv[1], "batch", all, batch) < 0)
							return 1;
					}
				}
			}
		}
	}
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = EV_MSG_SUBSCRIBE;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.s.version = EV_PROTO_VERSION;
	req.s.flags = EV_SUB_F_RELIABLE;
	req.s.mask = EV_MASK_ALL;
	if (put(argv[1], "subscribe", &req, sizeof(req)) < 0)
		return 1;
	req.h.nlmsg_type = EV_MSG_UNSUBSCRIBE;
	return put(argv[1], "unsubscribe", &req, sizeof(req)) < 0 ? 1 : 0;
}
