/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * /dpct/export: per-collector IPFIX export counters (docs/export.md).
 */
#include <errno.h>
#include <stdio.h>

#include <rte_telemetry.h>

#include "dpct.h"
#include "dpct_export.h"
#include "tel_args.h"

static int
cmd_export(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dpct_export_info in;
	unsigned i;
	char key[16];

	DPCT_TEL_NO_PARAMS(cmd, params, d);
	rte_tel_data_start_dict(d);
	for (i = 0; dpct_export_info(&dpct, i, &in) == 0; i++) {
		struct rte_tel_data *e = rte_tel_data_alloc();

		if (e == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(e);
		rte_tel_data_add_dict_string(e, "host", in.coll.host);
		rte_tel_data_add_dict_u64(e, "port", in.coll.port);
		rte_tel_data_add_dict_string(e, "transport",
					     in.coll.transport == EV_IPFIX_TCP ? "tcp" : "udp");
		rte_tel_data_add_dict_u64(e, "reliable", in.reliable);
		rte_tel_data_add_dict_u64(e, "connected", in.st.connected);
		rte_tel_data_add_dict_u64(e, "max_rate_pps", in.coll.max_rate_pps);
		rte_tel_data_add_dict_u64(e, "max_rate_bps", in.coll.max_rate_bps);
#define EXP_T(f) rte_tel_data_add_dict_u64(e, #f, in.st.f);
		DPCT_EXPORT_STATS(EXP_T)
#undef EXP_T
		snprintf(key, sizeof(key), "%u", i);
		rte_tel_data_add_dict_container(d, key, e, 0);
	}
	return 0;
}

int
dpct_telemetry_export_init(struct dpct_app *a)
{
	(void)a;
	return rte_telemetry_register_cmd("/dpct/export", cmd_export,
					  "IPFIX export: per-collector counters.");
}
