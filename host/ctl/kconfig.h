/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel configuration check: which options hvipe needs in a guest kernel,
 * and a bounded reader of the kernel's .config text format.
 */
#ifndef HVIPE_CTL_KCONFIG_H
#define HVIPE_CTL_KCONFIG_H

#include <stddef.h>

/* Largest config file accepted (Debian's are about 300 KiB). */
#define KCONFIG_MAX_FILE (4u * 1024 * 1024)
/* Longest line accepted; CONFIG_LSM and command-line strings fit easily. */
#define KCONFIG_MAX_LINE 4096u
/* Capacity of the requirement table. */
#define KCONFIG_MAX_REQS 32u

enum kconfig_need {
	KCONFIG_BUILTIN,   /* must be =y */
	KCONFIG_AVAILABLE, /* =y or =m */
	KCONFIG_LSM_LIST,  /* CONFIG_LSM string must name the token */
};

struct kconfig_req {
	const char *option; /* without the CONFIG_ prefix */
	enum kconfig_need need;
	const char *token; /* for KCONFIG_LSM_LIST: the LSM name */
	const char *why;
};

/* The requirement table, terminated by a NULL option. */
extern const struct kconfig_req kconfig_reqs[];

enum kconfig_state {
	KCONFIG_OK,
	KCONFIG_MISSING,  /* absent or "is not set" */
	KCONFIG_WRONG,    /* =m where =y is needed, or another value */
	KCONFIG_NO_TOKEN, /* list option present but without the token */
};

struct kconfig_verdict {
	const struct kconfig_req *req;
	enum kconfig_state state;
	char found[64]; /* the value seen, truncated, printable ASCII only */
};

/*
 * Check @text (@len bytes, a kernel .config) against kconfig_reqs.
 * Fills @out (at most @max entries, one per requirement in table order) and
 * returns the number of requirements, or -EBADMSG when the text holds a NUL
 * byte or a line longer than KCONFIG_MAX_LINE, -E2BIG when it is larger than
 * KCONFIG_MAX_FILE, -ENOBUFS when @max is smaller than the table.
 */
int kconfig_check(const char *text, size_t len, struct kconfig_verdict *out, size_t max);

/* Number of entries in kconfig_reqs. */
size_t kconfig_nreqs(void);

#endif
