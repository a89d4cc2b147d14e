/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CONFIG_KEYS_H
#define DPCT_CONFIG_KEYS_H

/*
 * The bounds and the callbacks the schema table (config_keys.c) names for
 * keys no plain type covers. Each callback has the shape of cfg_parse_fn,
 * cfg_emit_fn or cfg_init_fn (config_schema.h); messages name the JSON
 * path they are given.
 */

#include <jansson.h>

#include "config_schema.h"

#define CFG_MAX_ENTRIES_MAX   (1u << 28)
#define CFG_RING_MIN          16u
#define CFG_RING_MAX          (1u << 20)
/* The longest timeout the shards' timer holds: 2^30 ticks of 2^20 ns (13 days). */
#define CFG_TIMEOUT_MAX_S     1125899u
#define CFG_BATCH_MIN         4096u
#define CFG_DESC_MIN          64u
#define CFG_DESC_MAX          32768u
#define CFG_MBUFS_MIN         1024u
#define CFG_MBUFS_MAX         (1u << 24)

struct dpct_config;

/* config_keys_custom.c */
int dpct_cfg_removed(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		     struct dpct_config *c);
int dpct_cfg_socket(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		    struct dpct_config *c);
int dpct_cfg_socket_group(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
			  const char *path, struct dpct_config *c);
int dpct_cfg_socket_group_emit(const struct cfg_key *k, const struct dpct_config *c,
			       json_t **out);
void dpct_cfg_socket_group_init(const struct cfg_key *k, struct dpct_config *c);
int dpct_cfg_reserved_slots(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
			    const char *path, struct dpct_config *c);
int dpct_cfg_mbufs(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		   struct dpct_config *c);
int dpct_cfg_rate_bps(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		      struct dpct_config *c);
int dpct_cfg_checksum(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		      struct dpct_config *c);
int dpct_cfg_policy_parse(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
			  const char *path, struct dpct_config *c);
int dpct_cfg_export_check(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
			  const char *path, struct dpct_config *c);
int dpct_cfg_export_events(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
			   const char *path, struct dpct_config *c);
int dpct_cfg_consistency(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
			 const char *path, struct dpct_config *c);

/* config_ha.c */
int dpct_cfg_ha_peer(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		     struct dpct_config *c);
int dpct_cfg_ha_bind(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		     struct dpct_config *c);
int dpct_cfg_ha_interface(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
			  const char *path, struct dpct_config *c);
int dpct_cfg_ha_secret(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		       struct dpct_config *c);
int dpct_cfg_ha_secret_emit(const struct cfg_key *k, const struct dpct_config *c, json_t **out);
int dpct_cfg_ha_check(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		      struct dpct_config *c);

/* config_notrack.c */
int dpct_cfg_notrack_parse(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
			   const char *path, struct dpct_config *c);
int dpct_cfg_notrack_emit(const struct cfg_key *k, const struct dpct_config *c, json_t **out);

/* config_helpers.c */
int dpct_cfg_helpers_parse(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
			   const char *path, struct dpct_config *c);
int dpct_cfg_helpers_emit(const struct cfg_key *k, const struct dpct_config *c, json_t **out);
void dpct_cfg_helpers_init(const struct cfg_key *k, struct dpct_config *c);

/* config_limits.c */
int dpct_cfg_limits_parse(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
			  const char *path, struct dpct_config *c);
int dpct_cfg_limits_emit(const struct cfg_key *k, const struct dpct_config *c, json_t **out);
void dpct_cfg_limits_init(const struct cfg_key *k, struct dpct_config *c);

/* config_nat.c */
int dpct_cfg_nat_parse(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		       struct dpct_config *c);
int dpct_cfg_nat_emit(const struct cfg_key *k, const struct dpct_config *c, json_t **out);

/* config_tracker.c */
int dpct_cfg_zones_parse(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
			 const char *path, struct dpct_config *c);
int dpct_cfg_zones_emit(const struct cfg_key *k, const struct dpct_config *c, json_t **out);

/* config_tpol.c */
int dpct_cfg_tpol_parse(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
			struct dpct_config *c);
int dpct_cfg_tpol_emit(const struct cfg_key *k, const struct dpct_config *c, json_t **out);

/* config_export.c */
int dpct_cfg_collectors_parse(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
			      const char *path, struct dpct_config *c);
int dpct_cfg_collectors_emit(const struct cfg_key *k, const struct dpct_config *c,
			     json_t **out);

#endif /* DPCT_CONFIG_KEYS_H */
