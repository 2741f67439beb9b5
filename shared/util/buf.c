/* SPDX-License-Identifier: Apache-2.0 */
#include "util/buf.h"
#include "util/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hv_cursor_take(struct hv_cursor *c, size_t n, const uint8_t **out)
{
	if (n > c->left)
		return -EBADMSG;
	*out = c->p;
	c->p += n;
	c->left -= n;
	return 0;
}

int hv_cursor_get_u8(struct hv_cursor *c, uint8_t *v)
{
	const uint8_t *p;
	int r = hv_cursor_take(c, 1, &p);

	if (r == 0)
		*v = p[0];
	return r;
}

int hv_cursor_get_be32(struct hv_cursor *c, uint32_t *v)
{
	const uint8_t *p;
	int r = hv_cursor_take(c, 4, &p);

	if (r == 0)
		*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return r;
}

int hv_cursor_get_le16(struct hv_cursor *c, uint16_t *v)
{
	const uint8_t *p;
	int r = hv_cursor_take(c, 2, &p);

	if (r == 0)
		*v = (uint16_t)(p[0] | p[1] << 8);
	return r;
}

int hv_cursor_get_le32(struct hv_cursor *c, uint32_t *v)
{
	const uint8_t *p;
	int r = hv_cursor_take(c, 4, &p);

	if (r == 0)
		*v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		     (uint32_t)p[3] << 24;
	return r;
}

int hv_cursor_get_le64(struct hv_cursor *c, uint64_t *v)
{
	uint32_t lo, hi;
	int r;

	if (c->left < 8)
		return -EBADMSG;
	r = hv_cursor_get_le32(c, &lo);
	if (r == 0)
		r = hv_cursor_get_le32(c, &hi);
	if (r == 0)
		*v = (uint64_t)hi << 32 | lo;
	return r;
}

void hv_buf_init(struct hv_buf *b, size_t max)
{
	*b = (struct hv_buf){.max = max};
}

static int buf_reserve(struct hv_buf *b, size_t extra)
{
	size_t want, ncap;
	uint8_t *n;

	if (extra > b->max - b->len)
		return -E2BIG;
	want = b->len + extra + 1;
	if (want <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < want)
		ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
	n = realloc(b->data, ncap);
	if (!n)
		return -ENOMEM;
	b->data = n;
	b->cap = ncap;
	return 0;
}

int hv_buf_append(struct hv_buf *b, const void *p, size_t n)
{
	int r = buf_reserve(b, n);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int hv_buf_printf(struct hv_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	r = buf_reserve(b, (size_t)n);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void hv_buf_consume(struct hv_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
}

void hv_buf_free(struct hv_buf *b)
{
	free(b->data);
	*b = (struct hv_buf){.max = b->max};
}

int hv_read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ uint8_t *data = NULL;
	size_t have = 0, cap = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		/*
		 * Grow while below the cap (max + 1 bytes, to see one too many, and
		 * the NUL). At the cap there is still room for a byte, since have <=
		 * max here: pipes and seq_files deliver short reads, so only EOF or
		 * that extra byte decides.
		 */
		if (cap - have < 4096 + 1 && cap < max + 2) {
			size_t ncap = cap ? cap * 2 : 8192;
			uint8_t *nd;

			if (ncap > max + 2)
				ncap = max + 2;
			nd = realloc(data, ncap);
			if (!nd)
				return -ENOMEM;
			data = nd;
			cap = ncap;
		}
		n = read(fd, data + have, cap - have - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (have > max)
			return -EFBIG;
	}
	data[have] = 0;
	*len = have;
	*out = TAKE_PTR(data);
	return 0;
}

int hv_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const uint8_t *p = data;
	_cleanup_close_ int fd = -1;
	_cleanup_close_ int dfd = -1;
	char *slash;
	int r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0)
		goto fail;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0 || rename(tmp, path) < 0)
		goto fail;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		fsync(dfd);
	return 0;
fail:
	r = -errno;
	unlink(tmp);
	return r;
}
