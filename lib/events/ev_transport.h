/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_TRANSPORT_H
#define DPCT_EV_TRANSPORT_H

/*
 * What the control core needs from a connection transport: it calls the
 * transport through these ops and learns about connections from what
 * poll() and recv() return. A transport knows nothing of listeners,
 * slots, requests or ctnetlink; it moves datagrams. Not a public header.
 *
 * A connection is an int handle the transport gives out (for AF_UNIX, the
 * socket's descriptor). Every op is for the control core's thread only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct iovec;

enum ev_conn_what {
	EV_CONN_OPENED = 0,  /**< a connection was accepted */
	EV_CONN_READY,       /**< a watched connection can be read, or has hung up */
};

struct ev_conn_event {
	uint8_t what;        /**< enum ev_conn_what */
	bool readable;       /**< READY: datagrams may wait (recv() until -EAGAIN) */
	bool hangup;         /**< READY: the peer closed, or the connection failed */
	int conn;            /**< OPENED: the new connection (the receiver owns it) */
	uint32_t tag;        /**< READY: the tag given to watch() */
	int cred_err;        /**< OPENED: 0, or -errno when the peer's credentials are unknown */
	uint32_t uid, gid, pid; /**< OPENED: the peer's credentials (when cred_err is 0) */
};

struct ev_transport_ops {
	const char *name;
	/** A descriptor readable when poll() has something to report, or -1. */
	int (*fd)(const void *self);
	/**
	 * What happened since the last call, in order, without blocking: at
	 * most `max` events (max > EV_TRANSPORT_ACCEPT_MAX). Returns how many.
	 */
	unsigned (*poll)(void *self, struct ev_conn_event *out, unsigned max);
	/** Report `conn` from poll() as READY with `tag`: 0 or -errno. A
	 * transport without a poll loop takes it and reports nothing. */
	int (*watch)(void *self, int conn, uint32_t tag);
	/**
	 * Receive one datagram into `buf`: its full length, which exceeds `cap`
	 * when it was cut (the rest is lost); 0 at end of stream or for an empty
	 * datagram; -EAGAIN when none waits; another -errno when the connection
	 * failed.
	 */
	ssize_t (*recv)(void *self, int conn, void *buf, size_t cap);
	/** Send one datagram gathered from `iov`: 0; -EAGAIN or -ENOBUFS when
	 * the connection is full; -EPIPE, -ECONNRESET, ... when it is gone. */
	int (*send)(void *self, int conn, const struct iovec *iov, unsigned iovcnt);
	/** Ask for a send buffer of `bytes`: the size the connection got
	 * (the kernel may double it), or -errno. */
	int (*set_sndbuf)(void *self, int conn, unsigned bytes);
	/** Stop watching `conn` and close it. */
	void (*close)(void *self, int conn);
	/** Close the transport itself (not the connections it gave out). */
	void (*free)(void *self);
};

/** Connections poll() accepts at most per call. */
#define EV_TRANSPORT_ACCEPT_MAX 8

#endif /* DPCT_EV_TRANSPORT_H */
