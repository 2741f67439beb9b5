/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded byte handling for hostile input.
 *
 * struct hv_cursor reads from a fixed span: every read is checked against what
 * is left and fails with -EBADMSG rather than running past the end.
 * struct hv_buf is a growable output buffer with a hard cap: appends beyond
 * the cap fail with -E2BIG and leave the buffer unchanged.
 */
#ifndef HVIPE_UTIL_BUF_H
#define HVIPE_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hv_cursor {
	const uint8_t *p;
	size_t left;
};

static inline struct hv_cursor hv_cursor_init(const void *p, size_t len)
{
	return (struct hv_cursor){.p = p, .left = len};
}

int hv_cursor_get_u8(struct hv_cursor *c, uint8_t *v);
int hv_cursor_get_be32(struct hv_cursor *c, uint32_t *v);
int hv_cursor_get_le16(struct hv_cursor *c, uint16_t *v);
int hv_cursor_get_le32(struct hv_cursor *c, uint32_t *v);
int hv_cursor_get_le64(struct hv_cursor *c, uint64_t *v);
/* Point @out at the next @n bytes (no copy). */
int hv_cursor_take(struct hv_cursor *c, size_t n, const uint8_t **out);

struct hv_buf {
	uint8_t *data;
	size_t len;
	size_t cap; /* allocated bytes */
	size_t max; /* hard limit on len */
};

void hv_buf_init(struct hv_buf *b, size_t max);
int hv_buf_append(struct hv_buf *b, const void *p, size_t n);
int hv_buf_printf(struct hv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first @n bytes. */
void hv_buf_consume(struct hv_buf *b, size_t n);
void hv_buf_free(struct hv_buf *b);

/*
 * Read a whole regular file of at most @max bytes. On success *out is a
 * malloc'd buffer with a NUL after the last byte (not counted in *len).
 * Returns 0, -EFBIG when the file is larger than @max, or -errno.
 */
int hv_read_file(const char *path, size_t max, uint8_t **out, size_t *len);

/*
 * Replace @path atomically with @len bytes (temporary file in the same
 * directory, fsync, rename, fsync of the directory), created with @mode.
 */
int hv_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

#endif
