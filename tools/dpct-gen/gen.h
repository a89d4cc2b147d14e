/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_GEN_H
#define DPCT_GEN_H

/*
 * dpct-gen internals: a seeded PRNG, the frame builder (Ethernet + IPv4/IPv6
 * + L4 with correct checksums) and the flow kinds the workloads are made of.
 *
 * Everything here is deterministic: the same options give the same bytes,
 * so tests and the demo generate their captures instead of checking them in.
 */

#include <stddef.h>
#include <stdint.h>

#include <pcap/pcap.h>

/** Largest frame the generator writes (standard Ethernet, no FCS). */
#define GEN_FRAME_MAX 1514
/** Frames shorter than this get zero padding, as on the wire (no FCS). */
#define GEN_FRAME_MIN 60

/** 2026-01-01T00:00:00Z: the capture clock starts here, whatever the host clock says. */
#define GEN_EPOCH_US (1767225600ULL * 1000000ULL)
/** Every packet advances the capture clock by this much. */
#define GEN_STEP_US 1

/** splitmix64 state; cheap, seedable, identical on every platform. */
struct gen_rng {
	uint64_t s;
};

void gen_rng_seed(struct gen_rng *r, uint64_t seed);
uint64_t gen_rand(struct gen_rng *r);
/** Uniform in [0, n); n > 0. */
uint32_t gen_rand_below(struct gen_rng *r, uint32_t n);

/* Flow kinds. Good ones first; GEN_K_BAD_FIRST.. are single malformed packets. */
enum gen_kind {
	GEN_K_TCP,          /**< handshake, request, response, FIN close (or RST) */
	GEN_K_UDP_DNS,      /**< one query to udp/53, one answer */
	GEN_K_UDP_RR,       /**< request/response exchanges spread over > 2 s */
	GEN_K_UDP_ONEWAY,   /**< a few datagrams, never answered */
	GEN_K_ICMP_ECHO,    /**< echo request/reply pairs */
	GEN_K_ICMP_UNREACH, /**< a UDP datagram answered by port unreachable */
	GEN_K_ICMP_HOST,    /**< a TCP SYN answered by a router's host unreachable */
	GEN_K_GRE,          /**< GRE-encapsulated packets both ways (generic tracker) */
	GEN_K_ESP,          /**< ESP packets both ways (generic tracker) */
	/* The "strict" workload: what window tracking and checksum verification decide. */
	GEN_K_TCP_OOW_RST,  /**< TCP with a blind RST far outside the window, then a FIN close */
	GEN_K_TCP_OOW_DATA, /**< TCP with a data segment far beyond the window, then a close */
	GEN_K_TCP_WSCALE,   /**< window scale + SACK, bulk data beyond the unscaled window */
	GEN_K_CSUM_TCP,     /**< a SYN with a bad checksum, then the same connection, good */
	GEN_K_CSUM_UDP,     /**< a DNS query with a bad checksum, then a good exchange */
	GEN_K_CSUM_ICMP,    /**< an echo request with a bad checksum, then good pairs */
	GEN_K_UDP_SHORTLEN, /**< a datagram whose UDP length is below the IP payload, then good */
	GEN_K_ICMP_TSTAMP,  /**< timestamp request/reply (IPv4) */
	GEN_K_ICMP_INFO,    /**< information request/reply (IPv4) */
	GEN_K_ICMP_MASK,    /**< address mask request/reply (IPv4) */
	GEN_K_TCP_BULK,     /**< handshake, request, 64 server data segments, FIN close */
	/* The "sctp", "dccp" and "gre" workloads. */
	GEN_K_SCTP,         /**< SCTP association: INIT .. COOKIE_ACK, DATA, SACK, HEARTBEAT(-ACK),
			     *   SHUTDOWN, SHUTDOWN_ACK, SHUTDOWN_COMPLETE */
	GEN_K_SCTP_ABORT,   /**< INIT twice (a retransmission), the handshake, DATA, ABORT */
	GEN_K_SCTP_BADTAG,  /**< the handshake, DATA and an ABORT with a wrong verification tag,
			     *   then good DATA and the SHUTDOWN sequence */
	GEN_K_DCCP,         /**< DCCP REQUEST, RESPONSE, ACK, DATA, DATAACK, CLOSE, RESET */
	GEN_K_DCCP_BADSEQ,  /**< as GEN_K_DCCP with a DATAACK far outside the sequence window */
	GEN_K_GRE_ONEWAY,   /**< GREv0 packets in one direction only */
	GEN_K_GRE_PPTP,     /**< enhanced GRE (version 1, PPTP) both ways, one call ID each */
	/* The "ftp" and "tftp" workloads (gen_ftp.c). */
	GEN_K_FTP_PASV,     /**< FTP passive (PASV/227; EPSV/229 over IPv6) and its data */
	GEN_K_FTP_PORT,     /**< FTP active (PORT; EPRT over IPv6) and its data */
	GEN_K_TFTP,         /**< TFTP read request, one DATA block from another port, its ACK */
	GEN_K_BAD_FIRST,
	GEN_K_BAD_TRUNC_ETH = GEN_K_BAD_FIRST,
	GEN_K_BAD_TRUNC_IP,
	GEN_K_BAD_IHL,
	GEN_K_BAD_TOTAL_LEN,
	GEN_K_BAD_TRUNC_TCP,
	GEN_K_BAD_TRUNC_UDP,
	GEN_K_BAD_TRUNC_ICMP,
	GEN_K_BAD_TCP_DOFF,
	GEN_K_BAD_SYN_FIN,
	GEN_K_BAD_UDP_LEN,
	GEN_K_BAD_ICMP_QUOTE,
	GEN_K_BAD_TRUNC_V6_EXT,
	GEN_K_MAX
};

/** Name of a kind as printed in the malformed summary ("trunc_eth", ...). */
const char *gen_kind_name(enum gen_kind k);

/** One flow in progress. Addresses are in network order; IPv4 uses the first 4 bytes. */
struct gen_flow {
	enum gen_kind kind;
	uint32_t index;      /**< flow number, 0..flows-1 */
	uint8_t v6;
	uint8_t cli[16];
	uint8_t srv[16];
	uint16_t sport;      /**< client port, or echo id */
	uint16_t dport;
	uint32_t seq[2];     /**< next TCP sequence number, [0] client, [1] server */
	uint16_t ip_id[2];
	uint32_t step;       /**< packets emitted so far */
	uint32_t len_a;      /**< kind-specific: request size, exchange count, ... */
	uint32_t len_b;      /**< kind-specific: response size, ... */
	uint8_t rst;         /**< TCP: close with RST instead of FIN */
	uint32_t seq2[2];    /**< FTP: the data connection's sequence numbers */
	uint16_t port2[2];   /**< FTP, TFTP: the data connection's client and server ports */
	uint64_t wake_us;    /**< not before this capture time */
};

/** Output: the pcap dumper, the capture clock and the totals. */
struct gen_out {
	pcap_dumper_t *dumper;
	uint16_t vlan[2];    /**< --vlan-dup: every frame twice, tagged with these */
	uint8_t n_vlan;      /**< 0 or 2 */
	uint64_t now_us;
	uint64_t packets;
	uint64_t bytes;
};

/**
 * Write one frame at the current capture time and advance the clock by GEN_STEP_US.
 * With --vlan-dup the frame is written once per VLAN (802.1Q tag after the
 * MAC addresses), each copy at its own time step: one flow on two VLANs.
 *
 * @return 0 (the dumper reports write errors when it is closed).
 */
int gen_out_frame(struct gen_out *o, const uint8_t *frame, size_t len);

/** Direction of a packet within a flow. */
enum gen_dir {
	GEN_DIR_ORIG = 0,  /**< client -> server */
	GEN_DIR_REPLY = 1, /**< server -> client */
};

/**
 * Build Ethernet + IP header around an L4 segment and fill in the L4 checksum
 * (TCP, UDP, ICMP, ICMPv6; others are left as given).
 *
 * @param buf    output, at least GEN_FRAME_MAX bytes
 * @param v6     IPv6 instead of IPv4
 * @param src    source address (4 or 16 bytes)
 * @param dst    destination address
 * @param proto  IP protocol number
 * @param ip_id  IPv4 identification (IPv6: flow label seed)
 * @param mac_dir 0: MAC ...:01 -> ...:02, 1: the reverse
 * @param l4     L4 header and payload; its checksum field is overwritten
 * @param l4len  its length
 * @return the frame length (padded to GEN_FRAME_MIN), or 0 if it would exceed GEN_FRAME_MAX.
 */
size_t gen_frame_ip(uint8_t *buf, int v6, const uint8_t *src, const uint8_t *dst,
		    uint8_t proto, uint16_t ip_id, int mac_dir, uint8_t *l4, size_t l4len);

/** Recompute the IPv4 header checksum of a frame built by gen_frame_ip(). */
void gen_frame_ip4_csum(uint8_t *frame);

/** Offsets of the headers in a frame built by gen_frame_ip(). */
#define GEN_ETH_LEN 14
#define GEN_IP4_LEN 20
#define GEN_IP6_LEN 40

/** The workloads, as the --workload option names them. */
enum gen_workload {
	GEN_W_SHORT_TCP,
	GEN_W_UDP,
	GEN_W_ICMP,
	GEN_W_MIX,
	GEN_W_MALFORMED,
	GEN_W_STRICT,
	GEN_W_BULK_TCP,
	GEN_W_SCTP,
	GEN_W_DCCP,
	GEN_W_GRE,
	GEN_W_FTP,
	GEN_W_TFTP,
	GEN_W_MAX
};

struct gen_params {
	enum gen_workload workload;
	uint64_t flows;
	uint32_t concurrency;
	int v6;
	uint64_t seed;
	uint16_t vlan_dup[2];   /**< --vlan-dup A,B (n_vlan_dup 2), else none */
	uint8_t n_vlan_dup;
};

struct gen_result {
	uint64_t flows;
	uint64_t packets;
	uint64_t bytes;
	uint64_t kind_count[GEN_K_MAX];
};

/**
 * Generate a workload into an open dumper.
 *
 * @return 0, or -ENOMEM.
 */
int gen_run(const struct gen_params *p, pcap_dumper_t *dumper, struct gen_result *res);

#endif /* DPCT_GEN_H */
