// SPDX-License-Identifier: Apache-2.0
/*
 * Evidence collection from fixture directories: dm-verity tables (fed through
 * the ga_dm_source interface instead of libdevmapper), mountinfo, IPE's
 * securityfs layout, lockdown, boot id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../guest/agent/evidence.h"
#include "hvipe.pb-c.h"
#include "util/hex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FX "tests/fixtures/"

static int failing_list(void *ctx, struct ga_dm_target **out, size_t *n)
{
	return -(int)(intptr_t)ctx;
}

static struct ga_paths fixture_paths(const char *secfs, struct ga_dm_source *dm)
{
	dm->list = ga_dm_file_list;
	dm->ctx = (void *)FX "guestd/dm-tables";
	return (struct ga_paths){
	        .securityfs = secfs,
	        .mountinfo = FX "guestd/mountinfo",
	        .boot_id = FX "guestd/boot_id",
	        .osrelease = FX "guestd/osrelease",
	        .dm = dm,
	};
}

static void hex_eq(const uint8_t *b, size_t n, const char *hex)
{
	char buf[129];

	assert_true(n * 2 < sizeof(buf));
	hv_hex_encode(buf, b, n);
	assert_string_equal(buf, hex);
}

static void test_verity_parse_table(void **state)
{
	static const struct {
		const char *params;
		int err;
		bool sig;
		size_t salt_len;
	} cases[] = {
	        {"1 252:0 252:16 4096 4096 2560 1 sha256 00ff 5a3c", 0, false, 2},
	        {"1 252:0 252:16 4096 4096 2560 1 sha256 00ff -", 0, false, 0},
	        {"1 252:0 252:16 4096 4096 2560 1 sha256 00ff - 1 ignore_corruption", 0, false, 0},
	        {"1 252:0 252:16 4096 4096 2560 1 sha256 00ff - 2 root_hash_sig_key_desc k:1", 0,
	         true, 0},
	        {"1 252:0 252:16 4096 4096 2560 1 sha256 00ff - 4 panic_on_corruption "
	         "root_hash_sig_key_desc k:1 ignore_zero_blocks",
	         0, true, 0},
	        /* malformed */
	        {"", -EBADMSG, false, 0},
	        {"1 252:0 252:16 4096 4096 2560 1 sha256", -EBADMSG, false, 0},
	        {"1 252:0 252:16 4096 4096 2560 1 sha256 0ff -", -EBADMSG, false, 0},
	        {"1 252:0 252:16 4096 4096 2560 1 sha256 zz -", -EBADMSG, false, 0},
	        {"1 252:0 252:16 x 4096 2560 1 sha256 00 -", -EBADMSG, false, 0},
	        {"1 252:0 252:16 4096 4096 2560 1 sha256 00 - 3 a b", -EBADMSG, false, 0},
	        {"1 252:0 252:16 4096 4096 2560 1 sha256 00 - 1 root_hash_sig_key_desc", -EBADMSG,
	         false, 0},
	        {"1 252:0 252:16 4096 4096 2560 1 sha256 00 - 1 a trailing", -EBADMSG, false, 0},
	        {"99999999999 252:0 252:16 4096 4096 2560 1 sha256 00 -", -EBADMSG, false, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ga_verity_table t;
		int r = ga_verity_parse(cases[i].params, &t);

		print_message("case %zu: %s\n", i, cases[i].params);
		assert_int_equal(r, cases[i].err);
		if (r == 0) {
			assert_int_equal(t.sig_key_desc, cases[i].sig);
			assert_int_equal(t.salt_len, cases[i].salt_len);
			assert_string_equal(t.alg, "sha256");
			assert_string_equal(t.data_dev, "252:0");
			assert_string_equal(t.hash_dev, "252:16");
			assert_int_equal(t.data_block_size, 4096);
			assert_int_equal(t.root_hash_len, 2);
		}
	}
}

static void test_mountpoint(void **state)
{
	char mp[64];

	assert_int_equal(ga_mountpoint(FX "guestd/mountinfo", 254, 0, mp, sizeof(mp)), 0);
	assert_string_equal(mp, "/");
	assert_int_equal(ga_mountpoint(FX "guestd/mountinfo", 254, 1, mp, sizeof(mp)), 0);
	assert_string_equal(mp, "/opt/my apps");
	assert_int_equal(ga_mountpoint(FX "guestd/mountinfo", 254, 2, mp, sizeof(mp)), -ENOENT);
	assert_int_equal(ga_mountpoint(FX "guestd/mountinfo", 254, 1, mp, 5), -ENAMETOOLONG);
	assert_int_equal(ga_mountpoint(FX "guestd/no-such-file", 254, 1, mp, sizeof(mp)), -ENOENT);
}

static void test_collect_all(void **state)
{
	struct ga_dm_source dm;
	struct ga_paths p = fixture_paths(FX "securityfs-ipe", &dm);
	struct ga_evidence *ev = calloc(1, sizeof(*ev));

	assert_int_equal(ga_evidence_collect(&p, 0, ev), 0);

	/* verity: root, apps, spare; the linear target and the broken table are skipped */
	assert_int_equal(ev->n_verity, 3);
	assert_string_equal(ev->verity[0].name, "root");
	hex_eq(ev->verity[0].root_hash, ev->verity[0].root_hash_len,
	       "3f7c1c2e0b0b6d0d8a9e5b1c4c2d8f6e7a1b2c3d4e5f60718293a4b5c6d7e8f9");
	assert_string_equal(ev->verity[0].alg, "sha256");
	assert_string_equal(ev->verity[0].data_dev, "252:0");
	assert_string_equal(ev->verity[0].hash_dev, "252:16");
	assert_false(ev->verity[0].signature);
	assert_string_equal(ev->verity[0].mountpoint, "/");
	assert_string_equal(ev->verity[1].name, "apps");
	assert_true(ev->verity[1].signature);
	assert_string_equal(ev->verity[1].mountpoint, "/opt/my apps");
	assert_string_equal(ev->verity[2].alg, "sha512");
	assert_int_equal(ev->verity[2].root_hash_len, 64);
	assert_string_equal(ev->verity[2].mountpoint, "");

	/* IPE */
	assert_true(ev->ipe.present);
	assert_true(ev->ipe.enforce);
	assert_false(ev->ipe.success_audit);
	assert_int_equal(ev->ipe.n_policies, 3);
	assert_string_equal(ev->ipe.policies[0].name, "boot");
	assert_false(ev->ipe.policies[0].has_digest);
	assert_string_equal(ev->ipe.policies[1].name, "hvipe");
	assert_string_equal(ev->ipe.policies[1].version, "1.0.1");
	assert_true(ev->ipe.policies[1].active);
	assert_true(ev->ipe.policies[1].has_digest);
	/* sha256sum tests/fixtures/guestd/hvipe-1.0.1.p7s */
	hex_eq(ev->ipe.policies[1].digest, 32,
	       "437a1017580845dc00147594053efe5e9caf443a8eb6795ed64d7d7194068853");
	assert_string_equal(ev->ipe.policies[2].name, "hvipe_fallback");
	assert_false(ev->ipe.policies[2].active);
	hex_eq(ev->ipe.policies[2].digest, 32,
	       "a7eff3879804539342a8b6f7a212dcedfb3233dd882e262ce77af988cc8b5f36");

	assert_string_equal(ev->lockdown, "integrity");
	assert_string_equal(ev->kernel_release, "6.12.48+deb12-cloud-amd64");
	assert_true(ev->has_boot_id);
	hex_eq(ev->boot_id, 16, "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
	assert_int_equal(ev->guard.status, GA_GUARD_ABSENT);
	assert_true(strlen(ev->guard.detail) > 0);
	free(ev);
}

static void test_collect_selected(void **state)
{
	struct ga_dm_source dm;
	struct ga_paths p = fixture_paths(FX "securityfs-ipe", &dm);
	struct ga_evidence *ev = calloc(1, sizeof(*ev));

	assert_int_equal(ga_evidence_collect(&p, HVIPE__EVIDENCE_KIND__EVIDENCE_IPE, ev), 0);
	assert_int_equal(ev->n_verity, 0);
	assert_true(ev->ipe.present);
	assert_string_equal(ev->lockdown, "");
	free(ev);
}

static void test_no_ipe(void **state)
{
	struct ga_dm_source dm;
	struct ga_paths p = fixture_paths(FX "securityfs-noipe", &dm);
	struct ga_evidence *ev = calloc(1, sizeof(*ev));

	assert_int_equal(ga_evidence_collect(&p, 0, ev), 0);
	assert_false(ev->ipe.present);
	assert_int_equal(ev->ipe.n_policies, 0);
	assert_string_equal(ev->lockdown, "none");

	/* IPE active with nothing loaded and enforce off */
	assert_int_equal(ga_ipe_collect(FX "securityfs-empty", &ev->ipe), 0);
	assert_true(ev->ipe.present);
	assert_false(ev->ipe.enforce);
	assert_int_equal(ev->ipe.n_policies, 0);
	free(ev);
}

static void test_dm_errors(void **state)
{
	struct ga_dm_source dm = {.list = failing_list, .ctx = (void *)(intptr_t)ENXIO};
	struct ga_paths p = fixture_paths(FX "securityfs-ipe", &dm);
	struct ga_evidence *ev = calloc(1, sizeof(*ev));

	p.dm = &dm;
	dm.list = failing_list;
	dm.ctx = (void *)(intptr_t)ENXIO;
	/* no device-mapper: no verity devices, the rest still collected */
	assert_int_equal(ga_evidence_collect(&p, 0, ev), 0);
	assert_int_equal(ev->n_verity, 0);
	assert_true(ev->ipe.present);
	dm.ctx = (void *)(intptr_t)EIO;
	assert_int_equal(ga_evidence_collect(&p, 0, ev), -EIO);
	/* ... and the rest is still collected for the host */
	assert_true(ev->ipe.present);
	assert_int_equal(ev->ipe.n_policies, 3);
	assert_string_equal(ev->lockdown, "integrity");
	free(ev);
}

static void test_dm_file_missing(void **state)
{
	struct ga_dm_target *t;
	size_t n;

	assert_int_equal(ga_dm_file_list((void *)FX "guestd/no-such-file", &t, &n), -ENOENT);
}

/*
 * More policies than the protocol carries: the active one is still reported,
 * even when the directory lists it last (marked so from `ls -f`, readdir's
 * own order, so that without the code it would fall outside the 64 kept).
 */
static void test_many_policies_keep_active(void **state)
{
	char dir[] = "/tmp/hvipe-guestd-ut-XXXXXX", cmd[600], last[32] = "";
	struct ga_ipe *ipe = calloc(1, sizeof(*ipe));
	bool found = false;

	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
	         "cp -r " FX "securityfs-empty/. %s/ && cd %s/ipe/policies && "
	         "for i in $(seq 1 80); do mkdir p$i && printf p$i > p$i/name && "
	         "printf 0.0.$i > p$i/version && printf 0 > p$i/active; done && "
	         "last=$(ls -f | grep '^p' | tail -1) && printf 1 > $last/active && "
	         "printf %%s $last > ../../last",
	         dir, dir);
	assert_int_equal(system(cmd), 0);
	assert_true(ga_read_small(dir, "last", last, sizeof(last)) > 0);
	assert_int_equal(ga_ipe_collect(dir, ipe), 0);
	assert_int_equal(ipe->n_policies, HV_PROTO_MAX_POLICIES);
	for (size_t i = 0; i < ipe->n_policies; i++)
		if (ipe->policies[i].active) {
			assert_string_equal(ipe->policies[i].name, last);
			found = true;
		}
	assert_true(found);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(ipe);
}

static void test_boot_id(void **state)
{
	uint8_t b[16];

	assert_int_equal(ga_boot_id_parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", 36, b), 0);
	assert_int_equal(b[0], 0x0f);
	assert_int_equal(b[15], 0xf0);
	assert_int_equal(ga_boot_id_parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1", 34, b), -EBADMSG);
	assert_int_equal(ga_boot_id_parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0ff", 38, b),
	                 -EBADMSG);
	assert_int_equal(ga_boot_id_parse("zf1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", 36, b), -EBADMSG);
}

static void test_read_small_bounded(void **state)
{
	char buf[4];

	/* "1.0.1" does not fit in 4 bytes: refused, not truncated */
	assert_int_equal(
	        ga_read_small(FX "securityfs-ipe/ipe/policies/hvipe", "version", buf, sizeof(buf)),
	        -EFBIG);
	assert_int_equal(ga_read_small(FX "securityfs-ipe/ipe", "enforce", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_verity_parse_table),
	        cmocka_unit_test(test_mountpoint),
	        cmocka_unit_test(test_collect_all),
	        cmocka_unit_test(test_collect_selected),
	        cmocka_unit_test(test_no_ipe),
	        cmocka_unit_test(test_dm_errors),
	        cmocka_unit_test(test_boot_id),
	        cmocka_unit_test(test_many_policies_keep_active),
	        cmocka_unit_test(test_dm_file_missing),
	        cmocka_unit_test(test_read_small_bounded),
	};

	return cmocka_run_group_tests_name("guestd_evidence", tests, NULL, NULL);
}
