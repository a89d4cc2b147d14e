/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_IMPORT_H
#define DPCT_CT_IMPORT_H

/**
 * @file
 * Entries taken over from a failover peer (docs/ha.md): a connection the
 * peer tracked, inserted into a shard as it stood there, so its next
 * packets continue it and its end is reported from here.
 */

#include "ct.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Insert the connection `r` describes: `orig` (its zone included), the
 * state, status (CONFIRMED is added), remaining timeout (`timeout_s`,
 * capped at the class's timeout under the timeout policy the shard's rules
 * give `orig`, ct_tpol.h; 0 takes that timeout), counters, TCP window
 * scales, mark, and in `events` the CT_EV_* bits its listeners have not had
 * yet (they become the entry's missed bits: the next event of the entry
 * carries them). No NEW is reported: the peer reported it. The TCP window
 * history is not known: both directions are tracked liberally, as a
 * mid-stream pickup, so the next packets continue the connection in its
 * state with tcp.be_liberal off. An SCTP entry takes the record's state
 * and verification tags (`sctp_vtag`), against which its next packets are
 * checked. The entry gets a new id from this shard.
 *
 * Translated flows (status with CT_S_SRC_NAT or CT_S_DST_NAT) are refused:
 * their binding belongs to lib/nat.
 *
 * @return 0; -EEXIST a live entry has this tuple (either direction);
 *         -ENOSPC no free slot (or max_entries reached); -EINVAL bad
 *         family, TCP or SCTP state; -ENOTSUP translated flow.
 * Thread safety: the shard's owner only, as every shard operation.
 */
int ct_shard_import(struct ct_shard *s, const struct ct_event_rec *r, uint64_t now);

#ifdef __cplusplus
}
#endif

#endif /* DPCT_CT_IMPORT_H */
