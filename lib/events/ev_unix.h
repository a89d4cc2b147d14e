/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_UNIX_H
#define DPCT_EV_UNIX_H

/*
 * The AF_UNIX SOCK_SEQPACKET transport (docs/events.md): a listening
 * socket, the connections it accepts with their SO_PEERCRED, and an epoll
 * set over both. It implements struct ev_transport_ops; connections are
 * socket descriptors. Not a public header.
 */

#include <stddef.h>
#include <stdint.h>

#include "ev_transport.h"

struct ev_unix;

/**
 * Listen at `path` (absolute): create its directory (mode 0755 when new;
 * an existing one must be owned by the caller and not writable by group
 * or others), replace a stale socket of a dead process, refuse a live one,
 * bind with mode 0660 and group `gid` (-1: the caller's own), listen.
 * `path` NULL: no socket and no poll loop; the ops still send, receive
 * and close connections handed in by their descriptor.
 * @return the transport, or NULL with `err` filled.
 */
struct ev_unix *ev_unix_open(const char *path, int64_t gid, char *err, size_t errlen);

/** The transport's ops; `self` is the struct ev_unix. */
extern const struct ev_transport_ops ev_unix_ops;

#endif /* DPCT_EV_UNIX_H */
