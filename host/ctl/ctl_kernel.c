// SPDX-License-Identifier: Apache-2.0
/*
 * hvipectl kernel check CONFIG: does a guest kernel have what hvipe needs?
 */
#include "ctl.h"
#include "kconfig.h"
#include "util/buf.h"
#include "util/cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void kernel_usage(FILE *f)
{
	fprintf(f, "usage: hvipectl kernel check [--quiet] CONFIG\n\n"
	           "Read a kernel build configuration (e.g. /boot/config-$(uname -r)) and name\n"
	           "each option hvipe needs that is missing or has the wrong value.\n"
	           "Exit 0 when every option is present, 1 when one is missing.\n");
}

static const char *state_text(enum kconfig_state s)
{
	switch (s) {
	case KCONFIG_OK:
		return "ok";
	case KCONFIG_MISSING:
		return "missing";
	case KCONFIG_WRONG:
		return "wrong";
	case KCONFIG_NO_TOKEN:
		return "incomplete";
	}
	return "?";
}

static const char *need_text(const struct kconfig_req *r)
{
	switch (r->need) {
	case KCONFIG_BUILTIN:
		return "y";
	case KCONFIG_AVAILABLE:
		return "y or m";
	case KCONFIG_LSM_LIST:
		return "a list naming";
	}
	return "?";
}

static int kernel_check(int argc, char **argv)
{
	const char *path = NULL;
	int quiet = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
			quiet = 1;
		else if (argv[i][0] == '-' || path)
			return ctl_fail(CTL_USAGE, "kernel check: unexpected argument '%s'",
			                argv[i]);
		else
			path = argv[i];
	}
	if (!path)
		return ctl_fail(CTL_USAGE, "kernel check: CONFIG file required");

	_cleanup_free_ uint8_t *text = NULL;
	size_t len = 0;
	int r = hv_read_file(path, KCONFIG_MAX_FILE, &text, &len);

	if (r == -EFBIG)
		return ctl_fail(CTL_INVALID, "kernel check: %s: larger than %u bytes", path,
		                (unsigned)KCONFIG_MAX_FILE);
	if (r < 0)
		return ctl_file_fail(r, "kernel check: ", path);

	struct kconfig_verdict v[KCONFIG_MAX_REQS];

	r = kconfig_check((const char *)text, len, v, KCONFIG_MAX_REQS);
	if (r < 0)
		return ctl_fail(CTL_INVALID, "kernel check: %s: not a kernel config (%s)", path,
		                strerror(-r));

	int missing = 0;

	for (int i = 0; i < r; i++) {
		const struct kconfig_req *q = v[i].req;

		if (v[i].state == KCONFIG_OK) {
			if (!quiet)
				printf("ok      CONFIG_%s%s%s\n", q->option,
				       q->token ? " has " : "", q->token ? q->token : "");
			continue;
		}
		missing++;
		printf("%-7s CONFIG_%s: need %s%s%s, found %s (%s)\n", state_text(v[i].state),
		       q->option, need_text(q), q->token ? " " : "", q->token ? q->token : "",
		       v[i].found, q->why);
	}
	if (missing) {
		printf("%d of %d options hvipe needs are missing in %s\n", missing, r, path);
		return CTL_INVALID;
	}
	if (!quiet)
		printf("all %d options hvipe needs are present\n", r);
	return CTL_OK;
}

int ctl_kernel_main(int argc, char **argv)
{
	if (argc < 2) {
		kernel_usage(stderr);
		return CTL_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || ctl_wants_help(argc, argv)) {
		kernel_usage(stdout);
		return CTL_OK;
	}
	if (!strcmp(argv[1], "check"))
		return kernel_check(argc - 1, argv + 1);
	kernel_usage(stderr);
	return ctl_fail(CTL_USAGE, "kernel: unknown verb '%s'", argv[1]);
}
