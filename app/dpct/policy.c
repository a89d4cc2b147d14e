/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The app's side of the policy (issue 12): load the rules at startup,
 * reload them on SIGHUP or /dpct/reload (parse and validate the whole file,
 * compile on the calling thread, RCU handover inside pol_install()), the
 * per-burst hooks the workers call, and the policy part of the final
 * statistics.
 */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "config_policy.h"
#include "dpct.h"

/* A grace period longer than this means a stuck worker: keep the old rules alive. */
#define POL_WAIT_MS 5000

static void
on_hup(int sig)
{
	(void)sig;
	atomic_store(&dpct.hup, true);
}

int
dpct_policy_init(struct dpct_app *a)
{
	struct pol_ruleset rs;
	bool present = false;
	char err[512];
	int rc = 0;

	pol_ruleset_init(&rs);
	if (a->opts.config_path != NULL) {
		rc = dpct_policy_load(a->opts.config_path, &rs, &present, err, sizeof(err));
		if (rc != 0) {
			DPCT_LOG(ERR, "policy: %s\n", err);
			return rc;
		}
	}
	/* Always a handle, so a reload can add rules to a run that had none; an
	 * empty accept-all generation costs the workers nothing. */
	a->pol = pol_handle_create(&rs, a->n_workers, err, sizeof(err));
	pol_ruleset_clear(&rs);
	if (a->pol == NULL) {
		DPCT_LOG(ERR, "policy: %s\n", err);
		return -EINVAL;
	}
	if (present)
		DPCT_LOG(INFO, "policy: generation 1 loaded from %s\n", a->opts.config_path);
	signal(SIGHUP, on_hup);
	return 0;
}

void
dpct_policy_free(struct dpct_app *a)
{
	pol_handle_free(a->pol);
	a->pol = NULL;
}

int
dpct_policy_reload(struct dpct_app *a, char *err, size_t errlen)
{
	struct pol_ruleset rs;
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
	rc = dpct_policy_load(a->opts.config_path, &rs, &present, err, errlen);
	if (rc == 0)
		rc = pol_install(a->pol, &rs, POL_WAIT_MS, err, errlen);
	else
		pol_note_refused(a->pol);
	pol_ruleset_clear(&rs);
	if (rc < 0) {
		DPCT_LOG(ERR, "policy reload refused, old rules stay: %s\n", err);
		return rc;
	}
	DPCT_LOG(INFO, "policy: generation %d installed from %s\n", rc, a->opts.config_path);
	return rc;
}

void
dpct_policy_poll(struct dpct_app *a)
{
	char err[512];

	if (!atomic_exchange(&a->hup, false))
		return;
	dpct_policy_reload(a, err, sizeof(err));
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
