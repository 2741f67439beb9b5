/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guard's state as the agent reports it in Evidence.guard
 * (shared/proto/hvipe.proto, GuardState).
 */
#ifndef HVIPE_GUARD_PROTO_H
#define HVIPE_GUARD_PROTO_H

#include "guard.h"
#include "hvipe.pb-c.h"

/* Storage the filled GuardState points into; no heap allocation. */
struct hv_guard_state_buf {
	Hvipe__GuardState gs;
	char *tagp[HV_GUARD_MAX_PROGS];
	Hvipe__GuardRefusal rec[HV_GUARD_KINDS];
	Hvipe__GuardRefusal *recp[HV_GUARD_KINDS];
	char comm[HV_GUARD_KINDS][16];
	char detail[128];
};

/*
 * Fill b->gs from @now: status ARMED or LOADED, the program tags, the total,
 * and in `recent` one GuardRefusal per kind whose count grew since @prev
 * (NULL: since arming) with that growth as its count and the last offender.
 * b->gs points into @now and @b: keep both alive and unchanged while it is
 * packed.
 */
void hv_guard_state_fill(struct hv_guard_state_buf *b, const struct hv_guard_report *now,
                         const struct hv_guard_report *prev);

/*
 * Fill b->gs for a guard that could not be armed or read: status FAILED and
 * a detail "<step>: <strerror(-err)>". @step is a constant from the caller.
 */
void hv_guard_state_failed(struct hv_guard_state_buf *b, const char *step, int err);

#endif
