/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shards and event rings from hugepages on the worker's own NUMA socket.
 * Where that socket has no room left, any socket; where EAL memory is
 * exhausted (small -m with --no-huge), the C heap, with a warning: slower,
 * but the appliance still starts as it did before.
 *
 * Before any of that, dpct_mem_check() compares what the configuration
 * needs (config_mem.c) with what EAL and the machine have left, and refuses
 * a table that cannot fit at all.
 */

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "config_mem.h"
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

/* One unsigned number from a sysfs or cgroup file ("max" is no number). */
static int
read_u64(const char *path, uint64_t *out)
{
	unsigned long long v;
	FILE *f = fopen(path, "re");
	int rc = -ENOENT;

	if (f == NULL)
		return rc;
	if (fscanf(f, "%llu", &v) == 1) {
		*out = v;
		rc = 0;
	}
	fclose(f);
	return rc;
}

/* Free bytes of EAL memory now, and the free hugepages EAL may still map. */
static uint64_t
eal_free_bytes(void)
{
	struct rte_malloc_socket_stats st;
	uint64_t sum = 0;
	unsigned i;

	for (i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
			sum += st.heap_freesz_bytes;
	if (rte_eal_has_hugepages()) {
		DIR *d = opendir("/sys/kernel/mm/hugepages");
		struct dirent *e;

		while (d != NULL && (e = readdir(d)) != NULL) {
			unsigned long long kb;
			char path[320];
			uint64_t n;

			if (sscanf(e->d_name, "hugepages-%llukB", &kb) != 1)
				continue;
			snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/%s/free_hugepages",
				 e->d_name);
			if (read_u64(path, &n) == 0)
				sum += n * kb * 1024;
		}
		if (d != NULL)
			closedir(d);
	}
	return sum;
}

/* VmData of /proc/self/status (what RLIMIT_DATA counts), in bytes; 0 unknown. */
static uint64_t
data_in_use(void)
{
	unsigned long long kb = 0;
	char line[128];
	FILE *f = fopen("/proc/self/status", "re");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmData: %llu kB", &kb) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return (uint64_t)kb * 1024;
}

/*
 * Memory the C heap can still take: MemAvailable, or less where the
 * process is in a memory cgroup with a lower limit, or has an RLIMIT_DATA.
 */
static uint64_t
machine_free_bytes(const char **what)
{
	static const char *const cg[][2] = {
		{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
		{"/sys/fs/cgroup/memory/memory.limit_in_bytes",
		 "/sys/fs/cgroup/memory/memory.usage_in_bytes"},
	};
	uint64_t avail = 0, lim, use;
	struct rlimit rl;
	char line[128];
	FILE *f;
	unsigned i;

	*what = "MemAvailable";
	f = fopen("/proc/meminfo", "re");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		unsigned long long kb;

		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
			avail = (uint64_t)kb * 1024;
			break;
		}
	}
	if (f != NULL)
		fclose(f);
	if (avail == 0) {
		long pages = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

		*what = "free physical pages";
		avail = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
	}
	for (i = 0; i < RTE_DIM(cg); i++) {
		if (read_u64(cg[i][0], &lim) != 0 || read_u64(cg[i][1], &use) != 0)
			continue;
		if (lim > use && lim - use < avail) {
			avail = lim - use;
			*what = "the memory cgroup's limit";
		} else if (lim <= use) {
			avail = 0;
			*what = "the memory cgroup's limit";
		}
		break;
	}
	if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		use = data_in_use();
		lim = rl.rlim_cur > use ? rl.rlim_cur - use : 0;
		if (lim < avail) {
			avail = lim;
			*what = "RLIMIT_DATA";
		}
	}
	return avail;
}

int
dpct_mem_check(const struct dpct_app *a, unsigned workers)
{
	char b[4][32], line[256];
	struct dpct_mem_need n;
	uint64_t eal, host;
	const char *what;
	int rc;

	if (workers == 0 || workers > DPCT_MAX_WORKERS)
		workers = workers == 0 ? 1 : DPCT_MAX_WORKERS;
	rc = dpct_config_mem(&a->cfg, workers, &n);
	eal = eal_free_bytes();
	host = machine_free_bytes(&what);
	DPCT_LOG(INFO, "table memory: %s\n",
		 dpct_mem_describe(&n, a->cfg.max_entries, workers, line, sizeof(line)));
	if (rc != 0 || n.total > eal + host) {
		DPCT_LOG(ERR, "config: $.table.max_entries %u over %u worker%s needs %s of table "
			 "memory, but only %s is available: %s of EAL memory (-m or hugepages) "
			 "and %s of machine memory (%s); lower max_entries or add memory\n",
			 a->cfg.max_entries, workers, workers == 1 ? "" : "s",
			 dpct_mem_human(n.total, b[0], sizeof(b[0])),
			 dpct_mem_human(eal + host, b[1], sizeof(b[1])),
			 dpct_mem_human(eal, b[2], sizeof(b[2])),
			 dpct_mem_human(host, b[3], sizeof(b[3])), what);
		return -ENOMEM;
	}
	if (n.total > eal)
		DPCT_LOG(WARNING, "table memory: %s needed, %s of EAL memory free: the rest comes "
			 "from the C heap, slower (raise -m or add hugepages)\n",
			 dpct_mem_human(n.total, b[0], sizeof(b[0])),
			 dpct_mem_human(eal, b[1], sizeof(b[1])));
	return 0;
}
