/* SPDX-License-Identifier: Apache-2.0 */
/* The host's check of guard program tags (guest/guard/tags.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../guest/guard/tags.h"

static const char good_file[] = "# hvipe guard program tags\n"
                                "\n"
                                "51e5bcbd2b25c3a6 guard_task_kill\n"
                                "0123456789abcdef guard_file_open\n"
                                "fedcba9876543210\n";

static void parse_good(void **state)
{
	struct hv_guard_tags t;

	assert_int_equal(hv_guard_tags_parse(good_file, strlen(good_file), &t), 0);
	assert_int_equal(t.n, 3);
	/* sorted */
	assert_true(t.tag[0] == 0x0123456789abcdefULL);
	assert_true(t.tag[1] == 0x51e5bcbd2b25c3a6ULL);
	assert_true(t.tag[2] == 0xfedcba9876543210ULL);
}

struct bad_case {
	const char *text;
	int err;
	const char *why;
};

static const struct bad_case bad_cases[] = {
        {"", -ENODATA, "empty file"},
        {"# only a comment\n\n", -ENODATA, "no program"},
        {"0123456789abcde\n", -EBADMSG, "15 digits"},
        {"0123456789ABCDEF\n", -EBADMSG, "upper case"},
        {"0123456789abcdeg\n", -EBADMSG, "not hex"},
        {"0123456789abcdef0\n", -EBADMSG, "17 digits"},
        {"0123456789abcdef \n", -EBADMSG, "space and no name"},
        {"0123456789abcdef\tname\n", -EBADMSG, "tab separator"},
        {"0123456789abcdef na me\n", -EBADMSG, "space in name"},
        {" 0123456789abcdef\n", -EBADMSG, "leading space"},
        {"0123456789abcdef a\n0123456789abcdef b\n", -EBADMSG, "duplicate tag"},
};

static void parse_bad(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct hv_guard_tags t = {.n = 99};
		int r = hv_guard_tags_parse(bad_cases[i].text, strlen(bad_cases[i].text), &t);

		if (r != bad_cases[i].err)
			fail_msg("%s: got %d, want %d", bad_cases[i].why, r, bad_cases[i].err);
		assert_int_equal(t.n, 99); /* untouched on failure */
	}
}

static void parse_nul_and_caps(void **state)
{
	static const char nul[] = "0123456789abcdef\0\n";
	char big[HV_GUARD_TAGS_FILE_MAX + 2];
	char many[(HV_GUARD_TAGS_MAX + 1) * 17 + 1];
	struct hv_guard_tags t;
	size_t o = 0;

	assert_int_equal(hv_guard_tags_parse(nul, sizeof(nul) - 1, &t), -EBADMSG);
	memset(big, '#', sizeof(big));
	assert_int_equal(hv_guard_tags_parse(big, sizeof(big), &t), -E2BIG);
	for (unsigned int i = 0; i <= HV_GUARD_TAGS_MAX; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "%016x\n", i + 1);
	assert_int_equal(hv_guard_tags_parse(many, o, &t), -E2BIG);
}

static void check_sets(void **state)
{
	struct hv_guard_tags t;
	const char *same[] = {"fedcba9876543210", "0123456789abcdef", "51e5bcbd2b25c3a6"};
	const char *missing[] = {"fedcba9876543210", "0123456789abcdef"};
	const char *extra[] = {"fedcba9876543210", "0123456789abcdef", "51e5bcbd2b25c3a6",
	                       "1111111111111111"};
	const char *changed[] = {"fedcba9876543210", "0123456789abcdef", "51e5bcbd2b25c3a7"};
	const char *twice[] = {"fedcba9876543210", "0123456789abcdef", "0123456789abcdef"};
	const char *garbage[] = {"fedcba9876543210", "0123456789abcdef", "51e5bcbd2b25c3a6x"};
	const char *short_tag[] = {"fedcba9876543210", "0123456789abcdef", "51e5"};
	const char *null_tag[] = {"fedcba9876543210", NULL, "51e5bcbd2b25c3a6"};
	const char *too_many[HV_GUARD_TAGS_MAX + 1];

	assert_int_equal(hv_guard_tags_parse(good_file, strlen(good_file), &t), 0);
	assert_int_equal(hv_guard_tags_check(&t, same, 3), 0);
	assert_int_equal(hv_guard_tags_check(&t, missing, 2), -EPERM);
	assert_int_equal(hv_guard_tags_check(&t, extra, 4), -EPERM);
	assert_int_equal(hv_guard_tags_check(&t, changed, 3), -EPERM);
	assert_int_equal(hv_guard_tags_check(&t, twice, 3), -EPERM);
	assert_int_equal(hv_guard_tags_check(&t, NULL, 0), -EPERM);
	assert_int_equal(hv_guard_tags_check(&t, garbage, 3), -EBADMSG);
	assert_int_equal(hv_guard_tags_check(&t, short_tag, 3), -EBADMSG);
	assert_int_equal(hv_guard_tags_check(&t, null_tag, 3), -EBADMSG);
	for (size_t i = 0; i < HV_GUARD_TAGS_MAX + 1; i++)
		too_many[i] = "0123456789abcdef";
	assert_int_equal(hv_guard_tags_check(&t, too_many, HV_GUARD_TAGS_MAX + 1), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(parse_good),
	        cmocka_unit_test(parse_bad),
	        cmocka_unit_test(parse_nul_and_caps),
	        cmocka_unit_test(check_sets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
