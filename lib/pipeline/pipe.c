/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's per-packet path (pipe.h): parse at RX, then on the owner
 * notrack, checksums, tracking and policy.
 */

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "ev.h"
#include "hlp_track.h"
#include "pipe.h"
#include "pipe_frag.h"
#include "pol.h"

void
pipe_parse_burst(const struct pipe_conf *c, struct rte_mbuf *const *m, uint16_t n,
		 struct ct_pkt *out)
{
	uint16_t i;

	if (c->zone_of == NULL) {
		ct_parse_mbuf_burst(m, n, c->zone, out);
		return;
	}
	for (i = 0; i < n; i++) {
		uint16_t vlan;

		if (m[i]->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED)
			vlan = m[i]->vlan_tci & 0x0fff;
		else
			vlan = ct_frame_vlan(rte_pktmbuf_mtod(m[i], const uint8_t *),
					     rte_pktmbuf_data_len(m[i]));
		ct_parse_mbuf(m[i], c->zone_of(c->zone_arg, m[i]->port, vlan), &out[i]);
	}
}

static void
frames_of(struct rte_mbuf *const *m, uint16_t n, const uint8_t **frames)
{
	uint16_t i;

	for (i = 0; i < n; i++)
		frames[i] = rte_pktmbuf_mtod(m[i], const uint8_t *);
}

/* The policy generation that judges this burst, NULL when it accepts all;
 * its notrack rules applied. */
static const struct pol_gen *
policy_begin(const struct pipe_conf *c, struct rte_mbuf *const *m, struct ct_pkt *pk,
	     uint16_t n, uint16_t *in_port)
{
	const struct pol_gen *g;
	uint16_t i;

	if (c->pol == NULL)
		return NULL;
	g = pol_current(c->pol);
	if (pol_gen_trivial(g))
		return NULL;
	for (i = 0; i < n; i++)
		in_port[i] = c->port_index != NULL ? c->port_index[m[i]->port] : m[i]->port;
	if (pol_gen_has_notrack(g)) {
		const uint8_t *frames[PIPE_MAX_BURST];

		frames_of(m, n, frames);
		pol_notrack_burst(g, c->worker, pk, frames, in_port, n);
	}
	return g;
}

/* The configuration's notrack rules, then checksums of what is still tracked. */
static void
verify(const struct pipe_conf *c, struct rte_mbuf *const *m, struct ct_pkt *pk, uint16_t n)
{
	uint16_t i;

	if (ct_shard_conf(c->shard)->n_notrack != 0) {
		const uint8_t *frames[PIPE_MAX_BURST];

		frames_of(m, n, frames);
		ct_shard_notrack_burst(c->shard, pk, frames, n);
	}
	if (!c->csum_verify)
		return;
	for (i = 0; i < n; i++)
		if (pk[i].cls == CT_PKT_TRACK || pk[i].cls == CT_PKT_ICMP_ERROR)
			ct_pkt_csum_mbuf(m[i], &pk[i]);
}

static int
nat_hook_bind(void *arg, const struct ct_pkt *p, struct ct_tuple *reply, uint16_t *status)
{
	struct pipe_nat *n = arg;

	if (n->table == NULL)
		return 0;
	return nat_bind(n->table, n->worker, p, p->in_port, n->pref, n->pref_arg, reply, status);
}

_Static_assert(CT_NAT_REL_UNUSED == NAT_S_UNUSED, "a binding given back unused: one bit");

static void
nat_hook_release(void *arg, const struct ct_tuple *reply, uint16_t status)
{
	struct pipe_nat *n = arg;

	if (n->table != NULL)
		nat_release(n->table, n->worker, reply, status);
}

static void
nat_hook_bind_prefetch(void *arg, const struct ct_pkt *p)
{
	const struct pipe_nat *n = arg;

	nat_bind_prefetch(n->table, n->worker, p);
}

static void
nat_hook_release_prefetch(void *arg, const uint8_t *addr, uint16_t port, uint8_t proto)
{
	const struct pipe_nat *n = arg;

	nat_release_prefetch(n->table, n->worker, addr, port, proto);
}

void
pipe_nat_hook(struct pipe_nat *n, struct ct_nat_hook *out)
{
	out->bind = nat_hook_bind;
	out->release = nat_hook_release;
	out->arg = n;
	out->bind_prefetch = nat_hook_bind_prefetch;
	out->release_prefetch = nat_hook_release_prefetch;
}

/*
 * Rewrite what passed of translated flows and was not rewritten in place
 * (ct_process_burst_nat(): all but ICMP errors, packets of a shape other
 * than plain and reassembled datagrams); a packet that cannot be rewritten
 * is dropped. A reassembled datagram is not what leaves: its fragments as
 * received are, each rewritten.
 */
static void
rewrite(const struct pipe_conf *c, struct rte_mbuf *const *m, const struct ct_pkt *pk,
	uint16_t n, const struct ct_tuple *to, uint8_t *verdict)
{
	uint16_t i;
	int rc;

	for (i = 0; i < n; i++) {
		uint8_t *f;
		uint32_t len;

		if (to[i].family == 0 || verdict[i] != CT_V_PASS)
			continue;
		f = rte_pktmbuf_mtod(m[i], uint8_t *);
		if (pipe_frag_is_datagram(m[i])) {
			rc = pipe_frag_rewrite(m[i], &to[i]);
		} else {
			len = rte_pktmbuf_data_len(m[i]);
			rc = nat_rewrite_fast(f, len, &pk[i], &to[i]) ? 0 :
									nat_rewrite(f, len, &pk[i], &to[i]);
		}
		if (rc != 0) {
			verdict[i] = CT_V_DROP;
			c->nat->rewrite_failed++;
		}
	}
}

/* Tracking with translation: every packet's rewrite target, and its info for a policy. */
static unsigned
track_nat(const struct pipe_conf *c, struct rte_mbuf *const *m, struct ct_pkt *pk, uint16_t n,
	  uint64_t now, const uint64_t *pkt_now, uint8_t *verdict, struct ct_pkt_info *info,
	  struct ct_tuple *to)
{
	unsigned n_to = 0;
	uint16_t i;

	if (pkt_now == NULL)
		return ct_process_burst_nat(c->shard, pk, n, now, verdict, info, to, m);
	for (i = 0; i < n; i++)
		n_to += ct_process_burst_nat(c->shard, &pk[i], 1, pkt_now[i], &verdict[i],
					     info != NULL ? &info[i] : NULL, &to[i], &m[i]);
	return n_to;
}

/* Track n packets; info (NULL: none wanted) and to (translation) per packet.
 * Returns how many were left a rewrite target (ct_process_burst_nat()).
 * Inlined: the path without helpers compiles as it did before them. */
static inline __attribute__((always_inline)) unsigned
track(const struct pipe_conf *c, struct rte_mbuf *const *m, struct ct_pkt *pk, uint16_t n,
      uint64_t now, const uint64_t *pkt_now, uint8_t *verdict, struct ct_pkt_info *info,
      struct ct_tuple *to, bool nat)
{
	uint16_t i;

	if (nat) {
		return track_nat(c, m, pk, n, now, pkt_now, verdict, info, to);
	} else if (pkt_now != NULL) {
		for (i = 0; i < n; i++) {
			if (info != NULL)
				ct_process_burst_info(c->shard, &pk[i], 1, pkt_now[i], &verdict[i],
						      &info[i]);
			else
				ct_process_burst(c->shard, &pk[i], 1, pkt_now[i], &verdict[i]);
		}
	} else if (info != NULL) {
		ct_process_burst_info(c->shard, pk, n, now, verdict, info);
	} else {
		ct_process_burst(c->shard, pk, n, now, verdict);
	}
	return 0;
}

/*
 * With helpers, a command must be read before the packets after it are
 * tracked (the connection it announces may follow in the same burst): the
 * burst is tracked in runs, each ending with a packet that may carry one.
 */
static __attribute__((noinline)) unsigned
track_helped(const struct pipe_conf *c, struct rte_mbuf *const *m, struct ct_pkt *pk,
	     uint16_t n, uint64_t now, const uint64_t *pkt_now, uint8_t *verdict,
	     struct ct_pkt_info *info, struct ct_tuple *to, bool nat)
{
	unsigned n_to = 0;
	uint16_t a, b;

	for (a = 0; a < n; a = b) {
		for (b = a; b < n && !hlp_track_may_carry(c->hlp, &pk[b]); b++)
			;
		if (b < n)
			b++;
		n_to += track(c, m + a, pk + a, (uint16_t)(b - a), now,
			      pkt_now != NULL ? pkt_now + a : NULL, verdict + a, info + a,
			      to + a, nat);
		pipe_helper_burst(c, m + a, pk + a, (uint16_t)(b - a), now,
				  pkt_now != NULL ? pkt_now + a : NULL, verdict + a, info + a);
	}
	return n_to;
}

void
pipe_track_burst(const struct pipe_conf *c, struct rte_mbuf *const *m, struct ct_pkt *pk,
		 uint16_t n, uint64_t now, const uint64_t *pkt_now, uint8_t *verdict,
		 struct pipe_stats *st)
{
	struct ct_pkt_info info[PIPE_MAX_BURST];
	struct ct_tuple to[PIPE_MAX_BURST];
	uint16_t in_port[PIPE_MAX_BURST];
	const struct pol_gen *g;
	uint64_t t0 = 0;
	unsigned n_to;
	bool nat;

	if (n == 0)
		return;
	g = policy_begin(c, m, pk, n, in_port);
	verify(c, m, pk, n);
	if (c->chan != NULL)
		ev_worker_kinds(c->chan, c->shard);
	nat = c->nat != NULL && c->nat->table != NULL && !nat_table_empty(c->nat->table);
	if (c->hlp != NULL)
		n_to = track_helped(c, m, pk, n, now, pkt_now, verdict, info, to, nat);
	else
		n_to = track(c, m, pk, n, now, pkt_now, verdict, g != NULL ? info : NULL, to, nat);
	if (g != NULL) {
		if (st != NULL)
			t0 = rte_rdtsc();
		pol_apply_burst(g, c->worker, c->shard, pk, in_port, n, verdict, info);
		if (st != NULL) {
			st->pol_cycles += rte_rdtsc() - t0;
			st->pol_pkts += n;
		}
	}
	/* What ct_process_burst_nat() did not rewrite in place. */
	if (n_to != 0)
		rewrite(c, m, pk, n, to, verdict);
}
