// SPDX-License-Identifier: Apache-2.0
/*
 * hvipe-vmcheck: the few probes the VM self-checks need that busybox lacks.
 *
 *   hvipe-vmcheck finit PATH       finit_module(PATH); prints result=ok or
 *                                  errno=NAME (exit 0 / 1)
 *   hvipe-vmcheck dm-table NAME    prints the live device-mapper table of NAME
 *
 * It runs inside test guests only and is shipped in the minimal image.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int do_finit(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		printf("errno=%s\n", strerrorname_np(errno));
		return 1;
	}
	if (syscall(SYS_finit_module, fd, "", 0) < 0) {
		printf("errno=%s\n", strerrorname_np(errno));
		close(fd);
		return 1;
	}
	close(fd);
	printf("result=ok\n");
	return 0;
}

static int do_table(const char *name)
{
	static union {
		struct dm_ioctl io;
		char raw[16384];
	} u;
	int ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);

	if (ctl < 0) {
		printf("errno=%s\n", strerrorname_np(errno));
		return 1;
	}
	u.io.version[0] = DM_VERSION_MAJOR;
	u.io.data_size = sizeof(u);
	u.io.data_start = sizeof(u.io);
	u.io.flags = DM_STATUS_TABLE_FLAG;
	snprintf(u.io.name, sizeof(u.io.name), "%s", name);
	if (ioctl(ctl, DM_TABLE_STATUS, &u.io) < 0 || (u.io.flags & DM_BUFFER_FULL_FLAG)) {
		printf("errno=%s\n", strerrorname_np(errno));
		close(ctl);
		return 1;
	}
	close(ctl);

	size_t off = u.io.data_start;

	for (unsigned i = 0; i < u.io.target_count; i++) {
		if (off + sizeof(struct dm_target_spec) >= sizeof(u))
			return 1;

		struct dm_target_spec *t = (struct dm_target_spec *)(u.raw + off);
		const char *params = (const char *)(t + 1);
		size_t room = sizeof(u) - off - sizeof(*t);

		printf("%s %.*s\n", t->target_type, (int)strnlen(params, room), params);
		if (t->next == 0)
			break;
		off = u.io.data_start + t->next;
	}
	printf("flags=%s\n", (u.io.flags & DM_READONLY_FLAG) ? "ro" : "rw");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "finit"))
		return do_finit(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "dm-table"))
		return do_table(argv[2]);
	fprintf(stderr, "usage: hvipe-vmcheck finit PATH | dm-table NAME\n");
	return 2;
}
