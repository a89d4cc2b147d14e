/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EXPORTER_FAMILIES_H
#define DPCT_EXPORTER_FAMILIES_H

/*
 * Every metric family dpct-exporter emits: X(id, name, type, help).
 * docs/monitoring.md describes each one; `dpct-exporter --list-metrics`
 * prints this table, and the tests check the alerts and the dashboard
 * against it.
 */
#define PROM_FAMILIES(X) \
	/* The exporter itself */ \
	X(F_UP, "dpct_up", PROM_GAUGE, \
	  "1 when this scrape reached dpct's telemetry socket and /dpct/stats answered, else 0.") \
	X(F_SCRAPE_SECONDS, "dpct_exporter_scrape_duration_seconds", PROM_GAUGE, \
	  "Seconds this scrape spent talking to dpct.") \
	X(F_CMD_ERRORS, "dpct_exporter_command_errors_total", PROM_COUNTER, \
	  "Telemetry commands that failed (no socket, timeout, oversize or unparsable reply), " \
	  "since the exporter started.") \
	/* /dpct/info */ \
	X(F_INFO, "dpct_info", PROM_GAUGE, "Always 1; labels: dpct version and forwarding mode.") \
	X(F_WORKERS, "dpct_workers", PROM_GAUGE, "Worker lcores (one table shard each).") \
	X(F_PORTS, "dpct_ports", PROM_GAUGE, "Ports dpct forwards between.") \
	/* /dpct/stats: the table */ \
	X(F_ENTRIES, "dpct_entries", PROM_GAUGE, "Live (not dying) conntrack entries.") \
	X(F_DYING, "dpct_dying_entries", PROM_GAUGE, \
	  "Entries waiting for their DESTROY to be delivered to a reliable listener " \
	  "(undelivered DESTROYs); they hold a slot.") \
	X(F_LIMIT, "dpct_entries_limit", PROM_GAUGE, \
	  "Table capacity (table.max_entries summed over the shards).") \
	X(F_FILL, "dpct_table_fill_ratio", PROM_GAUGE, \
	  "(entries + dying entries) / limit: 1 means new connections are dropped or " \
	  "early-dropped.") \
	X(F_DROPS, "dpct_drops_total", PROM_COUNTER, \
	  "Packets of new connections dropped because no entry could be created, by reason " \
	  "(table_full, insert_failed, nat_refused, limit); their sum is --stats-json's drop.") \
	X(F_LIMIT_DROPS, "dpct_limit_drops_total", PROM_COUNTER, \
	  "New connections a limit rule refused, by rule (limits.rules[].name); their sum is " \
	  "dpct_drops_total{reason=\"limit\"}.") \
	X(F_LIMIT_UNCOUNTED, "dpct_limit_uncounted_total", PROM_COUNTER, \
	  "New connections admitted without a limit count: a worker's limit table was full " \
	  "(limits.keys).") \
	X(F_EARLY_DROPS, "dpct_early_drops_total", PROM_COUNTER, \
	  "Unassured entries evicted to make room for a new connection (table full).") \
	X(F_INVALID, "dpct_invalid_packets_total", PROM_COUNTER, \
	  "Invalid packets by reason (invalid.policy decides whether they pass).") \
	X(F_FILL_ALARMS, "dpct_fill_alarms_total", PROM_COUNTER, \
	  "Times a shard crossed fill_alarm.high_pct.") \
	X(F_INSERTS, "dpct_inserts_total", PROM_COUNTER, "Entries created.") \
	X(F_FOUND, "dpct_found_total", PROM_COUNTER, "Packets that matched an existing entry.") \
	X(F_EXPIRED, "dpct_expired_total", PROM_COUNTER, "Entries that timed out.") \
	X(F_DELETED, "dpct_deleted_total", PROM_COUNTER, \
	  "Entries deleted by flush or delete commands.") \
	X(F_IGNORED, "dpct_ignored_packets_total", PROM_COUNTER, \
	  "Packets a tracker accepted without changing their entry's state " \
	  "(conntrack -S ignore).") \
	X(F_UNTRACKED, "dpct_untracked_packets_total", PROM_COUNTER, \
	  "Packets passed untracked: non-IP frames and non-first fragments.") \
	X(F_NOTRACK, "dpct_notrack_packets_total", PROM_COUNTER, \
	  "Packets a notrack or policy notrack rule exempted from tracking.") \
	X(F_RELATED, "dpct_related_total", PROM_COUNTER, \
	  "ICMP errors matched to the entry they quote.") \
	X(F_HANDOFF, "dpct_handoff_packets_total", PROM_COUNTER, \
	  "Packets handed to another worker (symmetric RSS not working when it grows).") \
	X(F_ERRORS, "dpct_errors_total", PROM_COUNTER, "Internal errors (conntrack -S error).") \
	/* /dpct/stats: events */ \
	X(F_EV_SENT, "dpct_events_sent_total", PROM_COUNTER, \
	  "Event records accepted by at least one listener socket.") \
	X(F_EV_FAILED, "dpct_events_failed_total", PROM_COUNTER, \
	  "Event records a reliable listener refused (they are re-sent).") \
	X(F_EV_RETRIED, "dpct_events_retried_total", PROM_COUNTER, \
	  "Event records carrying previously missed events.") \
	X(F_EV_UNWANTED, "dpct_events_unwanted_total", PROM_COUNTER, \
	  "NEW/UPDATE records not built because no listener wants that kind.") \
	X(F_EV_RING_FULL, "dpct_event_ring_full_total", PROM_COUNTER, \
	  "Event records that did not fit in a worker's event ring.") \
	X(F_EV_LST_DROPPED, "dpct_listener_dropped_total", PROM_COUNTER, \
	  "Event messages unreliable listeners lost.") \
	X(F_EXP_SENT, "dpct_expect_events_sent_total", PROM_COUNTER, \
	  "Expectation messages accepted by at least one listener socket.") \
	X(F_EXP_FAILED, "dpct_expect_events_failed_total", PROM_COUNTER, \
	  "Expectation messages a reliable listener refused (they are re-sent).") \
	X(F_EXP_RETRIED, "dpct_expect_events_retried_total", PROM_COUNTER, \
	  "Expectation records carrying a previously missed NEW.") \
	X(F_EXP_RESENT, "dpct_expect_destroy_resent_total", PROM_COUNTER, \
	  "Expectation DESTROYs sent again after their grace timer.") \
	X(F_EXP_DESTROY_ACKED, "dpct_expect_destroy_acked_total", PROM_COUNTER, \
	  "Expectation DESTROYs delivered (their slots freed).") \
	X(F_DESTROY_RESENT, "dpct_destroy_resent_total", PROM_COUNTER, \
	  "DESTROYs sent again after their grace timer: a reliable listener did not take them.") \
	X(F_DESTROY_ACKED, "dpct_destroy_acked_total", PROM_COUNTER, \
	  "DESTROYs delivered (their slots freed).") \
	X(F_DEMOTED, "dpct_listener_demotions_total", PROM_COUNTER, \
	  "Reliable listeners demoted to unreliable (stalled or holding too many dying entries).") \
	X(F_LST_GONE, "dpct_listeners_gone_total", PROM_COUNTER, \
	  "Listeners removed because their socket went away.") \
	X(F_SUB_REFUSED, "dpct_subscribe_refused_total", PROM_COUNTER, \
	  "Event subscriptions refused (uid not allowed, over its limit, no slot).") \
	/* /dpct/stats: ports summed */ \
	X(F_RX, "dpct_received_packets_total", PROM_COUNTER, \
	  "Packets dpct received, all ports.") \
	X(F_TX, "dpct_transmitted_packets_total", PROM_COUNTER, \
	  "Packets dpct transmitted, all ports.") \
	X(F_FWD_DROPPED, "dpct_forward_dropped_packets_total", PROM_COUNTER, \
	  "Packets dpct did not forward (verdict drops and transmit drops), all ports.") \
	/* /dpct/shards */ \
	X(F_SH_ENTRIES, "dpct_shard_entries", PROM_GAUGE, "Live entries of one shard.") \
	X(F_SH_DYING, "dpct_shard_dying_entries", PROM_GAUGE, "Dying entries of one shard.") \
	X(F_SH_LIMIT, "dpct_shard_entries_limit", PROM_GAUGE, "Capacity of one shard.") \
	X(F_SH_FILL, "dpct_shard_fill_ratio", PROM_GAUGE, \
	  "(entries + dying) / limit of one shard: a shard full drops even when the table " \
	  "is not.") \
	X(F_SH_DROPS, "dpct_shard_drops_total", PROM_COUNTER, \
	  "Packets of new connections one shard dropped (all reasons).") \
	X(F_SH_EARLY_DROPS, "dpct_shard_early_drops_total", PROM_COUNTER, \
	  "Entries one shard early-dropped.") \
	/* /dpct/listeners */ \
	X(F_LST_STATE, "dpct_listener_state", PROM_GAUGE, \
	  "1 for the state an event listener is in (pending, reliable, unreliable, demoted), " \
	  "0 for the others.") \
	X(F_LST_SENT, "dpct_listener_sent_total", PROM_COUNTER, \
	  "Messages one listener's socket accepted.") \
	X(F_LST_FAILED, "dpct_listener_failed_total", PROM_COUNTER, \
	  "Messages one listener's socket refused.") \
	X(F_LST_DROPPED, "dpct_listener_messages_dropped_total", PROM_COUNTER, \
	  "Messages one (unreliable) listener lost.") \
	/* /dpct/refusals */ \
	X(F_REFUSALS, "dpct_event_refusals_total", PROM_COUNTER, \
	  "Event connections refused or closed, by uid and reason.") \
	/* /dpct/export */ \
	X(F_COLL_UP, "dpct_export_collector_up", PROM_GAUGE, \
	  "1 when a TCP IPFIX collector is connected, else 0; always 1 for UDP (no connection).") \
	X(F_COLL_RECORDS, "dpct_export_records_sent_total", PROM_COUNTER, \
	  "IPFIX records sent to one collector.") \
	X(F_COLL_LOST, "dpct_export_records_lost_total", PROM_COUNTER, \
	  "IPFIX records lost for one collector.") \
	X(F_COLL_REFUSED, "dpct_export_records_refused_total", PROM_COUNTER, \
	  "IPFIX records one collector's queue refused.") \
	X(F_COLL_BYTES, "dpct_export_sent_bytes_total", PROM_COUNTER, \
	  "IPFIX bytes sent to one collector.") \
	X(F_COLL_RECONNECTS, "dpct_export_reconnects_total", PROM_COUNTER, \
	  "Reconnections to one (TCP) collector.") \
	X(F_COLL_CONNFAIL, "dpct_export_connect_failures_total", PROM_COUNTER, \
	  "Failed connection attempts to one collector.") \
	X(F_COLL_SENDERR, "dpct_export_send_errors_total", PROM_COUNTER, \
	  "Send errors towards one collector.") \
	X(F_COLL_QDROP, "dpct_export_queue_dropped_total", PROM_COUNTER, \
	  "Records dropped from one collector's queue.") \
	X(F_COLL_QBYTES, "dpct_export_queue_bytes", PROM_GAUGE, \
	  "Bytes waiting in one collector's queue.") \
	/* /dpct/top */ \
	X(F_TOP_SRC, "dpct_top_source_entries", PROM_GAUGE, \
	  "Live entries of the heaviest sources (ten, by address and zone), from the workers' " \
	  "sketches: at most dpct_top_error_bound_entries over the truth.") \
	X(F_TOP_BOUND, "dpct_top_error_bound_entries", PROM_GAUGE, \
	  "How far a dpct_top_source_entries value may exceed the true count (Count-Min bound, " \
	  "98 % confidence).") \
	/* /ethdev/stats */ \
	X(F_PORT_RX, "dpct_port_received_packets_total", PROM_COUNTER, \
	  "Packets one port received (ethdev ipackets).") \
	X(F_PORT_TX, "dpct_port_transmitted_packets_total", PROM_COUNTER, \
	  "Packets one port transmitted (ethdev opackets).") \
	X(F_PORT_RXB, "dpct_port_received_bytes_total", PROM_COUNTER, \
	  "Bytes one port received (ethdev ibytes).") \
	X(F_PORT_TXB, "dpct_port_transmitted_bytes_total", PROM_COUNTER, \
	  "Bytes one port transmitted (ethdev obytes).") \
	X(F_PORT_MISSED, "dpct_port_missed_packets_total", PROM_COUNTER, \
	  "Packets one port's receive queues had no room for (ethdev imissed).") \
	X(F_PORT_RXERR, "dpct_port_receive_errors_total", PROM_COUNTER, \
	  "Receive errors of one port (ethdev ierrors).") \
	X(F_PORT_TXERR, "dpct_port_transmit_errors_total", PROM_COUNTER, \
	  "Transmit errors of one port (ethdev oerrors).") \
	X(F_PORT_NOMBUF, "dpct_port_rx_nombuf_total", PROM_COUNTER, \
	  "Receive mbuf allocation failures of one port (ethdev rx_nombuf).") \
	/* /dpct/nat */ \
	X(F_NAT_ENABLED, "dpct_nat_enabled", PROM_GAUGE, "1 when translation is configured.") \
	X(F_NAT_BOUND, "dpct_nat_bindings_total", PROM_COUNTER, "Translation bindings made.") \
	X(F_NAT_RELEASED, "dpct_nat_releases_total", PROM_COUNTER, \
	  "Translation bindings released.") \
	X(F_NAT_EXHAUSTED, "dpct_nat_exhausted_total", PROM_COUNTER, \
	  "New connections refused because their pool had no address or port left.") \
	X(F_NAT_REFUSED, "dpct_nat_refused_total", PROM_COUNTER, \
	  "New connections translation refused (all reasons; their packets are dropped).") \
	X(F_NAT_IN_USE, "dpct_nat_ports_in_use", PROM_GAUGE, \
	  "Pool ports bound, all pools.") \
	X(F_NAT_CAPACITY, "dpct_nat_ports_capacity", PROM_GAUGE, \
	  "Pool ports that can be bound, all pools.") \
	X(F_NAT_USAGE, "dpct_nat_pool_usage_ratio", PROM_GAUGE, \
	  "dpct_nat_ports_in_use / dpct_nat_ports_capacity.")

#endif
