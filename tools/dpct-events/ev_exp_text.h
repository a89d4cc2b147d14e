/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_EXP_TEXT_H
#define DPCT_EV_EXP_TEXT_H

/*
 * The text and JSON forms of an expectation message. The text is what
 * libnetfilter_conntrack's nfexp_snprintf(NFCT_O_DEFAULT) prints for the
 * same message, i.e. what `conntrack -E expect` (with the [NEW]/[DESTROY]
 * header) and `conntrack -L expect` (without) show;
 * tests/unit/ev/test_ev_exp_codec.c compares it with the library.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ev_nl_exp.h"

/**
 * Render `e` into buf[0..len) without a newline; `header` prefixes the
 * event kind ("    [NEW] ", " [DESTROY] ").
 * @return the length of the full text (as snprintf: may be >= len, then cut).
 */
int ev_exp_text_format(char *buf, size_t len, const struct ev_nl_exp *e, bool header);

/** One JSON object per line: {"type":"expect","event":"new",...}; `dump`
 * gives "event":"dump". */
void ev_exp_json_print(FILE *o, const struct ev_nl_exp *e, bool dump);

#endif /* DPCT_EV_EXP_TEXT_H */
