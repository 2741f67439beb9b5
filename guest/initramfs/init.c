// SPDX-License-Identifier: Apache-2.0
/*
 * hvipe's initramfs init (PID 1, linked statically).
 *
 * Order matters for the trust chain (ARCHITECTURE section 3): everything that
 * execs from the initramfs (only hvipe-guestd) happens before an IPE policy is
 * active, because the policy denies execution from anything but the approved
 * verity roots. Once a policy is active, init switches root in-process and
 * execs /sbin/init of the verity root, whose root hash the policy allows.
 *
 *   1. mount proc, sysfs, devtmpfs, securityfs; console on fds 0-2
 *   2. load the modules listed in /etc/hvipe/modules (dependency order,
 *      resolved at image build time) with finit_module
 *   3. open the verity root: the root hash comes from hvipe.roothash= on the
 *      kernel command line, the geometry from /etc/hvipe/verity.conf, the
 *      host's signature over the hex root hash from /etc/hvipe/root.roothash.p7s
 *      (put in a keyring for dm-verity's root_hash_sig_key_desc; the kernel
 *      checks it against .platform, where the host certificate sits via the
 *      OVMF db); mount it read-only on /newroot
 *   4. run hvipe-guestd --once (attest, receive and activate the VM's policy)
 *   5. no active policy: hvipe.fail=closed halts (powers off); otherwise the
 *      host-signed fallback policy /etc/hvipe/fallback.p7s is activated
 *   6. switch_root to /newroot in this process and exec /sbin/init
 *
 * Every failure before step 6 powers the guest off: a guest that cannot
 * establish enforcement must not run code from its root. Each decision is
 * logged as one "hvipe-init: step=... key=value" line on the console and
 * in the kernel log.
 */
#include "bootparams.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <linux/keyctl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NEWROOT        "/newroot"
#define IPE_DIR        "/sys/kernel/security/ipe"
#define MODULE_LIST    "/etc/hvipe/modules"
#define VERITY_CONF    "/etc/hvipe/verity.conf"
#define ROOT_SIG       "/etc/hvipe/root.roothash.p7s"
#define FALLBACK       "/etc/hvipe/fallback.p7s"
#define FALLBACK_NAME  "hvipe_fallback"
#define GUESTD         "/bin/hvipe-guestd"
#define DM_NAME        "hvipe-root"
#define SIG_KEY_DESC   "hvipe:root-hash-sig"
#define DEVICE_WAIT_MS 60000
/* hvipe-guestd enforces its own deadline (hvipe.deadline_ms= or this
 * default); init kills it when it overruns that by the grace period. */
#define GUESTD_DEADLINE_MS 30000
#define GUESTD_GRACE_MS    15000
#define MAX_BLOB           65536u

static int kmsg_fd = -1;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n = snprintf(line, sizeof(line), "hvipe-init: ");

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nothing else to tell; the kernel log below still gets it. */
	}
	if (kmsg_fd >= 0 && write(kmsg_fd, line, (size_t)n) < 0) {
		/* /dev/kmsg rate-limits user lines; the console copy stays. */
	}
}

static __attribute__((noreturn)) void halt(const char *step, const char *reason, int err)
{
	say("step=%s action=poweroff reason=%s%s%s", step, reason, err ? " errno=" : "",
	    err ? strerror(err) : "");
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read a whole small file; returns its length or -errno (-EFBIG past @max). */
static ssize_t read_small(const char *path, char *buf, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf + got, max - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == max) {
			close(fd);
			return -EFBIG;
		}
	}
	close(fd);
	return (ssize_t)got;
}

/* One write() of the whole buffer, as securityfs needs; 0 or -errno. */
static int write_once(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;

	ssize_t n = write(fd, data, len);
	int e = n < 0 ? errno : 0;

	close(fd);
	if (n < 0)
		return -e;
	return (size_t)n == len ? 0 : -EIO;
}

static void mount_early(void)
{
	static const struct {
		const char *src, *dst, *type;
		unsigned long flags;
	} m[] = {
	        {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC},
	        {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC},
	        {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID},
	        {"securityfs", "/sys/kernel/security", "securityfs",
	         MS_NOSUID | MS_NODEV | MS_NOEXEC},
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		mkdir(m[i].dst, 0755);
		if (mount(m[i].src, m[i].dst, m[i].type, m[i].flags, NULL) < 0 && errno != EBUSY)
			halt("mount", m[i].dst, errno);
	}

	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
}

static void load_modules(void)
{
	static char list[16384];
	ssize_t n = read_small(MODULE_LIST, list, sizeof(list) - 1);
	int loaded = 0;

	if (n < 0)
		halt("modules", "no-module-list", (int)-n);
	list[n] = '\0';
	for (char *save = NULL, *p = strtok_r(list, "\n", &save); p;
	     p = strtok_r(NULL, "\n", &save)) {
		int fd = open(p, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			halt("modules", p, errno);
		if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST) {
			int e = errno;

			/* An accelerated variant for a CPU feature the guest lacks. */
			if (e == ENODEV) {
				say("step=modules module=%s result=skipped errno=%s", p,
				    strerror(e));
				close(fd);
				continue;
			}

			say("step=modules module=%s result=failed errno=%s", p, strerror(e));
			halt("modules", "load-failed", e);
		}
		close(fd);
		loaded++;
	}
	say("step=modules result=ok loaded=%d", loaded);
}

static void wait_for(const char *path)
{
	long end = now_ms() + DEVICE_WAIT_MS;
	struct stat st;

	while (stat(path, &st) < 0) {
		if (now_ms() > end)
			halt("devices", path, ENODEV);
		poll(NULL, 0, 50);
	}
}

static void dm_init(struct dm_ioctl *io, size_t size, const char *name)
{
	memset(io, 0, size);
	io->version[0] = DM_VERSION_MAJOR;
	io->version[1] = 0;
	io->version[2] = 0;
	io->data_size = (uint32_t)size;
	io->data_start = sizeof(*io);
	snprintf(io->name, sizeof(io->name), "%s", name);
}

/*
 * Create the verity device and return its minor number. The signature key is
 * placed in this process's keyring, where dm-verity's request_key finds it
 * while the table is being loaded; it is unlinked afterwards.
 */
static unsigned open_verity(const struct boot_cmdline *cl, const struct verity_conf *vc)
{
	static char sig[MAX_BLOB];
	static union {
		struct dm_ioctl io;
		char raw[16384];
	} u;
	char params[2048];
	ssize_t siglen = read_small(ROOT_SIG, sig, sizeof(sig));
	const char *desc = NULL;
	long key = -1;

	if (siglen == -ENOENT) {
		say("step=verity signature=absent");
	} else if (siglen <= 0) {
		halt("verity", "bad-signature-file", siglen < 0 ? (int)-siglen : EBADMSG);
	} else {
		key = syscall(SYS_add_key, "user", SIG_KEY_DESC, sig, (size_t)siglen,
		              KEY_SPEC_PROCESS_KEYRING);
		if (key < 0)
			halt("verity", "add-key", errno);
		desc = SIG_KEY_DESC;
	}
	if (boot_verity_params(vc, cl->roothash, desc, params, sizeof(params)) < 0)
		halt("verity", "params-too-long", ENOBUFS);

	int ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);

	if (ctl < 0)
		halt("verity", "dm-control", errno);

	dm_init(&u.io, sizeof(u), DM_NAME);
	snprintf(u.io.uuid, sizeof(u.io.uuid), "HVIPE-VERITY-%s", DM_NAME);
	if (ioctl(ctl, DM_DEV_CREATE, &u.io) < 0)
		halt("verity", "dm-create", errno);

	dm_init(&u.io, sizeof(u), DM_NAME);
	u.io.flags = DM_READONLY_FLAG;
	u.io.target_count = 1;

	struct dm_target_spec *t = (struct dm_target_spec *)(u.raw + sizeof(u.io));
	size_t plen = strlen(params) + 1;

	if (sizeof(u.io) + sizeof(*t) + plen > sizeof(u))
		halt("verity", "table-too-long", ENOBUFS);
	t->sector_start = 0;
	t->length = vc->data_blocks * (vc->data_block_size / 512);
	snprintf(t->target_type, sizeof(t->target_type), "verity");
	memcpy((char *)(t + 1), params, plen);
	t->next = (uint32_t)((sizeof(*t) + plen + 7) & ~(size_t)7);
	if (ioctl(ctl, DM_TABLE_LOAD, &u.io) < 0) {
		int e = errno;

		/* EKEYREJECTED or ENOKEY here: the signature did not verify. */
		say("step=verity result=table-rejected signature=%s errno=%s",
		    desc ? "present" : "absent", strerror(e));
		halt("verity", "table-load", e);
	}

	dm_init(&u.io, sizeof(u), DM_NAME);
	if (ioctl(ctl, DM_DEV_SUSPEND, &u.io) < 0) /* no suspend flag: resume */
		halt("verity", "dm-resume", errno);
	close(ctl);
	if (key >= 0)
		syscall(SYS_keyctl, KEYCTL_UNLINK, key, KEY_SPEC_PROCESS_KEYRING);

	unsigned minor = minor(u.io.dev);

	say("step=verity result=ok device=dm-%u roothash=%s:%s signature=%s", minor, vc->alg,
	    cl->roothash, desc ? "verified" : "none");
	return minor;
}

static void mount_root(unsigned minor)
{
	char dev[32];

	snprintf(dev, sizeof(dev), "/dev/dm-%u", minor);
	wait_for(dev);
	mkdir(NEWROOT, 0755);
	if (mount(dev, NEWROOT, "erofs", MS_RDONLY | MS_NODEV, NULL) < 0)
		halt("mount-root", dev, errno);
	say("step=mount-root result=ok device=%s fs=erofs mode=ro", dev);
}

/*
 * Run hvipe-guestd --once. Returns its exit status, 127 when it is not in
 * the initramfs, 126 when it was killed at the deadline.
 */
static int run_guestd(const struct boot_cmdline *cl)
{
	char deadline[16];
	char *argv[] = {"hvipe-guestd",  "--once", "--fallback", FALLBACK,
	                "--deadline-ms", deadline, NULL};
	struct stat st;

	if (stat(GUESTD, &st) < 0) {
		say("step=guestd result=absent");
		return 127;
	}
	unsigned deadline_ms = cl->deadline_ms ? cl->deadline_ms : GUESTD_DEADLINE_MS;

	snprintf(deadline, sizeof(deadline), "%u", deadline_ms);

	pid_t pid = fork();

	if (pid < 0)
		halt("guestd", "fork", errno);
	if (pid == 0) {
		execv(GUESTD, argv);
		_exit(127);
	}

	long end = now_ms() + (long)deadline_ms + GUESTD_GRACE_MS;
	int status;

	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			halt("guestd", "wait", errno);
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			say("step=guestd result=killed reason=deadline");
			return 126;
		}
		poll(NULL, 0, 100);
	}

	int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

	say("step=guestd result=%s status=%d fail=%s", rc ? "failed" : "ok", rc,
	    cl->fail_closed ? "closed" : "open");
	return rc;
}

/* Name of the active IPE policy into @name, or -ENOENT when none is. */
static int active_policy(char *name, size_t size)
{
	DIR *d = opendir(IPE_DIR "/policies");
	struct dirent *e;
	int r = -ENOENT;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char path[512], v[8];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), IPE_DIR "/policies/%s/active", e->d_name);

		ssize_t n = read_small(path, v, sizeof(v));

		if (n > 0 && v[0] == '1') {
			snprintf(name, size, "%s", e->d_name);
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

static void activate_fallback(void)
{
	static char blob[MAX_BLOB];
	ssize_t n = read_small(FALLBACK, blob, sizeof(blob));
	int r;

	if (n <= 0)
		halt("fallback", "no-fallback-policy", n < 0 ? (int)-n : EBADMSG);
	r = write_once(IPE_DIR "/new_policy", blob, (size_t)n);
	if (r < 0 && r != -EEXIST)
		halt("fallback", "load", -r);
	r = write_once(IPE_DIR "/policies/" FALLBACK_NAME "/active", "1", 1);
	if (r < 0)
		halt("fallback", "activate", -r);
	say("step=fallback result=active policy=" FALLBACK_NAME);
}

static void ensure_enforcing(void)
{
	char v[4];
	ssize_t n = read_small(IPE_DIR "/enforce", v, sizeof(v));

	if (n > 0 && v[0] == '1')
		return;

	int r = write_once(IPE_DIR "/enforce", "1", 1);

	if (r < 0)
		halt("enforce", "cannot-enforce", -r);
	say("step=enforce result=switched-on");
}

/* Remove the initramfs' files (same device only) to free its memory. */
static void delete_tree(int dfd, dev_t rootdev)
{
	DIR *d = fdopendir(dfd);
	struct dirent *e;

	if (!d) {
		close(dfd);
		return;
	}
	while ((e = readdir(d))) {
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    st.st_dev != rootdev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (sub >= 0)
				delete_tree(sub, rootdev);
			unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dirfd(d), e->d_name, 0);
		}
	}
	closedir(d);
}

static __attribute__((noreturn)) void switch_root(const char *policy)
{
	static const char *const moves[] = {"/dev", "/proc", "/sys"};
	char dst[64];
	struct stat st;

	for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
		snprintf(dst, sizeof(dst), NEWROOT "%s", moves[i]);
		if (mount(moves[i], dst, NULL, MS_MOVE, NULL) < 0)
			halt("switch-root", moves[i], errno);
	}
	if (chdir(NEWROOT) < 0 || stat("/", &st) < 0)
		halt("switch-root", "chdir", errno);

	int rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (rootfd >= 0)
		delete_tree(rootfd, st.st_dev);
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		halt("switch-root", "move", errno);
	if (chroot(".") < 0 || chdir("/") < 0)
		halt("switch-root", "chroot", errno);

	say("step=switch-root result=ok policy=%s exec=/sbin/init", policy);
	if (kmsg_fd >= 0)
		close(kmsg_fd);

	char *argv[] = {"/sbin/init", NULL};

	execv(argv[0], argv);
	kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	halt("exec-init", "/sbin/init", errno);
}

int main(int argc, char **argv)
{
	static char cmdline[BP_MAX_CMDLINE + 1], vconf[4097];
	struct boot_cmdline cl;
	struct verity_conf vc;
	char policy[256];

	/* Everything below mounts, loads modules and powers off: PID 1 only. */
	if (getpid() != 1) {
		bool help = argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));

		fprintf(help ? stdout : stderr,
		        "usage: /init (as PID 1 of an hvipe guest initramfs only)\n\n"
		        "Opens the dm-verity root named by hvipe.roothash= with its host\n"
		        "signature, runs hvipe-guestd --once, activates the host's policy or\n"
		        "the fallback (or powers off with hvipe.fail=closed) and switches\n"
		        "root. See hvipe-init(8).\n");
		return help ? 0 : 2;
	}
	mount_early();
	say("step=start");

	ssize_t n = read_small("/proc/cmdline", cmdline, sizeof(cmdline));
	int r;

	if (n < 0)
		halt("cmdline", "unreadable", (int)-n);
	r = boot_parse_cmdline(cmdline, (size_t)n, &cl);
	if (r < 0)
		halt("cmdline", "malformed-hvipe-parameter", -r);
	if (!cl.roothash[0])
		halt("cmdline", "no-hvipe.roothash", EINVAL);

	n = read_small(VERITY_CONF, vconf, sizeof(vconf));
	if (n < 0)
		halt("verity", "no-verity.conf", (int)-n);
	r = boot_parse_verity_conf(vconf, (size_t)n, &vc);
	if (r < 0)
		halt("verity", "malformed-verity.conf", -r);

	load_modules();
	wait_for(vc.data_dev);
	wait_for(vc.hash_dev);
	mount_root(open_verity(&cl, &vc));

	int rc = run_guestd(&cl);

	if (rc != 0 && cl.fail_closed)
		halt("guestd", "host-unreachable-fail-closed", 0);
	if (active_policy(policy, sizeof(policy)) < 0) {
		if (cl.fail_closed)
			halt("policy", "none-active-fail-closed", 0);
		activate_fallback();
		if (active_policy(policy, sizeof(policy)) < 0)
			halt("policy", "fallback-not-active", 0);
	}
	ensure_enforcing();
	say("step=policy result=active policy=%s enforce=1", policy);
	switch_root(policy);
}
