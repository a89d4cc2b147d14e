/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_TEST_H
#define DPCT_TEST_H

/*
 * The in-house test header: assert macros that report file:line, a table
 * of test cases, TAP output for `meson test` (protocol: 'tap').
 *
 *   static int test_foo(void) { T_EQ(1 + 1, 2); return 0; }
 *   static const struct t_case cases[] = { T_CASE(test_foo), };
 *   T_MAIN(cases)
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct t_case {
	const char *name;
	int (*fn)(void);
};

#define T_CASE(f) { #f, f }

#define T_FAIL_(fmt, ...) do { \
	printf("# %s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__); \
	return 1; \
} while (0)

#define T_ASSERT(c) do { if (!(c)) T_FAIL_("assertion failed: %s", #c); } while (0)
#define T_EQ(a, b) do { \
	long long t_a_ = (long long)(a), t_b_ = (long long)(b); \
	if (t_a_ != t_b_) \
		T_FAIL_("%s == %s: %lld != %lld", #a, #b, t_a_, t_b_); \
} while (0)
#define T_NE(a, b) do { \
	long long t_a_ = (long long)(a), t_b_ = (long long)(b); \
	if (t_a_ == t_b_) \
		T_FAIL_("%s != %s: both %lld", #a, #b, t_a_); \
} while (0)
#define T_UEQ(a, b) do { \
	unsigned long long t_a_ = (unsigned long long)(a), t_b_ = (unsigned long long)(b); \
	if (t_a_ != t_b_) \
		T_FAIL_("%s == %s: %llu != %llu", #a, #b, t_a_, t_b_); \
} while (0)
#define T_STREQ(a, b) do { \
	const char *t_a_ = (a), *t_b_ = (b); \
	if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0) \
		T_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, t_a_ ? t_a_ : "(null)", \
			t_b_ ? t_b_ : "(null)"); \
} while (0)
#define T_MEMEQ(a, b, n) do { \
	if (memcmp((a), (b), (n)) != 0) T_FAIL_("memcmp(%s, %s, %s) != 0", #a, #b, #n); \
} while (0)

static inline int
t_run(const struct t_case *cases, size_t n)
{
	size_t i;
	int failed = 0;

	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		int rc = cases[i].fn();

		printf("%s %zu - %s\n", rc == 0 ? "ok" : "not ok", i + 1, cases[i].name);
		fflush(stdout);
		failed += rc != 0;
	}
	return failed ? 1 : 0;
}

#define T_MAIN(cases) \
	int main(void) { return t_run(cases, sizeof(cases) / sizeof(cases[0])); }

#endif /* DPCT_TEST_H */
