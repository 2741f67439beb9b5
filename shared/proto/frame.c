/* SPDX-License-Identifier: Apache-2.0 */
#include "proto/frame.h"
#include "hv_limits.h"
#include "util/cleanup.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int hv_frame_encode(const hv_envelope *env, struct hv_buf *out)
{
	size_t n = hvipe__envelope__get_packed_size(env);
	_cleanup_free_ uint8_t *body = NULL;

	/* Check the caps before packing, so an oversized envelope costs nothing. */
	if (n == 0 || n > HV_PROTO_MAX_FRAME)
		return -EMSGSIZE;
	if (out->len > out->max || n + 4 > out->max - out->len)
		return -E2BIG;
	body = malloc(n);
	if (!body)
		return -ENOMEM;
	hvipe__envelope__pack(env, body);
	return hv_frame_put(out, body, n);
}

static int bytes_ok(const ProtobufCBinaryData *b, size_t max)
{
	return b->len <= max;
}

static int str_ok(const char *s, size_t max)
{
	return s && strnlen(s, max + 1) <= max;
}

#define STR_MAX   4096
#define SHORT_MAX 256

static int validate_hello(const Hvipe__Hello *h)
{
	return str_ok(h->agent_version, SHORT_MAX) && str_ok(h->kernel_release, SHORT_MAX) &&
	       (h->boot_id.len == 0 || h->boot_id.len == 16);
}

static int validate_evidence(const Hvipe__Evidence *e)
{
	size_t i;

	if (e->nonce.len != HV_PROTO_NONCE_LEN || e->n_verity > HV_PROTO_MAX_VERITY_DEVICES)
		return 0;
	if (!str_ok(e->lockdown, SHORT_MAX) || !str_ok(e->kernel_release, SHORT_MAX) ||
	    !bytes_ok(&e->boot_id, 16))
		return 0;
	for (i = 0; i < e->n_verity; i++) {
		const Hvipe__VerityDevice *v = e->verity[i];

		if (!str_ok(v->name, SHORT_MAX) || !bytes_ok(&v->root_hash, 64) ||
		    !str_ok(v->hash_algorithm, 64) || !str_ok(v->data_device, 64) ||
		    !str_ok(v->hash_device, 64) || !str_ok(v->mountpoint, STR_MAX))
			return 0;
	}
	if (e->ipe) {
		if (e->ipe->n_policies > HV_PROTO_MAX_POLICIES)
			return 0;
		for (i = 0; i < e->ipe->n_policies; i++) {
			const Hvipe__IpePolicy *p = e->ipe->policies[i];

			if (!str_ok(p->name, SHORT_MAX) || !str_ok(p->version, 32) ||
			    !(p->digest.len == 0 || p->digest.len == 32))
				return 0;
		}
	}
	if (e->guard) {
		if (e->guard->n_program_tags > 64 || e->guard->n_recent > 64 ||
		    !str_ok(e->guard->detail, STR_MAX))
			return 0;
		for (i = 0; i < e->guard->n_program_tags; i++)
			if (!str_ok(e->guard->program_tags[i], 64))
				return 0;
		for (i = 0; i < e->guard->n_recent; i++)
			if (!str_ok(e->guard->recent[i]->what, 32) ||
			    !str_ok(e->guard->recent[i]->comm, 64))
				return 0;
	}
	return 1;
}

static int validate_audit(const Hvipe__AuditBatch *b)
{
	size_t i, j;

	if (b->n_records > HV_PROTO_MAX_AUDIT_BATCH)
		return 0;
	for (i = 0; i < b->n_records; i++) {
		const Hvipe__AuditRecord *r = b->records[i];

		if (!str_ok(r->text, HV_PROTO_MAX_AUDIT_RECORD) || r->n_fields > 64)
			return 0;
		for (j = 0; j < r->n_fields; j++)
			if (!str_ok(r->fields[j]->key, 64) ||
			    !str_ok(r->fields[j]->value, HV_PROTO_MAX_AUDIT_RECORD))
				return 0;
	}
	return 1;
}

/*
 * True when @m and every message inside it carry no field unknown to this
 * schema. Version 1 peers send only version 1 fields (additions come with a
 * protocol version bump announced in Hello), so an unknown field is malformed
 * input; refusing it also keeps protobuf-c from carrying bytes we never read.
 */
static int no_unknown_fields(const ProtobufCMessage *m, unsigned depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (m->n_unknown_fields || depth > 8)
		return 0;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage *const *v =
			        *(ProtobufCMessage *const *const *)(base + f->offset);

			for (size_t k = 0; k < n; k++)
				if (!no_unknown_fields(v[k], depth + 1))
					return 0;
		} else {
			const ProtobufCMessage *sub =
			        *(ProtobufCMessage *const *)(base + f->offset);

			if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
				continue;
			if (sub && !no_unknown_fields(sub, depth + 1))
				return 0;
		}
	}
	return 1;
}

int hv_envelope_validate(const hv_envelope *env)
{
	int ok;

	if (!no_unknown_fields(&env->base, 0))
		return -EBADMSG;

	switch (env->body_case) {
	case HVIPE__ENVELOPE__BODY_HELLO:
		ok = validate_hello(env->hello);
		break;
	case HVIPE__ENVELOPE__BODY_CHALLENGE:
		ok = env->challenge->nonce.len == HV_PROTO_NONCE_LEN;
		break;
	case HVIPE__ENVELOPE__BODY_EVIDENCE:
		ok = validate_evidence(env->evidence);
		break;
	case HVIPE__ENVELOPE__BODY_VERDICT: {
		const Hvipe__Verdict *v = env->verdict;
		size_t i;

		ok = v->n_findings <= 64;
		for (i = 0; ok && i < v->n_findings; i++)
			ok = str_ok(v->findings[i]->detail, STR_MAX);
		break;
	}
	case HVIPE__ENVELOPE__BODY_POLICY_UPDATE: {
		const Hvipe__PolicyUpdate *u = env->policy_update;

		ok = str_ok(u->name, HV_IPE_MAX_NAME) && str_ok(u->version, 32) &&
		     u->blob.len > 0 && u->blob.len <= HV_IPE_MAX_SIGNED_BLOB &&
		     (u->digest.len == 0 || u->digest.len == 32);
		break;
	}
	case HVIPE__ENVELOPE__BODY_POLICY_RESULT: {
		const Hvipe__PolicyResult *p = env->policy_result;

		ok = str_ok(p->step, 32) && str_ok(p->reason, STR_MAX) &&
		     str_ok(p->active_name, HV_IPE_MAX_NAME) && str_ok(p->active_version, 32) &&
		     (p->active_digest.len == 0 || p->active_digest.len == 32) && p->err >= 0;
		break;
	}
	case HVIPE__ENVELOPE__BODY_AUDIT_BATCH:
		ok = validate_audit(env->audit_batch);
		break;
	case HVIPE__ENVELOPE__BODY_ACK:
		ok = str_ok(env->ack->detail, STR_MAX);
		break;
	case HVIPE__ENVELOPE__BODY_ERROR:
		ok = str_ok(env->error->detail, STR_MAX);
		break;
	default:
		ok = 0;
	}
	return ok ? 0 : -EBADMSG;
}

int hv_frame_split(const uint8_t *data, size_t len, size_t max, const uint8_t **body, size_t *n,
                   size_t *used)
{
	uint32_t l;

	if (max > HV_CTL_MAX_FRAME)
		max = HV_CTL_MAX_FRAME;
	if (len < 4)
		return -EAGAIN;
	l = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
	if (l == 0 || l > max)
		return -EMSGSIZE;
	if (len - 4 < l)
		return -EAGAIN;
	*body = data + 4;
	*n = l;
	*used = 4 + (size_t)l;
	return 0;
}

int hv_frame_put(struct hv_buf *out, const void *body, size_t n)
{
	return hv_frame_put_max(out, body, n, HV_PROTO_MAX_FRAME);
}

int hv_frame_put_max(struct hv_buf *out, const void *body, size_t n, size_t max)
{
	size_t start = out->len;
	uint8_t hdr[4];
	int r;

	if (max > HV_CTL_MAX_FRAME)
		max = HV_CTL_MAX_FRAME;
	if (n == 0 || n > max)
		return -EMSGSIZE;
	if (out->len > out->max || n + 4 > out->max - out->len)
		return -E2BIG;
	hdr[0] = (uint8_t)(n >> 24);
	hdr[1] = (uint8_t)(n >> 16);
	hdr[2] = (uint8_t)(n >> 8);
	hdr[3] = (uint8_t)n;
	r = hv_buf_append(out, hdr, 4);
	if (r == 0)
		r = hv_buf_append(out, body, n);
	if (r < 0)
		out->len = start;
	return r;
}

int hv_frame_decode(const uint8_t *data, size_t len, size_t max, hv_envelope **env, size_t *used)
{
	const uint8_t *body;
	hv_envelope *e;
	size_t n, u;
	int r;

	/* Guest frames: never above HV_PROTO_MAX_FRAME, whatever the caller asks. */
	if (max > HV_PROTO_MAX_FRAME)
		max = HV_PROTO_MAX_FRAME;
	r = hv_frame_split(data, len, max, &body, &n, &u);
	if (r < 0)
		return r;
	e = hvipe__envelope__unpack(NULL, n, body);
	if (!e)
		return -EBADMSG;
	if (hv_envelope_validate(e) < 0) {
		hvipe__envelope__free_unpacked(e, NULL);
		return -EBADMSG;
	}
	*env = e;
	*used = u;
	return 0;
}

void hv_envelope_free(hv_envelope *env)
{
	if (env)
		hvipe__envelope__free_unpacked(env, NULL);
}

const char *hv_envelope_kind(const hv_envelope *env)
{
	switch (env->body_case) {
	case HVIPE__ENVELOPE__BODY_HELLO:
		return "hello";
	case HVIPE__ENVELOPE__BODY_CHALLENGE:
		return "challenge";
	case HVIPE__ENVELOPE__BODY_EVIDENCE:
		return "evidence";
	case HVIPE__ENVELOPE__BODY_VERDICT:
		return "verdict";
	case HVIPE__ENVELOPE__BODY_POLICY_UPDATE:
		return "policy_update";
	case HVIPE__ENVELOPE__BODY_POLICY_RESULT:
		return "policy_result";
	case HVIPE__ENVELOPE__BODY_AUDIT_BATCH:
		return "audit_batch";
	case HVIPE__ENVELOPE__BODY_ACK:
		return "ack";
	case HVIPE__ENVELOPE__BODY_ERROR:
		return "error";
	default:
		return "unknown";
	}
}

int hv_frame_send(int fd, const hv_envelope *env)
{
	struct hv_buf b;
	size_t off = 0;
	int r;

	hv_buf_init(&b, HV_PROTO_MAX_FRAME + 4);
	r = hv_frame_encode(env, &b);
	while (r == 0 && off < b.len) {
		ssize_t n = send(fd, b.data + off, b.len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, b.data + off, b.len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	hv_buf_free(&b);
	return r;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int hv_frame_recv(int fd, struct hv_buf *rx, int timeout_ms, hv_envelope **env)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	uint8_t chunk[16384];

	/* Room for one whole frame plus one read past it: a read may carry the
	 * start of the next frame before this one is complete. */
	if (rx->max < HV_PROTO_MAX_FRAME + 4 + sizeof(chunk))
		rx->max = HV_PROTO_MAX_FRAME + 4 + sizeof(chunk);
	for (;;) {
		size_t used;
		int r = hv_frame_decode(rx->data, rx->len, HV_PROTO_MAX_FRAME, env, &used);
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int wait;
		ssize_t n;

		if (r == 0) {
			hv_buf_consume(rx, used);
			return 0;
		}
		if (r != -EAGAIN)
			return r;
		wait = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			wait = (int)left;
		}
		r = poll(&pfd, 1, wait);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ETIMEDOUT;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		r = hv_buf_append(rx, chunk, (size_t)n);
		if (r < 0)
			return r;
	}
}
