/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The QMP actuator against a real QEMU (-machine none: no guest, a real QMP
 * server) and against scripted fake servers for the failure paths. Each
 * action's state change is checked with an independent QMP query.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "act_qmp.h"
#include "act_shared.h"
#include "util/log.h"

static char dir[] = "/tmp/hvipe-e2e-qmpXXXXXX";
static char qmp_path[100];
static pid_t qemu_pid = -1;

struct result {
	int called;
	int err;
	char detail[200];
};

static void on_done(void *ctx, int err, const char *detail)
{
	struct result *r = ctx;

	r->called++;
	r->err = err;
	snprintf(r->detail, sizeof(r->detail), "%s", detail);
}

/* Run one action to completion on a fresh loop. Returns act()'s value. */
static int run_action(const char *path, enum hv_action action, unsigned timeout_ms,
                      struct result *res)
{
	sd_event *loop = NULL;
	struct hv_actuator a;
	struct hv_act_request req = {
	        .vm = "vm1", .target = path, .action = action, .reason = "test"};
	int r;

	memset(res, 0, sizeof(*res));
	assert_int_equal(sd_event_new(&loop), 0);
	assert_int_equal(hv_act_qmp_new(loop, timeout_ms, &a), 0);
	assert_string_equal(a.ops->kind, "qmp");
	r = a.ops->act(a.impl, &req, on_done, res);
	while (r == 0 && !res->called)
		assert_true(sd_event_run(loop, UINT64_MAX) >= 0);
	a.ops->destroy(a.impl);
	sd_event_unref(loop);
	if (r == 0)
		assert_int_equal(res->called, 1);
	return r;
}

/* Independent blocking QMP client: returns the reply line to @cmd. */
static void qmp_query(const char *cmd, char *out, size_t outsz)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[8192];
	size_t len = 0;
	int fd, step = 0;
	char line[256];

	memcpy(sa.sun_path, qmp_path, strlen(qmp_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		char *nl;

		assert_true(n > 0);
		len += (size_t)n;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			if (!strstr(buf, "\"event\"")) {
				if (step == 0) {
					const char *c = "{\"execute\":\"qmp_capabilities\"}\n";
					assert_true(write(fd, c, strlen(c)) > 0);
				} else if (step == 1) {
					snprintf(line, sizeof(line), "{\"execute\":\"%s\"}\n", cmd);
					assert_true(write(fd, line, strlen(line)) > 0);
				} else {
					size_t k = strnlen(buf, outsz - 1);

					memcpy(out, buf, k);
					out[k] = '\0';
					close(fd);
					return;
				}
				step++;
			}
			memmove(buf, nl + 1, len - (size_t)(nl + 1 - buf) + 1);
			len = strlen(buf);
		}
	}
}

static int wait_for_path(const char *path)
{
	struct stat st;

	for (int i = 0; i < 600; i++) {
		if (stat(path, &st) == 0)
			return 0;
		usleep(100 * 1000);
	}
	return -ETIMEDOUT;
}

static int setup(void **state)
{
	assert_non_null(mkdtemp(dir));
	snprintf(qmp_path, sizeof(qmp_path), "%s/qmp", dir);
	qemu_pid = fork();
	if (qemu_pid == 0) {
		char qmp_arg[200];

		snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s,server=on,wait=off", qmp_path);
		execlp("qemu-system-x86_64", "qemu-system-x86_64", "-machine", "none",
		       "-nodefaults", "-nographic", "-display", "none", "-qmp", qmp_arg,
		       (char *)NULL);
		_exit(127);
	}
	assert_true(qemu_pid > 0);
	assert_int_equal(wait_for_path(qmp_path), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[200];

	if (qemu_pid > 0) {
		kill(qemu_pid, SIGKILL);
		waitpid(qemu_pid, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_pause_resume_poweroff(void **state)
{
	struct result res;
	char reply[512];
	int status;

	qmp_query("query-status", reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"running\": true"));

	assert_int_equal(run_action(qmp_path, HV_ACTION_PAUSE, 0, &res), 0);
	assert_int_equal(res.err, 0);
	qmp_query("query-status", reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"status\": \"paused\""));

	/* Idempotent: pausing a paused VM succeeds and it stays paused. */
	assert_int_equal(run_action(qmp_path, HV_ACTION_PAUSE, 0, &res), 0);
	assert_int_equal(res.err, 0);
	qmp_query("query-status", reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"status\": \"paused\""));

	assert_int_equal(run_action(qmp_path, HV_ACTION_RESUME, 0, &res), 0);
	assert_int_equal(res.err, 0);
	assert_string_equal(res.detail, "continued");
	qmp_query("query-status", reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"running\": true"));

	assert_int_equal(run_action(qmp_path, HV_ACTION_RESUME, 0, &res), 0);
	assert_int_equal(res.err, 0);
	assert_string_equal(res.detail, "already running");

	assert_int_equal(run_action(qmp_path, HV_ACTION_LOG, 0, &res), 0);
	assert_int_equal(res.err, 0);
	qmp_query("query-status", reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"running\": true"));

	assert_int_equal(run_action(qmp_path, HV_ACTION_POWEROFF, 0, &res), 0);
	assert_int_equal(res.err, 0);
	assert_int_equal(waitpid(qemu_pid, &status, 0), qemu_pid);
	qemu_pid = -1;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* Powering off a VM that is gone is the goal reached. */
	assert_int_equal(run_action(qmp_path, HV_ACTION_POWEROFF, 0, &res), 0);
	assert_int_equal(res.err, 0);
	assert_string_equal(res.detail, "qemu not running");

	/* Pausing or resuming one cannot succeed: act() says why. */
	assert_int_equal(run_action(qmp_path, HV_ACTION_PAUSE, 0, &res), -ENOENT);
	assert_int_equal(res.called, 0);
	assert_int_equal(run_action("", HV_ACTION_PAUSE, 0, &res), -EINVAL);
}

/* A fake QMP server that sends @script (lines, then stays silent). */
static pid_t fake_server(const char *path, const char *const *script, size_t n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	assert_true(lfd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	pid = fork();
	if (pid == 0) {
		int fd = accept(lfd, NULL, NULL);
		char buf[4096];

		for (size_t i = 0; fd >= 0 && i < n; i++) {
			if (i > 0 && read(fd, buf, sizeof(buf)) <= 0)
				_exit(1);
			if (write(fd, script[i], strlen(script[i])) < 0)
				_exit(1);
		}
		pause();
		_exit(0);
	}
	close(lfd);
	assert_true(pid > 0);
	return pid;
}

static void stop_fake(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_silent_server_times_out(void **state)
{
	char path[100];
	struct result res;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/silent", dir);
	pid = fake_server(path, NULL, 0);
	assert_int_equal(run_action(path, HV_ACTION_PAUSE, 300, &res), 0);
	stop_fake(pid);
	assert_int_equal(res.err, -ETIMEDOUT);
}

static void test_refusal_is_reported(void **state)
{
	static const char *const script[] = {
	        "{\"QMP\": {\"version\": {}}}\r\n",
	        "{\"event\": \"X\"}\r\n{\"return\": {}}\r\n",
	        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"nope\"}}\r\n",
	};
	char path[100];
	struct result res;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/refuse", dir);
	pid = fake_server(path, script, 3);
	assert_int_equal(run_action(path, HV_ACTION_PAUSE, 5000, &res), 0);
	stop_fake(pid);
	assert_int_equal(res.err, -EREMOTEIO);
	assert_non_null(strstr(res.detail, "nope"));
}

static void test_garbage_is_rejected(void **state)
{
	static const char *const script[] = {"this is not json\n"};
	char path[100];
	struct result res;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/garbage", dir);
	pid = fake_server(path, script, 1);
	assert_int_equal(run_action(path, HV_ACTION_POWEROFF, 5000, &res), 0);
	stop_fake(pid);
	assert_int_equal(res.err, -EPROTO);
}

static void test_oversized_message_is_rejected(void **state)
{
	static char big[70 * 1024];
	const char *script[] = {big};
	char path[100];
	struct result res;
	pid_t pid;

	memset(big, 'x', sizeof(big) - 1);
	snprintf(path, sizeof(path), "%s/big", dir);
	pid = fake_server(path, script, 1);
	assert_int_equal(run_action(path, HV_ACTION_PAUSE, 5000, &res), 0);
	stop_fake(pid);
	assert_int_equal(res.err, -EMSGSIZE);
}

/* Two VMs' actuators share one engine; each destroy drops one reference. */
static void test_shared_per_vm_actuators(void **state)
{
	static const char *const script[] = {
	        "{\"QMP\": {}}\r\n",
	        "{\"return\": {}}\r\n",
	        "{\"return\": {}}\r\n",
	};
	struct hv_act_request req = {.vm = "vm-b", .action = HV_ACTION_PAUSE, .reason = "test"};
	struct hv_actuator a, b;
	struct result res = {0};
	sd_event *loop = NULL;
	char path[100];
	pid_t pid;

	assert_int_equal(sd_event_new(&loop), 0);
	assert_int_equal(hv_actuators_setup(loop, NULL, NULL, NULL), 0);
	assert_int_equal(hv_actuator_qmp_create("", &a), -EINVAL);
	assert_int_equal(hv_actuator_qmp_create("/x/a", &a), 0);
	assert_int_equal(hv_actuator_qmp_create("/x/b", &b), 0);
	assert_string_equal(b.ops->kind, "qmp");
	assert_int_equal(hv_actuators_setup(loop, NULL, NULL, NULL), -EBUSY);
	a.ops->destroy(a.impl);

	snprintf(path, sizeof(path), "%s/shared", dir);
	pid = fake_server(path, script, 3);
	req.target = path;
	assert_int_equal(b.ops->act(b.impl, &req, on_done, &res), 0);
	while (!res.called)
		assert_true(sd_event_run(loop, UINT64_MAX) >= 0);
	stop_fake(pid);
	assert_int_equal(res.err, 0);
	assert_string_equal(res.detail, "stopped");

	b.ops->destroy(b.impl);
	/* The engine outlives its last reference until shutdown. */
	assert_int_equal(hv_actuators_setup(loop, NULL, NULL, NULL), -EBUSY);
	hv_actuators_shutdown();
	assert_int_equal(hv_actuators_setup(loop, NULL, NULL, NULL), 0);
	hv_actuators_shutdown();
	sd_event_unref(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_pause_resume_poweroff),
	        cmocka_unit_test(test_silent_server_times_out),
	        cmocka_unit_test(test_refusal_is_reported),
	        cmocka_unit_test(test_garbage_is_rejected),
	        cmocka_unit_test(test_oversized_message_is_rejected),
	        cmocka_unit_test(test_shared_per_vm_actuators),
	};

	hv_log_init("test_act_qmp", HV_INFO);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
