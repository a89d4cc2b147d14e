/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telemetry replies to metrics. dpct's replies are trusted for nothing:
 * a value of the wrong type or a missing key leaves its sample out, and
 * every iteration over a reply is bounded.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "collect.h"

/* The commands of a scrape; their failures are counted under these names. */
#define COLLECT_COMMANDS(X) \
	X(C_STATS, "/dpct/stats", 1) X(C_INFO, "/dpct/info", 1) \
	X(C_SHARDS, "/dpct/shards", 1) X(C_LISTENERS, "/dpct/listeners", 1) \
	X(C_REFUSALS, "/dpct/refusals", 1) X(C_EXPORT, "/dpct/export", 0) \
	X(C_NAT, "/dpct/nat", 0) X(C_TOP, "/dpct/top", 0) X(C_ETHLIST, "/ethdev/list", 1) \
	X(C_ETHSTATS, "/ethdev/stats", 1)

enum cmd_id {
#define CMD_ENUM(id, name, req) id,
	COLLECT_COMMANDS(CMD_ENUM)
#undef CMD_ENUM
	C_MAX
};

static const struct {
	const char *name;
	int required;   /* 0: an older dpct without the command is no error */
} commands[C_MAX] = {
#define CMD_DEF(id, n, r) [id] = { n, r },
	COLLECT_COMMANDS(CMD_DEF)
#undef CMD_DEF
};

/* Since the exporter started. */
static uint64_t cmd_errors[C_MAX];
/* The last error logged per command: the same error is logged once, not per scrape. */
static char last_err[C_MAX][sizeof(((struct tel *)0)->err)];

static void
count_error(enum cmd_id id, const char *err)
{
	cmd_errors[id]++;
	if (strcmp(last_err[id], err) != 0) {
		fprintf(stderr, "dpct-exporter: %s\n", err);
		snprintf(last_err[id], sizeof(last_err[id]), "%s", err);
	}
}

/*
 * Ask `cmd` (the command line, e.g. "/ethdev/stats,0"), counted under `id`;
 * a reply that is not a JSON object (or an array, for `array`) is an error.
 */
static json_t *
ask(struct tel *t, enum cmd_id id, const char *cmd, uint64_t deadline, int array)
{
	json_t *v = NULL;
	int rc;

	rc = tel_cmd(t, cmd, deadline, &v);
	if (rc == -ENOENT && !commands[id].required)
		return NULL;
	if (rc < 0) {
		count_error(id, t->err);
		return NULL;
	}
	if (array ? !json_is_array(v) : !json_is_object(v)) {
		char err[sizeof(last_err[0])];

		snprintf(err, sizeof(err), "%s: the reply is not a JSON %s", cmd,
			 array ? "array" : "object");
		count_error(id, err);
		json_decref(v);
		return NULL;
	}
	if (last_err[id][0] != '\0')
		fprintf(stderr, "dpct-exporter: %s answers again\n", commands[id].name);
	last_err[id][0] = '\0';
	return v;
}

/* A non-negative integer member; 0 when it is one. */
static int
get_u64(json_t *o, const char *key, uint64_t *v)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return -1;
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

static void
add_key(struct prom *p, enum prom_family f, json_t *o, const char *key,
	const struct prom_label *l, unsigned n)
{
	uint64_t v;

	if (get_u64(o, key, &v) == 0)
		prom_add_u64(p, f, l, n, v);
}

struct key_map {
	const char *key;
	enum prom_family fam;
};

/* /dpct/stats members that map one to one onto a family without labels. */
static const struct key_map stats_keys[] = {
	{ "count", F_ENTRIES }, { "dying", F_DYING }, { "max_entries", F_LIMIT },
	{ "early_drop", F_EARLY_DROPS }, { "fill_alarm", F_FILL_ALARMS },
	{ "insert", F_INSERTS }, { "found", F_FOUND }, { "expired", F_EXPIRED },
	{ "deleted", F_DELETED }, { "ignore", F_IGNORED }, { "untracked", F_UNTRACKED },
	{ "notrack", F_NOTRACK }, { "related", F_RELATED }, { "handoff", F_HANDOFF },
	{ "error", F_ERRORS }, { "events_sent", F_EV_SENT }, { "events_failed", F_EV_FAILED },
	{ "events_retried", F_EV_RETRIED }, { "events_unwanted", F_EV_UNWANTED },
	{ "ring_full", F_EV_RING_FULL }, { "listener_dropped", F_EV_LST_DROPPED },
	{ "destroy_resent", F_DESTROY_RESENT }, { "destroy_acked", F_DESTROY_ACKED },
	{ "listener_demoted", F_DEMOTED }, { "listeners_gone", F_LST_GONE },
	{ "subscribe_refused", F_SUB_REFUSED }, { "rx", F_RX }, { "tx", F_TX },
	{ "dropped", F_FWD_DROPPED }, { "exp_sent", F_EXP_SENT }, { "exp_failed", F_EXP_FAILED },
	{ "exp_retried", F_EXP_RETRIED }, { "exp_resent", F_EXP_RESENT },
	{ "exp_destroy_acked", F_EXP_DESTROY_ACKED },
};

/* (entries + dying) / limit, or nothing when a part is missing or the limit is 0. */
static void
add_fill(struct prom *p, enum prom_family f, json_t *o, const struct prom_label *l, unsigned n)
{
	uint64_t c, d, m;

	if (get_u64(o, "count", &c) == 0 && get_u64(o, "dying", &d) == 0 &&
	    get_u64(o, "max_entries", &m) == 0 && m > 0)
		prom_add(p, f, l, n, (double)(c + d) / (double)m);
}

static void
do_stats(struct prom *p, json_t *v)
{
	uint64_t drop, ins_failed = 0, nat_refused = 0, limit = 0, table_full;
	struct prom_label l;
	const char *k;
	json_t *r, *x;
	unsigned i;

	for (i = 0; i < sizeof(stats_keys) / sizeof(stats_keys[0]); i++)
		add_key(p, stats_keys[i].fam, v, stats_keys[i].key, NULL, 0);
	add_fill(p, F_FILL, v, NULL, 0);
	/* drop counts every packet no entry could be created for: table full,
	 * a failed index insert, a translation refusal, or a limit rule. */
	if (get_u64(v, "drop", &drop) == 0) {
		get_u64(v, "insert_failed", &ins_failed);
		get_u64(v, "nat_refused", &nat_refused);
		get_u64(v, "limit_drop", &limit);
		table_full = drop >= ins_failed + nat_refused + limit ?
			     drop - ins_failed - nat_refused - limit : 0;
		l.name = "reason";
		l.value = "table_full";
		prom_add_u64(p, F_DROPS, &l, 1, table_full);
		l.value = "insert_failed";
		prom_add_u64(p, F_DROPS, &l, 1, ins_failed);
		l.value = "nat_refused";
		prom_add_u64(p, F_DROPS, &l, 1, nat_refused);
		l.value = "limit";
		prom_add_u64(p, F_DROPS, &l, 1, limit);
	}
	add_key(p, F_LIMIT_UNCOUNTED, v, "limit_uncounted", NULL, 0);
	r = json_object_get(v, "limit_drop_by_rule");
	if (json_is_object(r)) {
		i = 0;
		json_object_foreach(r, k, x) {
			if (i++ >= COLLECT_MAX_ITEMS)
				break;
			l.name = "rule";
			l.value = k;
			add_key(p, F_LIMIT_DROPS, r, k, &l, 1);
		}
	}
	r = json_object_get(v, "invalid_by_reason");
	if (json_is_object(r)) {
		i = 0;
		json_object_foreach(r, k, x) {
			if (i++ >= COLLECT_MAX_ITEMS)
				break;
			l.name = "reason";
			l.value = k;
			add_key(p, F_INVALID, r, k, &l, 1);
		}
	}
}

static void
do_info(struct prom *p, json_t *v)
{
	json_t *ver = json_object_get(v, "version"), *fwd = json_object_get(v, "fwd");
	struct prom_label l[2] = {
		{ "version", json_is_string(ver) ? json_string_value(ver) : "" },
		{ "fwd", json_is_string(fwd) ? json_string_value(fwd) : "" },
	};

	prom_add_u64(p, F_INFO, l, 2, 1);
	add_key(p, F_WORKERS, v, "workers", NULL, 0);
	add_key(p, F_PORTS, v, "ports", NULL, 0);
}

static void
do_shards(struct prom *p, json_t *v)
{
	struct prom_label l = { "shard", NULL };
	const char *k;
	json_t *s;
	unsigned i = 0;

	json_object_foreach(v, k, s) {
		if (i++ >= COLLECT_MAX_ITEMS)
			break;
		if (!json_is_object(s))
			continue;
		l.value = k;
		add_key(p, F_SH_ENTRIES, s, "count", &l, 1);
		add_key(p, F_SH_DYING, s, "dying", &l, 1);
		add_key(p, F_SH_LIMIT, s, "max_entries", &l, 1);
		add_fill(p, F_SH_FILL, s, &l, 1);
		add_key(p, F_SH_DROPS, s, "drop", &l, 1);
		add_key(p, F_SH_EARLY_DROPS, s, "early_drop", &l, 1);
	}
}

/*
 * /dpct/shards answers as many shards as fit one reply and "next", the
 * first one left out: ask for the following pages (each further from the
 * start, at most COLLECT_MAX_ITEMS shards in all).
 */
static void
do_shards_pages(struct tel *t, struct prom *p, json_t *first_page, uint64_t deadline)
{
	json_t *v = first_page;
	json_int_t first = 0;
	unsigned pages = 1;
	char cmd[48];

	for (;;) {
		json_int_t next = -1;
		json_t *n;

		do_shards(p, v);
		n = json_object_get(v, "next");
		if (json_is_integer(n))
			next = json_integer_value(n);
		if (v != first_page)
			json_decref(v);
		if (next <= first || next >= COLLECT_MAX_ITEMS || pages++ >= COLLECT_MAX_ITEMS)
			return;
		first = next;
		snprintf(cmd, sizeof(cmd), "%s,%lld", commands[C_SHARDS].name, (long long)first);
		v = ask(t, C_SHARDS, cmd, deadline, 0);
		if (v == NULL)
			return;
	}
}

static const char *const listener_states[] = { "pending", "reliable", "unreliable", "demoted" };

static void
do_listeners(struct prom *p, json_t *v)
{
	char slot[24], pid[24], uid[24];
	struct prom_label l[5];
	const char *k, *state, *kind;
	uint64_t n;
	json_t *e;
	unsigned i = 0, s, known;

	json_object_foreach(v, k, e) {
		if (i++ >= COLLECT_MAX_ITEMS)
			break;
		if (!json_is_object(e))
			continue;
		snprintf(slot, sizeof(slot), "%" PRIu64, get_u64(e, "slot", &n) == 0 ? n : 0);
		snprintf(pid, sizeof(pid), "%" PRIu64, get_u64(e, "pid", &n) == 0 ? n : 0);
		snprintf(uid, sizeof(uid), "%" PRIu64, get_u64(e, "uid", &n) == 0 ? n : 0);
		kind = json_string_value(json_object_get(e, "kind"));
		state = json_string_value(json_object_get(e, "state"));
		l[0] = (struct prom_label){ "slot", slot };
		l[1] = (struct prom_label){ "kind", kind != NULL ? kind : "" };
		l[2] = (struct prom_label){ "pid", pid };
		l[3] = (struct prom_label){ "uid", uid };
		add_key(p, F_LST_SENT, e, "sent", l, 4);
		add_key(p, F_LST_FAILED, e, "failed", l, 4);
		add_key(p, F_LST_DROPPED, e, "dropped", l, 4);
		if (state == NULL)
			continue;
		known = 0;
		for (s = 0; s < sizeof(listener_states) / sizeof(listener_states[0]); s++) {
			int on = strcmp(state, listener_states[s]) == 0;

			l[4] = (struct prom_label){ "state", listener_states[s] };
			prom_add_u64(p, F_LST_STATE, l, 5, (uint64_t)on);
			known |= on;
		}
		if (!known) {
			l[4] = (struct prom_label){ "state", state };
			prom_add_u64(p, F_LST_STATE, l, 5, 1);
		}
	}
}

static void
do_refusals(struct prom *p, json_t *v)
{
	struct prom_label l[2];
	const char *k, *r;
	json_t *e, *x;
	unsigned i = 0;

	json_object_foreach(v, k, e) {
		if (!json_is_object(e))
			continue;
		l[0] = (struct prom_label){ "uid", k };
		json_object_foreach(e, r, x) {
			if (i++ >= COLLECT_MAX_ITEMS)
				return;
			l[1] = (struct prom_label){ "reason", r };
			add_key(p, F_REFUSALS, e, r, l, 2);
		}
	}
}

static const struct key_map export_keys[] = {
	{ "connected", F_COLL_UP }, { "records_sent", F_COLL_RECORDS },
	{ "records_lost", F_COLL_LOST }, { "records_refused", F_COLL_REFUSED },
	{ "bytes", F_COLL_BYTES }, { "reconnects", F_COLL_RECONNECTS },
	{ "connect_failures", F_COLL_CONNFAIL }, { "send_errors", F_COLL_SENDERR },
	{ "queue_dropped", F_COLL_QDROP }, { "queue_bytes", F_COLL_QBYTES },
};

static void
do_export(struct prom *p, json_t *v)
{
	char coll[320];
	struct prom_label l[2];
	const char *k, *host, *tr;
	uint64_t port = 0;
	json_t *e;
	unsigned i = 0, j;

	json_object_foreach(v, k, e) {
		if (i++ >= COLLECT_MAX_ITEMS)
			break;
		if (!json_is_object(e))
			continue;
		host = json_string_value(json_object_get(e, "host"));
		tr = json_string_value(json_object_get(e, "transport"));
		get_u64(e, "port", &port);
		if (host == NULL)
			host = "";
		snprintf(coll, sizeof(coll), strchr(host, ':') != NULL ? "[%.256s]:%" PRIu64 :
			 "%.256s:%" PRIu64, host, port);
		l[0] = (struct prom_label){ "collector", coll };
		l[1] = (struct prom_label){ "transport", tr != NULL ? tr : "" };
		for (j = 0; j < sizeof(export_keys) / sizeof(export_keys[0]); j++)
			add_key(p, export_keys[j].fam, e, export_keys[j].key, l, 2);
	}
}

static void
do_nat(struct prom *p, json_t *v)
{
	json_t *tot = json_object_get(v, "totals");
	uint64_t en = 0, used, cap;

	if (get_u64(v, "enabled", &en) != 0)
		return;
	prom_add_u64(p, F_NAT_ENABLED, NULL, 0, en);
	if (en == 0 || !json_is_object(tot))
		return;
	add_key(p, F_NAT_BOUND, tot, "bound", NULL, 0);
	add_key(p, F_NAT_RELEASED, tot, "released", NULL, 0);
	add_key(p, F_NAT_EXHAUSTED, tot, "exhausted", NULL, 0);
	add_key(p, F_NAT_REFUSED, tot, "refused", NULL, 0);
	add_key(p, F_NAT_IN_USE, tot, "ports_in_use", NULL, 0);
	add_key(p, F_NAT_CAPACITY, tot, "ports_total", NULL, 0);
	if (get_u64(tot, "ports_in_use", &used) == 0 && get_u64(tot, "ports_total", &cap) == 0 &&
	    cap > 0)
		prom_add(p, F_NAT_USAGE, NULL, 0, (double)used / (double)cap);
}

/* /dpct/top: the heaviest sources, "1".."n" each {addr, zone, entries}. */
static void
do_top(struct prom *p, json_t *v)
{
	struct prom_label l[2];
	char zone[24];
	const char *k, *addr;
	uint64_t z;
	json_t *e;
	unsigned i = 0;

	add_key(p, F_TOP_BOUND, v, "error_bound", NULL, 0);
	json_object_foreach(v, k, e) {
		if (i++ >= COLLECT_MAX_ITEMS)
			break;
		if (!json_is_object(e))
			continue;
		addr = json_string_value(json_object_get(e, "addr"));
		if (addr == NULL || get_u64(e, "zone", &z) != 0)
			continue;
		snprintf(zone, sizeof(zone), "%" PRIu64, z);
		l[0] = (struct prom_label){ "addr", addr };
		l[1] = (struct prom_label){ "zone", zone };
		add_key(p, F_TOP_SRC, e, "entries", l, 2);
	}
}

static const struct key_map eth_keys[] = {
	{ "ipackets", F_PORT_RX }, { "opackets", F_PORT_TX }, { "ibytes", F_PORT_RXB },
	{ "obytes", F_PORT_TXB }, { "imissed", F_PORT_MISSED }, { "ierrors", F_PORT_RXERR },
	{ "oerrors", F_PORT_TXERR }, { "rx_nombuf", F_PORT_NOMBUF },
};

/* The most ports asked for in one scrape (one command each). */
#define COLLECT_MAX_PORTS 64

static void
do_ports(struct tel *t, struct prom *p, json_t *list, uint64_t deadline)
{
	char cmd[48], port[24];
	struct prom_label l = { "port", port };
	json_t *id, *st;
	size_t i;
	unsigned j;

	json_array_foreach(list, i, id) {
		if (i >= COLLECT_MAX_PORTS)
			break;
		if (!json_is_integer(id) || json_integer_value(id) < 0 ||
		    json_integer_value(id) > 65535)
			continue;
		snprintf(port, sizeof(port), "%" JSON_INTEGER_FORMAT, json_integer_value(id));
		snprintf(cmd, sizeof(cmd), "/ethdev/stats,%s", port);
		st = ask(t, C_ETHSTATS, cmd, deadline, 0);
		if (st == NULL)
			continue;
		for (j = 0; j < sizeof(eth_keys) / sizeof(eth_keys[0]); j++)
			add_key(p, eth_keys[j].fam, st, eth_keys[j].key, &l, 1);
		json_decref(st);
	}
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
collect_scrape(struct tel *t, struct prom *p, unsigned timeout_ms)
{
	uint64_t deadline = tel_now_ms() + timeout_ms;
	double start = now_s();
	struct prom_label l = { "command", NULL };
	json_t *v;
	int up = 0;
	unsigned i;

	v = ask(t, C_STATS, commands[C_STATS].name, deadline, 0);
	if (v != NULL) {
		up = 1;
		do_stats(p, v);
	}
	json_decref(v);
	/* Without /dpct/stats dpct is not there (or shutting down): ask nothing more. */
	for (i = C_STATS + 1; up && i < C_MAX; i++) {
		if (i == C_ETHSTATS)
			continue;
		v = ask(t, i, commands[i].name, deadline, i == C_ETHLIST);
		if (v == NULL)
			continue;
		switch (i) {
		case C_INFO:
			do_info(p, v);
			break;
		case C_SHARDS:
			do_shards_pages(t, p, v, deadline);
			break;
		case C_LISTENERS:
			do_listeners(p, v);
			break;
		case C_REFUSALS:
			do_refusals(p, v);
			break;
		case C_EXPORT:
			do_export(p, v);
			break;
		case C_NAT:
			do_nat(p, v);
			break;
		case C_TOP:
			do_top(p, v);
			break;
		case C_ETHLIST:
			do_ports(t, p, v, deadline);
			break;
		default:
			break;
		}
		json_decref(v);
	}
	/* A fresh connection each scrape: a restarted dpct is found next time. */
	tel_close(t);
	prom_add_u64(p, F_UP, NULL, 0, (uint64_t)up);
	prom_add(p, F_SCRAPE_SECONDS, NULL, 0, now_s() - start);
	for (i = 0; i < C_MAX; i++) {
		l.value = commands[i].name;
		prom_add_u64(p, F_CMD_ERRORS, &l, 1, cmd_errors[i]);
	}
	return up;
}
