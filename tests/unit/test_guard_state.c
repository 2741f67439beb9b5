/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GuardState on both ends: the agent fills it from a guard report
 * (guard_proto.c) and the host judges it (hv_guard_evaluate in tags.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../guest/guard/guard_proto.h"
#include "../../guest/guard/tags.h"

static const char tags_file[] = "01294d0c3ab9744d guard_bpf\nbe508428f13e6442 guard_task_kill\n";

static struct hv_guard_report report(bool armed)
{
	struct hv_guard_report r = {.armed = armed, .nprogs = 2};

	strcpy(r.names[0], "guard_bpf");
	strcpy(r.tags[0], "01294d0c3ab9744d");
	strcpy(r.names[1], "guard_task_kill");
	strcpy(r.tags[1], "be508428f13e6442");
	for (unsigned int k = 0; k < HV_GUARD_KINDS; k++)
		r.kinds[k].what = hv_guard_kind_name(k);
	return r;
}

/* Pack and unpack, as the wire would, then judge. */
static Hvipe__FindingCode judge(const Hvipe__GuardState *gs, const struct hv_guard_tags *t)
{
	uint8_t buf[2048];
	size_t n = hvipe__guard_state__get_packed_size(gs);
	Hvipe__GuardState *back;
	Hvipe__FindingCode f;

	assert_true(n <= sizeof(buf));
	hvipe__guard_state__pack(gs, buf);
	back = hvipe__guard_state__unpack(NULL, n, buf);
	assert_non_null(back);
	f = hv_guard_evaluate(back, t);
	hvipe__guard_state__free_unpacked(back, NULL);
	return f;
}

static void armed_and_matching(void **state)
{
	struct hv_guard_tags t;
	struct hv_guard_report r = report(true);
	struct hv_guard_state_buf b;

	assert_int_equal(hv_guard_tags_parse(tags_file, strlen(tags_file), &t), 0);
	hv_guard_state_fill(&b, &r, NULL);
	assert_int_equal(b.gs.status, HVIPE__GUARD_STATUS__GUARD_ARMED);
	assert_int_equal(judge(&b.gs, &t), HVIPE__FINDING_CODE__FINDING_NONE);
	assert_int_equal(judge(&b.gs, NULL), HVIPE__FINDING_CODE__FINDING_NONE);
}

static void findings(void **state)
{
	struct hv_guard_tags t;
	struct hv_guard_report r = report(false);
	struct hv_guard_state_buf b;
	Hvipe__GuardState absent = HVIPE__GUARD_STATE__INIT;

	assert_int_equal(hv_guard_tags_parse(tags_file, strlen(tags_file), &t), 0);
	assert_int_equal(hv_guard_evaluate(NULL, &t), HVIPE__FINDING_CODE__FINDING_GUARD_ABSENT);
	assert_int_equal(judge(&absent, &t), HVIPE__FINDING_CODE__FINDING_GUARD_ABSENT);

	hv_guard_state_fill(&b, &r, NULL); /* loaded, not armed */
	assert_int_equal(judge(&b.gs, &t), HVIPE__FINDING_CODE__FINDING_GUARD_NOT_ARMED);

	hv_guard_state_failed(&b, "guard_arm", -EOPNOTSUPP);
	assert_int_equal(b.gs.status, HVIPE__GUARD_STATUS__GUARD_FAILED);
	assert_string_equal(b.gs.detail, "guard_arm: Operation not supported");
	assert_int_equal(judge(&b.gs, &t), HVIPE__FINDING_CODE__FINDING_GUARD_NOT_ARMED);

	r = report(true);
	r.tags[1][15] = '3'; /* one program changed */
	hv_guard_state_fill(&b, &r, NULL);
	assert_int_equal(judge(&b.gs, &t), HVIPE__FINDING_CODE__FINDING_GUARD_TAMPERED);
	assert_int_equal(judge(&b.gs, NULL), HVIPE__FINDING_CODE__FINDING_NONE);

	r = report(true);
	r.nprogs = 1; /* one program missing */
	hv_guard_state_fill(&b, &r, NULL);
	assert_int_equal(judge(&b.gs, &t), HVIPE__FINDING_CODE__FINDING_GUARD_TAMPERED);

	r = report(true);
	strcpy(r.tags[0], "not-a-tag"); /* malformed */
	hv_guard_state_fill(&b, &r, NULL);
	assert_int_equal(judge(&b.gs, &t), HVIPE__FINDING_CODE__FINDING_GUARD_TAMPERED);
}

static void recent_refusals(void **state)
{
	struct hv_guard_report prev = report(true), now = report(true);
	struct hv_guard_state_buf b;

	prev.kinds[2].count = 3; /* signal */
	now.kinds[2].count = 5;
	now.kinds[2].pid = 77;
	strcpy(now.kinds[2].comm, "sh\x01\xff");
	prev.kinds[4].count = 1; /* bpf: unchanged */
	now.kinds[4].count = 1;
	now.kinds[1].count = 1; /* ipe_enforce: new */
	now.total = 7;

	hv_guard_state_fill(&b, &now, &prev);
	assert_int_equal(b.gs.refusals, 7);
	assert_int_equal(b.gs.n_program_tags, 2);
	assert_string_equal(b.gs.program_tags[1], "be508428f13e6442");
	assert_int_equal(b.gs.n_recent, 2);
	assert_string_equal(b.gs.recent[0]->what, "ipe_enforce");
	assert_int_equal(b.gs.recent[0]->count, 1);
	assert_string_equal(b.gs.recent[1]->what, "signal");
	assert_int_equal(b.gs.recent[1]->count, 2);
	assert_int_equal(b.gs.recent[1]->pid, 77);
	assert_string_equal(b.gs.recent[1]->comm, "sh??");

	/* No previous report: everything counted so far is recent. */
	hv_guard_state_fill(&b, &now, NULL);
	assert_int_equal(b.gs.n_recent, 3);
	assert_int_equal(b.gs.recent[1]->count, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(armed_and_matching),
	        cmocka_unit_test(findings),
	        cmocka_unit_test(recent_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
