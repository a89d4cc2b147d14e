/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ct_parse(): good packets of every kind give the right tuple and fields;
 * every malformed shape gives the right class and reason; truncation at
 * every byte is handled; the tuple hash is direction independent and well
 * mixed. Frames are built by hand with the small builder below.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "ct_private.h"
#include "dpct_test.h"

enum { FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10 };

static const uint8_t A4[4] = { 192, 0, 2, 1 };
static const uint8_t B4[4] = { 198, 51, 100, 7 };
static const uint8_t A6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t B6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x22 };

/* ------------------------------------------------------------------------ */
/* Frame builder                                                             */

struct frame {
	uint8_t b[2048];
	uint32_t n;
	uint32_t l3;    /* outer IP header offset (0: none yet) */
	uint32_t l4;    /* outer L4 header offset */
};

static void
put8(struct frame *f, uint8_t v)
{
	f->b[f->n++] = v;
}

static void
put16(struct frame *f, uint16_t v)
{
	put8(f, (uint8_t)(v >> 8));
	put8(f, (uint8_t)v);
}

static void
put32(struct frame *f, uint32_t v)
{
	put16(f, (uint16_t)(v >> 16));
	put16(f, (uint16_t)v);
}

static void
putn(struct frame *f, const void *p, uint32_t n)
{
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void
zeros(struct frame *f, uint32_t n)
{
	memset(f->b + f->n, 0, n);
	f->n += n;
}

static void
set16(struct frame *f, uint32_t off, uint16_t v)
{
	f->b[off] = (uint8_t)(v >> 8);
	f->b[off + 1] = (uint8_t)v;
}

/* Ethernet header with `ntags` VLAN tags of the given TPIDs, then `et`. */
static void
eth(struct frame *f, const uint16_t *tpids, unsigned ntags, uint16_t et)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	unsigned i;

	memset(f, 0, sizeof(*f));
	putn(f, macs, 12);
	for (i = 0; i < ntags; i++) {
		put16(f, tpids[i]);
		put16(f, (uint16_t)(100 + i));
	}
	put16(f, et);
}

/* IPv4 header with `opt` bytes of options (multiple of 4); total length set by fix(). */
static uint32_t
ipv4(struct frame *f, uint8_t proto, const uint8_t *src, const uint8_t *dst, unsigned opt,
     uint16_t frag)
{
	uint32_t at = f->n;

	put8(f, (uint8_t)(0x40 | (5 + opt / 4)));
	put8(f, 0);
	put16(f, 0);
	put16(f, 0x1234);
	put16(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	putn(f, src, 4);
	putn(f, dst, 4);
	memset(f->b + f->n, 1, opt); /* NOPs */
	f->n += opt;
	if (f->l3 == 0) {
		f->l3 = at;
		f->l4 = f->n;
	}
	return at;
}

static uint32_t
ipv6(struct frame *f, uint8_t nh, const uint8_t *src, const uint8_t *dst)
{
	uint32_t at = f->n;

	put32(f, 0x60000000);
	put16(f, 0);
	put8(f, nh);
	put8(f, 64);
	putn(f, src, 16);
	putn(f, dst, 16);
	if (f->l3 == 0) {
		f->l3 = at;
		f->l4 = f->n;
	}
	return at;
}

/* An IPv6 extension header of `len` bytes whose own type is `self`. */
static void
ext6(struct frame *f, uint8_t self, uint8_t nh, uint32_t len)
{
	put8(f, nh);
	put8(f, (uint8_t)(self == 51 ? len / 4 - 2 : len / 8 - 1));
	zeros(f, len - 2);
	f->l4 = f->n;
}

static void
frag6(struct frame *f, uint8_t nh, uint16_t offset8, int more)
{
	put8(f, nh);
	put8(f, 0);
	put16(f, (uint16_t)(offset8 << 3 | (more ? 1 : 0)));
	put32(f, 0xabcd);
	f->l4 = f->n;
}

static void
tcp(struct frame *f, uint16_t sp, uint16_t dp, uint8_t flags, unsigned doff_words,
    uint32_t payload)
{
	put16(f, sp);
	put16(f, dp);
	put32(f, 1000);
	put32(f, 2000);
	put8(f, (uint8_t)(doff_words << 4));
	put8(f, flags);
	put16(f, 29200);
	put16(f, 0);
	put16(f, 0);
	if (doff_words > 5)
		memset(f->b + f->n, 1, (doff_words - 5) * 4), f->n += (doff_words - 5) * 4;
	zeros(f, payload);
}

static void
udp(struct frame *f, uint16_t sp, uint16_t dp, uint32_t payload)
{
	put16(f, sp);
	put16(f, dp);
	put16(f, (uint16_t)(8 + payload));
	put16(f, 0);
	zeros(f, payload);
}

static void
icmp(struct frame *f, uint8_t type, uint8_t code, uint16_t id)
{
	put8(f, type);
	put8(f, code);
	put16(f, 0);
	put16(f, id);
	put16(f, 1);
}

/* Set the outer IP length field to cover everything up to the end of the frame. */
static void
fix(struct frame *f)
{
	if ((f->b[f->l3] >> 4) == 4)
		set16(f, f->l3 + 2, (uint16_t)(f->n - f->l3));
	else
		set16(f, f->l3 + 4, (uint16_t)(f->n - f->l3 - 40));
}

static int
parse(const struct frame *f, struct ct_pkt *p)
{
	return ct_parse(f->b, f->n, 0, p);
}

/* Expect an invalid packet with `reason`. */
#define T_INV(f, reason) do { \
	struct ct_pkt p_; \
	T_EQ(parse((f), &p_), CT_PKT_INVALID); \
	T_STREQ(ct_invalid_reason_name(p_.invalid_reason), ct_invalid_reason_name(reason)); \
} while (0)

/* ------------------------------------------------------------------------ */
/* Good packets                                                              */

static int
test_tcp_v4(void)
{
	struct frame f;
	struct ct_pkt p;

	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, A4, B4, 0, 0x4000 /* DF */);
	tcp(&f, 40000, 443, SYN, 5, 0);
	fix(&f);
	T_EQ(ct_parse(f.b, f.n, 7, &p), CT_PKT_TRACK);
	T_EQ(p.cls, CT_PKT_TRACK);
	T_MEMEQ(p.tuple.src, A4, 4);
	T_MEMEQ(p.tuple.dst, B4, 4);
	for (unsigned i = 4; i < 16; i++)
		T_EQ(p.tuple.src[i] | p.tuple.dst[i], 0);
	T_EQ(p.tuple.sport, 40000);
	T_EQ(p.tuple.dport, 443);
	T_EQ(p.tuple.proto, 6);
	T_EQ(p.tuple.family, 4);
	T_EQ(p.tuple.zone, 7);
	/* Accounting counts the IP datagram, as Linux's acct. */
	T_EQ(p.len, 40);
	T_EQ(p.l3_off, 14);
	T_EQ(p.l4_off, 34);
	T_EQ(p.tcp_flags, SYN);
	T_EQ(p.tcp_seq, 1000);
	T_EQ(p.tcp_ack, 2000);
	T_EQ(p.tcp_win, 29200);
	T_EQ(p.payload_len, 0);
	T_EQ(p.invalid_reason, CT_INV_NONE);
	T_UEQ(p.hash, ct_tuple_hash(&p.tuple));
	return 0;
}

static int
test_tcp_v4_options_and_padding(void)
{
	struct frame f;
	struct ct_pkt p;

	/* IP options skipped, TCP options skipped, payload counted, Ethernet padding ignored. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, A4, B4, 8, 0);
	tcp(&f, 1, 2, ACK | PSH, 8, 5);
	fix(&f);
	zeros(&f, 20); /* trailer beyond the IP total length */
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.l4_off, 14 + 28);
	T_EQ(p.payload_len, 5);
	T_EQ(p.len, f.n - 20 - 14);
	/* A minimum frame: 54 bytes padded to 60. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, A4, B4, 0, 0);
	tcp(&f, 1, 2, ACK, 5, 0);
	fix(&f);
	zeros(&f, 6);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.payload_len, 0);
	T_EQ(p.len, 40);
	return 0;
}

/*
 * TCP options as Linux's tcp_options()/tcp_sack() read them, table-driven:
 * the timestamp-only layout (NOP, NOP, TS) that tcp_options() takes
 * without its loop, the same bytes in other layouts that go through it,
 * and the options that matter around a timestamp.
 */
static int
test_tcp_options_table(void)
{
	static const struct {
		const char *name;
		uint8_t len;          /* option bytes, a multiple of 4 */
		uint8_t o[20];
		uint8_t opts;         /* CT_PKT_OPT_* expected */
		uint8_t wscale;
		uint32_t sack;        /* expected tcp_sack (the ack is 2000) */
	} tab[] = {
		{ "NOP NOP TS", 12, { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 },
		  CT_PKT_OPT_PRESENT, 0, 2000 },
		{ "TS NOP NOP", 12, { 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1 },
		  CT_PKT_OPT_PRESENT, 0, 2000 },
		{ "NOP NOP TS, a SACK cut short after", 20,
		  { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 5, 10, 0, 0, 0x0b, 0xb8, 0, 0 },
		  CT_PKT_OPT_PRESENT, 0, 2000 },
		{ "NOP NOP SACK (2000..3000)", 12, { 1, 1, 5, 10, 0, 0, 0x07, 0xd0, 0, 0, 0x0b, 0xb8 },
		  CT_PKT_OPT_PRESENT, 0, 3000 },
		{ "NOP WS 7, NOP NOP TS", 16, { 1, 3, 3, 7, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 },
		  CT_PKT_OPT_PRESENT | CT_PKT_OPT_WSCALE, 7, 2000 },
		{ "SACK-permitted, NOP NOP TS", 16, { 4, 2, 1, 1, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 },
		  CT_PKT_OPT_PRESENT | CT_PKT_OPT_SACKOK, 0, 2000 },
		{ "NOP NOP, TS cut short", 12, { 1, 1, 8, 11, 0, 0, 0, 1, 0, 0, 0, 2 },
		  CT_PKT_OPT_PRESENT, 0, 2000 },
	};
	unsigned i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		struct frame f;
		struct ct_pkt p, full;

		eth(&f, NULL, 0, 0x0800);
		ipv4(&f, 6, A4, B4, 0, 0);
		tcp(&f, 1, 2, ACK, 5 + tab[i].len / 4u, 0);
		memcpy(f.b + f.n - tab[i].len, tab[i].o, tab[i].len);
		fix(&f);
		printf("# %s\n", tab[i].name);
		T_EQ(parse(&f, &p), CT_PKT_TRACK);
		T_EQ(p.tcp_opts, tab[i].opts);
		T_EQ(p.tcp_wscale, tab[i].wscale);
		T_UEQ(p.tcp_sack, tab[i].sack);
		/* The full parser takes the same path through tcp_options(). */
		T_EQ(ct_parse_full(f.b, f.n, 0, &full), CT_PKT_TRACK);
		T_MEMEQ(&full, &p, sizeof(p));
	}
	return 0;
}

static int
test_udp_v6_exthdrs(void)
{
	struct frame f;
	struct ct_pkt p;

	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 0, A6, B6);
	ext6(&f, 0, 43, 8);      /* hop-by-hop -> routing */
	ext6(&f, 43, 60, 24);    /* routing -> destination options */
	ext6(&f, 60, 51, 16);    /* destination options -> AH */
	ext6(&f, 51, 135, 24);   /* AH (4-byte units) -> mobility */
	ext6(&f, 135, 17, 8);    /* mobility -> UDP */
	udp(&f, 5353, 53, 12);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_MEMEQ(p.tuple.src, A6, 16);
	T_MEMEQ(p.tuple.dst, B6, 16);
	T_EQ(p.tuple.family, 6);
	T_EQ(p.tuple.proto, 17);
	T_EQ(p.tuple.sport, 5353);
	T_EQ(p.tuple.dport, 53);
	T_EQ(p.l3_off, 14);
	T_EQ(p.l4_off, 14 + 40 + 8 + 24 + 16 + 24 + 8);
	T_EQ(p.payload_len, 12);
	return 0;
}

static int
test_udp_length_shorter_than_ip_payload(void)
{
	struct frame f;
	struct ct_pkt p;

	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, A4, B4, 0, 0);
	udp(&f, 1000, 2000, 4);
	zeros(&f, 10); /* IP payload longer than the UDP length: allowed, as in Linux */
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.payload_len, 4);
	return 0;
}

static int
test_icmp_echo_v4_v6(void)
{
	struct frame f;
	struct ct_pkt p;

	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 1, A4, B4, 0, 0);
	icmp(&f, 8, 0, 0x4242);
	zeros(&f, 56);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.proto, 1);
	/* Keyed as Linux: id, and the request type | code << 8. */
	T_EQ(p.tuple.sport, 0x4242);
	T_EQ(p.tuple.dport, 8);
	T_EQ(p.icmp_type, 8);
	T_EQ(p.icmp_code, 0);
	T_EQ(p.payload_len, 56);
	/* The reply: same tuple but reversed, same hash. */
	{
		struct ct_pkt q;

		eth(&f, NULL, 0, 0x0800);
		ipv4(&f, 1, B4, A4, 0, 0);
		icmp(&f, 0, 0, 0x4242);
		fix(&f);
		T_EQ(parse(&f, &q), CT_PKT_TRACK);
		T_EQ(q.icmp_type, 0);
		T_EQ(q.tuple.sport, 8);
		T_EQ(q.tuple.dport, 0x4242);
		T_UEQ(q.hash, p.hash);
	}
	/* Timestamp request: a query Linux tracks. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 1, A4, B4, 0, 0);
	icmp(&f, 13, 0, 9);
	zeros(&f, 12);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.sport, 9);
	T_EQ(p.tuple.dport, 13);
	/* Its reply (14) pairs with it, not with an echo of the same id. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 1, B4, A4, 0, 0);
	icmp(&f, 14, 0, 9);
	zeros(&f, 12);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.sport, 13);
	T_EQ(p.tuple.dport, 9);
	/* Address mask and information requests likewise, code in the high byte. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 1, A4, B4, 0, 0);
	icmp(&f, 17, 1, 9);
	zeros(&f, 4);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.dport, 17 | 1 << 8);
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 1, A4, B4, 0, 0);
	icmp(&f, 15, 0, 9);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.dport, 15);

	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 58, A6, B6);
	icmp(&f, 128, 0, 77);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.proto, 58);
	T_EQ(p.tuple.sport, 77);
	T_EQ(p.tuple.dport, 128);
	T_EQ(p.icmp_type, 128);
	return 0;
}

static int
test_icmp_error_v4_quotes_tcp(void)
{
	struct frame f;
	struct ct_pkt p;
	uint32_t in;

	/* B reports to A that A's TCP segment to B's port 80 was unreachable. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 1, B4, A4, 0, 0);
	icmp(&f, 3, 3, 0);
	in = ipv4(&f, 6, A4, B4, 4, 0);
	set16(&f, in + 2, 1500); /* the original was longer than the quote */
	put16(&f, 33000);
	put16(&f, 80);
	put32(&f, 1);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_ICMP_ERROR);
	T_EQ(p.icmp_type, 3);
	T_EQ(p.icmp_code, 3);
	T_MEMEQ(p.tuple.src, A4, 4);
	T_MEMEQ(p.tuple.dst, B4, 4);
	T_EQ(p.tuple.sport, 33000);
	T_EQ(p.tuple.dport, 80);
	T_EQ(p.tuple.proto, 6);
	T_EQ(p.tuple.family, 4);
	T_UEQ(p.hash, ct_tuple_hash(&p.tuple));
	return 0;
}

static int
test_icmp_error_quotes_echo_and_error(void)
{
	struct frame f;
	struct ct_pkt p;

	/* Time exceeded quoting an echo request: the echo flow's tuple. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 1, B4, A4, 0, 0);
	icmp(&f, 11, 0, 0);
	ipv4(&f, 1, A4, B4, 0, 0);
	icmp(&f, 8, 0, 555);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_ICMP_ERROR);
	T_EQ(p.tuple.proto, 1);
	T_EQ(p.tuple.sport, 555);
	T_EQ(p.tuple.dport, 8);
	/* An error about an error is never sent: malformed. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 1, B4, A4, 0, 0);
	icmp(&f, 3, 1, 0);
	ipv4(&f, 1, A4, B4, 0, 0);
	icmp(&f, 3, 1, 0);
	fix(&f);
	T_INV(&f, CT_INV_ICMP);
	/* Quoted non-first fragment: no ports to relate. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 1, B4, A4, 0, 0);
	icmp(&f, 3, 1, 0);
	ipv4(&f, 17, A4, B4, 0, 0x0010);
	udp(&f, 1, 2, 0);
	fix(&f);
	T_INV(&f, CT_INV_ICMP);
	/* Quoted packet that is not IPv4. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 1, B4, A4, 0, 0);
	icmp(&f, 3, 1, 0);
	ipv6(&f, 17, A6, B6);
	fix(&f);
	T_INV(&f, CT_INV_ICMP);
	/* Quoted generic protocol: ports 0, no L4 bytes needed. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 1, B4, A4, 0, 0);
	icmp(&f, 3, 2, 0);
	ipv4(&f, 47, A4, B4, 0, 0);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_ICMP_ERROR);
	T_EQ(p.tuple.proto, 47);
	T_EQ(p.tuple.sport, 0);
	return 0;
}

static int
test_icmpv6_error_quotes_udp_through_exthdr(void)
{
	struct frame f;
	struct ct_pkt p;

	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 58, B6, A6);
	icmp(&f, 1, 4, 0); /* destination unreachable, port unreachable */
	ipv6(&f, 60, A6, B6);
	ext6(&f, 60, 17, 8);
	udp(&f, 4000, 53, 0);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_ICMP_ERROR);
	T_MEMEQ(p.tuple.src, A6, 16);
	T_MEMEQ(p.tuple.dst, B6, 16);
	T_EQ(p.tuple.proto, 17);
	T_EQ(p.tuple.sport, 4000);
	T_EQ(p.tuple.dport, 53);
	T_EQ(p.tuple.family, 6);
	/* Packet too big (2) and the quote cut inside the UDP header. */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 58, B6, A6);
	icmp(&f, 2, 0, 0);
	ipv6(&f, 17, A6, B6);
	put16(&f, 4000);
	fix(&f);
	T_INV(&f, CT_INV_ICMP);
	return 0;
}

static int
test_icmp_types_without_tuple(void)
{
	struct frame f;
	struct ct_pkt p;

	/* v4 router advertisement: Linux cannot invert it, INVALID. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 1, A4, B4, 0, 0);
	icmp(&f, 9, 0, 0);
	fix(&f);
	T_INV(&f, CT_INV_ICMP);
	/* v6 neighbour solicitation and MLD report: untracked as in Linux. */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 58, A6, B6);
	icmp(&f, 135, 0, 0);
	zeros(&f, 16);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_NOT_IP);
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 0, A6, B6);
	ext6(&f, 0, 58, 8);
	icmp(&f, 143, 0, 0);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_NOT_IP);
	/* v6 redirect: INVALID in Linux. */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 58, A6, B6);
	icmp(&f, 137, 0, 0);
	zeros(&f, 32);
	fix(&f);
	T_INV(&f, CT_INV_ICMP);
	return 0;
}

static int
test_other_protocols(void)
{
	struct frame f;
	struct ct_pkt p;

	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 47, A4, B4, 0, 0);
	zeros(&f, 24);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.proto, 47);
	T_EQ(p.tuple.sport, 0);
	T_EQ(p.tuple.dport, 0);
	T_EQ(p.payload_len, 24);
	/* ESP ends the IPv6 walk: generic, ports 0. */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 0, A6, B6);
	ext6(&f, 0, 50, 8);
	zeros(&f, 40);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.proto, 50);
	T_EQ(p.tuple.sport, 0);
	T_EQ(p.l4_off, 14 + 48);
	/* No next header, no payload at all. */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 59, A6, B6);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.proto, 59);
	T_EQ(p.payload_len, 0);
	/* An unknown next header is the upper-layer protocol. */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 253, A6, B6);
	zeros(&f, 8);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.proto, 253);
	return 0;
}

static int
test_not_ip(void)
{
	struct frame f;
	struct ct_pkt p;

	eth(&f, NULL, 0, 0x0806);
	zeros(&f, 28);
	T_EQ(parse(&f, &p), CT_PKT_NOT_IP);
	T_EQ(p.len, f.n);
	eth(&f, NULL, 0, 0x88cc);
	T_EQ(parse(&f, &p), CT_PKT_NOT_IP);
	return 0;
}

static int
test_vlan_stacks(void)
{
	static const uint16_t one[] = { 0x8100 };
	static const uint16_t qinq[] = { 0x88a8, 0x8100 };
	static const uint16_t old_qinq[] = { 0x9100, 0x8100 };
	static const uint16_t three[] = { 0x88a8, 0x8100, 0x8100 };
	static const uint16_t inner_9100[] = { 0x8100, 0x9100 };
	struct frame f;
	struct ct_pkt p;

	eth(&f, one, 1, 0x0800);
	ipv4(&f, 17, A4, B4, 0, 0);
	udp(&f, 1, 2, 0);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.l3_off, 18);
	T_EQ(p.l4_off, 38);

	eth(&f, qinq, 2, 0x86dd);
	ipv6(&f, 6, A6, B6);
	tcp(&f, 1, 2, SYN, 5, 0);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.l3_off, 22);
	T_EQ(p.tuple.sport, 1);

	eth(&f, old_qinq, 2, 0x0800);
	ipv4(&f, 17, A4, B4, 0, 0);
	udp(&f, 1, 2, 0);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.l3_off, 22);

	/* Three tags: not parsed, passes untracked (documented in ct_parse.c). */
	eth(&f, three, 3, 0x0800);
	ipv4(&f, 17, A4, B4, 0, 0);
	udp(&f, 1, 2, 0);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_NOT_IP);
	/* 0x9100 is accepted only as the outer tag. */
	eth(&f, inner_9100, 2, 0x0800);
	ipv4(&f, 17, A4, B4, 0, 0);
	udp(&f, 1, 2, 0);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_NOT_IP);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Malformed                                                                 */

/*
 * Cut `full` at every length. Without fixing the IP length the error is
 * where the cut falls in the L2/L3 headers, else the IP length; with the
 * length fixed, truncated L4 headers show.
 */
static int
test_truncation_v4_tcp_vlan(void)
{
	static const uint16_t one[] = { 0x8100 };
	struct frame full, f;
	uint32_t l3, l4, len;

	eth(&full, one, 1, 0x0800);
	l3 = ipv4(&full, 6, A4, B4, 4, 0);
	l4 = full.n;
	tcp(&full, 1, 2, ACK, 8, 10);
	fix(&full);
	T_EQ(l3, 18);
	T_EQ(l4, 42);
	for (len = 0; len < full.n; len++) {
		enum ct_invalid_reason want;
		struct ct_pkt p;

		f = full;
		f.n = len;
		if (len < 18)
			want = CT_INV_TRUNC_L2;
		else if (len < l3 + 20)
			want = CT_INV_TRUNC_L3;
		else if (len < l4)
			want = CT_INV_IP_HDRLEN;
		else
			want = CT_INV_IP_TOTLEN;
		T_EQ(ct_parse(f.b, len, 0, &p), CT_PKT_INVALID);
		if (p.invalid_reason != want)
			T_FAIL_("cut at %u: %s, want %s", len,
				ct_invalid_reason_name(p.invalid_reason),
				ct_invalid_reason_name(want));
		if (len < l4)
			continue;
		fix(&f);
		if (len < l4 + 20)
			want = CT_INV_TRUNC_L4;
		else if (len < l4 + 32)
			want = CT_INV_TCP_DOFF;
		else
			want = CT_INV_NONE;
		ct_parse(f.b, len, 0, &p);
		if (p.invalid_reason != want || (want == CT_INV_NONE) != (p.cls == CT_PKT_TRACK))
			T_FAIL_("cut at %u, length fixed: cls %u %s, want %s", len, p.cls,
				ct_invalid_reason_name(p.invalid_reason),
				ct_invalid_reason_name(want));
	}
	return 0;
}

static int
test_truncation_v6_udp_exthdrs(void)
{
	static const uint16_t two[] = { 0x88a8, 0x8100 };
	struct frame full, f;
	uint32_t l3 = 22, l4, len;
	uint32_t ext_start, ext_end;

	eth(&full, two, 2, 0x86dd);
	ipv6(&full, 0, A6, B6);
	ext_start = full.n;
	ext6(&full, 0, 43, 16);
	ext6(&full, 43, 44, 8);
	frag6(&full, 60, 0, 0); /* an atomic fragment: offset 0, no more fragments */
	ext6(&full, 60, 17, 8);
	ext_end = full.n;
	l4 = full.n;
	udp(&full, 7, 8, 4);
	fix(&full);
	for (len = 0; len < full.n; len++) {
		enum ct_invalid_reason want;
		struct ct_pkt p;

		f = full;
		f.n = len;
		if (len < l3)
			want = CT_INV_TRUNC_L2;
		else if (len < l3 + 40)
			want = CT_INV_TRUNC_L3;
		else
			want = CT_INV_IP_TOTLEN;
		T_EQ(ct_parse(f.b, len, 0, &p), CT_PKT_INVALID);
		if (p.invalid_reason != want)
			T_FAIL_("cut at %u: %s, want %s", len,
				ct_invalid_reason_name(p.invalid_reason),
				ct_invalid_reason_name(want));
		if (len < l3 + 40)
			continue;
		fix(&f);
		if (len >= ext_start && len < ext_end)
			want = CT_INV_IPV6_EXTHDR;
		else if (len < l4 + 8)
			want = CT_INV_TRUNC_L4;
		else
			want = CT_INV_UDP_LEN;
		ct_parse(f.b, len, 0, &p);
		if (p.cls != CT_PKT_INVALID || p.invalid_reason != want)
			T_FAIL_("cut at %u, length fixed: cls %u %s, want %s", len, p.cls,
				ct_invalid_reason_name(p.invalid_reason),
				ct_invalid_reason_name(want));
	}
	{
		struct ct_pkt p;

		T_EQ(parse(&full, &p), CT_PKT_TRACK);
		T_EQ(p.l4_off, l4);
	}
	return 0;
}

static int
test_truncation_icmp_and_quote(void)
{
	struct frame full, f;
	uint32_t l4, in, len;

	eth(&full, NULL, 0, 0x0800);
	ipv4(&full, 1, B4, A4, 0, 0);
	l4 = full.n;
	icmp(&full, 3, 3, 0);
	in = ipv4(&full, 17, A4, B4, 0, 0);
	udp(&full, 1, 2, 0);
	fix(&full);
	for (len = l4; len < full.n; len++) {
		struct ct_pkt p;

		f = full;
		f.n = len;
		fix(&f);
		T_EQ(ct_parse(f.b, len, 0, &p), CT_PKT_INVALID);
		T_EQ(p.invalid_reason, len < l4 + 8 ? CT_INV_TRUNC_L4 : CT_INV_ICMP);
	}
	T_EQ(in, l4 + 8);
	return 0;
}

static int
test_bad_ip_headers(void)
{
	struct frame f;

	/* IHL < 5 */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, A4, B4, 0, 0);
	udp(&f, 1, 2, 0);
	fix(&f);
	f.b[14] = 0x44;
	T_INV(&f, CT_INV_IP_HDRLEN);
	/* IHL beyond the packet */
	f.b[14] = 0x4f;
	T_INV(&f, CT_INV_IP_HDRLEN);
	/* Total length smaller than the header, larger than the frame */
	f.b[14] = 0x45;
	set16(&f, 16, 19);
	T_INV(&f, CT_INV_IP_TOTLEN);
	set16(&f, 16, (uint16_t)(f.n - 14 + 1));
	T_INV(&f, CT_INV_IP_TOTLEN);
	/* Total length shorter than the UDP header claims */
	set16(&f, 16, 20 + 6);
	T_INV(&f, CT_INV_TRUNC_L4);
	/* Version disagreeing with the ethertype, both ways */
	fix(&f);
	f.b[14] = 0x65;
	T_INV(&f, CT_INV_IP_VERSION);
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 17, A6, B6);
	udp(&f, 1, 2, 0);
	fix(&f);
	f.b[14] = 0x45;
	T_INV(&f, CT_INV_IP_VERSION);
	/* IPv6 payload length beyond the frame */
	f.b[14] = 0x60;
	set16(&f, 18, (uint16_t)(f.n - 54 + 1));
	T_INV(&f, CT_INV_IP_TOTLEN);
	return 0;
}

static int
test_bad_tcp(void)
{
	struct frame f;
	struct ct_pkt p;

	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, A4, B4, 0, 0);
	tcp(&f, 1, 2, ACK, 4, 0);
	fix(&f);
	T_INV(&f, CT_INV_TCP_DOFF);
	f.b[34 + 12] = 0xf0; /* 60 bytes of header in a 20-byte segment */
	T_INV(&f, CT_INV_TCP_DOFF);
	f.b[34 + 12] = 0x50;
	f.b[34 + 13] = SYN | FIN;
	T_INV(&f, CT_INV_TCP_FLAGS);
	T_EQ(parse(&f, &p), CT_PKT_INVALID);
	T_EQ(p.tcp_flags, SYN | FIN);
	f.b[34 + 13] = 0;
	T_INV(&f, CT_INV_TCP_FLAGS);
	f.b[34 + 13] = FIN | PSH | 0x20;
	T_INV(&f, CT_INV_TCP_FLAGS);
	f.b[34 + 13] = SYN | 0x40 | 0x80;
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	return 0;
}

static int
test_bad_udp(void)
{
	struct frame f;

	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, A4, B4, 0, 0);
	udp(&f, 1, 2, 10);
	fix(&f);
	set16(&f, 34 + 4, 7);
	T_INV(&f, CT_INV_UDP_LEN);
	set16(&f, 34 + 4, 19);
	T_INV(&f, CT_INV_UDP_LEN);
	set16(&f, 34 + 4, 18);
	{
		struct ct_pkt p;

		T_EQ(parse(&f, &p), CT_PKT_TRACK);
	}
	return 0;
}

static int
test_exthdr_chains(void)
{
	struct frame f;
	struct ct_pkt p;
	unsigned i;

	/* Eight extension headers are walked, a ninth is too many. */
	for (unsigned n = 8; n <= 9; n++) {
		eth(&f, NULL, 0, 0x86dd);
		ipv6(&f, 60, A6, B6);
		for (i = 0; i < n; i++)
			ext6(&f, 60, i + 1 < n ? 60 : 17, 8);
		udp(&f, 1, 2, 0);
		fix(&f);
		if (n == 8) {
			T_EQ(parse(&f, &p), CT_PKT_TRACK);
			T_EQ(p.tuple.sport, 1);
		} else {
			T_INV(&f, CT_INV_IPV6_EXTHDR);
		}
	}
	/* A header whose length runs past the payload. */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 43, A6, B6);
	ext6(&f, 43, 17, 8);
	udp(&f, 1, 2, 0);
	fix(&f);
	f.b[54 + 1] = 200;
	T_INV(&f, CT_INV_IPV6_EXTHDR);
	/* A long but valid header (2 KB of options). */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 0, A6, B6);
	ext6(&f, 0, 6, 1952);
	tcp(&f, 5, 6, SYN, 5, 0);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.sport, 5);
	return 0;
}

static int
test_fragments_v4(void)
{
	struct frame f;
	struct ct_pkt p;

	/* Non-first fragment: untracked. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, A4, B4, 0, 185);
	zeros(&f, 100);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_FRAGMENT);
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, A4, B4, 0, 0x2000 | 3);
	zeros(&f, 8);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_FRAGMENT);
	/* First fragment with a whole UDP header: tracked, the UDP length is the datagram's. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, A4, B4, 0, 0x2000);
	udp(&f, 1111, 2222, 64);
	set16(&f, 34 + 4, 3000);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.sport, 1111);
	T_EQ(p.payload_len, 64);
	/* First fragment with a whole TCP header: tracked. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, A4, B4, 0, 0x2000);
	tcp(&f, 3, 4, ACK, 5, 16);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	/* First fragment with only part of the TCP header: impossible fragment. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, A4, B4, 0, 0x2000);
	tcp(&f, 3, 4, ACK, 5, 0);
	f.n -= 8;
	fix(&f);
	T_INV(&f, CT_INV_IP_FRAG);
	/* ... or with TCP options cut by the fragment boundary. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, A4, B4, 0, 0x2000);
	tcp(&f, 3, 4, ACK, 10, 0);
	f.n -= 8;
	fix(&f);
	T_INV(&f, CT_INV_IP_FRAG);
	/* ... or a UDP header cut short. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, A4, B4, 0, 0x2000);
	put32(&f, 0x01020304);
	fix(&f);
	T_INV(&f, CT_INV_IP_FRAG);
	/* The same cut without MF is a plain truncation. */
	set16(&f, 20, 0);
	T_INV(&f, CT_INV_TRUNC_L4);
	return 0;
}

static int
test_fragments_v6(void)
{
	struct frame f;
	struct ct_pkt p;

	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 44, A6, B6);
	frag6(&f, 17, 100, 1);
	zeros(&f, 64);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_FRAGMENT);
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 44, A6, B6);
	frag6(&f, 17, 0, 1);
	udp(&f, 9, 10, 32);
	set16(&f, 62 + 4, 5000);
	fix(&f);
	T_EQ(parse(&f, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.sport, 9);
	T_EQ(p.l4_off, 62);
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 44, A6, B6);
	frag6(&f, 6, 0, 1);
	put32(&f, 0);
	fix(&f);
	T_INV(&f, CT_INV_IP_FRAG);
	/* A fragment header cut short. */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 44, A6, B6);
	put32(&f, 0x11000001);
	fix(&f);
	T_INV(&f, CT_INV_IPV6_EXTHDR);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* mbufs                                                                     */

static int
test_parse_mbuf_first_segment(void)
{
	static uint8_t buf[RTE_PKTMBUF_HEADROOM + 2048];
	struct rte_mbuf m;
	struct frame f;
	struct ct_pkt p;

	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, A4, B4, 0, 0);
	tcp(&f, 1, 2, ACK, 5, 1000);
	fix(&f);
	memset(&m, 0, sizeof(m));
	m.buf_addr = buf;
	m.buf_len = sizeof(buf);
	m.data_off = RTE_PKTMBUF_HEADROOM;
	memcpy(buf + RTE_PKTMBUF_HEADROOM, f.b, f.n);
	m.data_len = (uint16_t)f.n;
	m.pkt_len = f.n;
	m.nb_segs = 1;
	T_EQ(ct_parse_mbuf(&m, 3, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.zone, 3);
	T_EQ(p.len, f.n - 14);
	T_EQ(p.payload_len, 1000);
	/* Payload in later segments: lengths are checked against the whole packet. */
	m.data_len = 100;
	T_EQ(ct_parse_mbuf(&m, 0, &p), CT_PKT_TRACK);
	T_EQ(p.len, f.n - 14);
	T_EQ(p.payload_len, 1000);
	/* But the headers must be in the first segment. */
	m.data_len = 40;
	T_EQ(ct_parse_mbuf(&m, 0, &p), CT_PKT_INVALID);
	T_EQ(p.invalid_reason, CT_INV_TRUNC_L4);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Hash                                                                      */

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void
rand_tuple(struct ct_tuple *t)
{
	unsigned i;

	memset(t, 0, sizeof(*t));
	t->family = (rnd() & 1) ? 6 : 4;
	for (i = 0; i < (t->family == 6 ? 16u : 4u); i++) {
		t->src[i] = (uint8_t)rnd();
		t->dst[i] = (uint8_t)rnd();
	}
	/* Often equal prefixes, so the ordering has to look at late bytes and ports. */
	if (rnd() & 1)
		memcpy(t->dst, t->src, t->family == 6 ? 15 : 3);
	if ((rnd() & 7) == 0)
		memcpy(t->dst, t->src, 16);
	t->sport = (uint16_t)rnd();
	t->dport = (rnd() & 3) ? (uint16_t)rnd() : t->sport;
	t->proto = (uint8_t)rnd();
	t->zone = (uint16_t)(rnd() & 3);
}

static int
test_hash_symmetric(void)
{
	unsigned i;

	for (i = 0; i < 100000; i++) {
		struct ct_tuple t, r, rr;

		rand_tuple(&t);
		ct_tuple_reverse(&r, &t);
		ct_tuple_reverse(&rr, &r);
		T_MEMEQ(&rr, &t, sizeof(t));
		if (ct_tuple_hash(&t) != ct_tuple_hash(&r))
			T_FAIL_("tuple %u: hash %08x, reversed %08x", i, ct_tuple_hash(&t),
				ct_tuple_hash(&r));
		if (memcmp(&t, &r, sizeof(t)) != 0)
			T_NE(ct_tuple_canonical_swapped(&t), ct_tuple_canonical_swapped(&r));
	}
	return 0;
}

static int
test_hash_fields_matter(void)
{
	struct ct_tuple t, u;
	uint32_t h;

	rand_tuple(&t);
	h = ct_tuple_hash(&t);
	u = t;
	u.zone ^= 1;
	T_NE(ct_tuple_hash(&u), h);
	u = t;
	u.proto ^= 1;
	T_NE(ct_tuple_hash(&u), h);
	u = t;
	u.sport ^= 1;
	T_NE(ct_tuple_hash(&u), h);
	u = t;
	u.src[15] ^= 0x80;
	T_NE(ct_tuple_hash(&u), h);
	/* In-place reverse works. */
	u = t;
	ct_tuple_reverse(&u, &u);
	T_EQ(u.sport, t.dport);
	T_MEMEQ(u.src, t.dst, 16);
	return 0;
}

/*
 * Flows differing only in the source port (a client opening connections)
 * must spread over both the low 16 bits (bucket signature) and the high bits
 * (bucket index).
 */
static int
test_hash_mixing(void)
{
	enum { N = 65536, B = 256 };
	static unsigned hi[B], lo[B];
	static uint8_t seen16[65536 / 8];
	unsigned i, distinct = 0, max_hi = 0, max_lo = 0;
	struct ct_tuple t;

	memset(&t, 0, sizeof(t));
	t.family = 4;
	t.proto = 6;
	memcpy(t.src, A4, 4);
	memcpy(t.dst, B4, 4);
	t.dport = 443;
	for (i = 0; i < N; i++) {
		uint32_t h;

		t.sport = (uint16_t)i;
		h = ct_tuple_hash(&t);
		hi[h >> 24]++;
		lo[(h >> 4) & 0xff]++;
		if (!(seen16[(h & 0xffff) / 8] & (1u << (h & 7)))) {
			seen16[(h & 0xffff) / 8] |= (uint8_t)(1u << (h & 7));
			distinct++;
		}
	}
	for (i = 0; i < B; i++) {
		max_hi = hi[i] > max_hi ? hi[i] : max_hi;
		max_lo = lo[i] > max_lo ? lo[i] : max_lo;
	}
	/* Expected 256 per bin (sd 16); random 16-bit values cover ~63 % of 65536. */
	T_ASSERT(max_hi < 2 * N / B);
	T_ASSERT(max_lo < 2 * N / B);
	T_ASSERT(distinct > N / 2);
	return 0;
}

/* Random bytes and mutated good frames: classes valid, offsets inside the frame. */
static int
test_random_frames_invariants(void)
{
	struct frame good[4], f;
	unsigned i, k;

	eth(&good[0], NULL, 0, 0x0800);
	ipv4(&good[0], 6, A4, B4, 0, 0);
	tcp(&good[0], 1, 2, ACK, 5, 4);
	fix(&good[0]);
	eth(&good[1], NULL, 0, 0x86dd);
	ipv6(&good[1], 0, A6, B6);
	ext6(&good[1], 0, 17, 8);
	udp(&good[1], 1, 2, 4);
	fix(&good[1]);
	eth(&good[2], NULL, 0, 0x0800);
	ipv4(&good[2], 1, A4, B4, 0, 0);
	icmp(&good[2], 3, 1, 0);
	ipv4(&good[2], 6, B4, A4, 0, 0);
	tcp(&good[2], 1, 2, ACK, 5, 0);
	fix(&good[2]);
	eth(&good[3], NULL, 0, 0x86dd);
	ipv6(&good[3], 58, A6, B6);
	icmp(&good[3], 1, 1, 0);
	ipv6(&good[3], 44, B6, A6);
	frag6(&good[3], 17, 0, 1);
	udp(&good[3], 1, 2, 0);
	fix(&good[3]);
	for (i = 0; i < 200000; i++) {
		struct ct_pkt p;

		f = good[i % 4];
		for (k = rnd() % 4 + 1; k > 0; k--)
			f.b[rnd() % f.n] = (uint8_t)rnd();
		if (rnd() & 1)
			f.n = rnd() % (f.n + 1);
		ct_parse(f.b, f.n, 0, &p);
		T_ASSERT(p.cls <= CT_PKT_INVALID);
		T_ASSERT(p.invalid_reason < CT_INV_MAX);
		T_EQ(p.cls == CT_PKT_INVALID, p.invalid_reason != CT_INV_NONE);
		T_ASSERT(p.l3_off <= f.n);
		T_ASSERT(p.l4_off <= f.n);
		T_ASSERT(p.len <= f.n);
		if (p.cls == CT_PKT_TRACK || p.cls == CT_PKT_ICMP_ERROR) {
			T_ASSERT(p.tuple.family == 4 || p.tuple.family == 6);
			T_UEQ(p.hash, ct_tuple_hash(&p.tuple));
			T_ASSERT(p.l4_off + (uint32_t)p.payload_len <= f.n);
		}
	}
	return 0;
}

/*
 * ct_parse()'s fast path for plain IPv4 TCP/UDP against the full parser
 * (ct_parse_full()): frames it takes, and the same frames with header
 * bytes changed and lengths cut, must give identical struct ct_pkt.
 */
/* The frames both fast-path tests use: plain IPv4 TCP/UDP, of the fast path's kind. */
static void
fast_bases(struct frame good[6])
{
	unsigned i;

	for (i = 0; i < 6; i++) {
		eth(&good[i], NULL, 0, 0x0800);
		ipv4(&good[i], i < 4 ? 6 : 17, A4, B4, 0, i == 1 ? 0x4000 : 0);
		if (i < 3)
			tcp(&good[i], 40000, 443, (uint8_t)(i == 2 ? ACK | 0x08 : ACK), 5 + 3 * i, i * 100);
		else if (i == 3)
			tcp(&good[i], 1, 2, SYN, 10, 0);
		else
			udp(&good[i], 53, 5353, i == 4 ? 0 : 300);
		fix(&good[i]);
	}
}

/* Frame i: a base, most often with a few bytes (mostly of the headers) changed or cut short. */
static void
fast_mutant(const struct frame good[6], unsigned i, struct frame *f)
{
	static const uint16_t frags[] = { 0, 0x4000, 0x2000, 0x0001 };
	unsigned k;

	*f = good[i % 6];
	if (i % 7 != 0) {
		for (k = rnd() % 3 + 1; k > 0; k--) {
			uint32_t at = rnd() % 8 ? 12 + rnd() % 50 : rnd() % f->n;

			if (at < f->n)
				f->b[at] = (uint8_t)(rnd() % 4 ? rnd() : f->b[at] ^ (1u << (rnd() % 8)));
		}
		if (rnd() % 5 == 0)
			set16(f, 14 + 6, frags[rnd() % 4]);
	}
	if (rnd() % 4 == 0)
		f->n = rnd() % (f->n + 1);
}

static int
test_parse_fast_equals_full(void)
{
	struct frame good[6], f;
	unsigned i, fastlike = 0, other = 0;

	fast_bases(good);
	for (i = 0; i < 300000; i++) {
		struct ct_pkt a, b;

		fast_mutant(good, i, &f);
		memset(&a, 0xa5, sizeof(a));
		memset(&b, 0x5a, sizeof(b));
		ct_parse(f.b, f.n, (uint16_t)(i & 3), &a);
		ct_parse_full(f.b, f.n, (uint16_t)(i & 3), &b);
		if (memcmp(&a, &b, sizeof(a)) != 0)
			T_FAIL_("frame %u (base %u, %u bytes): fast and full parse differ", i, i % 6,
				f.n);
		/* `plain` marks exactly the fast path's shape, whichever parser took it. */
		if (a.cls == CT_PKT_TRACK && a.tuple.family == 4 && a.l3_off == 14 &&
		    a.l4_off == 34 && (a.tuple.proto == 6 || a.tuple.proto == 17)) {
			fastlike++;
			if (a.plain != 1)
				T_FAIL_("frame %u: the fast path's shape not marked plain", i);
		} else {
			other++;
			if (a.plain != 0)
				T_FAIL_("frame %u: marked plain, class %u", i, a.cls);
		}
	}
	printf("# %u frames of the fast path's kind, %u others\n", fastlike, other);
	T_ASSERT(fastlike > 100000);
	T_ASSERT(other > 50000);
	return 0;
}

/* ct_parse_burst() gives what ct_parse() gives frame by frame, whatever the mix of kinds. */
static int
test_parse_burst_equals_single(void)
{
	enum { BURST = 32, ROUNDS = 2000 };
	static struct frame f[BURST];
	const uint8_t *data[BURST];
	uint32_t len[BURST];
	struct frame good[6];
	unsigned r, i, tracked = 0, other = 0;

	fast_bases(good);
	for (r = 0; r < ROUNDS; r++) {
		struct ct_pkt a[BURST], b;
		unsigned n = 1 + r % BURST;
		uint16_t zone = (uint16_t)(r & 3);

		for (i = 0; i < n; i++) {
			fast_mutant(good, r * BURST + i, &f[i]);
			data[i] = f[i].b;
			len[i] = f[i].n;
		}
		memset(a, 0xa5, sizeof(a));
		ct_parse_burst(data, len, n, zone, a);
		for (i = 0; i < n; i++) {
			memset(&b, 0xa5, sizeof(b));
			ct_parse(f[i].b, f[i].n, zone, &b);
			if (memcmp(&a[i], &b, sizeof(b)) != 0)
				T_FAIL_("round %u frame %u: burst and single parse differ", r, i);
			if (b.cls == CT_PKT_TRACK)
				tracked++;
			else
				other++;
		}
		/* Nothing written past the burst. */
		for (i = n; i < BURST; i++)
			T_ASSERT(a[i].hash == 0xa5a5a5a5u);
	}
	printf("# %u tracked, %u others\n", tracked, other);
	T_ASSERT(tracked > 5000 && other > 5000);
	return 0;
}

/* ct_parse_mbuf_burst() gives what ct_parse_mbuf() gives mbuf by mbuf (ports, first segments). */
static int
test_parse_mbuf_burst_equals_single(void)
{
	enum { BURST = 32, ROUNDS = 500 };
	static uint8_t buf[BURST][RTE_PKTMBUF_HEADROOM + sizeof(((struct frame *)0)->b)];
	static struct rte_mbuf mb[BURST];
	struct rte_mbuf *mp[BURST];
	struct frame good[6], f;
	unsigned r, i, tracked = 0, short_seg = 0;

	fast_bases(good);
	for (r = 0; r < ROUNDS; r++) {
		struct ct_pkt a[BURST], b;
		unsigned n = 1 + r % BURST;
		uint16_t zone = (uint16_t)(r % 5);

		for (i = 0; i < n; i++) {
			fast_mutant(good, r * BURST + i, &f);
			memset(&mb[i], 0, sizeof(mb[i]));
			mb[i].buf_addr = buf[i];
			mb[i].buf_len = sizeof(buf[i]);
			mb[i].data_off = RTE_PKTMBUF_HEADROOM;
			memcpy(buf[i] + RTE_PKTMBUF_HEADROOM, f.b, f.n);
			mb[i].pkt_len = f.n;
			/* Every third: the rest of the packet in a (virtual) later segment. */
			mb[i].data_len = (uint16_t)(i % 3 == 0 && f.n > 40 ? 40 + rnd() % (f.n - 40) : f.n);
			short_seg += mb[i].data_len < f.n;
			mb[i].nb_segs = 1;
			mb[i].port = (uint16_t)(rnd() % 4);
			mp[i] = &mb[i];
		}
		memset(a, 0xa5, sizeof(a));
		ct_parse_mbuf_burst(mp, n, zone, a);
		for (i = 0; i < n; i++) {
			memset(&b, 0xa5, sizeof(b));
			ct_parse_mbuf(mp[i], zone, &b);
			if (memcmp(&a[i], &b, sizeof(b)) != 0)
				T_FAIL_("round %u mbuf %u: burst and single parse differ", r, i);
			tracked += b.cls == CT_PKT_TRACK;
		}
	}
	printf("# %u tracked, %u with a short first segment\n", tracked, short_seg);
	T_ASSERT(tracked > 2000 && short_seg > 1000);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_tcp_v4),
	T_CASE(test_tcp_v4_options_and_padding),
	T_CASE(test_tcp_options_table),
	T_CASE(test_udp_v6_exthdrs),
	T_CASE(test_udp_length_shorter_than_ip_payload),
	T_CASE(test_icmp_echo_v4_v6),
	T_CASE(test_icmp_error_v4_quotes_tcp),
	T_CASE(test_icmp_error_quotes_echo_and_error),
	T_CASE(test_icmpv6_error_quotes_udp_through_exthdr),
	T_CASE(test_icmp_types_without_tuple),
	T_CASE(test_other_protocols),
	T_CASE(test_not_ip),
	T_CASE(test_vlan_stacks),
	T_CASE(test_truncation_v4_tcp_vlan),
	T_CASE(test_truncation_v6_udp_exthdrs),
	T_CASE(test_truncation_icmp_and_quote),
	T_CASE(test_bad_ip_headers),
	T_CASE(test_bad_tcp),
	T_CASE(test_bad_udp),
	T_CASE(test_exthdr_chains),
	T_CASE(test_fragments_v4),
	T_CASE(test_fragments_v6),
	T_CASE(test_parse_mbuf_first_segment),
	T_CASE(test_hash_symmetric),
	T_CASE(test_hash_fields_matter),
	T_CASE(test_hash_mixing),
	T_CASE(test_random_frames_invariants),
	T_CASE(test_parse_fast_equals_full),
	T_CASE(test_parse_burst_equals_single),
	T_CASE(test_parse_mbuf_burst_equals_single),
};

T_MAIN(cases)
