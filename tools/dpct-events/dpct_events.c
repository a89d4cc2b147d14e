/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-events: subscribe to dpct's conntrack events and print them the way
 * `conntrack -E -o id` does (or as JSON lines), optionally with a per-flow
 * summary for tests. See docs/events.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "ev.h"
#include "ev_nl.h"
#include "ev_text.h"

#define RECV_BUF (1u << 20)
#define DEFAULT_RCVBUF (8u << 20)

enum fmt { FMT_TEXT, FMT_JSON, FMT_NONE };

struct opts {
	uint32_t port_id;
	unsigned rcvbuf;
	bool reliable;
	uint32_t mask;
	enum fmt fmt;
	const char *summary;
	unsigned idle_exit_ms;
	unsigned max_seconds;
};

/* Per-flow bookkeeping for --summary: open addressing on (orig tuple, id). */
struct flow {
	struct ct_tuple key;
	uint32_t id;
	uint8_t used;
	uint8_t seen_new;
	uint8_t destroyed;
};

struct summary {
	uint64_t events, new_, update, destroy;
	uint64_t flows_new, flows_destroyed, duplicate_destroy, destroy_without_new;
	uint64_t recv_errors;
	struct flow *tab;
	size_t cap, n;
};

static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
flow_hash(const struct ct_tuple *t, uint32_t id)
{
	const uint8_t *p = (const uint8_t *)t;
	uint64_t h = 0xcbf29ce484222325ull ^ id;
	size_t i;

	for (i = 0; i < sizeof(*t); i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static int
flows_grow(struct summary *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 1u << 16, i;
	struct flow *nt = calloc(ncap, sizeof(*nt));

	if (nt == NULL)
		return -ENOMEM;
	for (i = 0; i < s->cap; i++) {
		struct flow *f = &s->tab[i];
		size_t j;

		if (!f->used)
			continue;
		for (j = flow_hash(&f->key, f->id) & (ncap - 1); nt[j].used; j = (j + 1) & (ncap - 1))
			;
		nt[j] = *f;
	}
	free(s->tab);
	s->tab = nt;
	s->cap = ncap;
	return 0;
}

static struct flow *
flow_get(struct summary *s, const struct ct_tuple *t, uint32_t id)
{
	size_t j;

	if ((s->n + 1) * 4 > s->cap * 3 && flows_grow(s) < 0)
		return NULL;
	for (j = flow_hash(t, id) & (s->cap - 1); s->tab[j].used; j = (j + 1) & (s->cap - 1))
		if (s->tab[j].id == id && memcmp(&s->tab[j].key, t, sizeof(*t)) == 0)
			return &s->tab[j];
	s->tab[j].used = 1;
	s->tab[j].key = *t;
	s->tab[j].id = id;
	s->n++;
	return &s->tab[j];
}

static void
account(struct summary *s, const struct ev_nl_ct *ct, bool want_flows)
{
	struct flow *f;

	s->events++;
	if (ct->kind == EV_MASK_NEW)
		s->new_++;
	else if (ct->kind == EV_MASK_UPDATE)
		s->update++;
	else
		s->destroy++;
	if (!want_flows)
		return;
	f = flow_get(s, &ct->orig, ct->id);
	if (f == NULL)
		return;
	if (ct->kind == EV_MASK_NEW && !f->seen_new) {
		f->seen_new = 1;
		s->flows_new++;
	} else if (ct->kind == EV_MASK_DESTROY) {
		if (f->destroyed) {
			s->duplicate_destroy++;
		} else {
			f->destroyed = 1;
			s->flows_destroyed++;
			if (!f->seen_new)
				s->destroy_without_new++;
		}
	}
}

static const char *
proto_name(uint8_t p)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_UDPLITE:
		return "udplite";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_DCCP:
		return "dccp";
	case IPPROTO_GRE:
		return "gre";
	default:
		return "unknown";
	}
}

static void
addr_str(const struct ct_tuple *t, const uint8_t *a, char *out, size_t len)
{
	inet_ntop(t->family == 4 ? AF_INET : AF_INET6, a, out, (socklen_t)len);
}

/*
 * The layout of `conntrack -E -o id,extended`: libnetfilter_conntrack's
 * nfct_snprintf() for the same message (ev_text.c).
 */
static void
print_text(FILE *o, const struct ev_nl_ct *ct)
{
	char line[1024];
	int n = ev_text_format(line, sizeof(line), ct, EV_TEXT_LAYER3 | EV_TEXT_ID, time(NULL));

	if (n >= 0)
		fprintf(o, "%.*s\n", n < (int)sizeof(line) ? n : (int)sizeof(line) - 1, line);
}

static void
json_tuple(FILE *o, const struct ev_nl_ct *ct, int dir)
{
	const struct ct_tuple *t = dir ? &ct->reply : &ct->orig;
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

	addr_str(t, t->src, s, sizeof(s));
	addr_str(t, t->dst, d, sizeof(d));
	fprintf(o, "{\"src\":\"%s\",\"dst\":\"%s\"", s, d);
	if (t->proto == IPPROTO_ICMP || t->proto == IPPROTO_ICMPV6)
		fprintf(o, ",\"type\":%u,\"code\":%u,\"icmp_id\":%u", ct->icmp_type[dir],
			ct->icmp_code[dir], dir ? t->dport : t->sport);
	else
		fprintf(o, ",\"sport\":%u,\"dport\":%u", t->sport, t->dport);
	if (ct->present & EV_NL_HAS_COUNTERS)
		fprintf(o, ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64, ct->pkts[dir],
			ct->bytes[dir]);
	fputc('}', o);
}

static void
print_json(FILE *o, const struct ev_nl_ct *ct)
{
	static const char *const type[] = { [EV_MASK_NEW] = "new", [EV_MASK_UPDATE] = "update",
					    [EV_MASK_DESTROY] = "destroy" };

	fprintf(o, "{\"type\":\"%s\",\"family\":%u,\"proto\":\"%s\",\"l4proto\":%u,\"id\":%u,"
		"\"status\":%u,\"assured\":%s,\"orig\":", type[ct->kind], ct->family,
		proto_name(ct->orig.proto), ct->orig.proto, ct->id, ct->status,
		(ct->status & CT_S_ASSURED) ? "true" : "false");
	json_tuple(o, ct, 0);
	if (ct->present & EV_NL_HAS_REPLY) {
		fputs(",\"reply\":", o);
		json_tuple(o, ct, 1);
	}
	if (ct->present & EV_NL_HAS_TIMEOUT)
		fprintf(o, ",\"timeout\":%u", ct->timeout_s);
	if (ct->present & EV_NL_HAS_TCP_STATE)
		fprintf(o, ",\"state\":\"%s\"", ev_nl_tcp_state_name(ct->tcp_state));
	if (ct->present & EV_NL_HAS_START)
		fprintf(o, ",\"start_ns\":%" PRIu64, ct->start_ns);
	if (ct->present & EV_NL_HAS_STOP)
		fprintf(o, ",\"stop_ns\":%" PRIu64, ct->stop_ns);
	if (ct->present & EV_NL_HAS_MARK)
		fprintf(o, ",\"mark\":%u", ct->mark);
	if (ct->present & EV_NL_HAS_ZONE)
		fprintf(o, ",\"zone\":%u", ct->orig.zone);
	fputs("}\n", o);
}

static int
write_summary(const char *path, const struct summary *s)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "dpct-events: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "{\"events\":%" PRIu64 ",\"new\":%" PRIu64 ",\"update\":%" PRIu64
		",\"destroy\":%" PRIu64 ",\"flows_new\":%" PRIu64 ",\"flows_destroyed\":%" PRIu64
		",\"duplicate_destroy\":%" PRIu64 ",\"destroy_without_new\":%" PRIu64
		",\"recv_errors\":%" PRIu64 "}\n", s->events, s->new_, s->update, s->destroy,
		s->flows_new, s->flows_destroyed, s->duplicate_destroy, s->destroy_without_new,
		s->recv_errors);
	return fclose(f) == 0 ? 0 : -1;
}

static int
send_request(int fd, uint32_t port, uint16_t type, uint32_t seq, const struct opts *o)
{
	struct {
		struct nlmsghdr h;
		struct ev_subscribe s;
	} req;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = port };

	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = type;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.h.nlmsg_seq = seq;
	req.s.version = EV_PROTO_VERSION;
	req.s.flags = o->reliable ? EV_SUB_F_RELIABLE : 0;
	req.s.mask = o->mask;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return 0;
}

/* Handle one received datagram. Returns the ack code when it held the ack
 * for `seq` (0 or -errno), 1 otherwise. */
static int
handle_datagram(const uint8_t *buf, size_t len, uint32_t seq, const struct opts *o,
		struct summary *s, FILE *out)
{
	int ack = 1;

	while (len >= NLMSG_HDRLEN) {
		struct ev_nl_ct ct;
		size_t used = 0;
		int rc = ev_nl_parse(buf, len, &ct, &used);

		if (rc == 0) {
			account(s, &ct, o->summary != NULL);
			if (o->fmt == FMT_TEXT)
				print_text(out, &ct);
			else if (o->fmt == FMT_JSON)
				print_json(out, &ct);
		} else if (rc == -ENOMSG) {
			struct nlmsghdr h;

			memcpy(&h, buf, sizeof(h));
			if (h.nlmsg_type == NLMSG_ERROR &&
			    h.nlmsg_len >= NLMSG_HDRLEN + sizeof(struct nlmsgerr)) {
				struct nlmsgerr e;

				memcpy(&e, buf + NLMSG_HDRLEN, sizeof(e));
				if (e.msg.nlmsg_seq == seq)
					ack = e.error;
			}
		}
		if (used == 0)
			break;
		buf += used;
		len -= used;
	}
	return ack;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: dpct-events [--port-id N] [--rcvbuf BYTES] [--reliable] [--format text|json|none]\n"
		"                   [--events new,update,destroy] [--summary FILE]\n"
		"                   [--idle-exit-ms N] [--max-seconds N]\n");
}

static int
parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return (errno != 0 || *end != '\0' || *s == '\0' || *s == '-' || *out > max) ? -1 : 0;
}

static int
parse_mask(const char *s, uint32_t *mask)
{
	char buf[64], *tok, *save;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	*mask = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "new") == 0)
			*mask |= EV_MASK_NEW;
		else if (strcmp(tok, "update") == 0)
			*mask |= EV_MASK_UPDATE;
		else if (strcmp(tok, "destroy") == 0)
			*mask |= EV_MASK_DESTROY;
		else
			return -1;
	}
	return *mask ? 0 : -1;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "port-id", required_argument, NULL, 'p' },
		{ "rcvbuf", required_argument, NULL, 'r' },
		{ "reliable", no_argument, NULL, 'R' },
		{ "format", required_argument, NULL, 'f' },
		{ "events", required_argument, NULL, 'e' },
		{ "summary", required_argument, NULL, 's' },
		{ "idle-exit-ms", required_argument, NULL, 'i' },
		{ "max-seconds", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->port_id = EV_DEFAULT_PORT_ID;
	o->rcvbuf = DEFAULT_RCVBUF;
	o->mask = EV_MASK_ALL;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_uint(optarg, UINT32_MAX, &v) < 0 || v == 0)
				goto bad;
			o->port_id = (uint32_t)v;
			break;
		case 'r':
			if (parse_uint(optarg, INT32_MAX / 2, &v) < 0 || v == 0)
				goto bad;
			o->rcvbuf = (unsigned)v;
			break;
		case 'R':
			o->reliable = true;
			break;
		case 'f':
			if (strcmp(optarg, "text") == 0)
				o->fmt = FMT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				o->fmt = FMT_JSON;
			else if (strcmp(optarg, "none") == 0)
				o->fmt = FMT_NONE;
			else
				goto bad;
			break;
		case 'e':
			if (parse_mask(optarg, &o->mask) < 0)
				goto bad;
			break;
		case 's':
			o->summary = optarg;
			break;
		case 'i':
			if (parse_uint(optarg, UINT32_MAX, &v) < 0)
				goto bad;
			o->idle_exit_ms = (unsigned)v;
			break;
		case 'm':
			if (parse_uint(optarg, 86400u * 365, &v) < 0)
				goto bad;
			o->max_seconds = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "dpct-events: bad value '%s'\n", optarg);
	usage(stderr);
	return -1;
}

int
main(int argc, char **argv)
{
	static uint8_t buf[RECV_BUF] __attribute__((aligned(8)));
	struct summary sum;
	struct opts o;
	struct nl_sock *sk;
	struct sigaction sa;
	uint64_t start, last_event, last_sub = 0;
	uint32_t seq = 1;
	bool subscribed = false;
	int fd, rc, ret = 0, rb;

	if (parse_args(argc, argv, &o) < 0)
		return 1;
	memset(&sum, 0, sizeof(sum));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	sk = nl_socket_alloc();
	if (sk == NULL) {
		fprintf(stderr, "dpct-events: out of memory\n");
		return 2;
	}
	rc = nl_connect(sk, NETLINK_USERSOCK);
	if (rc < 0) {
		fprintf(stderr, "dpct-events: netlink socket: %s\n", nl_geterror(rc));
		nl_socket_free(sk);
		return 2;
	}
	fd = nl_socket_get_fd(sk);
	/* SO_RCVBUFFORCE goes past rmem_max (root only); the kernel doubles
	 * the value either way, as for any socket. */
	rb = (int)o.rcvbuf;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof(rb)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb)) < 0)
		fprintf(stderr, "dpct-events: SO_RCVBUF: %s\n", strerror(errno));

	start = now_ms();
	last_event = start;
	while (!quit) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t t = now_ms();
		ssize_t n;

		if (o.max_seconds != 0 && t - start >= (uint64_t)o.max_seconds * 1000) {
			if (!subscribed) {
				fprintf(stderr, "dpct-events: no answer from port %u within %u s\n",
					o.port_id, o.max_seconds);
				ret = 2;
			}
			break;
		}
		if (subscribed && o.idle_exit_ms != 0 && t - last_event >= o.idle_exit_ms)
			break;
		/* Subscribe, and retry until dpct's port exists and answers. */
		if (!subscribed && (last_sub == 0 || t - last_sub >= 100)) {
			last_sub = t;
			rc = send_request(fd, o.port_id, EV_MSG_SUBSCRIBE, ++seq, &o);
			if (rc < 0 && rc != -ECONNREFUSED && rc != -EAGAIN) {
				fprintf(stderr, "dpct-events: subscribe: %s\n", strerror(-rc));
				ret = 2;
				break;
			}
		}
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == ENOBUFS) {
				/* Our buffer overran: events were lost. */
				sum.recv_errors++;
			}
			continue;
		}
		rc = handle_datagram(buf, (size_t)n, seq, &o, &sum, stdout);
		if (rc == 0 && !subscribed) {
			subscribed = true;
			last_event = now_ms();
		} else if (rc < 0 && rc != -ECONNREFUSED && !subscribed) {
			fprintf(stderr, "dpct-events: subscription refused: %s\n", strerror(-rc));
			ret = 2;
			break;
		} else if (rc == 1) {
			last_event = now_ms();
		}
	}
	if (subscribed)
		(void)send_request(fd, o.port_id, EV_MSG_UNSUBSCRIBE, ++seq, &o);
	fflush(stdout);
	if (o.summary != NULL && write_summary(o.summary, &sum) < 0 && ret == 0)
		ret = 2;
	free(sum.tab);
	nl_socket_free(sk);
	return ret;
}
