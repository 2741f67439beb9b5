/* SPDX-License-Identifier: Apache-2.0 */
/* The frame codec: length cap before allocation, partial input, validation. */
#include "hv_limits.h"
#include "proto/frame.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void challenge_frame(struct hv_buf *out, size_t nonce_len)
{
	static uint8_t nonce[64];
	Hvipe__Envelope env = HVIPE__ENVELOPE__INIT;
	Hvipe__Challenge ch = HVIPE__CHALLENGE__INIT;

	ch.nonce.data = nonce;
	ch.nonce.len = nonce_len;
	env.seq = 7;
	env.body_case = HVIPE__ENVELOPE__BODY_CHALLENGE;
	env.challenge = &ch;
	hv_buf_init(out, HV_PROTO_MAX_FRAME + 8);
	assert_int_equal(hv_frame_encode(&env, out), 0);
}

static void test_round_trip_and_partial(void **state)
{
	struct hv_buf b;
	hv_envelope *e = NULL;
	size_t used = 0;

	challenge_frame(&b, HV_PROTO_NONCE_LEN);
	for (size_t cut = 0; cut < b.len; cut++)
		assert_int_equal(hv_frame_decode(b.data, cut, HV_PROTO_MAX_FRAME, &e, &used),
		                 -EAGAIN);
	assert_int_equal(hv_frame_decode(b.data, b.len, HV_PROTO_MAX_FRAME, &e, &used), 0);
	assert_int_equal(used, b.len);
	assert_int_equal(e->seq, 7);
	assert_string_equal(hv_envelope_kind(e), "challenge");
	hv_envelope_free(e);
	hv_buf_free(&b);
}

static void test_length_cap(void **state)
{
	/* Announced lengths are judged before any body byte arrives. */
	static const uint8_t zero[4] = {0, 0, 0, 0};
	static const uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
	static const uint8_t just_over[4] = {0, 0, 0x10, 0x01};
	hv_envelope *e = NULL;
	size_t used;

	assert_int_equal(hv_frame_decode(zero, 4, HV_PROTO_MAX_FRAME, &e, &used), -EMSGSIZE);
	assert_int_equal(hv_frame_decode(huge, 4, HV_PROTO_MAX_FRAME, &e, &used), -EMSGSIZE);
	/* 4097 bytes announced against a 4096-byte cap */
	assert_int_equal(hv_frame_decode(just_over, 4, 4096, &e, &used), -EMSGSIZE);
	assert_null(e);
}

/* Control frames have their own, larger cap; guest frames keep theirs. */
static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void test_control_cap(void **state)
{
	uint8_t hdr[4];
	const uint8_t *body;
	hv_envelope *e = NULL;
	size_t n, used;
	struct hv_buf b;
	uint8_t *big = calloc(1, HV_PROTO_MAX_FRAME + 1);

	(void)state;
	assert_non_null(big);
	be32(hdr, HV_PROTO_MAX_FRAME + 1);
	/* Above a guest frame: incomplete for the control reader, refused for guests. */
	assert_int_equal(hv_frame_split(hdr, 4, HV_CTL_MAX_FRAME, &body, &n, &used), -EAGAIN);
	assert_int_equal(hv_frame_split(hdr, 4, HV_PROTO_MAX_FRAME, &body, &n, &used), -EMSGSIZE);
	assert_int_equal(hv_frame_decode(hdr, 4, HV_CTL_MAX_FRAME, &e, &used), -EMSGSIZE);
	assert_null(e);
	be32(hdr, HV_CTL_MAX_FRAME + 1);
	assert_int_equal(hv_frame_split(hdr, 4, HV_CTL_MAX_FRAME, &body, &n, &used), -EMSGSIZE);
	assert_int_equal(hv_frame_split(hdr, 4, SIZE_MAX, &body, &n, &used), -EMSGSIZE);

	hv_buf_init(&b, HV_CTL_MAX_FRAME + 4);
	assert_int_equal(hv_frame_put(&b, big, HV_PROTO_MAX_FRAME + 1), -EMSGSIZE);
	assert_int_equal(hv_frame_put_max(&b, big, HV_PROTO_MAX_FRAME + 1, HV_CTL_MAX_FRAME), 0);
	assert_int_equal(hv_frame_split(b.data, b.len, HV_CTL_MAX_FRAME, &body, &n, &used), 0);
	assert_int_equal(n, HV_PROTO_MAX_FRAME + 1);
	assert_int_equal(used, b.len);
	hv_buf_free(&b);
	free(big);
}

static void test_validation(void **state)
{
	struct hv_buf b;
	hv_envelope *e = NULL;
	size_t used;

	challenge_frame(&b, HV_PROTO_NONCE_LEN - 1);
	assert_int_equal(hv_frame_decode(b.data, b.len, HV_PROTO_MAX_FRAME, &e, &used), -EBADMSG);
	hv_buf_free(&b);

	/* A body that is not protobuf at all. */
	static const uint8_t garbage[] = {0, 0, 0, 3, 0xff, 0xff, 0xff};
	assert_int_equal(hv_frame_decode(garbage, sizeof(garbage), HV_PROTO_MAX_FRAME, &e, &used),
	                 -EBADMSG);
	/* An envelope with no body. */
	static const uint8_t empty_body[] = {0, 0, 0, 2, 0x08, 0x01};
	assert_int_equal(
	        hv_frame_decode(empty_body, sizeof(empty_body), HV_PROTO_MAX_FRAME, &e, &used),
	        -EBADMSG);
	assert_null(e);
}

static void test_unknown_fields_refused(void **state)
{
	/* The same unknown field nested inside the Ack. */
	static const uint8_t nested[] = {0,    0,    0,    10,   0x08, 0x01, 0x8a,
	                                 0x01, 0x05, 0x08, 0x01, 0x98, 0x06, 0x01};
	/* Valid: Envelope{seq=1, ack{ref_seq=1}}. */
	static const uint8_t ok[] = {0, 0, 0, 7, 0x08, 0x01, 0x8a, 0x01, 0x02, 0x08, 0x01};
	uint8_t with_top[sizeof(ok) + 3];
	hv_envelope *e = NULL;
	size_t used;

	assert_int_equal(hv_frame_decode(ok, sizeof(ok), HV_PROTO_MAX_FRAME, &e, &used), 0);
	assert_int_equal(e->ack->ref_seq, 1);
	hv_envelope_free(e);
	e = NULL;

	/* The valid envelope plus an unknown varint field 99 (tag 0x98 0x06, value 1). */
	memcpy(with_top, ok, sizeof(ok));
	with_top[3] = 10;
	with_top[sizeof(ok)] = 0x98;
	with_top[sizeof(ok) + 1] = 0x06;
	with_top[sizeof(ok) + 2] = 0x01;
	assert_int_equal(hv_frame_decode(with_top, sizeof(ok) + 3, HV_PROTO_MAX_FRAME, &e, &used),
	                 -EBADMSG);
	assert_int_equal(hv_frame_decode(nested, sizeof(nested), HV_PROTO_MAX_FRAME, &e, &used),
	                 -EBADMSG);
	assert_null(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip_and_partial),
	        cmocka_unit_test(test_length_cap),
	        cmocka_unit_test(test_control_cap),
	        cmocka_unit_test(test_validation),
	        cmocka_unit_test(test_unknown_fields_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
