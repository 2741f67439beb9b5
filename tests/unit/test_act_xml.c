/* SPDX-License-Identifier: Apache-2.0 */
/* hv_libvirt_domain_cid: which CID a libvirt domain XML gives its guest. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "act_libvirt.h"
#include "hv_limits.h"

static const struct {
	const char *xml;
	int err;
	uint32_t cid;
	const char *why;
} cases[] = {
        {"<domain><devices><vsock model='virtio'><cid auto='no' address='42'/></vsock>"
         "</devices></domain>",
         0, 42, "libvirt vsock device"},
        {"<domain><devices><vsock><cid auto='yes' address='0x10'/></vsock></devices></domain>", 0,
         16, "hex address as libvirt accepts it"},
        {"<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><devices/>"
         "<qemu:commandline><qemu:arg value='-chardev'/>"
         "<qemu:arg value='socket,id=v,path=/run/x.sock'/><qemu:arg value='-device'/>"
         "<qemu:arg value='vhost-user-vsock-pci,chardev=v,guest-cid=7'/>"
         "</qemu:commandline></domain>",
         0, 7, "vhost-user-vsock through qemu:commandline"},
        {"<domain><devices><disk/></devices></domain>", -ENOENT, 0, "no vsock device"},
        {"<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
         "<qemu:commandline><qemu:arg value='-device'/>"
         "<qemu:arg value='vhost-user-vsock-pci,chardev=v'/></qemu:commandline></domain>",
         -ENODATA, 0, "vhost-user-vsock without guest-cid: the backend sets it"},
        {"<domain><devices><vsock><cid address='2'/></vsock></devices></domain>", -EBADMSG, 0,
         "CID 2 is the host"},
        {"<domain><devices><vsock><cid address='4294967295'/></vsock></devices></domain>", -EBADMSG,
         0, "CID -1 is VMADDR_CID_ANY"},
        {"<domain><devices><vsock><cid address='99999999999'/></vsock></devices></domain>",
         -EBADMSG, 0, "over 32 bits"},
        {"<domain><devices><vsock><cid address='12abc'/></vsock></devices></domain>", -EBADMSG, 0,
         "trailing junk"},
        {"<domain><devices><vsock><cid address='-5'/></vsock></devices></domain>", -EBADMSG, 0,
         "negative"},
        {"<domain><devices><vsock>", -EBADMSG, 0, "truncated XML"},
        {"", -EBADMSG, 0, "empty"},
};

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t cid = 12345;
		int r = hv_libvirt_domain_cid(cases[i].xml, strlen(cases[i].xml), &cid);

		if (r != cases[i].err)
			fail_msg("case %zu (%s): got %d want %d", i, cases[i].why, r, cases[i].err);
		if (r == 0 && cid != cases[i].cid)
			fail_msg("case %zu (%s): cid %u want %u", i, cases[i].why, cid,
			         cases[i].cid);
		if (r != 0 && cid != 12345)
			fail_msg("case %zu (%s): output written on error", i, cases[i].why);
	}
}

static void test_oversized(void **state)
{
	size_t n = HV_LIBVIRT_MAX_XML + 1;
	char *big = malloc(n);
	uint32_t cid;

	assert_non_null(big);
	memset(big, ' ', n);
	assert_int_equal(hv_libvirt_domain_cid(big, n, &cid), -E2BIG);
	free(big);
}

static void test_action_names(void **state)
{
	enum hv_action a;

	assert_int_equal(hv_action_parse("pause", &a), 0);
	assert_int_equal(a, HV_ACTION_PAUSE);
	assert_int_equal(hv_action_parse("poweroff", &a), 0);
	assert_int_equal(a, HV_ACTION_POWEROFF);
	assert_int_equal(hv_action_parse("reboot", &a), -EINVAL);
	assert_string_equal(hv_action_name(HV_ACTION_RESUME), "resume");
	assert_string_equal(hv_domain_event_name(HV_DOMAIN_STOPPED), "stopped");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_table),
	        cmocka_unit_test(test_oversized),
	        cmocka_unit_test(test_action_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
