/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CONFIG_HA_H
#define DPCT_CONFIG_HA_H

/**
 * @file
 * The "ha" section of the configuration (docs/ha.md): state sync with a
 * failover peer in conntrackd's protocol. Its keys are rows of the schema
 * table (config_keys.c). No EAL needed.
 */

#include <stdbool.h>
#include <stdint.h>

enum dpct_ha_role {
	DPCT_HA_PRIMARY = 0,
	DPCT_HA_BACKUP = 1,
};

enum dpct_ha_transport {
	DPCT_HA_UDP = 0,
	DPCT_HA_MULTICAST = 1,
	DPCT_HA_TCP = 2,          /**< conntrackd's TCP section: a stream each way */
};

enum dpct_ha_auth {
	DPCT_HA_AUTH_HMAC = 0,    /**< HMAC-SHA256 over each datagram, 32-byte trailer */
	DPCT_HA_AUTH_NONE = 1,    /**< conntrackd's own format; needs bind or interface */
};

#define DPCT_HA_SECRET_MIN 16
#define DPCT_HA_SECRET_MAX 128

struct dpct_ha_conf {
	bool enabled;                   /**< sync runs when enabled and peer is set */
	uint8_t role;                   /**< enum dpct_ha_role at startup */
	uint8_t transport;              /**< enum dpct_ha_transport */
	uint8_t auth;                   /**< enum dpct_ha_auth */
	bool extensions;                /**< send the dpct extension messages */
	char peer[48];                  /**< peer (or multicast group) address */
	char bind[48];                  /**< local address, "" = any */
	char interface[16];             /**< SO_BINDTODEVICE, "" = none */
	char secret[DPCT_HA_SECRET_MAX + 1];
	uint16_t port;                  /**< UDP or TCP port, the same on both sides */
	uint32_t resend_queue;          /**< messages kept for NACKs */
	uint32_t window;                /**< ACK every this many messages received */
	uint32_t alive_ms;              /**< keepalive / ACK timer */
	uint32_t mtu;                   /**< datagram payload limit */
	uint32_t drain_ms;              /**< at exit: how long to wait for the peer's ACKs */
	uint32_t tcp_buffer;            /**< tcp: bytes held while the stream cannot take them */
};

/** Whether sync runs: enabled and a peer set. */
bool dpct_config_ha_on(const struct dpct_ha_conf *h);

#endif /* DPCT_CONFIG_HA_H */
