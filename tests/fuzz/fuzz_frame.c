/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the frame codec: hv_frame_decode (length cap, protobuf-c unpack,
 * hv_envelope_validate) over a stream of frames, and for every envelope that
 * decodes, a re-encode that must decode to the same bytes again. Also the
 * untyped splitter used by the control protocol.
 */
#include "control.pb-c.h"
#include "hv_limits.h"
#include "proto/frame.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		hv_envelope *env = NULL, *again = NULL;
		struct hv_buf out;
		size_t used, used2;
		int r = hv_frame_decode(data + off, len - off, HV_PROTO_MAX_FRAME, &env, &used);

		if (r < 0)
			break;
		if (used == 0 || used > len - off)
			abort();
		(void)hv_envelope_kind(env);
		hv_buf_init(&out, HV_PROTO_MAX_FRAME + 4);
		if (hv_frame_encode(env, &out) == 0) {
			if (hv_frame_decode(out.data, out.len, HV_PROTO_MAX_FRAME, &again,
			                    &used2) != 0 ||
			    used2 != out.len)
				abort(); /* what we accept, we must be able to send back */
			hv_envelope_free(again);
		}
		hv_buf_free(&out);
		hv_envelope_free(env);
		off += used;
	}

	/* The control protocol's path: split, then unpack a Request. */
	{
		const uint8_t *body;
		size_t n, used;

		if (hv_frame_split(data, len, HV_PROTO_MAX_FRAME, &body, &n, &used) == 0) {
			Hvipe__Ctl__Request *rq = hvipe__ctl__request__unpack(NULL, n, body);

			if (rq)
				hvipe__ctl__request__free_unpacked(rq, NULL);
		}
	}
	return 0;
}
