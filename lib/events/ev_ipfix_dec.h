/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_IPFIX_DEC_H
#define DPCT_EV_IPFIX_DEC_H

/**
 * @file
 * An IPFIX decoder for tests and fuzzing (ev_ipfix_dec.c, library
 * dpct_ipfix_dec): not part of the appliance.
 */

#include <stddef.h>
#include <stdint.h>

#include "ev_ipfix.h"

/* It learns templates from the messages it reads (any template, not only
 * dpct's) and decodes data records of templates it knows onto struct
 * ev_ipfix_flow (biflows, translated biflows and port blocks alike: the
 * template id passed to the callback tells them apart); IEs it does not
 * know are skipped by length. */
#define EV_IPFIX_DEC_MAX_TEMPLATES 16
#define EV_IPFIX_DEC_MAX_FIELDS    64

struct ev_ipfix_dec_field {
	uint16_t id;             /**< IE number, enterprise bit cleared */
	uint16_t len;            /**< 65535 = variable length */
	uint32_t pen;            /**< enterprise number, 0 = IANA */
};

struct ev_ipfix_dec {
	struct {
		uint16_t id;         /**< 0 = unused */
		uint16_t n;
		uint32_t domain;
		struct ev_ipfix_dec_field f[EV_IPFIX_DEC_MAX_FIELDS];
	} t[EV_IPFIX_DEC_MAX_TEMPLATES];
	uint64_t messages, templates, records, unknown_set, errors;
};

/** Message header fields, as decoded. */
struct ev_ipfix_msg_info {
	uint16_t len;
	uint32_t export_time;
	uint32_t seq;
	uint32_t domain;
	unsigned records;        /**< data records in this message */
	unsigned template_sets;
};

/**
 * Decode one message of `len` bytes (exactly one; `len` >= its length field
 * is an error only when shorter). `cb` (may be NULL) gets each data record
 * of a known template, mapped onto struct ev_ipfix_flow.
 * @return the message length consumed (> 0), or -EINVAL (malformed: bad
 *         version, lengths, set or template), -ENOENT never (unknown
 *         templates are counted and skipped).
 */
int ev_ipfix_decode(struct ev_ipfix_dec *d, const uint8_t *msg, size_t len,
		    void (*cb)(void *arg, const struct ev_ipfix_flow *f, uint16_t tid),
		    void *arg, struct ev_ipfix_msg_info *info);

#endif /* DPCT_EV_IPFIX_DEC_H */
