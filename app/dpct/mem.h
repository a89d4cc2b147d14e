/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_MEM_H
#define DPCT_MEM_H

#include "ct.h"

/**
 * An allocator for lib/conntrack and lib/events (struct ct_mem) that takes
 * zeroed hugepage memory on NUMA `socket` (rte_zmalloc_socket; with
 * --no-huge, EAL's anonymous memory). Needs a running EAL.
 */
void dpct_mem_socket(struct ct_mem *m, int socket);

#endif /* DPCT_MEM_H */
