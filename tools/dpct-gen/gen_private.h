/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_GEN_PRIVATE_H
#define DPCT_GEN_PRIVATE_H

/*
 * What the workload files share: the generator state, the flow setup and
 * framing helpers (gen_flow.c), and the step function of every flow kind
 * (gen_tcp.c, gen_udp_icmp.c, gen_other.c), which the scheduler in
 * gen_sched.c calls one packet at a time.
 *
 * A step function emits the flow's next packet (its f->step, counted from 0)
 * and returns 1 when the flow has more to send, 0 when it is finished, or
 * -EINVAL when a frame could not be built. It may set f->wake_us to make the
 * flow wait; the scheduler advances f->step after each call.
 */

#include <stddef.h>
#include <stdint.h>

#include "gen.h"

#define GEN_TCP_FIN 0x01
#define GEN_TCP_SYN 0x02
#define GEN_TCP_RST 0x04
#define GEN_TCP_PSH 0x08
#define GEN_TCP_ACK 0x10

/* UDP exchanges 1.5 s apart: the third one comes 3 s after creation, past
 * the 2 s after which Linux (and dpct) consider a UDP flow a stream (ASSURED).
 */
#define GEN_RR_EXCHANGES 3
#define GEN_RR_GAP_US 1500000

/* How gen_emit() damages the next frame (struct gen's mangle). */
#define GEN_MANGLE_CSUM 1     /* a 16-bit checksum made wrong (never 0) */
#define GEN_MANGLE_SHORTEN 2  /* a 16-bit length 4 smaller */

#define GEN_N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/** Generator state: one per gen_run(). */
struct gen {
	struct gen_out out;
	struct gen_rng rng;
	const struct gen_params *p;
	uint16_t sport_base;  /**< first source port offset, from the seed */
	uint32_t bad_base;    /**< where the malformed shapes' cycle starts, from the seed */
	/* The next emitted frame is mangled at this offset (0: not): GEN_MANGLE_*. */
	uint32_t mangle_at;
	int mangle;
	uint8_t frame[GEN_FRAME_MAX + GEN_FRAME_MIN];  /**< the frame gen_emit() writes */
	uint8_t l4[GEN_FRAME_MAX];                     /**< L4 header and payload being built */
	uint8_t tmp[GEN_FRAME_MAX + GEN_FRAME_MIN];    /**< a second frame: quoted, inner packets */
};

typedef int (*gen_step_fn)(struct gen *g, struct gen_flow *f);

static inline void
gen_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
gen_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/** ICMP's protocol number for the flow's address family. */
static inline uint8_t
gen_proto_icmp(const struct gen_flow *f)
{
	return f->v6 ? 58 : 1;
}

/* gen_flow.c: kind choice, flow setup, framing and output. */

/** The kind of flow number `index` for the workload (draws from the PRNG). */
enum gen_kind gen_choose_kind(struct gen *g, uint64_t index);

/** Set up flow number `index` of `kind`: addresses, ports, IP ids, sequence numbers, sizes. */
void gen_flow_init(struct gen *g, struct gen_flow *f, enum gen_kind kind, uint64_t index);

/** Frame an L4 segment of flow f in direction dir into buf; returns its length (0: too long). */
size_t gen_flow_frame(uint8_t *buf, struct gen_flow *f, int dir, uint8_t proto,
		      uint8_t *l4, size_t l4len);

/** Length of the IP packet in a built frame plus its Ethernet header, without padding. */
size_t gen_frame_ip_end(const uint8_t *frame, int v6);

/**
 * Write g->frame (len bytes), applying a pending mangle first.
 *
 * @return 0, or -EINVAL when len is 0 (the frame could not be built).
 */
int gen_emit(struct gen *g, size_t len);

/**
 * A first packet that is INVALID (bad checksum or short UDP length: `how`,
 * a GEN_MANGLE_*, at L4 offset `off`), then the flow of `normal` from its step 0.
 */
int gen_step_bad_first(struct gen *g, struct gen_flow *f, gen_step_fn normal, int how,
		       unsigned off);

/* gen_tcp.c */

/** Build the TCP header (+ options on SYNs) and payload into l4; returns its length. */
size_t gen_tcp_build(uint8_t *l4, const struct gen_flow *f, int dir, uint8_t flags,
		     uint32_t paylen);
/** Build, frame and emit one TCP segment, advancing the sender's sequence number. */
int gen_tcp_send(struct gen *g, struct gen_flow *f, int dir, uint8_t flags, uint32_t paylen);
int gen_step_tcp(struct gen *g, struct gen_flow *f);
int gen_step_tcp_oow(struct gen *g, struct gen_flow *f);
int gen_step_tcp_wscale(struct gen *g, struct gen_flow *f);
int gen_step_tcp_bulk(struct gen *g, struct gen_flow *f);

/* gen_udp_icmp.c */

/** Fill in the UDP header for a payload of paylen bytes at l4 + 8; returns the L4 length. */
size_t gen_udp_header(uint8_t *l4, const struct gen_flow *f, int dir, size_t paylen);
/** The 32-byte UDP datagram that port unreachable answers; returns its L4 length. */
size_t gen_unreach_udp_build(uint8_t *l4, const struct gen_flow *f);
/** An echo request (dir 0) or reply with 56 bytes of data; returns its length (64). */
size_t gen_icmp_echo_build(uint8_t *l4, const struct gen_flow *f, int dir, uint16_t seq);
/** An ICMP error in g->l4 quoting the IP packet of quoted_frame; returns its length. */
size_t gen_icmp_error_build(struct gen *g, const struct gen_flow *f, uint8_t type, uint8_t code,
			    const uint8_t *quoted_frame, size_t quoted_len);
int gen_step_dns(struct gen *g, struct gen_flow *f);
int gen_step_udp_rr(struct gen *g, struct gen_flow *f);
int gen_step_udp_oneway(struct gen *g, struct gen_flow *f);
int gen_step_icmp_echo(struct gen *g, struct gen_flow *f);
int gen_step_icmp_unreach(struct gen *g, struct gen_flow *f);
int gen_step_icmp_host(struct gen *g, struct gen_flow *f);
int gen_step_icmp_query(struct gen *g, struct gen_flow *f);

/* gen_ftp.c */
int gen_step_ftp(struct gen *g, struct gen_flow *f);
int gen_step_tftp(struct gen *g, struct gen_flow *f);

/* gen_other.c */

int gen_step_gre(struct gen *g, struct gen_flow *f);
/* gen_proto.c */
int gen_step_sctp(struct gen *g, struct gen_flow *f);
int gen_step_dccp(struct gen *g, struct gen_flow *f);
int gen_step_esp(struct gen *g, struct gen_flow *f);
/** The single packet of a malformed kind (GEN_K_BAD_FIRST..). */
int gen_step_bad(struct gen *g, struct gen_flow *f);

#endif /* DPCT_GEN_PRIVATE_H */
