/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_NL_H
#define DPCT_EV_NL_H
/* placeholder: the ctnetlink codec, being written */
#endif
