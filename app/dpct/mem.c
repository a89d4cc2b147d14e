/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shards and event rings from hugepages on the worker's own NUMA socket.
 * Where that socket has no room left, any socket; where EAL memory is
 * exhausted (small -m with --no-huge), the C heap, with a warning: slower,
 * but the appliance still starts as it did before.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_memory.h>

#include "dpct.h"
#include "mem.h"

static void *
socket_zalloc(void *arg, size_t size, size_t align)
{
	int socket = (int)(intptr_t)arg;
	void *p;

	p = rte_zmalloc_socket("dpct", size, (unsigned)align, socket);
	if (p != NULL)
		return p;
	p = rte_zmalloc_socket("dpct", size, (unsigned)align, SOCKET_ID_ANY);
	if (p != NULL) {
		DPCT_LOG(WARNING, "%zu bytes not on socket %d: taken from another socket\n",
			 size, socket);
		return p;
	}
	size = (size + align - 1) & ~(align - 1);
	p = aligned_alloc(align, size);
	if (p == NULL)
		return NULL;
	DPCT_LOG(WARNING, "%zu bytes not in EAL memory (raise -m or add hugepages): "
		 "taken from the heap\n", size);
	memset(p, 0, size);
	return p;
}

static void
socket_free(void *arg, void *p)
{
	(void)arg;
	if (rte_mem_virt2memseg(p, NULL) != NULL)
		rte_free(p);
	else
		free(p);
}

void
dpct_mem_socket(struct ct_mem *m, int socket)
{
	m->zalloc = socket_zalloc;
	m->free = socket_free;
	m->arg = (void *)(intptr_t)socket;
}
