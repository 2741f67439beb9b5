/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Expected guard program tags, as the host checks them against the tags a
 * guest reports in GuardState.program_tags.
 *
 * File format (written by `hvipe-guard tags`): one program per line,
 * "<16 lowercase hex digits> <program name>", blank lines and lines starting
 * with '#' ignored. The name is informative; only the tags are compared.
 */
#ifndef HVIPE_GUARD_TAGS_H
#define HVIPE_GUARD_TAGS_H

#include <stddef.h>
#include <stdint.h>

#include "hvipe.pb-c.h"

#define HV_GUARD_TAGS_MAX      16
#define HV_GUARD_TAGS_FILE_MAX 4096
/* GuardState.recent entries the host takes from one Evidence: the guard
 * reports at most one per refusal kind. */
#define HV_GUARD_RECENT_MAX 8

struct hv_guard_tags {
	size_t n;
	uint64_t tag[HV_GUARD_TAGS_MAX]; /* sorted ascending, no duplicates */
};

/*
 * Parse @len bytes of an expected-tags file. Returns 0, -E2BIG when it is
 * longer than HV_GUARD_TAGS_FILE_MAX or lists more than HV_GUARD_TAGS_MAX
 * programs, -EBADMSG on a malformed line, a NUL byte, or a duplicate tag,
 * -ENODATA when it lists no program. *out is written only on success.
 */
int hv_guard_tags_parse(const char *text, size_t len, struct hv_guard_tags *out);

/*
 * Compare the tags a guest reported (each a string, hostile) with @expected.
 * Returns 0 when they are the same set, -EBADMSG when a reported tag is not
 * 16 hex digits or more than HV_GUARD_TAGS_MAX are reported, -EPERM when the
 * sets differ (a program missing, added or changed).
 */
int hv_guard_tags_check(const struct hv_guard_tags *expected, const char *const *reported,
                        size_t n);

/*
 * The host's verdict on one Evidence.guard when the VM requires a guard:
 * HVIPE__FINDING_CODE__FINDING_NONE when it is armed and (with @expected)
 * its tags are the build's; FINDING_GUARD_ABSENT when @gs is NULL or says
 * ABSENT; FINDING_GUARD_NOT_ARMED when it is loaded, failed or an unknown
 * status; FINDING_GUARD_TAMPERED when the tags differ from @expected or are
 * malformed. @expected NULL skips the tag comparison (no tags file for this
 * kernel); the caller states that in its record.
 */
Hvipe__FindingCode hv_guard_evaluate(const Hvipe__GuardState *gs,
                                     const struct hv_guard_tags *expected);

#endif
