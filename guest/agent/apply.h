/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading, activating and pruning IPE policies through securityfs, as the
 * lead's contract says: a blob for a loaded name goes to policies/<name>/update,
 * otherwise to new_policy, each in ONE write(); then policies/<name>/active;
 * then every loaded policy that is neither active nor "hvipe_fallback" is
 * deleted. The kernel verifies the signature; the agent checks only what it
 * can check without the key: digest, name and version against the blob's own
 * header, and the rollback floor it keeps across boots.
 */
#ifndef HVIPE_GUESTD_APPLY_H
#define HVIPE_GUESTD_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence.h"

#define GA_FALLBACK_NAME "hvipe_fallback"

struct ga_apply_req {
	const char *name;    /* expected policy_name, NULL: take it from the blob */
	const char *version; /* expected policy_version, NULL: take it from the blob */
	const uint8_t *blob;
	size_t len;
	const uint8_t *digest; /* 32 bytes to check against SHA-256(blob), or NULL */
	bool activate;
	/*
	 * After each write the agent confirms that securityfs shows the result
	 * (policies/<name>/ holding exactly this blob; this policy the only
	 * active one), re-reading for up to @settle_ms. The kernel applies a
	 * write before write() returns, so 0 (one check) is right for a guest;
	 * tests whose "kernel" is a script polling a directory give it time.
	 */
	int settle_ms;
};

struct ga_apply_result {
	int err;          /* 0 or the positive errno */
	const char *step; /* "verify", "load", "update", "activate", "delete" */
	char reason[160];
	struct ga_policy active; /* the active policy afterwards (name empty if none) */
	char name[HV_IPE_MAX_NAME + 1], version[32];
};

/* M.m.r with each part a u16, as IPE parses it. Returns 0 or -EINVAL. */
int ga_version_parse(const char *s, uint16_t out[3]);
/* <0, 0, >0 like strcmp; both must parse. */
int ga_version_cmp(const uint16_t a[3], const uint16_t b[3]);

/*
 * The policy text's header ("policy_name=N policy_version=M.m.r") from the
 * content of an attached PKCS#7/CMS blob, without verifying the signature
 * (the kernel does that). Returns 0, -EBADMSG when the blob is not DER CMS
 * with content or the header is missing or malformed, -ENAMETOOLONG.
 */
int ga_blob_header(const uint8_t *blob, size_t len, char *name, size_t namesz, char *version,
                   size_t versionsz);

/* Operator-readable meaning of a positive errno @err at @step. */
const char *ga_errno_reason(int err, const char *step);

/*
 * The rollback floor: the highest version of @name applied on this guest,
 * kept in @state_dir/floor.<name> (NULL @state_dir: no floor). Load returns
 * 0 with @out set, -ENOENT when none is recorded, or -errno.
 */
int ga_floor_load(const char *state_dir, const char *name, uint16_t out[3]);
int ga_floor_store(const char *state_dir, const char *name, const char *version);

/*
 * Apply @req under @securityfs (the directory holding lsm and ipe/). Fills
 * @res (err 0 on success) and returns 0, or -ENOMEM. Nothing is written when
 * a local check fails (step "verify").
 */
int ga_policy_apply(const char *securityfs, const char *state_dir, const struct ga_apply_req *req,
                    struct ga_apply_result *res);

#endif
