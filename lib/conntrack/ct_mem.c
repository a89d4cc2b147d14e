/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The caller's allocator, or the C heap (unit tests, tools). The app passes
 * rte_zmalloc_socket() on each worker's socket: hugepages, NUMA-local.
 *
 * On the C heap, blocks of 2 MiB and more (a shard's pool and index) are
 * 2 MiB-aligned and advised to the kernel as transparent huge pages before
 * they are first touched: a random lookup in a table of a million entries
 * then costs a cache miss and not also a TLB miss and page walk. Where THP
 * is off ("never") the advice is ignored and 4 KiB pages are used.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ct_limit_priv.h"
#include "ct_private.h"

#define CT_MEM_HUGE (UINT64_C(2) << 20)

/*
 * The layout ct_shard_create() allocates (ct_shard.c: struct ct_bucket,
 * CT_WHEEL_MIN_BITS/MAX_BITS). tests/unit/shard/test_shard_mem_size.c
 * checks ct_shard_mem_size() against the blocks ct_shard_create() asks for.
 */
#define CT_MEM_BUCKET_BYTES 64u
#define CT_MEM_WHEEL_MIN_BITS 12
#define CT_MEM_WHEEL_MAX_BITS 16
#define CT_MEM_MAX_ENTRIES (1u << 30)
/* struct ct_shard beyond its conf and stats: pointers, cursors, the tick
 * and timeout-slot tables (ct_tpol_rt.h). */
#define CT_MEM_SHARD_FIELDS 3072u

void *
ct_mem_zalloc(const struct ct_mem *m, size_t size, size_t align)
{
	void *p;

	if (align < sizeof(void *))
		align = sizeof(void *);
	if (m != NULL && m->zalloc != NULL)
		return m->zalloc(m->arg, size, align);
	if (size >= CT_MEM_HUGE && align < CT_MEM_HUGE)
		align = CT_MEM_HUGE;
	size = (size + align - 1) & ~(align - 1);
	p = aligned_alloc(align, size);
	if (p == NULL)
		return NULL;
#ifdef MADV_HUGEPAGE
	if (size >= CT_MEM_HUGE)
		(void)madvise(p, size, MADV_HUGEPAGE); /* advice: failure only means 4 KiB pages */
#endif
	memset(p, 0, size);
	return p;
}

void
ct_mem_free(const struct ct_mem *m, void *p)
{
	if (p == NULL)
		return;
	if (m != NULL && m->zalloc != NULL) {
		if (m->free != NULL)
			m->free(m->arg, p);
		return;
	}
	free(p);
}

int
ct_shard_mem_size(const struct ct_conf *conf, struct ct_shard_mem *out)
{
	uint64_t max = conf->max_entries, nb;
	unsigned bits;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (max == 0 || max > CT_MEM_MAX_ENTRIES)
		rc = -EINVAL;
	out->slots = max + (conf->early_drop ? CT_EARLY_DROP_HEADROOM(max) : 0);
	/* 80 % load of 10-slot buckets; translated entries have two keys. */
	nb = conf->buckets != 0 ? conf->buckets : (max * (conf->nat ? 2 : 1) * 8 + 63) / 64;
	if (nb < 2)
		nb = 2;
	if (nb > UINT32_MAX / 2)
		rc = -EINVAL;
	out->buckets = nb;
	for (bits = CT_MEM_WHEEL_MIN_BITS;
	     bits < CT_MEM_WHEEL_MAX_BITS && (UINT64_C(4) << (bits + 1)) <= max; bits++)
		;
	out->wheel_slots = 1u << bits;
	out->entries = out->slots * (sizeof(struct ct_entry) + sizeof(struct ct_entry_cold));
	out->index = nb * CT_MEM_BUCKET_BYTES;
	out->wheel = (uint64_t)out->wheel_slots * sizeof(uint32_t);
	out->stage = (uint64_t)conf->ev_stage_size * sizeof(struct ct_event_rec);
	if (conf->n_limits != 0) {
		uint64_t keys = conf->limit_keys != 0 ? conf->limit_keys : max;

		/* ct_limits_create(): its slots and a line of them past the end. */
		out->limits = (keys * 3 / 2 + 2 + 4) * sizeof(struct lim_slot) +
			      (out->slots + 63) / 64 * 8;
	}
	if (conf->top)
		out->limits += sizeof(struct ct_top);
	/* Timeout policies: a copy of the conf each (ct_tpol_rt.h). */
	out->shard = sizeof(struct ct_conf) * (1u + conf->tpol.n_policies) +
		     sizeof(struct ct_stats) + CT_MEM_SHARD_FIELDS;
	out->total = out->entries + out->index + out->wheel + out->stage + out->limits +
		     out->shard;
	return rc;
}
