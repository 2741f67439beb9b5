/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loader for the BPF LSM guard: see guard.h for the contract and
 * guard.bpf.c for what the armed hooks refuse.
 */
#include "guard.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "guard.skel.h"
#include "guard_abi.h"
#include "util/cleanup.h"

_Static_assert(HV_GUARD_KINDS == GUARD_KINDS, "guard.h and guard_abi.h disagree");
_Static_assert(HV_GUARD_MAX_PROGS == GUARD_MAX_PROGS, "guard.h and guard_abi.h disagree");

#define BPF_FS_MAGIC    0xcafe4a11
#define PIN_CONFIG      "config"
#define PIN_REFUSALS    "refusals"
#define PIN_LINK_PREFIX "link_"

struct hv_guard {
	struct guard *skel; /* NULL when opened from pins */
	int config_fd;
	int refusals_fd;
	size_t nprogs;
	char names[GUARD_MAX_PROGS][16];
	char tags[GUARD_MAX_PROGS][HV_GUARD_TAG_HEX];
};

static const char *const kind_names[GUARD_KINDS] = {
        [GUARD_IPE_WRITE] = "ipe_write",
        [GUARD_IPE_ENFORCE] = "ipe_enforce",
        [GUARD_SIGNAL] = "signal",
        [GUARD_PTRACE] = "ptrace",
        [GUARD_BPF] = "bpf",
        [GUARD_BPF_LOAD] = "bpf_load",
        [GUARD_PIN] = "pin",
        [GUARD_IDENTITY] = "identity",
};

const char *hv_guard_kind_name(unsigned int kind)
{
	return kind < GUARD_KINDS ? kind_names[kind] : NULL;
}

int hv_guard_lsm_active(const char *securityfs)
{
	char path[PATH_MAX], buf[512];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/lsm", securityfs ? securityfs : "/sys/kernel/security");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	for (char *save = NULL, *tok = strtok_r(buf, ",\n", &save); tok;
	     tok = strtok_r(NULL, ",\n", &save))
		if (strcmp(tok, "bpf") == 0)
			return 0;
	return -EOPNOTSUPP;
}

static inline void hv_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static void closep_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int prog_info(int fd, struct bpf_prog_info *info)
{
	uint32_t len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

static int map_id(int fd, uint32_t *id)
{
	struct bpf_map_info info = {0};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*id = info.id;
	return 0;
}

static int link_info(int fd, struct bpf_link_info *info)
{
	uint32_t len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

static void tag_hex(const uint8_t tag[BPF_TAG_SIZE], char out[HV_GUARD_TAG_HEX])
{
	for (int i = 0; i < BPF_TAG_SIZE; i++)
		snprintf(out + 2 * i, 3, "%02x", tag[i]);
}

/* Record one program's name and tag, keeping the table sorted by name. */
static int add_prog(struct hv_guard *g, const struct bpf_prog_info *info)
{
	size_t i;

	if (g->nprogs >= GUARD_MAX_PROGS)
		return -E2BIG;
	for (i = g->nprogs; i > 0 && strncmp(g->names[i - 1], info->name, 16) > 0; i--) {
		memcpy(g->names[i], g->names[i - 1], sizeof(g->names[i]));
		memcpy(g->tags[i], g->tags[i - 1], sizeof(g->tags[i]));
	}
	memset(g->names[i], 0, sizeof(g->names[i]));
	memcpy(g->names[i], info->name, sizeof(g->names[i]) - 1);
	tag_hex(info->tag, g->tags[i]);
	g->nprogs++;
	return 0;
}

static void guard_free_fds(struct hv_guard *g)
{
	closep_fd(&g->config_fd);
	closep_fd(&g->refusals_fd);
	guard__destroy(g->skel);
	g->skel = NULL;
}

void hv_guard_free(struct hv_guard *g)
{
	if (!g)
		return;
	guard_free_fds(g);
	free(g);
}

static struct hv_guard *guard_new(void)
{
	struct hv_guard *g = calloc(1, sizeof(*g));

	if (g) {
		g->config_fd = -1;
		g->refusals_fd = -1;
	}
	return g;
}

/* Load (not attach) the skeleton and record program names and tags. */
static int guard_load(struct hv_guard *g)
{
	struct bpf_program *prog;
	int r;

	g->skel = guard__open_and_load();
	if (!g->skel)
		return errno ? -errno : -EINVAL;
	bpf_object__for_each_program(prog, g->skel->obj)
	{
		struct bpf_prog_info info;

		r = prog_info(bpf_program__fd(prog), &info);
		if (r < 0)
			return r;
		r = add_prog(g, &info);
		if (r < 0)
			return r;
	}
	return 0;
}

int hv_guard_probe(struct hv_guard_report *r)
{
	struct hv_guard *g = guard_new();
	int ret;

	if (!g)
		return -ENOMEM;
	ret = guard_load(g);
	if (ret == 0) {
		memset(r, 0, sizeof(*r));
		r->nprogs = g->nprogs;
		memcpy(r->names, g->names, sizeof(r->names));
		memcpy(r->tags, g->tags, sizeof(r->tags));
		for (unsigned int k = 0; k < GUARD_KINDS; k++)
			r->kinds[k].what = kind_names[k];
	}
	hv_guard_free(g);
	return ret;
}

static int pin_path(char *buf, size_t len, const char *dir, const char *prefix, const char *name)
{
	int n = snprintf(buf, len, "%s/%s%s", dir, prefix, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Remove everything arm() pinned; used only before the guard is armed. */
static void unpin_all(const char *dir)
{
	_cleanup_(hv_closedirp) DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && pin_path(path, sizeof(path), dir, "", e->d_name) == 0)
			unlink(path);
	rmdir(dir);
}

static int pin_and_configure(struct hv_guard *g, const char *dir, struct guard_config *cfg)
{
	const struct bpf_object_skeleton *s = g->skel->skeleton;
	struct bpf_map *map;
	char path[PATH_MAX];
	int r, n = 0;

	for (int i = 0; i < s->prog_cnt && i < GUARD_MAX_PROGS; i++) {
		struct bpf_link *link = *s->progs[i].link;
		struct bpf_link_info li;
		struct bpf_prog_info pi;

		if (!link)
			return -ENOLINK;
		r = prog_info(bpf_program__fd(*s->progs[i].prog), &pi);
		if (r < 0)
			return r;
		r = link_info(bpf_link__fd(link), &li);
		if (r < 0)
			return r;
		cfg->prog_ids[i] = pi.id;
		cfg->link_ids[i] = li.id;
		r = pin_path(path, sizeof(path), dir, PIN_LINK_PREFIX, pi.name);
		if (r < 0)
			return r;
		r = bpf_link__pin(link, path);
		if (r < 0)
			return r;
	}
	bpf_object__for_each_map(map, g->skel->obj)
	{
		if (n >= GUARD_MAX_MAPS)
			return -E2BIG;
		r = map_id(bpf_map__fd(map), &cfg->map_ids[n++]);
		if (r < 0)
			return r;
	}
	r = pin_path(path, sizeof(path), dir, "", PIN_REFUSALS);
	if (r == 0)
		r = bpf_map__pin(g->skel->maps.guard_refusals, path);
	if (r == 0)
		r = pin_path(path, sizeof(path), dir, "", PIN_CONFIG);
	if (r == 0)
		r = bpf_map__pin(g->skel->maps.guard_config, path);
	return r;
}

static int arm_steps(struct hv_guard *g, const struct stat *agent, const char *dir)
{
	struct guard_config cfg = {0};
	struct stat pin;
	uint32_t key = 0;
	int r, cfd;

	if (g->skel->skeleton->prog_cnt > GUARD_MAX_PROGS)
		return -E2BIG;
	r = guard__attach(g->skel);
	if (r < 0)
		return r;
	if (mkdir(dir, 0700) < 0)
		return -errno;
	if (stat(dir, &pin) < 0)
		return -errno;
	r = pin_and_configure(g, dir, &cfg);
	if (r < 0)
		return r;

	cfg.agent_dev = (uint64_t)major(agent->st_dev) << 20 | minor(agent->st_dev);
	cfg.agent_ino = agent->st_ino;
	cfg.pin_dev = (uint64_t)major(pin.st_dev) << 20 | minor(pin.st_dev);
	cfg.pin_ino = pin.st_ino;
	cfg.armed = 1;
	cfd = bpf_map__fd(g->skel->maps.guard_config);
	if (bpf_map_update_elem(cfd, &key, &cfg, BPF_ANY) < 0)
		return -errno;
	if (bpf_map_freeze(cfd) < 0)
		return -errno;
	return 0;
}

/*
 * The pins need a bpffs at the pin directory's parent. systemd mounts one at
 * /sys/fs/bpf; a minimal init does not, so mount it when it is missing.
 */
static int ensure_bpffs(const char *dir)
{
	char parent[PATH_MAX];
	struct statfs sfs;
	char *slash;

	if (strlen(dir) >= sizeof(parent))
		return -ENAMETOOLONG;
	strcpy(parent, dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return -EINVAL;
	*slash = '\0';
	if (statfs(parent, &sfs) < 0)
		return -errno;
	if (sfs.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", parent, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
		return -errno;
	return 0;
}

int hv_guard_arm(const char *agent_exe, const char *pin_dir, struct hv_guard **out)
{
	const char *dir = pin_dir ? pin_dir : HV_GUARD_PIN_DIR;
	struct hv_guard *g;
	struct stat agent;
	int r;

	if (stat(agent_exe, &agent) < 0)
		return -errno;
	if (!S_ISREG(agent.st_mode))
		return -EINVAL;
	if (access(dir, F_OK) == 0)
		return -EEXIST;
	r = hv_guard_lsm_active(NULL);
	if (r < 0)
		return r == -EOPNOTSUPP ? r : -EOPNOTSUPP;
	r = ensure_bpffs(dir);
	if (r < 0)
		return r;

	g = guard_new();
	if (!g)
		return -ENOMEM;
	r = guard_load(g);
	if (r == 0)
		r = arm_steps(g, &agent, dir);
	if (r < 0) {
		guard_free_fds(g); /* detaches: the links are still ours */
		unpin_all(dir);
		free(g);
		return r;
	}
	g->config_fd = dup(bpf_map__fd(g->skel->maps.guard_config));
	g->refusals_fd = dup(bpf_map__fd(g->skel->maps.guard_refusals));
	if (g->config_fd < 0 || g->refusals_fd < 0) {
		/* Armed and pinned already: keep it, report the failure. */
		r = -errno;
		hv_guard_free(g);
		return r;
	}
	*out = g;
	return 0;
}

/* Read the tag of the program behind one pinned link. */
static int open_link(struct hv_guard *g, const char *path)
{
	_cleanup_close_ int lfd = bpf_obj_get(path);
	_cleanup_close_ int pfd = -1;
	struct bpf_link_info li;
	struct bpf_prog_info pi;
	int r;

	if (lfd < 0)
		return -errno;
	r = link_info(lfd, &li);
	if (r < 0)
		return r;
	pfd = bpf_prog_get_fd_by_id(li.prog_id);
	if (pfd < 0)
		return -errno;
	r = prog_info(pfd, &pi);
	return r < 0 ? r : add_prog(g, &pi);
}

static int open_pins(struct hv_guard *g, const char *dir)
{
	_cleanup_(hv_closedirp) DIR *d = NULL;
	char path[PATH_MAX];
	struct dirent *e;
	int r;

	r = pin_path(path, sizeof(path), dir, "", PIN_CONFIG);
	if (r < 0)
		return r;
	g->config_fd = bpf_obj_get(path);
	if (g->config_fd < 0)
		return -errno;
	r = pin_path(path, sizeof(path), dir, "", PIN_REFUSALS);
	if (r < 0)
		return r;
	g->refusals_fd = bpf_obj_get(path);
	if (g->refusals_fd < 0)
		return -errno;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, PIN_LINK_PREFIX, strlen(PIN_LINK_PREFIX)) != 0)
			continue;
		r = pin_path(path, sizeof(path), dir, "", e->d_name);
		if (r == 0)
			r = open_link(g, path);
		if (r < 0)
			return r;
	}
	return 0;
}

int hv_guard_open(const char *pin_dir, struct hv_guard **out)
{
	struct hv_guard *g = guard_new();
	int r;

	if (!g)
		return -ENOMEM;
	r = open_pins(g, pin_dir ? pin_dir : HV_GUARD_PIN_DIR);
	if (r < 0) {
		hv_guard_free(g);
		return r;
	}
	*out = g;
	return 0;
}

int hv_guard_read(struct hv_guard *g, struct hv_guard_report *r)
{
	struct guard_config cfg;
	struct hv_guard_report rep = {0};
	uint32_t key = 0;

	if (bpf_map_lookup_elem(g->config_fd, &key, &cfg) < 0)
		return -errno;
	rep.armed = cfg.armed != 0;
	rep.nprogs = g->nprogs;
	memcpy(rep.names, g->names, sizeof(rep.names));
	memcpy(rep.tags, g->tags, sizeof(rep.tags));
	for (uint32_t k = 0; k < GUARD_KINDS; k++) {
		struct guard_refusal v;

		if (bpf_map_lookup_elem(g->refusals_fd, &k, &v) < 0)
			return -errno;
		rep.kinds[k].what = kind_names[k];
		rep.kinds[k].count = v.count;
		rep.kinds[k].pid = v.pid;
		memcpy(rep.kinds[k].comm, v.comm, sizeof(rep.kinds[k].comm));
		rep.kinds[k].comm[sizeof(rep.kinds[k].comm) - 1] = '\0';
		rep.total += v.count;
	}
	*r = rep;
	return 0;
}
