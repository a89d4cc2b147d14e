/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_H
#define DPCT_EV_H

/**
 * @file
 * lib/events: reliable conntrack event delivery (docs/architecture.md).
 *
 *  - ev_chan: one worker <-> control channel: a single-producer /
 *    single-consumer ring of ct_event_rec (worker -> control) and one of
 *    ct_result (control -> worker). Built on rte_ring over heap memory; no
 *    EAL needed. A full ring never blocks: the caller learns how many
 *    elements went in.
 *  - ev_worker_sync(): the worker's side of the protocol in one call.
 *  - ev_ctl: the control core: drains the channels, encodes ctnetlink,
 *    sends to subscribed listeners over an AF_UNIX SOCK_SEQPACKET socket
 *    (one connection per listener: the connection is the subscription)
 *    with MSG_DONTWAIT, handles subscribe/unsubscribe and dumps, and
 *    returns delivery results. Never blocks on a listener.
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
/** Free a channel. A shard it lent ring slots to (ev_chan_lend()) must
 * not stage records afterwards unless ev_chan_settle() was called first. */
void ev_chan_free(struct ev_chan *c);

/** Worker side: enqueue records in order; returns how many went in (a
 * prefix). Records staged in lent slots go first (ev_chan_settle()). */
unsigned ev_chan_push_records(struct ev_chan *c, const struct ct_event_rec *r, unsigned n);

/**
 * Worker side: reserve as many record slots in the ring as shard `s` has
 * staging room (ct_shard_ev_room()) and lend them to it
 * (ct_shard_ev_lend()), so that it stages each record straight into the
 * ring instead of into its buffer for a later copy. All or nothing: with
 * less room in the ring, or an area lent already, nothing is lent and the
 * shard stages into its own buffer. Nothing reaches the control core until
 * ev_chan_settle().
 * @return the number of slots lent, or 0.
 * Thread safety: the shard's owner only (the ring has one producer).
 */
unsigned ev_chan_lend(struct ev_chan *c, struct ct_shard *s);

/**
 * Worker side: ev_chan_lend() when the channel's mean of records moved a
 * call (`moved`, this call's, averaged with weight 1/8) is at least
 * EV_CHAN_LEND_MIN: reserving and lending cost about as much as copying
 * 3 or 4 records, so a trickle (DESTROYs alone, an idle loop) is copied.
 * @return the number of slots lent, or 0.
 * Thread safety: the shard's owner only.
 */
#define EV_CHAN_LEND_MIN 4
unsigned ev_chan_lend_auto(struct ev_chan *c, struct ct_shard *s, unsigned moved);

/**
 * Worker side: end the loan of ev_chan_lend(): the records the shard
 * staged in the lent slots enter the ring, in order, and the rest of the
 * reservation is given back. Nothing lent: nothing done.
 * @return the number of records that entered the ring.
 * Thread safety: the shard's owner only.
 */
unsigned ev_chan_settle(struct ev_chan *c);
/** Worker side: dequeue up to `max` results. */
unsigned ev_chan_pull_results(struct ev_chan *c, struct ct_result *out, unsigned max);
/** Control side: dequeue up to `max` records, each built (ct_event_rec_cook()) if raw. */
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
 * Control side: the kinds of record (EV_MASK_NEW, EV_MASK_UPDATE,
 * EV_MASK_DESTROY and the expectation groups EV_MASK_EXP_*; other bits are
 * ignored) that some listener of the channel's shard subscribes to. ev_ctl
 * keeps it current as listeners come and go; a channel starts with every
 * kind. A worker that sees no EV_MASK_EXP_* bit may skip staging
 * expectation records: nobody would get them, and the control core would
 * only ack their DESTROYs.
 * Thread safety: the control core only.
 */
void ev_chan_set_kinds(struct ev_chan *c, uint32_t kinds);
/** Worker side: the kinds last set (a release/acquire pair with the setter). */
uint32_t ev_chan_kinds(const struct ev_chan *c);

/**
 * Worker side: give the shard the record kinds the channel's listeners
 * want (ct_shard_set_event_kinds()). ev_worker_sync() does it first thing;
 * a worker calls it again just before it tracks a burst, after whatever
 * released those packets to it (a start flag, a handoff ring, a dump it
 * served): what a listener subscribed to before that is built for it.
 * Thread safety: the shard's owner only.
 */
void ev_worker_kinds(struct ev_chan *c, struct ct_shard *s);

/**
 * The worker's side of delivery, called once per poll-loop iteration after
 * ct_process_burst()/ct_shard_expire(): publish the records the shard
 * staged in ring slots lent to it (ev_chan_settle()), move records staged
 * in its own buffer into the channel (ct_shard_ev_peek/commit: what does
 * not fit becomes missed bits or a re-armed destroy), apply every result
 * waiting from the control core, then lend the shard ring slots for the
 * next iteration's records (ev_chan_lend_auto()).
 * Also reports the delivery counters of ev_chan_count() to the shard
 * (ct_shard_count_events()). At most 1024 results are applied per call.
 * Thread safety: the shard's owner only.
 * @return records pushed + results applied.
 */
unsigned ev_worker_sync(struct ev_chan *c, struct ct_shard *s, uint64_t now);

/* ------------------------------------------------------------------------ */
/* Control core                                                              */

#define EV_MAX_UIDS 32
/** Listener slots (socket listeners, sinks and record consumers together):
 * a slot is one bit of the resend mask carried by results and records. */
#define EV_MAX_LISTENERS 32
/** The default socket path (docs/events.md). */
#define EV_DEFAULT_SOCKET "/run/dpct/events.sock"
#define EV_SOCKET_PATH_MAX 108
/** The largest datagram dpct sends on the events socket (events, dump pages,
 * acks): a reader with a buffer this big never sees MSG_TRUNC. The batch size
 * (max_batch_bytes) cannot exceed it. */
#define EV_DGRAM_MAX 65536u
/** The largest request datagram handled; a longer one is answered -EMSGSIZE. */
#define EV_REQ_MAX 4096u
/** Request messages handled per datagram; the next one is answered -E2BIG. */
#define EV_REQ_PER_DGRAM 16u

struct ev_ctl_conf {
	char socket_path[EV_SOCKET_PATH_MAX]; /**< AF_UNIX SOCK_SEQPACKET path */
	int64_t socket_gid;          /**< group owning the socket (-1: dpct's own group) */
	uint32_t allowed_uids[EV_MAX_UIDS];
	unsigned n_allowed_uids;     /**< peers (SO_PEERCRED) allowed to subscribe; uid 0 always */
	uint32_t allowed_gids[EV_MAX_UIDS];
	unsigned n_allowed_gids;     /**< ... or whose primary gid is one of these */
	uint32_t reliable_uids[EV_MAX_UIDS];
	unsigned n_reliable_uids;    /**< uids that may ask for reliable delivery (default [0]) */
	unsigned max_listeners;      /**< default 8, at most EV_MAX_LISTENERS */
	bool reliable;               /**< honour listeners' reliable flag (default true) */
	unsigned max_batch_bytes;    /**< datagram size for batched messages (default 16384,
				       *  EV_NL_MSG_MAX..EV_DGRAM_MAX) */
	unsigned sndbuf;             /**< per-listener send buffer when the subscriber asks none
				       *  (default 4 MiB) */
	uint32_t reliable_stall_ms;  /**< demote a reliable listener refusing this long (30000) */
	uint32_t max_dying_pct;      /**< ... or refusing while dying > this % of the table (10;
				       *  0 = off); see ev_ctl_set_table() */
	uint32_t subscribe_timeout_ms; /**< a connection must subscribe or dump within (1000) */
	unsigned max_conns_per_uid;  /**< connections one uid other than 0 may hold at once
				       *  (default 2, 1..EV_MAX_LISTENERS) */
	unsigned reserved_slots;     /**< slots only uid 0 and reliable_uids may take (at most
				       *  max_listeners; default EV_RESERVED_HALF) */
	bool no_socket;              /**< tests: no socket; use ev_ctl_add_sink() */
};

/** reserved_slots: half of max_listeners, rounded down. */
#define EV_RESERVED_HALF UINT32_MAX

void ev_ctl_conf_init(struct ev_ctl_conf *c);

struct ev_ctl;

/**
 * Create the control side over `n` channels (channel i belongs to shard i).
 * Unless conf->no_socket, creates the socket's directory (mode 0755 when
 * new; an existing one must be owned by the caller and not writable by
 * group or others), replaces a stale socket of a dead process, refuses a
 * live one, and binds and listens with mode 0660 and the configured group.
 * @return NULL with `err` filled (e.g. "... is served by a running process").
 */
struct ev_ctl *ev_ctl_create(const struct ev_ctl_conf *conf, struct ev_chan *const *chans,
			     unsigned n, char *err, size_t errlen);
/** Close every connection, unlink the socket and free everything. */
void ev_ctl_free(struct ev_ctl *ctl);

/**
 * One control step: accept connections, handle requests (a bounded number
 * of messages per step), advance a dump, drain up to `budget` records from
 * every channel, encode and send them, push results back, apply the stall
 * policy. Never blocks. `now` is in ns (the control core's clock).
 * @return records handled (0 = idle).
 */
unsigned ev_ctl_step(struct ev_ctl *ctl, uint64_t now, unsigned budget);

/** An fd that is readable when a connection or request waits (for poll()), or -1. */
int ev_ctl_fd(const struct ev_ctl *ctl);

/** True when no records or results are waiting anywhere in the control side. */
bool ev_ctl_idle(const struct ev_ctl *ctl);

/** Number of subscribed listeners, and of reliable ones (`reliable` may be NULL). */
unsigned ev_ctl_listener_count(const struct ev_ctl *ctl, unsigned *reliable);

/**
 * The table's dying and capacity gauges (summed over shards), for the
 * max_dying_pct policy. The caller refreshes them as often as it likes.
 */
void ev_ctl_set_table(struct ev_ctl *ctl, uint64_t dying, uint64_t max_entries);

struct ev_ctl_stats {
	uint64_t events_sent;        /**< messages accepted by at least one listener */
	uint64_t events_failed;      /**< nacks returned to workers (reliable listener refused) */
	uint64_t events_retried;     /**< records carrying previously missed bits */
	uint64_t destroy_resent;     /**< destroy records sent again after a grace timer */
	uint64_t destroy_acked;
	uint64_t listener_dropped;   /**< messages unreliable listeners lost (all listeners) */
	uint64_t listeners_gone;     /**< connections closed by the peer or removed */
	uint64_t listener_demoted;   /**< reliable listeners demoted by the stall policy */
	uint64_t subscribe_refused;  /**< unauthorised peer, reliable not allowed, no slot */
	uint64_t peers_evicted;      /**< unsubscribed connections closed to make room for uid 0 */
	uint64_t requests_refused;   /**< requests answered with an error */
	uint64_t peers_cut;          /**< connections closed for repeated bad requests */
	uint64_t dumps;              /**< dumps completed */
	uint64_t dump_entries;       /**< entries sent by dumps */
	uint64_t datagrams;
	uint64_t encoded;            /**< records encoded as ctnetlink (once each, when a listener
				      *   first needs it: not those only full sockets were due) */
	uint64_t result_backlog;     /**< results waiting for room in a channel */
	uint64_t resend_targeted;    /**< resent records delivered only to the slots that refused */
	/* Expectation records (CT_REC_F_EXP), counted apart from the above */
	uint64_t exp_sent;           /**< expectation messages accepted by at least one listener */
	uint64_t exp_failed;         /**< expectation nacks (CT_RES_EXP_NACK/_DESTROY_NACK) */
	uint64_t exp_retried;        /**< expectation records with missed bits (CT_REC_F_RETRY) */
	uint64_t exp_resent;         /**< expectation DESTROYs sent again (CT_REC_F_RESEND) */
	uint64_t exp_destroy_acked;  /**< CT_RES_EXP_DESTROY_ACK returned: slots the worker frees */
};
void ev_ctl_get_stats(const struct ev_ctl *ctl, struct ev_ctl_stats *out);

/**
 * A listener that is not a socket (tests, benchmarks): `fn` gets each
 * datagram as an iovec array of whole ctnetlink messages and returns 0
 * (delivered), -EAGAIN or -ENOBUFS (buffer full), -EPIPE or -ECONNREFUSED
 * (gone: the sink is removed) or another -errno (a refusal too: a reliable
 * sink's records are nacked, an unreliable one's lost).
 */
struct iovec;
typedef int (*ev_sink_fn)(void *arg, const struct iovec *iov, unsigned iovcnt, size_t bytes);

/**
 * Subscribe a sink as if a peer `id` (a label shown as port_id) had sent
 * EV_MSG_SUBSCRIBE with `flags`/`mask` (uid 0). Works with and without a
 * socket.
 * @return 0; -EUSERS no free slot; -EINVAL bad flags/mask or fn NULL.
 */
int ev_ctl_add_sink(struct ev_ctl *ctl, uint32_t id, uint32_t flags, uint32_t mask,
		    ev_sink_fn fn, void *arg);

/**
 * Handle one datagram of requests from the connection in listener slot
 * `slot`, exactly as if it had arrived on its socket (ev_ctl_step() calls
 * it for what it receives; tests and the fuzzer call it directly on a slot
 * made by ev_ctl_attach_peer()). Every request that asks for it
 * (NLM_F_ACK) or fails is answered with an NLMSG_ERROR on the connection.
 * @return the ack code of the last request: 0, -EPERM (peer not allowed),
 *         -EACCES (reliable delivery not allowed for the peer's uid),
 *         -EINVAL (bad payload), -EOPNOTSUPP (unknown type), -EBUSY (a
 *         dump is already running on this connection), -ENOENT (no such
 *         slot); -EINVAL also when the datagram holds no message.
 */
int ev_ctl_handle_request(struct ev_ctl *ctl, unsigned slot, const void *buf, size_t len);

/**
 * Take an already connected socket `fd` (a SOCK_SEQPACKET peer, e.g. one
 * end of socketpair()) as a new connection with the given credentials, as
 * if accept() had returned it. For tests and the fuzzer; fd -1 makes a
 * connection that sends nowhere. ev_ctl owns the fd afterwards.
 * @return the slot (>= 0); -EUSERS no free slot; -EPERM peer not allowed.
 */
int ev_ctl_attach_peer(struct ev_ctl *ctl, int fd, uint32_t uid, uint32_t gid, uint32_t pid);

/** Connections refused or closed, per uid (EV_REFUSAL_UIDS uids, then
 * one bucket with uid EV_REFUSAL_OTHER for every further uid). */
#define EV_REFUSAL_UIDS 32
#define EV_REFUSAL_OTHER UINT32_MAX
/**
 * The counters of struct ev_refusal, as X(name), in the order reports show
 * them:
 *  - not_allowed: refused -EPERM, not in allowed_uids/allowed_gids;
 *  - over_uid_limit: refused -EUSERS, the uid held max_conns_per_uid;
 *  - no_slot: refused -EUSERS, no free (unreserved) slot;
 *  - timed_out: closed, no subscribe or dump within the deadline;
 *  - evicted: closed unsubscribed to make room for uid 0;
 *  - cut: closed after EV_CTL_BAD_MAX refused requests.
 */
#define EV_REFUSAL_COUNTERS(X) \
	X(not_allowed) X(over_uid_limit) X(no_slot) X(timed_out) X(evicted) X(cut)
struct ev_refusal {
	uint32_t uid;
#define EV_REFUSAL_FIELD(name) uint64_t name;
	EV_REFUSAL_COUNTERS(EV_REFUSAL_FIELD)
#undef EV_REFUSAL_FIELD
};
/**
 * Copy the per-uid refusal counters (uids in first-refused order) into
 * `out`; returns how many. Thread safety: a copy for any thread; a torn
 * copy only misreports a counter.
 */
unsigned ev_ctl_refusals(const struct ev_ctl *ctl, struct ev_refusal *out, unsigned max);

/**
 * Operator messages (a demoted listener, a peer cut off) go through this
 * hook so the library never prints. `level` uses syslog numbering.
 */
typedef void (*ev_log_fn)(void *arg, int level, const char *msg);
void ev_ctl_set_log(struct ev_ctl *ctl, ev_log_fn fn, void *arg);

/** Listener states as /dpct/listeners shows them. */
enum ev_listener_state {
	EV_LS_PENDING = 0,   /**< connected, not subscribed yet (or dump only) */
	EV_LS_RELIABLE,
	EV_LS_UNRELIABLE,
	EV_LS_DEMOTED,       /**< asked for reliable, demoted by the stall policy */
};
const char *ev_listener_state_name(unsigned state);

struct ev_listener_info {
	uint32_t port_id;            /**< the slot's label: a sink's id, else the slot */
	unsigned slot;               /**< bit in the resend mask */
	const char *kind;            /**< "socket", "sink" or the consumer's kind */
	unsigned state;              /**< enum ev_listener_state */
	uint32_t uid;
	uint32_t gid;
	uint32_t pid;
	uint32_t mask;               /**< EV_MASK_* */
	bool reliable;               /**< currently reliable (not demoted) */
	uint32_t seq;                /**< last event sequence number sent */
	uint64_t sent;
	uint64_t failed;             /**< refused (nacked or dropped) */
	uint64_t dropped;            /**< lost for good: the gaps in its nlmsg_seq */
	uint64_t dumped;             /**< entries sent by dumps */
};
/** Copy up to `max` listeners; returns how many. */
unsigned ev_ctl_listeners(const struct ev_ctl *ctl, struct ev_listener_info *out, unsigned max);

/* ------------------------------------------------------------------------ */
/* Dumps (IPCTNL_MSG_CT_GET / IPCTNL_MSG_EXP_GET + NLM_F_DUMP)               */

/**
 * The table pager behind dumps, provided by the owner of the shards (the
 * app pages through its workers' mailboxes). ev_ctl runs one dump at a
 * time; a connection asking while another dump runs waits its turn.
 *  - begin(): a dump starts; reset the cursor.
 *  - next(): copy up to `max` live entries (snapshots, events 0) into
 *    `out`; return how many (0 = none ready yet, come back next step) and
 *    set *done once the table has been walked. Never blocks.
 *  - end(): the dump finished or its connection went away.
 * Thread safety: called on the control core only.
 */
struct ev_dump_ops {
	void (*begin)(void *arg);
	unsigned (*next)(void *arg, struct ct_event_rec *out, unsigned max, bool *done);
	void (*end)(void *arg);
};
/** Install the pager (NULL: dump requests are answered -EOPNOTSUPP). */
void ev_ctl_set_dump(struct ev_ctl *ctl, const struct ev_dump_ops *ops, void *arg);

/**
 * Install the expectation pager behind IPCTNL_MSG_EXP_GET + NLM_F_DUMP
 * (NFNL_SUBSYS_CTNETLINK_EXP, `conntrack -L expect`); NULL: those requests
 * are answered -EOPNOTSUPP. The same contract as ev_ctl_set_dump()'s pager,
 * except that next() copies expectation snapshots: records with
 * CT_REC_F_EXP set, filled as ct_event.h says (events 0; what the encoder
 * refuses, e.g. a connection record, is skipped). It typically walks every
 * worker's expectation table through the same mailboxes as the connection
 * pager. Installing or removing it aborts a running expectation dump (its
 * end() is called); a request waiting for a removed pager waits for a new
 * one. Thread safety: the control core only.
 */
void ev_ctl_set_exp_dump(struct ev_ctl *ctl, const struct ev_dump_ops *ops, void *arg);

/* ------------------------------------------------------------------------ */
/* The subscribe protocol (docs/events.md)                                   */

/** Request message types on the events socket (below NLMSG_MIN_TYPE are
 * the standard ones; ctnetlink types are above 0x100). */
#define EV_MSG_SUBSCRIBE   0x20
#define EV_MSG_UNSUBSCRIBE 0x21

#define EV_SUB_F_RELIABLE 0x1

#define EV_MASK_NEW     0x1
#define EV_MASK_UPDATE  0x2
#define EV_MASK_DESTROY 0x4
#define EV_MASK_ALL     0x7
/*
 * Expectation groups. The mask is a netlink group bitmap, bit (group - 1)
 * of Linux's enum nfnetlink_groups: NFNLGRP_CONNTRACK_NEW..DESTROY are the
 * three bits above, NFNLGRP_CONNTRACK_EXP_NEW (4), _EXP_UPDATE (5) and
 * _EXP_DESTROY (6) the next three. Expectation records go only to
 * listeners with one of these bits; a mask of 0 means EV_MASK_ALL
 * (connections only), so a subscriber asks for expectations explicitly.
 * dpct sends no expectation updates (neither does Linux): EV_MASK_EXP_UPDATE
 * is accepted and never matches.
 */
#define EV_MASK_EXP_NEW     0x08
#define EV_MASK_EXP_UPDATE  0x10
#define EV_MASK_EXP_DESTROY 0x20
#define EV_MASK_EXP         0x38
/** Every bit a subscribe request may set. */
#define EV_MASK_ANY     (EV_MASK_ALL | EV_MASK_EXP)

/** Payload of EV_MSG_SUBSCRIBE (host byte order). The first three fields
 * are the version 1 payload; `bufsize` is optional (12-byte payloads stay
 * valid). */
struct ev_subscribe {
	uint32_t version;            /**< EV_PROTO_VERSION */
	uint32_t flags;              /**< EV_SUB_F_* */
	uint32_t mask;               /**< EV_MASK_* */
	uint32_t bufsize;            /**< bytes dpct may queue for this listener (0 = default) */
};
#define EV_SUBSCRIBE_MIN_LEN 12
#define EV_PROTO_VERSION 1

#ifdef __cplusplus
}
#endif

#endif /* DPCT_EV_H */
