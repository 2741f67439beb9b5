// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * hvipe guard: a BPF LSM that locks IPE's controls inside the guest.
 *
 * Every hook allows everything until the loader has written an armed config
 * (guard_abi.h) and frozen the config map. Once armed:
 *   - only the agent may open IPE's securityfs files for writing, and nobody
 *     may write ipe/enforce;
 *   - only the agent and PID 1 (SIGTERM, SIGKILL: the shutdown signals) may
 *     signal the agent; nobody else may ptrace it or open its memory, and a
 *     traced process may not exec the agent's binary;
 *   - no process may change its recorded executable (prctl PR_SET_MM), which
 *     is what the agent's identity rests on;
 *   - only the agent may obtain file descriptors for the guard's programs,
 *     maps and links, reach the pin directory, or load tracing, LSM, struct_ops
 *     or extension programs (they could rewrite a hook's verdict or kill the
 *     agent from inside); nobody may unmount the bpffs holding the pins.
 * The agent is the executable whose (device, inode) the loader configured:
 * a file on the dm-verity root, which no process can fake.
 * Each refusal returns -EPERM and is counted per kind in the refusals map.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "guard_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EPERM              1
#define SIGKILL            9
#define SIGTERM            15
#define FMODE_WRITE        0x2
#define MAY_WRITE          0x2
#define MAY_APPEND         0x8
#define PTRACE_MODE_ATTACH 0x2
#define PR_SET_MM          35
#define PR_SET_MM_EXE_FILE 13
#define PR_SET_MM_MAP      14
#define SECURITYFS_MAGIC   0x73636673
#define BPF_FS_MAGIC       0xcafe4a11
/* Levels walked up from an IPE file to the securityfs root
 * (ipe/policies/<name>/<file> is the deepest). */
#define IPE_MAX_DEPTH 6

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct guard_config);
} guard_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GUARD_KINDS);
	__type(key, __u32);
	__type(value, struct guard_refusal);
} guard_refusals SEC(".maps");

static __always_inline const struct guard_config *armed_config(void)
{
	__u32 key = 0;
	const struct guard_config *c = bpf_map_lookup_elem(&guard_config, &key);

	if (!c || !c->armed)
		return NULL;
	return c;
}

static __always_inline int refuse(__u32 kind)
{
	struct guard_refusal *r = bpf_map_lookup_elem(&guard_refusals, &kind);

	if (r) {
		__sync_fetch_and_add(&r->count, 1);
		r->pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(r->comm, sizeof(r->comm));
	}
	return -EPERM;
}

static __always_inline bool inode_is(struct inode *ino, __u64 dev, __u64 nr)
{
	if (!ino)
		return false;
	return BPF_CORE_READ(ino, i_ino) == nr && BPF_CORE_READ(ino, i_sb, s_dev) == dev;
}

static __always_inline bool task_is_agent(struct task_struct *t, const struct guard_config *c)
{
	return inode_is(BPF_CORE_READ(t, mm, exe_file, f_inode), c->agent_dev, c->agent_ino);
}

static __always_inline bool current_is_agent(const struct guard_config *c)
{
	return task_is_agent(bpf_get_current_task_btf(), c);
}

/* Little-endian word of up to 8 name bytes, for comparing dentry names
 * without string constants. */
#define NAME_WORD(a, b, c, d, e, f, g, h)                                                          \
	((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 | (__u64)(e) << 32 |   \
	 (__u64)(f) << 40 | (__u64)(g) << 48 | (__u64)(h) << 56)
#define NAME_IPE     NAME_WORD('i', 'p', 'e', 0, 0, 0, 0, 0)
#define NAME_ENFORCE NAME_WORD('e', 'n', 'f', 'o', 'r', 'c', 'e', 0)

static __always_inline bool dentry_named(struct dentry *d, __u32 len, __u64 word)
{
	const unsigned char *name;
	__u64 w = 0;

	if (BPF_CORE_READ(d, d_name.len) != len)
		return false;
	name = BPF_CORE_READ(d, d_name.name);
	/* Names this short live in the dentry's inline buffer: 8 bytes are
	 * readable. A failed read is treated as "not this name". */
	if (bpf_probe_read_kernel(&w, sizeof(w), name))
		return false;
	return (w & ((1ULL << (len * 8)) - 1)) == word;
}

/* 0: not IPE's; 1: an IPE file; 2: ipe/enforce itself. */
static __always_inline int ipe_file(struct dentry *d)
{
	struct super_block *sb = BPF_CORE_READ(d, d_sb);
	struct dentry *root, *cur = d;

	if (!sb || BPF_CORE_READ(sb, s_magic) != SECURITYFS_MAGIC)
		return 0;
	root = BPF_CORE_READ(sb, s_root);
	for (int i = 0; i < IPE_MAX_DEPTH; i++) {
		struct dentry *parent = BPF_CORE_READ(cur, d_parent);

		if (cur == root || !parent)
			return 0;
		if (parent == root) {
			if (!dentry_named(cur, 3, NAME_IPE))
				return 0;
			if (i == 1 && dentry_named(d, 7, NAME_ENFORCE))
				return 2;
			return 1;
		}
		cur = parent;
	}
	return 0;
}

static __always_inline int check_ipe_write(struct file *file)
{
	const struct guard_config *c = armed_config();
	int what;

	if (!c)
		return 0;
	what = ipe_file(BPF_CORE_READ(file, f_path.dentry));
	if (what == 2)
		return refuse(GUARD_IPE_ENFORCE);
	if (what == 1 && !current_is_agent(c))
		return refuse(GUARD_IPE_WRITE);
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(guard_file_open, struct file *file, int ret)
{
	if (ret)
		return ret;
	if (!(BPF_CORE_READ(file, f_mode) & FMODE_WRITE))
		return 0;
	return check_ipe_write(file);
}

/* Also covers descriptors opened for writing before the guard was armed. */
SEC("lsm/file_permission")
int BPF_PROG(guard_file_permission, struct file *file, int mask, int ret)
{
	if (ret)
		return ret;
	if (!(mask & (MAY_WRITE | MAY_APPEND)))
		return 0;
	return check_ipe_write(file);
}

SEC("lsm/task_kill")
int BPF_PROG(guard_task_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
             const struct cred *cred, int ret)
{
	const struct guard_config *c;

	if (ret)
		return ret;
	c = armed_config();
	/* Signal 0 only probes for existence. */
	if (!c || sig == 0 || !task_is_agent(p, c) || current_is_agent(c))
		return 0;
	if ((bpf_get_current_pid_tgid() >> 32) == 1 && (sig == SIGTERM || sig == SIGKILL))
		return 0;
	return refuse(GUARD_SIGNAL);
}

/* PTRACE_MODE_ATTACH guards ptrace itself, /proc/<pid>/mem, process_vm_*,
 * pidfd_getfd; read-mode checks (ps, /proc/<pid>/stat) stay allowed. */
SEC("lsm/ptrace_access_check")
int BPF_PROG(guard_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	const struct guard_config *c;

	if (ret)
		return ret;
	c = armed_config();
	if (!c || !(mode & PTRACE_MODE_ATTACH) || !task_is_agent(child, c) || current_is_agent(c))
		return 0;
	return refuse(GUARD_PTRACE);
}

/* A process traced before it execs the agent's binary would keep its tracer. */
SEC("lsm/bprm_check_security")
int BPF_PROG(guard_bprm_check, struct linux_binprm *bprm, int ret)
{
	const struct guard_config *c;
	struct task_struct *cur;

	if (ret)
		return ret;
	c = armed_config();
	if (!c)
		return 0;
	if (!inode_is(BPF_CORE_READ(bprm, file, f_inode), c->agent_dev, c->agent_ino))
		return 0;
	cur = bpf_get_current_task_btf();
	if (!BPF_CORE_READ(cur, ptrace))
		return 0;
	return refuse(GUARD_PTRACE);
}

/* The agent's identity is its mm's executable: nobody may replace it. */
SEC("lsm/task_prctl")
int BPF_PROG(guard_prctl, int option, unsigned long arg2, unsigned long arg3, unsigned long arg4,
             unsigned long arg5, int ret)
{
	if (ret)
		return ret;
	if (!armed_config() || option != PR_SET_MM)
		return 0;
	if (arg2 != PR_SET_MM_EXE_FILE && arg2 != PR_SET_MM_MAP)
		return 0;
	return refuse(GUARD_IDENTITY);
}

static __always_inline bool id_in(const __u32 *ids, int n, __u32 id)
{
	if (id == 0)
		return false;
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static __always_inline bool risky_prog_type(__u32 type)
{
	switch (type) {
	case BPF_PROG_TYPE_KPROBE:
	case BPF_PROG_TYPE_TRACEPOINT:
	case BPF_PROG_TYPE_PERF_EVENT:
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
	case BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE:
	case BPF_PROG_TYPE_TRACING:
	case BPF_PROG_TYPE_STRUCT_OPS:
	case BPF_PROG_TYPE_EXT:
	case BPF_PROG_TYPE_LSM:
		return true;
	default:
		return false;
	}
}

SEC("lsm/bpf")
int BPF_PROG(guard_bpf, int cmd, union bpf_attr *attr, unsigned int size, int ret)
{
	const struct guard_config *c;

	if (ret)
		return ret;
	c = armed_config();
	if (!c || current_is_agent(c))
		return 0;
	switch (cmd) {
	case BPF_PROG_GET_FD_BY_ID:
		if (id_in(c->prog_ids, GUARD_MAX_PROGS, BPF_CORE_READ(attr, prog_id)))
			return refuse(GUARD_BPF);
		return 0;
	case BPF_MAP_GET_FD_BY_ID:
		if (id_in(c->map_ids, GUARD_MAX_MAPS, BPF_CORE_READ(attr, map_id)))
			return refuse(GUARD_BPF);
		return 0;
	case BPF_LINK_GET_FD_BY_ID:
		if (id_in(c->link_ids, GUARD_MAX_LINKS, BPF_CORE_READ(attr, link_id)))
			return refuse(GUARD_BPF);
		return 0;
	case BPF_PROG_LOAD:
		if (risky_prog_type(BPF_CORE_READ(attr, prog_type)))
			return refuse(GUARD_BPF_LOAD);
		return 0;
	default:
		return 0;
	}
}

/* Any new descriptor for a guard map (by id or from a pin). */
SEC("lsm/bpf_map")
int BPF_PROG(guard_bpf_map, struct bpf_map *map, fmode_t fmode, int ret)
{
	const struct guard_config *c;

	if (ret)
		return ret;
	c = armed_config();
	if (!c || !id_in(c->map_ids, GUARD_MAX_MAPS, BPF_CORE_READ(map, id)) || current_is_agent(c))
		return 0;
	return refuse(GUARD_BPF);
}

/* Any new descriptor for a guard program (by id or from a pin). */
SEC("lsm/bpf_prog")
int BPF_PROG(guard_bpf_prog, struct bpf_prog *prog, int ret)
{
	const struct guard_config *c;

	if (ret)
		return ret;
	c = armed_config();
	if (!c || !id_in(c->prog_ids, GUARD_MAX_PROGS, BPF_CORE_READ(prog, aux, id)) ||
	    current_is_agent(c))
		return 0;
	return refuse(GUARD_BPF);
}

/*
 * The pin directory: lookups through it (BPF_OBJ_GET of a pinned link), and
 * unlink or rename inside it, all need permission on the directory inode.
 */
SEC("lsm/inode_permission")
int BPF_PROG(guard_inode_permission, struct inode *inode, int mask, int ret)
{
	const struct guard_config *c;

	if (ret)
		return ret;
	c = armed_config();
	if (!c || !inode_is(inode, c->pin_dev, c->pin_ino))
		return 0;
	if (BPF_CORE_READ(inode, i_sb, s_magic) != BPF_FS_MAGIC || current_is_agent(c))
		return 0;
	return refuse(GUARD_PIN);
}

/* Unmounting the bpffs instance that holds the pins would release them. */
SEC("lsm/sb_umount")
int BPF_PROG(guard_sb_umount, struct vfsmount *mnt, int flags, int ret)
{
	const struct guard_config *c;
	struct super_block *sb;

	if (ret)
		return ret;
	c = armed_config();
	if (!c)
		return 0;
	sb = BPF_CORE_READ(mnt, mnt_sb);
	if (BPF_CORE_READ(sb, s_magic) != BPF_FS_MAGIC || BPF_CORE_READ(sb, s_dev) != c->pin_dev)
		return 0;
	return refuse(GUARD_PIN);
}
