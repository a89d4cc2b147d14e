/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * State sync with a failover peer (ha.h, docs/ha.md): the record consumer
 * that sends, the receiver that runs in the consumer's poll(), the FTFW
 * timers and the drain at exit. The control core (main lcore) owns all of
 * it; telemetry threads read the counters and post role requests.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dpct.h"
#include "ev_consumer.h"
#include "ha.h"
#include "ha_priv.h"
#include "sync.h"

#define HA_RX_BURST 64        /* datagrams read per control step */
#define HA_SOCK_BUF (8 << 20) /* socket buffers, both ways */

uint64_t
dpct_ha_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
flush_tx(struct dpct_ha *h)
{
	size_t len = h->tx_len;
	ssize_t rc;

	if (len == 0)
		return;
	if (h->conf.transport == DPCT_HA_TCP) {
		dpct_ha_tcp_send(h, h->tx, len);
		h->tx_len = 0;
		return;
	}
	if (h->conf.auth == DPCT_HA_AUTH_HMAC) {
		int l = sync_auth_sign((const uint8_t *)h->conf.secret, strlen(h->conf.secret),
				       h->tx, len, sizeof(h->tx));

		if (l < 0) {
			h->st.tx_errors++;
			h->tx_len = 0;
			return;
		}
		len = (size_t)l;
	}
	rc = sendto(h->fd, h->tx, len, MSG_DONTWAIT, (const struct sockaddr *)&h->peer,
		    h->peer_len);
	if (rc < 0) {
		/* The peer NACKs what it missed; the messages are kept. */
		h->st.tx_errors++;
	} else {
		h->st.tx_datagrams++;
		h->st.tx_bytes += (uint64_t)rc;
	}
	h->tx_len = 0;
}

/* Append one message (data or control) to the datagram being filled. */
static void
add_msg(struct dpct_ha *h, const uint8_t *msg, uint16_t len)
{
	if (h->tx_len + len > h->tx_limit)
		flush_tx(h);
	memcpy(h->tx + h->tx_len, msg, len);
	h->tx_len += len;
}

static void
emit_cb(void *arg, const uint8_t *msg, uint16_t len)
{
	add_msg(arg, msg, len);
}

void
dpct_ha_send_ctl(struct dpct_ha *h, uint8_t flags, uint32_t from, uint32_t to)
{
	uint8_t buf[SYNC_ACK_LEN];
	int len;

	flags |= sync_ftfw_tx_flags(h->ftfw);
	len = sync_encode_ctl(flags, sync_ftfw_tx_seq(h->ftfw), from, to, buf, sizeof(buf));
	if (len < 0) {
		h->st.tx_errors++;
		return;
	}
	/* Kept like data: a NACK for its number is answered, not taken as loss. */
	sync_ftfw_tx_keep(h->ftfw, buf, (uint16_t)len, 0);
	add_msg(h, buf, (uint16_t)len);
	h->st.tx_ctl++;
	h->next_alive_ns = dpct_ha_mono_ns() + (uint64_t)h->conf.alive_ms * 1000000ull;
}

int
dpct_ha_send_rec(struct dpct_ha *h, const struct ct_event_rec *r)
{
	uint8_t buf[SYNC_MSG_MAX];
	int len;

	len = sync_encode_rec(r, sync_ftfw_tx_seq(h->ftfw), sync_ftfw_tx_flags(h->ftfw),
			      h->conf.extensions, buf, sizeof(buf));
	if (len < 0) {
		h->st.tx_errors++;
		return len;
	}
	sync_ftfw_tx_keep(h->ftfw, buf, (uint16_t)len, sync_flow_key(&r->orig));
	add_msg(h, buf, (uint16_t)len);
	if (r->events & CT_EV_DESTROY)
		h->st.tx_destroy++;
	else if (r->events & CT_EV_NEW)
		h->st.tx_new++;
	else
		h->st.tx_update++;
	return 0;
}

/* An ended connection a reliable listener has not taken yet: the peer keeps
 * it (an UPD, its extension with CT_EV_DESTROY) until the DEL that follows
 * delivery, and commits it to end at once if promoted meanwhile. */
static void
send_dying(struct dpct_ha *h, const struct ct_event_rec *r)
{
	uint8_t buf[SYNC_MSG_MAX];
	struct ct_event_rec d = *r;
	int len;

	/* conntrackd commits it with this timeout: it ends, and is reported, at once. */
	d.timeout_s = 1;
	len = sync_encode_rec_as(&d, SYNC_T_CT_UPD, sync_ftfw_tx_seq(h->ftfw),
				 sync_ftfw_tx_flags(h->ftfw), h->conf.extensions, buf, sizeof(buf));
	if (len < 0) {
		h->st.tx_errors++;
		return;
	}
	sync_ftfw_tx_keep(h->ftfw, buf, (uint16_t)len, sync_flow_key(&r->orig));
	add_msg(h, buf, (uint16_t)len);
	h->st.tx_destroy_pending++;
}

/* Everything is sent once the chunk's outcome is known (chunk_done), in
 * channel order: deliver() only takes the records. */
static int
ha_deliver(void *self, const struct ct_event_rec *recs, unsigned n, uint64_t now,
	   uint8_t *refused)
{
	(void)self;
	(void)recs;
	(void)now;
	memset(refused, 0, n);
	return 0;
}

/* A connection record the peer gets: state changes and ends, no flow or port-block records. */
static bool
ha_synced(const struct ct_event_rec *r)
{
	return r->events != 0 && !(r->flags & (CT_REC_F_INTERIM | CT_REC_F_NAT_BLOCK));
}

/*
 * NEW and UPD as they come, sent before any listener hears of them: a
 * connection a listener knows of is one the peer was sent, so its end is
 * reported by the peer should this box die.
 */
static void
ha_chunk_begin(void *self, const struct ct_event_rec *recs, unsigned n)
{
	struct dpct_ha *h = self;
	unsigned i;

	for (i = 0; i < n; i++)
		if (ha_synced(&recs[i]) && !(recs[i].events & CT_EV_DESTROY))
			dpct_ha_send_rec(h, &recs[i]);
	flush_tx(h);
}

/* The ends, once the listeners had them: a DEL, or a dying mark for a refused DESTROY. */
static void
ha_chunk_done(void *self, const struct ct_event_rec *recs, unsigned n, const uint32_t *fail_mask)
{
	struct dpct_ha *h = self;
	unsigned i;

	for (i = 0; i < n; i++) {
		const struct ct_event_rec *r = &recs[i];

		if (!ha_synced(r) || !(r->events & CT_EV_DESTROY))
			continue;
		/* A DESTROY every reliable listener took: the DEL. */
		if (fail_mask[i] == 0) {
			if ((r->events & CT_EV_DESTROY) && (r->flags & CT_REC_F_RESEND))
				h->st.tx_destroy_late++;
			dpct_ha_send_rec(h, r);
		} else if (r->targets == 0) {
			/* Refused at its first delivery (a resend names whom it is for). */
			send_dying(h, r);
		}
	}
	flush_tx(h);
}

static void
on_msg(void *arg, const struct sync_msg *m)
{
	struct dpct_ha *h = arg;
	struct sync_ctl out[2];
	unsigned n, i;
	int rc;

	if (sync_ftfw_rx(h->ftfw, m, out, &n) == SYNC_RX_DROP)
		return;
	if (sync_ftfw_handshake_done(h->ftfw))
		sync_ftfw_resend_pending(h->ftfw, emit_cb, h);
	for (i = 0; i < n; i++)
		dpct_ha_send_ctl(h, out[i].flags, out[i].from, out[i].to);
	if (m->type == SYNC_T_CTL) {
		h->st.rx_ctl++;
		if (m->flags & SYNC_F_ACK)
			sync_ftfw_on_ack(h->ftfw, m->from, m->to);
		if (m->flags & SYNC_F_NACK) {
			rc = sync_ftfw_on_nack(h->ftfw, m->from, m->to, emit_cb, h);
			if (rc == -ENOENT)
				h->resync_owed = true;
		}
		if (m->flags & SYNC_F_RESYNC) {
			h->st.resync_requests++;
			h->resync_owed = true;
		}
		return;
	}
	if (m->data) {
		h->st.rx_data++;
		dpct_ha_cache_apply(h, m);
	}
}

void
dpct_ha_rx_payload(struct dpct_ha *h, const uint8_t *buf, size_t len)
{
	sync_parse(buf, len, on_msg, h, &h->rxerr);
}

static bool
from_peer(const struct dpct_ha *h, const struct sockaddr_storage *src)
{
	if (h->conf.transport == DPCT_HA_MULTICAST)
		return true;    /* the group's senders: the link is dedicated (interface) */
	if (src->ss_family != h->peer.ss_family)
		return false;
	if (src->ss_family == AF_INET)
		return ((const struct sockaddr_in *)src)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)&h->peer)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)src)->sin6_addr,
		      &((const struct sockaddr_in6 *)&h->peer)->sin6_addr, 16) == 0;
}

static void
ha_receive(struct dpct_ha *h)
{
	unsigned k;

	if (h->conf.transport == DPCT_HA_TCP) {
		dpct_ha_tcp_step(h);
		return;
	}
	for (k = 0; k < HA_RX_BURST; k++) {
		struct sockaddr_storage src;
		socklen_t slen = sizeof(src);
		ssize_t len;
		int l;

		len = recvfrom(h->fd, h->rx, sizeof(h->rx), MSG_DONTWAIT, (struct sockaddr *)&src,
			       &slen);
		if (len < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				h->st.rx_errors++;
			break;
		}
		h->st.rx_datagrams++;
		h->st.rx_bytes += (uint64_t)len;
		if (!from_peer(h, &src)) {
			h->st.rx_wrong_peer++;
			continue;
		}
		l = (int)len;
		if (h->conf.auth == DPCT_HA_AUTH_HMAC) {
			l = sync_auth_verify((const uint8_t *)h->conf.secret,
					     strlen(h->conf.secret), h->rx, (size_t)len);
			if (l < 0) {
				h->st.rx_bad_auth++;
				continue;
			}
		}
		sync_parse(h->rx, (size_t)l, on_msg, h, &h->rxerr);
	}
}

/* One control step's worth of sync work outside deliver(). */
void
dpct_ha_step(struct dpct_ha *h)
{
	uint64_t t = dpct_ha_mono_ns();
	int req = atomic_load(&h->req_role);

	/* What the peer sent before the role change still belongs to the cache. */
	ha_receive(h);
	if (req != h->role) {
		/* Readers must never see the new role without the commit it starts. */
		if (req == DPCT_HA_PRIMARY)
			__atomic_store_n(&h->promoting, true, __ATOMIC_RELEASE);
		__atomic_store_n(&h->role, req, __ATOMIC_RELEASE);
		h->st.role_changes++;
		dpct_ha_role_changed(h);
	}
	dpct_ha_promote_step(h);
	if (h->resync_owed) {
		h->resync_owed = false;
		dpct_ha_resync(h);
	}
	dpct_ha_resync_step(h);
	if (t >= h->next_alive_ns) {
		struct sync_ctl c;

		sync_ftfw_tick(h->ftfw, &c);
		dpct_ha_send_ctl(h, c.flags, c.from, c.to);
	}
	flush_tx(h);
	h->rx_malformed = h->rxerr.bad_version + h->rxerr.bad_header + h->rxerr.bad_size +
			  h->rxerr.bad_payload + h->rxerr.bad_type + h->rxerr.truncated +
			  h->rxerr.orphan_ext;
	h->st.rx_malformed = h->rx_malformed;
}

static void
ha_poll(void *self, uint64_t now)
{
	(void)now;
	dpct_ha_step(self);
}

static const struct ev_consumer_ops ha_ops = {
	.kind = "ha",
	.mask = 0,
	.deliver = ha_deliver,
	.poll = ha_poll,
	.blocked = NULL,
	.chunk_done = ha_chunk_done,
	.chunk_begin = ha_chunk_begin,
};

static int
ha_socket(struct dpct_ha *h)
{
	const struct dpct_ha_conf *c = &h->conf;
	struct sockaddr_storage local;
	socklen_t llen;
	int fd, one = 1, bufsz = HA_SOCK_BUF, v6 = strchr(c->peer, ':') != NULL;

	memset(&h->peer, 0, sizeof(h->peer));
	memset(&local, 0, sizeof(local));
	if (v6) {
		struct sockaddr_in6 *p = (struct sockaddr_in6 *)&h->peer;
		struct sockaddr_in6 *l = (struct sockaddr_in6 *)&local;

		p->sin6_family = l->sin6_family = AF_INET6;
		p->sin6_port = l->sin6_port = htons(c->port);
		inet_pton(AF_INET6, c->peer, &p->sin6_addr);
		l->sin6_addr = in6addr_any;
		if (c->bind[0] != '\0' && c->transport != DPCT_HA_MULTICAST)
			inet_pton(AF_INET6, c->bind, &l->sin6_addr);
		h->peer_len = llen = sizeof(*p);
	} else {
		struct sockaddr_in *p = (struct sockaddr_in *)&h->peer;
		struct sockaddr_in *l = (struct sockaddr_in *)&local;

		p->sin_family = l->sin_family = AF_INET;
		p->sin_port = l->sin_port = htons(c->port);
		inet_pton(AF_INET, c->peer, &p->sin_addr);
		l->sin_addr.s_addr = htonl(INADDR_ANY);
		if (c->bind[0] != '\0' && c->transport != DPCT_HA_MULTICAST)
			inet_pton(AF_INET, c->bind, &l->sin_addr);
		h->peer_len = llen = sizeof(*p);
	}
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* A burst of table changes is larger than the default buffers; the
	 * forced variants (CAP_NET_ADMIN) pass net.core.[rw]mem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	if (c->interface[0] != '\0' &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, c->interface,
		       (socklen_t)strlen(c->interface)) < 0) {
		int e = errno;

		DPCT_LOG(ERR, "ha.interface %s: %s\n", c->interface, strerror(e));
		close(fd);
		return -e;
	}
	if (bind(fd, (struct sockaddr *)&local, llen) < 0) {
		int e = errno;

		DPCT_LOG(ERR, "ha: cannot bind %s port %u: %s\n",
			 c->bind[0] != '\0' ? c->bind : "any", c->port, strerror(e));
		close(fd);
		return -e;
	}
	if (c->transport == DPCT_HA_MULTICAST) {
		unsigned ifx = if_nametoindex(c->interface);
		int zero = 0, rc;

		if (v6) {
			struct ipv6_mreq mr = { .ipv6mr_interface = ifx };

			mr.ipv6mr_multiaddr = ((struct sockaddr_in6 *)&h->peer)->sin6_addr;
			rc = setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mr, sizeof(mr));
			setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifx, sizeof(ifx));
			setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof(zero));
		} else {
			struct ip_mreqn mr = { .imr_ifindex = (int)ifx };

			mr.imr_multiaddr = ((struct sockaddr_in *)&h->peer)->sin_addr;
			rc = setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr));
			setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr));
			setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof(zero));
		}
		if (rc < 0) {
			int e = errno;

			DPCT_LOG(ERR, "ha: cannot join %s on %s: %s\n", c->peer, c->interface,
				 strerror(e));
			close(fd);
			return -e;
		}
	}
	h->fd = fd;
	return 0;
}

/* TCP: the peer's address for connect() and the accept check; ha_tcp.c does the rest. */
static int
ha_tcp_socket(struct dpct_ha *h)
{
	const struct dpct_ha_conf *c = &h->conf;

	memset(&h->peer, 0, sizeof(h->peer));
	if (strchr(c->peer, ':') != NULL) {
		struct sockaddr_in6 *p = (struct sockaddr_in6 *)&h->peer;

		p->sin6_family = AF_INET6;
		p->sin6_port = htons(c->port);
		inet_pton(AF_INET6, c->peer, &p->sin6_addr);
		h->peer_len = sizeof(*p);
	} else {
		struct sockaddr_in *p = (struct sockaddr_in *)&h->peer;

		p->sin_family = AF_INET;
		p->sin_port = htons(c->port);
		inet_pton(AF_INET, c->peer, &p->sin_addr);
		h->peer_len = sizeof(*p);
	}
	return dpct_ha_tcp_open(h);
}

int
dpct_ha_start(struct dpct_app *a)
{
	const struct dpct_ha_conf *c = &a->cfg.ha;
	struct dpct_ha *h;
	int rc;

	if (!dpct_config_ha_on(c))
		return 0;
	if (a->ctl == NULL) {
		DPCT_LOG(ERR, "ha needs the events control core (events.enabled)\n");
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->app = a;
	h->conf = *c;
	h->fd = -1;
	h->tx_limit = c->mtu - (c->auth == DPCT_HA_AUTH_HMAC ? SYNC_MAC_LEN : 0);
	h->role = c->role;
	atomic_store(&h->req_role, c->role);
	/* conntrackd starts its sequence at the time; so do we (any start is fine: HELLO). */
	h->ftfw = sync_ftfw_create(c->resend_queue, c->window, (uint32_t)time(NULL));
	if (h->ftfw == NULL) {
		free(h);
		return -ENOMEM;
	}
	rc = dpct_ha_cache_init(h);
	if (rc == 0)
		rc = c->transport == DPCT_HA_TCP ? ha_tcp_socket(h) : ha_socket(h);
	if (rc == 0)
		rc = ev_ctl_add_consumer(a->ctl, &ha_ops, h, false);
	if (rc < 0) {
		DPCT_LOG(ERR, "ha: cannot start: %s\n", strerror(-rc));
		if (h->fd >= 0)
			close(h->fd);
		if (c->transport == DPCT_HA_TCP)
			dpct_ha_tcp_close(h);
		dpct_ha_cache_free(h);
		sync_ftfw_free(h->ftfw);
		free(h);
		return rc;
	}
	h->next_alive_ns = dpct_ha_mono_ns();
	a->ha = h;
	/* A backup starts empty: it asks the primary for its table (conntrackd:
	 * StartupResync). */
	if (c->role == DPCT_HA_BACKUP)
		dpct_ha_send_ctl(h, SYNC_F_RESYNC, 0, 0);
	DPCT_LOG(INFO, "ha: %s, syncing with %s port %u over %s%s, auth %s\n",
		 c->role == DPCT_HA_PRIMARY ? "primary" : "backup", c->peer, c->port,
		 c->transport == DPCT_HA_MULTICAST ? "multicast" :
		 c->transport == DPCT_HA_TCP ? "tcp" : "udp",
		 c->interface[0] != '\0' ? " (bound to interface)" : "",
		 c->auth == DPCT_HA_AUTH_HMAC ? "hmac-sha256" : "none");
	return 0;
}

void
dpct_ha_stop(struct dpct_app *a)
{
	struct dpct_ha *h = a->ha;
	uint64_t until;

	if (h == NULL)
		return;
	until = dpct_ha_mono_ns() + (uint64_t)h->conf.drain_ms * 1000000ull;
	/* Ask for the ACK at once rather than on the peer's next timer. */
	while (sync_ftfw_pending(h->ftfw) > 0 && dpct_ha_mono_ns() < until) {
		dpct_ha_step(h);
		usleep(1000);
	}
	dpct_ha_step(h);
	h->stopped = true;
	for (unsigned i = 0; i < DPCT_HA_MAX_WORKERS; i++) {
		/* A commit cut short by the exit: the workers are stopping. */
		free(h->todo[i]);
		h->todo[i] = NULL;
	}
	h->pending_at_exit = sync_ftfw_pending(h->ftfw);
	if (h->pending_at_exit > 0)
		DPCT_LOG(WARNING, "ha: %u sync messages not acknowledged by %s at exit\n",
			 h->pending_at_exit, h->conf.peer);
	if (h->conf.transport == DPCT_HA_TCP)
		dpct_ha_tcp_close(h);
	else
		close(h->fd);
	h->fd = -1;
}

int
dpct_ha_request_role(struct dpct_app *a, enum dpct_ha_role role)
{
	if (a->ha == NULL)
		return -ENOTSUP;
	if (role != DPCT_HA_PRIMARY && role != DPCT_HA_BACKUP)
		return -EINVAL;
	atomic_store(&a->ha->req_role, (int)role);
	return 0;
}

json_t *
dpct_ha_json(struct dpct_app *a)
{
	struct dpct_ha *h = a->ha;
	const struct sync_ftfw_stats *f;
	json_t *o;

	if (h == NULL)
		return NULL;
	o = json_object();
	if (o == NULL)
		return NULL;
	f = sync_ftfw_stats(h->ftfw);
	json_object_set_new(o, "role", json_string(h->role == DPCT_HA_PRIMARY ? "primary"
									      : "backup"));
	json_object_set_new(o, "peer", json_string(h->conf.peer));
	json_object_set_new(o, "peer_known", json_boolean(sync_ftfw_peer_known(h->ftfw)));
#define HA_J(x) json_object_set_new(o, #x, json_integer((json_int_t)h->st.x));
	DPCT_HA_STATS(HA_J)
#undef HA_J
#define HA_F(x) json_object_set_new(o, #x, json_integer((json_int_t)f->x));
	HA_F(sent) HA_F(resent) HA_F(acked) HA_F(overwritten) HA_F(superseded)
	HA_F(unrecoverable)
	HA_F(received) HA_F(gaps) HA_F(nacks_sent) HA_F(acks_sent) HA_F(before) HA_F(hellos)
#undef HA_F
	json_object_set_new(o, "pending", json_integer(sync_ftfw_pending(h->ftfw)));
	json_object_set_new(o, "pending_at_exit", json_integer(h->pending_at_exit));
	if (h->conf.transport == DPCT_HA_TCP)
		dpct_ha_tcp_json(h, o);
	dpct_ha_cache_json(h, o);
	return o;
}
