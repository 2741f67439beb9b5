// SPDX-License-Identifier: Apache-2.0
/*
 * hvipectl firmware enroll: an OVMF variable store whose db holds the host's
 * policy certificate, so that the guest kernel loads it into .platform and
 * both IPE policies and dm-verity root-hash signatures made by the host verify.
 * The store is edited by virt-fw-vars (python3-virt-firmware).
 */
#include "ctl.h"
#include "util/cleanup.h"

#include <errno.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Owner GUID of hvipe's db entry (any fixed GUID; it only labels the entry). */
#define HVIPE_DB_OWNER   "4d1a6a3c-6f0e-4a53-9e1c-68766970650a"
#define DEFAULT_TEMPLATE "/usr/share/OVMF/OVMF_VARS_4M.fd"

static void firmware_usage(FILE *f)
{
	fprintf(f,
	        "usage: hvipectl firmware enroll --cert CERT --out VARS.fd\n"
	        "                [--template VARS.fd] [--owner GUID]\n\n"
	        "Write an OVMF variable store that holds CERT (PEM X.509) in db. The\n"
	        "template defaults to %s; the owner GUID to %s.\n"
	        "Needs virt-fw-vars (Debian package python3-virt-firmware).\n",
	        DEFAULT_TEMPLATE, HVIPE_DB_OWNER);
}

DEFINE_CLEANUP_FUNC(X509 *, X509_free)

/* 0 when @path holds one PEM certificate; -EBADMSG otherwise, -errno on I/O. */
static int check_cert(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");

	if (!f)
		return -errno;

	_cleanup_(X509_freep) X509 *x = PEM_read_X509(f, NULL, NULL, NULL);

	return x ? 0 : -EBADMSG;
}

/* Run argv, wait; 0 on exit status 0, -ECHILD on failure, -errno on spawn. */
static int run(char *const argv[])
{
	pid_t pid;
	int st, r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);

	if (r)
		return -r;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return (WIFEXITED(st) && WEXITSTATUS(st) == 0) ? 0 : -ECHILD;
}

static int firmware_enroll(int argc, char **argv)
{
	const char *cert = NULL, *out = NULL, *tmpl = DEFAULT_TEMPLATE, *owner = HVIPE_DB_OWNER;

	for (int i = 1; i < argc; i++) {
		const char **dst = NULL;

		if (!strcmp(argv[i], "--cert"))
			dst = &cert;
		else if (!strcmp(argv[i], "--out"))
			dst = &out;
		else if (!strcmp(argv[i], "--template"))
			dst = &tmpl;
		else if (!strcmp(argv[i], "--owner"))
			dst = &owner;
		else
			return ctl_fail(CTL_USAGE, "firmware enroll: unexpected argument '%s'",
			                argv[i]);
		if (++i >= argc)
			return ctl_fail(CTL_USAGE, "firmware enroll: %s needs a value",
			                argv[i - 1]);
		*dst = argv[i];
	}
	if (!cert || !out)
		return ctl_fail(CTL_USAGE, "firmware enroll: --cert and --out are required");

	int r = check_cert(cert);

	if (r == -EBADMSG)
		return ctl_fail(CTL_INVALID, "firmware enroll: %s is not a PEM certificate", cert);
	if (r < 0)
		return ctl_fail(CTL_SYSTEM, "firmware enroll: %s: %s", cert, strerror(-r));
	if (access(tmpl, R_OK) < 0)
		return ctl_fail(CTL_SYSTEM, "firmware enroll: template %s: %s", tmpl,
		                strerror(errno));

	/* Write beside the target and rename, so a failed run leaves no half store. */
	size_t n = strlen(out) + 16;
	_cleanup_free_ char *tmp = malloc(n);

	if (!tmp)
		return ctl_fail(CTL_SYSTEM, "firmware enroll: out of memory");
	snprintf(tmp, n, "%s.tmp%ld", out, (long)getpid());

	char *args[] = {"virt-fw-vars", "--loglevel", "warning", "--input",
	                (char *)tmpl,   "--output",   tmp,       "--add-db",
	                (char *)owner,  (char *)cert, NULL};

	r = run(args);
	if (r == -ENOENT)
		return ctl_fail(CTL_SYSTEM, "firmware enroll: virt-fw-vars not found "
		                            "(install python3-virt-firmware)");
	if (r < 0) {
		unlink(tmp);
		return ctl_fail(CTL_SYSTEM, "firmware enroll: virt-fw-vars failed");
	}
	if (chmod(tmp, 0644) < 0 || rename(tmp, out) < 0) {
		int e = errno;

		unlink(tmp);
		return ctl_fail(CTL_SYSTEM, "firmware enroll: %s: %s", out, strerror(e));
	}
	return CTL_OK;
}

int ctl_firmware_main(int argc, char **argv)
{
	if (argc < 2) {
		firmware_usage(stderr);
		return CTL_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || ctl_wants_help(argc, argv)) {
		firmware_usage(stdout);
		return CTL_OK;
	}
	if (!strcmp(argv[1], "enroll"))
		return firmware_enroll(argc - 1, argv + 1);
	firmware_usage(stderr);
	return ctl_fail(CTL_USAGE, "firmware: unknown verb '%s'", argv[1]);
}
