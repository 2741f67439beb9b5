// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the guest agent's audit record parser: the input is
 * tried both as a netlink payload and as a "type=N audit(...)" line, and what
 * parses goes through the bounded queue.
 */
#include "../../guest/agent/audit.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void take(void *ctx, int r, struct ga_audit_rec *rec)
{
	if (r == 0)
		ga_audit_queue_push(ctx, rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ga_audit_queue q;
	struct ga_audit_rec *r = NULL, *peek[4];

	if (ga_audit_queue_init(&q, 2, 1 << 16) < 0)
		return 0;
	if (ga_audit_parse(1420, data, size, &r) == 0) {
		for (size_t i = 0; i < r->n_fields; i++)
			if (!r->fields[i].key[0] || strlen(r->text) > size)
				__builtin_trap();
		(void)ga_audit_wanted(r);
		ga_audit_queue_push(&q, r);
	}
	r = NULL;
	if (ga_audit_parse_line(data, size, &r) == 0) {
		(void)ga_audit_get(r, "lsm");
		ga_audit_queue_push(&q, r);
	}
	(void)ga_audit_netlink(data, size, take, &q);
	if (ga_audit_queue_peek(&q, peek, 4) > 0)
		ga_audit_queue_ack(&q, peek[0]->id, 0);
	ga_audit_queue_free(&q);
	return 0;
}
