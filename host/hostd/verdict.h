/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verdict logic: what the host concludes from one decoded, validated Evidence
 * and what it expects of the VM. A pure function, so that every finding can
 * be unit-tested without sockets or a database.
 */
#ifndef HVIPE_HOSTD_VERDICT_H
#define HVIPE_HOSTD_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../guest/guard/tags.h"
#include "compose.h"
#include "hvipe.pb-c.h"

struct hv_approved_image {
	const char *name;
	const char *alg;  /* "sha256" */
	uint8_t hash[64]; /* binary root hash */
	size_t hash_len;
	bool has_signature; /* the host holds a root-hash signature for it */
};

struct hv_expect {
	const uint8_t *nonce; /* HV_PROTO_NONCE_LEN bytes */
	const struct hv_approved_image *images;
	size_t n_images;
	enum hv_vm_mode mode;
	bool require_guard;
	/* The guard program tags of the build; NULL: not compared. */
	const struct hv_guard_tags *guard_tags;
	/* The session is not a daemon-mode agent's (the initramfs --once run,
	 * before the daemon on the root volume arms the guard): a guard that is
	 * absent or not armed leaves the verdict pending, never trusted, and is
	 * not a violation. */
	bool guard_pending_ok;
	/* The last policy issued to the VM (digest valid when issued_n > 0) and
	 * the last one the guest confirmed (0 when none). */
	uint64_t issued_n;
	uint8_t issued_digest[32];
	uint64_t confirmed_n;
	uint8_t confirmed_digest[32];
	/* Boot id seen earlier in this session, or NULL. */
	const uint8_t *boot_id;
	size_t boot_id_len;
};

#define HV_VERDICT_MAX_FINDINGS 16

struct hv_finding {
	Hvipe__FindingCode code;
	char detail[160];
};

struct hv_verdict {
	bool trusted;     /* no finding at all */
	bool violation;   /* a finding the host acts on */
	bool need_policy; /* the host policy is not active: deliver one */
	/* Why (a finding name, or "policy_not_applied"); set with need_policy. */
	const char *deliver;
	/* The issue delivered must have at least this number, so that its
	 * version is above every hvipe policy the guest reports (the kernel
	 * refuses a lower one, ESTALE); 0: no such policy reported. */
	uint64_t min_issue;
	size_t n;
	struct hv_finding f[HV_VERDICT_MAX_FINDINGS];
};

/*
 * Judge @ev against @x. Every finding is listed (up to the cap; the last slot
 * then says findings were cut). A missing host policy alone is not a
 * violation: the host answers it with a PolicyUpdate. Everything else is.
 * A mismatched or outdated hvipe policy is a violation and is answered with
 * a PolicyUpdate too (need_policy, min_issue), unless the guest reports a
 * version no issue can be above (or one that does not parse): the finding's
 * detail then says so and nothing is delivered.
 */
void hv_verdict_eval(const struct hv_expect *x, const Hvipe__Evidence *ev, struct hv_verdict *v);

/* "nonce_mismatch", "verity_unapproved", ... for logs and records. */
const char *hv_finding_name(Hvipe__FindingCode c);

/* Digest length for a hash algorithm name, 0 when unknown. */
size_t hv_alg_digest_len(const char *alg);

/*
 * Parse "M.m.r" (each 0..65535, at most 5 digits) into one comparable 48-bit
 * number; -EINVAL. "1.0.0" is HV_ISSUE_VERSION_BASE (compose.h).
 */
int hv_version_parse(const char *s, uint64_t *out);

#endif
