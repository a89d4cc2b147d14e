/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_HA_H
#define DPCT_HA_H

/**
 * @file
 * State sync with a failover peer (docs/ha.md): a record consumer of the
 * control core that sends every NEW/UPDATE/DESTROY in conntrackd's FTFW
 * protocol over UDP or TCP, and, in the same control step, reads the peer's
 * messages into an external cache. Everything runs on the main lcore;
 * telemetry threads read counters (a torn read only misreports one) and
 * post role changes, which the control core applies in its next step.
 */

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config_ha.h"

struct dpct_app;

/** Counters for /dpct/ha and --stats-json. */
#define DPCT_HA_STATS(X) \
	X(tx_new) X(tx_update) X(tx_destroy) X(tx_destroy_pending) X(tx_destroy_late) \
	X(tx_datagrams) X(tx_bytes) X(tx_errors) \
	X(tx_ctl) X(rx_datagrams) X(rx_bytes) X(rx_data) X(rx_ctl) X(rx_bad_auth) \
	X(rx_wrong_peer) X(rx_malformed) X(rx_errors) X(resync_requests) X(role_changes) \
	X(tcp_connects) X(tcp_connect_errors) X(tcp_disconnects) X(tcp_accepts) \
	X(tcp_tx_dropped) X(tcp_rx_bad_stream) X(tcp_rx_truncated)

struct dpct_ha_stats {
#define HA_FIELD(f) uint64_t f;
	DPCT_HA_STATS(HA_FIELD)
#undef HA_FIELD
};

/** Open the socket and attach the consumer (control core, before workers start RX).
 * @return 0 (also when ha is off, dpct_config_ha_on()); -errno with the reason logged. */
int dpct_ha_start(struct dpct_app *a);

/** Wait up to ha.drain_ms for the peer's ACKs, then close (main lcore). */
void dpct_ha_stop(struct dpct_app *a);

/** Ask for a role change (any thread). @return 0; -ENOTSUP ha off; -EINVAL. */
int dpct_ha_request_role(struct dpct_app *a, enum dpct_ha_role role);

/** /dpct/ha as JSON (NULL when ha is off). */
json_t *dpct_ha_json(struct dpct_app *a);

/** Register /dpct/ha and /dpct/ha/role. @return 0 or -errno. */
int dpct_telemetry_ha_init(struct dpct_app *a);

#endif /* DPCT_HA_H */
