/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guard_test: the VM test's helper. Run from its own inode it is the agent
 * the guard was armed for (serve, status, ids, write, config-write); a copy
 * on tmpfs is a different executable and plays the attacker (ptrace,
 * setexe, traceme-exec, bpf-get, obj-get, load). Each verb prints one
 * line and exits 0 on success, 1 with strerror() on failure, so the shell
 * test can match "Operation not permitted".
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/types.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest/guard/guard.h"
#include "guest/guard/guard_abi.h"

static int result(const char *what, int r)
{
	if (r < 0) {
		printf("%s: %s\n", what, strerror(-r));
		return 1;
	}
	printf("%s: ok\n", what);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

static int do_serve(void)
{
	struct sigaction sa = {.sa_handler = on_term};

	sigaction(SIGTERM, &sa, NULL);
	printf("serving pid=%d\n", (int)getpid());
	fflush(stdout);
	while (!stop)
		pause();
	printf("serve: stopped by SIGTERM\n");
	return 0;
}

static int do_status(const char *pin)
{
	struct hv_guard *g = NULL;
	struct hv_guard_report rep;
	int r = hv_guard_open(pin, &g);

	if (r == 0) {
		r = hv_guard_read(g, &rep);
		hv_guard_free(g);
	}
	if (r < 0)
		return result("status", r);
	printf("armed=%d programs=%zu refusals=%llu\n", rep.armed, rep.nprogs,
	       (unsigned long long)rep.total);
	for (size_t i = 0; i < rep.nprogs; i++)
		printf("program=%s tag=%s\n", rep.names[i], rep.tags[i]);
	for (unsigned int k = 0; k < HV_GUARD_KINDS; k++)
		printf("refused=%s count=%llu last_pid=%u last_comm=%s\n", rep.kinds[k].what,
		       (unsigned long long)rep.kinds[k].count, rep.kinds[k].pid, rep.kinds[k].comm);
	return 0;
}

static int config_fd(const char *pin)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/config", pin);
	return bpf_obj_get(path);
}

static int do_ids(const char *pin)
{
	struct guard_config c;
	__u32 key = 0;
	int fd = config_fd(pin);

	if (fd < 0 || bpf_map_lookup_elem(fd, &key, &c) < 0)
		return result("ids", -errno);
	for (int i = 0; i < GUARD_MAX_PROGS; i++)
		if (c.prog_ids[i])
			printf("prog %u\n", c.prog_ids[i]);
	for (int i = 0; i < GUARD_MAX_MAPS; i++)
		if (c.map_ids[i])
			printf("map %u\n", c.map_ids[i]);
	for (int i = 0; i < GUARD_MAX_LINKS; i++)
		if (c.link_ids[i])
			printf("link %u\n", c.link_ids[i]);
	return 0;
}

static int do_config_write(const char *pin)
{
	struct guard_config c = {0};
	__u32 key = 0;
	int fd = config_fd(pin);

	if (fd < 0)
		return result("config-write", -errno);
	if (bpf_map_update_elem(fd, &key, &c, BPF_ANY) < 0)
		return result("config-write", -errno);
	return result("config-write", 0);
}

static int do_write(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return result("open", -errno);
	n = write(fd, data, strlen(data));
	close(fd);
	return result("write", n < 0 ? -errno : 0);
}

static int do_setexe(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return result("open", -errno);
	if (prctl(PR_SET_MM, PR_SET_MM_EXE_FILE, fd, 0, 0) < 0)
		return result("setexe", -errno);
	return result("setexe", 0);
}

static int do_traceme_exec(char *path)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return result("fork", -errno);
	if (pid == 0) {
		char *argv[] = {path, "--help", NULL};

		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execv(path, argv);
		_exit(100 + errno);
	}
	/* A traced child stops at exec; if exec failed it exited instead. */
	if (waitpid(pid, &st, 0) < 0)
		return result("waitpid", -errno);
	if (WIFEXITED(st) && WEXITSTATUS(st) >= 100)
		return result("traceme-exec", -(WEXITSTATUS(st) - 100));
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return result("traceme-exec", 0);
}

static int do_bpf_get(const char *kind, unsigned int id)
{
	int fd;

	if (!strcmp(kind, "prog"))
		fd = bpf_prog_get_fd_by_id(id);
	else if (!strcmp(kind, "map"))
		fd = bpf_map_get_fd_by_id(id);
	else
		fd = bpf_link_get_fd_by_id(id);
	return result("bpf-get", fd < 0 ? -errno : 0);
}

/* Load a two-instruction program (r0 = 0; exit) of type @type. */
static int do_load_type(const char *type)
{
	static const struct bpf_insn insns[] = {
	        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	        {.code = BPF_JMP | BPF_EXIT},
	};
	enum bpf_prog_type t;
	int fd;

	if (!strcmp(type, "kprobe"))
		t = BPF_PROG_TYPE_KPROBE;
	else if (!strcmp(type, "socket_filter"))
		t = BPF_PROG_TYPE_SOCKET_FILTER;
	else
		return result("load-type", -EINVAL);
	fd = bpf_prog_load(t, "guard_test", "GPL", insns, 2, NULL);
	if (fd < 0)
		return result("load-type", fd);
	close(fd);
	return result("load-type", 0);
}

static int do_load(const char *obj_path)
{
	struct bpf_object *obj = bpf_object__open_file(obj_path, NULL);
	int r;

	if (!obj)
		return result("open", -errno);
	r = bpf_object__load(obj);
	bpf_object__close(obj);
	return result("load", r);
}

int main(int argc, char **argv)
{
	const char *pin = getenv("GUARD_PIN") ? getenv("GUARD_PIN") : HV_GUARD_PIN_DIR;

	if (argc < 2) {
		fprintf(stderr, "usage: guard_test VERB [ARGS] (see the source)\n");
		return 2;
	}
	libbpf_set_print(NULL);
	if (!strcmp(argv[1], "serve"))
		return do_serve();
	if (!strcmp(argv[1], "status"))
		return do_status(pin);
	if (!strcmp(argv[1], "ids"))
		return do_ids(pin);
	if (!strcmp(argv[1], "config-write"))
		return do_config_write(pin);
	if (!strcmp(argv[1], "write") && argc == 4)
		return do_write(argv[2], argv[3]);
	if (!strcmp(argv[1], "ptrace") && argc == 3) {
		long r = ptrace(PTRACE_ATTACH, atoi(argv[2]), NULL, NULL);

		return result("ptrace", r < 0 ? -errno : 0);
	}
	if (!strcmp(argv[1], "setexe") && argc == 3)
		return do_setexe(argv[2]);
	if (!strcmp(argv[1], "traceme-exec") && argc == 3)
		return do_traceme_exec(argv[2]);
	if (!strcmp(argv[1], "bpf-get") && argc == 4)
		return do_bpf_get(argv[2], (unsigned int)strtoul(argv[3], NULL, 10));
	if (!strcmp(argv[1], "obj-get") && argc == 3) {
		int fd = bpf_obj_get(argv[2]);

		return result("obj-get", fd < 0 ? -errno : 0);
	}
	if (!strcmp(argv[1], "load") && argc == 3)
		return do_load(argv[2]);
	if (!strcmp(argv[1], "load-type") && argc == 3)
		return do_load_type(argv[2]);
	fprintf(stderr, "guard_test: unknown verb or arguments\n");
	return 2;
}
