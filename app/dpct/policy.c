/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The app's side of the policy: the rules read at startup, reloads on
 * SIGHUP or /dpct/reload (the whole file read once without blocking,
 * validated and parsed once, compiled and handed over with RCU inside
 * pol_install()), the per-burst hooks the workers call, and the policy part
 * of the final statistics.
 *
 * A reload never runs on the control core: reading, compiling and the wait
 * for the workers' grace period (up to POL_WAIT_MS) would stall event
 * delivery and dumps. SIGHUP wakes a reload thread (an EAL control thread,
 * off the lcores); /dpct/reload runs on the telemetry thread. A mutex
 * serialises the two, so reloads apply in the order they read the file.
 */

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <rte_lcore.h>

#include "config_nat.h"
#include "config_policy.h"
#include "dpct.h"

/* A grace period longer than this means a stuck worker: keep the old rules alive. */
#define POL_WAIT_MS 5000
/* The reload thread looks at its stop flag at least this often. */
#define RELOAD_POLL_MS 200

static struct {
	pthread_mutex_t lock;      /* one reload at a time; guards dpct.pol's lifetime */
	sem_t wake;                /* posted by the SIGHUP handler (async-signal-safe) */
	pthread_t thread;
	bool started;
	atomic_bool stop;
} rl = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
on_hup(int sig)
{
	(void)sig;
	atomic_store(&dpct.hup, true);
	sem_post(&rl.wake);
}

/*
 * Under rl.lock. The file's policy and nat sections come from one read and
 * parse; the new NAT table is built and takes over the live bindings
 * before the policy is installed, so a refusal of either changes nothing.
 */
static int
reload_locked(struct dpct_app *a, const char *source, char *err, size_t errlen)
{
	struct nat_table *nt = NULL;
	struct pol_ruleset rs;
	struct dpct_config *c;
	bool present;
	int rc;

	if (a->pol == NULL) {
		snprintf(err, errlen, "policy not initialised");
		return -ENODEV;
	}
	if (a->opts.config_path == NULL) {
		snprintf(err, errlen, "running on the built-in config: nothing to reload");
		return -ENOENT;
	}
	/* About 80 KiB with the nat section's arrays: kept off the thread's stack. */
	c = malloc(sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "no memory for the configuration");
		pol_note_refused(a->pol);
		return -ENOMEM;
	}
	dpct_config_defaults(c);
	rc = dpct_config_load_full(c, a->opts.config_path, &rs, &present, err, errlen);
	if (rc == 0)
		rc = dpct_config_limits_reload(&a->cfg, c, err, errlen);
	if (rc == 0)
		rc = dpct_config_helpers_reload(&a->cfg, c, err, errlen);
	if (rc == 0)
		rc = dpct_nat_prepare(a, c, &nt, err, errlen);
	if (rc == 0)
		rc = pol_install(a->pol, &rs, POL_WAIT_MS, err, errlen);
	else
		pol_note_refused(a->pol);
	pol_ruleset_clear(&rs);
	if (rc < 0) {
		dpct_nat_abort(a, nt);
		free(c);
		DPCT_LOG(ERR, "policy reload (%s) refused, old rules stay: %s\n", source, err);
		return rc;
	}
	dpct_nat_install(a, nt);
	DPCT_LOG(INFO, "policy: generation %d installed from %s (%s)\n", rc,
		 a->opts.config_path, source);
	DPCT_LOG(INFO, "nat: %u pools, %u rules installed from %s (%s)\n", c->nat.n_pools,
		 c->nat.n_rules, a->opts.config_path, source);
	/* Timeout policies are read at start only (docs/timeouts.md). */
	if (memcmp(&c->tpol, &a->cfg.tpol, sizeof(c->tpol)) != 0)
		DPCT_LOG(WARNING, "timeout_policies changed in %s: not applied by a reload, "
			 "restart to apply them (%s)\n", a->opts.config_path, source);
	free(c);
	return rc;
}

int
dpct_policy_reload(struct dpct_app *a, const char *source, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&rl.lock);
	rc = reload_locked(a, source, err, errlen);
	pthread_mutex_unlock(&rl.lock);
	return rc;
}

static void *
reload_thread(void *arg)
{
	struct dpct_app *a = arg;
	struct timespec ts;
	char err[512];

	while (!atomic_load(&rl.stop)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += RELOAD_POLL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		/* Woken by SIGHUP, or a timeout, or EINTR: the flag decides. A
		 * monotonic deadline: a wall clock set back does not stretch it. */
		(void)sem_clockwait(&rl.wake, CLOCK_MONOTONIC, &ts);
		if (!atomic_load(&rl.stop) && atomic_exchange(&a->hup, false))
			dpct_policy_reload(a, "SIGHUP", err, sizeof(err));
	}
	return NULL;
}

int
dpct_policy_init(struct dpct_app *a, struct pol_ruleset *rs, bool present)
{
	char err[512];
	int rc;

	/* Always a handle, so a reload can add rules to a run that had none; an
	 * empty accept-all generation costs the workers nothing. */
	a->pol = pol_handle_create(rs, a->n_workers, err, sizeof(err));
	pol_ruleset_clear(rs);
	if (a->pol == NULL) {
		DPCT_LOG(ERR, "policy: %s\n", err);
		return -EINVAL;
	}
	if (present)
		DPCT_LOG(INFO, "policy: generation 1 loaded from %s\n", a->opts.config_path);
	if (sem_init(&rl.wake, 0, 0) != 0) {
		rc = -errno;
		DPCT_LOG(ERR, "policy: reload semaphore: %s\n", strerror(errno));
		return rc;
	}
	atomic_store(&rl.stop, false);
	rc = rte_ctrl_thread_create(&rl.thread, "dpct-reload", NULL, reload_thread, a);
	if (rc != 0) {
		DPCT_LOG(ERR, "policy: reload thread: %s\n", strerror(rc < 0 ? -rc : rc));
		sem_destroy(&rl.wake);
		return rc < 0 ? rc : -rc;
	}
	rl.started = true;
	signal(SIGHUP, on_hup);
	return 0;
}

void
dpct_policy_stop(struct dpct_app *a)
{
	(void)a;
	if (!rl.started)
		return;
	signal(SIGHUP, SIG_IGN);
	atomic_store(&rl.stop, true);
	sem_post(&rl.wake);
	pthread_join(rl.thread, NULL);
	sem_destroy(&rl.wake);
	rl.started = false;
}

void
dpct_policy_free(struct dpct_app *a)
{
	dpct_policy_stop(a);
	/* A /dpct/reload still running on the telemetry thread finishes first. */
	pthread_mutex_lock(&rl.lock);
	pol_handle_free(a->pol);
	a->pol = NULL;
	pthread_mutex_unlock(&rl.lock);
}

void
dpct_policy_stats_json(struct dpct_app *a, json_t *root)
{
	struct pol_rule_stats *st = NULL;
	struct pol_totals t;
	struct pol_ruleset rs;
	json_t *o, *rules;
	uint32_t gen, i;

	if (a->pol == NULL || pol_report(a->pol, &gen, &rs, &st, &t) != 0)
		return;
	o = json_object();
	rules = json_array();
	json_object_set_new(o, "generation", json_integer(gen));
	json_object_set_new(o, "accepted", json_integer((json_int_t)t.accepted));
	json_object_set_new(o, "dropped", json_integer((json_int_t)t.dropped));
	json_object_set_new(o, "notracked", json_integer((json_int_t)t.notracked));
	json_object_set_new(o, "classified", json_integer((json_int_t)t.classified));
	json_object_set_new(o, "reloads", json_integer((json_int_t)t.reloads));
	json_object_set_new(o, "reload_failed", json_integer((json_int_t)t.reload_failed));
	json_object_set_new(o, "default", json_string(pol_action_name(rs.default_action)));
	json_object_set_new(o, "default_pkts", json_integer((json_int_t)st[rs.n_rules].pkts));
	json_object_set_new(o, "default_conns", json_integer((json_int_t)st[rs.n_rules].conns));
	for (i = 0; i < rs.n_rules; i++) {
		json_t *r = dpct_policy_rule_json(&rs.rules[i]);

		json_object_set_new(r, "pkts", json_integer((json_int_t)st[i].pkts));
		json_object_set_new(r, "conns", json_integer((json_int_t)st[i].conns));
		json_array_append_new(rules, r);
	}
	json_object_set_new(o, "rules", rules);
	json_object_set_new(root, "policy", o);
	free(st);
	pol_ruleset_clear(&rs);
}
