/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The IPE policy language of Linux 6.12, as the kernel parses it.
 *
 * The kernel's verdict is the specification: what it refuses, hv_policy_parse()
 * refuses with the same errno, for the first failing line in file order, then
 * the end-of-text checks. Deployment checks (what securityfs refuses for a
 * valid text) are separate: hv_policy_check_deploy().
 */
#ifndef HVIPE_POLICY_H
#define HVIPE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hv_policy_error {
	unsigned line; /* 1-based; 0 when the error is about the whole text */
	unsigned col;  /* 1-based byte column; 0 when not tied to a column */
	int err;       /* positive errno the kernel returns: EBADMSG, EINVAL, ERANGE, ... */
	char msg[200]; /* what is wrong, for an operator */
};

enum hv_policy_lint_code {
	HV_LINT_DIGEST_LENGTH = 1, /* digest length does not match its algorithm */
	HV_LINT_DIGEST_EMPTY,      /* "sha256:" never matches */
	HV_LINT_DIGEST_ALGORITHM,  /* algorithm the kernel can never match */
	HV_LINT_CONTRADICTION,     /* TRUE and FALSE of one property in one rule */
	HV_LINT_NUL,               /* embedded NUL: the kernel stops reading there */
	HV_LINT_BOOT_VERIFIED,     /* boot_verified=TRUE in a policy for after boot */
	HV_LINT_EXECUTE_ALLOWED,   /* EXECUTE allowed by default */
	HV_LINT_NAME,              /* name outside [A-Za-z0-9._-]: audit prints it raw */
};

struct hv_policy_warning {
	unsigned line, col;
	enum hv_policy_lint_code code;
	char msg[200];
};

struct hv_ipe_version {
	uint16_t major, minor, rev;
};

struct hv_policy; /* parsed model */

/*
 * Parse @len bytes of policy text (NUL-truncated as the kernel does).
 * Returns 0 and *@out, or a negative errno with *@err filled in.
 */
int hv_policy_parse(const void *text, size_t len, struct hv_policy **out,
                    struct hv_policy_error *err);

/*
 * What the kernel refuses when the valid policy is deployed: a name with '/'
 * or equal to "." or ".." (EACCES), a name over 255 bytes (ENAMETOOLONG),
 * text that cannot fit in a 65,535-byte signed blob (EMSGSIZE).
 * @text_len is the length of the text that will be signed.
 */
int hv_policy_check_deploy(const struct hv_policy *p, size_t text_len, struct hv_policy_error *err);

/*
 * Warnings for what the kernel accepts but is almost certainly a mistake.
 * Writes up to @max warnings, returns how many there are in total.
 * @after_boot: the policy is meant for after switch_root (warn on boot_verified).
 */
size_t hv_policy_lint(const struct hv_policy *p, bool after_boot, struct hv_policy_warning *w,
                      size_t max);

/*
 * Canonical text: LF endings, single spaces, lower-case hex, header, global
 * DEFAULT, per-op DEFAULTs in kernel op order, then rules grouped by op with
 * their relative order kept. Formatting twice gives the same bytes, and the
 * result means the same to the kernel. *@out is malloc'd and NUL-terminated.
 */
int hv_policy_format(const struct hv_policy *p, char **out, size_t *len);

/* 0 when both mean the same to the kernel (same name, version, defaults and
 * per-op rule lists), else 1. Within a rule the properties are a set (order
 * and repetition do not matter, all must hold); digests compare by algorithm
 * bytes and hex value, whatever the hex case. DEFAULTs compare as written. */
int hv_policy_compare(const struct hv_policy *a, const struct hv_policy *b);

const char *hv_policy_name(const struct hv_policy *p);
struct hv_ipe_version hv_policy_version(const struct hv_policy *p);
void hv_policy_free(struct hv_policy *p);

/* "M.m.r" as the kernel reads it: 0 or -EBADMSG/-EINVAL/-ERANGE. */
int hv_ipe_version_parse(const char *s, size_t len, struct hv_ipe_version *v);
/* <0, 0, >0 as a is older than, equal to, newer than b. */
int hv_ipe_version_cmp(struct hv_ipe_version a, struct hv_ipe_version b);
/* Into @buf (at least 18 bytes) as the kernel prints it ("%hu.%hu.%hu"). */
char *hv_ipe_version_format(struct hv_ipe_version v, char *buf, size_t bufsz);

/*
 * Additions beyond the pinned interface.
 */

/*
 * Bytes every signed blob carries around its text even without certificates
 * and with the smallest signature (DER framing of ContentInfo, SignedData,
 * the content OCTET STRING and one SignerInfo). hv_policy_check_deploy()
 * refuses text longer than HV_IPE_MAX_SIGNED_BLOB minus this; the signer
 * gives the exact answer for a given key and certificate.
 */
#define HV_POLICY_SIGNED_MIN_OVERHEAD 128u

/* "EBADMSG", "EINVAL", ... for the errnos this module returns. */
const char *hv_policy_errno_name(int err);

/* Number of rules (DEFAULT lines excluded). */
size_t hv_policy_rule_count(const struct hv_policy *p);

#endif
