// SPDX-License-Identifier: Apache-2.0
#include "apply.h"
#include "util/buf.h"
#include "util/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int ga_version_parse(const char *s, uint16_t out[3])
{
	uint16_t v[3];

	for (int i = 0; i < 3; i++) {
		unsigned long x = 0;
		int digits = 0;

		while (*s >= '0' && *s <= '9') {
			x = x * 10 + (unsigned long)(*s - '0');
			if (x > UINT16_MAX || ++digits > 5)
				return -EINVAL;
			s++;
		}
		if (!digits || *s != (i < 2 ? '.' : 0))
			return -EINVAL;
		if (i < 2)
			s++;
		v[i] = (uint16_t)x;
	}
	memcpy(out, v, sizeof(v));
	return 0;
}

int ga_version_cmp(const uint16_t a[3], const uint16_t b[3])
{
	for (int i = 0; i < 3; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

static int header_from_text(const char *t, size_t n, char *name, size_t namesz, char *version,
                            size_t versionsz)
{
	size_t i = 0;

	while (i < n) {
		size_t start = i, end;
		char line[1024], *save = NULL, *tok1, *tok2, *hash;

		while (i < n && t[i] != '\n' && t[i] != '\r' && t[i] != 0)
			i++;
		end = i;
		if (i < n && t[i] == 0)
			n = i; /* the kernel stops at the first NUL */
		i++;
		if (end - start >= sizeof(line))
			return -EBADMSG;
		memcpy(line, t + start, end - start);
		line[end - start] = 0;
		hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		tok1 = strtok_r(line, " \t", &save);
		if (!tok1)
			continue;
		tok2 = strtok_r(NULL, " \t", &save);
		if (!tok2 || strtok_r(NULL, " \t\v\f", &save) ||
		    strncmp(tok1, "policy_name=", 12) || strncmp(tok2, "policy_version=", 15) ||
		    !tok1[12])
			return -EBADMSG;
		if (strlen(tok1 + 12) >= namesz || strlen(tok2 + 15) >= versionsz)
			return -ENAMETOOLONG;
		strcpy(name, tok1 + 12);
		strcpy(version, tok2 + 15);
		return 0;
	}
	return -EBADMSG;
}

int ga_blob_header(const uint8_t *blob, size_t len, char *name, size_t namesz, char *version,
                   size_t versionsz)
{
	const unsigned char *p = blob;
	CMS_ContentInfo *cms;
	ASN1_OCTET_STRING **content;
	int r = -EBADMSG;

	if (len == 0 || len > HV_IPE_MAX_SIGNED_BLOB)
		return -EBADMSG;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (!cms)
		return -EBADMSG;
	content = CMS_get0_content(cms);
	if (content && *content && p == blob + len)
		r = header_from_text((const char *)ASN1_STRING_get0_data(*content),
		                     (size_t)ASN1_STRING_length(*content), name, namesz, version,
		                     versionsz);
	CMS_ContentInfo_free(cms);
	return r;
}

const char *ga_errno_reason(int err, const char *step)
{
	bool del = step && !strcmp(step, "delete");
	bool act = step && !strcmp(step, "activate");

	switch (err) {
	case 0:
		return "ok";
	case EEXIST:
		return "a policy of this name is already loaded";
	case ESTALE:
		return "version not higher than the loaded or recorded one (rollback refused)";
	case EKEYREJECTED:
		return "signature rejected: signed attributes or a detached signature";
	case ENOKEY:
		return "signer not in the kernel's keyrings (host certificate not enrolled)";
	case EBADMSG:
		return "malformed: not DER PKCS#7, digest mismatch, or policy text does not parse";
	case EMSGSIZE:
		return "signed policy larger than 65535 bytes";
	case EINVAL:
		if (act)
			return "version lower than the active policy's";
		if (del)
			return "delete refused as invalid";
		return "invalid: name differs from the loaded policy, bad version or PKCS#7 "
		       "structure";
	case EPERM:
		if (del)
			return "the policy is active and cannot be deleted";
		return "not permitted: the agent lacks CAP_MAC_ADMIN or a guard refused the write";
	case EACCES:
		return "policy name not allowed ('/', '.' or '..')";
	case ENAMETOOLONG:
		return "policy name longer than 255 bytes";
	case ENOENT:
		return "not found: IPE absent from securityfs or the policy was deleted";
	case ERANGE:
		return "version component above 65535";
	default:
		return "unexpected error";
	}
}

/* One write() of the whole buffer, as securityfs requires. Returns 0 or -errno. */
static int write_once(const char *path, const void *data, size_t len)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	do
		n = write(fd, data, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

static bool name_safe(const char *name)
{
	return name[0] && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

int ga_floor_load(const char *state_dir, const char *name, uint16_t out[3])
{
	_cleanup_free_ char *file = NULL;
	char buf[40];
	int r;

	if (!state_dir)
		return -ENOENT;
	if (!name_safe(name))
		return -EINVAL;
	if (asprintf(&file, "floor.%s", name) < 0)
		return -ENOMEM;
	r = ga_read_small(state_dir, file, buf, sizeof(buf));
	if (r < 0)
		return r;
	return ga_version_parse(buf, out) < 0 ? -EBADMSG : 0;
}

int ga_floor_store(const char *state_dir, const char *name, const char *version)
{
	_cleanup_free_ char *path = NULL;
	uint16_t cur[3], v[3];

	if (!state_dir)
		return 0;
	if (!name_safe(name) || ga_version_parse(version, v) < 0)
		return -EINVAL;
	if (ga_floor_load(state_dir, name, cur) == 0 && ga_version_cmp(cur, v) >= 0)
		return 0;
	if (asprintf(&path, "%s/floor.%s", state_dir, name) < 0)
		return -ENOMEM;
	return hv_write_file_atomic(path, version, strlen(version), 0600);
}

static void fail(struct ga_apply_result *res, int err, const char *step)
{
	res->err = err;
	res->step = step;
	snprintf(res->reason, sizeof(res->reason), "%s", ga_errno_reason(err, step));
}

static int verify_local(const char *state_dir, const struct ga_apply_req *req,
                        struct ga_apply_result *res)
{
	uint8_t md[32];
	unsigned int mdlen = 0;
	uint16_t v[3], floor[3];
	int r;

	if (req->len == 0 || req->len > HV_IPE_MAX_SIGNED_BLOB) {
		fail(res, EMSGSIZE, "verify");
		return -1;
	}
	if (req->digest) {
		if (!EVP_Digest(req->blob, req->len, md, &mdlen, EVP_sha256(), NULL) ||
		    mdlen != 32 || CRYPTO_memcmp(md, req->digest, 32)) {
			fail(res, EBADMSG, "verify");
			snprintf(res->reason, sizeof(res->reason),
			         "digest does not match the blob");
			return -1;
		}
	}
	r = ga_blob_header(req->blob, req->len, res->name, sizeof(res->name), res->version,
	                   sizeof(res->version));
	if (r < 0) {
		fail(res, r == -ENAMETOOLONG ? ENAMETOOLONG : EBADMSG, "verify");
		return -1;
	}
	if ((req->name && strcmp(req->name, res->name)) ||
	    (req->version && strcmp(req->version, res->version))) {
		fail(res, EINVAL, "verify");
		snprintf(res->reason, sizeof(res->reason),
		         "name or version in the update differ from the signed policy text");
		return -1;
	}
	if (ga_version_parse(res->version, v) < 0) {
		fail(res, EINVAL, "verify");
		return -1;
	}
	if (!name_safe(res->name)) {
		fail(res, EACCES, "verify");
		return -1;
	}
	if (ga_floor_load(state_dir, res->name, floor) == 0 && ga_version_cmp(v, floor) < 0) {
		fail(res, ESTALE, "verify");
		snprintf(res->reason, sizeof(res->reason),
		         "version lower than the highest this guest applied (rollback refused)");
		return -1;
	}
	return 0;
}

/* Delete every loaded policy that is neither active nor the fallback. */
static int prune(const char *ipe, struct ga_apply_result *res)
{
	struct ga_ipe st;
	int r = ga_ipe_collect(ipe, &st), first = 0;

	(void)r;
	for (size_t i = 0; i < st.n_policies; i++) {
		_cleanup_free_ char *path = NULL;
		const struct ga_policy *p = &st.policies[i];

		if (p->active || !strcmp(p->name, GA_FALLBACK_NAME) || !name_safe(p->name))
			continue;
		if (asprintf(&path, "%s/ipe/policies/%s/delete", ipe, p->name) < 0)
			return -ENOMEM;
		r = write_once(path, "1", 1);
		if (r < 0 && !first)
			first = -r;
	}
	if (first)
		fail(res, first, "delete");
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Whether securityfs shows @name loaded with digest @md and, when @active,
 * as the only active policy. Re-reads for up to @settle_ms.
 */
static int confirm(const char *securityfs, const char *name, const uint8_t md[32], bool active,
                   int settle_ms)
{
	int64_t end = mono_ms() + settle_ms;
	struct ga_ipe st;

	for (;;) {
		bool loaded = false, others = false;
		int r = ga_ipe_collect(securityfs, &st);

		if (r < 0)
			return r;
		for (size_t i = 0; i < st.n_policies; i++) {
			const struct ga_policy *p = &st.policies[i];

			if (!strcmp(p->name, name))
				loaded = p->has_digest && !memcmp(p->digest, md, 32) &&
				         (!active || p->active);
			else if (p->active)
				others = true;
		}
		if (loaded && (!active || !others))
			return 0;
		if (mono_ms() >= end)
			return -EIO;
		usleep(20000);
	}
}

int ga_policy_apply(const char *securityfs, const char *state_dir, const struct ga_apply_req *req,
                    struct ga_apply_result *res)
{
	_cleanup_free_ char *pdir = NULL, *target = NULL, *active = NULL;
	struct ga_ipe st;
	bool loaded = false, same = false;
	uint8_t md[32];
	unsigned int mdlen = 0;
	int r;

	memset(res, 0, sizeof(*res));
	res->step = "verify";
	if (verify_local(state_dir, req, res) < 0)
		return 0;
	if (!EVP_Digest(req->blob, req->len, md, &mdlen, EVP_sha256(), NULL))
		return -ENOMEM;

	r = ga_ipe_collect(securityfs, &st);
	if (r < 0)
		return r;
	if (!st.present) {
		fail(res, ENOENT, "load");
		return 0;
	}
	for (size_t i = 0; i < st.n_policies; i++) {
		const struct ga_policy *p = &st.policies[i];

		if (strcmp(p->name, res->name))
			continue;
		loaded = true;
		same = p->has_digest && !memcmp(p->digest, md, 32);
	}
	if (asprintf(&pdir, "%s/ipe/policies/%s", securityfs, res->name) < 0)
		return -ENOMEM;

	/* The very blob is already loaded (sent again after a reconnect): only activate. */
	if (!same) {
		res->step = loaded ? "update" : "load";
		if (loaded)
			r = asprintf(&target, "%s/update", pdir);
		else
			r = asprintf(&target, "%s/ipe/new_policy", securityfs);
		if (r < 0)
			return -ENOMEM;
		r = write_once(target, req->blob, req->len);
		if (r == 0)
			r = confirm(securityfs, res->name, md, false, req->settle_ms);
		if (r < 0) {
			fail(res, -r, res->step);
			if (r == -EIO)
				snprintf(res->reason, sizeof(res->reason),
				         "write accepted but securityfs does not show the policy");
			goto report;
		}
	}
	if (req->activate) {
		if (asprintf(&active, "%s/active", pdir) < 0)
			return -ENOMEM;
		r = write_once(active, "1", 1);
		if (r == 0)
			r = confirm(securityfs, res->name, md, true, req->settle_ms);
		if (r < 0) {
			fail(res, -r, "activate");
			if (r == -EIO)
				snprintf(res->reason, sizeof(res->reason),
				         "activation accepted but the policy is not the only "
				         "active one");
			goto report;
		}
		res->step = "activate";
		r = prune(securityfs, res);
		if (r < 0)
			return r;
	}
	if (res->err == 0)
		(void)ga_floor_store(state_dir, res->name, res->version);

report:
	if (res->err == 0)
		snprintf(res->reason, sizeof(res->reason), "ok");
	r = ga_ipe_collect(securityfs, &st);
	if (r < 0)
		return r;
	for (size_t i = 0; i < st.n_policies; i++)
		if (st.policies[i].active)
			res->active = st.policies[i];
	return 0;
}
