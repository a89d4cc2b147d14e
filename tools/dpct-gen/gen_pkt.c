/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame building for dpct-gen: PRNG, Internet checksums, Ethernet + IP
 * headers, and the pcap record writer.
 */
#include <string.h>

#include "gen.h"

void
gen_rng_seed(struct gen_rng *r, uint64_t seed)
{
	r->s = seed ^ 0x6a09e667f3bcc909ULL;
}

uint64_t
gen_rand(struct gen_rng *r)
{
	uint64_t z;

	r->s += 0x9e3779b97f4a7c15ULL;
	z = r->s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint32_t
gen_rand_below(struct gen_rng *r, uint32_t n)
{
	/* Multiply-shift keeps the bias below 2^-32, irrelevant for traffic shapes. */
	return (uint32_t)(((gen_rand(r) >> 32) * (uint64_t)n) >> 32);
}

static const char *const kind_names[GEN_K_MAX] = {
	[GEN_K_TCP] = "tcp",
	[GEN_K_UDP_DNS] = "udp_dns",
	[GEN_K_UDP_RR] = "udp_rr",
	[GEN_K_UDP_ONEWAY] = "udp_oneway",
	[GEN_K_ICMP_ECHO] = "icmp_echo",
	[GEN_K_ICMP_UNREACH] = "icmp_port_unreach",
	[GEN_K_ICMP_HOST] = "icmp_host_unreach",
	[GEN_K_GRE] = "gre",
	[GEN_K_ESP] = "esp",
	[GEN_K_TCP_OOW_RST] = "tcp_oow_rst",
	[GEN_K_TCP_OOW_DATA] = "tcp_oow_data",
	[GEN_K_TCP_WSCALE] = "tcp_wscale",
	[GEN_K_TCP_BULK] = "tcp_bulk",
	[GEN_K_CSUM_TCP] = "csum_tcp",
	[GEN_K_CSUM_UDP] = "csum_udp",
	[GEN_K_CSUM_ICMP] = "csum_icmp",
	[GEN_K_UDP_SHORTLEN] = "udp_shortlen",
	[GEN_K_ICMP_TSTAMP] = "icmp_tstamp",
	[GEN_K_ICMP_INFO] = "icmp_info",
	[GEN_K_ICMP_MASK] = "icmp_mask",
	[GEN_K_SCTP] = "sctp",
	[GEN_K_SCTP_ABORT] = "sctp_abort",
	[GEN_K_SCTP_BADTAG] = "sctp_badtag",
	[GEN_K_DCCP] = "dccp",
	[GEN_K_DCCP_BADSEQ] = "dccp_badseq",
	[GEN_K_GRE_ONEWAY] = "gre_oneway",
	[GEN_K_GRE_PPTP] = "gre_pptp",
	[GEN_K_FTP_PASV] = "ftp_passive",
	[GEN_K_FTP_PORT] = "ftp_active",
	[GEN_K_TFTP] = "tftp",
	[GEN_K_BAD_TRUNC_ETH] = "trunc_eth",
	[GEN_K_BAD_TRUNC_IP] = "trunc_ip",
	[GEN_K_BAD_IHL] = "bad_ihl",
	[GEN_K_BAD_TOTAL_LEN] = "bad_total_len",
	[GEN_K_BAD_TRUNC_TCP] = "trunc_tcp",
	[GEN_K_BAD_TRUNC_UDP] = "trunc_udp",
	[GEN_K_BAD_TRUNC_ICMP] = "trunc_icmp",
	[GEN_K_BAD_TCP_DOFF] = "bad_tcp_doff",
	[GEN_K_BAD_SYN_FIN] = "syn_fin",
	[GEN_K_BAD_UDP_LEN] = "bad_udp_len",
	[GEN_K_BAD_ICMP_QUOTE] = "bad_icmp_quote",
	[GEN_K_BAD_TRUNC_V6_EXT] = "trunc_ipv6_ext",
};

const char *
gen_kind_name(enum gen_kind k)
{
	if ((unsigned int)k >= GEN_K_MAX)
		return "?";
	return kind_names[k];
}

static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static const uint8_t mac_a[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t mac_b[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

/* L4 checksum over the pseudo header (none for ICMPv4) and the segment. */
static void
l4_checksum(int v6, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint8_t *l4,
	    size_t l4len)
{
	size_t off;
	uint32_t sum = 0;
	uint16_t c;

	switch (proto) {
	case 6:
		off = 16;
		break;
	case 17:
	case 33: /* DCCP, checksum coverage 0: the whole packet */
		off = 6;
		break;
	case 1:
	case 58:
		off = 2;
		break;
	default:
		return;
	}
	if (l4len < off + 2)
		return;
	l4[off] = 0;
	l4[off + 1] = 0;
	if (proto != 1) {
		sum = csum_add(sum, src, v6 ? 16 : 4);
		sum = csum_add(sum, dst, v6 ? 16 : 4);
		if (v6)
			sum += (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff);
		else
			sum += (uint32_t)l4len;
		sum += proto;
	}
	sum = csum_add(sum, l4, l4len);
	c = csum_fold(sum);
	/* UDP sends 0 as "no checksum", so a computed 0 goes out as 0xffff. */
	if (c == 0 && proto == 17)
		c = 0xffff;
	put16(l4 + off, c);
}

size_t
gen_frame_ip(uint8_t *buf, int v6, const uint8_t *src, const uint8_t *dst, uint8_t proto,
	     uint16_t ip_id, int mac_dir, uint8_t *l4, size_t l4len)
{
	size_t iplen = v6 ? GEN_IP6_LEN : GEN_IP4_LEN;
	size_t len = GEN_ETH_LEN + iplen + l4len;
	uint8_t *ip = buf + GEN_ETH_LEN;

	if (len > GEN_FRAME_MAX)
		return 0;
	memcpy(buf, mac_dir ? mac_a : mac_b, 6);
	memcpy(buf + 6, mac_dir ? mac_b : mac_a, 6);
	put16(buf + 12, v6 ? 0x86dd : 0x0800);

	l4_checksum(v6, src, dst, proto, l4, l4len);
	if (v6) {
		/* Flow label 0 is legal and keeps captures independent of hashing choices. */
		ip[0] = 0x60;
		ip[1] = 0;
		ip[2] = 0;
		ip[3] = 0;
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = proto;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	} else {
		ip[0] = 0x45;
		ip[1] = 0;
		put16(ip + 2, (uint16_t)(iplen + l4len));
		put16(ip + 4, ip_id);
		put16(ip + 6, 0x4000); /* DF, as Linux sets on PMTU-discovering sockets */
		ip[8] = 64;
		ip[9] = proto;
		ip[10] = 0;
		ip[11] = 0;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		put16(ip + 10, csum_fold(csum_add(0, ip, GEN_IP4_LEN)));
	}
	memcpy(ip + iplen, l4, l4len);
	if (len < GEN_FRAME_MIN) {
		memset(buf + len, 0, GEN_FRAME_MIN - len);
		len = GEN_FRAME_MIN;
	}
	return len;
}

void
gen_frame_ip4_csum(uint8_t *frame)
{
	uint8_t *ip = frame + GEN_ETH_LEN;

	ip[10] = 0;
	ip[11] = 0;
	put16(ip + 10, csum_fold(csum_add(0, ip, GEN_IP4_LEN)));
}

int
gen_out_frame(struct gen_out *o, const uint8_t *frame, size_t len)
{
	uint8_t tagged[GEN_FRAME_MAX + GEN_FRAME_MIN + 4];
	struct pcap_pkthdr h;
	unsigned i, n = o->n_vlan ? o->n_vlan : 1;

	for (i = 0; i < n; i++) {
		const uint8_t *f = frame;
		size_t l = len;

		if (o->n_vlan && len >= 12 && len + 4 <= sizeof(tagged)) {
			memcpy(tagged, frame, 12);
			tagged[12] = 0x81;
			tagged[13] = 0x00;
			tagged[14] = (uint8_t)(o->vlan[i] >> 8);
			tagged[15] = (uint8_t)o->vlan[i];
			memcpy(tagged + 16, frame + 12, len - 12);
			f = tagged;
			l = len + 4;
		}
		memset(&h, 0, sizeof(h));
		h.ts.tv_sec = (time_t)(o->now_us / 1000000);
		h.ts.tv_usec = (suseconds_t)(o->now_us % 1000000);
		h.caplen = (bpf_u_int32)l;
		h.len = (bpf_u_int32)l;
		pcap_dump((u_char *)o->dumper, &h, f);
		o->now_us += GEN_STEP_US;
		o->packets++;
		o->bytes += l;
	}
	return 0;
}
