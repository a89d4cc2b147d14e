/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/helper's FTP and TFTP parsers: a table of control-connection
 * segments at a line start and what Linux's nf_conntrack_ftp makes of each
 * (expectation, nothing, or a drop), then the line-start rules over a
 * sequence of segments, then TFTP.
 */

#include <arpa/inet.h>

#include "dpct_test.h"
#include "hlp.h"

#define CLIENT4 "10.0.0.1"
#define SERVER4 "10.0.0.2"
#define CLIENT6 "fd00::1"
#define SERVER6 "fd00::2"

/* The control connection client:40000 -> server:21 (or :69 for TFTP) and its reply tuple. */
static void
conn(int family, uint8_t proto, uint16_t sport, uint16_t dport, struct ct_tuple *o,
     struct ct_tuple *r)
{
	int af = family == 4 ? AF_INET : AF_INET6;

	memset(o, 0, sizeof(*o));
	inet_pton(af, family == 4 ? CLIENT4 : CLIENT6, o->src);
	inet_pton(af, family == 4 ? SERVER4 : SERVER6, o->dst);
	o->sport = sport;
	o->dport = dport;
	o->proto = proto;
	o->family = (uint8_t)family;
	o->zone = 7;
	memset(r, 0, sizeof(*r));
	memcpy(r->src, o->dst, 16);
	memcpy(r->dst, o->src, 16);
	r->sport = dport;
	r->dport = sport;
	r->proto = proto;
	r->family = (uint8_t)family;
	r->zone = 7;
}

struct seg_case {
	const char *name;
	int family;
	enum ct_dir dir;
	const char *payload;
	enum hlp_verdict v;
	enum hlp_why why;
	enum hlp_cmd cmd;
	uint16_t dport;       /* of the expected connection */
	bool from_server;     /* its source: the server (active) or the client (passive) */
};

static const struct seg_case seg_cases[] = {
	{ "PORT", 4, CT_DIR_ORIG, "PORT 10,0,0,1,156,65\r\n", HLP_EXPECT, HLP_WHY_NONE,
	  HLP_FTP_PORT, 156 * 256 + 65, true },
	{ "port, lower case", 4, CT_DIR_ORIG, "port 10,0,0,1,4,1\r\n", HLP_EXPECT, HLP_WHY_NONE,
	  HLP_FTP_PORT, 1025, true },
	{ "PORT, several spaces", 4, CT_DIR_ORIG, "PORT   10,0,0,1,4,1\r\n", HLP_DROP,
	  HLP_WHY_PARTIAL, 0, 0, false },
	{ "PORT, another address", 4, CT_DIR_ORIG, "PORT 10,0,0,9,4,1\r\n", HLP_PASS,
	  HLP_WHY_OTHER_ADDRESS, 0, 0, false },
	{ "PORT, server's address", 4, CT_DIR_ORIG, "PORT 10,0,0,2,4,1\r\n", HLP_PASS,
	  HLP_WHY_OTHER_ADDRESS, 0, 0, false },
	{ "PORT alone", 4, CT_DIR_ORIG, "PORT", HLP_DROP, HLP_WHY_PARTIAL, 0, 0, false },
	{ "POR, cut short", 4, CT_DIR_ORIG, "POR", HLP_DROP, HLP_WHY_PARTIAL, 0, 0, false },
	{ "PORT, five numbers", 4, CT_DIR_ORIG, "PORT 10,0,0,1,4\r\n", HLP_DROP,
	  HLP_WHY_PARTIAL, 0, 0, false },
	{ "PORT, seven numbers", 4, CT_DIR_ORIG, "PORT 10,0,0,1,4,1,2\r\n", HLP_DROP,
	  HLP_WHY_PARTIAL, 0, 0, false },
	{ "PORT, LF only", 4, CT_DIR_ORIG, "PORT 10,0,0,1,4,1\n", HLP_DROP, HLP_WHY_PARTIAL,
	  0, 0, false },
	{ "PORT, first half", 4, CT_DIR_ORIG, "PORT 10,0,0,1,", HLP_DROP, HLP_WHY_PARTIAL,
	  0, 0, false },
	{ "PORT, no space", 4, CT_DIR_ORIG, "PORTX\r\n", HLP_DROP, HLP_WHY_PARTIAL, 0, 0,
	  false },
	{ "PORT, letters", 4, CT_DIR_ORIG, "PORT a,b,c,d,e,f\r\n", HLP_DROP, HLP_WHY_PARTIAL,
	  0, 0, false },
	{ "PORT, over 255 wraps into another address", 4, CT_DIR_ORIG,
	  "PORT 10,0,0,257,4,1\r\n", HLP_PASS, HLP_WHY_OTHER_ADDRESS, 0, 0, false },
	{ "PORT port 0", 4, CT_DIR_ORIG, "PORT 10,0,0,1,0,0\r\n", HLP_EXPECT, HLP_WHY_NONE,
	  HLP_FTP_PORT, 0, true },
	{ "USER", 4, CT_DIR_ORIG, "USER anonymous\r\n", HLP_PASS, HLP_WHY_NO_COMMAND, 0, 0,
	  false },
	{ "PORT from the server", 4, CT_DIR_REPLY, "PORT 10,0,0,2,4,1\r\n", HLP_PASS,
	  HLP_WHY_NO_COMMAND, 0, 0, false },
	{ "227 from the client", 4, CT_DIR_ORIG, "227 (10,0,0,1,4,1)\r\n", HLP_PASS,
	  HLP_WHY_NO_COMMAND, 0, 0, false },
	{ "EPRT v4", 4, CT_DIR_ORIG, "EPRT |1|10.0.0.1|6275|\r\n", HLP_EXPECT, HLP_WHY_NONE,
	  HLP_FTP_EPRT, 6275, true },
	{ "EPRT v4, other delimiter", 4, CT_DIR_ORIG, "EPRT !1!10.0.0.1!6275!\r\n", HLP_EXPECT,
	  HLP_WHY_NONE, HLP_FTP_EPRT, 6275, true },
	{ "EPRT v4, digit delimiter", 4, CT_DIR_ORIG, "EPRT 3132.235.1.2363\r\n", HLP_DROP,
	  HLP_WHY_PARTIAL, 0, 0, false },
	{ "EPRT v6 on a v4 connection", 4, CT_DIR_ORIG, "EPRT |2|fd00::1|6275|\r\n", HLP_DROP,
	  HLP_WHY_PARTIAL, 0, 0, false },
	{ "EPRT v4, port 0", 4, CT_DIR_ORIG, "EPRT |1|10.0.0.1|0|\r\n", HLP_DROP,
	  HLP_WHY_PARTIAL, 0, 0, false },
	{ "EPRT v4, no closing delimiter", 4, CT_DIR_ORIG, "EPRT |1|10.0.0.1|6275\r\n",
	  HLP_DROP, HLP_WHY_PARTIAL, 0, 0, false },
	{ "EPRT v4, another address", 4, CT_DIR_ORIG, "EPRT |1|192.0.2.1|6275|\r\n", HLP_PASS,
	  HLP_WHY_OTHER_ADDRESS, 0, 0, false },
	{ "EPRT v6", 6, CT_DIR_ORIG, "EPRT |2|fd00::1|6275|\r\n", HLP_EXPECT, HLP_WHY_NONE,
	  HLP_FTP_EPRT, 6275, true },
	{ "EPRT v6, long form", 6, CT_DIR_ORIG, "EPRT |2|fd00:0:0:0:0:0:0:1|6275|\r\n",
	  HLP_EXPECT, HLP_WHY_NONE, HLP_FTP_EPRT, 6275, true },
	{ "EPRT v6, bad address", 6, CT_DIR_ORIG, "EPRT |2|fd00::zz|6275|\r\n", HLP_DROP,
	  HLP_WHY_PARTIAL, 0, 0, false },
	{ "EPRT v4 on a v6 connection", 6, CT_DIR_ORIG, "EPRT |1|10.0.0.1|6275|\r\n",
	  HLP_DROP, HLP_WHY_PARTIAL, 0, 0, false },
	{ "PORT on a v6 connection", 6, CT_DIR_ORIG, "PORT 10,0,0,1,4,1\r\n", HLP_PASS,
	  HLP_WHY_OTHER_ADDRESS, 0, 0, false },
	{ "227", 4, CT_DIR_REPLY, "227 Entering Passive Mode (10,0,0,2,195,80).\r\n",
	  HLP_EXPECT, HLP_WHY_NONE, HLP_FTP_PASV, 195 * 256 + 80, false },
	{ "227 without parentheses", 4, CT_DIR_REPLY, "227 =10,0,0,2,4,1\r\n", HLP_EXPECT,
	  HLP_WHY_NONE, HLP_FTP_PASV, 1025, false },
	{ "227 ends at the data's end", 4, CT_DIR_REPLY, "227 (10,0,0,2,4,1", HLP_DROP,
	  HLP_WHY_PARTIAL, 0, 0, false },
	{ "227 without numbers", 4, CT_DIR_REPLY, "227 Entering Passive Mode\r\n", HLP_DROP,
	  HLP_WHY_PARTIAL, 0, 0, false },
	{ "227, another address", 4, CT_DIR_REPLY, "227 (192,0,2,1,4,1)\r\n", HLP_PASS,
	  HLP_WHY_OTHER_ADDRESS, 0, 0, false },
	{ "229", 4, CT_DIR_REPLY, "229 Entering Extended Passive Mode (|||6446|)\r\n",
	  HLP_EXPECT, HLP_WHY_NONE, HLP_FTP_EPSV, 6446, false },
	{ "229 v6", 6, CT_DIR_REPLY, "229 Entering Extended Passive Mode (|||6446|)\r\n",
	  HLP_EXPECT, HLP_WHY_NONE, HLP_FTP_EPSV, 6446, false },
	{ "229, port 0", 4, CT_DIR_REPLY, "229 (|||0|)\r\n", HLP_DROP, HLP_WHY_PARTIAL, 0, 0,
	  false },
	{ "229, two delimiters", 4, CT_DIR_REPLY, "229 (||6446|)\r\n", HLP_DROP,
	  HLP_WHY_PARTIAL, 0, 0, false },
	{ "229 without a parenthesis", 4, CT_DIR_REPLY, "229 |||6446|\r\n", HLP_DROP,
	  HLP_WHY_PARTIAL, 0, 0, false },
	{ "229, port too long wraps", 4, CT_DIR_REPLY, "229 (|||65537|)\r\n", HLP_EXPECT,
	  HLP_WHY_NONE, HLP_FTP_EPSV, 1, false },
	{ "220 banner", 4, CT_DIR_REPLY, "220 Welcome\r\n", HLP_PASS, HLP_WHY_NO_COMMAND, 0, 0,
	  false },
	{ "22, cut short", 4, CT_DIR_REPLY, "22", HLP_DROP, HLP_WHY_PARTIAL, 0, 0, false },
};

static int
run_seg_case(const struct seg_case *c)
{
	struct ct_tuple o, r, want_src, want_dst;
	struct hlp_ftp_state st;
	struct hlp_expect e;
	struct hlp_seg seg;
	enum hlp_why why;
	enum hlp_verdict v;

	conn(c->family, 6, 40000, 21, &o, &r);
	memset(&st, 0, sizeof(st));
	/* The segment starts a line. */
	st.nl_seq[c->dir][0] = 1000;
	st.nl_num[c->dir] = 1;
	memset(&e, 0xa5, sizeof(e));
	seg.dir = c->dir;
	seg.seen_reply = true;
	seg.seq = 1000;
	seg.data = (const uint8_t *)c->payload;
	seg.len = (uint32_t)strlen(c->payload);
	v = hlp_ftp_segment(&st, &o, &r, &seg, &e, &why);
	printf("# %s: verdict %d why %d\n", c->name, v, why);
	T_EQ(v, c->v);
	T_EQ(why, c->why);
	if (v != HLP_EXPECT)
		return 0;
	T_EQ(e.cmd, c->cmd);
	T_EQ(e.tuple.dport, c->dport);
	T_EQ(e.tuple.sport, 0);
	T_EQ(e.tuple.proto, 6);
	T_EQ(e.tuple.family, c->family);
	T_EQ(e.tuple.zone, 7);
	/* Active: server -> client; passive: client -> server. */
	want_src = c->from_server ? r : o;
	want_dst = c->from_server ? r : o;
	T_MEMEQ(e.tuple.src, want_src.src, 16);
	T_MEMEQ(e.tuple.dst, want_dst.dst, 16);
	return 0;
}

static int
test_segments(void)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(seg_cases) / sizeof(seg_cases[0]); i++)
		if (run_seg_case(&seg_cases[i]) != 0) {
			printf("# case failed: %s\n", seg_cases[i].name);
			bad = 1;
		}
	return bad;
}

static enum hlp_verdict
feed(struct hlp_ftp_state *st, const struct ct_tuple *o, const struct ct_tuple *r,
     enum ct_dir dir, bool seen_reply, uint32_t seq, const char *text, struct hlp_expect *e,
     enum hlp_why *why)
{
	struct hlp_seg seg = { dir, seen_reply, seq, (const uint8_t *)text,
			       (uint32_t)strlen(text) };

	return hlp_ftp_segment(st, o, r, &seg, e, why);
}

/* A session: only segments that follow a line end are read, from both directions. */
static int
test_line_starts(void)
{
	struct ct_tuple o, r;
	struct hlp_ftp_state st;
	struct hlp_expect e;
	enum hlp_why why;
	const char *port = "PORT 10,0,0,1,4,1\r\n";

	conn(4, 6, 40000, 21, &o, &r);
	memset(&st, 0, sizeof(st));
	/* Before any reply, the original direction is not read. */
	T_EQ(feed(&st, &o, &r, CT_DIR_ORIG, false, 100, port, &e, &why), HLP_PASS);
	T_EQ(why, HLP_WHY_NOT_ESTABLISHED);
	T_EQ(st.nl_num[CT_DIR_ORIG], 0);
	/* The first segment of a direction is not at a known line start: not read, remembered. */
	T_EQ(feed(&st, &o, &r, CT_DIR_REPLY, true, 5000, "220 hi\r\n", &e, &why), HLP_PASS);
	T_EQ(why, HLP_WHY_NOT_LINE_START);
	T_EQ(st.nl_num[CT_DIR_REPLY], 1);
	T_UEQ(st.nl_seq[CT_DIR_REPLY][0], 5008);
	T_EQ(feed(&st, &o, &r, CT_DIR_ORIG, true, 100, port, &e, &why), HLP_PASS);
	T_EQ(why, HLP_WHY_NOT_LINE_START);
	T_UEQ(st.nl_seq[CT_DIR_ORIG][0], 100 + strlen(port));
	/* Now at a line start: read. */
	T_EQ(feed(&st, &o, &r, CT_DIR_ORIG, true, 100 + (uint32_t)strlen(port), port, &e, &why),
	     HLP_EXPECT);
	T_EQ(e.tuple.dport, 1025);
	/* A segment that does not end a line leaves no line start behind it. */
	T_EQ(feed(&st, &o, &r, CT_DIR_REPLY, true, 5008, "200 PORT ok", &e, &why), HLP_PASS);
	T_EQ(why, HLP_WHY_NO_COMMAND);
	T_EQ(feed(&st, &o, &r, CT_DIR_REPLY, true, 5019, "227 (10,0,0,2,4,1)\r\n", &e, &why),
	     HLP_PASS);
	T_EQ(why, HLP_WHY_NOT_LINE_START);
	/* Retransmitting a command at a remembered line start reads it again. */
	T_EQ(feed(&st, &o, &r, CT_DIR_REPLY, true, 5008, "227 (10,0,0,2,4,2)\r\n", &e, &why),
	     HLP_EXPECT);
	T_EQ(e.tuple.dport, 1026);
	/* A malformed 227 at a line start is dropped, and its line end not remembered. */
	T_EQ(feed(&st, &o, &r, CT_DIR_REPLY, true, 5028, "227 x\r\n", &e, &why), HLP_DROP);
	T_EQ(why, HLP_WHY_PARTIAL);
	T_EQ(feed(&st, &o, &r, CT_DIR_REPLY, true, 5035, "227 (10,0,0,2,4,3)\r\n", &e, &why),
	     HLP_PASS);
	T_EQ(why, HLP_WHY_NOT_LINE_START);
	return 0;
}

/* Two line starts per direction: the newest two, older ones forgotten. */
static int
test_two_remembered(void)
{
	struct ct_tuple o, r;
	struct hlp_ftp_state st;
	struct hlp_expect e;
	enum hlp_why why;

	conn(4, 6, 40000, 21, &o, &r);
	memset(&st, 0, sizeof(st));
	T_EQ(feed(&st, &o, &r, CT_DIR_REPLY, true, 0xfffffff0u, "220 a\r\n", &e, &why), HLP_PASS);
	T_EQ(feed(&st, &o, &r, CT_DIR_REPLY, true, 0xfffffff7u, "220 bb\r\n", &e, &why),
	     HLP_PASS);
	T_EQ(st.nl_num[CT_DIR_REPLY], 2);
	/* Across the sequence wrap: 0xffffffff + 13 is 12; the older (0xfffffff7) goes. */
	T_EQ(feed(&st, &o, &r, CT_DIR_REPLY, true, 0xffffffffu, "220 ccccccc\r\n", &e, &why),
	     HLP_PASS);
	T_UEQ(st.nl_seq[CT_DIR_REPLY][0] == 12 || st.nl_seq[CT_DIR_REPLY][1] == 12, 1);
	T_UEQ(st.nl_seq[CT_DIR_REPLY][0] == 0xfffffff7u || st.nl_seq[CT_DIR_REPLY][1] == 0xfffffff7u,
	      0);
	/* An older line end does not replace a newer one. */
	T_EQ(feed(&st, &o, &r, CT_DIR_REPLY, true, 0xffffff00u, "220 d\r\n", &e, &why), HLP_PASS);
	T_UEQ(st.nl_seq[CT_DIR_REPLY][0] == 0xffffff07u || st.nl_seq[CT_DIR_REPLY][1] == 0xffffff07u,
	      0);
	/* Pickup: an entry taken over mid-stream reads its next segment once. */
	st.pickup[CT_DIR_ORIG] = 1;
	T_EQ(feed(&st, &o, &r, CT_DIR_ORIG, true, 777, "PORT 10,0,0,1,4,1\r\n", &e, &why),
	     HLP_EXPECT);
	T_EQ(st.pickup[CT_DIR_ORIG], 0);
	T_EQ(feed(&st, &o, &r, CT_DIR_ORIG, true, 12345, "PORT 10,0,0,1,4,1\r\n", &e, &why),
	     HLP_PASS);
	return 0;
}

static int
test_tftp(void)
{
	static const uint8_t rrq[] = { 0, 1, 'f', 0, 'o', 'c', 't', 'e', 't', 0 };
	static const uint8_t wrq[] = { 0, 2, 'f', 0 };
	static const uint8_t data[] = { 0, 3, 0, 1, 'x' };
	static const uint8_t one[] = { 0 };
	struct ct_tuple o, r;
	struct hlp_expect e;

	conn(4, 17, 40000, 69, &o, &r);
	T_EQ(hlp_tftp_datagram(&o, &r, rrq, sizeof(rrq), &e), HLP_EXPECT);
	T_EQ(e.cmd, HLP_TFTP_RRQ);
	T_EQ(e.tuple.proto, 17);
	T_EQ(e.tuple.sport, 0);
	T_EQ(e.tuple.dport, 40000);
	T_MEMEQ(e.tuple.src, r.src, 16);
	T_MEMEQ(e.tuple.dst, r.dst, 16);
	T_EQ(e.tuple.zone, 7);
	T_EQ(hlp_tftp_datagram(&o, &r, wrq, sizeof(wrq), &e), HLP_EXPECT);
	T_EQ(e.cmd, HLP_TFTP_WRQ);
	T_EQ(hlp_tftp_datagram(&o, &r, data, sizeof(data), &e), HLP_PASS);
	T_EQ(hlp_tftp_datagram(&o, &r, one, sizeof(one), &e), HLP_PASS);
	T_EQ(hlp_tftp_datagram(&o, &r, NULL, 0, &e), HLP_PASS);
	conn(6, 17, 40000, 69, &o, &r);
	T_EQ(hlp_tftp_datagram(&o, &r, rrq, sizeof(rrq), &e), HLP_EXPECT);
	T_EQ(e.tuple.family, 6);
	T_STREQ(hlp_cmd_name(HLP_FTP_PASV), "227");
	T_STREQ(hlp_cmd_name(99), "?");
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_segments),
	T_CASE(test_line_starts),
	T_CASE(test_two_remembered),
	T_CASE(test_tftp),
};

T_MAIN(cases)
