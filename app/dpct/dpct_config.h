/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CONFIG_H
#define DPCT_CONFIG_H

/**
 * @file
 * The appliance's JSON configuration (docs/configuration.md). Every key is
 * optional with a documented default. Parsing is strict: unknown keys,
 * wrong types, out-of-range values and inconsistent limits are errors that
 * name the JSON path ("$.events.destroy_grace_ms"), and syntax errors give
 * line and column. Parsing, defaults and the JSON dump all come from one
 * schema table (config_schema.h). No EAL needed (unit-tested and fuzzed on
 * its own).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config_export.h"
#include "config_helpers.h"
#include "config_ha.h"
#include "config_limits.h"
#include "config_nat.h"
#include "config_tracker.h"
#include "ct.h"
#include "ev.h"

#define DPCT_MAX_WORKERS 64

/*
 * The configuration. Each field is filled by the key named beside it; its
 * default, range and meaning are that key's row in the schema table
 * (config_keys.c), which docs/configuration.md is generated from.
 */
struct dpct_config {
	/* "table" */
	uint32_t max_entries;          /**< "max_entries": whole table, split across workers */
	double load_factor;            /**< "load_factor": index load at max_entries */
	bool early_drop;               /**< "early_drop" */
	bool tcp_loose;                /**< "tcp_loose", also "tcp.loose" */
	uint16_t zone;                 /**< "zone" */
	/* "timeouts": seconds per class (ct.h CT_TIMEOUT_TABLE) */
	uint32_t timeout_s[CT_TO_MAX];
	/* "invalid" */
	uint8_t invalid_policy;        /**< "policy": enum ct_invalid_policy */
	/* "fill_alarm" */
	uint8_t fill_alarm_high_pct;   /**< "high_pct"; 0 disables */
	uint8_t fill_alarm_low_pct;    /**< "low_pct"; below high_pct */
	/* "notrack": rules whose packets bypass the table (config_notrack.c) */
	uint16_t n_notrack;
	struct ct_notrack_rule notrack[CT_MAX_NOTRACK];
	/* "limits": connection limits and the top sketch (config_limits.c) */
	struct dpct_limits_conf limits;
	/* "helpers": FTP/TFTP helpers and expectations (config_helpers.c) */
	struct dpct_helpers_conf helpers;
	/* "events" */
	bool events_enabled;           /**< "enabled" */
	bool events_reliable;          /**< "reliable": honour reliable listeners */
	uint32_t destroy_grace_ms;     /**< "destroy_grace_ms" */
	uint32_t event_ring_size;      /**< "ring_size": records per worker ring */
	uint32_t result_ring_size;     /**< "result_ring_size": results per worker ring */
	uint32_t stage_size;           /**< "stage_size": per-shard staging records */
	char socket_path[EV_SOCKET_PATH_MAX]; /**< "socket" */
	char socket_group[64];         /**< "socket_group" as a name ("" = none or a gid) */
	int64_t socket_gid;            /**< its gid, -1 = none */
	uint32_t allowed_uids[EV_MAX_UIDS];
	unsigned n_allowed_uids;       /**< "allowed_uids" */
	uint32_t allowed_gids[EV_MAX_UIDS];
	unsigned n_allowed_gids;       /**< "allowed_gids" */
	uint32_t reliable_uids[EV_MAX_UIDS];
	unsigned n_reliable_uids;      /**< "reliable_uids" */
	uint32_t reliable_stall_ms;    /**< "reliable_stall_ms" */
	uint32_t max_dying_pct;        /**< "max_dying_pct" (0 = off) */
	unsigned max_listeners;        /**< "max_listeners" */
	uint32_t batch_bytes;          /**< "batch_bytes": netlink datagram size */
	unsigned max_conns_per_uid;    /**< "max_conns_per_uid"; uid 0 has no cap */
	unsigned reserved_slots;       /**< "reserved_slots" (absent: max_listeners / 2) */
	uint32_t subscribe_timeout_ms; /**< "subscribe_timeout_ms" */
	/* "workers" */
	unsigned workers;              /**< "count": worker lcores (0: all but the main one) */
	unsigned burst;                /**< "burst": rx burst */
	unsigned rxd, txd;             /**< "rxd", "txd": descriptors per queue */
	unsigned mbufs;                /**< "mbufs": pool size (0: derived) */
	unsigned handoff_ring_size;    /**< "handoff_ring_size": per worker pair */
	/* "fragments": reassembly before tracking (lib/pipeline/pipe_frag.h) */
	bool frag_enabled;             /**< "enabled" */
	unsigned frag_max_datagrams;   /**< "max_datagrams": per worker */
	uint32_t frag_timeout_ms;      /**< "timeout_ms" */
	unsigned frag_meet;            /**< "meet": DPCT_FRAG_MEET_* */
	/* "seed": PRNG seed for grace re-arm and the flow-hash key (0 = drawn at start) */
	uint64_t seed;
	/* "export": IPFIX flow export (config_export.h) */
	struct dpct_export_conf export;
	/* "ha": state sync with a failover peer (config_ha.h) */
	struct dpct_ha_conf ha;
	/* "tcp", "checksum", "zones": strict tracking (config_tracker.h) */
	struct dpct_tracker_config tracker;
	/* "timeout_policies": named per-state timeouts and the rules that pick
	 * them (config_tpol.c, lib/conntrack/ct_tpol.h) */
	struct ct_tpol_conf tpol;
	/* "nat": pools and rules (config_nat.h); plain arrays, so a copy of the
	 * struct is a full copy. About 73 KiB: keep configs off small stacks. */
	struct dpct_nat_conf nat;
};

/** Where a datagram's fragments meet ("fragments.meet"). */
enum {
	DPCT_FRAG_MEET_AUTO = 0, /**< the receiving worker on one-queue ports, else by hash */
	DPCT_FRAG_MEET_HASH,     /**< always the worker chosen by the datagram's hash */
};

/** Every key's default (the schema table's), all other bytes zero. */
void dpct_config_defaults(struct dpct_config *c);

/** The largest config file read (bytes): a bigger one is refused before it is read. */
#define DPCT_CONFIG_FILE_MAX (1u << 20)

struct pol_ruleset;

/**
 * Parse and validate a JSON document (text), over the defaults.
 * @param err  message naming the JSON path or line:column on failure.
 * @return 0, or -EINVAL (bad config) / -ENOMEM. On error `c` is unchanged.
 */
int dpct_config_parse(struct dpct_config *c, const char *text, size_t len, char *err,
		      size_t errlen);

/**
 * The same, and the "policy" section's rules into `rs` from the same parse
 * (docs/policy.md; `rs` NULL: validated only). `has_policy` (may be NULL)
 * says whether the document had one. On error `c` is unchanged and `rs`
 * empty; on success the caller owns `rs` (pol_ruleset_clear()).
 * @return 0, -EINVAL or -ENOMEM.
 */
int dpct_config_parse_full(struct dpct_config *c, const char *text, size_t len,
			   struct pol_ruleset *rs, bool *has_policy, char *err, size_t errlen);

/**
 * Read a whole config file without ever blocking: opened with O_NONBLOCK,
 * it must be a regular file (a FIFO, directory, device or socket is refused
 * before anything is read from it), at most `max` bytes by fstat() before
 * reading, and the same size and mtime after the read as before (a file
 * rewritten meanwhile is refused: try again).
 * @param out     on success a malloc'd buffer of *len bytes plus a NUL.
 * @param err     on failure a message that names `path` and the cause.
 * @return 0, -ENOENT (no such file), -EACCES, -EINVAL (not a regular
 *         file), -EFBIG (over `max`), -EAGAIN (changed while being read),
 *         -EIO (open or read failed otherwise) or -ENOMEM.
 * Thread safety: safe; keeps no state.
 */
int dpct_config_read_file(const char *path, size_t max, char **out, size_t *len, char *err,
			  size_t errlen);

/**
 * dpct_config_read_file() with DPCT_CONFIG_FILE_MAX, then
 * dpct_config_parse_full() of those bytes: the file is read once and parsed
 * once. Errors name the file ("cfg.json: $.table.max_entries: ...").
 * @return 0, or an errno of either (negative).
 */
int dpct_config_load_full(struct dpct_config *c, const char *path, struct pol_ruleset *rs,
			  bool *has_policy, char *err, size_t errlen);

/** dpct_config_load_full() without the rules (the policy is validated). */
int dpct_config_load(struct dpct_config *c, const char *path, char *err, size_t errlen);

/** The configuration as JSON text (malloc'd; NULL on ENOMEM), for telemetry /dpct/config. */
char *dpct_config_to_json(const struct dpct_config *c);

/** Whether the configuration translates at all (a `nat` section with pools or rules):
 * shards are then created with room for reply tuples (ct_conf.nat). */
bool dpct_nat_configured(const struct dpct_config *c);

/** Derive a shard configuration for worker `index` of `count`: its share
 * of max_entries, its index (the smallest power of two of 10-slot buckets
 * that holds its keys at load_factor; two keys an entry when translating,
 * ct_conf.nat), timeouts, events and the rest. */
void dpct_config_shard(const struct dpct_config *c, unsigned index, unsigned count,
		       struct ct_conf *out);

/** Derive the control core's events configuration. */
void dpct_config_events(const struct dpct_config *c, struct ev_ctl_conf *out);

#endif /* DPCT_CONFIG_H */
