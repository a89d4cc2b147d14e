/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-gen scheduler: flows of the chosen kinds interleaved round-robin
 * over a fixed number of open flows (--concurrency).
 *
 * A flow may ask to wait (UDP exchanges spread over seconds); round-robin
 * skips waiting flows, and when every open flow waits the capture clock
 * jumps to the earliest wake-up. Nothing depends on the host: the same
 * parameters give the same packets.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gen_private.h"

/* Emit flow f's next packet with its kind's step function; see gen_private.h. */
static int
flow_step(struct gen *g, struct gen_flow *f)
{
	int rc;

	switch (f->kind) {
	case GEN_K_TCP:
		rc = gen_step_tcp(g, f);
		break;
	case GEN_K_UDP_DNS:
		rc = gen_step_dns(g, f);
		break;
	case GEN_K_UDP_RR:
		rc = gen_step_udp_rr(g, f);
		break;
	case GEN_K_UDP_ONEWAY:
		rc = gen_step_udp_oneway(g, f);
		break;
	case GEN_K_ICMP_ECHO:
		rc = gen_step_icmp_echo(g, f);
		break;
	case GEN_K_ICMP_UNREACH:
		rc = gen_step_icmp_unreach(g, f);
		break;
	case GEN_K_ICMP_HOST:
		rc = gen_step_icmp_host(g, f);
		break;
	case GEN_K_GRE:
		rc = gen_step_gre(g, f);
		break;
	case GEN_K_ESP:
		rc = gen_step_esp(g, f);
		break;
	case GEN_K_GRE_ONEWAY:
	case GEN_K_GRE_PPTP:
		rc = gen_step_gre(g, f);
		break;
	case GEN_K_SCTP:
	case GEN_K_SCTP_ABORT:
	case GEN_K_SCTP_BADTAG:
		rc = gen_step_sctp(g, f);
		break;
	case GEN_K_DCCP:
	case GEN_K_DCCP_BADSEQ:
		rc = gen_step_dccp(g, f);
		break;
	case GEN_K_TCP_OOW_RST:
	case GEN_K_TCP_OOW_DATA:
		rc = gen_step_tcp_oow(g, f);
		break;
	case GEN_K_TCP_WSCALE:
		rc = gen_step_tcp_wscale(g, f);
		break;
	case GEN_K_TCP_BULK:
		rc = gen_step_tcp_bulk(g, f);
		break;
	case GEN_K_FTP_PASV:
	case GEN_K_FTP_PORT:
		rc = gen_step_ftp(g, f);
		break;
	case GEN_K_TFTP:
		rc = gen_step_tftp(g, f);
		break;
	case GEN_K_CSUM_TCP:
		rc = gen_step_bad_first(g, f, gen_step_tcp, GEN_MANGLE_CSUM, 16);
		break;
	case GEN_K_CSUM_UDP:
		rc = gen_step_bad_first(g, f, gen_step_dns, GEN_MANGLE_CSUM, 6);
		break;
	case GEN_K_CSUM_ICMP:
		rc = gen_step_bad_first(g, f, gen_step_icmp_echo, GEN_MANGLE_CSUM, 2);
		break;
	case GEN_K_UDP_SHORTLEN:
		rc = gen_step_bad_first(g, f, gen_step_dns, GEN_MANGLE_SHORTEN, 4);
		break;
	case GEN_K_ICMP_TSTAMP:
	case GEN_K_ICMP_INFO:
	case GEN_K_ICMP_MASK:
		rc = gen_step_icmp_query(g, f);
		break;
	default:
		rc = gen_step_bad(g, f);
		break;
	}
	f->step++;
	return rc;
}

/*
 * The scheduler: open flows take turns in a FIFO (round-robin); a flow that
 * must wait goes to a min-heap on (wake time, order of arrival) and rejoins
 * the FIFO's tail when the clock reaches its wake time. Both hold slot
 * numbers, so every step costs O(log C) whatever the concurrency.
 */
struct sched {
	uint32_t *fifo;       /* ring of slot numbers */
	uint32_t head, len, cap;
	uint32_t *heap;       /* slot numbers ordered by (wake_us, wseq) */
	uint64_t *wseq;       /* per slot: arrival order in the heap (tie break) */
	uint32_t hlen;
	uint64_t next_wseq;
};

static void
fifo_push(struct sched *q, uint32_t slot)
{
	q->fifo[(q->head + q->len) % q->cap] = slot;
	q->len++;
}

static uint32_t
fifo_pop(struct sched *q)
{
	uint32_t slot = q->fifo[q->head];

	q->head = (q->head + 1) % q->cap;
	q->len--;
	return slot;
}

static int
heap_less(const struct sched *q, const struct gen_flow *slots, uint32_t a, uint32_t b)
{
	if (slots[a].wake_us != slots[b].wake_us)
		return slots[a].wake_us < slots[b].wake_us;
	return q->wseq[a] < q->wseq[b];
}

static void
heap_push(struct sched *q, const struct gen_flow *slots, uint32_t slot)
{
	uint32_t i = q->hlen++, parent;

	q->wseq[slot] = q->next_wseq++;
	q->heap[i] = slot;
	while (i > 0) {
		parent = (i - 1) / 2;
		if (!heap_less(q, slots, q->heap[i], q->heap[parent]))
			break;
		slot = q->heap[i];
		q->heap[i] = q->heap[parent];
		q->heap[parent] = slot;
		i = parent;
	}
}

static uint32_t
heap_pop(struct sched *q, const struct gen_flow *slots)
{
	uint32_t top = q->heap[0], i = 0, l, r, m, t;

	q->heap[0] = q->heap[--q->hlen];
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < q->hlen && heap_less(q, slots, q->heap[l], q->heap[m]))
			m = l;
		if (r < q->hlen && heap_less(q, slots, q->heap[r], q->heap[m]))
			m = r;
		if (m == i)
			break;
		t = q->heap[i];
		q->heap[i] = q->heap[m];
		q->heap[m] = t;
		i = m;
	}
	return top;
}

int
gen_run(const struct gen_params *p, pcap_dumper_t *dumper, struct gen_result *res)
{
	struct gen *g;
	struct gen_flow *slots = NULL;
	struct sched q;
	uint32_t *free_slots = NULL;
	uint64_t started = 0;
	uint32_t c = p->concurrency, n_free, i, s;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	memset(&q, 0, sizeof(q));
	g = calloc(1, sizeof(*g));
	slots = calloc(c, sizeof(*slots));
	free_slots = calloc(c, sizeof(*free_slots));
	q.fifo = calloc(c, sizeof(*q.fifo));
	q.heap = calloc(c, sizeof(*q.heap));
	q.wseq = calloc(c, sizeof(*q.wseq));
	if (g == NULL || slots == NULL || free_slots == NULL || q.fifo == NULL ||
	    q.heap == NULL || q.wseq == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	q.cap = c;
	g->p = p;
	g->out.dumper = dumper;
	g->out.now_us = GEN_EPOCH_US;
	g->out.n_vlan = p->n_vlan_dup;
	g->out.vlan[0] = p->vlan_dup[0];
	g->out.vlan[1] = p->vlan_dup[1];
	gen_rng_seed(&g->rng, p->seed);
	g->sport_base = (uint16_t)gen_rand_below(&g->rng, 64000);
	g->bad_base = gen_rand_below(&g->rng, 64);

	/* Free slots are taken lowest first, so the first C flows go out in order. */
	for (i = 0; i < c; i++)
		free_slots[i] = c - 1 - i;
	n_free = c;

	for (;;) {
		while (n_free > 0 && started < p->flows) {
			s = free_slots[--n_free];
			gen_flow_init(g, &slots[s], gen_choose_kind(g, started), started);
			res->kind_count[slots[s].kind]++;
			started++;
			fifo_push(&q, s);
		}
		/* Flows whose wait is over rejoin the round at its end. */
		while (q.hlen > 0 && slots[q.heap[0]].wake_us <= g->out.now_us)
			fifo_push(&q, heap_pop(&q, slots));
		if (q.len == 0) {
			if (q.hlen == 0)
				break;
			/* Everyone waits: jump the clock to the earliest wake-up. */
			g->out.now_us = slots[q.heap[0]].wake_us;
			continue;
		}
		s = fifo_pop(&q);
		rc = flow_step(g, &slots[s]);
		if (rc < 0)
			goto out;
		if (rc == 0)
			free_slots[n_free++] = s;
		else if (slots[s].wake_us > g->out.now_us)
			heap_push(&q, slots, s);
		else
			fifo_push(&q, s);
		rc = 0;
	}
	res->flows = started;
	res->packets = g->out.packets;
	res->bytes = g->out.bytes;
out:
	free(q.wseq);
	free(q.heap);
	free(q.fifo);
	free(free_slots);
	free(slots);
	free(g);
	return rc;
}
