/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_H
#define DPCT_EV_H

/**
 * @file
 * lib/events: reliable conntrack event delivery (DESIGN §4).
 *
 *  - ev_chan: one worker <-> control channel: a single-producer /
 *    single-consumer ring of ct_event_rec (worker -> control) and one of
 *    ct_result (control -> worker). Built on rte_ring over heap memory; no
 *    EAL needed. A full ring never blocks: the caller learns how many
 *    elements went in.
 *  - ev_worker_sync(): the worker's side of the protocol in one call.
 *  - ev_ctl: the control core: drains the channels, encodes ctnetlink,
 *    sends to subscribed listeners over a NETLINK_USERSOCK socket with
 *    MSG_DONTWAIT, handles subscribe/unsubscribe, and returns delivery
 *    results. Never blocks on a listener.
 *  - the ctnetlink codec (ev_nl.h) is shared with the listener tool.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Channels                                                                  */

struct ev_chan;

/**
 * Create a channel. Sizes are rounded up to powers of two.
 * @return the channel, or NULL with `err` filled.
 */
struct ev_chan *ev_chan_create(unsigned rec_ring_size, unsigned res_ring_size, char *err,
			       size_t errlen);
/** The same, with the rings from `mem` (e.g. hugepages on the worker's socket;
 * NULL = C heap). ev_chan_free() gives the memory back to `mem`. */
struct ev_chan *ev_chan_create_mem(unsigned rec_ring_size, unsigned res_ring_size,
				   const struct ct_mem *mem, char *err, size_t errlen);
void ev_chan_free(struct ev_chan *c);

/** Worker side: enqueue records in order; returns how many went in (a prefix). */
unsigned ev_chan_push_records(struct ev_chan *c, const struct ct_event_rec *r, unsigned n);
/** Worker side: dequeue up to `max` results. */
unsigned ev_chan_pull_results(struct ev_chan *c, struct ct_result *out, unsigned max);
/** Control side: dequeue up to `max` records. */
unsigned ev_chan_pull_records(struct ev_chan *c, struct ct_event_rec *out, unsigned max);
/** Control side: enqueue results; returns how many went in (a prefix). */
unsigned ev_chan_push_results(struct ev_chan *c, const struct ct_result *r, unsigned n);
/** Records waiting in the channel (approximate from the other side). */
unsigned ev_chan_records_pending(const struct ev_chan *c);
/** Results waiting in the channel (approximate from the other side). */
unsigned ev_chan_results_pending(const struct ev_chan *c);

/**
 * Control side: account delivery outcomes for the channel's shard. The
 * counters are monotonic and read by the worker in ev_worker_sync(), which
 * passes the increase to ct_shard_count_events(): this is how events_sent,
 * events_failed and listener_dropped reach the shard's ct_stats. (ring_full
 * is counted by the shard itself in ct_shard_ev_commit(); events_retried,
 * destroy_resent and destroy_acked are totals of the control core,
 * ev_ctl_get_stats(), and destroy_acked also per shard through
 * ct_shard_apply_result().)
 * Thread safety: the control core only (one writer per channel).
 */
void ev_chan_count(struct ev_chan *c, unsigned sent, unsigned failed, unsigned dropped);

/**
 * Worker side: the increase of the ev_chan_count() counters since the last
 * call. ev_worker_sync() uses it; a worker that does its own sync can too.
 * @return true when any of them is non-zero.
 * Thread safety: the channel's worker only.
 */
bool ev_chan_take_counts(struct ev_chan *c, unsigned *sent, unsigned *failed,
			 unsigned *dropped);

/**
 * The worker's side of delivery, called once per poll-loop iteration after
 * ct_process_burst()/ct_shard_expire(): move staged records into the
 * channel (ct_shard_ev_peek/commit: what does not fit becomes missed bits or
 * a re-armed destroy), then apply every result waiting from the control core.
 * Also reports the delivery counters of ev_chan_count() to the shard
 * (ct_shard_count_events()). At most 1024 results are applied per call.
 * Thread safety: the shard's owner only.
 * @return records pushed + results applied.
 */
unsigned ev_worker_sync(struct ev_chan *c, struct ct_shard *s, uint64_t now);

/* ------------------------------------------------------------------------ */
/* Control core                                                              */

#define EV_MAX_UIDS 32

struct ev_ctl_conf {
	uint32_t port_id;            /**< netlink port id dpct binds (default 0x44504354 'DPCT') */
	uint32_t allowed_uids[EV_MAX_UIDS];
	unsigned n_allowed_uids;     /**< 0 = only uid 0 */
	unsigned max_listeners;      /**< default 8 */
	bool reliable;               /**< honour listeners' reliable flag (default true) */
	unsigned max_batch_bytes;    /**< datagram size for batched messages (default 16384) */
	unsigned rcvbuf;             /**< dpct's own socket receive buffer (0 = default) */
	bool no_socket;              /**< tests: no netlink socket; use ev_ctl_add_sink() */
};

void ev_ctl_conf_init(struct ev_ctl_conf *c);

struct ev_ctl;

/**
 * Create the control side over `n` channels (channel i belongs to shard i).
 * Opens and binds the netlink socket unless conf->no_socket.
 * @return NULL with `err` filled (e.g. "port id 1146110804 in use").
 */
struct ev_ctl *ev_ctl_create(const struct ev_ctl_conf *conf, struct ev_chan *const *chans,
			     unsigned n, char *err, size_t errlen);
void ev_ctl_free(struct ev_ctl *ctl);

/**
 * One control step: handle subscription requests, drain up to `budget`
 * records from every channel, encode and send them, push results back.
 * Never blocks.
 * @return records handled (0 = idle).
 */
unsigned ev_ctl_step(struct ev_ctl *ctl, uint64_t now, unsigned budget);

/** The socket fd (for poll()), or -1. */
int ev_ctl_fd(const struct ev_ctl *ctl);

/** True when no records or results are waiting anywhere in the control side. */
bool ev_ctl_idle(const struct ev_ctl *ctl);

/** Number of subscribed listeners, and of reliable ones (`reliable` may be NULL). */
unsigned ev_ctl_listener_count(const struct ev_ctl *ctl, unsigned *reliable);

struct ev_ctl_stats {
	uint64_t events_sent;        /**< messages accepted by at least one listener socket */
	uint64_t events_failed;      /**< nacks returned to workers (reliable listener refused) */
	uint64_t events_retried;     /**< records carrying previously missed bits */
	uint64_t destroy_resent;     /**< destroy records sent again after a grace timer */
	uint64_t destroy_acked;
	uint64_t listener_dropped;   /**< messages an unreliable listener lost */
	uint64_t listeners_gone;     /**< listeners removed after ECONNREFUSED */
	uint64_t subscribe_refused;  /**< unauthorised uid or over the cap */
	uint64_t datagrams;
	uint64_t result_backlog;     /**< results waiting for room in a channel */
};
void ev_ctl_get_stats(const struct ev_ctl *ctl, struct ev_ctl_stats *out);

/**
 * A listener that is not a netlink socket (tests, benchmarks): `fn` gets
 * each datagram as an iovec array of whole ctnetlink messages and returns 0
 * (delivered), -EAGAIN or -ENOBUFS (buffer full: a reliable sink's records
 * fail), -ECONNREFUSED (gone: the sink is removed) or another -errno
 * (counted as lost).
 */
struct iovec;
typedef int (*ev_sink_fn)(void *arg, const struct iovec *iov, unsigned iovcnt, size_t bytes);

/**
 * Subscribe a sink as if `port_id` had sent EV_MSG_SUBSCRIBE with
 * `flags`/`mask` (uid 0). Works with and without a socket.
 * @return 0; -EUSERS over max_listeners; -EINVAL bad flags/mask or fn NULL.
 */
int ev_ctl_add_sink(struct ev_ctl *ctl, uint32_t port_id, uint32_t flags, uint32_t mask,
		    ev_sink_fn fn, void *arg);

/**
 * Handle one datagram of requests (EV_MSG_SUBSCRIBE / EV_MSG_UNSUBSCRIBE)
 * from netlink port `port_id` with credentials `uid`/`pid`, exactly as if
 * it had arrived on the socket. ev_ctl_step() calls it for what it
 * receives; tests and the fuzzer call it directly. Every request is
 * answered with an NLMSG_ERROR ack on the socket (when there is one).
 * @return the ack code of the last request: 0, -EPERM (uid not allowed),
 *         -EUSERS (listener cap), -EINVAL (bad payload), -ENOENT
 *         (unsubscribe of an unknown port), -EOPNOTSUPP (unknown type);
 *         -EINVAL also when the datagram holds no message.
 */
int ev_ctl_handle_request(struct ev_ctl *ctl, uint32_t port_id, uint32_t uid, uint32_t pid,
			  const void *buf, size_t len);

struct ev_listener_info {
	uint32_t port_id;
	uint32_t uid;
	uint32_t pid;
	uint32_t mask;               /**< EV_MASK_* */
	bool reliable;
	uint64_t sent;
	uint64_t failed;
};
/** Copy up to `max` listeners; returns how many. */
unsigned ev_ctl_listeners(const struct ev_ctl *ctl, struct ev_listener_info *out, unsigned max);

/* ------------------------------------------------------------------------ */
/* The subscribe protocol (docs/events.md)                                   */

/** Netlink message types on dpct's NETLINK_USERSOCK port (below
 * NLMSG_MIN_TYPE are the standard ones; ctnetlink types are above 0x100). */
#define EV_MSG_SUBSCRIBE   0x20
#define EV_MSG_UNSUBSCRIBE 0x21

#define EV_SUB_F_RELIABLE 0x1

#define EV_MASK_NEW     0x1
#define EV_MASK_UPDATE  0x2
#define EV_MASK_DESTROY 0x4
#define EV_MASK_ALL     0x7

/** Payload of EV_MSG_SUBSCRIBE (host byte order). */
struct ev_subscribe {
	uint32_t version;            /**< EV_PROTO_VERSION */
	uint32_t flags;              /**< EV_SUB_F_* */
	uint32_t mask;               /**< EV_MASK_* */
};
#define EV_PROTO_VERSION 1
#define EV_DEFAULT_PORT_ID 0x44504354u

#ifdef __cplusplus
}
#endif

#endif /* DPCT_EV_H */
