/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_TEXT_H
#define DPCT_EV_TEXT_H

/*
 * The text form of a conntrack event, as libnetfilter_conntrack's
 * nfct_snprintf(NFCT_O_DEFAULT) prints the same message: what
 * `conntrack -E -o id,extended` shows (with `-o timestamp` conntrack only
 * adds the time of reception in front). Written from that output's
 * definition; tests/unit/ev/test_ev_text.c compares it with the library.
 */

#include <stddef.h>
#include <time.h>

#include "ev_nl.h"

#define EV_TEXT_LAYER3     0x1  /**< NFCT_OF_SHOW_LAYER3 ("-o extended") */
#define EV_TEXT_ID         0x2  /**< NFCT_OF_ID ("-o id") */
#define EV_TEXT_KTIMESTAMP 0x4  /**< NFCT_OF_TIMESTAMP ("-o ktimestamp"): [start=...] [stop=...] */
#define EV_TEXT_NO_HEADER  0x8  /**< no [NEW]/[UPDATE]/[DESTROY]: a dump line, as conntrack -L */

/**
 * Render `ct` into buf[0..len) without a newline.
 * @param now  the wall clock (seconds) for delta-time when a message has a
 *             start but no stop time, as the library uses time(NULL).
 * @return the length of the full text (as snprintf: may be >= len, then cut).
 */
int ev_text_format(char *buf, size_t len, const struct ev_nl_ct *ct, unsigned flags, time_t now);

#endif /* DPCT_EV_TEXT_H */
