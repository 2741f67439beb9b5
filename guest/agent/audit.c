// SPDX-License-Identifier: Apache-2.0
#include "audit.h"
#include "hv_limits.h"
#include "util/cleanup.h"
#include "util/hex.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>

/* Fields the kernel prints through audit's untrusted-string encoder: quoted
 * when harmless, else bare upper-case hex. */
static const char *const untrusted_keys[] = {"comm", "path", "dev", "exe", "name", "cwd"};

static bool is_untrusted_key(const char *k)
{
	for (size_t i = 0; i < ARRAY_SIZE(untrusted_keys); i++)
		if (!strcmp(k, untrusted_keys[i]))
			return true;
	return false;
}

static bool is_key_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static bool is_hex_char(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* Parse decimal digits at *p (at least one, at most 20), advancing *p. */
static int parse_u64(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	const uint8_t *s = *p;

	if (s == end || *s < '0' || *s > '9')
		return -EBADMSG;
	while (s < end && *s >= '0' && *s <= '9') {
		uint64_t d = (uint64_t)(*s - '0');

		if (x > (UINT64_MAX - d) / 10)
			return -EBADMSG;
		x = x * 10 + d;
		s++;
	}
	*p = s;
	*v = x;
	return 0;
}

static int expect(const uint8_t **p, const uint8_t *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n))
		return -EBADMSG;
	*p += n;
	return 0;
}

static int parse_stamp(const uint8_t **p, const uint8_t *end, struct ga_audit_rec *rec)
{
	uint64_t sec, msec, serial;

	if (expect(p, end, "audit(") < 0 || parse_u64(p, end, &sec) < 0 ||
	    expect(p, end, ".") < 0 || parse_u64(p, end, &msec) < 0 || msec > 999 ||
	    expect(p, end, ":") < 0 || parse_u64(p, end, &serial) < 0 || expect(p, end, "):") < 0)
		return -EBADMSG;
	if (sec > (UINT64_MAX - msec) / 1000)
		return -EBADMSG;
	rec->time_ms = sec * 1000 + msec;
	rec->serial = serial;
	return 0;
}

/*
 * A quoted value ends at the first '"' followed by a space or the end of the
 * record. IPE's rule="..." holds nested quotes (dmverity_roothash="sha256":..)
 * that are always followed by ':' or a letter, so they do not end it.
 */
static const uint8_t *closing_quote(const uint8_t *s, const uint8_t *end)
{
	for (; s < end; s++)
		if (*s == '"' && (s + 1 == end || s[1] == ' '))
			return s;
	return NULL;
}

static char *decode_value(const char *key, const uint8_t *v, size_t n)
{
	_cleanup_free_ char *out = NULL;
	size_t i;

	if (n > 0 && n % 2 == 0 && is_untrusted_key(key)) {
		for (i = 0; i < n && is_hex_char(v[i]); i++)
			;
		if (i == n) {
			out = malloc(n / 2 + 1);
			if (!out)
				return NULL;
			if (hv_hex_decode((uint8_t *)out, n / 2, (const char *)v, n) ==
			            (int)(n / 2) &&
			    !memchr(out, 0, n / 2)) {
				out[n / 2] = 0;
				return TAKE_PTR(out);
			}
			/* Decoded bytes with a NUL cannot travel as a string: keep the hex. */
		}
	}
	return strndup((const char *)v, n);
}

static int parse_fields(const uint8_t *s, const uint8_t *end, struct ga_audit_rec *rec)
{
	while (s < end) {
		const uint8_t *k, *v, *vend;
		struct ga_audit_field *f;
		size_t klen;

		if (*s == ' ') {
			s++;
			continue;
		}
		k = s;
		while (s < end && is_key_char(*s))
			s++;
		if (s == k || s == end || *s != '=')
			return -EBADMSG;
		klen = (size_t)(s - k);
		s++;
		if (s < end && *s == '"') {
			v = s + 1;
			vend = closing_quote(v, end);
			if (!vend)
				return -EBADMSG;
			s = vend + 1;
		} else {
			v = s;
			while (s < end && *s != ' ' && *s != '"')
				s++;
			if (s < end && *s == '"')
				return -EBADMSG;
			vend = s;
		}
		if (rec->n_fields == GA_AUDIT_MAX_FIELDS)
			return -E2BIG;
		f = &rec->fields[rec->n_fields];
		f->key = strndup((const char *)k, klen);
		if (!f->key)
			return -ENOMEM;
		f->value = decode_value(f->key, v, (size_t)(vend - v));
		if (!f->value) {
			free(f->key);
			return -ENOMEM;
		}
		rec->n_fields++;
		rec->bytes += strlen(f->key) + strlen(f->value) + 2;
	}
	return 0;
}

int ga_audit_parse(uint32_t type, const uint8_t *msg, size_t len, struct ga_audit_rec **out)
{
	struct ga_audit_rec *rec;
	const uint8_t *p = msg, *end;
	int r;

	/* Netlink payloads may carry a trailing NUL or newline. */
	while (len > 0 && (msg[len - 1] == 0 || msg[len - 1] == '\n'))
		len--;
	if (len > HV_PROTO_MAX_AUDIT_RECORD) {
		len = HV_PROTO_MAX_AUDIT_RECORD;
		/* Cut back to the last complete field. */
		while (len > 0 && msg[len - 1] != ' ')
			len--;
	}
	end = msg + len;
	for (size_t i = 0; i < len; i++)
		if (msg[i] < 0x20 || msg[i] == 0x7f)
			return -EBADMSG;

	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	rec->type = type;
	rec->bytes = sizeof(*rec);
	r = parse_stamp(&p, end, rec);
	if (r == 0) {
		if (p < end && *p == ' ')
			p++;
		size_t n = p <= end ? (size_t)(end - p) : 0;

		rec->text = malloc(n + 1);
		r = rec->text ? 0 : -ENOMEM;
		if (r == 0) {
			memcpy(rec->text, p, n);
			rec->text[n] = 0;
		}
	}
	if (r == 0) {
		rec->bytes += strlen(rec->text) + 1;
		r = parse_fields(p, end, rec);
	}
	if (r < 0) {
		ga_audit_rec_free(rec);
		return r;
	}
	*out = rec;
	return 0;
}

int ga_audit_parse_line(const uint8_t *line, size_t len, struct ga_audit_rec **out)
{
	const uint8_t *p = line, *end = line + len;
	uint64_t type;

	if (expect(&p, end, "type=") < 0 || parse_u64(&p, end, &type) < 0 || type > UINT32_MAX ||
	    expect(&p, end, " ") < 0)
		return -EBADMSG;
	(void)expect(&p, end, "msg=");
	return ga_audit_parse((uint32_t)type, p, (size_t)(end - p), out);
}

size_t ga_audit_netlink(const uint8_t *buf, size_t len,
                        void (*take)(void *ctx, int r, struct ga_audit_rec *rec), void *ctx)
{
	size_t off = 0, seen = 0;

	while (len - off >= NLMSG_HDRLEN) {
		struct nlmsghdr h;
		size_t mlen;

		memcpy(&h, buf + off, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len - off)
			break;
		mlen = h.nlmsg_len - NLMSG_HDRLEN;
		seen++;
		if (h.nlmsg_type == GA_AUDIT_IPE_ACCESS ||
		    h.nlmsg_type == GA_AUDIT_IPE_CONFIG_CHANGE ||
		    h.nlmsg_type == GA_AUDIT_IPE_POLICY_LOAD ||
		    h.nlmsg_type == GA_AUDIT_MAC_STATUS) {
			struct ga_audit_rec *rec = NULL;
			int r = ga_audit_parse(h.nlmsg_type, buf + off + NLMSG_HDRLEN, mlen, &rec);

			take(ctx, r, rec);
		}
		if (NLMSG_ALIGN(h.nlmsg_len) >= len - off)
			break;
		off += NLMSG_ALIGN(h.nlmsg_len);
	}
	return seen;
}

void ga_audit_rec_free(struct ga_audit_rec *rec)
{
	if (!rec)
		return;
	for (size_t i = 0; i < rec->n_fields; i++) {
		free(rec->fields[i].key);
		free(rec->fields[i].value);
	}
	free(rec->text);
	free(rec);
}

const char *ga_audit_get(const struct ga_audit_rec *rec, const char *key)
{
	for (size_t i = 0; i < rec->n_fields; i++)
		if (!strcmp(rec->fields[i].key, key))
			return rec->fields[i].value;
	return NULL;
}

bool ga_audit_wanted(const struct ga_audit_rec *rec)
{
	const char *lsm;

	switch (rec->type) {
	case GA_AUDIT_IPE_ACCESS:
	case GA_AUDIT_IPE_CONFIG_CHANGE:
	case GA_AUDIT_IPE_POLICY_LOAD:
		return true;
	case GA_AUDIT_MAC_STATUS:
		lsm = ga_audit_get(rec, "lsm");
		return lsm && !strcmp(lsm, "ipe");
	default:
		return false;
	}
}

int ga_audit_queue_init(struct ga_audit_queue *q, size_t cap_records, size_t cap_bytes)
{
	memset(q, 0, sizeof(*q));
	if (cap_records == 0)
		return -EINVAL;
	q->ring = calloc(cap_records, sizeof(*q->ring));
	if (!q->ring)
		return -ENOMEM;
	q->cap_records = cap_records;
	q->cap_bytes = cap_bytes;
	q->next_id = 1;
	return 0;
}

static void drop_oldest(struct ga_audit_queue *q)
{
	struct ga_audit_rec *old = q->ring[q->head];

	q->ring[q->head] = NULL;
	q->head = (q->head + 1) % q->cap_records;
	q->count--;
	q->bytes -= old->bytes;
	q->dropped_unreported++;
	q->dropped_total++;
	ga_audit_rec_free(old);
}

void ga_audit_queue_free(struct ga_audit_queue *q)
{
	while (q->count > 0) {
		ga_audit_rec_free(q->ring[q->head]);
		q->head = (q->head + 1) % q->cap_records;
		q->count--;
	}
	free(q->ring);
	memset(q, 0, sizeof(*q));
}

void ga_audit_queue_push(struct ga_audit_queue *q, struct ga_audit_rec *rec)
{
	while (q->count > 0 && (q->count == q->cap_records || q->bytes + rec->bytes > q->cap_bytes))
		drop_oldest(q);
	rec->id = q->next_id++;
	q->ring[(q->head + q->count) % q->cap_records] = rec;
	q->count++;
	q->bytes += rec->bytes;
}

size_t ga_audit_queue_peek(const struct ga_audit_queue *q, struct ga_audit_rec **out, size_t max)
{
	size_t n = q->count < max ? q->count : max;

	for (size_t i = 0; i < n; i++)
		out[i] = q->ring[(q->head + i) % q->cap_records];
	return n;
}

void ga_audit_queue_ack(struct ga_audit_queue *q, uint64_t last_id, uint64_t dropped)
{
	while (q->count > 0 && q->ring[q->head]->id <= last_id) {
		struct ga_audit_rec *old = q->ring[q->head];

		q->ring[q->head] = NULL;
		q->head = (q->head + 1) % q->cap_records;
		q->count--;
		q->bytes -= old->bytes;
		ga_audit_rec_free(old);
	}
	q->dropped_unreported -= dropped < q->dropped_unreported ? dropped : q->dropped_unreported;
}
