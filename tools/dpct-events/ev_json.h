/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_JSON_H
#define DPCT_EV_JSON_H

/*
 * The JSON form of a conntrack event or dump entry, one object per line:
 * {"type":"new"|"update"|"destroy"|"entry","family":4,"proto":"tcp",...}
 * (docs/events.md, "dpct-events").
 */

#include <stdbool.h>
#include <stdio.h>

#include "ev_nl.h"

/** Write `ct` as one JSON line to `o`; `dump` makes its type "entry". */
void ev_json_print(FILE *o, const struct ev_nl_ct *ct, bool dump);

#endif /* DPCT_EV_JSON_H */
