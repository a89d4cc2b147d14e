/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-gen FTP and TFTP sessions: a control connection whose commands
 * announce a data connection, and that data connection, in one flow.
 *
 * FTP (GEN_K_FTP_PASV, GEN_K_FTP_PORT): handshake, "220" banner, USER and
 * "331" (so that the command comes after a line end in both directions,
 * where Linux's helper reads it), then PASV/"227" or EPSV/"229" (passive;
 * EPSV over IPv6) or PORT/"200" or EPRT/"200" (active; EPRT over IPv6),
 * the data connection (handshake, 200 bytes, FIN close), "226", QUIT,
 * "221" and the control connection's FIN close. Passive: the data
 * connection goes from the client to the server's announced port; active:
 * from the server's port 20 to the client's announced port.
 *
 * TFTP (GEN_K_TFTP): a read request to port 69, the first (and last) DATA
 * block from another server port, its ACK.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gen_private.h"

#define FTP_DATA_LEN 200
#define TFTP_DATA_LEN 100

/* The data connection of flow f as a flow of its own (its state lives in f->seq2, f->port2). */
static void
data_flow(const struct gen_flow *f, struct gen_flow *d)
{
	*d = *f;
	d->kind = GEN_K_TCP;
	if (f->kind == GEN_K_FTP_PORT) {
		memcpy(d->cli, f->srv, sizeof(d->cli));
		memcpy(d->srv, f->cli, sizeof(d->srv));
		d->sport = 20;
		d->dport = f->port2[1];
	} else {
		d->sport = f->port2[0];
		d->dport = f->port2[1];
	}
	d->seq[0] = f->seq2[0];
	d->seq[1] = f->seq2[1];
}

static int
tcp_text(struct gen *g, struct gen_flow *f, int dir, uint8_t flags, const char *text)
{
	uint32_t len = text != NULL ? (uint32_t)strlen(text) : 0;
	size_t l4len = gen_tcp_build(g->l4, f, dir, flags, len);

	if (len != 0)
		memcpy(g->l4 + l4len - len, text, len);
	f->seq[dir] += len + ((flags & GEN_TCP_SYN) ? 1 : 0) + ((flags & GEN_TCP_FIN) ? 1 : 0);
	return gen_emit(g, gen_flow_frame(g->frame, f, dir, 6, g->l4, l4len));
}

/* One segment of the data connection. */
static int
data_send(struct gen *g, struct gen_flow *f, int dir, uint8_t flags, uint32_t paylen)
{
	struct gen_flow d;
	int rc;

	data_flow(f, &d);
	rc = gen_tcp_send(g, &d, dir, flags, paylen);
	f->seq2[0] = d.seq[0];
	f->seq2[1] = d.seq[1];
	return rc;
}

/* The command (client) and its reply (server) that announce the data connection. */
static void
announce(const struct gen_flow *f, char *cmd, char *reply, size_t n)
{
	char a[INET6_ADDRSTRLEN];
	unsigned p = f->port2[1];

	if (f->kind == GEN_K_FTP_PASV && !f->v6) {
		snprintf(cmd, n, "PASV\r\n");
		snprintf(reply, n, "227 Entering Passive Mode (%u,%u,%u,%u,%u,%u).\r\n", f->srv[0],
			 f->srv[1], f->srv[2], f->srv[3], p >> 8, p & 0xff);
	} else if (f->kind == GEN_K_FTP_PASV) {
		snprintf(cmd, n, "EPSV\r\n");
		snprintf(reply, n, "229 Entering Extended Passive Mode (|||%u|)\r\n", p);
	} else if (!f->v6) {
		snprintf(cmd, n, "PORT %u,%u,%u,%u,%u,%u\r\n", f->cli[0], f->cli[1], f->cli[2],
			 f->cli[3], p >> 8, p & 0xff);
		snprintf(reply, n, "200 PORT command successful\r\n");
	} else {
		inet_ntop(AF_INET6, f->cli, a, sizeof(a));
		snprintf(cmd, n, "EPRT |2|%s|%u|\r\n", a, p);
		snprintf(reply, n, "200 EPRT command successful\r\n");
	}
}

int
gen_step_ftp(struct gen *g, struct gen_flow *f)
{
	const uint8_t A = GEN_TCP_ACK, PA = GEN_TCP_PSH | GEN_TCP_ACK,
		      FA = GEN_TCP_FIN | GEN_TCP_ACK;
	char cmd[96], reply[96];
	int rc;

	announce(f, cmd, reply, sizeof(cmd));
	switch (f->step) {
	case 0:
		rc = tcp_text(g, f, 0, GEN_TCP_SYN, NULL);
		break;
	case 1:
		rc = tcp_text(g, f, 1, GEN_TCP_SYN | A, NULL);
		break;
	case 2:
		rc = tcp_text(g, f, 0, A, NULL);
		break;
	case 3:
		rc = tcp_text(g, f, 1, PA, "220 dpct-gen FTP\r\n");
		break;
	case 4:
		rc = tcp_text(g, f, 0, PA, "USER anonymous\r\n");
		break;
	case 5:
		rc = tcp_text(g, f, 1, PA, "331 Please specify the password.\r\n");
		break;
	case 6:
		rc = tcp_text(g, f, 0, PA, cmd);
		break;
	case 7:
		rc = tcp_text(g, f, 1, PA, reply);
		break;
	case 8:
		rc = data_send(g, f, 0, GEN_TCP_SYN, 0);
		break;
	case 9:
		rc = data_send(g, f, 1, GEN_TCP_SYN | A, 0);
		break;
	case 10:
		rc = data_send(g, f, 0, A, 0);
		break;
	/* Passive: the server (the data connection's responder) sends; active: the server too. */
	case 11:
		rc = data_send(g, f, f->kind == GEN_K_FTP_PORT ? 0 : 1, PA, FTP_DATA_LEN);
		break;
	case 12:
		rc = data_send(g, f, 0, FA, 0);
		break;
	case 13:
		rc = data_send(g, f, 1, FA, 0);
		break;
	case 14:
		rc = data_send(g, f, 0, A, 0);
		break;
	case 15:
		rc = tcp_text(g, f, 1, PA, "226 Transfer complete.\r\n");
		break;
	case 16:
		rc = tcp_text(g, f, 0, PA, "QUIT\r\n");
		break;
	case 17:
		rc = tcp_text(g, f, 1, PA, "221 Goodbye.\r\n");
		break;
	case 18:
		rc = tcp_text(g, f, 0, FA, NULL);
		break;
	case 19:
		rc = tcp_text(g, f, 1, FA, NULL);
		break;
	default:
		rc = tcp_text(g, f, 0, A, NULL);
		break;
	}
	if (rc < 0)
		return -EINVAL;
	return f->step < 20;
}

int
gen_step_tftp(struct gen *g, struct gen_flow *f)
{
	struct gen_flow d = *f;
	uint8_t *p = g->l4 + 8;
	size_t n;
	int dir;

	/* The transfer: from the server's port2[1] to the client's port. */
	d.dport = f->port2[1];
	switch (f->step) {
	case 0:
		n = (size_t)snprintf((char *)p + 2, 64, "file%u", f->index) + 3;
		p[0] = 0;
		p[1] = 1;
		memcpy(p + n, "octet", 6);
		n += 6;
		gen_udp_header(g->l4, f, 0, n);
		return gen_emit(g, gen_flow_frame(g->frame, f, 0, 17, g->l4, 8 + n)) < 0 ? -EINVAL
											 : 1;
	case 1:
		dir = 1;
		gen_put16(p, 3);
		gen_put16(p + 2, 1);
		memset(p + 4, 'x', TFTP_DATA_LEN);
		n = 4 + TFTP_DATA_LEN;
		break;
	default:
		dir = 0;
		gen_put16(p, 4);
		gen_put16(p + 2, 1);
		n = 4;
		break;
	}
	gen_udp_header(g->l4, &d, dir, n);
	if (gen_emit(g, gen_flow_frame(g->frame, &d, dir, 17, g->l4, 8 + n)) < 0)
		return -EINVAL;
	f->ip_id[0] = d.ip_id[0];
	f->ip_id[1] = d.ip_id[1];
	return f->step < 2;
}
