/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Evidence: what the guest kernel says about itself, read from the kernel's
 * own interfaces (device-mapper ioctls, /proc, securityfs), never from another
 * program's output. Every file read is bounded.
 */
#ifndef HVIPE_GUESTD_EVIDENCE_H
#define HVIPE_GUESTD_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_limits.h"

/* One device-mapper target as the kernel reports it. */
struct ga_dm_target {
	char name[128];        /* device-mapper device name */
	unsigned major, minor; /* of the dm device itself */
	char type[32];         /* target type, "verity" for ours */
	char *params;          /* table parameters, malloc'd */
};

/*
 * Where device-mapper tables come from: libdevmapper on a real system
 * (ga_dm_libdevmapper), a fixture in tests. list() returns every target of
 * every device in a malloc'd array; ga_dm_targets_free() releases it.
 * Returns 0 or a negative errno.
 */
struct ga_dm_source {
	int (*list)(void *ctx, struct ga_dm_target **out, size_t *n);
	void *ctx;
};

void ga_dm_targets_free(struct ga_dm_target *t, size_t n);

/* The libdevmapper source (DM_DEVICE_LIST, then DM_DEVICE_TABLE per device). */
extern const struct ga_dm_source ga_dm_libdevmapper;

/*
 * A file of tables instead of the kernel's (tests, --dm-tables): one target
 * per line, "NAME MAJOR:MINOR TYPE PARAMS...", as `dmsetup table` would show
 * with the device's numbers added. Set .ctx to the file's path. Lines that do
 * not match are skipped; the file is read bounded (64 KiB).
 */
int ga_dm_file_list(void *path, struct ga_dm_target **out, size_t *n);

/* A dm-verity table, parsed (see the kernel's dm-verity documentation). */
struct ga_verity_table {
	unsigned version;
	char data_dev[32], hash_dev[32]; /* "major:minor" (or a path, as given) */
	unsigned data_block_size, hash_block_size;
	uint64_t data_blocks, hash_start;
	char alg[64];
	uint8_t root_hash[64];
	size_t root_hash_len;
	uint8_t salt[256];
	size_t salt_len;
	bool sig_key_desc; /* root_hash_sig_key_desc given among the optional args */
};

/*
 * Parse dm-verity table @params. Returns 0, or -EBADMSG for a malformed table
 * (missing fields, bad numbers, non-hex digest or salt, odd optional args).
 */
int ga_verity_parse(const char *params, struct ga_verity_table *out);

/*
 * Mount point of the filesystem on device @major:@minor from a mountinfo file
 * (@mountinfo, bounded read), octal escapes decoded, into @out (@outsz).
 * Returns 0, -ENOENT when that device is not mounted, -ENAMETOOLONG, or -errno.
 */
int ga_mountpoint(const char *mountinfo, unsigned major, unsigned minor, char *out, size_t outsz);

struct ga_verity {
	char name[128];
	uint8_t root_hash[64];
	size_t root_hash_len;
	char alg[64];
	char data_dev[32], hash_dev[32];
	bool signature;
	char mountpoint[1024];
};

struct ga_policy {
	char name[HV_IPE_MAX_NAME + 1];
	char version[32];
	bool active;
	uint8_t digest[32];
	bool has_digest; /* false for the boot policy (no pkcs7) */
};

struct ga_ipe {
	bool present;
	bool enforce;
	bool success_audit;
	size_t n_policies;
	struct ga_policy policies[HV_PROTO_MAX_POLICIES];
};

enum ga_guard_status { GA_GUARD_ABSENT, GA_GUARD_LOADED, GA_GUARD_ARMED, GA_GUARD_FAILED };

#define GA_GUARD_MAX_TAGS   16
#define GA_GUARD_MAX_RECENT 8

/* What the host's GuardState carries; ga_guard_collect() fills it. */
struct ga_guard {
	enum ga_guard_status status;
	char detail[256];
	size_t n_tags;
	char tags[GA_GUARD_MAX_TAGS][17]; /* hex tags of the loaded BPF programs */
	uint64_t refusals;                /* total since armed */
	size_t n_recent;
	struct {
		char what[32]; /* "ipe_write", "signal", "ptrace", "bpf" */
		uint32_t pid;
		char comm[16];
		uint64_t count;
	} recent[GA_GUARD_MAX_RECENT];
};

struct ga_evidence {
	size_t n_verity;
	struct ga_verity verity[HV_PROTO_MAX_VERITY_DEVICES];
	struct ga_ipe ipe;
	char lockdown[32];
	char kernel_release[128];
	uint8_t boot_id[16];
	bool has_boot_id;
	struct ga_guard guard;
};

/* Where to look; tests point these at fixtures. */
struct ga_paths {
	const char *securityfs; /* default /sys/kernel/security */
	const char *mountinfo;  /* default /proc/self/mountinfo */
	const char *boot_id;    /* default /proc/sys/kernel/random/boot_id */
	const char *osrelease;  /* default /proc/sys/kernel/osrelease */
	const struct ga_dm_source *dm;
};

/* The real system's paths and libdevmapper (defined in dm.c). */
void ga_paths_default(struct ga_paths *p);

/*
 * Collect the evidence kinds in @want (EVIDENCE_* bits of hvipe.proto, 0 for
 * all) into @ev. A part that cannot be read is reported as absent (the host
 * judges absence) and the other parts are still collected. Returns 0, or the
 * first error worth logging: -ENOMEM, or an error of the dm source other
 * than -ENOENT/-ENXIO (no device-mapper in the kernel means no devices).
 */
int ga_evidence_collect(const struct ga_paths *p, uint32_t want, struct ga_evidence *ev);

/* IPE's securityfs state under @securityfs. Returns 0 or -ENOMEM. */
int ga_ipe_collect(const char *securityfs, struct ga_ipe *out);

/* Lockdown mode ("none", "integrity", "confidentiality") or "" when absent. */
void ga_lockdown_collect(const char *securityfs, char *out, size_t outsz);

/* Parse "12345678-1234-..." into 16 bytes. Returns 0 or -EBADMSG. */
int ga_boot_id_parse(const char *s, size_t len, uint8_t out[16]);

/*
 * The guard's state. The BPF guard (guest/guard) plugs in here; until it is
 * built into the agent this reports GA_GUARD_ABSENT with a detail saying so.
 */
void ga_guard_collect(struct ga_guard *out);

/* Small bounded file helpers shared by evidence and policy application. */
/* Read at most @max bytes of @dir/@name into @out as a string, trailing
 * newlines removed. Returns the length, -EFBIG, or -errno. */
int ga_read_small(const char *dir, const char *name, char *out, size_t max);

#endif
