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

struct dpct_app;

/**
 * Compare what a->cfg needs over `workers` workers (dpct_config_mem())
 * with the free EAL memory (heap and free hugepages) plus the machine's
 * (MemAvailable, within a memory cgroup's limit and RLIMIT_DATA), and log both. A table
 * that fits only with the C heap is a warning.
 * @return 0, or -ENOMEM (logged with the need and what is available) when
 *         it cannot fit. Needs a running EAL; call it before the mbuf pool
 *         and the shards.
 */
int dpct_mem_check(const struct dpct_app *a, unsigned workers);

#endif /* DPCT_MEM_H */
