/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Address prefixes as the config writes them ("10.0.0.0/8", "2001:db8::/32",
 * a bare address), shared by the policy, notrack and limits sections; each
 * section words its own messages and decides about host bits.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_util.h"

int
dpct_cfg_prefix(const char *s, uint8_t addr[16], struct dpct_prefix *out)
{
	char buf[INET6_ADDRSTRLEN + 8], *end;
	const char *slash;
	unsigned i;

	memset(addr, 0, 16);
	memset(out, 0, sizeof(*out));
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(s, '/');
	if (slash != NULL)
		buf[slash - s] = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1) {
		out->family = 4;
		out->max = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		out->family = 6;
		out->max = 128;
	} else {
		return -EINVAL;
	}
	out->len = out->max;
	if (slash != NULL) {
		unsigned long n;

		errno = 0;
		n = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || errno != 0 || n > out->max)
			return -ERANGE;
		out->len = (unsigned)n;
	}
	for (i = out->len; i < out->max; i++)
		if (addr[i / 8] & (0x80u >> (i % 8)))
			out->host_bits = true;
	return 0;
}
