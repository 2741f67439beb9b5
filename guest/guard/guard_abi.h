/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layout shared by the BPF guard (guard.bpf.c) and its loader (guard.c).
 * Both sides see the same fixed-size structs through the guard's maps; change
 * them only together (the skeleton embeds the object, so a mismatch cannot
 * be deployed by accident).
 */
#ifndef HVIPE_GUARD_ABI_H
#define HVIPE_GUARD_ABI_H

#define GUARD_MAX_PROGS 16
#define GUARD_MAX_MAPS  8
#define GUARD_MAX_LINKS 16
#define GUARD_COMM_LEN  16

/* Refusal kinds: index into the refusals map, names in guard.c. */
enum guard_kind {
	GUARD_IPE_WRITE = 0,   /* a non-agent opened or wrote an IPE securityfs file */
	GUARD_IPE_ENFORCE = 1, /* anyone opened or wrote ipe/enforce for writing */
	GUARD_SIGNAL = 2,      /* a signal to the agent that is not allowed */
	GUARD_PTRACE = 3,      /* ptrace/proc-mem access to the agent, or a traced exec of it */
	GUARD_BPF = 4,         /* bpf() on the guard's programs, maps or links */
	GUARD_BPF_LOAD = 5,    /* loading a tracing, LSM or extension program */
	GUARD_PIN = 6,         /* access to the pin directory, or unmounting its bpffs */
	GUARD_IDENTITY = 7,    /* prctl that would change a process's executable */
	GUARD_KINDS = 8,
};

/*
 * The one entry of the config map. Written by the loader before arming, then
 * the map is frozen: from then on no process (the agent included) can change
 * it through bpf(). Device numbers use the kernel's internal encoding
 * (major << 20 | minor), as in super_block.s_dev.
 */
struct guard_config {
	__u32 armed;
	__u32 pad;
	__u64 agent_dev;
	__u64 agent_ino;
	__u64 pin_dev;
	__u64 pin_ino;
	__u32 prog_ids[GUARD_MAX_PROGS];
	__u32 map_ids[GUARD_MAX_MAPS];
	__u32 link_ids[GUARD_MAX_LINKS];
};

/* One entry per kind in the refusals map: total and the last offender. */
struct guard_refusal {
	__u64 count;
	__u32 pid;
	__u32 pad;
	char comm[GUARD_COMM_LEN];
};

#endif
