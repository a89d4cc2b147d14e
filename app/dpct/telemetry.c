/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telemetry commands under /dpct/. They run in DPDK's telemetry threads and
 * never touch a shard: counters come from the workers' published
 * snapshots, and list/flush/delete go through each worker's mailbox, which
 * the worker services between bursts.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_telemetry.h>

#include "dpct.h"

#define MBOX_TIMEOUT_MS 2000
#define LIST_DEFAULT 32
/* A telemetry reply is at most 16 KiB: keep a page of entries well below. */
#define LIST_MAX 40

/* One telemetry client at a time drives the mailboxes. */
static pthread_mutex_t mbox_lock = PTHREAD_MUTEX_INITIALIZER;


int
dpct_mbox_call(struct dpct_worker *w, unsigned timeout_ms)
{
	struct dpct_mbox *mb = &w->mbox;
	uint64_t deadline = rte_rdtsc() + (uint64_t)timeout_ms * dpct.tsc_hz / 1000;

	atomic_store_explicit(&mb->state, 1, memory_order_release);
	while (atomic_load_explicit(&mb->state, memory_order_acquire) != 2) {
		if (rte_rdtsc() > deadline ||
		    atomic_load_explicit(&dpct.quit, memory_order_relaxed)) {
			unsigned one = 1;

			/* Withdraw the request unless the worker already took it. */
			if (atomic_compare_exchange_strong(&mb->state, &one, 0))
				return -ETIMEDOUT;
			continue;
		}
		usleep(100);
	}
	atomic_store_explicit(&mb->state, 0, memory_order_relaxed);
	return 0;
}

static void
add_stats(struct rte_tel_data *d, const struct ct_stats *st)
{
#define CT_X_TEL(f) rte_tel_data_add_dict_u64(d, #f, st->f);
	CT_STATS_TABLE(CT_X_TEL)
#undef CT_X_TEL
	rte_tel_data_add_dict_u64(d, "count", st->count);
	rte_tel_data_add_dict_u64(d, "dying", st->dying);
	rte_tel_data_add_dict_u64(d, "max_entries", st->max_entries);
}

static void
totals(struct ct_stats *st)
{
	struct ct_stats one;
	unsigned i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < dpct.n_workers; i++) {
		dpct_snapshot_read(&dpct.workers[i], &one);
		ct_stats_add(st, &one);
	}
}

/* Shutdown frees the workers: answer nothing once it has begun. */
#define TEL_GUARD() do { \
	if (atomic_load_explicit(&dpct.quit, memory_order_acquire) || dpct.workers == NULL) \
		return -ESHUTDOWN; \
} while (0)

static int
cmd_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	TEL_GUARD();
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", "0.1.0");
	rte_tel_data_add_dict_u64(d, "workers", dpct.n_workers);
	rte_tel_data_add_dict_u64(d, "ports", dpct.n_ports);
	rte_tel_data_add_dict_string(d, "fwd", dpct.fwd->name);
	rte_tel_data_add_dict_u64(d, "replay", dpct.opts.replay);
	rte_tel_data_add_dict_u64(d, "max_entries", dpct.cfg.max_entries);
	rte_tel_data_add_dict_u64(d, "events", dpct.cfg.events_enabled);
	return 0;
}

static int
cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ct_stats st;

	TEL_GUARD();
	(void)cmd;
	(void)params;
	totals(&st);
	rte_tel_data_start_dict(d);
	add_stats(d, &st);
	return 0;
}

static int
cmd_shards(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ct_stats st;
	char name[16];
	unsigned i;

	TEL_GUARD();
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	for (i = 0; i < dpct.n_workers && i < RTE_TEL_MAX_DICT_ENTRIES; i++) {
		struct rte_tel_data *s = rte_tel_data_alloc();

		if (s == NULL)
			return -ENOMEM;
		dpct_snapshot_read(&dpct.workers[i], &st);
		rte_tel_data_start_dict(s);
		rte_tel_data_add_dict_u64(s, "lcore", dpct.workers[i].lcore);
		rte_tel_data_add_dict_u64(s, "count", st.count);
		rte_tel_data_add_dict_u64(s, "dying", st.dying);
		rte_tel_data_add_dict_u64(s, "max_entries", st.max_entries);
		rte_tel_data_add_dict_u64(s, "insert", st.insert);
		rte_tel_data_add_dict_u64(s, "found", st.found);
		rte_tel_data_add_dict_u64(s, "invalid", st.invalid);
		rte_tel_data_add_dict_u64(s, "drop", st.drop);
		rte_tel_data_add_dict_u64(s, "handoff", st.handoff);
		rte_tel_data_add_dict_u64(s, "expired", st.expired);
		snprintf(name, sizeof(name), "%u", i);
		rte_tel_data_add_dict_container(d, name, s, 0);
	}
	return 0;
}

static int
cmd_count(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ct_stats st;

	TEL_GUARD();
	(void)cmd;
	(void)params;
	totals(&st);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "count", st.count);
	rte_tel_data_add_dict_u64(d, "dying", st.dying);
	rte_tel_data_add_dict_u64(d, "max", st.max_entries);
	return 0;
}

static void
addr_str(const uint8_t *a, uint8_t family, char *buf, size_t len)
{
	if (inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

static void
add_entry(struct rte_tel_data *d, const char *key, const struct ct_event_rec *r)
{
	struct rte_tel_data *e = rte_tel_data_alloc();
	struct ct_tuple rev;
	char a[INET6_ADDRSTRLEN];

	if (e == NULL)
		return;
	ct_tuple_reverse(&rev, &r->orig);
	rte_tel_data_start_dict(e);
	rte_tel_data_add_dict_string(e, "proto", ct_proto_name(r->orig.proto));
	rte_tel_data_add_dict_u64(e, "protonum", r->orig.proto);
	rte_tel_data_add_dict_u64(e, "family", r->orig.family);
	if (r->orig.proto == IPPROTO_TCP)
		rte_tel_data_add_dict_string(e, "state", ct_tcp_state_name(r->tcp_state));
	rte_tel_data_add_dict_u64(e, "status", r->status);
	rte_tel_data_add_dict_u64(e, "timeout", r->timeout_s);
	addr_str(r->orig.src, r->orig.family, a, sizeof(a));
	rte_tel_data_add_dict_string(e, "src", a);
	addr_str(r->orig.dst, r->orig.family, a, sizeof(a));
	rte_tel_data_add_dict_string(e, "dst", a);
	rte_tel_data_add_dict_u64(e, "sport", r->orig.sport);
	rte_tel_data_add_dict_u64(e, "dport", r->orig.dport);
	rte_tel_data_add_dict_u64(e, "packets", r->pkts[0]);
	rte_tel_data_add_dict_u64(e, "bytes", r->bytes[0]);
	addr_str(rev.src, rev.family, a, sizeof(a));
	rte_tel_data_add_dict_string(e, "rsrc", a);
	addr_str(rev.dst, rev.family, a, sizeof(a));
	rte_tel_data_add_dict_string(e, "rdst", a);
	rte_tel_data_add_dict_u64(e, "rsport", rev.sport);
	rte_tel_data_add_dict_u64(e, "rdport", rev.dport);
	rte_tel_data_add_dict_u64(e, "rpackets", r->pkts[1]);
	rte_tel_data_add_dict_u64(e, "rbytes", r->bytes[1]);
	rte_tel_data_add_dict_u64(e, "zone", r->orig.zone);
	rte_tel_data_add_dict_u64(e, "mark", r->mark);
	rte_tel_data_add_dict_u64(e, "id", r->id);
	rte_tel_data_add_dict_u64(e, "shard", r->shard);
	rte_tel_data_add_dict_container(d, key, e, 0);
}

/*
 * "/dpct/list,<cursor>[,<max>]": a page of entries. The cursor is
 * shard << 32 | position in that shard; "next" is 0 when the walk is done.
 */
static int
list_common(const char *params, struct rte_tel_data *d, unsigned op)
{
	uint64_t cursor = 0;
	unsigned max = LIST_DEFAULT, shard, got = 0;
	char key[16], *end;
	int rc = 0;

	if (params != NULL && *params != '\0') {
		cursor = strtoull(params, &end, 0);
		if (*end == ',')
			max = (unsigned)strtoul(end + 1, &end, 0);
		if (*end != '\0')
			return -EINVAL;
	}
	if (max == 0 || max > LIST_MAX)
		max = LIST_MAX;
	shard = (unsigned)(cursor >> 32);
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&mbox_lock);
	while (shard < dpct.n_workers && got < max) {
		struct dpct_worker *w = &dpct.workers[shard];
		unsigned i;

		w->mbox.op = op;
		w->mbox.cursor = (uint32_t)cursor;
		w->mbox.max = max - got;
		rc = dpct_mbox_call(w, MBOX_TIMEOUT_MS);
		if (rc < 0)
			break;
		for (i = 0; i < w->mbox.n; i++) {
			snprintf(key, sizeof(key), "%u", got++);
			add_entry(d, key, &w->mbox.recs[i]);
		}
		if (w->mbox.cursor == UINT32_MAX) {
			shard++;
			cursor = (uint64_t)shard << 32;
		} else {
			cursor = (uint64_t)shard << 32 | w->mbox.cursor;
		}
	}
	pthread_mutex_unlock(&mbox_lock);
	if (rc < 0)
		return rc;
	rte_tel_data_add_dict_u64(d, "n", got);
	rte_tel_data_add_dict_u64(d, "next", shard >= dpct.n_workers ? 0 : cursor);
	return 0;
}

static int
cmd_list(const char *cmd, const char *params, struct rte_tel_data *d)
{
	TEL_GUARD();
	(void)cmd;
	return list_common(params, d, DPCT_MB_LIST);
}

static int
cmd_dying(const char *cmd, const char *params, struct rte_tel_data *d)
{
	TEL_GUARD();
	(void)cmd;
	return list_common(params, d, DPCT_MB_DYING);
}

static int
cmd_flush(const char *cmd, const char *params, struct rte_tel_data *d)
{
	uint64_t removed = 0;
	unsigned i;
	int rc = 0;

	TEL_GUARD();
	(void)cmd;
	(void)params;
	pthread_mutex_lock(&mbox_lock);
	for (i = 0; i < dpct.n_workers; i++) {
		dpct.workers[i].mbox.op = DPCT_MB_FLUSH;
		rc = dpct_mbox_call(&dpct.workers[i], MBOX_TIMEOUT_MS);
		if (rc < 0)
			break;
		removed += dpct.workers[i].mbox.n;
	}
	pthread_mutex_unlock(&mbox_lock);
	if (rc < 0)
		return rc;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "deleted", removed);
	return 0;
}

static int
parse_addr(const char *s, uint8_t *out, uint8_t *family)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = 6;
		return 0;
	}
	return -EINVAL;
}

static int
parse_proto(const char *s)
{
	char *end;
	long v;

	if (strcmp(s, "tcp") == 0)
		return IPPROTO_TCP;
	if (strcmp(s, "udp") == 0)
		return IPPROTO_UDP;
	if (strcmp(s, "icmp") == 0)
		return IPPROTO_ICMP;
	if (strcmp(s, "icmpv6") == 0)
		return IPPROTO_ICMPV6;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > 255)
		return -EINVAL;
	return (int)v;
}

/* "/dpct/delete,<proto>,<src>,<dst>,<sport>,<dport>" */
static int
cmd_delete(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char buf[256], *f[5], *save = NULL, *end;
	struct ct_tuple t;
	uint8_t fam2;
	unsigned i, owner;
	unsigned long port;
	int proto, rc;

	TEL_GUARD();
	(void)cmd;
	if (params == NULL || strlen(params) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", params);
	for (i = 0; i < 5; i++) {
		f[i] = strtok_r(i == 0 ? buf : NULL, ",", &save);
		if (f[i] == NULL)
			return -EINVAL;
	}
	memset(&t, 0, sizeof(t));
	proto = parse_proto(f[0]);
	if (proto < 0 || parse_addr(f[1], t.src, &t.family) < 0 ||
	    parse_addr(f[2], t.dst, &fam2) < 0 || fam2 != t.family)
		return -EINVAL;
	t.proto = (uint8_t)proto;
	t.zone = dpct.cfg.zone;
	for (i = 3; i < 5; i++) {
		port = strtoul(f[i], &end, 10);
		if (*end != '\0' || port > 65535)
			return -EINVAL;
		if (i == 3)
			t.sport = (uint16_t)port;
		else
			t.dport = (uint16_t)port;
	}
	owner = ct_hash_owner(ct_tuple_hash(&t), dpct.n_workers);
	pthread_mutex_lock(&mbox_lock);
	dpct.workers[owner].mbox.op = DPCT_MB_DELETE;
	dpct.workers[owner].mbox.tuple = t;
	rc = dpct_mbox_call(&dpct.workers[owner], MBOX_TIMEOUT_MS);
	if (rc == 0)
		rc = dpct.workers[owner].mbox.rc;
	pthread_mutex_unlock(&mbox_lock);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "rc", rc);
	rte_tel_data_add_dict_u64(d, "deleted", rc == 0);
	return 0;
}

static int
cmd_listeners(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ev_listener_info li[64];
	unsigned n = 0, i;
	char key[16];

	TEL_GUARD();
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	/* ev_ctl belongs to the main lcore; its listener table is copied, not
	 * modified, and a torn copy only misreports a counter. */
	if (dpct.ctl != NULL)
		n = ev_ctl_listeners(dpct.ctl, li, RTE_DIM(li));
	for (i = 0; i < n; i++) {
		struct rte_tel_data *e = rte_tel_data_alloc();

		if (e == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(e);
		rte_tel_data_add_dict_u64(e, "port_id", li[i].port_id);
		rte_tel_data_add_dict_u64(e, "uid", li[i].uid);
		rte_tel_data_add_dict_u64(e, "pid", li[i].pid);
		rte_tel_data_add_dict_u64(e, "mask", li[i].mask);
		rte_tel_data_add_dict_u64(e, "reliable", li[i].reliable);
		rte_tel_data_add_dict_u64(e, "sent", li[i].sent);
		rte_tel_data_add_dict_u64(e, "failed", li[i].failed);
		rte_tel_data_add_dict_u64(e, "dropped", li[i].dropped);
		rte_tel_data_add_dict_u64(e, "seq", li[i].seq);
		rte_tel_data_add_dict_u64(e, "slot", li[i].slot);
		rte_tel_data_add_dict_string(e, "kind", li[i].kind);
		rte_tel_data_add_dict_string(e, "state", ev_listener_state_name(li[i].state));
		snprintf(key, sizeof(key), "%u", i);
		rte_tel_data_add_dict_container(d, key, e, 0);
	}
	return 0;
}

/* The config, one level deep: each section as a dict of JSON-encoded values. */
static int
cmd_config(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const char *k, *k2;
	json_t *root, *v, *v2;
	char *text, *s;

	TEL_GUARD();
	(void)cmd;
	(void)params;
	text = dpct_config_to_json(&dpct.cfg);
	if (text == NULL)
		return -ENOMEM;
	root = json_loads(text, 0, NULL);
	free(text);
	if (root == NULL)
		return -EIO;
	rte_tel_data_start_dict(d);
	json_object_foreach(root, k, v) {
		if (json_is_object(v)) {
			struct rte_tel_data *sec = rte_tel_data_alloc();

			if (sec == NULL)
				break;
			rte_tel_data_start_dict(sec);
			json_object_foreach(v, k2, v2) {
				s = json_dumps(v2, JSON_ENCODE_ANY | JSON_COMPACT);
				if (s != NULL)
					rte_tel_data_add_dict_string(sec, k2, s);
				free(s);
			}
			rte_tel_data_add_dict_container(d, k, sec, 0);
		} else {
			s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			if (s != NULL)
				rte_tel_data_add_dict_string(d, k, s);
			free(s);
		}
	}
	json_decref(root);
	return 0;
}

int
dpct_telemetry_init(struct dpct_app *a)
{
	int rc = 0;

	(void)a;
	rc |= rte_telemetry_register_cmd("/dpct/info", cmd_info, "Workers, ports, mode.");
	rc |= rte_telemetry_register_cmd("/dpct/stats", cmd_stats,
					 "Conntrack counters, totals (conntrack -S).");
	rc |= rte_telemetry_register_cmd("/dpct/shards", cmd_shards, "Per-shard counters.");
	rc |= rte_telemetry_register_cmd("/dpct/count", cmd_count,
					 "Live and dying entries (conntrack -C).");
	rc |= rte_telemetry_register_cmd("/dpct/list", cmd_list,
					 "Entries: params <cursor>[,<max>]; next 0 = done.");
	rc |= rte_telemetry_register_cmd("/dpct/dying", cmd_dying,
					 "Entries including dying ones; params as /dpct/list.");
	rc |= rte_telemetry_register_cmd("/dpct/listeners", cmd_listeners, "Event listeners.");
	rc |= rte_telemetry_register_cmd("/dpct/config", cmd_config, "Running configuration.");
	rc |= rte_telemetry_register_cmd("/dpct/flush", cmd_flush,
					 "Destroy every entry (conntrack -F).");
	rc |= rte_telemetry_register_cmd("/dpct/delete", cmd_delete,
					 "<proto>,<src>,<dst>,<sport>,<dport> (conntrack -D).");
	return rc == 0 ? 0 : -EINVAL;
}
