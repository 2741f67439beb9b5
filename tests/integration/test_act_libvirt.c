/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The libvirt actuator against a real libvirtd (tests/vm/libvirt-env starts
 * one): domain discovery with vsock CIDs, lifecycle events, and idempotent
 * suspend, resume and destroy of a real QEMU domain, each checked through an
 * independent libvirt connection.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "act_libvirt.h"
#include "util/log.h"

#define MAX_EVENTS 256

static const char *uri;
static virConnectPtr conn;
static char name_a[64], name_b[64], name_c[64];

struct seen {
	enum hv_domain_event ev;
	char name[64];
	uint32_t cid;
	bool active, paused;
};
static struct seen events[MAX_EVENTS];
static size_t n_events;

struct result {
	int called;
	int err;
	char detail[200];
};

static void on_event(void *ctx, enum hv_domain_event ev, const struct hv_domain_info *d)
{
	if (n_events >= MAX_EVENTS)
		return;
	events[n_events].ev = ev;
	snprintf(events[n_events].name, sizeof(events[n_events].name), "%s", d->name);
	events[n_events].cid = d->cid;
	events[n_events].active = d->active;
	events[n_events].paused = d->paused;
	n_events++;
}

static const struct seen *find_event(enum hv_domain_event ev, const char *name)
{
	for (size_t i = 0; i < n_events; i++)
		if (events[i].ev == ev && strcmp(events[i].name, name) == 0)
			return &events[i];
	return NULL;
}

/* Run @loop until @ev for @name arrived; generous bound, no timing assertion. */
static const struct seen *wait_event(sd_event *loop, enum hv_domain_event ev, const char *name)
{
	for (int i = 0; i < 1200; i++) {
		const struct seen *s = find_event(ev, name);

		if (s)
			return s;
		assert_true(sd_event_run(loop, 100 * 1000) >= 0);
	}
	return NULL;
}

static void on_done(void *ctx, int err, const char *detail)
{
	struct result *r = ctx;

	r->called++;
	r->err = err;
	snprintf(r->detail, sizeof(r->detail), "%s", detail);
}

static int act(sd_event *loop, struct hv_actuator *a, const char *target, enum hv_action action,
               struct result *res)
{
	struct hv_act_request req = {
	        .vm = "vm-c", .target = target, .action = action, .reason = "test"};
	int r;

	memset(res, 0, sizeof(*res));
	r = a->ops->act(a->impl, &req, on_done, res);
	while (r == 0 && !res->called)
		assert_true(sd_event_run(loop, UINT64_MAX) >= 0);
	return r;
}

static int domain_state(const char *name)
{
	virDomainPtr d = virDomainLookupByName(conn, name);
	int state = -1, reason;

	if (!d)
		return -1;
	if (virDomainGetState(d, &state, &reason, 0) < 0)
		state = -1;
	virDomainFree(d);
	return state;
}

static void define(const char *xml)
{
	virDomainPtr d = virDomainDefineXML(conn, xml);

	if (!d)
		fail_msg("define failed: %s", virGetLastErrorMessage());
	virDomainFree(d);
}

static void undefine(const char *name)
{
	virDomainPtr d = virDomainLookupByName(conn, name);

	if (d) {
		virDomainDestroy(d);
		virDomainUndefine(d);
		virDomainFree(d);
	}
	virResetLastError();
}

static int setup(void **state)
{
	char xml[2048];

	uri = getenv("HVIPE_LIBVIRT_URI") ? getenv("HVIPE_LIBVIRT_URI") : HV_LIBVIRT_DEFAULT_URI;
	conn = virConnectOpen(uri);
	if (!conn) {
		fprintf(stderr, "cannot connect to %s (run under tests/vm/libvirt-env)\n", uri);
		return -1;
	}
	snprintf(name_a, sizeof(name_a), "hvipe-test-a-%d", (int)getpid());
	snprintf(name_b, sizeof(name_b), "hvipe-test-b-%d", (int)getpid());
	snprintf(name_c, sizeof(name_c), "hvipe-test-c-%d", (int)getpid());

	snprintf(xml, sizeof(xml),
	         "<domain type='qemu'><name>%s</name><memory unit='MiB'>32</memory>"
	         "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
	         "<emulator>/usr/bin/qemu-system-x86_64</emulator>"
	         "<vsock model='virtio'><cid auto='no' address='4242'/></vsock>"
	         "</devices></domain>",
	         name_a);
	define(xml);
	snprintf(xml, sizeof(xml),
	         "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
	         "<name>%s</name><memory unit='MiB'>32</memory>"
	         "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
	         "<emulator>/usr/bin/qemu-system-x86_64</emulator></devices>"
	         "<qemu:commandline><qemu:arg value='-device'/>"
	         "<qemu:arg value='vhost-user-vsock-pci,chardev=v0,guest-cid=4243'/>"
	         "</qemu:commandline></domain>",
	         name_b);
	define(xml);
	return 0;
}

static int teardown(void **state)
{
	undefine(name_a);
	undefine(name_b);
	undefine(name_c);
	if (conn)
		virConnectClose(conn);
	return 0;
}

static void test_discovery_and_actions(void **state)
{
	sd_event *loop = NULL;
	struct hv_actuator a;
	struct result res;
	const struct seen *s;
	char xml[1024], uuid[VIR_UUID_STRING_BUFLEN];
	virDomainPtr dom;

	assert_int_equal(sd_event_new(&loop), 0);
	assert_int_equal(hv_act_libvirt_new(loop, uri, 60000, on_event, NULL, &a), 0);
	assert_string_equal(a.ops->kind, "libvirt");

	/* Discovery maps both kinds of vsock domain to their CIDs. */
	s = wait_event(loop, HV_DOMAIN_PRESENT, name_a);
	assert_non_null(s);
	assert_int_equal(s->cid, 4242);
	assert_false(s->active);
	s = wait_event(loop, HV_DOMAIN_PRESENT, name_b);
	assert_non_null(s);
	assert_int_equal(s->cid, 4243);

	/* A domain that starts is reported through the lifecycle event. */
	snprintf(xml, sizeof(xml),
	         "<domain type='qemu'><name>%s</name><memory unit='MiB'>32</memory>"
	         "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
	         "<emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>",
	         name_c);
	dom = virDomainCreateXML(conn, xml, 0);
	if (!dom)
		fail_msg("create failed: %s", virGetLastErrorMessage());
	assert_int_equal(virDomainGetUUIDString(dom, uuid), 0);
	virDomainFree(dom);
	s = wait_event(loop, HV_DOMAIN_STARTED, name_c);
	assert_non_null(s);
	assert_true(s->active);

	assert_int_equal(act(loop, &a, name_c, HV_ACTION_PAUSE, &res), 0);
	assert_int_equal(res.err, 0);
	assert_string_equal(res.detail, "suspended");
	assert_int_equal(domain_state(name_c), VIR_DOMAIN_PAUSED);
	assert_non_null(wait_event(loop, HV_DOMAIN_SUSPENDED, name_c));

	assert_int_equal(act(loop, &a, name_c, HV_ACTION_PAUSE, &res), 0);
	assert_int_equal(res.err, 0);
	assert_string_equal(res.detail, "already paused");
	assert_int_equal(domain_state(name_c), VIR_DOMAIN_PAUSED);

	/* By UUID as well as by name. */
	assert_int_equal(act(loop, &a, uuid, HV_ACTION_RESUME, &res), 0);
	assert_int_equal(res.err, 0);
	assert_string_equal(res.detail, "resumed");
	assert_int_equal(domain_state(name_c), VIR_DOMAIN_RUNNING);
	assert_non_null(wait_event(loop, HV_DOMAIN_RESUMED, name_c));

	assert_int_equal(act(loop, &a, name_c, HV_ACTION_RESUME, &res), 0);
	assert_int_equal(res.err, 0);
	assert_string_equal(res.detail, "already running");

	assert_int_equal(act(loop, &a, name_c, HV_ACTION_POWEROFF, &res), 0);
	assert_int_equal(res.err, 0);
	assert_string_equal(res.detail, "destroyed");
	assert_int_equal(domain_state(name_c), -1); /* transient: gone */
	virResetLastError();
	assert_non_null(wait_event(loop, HV_DOMAIN_STOPPED, name_c));

	assert_int_equal(act(loop, &a, name_c, HV_ACTION_POWEROFF, &res), 0);
	assert_int_equal(res.err, 0);

	/* A defined domain that is off: poweroff is done, resume is refused. */
	assert_int_equal(act(loop, &a, name_a, HV_ACTION_POWEROFF, &res), 0);
	assert_int_equal(res.err, 0);
	assert_string_equal(res.detail, "already off");
	assert_int_equal(act(loop, &a, name_a, HV_ACTION_RESUME, &res), 0);
	assert_int_equal(res.err, -ESRCH);

	assert_int_equal(act(loop, &a, "hvipe-no-such-domain", HV_ACTION_PAUSE, &res), 0);
	assert_int_equal(res.err, -ENOENT);
	assert_int_equal(act(loop, &a, "", HV_ACTION_PAUSE, &res), -EINVAL);

	a.ops->destroy(a.impl);
	sd_event_unref(loop);
}

static void test_unreachable_daemon(void **state)
{
	sd_event *loop = NULL;
	struct hv_actuator a;
	struct result res;

	assert_int_equal(sd_event_new(&loop), 0);
	assert_int_equal(hv_act_libvirt_new(loop, "qemu+unix:///system?socket=/nonexistent/sock",
	                                    60000, NULL, NULL, &a),
	                 0);
	assert_int_equal(act(loop, &a, "whatever", HV_ACTION_PAUSE, &res), 0);
	assert_int_equal(res.called, 1);
	assert_int_equal(res.err, -ECONNREFUSED);
	a.ops->destroy(a.impl);
	sd_event_unref(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_discovery_and_actions),
	        cmocka_unit_test(test_unreachable_daemon),
	};

	hv_log_init("test_act_libvirt", HV_INFO);
	return cmocka_run_group_tests(tests, setup, teardown);
}
