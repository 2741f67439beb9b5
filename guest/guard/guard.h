/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loader for the hvipe BPF LSM guard (guard.bpf.c): load, attach, pin and
 * arm it on behalf of the agent, and read its state for the evidence.
 *
 * Arming order: load and attach every program with the config map unarmed
 * (hooks allow everything), pin the links and maps under the pin directory,
 * write the agent's identity and the guard's own program/map/link ids into
 * the config map with armed=1, then freeze the map (bpf_map_freeze): from
 * then on the config is read-only from userspace for every process. The
 * pinned links keep the guard attached after the loader exits; nothing
 * detaches it short of a reboot.
 *
 * Requires CAP_SYS_ADMIN (CAP_BPF + CAP_PERFMON are not enough for LSM
 * programs) and "bpf" in the kernel's active LSM list. When the pin
 * directory's parent is not a bpffs, hv_guard_arm mounts one there.
 */
#ifndef HVIPE_GUARD_H
#define HVIPE_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HV_GUARD_PIN_DIR   "/sys/fs/bpf/hvipe-guard"
#define HV_GUARD_MAX_PROGS 16
#define HV_GUARD_KINDS     8
#define HV_GUARD_TAG_HEX   17 /* 8-byte bpf_prog_info.tag as hex, NUL-terminated */

struct hv_guard;

struct hv_guard_kind_state {
	const char *what; /* "ipe_write", "ipe_enforce", "signal", "ptrace", "bpf", ... */
	uint64_t count;   /* refusals of this kind since armed */
	uint32_t pid;     /* last refused process (tgid), 0 if none */
	char comm[16];    /* its comm, NUL-terminated */
};

struct hv_guard_report {
	bool armed;
	size_t nprogs;
	char names[HV_GUARD_MAX_PROGS][16];              /* program names, sorted */
	char tags[HV_GUARD_MAX_PROGS][HV_GUARD_TAG_HEX]; /* in the order of names */
	uint64_t total;
	struct hv_guard_kind_state kinds[HV_GUARD_KINDS];
};

/*
 * 0 when "bpf" is in the active LSM list read from @securityfs/lsm (NULL:
 * /sys/kernel/security). -EOPNOTSUPP when it is not, -errno when the list
 * cannot be read.
 */
int hv_guard_lsm_active(const char *securityfs);

/*
 * Load, attach, pin under @pin_dir (NULL: HV_GUARD_PIN_DIR) and arm the guard
 * with the executable at @agent_exe as the agent. On success *out holds the
 * guard (free with hv_guard_free; the guard stays armed).
 * Returns 0, -EEXIST when @pin_dir already exists (a guard is pinned: use
 * hv_guard_open), -ENOENT/-EACCES for @agent_exe, -EINVAL when it is not a
 * regular file, -EOPNOTSUPP when BPF LSM is not active, the -errno of
 * mounting a bpffs at the pin directory's parent, or the -errno of the
 * failing bpf() step (load, attach, pin, freeze); on failure nothing stays
 * pinned or attached.
 */
int hv_guard_arm(const char *agent_exe, const char *pin_dir, struct hv_guard **out);

/*
 * Open a guard that an earlier hv_guard_arm pinned under @pin_dir (NULL:
 * default). Once armed only the agent can do this. Returns 0, -ENOENT when
 * nothing is pinned there, -EPERM when the guard refuses the caller, or
 * another -errno from bpf().
 */
int hv_guard_open(const char *pin_dir, struct hv_guard **out);

/* Read armed state, program tags and refusal counters. 0 or -errno. */
int hv_guard_read(struct hv_guard *g, struct hv_guard_report *r);

void hv_guard_free(struct hv_guard *g);

/*
 * Load the guard's programs into the running kernel without attaching or
 * arming them, read their names and tags into @r (armed=false, counters 0),
 * and unload them. This is how the expected tags of a kernel build are
 * produced (see guest/guard/README.md). 0 or -errno.
 */
int hv_guard_probe(struct hv_guard_report *r);

/* Name of refusal kind @kind, or NULL when out of range. */
const char *hv_guard_kind_name(unsigned int kind);

#endif
