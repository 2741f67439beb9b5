/* SPDX-License-Identifier: Apache-2.0 */
#include "compose.h"
#include "util/cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ops[] = {"EXECUTE", "KMODULE", "KEXEC_IMAGE", "KEXEC_INITRAMFS"};
/* Ops that approved images may serve; kexec stays denied. */
static const char *const allow_ops[] = {"EXECUTE", "KMODULE"};

const char *hv_mode_name(enum hv_vm_mode m)
{
	return m == HV_MODE_SIGNATURE ? "signature" : "roothash";
}

int hv_mode_parse(const char *s, enum hv_vm_mode *out)
{
	if (!strcmp(s, "roothash"))
		*out = HV_MODE_ROOTHASH;
	else if (!strcmp(s, "signature"))
		*out = HV_MODE_SIGNATURE;
	else
		return -EINVAL;
	return 0;
}

int hv_compose_version(uint64_t n, char *buf, size_t bufsz)
{
	uint64_t v = HV_ISSUE_VERSION_BASE + n;

	if (n == 0 || n > HV_ISSUE_MAX || bufsz < 18)
		return -ERANGE;
	snprintf(buf, bufsz, "%u.%u.%u", (unsigned)(v >> 32), (unsigned)((v >> 16) & 0xffff),
	         (unsigned)(v & 0xffff));
	return 0;
}

int hv_issue_above(uint64_t version, uint64_t *n)
{
	if (version >= HV_VERSION_MAX)
		return -ERANGE;
	*n = version < HV_ISSUE_VERSION_BASE ? 1 : version - HV_ISSUE_VERSION_BASE + 1;
	return 0;
}

static int rule_cmp(const void *a, const void *b)
{
	const struct hv_image_rule *x = a, *y = b;
	int c = strcmp(x->alg, y->alg);

	return c ? c : strcmp(x->hex, y->hex);
}

int hv_compose_rules(enum hv_vm_mode mode, const struct hv_image_rule *imgs, size_t n,
                     struct hv_buf *out)
{
	_cleanup_free_ struct hv_image_rule *sorted = NULL;
	size_t i, j;
	int r;

	r = hv_buf_printf(out, "DEFAULT action=ALLOW\n");
	for (i = 0; r == 0 && i < ARRAY_SIZE(ops); i++)
		r = hv_buf_printf(out, "DEFAULT op=%s action=DENY\n", ops[i]);
	if (r < 0)
		return r;
	if (mode == HV_MODE_SIGNATURE) {
		for (j = 0; r == 0 && j < ARRAY_SIZE(allow_ops); j++)
			r = hv_buf_printf(out, "op=%s dmverity_signature=TRUE action=ALLOW\n",
			                  allow_ops[j]);
		return r;
	}
	if (n == 0)
		return 0;
	sorted = calloc(n, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, imgs, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), rule_cmp);
	for (j = 0; r == 0 && j < ARRAY_SIZE(allow_ops); j++)
		for (i = 0; r == 0 && i < n; i++) {
			if (i > 0 && rule_cmp(&sorted[i - 1], &sorted[i]) == 0)
				continue;
			r = hv_buf_printf(out, "op=%s dmverity_roothash=%s:%s action=ALLOW\n",
			                  allow_ops[j], sorted[i].alg, sorted[i].hex);
		}
	return r;
}

int hv_compose_policy(enum hv_vm_mode mode, const struct hv_image_rule *imgs, size_t n,
                      uint64_t issue, size_t max_text, char **out, size_t *len)
{
	struct hv_buf b;
	char ver[32];
	int r;

	r = hv_compose_version(issue, ver, sizeof(ver));
	if (r < 0)
		return r;
	/* The cap only bounds memory; -EMSGSIZE below is the real limit. */
	hv_buf_init(&b, max_text + 4096);
	r = hv_buf_printf(&b, "policy_name=%s policy_version=%s\n", HV_POLICY_NAME, ver);
	if (r == 0)
		r = hv_compose_rules(mode, imgs, n, &b);
	if (r == -E2BIG || (r == 0 && b.len > max_text))
		r = -EMSGSIZE;
	if (r == 0)
		r = hv_buf_append(&b, "", 1);
	if (r < 0) {
		hv_buf_free(&b);
		return r;
	}
	*len = b.len - 1;
	*out = (char *)b.data;
	return 0;
}
