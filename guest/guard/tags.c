/* SPDX-License-Identifier: Apache-2.0 */
#include "tags.h"

#include <errno.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly 16 lowercase hex digits at @s (at most @len bytes available). */
static int parse_tag(const char *s, size_t len, uint64_t *tag)
{
	uint64_t v = 0;

	if (len < 16)
		return -EBADMSG;
	for (size_t i = 0; i < 16; i++) {
		int d = hexval(s[i]);

		if (d < 0)
			return -EBADMSG;
		v = v << 4 | (uint64_t)d;
	}
	*tag = v;
	return 0;
}

/* Insert keeping the array sorted; -EBADMSG on a duplicate. The caller
 * guarantees room for one more. */
static int insert(uint64_t *tags, size_t *n, uint64_t t)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (tags[i] == t)
			return -EBADMSG;
	for (i = *n; i > 0 && tags[i - 1] > t; i--)
		tags[i] = tags[i - 1];
	tags[i] = t;
	(*n)++;
	return 0;
}

static int parse_line(const char *s, size_t len, struct hv_guard_tags *t)
{
	uint64_t tag;
	int r;

	if (len == 0 || s[0] == '#')
		return 0;
	r = parse_tag(s, len, &tag);
	if (r < 0)
		return r;
	/* The tag is followed by the end of line or a space and a name of
	 * printable, non-space characters. */
	if (len > 16) {
		if (s[16] != ' ' || len == 17)
			return -EBADMSG;
		for (size_t i = 17; i < len; i++)
			if (s[i] <= ' ' || s[i] > '~')
				return -EBADMSG;
	}
	if (t->n >= HV_GUARD_TAGS_MAX)
		return -E2BIG;
	return insert(t->tag, &t->n, tag);
}

int hv_guard_tags_parse(const char *text, size_t len, struct hv_guard_tags *out)
{
	struct hv_guard_tags t = {0};
	size_t pos = 0;

	if (len > HV_GUARD_TAGS_FILE_MAX)
		return -E2BIG;
	if (memchr(text, '\0', len))
		return -EBADMSG;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		int r = parse_line(text + pos, end - pos, &t);

		if (r < 0)
			return r;
		pos = end + 1;
	}
	if (t.n == 0)
		return -ENODATA;
	*out = t;
	return 0;
}

int hv_guard_tags_check(const struct hv_guard_tags *expected, const char *const *reported, size_t n)
{
	uint64_t got[HV_GUARD_TAGS_MAX];
	size_t ngot = 0;

	if (n > HV_GUARD_TAGS_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		uint64_t tag;

		if (!reported[i] || strnlen(reported[i], 17) != 16 ||
		    parse_tag(reported[i], 16, &tag) < 0)
			return -EBADMSG;
		/* A program reported twice is not the build's set. */
		if (insert(got, &ngot, tag) < 0)
			return -EPERM;
	}
	if (ngot != expected->n)
		return -EPERM;
	for (size_t i = 0; i < ngot; i++)
		if (got[i] != expected->tag[i])
			return -EPERM;
	return 0;
}

Hvipe__FindingCode hv_guard_evaluate(const Hvipe__GuardState *gs,
                                     const struct hv_guard_tags *expected)
{
	if (!gs || gs->status == HVIPE__GUARD_STATUS__GUARD_ABSENT)
		return HVIPE__FINDING_CODE__FINDING_GUARD_ABSENT;
	if (gs->status != HVIPE__GUARD_STATUS__GUARD_ARMED)
		return HVIPE__FINDING_CODE__FINDING_GUARD_NOT_ARMED;
	if (expected && hv_guard_tags_check(expected, (const char *const *)gs->program_tags,
	                                    gs->n_program_tags) != 0)
		return HVIPE__FINDING_CODE__FINDING_GUARD_TAMPERED;
	return HVIPE__FINDING_CODE__FINDING_NONE;
}
