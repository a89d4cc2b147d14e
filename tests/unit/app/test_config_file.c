/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * app/dpct/config_file.c: what may stand at a config path. A FIFO, a
 * directory, a device and a socket are refused without reading (and
 * without blocking), a file over the limit before it is read, a file whose
 * size changes while being read after; and the policy rules come from the
 * same read and parse as the rest of the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dpct_config.h"
#include "dpct_test.h"
#include "pol.h"

static char errbuf[512];
static char dir[] = "/tmp/dpct_cfgfile_XXXXXX";

static void
path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static int
write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Refused with `rc`, a message naming the path and containing `what`, nothing returned. */
static int
refused(const char *path, int rc_want, const char *what)
{
	char *buf = (char *)1;
	size_t len = 1;
	int rc;

	rc = dpct_config_read_file(path, 4096, &buf, &len, errbuf, sizeof(errbuf));
	T_EQ(rc, rc_want);
	T_ASSERT(buf == NULL && len == 0);
	if (strstr(errbuf, path) == NULL || strstr(errbuf, what) == NULL)
		T_FAIL_("\"%s\" should name %s and say \"%s\"", errbuf, path, what);
	return 0;
}

static int
test_not_regular(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char p[256];
	int s;

	path_of(p, sizeof(p), "fifo.json");
	T_EQ(mkfifo(p, 0600), 0);
	/* A FIFO without a writer: a blocking open would never return. */
	if (refused(p, -EINVAL, "is a FIFO (named pipe), not a regular file") != 0)
		return 1;
	path_of(p, sizeof(p), "dir.json");
	T_EQ(mkdir(p, 0700), 0);
	if (refused(p, -EINVAL, "is a directory, not a regular file") != 0)
		return 1;
	if (refused("/dev/zero", -EINVAL, "is a character device, not a regular file") != 0 ||
	    refused("/dev/null", -EINVAL, "is a character device, not a regular file") != 0)
		return 1;
	path_of(p, sizeof(p), "sock.json");
	T_ASSERT(strlen(p) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, p, strlen(p) + 1);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	T_ASSERT(s >= 0);
	T_EQ(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	if (refused(p, -EINVAL, "is a socket, not a regular file") != 0)
		return 1;
	path_of(p, sizeof(p), "missing.json");
	return refused(p, -ENOENT, "No such file or directory");
}

static int
test_size_bound(void)
{
	char p[256], text[4098], *buf = NULL;
	size_t len = 0;

	memset(text, ' ', sizeof(text));
	path_of(p, sizeof(p), "big.json");
	T_EQ(write_file(p, text, 4097), 0);
	if (refused(p, -EFBIG, "4097 bytes, more than the 4096 bytes") != 0)
		return 1;
	/* Exactly at the limit: read whole, NUL-terminated. */
	text[0] = '{';
	text[4095] = '}';
	T_EQ(write_file(p, text, 4096), 0);
	T_EQ(dpct_config_read_file(p, 4096, &buf, &len, errbuf, sizeof(errbuf)), 0);
	T_UEQ(len, 4096);
	T_ASSERT(buf[0] == '{' && buf[4095] == '}' && buf[4096] == '\0');
	free(buf);
	/* The app's own limit: 1 MiB, checked before reading. */
	T_EQ(write_file(p, "{}", 2), 0);
	T_EQ(truncate(p, DPCT_CONFIG_FILE_MAX + 1), 0);
	{
		struct dpct_config c;

		dpct_config_defaults(&c);
		T_EQ(dpct_config_load(&c, p, errbuf, sizeof(errbuf)), -EFBIG);
		T_ASSERT(strstr(errbuf, "1048577 bytes, more than the 1048576 bytes") != NULL);
	}
	return 0;
}

/*
 * A file whose size at open is not what is read: procfs files are regular
 * with st_size 0, the same as a file rewritten between fstat() and read().
 */
static int
test_changed_while_read(void)
{
	return refused("/proc/self/status", -EAGAIN, "changed while being read (0 bytes at open");
}

/* The policy section comes from the same parse as the rest; a fault leaves nothing. */
static int
test_load_full(void)
{
	const char *good = "{\"table\": {\"max_entries\": 1000}, \"policy\": {\"default\": "
			   "\"drop\", \"rules\": [{\"proto\": \"udp\", \"dport\": 53, "
			   "\"action\": \"accept\"}, {\"proto\": \"tcp\", \"action\": "
			   "\"accept\"}]}}";
	const char *badp = "{\"table\": {\"max_entries\": 1000}, \"policy\": {\"rules\": "
			   "[{\"action\": \"allow\"}]}}";
	const char *none = "{\"table\": {\"max_entries\": 2000}}";
	struct pol_ruleset rs;
	struct dpct_config c;
	bool has = false;
	char p[256];

	path_of(p, sizeof(p), "pol.json");
	T_EQ(write_file(p, good, strlen(good)), 0);
	dpct_config_defaults(&c);
	T_EQ(dpct_config_load_full(&c, p, &rs, &has, errbuf, sizeof(errbuf)), 0);
	T_ASSERT(has);
	T_UEQ(c.max_entries, 1000);
	T_UEQ(rs.n_rules, 2);
	T_EQ(rs.default_action, POL_DROP);
	pol_ruleset_clear(&rs);
	T_EQ(write_file(p, badp, strlen(badp)), 0);
	T_EQ(dpct_config_load_full(&c, p, &rs, &has, errbuf, sizeof(errbuf)), -EINVAL);
	T_ASSERT(!has && rs.n_rules == 0 && rs.rules == NULL);
	T_ASSERT(strstr(errbuf, p) != NULL && strstr(errbuf, "$.policy.rules[0].action") != NULL);
	T_UEQ(c.max_entries, 1000);
	/* A file that cannot be read leaves an empty set too, whatever was there. */
	memset(&rs, 0xa5, sizeof(rs));
	T_EQ(dpct_config_load_full(&c, "/dev/zero", &rs, &has, errbuf, sizeof(errbuf)), -EINVAL);
	T_ASSERT(!has && rs.n_rules == 0 && rs.rules == NULL);
	pol_ruleset_clear(&rs);
	T_EQ(write_file(p, none, strlen(none)), 0);
	T_EQ(dpct_config_load_full(&c, p, &rs, &has, errbuf, sizeof(errbuf)), 0);
	T_ASSERT(!has && rs.n_rules == 0);
	T_UEQ(c.max_entries, 2000);
	pol_ruleset_clear(&rs);
	return 0;
}

static int
cleanup(void)
{
	static const char *const names[] = {"fifo.json", "dir.json", "sock.json", "big.json",
					    "pol.json"};
	char p[256];
	unsigned i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_of(p, sizeof(p), names[i]);
		if (unlink(p) != 0)
			rmdir(p);
	}
	T_EQ(rmdir(dir), 0);
	return 0;
}

static int
setup(void)
{
	T_ASSERT(mkdtemp(dir) != NULL);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(setup),
	T_CASE(test_not_regular),
	T_CASE(test_size_bound),
	T_CASE(test_changed_while_read),
	T_CASE(test_load_full),
	T_CASE(cleanup),
};

T_MAIN(cases)
