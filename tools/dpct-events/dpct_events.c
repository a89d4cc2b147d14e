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
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>

#include "ev.h"
#include "ev_nl.h"
#include "ev_nl_exp.h"
#include "ev_exp_text.h"
#include "ev_json.h"
#include "ev_text.h"

#define DEFAULT_RCVBUF (8u << 20)

/* --expect shifts --events' bits to the expectation groups. */
_Static_assert(EV_MASK_EXP_NEW == EV_MASK_NEW << 3 && EV_MASK_EXP_UPDATE == EV_MASK_UPDATE << 3 &&
		       EV_MASK_EXP_DESTROY == EV_MASK_DESTROY << 3,
	       "expectation groups are the connection groups shifted by three");

/* Exit statuses (usage(), docs/events.md). */
#define EXIT_ARGS 1       /* bad arguments */
#define EXIT_REFUSED 2    /* could not subscribe or dump, or write the summary */
#define EXIT_DPCT_GONE 3  /* dpct closed the connection while subscribed or dumping */

enum fmt { FMT_TEXT, FMT_JSON, FMT_NONE };

struct opts {
	const char *socket;
	bool dump;
	bool follow;
	bool expect;              /* expectations instead of connections (conntrack -E expect) */
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
	uint64_t lost;            /* gaps in nlmsg_seq, + cut datagrams no later gap showed */
	uint64_t truncated;       /* datagrams longer than the receive buffer (MSG_TRUNC) */
	bool trunc_unseen;        /* a cut datagram whose lost tail no gap has shown yet */
	uint64_t dumped;
	uint64_t exp_new, exp_destroy;
	uint32_t last_seq;
	uint64_t lost_unreported;
	uint64_t last_report_ms;
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

/* The summary table's hash: the tuple 8 bytes a step (a byte-wise FNV-1a
 * was a chain of 40 dependent multiplies, a tenth of the listener's time). */
static uint64_t
flow_hash(const struct ct_tuple *t, uint32_t id)
{
	const uint8_t *p = (const uint8_t *)t;
	uint64_t h = 0xcbf29ce484222325ull ^ id, w;
	size_t i;

	_Static_assert(sizeof(*t) % 8 == 0, "the tuple is whole 64-bit words");
	for (i = 0; i < sizeof(*t); i += 8) {
		memcpy(&w, p + i, sizeof(w));
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	return h ^ h >> 32;
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

/*
 * The layout of `conntrack -E -o id,extended`: libnetfilter_conntrack's
 * nfct_snprintf() for the same message (ev_text.c).
 */
static void
print_text(FILE *o, const struct ev_nl_ct *ct, bool dump)
{
	char line[1024];
	int n = ev_text_format(line, sizeof(line), ct,
			       EV_TEXT_LAYER3 | EV_TEXT_ID | (dump ? EV_TEXT_NO_HEADER : 0),
			       time(NULL));

	if (n >= 0)
		fprintf(o, "%.*s\n", n < (int)sizeof(line) ? n : (int)sizeof(line) - 1, line);
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
		",\"recv_errors\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"truncated\":%" PRIu64
		",\"dumped\":%" PRIu64 ",\"exp_new\":%" PRIu64 ",\"exp_destroy\":%" PRIu64
		",\"last_seq\":%u}\n",
		s->events, s->new_, s->update, s->destroy, s->flows_new, s->flows_destroyed,
		s->duplicate_destroy, s->destroy_without_new, s->recv_errors, s->lost, s->truncated,
		s->dumped, s->exp_new, s->exp_destroy, s->last_seq);
	return fclose(f) == 0 ? 0 : -1;
}

static int
send_subscribe(int fd, uint32_t seq, const struct opts *o)
{
	struct {
		struct nlmsghdr h;
		struct ev_subscribe s;
	} req;

	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = EV_MSG_SUBSCRIBE;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.h.nlmsg_seq = seq;
	req.s.version = EV_PROTO_VERSION;
	req.s.flags = o->reliable ? EV_SUB_F_RELIABLE : 0;
	req.s.mask = o->mask;
	/* AF_UNIX queues what dpct sends on dpct's side: ask for the room. */
	req.s.bufsize = o->rcvbuf;
	if (send(fd, &req, sizeof(req), MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

/* What `conntrack -L` (or `conntrack -L expect`) sends to the kernel. */
static int
send_dump(int fd, uint32_t seq, bool expect)
{
	struct {
		struct nlmsghdr h;
		struct nfgenmsg g;
	} req;

	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = expect ? (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_GET
				  : (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = seq;
	req.g.nfgen_family = AF_UNSPEC;
	req.g.version = NFNETLINK_V0;
	if (send(fd, &req, sizeof(req), MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

struct rx_state {
	uint32_t sub_seq;         /* the subscribe request's seq (0: none sent) */
	uint32_t dump_seq;        /* the dump request's seq (0: none sent) */
	int sub_ack;              /* 1 waiting, else the ack code */
	int dump_err;             /* 1 running, 0 done, else the error */
	bool any_event;
	bool answered;            /* some datagram came from dpct */
};

/* Events count their nlmsg_seq up by one per listener: a jump is loss. */
static void
check_seq(struct summary *s, uint32_t seq)
{
	uint32_t want = s->last_seq + 1, gap = seq - want;

	if (seq != want && gap < (1u << 31)) {
		s->trunc_unseen = false;
		s->lost += gap;
		s->lost_unreported += gap;
		/* At most one line a second on stderr. */
		if (now_ms() - s->last_report_ms >= 1000) {
			fprintf(stderr, "dpct-events: lost %" PRIu64 " events (last gap: seq %u..%u)\n",
				s->lost_unreported, want, seq - 1);
			s->lost_unreported = 0;
			s->last_report_ms = now_ms();
		}
	}
	s->last_seq = seq;
}

/* An expectation message: a dump line (no header) or an event. */
static void
handle_exp(const struct nlmsghdr *h, const struct ev_nl_exp *e, struct rx_state *rx,
	   const struct opts *o, struct summary *s, FILE *out)
{
	char line[1024];
	bool dump = (h->nlmsg_flags & NLM_F_MULTI) != 0;
	int n;

	if (dump) {
		if (rx->dump_seq == 0 || h->nlmsg_seq != rx->dump_seq)
			return;
		s->dumped++;
	} else {
		check_seq(s, h->nlmsg_seq);
		rx->any_event = true;
		s->events++;
		if (e->kind == EV_MASK_EXP_DESTROY)
			s->exp_destroy++;
		else
			s->exp_new++;
	}
	if (o->fmt == FMT_JSON) {
		ev_exp_json_print(out, e, dump);
	} else if (o->fmt == FMT_TEXT) {
		n = ev_exp_text_format(line, sizeof(line), e, !dump);
		if (n >= 0)
			fprintf(out, "%.*s\n", n < (int)sizeof(line) ? n : (int)sizeof(line) - 1,
				line);
	}
}

static void
handle_datagram(const uint8_t *buf, size_t len, struct rx_state *rx, const struct opts *o,
		struct summary *s, FILE *out)
{
	while (len >= NLMSG_HDRLEN) {
		struct ev_nl_ct ct;
		struct nlmsghdr h;
		size_t used = 0;
		int rc = ev_nl_parse(buf, len, &ct, &used);
		struct ev_nl_exp xe;
		size_t xused;

		memcpy(&h, buf, sizeof(h));
		if (rc == -ENOMSG && ev_nl_exp_parse(buf, len, &xe, &xused) == 0) {
			handle_exp(&h, &xe, rx, o, s, out);
			buf += used;
			len -= used;
			continue;
		}
		if (rc == 0 && (h.nlmsg_flags & NLM_F_MULTI)) {
			/* A dump entry: the table as it is, not an event. */
			if (rx->dump_seq != 0 && h.nlmsg_seq == rx->dump_seq) {
				s->dumped++;
				if (o->fmt == FMT_TEXT)
					print_text(out, &ct, true);
				else if (o->fmt == FMT_JSON)
					ev_json_print(out, &ct, true);
			}
		} else if (rc == 0) {
			check_seq(s, h.nlmsg_seq);
			rx->any_event = true;
			account(s, &ct, o->summary != NULL);
			if (o->fmt == FMT_TEXT)
				print_text(out, &ct, false);
			else if (o->fmt == FMT_JSON)
				ev_json_print(out, &ct, false);
		} else if (rc == -ENOMSG && h.nlmsg_type == NLMSG_DONE) {
			if (rx->dump_seq != 0 && h.nlmsg_seq == rx->dump_seq)
				rx->dump_err = 0;
		} else if (rc == -ENOMSG && h.nlmsg_type == NLMSG_ERROR &&
			   h.nlmsg_len >= NLMSG_HDRLEN + sizeof(struct nlmsgerr)) {
			struct nlmsgerr e;

			memcpy(&e, buf + NLMSG_HDRLEN, sizeof(e));
			if (rx->sub_seq != 0 && e.msg.nlmsg_seq == rx->sub_seq && rx->sub_ack == 1)
				rx->sub_ack = e.error;
			else if (rx->dump_seq != 0 && e.msg.nlmsg_seq == rx->dump_seq && e.error != 0)
				rx->dump_err = e.error;
			else if (e.error != 0 && e.msg.nlmsg_seq == 0) {
				/* Refused at connect, before any request was read. */
				if (rx->sub_ack == 1)
					rx->sub_ack = e.error;
				if (rx->dump_err == 1)
					rx->dump_err = e.error;
			}
		}
		if (used == 0)
			break;
		buf += used;
		len -= used;
	}
}

static const char *
refusal(int error, char *buf, size_t len)
{
	switch (error) {
	case -EPERM:
		snprintf(buf, len, "uid %u (gid %u) may not subscribe: not in events.allowed_uids "
			 "or events.allowed_gids", (unsigned)getuid(), (unsigned)getgid());
		break;
	case -EACCES:
		snprintf(buf, len, "reliable delivery is not allowed for uid %u "
			 "(events.reliable_uids); try without --reliable", (unsigned)getuid());
		break;
	case -EUSERS:
		snprintf(buf, len, "dpct has no free listener slot (events.max_listeners)");
		break;
	default:
		snprintf(buf, len, "%s", strerror(-error));
		break;
	}
	return buf;
}

/* Connect to dpct's socket; 0, -EAGAIN (not there yet: retry) or -errno. */
static int
connect_dpct(const char *path, int *out)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct ucred cr;
	socklen_t sl = sizeof(cr);
	struct stat st;
	int fd, rc;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		rc = -errno;
		close(fd);
		return (rc == -ENOENT || rc == -ECONNREFUSED) ? -EAGAIN : rc;
	}
	/* Only the owner of the socket file (dpct runs as root) can have
	 * bound it in its directory; make sure that is who answered. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &sl) < 0 || stat(path, &st) < 0 ||
	    cr.uid != st.st_uid) {
		close(fd);
		return -EPROTO;
	}
	*out = fd;
	return 0;
}

/*
 * The connection ended (EOF, or ECONNRESET/EPIPE: errno `err`): dpct went
 * away. Before it answered anything that is a refusal; once subscribed or
 * dumping, the stream is cut and the exit status says so.
 */
static int
dpct_gone(int err, const struct opts *o, const struct rx_state *rx)
{
	const char *how = err != 0 ? strerror(err) : "end of stream";

	if (!rx->answered) {
		fprintf(stderr, "dpct-events: dpct closed the connection before answering "
			"(%s)\n", how);
		return EXIT_REFUSED;
	}
	fprintf(stderr, "dpct-events: dpct closed the connection (%s)%s\n", how,
		o->dump && rx->dump_err == 1 ? " before the dump finished" : "");
	return EXIT_DPCT_GONE;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: dpct-events [--socket PATH] [--rcvbuf BYTES] [--reliable]\n"
		"                   [--format text|json|none] [--events new,update,destroy]\n"
		"                   [--summary FILE] [--idle-exit-ms N] [--max-seconds N]\n"
		"                   [--dump [--follow]] [--expect]\n"
		"  --socket PATH  dpct's events socket (default %s)\n"
		"  --expect       expectations instead of connections, as conntrack -E expect\n"
		"                 (with --dump: conntrack -L expect); --events new,destroy\n"
		"                 pick the expectation groups\n"
		"  --dump         print the table (conntrack -L format) and exit; with\n"
		"                 --follow, then stream events (resync)\n"
		"exit status: 0 done (--idle-exit-ms, --max-seconds, a finished --dump,\n"
		"  SIGINT/SIGTERM); 1 bad arguments; 2 could not subscribe or dump (refused,\n"
		"  no answer) or write the summary; 3 dpct closed the connection while\n"
		"  subscribed or before the dump finished (dpct stopped or died)\n",
		EV_DEFAULT_SOCKET);
}

static int
parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return (errno != 0 || *end != '\0' || *s == '\0' || *s == '-' || *out > max) ? -1 : 0;
}

/* --events: CT_EVK_* and EV_MASK_* share their bits (lib/events/ev_worker.c). */
static int
parse_mask(const char *s, uint32_t *mask)
{
	unsigned k;

	if (ct_event_kinds_parse(s, &k) != 0)
		return -1;
	*mask = k;
	return 0;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "port-id", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 'S' },
		{ "dump", no_argument, NULL, 'D' },
		{ "follow", no_argument, NULL, 'F' },
		{ "expect", no_argument, NULL, 'X' },
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
	o->socket = EV_DEFAULT_SOCKET;
	o->rcvbuf = DEFAULT_RCVBUF;
	o->mask = EV_MASK_ALL;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			fprintf(stderr, "dpct-events: --port-id was removed: dpct serves events on "
				"an AF_UNIX socket now; use --socket PATH (default %s)\n",
				EV_DEFAULT_SOCKET);
			return -1;
		case 'S':
			if (optarg[0] == '\0' || strlen(optarg) >= sizeof(((struct sockaddr_un *)0)->sun_path))
				goto bad;
			o->socket = optarg;
			break;
		case 'D':
			o->dump = true;
			break;
		case 'F':
			o->follow = true;
			break;
		case 'X':
			o->expect = true;
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
	if (o->follow && !o->dump) {
		fprintf(stderr, "dpct-events: --follow needs --dump\n");
		return -1;
	}
	/* The expectation groups sit three bits above the connection ones
	 * (NFNLGRP_CONNTRACK_EXP_NEW = NFNLGRP_CONNTRACK_NEW + 3). */
	if (o->expect)
		o->mask = (o->mask & EV_MASK_ALL) << 3;
	return 0;
bad:
	fprintf(stderr, "dpct-events: bad value '%s'\n", optarg);
	usage(stderr);
	return -1;
}

int
main(int argc, char **argv)
{
	static uint8_t buf[EV_DGRAM_MAX] __attribute__((aligned(8)));
	struct rx_state rx = { .sub_ack = 1, .dump_err = 1 };
	struct summary sum;
	struct opts o;
	struct sigaction sa;
	uint64_t start, last_event, last_try = 0;
	bool subscribe, ready = false;
	char why[256];
	int fd = -1, rc, ret = 0, rb;

	if (parse_args(argc, argv, &o) < 0)
		return EXIT_ARGS;
	subscribe = !o.dump || o.follow;
	memset(&sum, 0, sizeof(sum));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	start = now_ms();
	last_event = start;
	while (!quit) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t t = now_ms();
		ssize_t n;

		if (o.max_seconds != 0 && t - start >= (uint64_t)o.max_seconds * 1000) {
			if (!ready) {
				fprintf(stderr, "dpct-events: no answer from %s within %u s\n",
					o.socket, o.max_seconds);
				ret = EXIT_REFUSED;
			}
			break;
		}
		if (ready && subscribe && o.idle_exit_ms != 0 && t - last_event >= o.idle_exit_ms)
			break;
		/* Connect, and retry until dpct's socket exists and answers. */
		if (fd < 0) {
			if (last_try != 0 && t - last_try < 100) {
				usleep(20000);
				continue;
			}
			last_try = t;
			rc = connect_dpct(o.socket, &fd);
			if (rc == -EAGAIN)
				continue;
			if (rc == -EACCES) {
				fprintf(stderr, "dpct-events: %s: permission denied (the socket is "
					"mode 0660, owned by root and events.socket_group; uid %u "
					"is not in that group)\n", o.socket, (unsigned)getuid());
				ret = EXIT_REFUSED;
				break;
			}
			if (rc < 0) {
				fprintf(stderr, "dpct-events: %s: %s\n", o.socket,
					rc == -EPROTO ? "the peer does not own the socket: not dpct"
						      : strerror(-rc));
				ret = EXIT_REFUSED;
				break;
			}
			rb = (int)o.rcvbuf;
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
			if (subscribe) {
				rx.sub_seq = 1;
				rc = send_subscribe(fd, rx.sub_seq, &o);
			} else {
				rc = 0;
				rx.sub_ack = 0;
			}
			if (rc == 0 && o.dump) {
				rx.dump_seq = 2;
				rc = send_dump(fd, rx.dump_seq, o.expect);
			} else if (!o.dump) {
				rx.dump_err = 0;
			}
			/* A refused peer may find its connection closed already;
			 * the reason is still in the receive queue. */
			if (rc < 0 && rc != -EPIPE && rc != -ECONNRESET) {
				fprintf(stderr, "dpct-events: request: %s\n", strerror(-rc));
				ret = EXIT_REFUSED;
				break;
			}
			continue;
		}
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		/* MSG_TRUNC: the datagram's real length, even when it did not fit. */
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && errno != ECONNRESET && errno != EPIPE) {
			if (errno != EAGAIN && errno != EINTR)
				sum.recv_errors++;
			continue;
		}
		if (n <= 0) {
			ret = dpct_gone(n < 0 ? errno : 0, &o, &rx);
			break;
		}
		if ((size_t)n > sizeof(buf)) {
			sum.truncated++;
			sum.trunc_unseen = true;
			fprintf(stderr, "dpct-events: a %zd-byte datagram did not fit in %zu "
				"bytes: the messages in its tail are lost\n", n, sizeof(buf));
			n = (ssize_t)sizeof(buf);
		}
		rx.answered = true;
		handle_datagram(buf, (size_t)n, &rx, &o, &sum, stdout);
		if (rx.any_event) {
			rx.any_event = false;
			last_event = now_ms();
		}
		if (rx.sub_ack < 0) {
			fprintf(stderr, "dpct-events: subscription refused: %s\n",
				refusal(rx.sub_ack, why, sizeof(why)));
			ret = EXIT_REFUSED;
			break;
		}
		if (rx.dump_err < 0) {
			fprintf(stderr, "dpct-events: dump refused: %s\n",
				refusal(rx.dump_err, why, sizeof(why)));
			ret = EXIT_REFUSED;
			break;
		}
		if (!ready && rx.sub_ack == 0 && (!o.dump || o.follow || rx.dump_err == 0)) {
			ready = true;
			last_event = now_ms();
		}
		if (o.dump && !o.follow && rx.dump_err == 0)
			break;
	}
	fflush(stdout);
	/* A cut datagram lost at least one message, even when no later event
	 * showed the gap. */
	if (sum.trunc_unseen)
		sum.lost++;
	if (sum.lost != 0)
		fprintf(stderr, "dpct-events: %" PRIu64 " events lost in all\n", sum.lost);
	if (o.summary != NULL && write_summary(o.summary, &sum) < 0 && ret == 0)
		ret = EXIT_REFUSED;
	free(sum.tab);
	if (fd >= 0)
		close(fd);
	return ret;
}
