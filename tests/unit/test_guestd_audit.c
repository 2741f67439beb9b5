// SPDX-License-Identifier: Apache-2.0
/* IPE audit record parsing and the bounded queue that holds records for the host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../guest/agent/audit.h"
#include "hv_limits.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ga_audit_rec *parse_ok(uint32_t type, const char *s)
{
	struct ga_audit_rec *r = NULL;

	assert_int_equal(ga_audit_parse(type, (const uint8_t *)s, strlen(s), &r), 0);
	assert_non_null(r);
	return r;
}

static void expect_field(const struct ga_audit_rec *r, const char *k, const char *v)
{
	const char *got = ga_audit_get(r, k);

	if (!got)
		fail_msg("field %s missing", k);
	assert_string_equal(got, v);
}

static void test_access_quoted(void **state)
{
	struct ga_audit_rec *r = parse_ok(
	        1420,
	        "audit(1730000000.123:42): ipe_op=EXECUTE ipe_hook=MMAP enforcing=1 pid=812 "
	        "comm=\"ld-linux-x86-64\" path=\"/opt/app/lib/libx.so\" dev=\"vda3\" ino=131074 "
	        "rule=\"DEFAULT op=EXECUTE action=DENY\"");

	assert_int_equal(r->type, 1420);
	assert_int_equal(r->time_ms, 1730000000123ull);
	assert_int_equal(r->serial, 42);
	assert_int_equal(r->n_fields, 9);
	expect_field(r, "ipe_op", "EXECUTE");
	expect_field(r, "comm", "ld-linux-x86-64");
	expect_field(r, "path", "/opt/app/lib/libx.so");
	expect_field(r, "ino", "131074");
	expect_field(r, "rule", "DEFAULT op=EXECUTE action=DENY");
	assert_true(ga_audit_wanted(r));
	assert_true(strncmp(r->text, "ipe_op=EXECUTE", 14) == 0);
	ga_audit_rec_free(r);
}

static void test_placeholders(void **state)
{
	struct ga_audit_rec *r = parse_ok(
	        1420, "audit(1730000000.456:43): ipe_op=EXECUTE ipe_hook=MMAP enforcing=1 pid=915 "
	              "comm=\"node\" path=? dev=? ino=? rule=\"DEFAULT op=EXECUTE action=DENY\"");

	expect_field(r, "path", "?");
	expect_field(r, "dev", "?");
	expect_field(r, "ino", "?");
	ga_audit_rec_free(r);

	r = parse_ok(
	        1421,
	        "audit(1730000001.000:49): old_active_pol_name=? old_active_pol_version=? "
	        "old_policy_digest=? new_active_pol_name=\"hvipe\" new_active_pol_version=1.0.1 "
	        "new_policy_digest=sha256:437A10 auid=4294967295 ses=4294967295 lsm=ipe res=1");
	expect_field(r, "old_active_pol_name", "?");
	expect_field(r, "new_active_pol_name", "hvipe");
	expect_field(r, "new_policy_digest", "sha256:437A10");
	assert_true(ga_audit_wanted(r));
	ga_audit_rec_free(r);
}

static void test_hex_encoded(void **state)
{
	/* comm "my app" and path "/tmp/a b" contain spaces: the kernel prints bare hex */
	struct ga_audit_rec *r =
	        parse_ok(1420, "audit(1.5:7): ipe_op=EXECUTE ipe_hook=BPRM_CHECK enforcing=1 pid=1 "
	                       "comm=6D7920617070 path=2F746D702F612062 dev=\"tmpfs\" ino=12 "
	                       "rule=\"DEFAULT op=EXECUTE action=DENY\"");

	expect_field(r, "comm", "my app");
	expect_field(r, "path", "/tmp/a b");
	/* a numeric field that happens to look like hex is not decoded */
	expect_field(r, "ino", "12");
	assert_int_equal(r->time_ms, 1005);
	ga_audit_rec_free(r);

	/* hex that decodes to a NUL byte cannot be a string: kept as sent */
	r = parse_ok(1420, "audit(1.0:8): comm=610062 pid=3");
	expect_field(r, "comm", "610062");
	ga_audit_rec_free(r);
}

static void test_nested_quotes(void **state)
{
	struct ga_audit_rec *r = parse_ok(
	        1420,
	        "audit(1730000000.123:44): ipe_op=EXECUTE ipe_hook=BPRM_CHECK enforcing=1 pid=9 "
	        "comm=\"sh\" path=\"/bin/sh\" dev=\"dm-0\" ino=5 "
	        "rule=\"op=EXECUTE dmverity_roothash=\"sha256\":AB12CD action=ALLOW\"");

	expect_field(r, "rule", "op=EXECUTE dmverity_roothash=\"sha256\":AB12CD action=ALLOW");
	expect_field(r, "dev", "dm-0");
	ga_audit_rec_free(r);
}

static void test_two_records_one_exec(void **state)
{
	/* A denied exec logs once for the exec and once for the interpreter's mmap, same event. */
	const char *lines =
	        "type=1420 audit(1730000002.000:77): ipe_op=EXECUTE ipe_hook=BPRM_CHECK "
	        "enforcing=1 "
	        "pid=100 comm=\"bash\" path=\"/tmp/x\" dev=\"tmpfs\" ino=3 rule=\"DEFAULT "
	        "op=EXECUTE "
	        "action=DENY\"\n"
	        "type=1420 audit(1730000002.000:77): ipe_op=EXECUTE ipe_hook=MMAP enforcing=1 "
	        "pid=100 "
	        "comm=\"bash\" path=\"/tmp/x\" dev=\"tmpfs\" ino=3 rule=\"DEFAULT op=EXECUTE "
	        "action=DENY\"\n";
	const char *nl = strchr(lines, '\n');
	struct ga_audit_rec *a = NULL, *b = NULL;

	assert_int_equal(ga_audit_parse_line((const uint8_t *)lines, (size_t)(nl - lines), &a), 0);
	assert_int_equal(ga_audit_parse_line((const uint8_t *)nl + 1, strlen(nl + 1), &b), 0);
	assert_int_equal(a->serial, 77);
	assert_int_equal(b->serial, 77);
	expect_field(a, "ipe_hook", "BPRM_CHECK");
	expect_field(b, "ipe_hook", "MMAP");
	ga_audit_rec_free(a);
	ga_audit_rec_free(b);
}

static void test_mac_status(void **state)
{
	struct ga_audit_rec *r =
	        parse_ok(1404, "audit(5.1:9): enforcing=0 old_enforcing=1 auid=0 ses=1 "
	                       "enabled=1 old-enabled=1 lsm=ipe res=1");

	assert_true(ga_audit_wanted(r));
	expect_field(r, "old-enabled", "1");
	ga_audit_rec_free(r);

	/* 6.12 also emits an empty-bodied 1404 per change: parsed, not forwarded */
	r = parse_ok(1404, "audit(5.1:9): ");
	assert_int_equal(r->n_fields, 0);
	assert_false(ga_audit_wanted(r));
	ga_audit_rec_free(r);
	r = parse_ok(1404, "audit(5.1:10):");
	assert_false(ga_audit_wanted(r));
	ga_audit_rec_free(r);

	/* another LSM's status change, and a syscall record: not ours */
	r = parse_ok(1404, "audit(5.1:11): enforcing=0 old_enforcing=1 lsm=selinux res=1");
	assert_false(ga_audit_wanted(r));
	ga_audit_rec_free(r);
	r = parse_ok(1300, "audit(5.1:11): arch=c000003e syscall=59 success=no exit=-13");
	assert_false(ga_audit_wanted(r));
	ga_audit_rec_free(r);
}

static void test_netlink_trailer(void **state)
{
	const char msg[] = "audit(1.0:1): policy_name=\"hvipe\" lsm=ipe res=1\n\0";
	struct ga_audit_rec *r = NULL;

	assert_int_equal(ga_audit_parse(1422, (const uint8_t *)msg, sizeof(msg), &r), 0);
	expect_field(r, "res", "1");
	ga_audit_rec_free(r);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *in;
		int err;
		const char *why;
	} cases[] = {
	        {"", -EBADMSG, "empty"},
	        {"audit(", -EBADMSG, "truncated stamp"},
	        {"audit(123.4", -EBADMSG, "truncated stamp"},
	        {"audit(1.2:3)", -EBADMSG, "no colon after stamp"},
	        {"audit(1.1000:3): a=b", -EBADMSG, "milliseconds above 999"},
	        {"audit(99999999999999999999.1:3): a=b", -EBADMSG, "seconds overflow"},
	        {"audit(1.2:3): comm=\"unterminated", -EBADMSG, "unterminated quote"},
	        {"audit(1.2:3): novalue", -EBADMSG, "field without ="},
	        {"audit(1.2:3): =x", -EBADMSG, "empty key"},
	        {"audit(1.2:3): a=b\"c", -EBADMSG, "quote inside a bare value"},
	        {"audit(1.2:3): a=\x01", -EBADMSG, "control byte"},
	        {"garbage garbage", -EBADMSG, "no stamp"},
	        {"audit(1.2:3): a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9 j=10 k=11 l=12 m=13 n=14 o=15 "
	         "p=16 q=17 r=18 s=19 t=20 u=21 v=22 w=23 x=24 y=25 z=26 A=27 B=28 C=29 D=30 E=31 "
	         "F=32 G=33",
	         -E2BIG, "too many fields"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ga_audit_rec *r = NULL;

		print_message("case %zu: %s\n", i, cases[i].why);
		assert_int_equal(
		        ga_audit_parse(1420, (const uint8_t *)cases[i].in, strlen(cases[i].in), &r),
		        cases[i].err);
		assert_null(r);
	}
	assert_int_equal(ga_audit_parse_line((const uint8_t *)"type=x audit(1.2:3):", 20,
	                                     &(struct ga_audit_rec *){NULL}),
	                 -EBADMSG);
}

static void test_oversized_cut(void **state)
{
	size_t n = HV_PROTO_MAX_AUDIT_RECORD * 2;
	char *big = malloc(n + 1);
	struct ga_audit_rec *r = NULL;
	size_t off;

	off = (size_t)sprintf(big, "audit(1.2:3): ");
	while (off + 12 < n)
		off += (size_t)sprintf(big + off, "k%05zu=vvvv ", off % 100000);
	assert_int_equal(ga_audit_parse(1420, (uint8_t *)big, off, &r), -E2BIG);

	/* a huge single value is cut to the cap, the split field dropped */
	off = (size_t)sprintf(big, "audit(1.2:3): a=1 path=\"");
	memset(big + off, 'x', n - off - 1);
	big[n - 1] = '"';
	assert_int_equal(ga_audit_parse(1420, (uint8_t *)big, n, &r), 0);
	assert_int_equal(r->n_fields, 1);
	assert_true(strlen(r->text) <= HV_PROTO_MAX_AUDIT_RECORD);
	ga_audit_rec_free(r);
	free(big);
}

struct taken {
	int n_ok, n_err;
	uint32_t types[8];
};

static void take(void *ctx, int r, struct ga_audit_rec *rec)
{
	struct taken *t = ctx;

	if (r < 0) {
		assert_null(rec);
		t->n_err++;
		return;
	}
	t->types[t->n_ok++ % 8] = rec->type;
	ga_audit_rec_free(rec);
}

static size_t put_msg(uint8_t *buf, size_t off, uint16_t type, const char *body, size_t extra_len)
{
	struct nlmsghdr h = {.nlmsg_type = type};
	size_t blen = strlen(body);

	h.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + blen + extra_len);
	memcpy(buf + off, &h, sizeof(h));
	memcpy(buf + off + NLMSG_HDRLEN, body, blen);
	return off + NLMSG_ALIGN(NLMSG_HDRLEN + blen);
}

static void test_netlink_datagram(void **state)
{
	uint8_t buf[2048] = {0};
	struct taken t = {0};
	size_t len = 0;

	len = put_msg(buf, len, 1300, "audit(1.0:5): arch=c000003e syscall=59", 0);
	len = put_msg(buf, len, 1420, "audit(1.0:5): ipe_op=EXECUTE pid=1 comm=\"a\"", 0);
	len = put_msg(buf, len, 1404, "audit(1.0:6): enforcing=0 lsm=ipe res=1", 0);
	len = put_msg(buf, len, 1422, "audit(1.0:7): policy_name=\"unterminated", 0);
	assert_int_equal(ga_audit_netlink(buf, len, take, &t), 4);
	assert_int_equal(t.n_ok, 2);
	assert_int_equal(t.n_err, 1);
	assert_int_equal(t.types[0], 1420);
	assert_int_equal(t.types[1], 1404);

	/* a header claiming more bytes than the datagram holds ends the walk */
	memset(&t, 0, sizeof(t));
	len = put_msg(buf, 0, 1420, "audit(1.0:5): a=b", 0);
	len = put_msg(buf, len, 1420, "audit(1.0:6): a=b", 4096);
	assert_int_equal(ga_audit_netlink(buf, len, take, &t), 1);
	assert_int_equal(t.n_ok, 1);
	/* shorter than a header: nothing */
	assert_int_equal(ga_audit_netlink(buf, 8, take, &t), 0);
}

static struct ga_audit_rec *rec_n(unsigned serial)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "audit(1.0:%u): lsm=ipe res=1", serial);
	return parse_ok(1422, buf);
}

static void test_queue_drop_oldest_and_ack(void **state)
{
	struct ga_audit_queue q;
	struct ga_audit_rec *out[8];
	size_t n;

	assert_int_equal(ga_audit_queue_init(&q, 3, 1 << 20), 0);
	for (unsigned i = 1; i <= 5; i++)
		ga_audit_queue_push(&q, rec_n(i));
	assert_int_equal(q.count, 3);
	assert_int_equal(q.dropped_total, 2);
	assert_int_equal(q.dropped_unreported, 2);
	n = ga_audit_queue_peek(&q, out, 8);
	assert_int_equal(n, 3);
	assert_int_equal(out[0]->serial, 3);
	assert_int_equal(out[2]->serial, 5);

	/* batch of the first two, reporting the 2 drops, is acknowledged */
	ga_audit_queue_ack(&q, out[1]->id, 2);
	assert_int_equal(q.count, 1);
	assert_int_equal(q.dropped_unreported, 0);
	n = ga_audit_queue_peek(&q, out, 8);
	assert_int_equal(out[0]->serial, 5);

	/* an ack for records already gone changes nothing */
	ga_audit_queue_ack(&q, 1, 0);
	assert_int_equal(q.count, 1);
	ga_audit_queue_free(&q);
}

static void test_queue_drop_while_in_flight(void **state)
{
	struct ga_audit_queue q;
	struct ga_audit_rec *out[4];
	uint64_t last;

	assert_int_equal(ga_audit_queue_init(&q, 2, 1 << 20), 0);
	ga_audit_queue_push(&q, rec_n(1));
	ga_audit_queue_push(&q, rec_n(2));
	ga_audit_queue_peek(&q, out, 4);
	last = out[1]->id;                 /* batch {1,2} sent */
	ga_audit_queue_push(&q, rec_n(3)); /* 1 dropped while the batch is in flight */
	ga_audit_queue_ack(&q, last, 0);
	/* only record 3 remains; the drop is still to be reported */
	assert_int_equal(q.count, 1);
	ga_audit_queue_peek(&q, out, 4);
	assert_int_equal(out[0]->serial, 3);
	assert_int_equal(q.dropped_unreported, 1);
	ga_audit_queue_free(&q);
}

static void test_queue_byte_budget(void **state)
{
	struct ga_audit_queue q;
	struct ga_audit_rec *r = rec_n(1);
	size_t one = r->bytes;

	assert_int_equal(ga_audit_queue_init(&q, 1000, one * 3), 0);
	ga_audit_queue_push(&q, r);
	for (unsigned i = 2; i <= 100; i++)
		ga_audit_queue_push(&q, rec_n(i));
	assert_true(q.bytes <= one * 3 + 16);
	assert_true(q.count <= 3);
	assert_int_equal(q.dropped_total, 100 - q.count);
	ga_audit_queue_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_access_quoted),
	        cmocka_unit_test(test_placeholders),
	        cmocka_unit_test(test_hex_encoded),
	        cmocka_unit_test(test_nested_quotes),
	        cmocka_unit_test(test_two_records_one_exec),
	        cmocka_unit_test(test_mac_status),
	        cmocka_unit_test(test_netlink_trailer),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_oversized_cut),
	        cmocka_unit_test(test_netlink_datagram),
	        cmocka_unit_test(test_queue_drop_oldest_and_ack),
	        cmocka_unit_test(test_queue_drop_while_in_flight),
	        cmocka_unit_test(test_queue_byte_budget),
	};

	return cmocka_run_group_tests_name("guestd_audit", tests, NULL, NULL);
}
