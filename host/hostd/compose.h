/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy composition: the text of a VM's IPE policy from its approved images
 * and its mode, and the version string of its issue counter. Pure functions,
 * no I/O: the daemon validates and signs what they produce.
 */
#ifndef HVIPE_HOSTD_COMPOSE_H
#define HVIPE_HOSTD_COMPOSE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define HV_POLICY_NAME          "hvipe"
#define HV_FALLBACK_POLICY_NAME "hvipe_fallback"

/*
 * IPE versions are three 16-bit fields, compared as one 48-bit number. Issue
 * n has version HV_ISSUE_VERSION_BASE + n: "1.0.1" for n = 1, as every
 * version this host issued before it had to climb above one a guest reports.
 */
#define HV_VERSION_MAX        0xffffffffffffull
#define HV_ISSUE_VERSION_BASE (1ull << 32)
/* The largest issue counter: version 65535.65535.65535. */
#define HV_ISSUE_MAX (HV_VERSION_MAX - HV_ISSUE_VERSION_BASE)

enum hv_vm_mode {
	HV_MODE_ROOTHASH = 0,  /* one dmverity_roothash rule per approved image */
	HV_MODE_SIGNATURE = 1, /* dmverity_signature=TRUE: any host-signed image */
};

const char *hv_mode_name(enum hv_vm_mode m);
/* 0 and *@out, or -EINVAL. */
int hv_mode_parse(const char *s, enum hv_vm_mode *out);

struct hv_image_rule {
	const char *alg; /* "sha256", ... (lower case, validated by the caller) */
	const char *hex; /* lower-case hex root hash */
};

/*
 * Version of issue @n, HV_ISSUE_VERSION_BASE + n as "M.m.r" ("1.<n >> 16>.
 * <n & 0xffff>" while n < 2^32) into @buf (at least 18 bytes). Returns 0, or
 * -ERANGE for n == 0 or n > HV_ISSUE_MAX.
 */
int hv_compose_version(uint64_t n, char *buf, size_t bufsz);

/*
 * The smallest issue number whose version is above @version (a 48-bit IPE
 * version as hv_version_parse gives it): 1 for any version below 1.0.1.
 * Returns 0 and *@n, or -ERANGE when @version is HV_VERSION_MAX or above, so
 * that no issue can be above it.
 */
int hv_issue_above(uint64_t version, uint64_t *n);

/*
 * The rule lines (everything after the header line) for @mode and @imgs.
 * Root-hash rules are sorted and deduplicated, so the same set of images
 * gives the same bytes in any order. Appends to @out; -E2BIG/-ENOMEM from it.
 */
int hv_compose_rules(enum hv_vm_mode mode, const struct hv_image_rule *imgs, size_t n,
                     struct hv_buf *out);

/*
 * The whole policy text for issue @issue. Returns 0 with *@out malloc'd and
 * NUL-terminated, -ERANGE for a bad issue number, or -EMSGSIZE when the text
 * is longer than @max_text (the caller then switches the VM to signature mode).
 */
int hv_compose_policy(enum hv_vm_mode mode, const struct hv_image_rule *imgs, size_t n,
                      uint64_t issue, size_t max_text, char **out, size_t *len);

#endif
