/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EXPORTER_TEL_H
#define DPCT_EXPORTER_TEL_H

/*
 * A client of DPDK's telemetry v2 socket (AF_UNIX, SOCK_SEQPACKET): on
 * connect the server sends a JSON greeting with "max_output_len"; then each
 * command is one packet and its reply one packet, {"<command>": value}.
 *
 * Every wait is bounded by a deadline, every reply by a buffer of at most
 * TEL_REPLY_MAX bytes: a longer reply is an error, not a crash. After any
 * error other than -ENOENT the connection is closed and the next command
 * connects again, so a restarted dpct is picked up. Not thread safe.
 */

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/** The largest reply accepted, whatever the greeting advertises. */
#define TEL_REPLY_MAX (1u << 20)
/** The smallest reply buffer (DPDK 22.11 advertises 16384). */
#define TEL_REPLY_MIN 1024u

struct tel {
	char path[108];        /**< sun_path */
	int fd;                /**< -1 while disconnected */
	size_t cap;            /**< bytes in rx: the bound on one reply */
	char *rx;
	char err[256];         /**< why the last call failed */
	uint64_t connects;     /**< successful connections (greeting read) */
};

/**
 * Prepare a client for the socket at `path` (nothing is opened yet).
 * @return 0, or -ENAMETOOLONG when the path does not fit in sun_path.
 */
int tel_init(struct tel *t, const char *path);

/** Close the connection, if any, and free the buffer. */
void tel_close(struct tel *t);

/**
 * Send `cmd` (connecting first if needed) and wait until `deadline_ms`
 * (CLOCK_MONOTONIC, tel_now_ms()) for its reply.
 * @param value  on success, a new reference to the reply's value.
 * @return 0; -ENOENT when the value is null (an unknown command, or dpct
 *         refused it, e.g. while shutting down); -EINVAL when dpct answered
 *         with an error message; -ETIMEDOUT; -EMSGSIZE when the reply is over
 *         the bound; -EPROTO for a reply or greeting that is not the
 *         expected JSON; -ECONNRESET when the server closed; another -errno
 *         from socket calls. t->err says why in words.
 */
int tel_cmd(struct tel *t, const char *cmd, uint64_t deadline_ms, json_t **value);

/** Milliseconds on CLOCK_MONOTONIC. */
uint64_t tel_now_ms(void);

#endif
