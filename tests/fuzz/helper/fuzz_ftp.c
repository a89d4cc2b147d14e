/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: lib/helper's FTP and TFTP parsers. The input is a control
 * byte and then segments, each a length byte and that many payload bytes
 * (the last one takes what is left):
 *     ctl: bit 0 IPv6, bit 1 seen_reply, bit 2 pickup, bit 3 start at a
 *          known line start
 *     per segment: len | payload; its direction is bit 7 of len.
 * Each segment is copied to a buffer of exactly its size (so the
 * sanitizers see any read past it) and fed to hlp_ftp_segment() in
 * sequence order of its direction; every result must be well formed: a
 * verdict in range, an expectation for TCP from the sender's peer with an
 * open source port, at most two remembered line starts. Each payload also
 * goes through hlp_tftp_datagram().
 */

#include <stdlib.h>
#include <string.h>

#include "hlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
	if (!ok)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hlp_ftp_state st;
	struct ct_tuple o, r;
	uint32_t seq[2] = { 1000, 90000 };
	size_t off = 1;
	uint8_t ctl;

	if (size < 1)
		return 0;
	ctl = data[0];
	memset(&o, 0, sizeof(o));
	o.family = (ctl & 1) ? 6 : 4;
	o.proto = 6;
	o.src[0] = 10;
	o.src[3] = 1;
	o.dst[0] = 10;
	o.dst[3] = 2;
	o.sport = 40000;
	o.dport = 21;
	o.zone = 3;
	r = o;
	memcpy(r.src, o.dst, 16);
	memcpy(r.dst, o.src, 16);
	r.sport = o.dport;
	r.dport = o.sport;
	memset(&st, 0, sizeof(st));
	st.pickup[0] = st.pickup[1] = (ctl >> 2) & 1;
	if (ctl & 8) {
		st.nl_seq[0][0] = seq[0];
		st.nl_seq[1][0] = seq[1];
		st.nl_num[0] = st.nl_num[1] = 1;
	}
	while (off < size) {
		unsigned dir = data[off] >> 7;
		size_t len = data[off] & 0x7f;
		struct hlp_seg seg;
		struct hlp_expect e;
		enum hlp_why why;
		enum hlp_verdict v;
		uint8_t *buf;

		off++;
		if (len > size - off || off + len == size - 1)
			len = size - off;
		buf = malloc(len != 0 ? len : 1);
		if (buf == NULL)
			return 0;
		memcpy(buf, data + off, len);
		off += len;
		seg.dir = dir ? CT_DIR_REPLY : CT_DIR_ORIG;
		seg.seen_reply = (ctl >> 1) & 1;
		seg.seq = seq[dir];
		seg.data = buf;
		seg.len = (uint32_t)len;
		v = hlp_ftp_segment(&st, &o, &r, &seg, &e, &why);
		check(v == HLP_PASS || v == HLP_EXPECT || v == HLP_DROP);
		check(why < HLP_WHY_MAX);
		check(st.nl_num[0] <= HLP_FTP_NL_SEQS && st.nl_num[1] <= HLP_FTP_NL_SEQS);
		check((v == HLP_DROP) == (why == HLP_WHY_PARTIAL));
		if (v == HLP_EXPECT) {
			const struct ct_tuple *peer = dir ? &o : &r;

			check(why == HLP_WHY_NONE);
			check(e.tuple.proto == 6 && e.tuple.sport == 0 && e.tuple.zone == 3);
			check(e.tuple.family == o.family);
			check(memcmp(e.tuple.src, peer->src, 16) == 0);
			check(memcmp(e.tuple.dst, peer->dst, 16) == 0);
			check(dir ? (e.cmd == HLP_FTP_PASV || e.cmd == HLP_FTP_EPSV) :
				    (e.cmd == HLP_FTP_PORT || e.cmd == HLP_FTP_EPRT));
		}
		v = hlp_tftp_datagram(&o, &r, buf, (uint32_t)len, &e);
		check(v == HLP_PASS || v == HLP_EXPECT);
		if (v == HLP_EXPECT)
			check(e.tuple.proto == 17 && e.tuple.dport == o.sport);
		free(buf);
		seq[dir] += (uint32_t)len;
	}
	return 0;
}
