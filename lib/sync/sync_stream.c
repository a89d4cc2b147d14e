/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Message boundaries on a sync stream (the TCP transport, sync.h): the
 * unit at the head of the bytes received so far, if it is complete.
 */

#include <errno.h>

#include "sync.h"

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

long
sync_stream_unit(const uint8_t *buf, size_t len, enum sync_stream_mode mode)
{
	size_t need;

	if (mode == SYNC_STREAM_FRAMED) {
		if (len < SYNC_FRAME_HDR)
			return 0;
		need = be16(buf);
		if (need < SYNC_HDR_LEN)
			return -EBADMSG;
		need += SYNC_FRAME_HDR + SYNC_MAC_LEN;
		return len < need ? 0 : (long)need;
	}
	if (len < SYNC_HDR_LEN)
		return 0;
	if ((buf[0] >> 4) != SYNC_PROTO_VERSION)
		return -EBADMSG;
	need = be16(buf + 2);
	if (need < SYNC_HDR_LEN || need > SYNC_STREAM_MSG_MAX)
		return -EBADMSG;
	if ((buf[1] & (SYNC_F_ACK | SYNC_F_NACK | SYNC_F_RESYNC)) && need < SYNC_ACK_LEN)
		return -EBADMSG;
	return len < need ? 0 : (long)need;
}
