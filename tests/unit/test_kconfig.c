// SPDX-License-Identifier: Apache-2.0
/* hvipectl kernel check: the .config reader and the requirement table. */
#include "../../host/ctl/kconfig.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* A config with every requirement satisfied. */
static size_t good_config(char *buf, size_t size)
{
	size_t off = 0;

	for (const struct kconfig_req *r = kconfig_reqs; r->option; r++) {
		if (r->need == KCONFIG_LSM_LIST)
			continue;
		off += (size_t)snprintf(buf + off, size - off, "CONFIG_%s=%s\n", r->option,
		                        r->need == KCONFIG_AVAILABLE ? "m" : "y");
	}
	off += (size_t)snprintf(buf + off, size - off, "CONFIG_LSM=\"lockdown,yama,bpf,ipe\"\n");
	return off;
}

static const struct kconfig_verdict *find(const struct kconfig_verdict *v, int n, const char *opt,
                                          const char *token)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i].req->option, opt) &&
		    (!token || (v[i].req->token && !strcmp(v[i].req->token, token))))
			return &v[i];
	return NULL;
}

static void test_all_present(void **state)
{
	char cfg[8192];
	struct kconfig_verdict v[KCONFIG_MAX_REQS];
	size_t len = good_config(cfg, sizeof(cfg));
	int n = kconfig_check(cfg, len, v, KCONFIG_MAX_REQS);

	assert_int_equal(n, (int)kconfig_nreqs());
	for (int i = 0; i < n; i++)
		if (v[i].state != KCONFIG_OK)
			fail_msg("CONFIG_%s not ok", v[i].req->option);
}

/* Replace the line starting with @from by @to and check one requirement. */
static void expect(const char *from, const char *to, const char *opt, const char *token,
                   enum kconfig_state want)
{
	char cfg[8192], out[8192];
	struct kconfig_verdict v[KCONFIG_MAX_REQS];
	size_t len = good_config(cfg, sizeof(cfg));
	char *at = strstr(cfg, from);

	assert_non_null(at);

	char *eol = strchr(at, '\n');

	snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - cfg), cfg, to, eol);
	len = strlen(out);

	int n = kconfig_check(out, len, v, KCONFIG_MAX_REQS);

	assert_true(n > 0);

	const struct kconfig_verdict *r = find(v, n, opt, token);

	assert_non_null(r);
	if (r->state != want)
		fail_msg("%s -> %s: CONFIG_%s state %d, want %d", from, to, opt, r->state, want);

	int bad = 0;

	for (int i = 0; i < n; i++)
		bad += v[i].state != KCONFIG_OK;
	assert_int_equal(bad, want == KCONFIG_OK ? 0 : 1);
}

static void test_each_kind_of_miss(void **state)
{
	expect("CONFIG_SECURITY_IPE=y", "# CONFIG_SECURITY_IPE is not set", "SECURITY_IPE", NULL,
	       KCONFIG_MISSING);
	expect("CONFIG_SECURITY_IPE=y", "", "SECURITY_IPE", NULL, KCONFIG_MISSING);
	expect("CONFIG_BPF_LSM=y", "CONFIG_BPF_LSM=m", "BPF_LSM", NULL, KCONFIG_WRONG);
	expect("CONFIG_DM_VERITY=m", "CONFIG_DM_VERITY=y", "DM_VERITY", NULL, KCONFIG_OK);
	expect("CONFIG_DM_VERITY=m", "CONFIG_DM_VERITY=n", "DM_VERITY", NULL, KCONFIG_WRONG);
	expect("CONFIG_LSM=", "CONFIG_LSM=\"lockdown,yama,bpf\"", "LSM", "ipe", KCONFIG_NO_TOKEN);
	expect("CONFIG_LSM=", "CONFIG_LSM=\"lockdown,ipe2,bpf\"", "LSM", "ipe", KCONFIG_NO_TOKEN);
	expect("CONFIG_LSM=", "CONFIG_LSM=\"ipe\"", "LSM", "bpf", KCONFIG_NO_TOKEN);
	/* a name that only starts like a required one does not count */
	expect("CONFIG_AUDIT=y", "CONFIG_AUDITSYSCALL=y", "AUDIT", NULL, KCONFIG_MISSING);
}

static void test_later_line_wins(void **state)
{
	const char cfg[] = "CONFIG_AUDIT=y\n# CONFIG_AUDIT is not set\n";
	struct kconfig_verdict v[KCONFIG_MAX_REQS];
	int n = kconfig_check(cfg, sizeof(cfg) - 1, v, KCONFIG_MAX_REQS);

	assert_int_equal(find(v, n, "AUDIT", NULL)->state, KCONFIG_MISSING);
}

static void test_hostile_input(void **state)
{
	struct kconfig_verdict v[KCONFIG_MAX_REQS];
	static char line[KCONFIG_MAX_LINE + 2];

	assert_int_equal(kconfig_check("CONFIG_AUDIT=y\0\n", 16, v, KCONFIG_MAX_REQS), -EBADMSG);
	memset(line, 'a', sizeof(line) - 1);
	assert_int_equal(kconfig_check(line, sizeof(line) - 1, v, KCONFIG_MAX_REQS), -EBADMSG);
	assert_int_equal(kconfig_check("", KCONFIG_MAX_FILE + 1, v, KCONFIG_MAX_REQS), -E2BIG);
	assert_int_equal(kconfig_check("", 0, v, 1), -ENOBUFS);
	/* an empty file: everything is missing, nothing crashes */
	assert_int_equal(kconfig_check("", 0, v, KCONFIG_MAX_REQS), (int)kconfig_nreqs());
	assert_int_equal(v[0].state, KCONFIG_MISSING);
	/* a control byte in a value is reported as '?' */
	assert_int_equal(kconfig_check("CONFIG_AUDIT=\x01\n", 15, v, KCONFIG_MAX_REQS),
	                 (int)kconfig_nreqs());
	assert_string_equal(find(v, (int)kconfig_nreqs(), "AUDIT", NULL)->found, "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_all_present),
	        cmocka_unit_test(test_each_kind_of_miss),
	        cmocka_unit_test(test_later_line_wins),
	        cmocka_unit_test(test_hostile_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
