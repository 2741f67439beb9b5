/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Framing for the hvipe protocol: a 4-byte big-endian length, then one
 * serialized hvipe.Envelope (shared/proto/hvipe.proto) of that many bytes.
 *
 * The length is checked against the caller's cap (at most HV_PROTO_MAX_FRAME)
 * before any allocation. A decoded Envelope is also run through
 * hv_envelope_validate(), which bounds every repeated field and byte string,
 * so handlers see only well-formed messages of known type.
 */
#ifndef HVIPE_PROTO_FRAME_H
#define HVIPE_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "hvipe.pb-c.h"
#include "util/buf.h"

#define HV_PROTO_VERSION 1u

typedef Hvipe__Envelope hv_envelope;

/*
 * Append the frame for @env to @out.
 * Returns 0, -EMSGSIZE when the encoding exceeds HV_PROTO_MAX_FRAME, or
 * -E2BIG/-ENOMEM from the buffer.
 */
int hv_frame_encode(const hv_envelope *env, struct hv_buf *out);

/*
 * Try to decode one frame from the start of @data (@len bytes available).
 * Returns 0 with *@env set (free with hv_envelope_free()) and *@used the bytes
 * consumed; -EAGAIN when more bytes are needed; -EMSGSIZE when the announced
 * length is 0 or above @max (capped at HV_PROTO_MAX_FRAME); -EBADMSG when the body does not decode
 * or fails validation. After an error other than -EAGAIN the stream is unusable.
 */
int hv_frame_decode(const uint8_t *data, size_t len, size_t max, hv_envelope **env, size_t *used);

/*
 * Bounds on a decoded envelope: known body type, nonce lengths, counts of
 * repeated fields and lengths of strings. Returns 0 or -EBADMSG.
 */
int hv_envelope_validate(const hv_envelope *env);

void hv_envelope_free(hv_envelope *env);

/*
 * Framing without a message type, for the control protocol (control.proto)
 * and any other schema sharing the 4-byte big-endian length prefix.
 * hv_frame_split: 0 with *@body and *@n pointing into @data and *@used the bytes
 * the frame takes; -EAGAIN when incomplete; -EMSGSIZE when the length is 0 or
 * above @max (capped at HV_CTL_MAX_FRAME; guest-facing callers pass
 * HV_PROTO_MAX_FRAME), checked before anything else.
 * hv_frame_put: append length and @n body bytes to @out; -EMSGSIZE above
 * HV_PROTO_MAX_FRAME, -E2BIG. hv_frame_put_max: the same with the cap @max
 * (at most HV_CTL_MAX_FRAME), for control-socket answers.
 */
int hv_frame_split(const uint8_t *data, size_t len, size_t max, const uint8_t **body, size_t *n,
                   size_t *used);
int hv_frame_put(struct hv_buf *out, const void *body, size_t n);
int hv_frame_put_max(struct hv_buf *out, const void *body, size_t n, size_t max);

/* Name of the body type for logs ("hello", "evidence", ...). */
const char *hv_envelope_kind(const hv_envelope *env);

/*
 * Blocking helpers for simple peers (the guest agent, test clients).
 * hv_frame_send writes the whole frame (EINTR-safe, MSG_NOSIGNAL on sockets).
 * hv_frame_recv waits at most @timeout_ms (-1: forever) for one complete
 * frame; it returns -ETIMEDOUT, -ECONNRESET on EOF, or as hv_frame_decode.
 * @rx holds bytes read past the frame for the next call.
 */
int hv_frame_send(int fd, const hv_envelope *env);
int hv_frame_recv(int fd, struct hv_buf *rx, int timeout_ms, hv_envelope **env);

#endif
