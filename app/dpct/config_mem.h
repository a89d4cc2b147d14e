/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CONFIG_MEM_H
#define DPCT_CONFIG_MEM_H

/**
 * @file
 * The memory a configuration costs before anything is allocated: every
 * shard's table (ct_shard_mem_size() of its dpct_config_shard() share), the
 * event channels' rings and the handoff rings between workers. What the app
 * compares with the memory it has at startup (mem.c), and the figures of
 * docs/deployment.md's memory table. No EAL needed.
 */

#include <stdint.h>

struct dpct_config;

/** Bytes by part, summed over the workers. */
struct dpct_mem_need {
	uint64_t entries;          /**< hot + cold entry arrays, early-drop headroom included,
				    *   NAT translations */
	uint64_t index;            /**< index buckets */
	uint64_t wheel;            /**< timer wheels */
	uint64_t stage;            /**< per-shard event staging */
	uint64_t shards;           /**< the shards' own structs (an upper bound), limit counts
				    *   and top sketch */
	uint64_t event_rings;      /**< per worker: record and result rings (events on) */
	uint64_t handoff_rings;    /**< workers x (workers - 1) x 2 rings of mbuf pointers */
	uint64_t total;            /**< the sum of the above */
	uint64_t slots;            /**< entries allocated over all shards */
};

/**
 * What `c` costs over `workers` workers (0 is taken as 1).
 * @return 0, or -EINVAL where a shard would be refused for its size
 *         (over 2^30 entries); `out` is filled either way.
 * Thread safety: a pure function.
 */
int dpct_config_mem(const struct dpct_config *c, unsigned workers, struct dpct_mem_need *out);

/**
 * The need as dpct logs it at start: "402.3 MiB for 2097152 entries over 4
 * workers (entries 292.5 MiB, index 32.0 MiB, timer wheels 1.0 MiB, event
 * rings 76.0 MiB, handoff rings 777.0 KiB)" (event rings include the
 * shards' staging). docs/deployment.md quotes it; a unit test compares.
 */
const char *dpct_mem_describe(const struct dpct_mem_need *n, uint32_t max_entries,
			      unsigned workers, char *buf, unsigned len);

/** `bytes` as "1.5 GiB" / "384.0 MiB" / "12.0 KiB" / "100 B" into buf. */
const char *dpct_mem_human(uint64_t bytes, char *buf, unsigned len);

#endif /* DPCT_CONFIG_MEM_H */
