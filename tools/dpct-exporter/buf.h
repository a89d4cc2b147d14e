/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EXPORTER_BUF_H
#define DPCT_EXPORTER_BUF_H

/*
 * A growable, bounded text buffer. Appends past `max` fail with -ENOSPC and
 * leave the buffer as it was; allocation failures give -ENOMEM. The text is
 * always NUL-terminated. Not thread safe.
 */

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

/** An empty buffer that may grow to `max` bytes (the NUL included). */
void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/** Forget the text, keep the memory. */
void buf_reset(struct buf *b);
/** Append `n` bytes. 0, -ENOSPC or -ENOMEM. */
int buf_append(struct buf *b, const char *s, size_t n);
/** Append formatted text. 0, -ENOSPC, -ENOMEM or -EINVAL (a bad format). */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
