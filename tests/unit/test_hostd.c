/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of hvipe-hostd's pure parts: policy composition and versions,
 * the verdict logic over decoded Evidence, the store's schema migrations,
 * and the configuration parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../host/hostd/compose.h"
#include "../../host/hostd/config.h"
#include "../../host/hostd/store.h"
#include "../../host/hostd/verdict.h"
#include "hv_limits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- composition ----------------------------------------------------------- */

static void test_version(void **state)
{
	static const struct {
		uint64_t n;
		const char *want;
		int err;
	} t[] = {
	        {1, "1.0.1", 0},
	        {65535, "1.0.65535", 0},
	        {65536, "1.1.0", 0},
	        {65537, "1.1.1", 0},
	        {0xffffffffull, "1.65535.65535", 0},
	        {0x100000000ull, "2.0.0", 0},
	        {HV_ISSUE_MAX, "65535.65535.65535", 0},
	        {0, NULL, -ERANGE},
	        {HV_ISSUE_MAX + 1, NULL, -ERANGE},
	        {UINT64_MAX, NULL, -ERANGE},
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(hv_compose_version(t[i].n, buf, sizeof(buf)), t[i].err);
		if (t[i].want)
			assert_string_equal(buf, t[i].want);
	}
}

static void test_version_order(void **state)
{
	/* Issue numbers and the kernel's numeric version order agree, across
	 * the minor/revision boundary too. */
	char a[32], b[32];
	uint64_t va, vb;

	for (uint64_t n = 65530; n < 65540; n++) {
		hv_compose_version(n, a, sizeof(a));
		hv_compose_version(n + 1, b, sizeof(b));
		assert_int_equal(hv_version_parse(a, &va), 0);
		assert_int_equal(hv_version_parse(b, &vb), 0);
		assert_true(va < vb);
		assert_int_equal(va, HV_ISSUE_VERSION_BASE + n);
	}
}

static void test_issue_above(void **state)
{
	/* The smallest issue whose version is above a reported one; none above
	 * the largest version IPE can hold, and no wrap on the way there. */
	static const struct {
		const char *ver;
		uint64_t n;
		int err;
	} t[] = {
	        {"0.0.0", 1, 0},
	        {"0.65535.65535", 1, 0},
	        {"1.0.0", 1, 0},
	        {"1.0.4", 5, 0},
	        {"1.0.65535", 65536, 0},
	        {"1.65535.65535", 0x100000000ull, 0},
	        {"2.0.0", 0x100000001ull, 0},
	        {"65535.65535.65534", HV_ISSUE_MAX, 0},
	        {"65535.65535.65535", 0, -ERANGE},
	};
	char buf[32];
	uint64_t v, n, vn;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(hv_version_parse(t[i].ver, &v), 0);
		n = 0;
		assert_int_equal(hv_issue_above(v, &n), t[i].err);
		if (t[i].err)
			continue;
		assert_int_equal(n, t[i].n);
		assert_int_equal(hv_compose_version(n, buf, sizeof(buf)), 0);
		assert_int_equal(hv_version_parse(buf, &vn), 0);
		assert_true(vn > v);
		/* ... and the one before it is not above (when there is one) */
		if (n > 1) {
			assert_int_equal(hv_compose_version(n - 1, buf, sizeof(buf)), 0);
			assert_int_equal(hv_version_parse(buf, &vn), 0);
			assert_true(vn <= v);
		}
	}
	assert_int_equal(hv_issue_above(UINT64_MAX, &n), -ERANGE);
}

static const char *H_A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *H_B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static void test_compose_roothash(void **state)
{
	struct hv_image_rule imgs[] = {{"sha256", H_B}, {"sha256", H_A}, {"sha256", H_B}};
	char *text;
	size_t len;
	const char *want =
	        "policy_name=hvipe policy_version=1.0.7\n"
	        "DEFAULT action=ALLOW\n"
	        "DEFAULT op=EXECUTE action=DENY\n"
	        "DEFAULT op=KMODULE action=DENY\n"
	        "DEFAULT op=KEXEC_IMAGE action=DENY\n"
	        "DEFAULT op=KEXEC_INITRAMFS action=DENY\n"
	        "op=EXECUTE "
	        "dmverity_roothash=sha256:"
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa action=ALLOW\n"
	        "op=EXECUTE "
	        "dmverity_roothash=sha256:"
	        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb action=ALLOW\n"
	        "op=KMODULE "
	        "dmverity_roothash=sha256:"
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa action=ALLOW\n"
	        "op=KMODULE "
	        "dmverity_roothash=sha256:"
	        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb action=ALLOW\n";

	assert_int_equal(hv_compose_policy(HV_MODE_ROOTHASH, imgs, 3, 7, 65535, &text, &len), 0);
	/* sorted, deduplicated, EXECUTE then KMODULE, exactly the contract */
	assert_string_equal(text, want);
	assert_int_equal(len, strlen(want));
	free(text);
}

static void test_compose_order_independent(void **state)
{
	struct hv_image_rule x[] = {{"sha256", H_A}, {"sha256", H_B}};
	struct hv_image_rule y[] = {{"sha256", H_B}, {"sha256", H_A}};
	char *a, *b;
	size_t la, lb;

	assert_int_equal(hv_compose_policy(HV_MODE_ROOTHASH, x, 2, 1, 65535, &a, &la), 0);
	assert_int_equal(hv_compose_policy(HV_MODE_ROOTHASH, y, 2, 1, 65535, &b, &lb), 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
}

static void test_compose_signature(void **state)
{
	struct hv_image_rule imgs[] = {{"sha256", H_A}};
	char *text;
	size_t len;

	assert_int_equal(hv_compose_policy(HV_MODE_SIGNATURE, imgs, 1, 2, 65535, &text, &len), 0);
	assert_non_null(strstr(text, "\nop=EXECUTE dmverity_signature=TRUE action=ALLOW\n"));
	assert_non_null(strstr(text, "\nop=KMODULE dmverity_signature=TRUE action=ALLOW\n"));
	assert_null(strstr(text, "dmverity_roothash"));
	free(text);
}

static void test_compose_no_images(void **state)
{
	char *text;
	size_t len;

	/* Nothing approved: deny-by-default only, nothing allowed to execute. */
	assert_int_equal(hv_compose_policy(HV_MODE_ROOTHASH, NULL, 0, 1, 65535, &text, &len), 0);
	assert_null(strstr(text, "action=ALLOW\nop="));
	assert_null(strstr(text, "dmverity"));
	free(text);
}

static void test_compose_too_big(void **state)
{
	size_t n = 700;
	struct hv_image_rule *imgs = calloc(n, sizeof(*imgs));
	char(*hex)[65] = calloc(n, 65);
	char *text = NULL;
	size_t len;

	for (size_t i = 0; i < n; i++) {
		snprintf(hex[i], 65, "%064zx", i);
		imgs[i] = (struct hv_image_rule){"sha256", hex[i]};
	}
	/* 700 images need ~2 x 700 x 105 bytes: over 65,535. */
	assert_int_equal(hv_compose_policy(HV_MODE_ROOTHASH, imgs, n, 1, 65535, &text, &len),
	                 -EMSGSIZE);
	assert_null(text);
	/* 200 fit. */
	assert_int_equal(hv_compose_policy(HV_MODE_ROOTHASH, imgs, 200, 1, 65535, &text, &len), 0);
	assert_true(len < 65535);
	free(text);
	/* The switch target always fits. */
	assert_int_equal(hv_compose_policy(HV_MODE_SIGNATURE, imgs, n, 1, 65535, &text, &len), 0);
	free(text);
	free(imgs);
	free(hex);
}

static void test_compose_bad_issue(void **state)
{
	char *text;
	size_t len;

	assert_int_equal(hv_compose_policy(HV_MODE_ROOTHASH, NULL, 0, 0, 65535, &text, &len),
	                 -ERANGE);
}

/* --- verdicts -------------------------------------------------------------- */

struct vfix {
	uint8_t nonce[32];
	uint8_t hash[32];
	struct hv_approved_image img;
	struct hv_expect x;
	Hvipe__Evidence ev;
	Hvipe__VerityDevice dev, *devp;
	Hvipe__IpeState ipe;
	Hvipe__IpePolicy pol, *polp;
	Hvipe__GuardState guard;
	uint8_t active_digest[32];
};

/* A VM with one approved image and issue 3 confirmed; Evidence that
 * matches in every respect. Tests then break one thing each. */
static void vfix_init(struct vfix *f)
{
	memset(f, 0, sizeof(*f));
	memset(f->nonce, 0x11, 32);
	memset(f->hash, 0xaa, 32);
	memset(f->active_digest, 0x33, 32);
	f->img.name = "img";
	f->img.alg = "sha256";
	memcpy(f->img.hash, f->hash, 32);
	f->img.hash_len = 32;
	f->x.nonce = f->nonce;
	f->x.images = &f->img;
	f->x.n_images = 1;
	f->x.issued_n = 3;
	memcpy(f->x.issued_digest, f->active_digest, 32);
	f->x.confirmed_n = 3;
	memcpy(f->x.confirmed_digest, f->active_digest, 32);

	hvipe__evidence__init(&f->ev);
	hvipe__verity_device__init(&f->dev);
	hvipe__ipe_state__init(&f->ipe);
	hvipe__ipe_policy__init(&f->pol);
	hvipe__guard_state__init(&f->guard);
	f->ev.nonce.data = f->nonce;
	f->ev.nonce.len = 32;
	f->dev.name = "root";
	f->dev.root_hash.data = f->hash;
	f->dev.root_hash.len = 32;
	f->dev.hash_algorithm = "sha256";
	f->devp = &f->dev;
	f->ev.verity = &f->devp;
	f->ev.n_verity = 1;
	f->ipe.present = 1;
	f->ipe.enforce = 1;
	f->pol.name = "hvipe";
	f->pol.version = "1.0.3";
	f->pol.active = 1;
	f->pol.digest.data = f->active_digest;
	f->pol.digest.len = 32;
	f->polp = &f->pol;
	f->ipe.policies = &f->polp;
	f->ipe.n_policies = 1;
	f->ev.ipe = &f->ipe;
	f->ev.guard = &f->guard;
}

static Hvipe__FindingCode only(const struct hv_verdict *v)
{
	assert_int_equal(v->n, 1);
	return v->f[0].code;
}

static void test_verdict_trusted(void **state)
{
	struct vfix f;
	struct hv_verdict v;

	vfix_init(&f);
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_true(v.trusted);
	assert_false(v.violation);
	assert_false(v.need_policy);
	assert_int_equal(v.n, 0);
}

static void test_verdict_nonce(void **state)
{
	struct vfix f;
	struct hv_verdict v;
	uint8_t other[32];

	vfix_init(&f);
	memset(other, 0x12, 32);
	f.ev.nonce.data = other;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_NONCE_MISMATCH);
	assert_true(v.violation);
}

static void test_verdict_ipe(void **state)
{
	struct vfix f;
	struct hv_verdict v;

	vfix_init(&f);
	f.ipe.enforce = 0;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_IPE_NOT_ENFORCING);
	assert_true(v.violation);

	vfix_init(&f);
	f.ev.ipe = NULL;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_IPE_ABSENT);
}

static void test_verdict_verity(void **state)
{
	struct vfix f;
	struct hv_verdict v;
	uint8_t other[32], longer[48];

	/* absent */
	vfix_init(&f);
	f.ev.n_verity = 0;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_VERITY_ABSENT);

	/* unapproved */
	vfix_init(&f);
	memset(other, 0xbb, 32);
	f.dev.root_hash.data = other;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_VERITY_UNAPPROVED);

	/* wrong hash: same prefix, other algorithm or length */
	vfix_init(&f);
	f.dev.hash_algorithm = "sha512";
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_VERITY_WRONG_HASH);
	vfix_init(&f);
	memset(longer, 0xaa, sizeof(longer));
	f.dev.root_hash.data = longer;
	f.dev.root_hash.len = sizeof(longer);
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_VERITY_WRONG_HASH);

	/* bad signature: signed, but the host holds no signature for it */
	vfix_init(&f);
	f.dev.signature_verified = 1;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_VERITY_BAD_SIGNATURE);

	/* unsigned: signature mode needs a verified signature */
	vfix_init(&f);
	f.x.mode = HV_MODE_SIGNATURE;
	f.img.has_signature = true;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_VERITY_UNSIGNED);
	f.dev.signature_verified = 1;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_true(v.trusted);
}

static void test_verdict_policy(void **state)
{
	struct vfix f;
	struct hv_verdict v;
	uint8_t other[32];

	/* fallback active: missing, not a violation, deliver */
	vfix_init(&f);
	f.pol.name = "hvipe_fallback";
	f.pol.version = "0.0.1";
	f.pol.digest.len = 0;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_POLICY_MISSING);
	assert_false(v.violation);
	assert_true(v.need_policy);

	/* nothing active */
	vfix_init(&f);
	f.pol.active = 0;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_POLICY_MISSING);

	/* rollback: an older version than the confirmed issue; a violation,
	 * and the host issues anew (any next issue is above 1.0.2) */
	vfix_init(&f);
	memset(other, 0x44, 32);
	f.pol.version = "1.0.2";
	f.pol.digest.data = other;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_POLICY_OUTDATED);
	assert_true(v.violation);
	assert_true(v.need_policy);
	assert_string_equal(v.deliver, "policy_outdated");
	assert_int_equal(v.min_issue, 3);

	/* same version, other digest: mismatch, reissued above 1.0.3 */
	vfix_init(&f);
	f.pol.digest.data = other;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_POLICY_MISMATCH);
	assert_true(v.violation);
	assert_true(v.need_policy);
	assert_string_equal(v.deliver, "policy_mismatch");
	assert_int_equal(v.min_issue, 4);

	/* a store that knows no policy for the VM (forgotten and re-added):
	 * the guest's 1.0.4 is a mismatch and the new issue is above it */
	vfix_init(&f);
	f.x.issued_n = f.x.confirmed_n = 0;
	f.pol.version = "1.0.4";
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_POLICY_MISMATCH);
	assert_true(v.need_policy);
	assert_int_equal(v.min_issue, 5);

	/* a version the host never used for major 1 is still bounded */
	f.pol.version = "7.1.2";
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_true(v.need_policy);
	assert_int_equal(v.min_issue, (7ull << 32 | 1ull << 16 | 2) - HV_ISSUE_VERSION_BASE + 1);

	/* at the largest version nothing can be above: said, not attempted */
	f.pol.version = "65535.65535.65535";
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_POLICY_MISMATCH);
	assert_true(v.violation);
	assert_false(v.need_policy);
	assert_non_null(strstr(v.f[0].detail, "cannot issue a version above 65535.65535.65535"));

	/* a version that does not parse (out of range, junk): no floor can be
	 * chosen, so no reissue, and the detail says why */
	static char *const bad[] = {"65536.0.0", "1.0.4x", "1.0", "", "0000001.0.0"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f.pol.version = bad[i];
		hv_verdict_eval(&f.x, &f.ev, &v);
		assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_POLICY_MISMATCH);
		assert_false(v.need_policy);
		assert_non_null(strstr(v.f[0].detail, "is not M.m.r"));
	}

	/* a policy of another name: reissued, above an inactive hvipe the
	 * guest also reports (the kernel compares against it) */
	vfix_init(&f);
	f.pol.name = "evil";
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_POLICY_MISMATCH);
	assert_true(v.need_policy);
	assert_int_equal(v.min_issue, 0);
	{
		Hvipe__IpePolicy hv = HVIPE__IPE_POLICY__INIT, *two[2] = {&f.pol, &hv};

		hv.name = "hvipe";
		hv.version = "1.0.9";
		f.ipe.policies = two;
		f.ipe.n_policies = 2;
		hv_verdict_eval(&f.x, &f.ev, &v);
		assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_POLICY_MISMATCH);
		assert_true(v.need_policy);
		assert_int_equal(v.min_issue, 10);
	}

	/* issue 4 sent but not applied, guest still on confirmed 3: resend,
	 * no violation */
	vfix_init(&f);
	f.x.issued_n = 4;
	memset(f.x.issued_digest, 0x55, 32);
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_true(v.trusted);
	assert_true(v.need_policy);
	assert_string_equal(v.deliver, "policy_not_applied");
}

static void test_verdict_guard_and_boot(void **state)
{
	struct vfix f;
	struct hv_verdict v;
	uint8_t boot[16] = {1}, other[16] = {2};

	vfix_init(&f);
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_true(v.trusted); /* guard absent, not required */
	f.x.require_guard = true;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_GUARD_ABSENT);
	f.guard.status = HVIPE__GUARD_STATUS__GUARD_LOADED;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_GUARD_NOT_ARMED);
	f.guard.status = HVIPE__GUARD_STATUS__GUARD_ARMED;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_true(v.trusted);

	vfix_init(&f);
	f.x.boot_id = boot;
	f.x.boot_id_len = 16;
	f.ev.boot_id.data = other;
	f.ev.boot_id.len = 16;
	hv_verdict_eval(&f.x, &f.ev, &v);
	assert_int_equal(only(&v), HVIPE__FINDING_CODE__FINDING_BOOT_CHANGED);
}

static void test_verdict_many_findings(void **state)
{
	struct vfix f;
	struct hv_verdict v;
	Hvipe__VerityDevice devs[40], *dp[40];
	uint8_t hashes[40][32];

	vfix_init(&f);
	for (int i = 0; i < 40; i++) {
		devs[i] = f.dev;
		memset(hashes[i], i + 1, 32);
		devs[i].root_hash.data = hashes[i];
		dp[i] = &devs[i];
	}
	f.ev.verity = dp;
	f.ev.n_verity = 40;
	hv_verdict_eval(&f.x, &f.ev, &v);
	/* capped, the last slot says so, and it is still a violation */
	assert_int_equal(v.n, HV_VERDICT_MAX_FINDINGS);
	assert_string_equal(v.f[HV_VERDICT_MAX_FINDINGS - 1].detail, "more findings cut");
	assert_true(v.violation);
}

static void test_version_parse(void **state)
{
	static const struct {
		const char *s;
		int err;
	} t[] = {
	        {"1.0.1", 0},        {"65535.65535.65535", 0},
	        {"1.0", -EINVAL},    {"1.0.1.", -EINVAL},
	        {"1..1", -EINVAL},   {"65536.0.0", -EINVAL},
	        {"-1.0.0", -EINVAL}, {"", -EINVAL},
	        {"1.0.1x", -EINVAL}, {"0000001.0.0", -EINVAL},
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(hv_version_parse(t[i].s, &v), t[i].err);
}

/* --- store ----------------------------------------------------------------- */

static void test_store_migrates(void **state)
{
	char path[] = "/tmp/hvipe-hostd-unit-XXXXXX";
	char db[64], why[128];
	struct hv_store s;
	sqlite3 *raw;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	snprintf(db, sizeof(db), "%s.db", path);

	assert_int_equal(hv_store_open(db, &s, why, sizeof(why)), 0);
	assert_int_equal(hv_store_schema_version(&s), HV_STORE_SCHEMA_LATEST);
	assert_int_equal(hv_store_exec(&s, NULL, "INSERT INTO issue_counters VALUES('x', 5)", ""),
	                 0);
	assert_int_equal(hv_store_exec(&s, NULL, "INSERT INTO issue_counters VALUES('x', 6)", ""),
	                 -EEXIST);
	assert_int_equal(hv_store_commit(&s), 0);
	hv_store_close(&s);

	/* Pretend a later program wrote it: refuse rather than guess. */
	assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(hv_store_open(db, &s, why, sizeof(why)), -EPROTO);

	/* A version-1 database gains version 2's indexes and keeps its rows. */
	assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw,
	                              "DROP INDEX verdicts_vm; DROP INDEX audit_vm;"
	                              " DROP INDEX policies_vm; PRAGMA user_version=1",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(hv_store_open(db, &s, why, sizeof(why)), 0);
	assert_int_equal(hv_store_schema_version(&s), 2);
	{
		sqlite3_stmt *st;

		assert_int_equal(
		        hv_store_query(&s, &st,
		                       "SELECT count(*) FROM sqlite_master WHERE type='index'"
		                       " AND name IN ('verdicts_vm','audit_vm','policies_vm')",
		                       ""),
		        0);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 3);
		sqlite3_finalize(st);
		assert_int_equal(hv_store_query(&s, &st,
		                                "SELECT n FROM issue_counters WHERE name=?", "t",
		                                "x"),
		                 0);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 5);
		sqlite3_finalize(st);
	}
	{
		sqlite3_stmt *st;

		assert_int_equal(hv_store_query(&s, &st, "PRAGMA journal_mode", ""), 0);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
		sqlite3_finalize(st);
	}
	hv_store_close(&s);
	unlink(db);
	snprintf(why, sizeof(why), "%s-wal", db);
	unlink(why);
	snprintf(why, sizeof(why), "%s-shm", db);
	unlink(why);
}

/* --- config ---------------------------------------------------------------- */

static void test_config(void **state)
{
	char path[] = "/tmp/hvipe-hostd-unit-conf-XXXXXX";
	struct hv_config c;
	char why[128];
	unsigned line;
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs("# comment\n[hostd]\n  heartbeat-ms = 250 \n"
	      "state-dir=/srv/hvipe\n",
	      f);
	fclose(f);
	hv_config_defaults(&c);
	assert_int_equal(hv_config_load(&c, path, false, &line, why, sizeof(why)), 0);
	assert_int_equal(c.heartbeat_ms, 250);
	assert_int_equal(hv_config_finish(&c, why, sizeof(why)), 0);
	assert_string_equal(c.db_path, "/srv/hvipe/hvipe.db");
	assert_string_equal(c.key_path, "/srv/hvipe/keys/key.pem");
	assert_int_equal(c.deadline_ms, 250);
	assert_int_equal(c.vsock_port, HV_DEFAULT_PORT);
	assert_int_equal(hv_config_set(&c, "heartbeat-ms", "10"), -ERANGE);
	assert_int_equal(hv_config_set(&c, "heartbeat-ms", "12x"), -EINVAL);
	assert_int_equal(hv_config_set(&c, "vsock-port", "-1"), -EINVAL);
	assert_int_equal(hv_config_set(&c, "nope", "1"), -ENOENT);
	hv_config_free(&c);

	f = fopen(path, "w");
	fputs("[hostd]\nheartbeat-ms 250\n", f);
	fclose(f);
	hv_config_defaults(&c);
	assert_int_equal(hv_config_load(&c, path, false, &line, why, sizeof(why)), -EBADMSG);
	assert_int_equal(line, 2);
	assert_string_equal(why, "expected key = value");
	hv_config_free(&c);
	hv_config_defaults(&c);
	assert_int_equal(
	        hv_config_load(&c, "/nonexistent/hostd.conf", true, &line, why, sizeof(why)), 0);
	assert_int_equal(
	        hv_config_load(&c, "/nonexistent/hostd.conf", false, &line, why, sizeof(why)),
	        -ENOENT);
	assert_int_equal(line, 0);
	assert_string_equal(why, "cannot read the file: No such file or directory");
	hv_config_free(&c);
	unlink(path);
}

/* Each mistake in the file is refused with its line and what was wrong. */
static void load_bad(const char *text, int err, unsigned want_line, const char *want_why)
{
	char path[] = "/tmp/hvipe-conf-XXXXXX", why[256] = "";
	struct hv_config c;
	unsigned line;
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs(text, f);
	fclose(f);
	hv_config_defaults(&c);
	assert_int_equal(hv_config_load(&c, path, false, &line, why, sizeof(why)), err);
	assert_int_equal(line, want_line);
	assert_string_equal(why, want_why);
	hv_config_free(&c);
	unlink(path);
}

static void test_config_errors(void **state)
{
	(void)state;
	load_bad("# x\n[hostd\nheartbeat-ms = 250\n", -EBADMSG, 2,
	         "malformed section header '[hostd'");
	load_bad("[Hostd]\nheartbeat-ms = 250\n", -EBADMSG, 1,
	         "unknown section [Hostd] (the only one is [hostd])");
	load_bad("[hostd]\nheartbeat-ms = 250\n[other]\nx = y\n", -EBADMSG, 3,
	         "unknown section [other] (the only one is [hostd])");
	load_bad("heartbeat-ms = 250\n[hostd]\n", -EBADMSG, 1, "key outside the [hostd] section");
	load_bad("[hostd]\n\nlog-level = info # chatty\n", -EINVAL, 3,
	         "bad value for log-level: 'info # chatty' (comments go on a line of their own)");
	load_bad("[hostd]\nlog-level = loud\n", -EINVAL, 2, "bad value for log-level: 'loud'");
	load_bad("[hostd]\nheartbeat-ms = 10\n", -ERANGE, 2,
	         "bad value for heartbeat-ms: '10' (out of range)");
	load_bad("[hostd]\nbogus = 1\n", -ENOENT, 2, "unknown key 'bogus'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_version),
	        cmocka_unit_test(test_version_order),
	        cmocka_unit_test(test_issue_above),
	        cmocka_unit_test(test_version_parse),
	        cmocka_unit_test(test_compose_roothash),
	        cmocka_unit_test(test_compose_order_independent),
	        cmocka_unit_test(test_compose_signature),
	        cmocka_unit_test(test_compose_no_images),
	        cmocka_unit_test(test_compose_too_big),
	        cmocka_unit_test(test_compose_bad_issue),
	        cmocka_unit_test(test_verdict_trusted),
	        cmocka_unit_test(test_verdict_nonce),
	        cmocka_unit_test(test_verdict_ipe),
	        cmocka_unit_test(test_verdict_verity),
	        cmocka_unit_test(test_verdict_policy),
	        cmocka_unit_test(test_verdict_guard_and_boot),
	        cmocka_unit_test(test_verdict_many_findings),
	        cmocka_unit_test(test_store_migrates),
	        cmocka_unit_test(test_config_errors),
	        cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
