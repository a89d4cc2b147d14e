/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-exporter: serves dpct's telemetry counters in the Prometheus text
 * format on /metrics (docs/monitoring.md). Each scrape connects to dpct's
 * DPDK telemetry socket, asks a handful of commands within --timeout-ms,
 * and closes; while dpct is not there it answers dpct_up 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "collect.h"
#include "prom.h"
#include "tel.h"

#define DEFAULT_LISTEN "127.0.0.1:9587"
#define DEFAULT_TIMEOUT_MS 2000u
#define MAX_TIMEOUT_MS 60000u
/* Bounds on one scrape's text: per family, and all of it. */
#define FAMILY_MAX_BYTES (1u << 20)
#define OUTPUT_MAX_BYTES (8u << 20)

#define TEXT_FORMAT "text/plain; version=0.0.4; charset=utf-8"

struct exporter {
	struct tel tel;
	unsigned timeout_ms;
};

static const char index_page[] =
	"<html><head><title>dpct-exporter</title></head><body>\n"
	"<h1>dpct-exporter</h1>\n"
	"<p>dpct's conntrack counters for Prometheus: <a href=\"/metrics\">/metrics</a>.</p>\n"
	"<p>Metrics, alerts and deployment: docs/monitoring.md.</p>\n"
	"</body></html>\n";

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: dpct-exporter [--listen ADDR:PORT] [--file-prefix P | --socket PATH]\n"
		"                     [--timeout-ms N] [--once] [--list-metrics]\n"
		"  --listen ADDR:PORT  HTTP address (default " DEFAULT_LISTEN "; [v6addr]:port)\n"
		"  --file-prefix P     dpct's EAL --file-prefix (default rte): the socket is\n"
		"                      /var/run/dpdk/P/dpdk_telemetry.v2 (root) or\n"
		"                      $XDG_RUNTIME_DIR/dpdk/P/dpdk_telemetry.v2\n"
		"  --socket PATH       the telemetry socket itself\n"
		"  --timeout-ms N      budget of one scrape, 1..60000 (default 2000)\n"
		"  --once              print one scrape on stdout and exit (0 if dpct_up 1)\n"
		"  --list-metrics      print every metric family (name, type, help) and exit\n");
}

static int
parse_listen(const char *s, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon, *h = s;
	size_t hl;
	char *end;
	unsigned long port;

	memset(ss, 0, sizeof(*ss));
	colon = strrchr(s, ':');
	if (colon == NULL || colon == s)
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port == 0 || port > 65535)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (*h == '[') {
		if (hl < 2 || s[hl - 1] != ']')
			return -EINVAL;
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -EINVAL;
}

static void
socket_path(char *out, size_t len, const char *prefix)
{
	const char *run = getenv("XDG_RUNTIME_DIR");

	if (getuid() == 0)
		snprintf(out, len, "/var/run/dpdk/%s/dpdk_telemetry.v2", prefix);
	else
		snprintf(out, len, "%s/dpdk/%s/dpdk_telemetry.v2", run != NULL ? run : "/tmp",
			 prefix);
}

/* One scrape as text into `out`. Returns dpct_up. */
static int
scrape(struct exporter *x, struct buf *out)
{
	struct prom p;
	int up;

	prom_init(&p, FAMILY_MAX_BYTES);
	up = collect_scrape(&x->tel, &p, x->timeout_ms);
	if (p.failed)
		fprintf(stderr,
			"dpct-exporter: a metric family passed %u bytes; samples left out\n",
			FAMILY_MAX_BYTES);
	if (prom_render(&p, out) < 0)
		fprintf(stderr, "dpct-exporter: the scrape passed %u bytes; families left out\n",
			OUTPUT_MAX_BYTES);
	prom_free(&p);
	return up;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *type, const char *text,
      size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)text, mode);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
       const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	static const char not_found[] = "not found: try /metrics\n";
	static const char bad_method[] = "only GET and HEAD\n";
	struct exporter *x = cls;
	struct buf out;
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)con_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", bad_method,
			     sizeof(bad_method) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/") == 0)
		return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", index_page,
			     sizeof(index_page) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
			     sizeof(not_found) - 1, MHD_RESPMEM_PERSISTENT);
	buf_init(&out, OUTPUT_MAX_BYTES);
	scrape(x, &out);
	ret = reply(c, MHD_HTTP_OK, TEXT_FORMAT, out.data != NULL ? out.data : "", out.len,
		    MHD_RESPMEM_MUST_COPY);
	buf_free(&out);
	return ret;
}

static void
list_metrics(void)
{
	unsigned f;

	for (f = 0; f < PROM_FAM_MAX; f++)
		printf("%s %s %s\n", prom_family_name(f), prom_family_type(f),
		       prom_family_help(f));
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "file-prefix", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "once", no_argument, NULL, 'o' },
		{ "list-metrics", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = DEFAULT_LISTEN, *prefix = NULL, *sock = NULL;
	struct exporter x = { .timeout_ms = DEFAULT_TIMEOUT_MS };
	struct sockaddr_storage ss;
	struct MHD_Daemon *d;
	char path[256], *end;
	unsigned long v;
	int c, once = 0, sig, rc;
	sigset_t set;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen = optarg;
			break;
		case 'p':
			prefix = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 't':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *optarg == '-' || *end != '\0' || errno != 0 ||
			    v == 0 || v > MAX_TIMEOUT_MS) {
				fprintf(stderr, "dpct-exporter: --timeout-ms '%s': give 1..%u\n",
					optarg, MAX_TIMEOUT_MS);
				return 1;
			}
			x.timeout_ms = (unsigned)v;
			break;
		case 'o':
			once = 1;
			break;
		case 'm':
			list_metrics();
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dpct-exporter: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 1;
	}
	if (prefix != NULL && sock != NULL) {
		fprintf(stderr, "dpct-exporter: give --file-prefix or --socket, not both\n");
		return 1;
	}
	if (prefix != NULL && (*prefix == '\0' || strchr(prefix, '/') != NULL)) {
		fprintf(stderr, "dpct-exporter: --file-prefix '%s': a name without '/'\n", prefix);
		return 1;
	}
	if (sock == NULL) {
		socket_path(path, sizeof(path), prefix != NULL ? prefix : "rte");
		sock = path;
	}
	if (tel_init(&x.tel, sock) < 0) {
		fprintf(stderr, "dpct-exporter: socket path '%s' is too long (at most %zu bytes)\n",
			sock, sizeof(x.tel.path) - 1);
		return 1;
	}
	if (once) {
		struct buf out;

		buf_init(&out, OUTPUT_MAX_BYTES);
		rc = scrape(&x, &out);
		fwrite(out.data != NULL ? out.data : "", 1, out.len, stdout);
		buf_free(&out);
		return rc == 1 ? 0 : 1;
	}
	if (parse_listen(listen, &ss) < 0) {
		fprintf(stderr, "dpct-exporter: --listen '%s': give ADDR:PORT, e.g. "
			DEFAULT_LISTEN " or [::1]:9587\n", listen);
		return 1;
	}
	/* The HTTP thread inherits this mask: only the main thread takes signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* One HTTP thread: scrapes are served one at a time, each on its own connection. */
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
			     (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			     ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
				   ((struct sockaddr_in *)&ss)->sin_port), NULL, NULL,
			     handle, &x, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_CONNECTION_TIMEOUT, 30u,
			     MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr,
			"dpct-exporter: cannot listen on %s (address in use or not local?)\n",
			listen);
		return 1;
	}
	fprintf(stderr, "dpct-exporter: serving http://%s/metrics from %s\n", listen, sock);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	tel_close(&x.tel);
	return 0;
}
