// SPDX-License-Identifier: Apache-2.0
/*
 * Policy application against a copy of a securityfs fixture. A directory is
 * not the kernel: it cannot verify signatures or refuse a write, so these
 * tests prove what the agent writes, where, in which order, and what it
 * refuses before writing; the kernel's verdicts are covered by the VM tests.
 * Also: transport address and kernel command line parsing, backoff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../guest/agent/apply.h"
#include "../../guest/agent/transport.h"
#include "util/buf.h"
#include "util/hex.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FX "tests/fixtures/"

struct fx {
	char dir[64];   /* securityfs copy */
	char state[80]; /* state dir */
};

static void load(const char *path, uint8_t **b, size_t *n)
{
	assert_int_equal(hv_read_file(path, 1 << 20, b, n), 0);
}

static size_t file_size(const char *dir, const char *rel)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (stat(p, &st) < 0)
		return (size_t)-1;
	return (size_t)st.st_size;
}

static void file_eq(const char *dir, const char *rel, const void *want, size_t n)
{
	char p[512];
	uint8_t *b;
	size_t len;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	load(p, &b, &len);
	assert_int_equal(len, n);
	assert_memory_equal(b, want, n);
	free(b);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char cmd[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/hvipe-guestd-ut-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(cmd, sizeof(cmd), "cp -r " FX "securityfs-ipe/. %s/ && mkdir %s/state", f->dir,
	         f->dir);
	assert_int_equal(system(cmd), 0);
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void digest(const uint8_t *b, size_t n, uint8_t md[32])
{
	unsigned int l;

	assert_true(EVP_Digest(b, n, md, &l, EVP_sha256(), NULL));
}

/*
 * Play the kernel's part for one update, as far as a directory can: once the
 * agent has written policies/hvipe/update, install those bytes as pkcs7 and
 * the new version. Runs in a child process; gives up after 10 s.
 */
static pid_t fake_kernel_update(const char *dir, const char *version)
{
	pid_t pid = fork();
	char upd[256], pk[256], ver[256];

	assert_true(pid >= 0);
	if (pid > 0)
		return pid;
	snprintf(upd, sizeof(upd), "%s/ipe/policies/hvipe/update", dir);
	snprintf(pk, sizeof(pk), "%s/ipe/policies/hvipe/pkcs7", dir);
	snprintf(ver, sizeof(ver), "%s/ipe/policies/hvipe/version", dir);
	for (int i = 0; i < 1000; i++) {
		uint8_t *b;
		size_t n;

		if (hv_read_file(upd, 1 << 20, &b, &n) == 0 && n > 0) {
			_exit(hv_write_file_atomic(pk, b, n, 0644) == 0 &&
			                      hv_write_file_atomic(ver, version, strlen(version),
			                                           0644) == 0
			              ? 0
			              : 1);
		}
		usleep(10000);
	}
	_exit(2);
}

/* hvipe 1.0.1 is loaded and active: 1.0.2 goes to its update file, then active. */
static void test_update_loaded(void **state)
{
	struct fx *f = *state;
	struct ga_apply_result res;
	uint8_t *blob, md[32];
	size_t n;
	uint16_t floor[3];
	int status;
	pid_t kernel = fake_kernel_update(f->dir, "1.0.2");

	load(FX "guestd/hvipe-1.0.2.p7s", &blob, &n);
	digest(blob, n, md);
	struct ga_apply_req req = {.name = "hvipe",
	                           .version = "1.0.2",
	                           .blob = blob,
	                           .len = n,
	                           .digest = md,
	                           .activate = true,
	                           .settle_ms = 10000};

	assert_int_equal(ga_policy_apply(f->dir, f->state, &req, &res), 0);
	assert_int_equal(waitpid(kernel, &status, 0), kernel);
	assert_int_equal(status, 0);
	assert_int_equal(res.err, 0);
	/* exactly the blob, in the update file; new_policy untouched */
	file_eq(f->dir, "ipe/policies/hvipe/update", blob, n);
	assert_int_equal(file_size(f->dir, "ipe/new_policy"), 0);
	file_eq(f->dir, "ipe/policies/hvipe/active", "1", 1);
	/* the boot policy (neither active nor the fallback) is deleted; the fallback is kept */
	file_eq(f->dir, "ipe/policies/boot/delete", "1", 1);
	assert_int_equal(file_size(f->dir, "ipe/policies/hvipe_fallback/delete"), 0);
	assert_int_equal(file_size(f->dir, "ipe/policies/hvipe/delete"), 0);
	/* the result names the active policy and its digest as the directory shows them */
	assert_string_equal(res.active.name, "hvipe");
	assert_string_equal(res.active.version, "1.0.2");
	assert_memory_equal(res.active.digest, md, 32);
	/* the floor is recorded */
	assert_int_equal(ga_floor_load(f->state, "hvipe", floor), 0);
	assert_int_equal(floor[2], 2);
	free(blob);
}

/* Without a kernel acting on the write, the agent does not claim success. */
static void test_update_unconfirmed(void **state)
{
	struct fx *f = *state;
	struct ga_apply_result res;
	uint8_t *blob;
	size_t n;
	uint16_t floor[3];

	load(FX "guestd/hvipe-1.0.2.p7s", &blob, &n);
	struct ga_apply_req req = {.blob = blob, .len = n, .activate = true};

	assert_int_equal(ga_policy_apply(f->dir, f->state, &req, &res), 0);
	file_eq(f->dir, "ipe/policies/hvipe/update", blob, n);
	assert_int_equal(res.err, EIO);
	assert_string_equal(res.step, "update");
	assert_non_null(strstr(res.reason, "does not show"));
	/* nothing activated or deleted, no floor recorded */
	assert_int_equal(file_size(f->dir, "ipe/policies/boot/delete"), 0);
	assert_int_equal(ga_floor_load(f->state, "hvipe", floor), -ENOENT);
	assert_string_equal(res.active.version, "1.0.1");
	free(blob);
}

/* A name that is not loaded goes to new_policy; the directory, not being the
 * kernel, creates no policies/<name>/, so the load is not confirmed. */
static void test_new_policy(void **state)
{
	struct fx *f = *state;
	struct ga_apply_result res;
	char p[512];
	uint8_t *blob;
	size_t n;

	snprintf(p, sizeof(p), "rm -rf %s/ipe/policies/hvipe", f->dir);
	assert_int_equal(system(p), 0);
	load(FX "guestd/hvipe-1.0.1.p7s", &blob, &n);
	struct ga_apply_req req = {.blob = blob, .len = n, .activate = true};

	assert_int_equal(ga_policy_apply(f->dir, f->state, &req, &res), 0);
	file_eq(f->dir, "ipe/new_policy", blob, n);
	assert_int_equal(res.err, EIO);
	assert_string_equal(res.step, "load");
	assert_string_equal(res.name, "hvipe");
	assert_string_equal(res.version, "1.0.1");
	/* nothing deleted after a failed activation */
	assert_int_equal(file_size(f->dir, "ipe/policies/boot/delete"), 0);
	free(blob);
}

/* The same blob already loaded (resent after a reconnect): activate only. */
static void test_same_blob_activates_only(void **state)
{
	struct fx *f = *state;
	struct ga_apply_result res;
	uint8_t *blob;
	size_t n;
	char p[512];

	snprintf(p, sizeof(p), "printf 0 > %s/ipe/policies/hvipe/active", f->dir);
	assert_int_equal(system(p), 0);
	load(FX "guestd/hvipe-1.0.1.p7s", &blob, &n);
	struct ga_apply_req req = {.blob = blob, .len = n, .activate = true};

	assert_int_equal(ga_policy_apply(f->dir, f->state, &req, &res), 0);
	assert_int_equal(res.err, 0);
	assert_int_equal(file_size(f->dir, "ipe/policies/hvipe/update"), 0);
	assert_int_equal(file_size(f->dir, "ipe/new_policy"), 0);
	file_eq(f->dir, "ipe/policies/hvipe/active", "1", 1);
	free(blob);
}

/* Local refusals write nothing. */
static void test_local_refusals(void **state)
{
	struct fx *f = *state;
	struct ga_apply_result res;
	uint8_t *blob, md[32];
	size_t n;
	char p[512];

	load(FX "guestd/hvipe-1.0.2.p7s", &blob, &n);
	digest(blob, n, md);
	md[0] ^= 1;
	struct ga_apply_req req = {.blob = blob, .len = n, .digest = md, .activate = true};

	assert_int_equal(ga_policy_apply(f->dir, f->state, &req, &res), 0);
	assert_int_equal(res.err, EBADMSG);
	assert_string_equal(res.step, "verify");
	assert_non_null(strstr(res.reason, "digest"));

	md[0] ^= 1;
	req.name = "other";
	assert_int_equal(ga_policy_apply(f->dir, f->state, &req, &res), 0);
	assert_int_equal(res.err, EINVAL);
	assert_string_equal(res.step, "verify");
	req.name = "hvipe";
	req.version = "1.0.3";
	assert_int_equal(ga_policy_apply(f->dir, f->state, &req, &res), 0);
	assert_int_equal(res.err, EINVAL);
	req.version = NULL;

	/* rollback floor from an earlier boot */
	snprintf(p, sizeof(p), "printf 1.0.5 > %s/floor.hvipe", f->state);
	assert_int_equal(system(p), 0);
	assert_int_equal(ga_policy_apply(f->dir, f->state, &req, &res), 0);
	assert_int_equal(res.err, ESTALE);
	assert_string_equal(res.step, "verify");

	/* not PKCS#7 */
	req.blob = (const uint8_t *)"policy_name=hvipe policy_version=9.9.9\n";
	req.len = strlen((const char *)req.blob);
	req.digest = NULL;
	assert_int_equal(ga_policy_apply(f->dir, f->state, &req, &res), 0);
	assert_int_equal(res.err, EBADMSG);

	assert_int_equal(file_size(f->dir, "ipe/policies/hvipe/update"), 0);
	assert_int_equal(file_size(f->dir, "ipe/new_policy"), 0);
	assert_int_equal(file_size(f->dir, "ipe/policies/boot/delete"), 0);
	free(blob);
}

/* A write error comes back as the errno at its step. */
static void test_write_error_passes_errno(void **state)
{
	struct fx *f = *state;
	struct ga_apply_result res;
	uint8_t *blob;
	size_t n;
	char p[512];

	snprintf(p, sizeof(p),
	         "rm %s/ipe/policies/hvipe/update && mkdir %s/ipe/policies/hvipe/update", f->dir,
	         f->dir);
	assert_int_equal(system(p), 0);
	load(FX "guestd/hvipe-1.0.2.p7s", &blob, &n);
	struct ga_apply_req req = {.blob = blob, .len = n, .activate = true};

	assert_int_equal(ga_policy_apply(f->dir, f->state, &req, &res), 0);
	assert_int_equal(res.err, EISDIR);
	assert_string_equal(res.step, "update");
	/* still active: the old one */
	assert_string_equal(res.active.name, "hvipe");
	assert_string_equal(res.active.version, "1.0.1");
	free(blob);
}

static void test_no_ipe(void **state)
{
	struct ga_apply_result res;
	uint8_t *blob;
	size_t n;

	load(FX "guestd/hvipe-1.0.2.p7s", &blob, &n);
	struct ga_apply_req req = {.blob = blob, .len = n, .activate = true};

	assert_int_equal(ga_policy_apply(FX "securityfs-noipe", NULL, &req, &res), 0);
	assert_int_equal(res.err, ENOENT);
	free(blob);
}

static void test_blob_header(void **state)
{
	char name[32], ver[32];
	uint8_t *blob;
	size_t n;

	load(FX "guestd/fb.p7s", &blob, &n);
	assert_int_equal(ga_blob_header(blob, n, name, sizeof(name), ver, sizeof(ver)), 0);
	assert_string_equal(name, "hvipe_fallback");
	assert_string_equal(ver, "0.0.1");
	assert_int_equal(ga_blob_header(blob, n, name, 4, ver, sizeof(ver)), -ENAMETOOLONG);
	assert_int_equal(ga_blob_header(blob, n - 1, name, sizeof(name), ver, sizeof(ver)),
	                 -EBADMSG);
	free(blob);
}

static void test_versions(void **state)
{
	static const struct {
		const char *s;
		int err;
	} cases[] = {
	        {"1.0.1", 0},      {"65535.65535.65535", 0}, {"007.0.0", 0},
	        {"1.0", -EINVAL},  {"1.0.0.0", -EINVAL},     {"65536.0.0", -EINVAL},
	        {"1..0", -EINVAL}, {"-1.0.0", -EINVAL},      {"0x1.0.0", -EINVAL},
	        {"", -EINVAL},
	};
	uint16_t a[3], b[3];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(ga_version_parse(cases[i].s, a), cases[i].err);
	assert_int_equal(ga_version_parse("6.8.28", a), 0);
	assert_int_equal(ga_version_parse("6.8.123", b), 0);
	assert_true(ga_version_cmp(a, b) < 0); /* numeric, not lexical */
	assert_int_equal(ga_version_cmp(b, b), 0);
}

static void test_errno_reasons(void **state)
{
	static const struct {
		int err;
		const char *step, *needle;
	} cases[] = {
	        {EEXIST, "load", "already loaded"},
	        {ESTALE, "update", "rollback"},
	        {EKEYREJECTED, "load", "signed attributes"},
	        {ENOKEY, "load", "keyrings"},
	        {EBADMSG, "load", "PKCS#7"},
	        {EMSGSIZE, "load", "65535"},
	        {EINVAL, "update", "name differs"},
	        {EINVAL, "activate", "lower than the active"},
	        {EPERM, "load", "CAP_MAC_ADMIN"},
	        {EPERM, "delete", "is active"},
	        {EACCES, "load", "'/'"},
	        {ENAMETOOLONG, "load", "255"},
	        {ENOENT, "activate", "not found"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_non_null(
		        strstr(ga_errno_reason(cases[i].err, cases[i].step), cases[i].needle));
}

static void test_floor_monotonic(void **state)
{
	struct fx *f = *state;
	uint16_t v[3];

	assert_int_equal(ga_floor_load(f->state, "hvipe", v), -ENOENT);
	assert_int_equal(ga_floor_store(f->state, "hvipe", "1.0.7"), 0);
	assert_int_equal(ga_floor_store(f->state, "hvipe", "1.0.3"), 0); /* never lowered */
	assert_int_equal(ga_floor_load(f->state, "hvipe", v), 0);
	assert_int_equal(v[2], 7);
	assert_int_equal(ga_floor_store(f->state, "../x", "1.0.3"), -EINVAL);
}

static void test_addr_cmdline(void **state)
{
	struct ga_addr a;
	struct ga_cmdline c;
	const char *cl = "console=ttyS0 hvipe.port=5000 hvipe.fail=closed quiet\n";

	assert_int_equal(ga_addr_parse("unix:/tmp/x_4730", &a), 0);
	assert_true(a.is_unix);
	assert_string_equal(a.path, "/tmp/x_4730");
	assert_int_equal(ga_addr_parse("vsock:2:4730", &a), 0);
	assert_false(a.is_unix);
	assert_int_equal(a.cid, 2);
	assert_int_equal(a.port, 4730);
	assert_int_equal(ga_addr_parse("vsock:2", &a), -EINVAL);
	assert_int_equal(ga_addr_parse("vsock:x:1", &a), -EINVAL);
	assert_int_equal(ga_addr_parse("vsock:2:99999999999", &a), -EINVAL);
	assert_int_equal(ga_addr_parse("tcp:1.2.3.4:5", &a), -EINVAL);
	assert_int_equal(ga_addr_parse("unix:", &a), -EINVAL);

	assert_int_equal(ga_cmdline_parse(cl, strlen(cl), &c), 0);
	assert_int_equal(c.port, 5000);
	assert_true(c.fail_closed);
	assert_int_equal(ga_cmdline_parse("quiet", 5, &c), 0);
	assert_int_equal(c.port, 4730);
	assert_false(c.fail_closed);
	assert_int_equal(ga_cmdline_parse("hvipe.port=abc", 14, &c), -EINVAL);
	assert_int_equal(ga_cmdline_parse("hvipe.port=0", 12, &c), -EINVAL);
}

static void test_connect_errors(void **state)
{
	struct ga_addr a;

	assert_int_equal(ga_addr_parse("unix:/tmp/hvipe-guestd-no-such-socket", &a), 0);
	assert_int_equal(ga_connect(&a, 1000), -ENOENT);

	/* vsock to a port nobody serves fails with an errno, whether or not this
	 * machine has vsock at all (-ENODEV then); it never returns a socket. */
	assert_int_equal(ga_addr_parse("vsock:2:1", &a), 0);
	int r = ga_connect(&a, 2000);

	print_message("vsock:2:1 -> %d\n", r);
	assert_true(r < 0);
	assert_true(r != -EINVAL);
}

static void test_backoff(void **state)
{
	struct ga_backoff b;
	uint32_t step = 100;
	bool reached_cap = false;

	ga_backoff_init(&b, 5000, 42);
	for (int i = 0; i < 40; i++) {
		uint32_t d = ga_backoff_next(&b);

		assert_true(d >= step / 2 && d <= step);
		assert_true(d <= 5000);
		reached_cap |= step == 5000;
		step = step >= 2500 ? 5000 : step * 2;
	}
	assert_true(reached_cap);
	ga_backoff_reset(&b);
	assert_true(ga_backoff_next(&b) <= 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_update_loaded, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_update_unconfirmed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_new_policy, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_same_blob_activates_only, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_local_refusals, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_error_passes_errno, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_floor_monotonic, setup, teardown),
	        cmocka_unit_test(test_no_ipe),
	        cmocka_unit_test(test_blob_header),
	        cmocka_unit_test(test_versions),
	        cmocka_unit_test(test_errno_reasons),
	        cmocka_unit_test(test_addr_cmdline),
	        cmocka_unit_test(test_connect_errors),
	        cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests_name("guestd_apply", tests, NULL, NULL);
}
