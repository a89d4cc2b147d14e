/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAT in the flow export: translated IPv4 flows go out with the NAT44
 * template (post-NAT addresses and ports, natEvent), port blocks with the
 * port-block template, untranslated flows exactly as before. Encoder
 * against our decoder field by field, then the exporter over loopback UDP
 * and TCP (a port block waits in the ring while the collector is down).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dpct_test.h"
#include "ev_consumer.h"
#include "ev_ipfix.h"
#include "ev_ipfix_dec.h"
#include "ev_ipfix_ie.h"

#define SEC UINT64_C(1000000000)
#define T0 (UINT64_C(1767225600) * SEC)

static void
tuple4(struct ct_tuple *t, uint8_t proto, const char *src, uint16_t sport, const char *dst,
       uint16_t dport)
{
	memset(t, 0, sizeof(*t));
	t->family = 4;
	t->proto = proto;
	inet_pton(AF_INET, src, t->src);
	inet_pton(AF_INET, dst, t->dst);
	t->sport = sport;
	t->dport = dport;
}

static struct ct_event_rec
flow_rec(uint32_t id, uint8_t proto, bool destroy)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	r.pkts[0] = 10 + id;
	r.pkts[1] = 5 + id;
	r.bytes[0] = 1000 + id;
	r.bytes[1] = 700 + id;
	r.start_ns = T0 + id * SEC;
	r.stop_ns = destroy ? T0 + (id + 30) * SEC : 0;
	r.id = id;
	r.slot = id;
	r.events = destroy ? CT_EV_DESTROY : 0;
	r.flags = destroy ? 0 : CT_REC_F_INTERIM;
	r.status = CT_S_CONFIRMED | CT_S_SEEN_REPLY;
	r.l4_seen = proto == IPPROTO_TCP ? 0x1b : proto == IPPROTO_ICMP ? 8 : 0;
	r.in_port = 2;
	r.end_reason = destroy ? CT_END_IDLE : 0;
	r.orig.zone = 3;
	return r;
}

/* 10.0.0.2:40000 -> 192.0.2.1:80 leaves as 198.51.100.1:1024. */
static struct ct_event_rec
snat_rec(uint32_t id, bool destroy)
{
	struct ct_event_rec r = flow_rec(id, IPPROTO_TCP, destroy);

	tuple4(&r.orig, IPPROTO_TCP, "10.0.0.2", 40000, "192.0.2.1", 80);
	tuple4(&r.reply, IPPROTO_TCP, "192.0.2.1", 80, "198.51.100.1", 1024);
	r.orig.zone = r.reply.zone = 3;
	r.status |= CT_S_SRC_NAT | CT_S_SRC_NAT_DONE;
	return r;
}

/* 203.0.113.9:5000 -> 198.51.100.20:80 goes on to 10.0.0.5:8080. */
static struct ct_event_rec
dnat_rec(uint32_t id)
{
	struct ct_event_rec r = flow_rec(id, IPPROTO_UDP, true);

	tuple4(&r.orig, IPPROTO_UDP, "203.0.113.9", 5000, "198.51.100.20", 80);
	tuple4(&r.reply, IPPROTO_UDP, "10.0.0.5", 8080, "203.0.113.9", 5000);
	r.status |= CT_S_DST_NAT | CT_S_DST_NAT_DONE;
	return r;
}

/* An echo from 10.0.0.2 (id 0x1234) leaves as 198.51.100.1, id 2000. */
static struct ct_event_rec
icmp_snat_rec(uint32_t id)
{
	struct ct_event_rec r = flow_rec(id, IPPROTO_ICMP, true);

	tuple4(&r.orig, IPPROTO_ICMP, "10.0.0.2", 0x1234, "192.0.2.1", 8);
	tuple4(&r.reply, IPPROTO_ICMP, "192.0.2.1", 8, "198.51.100.1", 2000);
	r.status |= CT_S_SRC_NAT | CT_S_SRC_NAT_DONE;
	return r;
}

static struct ct_event_rec
plain_rec(uint32_t id, unsigned family)
{
	struct ct_event_rec r = flow_rec(id, IPPROTO_TCP, true);

	if (family == 4) {
		tuple4(&r.orig, IPPROTO_TCP, "10.9.9.9", 1234, "192.0.2.7", 443);
		ct_tuple_reverse(&r.reply, &r.orig);
	} else {
		r.orig.family = 6;
		r.orig.proto = IPPROTO_TCP;
		inet_pton(AF_INET6, "2001:db8::1", r.orig.src);
		inet_pton(AF_INET6, "2001:db8::2", r.orig.dst);
		r.orig.sport = 1234;
		r.orig.dport = 443;
		ct_tuple_reverse(&r.reply, &r.orig);
	}
	return r;
}

static struct ct_event_rec
block_rec(uint8_t event, uint16_t lo, uint16_t hi)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	tuple4(&r.orig, 0, "10.1.2.3", 0, "0.0.0.0", 0);
	tuple4(&r.reply, 0, "0.0.0.0", 0, "203.0.113.1", 0);
	r.orig.zone = 9;
	r.flags = CT_REC_F_NAT_BLOCK;
	r.block_lo = lo;
	r.block_hi = hi;
	r.nat_event = event;
	r.start_ns = T0 + 5 * SEC + 250000000;
	return r;
}

struct got {
	struct ev_ipfix_flow f[64];
	uint16_t tid[64];
	unsigned n;
};

static void
collect(void *arg, const struct ev_ipfix_flow *f, uint16_t tid)
{
	struct got *g = arg;

	if (g->n < 64) {
		g->tid[g->n] = tid;
		g->f[g->n++] = *f;
	}
}

static int
ip_is(const uint8_t *a, const char *s)
{
	uint8_t b[4];

	inet_pton(AF_INET, s, b);
	return memcmp(a, b, 4) == 0;
}

/* One message: the templates, then each record in a set of its template. */
static size_t
encode_msg(uint8_t *buf, size_t cap, const struct ev_ipfix_flow *f, unsigned n)
{
	size_t off = EV_IPFIX_HDR_LEN, set, len;
	unsigned i;

	len = ev_ipfix_template_set(buf + off, cap - off);
	if (len == 0)
		return 0;
	off += len;
	for (i = 0; i < n; i++) {
		set = off;
		off += EV_IPFIX_SET_HDR_LEN;
		len = ev_ipfix_encode_record(&f[i], buf + off, cap - off);
		if (len == 0 || len != ev_ipfix_flow_len(&f[i]))
			return 0;
		off += len;
		ev_ipfix_set_header(buf + set, ev_ipfix_flow_template(&f[i]), (uint16_t)(off - set));
	}
	ev_ipfix_msg_header(buf, (uint16_t)off, 1, 0, 1);
	return off;
}

/* The four templates, each with its IEs in order. */
static int
test_templates(void)
{
	static const uint16_t nat_tail[] = { IE_POST_NAT_SRC_V4, IE_POST_NAT_DST_V4,
					     IE_POST_NAPT_SRC_PORT, IE_POST_NAPT_DST_PORT,
					     IE_NAT_EVENT, IE_OBS_TIME_MS };
	static const uint16_t block[] = { IE_OBS_TIME_MS, IE_NAT_EVENT, IE_SRC_V4,
					  IE_POST_NAT_SRC_V4, IE_PORT_RANGE_START,
					  IE_PORT_RANGE_END, IE_PORT_RANGE_STEP,
					  IE_PORT_RANGE_PORTS, IE_INGRESS_VRF };
	static const uint16_t v4[] = { IE_SRC_V4, IE_DST_V4, IE_SRC_PORT, IE_DST_PORT, IE_PROTO,
				       IE_ICMP_V4, IE_TCP_FLAGS, IE_OCTET_DELTA, IE_PACKET_DELTA,
				       IE_OCTET_DELTA, IE_PACKET_DELTA, IE_START_MS, IE_END_MS,
				       IE_END_REASON, IE_INGRESS_IF, IE_INGRESS_VRF, IE_FLOW_ID };
	uint8_t buf[1024];
	struct ev_ipfix_dec d;
	size_t len = encode_msg(buf, sizeof(buf), NULL, 0);
	unsigned i, k, found = 0;

	T_ASSERT(len > 0 && len <= EV_IPFIX_HDR_LEN + EV_IPFIX_TEMPLATES_MAX);
	memset(&d, 0, sizeof(d));
	T_EQ(ev_ipfix_decode(&d, buf, len, NULL, NULL, NULL), (int)len);
	T_UEQ(d.templates, 4);
	for (k = 0; k < EV_IPFIX_DEC_MAX_TEMPLATES; k++) {
		if (d.t[k].id == EV_IPFIX_TID_V4) {
			/* Untranslated IPv4 biflows: the 17 fields of before, no NAT IE. */
			T_EQ(d.t[k].n, 17);
			for (i = 0; i < 17; i++)
				T_EQ(d.t[k].f[i].id, v4[i]);
			found |= 1;
		} else if (d.t[k].id == EV_IPFIX_TID_V6) {
			T_EQ(d.t[k].n, 17);
			found |= 2;
		} else if (d.t[k].id == EV_IPFIX_TID_NAT4) {
			T_EQ(d.t[k].n, 23);
			for (i = 0; i < 17; i++)
				T_EQ(d.t[k].f[i].id, v4[i]);
			for (i = 0; i < 6; i++) {
				T_EQ(d.t[k].f[17 + i].id, nat_tail[i]);
				T_EQ(d.t[k].f[17 + i].pen, 0);
			}
			found |= 4;
		} else if (d.t[k].id == EV_IPFIX_TID_NAT_BLOCK) {
			T_EQ(d.t[k].n, 9);
			for (i = 0; i < 9; i++)
				T_EQ(d.t[k].f[i].id, block[i]);
			found |= 8;
		}
	}
	T_EQ(found, 15);
	return 0;
}

/* Every field of translated flows and port blocks, encoded and decoded. */
static int
test_roundtrip(void)
{
	struct ct_event_rec r[7] = {
		snat_rec(1, true), snat_rec(2, false), dnat_rec(3), icmp_snat_rec(4),
		block_rec(CT_NAT_BLOCK_ALLOC, 1536, 2047), block_rec(CT_NAT_BLOCK_RELEASE, 1024, 1024),
		plain_rec(7, 4),
	};
	static uint8_t buf[4096];
	struct ev_ipfix_flow f[7];
	struct ev_ipfix_dec d;
	static struct got g;
	size_t len;
	unsigned i;

	for (i = 0; i < 7; i++)
		T_EQ(ev_ipfix_flow_from_rec(&r[i], NULL, T0 + 20 * SEC, &f[i]), 0);
	len = encode_msg(buf, sizeof(buf), f, 7);
	T_ASSERT(len > 0);
	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	T_EQ(ev_ipfix_decode(&d, buf, len, collect, &g, NULL), (int)len);
	T_EQ(g.n, 7);
	for (i = 0; i < 7; i++)
		T_MEMEQ(&g.f[i], &f[i], sizeof(f[i]));

	/* SNAT, the flow's end: natEvent 5, post source = pool address:port. */
	T_EQ(g.tid[0], EV_IPFIX_TID_NAT4);
	T_ASSERT(ip_is(g.f[0].src, "10.0.0.2") && ip_is(g.f[0].dst, "192.0.2.1"));
	T_EQ(g.f[0].sport, 40000);
	T_EQ(g.f[0].dport, 80);
	T_ASSERT(ip_is(g.f[0].post_src, "198.51.100.1"));
	T_ASSERT(ip_is(g.f[0].post_dst, "192.0.2.1"));
	T_EQ(g.f[0].post_sport, 1024);
	T_EQ(g.f[0].post_dport, 80);
	T_EQ(g.f[0].nat_event, EV_IPFIX_NAT44_DELETE);
	T_EQ(g.f[0].nat_event, 5);
	T_EQ(g.f[0].proto, IPPROTO_TCP);
	T_EQ(g.f[0].tcp_flags, 0x1b);
	T_UEQ(g.f[0].packets[0], 11);
	T_UEQ(g.f[0].packets[1], 6);
	T_UEQ(g.f[0].octets[0], 1001);
	T_UEQ(g.f[0].octets[1], 701);
	T_UEQ(g.f[0].start_ms, (T0 + SEC) / 1000000);
	T_UEQ(g.f[0].end_ms, (T0 + 31 * SEC) / 1000000);
	T_EQ(g.f[0].end_reason, CT_END_IDLE);
	T_EQ(g.f[0].ingress, 2);
	T_EQ(g.f[0].vrf, 3);
	T_UEQ(g.f[0].flow_id, 1);
	T_UEQ(g.f[0].event_ms, (T0 + 31 * SEC) / 1000000);
	T_EQ(ev_ipfix_flow_len(&f[0]), 102);
	/* SNAT, interim: natEvent 4 (the session is live), flowEnd = now. */
	T_EQ(g.tid[1], EV_IPFIX_TID_NAT4);
	T_EQ(g.f[1].nat_event, EV_IPFIX_NAT44_CREATE);
	T_EQ(g.f[1].nat_event, 4);
	T_ASSERT(ip_is(g.f[1].post_src, "198.51.100.1"));
	T_EQ(g.f[1].post_sport, 1024);
	T_UEQ(g.f[1].end_ms, (T0 + 20 * SEC) / 1000000);
	T_UEQ(g.f[1].event_ms, (T0 + 20 * SEC) / 1000000);
	T_EQ(g.f[1].end_reason, CT_END_ACTIVE);
	/* DNAT: post destination = the inside address:port, source as it was. */
	T_EQ(g.tid[2], EV_IPFIX_TID_NAT4);
	T_ASSERT(ip_is(g.f[2].post_src, "203.0.113.9"));
	T_ASSERT(ip_is(g.f[2].post_dst, "10.0.0.5"));
	T_EQ(g.f[2].post_sport, 5000);
	T_EQ(g.f[2].post_dport, 8080);
	T_EQ(g.f[2].nat_event, 5);
	T_ASSERT(ip_is(g.f[2].dst, "198.51.100.20"));
	T_EQ(g.f[2].dport, 80);
	/* ICMP: the addresses are translated; no ports, as before NAT. */
	T_EQ(g.tid[3], EV_IPFIX_TID_NAT4);
	T_ASSERT(ip_is(g.f[3].post_src, "198.51.100.1"));
	T_ASSERT(ip_is(g.f[3].post_dst, "192.0.2.1"));
	T_EQ(g.f[3].post_sport, 0);
	T_EQ(g.f[3].post_dport, 0);
	T_EQ(g.f[3].icmp, 8 << 8);
	/* Port blocks: inside address, pool address, the range, the time. */
	T_EQ(g.tid[4], EV_IPFIX_TID_NAT_BLOCK);
	T_EQ(g.f[4].nat_event, EV_IPFIX_NAT_BLOCK_ALLOC);
	T_EQ(g.f[4].nat_event, 16);
	T_ASSERT(ip_is(g.f[4].src, "10.1.2.3"));
	T_ASSERT(ip_is(g.f[4].post_src, "203.0.113.1"));
	T_EQ(g.f[4].block_start, 1536);
	T_EQ(g.f[4].block_end, 2047);
	T_EQ(g.f[4].block_step, 1);
	T_EQ(g.f[4].block_ports, 512);
	T_UEQ(g.f[4].event_ms, (T0 + 5 * SEC + 250000000) / 1000000);
	T_EQ(g.f[4].vrf, 9);
	T_EQ(g.f[4].family, 4);
	T_EQ(g.tid[5], EV_IPFIX_TID_NAT_BLOCK);
	T_EQ(g.f[5].nat_event, EV_IPFIX_NAT_BLOCK_FREE);
	T_EQ(g.f[5].nat_event, 17);
	T_EQ(g.f[5].block_start, 1024);
	T_EQ(g.f[5].block_end, 1024);
	T_EQ(g.f[5].block_ports, 1);
	/* Untranslated: the IPv4 template, no NAT field. */
	T_EQ(g.tid[6], EV_IPFIX_TID_V4);
	T_EQ(g.f[6].nat_event, 0);
	T_EQ(ev_ipfix_flow_len(&f[6]), 81);
	/* Truncations are errors, never overreads. */
	for (i = 0; i < len; i++)
		T_ASSERT(ev_ipfix_decode(&d, buf, i, NULL, NULL, NULL) < 0);
	return 0;
}

/* Untranslated records come out byte for byte as they did without NAT. */
static int
test_untranslated_unchanged(void)
{
	struct ct_event_rec r4 = plain_rec(1, 4), r6 = plain_rec(2, 6), z = plain_rec(3, 4);
	struct ev_ipfix_flow f, g;
	uint8_t a[128], b[128];

	T_EQ(ev_ipfix_flow_from_rec(&r4, NULL, 0, &f), 0);
	T_EQ(f.nat_event, 0);
	T_EQ(ev_ipfix_flow_template(&f), EV_IPFIX_TID_V4);
	T_EQ(ev_ipfix_encode_record(&f, a, sizeof(a)), 81);
	/* The same flow with no reply tuple at all encodes the same bytes. */
	memset(&r4.reply, 0, sizeof(r4.reply));
	T_EQ(ev_ipfix_flow_from_rec(&r4, NULL, 0, &g), 0);
	T_EQ(ev_ipfix_encode_record(&g, b, sizeof(b)), 81);
	T_MEMEQ(a, b, 81);
	/* IPv6 is never translated: its template even with a NAT bit set. */
	r6.status |= CT_S_SRC_NAT;
	T_EQ(ev_ipfix_flow_from_rec(&r6, NULL, 0, &f), 0);
	T_EQ(f.nat_event, 0);
	T_EQ(ev_ipfix_flow_template(&f), EV_IPFIX_TID_V6);
	T_EQ(ev_ipfix_flow_len(&f), 105);
	/* A bad port block is refused, not exported as nonsense. */
	z = block_rec(CT_NAT_BLOCK_ALLOC, 2000, 1999);
	T_EQ(ev_ipfix_flow_from_rec(&z, NULL, 0, &f), -EINVAL);
	z = block_rec(7, 1, 2);
	T_EQ(ev_ipfix_flow_from_rec(&z, NULL, 0, &f), -EINVAL);
	return 0;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
conf_for(struct ev_ipfix_conf *c, struct ev_ipfix_collector *k, uint16_t port, unsigned tr)
{
	ev_ipfix_conf_init(c);
	c->flush_ms = 0;
	memset(k, 0, sizeof(*k));
	strcpy(k->host, "127.0.0.1");
	k->port = port;
	k->transport = (uint8_t)tr;
	k->reliable = true;
}

/* The exporter over UDP: each kind in its template, the counters. */
static int
test_exporter_udp(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	struct ct_event_rec r[5] = { snat_rec(1, true), plain_rec(2, 4),
				     block_rec(CT_NAT_BLOCK_ALLOC, 1536, 2047), dnat_rec(4),
				     plain_rec(5, 6) };
	struct ev_ipfix_collector k;
	struct ev_ipfix_conf c;
	struct ev_ipfix_stats st;
	struct ev_ipfix_dec d;
	struct ev_ipfix *x;
	static struct got g;
	uint8_t refused[5], buf[2048];
	uint64_t t;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char err[128];
	unsigned i;

	T_ASSERT(fd >= 0);
	T_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	T_EQ(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	conf_for(&c, &k, ntohs(a.sin_port), EV_IPFIX_UDP);
	x = ev_ipfix_create(&c, &k, err, sizeof(err));
	T_ASSERT(x != NULL);
	T_EQ(ev_ipfix_ops.deliver(x, r, 5, T0, refused), 0);
	for (i = 0; i < 5; i++)
		T_EQ(refused[i], 0);
	ev_ipfix_flush(x, T0);
	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	for (t = mono_ms(); g.n < 5 && mono_ms() - t < 3000;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n <= 0) {
			usleep(2000);
			continue;
		}
		T_ASSERT(ev_ipfix_decode(&d, buf, (size_t)n, collect, &g, NULL) > 0);
	}
	T_EQ(g.n, 5);
	T_EQ(g.tid[0], EV_IPFIX_TID_NAT4);
	T_EQ(g.f[0].post_sport, 1024);
	T_EQ(g.tid[1], EV_IPFIX_TID_V4);
	T_EQ(g.tid[2], EV_IPFIX_TID_NAT_BLOCK);
	T_EQ(g.f[2].block_ports, 512);
	T_EQ(g.tid[3], EV_IPFIX_TID_NAT4);
	T_EQ(g.f[3].post_dport, 8080);
	T_EQ(g.tid[4], EV_IPFIX_TID_V6);
	ev_ipfix_get_stats(x, &st);
	T_UEQ(st.records_sent, 5);
	T_UEQ(st.final_records, 4);
	T_UEQ(st.nat_records, 2);
	T_UEQ(st.nat_block_records, 1);
	T_UEQ(st.seq, 5);
	ev_ipfix_free(x);
	close(fd);
	return 0;
}

/* TCP: while the collector is down the flows are refused (nacks, sent again
 * by their shard), a port block waits in the ring and arrives once it is up. */
static int
test_tcp_block_waits(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	struct ct_event_rec r[2] = { snat_rec(1, true), block_rec(CT_NAT_BLOCK_ALLOC, 1536, 2047) };
	struct ev_ipfix_collector k;
	struct ev_ipfix_conf c;
	struct ev_ipfix_stats st;
	struct ev_ipfix_dec d;
	struct ev_ipfix *x;
	static struct got g;
	static uint8_t buf[65536];
	uint8_t refused[2];
	size_t have = 0;
	uint64_t t;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), cfd = -1, one = 1;
	char err[128];

	/* A port nobody listens on yet: bound, not listening, so connects fail. */
	T_ASSERT(lfd >= 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	T_EQ(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	T_EQ(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
	conf_for(&c, &k, ntohs(a.sin_port), EV_IPFIX_TCP);
	c.reconnect_min_ms = 10;
	c.reconnect_max_ms = 20;
	x = ev_ipfix_create(&c, &k, err, sizeof(err));
	T_ASSERT(x != NULL);
	ev_ipfix_ops.poll(x, T0);
	T_ASSERT(ev_ipfix_ops.blocked(x));
	T_EQ(ev_ipfix_ops.deliver(x, r, 2, T0, refused), 0);
	T_EQ(refused[0], 1);
	T_EQ(refused[1], 0);
	ev_ipfix_get_stats(x, &st);
	T_UEQ(st.records_refused, 1);
	T_UEQ(st.nat_block_records, 1);
	T_EQ(listen(lfd, 4), 0);
	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	for (t = mono_ms(); g.n < 1 && mono_ms() - t < 5000;) {
		ssize_t n;
		size_t off = 0;

		ev_ipfix_ops.poll(x, T0);
		if (cfd < 0)
			cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
		if (cfd < 0 || (n = recv(cfd, buf + have, sizeof(buf) - have, 0)) <= 0) {
			usleep(2000);
			continue;
		}
		have += (size_t)n;
		while (have - off >= 4) {
			size_t ml = (size_t)(buf[off + 2] << 8 | buf[off + 3]);

			if (ml < EV_IPFIX_HDR_LEN || have - off < ml)
				break;
			T_ASSERT(ev_ipfix_decode(&d, buf + off, ml, collect, &g, NULL) > 0);
			off += ml;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	T_EQ(g.n, 1);
	T_EQ(g.tid[0], EV_IPFIX_TID_NAT_BLOCK);
	T_ASSERT(ip_is(g.f[0].src, "10.1.2.3"));
	T_EQ(g.f[0].block_start, 1536);
	ev_ipfix_free(x);
	if (cfd >= 0)
		close(cfd);
	close(lfd);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_templates),
	T_CASE(test_roundtrip),
	T_CASE(test_untranslated_unchanged),
	T_CASE(test_exporter_udp),
	T_CASE(test_tcp_block_waits),
};

T_MAIN(cases)
