/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The FTP helper: PORT, EPRT, 227 and 229 read at line starts of the
 * control connection, with Linux's nf_conntrack_ftp rules (hlp.h).
 */

#include <arpa/inet.h>
#include <string.h>

#include "hlp.h"

/* What reading a command at the segment's start gave. */
enum found {
	FOUND_NONE = 0,   /* not this command */
	FOUND_CMD,        /* read: address and port set */
	FOUND_PARTIAL,    /* this command, cut short or malformed */
};

/* The announced endpoint; `addr` starts as the sender's own address. */
struct cmd {
	uint8_t addr[16];
	uint16_t port;    /* host order */
	uint8_t family;   /* the connection's: 4 or 6 */
};

static inline int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static inline bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Whether the first n bytes of d are p, whatever their case. */
static bool
same_ci(const uint8_t *d, const char *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (lower(d[i]) != lower((uint8_t)p[i]))
			return false;
	return true;
}

/*
 * n decimal numbers separated by `sep` and ended by `term` (by any other
 * character when term is 0). Each number wraps at 32 bits, as Linux's.
 * Returns how many bytes come before the terminator, 0 when the text is not
 * of that form (the data may not end before the terminator).
 */
static uint32_t
numbers(const uint8_t *d, uint32_t dlen, uint32_t *v, unsigned n, uint8_t sep, uint8_t term)
{
	uint32_t len;
	unsigned i = 0;

	memset(v, 0, n * sizeof(*v));
	for (len = 0; len < dlen && i < n; len++) {
		if (is_digit(d[len]))
			v[i] = v[i] * 10 + (uint32_t)(d[len] - '0');
		else if (d[len] == sep)
			i++;
		else
			return (term == 0 || d[len] == term) && i == n - 1 ? len : 0;
	}
	return 0;
}

/* "h1,h2,h3,h4,p1,p2" (RFC 959): the address's first 4 bytes and the port. */
static uint32_t
rfc959(const uint8_t *d, uint32_t dlen, uint8_t term, struct cmd *c)
{
	uint32_t v[6], a, len = numbers(d, dlen, v, 6, ',', term);

	if (len == 0)
		return 0;
	a = htonl(v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3]);
	memcpy(c->addr, &a, 4);
	c->port = (uint16_t)(v[4] << 8 | v[5]);
	return len;
}

/* A 227 reply's numbers from its first digit on (RFC 1123: parentheses are optional). */
static uint32_t
rfc1123(const uint8_t *d, uint32_t dlen, struct cmd *c)
{
	uint32_t i;

	for (i = 0; i < dlen && !is_digit(d[i]); i++)
		;
	if (i == dlen)
		return 0;
	return rfc959(d + i, dlen - i, 0, c);
}

/* A port from d[start] up to `delim`: the index after it, 0 when absent, empty or 0. */
static uint32_t
port_to(const uint8_t *d, uint32_t start, uint32_t dlen, uint8_t delim, uint16_t *port)
{
	uint16_t p = 0;
	uint32_t i;

	for (i = start; i < dlen; i++) {
		if (d[i] == delim) {
			if (p == 0)
				return 0;
			*port = p;
			return i + 1;
		}
		if (!is_digit(d[i]))
			return 0;
		p = (uint16_t)(p * 10 + (d[i] - '0'));
	}
	return 0;
}

/* An EPRT/EPSV delimiter: printable, not a digit. */
static inline bool
delim_ok(uint8_t c)
{
	return !is_digit(c) && c >= 33 && c <= 126;
}

/* An IPv6 address up to `delim`: its length, 0 when it is not one. */
static uint32_t
ipv6_to(const uint8_t *d, uint32_t dlen, uint8_t delim, uint8_t out[16])
{
	char buf[INET6_ADDRSTRLEN];
	uint32_t i;

	for (i = 0; i < dlen && i < sizeof(buf) - 1 && d[i] != delim; i++)
		buf[i] = (char)d[i];
	if (i == 0 || i == dlen || d[i] != delim)
		return 0;
	buf[i] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1 ? i : 0;
}

/* "|1|132.235.1.2|6275|" or "|2|3ffe::1|6275|" (RFC 2428), the family the connection's. */
static uint32_t
eprt(const uint8_t *d, uint32_t dlen, uint8_t term, struct cmd *c)
{
	uint8_t delim;
	uint32_t len;

	(void)term;
	if (dlen <= 3)
		return 0;
	delim = d[0];
	if (!delim_ok(delim) || d[2] != delim)
		return 0;
	if ((c->family == 4 && d[1] != '1') || (c->family == 6 && d[1] != '2'))
		return 0;
	if (d[1] == '1') {
		uint32_t v[4], a;

		len = numbers(d + 3, dlen - 3, v, 4, '.', delim);
		if (len != 0) {
			a = htonl(v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3]);
			memcpy(c->addr, &a, 4);
		}
	} else {
		len = ipv6_to(d + 3, dlen - 3, delim, c->addr);
	}
	if (len == 0)
		return 0;
	return port_to(d, 3 + len + 1, dlen, delim, &c->port);
}

/* "|||6446|" (RFC 2428): the port; the address stays the sender's. */
static uint32_t
epsv(const uint8_t *d, uint32_t dlen, uint8_t term, struct cmd *c)
{
	(void)term;
	if (dlen <= 3 || !delim_ok(d[0]) || d[1] != d[0] || d[2] != d[0])
		return 0;
	return port_to(d, 3, dlen, d[0], &c->port);
}

static uint32_t
pasv(const uint8_t *d, uint32_t dlen, uint8_t term, struct cmd *c)
{
	(void)term;
	return rfc1123(d, dlen, c);
}

static uint32_t
port(const uint8_t *d, uint32_t dlen, uint8_t term, struct cmd *c)
{
	return rfc959(d, dlen, term, c);
}

struct pattern {
	const char *text;
	uint8_t len;
	uint8_t skip;     /* skip up to and past this character first (0: none) */
	uint8_t term;
	uint8_t cmd;      /* enum hlp_cmd */
	uint32_t (*get)(const uint8_t *d, uint32_t dlen, uint8_t term, struct cmd *c);
};

/* Per direction, tried in order; the first that is not FOUND_NONE decides. */
static const struct pattern patterns[2][2] = {
	[CT_DIR_ORIG] = {
		{ "PORT", 4, ' ', '\r', HLP_FTP_PORT, port },
		{ "EPRT", 4, ' ', '\r', HLP_FTP_EPRT, eprt },
	},
	[CT_DIR_REPLY] = {
		{ "227 ", 4, 0, 0, HLP_FTP_PASV, pasv },
		{ "229 ", 4, '(', ')', HLP_FTP_EPSV, epsv },
	},
};

static enum found
find(const struct pattern *p, const uint8_t *d, uint32_t dlen, struct cmd *c)
{
	uint32_t i = p->len;

	if (dlen <= p->len)
		return same_ci(d, p->text, dlen) ? FOUND_PARTIAL : FOUND_NONE;
	if (!same_ci(d, p->text, p->len))
		return FOUND_NONE;
	if (p->skip != 0) {
		for (; d[i] != p->skip; i++)
			if (i == dlen - 1)
				return FOUND_PARTIAL;
		i++;
	}
	return p->get(d + i, dlen - i, p->term, c) != 0 ? FOUND_CMD : FOUND_PARTIAL;
}

static bool
nl_known(const struct hlp_ftp_state *st, unsigned dir, uint32_t seq)
{
	unsigned i;

	for (i = 0; i < st->nl_num[dir] && i < HLP_FTP_NL_SEQS; i++)
		if (st->nl_seq[dir][i] == seq)
			return true;
	return false;
}

/* Remember `seq` (after a '\n'), in place of the older of two, if it is newer. */
static void
nl_remember(struct hlp_ftp_state *st, unsigned dir, uint32_t seq)
{
	uint32_t *s = st->nl_seq[dir];
	unsigned oldest;

	if (nl_known(st, dir, seq))
		return;
	if (st->nl_num[dir] < HLP_FTP_NL_SEQS) {
		s[st->nl_num[dir]++] = seq;
		return;
	}
	oldest = (int32_t)(s[0] - s[1]) < 0 ? 0 : 1;
	if ((int32_t)(seq - s[oldest]) > 0)
		s[oldest] = seq;
}

static void
set_why(enum hlp_why *why, enum hlp_why w)
{
	if (why != NULL)
		*why = w;
}

enum hlp_verdict
hlp_ftp_segment(struct hlp_ftp_state *st, const struct ct_tuple *orig,
		const struct ct_tuple *reply, const struct hlp_seg *seg,
		struct hlp_expect *out, enum hlp_why *why)
{
	const unsigned dir = seg->dir == CT_DIR_REPLY ? CT_DIR_REPLY : CT_DIR_ORIG;
	/* The sender's tuple and its peer's (Linux: tuplehash[dir] and [!dir]). */
	const struct ct_tuple *self = dir == CT_DIR_ORIG ? orig : reply;
	const struct ct_tuple *peer = dir == CT_DIR_ORIG ? reply : orig;
	enum hlp_verdict v = HLP_PASS;
	enum found f = FOUND_NONE;
	struct cmd c;
	unsigned i;

	set_why(why, HLP_WHY_NONE);
	if (dir == CT_DIR_ORIG && !seg->seen_reply) {
		set_why(why, HLP_WHY_NOT_ESTABLISHED);
		return HLP_PASS;
	}
	if (seg->len == 0 || seg->data == NULL) {
		set_why(why, HLP_WHY_NO_COMMAND);
		return HLP_PASS;
	}
	if (!nl_known(st, dir, seg->seq)) {
		if (!st->pickup[dir]) {
			set_why(why, HLP_WHY_NOT_LINE_START);
			goto remember;
		}
		st->pickup[dir] = 0;
	}
	memcpy(c.addr, self->src, sizeof(c.addr));
	c.port = 0;
	c.family = orig->family;
	for (i = 0; i < 2; i++) {
		f = find(&patterns[dir][i], seg->data, seg->len, &c);
		if (f != FOUND_NONE)
			break;
	}
	if (f == FOUND_PARTIAL) {
		set_why(why, HLP_WHY_PARTIAL);
		return HLP_DROP;
	}
	if (f == FOUND_NONE) {
		set_why(why, HLP_WHY_NO_COMMAND);
		goto remember;
	}
	if (memcmp(c.addr, self->src, sizeof(c.addr)) != 0) {
		set_why(why, HLP_WHY_OTHER_ADDRESS);
		goto remember;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->tuple.src, peer->src, sizeof(out->tuple.src));
	memcpy(out->tuple.dst, peer->dst, sizeof(out->tuple.dst));
	out->tuple.sport = 0;
	out->tuple.dport = c.port;
	out->tuple.proto = 6;
	out->tuple.family = orig->family;
	out->tuple.zone = orig->zone;
	out->cmd = patterns[dir][i].cmd;
	v = HLP_EXPECT;
remember:
	if (seg->data[seg->len - 1] == '\n')
		nl_remember(st, dir, seg->seq + seg->len);
	return v;
}

enum hlp_verdict
hlp_tftp_datagram(const struct ct_tuple *orig, const struct ct_tuple *reply,
		  const uint8_t *data, uint32_t len, struct hlp_expect *out)
{
	unsigned op;

	if (data == NULL || len < 2)
		return HLP_PASS;
	op = (unsigned)data[0] << 8 | data[1];
	if (op != 1 && op != 2)
		return HLP_PASS;
	/* From the server, any port, to the client's port. */
	memset(out, 0, sizeof(*out));
	memcpy(out->tuple.src, reply->src, sizeof(out->tuple.src));
	memcpy(out->tuple.dst, reply->dst, sizeof(out->tuple.dst));
	out->tuple.sport = 0;
	out->tuple.dport = reply->dport;
	out->tuple.proto = 17;
	out->tuple.family = orig->family;
	out->tuple.zone = orig->zone;
	out->cmd = op == 1 ? HLP_TFTP_RRQ : HLP_TFTP_WRQ;
	return HLP_EXPECT;
}

const char *
hlp_cmd_name(unsigned cmd)
{
	static const char *const names[HLP_CMD_MAX] = {
		[HLP_CMD_NONE] = "none", [HLP_FTP_PORT] = "PORT", [HLP_FTP_PASV] = "227",
		[HLP_FTP_EPRT] = "EPRT", [HLP_FTP_EPSV] = "229", [HLP_TFTP_RRQ] = "RRQ",
		[HLP_TFTP_WRQ] = "WRQ",
	};

	return cmd < HLP_CMD_MAX ? names[cmd] : "?";
}
