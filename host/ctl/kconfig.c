// SPDX-License-Identifier: Apache-2.0
/*
 * The guest kernel options hvipe relies on, and a strict reader of .config.
 * Only lines "CONFIG_X=value" and "# CONFIG_X is not set" carry meaning;
 * other comments and blank lines are skipped. Later assignments of the same
 * option win, as in Kconfig itself.
 */
#include "kconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

const struct kconfig_req kconfig_reqs[] = {
        {"SECURITY_IPE", KCONFIG_BUILTIN, NULL, "the IPE LSM (an LSM cannot be a module)"},
        {"IPE_PROP_DM_VERITY", KCONFIG_BUILTIN, NULL, "IPE's dmverity_roothash property"},
        {"IPE_PROP_DM_VERITY_SIGNATURE", KCONFIG_BUILTIN, NULL,
         "IPE's dmverity_signature property"},
        {"IPE_POLICY_SIG_PLATFORM_KEYRING", KCONFIG_BUILTIN, NULL,
         "IPE verifies host-signed policies against .platform (UEFI db)"},
        {"INTEGRITY_PLATFORM_KEYRING", KCONFIG_BUILTIN, NULL, "the .platform keyring"},
        {"LOAD_UEFI_KEYS", KCONFIG_BUILTIN, NULL, "UEFI db certificates loaded into .platform"},
        {"BPF_LSM", KCONFIG_BUILTIN, NULL, "the guest guard is a BPF LSM program"},
        {"DEBUG_INFO_BTF", KCONFIG_BUILTIN, NULL, "BTF for the CO-RE guard"},
        {"AUDIT", KCONFIG_BUILTIN, NULL, "IPE audit records"},
        {"SECURITYFS", KCONFIG_BUILTIN, NULL, "IPE's policy interface"},
        {"DEVTMPFS", KCONFIG_BUILTIN, NULL, "device nodes for the initramfs init"},
        {"VIRTIO_VSOCKETS", KCONFIG_AVAILABLE, NULL, "the guest-host channel"},
        {"VIRTIO_BLK", KCONFIG_AVAILABLE, NULL, "the root and hash-tree disks"},
        {"BLK_DEV_DM", KCONFIG_AVAILABLE, NULL, "device mapper"},
        {"DM_VERITY", KCONFIG_AVAILABLE, NULL, "the verity root"},
        {"DM_VERITY_VERIFY_ROOTHASH_SIG", KCONFIG_BUILTIN, NULL, "root-hash signatures"},
        {"DM_VERITY_VERIFY_ROOTHASH_SIG_PLATFORM_KEYRING", KCONFIG_BUILTIN, NULL,
         "root-hash signatures verified against .platform (UEFI db)"},
        {"EROFS_FS", KCONFIG_AVAILABLE, NULL, "the root file system"},
        {"LSM", KCONFIG_LSM_LIST, "ipe", "IPE active at boot without lsm="},
        {"LSM", KCONFIG_LSM_LIST, "bpf", "BPF LSM active at boot without lsm="},
        {NULL, 0, NULL, NULL},
};

size_t kconfig_nreqs(void)
{
	size_t n = 0;

	while (kconfig_reqs[n].option)
		n++;
	return n;
}

static bool is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Copy @v (@n bytes) into @dst as printable ASCII, truncated, NUL-terminated. */
static void copy_value(char *dst, size_t dstsz, const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < dstsz; i++)
		dst[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
	dst[i] = '\0';
}

/* True when the comma-separated, optionally quoted list @v holds @token. */
static bool list_has(const char *v, size_t n, const char *token)
{
	size_t tl = strlen(token);

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	while (n > 0) {
		const char *comma = memchr(v, ',', n);
		size_t item = comma ? (size_t)(comma - v) : n;

		if (item == tl && !memcmp(v, token, tl))
			return true;
		if (!comma)
			break;
		n -= item + 1;
		v = comma + 1;
	}
	return false;
}

static void judge(struct kconfig_verdict *vd, const char *v, size_t n, bool unset)
{
	const struct kconfig_req *r = vd->req;

	if (unset) {
		vd->state = KCONFIG_MISSING;
		copy_value(vd->found, sizeof(vd->found), "not set", 7);
		return;
	}
	copy_value(vd->found, sizeof(vd->found), v, n);
	switch (r->need) {
	case KCONFIG_BUILTIN:
		vd->state = (n == 1 && v[0] == 'y') ? KCONFIG_OK : KCONFIG_WRONG;
		break;
	case KCONFIG_AVAILABLE:
		vd->state = (n == 1 && (v[0] == 'y' || v[0] == 'm')) ? KCONFIG_OK : KCONFIG_WRONG;
		break;
	case KCONFIG_LSM_LIST:
		vd->state = list_has(v, n, r->token) ? KCONFIG_OK : KCONFIG_NO_TOKEN;
		break;
	}
}

/* Apply one line to every requirement naming the option it sets. */
static void apply_line(const char *l, size_t n, struct kconfig_verdict *out, size_t nreq)
{
	const char *name, *val = NULL;
	size_t nl = 0, vl = 0;
	bool unset = false;

	if (n > 9 && !memcmp(l, "CONFIG_", 7)) {
		name = l + 7;
		while (7 + nl < n && is_name_char(name[nl]))
			nl++;
		if (7 + nl >= n || name[nl] != '=')
			return;
		val = name + nl + 1;
		vl = n - 7 - nl - 1;
	} else if (n > 2 + 7 + 11 && !memcmp(l, "# CONFIG_", 9) &&
	           !memcmp(l + n - 11, " is not set", 11)) {
		name = l + 9;
		nl = n - 9 - 11;
		for (size_t i = 0; i < nl; i++)
			if (!is_name_char(name[i]))
				return;
		unset = true;
	} else {
		return;
	}
	for (size_t i = 0; i < nreq; i++) {
		const char *opt = out[i].req->option;

		if (strlen(opt) == nl && !memcmp(opt, name, nl))
			judge(&out[i], val, vl, unset);
	}
}

int kconfig_check(const char *text, size_t len, struct kconfig_verdict *out, size_t max)
{
	size_t nreq = kconfig_nreqs();

	if (len > KCONFIG_MAX_FILE)
		return -E2BIG;
	if (max < nreq)
		return -ENOBUFS;
	if (memchr(text, '\0', len))
		return -EBADMSG;

	struct kconfig_verdict tmp[KCONFIG_MAX_REQS];

	if (nreq > KCONFIG_MAX_REQS)
		return -ENOBUFS;

	for (size_t i = 0; i < nreq; i++) {
		tmp[i] =
		        (struct kconfig_verdict){.req = &kconfig_reqs[i], .state = KCONFIG_MISSING};
		copy_value(tmp[i].found, sizeof(tmp[i].found), "absent", 6);
	}

	size_t off = 0;

	while (off < len) {
		const char *l = text + off;
		const char *nlp = memchr(l, '\n', len - off);
		size_t n = nlp ? (size_t)(nlp - l) : len - off;

		if (n > KCONFIG_MAX_LINE)
			return -EBADMSG;
		off += n + (nlp ? 1 : 0);
		if (n > 0 && l[n - 1] == '\r')
			n--;
		apply_line(l, n, tmp, nreq);
	}
	memcpy(out, tmp, nreq * sizeof(*out));
	return (int)nreq;
}
