/* SPDX-License-Identifier: Apache-2.0 */
/* hvipe-hostd's verdict on the guard part of the evidence (verdict.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../guest/guard/tags.h"
#include "hv_limits.h"
#include "../../host/hostd/verdict.h"

static const char tags_file[] = "01294d0c3ab9744d guard_bpf\nbe508428f13e6442 guard_task_kill\n";

static bool has(const struct hv_verdict *v, Hvipe__FindingCode c)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->f[i].code == c)
			return true;
	return false;
}

static bool any_guard_finding(const struct hv_verdict *v)
{
	return has(v, HVIPE__FINDING_CODE__FINDING_GUARD_ABSENT) ||
	       has(v, HVIPE__FINDING_CODE__FINDING_GUARD_NOT_ARMED) ||
	       has(v, HVIPE__FINDING_CODE__FINDING_GUARD_TAMPERED);
}

/* Evidence that is clean except for the guard: IPE enforcing with the
 * fallback policy (a pending finding, not a violation) and one approved
 * verity device. */
struct fixture {
	uint8_t nonce[HV_PROTO_NONCE_LEN];
	struct hv_guard_tags tags;
	struct hv_approved_image img;
	struct hv_expect x;
	Hvipe__Evidence ev;
	Hvipe__IpeState ipe;
	Hvipe__IpePolicy pol;
	Hvipe__IpePolicy *polp[1];
	Hvipe__VerityDevice vd;
	Hvipe__VerityDevice *vdp[1];
	Hvipe__GuardState gs;
	char *tagv[2];
};

static void setup(struct fixture *f, Hvipe__GuardStatus st, const char *tag2)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(hv_guard_tags_parse(tags_file, strlen(tags_file), &f->tags), 0);
	f->img.name = "minimal";
	f->img.alg = "sha256";
	memset(f->img.hash, 0xab, 32);
	f->img.hash_len = 32;
	f->x.images = &f->img;
	f->x.n_images = 1;
	f->x.nonce = f->nonce;
	f->x.require_guard = true;
	f->x.guard_tags = &f->tags;
	hvipe__evidence__init(&f->ev);
	f->ev.nonce.data = f->nonce;
	f->ev.nonce.len = sizeof(f->nonce);
	hvipe__ipe_state__init(&f->ipe);
	f->ipe.present = true;
	f->ipe.enforce = true;
	hvipe__ipe_policy__init(&f->pol);
	f->pol.name = "hvipe_fallback";
	f->pol.version = "0.0.1";
	f->pol.active = true;
	f->polp[0] = &f->pol;
	f->ipe.policies = f->polp;
	f->ipe.n_policies = 1;
	f->ev.ipe = &f->ipe;
	hvipe__verity_device__init(&f->vd);
	f->vd.name = "hvipe-root";
	f->vd.root_hash.data = f->img.hash;
	f->vd.root_hash.len = 32;
	f->vd.hash_algorithm = "sha256";
	f->vdp[0] = &f->vd;
	f->ev.verity = f->vdp;
	f->ev.n_verity = 1;
	hvipe__guard_state__init(&f->gs);
	f->gs.status = st;
	f->tagv[0] = "01294d0c3ab9744d";
	f->tagv[1] = (char *)tag2;
	f->gs.program_tags = f->tagv;
	f->gs.n_program_tags = 2;
	f->ev.guard = &f->gs;
}

static void armed_matching_is_clean(void **state)
{
	struct fixture f;
	struct hv_verdict v;

	setup(&f, HVIPE__GUARD_STATUS__GUARD_ARMED, "be508428f13e6442");
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_false(any_guard_finding(&v));
	/* The fixture's only finding is the pending fallback policy. */
	assert_int_equal(v.n, 1);
	assert_int_equal(v.f[0].code, HVIPE__FINDING_CODE__FINDING_POLICY_MISSING);
	assert_false(v.violation);
}

/* The initramfs --once session cannot have the guard armed yet: pending,
 * neither trusted nor a violation. A tampered guard stays a violation. */
static void once_session_pending(void **state)
{
	struct fixture f;
	struct hv_verdict v;

	setup(&f, HVIPE__GUARD_STATUS__GUARD_ABSENT, "be508428f13e6442");
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_true(has(&v, HVIPE__FINDING_CODE__FINDING_GUARD_ABSENT));
	assert_true(v.violation); /* a daemon session */

	f.x.guard_pending_ok = true;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_true(has(&v, HVIPE__FINDING_CODE__FINDING_GUARD_ABSENT));
	assert_false(v.violation);
	assert_false(v.trusted);

	f.gs.status = HVIPE__GUARD_STATUS__GUARD_LOADED;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_true(has(&v, HVIPE__FINDING_CODE__FINDING_GUARD_NOT_ARMED));
	assert_false(v.violation);

	setup(&f, HVIPE__GUARD_STATUS__GUARD_ARMED, "be508428f13e6443");
	f.x.guard_pending_ok = true;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_true(has(&v, HVIPE__FINDING_CODE__FINDING_GUARD_TAMPERED));
	assert_true(v.violation);
}

static void tampered_tags(void **state)
{
	struct fixture f;
	struct hv_verdict v;

	setup(&f, HVIPE__GUARD_STATUS__GUARD_ARMED, "be508428f13e6443");
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_true(has(&v, HVIPE__FINDING_CODE__FINDING_GUARD_TAMPERED));
	assert_true(v.violation);
	assert_false(v.trusted);

	/* Without a tags file the host cannot tell: armed is enough. */
	f.x.guard_tags = NULL;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_false(any_guard_finding(&v));
}

static void not_armed_and_absent(void **state)
{
	struct fixture f;
	struct hv_verdict v;

	setup(&f, HVIPE__GUARD_STATUS__GUARD_LOADED, "be508428f13e6442");
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_true(has(&v, HVIPE__FINDING_CODE__FINDING_GUARD_NOT_ARMED));

	f.gs.status = HVIPE__GUARD_STATUS__GUARD_FAILED;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_true(has(&v, HVIPE__FINDING_CODE__FINDING_GUARD_NOT_ARMED));

	f.ev.guard = NULL;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_true(has(&v, HVIPE__FINDING_CODE__FINDING_GUARD_ABSENT));
}

static void not_required(void **state)
{
	struct fixture f;
	struct hv_verdict v;

	setup(&f, HVIPE__GUARD_STATUS__GUARD_ARMED, "ffffffffffffffff");
	f.x.require_guard = false;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_false(any_guard_finding(&v));
	f.ev.guard = NULL;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_false(any_guard_finding(&v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(armed_matching_is_clean),
	        cmocka_unit_test(tampered_tags),
	        cmocka_unit_test(once_session_pending),
	        cmocka_unit_test(not_armed_and_absent),
	        cmocka_unit_test(not_required),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
