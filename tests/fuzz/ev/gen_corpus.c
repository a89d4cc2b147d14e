/* SPDX-License-Identifier: BSD-3-Clause */
/* Writes the seed corpus of fuzz_ev_netlink: encoder output for every record
 * shape, translated flows (SNAT, DNAT, ICMP), expectation messages (NEW,
 * DESTROY, dump; FTP over IPv4, TFTP over IPv6 in a zone), one batched
 * datagram and subscribe requests. */
#include <stdio.h>
#include <string.h>

#include <linux/netlink.h>

#include "ev.h"
#include "ev_nl.h"
#include "ev_nl_exp.h"

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

static void
tuple4(struct ct_tuple *t, uint8_t proto, uint32_t src, uint16_t sport, uint32_t dst,
       uint16_t dport)
{
	memset(t, 0, sizeof(*t));
	t->family = 4;
	t->proto = proto;
	memcpy(t->src, &src, 4);
	memcpy(t->dst, &dst, 4);
	t->sport = sport;
	t->dport = dport;
}

/* Translated flows: a reply tuple that is not the reverse of orig, NAT bits. */
static int
put_nat(const char *dir)
{
	/* Addresses in network order, written as bytes. */
	static const uint8_t in[4] = { 10, 0, 0, 2 }, srv[4] = { 192, 0, 2, 1 },
			     pool[4] = { 198, 51, 100, 1 }, fwd[4] = { 10, 0, 0, 5 };
	uint32_t a_in, a_srv, a_pool, a_fwd;
	struct ct_event_rec r;
	int len;

	memcpy(&a_in, in, 4);
	memcpy(&a_srv, srv, 4);
	memcpy(&a_pool, pool, 4);
	memcpy(&a_fwd, fwd, 4);
	memset(&r, 0, sizeof(r));
	tuple4(&r.orig, 6, a_in, 40000, a_srv, 80);
	tuple4(&r.reply, 6, a_srv, 80, a_pool, 1024);
	r.status = CT_S_CONFIRMED | CT_S_SRC_NAT | CT_S_SRC_NAT_DONE | CT_S_DST_NAT_DONE;
	r.events = CT_EV_NEW;
	r.tcp_state = CT_TCP_SYN_SENT;
	r.timeout_s = 120;
	r.id = 2001;
	len = ev_nl_encode(&r, EV_NL_F_DEFAULT, buf, 0, sizeof(buf));
	if (len < 0 || put(dir, "nat_snat_tcp_new", buf, (size_t)len) < 0)
		return -1;
	tuple4(&r.orig, 17, a_in, 5000, a_pool, 80);
	tuple4(&r.reply, 17, a_fwd, 8080, a_in, 5000);
	r.status = CT_S_CONFIRMED | CT_S_DST_NAT | CT_S_SRC_NAT_DONE | CT_S_DST_NAT_DONE |
		   CT_S_SEEN_REPLY | CT_S_DYING;
	r.events = CT_EV_DESTROY;
	r.id = 2002;
	r.start_ns = 1;
	r.stop_ns = 2000000000;
	len = ev_nl_encode(&r, EV_NL_F_DEFAULT, buf, 0, sizeof(buf));
	if (len < 0 || put(dir, "nat_dnat_udp_destroy", buf, (size_t)len) < 0)
		return -1;
	/* An echo whose identifier was translated (the reply tuple's dport). */
	tuple4(&r.orig, 1, a_in, 0x1234, a_srv, 8);
	tuple4(&r.reply, 1, a_srv, 8, a_pool, 2000);
	r.status = CT_S_CONFIRMED | CT_S_SRC_NAT | CT_S_SRC_NAT_DONE | CT_S_DST_NAT_DONE;
	r.events = CT_EV_NEW;
	r.id = 2003;
	len = ev_nl_encode(&r, EV_NL_F_DEFAULT, buf, 0, sizeof(buf));
	if (len < 0 || put(dir, "nat_snat_icmp_new", buf, (size_t)len) < 0)
		return -1;
	return 0;
}

/* Expectation messages: what ev_nl_exp_encode() writes. */
static int
put_exp(const char *dir)
{
	static const char *const names[] = { "exp_ftp4_new", "exp_ftp4_destroy", "exp_ftp4_dump",
					     "exp_tftp6_new", "exp_tftp6_destroy",
					     "exp_tftp6_dump" };
	unsigned k;

	for (k = 0; k < 6; k++) {
		struct ct_event_rec r;
		unsigned kind = k % 3;
		int len;

		memset(&r, 0, sizeof(r));
		r.flags = CT_REC_F_EXP;
		r.events = kind == 0 ? CT_EXP_EV_NEW : kind == 1 ? CT_EXP_EV_DESTROY : 0;
		if (k < 3) {
			tuple4(&r.orig, 6, 0x0200000a, 0, 0x0100000a, 50000);
			tuple4(&r.reply, 6, 0x0100000a, 40000, 0x0200000a, 21);
			r.exp_helper = CT_EXP_HELPER_FTP;
		} else {
			memset(&r.orig, 0, sizeof(r.orig));
			r.orig.family = 6;
			r.orig.proto = 17;
			r.orig.src[0] = 0x20;
			r.orig.src[15] = 2;
			r.orig.dst[0] = 0x20;
			r.orig.dst[15] = 1;
			r.orig.dport = 33333;
			r.orig.zone = 3;
			r.reply = r.orig;
			memcpy(r.reply.src, r.orig.dst, 16);
			memcpy(r.reply.dst, r.orig.src, 16);
			r.reply.sport = 33333;
			r.reply.dport = 69;
			r.exp_helper = CT_EXP_HELPER_TFTP;
			r.status = 0x2;
		}
		r.id = 40 + k;
		r.timeout_s = 300;
		len = ev_nl_exp_encode(&r, kind == 2 ? EV_NL_F_DUMP : 0, buf, 0, sizeof(buf));
		if (len <= 0 || put(dir, names[k], buf, (size_t)len) < 0)
			return -1;
	}
	return 0;
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
	if (put_nat(argv[1]) < 0)
		return 1;
	if (put_exp(argv[1]) < 0)
		return 1;
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
