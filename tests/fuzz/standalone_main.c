/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Driver for fuzz targets in builds without libFuzzer: runs every file named
 * on the command line (files in directories too), then a bounded number of
 * deterministic pseudo-random inputs derived from them (byte flips,
 * truncations, splices). `meson test --suite fuzz` runs this; CI also runs
 * the real libFuzzer build for a bounded time.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 65536
#define MAX_SEEDS 256

static uint8_t *seeds[MAX_SEEDS];
static size_t seed_len[MAX_SEEDS];
static unsigned n_seeds;

static void
load_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (f == NULL || n_seeds == MAX_SEEDS) {
		if (f != NULL)
			fclose(f);
		return;
	}
	buf = malloc(MAX_INPUT);
	if (buf == NULL) {
		fclose(f);
		return;
	}
	n = fread(buf, 1, MAX_INPUT, f);
	fclose(f);
	seeds[n_seeds] = buf;
	seed_len[n_seeds++] = n;
}

static void
load_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char sub[4096];

	if (stat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		load_file(path);
		return;
	}
	d = opendir(path);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		load_path(sub);
	}
	closedir(d);
}

static uint64_t
next_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

int
main(int argc, char **argv)
{
	static uint8_t buf[MAX_INPUT];
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	unsigned iters = 20000, i;
	const char *env = getenv("FUZZ_ITERATIONS");
	int a;

	if (env != NULL)
		iters = (unsigned)strtoul(env, NULL, 10);
	for (a = 1; a < argc; a++)
		load_path(argv[a]);
	for (i = 0; i < n_seeds; i++)
		LLVMFuzzerTestOneInput(seeds[i], seed_len[i]);
	for (i = 0; i < iters; i++) {
		size_t len;
		unsigned k, flips;

		if (n_seeds > 0) {
			unsigned s = (unsigned)(next_rand(&rng) % n_seeds);

			len = seed_len[s];
			memcpy(buf, seeds[s], len);
		} else {
			len = (size_t)(next_rand(&rng) % 512);
			for (k = 0; k < len; k++)
				buf[k] = (uint8_t)next_rand(&rng);
		}
		flips = (unsigned)(next_rand(&rng) % 8);
		for (k = 0; k < flips && len > 0; k++)
			buf[next_rand(&rng) % len] ^= (uint8_t)(1u << (next_rand(&rng) % 8));
		if (len > 0 && next_rand(&rng) % 4 == 0)
			len = (size_t)(next_rand(&rng) % (len + 1));
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("1..1\nok 1 - %u seeds, %u mutated inputs\n", n_seeds, iters);
	for (i = 0; i < n_seeds; i++)
		free(seeds[i]);
	return 0;
}
