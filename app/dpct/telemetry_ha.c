/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * /dpct/ha: state sync counters; /dpct/ha/role,primary|backup: switch the
 * role (docs/ha.md). The role change is applied by the control core in its
 * next step.
 */
#include <errno.h>
#include <string.h>

#include <rte_telemetry.h>

#include "dpct.h"
#include "ha.h"
#include "tel_args.h"

static void
add_json(struct rte_tel_data *d, json_t *o)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		if (json_is_string(v))
			rte_tel_data_add_dict_string(d, k, json_string_value(v));
		else if (json_is_boolean(v))
			rte_tel_data_add_dict_u64(d, k, json_is_true(v));
		else if (json_is_integer(v))
			rte_tel_data_add_dict_u64(d, k, (uint64_t)json_integer_value(v));
	}
}

static int
cmd_ha(const char *cmd, const char *params, struct rte_tel_data *d)
{
	json_t *o;

	DPCT_TEL_NO_PARAMS(cmd, params, d);
	o = dpct_ha_json(&dpct);
	if (o == NULL)
		return dpct_tel_error(d, "ha is not enabled (ha.enabled)");
	rte_tel_data_start_dict(d);
	add_json(d, o);
	json_decref(o);
	return 0;
}

static int
cmd_ha_role(const char *cmd, const char *params, struct rte_tel_data *d)
{
	enum dpct_ha_role role;
	int rc;

	if (!dpct_tel_has_params(params))
		return dpct_tel_error(d, "%s: expected primary or backup", cmd);
	if (strcmp(params, "primary") == 0)
		role = DPCT_HA_PRIMARY;
	else if (strcmp(params, "backup") == 0)
		role = DPCT_HA_BACKUP;
	else
		return dpct_tel_error(d, "%s: expected primary or backup, got \"%s\"", cmd, params);
	rc = dpct_ha_request_role(&dpct, role);
	if (rc == -ENOTSUP)
		return dpct_tel_error(d, "ha is not enabled (ha.enabled)");
	if (rc < 0)
		return dpct_tel_error(d, "%s: %s", cmd, strerror(-rc));
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "requested", params);
	return 0;
}

int
dpct_telemetry_ha_init(struct dpct_app *a)
{
	(void)a;
	if (rte_telemetry_register_cmd("/dpct/ha", cmd_ha,
				       "State sync: role, messages, resends, gaps, cache.") < 0)
		return -EINVAL;
	return rte_telemetry_register_cmd("/dpct/ha/role", cmd_ha_role,
					  "Switch the sync role. Parameters: primary|backup");
}
