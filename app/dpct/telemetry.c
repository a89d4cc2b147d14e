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
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_telemetry.h>

#include "dpct.h"
#include "tel_args.h"
#include "dpct_export.h"

#define MBOX_TIMEOUT_MS 2000
#define LIST_DEFAULT 32
/* A telemetry reply is at most 16 KiB: keep a page of entries well below. */
#define LIST_MAX 40

/* One telemetry client at a time drives the mailboxes. */
static pthread_mutex_t mbox_lock = PTHREAD_MUTEX_INITIALIZER;


/*
 * Mailbox protocol: 0 idle, 1 posted, 3 taken by the worker, 2 answered.
 * The caller may withdraw a request only while it is still posted (1 -> 0);
 * once the worker has taken it, the answer belongs to that request. A caller
 * that gives up on a taken request abandons it; the next caller waits in
 * mbox_begin() for that answer and throws it away before it writes its own
 * request, so neither the fields of a request being served nor the answer
 * of a withdrawn or abandoned one can be mixed into the next command.
 * Callers hold mbox_lock.
 */
static int
mbox_begin(struct dpct_worker *w)
{
	struct dpct_mbox *mb = &w->mbox;
	uint64_t deadline = rte_rdtsc() + (uint64_t)MBOX_TIMEOUT_MS * dpct.tsc_hz / 1000;
	unsigned st;

	for (;;) {
		st = atomic_load_explicit(&mb->state, memory_order_acquire);
		if (st == 0)
			return 0;
		if (st == 2) { /* the answer of an abandoned request */
			atomic_store_explicit(&mb->state, 0, memory_order_relaxed);
			return 0;
		}
		/* 3: still being served. (1 cannot be seen here: posts are withdrawn or taken.) */
		if (rte_rdtsc() > deadline || atomic_load_explicit(&dpct.quit, memory_order_relaxed))
			return -EBUSY;
		usleep(100);
	}
}

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
			/* Taken: wait a little longer, then abandon it (see mbox_begin). */
			if (rte_rdtsc() > deadline + dpct.tsc_hz)
				return -ETIMEDOUT;
		}
		usleep(100);
	}
	atomic_store_explicit(&mb->state, 0, memory_order_relaxed);
	return 0;
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
	DPCT_TEL_NO_PARAMS(cmd, params, d);
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

static void
tel_add_scalar(struct rte_tel_data *d, const char *k, json_t *v)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		rte_tel_data_add_dict_u64(d, k, (uint64_t)json_integer_value(v));
	else if (json_is_integer(v))
		rte_tel_data_add_dict_int(d, k, (int)json_integer_value(v));
	else if (json_is_boolean(v))
		rte_tel_data_add_dict_u64(d, k, json_is_true(v));
	else if (json_is_string(v))
		rte_tel_data_add_dict_string(d, k, json_string_value(v));
}

/*
 * A jansson object of counters as a telemetry dict (booleans as 0/1). An
 * object inside it (e.g. invalid_by_reason) becomes a container when `nest`
 * (telemetry nests one level), else its members are "<key>/<member>".
 */
static void
tel_add_counters(struct rte_tel_data *d, json_t *o, bool nest)
{
	const char *k, *k2;
	json_t *v, *v2;
	char key[128];

	json_object_foreach(o, k, v) {
		if (!json_is_object(v)) {
			tel_add_scalar(d, k, v);
		} else if (nest) {
			struct rte_tel_data *c = rte_tel_data_alloc();

			if (c == NULL)
				continue;
			rte_tel_data_start_dict(c);
			json_object_foreach(v, k2, v2)
				tel_add_scalar(c, k2, v2);
			rte_tel_data_add_dict_container(d, k, c, 0);
		} else {
			json_object_foreach(v, k2, v2) {
				snprintf(key, sizeof(key), "%s/%s", k, k2);
				tel_add_scalar(d, key, v2);
			}
		}
	}
}

/* Every total of --stats-json ("totals"), under the same names. */
static int
cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	json_t *root;

	TEL_GUARD();
	DPCT_TEL_NO_PARAMS(cmd, params, d);
	root = dpct_stats_json(&dpct);
	if (root == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(d);
	tel_add_counters(d, json_object_get(root, "totals"), true);
	json_decref(root);
	return 0;
}

/*
 * What a flattened counter object takes in a telemetry reply, at least:
 * each member as "key":value, (or "parent/key":value,) in compact JSON,
 * which is how the telemetry library writes it.
 */
static size_t
tel_counters_size(json_t *o)
{
	const char *k, *k2;
	json_t *v, *v2;
	size_t n = 2;

	json_object_foreach(o, k, v) {
		if (!json_is_object(v)) {
			char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

			n += strlen(k) + 4 + (t != NULL ? strlen(t) : 24);
			free(t);
			continue;
		}
		json_object_foreach(v, k2, v2) {
			char *t = json_dumps(v2, JSON_ENCODE_ANY | JSON_COMPACT);

			n += strlen(k) + 1 + strlen(k2) + 4 + (t != NULL ? strlen(t) : 24);
			free(t);
		}
	}
	return n;
}

/*
 * A reply is at most 16 KiB (the telemetry library's buffer; what does not
 * fit is left out without a word): the shards that fit in this many bytes,
 * the rest on the next page.
 */
#define TEL_SHARDS_PAGE_BYTES 14336

/*
 * Per shard, every counter of --stats-json's "shards" entries, from shard
 * `first` (the parameter, default 0) as many as fit one reply; "next" names
 * the first shard left out when there are more.
 */
static int
cmd_shards(const char *cmd, const char *params, struct rte_tel_data *d)
{
	json_t *root, *shards, *so;
	uint64_t first = 0;
	size_t i, used = 0;
	char name[24];

	TEL_GUARD();
	if (dpct_tel_has_params(params) &&
	    (dpct_tel_parse_uint(params, UINT32_MAX, &first) != 0 || first >= dpct.n_workers))
		return dpct_tel_error(d, "%s: bad first shard %s (0..%u)", cmd, params,
				      dpct.n_workers - 1);
	root = dpct_stats_json(&dpct);
	if (root == NULL)
		return -ENOMEM;
	shards = json_object_get(root, "shards");
	rte_tel_data_start_dict(d);
	for (i = first; i < json_array_size(shards); i++) {
		struct rte_tel_data *c;
		size_t need;

		so = json_array_get(shards, i);
		need = tel_counters_size(so) + 24;
		if (i > first && (used + need > TEL_SHARDS_PAGE_BYTES ||
				  i - first >= RTE_TEL_MAX_DICT_ENTRIES - 1)) {
			rte_tel_data_add_dict_u64(d, "next", i);
			break;
		}
		c = rte_tel_data_alloc();
		if (c == NULL)
			break;
		rte_tel_data_start_dict(c);
		tel_add_counters(c, so, false);
		snprintf(name, sizeof(name), "%zu", i);
		rte_tel_data_add_dict_container(d, name, c, 0);
		used += need;
	}
	json_decref(root);
	return 0;
}

static int
cmd_count(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ct_stats st;

	TEL_GUARD();
	DPCT_TEL_NO_PARAMS(cmd, params, d);
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
	/* The reply tuple as a reply arrives: the translated one for a translated flow. */
	if (r->reply.family == r->orig.family && r->reply.proto == r->orig.proto)
		rev = r->reply;
	else
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
 * "/dpct/list[,<cursor>[,<max>]]": a page of entries. The cursor is
 * shard << 32 | position in that shard; "next" is 0 when the walk is done.
 * max is 1..LIST_MAX (default LIST_DEFAULT).
 */
static int
list_common(const char *cmd, const char *params, struct rte_tel_data *d, unsigned op)
{
	uint64_t cursor = 0, max = LIST_DEFAULT;
	unsigned shard, got = 0;
	char buf[64], key[16], *f[2];
	int n, rc = 0;

	if (dpct_tel_has_params(params)) {
		n = dpct_tel_split(params, buf, sizeof(buf), f, 2);
		if (n < 0)
			return dpct_tel_error(d, "%s: parameters are <cursor>[,<max>]", cmd);
		if (dpct_tel_parse_uint(f[0], UINT64_MAX, &cursor) < 0)
			return dpct_tel_error(d, "%s: bad cursor '%s'", cmd, f[0]);
		if (n == 2 && (dpct_tel_parse_uint(f[1], LIST_MAX, &max) < 0 || max == 0))
			return dpct_tel_error(d, "%s: max must be 1..%u", cmd, LIST_MAX);
		if ((cursor >> 32) >= dpct.n_workers && cursor != 0)
			return dpct_tel_error(d, "%s: cursor %" PRIu64 " names no shard", cmd, cursor);
	}
	shard = (unsigned)(cursor >> 32);
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&mbox_lock);
	while (shard < dpct.n_workers && got < max) {
		struct dpct_worker *w = &dpct.workers[shard];
		unsigned i;

		rc = mbox_begin(w);
		if (rc < 0)
			break;
		w->mbox.op = op;
		w->mbox.cursor = (uint32_t)cursor;
		w->mbox.max = (unsigned)max - got;
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
		return dpct_tel_error(d, "%s: shard %u did not answer (%s)", cmd, shard, strerror(-rc));
	rte_tel_data_add_dict_u64(d, "n", got);
	rte_tel_data_add_dict_u64(d, "next", shard >= dpct.n_workers ? 0 : cursor);
	return 0;
}

static int
cmd_list(const char *cmd, const char *params, struct rte_tel_data *d)
{
	TEL_GUARD();
	return list_common(cmd, params, d, DPCT_MB_LIST);
}

static int
cmd_dying(const char *cmd, const char *params, struct rte_tel_data *d)
{
	TEL_GUARD();
	return list_common(cmd, params, d, DPCT_MB_DYING);
}

/* Bound on one /dpct/flush: rounds over the workers until the table is empty. */
#define FLUSH_MAX_MS 5000

/*
 * Flush every shard, again and again, until no live entry is left
 * (packets may create entries while it runs) or FLUSH_MAX_MS passed.
 * "remaining" says what was left when it returned.
 */
static int
cmd_flush(const char *cmd, const char *params, struct rte_tel_data *d)
{
	uint64_t removed = 0, left = 0, deadline;
	unsigned i, rounds = 0;
	int rc = 0;

	TEL_GUARD();
	DPCT_TEL_NO_PARAMS(cmd, params, d);
	deadline = rte_rdtsc() + (uint64_t)FLUSH_MAX_MS * dpct.tsc_hz / 1000;
	pthread_mutex_lock(&mbox_lock);
	do {
		left = 0;
		rounds++;
		for (i = 0; i < dpct.n_workers && rc == 0; i++) {
			struct dpct_worker *w = &dpct.workers[i];

			rc = mbox_begin(w);
			if (rc < 0)
				break;
			w->mbox.op = DPCT_MB_FLUSH;
			rc = dpct_mbox_call(w, MBOX_TIMEOUT_MS);
			if (rc < 0)
				break;
			removed += w->mbox.n;
			left += (unsigned)w->mbox.rc;
		}
	} while (rc == 0 && left > 0 && rte_rdtsc() < deadline &&
		 !atomic_load_explicit(&dpct.quit, memory_order_relaxed));
	pthread_mutex_unlock(&mbox_lock);
	if (rc < 0)
		return dpct_tel_error(d, "%s: shard %u did not answer (%s)", cmd, i, strerror(-rc));
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "deleted", removed);
	rte_tel_data_add_dict_u64(d, "remaining", left);
	rte_tel_data_add_dict_u64(d, "rounds", rounds);
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
	uint64_t v;

	if (strcmp(s, "tcp") == 0)
		return IPPROTO_TCP;
	if (strcmp(s, "udp") == 0)
		return IPPROTO_UDP;
	if (strcmp(s, "icmp") == 0)
		return IPPROTO_ICMP;
	if (strcmp(s, "icmpv6") == 0)
		return IPPROTO_ICMPV6;
	if (dpct_tel_parse_uint(s, 255, &v) < 0)
		return -EINVAL;
	return (int)v;
}

/* "/dpct/delete,<proto>,<src>,<dst>,<sport>,<dport>[,<zone>]" */
static int
cmd_delete(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static const char *const names[] = { "proto", "src", "dst", "sport", "dport", "zone" };
	char buf[256], *f[6];
	struct ct_tuple t;
	uint8_t fam2;
	uint64_t num[3] = { 0, 0, dpct.cfg.zone };
	unsigned owner;
	int n, k, proto, rc, bad = -1;

	TEL_GUARD();
	n = dpct_tel_split(params, buf, sizeof(buf), f, 6);
	if (n < 5)
		return dpct_tel_error(d, "%s: parameters are <proto>,<src>,<dst>,<sport>,<dport>"
				 "[,<zone>]", cmd);
	memset(&t, 0, sizeof(t));
	proto = parse_proto(f[0]);
	if (proto < 0)
		bad = 0;
	else if (parse_addr(f[1], t.src, &t.family) < 0)
		bad = 1;
	else if (parse_addr(f[2], t.dst, &fam2) < 0 || fam2 != t.family)
		bad = 2;
	for (k = 3; k < n && bad < 0; k++)
		if (dpct_tel_parse_uint(f[k], 65535, &num[k - 3]) < 0)
			bad = k;
	if (bad >= 0)
		return dpct_tel_error(d, "%s: bad %s '%s'", cmd, names[bad], f[bad]);
	t.proto = (uint8_t)proto;
	t.sport = (uint16_t)num[0];
	t.dport = (uint16_t)num[1];
	t.zone = (uint16_t)num[2];
	owner = dpct_rss_owner_of(&dpct.rss, &t);
	pthread_mutex_lock(&mbox_lock);
	rc = mbox_begin(&dpct.workers[owner]);
	if (rc == 0) {
		dpct.workers[owner].mbox.op = DPCT_MB_DELETE;
		dpct.workers[owner].mbox.tuple = t;
		rc = dpct_mbox_call(&dpct.workers[owner], MBOX_TIMEOUT_MS);
	}
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
	DPCT_TEL_NO_PARAMS(cmd, params, d);
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

/* Connections refused or closed, per uid: {"<uid>" | "other": {counters}}. */
static int
cmd_refusals(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ev_refusal r[EV_REFUSAL_UIDS + 1];
	unsigned n = 0, i;
	char key[16];

	TEL_GUARD();
	DPCT_TEL_NO_PARAMS(cmd, params, d);
	rte_tel_data_start_dict(d);
	if (dpct.ctl != NULL)
		n = ev_ctl_refusals(dpct.ctl, r, RTE_DIM(r));
	for (i = 0; i < n; i++) {
		struct rte_tel_data *e = rte_tel_data_alloc();

		if (e == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(e);
#define REFUSAL_TEL(name) rte_tel_data_add_dict_u64(e, #name, r[i].name);
		EV_REFUSAL_COUNTERS(REFUSAL_TEL)
#undef REFUSAL_TEL
		if (r[i].uid == EV_REFUSAL_OTHER)
			snprintf(key, sizeof(key), "other");
		else
			snprintf(key, sizeof(key), "%u", r[i].uid);
		rte_tel_data_add_dict_container(d, key, e, 0);
	}
	return 0;
}

/*
 * "/dpct/config[,<path>]": the running configuration, typed (numbers as
 * numbers, booleans as 0/1, strings as strings). Telemetry nests one level
 * only: the reply is the node at `path` (sections and keys separated by
 * '/', array elements by index, e.g. "events" or "notrack/0"), its children
 * are values or containers, and a grandchild that is itself an object or an
 * array is given as the string "/dpct/config,<its path>" to ask for next
 * (dpct-ctl config follows them and prints the whole document).
 */
#define CONFIG_REF "/dpct/config,"

static void
config_ref(char *buf, size_t len, const char *path, const char *key)
{
	snprintf(buf, len, CONFIG_REF "%s%s%s", path, *path ? "/" : "", key);
}

/* A scalar (or a reference for a container) into dict `d` under `key`. */
static void
config_leaf(struct rte_tel_data *d, const char *key, json_t *v, const char *path)
{
	char ref[RTE_TEL_MAX_STRING_LEN];

	if (json_is_integer(v) && json_integer_value(v) >= 0)
		rte_tel_data_add_dict_u64(d, key, (uint64_t)json_integer_value(v));
	else if (json_is_integer(v))
		rte_tel_data_add_dict_int(d, key, (int)json_integer_value(v));
	else if (json_is_boolean(v))
		rte_tel_data_add_dict_u64(d, key, json_is_true(v));
	else if (json_is_string(v))
		rte_tel_data_add_dict_string(d, key, json_string_value(v));
	else if (json_is_object(v) || json_is_array(v)) {
		config_ref(ref, sizeof(ref), path, key);
		rte_tel_data_add_dict_string(d, key, ref);
	}
}

/* Fill `d` with the children of container `node` (at `path`); `deep` lets
 * child containers become telemetry containers (one level). */
static void
config_fill(struct rte_tel_data *d, json_t *node, const char *path, bool deep)
{
	char key[24], sub[256];
	const char *k;
	json_t *v;
	size_t i;

	rte_tel_data_start_dict(d);
	if (json_is_array(node)) {
		json_array_foreach(node, i, v) {
			snprintf(key, sizeof(key), "%zu", i);
			if (deep && (json_is_object(v) || json_is_array(v))) {
				struct rte_tel_data *c = rte_tel_data_alloc();

				if (c == NULL)
					return;
				snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "/" : "", key);
				config_fill(c, v, sub, false);
				rte_tel_data_add_dict_container(d, key, c, 0);
			} else {
				config_leaf(d, key, v, path);
			}
		}
		return;
	}
	json_object_foreach(node, k, v) {
		if (deep && (json_is_object(v) || json_is_array(v))) {
			struct rte_tel_data *c = rte_tel_data_alloc();

			if (c == NULL)
				return;
			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "/" : "", k);
			config_fill(c, v, sub, false);
			rte_tel_data_add_dict_container(d, k, c, 0);
		} else {
			config_leaf(d, k, v, path);
		}
	}
}

static int
cmd_config(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char path[256], *p, *next;
	json_t *root, *node;
	char *text;
	uint64_t idx;

	TEL_GUARD();
	if (dpct_tel_has_params(params) && strlen(params) >= sizeof(path))
		return dpct_tel_error(d, "%s: path too long", cmd);
	snprintf(path, sizeof(path), "%s", dpct_tel_has_params(params) ? params : "");
	text = dpct_config_to_json(&dpct.cfg);
	if (text == NULL)
		return -ENOMEM;
	root = json_loads(text, 0, NULL);
	free(text);
	if (root == NULL)
		return -EIO;
	node = root;
	for (p = path; *p != '\0' && node != NULL; p = next) {
		char *slash = strchr(p, '/');

		next = slash != NULL ? slash + 1 : p + strlen(p);
		if (slash != NULL)
			*slash = '\0';
		if (json_is_object(node))
			node = json_object_get(node, p);
		else if (json_is_array(node) && dpct_tel_parse_uint(p, SIZE_MAX, &idx) == 0)
			node = json_array_get(node, (size_t)idx);
		else
			node = NULL;
		if (slash != NULL)
			*slash = '/';
	}
	if (node == NULL || !(json_is_object(node) || json_is_array(node))) {
		json_decref(root);
		return dpct_tel_error(d, "%s: no section '%s' (ask for a section or an array)", cmd,
				 path);
	}
	config_fill(d, node, path, true);
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
	rc |= rte_telemetry_register_cmd("/dpct/shards", cmd_shards,
					 "Per-shard counters: params [<first shard>]; \"next\": more.");
	rc |= rte_telemetry_register_cmd("/dpct/count", cmd_count,
					 "Live and dying entries (conntrack -C).");
	rc |= rte_telemetry_register_cmd("/dpct/list", cmd_list,
					 "Entries: params <cursor>[,<max>]; next 0 = done.");
	rc |= rte_telemetry_register_cmd("/dpct/dying", cmd_dying,
					 "Entries including dying ones; params as /dpct/list.");
	rc |= rte_telemetry_register_cmd("/dpct/listeners", cmd_listeners, "Event listeners.");
	rc |= rte_telemetry_register_cmd("/dpct/refusals", cmd_refusals,
					 "Event connections refused or closed, per uid.");
	rc |= dpct_telemetry_export_init(a);
	rc |= rte_telemetry_register_cmd("/dpct/config", cmd_config, "Running configuration.");
	rc |= rte_telemetry_register_cmd("/dpct/flush", cmd_flush,
					 "Destroy every entry (conntrack -F).");
	rc |= rte_telemetry_register_cmd("/dpct/delete", cmd_delete,
					 "<proto>,<src>,<dst>,<sport>,<dport> (conntrack -D).");
	return rc == 0 ? 0 : -EINVAL;
}
