/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The schema table: every key of the JSON configuration, in the order it
 * is parsed, written to /dpct/config and documented (config_schema.h).
 * The callbacks for keys no type covers live in config_keys_custom.c and
 * in the section files (config_notrack.c, config_tracker.c,
 * config_export.c, config_policy.c).
 *
 * Defaults that lib/ also has (ct_conf_init(), ev_ctl_conf_init(),
 * ev_ipfix_conf_init()) are written here once for the appliance;
 * tests/unit/app/test_config_schema.c fails when the two disagree. The
 * timeouts come from ct.h's CT_TIMEOUT_TABLE itself.
 */
#include <stddef.h>
#include <stdint.h>

#include "config_keys.h"
#include "config_schema.h"
#include "dpct_config.h"

#define F(m) .off = offsetof(struct dpct_config, m), .size = sizeof(((struct dpct_config *)0)->m)
#define CFG_U(sec, k, m, lo, hi, d) \
	.section = sec, .key = k, .type = CFG_UINT, F(m), .min = lo, .max = hi, .dflt = d
#define CFG_R(sec, k, m, d) \
	.section = sec, .key = k, .type = CFG_RING, F(m), .min = CFG_RING_MIN, \
	.max = CFG_RING_MAX, .dflt = d
#define CFG_B(sec, k, m, d) .section = sec, .key = k, .type = CFG_BOOL, F(m), .dflt = d
#define CFG_IDLIST(k, m, d) \
	.section = "events", .key = k, .type = CFG_IDS, F(m), \
	.off_n = offsetof(struct dpct_config, n_##m), \
	.max = EV_MAX_UIDS, .dflt = d
#define CFG_ITEM(sec, k, t, dd, fl) \
	.section = sec, .key = k, .type = CFG_CUSTOM, .flags = CFG_F_ITEM | (fl), .doc_type = t, \
	.doc_default = dd

static const char *const invalid_names[] = {"drop", "pass", NULL};
static const char *const checksum_names[] = {"verify", "off", NULL};
static const char *const ha_role_names[] = {"primary", "backup", NULL};
static const char *const ha_transport_names[] = {"udp", "multicast", "tcp", NULL};
static const char *const ha_auth_names[] = {"hmac-sha256", "none", NULL};
static const char *const frag_meet_names[] = {"auto", "hash", NULL};

/* One line per timeout class for its row. */
#define TO_DOC_TCP_SYN_SENT    "TCP: a SYN was seen, no reply yet."
#define TO_DOC_TCP_SYN_RECV    "TCP: the SYN-ACK was seen, the handshake's last ACK not yet."
#define TO_DOC_TCP_ESTABLISHED "TCP: established."
#define TO_DOC_TCP_FIN_WAIT    "TCP: one side sent a FIN."
#define TO_DOC_TCP_CLOSE_WAIT  "TCP: one side's FIN was acknowledged, the other has not closed."
#define TO_DOC_TCP_LAST_ACK    "TCP: both sides sent a FIN, the last ACK is awaited."
#define TO_DOC_TCP_TIME_WAIT   "TCP: closed by FINs; lingers for late segments."
#define TO_DOC_TCP_CLOSE       "TCP: closed by a RST."
#define TO_DOC_TCP_SYN_SENT2   "TCP: simultaneous open (a SYN from each side)."
#define TO_DOC_TCP_RETRANS     "TCP: the cap once the same segment was seen " \
			       "`tcp.max_retrans` times or after a zero window."
#define TO_DOC_TCP_UNACK       "TCP: the cap while either side has data in flight, and " \
			       "for a picked-up connection without a reply."
#define TO_DOC_UDP_UNREPLIED   "UDP: packets in one direction only."
#define TO_DOC_UDP_REPLIED     "UDP: packets in both directions."
#define TO_DOC_ICMP            "ICMP queries (echo, timestamp, ...)."
#define TO_DOC_ICMPV6          "ICMPv6 queries."
#define TO_DOC_GENERIC         "Any other protocol (DCCP included: Linux 6.16 dropped its tracker)."
#define TO_DOC_SCTP_CLOSED     "SCTP: an INIT not yet answered, or closed by ABORT or " \
			       "SHUTDOWN_COMPLETE."
#define TO_DOC_SCTP_COOKIE_WAIT "SCTP: the INIT_ACK was seen, the COOKIE_ECHO not yet."
#define TO_DOC_SCTP_COOKIE_ECHOED "SCTP: the COOKIE_ECHO was seen, the COOKIE_ACK not yet."
#define TO_DOC_SCTP_ESTABLISHED "SCTP: established (COOKIE_ACK seen)."
#define TO_DOC_SCTP_SHUTDOWN_SENT "SCTP: the original side sent SHUTDOWN."
#define TO_DOC_SCTP_SHUTDOWN_RECD "SCTP: the reply side sent SHUTDOWN."
#define TO_DOC_SCTP_SHUTDOWN_ACK_SENT "SCTP: the SHUTDOWN was acknowledged, SHUTDOWN_COMPLETE " \
				      "is awaited."
#define TO_DOC_SCTP_HEARTBEAT_SENT "SCTP: an entry opened by a HEARTBEAT (a secondary path), " \
				   "no answer yet."
#define TO_DOC_GRE_UNREPLIED   "GRE: packets in one direction only."
#define TO_DOC_GRE_STREAM      "GRE: from the first packet after a reply was seen."

#define CFG_TIMEOUT_ROW(id, name, secs) \
	{CFG_U("timeouts", name, timeout_s[CT_TO_##id], 1, CFG_TIMEOUT_MAX_S, secs), \
	 .doc = TO_DOC_##id},

const struct cfg_key dpct_cfg_keys[] = {
	/* table */
	{CFG_U("table", "max_entries", max_entries, 1, CFG_MAX_ENTRIES_MAX, 262144),
	 .doc_range = "1..268435456, ≥ `workers.count`",
	 .doc = "Table capacity for the whole appliance: active plus dying entries. Split "
		"across workers: each gets `max_entries / workers`, the first `max_entries % "
		"workers` one more. When a shard is full a new flow is dropped (`drop`, "
		"`insert_failed`) unless early drop frees a slot. Allocated at start, about "
		"171 bytes an entry ([deployment.md](deployment.md#6-table-memory)); dpct "
		"logs the figure and exits 1 when it exceeds the free EAL memory plus the "
		"machine's available memory."},
	{.section = "table", .key = "load_factor", .type = CFG_NUMBER, F(load_factor),
	 .fmin = 0.25, .fmax = 0.95, .fdflt = 0.8,
	 .doc = "Index fill at a full table. Each shard's index gets the smallest "
		"power-of-two number of 10-slot buckets with `buckets × 10 ≥ keys / "
		"load_factor`, keys being its share of `max_entries`, twice that when "
		"`nat` has pools or rules (a translated entry's reply tuple is a second "
		"key). Lower is faster lookups and more memory."},
	{CFG_B("table", "early_drop", early_drop, true),
	 .doc = "When full, evict a not-yet-assured entry to make room (Linux `early_drop`), "
		"counted in `early_drop`. Off: new flows are dropped at the limit."},
	{CFG_B("table", "tcp_loose", tcp_loose, true),
	 .doc = "Pick up TCP connections mid-stream (Linux `nf_conntrack_tcp_loose=1`). Off: "
		"only a SYN creates an entry."},
	{CFG_U("table", "zone", zone, 0, UINT16_MAX, 0),
	 .doc = "Conntrack zone put in every tuple and reported in events."},

	/* timeouts: seconds per class, Linux's defaults */
	CT_TIMEOUT_TABLE(CFG_TIMEOUT_ROW)

	/* timeout_policies: named timeouts per state, chosen by rules (config_tpol.c) */
	{.section = "", .key = "timeout_policies", .type = CFG_CUSTOM, .flags = CFG_F_NODOC,
	 .parse = dpct_cfg_tpol_parse, .emit = dpct_cfg_tpol_emit},
	{CFG_ITEM("timeout_policies", "policies", "object", "`{}`", 0),
	 .doc_range = "at most 15 policies; names of 1..31 characters `A-Za-z0-9_.-`",
	 .doc = "Named policies, as nftables' `ct timeout` objects: `{\"NAME\": {\"PROTO\": "
		"{\"STATE\": seconds, ...}, ...}}`. PROTO and STATE come from the `timeouts` "
		"keys: `tcp_established` is `\"tcp\": {\"established\": S}`; a protocol with "
		"one timeout (`icmp`, `icmpv6`, `generic`) has the state `\"timeout\"`. "
		"Seconds 1..1125899 (13 days, the longest timeout the table holds); a state "
		"left out takes the global `timeouts` value. "
		"An unknown protocol or state, 0, a negative or a larger value is refused. "
		"See [timeouts.md](timeouts.md)."},
	{CFG_ITEM("timeout_policies", "rules", "array of objects", "`[]`", 0),
	 .doc_range = "at most 64 rules",
	 .doc = "Which policy a new connection gets: the first rule whose every given field "
		"matches its original direction gives its `policy`; no match, the global "
		"`timeouts`. The entry keeps that policy for life (a restart is needed to "
		"change the section; `dpct-ctl reload` leaves it as it is)."},
	{CFG_ITEM("timeout_policies.rules[]", "policy", "string", "(required)", 0),
	 .doc = "The name of a policy of `policies`."},
	{CFG_ITEM("timeout_policies.rules[]", "zone", "integer", "any", 0),
	 .doc = "0..65535: the connection's conntrack zone (`zones`, `table.zone`)."},
	{CFG_ITEM("timeout_policies.rules[]", "proto", "string or integer", "any", 0),
	 .doc = "`\"tcp\"`, `\"udp\"`, `\"icmp\"`, `\"icmpv6\"`, `\"sctp\"`, `\"dccp\"`, "
		"`\"udplite\"`, `\"gre\"` or an IP protocol number 0..255."},
	{CFG_ITEM("timeout_policies.rules[]", "port", "integer", "any", 0),
	 .doc = "1..65535: the original destination port; needs `proto` tcp, udp, sctp, "
		"dccp or udplite."},

	/* invalid */
	{.section = "invalid", .key = "policy", .type = CFG_ENUM, F(invalid_policy),
	 .names = invalid_names, .dflt = CT_INVALID_DROP,
	 .doc = "`\"drop\"`: packets the parser or a tracker finds invalid are dropped (counted "
		"in `invalid`). `\"pass\"`: they are forwarded untracked (still counted)."},

	/* fill_alarm */
	{CFG_U("fill_alarm", "high_pct", fill_alarm_high_pct, 0, 100, 90),
	 .doc = "Log a warning (and count `fill_alarm`) when a shard's count crosses this "
		"percentage of its `max_entries`. 0 disables the alarm."},
	{CFG_U("fill_alarm", "low_pct", fill_alarm_low_pct, 0, 99, 80),
	 .doc_range = "0..99, < `high_pct`",
	 .doc = "Re-arm the alarm when the count falls below this. Must be below `high_pct` "
		"when the alarm is on (hysteresis)."},

	/* notrack: an array of rules (config_notrack.c) */
	{.section = "", .key = "notrack", .type = CFG_CUSTOM, .flags = CFG_F_NODOC,
	 .parse = dpct_cfg_notrack_parse, .emit = dpct_cfg_notrack_emit},
	{CFG_ITEM("notrack[]", "proto", "string or integer", "any", 0),
	 .doc = "`\"tcp\"`, `\"udp\"`, `\"icmp\"`, `\"icmpv6\"`, `\"gre\"`, `\"sctp\"`, "
		"`\"udplite\"`, "
		"`\"any\"`, or an IP protocol number 0..255."},
	{CFG_ITEM("notrack[]", "port", "integer", "any", 0),
	 .doc = "0..65535 (0 = any); matches the source or destination port. A non-zero port "
		"needs `proto` tcp, udp, sctp or udplite."},
	{CFG_ITEM("notrack[]", "prefix", "string", "any", 0),
	 .doc = "`\"192.0.2.0/24\"`, `\"2001:db8::/32\"`; matches the source or destination "
		"address. Without `/len` the full address; host bits are cleared "
		"(`10.1.2.3/16` is stored and shown as `10.1.0.0/16`). Sets the family."},
	{CFG_ITEM("notrack[]", "family", "integer", "any", 0),
	 .doc = "4 or 6; must agree with `prefix`."},

	/* helpers: FTP and TFTP helpers and their expectations (config_helpers.c) */
	{.section = "", .key = "helpers", .type = CFG_CUSTOM, .flags = CFG_F_NODOC,
	 .parse = dpct_cfg_helpers_parse, .emit = dpct_cfg_helpers_emit,
	 .init = dpct_cfg_helpers_init},
	{CFG_ITEM("helpers", "rules", "array of objects", "`[]` (no helpers)", 0),
	 .doc_range = "at most 64 rules",
	 .doc = "Which connections get a helper (keys below), as nftables assigns `ct helper` "
		"objects: never by port alone. Without rules nothing of helpers is allocated and "
		"the packet path is unchanged. Set at start: a reload that changes this section "
		"is refused ([helpers.md](helpers.md))."},
	{CFG_ITEM("helpers", "max_expectations", "integer", "4096", 0),
	 .doc_range = "1..1048576",
	 .doc = "Expectations a worker's table holds, live ones and dying ones whose DESTROY "
		"is not yet delivered (Linux's `nf_conntrack_expect_max`). A command that finds "
		"the table full makes no expectation (`refused`)."},
	{CFG_ITEM("helpers", "ftp", "object", "below", 0),
	 .doc = "The FTP helper's expectation policy: `max_expected` and `timeout` (table "
		"below)."},
	{CFG_ITEM("helpers", "tftp", "object", "below", 0),
	 .doc = "The TFTP helper's expectation policy, with the same keys and defaults as "
		"`ftp`."},
	{CFG_ITEM("helpers.ftp", "max_expected", "integer", "1", 0),
	 .doc_range = "1..255",
	 .doc = "Live expectations per master connection (Linux's `max_expected`: 1 for ftp "
		"and tftp). One more evicts the master's oldest."},
	{CFG_ITEM("helpers.ftp", "timeout", "integer", "300", 0),
	 .doc_range = "1..86400 s",
	 .doc = "Seconds an expectation waits for its connection (Linux: 300 for ftp and "
		"tftp)."},
	{CFG_ITEM("helpers.rules[]", "helper", "string", "(required)", 0),
	 .doc_range = "`\"ftp\"`, `\"tftp\"`",
	 .doc = "The helper the matching connections get. ftp matches TCP, tftp UDP."},
	{CFG_ITEM("helpers.rules[]", "port", "integer", "(required)", 0),
	 .doc_range = "1..65535",
	 .doc = "The server's port: the destination port of the connection's first packet "
		"(21 for FTP, 69 for TFTP)."},
	{CFG_ITEM("helpers.rules[]", "zone", "integer", "any", 0),
	 .doc_range = "0..65535",
	 .doc = "Only connections of this conntrack zone."},
	{CFG_ITEM("helpers.rules[]", "family", "integer", "both", 0),
	 .doc_range = "4, 6",
	 .doc = "Only IPv4 or only IPv6 connections."},

	/* limits: connection limits and the top sketch (config_limits.c) */
	{.section = "", .key = "limits", .type = CFG_CUSTOM, .flags = CFG_F_NODOC,
	 .parse = dpct_cfg_limits_parse, .emit = dpct_cfg_limits_emit,
	 .init = dpct_cfg_limits_init},
	{CFG_ITEM("limits", "rules", "array of objects", "`[]`", 0),
	 .doc_range = "at most 16 rules",
	 .doc = "Connection limits (keys below). A new connection is checked against the first "
		"source rule that matches it and the first zone rule of its zone; over either "
		"limit it is dropped and counted against that rule (`limit_drop`, "
		"`limit_drop_by_rule`). Set at start: a reload that changes this section is "
		"refused ([limits.md](limits.md))."},
	{CFG_ITEM("limits", "keys", "integer", "0 (the worker's share of `max_entries`)", 0),
	 .doc_range = "0..268435456",
	 .doc = "Counts a worker's limit table holds: distinct (rule, source group, zone) "
		"keys with live entries (of source rules: a zone rule's count takes none). "
		"12 bytes a key (the default: 12 bytes an entry). A connection whose key "
		"finds no room is admitted without a count (`limit_uncounted`)."},
	{CFG_ITEM("limits", "top", "boolean", "true", 0),
	 .doc = "Keep the top sketch (64 KiB a worker) behind `dpct-ctl top`, `/dpct/top`, "
		"the fill alarm's list of heaviest sources and `dpct_top_source_entries`."},
	{CFG_ITEM("limits.rules[]", "name", "string", "`\"ruleN\"` (N: its index)", 0),
	 .doc_range = "1..31 of `A-Z a-z 0-9 _`, unique",
	 .doc = "The rule's name in statistics, telemetry and the exporter's `rule` label."},
	{CFG_ITEM("limits.rules[]", "source", "string", "none (a zone rule)", 0),
	 .doc_range = "`\"a.b.c.d/len\"`, `\"x::/len\"`, host bits zero",
	 .doc = "A per-source rule: applies to connections whose original source lies in "
		"this prefix. Without it the rule is a per-zone rule and needs `zone`."},
	{CFG_ITEM("limits.rules[]", "group_prefix", "integer", "32 or 128 (each address)", 0),
	 .doc_range = "the source's length..32 (IPv4), ..128 (IPv6)",
	 .doc = "Sources that agree in this many leading bits share one count (as "
		"connlimit's mask): 24 limits each /24 of `source`, 32 each address."},
	{CFG_ITEM("limits.rules[]", "zone", "integer", "any (source rules)", 0),
	 .doc_range = "0..65535",
	 .doc = "A source rule with `zone` applies in that zone only; without, in every zone "
		"with one count across zones. A zone rule caps the whole zone."},
	{CFG_ITEM("limits.rules[]", "max", "integer", "(required)", 0),
	 .doc_range = "1..268435456; a source rule 1..16777215",
	 .doc = "Live entries a count may reach, for the whole appliance: each worker enforces "
		"its share (`max / workers`, the first `max % workers` workers one more, at "
		"least 1). A source rule's count is 24 bits: to cap more than 16777215 "
		"connections, use a zone rule."},

	/* events */
	{CFG_B("events", "enabled", events_enabled, true),
	 .doc = "Produce NEW/UPDATE/DESTROY events at all. Off: no rings, no events socket, "
		"no dying list. On, the workers build only the kinds some attached listener "
		"(or the IPFIX exporter) subscribed to, as ctnetlink does: with none attached "
		"nothing is built (`events_unwanted`; [events.md](events.md))."},
	{CFG_B("events", "reliable", events_reliable, true),
	 .doc = "Honour listeners that ask for reliable delivery (ctnetlink's "
		"`NETLINK_BROADCAST_ERROR` model): a DESTROY a reliable listener could not "
		"take keeps the entry on the dying list and is re-sent. Off: every listener "
		"is treated as unreliable and losses are only counted."},
	{CFG_U("events", "destroy_grace_ms", destroy_grace_ms, 1, CT_GRACE_MAX_MS, 15000),
	 .doc = "How long a dying entry waits before its DESTROY is re-sent: a uniform random "
		"time in [0, grace) after the first refusal (jittered per entry with `seed`), "
		"and a window twice as long after each further refusal of the same DESTROY, "
		"up to 8 × grace but not past 4 s (a grace over 4 s stays as it is: 500 ms "
		"goes 0.5, 1, 2, 4 s; the default stays 15 s). Linux uses 15 s; the demo uses "
		"1 s."},
	{CFG_R("events", "ring_size", event_ring_size, 4096),
	 .doc = "Event records per worker ring (worker → control core). When full, events are "
		"counted in `ring_full` and retried by the worker."},
	{CFG_R("events", "result_ring_size", result_ring_size, 4096),
	 .doc = "Delivery results per worker (control core → worker)."},
	{CFG_U("events", "stage_size", stage_size, 1, CFG_RING_MAX, 1024),
	 .doc = "Per-shard staging buffer for records waiting for ring space."},
	{.section = "events", .key = "netlink_port_id", .type = CFG_CUSTOM,
	 .flags = CFG_F_NOEMIT | CFG_F_NODOC, .parse = dpct_cfg_removed},
	{.section = "events", .key = "socket", .type = CFG_STRING, F(socket_path),
	 .sdflt = EV_DEFAULT_SOCKET, .parse = dpct_cfg_socket,
	 .doc_range = "absolute path, ≤ 107 bytes",
	 .doc = "The AF_UNIX `SOCK_SEQPACKET` socket listeners connect to (docs/events.md). "
		"Its directory is created if missing and must be owned by dpct's user and not "
		"writable by group or others; a stale socket is replaced, a live one (another "
		"dpct) makes dpct refuse to start. Two instances on one host need different "
		"paths."},
	{.section = "events", .key = "socket_group", .type = CFG_CUSTOM,
	 .parse = dpct_cfg_socket_group, .emit = dpct_cfg_socket_group_emit,
	 .init = dpct_cfg_socket_group_init,
	 .doc_type = "string or integer", .doc_default = "none",
	 .doc_range = "a group name or gid",
	 .doc = "Group of the socket file (mode 0660): its members may connect. Without it "
		"only root can."},
	{CFG_IDLIST("allowed_uids", allowed_uids, 1),
	 .doc_range = "≤ 32 uids, each 0..4294967294",
	 .doc = "Users whose connections may subscribe or dump (the peer's `SO_PEERCRED`); "
		"uid 0 always may."},
	{CFG_IDLIST("allowed_gids", allowed_gids, 0),
	 .doc_range = "≤ 32 gids, each 0..4294967294",
	 .doc = "... or whose primary group is one of these."},
	{CFG_IDLIST("reliable_uids", reliable_uids, 1),
	 .doc_range = "≤ 32 uids",
	 .doc = "Users who may ask for reliable delivery; others get `-EACCES` (`dpct-events "
		"--reliable` explains)."},
	{CFG_U("events", "reliable_stall_ms", reliable_stall_ms, 1, 86400000u, 30000),
	 .doc = "A reliable listener that refuses every delivery this long is demoted to "
		"unreliable, logged by uid and pid (`listener_demoted`)."},
	{CFG_U("events", "max_dying_pct", max_dying_pct, 0, 100, 10),
	 .doc = "... so is one that has refused everything for a second while dying entries "
		"are above this share of `max_entries`. 0: no such limit."},
	{CFG_U("events", "max_listeners", max_listeners, 1, EV_MAX_LISTENERS, 8),
	 .doc = "Slots: connections (subscribed or not) and record consumers such as "
		"exporters, at once; more are refused with `-EUSERS` (`subscribe_refused`). "
		"Each takes one bit of the resend mask."},
	{CFG_U("events", "batch_bytes", batch_bytes, CFG_BATCH_MIN, EV_DGRAM_MAX, 16384),
	 .doc = "Largest datagram carrying a batch of event messages (also at most half a "
		"listener's buffer). 65536 is the largest datagram dpct sends at all, so a "
		"reader with a 65536-byte buffer never truncates one "
		"([events.md](events.md))."},
	{CFG_U("events", "max_conns_per_uid", max_conns_per_uid, 1, EV_MAX_LISTENERS, 2),
	 .doc = "Connections one uid other than 0 may hold at once, subscribed or not (a "
		"listener and a dump, say). One more is refused with `-EUSERS` and counted "
		"under the uid (`over_uid_limit` in `/dpct/refusals`). Root has no cap."},
	/* Parsed after max_listeners: its range and default follow it. */
	{CFG_U("events", "reserved_slots", reserved_slots, 0, EV_MAX_LISTENERS, 8 / 2),
	 .flags = CFG_F_ALWAYS, .parse = dpct_cfg_reserved_slots,
	 .doc_default = "`max_listeners / 2` (4)", .doc_range = "0..`max_listeners`",
	 .doc = "Slots only uid 0 and `reliable_uids` may take: other uids are refused "
		"(`no_slot`) when only these are free, so an allowed but misbehaving user can "
		"never lock root's reliable listener, dumps and `dpct-ctl list` out. When "
		"every slot is taken all the same, a connection of uid 0 takes the slot of "
		"the oldest connection of another uid that has not subscribed or asked for a "
		"dump (`evicted`, `peers_evicted`)."},
	{CFG_U("events", "subscribe_timeout_ms", subscribe_timeout_ms, 100, 60000, 1000),
	 .doc = "A connection that has neither subscribed nor asked for a dump this long "
		"after it connected is closed (`timed_out`), so idle connections hold no "
		"slot."},

	/* workers */
	{CFG_U("workers", "count", workers, 0, DPCT_MAX_WORKERS, 0),
	 .doc = "Worker lcores. 0: every EAL lcore except the main one, which is always the "
		"control core."},
	{CFG_U("workers", "burst", burst, 1, 512, 32),
	 .doc = "RX burst size."},
	{CFG_U("workers", "rxd", rxd, CFG_DESC_MIN, CFG_DESC_MAX, 1024),
	 .doc = "RX descriptors per queue."},
	{CFG_U("workers", "txd", txd, CFG_DESC_MIN, CFG_DESC_MAX, 1024),
	 .doc = "TX descriptors per queue."},
	{CFG_U("workers", "mbufs", mbufs, CFG_MBUFS_MIN, CFG_MBUFS_MAX, 0),
	 .parse = dpct_cfg_mbufs, .doc_range = "0, or 1024..16777216",
	 .doc = "mbuf pool size. 0 derives it from ports × workers × (rxd + txd + burst) plus "
		"handoff rings, a per-lcore cache and, with `fragments.enabled`, workers × "
		"`fragments.max_datagrams` × 8 for received fragments waiting for their "
		"datagram."},
	{CFG_R("workers", "handoff_ring_size", handoff_ring_size, 1024),
	 .doc = "Per worker pair, for packets a worker receives but another shard owns (ports "
		"without symmetric RSS, e.g. vdevs)."},

	/* fragments: reassembly before tracking (lib/pipeline/pipe_frag.h) */
	{CFG_B("fragments", "enabled", frag_enabled, true),
	 .doc = "Reassemble IPv4 and IPv6 fragments before tracking, as Linux's "
		"`nf_defrag_ipv4`/`nf_defrag_ipv6`: the tracker, the checksum check and the "
		"counters see the whole datagram; the fragments leave as they came (with NAT, "
		"each rewritten). Fragments wait until their datagram is complete; a datagram "
		"never completed is dropped, fragments and all. Off: a first fragment is "
		"tracked by its own L4 header (with `checksum` on it fails the L4 checksum), "
		"later fragments pass untracked."},
	{CFG_U("fragments", "max_datagrams", frag_max_datagrams, 1, 65536, 64),
	 .doc = "Datagrams in reassembly at once, per worker. A fragment of a new datagram "
		"when the table is full is dropped unless the oldest datagram has timed out "
		"(`fragments.dropped` in `--stats-json`). Each worker's copy pool holds 8 "
		"mbufs a datagram (2.2 KiB each), and up to 8 received mbufs a datagram wait "
		"in the table."},
	{CFG_U("fragments", "timeout_ms", frag_timeout_ms, 1, 3600000, 30000),
	 .doc = "A datagram not complete this long after its first fragment arrived is "
		"dropped with its fragments (Linux `net.ipv4.ipfrag_time`, 30 s). On the packet "
		"clock in replay mode."},
	{.section = "fragments", .key = "meet", .type = CFG_ENUM, F(frag_meet),
	 .names = frag_meet_names, .dflt = DPCT_FRAG_MEET_AUTO,
	 .doc = "Where a datagram's fragments meet to be reassembled. `\"auto\"`: on a port "
		"with one RX queue the worker that received them (the datagram then reaches "
		"its flow's owner in order with the flow's other packets); on a port with "
		"several queues the worker chosen by a keyed hash of the datagram's addresses, "
		"protocol and IP id (only the first fragment has ports), which hands the "
		"datagram to the flow's owner. `\"hash\"`: always the latter (for tests of "
		"that path on one-queue ports; a datagram can then be tracked after a later "
		"packet of its flow)."},

	/* seed */
	{CFG_U("", "seed", seed, 0, INT64_MAX, 0),
	 .doc = "Seeds the per-shard PRNG (grace re-arm jitter) and keys the flow hash. 0: "
		"both are drawn at start; a non-zero seed is for repeatable tests only "
		"(below)."},

	/* policy: the rule set (config_policy.c), not part of /dpct/config */
	{.section = "", .key = "policy", .type = CFG_CUSTOM, .flags = CFG_F_NOEMIT | CFG_F_NODOC,
	 .parse = dpct_cfg_policy_parse},
	{CFG_ITEM("policy", "default", "string", "`\"accept\"`", CFG_F_QUOTED),
	 .doc_range = "`\"accept\"`, `\"drop\"`",
	 .doc = "The verdict when no rule matches."},
	{CFG_ITEM("policy", "rules", "array", "`[]`", CFG_F_QUOTED),
	 .doc_range = "at most 16384 rules (262144 after expanding state and port lists)",
	 .doc = "The rules in order; the first that matches gives the verdict."},
	/* a rule's keys: docs/policy.md */
	{.section = "policy.rules[]", .key = "name", .type = CFG_CUSTOM,
	 .flags = CFG_F_ITEM | CFG_F_QUOTED | CFG_F_NODOC},
	{.section = "policy.rules[]", .key = "action", .type = CFG_CUSTOM,
	 .flags = CFG_F_ITEM | CFG_F_QUOTED | CFG_F_NODOC},
	{.section = "policy.rules[]", .key = "state", .type = CFG_CUSTOM,
	 .flags = CFG_F_ITEM | CFG_F_QUOTED | CFG_F_NODOC},
	{.section = "policy.rules[]", .key = "in_port", .type = CFG_CUSTOM,
	 .flags = CFG_F_ITEM | CFG_F_QUOTED | CFG_F_NODOC},
	{.section = "policy.rules[]", .key = "zone", .type = CFG_CUSTOM,
	 .flags = CFG_F_ITEM | CFG_F_QUOTED | CFG_F_NODOC},
	{.section = "policy.rules[]", .key = "family", .type = CFG_CUSTOM,
	 .flags = CFG_F_ITEM | CFG_F_QUOTED | CFG_F_NODOC},
	{.section = "policy.rules[]", .key = "proto", .type = CFG_CUSTOM,
	 .flags = CFG_F_ITEM | CFG_F_QUOTED | CFG_F_NODOC},
	{.section = "policy.rules[]", .key = "src", .type = CFG_CUSTOM,
	 .flags = CFG_F_ITEM | CFG_F_QUOTED | CFG_F_NODOC},
	{.section = "policy.rules[]", .key = "dst", .type = CFG_CUSTOM,
	 .flags = CFG_F_ITEM | CFG_F_QUOTED | CFG_F_NODOC},
	{.section = "policy.rules[]", .key = "sport", .type = CFG_CUSTOM,
	 .flags = CFG_F_ITEM | CFG_F_QUOTED | CFG_F_NODOC},
	{.section = "policy.rules[]", .key = "dport", .type = CFG_CUSTOM,
	 .flags = CFG_F_ITEM | CFG_F_QUOTED | CFG_F_NODOC},
	{.section = "policy.rules[]", .key = "icmp_type", .type = CFG_CUSTOM,
	 .flags = CFG_F_ITEM | CFG_F_QUOTED | CFG_F_NODOC},

	/* nat: pools and rules (config_nat.c) */
	{.section = "", .key = "nat", .type = CFG_CUSTOM, .flags = CFG_F_NODOC,
	 .parse = dpct_cfg_nat_parse, .emit = dpct_cfg_nat_emit},
	{CFG_ITEM("nat", "pools", "array of objects", "`[]`", 0),
	 .doc_range = "at most 64 pools",
	 .doc = "Public addresses and the ports used on them, named for the `snat` rules "
		"(keys below)."},
	{CFG_ITEM("nat", "rules", "array of objects", "`[]`", 0),
	 .doc_range = "at most 1024 rules",
	 .doc = "Tried in order on a connection's first packet; the first that matches "
		"decides (keys below). No rules: nothing is translated."},
	{CFG_ITEM("nat.pools[]", "name", "string", "(required)", 0),
	 .doc_range = "1..31 of `A-Z a-z 0-9 _ . -`, unique",
	 .doc = "What rules call the pool by (`pool`)."},
	{CFG_ITEM("nat.pools[]", "addresses", "string", "(required)", 0),
	 .doc_range = "at most 4096 addresses",
	 .doc = "`\"198.51.100.7\"`, a prefix `\"198.51.100.0/28\"` (every address of it, "
		"network and broadcast included; host bits must be zero) or a range "
		"`\"203.0.113.1-203.0.113.4\"`. No two pools share an address."},
	{CFG_ITEM("nat.pools[]", "ports", "integer or string", "`\"1024-65535\"`", 0),
	 .doc_range = "`\"lo-hi\"`, 1 ≤ lo ≤ hi ≤ 65535",
	 .doc = "The ports used on every address of the pool. The range is split evenly "
		"among the workers, each owning its slice: its size must divide by the worker "
		"count."},
	{CFG_ITEM("nat.pools[]", "mode", "string", "`\"napt\"`", 0),
	 .doc_range = "`\"napt\"`, `\"block\"`",
	 .doc = "`napt`: a port per connection. `block` (RFC 7422, CGNAT): an inside address "
		"gets a block of `block_size` ports of one pool address on its first "
		"connection and keeps it until its last connection using it has ended; "
		"allocation and release are each reported once, as port-block records "
		"(events, IPFIX)."},
	{CFG_ITEM("nat.pools[]", "block_size", "integer", "512", 0),
	 .doc_range = "1..32768, block mode only",
	 .doc = "Ports a block; must divide each worker's share of `ports`."},
	{CFG_ITEM("nat.pools[]", "blocks_per_address", "integer", "1", 0),
	 .doc_range = "1..16, block mode only",
	 .doc = "Blocks one inside address may hold at once."},
	{CFG_ITEM("nat.rules[]", "name", "string", "none", 0),
	 .doc_range = "1..31 of `A-Z a-z 0-9 _ . -`",
	 .doc = "Shown in logs and messages."},
	{CFG_ITEM("nat.rules[]", "action", "string", "(required)", 0),
	 .doc_range = "`\"snat\"`, `\"dnat\"`, `\"exclude\"`",
	 .doc = "`snat`: the source becomes a `pool` address and port. `dnat`: the destination "
		"(`dst`, `dport`) becomes `to`, `to_port` (port forwarding). `exclude`: the "
		"matched connection is not translated."},
	{CFG_ITEM("nat.rules[]", "in_port", "integer", "any", 0),
	 .doc_range = "0..63",
	 .doc = "Match: the DPDK port the first packet came in on."},
	{CFG_ITEM("nat.rules[]", "zone", "integer", "any", 0),
	 .doc_range = "0..65535",
	 .doc = "Match: the conntrack zone."},
	{CFG_ITEM("nat.rules[]", "proto", "string or integer", "any", 0),
	 .doc_range = "`\"tcp\"`, `\"udp\"`, `\"udplite\"`, `\"icmp\"`, 1..255",
	 .doc = "Match: the IP protocol. `snat` translates tcp, udp, udplite and icmp (echo); "
		"`dnat` needs one of tcp, udp, udplite."},
	{CFG_ITEM("nat.rules[]", "src", "string", "any", 0),
	 .doc_range = "`\"a.b.c.d[/len]\"`, host bits zero",
	 .doc = "Match: the source prefix of the first packet."},
	{CFG_ITEM("nat.rules[]", "dst", "string", "any", 0),
	 .doc_range = "`\"a.b.c.d[/len]\"`, host bits zero",
	 .doc = "Match: the destination prefix. `dnat`: required, the public address (a single "
		"address)."},
	{CFG_ITEM("nat.rules[]", "dport", "integer or string", "any", 0),
	 .doc_range = "0..65535 or `\"lo-hi\"`",
	 .doc = "Match: destination ports; needs `proto` tcp, udp or udplite. `dnat`: the "
		"public ports forwarded."},
	{CFG_ITEM("nat.rules[]", "pool", "string", "(required for snat)", 0),
	 .doc_range = "a pool's `name`",
	 .doc = "`snat` only: the pool translated to."},
	{CFG_ITEM("nat.rules[]", "to", "string", "(required for dnat)", 0),
	 .doc_range = "`\"a.b.c.d\"`",
	 .doc = "`dnat` only: the inside address."},
	{CFG_ITEM("nat.rules[]", "to_port", "integer", "`dport` (kept)", 0),
	 .doc_range = "1..65535, needs `dport`",
	 .doc = "`dnat` only: the inside port for the first port of `dport`; a range maps one "
		"to one (`dport` lo + k → `to_port` + k)."},

	/* export.ipfix (config_export.c) */
	{CFG_B("export.ipfix", "enabled", export.ipfix_enabled, true),
	 .doc = "Off keeps the collectors configured but exports nothing."},
	{CFG_U("export.ipfix", "observation_domain_id", export.ipfix.domain, 0, UINT32_MAX, 1),
	 .doc = "The box's observationDomainId, so a fleet's records stay apart at the "
		"collector."},
	{CFG_U("export.ipfix", "active_timeout_s", export.ipfix.active_timeout_s, 0,
	       CFG_TIMEOUT_MAX_S, 60),
	 .doc = "A flow living longer gets an interim record with its deltas every this many "
		"seconds (driven by the shards' timer wheel). 0: only final records."},
	{CFG_U("export.ipfix", "template_refresh_s", export.ipfix.template_refresh_s, 1, 86400,
	       60),
	 .doc = "UDP: templates are resent this often (and at start). TCP sends them once per "
		"connection."},
	{CFG_U("export.ipfix", "mtu", export.ipfix.mtu, 512, 65000, 1400),
	 .doc = "UDP: the largest message (one datagram)."},
	{CFG_U("export.ipfix", "tcp_message_bytes", export.ipfix.tcp_message_bytes, 512, 65535,
	       16384),
	 .doc = "TCP: the largest message."},
	{CFG_U("export.ipfix", "buffer_bytes", export.ipfix.buffer_bytes, 65536, 1u << 30,
	       4u << 20),
	 .doc_range = "65536..1073741824, ≥ 2 × `tcp_message_bytes`",
	 .doc = "TCP: the ring of messages not yet acknowledged by the collector; a record "
		"that does not fit is refused (a nack when reliable). UDP with pacing: the "
		"queue of messages waiting for their turn; when full, the oldest are dropped "
		"(`queue_dropped`)."},
	{CFG_U("export.ipfix", "sndbuf", export.ipfix.sndbuf, 0, 1u << 30, 0),
	 .doc = "Socket send buffer (SO_SNDBUF); 0 keeps the kernel's."},
	{CFG_U("export.ipfix", "flush_ms", export.ipfix.flush_ms, 0, 60000, 100),
	 .doc = "The longest a record waits in a partly filled message. 0: every control step "
		"sends what it has."},
	{CFG_U("export.ipfix", "reconnect_min_ms", export.ipfix.reconnect_min_ms, 1, 3600000,
	       100),
	 .doc = "TCP: the first retry after a failed or lost connection; doubles each time "
		"..."},
	{CFG_U("export.ipfix", "reconnect_max_ms", export.ipfix.reconnect_max_ms, 1, 3600000,
	       10000),
	 .doc_range = "1..3600000, ≥ `reconnect_min_ms`",
	 .doc = "... up to this."},
	{CFG_U("export.ipfix", "max_rate_pps", export.max_rate_pps, 0, EV_IPFIX_RATE_PPS_MAX,
	       EV_IPFIX_RATE_PPS_DEFAULT),
	 .doc = "UDP pacing: messages per second to each UDP collector that sets no rate of "
		"its own ([export.md](export.md#pacing-udp)). 0: no limit on messages. The "
		"default is what a stock nfcapd (no `-B`) on the same host keeps up with "
		"during a flush."},
	{CFG_U("export.ipfix", "max_rate_bps", export.max_rate_bps, EV_IPFIX_RATE_BPS_MIN,
	       EV_IPFIX_RATE_BPS_MAX, 0),
	 .parse = dpct_cfg_rate_bps, .doc_range = "0, or 100000..100000000000",
	 .doc = "UDP pacing: bits per second of IPFIX messages (UDP payload), likewise "
		"inherited. 0: no limit on bits. With both rates 0 messages are not paced."},
	{.section = "export.ipfix", .type = CFG_CHECK, .parse = dpct_cfg_export_check},
	{.section = "export.ipfix", .key = "collectors", .type = CFG_CUSTOM, .flags = CFG_F_ALWAYS,
	 .parse = dpct_cfg_collectors_parse, .emit = dpct_cfg_collectors_emit,
	 .doc_type = "array of objects", .doc_default = "`[]`", .doc_range = "≤ 8, no two alike",
	 .doc = "Where to export; each gets its own exporter, templates, sequence numbers and "
		"counters."},
	{CFG_ITEM("export.ipfix.collectors[]", "host", "string", "(required)", 0),
	 .doc_range = "numeric IPv4 or IPv6 address",
	 .doc = "No name resolution: `$.export.ipfix.collectors[0].host: \"collector.example\" "
		"is not an IPv4 or IPv6 address`."},
	{CFG_ITEM("export.ipfix.collectors[]", "port", "integer", "4739", 0),
	 .doc_range = "1..65535",
	 .doc = "nfcapd's customary port is 9995, IANA's for IPFIX 4739."},
	{CFG_ITEM("export.ipfix.collectors[]", "transport", "string", "`\"udp\"`", 0),
	 .doc_range = "`\"udp\"`, `\"tcp\"`",
	 .doc = "RFC 7011 §10.4 over TCP, or UDP datagrams."},
	{CFG_ITEM("export.ipfix.collectors[]", "reliable", "boolean", "true for tcp", 0),
	 .doc_range = "tcp only",
	 .doc = "A reliable TCP exporter's refusals are nacks: DESTROYs wait on the dying "
		"list until the collector takes them. `$.export.ipfix.collectors[0].reliable: "
		"only a tcp collector can be reliable`."},
	{CFG_ITEM("export.ipfix.collectors[]", "max_rate_pps", "integer",
		  "`export.ipfix.max_rate_pps`", 0),
	 .doc_range = "0..10000000, udp only",
	 .doc = "This collector's pacing, in messages per second; 0 with `max_rate_bps` 0 (or "
		"absent with the section's both 0): not paced. A TCP collector is never "
		"paced: `$.export.ipfix.collectors[0].max_rate_pps: a tcp collector is not "
		"paced (TCP's receive window is its flow control)`."},
	{CFG_ITEM("export.ipfix.collectors[]", "max_rate_bps", "integer",
		  "`export.ipfix.max_rate_bps`", 0),
	 .doc_range = "0, or 100000..100000000000, udp only",
	 .doc = "This collector's pacing, in bits per second of IPFIX messages."},
	{.section = "export", .type = CFG_CHECK, .parse = dpct_cfg_export_events},

	/* ha: state sync with a failover peer (config_ha.c, docs/ha.md) */
	{CFG_B("ha", "enabled", ha.enabled, true),
	 .doc = "Sync is on when this is true and `peer` is set: this box's connections go "
		"to the peer, the peer's are kept in an external cache, in conntrackd's FTFW "
		"protocol ([ha.md](ha.md)). Needs `events.enabled`. Off keeps the rest "
		"configured but syncs nothing."},
	{.section = "ha", .key = "role", .type = CFG_ENUM, F(ha.role), .names = ha_role_names,
	 .dflt = DPCT_HA_PRIMARY,
	 .doc = "The role at startup; `dpct-ctl ha primary` and `dpct-ctl ha backup` switch "
		"it at run time (what keepalived's notify script calls). Promotion to primary commits the "
		"external cache into the tables."},
	{.section = "ha", .key = "transport", .type = CFG_ENUM, F(ha.transport),
	 .names = ha_transport_names, .dflt = DPCT_HA_UDP,
	 .doc = "`\"udp\"`: unicast datagrams to `peer`. `\"multicast\"`: to the group `peer`, "
		"joined on `interface` (conntrackd's Multicast section). `\"tcp\"`: "
		"conntrackd's TCP section: this box listens on `bind`:`port` for the peer's "
		"stream and connects to `peer`:`port` for its own, reconnecting with a backoff "
		"of 0.1 s doubling to 5 s."},
	{.section = "ha", .key = "peer", .type = CFG_STRING, F(ha.peer), .sdflt = "",
	 .parse = dpct_cfg_ha_peer, .doc_default = "`\"\"` (no sync)", .doc_range = "IPv4 or IPv6",
	 .doc = "The peer's address (conntrackd: `IPv4_Destination_Address`), or the multicast "
		"group. No name resolution."},
	{CFG_U("ha", "port", ha.port, 1, 65535, 3780),
	 .doc = "UDP port bound locally and sent to, or the TCP port listened on and "
		"connected to (conntrackd: `Port`; the same on both sides)."},
	{.section = "ha", .key = "bind", .type = CFG_STRING, F(ha.bind), .sdflt = "",
	 .parse = dpct_cfg_ha_bind, .doc_default = "`\"\"` (any)", .doc_range = "IPv4 or IPv6",
	 .doc = "The local address to bind (conntrackd: `IPv4_address`): an address of the "
		"dedicated sync link. Datagrams from any address but `peer` are dropped and "
		"counted (`rx_wrong_peer`)."},
	{.section = "ha", .key = "interface", .type = CFG_STRING, F(ha.interface), .sdflt = "",
	 .parse = dpct_cfg_ha_interface, .doc_range = "interface name",
	 .doc = "Bind the socket to this interface (`SO_BINDTODEVICE`): sync stays on the "
		"dedicated link."},
	{.section = "ha", .key = "auth", .type = CFG_ENUM, F(ha.auth), .names = ha_auth_names,
	 .dflt = DPCT_HA_AUTH_HMAC,
	 .doc = "`\"hmac-sha256\"`: each datagram carries an HMAC-SHA256 of itself under "
		"`secret` (a 32-byte trailer); datagrams that fail it are dropped and counted "
		"(`rx_bad_auth`). `\"none\"`: conntrackd's plain format, the only one conntrackd "
		"speaks; refused unless `bind` or `interface` keeps sync on a dedicated link."},
	{.section = "ha", .key = "secret", .type = CFG_STRING, F(ha.secret), .sdflt = "",
	 .parse = dpct_cfg_ha_secret, .emit = dpct_cfg_ha_secret_emit,
	 .doc_default = "(required with hmac)", .doc_range = "16..128 bytes",
	 .doc = "The shared key of `auth` `\"hmac-sha256\"`, the same on both boxes. "
		"/dpct/config shows `\"(set)\"`, never the key."},
	{CFG_B("ha", "extensions", ha.extensions, true),
	 .doc = "Send dpct's extension message behind each data message (conntrack id, zone, "
		"event bits, TCP flags, exact reply tuple, counters). conntrackd drops it as a "
		"duplicate and counts it in `Packets before` of `conntrackd -s network`; turn it "
		"off towards a conntrackd peer to keep that counter clean."},
	{CFG_U("ha", "resend_queue", ha.resend_queue, 16, 1u << 20, 16384),
	 .doc = "Messages kept until the peer ACKs them, to resend on a NACK (about 400 bytes "
		"each). Older ones are pushed out (`overwritten`); a NACK for one of those "
		"cannot be answered (`unrecoverable`) and is answered by a full resync. A "
		"resync sends a page only while the store is at most half full."},
	{CFG_U("ha", "window", ha.window, 1, 65535, 300),
	 .doc = "ACK the peer every this many messages received (conntrackd's `Window` "
		"default), and on every `alive_ms` tick."},
	{CFG_U("ha", "alive_ms", ha.alive_ms, 10, 60000, 1000),
	 .doc = "Keepalive period: an ACK of what arrived, or an ALIVE when nothing did "
		"(conntrackd: 1 s)."},
	{CFG_U("ha", "mtu", ha.mtu, 512, 65000, 1400),
	 .doc = "Largest datagram payload; messages are packed up to it."},
	{CFG_U("ha", "drain_ms", ha.drain_ms, 0, 60000, 2000),
	 .doc = "At exit, how long to wait for the peer to ACK what was sent (answering its "
		"NACKs meanwhile)."},
	{CFG_U("ha", "tcp_buffer", ha.tcp_buffer, 65536, 1u << 28, 4u << 20),
	 .doc = "With `\"tcp\"`: bytes held while the stream cannot take them (the peer "
		"slow, or not connected yet). What does not fit is dropped whole "
		"(`tcp_tx_dropped`) and left to FTFW: the peer NACKs the gap and the "
		"message is resent from `resend_queue`."},
	{.section = "ha", .type = CFG_CHECK, .parse = dpct_cfg_ha_check},

	/* tcp, checksum, zones: strict tracking (config_tracker.c) */
	{CFG_B("tcp", "be_liberal", tracker.tcp_be_liberal, false),
	 .doc = "Accept TCP segments outside the window (Linux "
		"`nf_conntrack_tcp_be_liberal=1`). Off (default): window tracking as Linux's "
		"`tcp_in_window()`: a segment beyond the receiver's window, an ack of data "
		"never sent, or a RST outside the window is INVALID (reason `tcp_window`); an "
		"old retransmission below the window passes without changing state."},
	{CFG_B("tcp", "loose", tcp_loose, true),
	 .doc = "Pick up connections mid-stream (Linux `nf_conntrack_tcp_loose`). The same "
		"setting as `table.tcp_loose`, which stays readable; when both are given, "
		"`tcp.loose` wins. Picked-up connections are window-tracked liberally in both "
		"directions, as Linux does (their window scale is unknown)."},
	{CFG_U("tcp", "max_retrans", tracker.tcp_max_retrans, 0, 15, 3),
	 .doc = "After this many retransmissions of the same segment the connection's timeout "
		"is capped at `timeouts.tcp_retrans` (Linux `nf_conntrack_tcp_max_retrans`)."},
	{.section = "", .key = "checksum", .type = CFG_ENUM, F(tracker.checksum),
	 .names = checksum_names, .dflt = DPCT_CSUM_VERIFY, .parse = dpct_cfg_checksum,
	 .doc = "`\"verify\"` (Linux `nf_conntrack_checksum=1`): a packet with a wrong IPv4 "
		"header, TCP, UDP, UDP-Lite, ICMP, ICMPv6, SCTP or DCCP checksum is INVALID "
		"(reasons `ip_checksum`, `checksum`) and creates nothing. Results the NIC "
		"reports (`RTE_MBUF_F_RX_IP_CKSUM_*`, `RTE_MBUF_F_RX_L4_CKSUM_*`; dpct "
		"enables the RX checksum offloads a port offers) are used; where the port "
		"says UNKNOWN (vdevs, replay) dpct verifies in software, once, on the worker "
		"that owns the flow. A packet that a `notrack` rule or a policy `notrack` "
		"rule takes out of tracking is not checked: it passes untracked whatever its "
		"checksum, as Linux's raw-table NOTRACK runs before conntrack's check. "
		"`\"off\"`: no checksum is looked at."},
	{.section = "", .key = "zones", .type = CFG_CUSTOM,
	 .parse = dpct_cfg_zones_parse, .emit = dpct_cfg_zones_emit,
	 .doc_type = "array of rules", .doc_default = "`[]`", .doc_range = "at most 64",
	 .doc = "Conntrack zones by where a packet came from. Each rule is `{\"port\": P, "
		"\"vlan\": V, \"zone\": Z}`: `port` a DPDK port id (0..1023, absent = any port), "
		"`vlan` the outer VLAN id (0..4095, or `\"untagged\"`; absent = any), `zone` "
		"0..65535 (required). The first matching rule gives the zone; no match gives "
		"`table.zone`. The zone is part of the key: the same 5-tuple in two zones is "
		"two entries, reported with their CTA_ZONE. A VLAN the NIC stripped "
		"(`RTE_MBUF_F_RX_VLAN_STRIPPED`) is taken from the mbuf."},
	{CFG_ITEM("zones[]", "port", "integer", "any", CFG_F_NODOC)},
	{CFG_ITEM("zones[]", "vlan", "integer or string", "any", CFG_F_NODOC)},
	{CFG_ITEM("zones[]", "zone", "integer", "(required)", CFG_F_NODOC)},

	/* limits that involve more than one section */
	{.section = "", .type = CFG_CHECK, .parse = dpct_cfg_consistency},
};

const unsigned dpct_cfg_n_keys = sizeof(dpct_cfg_keys) / sizeof(dpct_cfg_keys[0]);
