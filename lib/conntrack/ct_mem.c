/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The caller's allocator, or the C heap (unit tests, tools). The app passes
 * rte_zmalloc_socket() on each worker's socket: hugepages, NUMA-local.
 */

#include <stdlib.h>
#include <string.h>

#include "ct.h"

void *
ct_mem_zalloc(const struct ct_mem *m, size_t size, size_t align)
{
	void *p;

	if (align < sizeof(void *))
		align = sizeof(void *);
	if (m != NULL && m->zalloc != NULL)
		return m->zalloc(m->arg, size, align);
	size = (size + align - 1) & ~(align - 1);
	p = aligned_alloc(align, size);
	if (p != NULL)
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
