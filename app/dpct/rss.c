/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Flow ownership from the NIC: symmetric Toeplitz key, dpct's own RETA, and
 * the same hash in software for what the NIC cannot place (see rss.h).
 */

#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_thash.h>

#include "rss.h"

/* Per-flow-type support a port needs to be used for ownership: L4 hashing
 * for TCP and UDP (else the NIC hash of those differs from the tuple's), and
 * addresses for the rest. */
#define NEED_L4 (RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP | \
		 RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_NONFRAG_IPV6_UDP)
#define ANY_V4 (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_OTHER)
#define ANY_V6 (RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_NONFRAG_IPV6_OTHER)

void
dpct_rss_key_fill(uint8_t *key, unsigned len)
{
	unsigned i;

	/* A key with a 16-bit period hashes (a, b, pa, pb) and (b, a, pb, pa) alike. */
	for (i = 0; i < len; i++)
		key[i] = (i & 1) ? 0x5a : 0x6d;
}

int
dpct_rss_port_conf(const struct rte_eth_dev_info *info, unsigned nrx,
		   struct rte_eth_rss_conf *rc, uint8_t *key)
{
	memset(rc, 0, sizeof(*rc));
	if (nrx < 2 || info->flow_type_rss_offloads == 0)
		return -ENOTSUP;
	rc->rss_hf = info->flow_type_rss_offloads & DPCT_RSS_HF;
	if (info->hash_key_size != 40 && info->hash_key_size != 52)
		return -ENOTSUP;
	dpct_rss_key_fill(key, info->hash_key_size);
	rc->rss_key = key;
	rc->rss_key_len = info->hash_key_size;
	if ((rc->rss_hf & NEED_L4) != NEED_L4 || !(rc->rss_hf & ANY_V4) || !(rc->rss_hf & ANY_V6))
		return -ENOTSUP;
	return 0;
}

int
dpct_rss_init(struct dpct_rss *r, unsigned reta_min, unsigned n_workers)
{
	unsigned i;

	memset(r->owner_of, 0, sizeof(r->owner_of));
	r->n_workers = n_workers == 0 ? 1 : n_workers;
	dpct_rss_key_fill(r->key, sizeof(r->key));
	if (reta_min == 0) {
		r->on = false;
		r->mask = 0;
		return 0;
	}
	if (reta_min > DPCT_RSS_RETA_MAX || (reta_min & (reta_min - 1)) != 0)
		return -EINVAL;
	r->mask = reta_min - 1;
	for (i = 0; i < reta_min; i++)
		r->owner_of[i] = (uint8_t)(i % r->n_workers);
	r->on = true;
	return 0;
}

void
dpct_rss_reta_fill(const struct dpct_rss *r, struct rte_eth_rss_reta_entry64 *conf,
		   unsigned reta_size)
{
	unsigned i;

	for (i = 0; i < reta_size; i++) {
		struct rte_eth_rss_reta_entry64 *g = &conf[i / RTE_ETH_RETA_GROUP_SIZE];

		if (i % RTE_ETH_RETA_GROUP_SIZE == 0)
			g->mask = 0;
		g->mask |= UINT64_C(1) << (i % RTE_ETH_RETA_GROUP_SIZE);
		g->reta[i % RTE_ETH_RETA_GROUP_SIZE] = r->owner_of[i & r->mask];
	}
}

static inline uint32_t
be32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return rte_be_to_cpu_32(v);
}

uint32_t
dpct_rss_hash_tuple(const uint8_t *key, const struct ct_tuple *t)
{
	union rte_thash_tuple in;
	int l4 = t->proto == IPPROTO_TCP || t->proto == IPPROTO_UDP;
	unsigned i;

	memset(&in, 0, sizeof(in));
	if (t->family == 4) {
		in.v4.src_addr = be32_at(t->src);
		in.v4.dst_addr = be32_at(t->dst);
		in.v4.sport = t->sport;
		in.v4.dport = t->dport;
		return rte_softrss((uint32_t *)&in.v4,
				   l4 ? RTE_THASH_V4_L4_LEN : RTE_THASH_V4_L3_LEN, key);
	}
	for (i = 0; i < 4; i++) {
		uint32_t s = be32_at(t->src + 4 * i), d = be32_at(t->dst + 4 * i);

		memcpy(in.v6.src_addr + 4 * i, &s, 4);
		memcpy(in.v6.dst_addr + 4 * i, &d, 4);
	}
	in.v6.sport = t->sport;
	in.v6.dport = t->dport;
	return rte_softrss((uint32_t *)&in.v6, l4 ? RTE_THASH_V6_L4_LEN : RTE_THASH_V6_L3_LEN, key);
}

unsigned
dpct_rss_owner_tuple(const struct dpct_rss *r, const struct ct_tuple *t)
{
	return dpct_rss_owner_hash(r, dpct_rss_hash_tuple(r->key, t));
}
