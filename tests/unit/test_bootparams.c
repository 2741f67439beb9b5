// SPDX-License-Identifier: Apache-2.0
/* The initramfs init's parsers: kernel command line and verity geometry. */
#include "../../guest/initramfs/bootparams.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int parse(const char *s, struct boot_cmdline *c)
{
	return boot_parse_cmdline(s, strlen(s), c);
}

static void test_cmdline_good(void **state)
{
	struct boot_cmdline c;

	assert_int_equal(parse("console=ttyS0 hvipe.roothash=" H64 " hvipe.fail=closed "
	                       "hvipe.port=5000 hvipe.checks=1 hvipe.deadline_ms=8000\n",
	                       &c),
	                 0);
	assert_string_equal(c.roothash, H64);
	assert_true(c.fail_closed);
	assert_int_equal(c.port, 5000);
	assert_true(c.checks);
	assert_int_equal(c.deadline_ms, 8000);

	assert_int_equal(parse("quiet hvipe.roothashx=1 root=/dev/vda", &c), 0);
	assert_string_equal(c.roothash, "");
	assert_false(c.fail_closed);
	assert_int_equal(c.deadline_ms, 0);
	/* the last value wins, as for kernel parameters */
	assert_int_equal(parse("hvipe.fail=closed hvipe.fail=open", &c), 0);
	assert_false(c.fail_closed);
}

static void test_cmdline_bad(void **state)
{
	static const struct {
		const char *in;
		int err;
		const char *why;
	} t[] = {
	        {"hvipe.roothash=" H64 "G", -EBADMSG, "odd length and non-hex"},
	        {"hvipe.roothash=0123456789ABCDEF0123456789ABCDEF", -EBADMSG, "upper case"},
	        {"hvipe.roothash=abcd", -EBADMSG, "too short for a digest"},
	        {"hvipe.roothash=" H64 H64 "00", -E2BIG, "longer than sha512"},
	        {"hvipe.fail=maybe", -EBADMSG, "unknown fail mode"},
	        {"hvipe.fail=", -EBADMSG, "empty fail mode"},
	        {"hvipe.port=0", -EBADMSG, "port zero"},
	        {"hvipe.port=4294967296", -EBADMSG, "port beyond 32 bits"},
	        {"hvipe.port=12a", -EBADMSG, "port not a number"},
	        {"hvipe.deadline_ms=3600001", -EBADMSG, "deadline over an hour"},
	        {"hvipe.deadline_ms=0", -EBADMSG, "zero deadline"},
	        {"hvipe.checks=2", -EBADMSG, "checks is a boolean"},
	};
	struct boot_cmdline c;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r = parse(t[i].in, &c);

		if (r != t[i].err)
			fail_msg("%s: got %d, want %d (%s)", t[i].in, r, t[i].err, t[i].why);
	}
	assert_int_equal(boot_parse_cmdline("a\0b", 3, &c), -EBADMSG);

	static char big[BP_MAX_CMDLINE + 2];

	memset(big, 'a', sizeof(big) - 1);
	assert_int_equal(parse(big, &c), -E2BIG);
}

#define VCONF                                                                                      \
	"data_device=/dev/vda\nhash_device=/dev/vdb\nhash_algorithm=sha256\nsalt=00ff\n"           \
	"data_block_size=4096\nhash_block_size=4096\ndata_blocks=2850\nhash_start=0\n"

static void test_verity_conf_good(void **state)
{
	struct verity_conf vc;
	char p[512];

	assert_int_equal(boot_parse_verity_conf(VCONF, strlen(VCONF), &vc), 0);
	assert_string_equal(vc.data_dev, "/dev/vda");
	assert_int_equal(vc.data_blocks, 2850);
	int n = boot_verity_params(&vc, H64, "k", p, sizeof(p));

	assert_int_equal(n, (int)strlen(p));
	assert_string_equal(p, "1 /dev/vda /dev/vdb 4096 4096 2850 0 sha256 " H64
	                       " 00ff 2 root_hash_sig_key_desc k");
	assert_true(boot_verity_params(&vc, H64, NULL, p, sizeof(p)) > 0);
	assert_null(strstr(p, "root_hash_sig_key_desc"));
	assert_int_equal(boot_verity_params(&vc, H64, "k", p, 20), -ENOBUFS);
}

static void test_verity_conf_bad(void **state)
{
	static const struct {
		const char *from, *to, *why;
	} t[] = {
	        {"data_device=/dev/vda", "data_device=/tmp/vda", "device outside /dev"},
	        {"data_device=/dev/vda", "data_device=/dev/../etc/x", "dot-dot"},
	        {"data_device=/dev/vda", "data_device=/dev/v da", "space in the path"},
	        {"hash_algorithm=sha256", "hash_algorithm=md5", "algorithm not allowed"},
	        {"salt=00ff", "salt=0ff", "odd salt"},
	        {"salt=00ff", "salt=00FF", "upper-case salt"},
	        {"data_block_size=4096", "data_block_size=4095", "not a power of two"},
	        {"data_block_size=4096", "data_block_size=256", "below 512"},
	        {"hash_block_size=4096", "hash_block_size=131072", "above 64 KiB"},
	        {"data_blocks=2850", "data_blocks=0", "empty device"},
	        {"data_blocks=2850", "data_blocks=99999999999999999999", "overflow"},
	        {"hash_start=0", "hash_start=-1", "negative"},
	        {"hash_start=0\n", "", "missing key"},
	        {"salt=00ff\n", "salt=00ff\nsalt=00ff\n", "repeated key"},
	        {"salt=00ff\n", "salt=00ff\nroot=x\n", "unknown key"},
	        {"salt=00ff\n", "salt=00ff\nnoequals\n", "line without '='"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char buf[1024];
		const char *at = strstr(VCONF, t[i].from);
		struct verity_conf vc;

		assert_non_null(at);
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - VCONF), VCONF, t[i].to,
		         at + strlen(t[i].from));
		if (boot_parse_verity_conf(buf, strlen(buf), &vc) == 0)
			fail_msg("accepted: %s", t[i].why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cmdline_good),
	        cmocka_unit_test(test_cmdline_bad),
	        cmocka_unit_test(test_verity_conf_good),
	        cmocka_unit_test(test_verity_conf_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
