/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration defaults and the stable names used by logs, stats,
 * telemetry and the event tools.
 */

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "ct.h"

static const char *const ct_timeout_names[CT_TO_MAX] = {
#define CT_X_NAME(id, name, secs) [CT_TO_##id] = name,
	CT_TIMEOUT_TABLE(CT_X_NAME)
#undef CT_X_NAME
};

static const uint32_t ct_timeout_defaults[CT_TO_MAX] = {
#define CT_X_SECS(id, name, secs) [CT_TO_##id] = secs,
	CT_TIMEOUT_TABLE(CT_X_SECS)
#undef CT_X_SECS
};

/* Spelled as conntrack(8) prints them, so tools can compare text directly. */
static const char *const ct_tcp_state_names[CT_TCP_MAX] = {
	[CT_TCP_NONE] = "NONE",
	[CT_TCP_SYN_SENT] = "SYN_SENT",
	[CT_TCP_SYN_RECV] = "SYN_RECV",
	[CT_TCP_ESTABLISHED] = "ESTABLISHED",
	[CT_TCP_FIN_WAIT] = "FIN_WAIT",
	[CT_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[CT_TCP_LAST_ACK] = "LAST_ACK",
	[CT_TCP_TIME_WAIT] = "TIME_WAIT",
	[CT_TCP_CLOSE] = "CLOSE",
	[CT_TCP_SYN_SENT2] = "SYN_SENT2",
};

static const char *const ct_sctp_state_names[CT_SCTP_MAX] = {
	[CT_SCTP_NONE] = "NONE",
	[CT_SCTP_CLOSED] = "CLOSED",
	[CT_SCTP_COOKIE_WAIT] = "COOKIE_WAIT",
	[CT_SCTP_COOKIE_ECHOED] = "COOKIE_ECHOED",
	[CT_SCTP_ESTABLISHED] = "ESTABLISHED",
	[CT_SCTP_SHUTDOWN_SENT] = "SHUTDOWN_SENT",
	[CT_SCTP_SHUTDOWN_RECD] = "SHUTDOWN_RECD",
	[CT_SCTP_SHUTDOWN_ACK_SENT] = "SHUTDOWN_ACK_SENT",
	[CT_SCTP_HEARTBEAT_SENT] = "HEARTBEAT_SENT",
};

static const char *const ct_invalid_reason_names[CT_INV_MAX] = {
	[CT_INV_NONE] = "none",
	[CT_INV_TRUNC_L2] = "trunc_l2",
	[CT_INV_TRUNC_L3] = "trunc_l3",
	[CT_INV_IP_VERSION] = "ip_version",
	[CT_INV_IP_HDRLEN] = "ip_hdrlen",
	[CT_INV_IP_TOTLEN] = "ip_totlen",
	[CT_INV_IP_FRAG] = "ip_frag",
	[CT_INV_IPV6_EXTHDR] = "ipv6_exthdr",
	[CT_INV_TRUNC_L4] = "trunc_l4",
	[CT_INV_TCP_DOFF] = "tcp_doff",
	[CT_INV_TCP_FLAGS] = "tcp_flags",
	[CT_INV_UDP_LEN] = "udp_len",
	[CT_INV_ICMP] = "icmp",
	[CT_INV_STATE] = "state",
	[CT_INV_IP_CSUM] = "ip_checksum",
	[CT_INV_L4_CSUM] = "checksum",
	[CT_INV_TCP_WINDOW] = "tcp_window",
};

void
ct_conf_init(struct ct_conf *c)
{
	unsigned i;

	memset(c, 0, sizeof(*c));
	c->max_entries = 262144;
	c->buckets = 0;
	for (i = 0; i < CT_TO_MAX; i++)
		c->timeout_s[i] = ct_timeout_defaults[i];
	c->tcp_loose = true;
	c->tcp_be_liberal = false;
	c->tcp_max_retrans = 3;
	c->invalid_policy = CT_INVALID_DROP;
	c->early_drop = true;
	c->fill_alarm_high_pct = 90;
	c->fill_alarm_low_pct = 80;
	c->events_enabled = true;
	c->destroy_grace_ms = 15000;
	c->ev_stage_size = 1024;
	c->seed = 0;
	c->shard_index = 0;
	c->shard_count = 1;
	c->n_notrack = 0;
}

const char *
ct_timeout_name(unsigned cls)
{
	return cls < CT_TO_MAX ? ct_timeout_names[cls] : "unknown";
}

uint32_t
ct_timeout_default_s(unsigned cls)
{
	return cls < CT_TO_MAX ? ct_timeout_defaults[cls] : 0;
}

const char *
ct_tcp_state_name(unsigned state)
{
	return state < CT_TCP_MAX ? ct_tcp_state_names[state] : "UNKNOWN";
}

const char *
ct_sctp_state_name(unsigned state)
{
	return state < CT_SCTP_MAX ? ct_sctp_state_names[state] : "UNKNOWN";
}

const char *
ct_invalid_reason_name(unsigned reason)
{
	return reason < CT_INV_MAX ? ct_invalid_reason_names[reason] : "unknown";
}

const char *
ct_proto_name(unsigned proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	case IPPROTO_DCCP:
		return "dccp";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_UDPLITE:
		return "udplite";
	default:
		return "unknown";
	}
}

int
ct_event_kinds_parse(const char *s, unsigned *kinds)
{
	char buf[64], *tok, *save = NULL;
	unsigned k = 0;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "new") == 0)
			k |= CT_EVK_NEW;
		else if (strcmp(tok, "update") == 0)
			k |= CT_EVK_UPDATE;
		else if (strcmp(tok, "destroy") == 0)
			k |= CT_EVK_DESTROY;
		else
			return -EINVAL;
	}
	if (k == 0)
		return -EINVAL;
	*kinds = k;
	return 0;
}
