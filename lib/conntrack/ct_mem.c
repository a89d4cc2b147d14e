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

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ct.h"

#define CT_MEM_HUGE (UINT64_C(2) << 20)

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
