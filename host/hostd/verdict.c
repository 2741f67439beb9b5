/* SPDX-License-Identifier: Apache-2.0 */
#include "verdict.h"
#include "hv_limits.h"
#include "util/hex.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const finding_names[] = {
        [HVIPE__FINDING_CODE__FINDING_NONE] = "none",
        [HVIPE__FINDING_CODE__FINDING_NONCE_MISMATCH] = "nonce_mismatch",
        [HVIPE__FINDING_CODE__FINDING_IPE_ABSENT] = "ipe_absent",
        [HVIPE__FINDING_CODE__FINDING_IPE_NOT_ENFORCING] = "ipe_not_enforcing",
        [HVIPE__FINDING_CODE__FINDING_VERITY_ABSENT] = "verity_absent",
        [HVIPE__FINDING_CODE__FINDING_VERITY_UNAPPROVED] = "verity_unapproved",
        [HVIPE__FINDING_CODE__FINDING_VERITY_UNSIGNED] = "verity_unsigned",
        [HVIPE__FINDING_CODE__FINDING_VERITY_BAD_SIGNATURE] = "verity_bad_signature",
        [HVIPE__FINDING_CODE__FINDING_VERITY_WRONG_HASH] = "verity_wrong_hash",
        [HVIPE__FINDING_CODE__FINDING_POLICY_MISSING] = "policy_missing",
        [HVIPE__FINDING_CODE__FINDING_POLICY_MISMATCH] = "policy_mismatch",
        [HVIPE__FINDING_CODE__FINDING_POLICY_OUTDATED] = "policy_outdated",
        [HVIPE__FINDING_CODE__FINDING_GUARD_ABSENT] = "guard_absent",
        [HVIPE__FINDING_CODE__FINDING_GUARD_NOT_ARMED] = "guard_not_armed",
        [HVIPE__FINDING_CODE__FINDING_GUARD_TAMPERED] = "guard_tampered",
        [HVIPE__FINDING_CODE__FINDING_HEARTBEAT_MISSED] = "heartbeat_missed",
        [HVIPE__FINDING_CODE__FINDING_MALFORMED] = "malformed",
        [HVIPE__FINDING_CODE__FINDING_BOOT_CHANGED] = "boot_changed",
};

const char *hv_finding_name(Hvipe__FindingCode c)
{
	if ((size_t)c < sizeof(finding_names) / sizeof(finding_names[0]) && finding_names[c])
		return finding_names[c];
	return "unknown";
}

size_t hv_alg_digest_len(const char *alg)
{
	static const struct {
		const char *name;
		size_t len;
	} algs[] = {{"sha256", 32}, {"sha384", 48}, {"sha512", 64}, {"sha1", 20}};

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (!strcmp(alg, algs[i].name))
			return algs[i].len;
	return 0;
}

int hv_version_parse(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	int parts = 0;

	while (parts < 3) {
		unsigned long x = 0;
		int digits = 0;

		while (*s >= '0' && *s <= '9' && digits < 6) {
			x = x * 10 + (unsigned long)(*s++ - '0');
			digits++;
		}
		if (digits == 0 || x > 0xffff)
			return -EINVAL;
		v = v << 16 | x;
		parts++;
		if (parts < 3 && *s++ != '.')
			return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	*out = v;
	return 0;
}

__attribute__((format(printf, 3, 4))) static void add(struct hv_verdict *v, Hvipe__FindingCode c,
                                                      const char *fmt, ...)
{
	va_list ap;

	if (v->n == HV_VERDICT_MAX_FINDINGS)
		return;
	if (v->n == HV_VERDICT_MAX_FINDINGS - 1) {
		v->f[v->n].code = HVIPE__FINDING_CODE__FINDING_MALFORMED;
		snprintf(v->f[v->n].detail, sizeof(v->f[v->n].detail), "more findings cut");
		v->n++;
		return;
	}
	v->f[v->n].code = c;
	va_start(ap, fmt);
	vsnprintf(v->f[v->n].detail, sizeof(v->f[v->n].detail), fmt, ap);
	va_end(ap);
	v->n++;
}

static void judge_device(const struct hv_expect *x, const Hvipe__VerityDevice *d,
                         struct hv_verdict *v)
{
	const struct hv_approved_image *same = NULL, *similar = NULL;
	char hex[2 * 64 + 1], name[40];
	size_t i, cmp;

	hv_hex_encode(hex, d->root_hash.data, d->root_hash.len);
	snprintf(name, sizeof(name), "%.32s", d->name);
	for (i = 0; i < x->n_images; i++) {
		const struct hv_approved_image *a = &x->images[i];

		cmp = a->hash_len < d->root_hash.len ? a->hash_len : d->root_hash.len;
		if (cmp == 0 || memcmp(a->hash, d->root_hash.data, cmp) != 0)
			continue;
		if (a->hash_len == d->root_hash.len && !strcmp(a->alg, d->hash_algorithm)) {
			same = a;
			break;
		}
		similar = a;
	}
	if (!same && similar) {
		add(v, HVIPE__FINDING_CODE__FINDING_VERITY_WRONG_HASH,
		    "device %s: %s root hash of %zu bytes, image %s is %s", name,
		    d->hash_algorithm[0] ? "given" : "no", d->root_hash.len, similar->name,
		    similar->alg);
		return;
	}
	if (!same) {
		add(v, HVIPE__FINDING_CODE__FINDING_VERITY_UNAPPROVED, "device %s root hash %.64s",
		    name, hex);
		return;
	}
	if (d->signature_verified && !same->has_signature) {
		add(v, HVIPE__FINDING_CODE__FINDING_VERITY_BAD_SIGNATURE,
		    "device %s reports a signature the host never issued for image %s", name,
		    same->name);
		return;
	}
	if (x->mode == HV_MODE_SIGNATURE && !d->signature_verified)
		add(v, HVIPE__FINDING_CODE__FINDING_VERITY_UNSIGNED,
		    "device %s: signature mode needs a verified root-hash signature", name);
}

static void deliver(struct hv_verdict *v, const char *why)
{
	v->need_policy = true;
	v->deliver = why;
}

/*
 * The host's policy is not the active one: plan a new issue that the kernel
 * will take. It must be above the version of every policy named hvipe that
 * the guest reports (IPE keeps one per name, but the report is the guest's
 * word and may list more). Returns "" when an issue is planned, otherwise
 * why none can be, for the finding's detail: a reported version that does
 * not parse (no floor can be chosen) or one no issue can be above.
 */
static const char *plan_reissue(const Hvipe__IpeState *ipe, struct hv_verdict *v, const char *why,
                                char *buf, size_t bufsz)
{
	uint64_t top = 0, ver, n = 0;
	bool any = false;

	for (size_t i = 0; i < ipe->n_policies; i++) {
		const Hvipe__IpePolicy *p = ipe->policies[i];

		if (strcmp(p->name, HV_POLICY_NAME) != 0)
			continue;
		if (hv_version_parse(p->version, &ver) < 0) {
			snprintf(buf, bufsz, "; no reissue: reported version '%.20s' is not M.m.r",
			         p->version);
			return buf;
		}
		if (!any || ver > top)
			top = ver;
		any = true;
	}
	if (any && hv_issue_above(top, &n) < 0) {
		snprintf(buf, bufsz, "; no reissue: the host cannot issue a version above %u.%u.%u",
		         (unsigned)(top >> 32), (unsigned)((top >> 16) & 0xffff),
		         (unsigned)(top & 0xffff));
		return buf;
	}
	v->min_issue = any ? n : 0;
	deliver(v, why);
	return "";
}

static void judge_policy(const struct hv_expect *x, const Hvipe__IpeState *ipe,
                         struct hv_verdict *v)
{
	const Hvipe__IpePolicy *active = NULL;
	uint64_t ver, floor_n;
	char buf[96];
	const char *plan;
	size_t i;

	for (i = 0; i < ipe->n_policies; i++)
		if (ipe->policies[i]->active) {
			active = ipe->policies[i];
			break;
		}
	if (!active || !strcmp(active->name, HV_FALLBACK_POLICY_NAME)) {
		/* An hvipe policy may be loaded without being active. */
		plan = plan_reissue(ipe, v, "policy_missing", buf, sizeof(buf));
		add(v, HVIPE__FINDING_CODE__FINDING_POLICY_MISSING, "active policy %s%s",
		    active ? HV_FALLBACK_POLICY_NAME : "none", plan);
		return;
	}
	if (strcmp(active->name, HV_POLICY_NAME) != 0) {
		plan = plan_reissue(ipe, v, "policy_mismatch", buf, sizeof(buf));
		add(v, HVIPE__FINDING_CODE__FINDING_POLICY_MISMATCH,
		    "active policy is not the host's (name differs)%s", plan);
		return;
	}
	if (active->digest.len == 32 && x->issued_n > 0 &&
	    memcmp(active->digest.data, x->issued_digest, 32) == 0)
		return;
	if (active->digest.len == 32 && x->confirmed_n > 0 &&
	    memcmp(active->digest.data, x->confirmed_digest, 32) == 0) {
		/* An issue after the confirmed one did not take: send it again. */
		deliver(v, "policy_not_applied");
		return;
	}
	/* Neither is the policy the host issued: a rollback to an older issue,
	 * or one this host's store does not know (forgotten VM, restored
	 * database, another host). The host is the authority: it issues anew,
	 * above what the guest runs. The finding stays on this verdict. */
	floor_n = x->confirmed_n ? x->confirmed_n : x->issued_n;
	if (floor_n > 0 && hv_version_parse(active->version, &ver) == 0 &&
	    ver < HV_ISSUE_VERSION_BASE + floor_n) {
		plan = plan_reissue(ipe, v, "policy_outdated", buf, sizeof(buf));
		add(v, HVIPE__FINDING_CODE__FINDING_POLICY_OUTDATED,
		    "active version %.20s is older than issue %llu%s", active->version,
		    (unsigned long long)floor_n, plan);
		return;
	}
	plan = plan_reissue(ipe, v, "policy_mismatch", buf, sizeof(buf));
	add(v, HVIPE__FINDING_CODE__FINDING_POLICY_MISMATCH,
	    "active policy digest differs from the one issued%s", plan);
}

void hv_verdict_eval(const struct hv_expect *x, const Hvipe__Evidence *ev, struct hv_verdict *v)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	if (ev->nonce.len != HV_PROTO_NONCE_LEN ||
	    memcmp(ev->nonce.data, x->nonce, HV_PROTO_NONCE_LEN) != 0)
		add(v, HVIPE__FINDING_CODE__FINDING_NONCE_MISMATCH,
		    "evidence answers another challenge");
	if (x->boot_id && x->boot_id_len > 0 &&
	    (ev->boot_id.len != x->boot_id_len ||
	     memcmp(ev->boot_id.data, x->boot_id, x->boot_id_len)))
		add(v, HVIPE__FINDING_CODE__FINDING_BOOT_CHANGED,
		    "boot id changed within the session");

	if (!ev->ipe || !ev->ipe->present) {
		add(v, HVIPE__FINDING_CODE__FINDING_IPE_ABSENT, "IPE is not active in the guest");
	} else {
		if (!ev->ipe->enforce)
			add(v, HVIPE__FINDING_CODE__FINDING_IPE_NOT_ENFORCING, "enforce is 0");
		judge_policy(x, ev->ipe, v);
	}

	if (ev->n_verity == 0)
		add(v, HVIPE__FINDING_CODE__FINDING_VERITY_ABSENT, "no dm-verity device");
	for (i = 0; i < ev->n_verity; i++)
		judge_device(x, ev->verity[i], v);

	if (x->require_guard) {
		Hvipe__FindingCode g = hv_guard_evaluate(ev->guard, x->guard_tags);

		if (g == HVIPE__FINDING_CODE__FINDING_GUARD_ABSENT)
			add(v, g, "guard required, absent");
		else if (g == HVIPE__FINDING_CODE__FINDING_GUARD_NOT_ARMED)
			add(v, g, "guard status %d", (int)ev->guard->status);
		else if (g == HVIPE__FINDING_CODE__FINDING_GUARD_TAMPERED)
			add(v, g, "guard program tags differ from the build's (%zu reported)",
			    ev->guard->n_program_tags);
	}

	v->trusted = v->n == 0;
	for (i = 0; i < v->n; i++) {
		Hvipe__FindingCode f = v->f[i].code;

		if (f == HVIPE__FINDING_CODE__FINDING_POLICY_MISSING)
			continue;
		if (x->guard_pending_ok && (f == HVIPE__FINDING_CODE__FINDING_GUARD_ABSENT ||
		                            f == HVIPE__FINDING_CODE__FINDING_GUARD_NOT_ARMED))
			continue;
		v->violation = true;
	}
}
