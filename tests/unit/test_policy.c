/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The IPE policy parser against the kernel's verdicts (reference/ipe.md §1,
 * §9.1, §9.2): a table of {text, errno, line, why}, round trips through the
 * formatter, lint, versions and deployment checks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "policy/policy.h"

#define H   "policy_name=x policy_version=0.0.0\n"
#define HA  H "DEFAULT action=ALLOW\n"
#define D64 "8334c576cd8cea57e79b8b48c7161df36ea465222e9b7b1a660e11e3443f4896"
#define ALL7                                                                                       \
	"DEFAULT op=EXECUTE action=DENY\nDEFAULT op=FIRMWARE action=ALLOW\n"                       \
	"DEFAULT op=KMODULE action=DENY\nDEFAULT op=KEXEC_IMAGE action=DENY\n"                     \
	"DEFAULT op=KEXEC_INITRAMFS action=DENY\nDEFAULT op=POLICY action=ALLOW\n"                 \
	"DEFAULT op=X509_CERT action=ALLOW\n"

#define LIT_LEN(s) (sizeof(s) - 1)

struct row {
	const char *text;
	size_t len; /* 0: strlen(text) */
	int err;    /* positive errno, 0 = accepted */
	unsigned line;
	const char *why;
};

/* clang-format off */
static const struct row rows[] = {
	/* §9.1 accepted */
	{"policy_name=AllowAll policy_version=0.0.1\nDEFAULT action=ALLOW\n", 0, 0, 0, "A1 allow-all"},
	{"policy_name=boot_initramfs policy_version=1.0.0\nDEFAULT action=ALLOW\n"
	 "DEFAULT op=EXECUTE action=DENY\nDEFAULT op=KMODULE action=DENY\n"
	 "op=EXECUTE boot_verified=TRUE action=ALLOW\nop=KMODULE boot_verified=TRUE action=ALLOW\n",
	 0, 0, 0, "A2 early boot"},
	{"policy_name=verity_root policy_version=2.3.4\nDEFAULT action=DENY\n"
	 "op=EXECUTE dmverity_roothash=sha256:" D64 " action=DENY\n"
	 "op=EXECUTE dmverity_signature=TRUE action=ALLOW\nop=KMODULE dmverity_signature=TRUE action=ALLOW\n"
	 "op=FIRMWARE dmverity_signature=TRUE action=ALLOW\n", 0, 0, 0, "A3 verity root"},
	{"policy_name=all_ops policy_version=0.1.0\n" ALL7
	 "op=EXECUTE fsverity_signature=TRUE action=ALLOW\nop=KMODULE fsverity_signature=TRUE action=ALLOW\n",
	 0, 0, 0, "A4 seven per-op defaults"},
	{"# comments may precede the header\r\n"
	 "   policy_name=fsv_list   policy_version=65535.65535.65535   # max version\r\n"
	 "DEFAULT action=ALLOW\r\nDEFAULT\top=EXECUTE\taction=DENY\r\n"
	 "op=EXECUTE fsverity_digest=sha256:1B9DE7FC4E4BD9F2AB6F5E93097926F9A8CE5E2839AB81BAB7D5075D6621562A action=ALLOW\r\n",
	 0, 0, 0, "A5 whitespace, comments, CRLF, upper-case hex"},
	{"policy_name=Prod-Policy_v2.bin policy_version=+01.007.0\nDEFAULT action=ALLOW\nop=KEXEC_IMAGE action=DENY\n",
	 0, 0, 0, "A6 '+' and leading zeros, rule without properties"},
	{"policy_name=odd policy_version=0.0.0\nDEFAULT action=ALLOW\n"
	 "op=EXECUTE dmverity_roothash=sha256: action=DENY\nop=EXECUTE dmverity_roothash=md5:00 action=DENY\n"
	 "op=EXECUTE fsverity_digest=SHA256:bb31d3b3 action=DENY\n"
	 "op=EXECUTE boot_verified=TRUE boot_verified=FALSE action=DENY\n", 0, 0, 0, "A7 never-matching rules"},
	{"policy_name=t policy_version=0.0.0\nDEFAULT action=DENY\n\0op=EXECUTE garbage",
	 LIT_LEN("policy_name=t policy_version=0.0.0\nDEFAULT action=DENY\n\0op=EXECUTE garbage"), 0, 0,
	 "A8 NUL truncates the text"},
	/* §9.2 rejected */
	{"DEFAULT action=ALLOW\n", 0, EBADMSG, 1, "R1 first line is the header"},
	{"policy_version=1.0.0 policy_name=x\nDEFAULT action=ALLOW\n", 0, EBADMSG, 1, "R2 header order"},
	{"policy_name=x policy_version=1.0\nDEFAULT action=ALLOW\n", 0, EBADMSG, 1, "R3 two components"},
	{"policy_name=x policy_version=1.0.0.0\nDEFAULT action=ALLOW\n", 0, EBADMSG, 1, "R4 four components"},
	{"policy_name=x policy_version=65536.0.0\nDEFAULT action=ALLOW\n", 0, ERANGE, 1, "R5 over u16"},
	{"policy_name=x policy_version=-1.0.0\nDEFAULT action=ALLOW\n", 0, EINVAL, 1, "R6 sign"},
	{"policy_name=x policy_version=1..0\nDEFAULT action=ALLOW\n", 0, EINVAL, 1, "R7 empty component"},
	{"policy_name=x policy_version=0x1.0.0\nDEFAULT action=ALLOW\n", 0, EINVAL, 1, "R8 hex"},
	{H "DEFAULT op=EXECUTE action=DENY\n", 0, EBADMSG, 0, "R9 six ops lack a DEFAULT"},
	{HA "DEFAULT action=DENY\n", 0, EBADMSG, 3, "R10 second global DEFAULT"},
	{HA "DEFAULT op=KMODULE boot_verified=TRUE action=DENY\n", 0, EBADMSG, 3, "R11 DEFAULT with property"},
	{HA "op=execute action=DENY\n", 0, EBADMSG, 3, "R12 op is case-sensitive"},
	{HA "op=EXECUTE boot_verified=true action=ALLOW\n", 0, EBADMSG, 3, "R13 TRUE is case-sensitive"},
	{HA "op=EXECUTE action=ALLOW boot_verified=TRUE\n", 0, EBADMSG, 3, "R14 action not last"},
	{HA "boot_verified=TRUE op=EXECUTE action=ALLOW\n", 0, EBADMSG, 3, "R15 property before op"},
	{HA "op=EXECUTE fsverity_digest=" D64 " action=DENY\n", 0, EBADMSG, 3, "R16 digest without alg:"},
	{HA "op=EXECUTE fsverity_digest=sha256:abc action=DENY\n", 0, EINVAL, 3, "R17 odd hex"},
	{HA "op=EXECUTE dmverity_roothash=sha256:zz action=DENY\n", 0, EINVAL, 3, "R18 non-hex"},
	{HA "op = EXECUTE action=ALLOW\n", 0, EBADMSG, 3, "R19 spaces around ="},
	{H "policy_name=x policy_version=0.1.0\nDEFAULT action=ALLOW\n", 0, EBADMSG, 2, "R20 second header"},
	{"policy_name=x policy_version=0.0.0 DEFAULT action=ALLOW\n", 0, EBADMSG, 1, "R21 extra header tokens"},
	{HA "op=READ action=DENY\n", 0, EBADMSG, 3, "R22 op not in 6.12"},
	{HA "op=EXECUTE anonymous_memory=TRUE action=DENY\n", 0, EBADMSG, 3, "R23 property not in 6.12"},
	{"# only a comment\n", 0, EBADMSG, 0, "R24 no header"},
	{H "DEFAULT op=EXECUTE action\n", 0, EBADMSG, 2, "R25 incomplete action"},
	{HA "op=EXECUTE\n", 0, EBADMSG, 3, "R26 single-token line"},
	{H "DEFAULT op=EXECUTE fsverity_digest=sha256:abc action=DENY\n", 0, EINVAL, 2,
	 "R27 digest parsed before the DEFAULT-has-properties check"},
	{"\xEF\xBB\xBFpolicy_name=x policy_version=0.0.0\nDEFAULT action=ALLOW\n", 0, EBADMSG, 1, "R28 UTF-8 BOM"},
	/* bytes to lines */
	{"", 0, EBADMSG, 0, "empty text"},
	{"\0policy_name=x policy_version=0.0.0\nDEFAULT action=ALLOW\n",
	 LIT_LEN("\0policy_name=x policy_version=0.0.0\nDEFAULT action=ALLOW\n"), EBADMSG, 0, "NUL first: nothing left"},
	{"\n\n   \t\n# c\n", 0, EBADMSG, 0, "only blank and comment lines"},
	{"policy_name=x policy_version=0.0.0\rDEFAULT action=ALLOW\r", 0, 0, 0, "lone CR is a line break"},
	{"policy_name=x policy_version=0.0.0\n\n\n\nDEFAULT action=ALLOW", 0, 0, 0, "blank lines, no final LF"},
	{"policy_name=x policy_version=0.0.0 \t \v\f\nDEFAULT action=ALLOW\xA0\n", 0, 0, 0,
	 "trailing isspace() incl. VT, FF, 0xA0 stripped"},
	{"policy_name=x policy_version=0.0.0\nDEFAULT action=ALLOW\xA0x\n", 0, EBADMSG, 2,
	 "0xA0 inside a line is part of a token"},
	{"policy_name=x policy_version=0.0.0\nDEFAULT\vaction=ALLOW\n", 0, EBADMSG, 2,
	 "VT does not separate tokens"},
	{"policy_name=x#y policy_version=0.0.0\nDEFAULT action=ALLOW\n", 0, EBADMSG, 1,
	 "# cuts the header after the name"},
	{"policy_name=x policy_version=0.0.0#c\nDEFAULT action=ALLOW#c\n", 0, 0, 0, "# glued to tokens"},
	{HA "op=EXECUTE fsverity_digest=sha256:ab#cd action=DENY\n", 0, EBADMSG, 3,
	 "# cuts the rule before its action"},
	{"policy_name=x policy_version=0.0.0\nDEFAULT action=ALLOW\n\0DEFAULT action=DENY\n",
	 LIT_LEN("policy_name=x policy_version=0.0.0\nDEFAULT action=ALLOW\n\0DEFAULT action=DENY\n"), 0, 0,
	 "duplicate DEFAULT after NUL is ignored"},
	{"\tpolicy_name=x\t\tpolicy_version=0.0.0\n  DEFAULT   action=DENY  \n", 0, 0, 0, "leading tabs and spaces"},
	/* header */
	{"policy_name= policy_version=0.0.0\nDEFAULT action=ALLOW\n", 0, EBADMSG, 1, "empty name"},
	{"policy_name=x\nDEFAULT action=ALLOW\n", 0, EBADMSG, 1, "missing version"},
	{"policy_name=x policy_version=\nDEFAULT action=ALLOW\n", 0, EBADMSG, 1, "empty version token"},
	{"policy_name=$@!*&^%%\\:;{}() policy_version=0.0.0\nDEFAULT action=ALLOW\n", 0, 0, 0, "odd name bytes"},
	{"policy_name=test\xFF\xEF policy_version=0.0.0\nDEFAULT action=ALLOW\n", 0, 0, 0, "non-UTF-8 name"},
	{"Policy_name=x policy_version=0.0.0\nDEFAULT action=ALLOW\n", 0, EBADMSG, 1, "header keyword case"},
	{"policy_name=x policy_version=0.0.0 policy_version=0.0.1\nDEFAULT action=ALLOW\n", 0, EBADMSG, 1,
	 "repeated version"},
	{"policy_name=x policy_version=0.0.0 extra\n", 0, EBADMSG, 1, "third token before end checks"},
	{"policy_name=x policy_version=99999.0.0 extra\nDEFAULT action=ALLOW\n", 0, ERANGE, 1,
	 "version error before the third-token check"},
	/* version: kstrtou16 and component count precedence */
	{"policy_name=x policy_version=65535.65535.65535\nDEFAULT action=ALLOW\n", 0, 0, 0, "max version"},
	{"policy_name=x policy_version=0.0.65536\nDEFAULT action=ALLOW\n", 0, ERANGE, 1, "rev over u16"},
	{"policy_name=x policy_version=007.00.0000\nDEFAULT action=ALLOW\n", 0, 0, 0, "leading zeros"},
	{"policy_name=x policy_version=+1.+2.+3\nDEFAULT action=ALLOW\n", 0, 0, 0, "'+' on each component"},
	{"policy_name=x policy_version=++1.0.0\nDEFAULT action=ALLOW\n", 0, EINVAL, 1, "two '+'"},
	{"policy_name=x policy_version=+.0.0\nDEFAULT action=ALLOW\n", 0, EINVAL, 1, "'+' alone"},
	{"policy_name=x policy_version=1.2.\nDEFAULT action=ALLOW\n", 0, EINVAL, 1, "empty third component"},
	{"policy_name=x policy_version=1.2.3.\nDEFAULT action=ALLOW\n", 0, EBADMSG, 1, "fourth component, even empty"},
	{"policy_name=x policy_version=1.2.3.x\nDEFAULT action=ALLOW\n", 0, EBADMSG, 1,
	 "fourth component is not parsed"},
	{"policy_name=x policy_version=1.x\nDEFAULT action=ALLOW\n", 0, EINVAL, 1,
	 "bad component before the count check"},
	{"policy_name=x policy_version=99999.0\nDEFAULT action=ALLOW\n", 0, ERANGE, 1,
	 "range before the count check"},
	{"policy_name=x policy_version=70000x.0.0\nDEFAULT action=ALLOW\n", 0, EINVAL, 1,
	 "trailing garbage beats u16 range"},
	{"policy_name=x policy_version=99999999999999999999999x.0.0\nDEFAULT action=ALLOW\n", 0, ERANGE, 1,
	 "64-bit overflow beats trailing garbage"},
	{"policy_name=x policy_version=18446744073709551615.0.0\nDEFAULT action=ALLOW\n", 0, ERANGE, 1,
	 "fits 64 bits, not 16"},
	{"policy_name=x policy_version=1 .0.0\nDEFAULT action=ALLOW\n", 0, EBADMSG, 1, "space splits the version"},
	{"policy_name=x policy_version=1.0.0\xA0\nDEFAULT action=ALLOW\n", 0, 0, 0, "trailing NBSP stripped"},
	{"policy_name=x policy_version=1.0\xA0.0\nDEFAULT action=ALLOW\n", 0, EINVAL, 1, "NBSP inside version"},
	/* DEFAULT lines */
	{H ALL7, 0, 0, 0, "all seven per-op DEFAULTs"},
	{H ALL7 "DEFAULT action=DENY\n", 0, 0, 0, "global after per-op"},
	{H "DEFAULT op=EXECUTE action=DENY\nDEFAULT op=FIRMWARE action=ALLOW\nDEFAULT op=KMODULE action=DENY\n"
	 "DEFAULT op=KEXEC_IMAGE action=DENY\nDEFAULT op=KEXEC_INITRAMFS action=DENY\nDEFAULT op=POLICY action=ALLOW\n",
	 0, EBADMSG, 0, "X509_CERT lacks a DEFAULT"},
	{HA "DEFAULT op=EXECUTE action=DENY\nDEFAULT op=EXECUTE action=DENY\n", 0, EBADMSG, 4,
	 "duplicate per-op DEFAULT, same action"},
	{HA "op=EXECUTE action=ALLOW\nDEFAULT op=EXECUTE action=DENY\n", 0, 0, 0, "DEFAULT after a rule"},
	{H "DEFAULT\n", 0, EBADMSG, 2, "DEFAULT alone"},
	{H "DEFAULT op=EXECUTE\n", 0, EBADMSG, 2, "DEFAULT without action"},
	{H "DEFAULT DEFAULT action=ALLOW\n", 0, EBADMSG, 2, "DEFAULT twice"},
	{H "DEFAULT op=EXECUTE op=KMODULE action=DENY\n", 0, EBADMSG, 2, "second op= is not a property"},
	{H "DEFAULT action=MAYBE\n", 0, EBADMSG, 2, "unknown action"},
	{H "default action=ALLOW\n", 0, EBADMSG, 2, "DEFAULT is case-sensitive"},
	{H "DEFAULT action=ALLOW\nop=EXECUTE DEFAULT action=DENY\n", 0, EBADMSG, 3, "DEFAULT not first"},
	{H "DEFAULT op=EXECUTE boot_verified=TRUE action=BAD\n", 0, EBADMSG, 2, "action checked before props"},
	/* rules */
	{HA "op=EXECUTE action=DENY\n", 0, 0, 0, "rule without properties"},
	{HA "action=ALLOW\n", 0, EBADMSG, 3, "action alone"},
	{HA "op=EXECUTE op=KMODULE action=DENY\n", 0, EBADMSG, 3, "two ops"},
	{HA "op=EXECUTE boot_verified=TRUE boot_verified=TRUE action=DENY\n", 0, 0, 0, "repeated property"},
	{HA "op=EXECUTE dmverity_signature=FALSE fsverity_signature=FALSE boot_verified=FALSE action=DENY\n",
	 0, 0, 0, "every FALSE form"},
	{HA "op=FIRMWARE action=DENY\nop=KEXEC_INITRAMFS action=DENY\nop=POLICY action=DENY\nop=X509_CERT action=DENY\n",
	 0, 0, 0, "every op"},
	{HA "op=EXECUTE boot_verified=1 action=ALLOW\n", 0, EBADMSG, 3, "boolean 1"},
	{HA "op=EXECUTE dmverity_signature=abc action=ALLOW\n", 0, EBADMSG, 3, "boolean garbage"},
	{HA "op=EXECUTE intended_pathname=/bin action=ALLOW\n", 0, EBADMSG, 3, "out-of-tree property"},
	{HA "op=EXECUTE action=allow\n", 0, EBADMSG, 3, "action case"},
	{HA "op=EXECUTE fsverity_digest=sha256:abc action=BAD\n", 0, EINVAL, 3, "props before action"},
	{HA "op=BAD fsverity_digest=sha256:abc action=ALLOW\n", 0, EBADMSG, 3, "op before props"},
	{HA "op=EXECUTE boot_verified=TRUE action=ALLOW\nop=EXECUTE nope action=ALLOW\n"
	 "policy_name=y policy_version=99999.0.0\n", 0, EBADMSG, 4, "first error in file order wins"},
	{HA "op=EXECUTE fsverity_digest=sha256:abc action=DENY\nop=EXECUTE nope action=ALLOW\n", 0, EINVAL, 3,
	 "first error wins over a later EBADMSG"},
	{H "op=EXECUTE nope action=ALLOW\n", 0, EBADMSG, 2, "line error before missing DEFAULT"},
	/* digests */
	{HA "op=EXECUTE dmverity_roothash=:00 action=DENY\n", 0, 0, 0, "empty algorithm accepted"},
	{HA "op=EXECUTE dmverity_roothash=: action=DENY\n", 0, 0, 0, "empty algorithm and digest"},
	{HA "op=EXECUTE dmverity_roothash= action=DENY\n", 0, EBADMSG, 3, "empty value does not match %s"},
	{HA "op=EXECUTE dmverity_roothash=sha256:ab:cd action=DENY\n", 0, EINVAL, 3, "second ':' is non-hex"},
	{HA "op=EXECUTE dmverity_roothash=a=b%:AbCd action=DENY\n", 0, 0, 0, "any algorithm bytes, mixed case hex"},
	{HA "op=EXECUTE fsverity_digest=sha256:0 action=DENY\n", 0, EINVAL, 3, "one hex digit"},
	{HA "op=EXECUTE fsverity_digest=sha256:g0 action=DENY\n", 0, EINVAL, 3, "g is not hex"},
	{HA "op=EXECUTE fsverity_digest=sha256 action=DENY\n", 0, EBADMSG, 3, "no colon"},
	{HA "op=EXECUTE FSVERITY_DIGEST=sha256:00 action=DENY\n", 0, EBADMSG, 3, "property name case"},
};
/* clang-format on */

static size_t row_len(const struct row *r)
{
	return r->len ? r->len : strlen(r->text);
}

/* Parse, format, parse again: same meaning, and formatting is idempotent. */
static void check_round_trip(const struct hv_policy *p, const char *why)
{
	struct hv_policy *q = NULL, *q2 = NULL;
	struct hv_policy_error e;
	char *f1 = NULL, *f2 = NULL;
	size_t l1, l2;

	assert_int_equal(hv_policy_format(p, &f1, &l1), 0);
	if (hv_policy_parse(f1, l1, &q, &e))
		fail_msg("%s: formatted text refused: %s\n%s", why, e.msg, f1);
	assert_int_equal(hv_policy_compare(p, q), 0);
	assert_int_equal(hv_policy_format(q, &f2, &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(f1, f2, l1);
	assert_int_equal(hv_policy_parse(f2, l2, &q2, &e), 0);
	assert_int_equal(hv_policy_compare(q, q2), 0);
	hv_policy_free(q);
	hv_policy_free(q2);
	free(f1);
	free(f2);
}

static void test_table(void **state)
{
	size_t nrows = sizeof(rows) / sizeof(rows[0]);

	assert_true(nrows >= 80);
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		struct hv_policy *p = NULL;
		struct hv_policy_error e;
		int rc = hv_policy_parse(r->text, row_len(r), &p, &e);

		if (rc != -r->err)
			fail_msg("row %zu (%s): got %d (%s), want %d", i, r->why, rc, e.msg,
			         -r->err);
		if (r->err) {
			assert_null(p);
			assert_int_equal(e.err, r->err);
			if (e.line != r->line)
				fail_msg("row %zu (%s): line %u, want %u", i, r->why, e.line,
				         r->line);
			assert_true(e.msg[0] != '\0');
			continue;
		}
		assert_non_null(p);
		check_round_trip(p, r->why);
		hv_policy_free(p);
	}
}

static struct hv_policy *parse_ok(const char *text)
{
	struct hv_policy *p = NULL;
	struct hv_policy_error e;

	if (hv_policy_parse(text, strlen(text), &p, &e))
		fail_msg("refused: %s: %s", text, e.msg);
	return p;
}

static void test_columns(void **state)
{
	struct hv_policy_error e;
	struct hv_policy *p = NULL;
	const char *t1 = HA "op=EXECUTE  boot_verified=true action=ALLOW\n";
	const char *t2 = "policy_name=x policy_version=1.2.x\n";
	const char *t3 = "\r\n\r\n" HA "op=READ action=DENY\n";

	assert_int_equal(hv_policy_parse(t1, strlen(t1), &p, &e), -EBADMSG);
	assert_int_equal(e.line, 3);
	assert_int_equal(e.col, 13);
	assert_int_equal(hv_policy_parse(t2, strlen(t2), &p, &e), -EINVAL);
	assert_int_equal(e.line, 1);
	assert_int_equal(e.col, 34);
	/* CR LF counts as one line break for the operator. */
	assert_int_equal(hv_policy_parse(t3, strlen(t3), &p, &e), -EBADMSG);
	assert_int_equal(e.line, 5);
	assert_int_equal(e.col, 1);
}

static void test_model(void **state)
{
	struct hv_policy *p =
	        parse_ok("policy_name=Prod policy_version=+01.007.0\nDEFAULT action=ALLOW\n"
	                 "op=EXECUTE action=DENY\nop=KMODULE action=DENY\n");
	struct hv_ipe_version v = hv_policy_version(p);

	assert_string_equal(hv_policy_name(p), "Prod");
	assert_int_equal(v.major, 1);
	assert_int_equal(v.minor, 7);
	assert_int_equal(v.rev, 0);
	assert_int_equal(hv_policy_rule_count(p), 2);
	hv_policy_free(p);
}

static void test_format_canonical(void **state)
{
	const char *in = "# c\r\n  policy_name=n\tpolicy_version=+01.007.00  \r\n"
	                 "op=KMODULE fsverity_digest=SHA256:ABCD action=DENY\r\n"
	                 "op=EXECUTE boot_verified=TRUE action=ALLOW\r\n"
	                 "DEFAULT op=KMODULE action=DENY\r\n"
	                 "op=EXECUTE dmverity_signature=TRUE action=DENY\r\n"
	                 "DEFAULT action=ALLOW\r\nDEFAULT op=EXECUTE action=DENY\r\n";
	const char *want = "policy_name=n policy_version=1.7.0\n"
	                   "DEFAULT action=ALLOW\n"
	                   "DEFAULT op=EXECUTE action=DENY\n"
	                   "DEFAULT op=KMODULE action=DENY\n"
	                   "op=EXECUTE boot_verified=TRUE action=ALLOW\n"
	                   "op=EXECUTE dmverity_signature=TRUE action=DENY\n"
	                   "op=KMODULE fsverity_digest=SHA256:abcd action=DENY\n";
	struct hv_policy *p = parse_ok(in);
	char *out;
	size_t len;

	assert_int_equal(hv_policy_format(p, &out, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(out, want);
	free(out);
	hv_policy_free(p);
}

static void test_compare(void **state)
{
	struct hv_policy *a =
	        parse_ok(HA "op=EXECUTE boot_verified=TRUE dmverity_signature=TRUE action=ALLOW\n"
	                    "op=KMODULE action=DENY\nop=EXECUTE action=DENY\n");
	/* property order and repetition, and interleaving of ops, do not matter */
	struct hv_policy *b =
	        parse_ok(HA "op=KMODULE action=DENY\n"
	                    "op=EXECUTE dmverity_signature=TRUE boot_verified=TRUE "
	                    "boot_verified=TRUE action=ALLOW\nop=EXECUTE action=DENY\n");
	/* order of rules within one op does */
	struct hv_policy *c =
	        parse_ok(HA "op=EXECUTE action=DENY\n"
	                    "op=EXECUTE boot_verified=TRUE dmverity_signature=TRUE action=ALLOW\n"
	                    "op=KMODULE action=DENY\n");
	struct hv_policy *d =
	        parse_ok("policy_name=x policy_version=0.0.1\nDEFAULT action=ALLOW\n");
	struct hv_policy *e =
	        parse_ok("policy_name=y policy_version=0.0.0\nDEFAULT action=ALLOW\n");
	struct hv_policy *f = parse_ok(H "DEFAULT action=DENY\n");
	struct hv_policy *g = parse_ok(HA "DEFAULT op=EXECUTE action=ALLOW\n");
	struct hv_policy *h1 = parse_ok(HA "op=EXECUTE fsverity_digest=sha256:ABCD action=DENY\n");
	struct hv_policy *h2 = parse_ok(HA "op=EXECUTE fsverity_digest=sha256:abcd action=DENY\n");
	struct hv_policy *h3 = parse_ok(HA "op=EXECUTE fsverity_digest=sha512:abcd action=DENY\n");
	struct hv_policy *h4 =
	        parse_ok(HA "op=EXECUTE dmverity_roothash=sha256:abcd action=DENY\n");
	struct hv_policy *h5 = parse_ok(HA "op=EXECUTE fsverity_digest=sha256:abcd action=ALLOW\n");
	struct hv_policy *base = parse_ok(HA);

	assert_int_equal(hv_policy_compare(a, b), 0);
	assert_int_equal(hv_policy_compare(a, c), 1);
	assert_int_equal(hv_policy_compare(base, d), 1);
	assert_int_equal(hv_policy_compare(base, e), 1);
	assert_int_equal(hv_policy_compare(base, f), 1);
	assert_int_equal(hv_policy_compare(base, g), 1);
	assert_int_equal(hv_policy_compare(h1, h2), 0);
	assert_int_equal(hv_policy_compare(h2, h3), 1);
	assert_int_equal(hv_policy_compare(h2, h4), 1);
	assert_int_equal(hv_policy_compare(h2, h5), 1);
	assert_int_equal(hv_policy_compare(base, h2), 1);
	assert_int_equal(hv_policy_compare(h2, base), 1);
	struct hv_policy *all[] = {a, b, c, d, e, f, g, h1, h2, h3, h4, h5, base};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		hv_policy_free(all[i]);
}

static size_t count_code(const struct hv_policy_warning *w, size_t n, enum hv_policy_lint_code code)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += w[i].code == code;
	return k;
}

static void test_lint(void **state)
{
	struct hv_policy_warning w[16];
	struct hv_policy *p;
	size_t n;
	const char nul[] = "policy_name=t policy_version=0.0.0\nDEFAULT action=DENY\n\0op=EXECUTE";

	/* the hvipe composition: no warnings */
	p = parse_ok("policy_name=hvipe policy_version=1.0.1\nDEFAULT action=ALLOW\n"
	             "DEFAULT op=EXECUTE action=DENY\nDEFAULT op=KMODULE action=DENY\n"
	             "DEFAULT op=KEXEC_IMAGE action=DENY\nDEFAULT op=KEXEC_INITRAMFS action=DENY\n"
	             "op=EXECUTE dmverity_roothash=sha256:" D64 " action=ALLOW\n"
	             "op=KMODULE dmverity_roothash=sha256:" D64 " action=ALLOW\n");
	assert_int_equal(hv_policy_lint(p, true, w, 16), 0);
	hv_policy_free(p);

	/* A7: every never-matching form */
	p = parse_ok("policy_name=odd policy_version=0.0.0\nDEFAULT action=DENY\n"
	             "op=EXECUTE dmverity_roothash=sha256: action=DENY\n"
	             "op=EXECUTE dmverity_roothash=md5:00 action=DENY\n"
	             "op=EXECUTE fsverity_digest=SHA256:" D64 " action=DENY\n"
	             "op=EXECUTE fsverity_digest=sha256:bb31d3b3 action=DENY\n"
	             "op=EXECUTE boot_verified=TRUE boot_verified=FALSE action=DENY\n"
	             "op=EXECUTE fsverity_digest=sha256:" D64 " fsverity_digest=sha512:" D64 D64
	             " action=DENY\n");
	n = hv_policy_lint(p, false, w, 16);
	assert_int_equal(count_code(w, n, HV_LINT_DIGEST_EMPTY), 1);
	assert_int_equal(count_code(w, n, HV_LINT_DIGEST_LENGTH), 2);
	assert_int_equal(count_code(w, n, HV_LINT_DIGEST_ALGORITHM), 1);
	assert_int_equal(count_code(w, n, HV_LINT_CONTRADICTION), 2);
	assert_int_equal(count_code(w, n, HV_LINT_BOOT_VERIFIED), 0);
	assert_int_equal(count_code(w, n, HV_LINT_EXECUTE_ALLOWED), 0);
	assert_int_equal(w[0].line, 3);
	/* truncation: the total is returned even beyond max */
	assert_int_equal(hv_policy_lint(p, false, w, 1), n);
	hv_policy_free(p);

	/* boot_verified only matters after boot; EXECUTE allowed by default */
	p = parse_ok("policy_name=b policy_version=0.0.0\nDEFAULT action=ALLOW\n"
	             "op=KMODULE boot_verified=TRUE action=ALLOW\n");
	n = hv_policy_lint(p, false, w, 16);
	assert_int_equal(n, 1);
	assert_int_equal(w[0].code, HV_LINT_EXECUTE_ALLOWED);
	n = hv_policy_lint(p, true, w, 16);
	assert_int_equal(count_code(w, n, HV_LINT_BOOT_VERIFIED), 1);
	hv_policy_free(p);

	/* a per-op DEFAULT ALLOW for EXECUTE warns even under a global DENY */
	p = parse_ok(H "DEFAULT action=DENY\nDEFAULT op=EXECUTE action=ALLOW\n");
	n = hv_policy_lint(p, false, w, 16);
	assert_int_equal(n, 1);
	assert_int_equal(w[0].code, HV_LINT_EXECUTE_ALLOWED);
	assert_int_equal(w[0].line, 3);
	hv_policy_free(p);

	/* names the audit log would print raw */
	p = parse_ok("policy_name=a\\\"b policy_version=0.0.0\nDEFAULT action=DENY\n");
	n = hv_policy_lint(p, false, w, 16);
	assert_int_equal(n, 1);
	assert_int_equal(w[0].code, HV_LINT_NAME);
	assert_int_equal(w[0].line, 1);
	assert_int_equal(w[0].col, 13);
	hv_policy_free(p);
	p = parse_ok("policy_name=Prod-Policy_v2.bin policy_version=0.0.0\nDEFAULT action=DENY\n");
	assert_int_equal(hv_policy_lint(p, false, w, 16), 0);
	hv_policy_free(p);

	/* embedded NUL, with its position */
	assert_int_equal(hv_policy_parse(nul, sizeof(nul) - 1, &p, NULL), 0);
	n = hv_policy_lint(p, false, w, 16);
	assert_int_equal(count_code(w, n, HV_LINT_NUL), 1);
	assert_int_equal(w[0].line, 3);
	assert_int_equal(w[0].col, 1);
	hv_policy_free(p);
}

static void test_version(void **state)
{
	struct hv_ipe_version v, a = {1, 0, 0}, b = {0, 65535, 65535}, c = {1, 0, 1};
	char buf[24];

	assert_int_equal(hv_ipe_version_parse("1.2.3", 5, &v), 0);
	assert_int_equal(v.major, 1);
	assert_int_equal(v.minor, 2);
	assert_int_equal(v.rev, 3);
	assert_int_equal(hv_ipe_version_parse("+01.007.0", 9, &v), 0);
	assert_string_equal(hv_ipe_version_format(v, buf, sizeof(buf)), "1.7.0");
	assert_int_equal(hv_ipe_version_parse("1.2", 3, &v), -EBADMSG);
	assert_int_equal(hv_ipe_version_parse("1.2.3.4", 7, &v), -EBADMSG);
	assert_int_equal(hv_ipe_version_parse("1.65536.0", 9, &v), -ERANGE);
	assert_int_equal(hv_ipe_version_parse("1.-2.0", 6, &v), -EINVAL);
	assert_int_equal(hv_ipe_version_parse("", 0, &v), -EINVAL);
	assert_true(hv_ipe_version_cmp(a, b) > 0);
	assert_true(hv_ipe_version_cmp(b, a) < 0);
	assert_true(hv_ipe_version_cmp(a, c) < 0);
	assert_int_equal(hv_ipe_version_cmp(a, a), 0);
	v = (struct hv_ipe_version){65535, 65535, 65535};
	assert_string_equal(hv_ipe_version_format(v, buf, sizeof(buf)), "65535.65535.65535");
	/* The contract's issue counter: 1.<n >> 16>.<n & 0xffff> orders like n. */
	a = (struct hv_ipe_version){1, 0, 65535};
	b = (struct hv_ipe_version){1, 1, 0};
	assert_true(hv_ipe_version_cmp(a, b) < 0);
}

static void deploy(const char *name, size_t text_len, int want)
{
	char text[600];
	struct hv_policy *p = NULL;
	struct hv_policy_error e;

	snprintf(text, sizeof(text), "policy_name=%s policy_version=0.0.0\nDEFAULT action=ALLOW\n",
	         name);
	assert_int_equal(hv_policy_parse(text, strlen(text), &p, &e), 0);
	assert_int_equal(hv_policy_check_deploy(p, text_len ? text_len : strlen(text), &e), -want);
	if (want)
		assert_int_equal(e.err, want);
	hv_policy_free(p);
}

static void test_deploy(void **state)
{
	char n255[256], n256[257];

	memset(n255, 'a', 255);
	n255[255] = '\0';
	memset(n256, 'a', 256);
	n256[256] = '\0';
	deploy("hvipe", 0, 0);
	deploy("a/b", 0, EACCES);
	deploy("/", 0, EACCES);
	deploy(".", 0, EACCES);
	deploy("..", 0, EACCES);
	deploy("...", 0, 0);
	deploy(".hidden", 0, 0);
	deploy(n255, 0, 0);
	deploy(n256, 0, ENAMETOOLONG);
	deploy("hvipe", 65535 - HV_POLICY_SIGNED_MIN_OVERHEAD, 0);
	deploy("hvipe", 65535 - HV_POLICY_SIGNED_MIN_OVERHEAD + 1, EMSGSIZE);
	deploy("hvipe", 70000, EMSGSIZE);
	assert_string_equal(hv_policy_errno_name(EBADMSG), "EBADMSG");
	assert_string_equal(hv_policy_errno_name(ENAMETOOLONG), "ENAMETOOLONG");
}

/* 10,000 rules: the parser is linear. Measured and printed, not asserted on
 * time (machines are shared); quadratic work would show as seconds here. */
static void test_many_rules(void **state)
{
	size_t cap = 10000 * 120 + 100, len = 0;
	char *text = malloc(cap);
	struct hv_policy *p = NULL;
	struct hv_policy_error e;
	struct timespec t0, t1;

	assert_non_null(text);
	len += (size_t)snprintf(text, cap, HA);
	for (int i = 0; i < 10000; i++)
		len += (size_t)snprintf(text + len, cap - len,
		                        "op=EXECUTE dmverity_roothash=sha256:%064x action=ALLOW\n",
		                        i);
	double best = 1e9;

	for (int k = 0; k < 5; k++) {
		double ms;

		hv_policy_free(p);
		p = NULL;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(hv_policy_parse(text, len, &p, &e), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		if (ms < best)
			best = ms;
	}
	assert_int_equal(hv_policy_rule_count(p), 10000);
	printf("parse of 10000 rules (%zu bytes): %.2f ms, best of 5\n", len, best);
	check_round_trip(p, "10000 rules");
	hv_policy_free(p);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_table),      cmocka_unit_test(test_columns),
	        cmocka_unit_test(test_model),      cmocka_unit_test(test_format_canonical),
	        cmocka_unit_test(test_compare),    cmocka_unit_test(test_lint),
	        cmocka_unit_test(test_version),    cmocka_unit_test(test_deploy),
	        cmocka_unit_test(test_many_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
