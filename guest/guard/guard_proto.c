/* SPDX-License-Identifier: Apache-2.0 */
#include "guard_proto.h"

#include <stdio.h>
#include <string.h>

#include "tags.h"

_Static_assert(HV_GUARD_KINDS <= HV_GUARD_RECENT_MAX, "the host would drop refusal kinds");

/* comm is chosen by the process the guard refused: keep it printable ASCII
 * so that the string field stays valid UTF-8 for every receiver. */
static void clean_comm(char out[16], const char *in)
{
	size_t i;

	for (i = 0; i < 15 && in[i]; i++)
		out[i] = (in[i] >= 0x20 && in[i] <= 0x7e) ? in[i] : '?';
	out[i] = '\0';
}

void hv_guard_state_fill(struct hv_guard_state_buf *b, const struct hv_guard_report *now,
                         const struct hv_guard_report *prev)
{
	size_t n = 0;

	memset(b, 0, sizeof(*b));
	hvipe__guard_state__init(&b->gs);
	b->gs.status =
	        now->armed ? HVIPE__GUARD_STATUS__GUARD_ARMED : HVIPE__GUARD_STATUS__GUARD_LOADED;
	for (size_t i = 0; i < now->nprogs && i < HV_GUARD_MAX_PROGS; i++)
		b->tagp[i] = (char *)now->tags[i];
	b->gs.n_program_tags = now->nprogs < HV_GUARD_MAX_PROGS ? now->nprogs : HV_GUARD_MAX_PROGS;
	b->gs.program_tags = b->tagp;
	b->gs.refusals = now->total;

	for (unsigned int k = 0; k < HV_GUARD_KINDS; k++) {
		uint64_t before = prev ? prev->kinds[k].count : 0;
		Hvipe__GuardRefusal *r = &b->rec[n];

		/* Counters only grow; a smaller value means a different guard
		 * (a reboot): report the whole count. */
		if (now->kinds[k].count == before)
			continue;
		hvipe__guard_refusal__init(r);
		r->what = (char *)now->kinds[k].what;
		r->pid = now->kinds[k].pid;
		clean_comm(b->comm[n], now->kinds[k].comm);
		r->comm = b->comm[n];
		r->count = now->kinds[k].count > before ? now->kinds[k].count - before
		                                        : now->kinds[k].count;
		b->recp[n++] = r;
	}
	b->gs.n_recent = n;
	b->gs.recent = b->recp;
}

void hv_guard_state_failed(struct hv_guard_state_buf *b, const char *step, int err)
{
	memset(b, 0, sizeof(*b));
	hvipe__guard_state__init(&b->gs);
	b->gs.status = HVIPE__GUARD_STATUS__GUARD_FAILED;
	snprintf(b->detail, sizeof(b->detail), "%s: %s", step, strerror(-err));
	b->gs.detail = b->detail;
}
