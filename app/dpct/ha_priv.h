/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_HA_PRIV_H
#define DPCT_HA_PRIV_H

/*
 * What ha.c (sending, receiving, timers) and ha_cache.c (the external
 * cache, promotion) share. Owned by the control core (main lcore).
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#include "ha.h"
#include "sync.h"

#define DPCT_HA_MAX_WORKERS 128

/* The TCP transport (ha_tcp.c): a stream to the peer, one from it. */
struct dpct_ha_tcp {
	int lfd;                  /* listening on bind:port */
	int sfd;                  /* the peer's stream to us, -1 none */
	int cfd;                  /* our stream to the peer, -1 none */
	bool c_connected;
	uint32_t backoff_ms;      /* before the next connect() after a failure */
	uint64_t next_try_ns;
	/* What the stream has not taken yet: [sb_start, sb_end); sb_mark is
	 * where the unit holding sb_start begins. */
	uint8_t *sb;
	size_t sb_cap;
	size_t sb_start;
	size_t sb_end;
	size_t sb_mark;
	/* Received bytes not yet cut into units */
	uint8_t *rb;
	size_t rb_len;
};

struct dpct_ha {
	struct dpct_app *app;
	struct dpct_ha_conf conf;
	int fd;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	struct sync_ftfw *ftfw;
	struct sync_cache *cache;
	size_t tx_len;
	size_t tx_limit;          /* mtu, less the MAC trailer */
	uint64_t next_alive_ns;
	atomic_int req_role;      /* posted by telemetry threads */
	int role;                 /* applied by the control core */
	bool resync_owed;
	/* A resync in progress: the worker being walked, its page out or not */
	bool resyncing;
	bool rs_posted;
	unsigned rs_worker;
	uint64_t rs_sent;         /* connections sent by the last (or current) resync */
	uint64_t rs_skipped;      /* snapshots older than a message already sent */
	uint32_t rs_post_seq;     /* the next sequence number when the page was asked for */
	bool stopped;
	unsigned pending_at_exit;
	uint64_t rx_malformed;
	uint64_t last_resync_ns;  /* wall clock (epoch ns), 0 never */
	uint64_t last_role_ns;
	/* Promotion in progress: the cache's entries per owning worker */
	bool promoting;
	struct ct_event_rec *todo[DPCT_HA_MAX_WORKERS];
	unsigned n_todo[DPCT_HA_MAX_WORKERS];
	unsigned pos[DPCT_HA_MAX_WORKERS];
	uint64_t promote_start_ns;
	/* Promotion: entries committed, refused */
	uint64_t committed;
	uint64_t commit_failed;
	uint64_t commit_expired;
	uint64_t commit_dying;    /* ended on the peer, DESTROY not delivered there */
	uint64_t commit_exists;   /* already tracked here (picked up mid-stream) */
	uint64_t promote_ms;      /* how long the last commit took */
	struct dpct_ha_stats st;
	struct sync_rx_errors rxerr;
	struct dpct_ha_tcp tcp;
	uint8_t tx[65536 + SYNC_MAC_LEN];
	uint8_t rx[65536];
};

/* ha.c */
uint64_t dpct_ha_mono_ns(void);
void dpct_ha_step(struct dpct_ha *h);
void dpct_ha_send_ctl(struct dpct_ha *h, uint8_t flags, uint32_t from, uint32_t to);
int dpct_ha_send_rec(struct dpct_ha *h, const struct ct_event_rec *r);
void dpct_ha_rx_payload(struct dpct_ha *h, const uint8_t *buf, size_t len);

/* ha_tcp.c */
int dpct_ha_tcp_open(struct dpct_ha *h);
void dpct_ha_tcp_close(struct dpct_ha *h);
void dpct_ha_tcp_send(struct dpct_ha *h, const uint8_t *msgs, size_t len);
void dpct_ha_tcp_step(struct dpct_ha *h);
void dpct_ha_tcp_json(struct dpct_ha *h, json_t *o);

/* ha_cache.c */
int dpct_ha_cache_init(struct dpct_ha *h);
void dpct_ha_cache_free(struct dpct_ha *h);
void dpct_ha_cache_apply(struct dpct_ha *h, const struct sync_msg *m);
void dpct_ha_cache_json(struct dpct_ha *h, json_t *o);
void dpct_ha_role_changed(struct dpct_ha *h);
void dpct_ha_resync(struct dpct_ha *h);
void dpct_ha_promote_step(struct dpct_ha *h);
void dpct_ha_resync_step(struct dpct_ha *h);

#endif /* DPCT_HA_PRIV_H */
