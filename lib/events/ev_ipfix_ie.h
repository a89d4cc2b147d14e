/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_IPFIX_IE_H
#define DPCT_EV_IPFIX_IE_H

/*
 * What dpct's IPFIX encoder (ev_ipfix_enc.c) and the tests' decoder
 * (ev_ipfix_dec.c) share: the information element numbers and set ids.
 */

#include <stdint.h>

/* Information elements (IANA "IPFIX Information Elements"). */
#define IE_OCTET_DELTA      1
#define IE_PACKET_DELTA     2
#define IE_PROTO            4
#define IE_TCP_FLAGS        6
#define IE_SRC_PORT         7
#define IE_SRC_V4           8
#define IE_INGRESS_IF       10
#define IE_DST_PORT         11
#define IE_DST_V4           12
#define IE_SRC_V6           27
#define IE_DST_V6           28
#define IE_ICMP_V4          32
#define IE_END_REASON       136
#define IE_ICMP_V6          139
#define IE_FLOW_ID          148
#define IE_START_MS         152
#define IE_END_MS           153
#define IE_INGRESS_VRF      234
/* Translation (RFC 8158) */
#define IE_POST_NAT_SRC_V4  225
#define IE_POST_NAT_DST_V4  226
#define IE_POST_NAPT_SRC_PORT 227
#define IE_POST_NAPT_DST_PORT 228
#define IE_NAT_EVENT        230
#define IE_OBS_TIME_MS      323
#define IE_PORT_RANGE_START 361
#define IE_PORT_RANGE_END   362
#define IE_PORT_RANGE_STEP  363
#define IE_PORT_RANGE_PORTS 364

#define SET_TEMPLATE 2
#define SET_OPTIONS  3

#endif /* DPCT_EV_IPFIX_IE_H */
