/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-gen UDP and ICMP flows: DNS query and answer, request/response
 * exchanges spread over seconds, one-way datagrams, ICMP echo and query
 * pairs, and ICMP errors (port and host unreachable) quoting the packet
 * that caused them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gen_private.h"

/* Timestamp, information or address mask request (dir 0) or reply (IPv4 only). */
static size_t
icmp_query_build(uint8_t *l4, const struct gen_flow *f, int dir)
{
	uint8_t req = f->kind == GEN_K_ICMP_TSTAMP ? 13 : f->kind == GEN_K_ICMP_INFO ? 15 : 17;
	size_t len = f->kind == GEN_K_ICMP_TSTAMP ? 20 : f->kind == GEN_K_ICMP_INFO ? 8 : 12;

	memset(l4, 0, len);
	l4[0] = (uint8_t)(req + dir);
	gen_put16(l4 + 4, f->sport);
	gen_put16(l4 + 6, 1);
	if (f->kind == GEN_K_ICMP_TSTAMP)
		gen_put32(l4 + 8, 3600000u + f->index);
	else if (f->kind == GEN_K_ICMP_MASK && dir)
		gen_put32(l4 + 8, 0xffffff00u);
	return len;
}

int
gen_step_icmp_query(struct gen *g, struct gen_flow *f)
{
	int dir = (int)f->step;
	size_t l4len = icmp_query_build(g->l4, f, dir);

	if (gen_emit(g, gen_flow_frame(g->frame, f, dir, 1, g->l4, l4len)) < 0)
		return -EINVAL;
	return dir == 0;
}

static void
dns_name(uint8_t *p, size_t *len, uint32_t index)
{
	/* h<index>.example.com in DNS label form */
	char label[16];
	int n = snprintf(label, sizeof(label), "h%u", index);
	size_t o = 0;

	p[o++] = (uint8_t)n;
	memcpy(p + o, label, (size_t)n);
	o += (size_t)n;
	p[o++] = 7;
	memcpy(p + o, "example", 7);
	o += 7;
	p[o++] = 3;
	memcpy(p + o, "com", 3);
	o += 3;
	p[o++] = 0;
	*len = o;
}

size_t
gen_udp_header(uint8_t *l4, const struct gen_flow *f, int dir, size_t paylen)
{
	gen_put16(l4, dir ? f->dport : f->sport);
	gen_put16(l4 + 2, dir ? f->sport : f->dport);
	gen_put16(l4 + 4, (uint16_t)(8 + paylen));
	gen_put16(l4 + 6, 0);
	return 8 + paylen;
}

/* One DNS query for h<index>.example.com (A or AAAA) and its answer. */
int
gen_step_dns(struct gen *g, struct gen_flow *f)
{
	uint8_t *d = g->l4 + 8;
	size_t nlen, o;
	int dir = (int)f->step;

	gen_put16(d, (uint16_t)f->len_a);
	gen_put16(d + 2, dir ? 0x8180 : 0x0100); /* response+RD+RA+NOERROR : query+RD */
	gen_put16(d + 4, 1);
	gen_put16(d + 6, dir ? 1 : 0);
	gen_put16(d + 8, 0);
	gen_put16(d + 10, 0);
	dns_name(d + 12, &nlen, f->index);
	o = 12 + nlen;
	gen_put16(d + o, f->v6 ? 28 : 1); /* AAAA or A */
	gen_put16(d + o + 2, 1);          /* IN */
	o += 4;
	if (dir) {
		gen_put16(d + o, 0xc00c); /* name: pointer to the question */
		gen_put16(d + o + 2, f->v6 ? 28 : 1);
		gen_put16(d + o + 4, 1);
		gen_put32(d + o + 6, 300);
		gen_put16(d + o + 10, f->v6 ? 16 : 4);
		memcpy(d + o + 12, f->srv, f->v6 ? 16 : 4);
		o += 12 + (f->v6 ? 16 : 4);
	}
	gen_udp_header(g->l4, f, dir, o);
	if (gen_emit(g, gen_flow_frame(g->frame, f, dir, 17, g->l4, 8 + o)) < 0)
		return -EINVAL;
	return dir == 0;
}

/* GEN_RR_EXCHANGES request/response pairs, GEN_RR_GAP_US apart. */
int
gen_step_udp_rr(struct gen *g, struct gen_flow *f)
{
	int dir = (int)(f->step & 1);
	uint8_t *d = g->l4 + 8;

	/* 48-byte NTP-like packet: mode 3 (client) or 4 (server) */
	memset(d, 0, 48);
	d[0] = (uint8_t)(0x20 | (dir ? 4 : 3));
	gen_put32(d + 40, f->step);
	gen_udp_header(g->l4, f, dir, 48);
	if (gen_emit(g, gen_flow_frame(g->frame, f, dir, 17, g->l4, 56)) < 0)
		return -EINVAL;
	if (dir == 1)
		f->wake_us = g->out.now_us + GEN_RR_GAP_US;
	return f->step + 1 < 2 * f->len_a;
}

/* len_a syslog-like datagrams of len_b bytes, never answered. */
int
gen_step_udp_oneway(struct gen *g, struct gen_flow *f)
{
	uint32_t i;
	int n;

	n = snprintf((char *)g->l4 + 8, 64, "<134>dpct-gen flow %u message %u ", f->index,
		     f->step);
	for (i = (uint32_t)n; i < f->len_b; i++)
		g->l4[8 + i] = (uint8_t)('A' + i % 26);
	gen_udp_header(g->l4, f, 0, f->len_b);
	if (gen_emit(g, gen_flow_frame(g->frame, f, 0, 17, g->l4, 8 + f->len_b)) < 0)
		return -EINVAL;
	return f->step + 1 < f->len_a;
}

size_t
gen_icmp_echo_build(uint8_t *l4, const struct gen_flow *f, int dir, uint16_t seq)
{
	uint32_t i;

	if (f->v6)
		l4[0] = dir ? 129 : 128;
	else
		l4[0] = dir ? 0 : 8;
	l4[1] = 0;
	gen_put16(l4 + 2, 0);
	gen_put16(l4 + 4, f->sport);
	gen_put16(l4 + 6, seq);
	for (i = 0; i < 56; i++)
		l4[8 + i] = (uint8_t)(0x10 + i);
	return 64;
}

/* len_a echo request/reply pairs. */
int
gen_step_icmp_echo(struct gen *g, struct gen_flow *f)
{
	int dir = (int)(f->step & 1);
	size_t l4len = gen_icmp_echo_build(g->l4, f, dir, (uint16_t)(1 + f->step / 2));

	if (gen_emit(g, gen_flow_frame(g->frame, f, dir, gen_proto_icmp(f), g->l4, l4len)) < 0)
		return -EINVAL;
	return f->step + 1 < 2 * f->len_a;
}

/*
 * ICMP errors quote the offending IP packet. The packet is rebuilt from the
 * flow (same IP id, same bytes) instead of being kept around per flow.
 */
size_t
gen_icmp_error_build(struct gen *g, const struct gen_flow *f, uint8_t type, uint8_t code,
		     const uint8_t *quoted_frame, size_t quoted_len)
{
	size_t iplen = quoted_len - GEN_ETH_LEN;
	/* RFC 1812 / RFC 4443: as much as fits in a minimum MTU datagram. */
	size_t max = f->v6 ? 1232 : 548;

	if (iplen > max)
		iplen = max;
	g->l4[0] = type;
	g->l4[1] = code;
	gen_put16(g->l4 + 2, 0);
	gen_put32(g->l4 + 4, 0);
	memcpy(g->l4 + 8, quoted_frame + GEN_ETH_LEN, iplen);
	return 8 + iplen;
}

size_t
gen_unreach_udp_build(uint8_t *l4, const struct gen_flow *f)
{
	uint32_t i;

	for (i = 0; i < 32; i++)
		l4[8 + i] = (uint8_t)(0x40 + i);
	return gen_udp_header(l4, f, 0, 32);
}

/* A UDP datagram to a closed port, answered by port unreachable. */
int
gen_step_icmp_unreach(struct gen *g, struct gen_flow *f)
{
	size_t l4len, qlen;
	uint16_t id;

	if (f->step == 0) {
		l4len = gen_unreach_udp_build(g->l4, f);
		if (gen_emit(g, gen_flow_frame(g->frame, f, 0, 17, g->l4, l4len)) < 0)
			return -EINVAL;
		return 1;
	}
	/* Rebuild the datagram as it was sent (IP id of the previous packet). */
	l4len = gen_unreach_udp_build(g->l4, f);
	id = (uint16_t)(f->ip_id[0] - 1);
	qlen = gen_frame_ip(g->tmp, f->v6, f->cli, f->srv, 17, id, 0, g->l4, l4len);
	if (qlen == 0)
		return -EINVAL;
	qlen = gen_frame_ip_end(g->tmp, f->v6);
	l4len = f->v6 ? gen_icmp_error_build(g, f, 1, 4, g->tmp, qlen) :
			gen_icmp_error_build(g, f, 3, 3, g->tmp, qlen);
	if (gen_emit(g, gen_flow_frame(g->frame, f, 1, gen_proto_icmp(f), g->l4, l4len)) < 0)
		return -EINVAL;
	return 0;
}

/* A TCP SYN answered by a router's host unreachable. */
int
gen_step_icmp_host(struct gen *g, struct gen_flow *f)
{
	static const uint8_t router4[4] = { 198, 51, 100, 1 };
	static const uint8_t router6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0,
					     0, 0, 0, 0, 0, 0, 0, 1 };
	size_t l4len, qlen, len;
	uint16_t id;

	if (f->step == 0)
		return gen_tcp_send(g, f, 0, GEN_TCP_SYN, 0) < 0 ? -EINVAL : 1;
	/* The SYN as sent: its sequence number is one before the current one. */
	f->seq[0]--;
	l4len = gen_tcp_build(g->l4, f, 0, GEN_TCP_SYN, 0);
	f->seq[0]++;
	id = (uint16_t)(f->ip_id[0] - 1);
	if (gen_frame_ip(g->tmp, f->v6, f->cli, f->srv, 6, id, 0, g->l4, l4len) == 0)
		return -EINVAL;
	qlen = gen_frame_ip_end(g->tmp, f->v6);
	l4len = f->v6 ? gen_icmp_error_build(g, f, 1, 3, g->tmp, qlen) :
			gen_icmp_error_build(g, f, 3, 1, g->tmp, qlen);
	len = gen_frame_ip(g->frame, f->v6, f->v6 ? router6 : router4, f->cli,
			   gen_proto_icmp(f), f->ip_id[1]++, 1, g->l4, l4len);
	return gen_emit(g, len) < 0 ? -EINVAL : 0;
}
