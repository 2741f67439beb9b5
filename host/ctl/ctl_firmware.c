// SPDX-License-Identifier: Apache-2.0
/*
 * hvipectl firmware enroll: an OVMF variable store whose db holds the host's
 * policy certificate, so that the guest kernel loads it into .platform and
 * both IPE policies and dm-verity root-hash signatures made by the host verify.
 * The store is edited by virt-fw-vars (python3-virt-firmware).
 */
#include "ctl.h"
#include "util/cleanup.h"

#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STR_(x) #x
#define STR(x)  STR_(x)

/* Owner GUID of hvipe's db entry (any fixed GUID; it only labels the entry). */
#define HVIPE_DB_OWNER   "4d1a6a3c-6f0e-4a53-9e1c-68766970650a"
#define DEFAULT_TEMPLATE "/usr/share/OVMF/OVMF_VARS_4M.fd"
/* OVMF variable stores are 128 KiB to 4 MiB; anything past this is not one. */
#define FIRMWARE_MAX_TEMPLATE (64u << 20)
/* A PEM certificate; generous for long chains of extensions. */
#define FIRMWARE_MAX_CERT (64u << 10)
/* virt-fw-vars edits a few MiB in seconds; past this it is stuck. */
#define FIRMWARE_TIMEOUT_S 300

static void firmware_usage(FILE *f)
{
	fprintf(f,
	        "usage: hvipectl firmware enroll --cert CERT --out VARS.fd\n"
	        "                [--template VARS.fd] [--owner GUID]\n\n"
	        "Write an OVMF variable store that holds CERT (PEM X.509) in db.\n"
	        "  --template  a regular file of at most %u MiB\n"
	        "              (default %s)\n"
	        "  --owner     8-4-4-4-12 hex digits (default %s)\n"
	        "Needs virt-fw-vars (Debian package python3-virt-firmware).\n",
	        FIRMWARE_MAX_TEMPLATE >> 20, DEFAULT_TEMPLATE, HVIPE_DB_OWNER);
}

DEFINE_CLEANUP_FUNC(X509 *, X509_free)

/*
 * Open @path for virt-fw-vars: a regular file of at most @max bytes. Returns
 * the descriptor (not close-on-exec: the child reads it as /dev/fd/N, so the
 * file checked is the file used), -EINVAL when it is not a regular file,
 * -EFBIG when it is larger than @max, -errno on I/O.
 */
static int open_input(const char *path, size_t max)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uintmax_t)st.st_size > max)
		return -EFBIG;
	return TAKE_FD(fd);
}

/* Exit code and message for open_input()'s answer about @what @path. */
static int input_fail(int r, const char *what, const char *path, size_t max)
{
	if (r == -EINVAL)
		return ctl_fail(CTL_INVALID, "firmware enroll: %s %s is not a regular file", what,
		                path);
	if (r == -EFBIG)
		return ctl_fail(CTL_INVALID, "firmware enroll: %s %s is larger than %zu MiB%s",
		                what, path, max >> 20 ? max >> 20 : 1,
		                max >> 20 ? " (OVMF variable stores are a few MiB)" : "");
	return ctl_fail(CTL_SYSTEM, "firmware enroll: %s %s: %s", what, path, strerror(-r));
	/* (Same rule as ctl_file_fail: cannot open or read = 4, wrong kind or size = 1.) */
}

/* 0 when the open file @fd holds one PEM certificate; -EBADMSG otherwise. */
static int check_cert(int fd)
{
	uint8_t buf[FIRMWARE_MAX_CERT + 1];
	size_t len = 0;
	BIO *bio;
	ssize_t n;

	while ((n = pread(fd, buf + len, sizeof(buf) - len, (off_t)len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		len += (size_t)n;
		if (len == sizeof(buf))
			return -EFBIG;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio)
		return -ENOMEM;

	_cleanup_(X509_freep) X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

	BIO_free(bio);
	return x ? 0 : -EBADMSG;
}

/* True when @s is a GUID as 8-4-4-4-12 hex digits, the form UEFI tools print. */
static bool is_guid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * Run argv as a child that dies with hvipectl (PR_SET_PDEATHSIG) and wait for
 * it at most FIRMWARE_TIMEOUT_S. SIGINT, SIGTERM or SIGHUP (unless ignored)
 * while it runs: kill and reap the child, remove @tmp, then end hvipectl by
 * the same signal. Returns 0 on exit status 0, -ECHILD on another status, -ETIMEDOUT
 * (child killed), -ENOENT when argv[0] is not found, -errno otherwise.
 */
static int run(char *const argv[], const char *tmp)
{
	static const int stops[] = {SIGINT, SIGTERM, SIGHUP};
	const struct timespec limit = {.tv_sec = FIRMWARE_TIMEOUT_S};
	pid_t parent = getpid(), pid;
	sigset_t set, old;
	int st, exec_err[2];
	ssize_t n;
	int e = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		struct sigaction sa;

		/* A signal ignored on purpose (nohup, background job) stays ignored. */
		if (sigaction(stops[i], NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
			sigaddset(&set, stops[i]);
	}
	if (pipe2(exec_err, O_CLOEXEC) < 0)
		return -errno;
	sigprocmask(SIG_BLOCK, &set, &old);
	pid = fork();
	if (pid < 0) {
		e = -errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(exec_err[0]);
		close(exec_err[1]);
		return e;
	}
	if (pid == 0) {
		/* Die with hvipectl; if it is already gone, do not start at all. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvp(argv[0], argv);
		e = errno;
		(void)!write(exec_err[1], &e, sizeof(e));
		_exit(127);
	}
	close(exec_err[1]);
	do
		n = read(exec_err[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(exec_err[0]);
	if (n == sizeof(e)) {
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -e;
	}

	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec left;
		siginfo_t si;
		long ns;
		int sig;

		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ns = (t0.tv_sec + limit.tv_sec - now.tv_sec) * 1000000000L + t0.tv_nsec -
		     now.tv_nsec;
		if (ns <= 0) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			sigprocmask(SIG_SETMASK, &old, NULL);
			return -ETIMEDOUT;
		}
		left.tv_sec = ns / 1000000000L;
		left.tv_nsec = ns % 1000000000L;
		sig = sigtimedwait(&set, &si, &left);
		if (sig < 0 || sig == SIGCHLD)
			continue;
		/* Stopped by the operator or the system: take the child along. */
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		unlink(tmp);
		signal(sig, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		raise(sig);
		_exit(128 + sig);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
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
	if (!is_guid(owner)) {
		char esc[160];

		return ctl_fail(CTL_USAGE,
		                "firmware enroll: --owner '%s' is not a GUID "
		                "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, hex digits)",
		                hv_log_escape(esc, sizeof(esc), owner, strlen(owner), 100));
	}

	_cleanup_close_ int cfd = open_input(cert, FIRMWARE_MAX_CERT);

	if (cfd < 0)
		return input_fail(cfd, "certificate", cert, FIRMWARE_MAX_CERT);

	int r = check_cert(cfd);

	if (r == -EBADMSG || r == -EFBIG)
		return ctl_fail(CTL_INVALID, "firmware enroll: %s is not a PEM certificate", cert);
	if (r < 0)
		return ctl_fail(CTL_SYSTEM, "firmware enroll: %s: %s", cert, strerror(-r));

	_cleanup_close_ int tfd = open_input(tmpl, FIRMWARE_MAX_TEMPLATE);

	if (tfd < 0)
		return input_fail(tfd, "template", tmpl, FIRMWARE_MAX_TEMPLATE);

	/* Write beside the target and rename, so a failed run leaves no half store. */
	size_t n = strlen(out) + 16;
	_cleanup_free_ char *tmp = malloc(n);
	char cert_fd[32], tmpl_fd[32];

	if (!tmp)
		return ctl_fail(CTL_SYSTEM, "firmware enroll: out of memory");
	snprintf(tmp, n, "%s.tmp%ld", out, (long)getpid());
	snprintf(cert_fd, sizeof(cert_fd), "/dev/fd/%d", cfd);
	snprintf(tmpl_fd, sizeof(tmpl_fd), "/dev/fd/%d", tfd);

	char *args[] = {"virt-fw-vars", "--loglevel", "warning", "--input",
	                tmpl_fd,        "--output",   tmp,       "--add-db",
	                (char *)owner,  cert_fd,      NULL};

	r = run(args, tmp);
	if (r == -ENOENT)
		return ctl_fail(CTL_SYSTEM, "firmware enroll: virt-fw-vars not found "
		                            "(install python3-virt-firmware)");
	if (r < 0) {
		unlink(tmp);
		return ctl_fail(CTL_SYSTEM, "firmware enroll: virt-fw-vars %s",
		                r == -ETIMEDOUT ? "did not finish in " STR(
		                                          FIRMWARE_TIMEOUT_S) " s and was killed"
		                                : "failed");
	}
	if (chmod(tmp, 0644) < 0 || rename(tmp, out) < 0) {
		int e = errno;

		unlink(tmp);
		return ctl_file_fail(-e, "firmware enroll: ", out);
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
