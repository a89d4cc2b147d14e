/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_APP_H
#define DPCT_APP_H

/**
 * @file
 * The appliance's shared state: options, ports, workers and the control
 * core. Everything here is private to app/dpct.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "ct.h"
#include "ev.h"
#include "hlp_track.h"
#include "pipe.h"
#include "pipe_frag.h"
#include "pol.h"
#include "dpct_config.h"
#include "rss.h"

struct dpct_export;
struct dpct_ha;

extern int dpct_logtype;
#define DPCT_LOG(level, ...) \
	rte_log(RTE_LOG_ ## level, dpct_logtype, "dpct: " __VA_ARGS__)

#define DPCT_MAX_PORTS 32
#define DPCT_MAX_BURST 512

/** Exit statuses of the command-line contract (docs/architecture.md). */
enum {
	DPCT_EXIT_OK = 0,
	DPCT_EXIT_USAGE = 1,
	DPCT_EXIT_RUNTIME = 2,
	DPCT_EXIT_UNDELIVERED = 3,
};

struct dpct_opts {
	const char *config_path;
	const char *fwd_name;
	unsigned stats_period_s;
	bool replay;
	bool flush_on_eof;
	unsigned drain_timeout_ms;
	const char *stats_json;
	unsigned wait_listeners;
	bool flush_on_exit;       /**< SIGTERM/SIGINT: DESTROY every live entry, then drain */
};

struct dpct_worker;

/** A forwarding engine (testpmd style): what happens to passed packets. */
struct dpct_fwd_engine {
	const char *name;
	/** Send `n` packets that passed conntrack out of `port`'s pair. */
	void (*fwd)(struct dpct_worker *w, uint16_t in_port, struct rte_mbuf **m, uint16_t n);
};

extern const struct dpct_fwd_engine dpct_fwd_io;
extern const struct dpct_fwd_engine dpct_fwd_drop;

/** Per-port counters, owned by one worker each (summed by readers). */
struct dpct_port_counters {
	uint64_t rx;
	uint64_t tx;
	uint64_t tx_dropped;      /**< TX queue full */
	uint64_t dropped;         /**< conntrack verdict DROP or drop engine */
};

struct dpct_port {
	uint16_t id;
	uint16_t peer;
	uint16_t nb_rxq;
	uint16_t nb_txq;
	bool timestamps;          /**< RX timestamp dynfield filled */
	int64_t pcap_records;     /**< rx_pcap records, -1 unknown */
	bool pcap_infinite;       /**< net_pcap infinite_rx=1: the capture lives in mbufs */
	char name[64];
};

/** Published snapshot of a shard's counters (seqlock: odd = being written). */
struct dpct_snapshot {
	atomic_uint seq;
	struct ct_stats st;
	struct nat_stats nat;         /**< the worker's bindings (zero without translation) */
	uint64_t nat_rewrite_failed;  /**< packets of translated flows dropped: not rewritable */
	uint64_t nat_block_ring_full; /**< port-block events the event ring refused (retried) */
	struct pipe_frag_stats frag;  /**< reassembly (zero when fragments.enabled is false) */
	struct hlp_track_stats hlp;   /**< helpers (zero without helper rules) */
};

/** Telemetry mailbox request kinds. */
enum dpct_mbox_op {
	DPCT_MB_NONE = 0,
	DPCT_MB_LIST,
	DPCT_MB_DYING,
	DPCT_MB_FLUSH,
	DPCT_MB_DELETE,
};

#define DPCT_MBOX_MAX 256

/** One request slot per worker: the telemetry thread writes it, the worker answers. */
struct dpct_mbox {
	atomic_uint state;        /**< 0 idle, 1 posted, 3 taken by the worker, 2 answered */
	unsigned op;
	uint32_t cursor;
	unsigned max;
	struct ct_tuple tuple;
	int rc;
	unsigned n;
	struct ct_event_rec recs[DPCT_MBOX_MAX];
};

/* The control core's dump mailbox, one per worker (dump.c). */
#define DPCT_DUMP_PAGE 256
struct dpct_dump_mbox {
	atomic_uint state;        /**< 0 idle, 1 request posted, 2 answered */
	uint32_t cursor;          /**< the shard's iteration cursor (UINT32_MAX: done) */
	unsigned n;
	struct ct_event_rec recs[DPCT_DUMP_PAGE];
};

/* State sync (ha_cache.c): the peer's entries handed to their owner at
 * promotion (IMPORT), pages of the table for a resync (DUMP). */
#define DPCT_HA_MBOX_MAX 256
#define DPCT_HA_OP_IMPORT 0
#define DPCT_HA_OP_DUMP   1
struct dpct_ha_mbox {
	atomic_uint state;        /**< 0 idle, 1 posted, 2 answered */
	uint8_t op;               /**< DPCT_HA_OP_* */
	uint32_t cursor;          /**< DUMP: where the shard's walk resumes (UINT32_MAX: done) */
	unsigned n;
	unsigned imported;        /**< answers: inserted */
	unsigned exists;          /**< a live entry had the tuple (the worker picked it up) */
	unsigned failed;          /**< no room, translated, bad state */
	struct ct_event_rec recs[DPCT_HA_MBOX_MAX];
};

/** A packet handed to its owning worker: the mbuf with its parse
 * (pipe_parse_burst()), so the owner does not parse it again. */
struct dpct_handoff {
	struct rte_mbuf *m;
	struct ct_pkt pk;
};

struct dpct_worker {
	unsigned index;
	unsigned lcore;
	struct ct_shard *shard;
	struct ev_chan *chan;
	struct pipe_conf pipe;    /**< this worker's packet path (set as its loop starts) */
	struct pipe_frag *frag;   /**< reassembly (NULL: fragments.enabled false) */
	struct hlp_track *hlp;    /**< helpers (NULL: no helper rules) */
	struct rte_ring *hlp_in[DPCT_MAX_WORKERS]; /**< helper messages from worker k (struct
						    *   hlp_msg; NULL: none) */
	/* RX queues this worker polls: (port, queue). */
	unsigned n_rx;
	uint16_t rx_port[DPCT_MAX_PORTS];
	uint16_t rx_queue[DPCT_MAX_PORTS];
	/* TX queue index per port, or -1 to go through the queue owner's ring. */
	int tx_queue[DPCT_MAX_PORTS];
	/* Rings: handoff[to] (struct dpct_handoff: packets for another shard),
	 * txr[to] (mbufs to transmit). */
	struct rte_ring *handoff[DPCT_MAX_WORKERS];
	struct rte_ring *txr[DPCT_MAX_WORKERS];
	struct dpct_port_counters pc[DPCT_MAX_PORTS];
	uint64_t last_pkt_ns;     /**< replay: latest pcap timestamp seen here */
	atomic_uint_fast64_t pkt_clock; /**< replay: latest capture time this worker received
					 *   (ns), published by it; the run's clock is the max */
	atomic_uint_fast64_t rx_total;
	atomic_uint_fast64_t done_total; /**< packets forwarded or dropped */
	atomic_bool flush_done;
	struct dpct_snapshot snap;
	struct dpct_mbox mbox;
	struct dpct_dump_mbox dump_mbox; /**< dumps (dump.c) */
	struct dpct_dump_mbox exp_dump_mbox; /**< expectation dumps (dump.c) */
	struct dpct_ha_mbox ha_mbox;     /**< promotion (ha_cache.c) */
	/* packets parked while a handoff ring is full, with their parse */
	struct rte_mbuf *park[DPCT_MAX_BURST];
	struct ct_pkt park_pk[DPCT_MAX_BURST];
	uint16_t n_park;
	/* Translation (nat_worker.c): the table in use, warnings, block events */
	struct pipe_nat nat;
	uint64_t nat_warn_ns;
	uint64_t nat_exhausted_logged;
	uint64_t nat_block_ring_full;  /**< block events the ring refused (retried) */
	bool nat_alarm;
} __rte_cache_aligned;

struct dpct_app {
	struct dpct_opts opts;
	struct dpct_config cfg;
	const struct dpct_fwd_engine *fwd;
	unsigned n_ports;
	struct dpct_port ports[DPCT_MAX_PORTS];
	unsigned n_workers;
	struct dpct_worker *workers;
	struct rte_mempool *pool;
	struct ev_ctl *ctl;
	struct dpct_export *exp;  /**< IPFIX exporters (export.c), NULL when off */
	struct dpct_ha *ha;       /**< state sync (ha.c), NULL when off */
	struct dpct_dumper *dumper; /**< the dump pager (dump.c) */
	struct dpct_dumper *exp_dumper; /**< the expectation dump pager (dump.c) */
	int ts_offset;            /**< timestamp dynfield offset, -1 none */
	uint64_t ts_flag;
	uint64_t tsc_hz;
	uint64_t epoch_offset_ns; /**< live clock: wall time (epoch ns) minus TSC ns, at startup */
	/* Shared run state, written by the control core. */
	atomic_bool go;           /**< workers may start RX */
	atomic_bool stop_rx;
	atomic_bool flush;        /**< flush requested */
	atomic_bool quit;         /**< workers leave their loop */
	atomic_bool sig;          /**< SIGINT/SIGTERM seen */
	bool pkt_time;            /**< replay with pcap timestamps */
	uint8_t idx_of[RTE_MAX_ETHPORTS]; /**< port id -> index in ports[] */
	atomic_uint_fast64_t eof_tsc;     /**< replay: TSC at end of input (0 = not yet) */
	atomic_int rc;
	/* Policy: rules and their RCU handover; SIGHUP seen (the reload thread clears it). */
	struct pol_handle *pol;
	atomic_bool hup;
	struct dpct_rss rss;      /**< flow ownership: RSS or the keyed hash (rss.h) */
	/* NAT: the installed table (nat_app.c, config_nat.h); workers read it with
	 * dpct_nat_current() between their dpct_nat_quiescent() reports. */
	struct nat_table *_Atomic nat;
};

extern struct dpct_app dpct;

/* Single-writer counters that other threads read. */
#define DPCT_CNT_ADD(x, n) __atomic_store_n(&(x), (x) + (n), __ATOMIC_RELAXED)
#define DPCT_CNT_GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
/* The same for C11 atomics other threads read with acquire: a plain load and
 * a release store by the only writer, no locked read-modify-write. */
#define DPCT_CNT_PUBLISH(x, n) \
	atomic_store_explicit(&(x), atomic_load_explicit(&(x), memory_order_relaxed) + (n), \
			      memory_order_release)

/** Worker side of the promotion mailbox (ha_cache.c): import what was posted. */
void dpct_ha_service(struct dpct_worker *w, uint64_t now);

/** Current time in ns since the epoch: TSC time plus dpct.epoch_offset_ns, or in
 * replay the packet clock (pcap time). */
uint64_t dpct_now(void);

/* helpers_worker.c: the shard's helpers ("helpers" section), expiry, free. */
int dpct_helpers_create(struct dpct_worker *w);
void dpct_helpers_expire(struct dpct_worker *w, uint64_t now);
/** Apply the other workers' helper messages (w->hlp set). */
void dpct_helpers_poll(struct dpct_worker *w, uint64_t now);
/** The helpers' counters summed over the workers ("helpers" of --stats-json). */
struct json_t *dpct_helpers_json(struct dpct_app *a);
void dpct_helpers_free(struct dpct_worker *w);

/* track_in.c: the worker's pipeline configuration (lib/pipeline). */
/** Fill `w->pipe` from the configuration, the shard, channel and policy. */
void dpct_track_setup(struct dpct_worker *w);
/** Find, configure and start every port; creates the mbuf pool. 0 or -errno. */
int dpct_ports_init(struct dpct_app *a);
/** Stop and close every port. */
void dpct_ports_close(struct dpct_app *a);
/** Records in a pcap file, or -1 when it cannot be read. */
int64_t dpct_pcap_count(const char *path);
/** Shards, event channels, rings and the events control side. 0 or -errno. */
int dpct_workers_init(struct dpct_app *a);
/** Free what dpct_workers_init() made (also after a partial failure). */
void dpct_workers_free(struct dpct_app *a);
/** A worker lcore's poll loop (rte_eal_remote_launch entry). */
int dpct_worker_main(void *arg);
/** Publish the worker's counters for other threads (owner only). */
void dpct_worker_publish(struct dpct_worker *w);
/** Read a worker's last published counters (any thread). */
void dpct_snapshot_read(struct dpct_worker *w, struct ct_stats *out);
/** The main lcore's loop until exit; returns the exit status. */
int dpct_control_run(struct dpct_app *a);
/** testpmd-like forward statistics and conntrack totals on stdout. */
void dpct_print_stats(struct dpct_app *a, bool final);
/** Final statistics as one JSON object (see --stats-json). */
struct json_t *dpct_stats_json(struct dpct_app *a);
/** Write dpct_stats_json() to `path`. 0 or -errno. */
int dpct_write_stats_json(struct dpct_app *a, const char *path);
/** A port's counters summed over the workers. */
void dpct_port_totals(struct dpct_app *a, unsigned port, struct dpct_port_counters *out);
/** Transmit on TX queue `queue` of ports[port_idx], owned by `w`; counts tx/tx_dropped. */
void dpct_tx_own(struct dpct_worker *w, uint16_t port_idx, uint16_t queue, struct rte_mbuf **m,
		 uint16_t n);
/** Register the /dpct/ telemetry commands. */
int dpct_telemetry_init(struct dpct_app *a);
/** Post w->mbox's request and wait (bounded) for the worker's answer. 0 or -ETIMEDOUT. */
int dpct_mbox_call(struct dpct_worker *w, unsigned timeout_ms);
/** Answer a pending mailbox request (the worker, between bursts). */
void dpct_mbox_service(struct dpct_worker *w, uint64_t now);
/** Install the event-socket dump pager on a->ctl (dump.c). 0 or -ENOMEM. */
int dpct_dump_init(struct dpct_app *a);
/** Remove and free it. */
void dpct_dump_free(struct dpct_app *a);
/** Answer a pending dump page request (the worker, between bursts). */
void dpct_dump_service(struct dpct_worker *w, uint64_t now);

/* Policy (policy.c, telemetry_rules.c) ---------------------------------- */
/**
 * Create the policy handle with `rs` as generation 1 (read with the config,
 * dpct_config_load_full(); `rs` is cleared), start the reload thread and
 * take SIGHUP. 0 or -errno.
 */
int dpct_policy_init(struct dpct_app *a, struct pol_ruleset *rs, bool present);
/** Stop the reload thread (waits for a reload in progress); SIGHUP is ignored after. */
void dpct_policy_stop(struct dpct_app *a);
/** Stop, then free the handle (workers offline). */
void dpct_policy_free(struct dpct_app *a);
/**
 * Re-read the config file and install its rules; `source` names the caller
 * in the log ("SIGHUP", "/dpct/reload"). Serialised with other reloads;
 * never call it on the control core (it may wait up to 5 s for the
 * workers' grace period). Generation or -errno (`err`).
 */
int dpct_policy_reload(struct dpct_app *a, const char *source, char *err, size_t errlen);
/** Add "policy" (counters per rule, totals) to the final statistics. */
void dpct_policy_stats_json(struct dpct_app *a, struct json_t *root);
/** Register /dpct/rules and /dpct/reload. */
int dpct_telemetry_rules_init(struct dpct_app *a);

/* Translation, the workers' side (nat_worker.c) ----------------------- */
/** Install the binding hook on the worker's shard and its pipeline (before its first packet). */
void dpct_nat_worker_setup(struct dpct_worker *w);
/** Once a poll loop, right after the worker's quiescent reports: take the installed table. */
void dpct_nat_worker_refresh(struct dpct_worker *w, uint64_t now);
/**
 * Once a poll loop, after event delivery: move port-block events to the
 * event ring and, on a `tick`, log exhaustion and the pool fill alarm
 * (rate-limited).
 */
void dpct_nat_worker_loop(struct dpct_worker *w, uint64_t now, bool tick);
/** The owner of a packet when translation decides it (nat_owner()), else `fallback`. */
unsigned dpct_nat_owner(const struct dpct_worker *w, const struct ct_pkt *p, unsigned fallback);
/** Add "nat" (per worker and total binding counters) to the final statistics. */
void dpct_nat_stats_json(struct dpct_app *a, struct json_t *root);
/** Register /dpct/nat. */
int dpct_telemetry_nat_init(struct dpct_app *a);
/** Worker `w`'s published translation counters (a consistent snapshot). */
void dpct_nat_snapshot_read(struct dpct_worker *w, struct nat_stats *st, uint64_t *rewrite_failed,
			    uint64_t *block_ring_full);

#endif /* DPCT_APP_H */
