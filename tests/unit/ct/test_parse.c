/* SPDX-License-Identifier: BSD-3-Clause */
#include "dpct_test.h"
static int test_none(void) { return 0; }
static const struct t_case cases[] = { T_CASE(test_none) };
T_MAIN(cases)
