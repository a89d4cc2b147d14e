/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_CTL_PRIVATE_H
#define DPCT_EV_CTL_PRIVATE_H

/*
 * The control core's internals, shared by its files only: ev_ctl.c (the
 * listener registry, the step, the stall policy), ev_deliver.c (encoding
 * and delivery of records, results back to the workers), ev_req.c
 * (connections: admission and the request path) and ev_dump.c (dumps).
 * The core reaches its connections through a transport's ops
 * (ev_transport.h); transports never include this header.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/netlink.h>

#include "ev.h"
#include "ev_consumer.h"
#include "ev_transport.h"

#define EV_CTL_BURST 256      /* records per channel per chunk */
#define EV_CTL_MAX_IOV 256    /* messages per datagram (<= UIO_MAXIOV) */
#define EV_CTL_REQ_BUDGET 64  /* request messages handled per step, all peers */
#define EV_CTL_BAD_MAX 8      /* consecutive refused requests before a peer is cut */
#define EV_CTL_REFUSE_DRAIN 16 /* datagrams a refused connection's peer sent, dropped */
#define EV_CTL_DUMP_PAGE 256  /* entries fetched from the pager at a time */
#define EV_CTL_DUMP_DGRAMS 8  /* dump datagrams per step */
#define EV_CTL_DUMP_BUF EV_DGRAM_MAX
#define EV_CTL_LOG_EVERY_NS (10ull * 1000000000ull) /* refusal reports per uid */
#define EV_CTL_BUF_MIN 4096
#define EV_CTL_BUF_MAX (16u << 20)

enum ev_listener_type {
	EV_LT_SOCKET = 0,
	EV_LT_SINK,
	EV_LT_CONSUMER,
};

struct ev_listener {
	bool used;
	bool closing;        /* close at the end of this step */
	bool blocked;        /* refused a datagram in the current (or, until the next
			      * chunk starts, the last) chunk */
	bool want_reliable;  /* asked for reliable delivery */
	uint8_t type;        /* enum ev_listener_type */
	uint8_t state;       /* enum ev_listener_state */
	unsigned slot;
	int conn;            /* the transport's connection; -1 for sinks, consumers and a
			      * connection that sends nowhere */
	uint32_t id;
	uint32_t uid, gid, pid;
	uint32_t mask;
	uint32_t seq;        /* last event sequence number spent */
	unsigned batch;      /* datagram bytes for this listener */
	unsigned bad;        /* consecutive refused requests */
	bool dump_wanted;
	bool dump_exp;       /* the wanted dump is of expectations (IPCTNL_MSG_EXP_GET) */
	uint8_t dump_family; /* 0 all, 4, 6 */
	uint32_t dump_seq;   /* the dump request's nlmsg_seq */
	uint32_t dump_pid;
	uint64_t connected_ns;
	uint64_t refusing_since; /* mono ns of the first refusal since the last delivery */
	ev_sink_fn fn;
	void *arg;
	const struct ev_consumer_ops *cops;
	void *cself;
	uint64_t sent, failed, dropped, dumped;
};

struct ev_ctl_chan {
	struct ev_chan *chan;
	struct ct_result backlog[EV_CTL_BURST];  /* results the ring could not take */
	unsigned bl_head;
	unsigned bl_n;
};

struct ev_ctl {
	/* The registry and the step (ev_ctl.c) */
	struct ev_ctl_conf conf;
	const struct ev_transport_ops *tops; /* the connections' transport */
	void *tself;
	unsigned n_chans;
	unsigned next_chan;
	struct ev_ctl_chan *chans;
	unsigned n_slots;
	struct ev_listener ls[EV_MAX_LISTENERS];
	uint32_t kinds;      /* last ev_ctl_publish_kinds(); UINT32_MAX: none yet */
	struct ev_ctl_stats st;
	/* Refusals per uid, and when each uid was last reported in the log (ev_req.c) */
	struct ev_refusal refusals[EV_REFUSAL_UIDS + 1];
	uint64_t refusal_logged_ns[EV_REFUSAL_UIDS + 1];
	uint64_t refusal_unlogged[EV_REFUSAL_UIDS + 1];
	unsigned n_refusals;
	uint64_t table_dying, table_max;
	ev_log_fn log_fn;
	void *log_arg;

	/* Dumps (ev_dump.c) */
	const struct ev_dump_ops *dump_ops;
	void *dump_arg;
	const struct ev_dump_ops *exp_dump_ops; /* expectations (ev_ctl_set_exp_dump) */
	void *exp_dump_arg;
	int dump_slot;       /* -1: none running */
	bool dump_exp;       /* the running dump walks exp_dump_ops */
	bool dump_src_done;
	unsigned dump_n, dump_pos, dump_fill_end;
	unsigned dump_next;  /* round-robin start for the next dump */
	struct ct_event_rec dump_recs[EV_CTL_DUMP_PAGE];
	uint8_t *dump_enc;

	/* Scratch for one chunk (ev_deliver.c) */
	unsigned chunk_dropped;
	struct ct_event_rec recs[EV_CTL_BURST];
	uint32_t off[EV_CTL_BURST];
	uint16_t len[EV_CTL_BURST];
	uint8_t kind[EV_CTL_BURST];
	uint32_t fail_mask[EV_CTL_BURST]; /* reliable slots that refused it */
	uint8_t ok[EV_CTL_BURST];       /* at least one listener took it */
	uint8_t live[EV_CTL_BURST];     /* for some listener: encodable, resend targets not all gone */
	uint8_t encoded[EV_CTL_BURST];  /* off/len are set (encoded on first use) */
	size_t enc_pos;                 /* bytes of enc used in this chunk */
	uint16_t dg_idx[EV_CTL_MAX_IOV];
	struct iovec iov[EV_CTL_MAX_IOV];
	struct ct_result res[EV_CTL_BURST];
	uint8_t *enc;
	/* Consumers */
	uint16_t cidx[EV_CTL_BURST];
	uint8_t crefused[EV_CTL_BURST];
	struct ct_event_rec crecs[EV_CTL_BURST];
	uint32_t cfail[EV_CTL_BURST];   /* fail_mask of crecs (chunk_done) */
};

uint64_t ev_ctl_mono_ns(void);
void ev_ctl_log(struct ev_ctl *ctl, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline bool
ev_listener_reliable(const struct ev_ctl *ctl, const struct ev_listener *l)
{
	return l->state == EV_LS_RELIABLE && ctl->conf.reliable;
}

/* Subscribed (or a sink or consumer) and not about to close. */
static inline bool
ev_listener_active(const struct ev_listener *l)
{
	return l->used && !l->closing && l->state != EV_LS_PENDING;
}

/* Send one datagram on the listener's connection: 0 or -errno (as the
 * transport's send); a connection -1 takes everything and sends nowhere. */
static inline int
ev_ctl_conn_send(struct ev_ctl *ctl, const struct ev_listener *l, const struct iovec *iov,
		 unsigned iovcnt)
{
	if (l->conn < 0)
		return 0;
	return ctl->tops->send(ctl->tself, l->conn, iov, iovcnt);
}

/* ev_ctl.c: the registry */
struct ev_listener *ev_ctl_slot_alloc(struct ev_ctl *ctl);
/* Free the slot (closing its connection); `gone` counts listeners_gone. */
void ev_ctl_listener_close(struct ev_ctl *ctl, struct ev_listener *l, bool gone);
/* Tell the workers (ev_chan_set_kinds) which kinds of record the active
 * listeners want, when that changed: after any subscribe, add or close. */
void ev_ctl_publish_kinds(struct ev_ctl *ctl);

/* ev_deliver.c */
/* Drain up to `budget` records from every channel (round-robin start),
 * deliver them and push the results back: the records handled. */
unsigned ev_ctl_deliver(struct ev_ctl *ctl, uint64_t now, uint64_t mono, unsigned budget);

/* ev_req.c */
/* Count a refusal or closing of `uid`'s connection in the field at
 * `field` (offsetof(struct ev_refusal, ...)) and log it, at most once per
 * EV_CTL_LOG_EVERY_NS per uid (the report says how many were not logged). */
void ev_ctl_note_refusal(struct ev_ctl *ctl, uint32_t uid, uint32_t pid, size_t field,
			 const char *why);
/* What the transport reports: accept connections, read requests (at most
 * EV_CTL_REQ_BUDGET messages), close those that hung up; then close the
 * connections past the subscribe deadline. */
void ev_ctl_conns_step(struct ev_ctl *ctl, uint64_t mono);

/* ev_dump.c */
/* A dump request (IPCTNL_MSG_CT_GET or IPCTNL_MSG_EXP_GET, + NLM_F_DUMP)
 * from `l`: 0 or -errno. */
int ev_ctl_dump_request(struct ev_ctl *ctl, struct ev_listener *l, const struct nlmsghdr *h);
void ev_ctl_dump_step(struct ev_ctl *ctl);
void ev_ctl_dump_abort(struct ev_ctl *ctl);

#endif /* DPCT_EV_CTL_PRIVATE_H */
