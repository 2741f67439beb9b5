/* SPDX-License-Identifier: Apache-2.0 */
#include "ctl.h"
#include "ctl_daemon.h"
#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct ctl_group groups[] = {
        /* Each verb group adds its line here; see ctl.h. */
        {"kernel", "check a guest kernel's configuration", ctl_kernel_main},
        {"firmware", "OVMF variable store with the host certificate", ctl_firmware_main},
        {"vm", "VMs known to hvipe-hostd (add, list, show, forget, set-action, resume)",
         ctl_vm_main},
        {"image", "dm-verity images and their approval per VM", ctl_image_main},
        {"status", "per VM: connected, last verdict, policy version", ctl_status_main},
        {"audit", "IPE audit records forwarded by guests", ctl_audit_main},
        {"policy", "check, format, sign, verify and show IPE policies", ctl_policy_main},
        {"key", "generate and show the policy signing key", ctl_key_main},
        {NULL, NULL, NULL},
};

int ctl_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("hvipectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int ctl_file_fail(int err, const char *prefix, const char *path)
{
	switch (err) {
	case -EISDIR:
		return ctl_fail(CTL_INVALID, "%s%s: is a directory, not a file", prefix, path);
	case -EINVAL:
		return ctl_fail(CTL_INVALID, "%s%s: not a regular file", prefix, path);
	case -EFBIG:
		return ctl_fail(CTL_INVALID, "%s%s: too large", prefix, path);
	default:
		return ctl_fail(CTL_SYSTEM, "%s%s: %s", prefix, path, strerror(-err));
	}
}

int ctl_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hvipectl [--socket PATH] <group> <verb> [options] [args]\n\n"
	           "The host-side tool of hvipe: IPE policies, keys, images, VMs.\n\n"
	           "Groups:\n");
	for (size_t i = 0; groups[i].name; i++)
		fprintf(f, "  %-10s %s\n", groups[i].name, groups[i].summary);
	fprintf(f, "\n'hvipectl <group> --help' lists a group's verbs.\n"
	           "Exit codes: 0 ok, 1 invalid input or refused, 2 usage, 3 daemon unreachable,\n"
	           "4 system error.\n");
}

int main(int argc, char **argv)
{
	hv_log_init("hvipectl", HV_WARN);
	/* Global option: hvipe-hostd's control socket (else HVIPE_SOCKET). */
	while (argc >= 2 && !strncmp(argv[1], "--socket", 8)) {
		if (argv[1][8] == '=') {
			ctl_socket_path = argv[1] + 9;
			argc -= 1;
			argv += 1;
		} else if (argv[1][8] == '\0' && argc >= 3) {
			ctl_socket_path = argv[2];
			argc -= 2;
			argv += 2;
		} else {
			usage(stderr);
			return ctl_fail(CTL_USAGE, "--socket takes a path");
		}
	}
	if (argc < 2) {
		usage(stderr);
		return CTL_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return CTL_OK;
	}
	for (size_t i = 0; groups[i].name; i++)
		if (!strcmp(argv[1], groups[i].name))
			return groups[i].main(argc - 1, argv + 1);
	usage(stderr);
	return ctl_fail(CTL_USAGE, "unknown group '%s'", argv[1]);
}
