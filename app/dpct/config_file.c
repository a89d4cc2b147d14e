/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading the configuration file. A config path may be replaced by anything
 * between two reloads, so nothing here can block or read without bound: the
 * path must name a regular file (checked before it is opened, and on the
 * open descriptor), its size is bounded before a byte is read, the read
 * itself is bounded, and a file that changed while it was read is refused
 * rather than half applied. The bytes are then parsed once, policy included.
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* struct stat's st_mtim where the build undefines _GNU_SOURCE */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_util.h"
#include "dpct_config.h"
#include "pol.h"

static const char *
file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO (named pipe)";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

/* Regular and small enough: the checks made before and after open(). */
static int
check_stat(const char *path, const struct stat *st, size_t max, char *err, size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: is %s, not a regular file", path,
			 file_kind(st->st_mode));
		return -EINVAL;
	}
	if (st->st_size < 0 || (unsigned long long)st->st_size > max) {
		snprintf(err, errlen, "%s: %lld bytes, more than the %zu bytes a config file may "
			 "have", path, (long long)st->st_size, max);
		return -EFBIG;
	}
	return 0;
}

static int
open_errno(const char *path, const char *what, int e, char *err, size_t errlen)
{
	if (what == NULL)
		snprintf(err, errlen, "%s: %s", path, strerror(e));
	else
		snprintf(err, errlen, "%s: cannot %s: %s", path, what, strerror(e));
	if (e == ENOENT || e == ENOTDIR)
		return -ENOENT;
	if (e == EACCES || e == EPERM)
		return -EACCES;
	return -EIO;
}

static bool
same_time(const struct stat *a, const struct stat *b)
{
	return a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int
dpct_config_read_file(const char *path, size_t max, char **out, size_t *outlen, char *err,
		      size_t errlen)
{
	struct stat st, now;
	size_t len = 0;
	char *buf = NULL;
	ssize_t n;
	int fd, rc;

	*out = NULL;
	*outlen = 0;
	/* Judged by the path first, so a FIFO or a device is never even opened. */
	if (stat(path, &st) != 0)
		return open_errno(path, NULL, errno, err, errlen);
	rc = check_stat(path, &st, max, err, errlen);
	if (rc != 0)
		return rc;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return open_errno(path, "open it", errno, err, errlen);
	/* The descriptor is what is read: the path may have been replaced meanwhile. */
	if (fstat(fd, &st) != 0) {
		rc = open_errno(path, "stat it", errno, err, errlen);
		goto out;
	}
	rc = check_stat(path, &st, max, err, errlen);
	if (rc != 0)
		goto out;
	buf = malloc(max + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: no memory to read it", path);
		goto out;
	}
	/* One byte more than allowed tells a file that grew past the limit. */
	while (len <= max) {
		n = read(fd, buf + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno == EAGAIN ? -EAGAIN : -EIO;
			snprintf(err, errlen, "%s: read failed: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (fstat(fd, &now) != 0) {
		rc = open_errno(path, "stat it", errno, err, errlen);
		goto out;
	}
	if (len > max) {
		snprintf(err, errlen, "%s: grew past the %zu bytes a config file may have while "
			 "being read", path, max);
		rc = -EFBIG;
		goto out;
	}
	if ((long long)len != (long long)st.st_size || now.st_size != st.st_size ||
	    !same_time(&st, &now)) {
		snprintf(err, errlen, "%s: changed while being read (%lld bytes at open, %zu read, "
			 "%lld now): not applied, try again", path, (long long)st.st_size, len,
			 (long long)now.st_size);
		rc = -EAGAIN;
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

int
dpct_config_load_full(struct dpct_config *c, const char *path, struct pol_ruleset *rs,
		      bool *has_policy, char *err, size_t errlen)
{
	char inner[512];
	size_t len;
	char *buf;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (has_policy != NULL)
		*has_policy = false;
	/* Empty on every error, the file's own included: the caller clears it either way. */
	if (rs != NULL)
		pol_ruleset_init(rs);
	rc = dpct_config_read_file(path, DPCT_CONFIG_FILE_MAX, &buf, &len, err, errlen);
	if (rc != 0)
		return rc;
	rc = dpct_config_parse_full(c, buf, len, rs, has_policy, inner, sizeof(inner));
	if (rc != 0)
		snprintf(err, errlen, "%s: %s", path, rc == -ENOMEM ? "out of memory" : inner);
	free(buf);
	return rc;
}

int
dpct_config_load(struct dpct_config *c, const char *path, char *err, size_t errlen)
{
	return dpct_config_load_full(c, path, NULL, NULL, err, errlen);
}
