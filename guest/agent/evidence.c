// SPDX-License-Identifier: Apache-2.0
#include "evidence.h"
#include "hvipe.pb-c.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/hex.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mountinfo of a busy guest stays well below this; a larger one is refused. */
#define GA_MOUNTINFO_MAX (1024u * 1024)

void ga_dm_targets_free(struct ga_dm_target *t, size_t n)
{
	for (size_t i = 0; t && i < n; i++)
		free(t[i].params);
	free(t);
}

int ga_read_small(const char *dir, const char *name, char *out, size_t max)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	size_t have = 0;

	if (max == 0)
		return -EINVAL;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, out + have, max - have);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (have == max)
			return -EFBIG;
	}
	while (have > 0 && (out[have - 1] == '\n' || out[have - 1] == 0))
		have--;
	out[have] = 0;
	if (memchr(out, 0, have))
		return -EBADMSG;
	return (int)have;
}

/* Next space-separated token of @s into @tok (@toksz); -EBADMSG if none or too long. */
static int next_token(const char **s, char *tok, size_t toksz)
{
	const char *p = *s, *start;
	size_t n;

	while (*p == ' ')
		p++;
	start = p;
	while (*p && *p != ' ')
		p++;
	n = (size_t)(p - start);
	if (n == 0 || n >= toksz)
		return -EBADMSG;
	memcpy(tok, start, n);
	tok[n] = 0;
	*s = p;
	return 0;
}

static int token_u64(const char **s, uint64_t *v)
{
	char tok[24], *end;
	unsigned long long x;

	if (next_token(s, tok, sizeof(tok)) < 0 || tok[0] < '0' || tok[0] > '9')
		return -EBADMSG;
	errno = 0;
	x = strtoull(tok, &end, 10);
	if (errno || *end)
		return -EBADMSG;
	*v = x;
	return 0;
}

static int token_u32(const char **s, unsigned *v)
{
	uint64_t x;

	if (token_u64(s, &x) < 0 || x > UINT32_MAX)
		return -EBADMSG;
	*v = (unsigned)x;
	return 0;
}

int ga_verity_parse(const char *params, struct ga_verity_table *out)
{
	struct ga_verity_table t = {0};
	const char *s = params;
	char hex[2 * sizeof(t.salt) + 1];
	unsigned nopt;
	int r;

	if (token_u32(&s, &t.version) < 0 || next_token(&s, t.data_dev, sizeof(t.data_dev)) < 0 ||
	    next_token(&s, t.hash_dev, sizeof(t.hash_dev)) < 0 ||
	    token_u32(&s, &t.data_block_size) < 0 || token_u32(&s, &t.hash_block_size) < 0 ||
	    token_u64(&s, &t.data_blocks) < 0 || token_u64(&s, &t.hash_start) < 0 ||
	    next_token(&s, t.alg, sizeof(t.alg)) < 0)
		return -EBADMSG;

	if (next_token(&s, hex, 2 * sizeof(t.root_hash) + 1) < 0)
		return -EBADMSG;
	r = hv_hex_decode(t.root_hash, sizeof(t.root_hash), hex, strlen(hex));
	if (r <= 0)
		return -EBADMSG;
	t.root_hash_len = (size_t)r;

	if (next_token(&s, hex, sizeof(hex)) < 0)
		return -EBADMSG;
	if (strcmp(hex, "-")) {
		r = hv_hex_decode(t.salt, sizeof(t.salt), hex, strlen(hex));
		if (r < 0)
			return -EBADMSG;
		t.salt_len = (size_t)r;
	}

	while (*s == ' ')
		s++;
	if (*s) {
		if (token_u32(&s, &nopt) < 0 || nopt > 64)
			return -EBADMSG;
		for (unsigned i = 0; i < nopt; i++) {
			char opt[256];

			if (next_token(&s, opt, sizeof(opt)) < 0)
				return -EBADMSG;
			if (!strcmp(opt, "root_hash_sig_key_desc")) {
				if (++i >= nopt || next_token(&s, opt, sizeof(opt)) < 0)
					return -EBADMSG;
				t.sig_key_desc = true;
			}
		}
		while (*s == ' ')
			s++;
		if (*s)
			return -EBADMSG;
	}
	*out = t;
	return 0;
}

/* Decode mountinfo's octal escapes (\040 for space etc.) in place. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			char c = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));

			if (c) {
				*w++ = c;
				s += 3;
				continue;
			}
		}
		*w++ = *s;
	}
	*w = 0;
}

int ga_mountpoint(const char *mountinfo, unsigned major, unsigned minor, char *out, size_t outsz)
{
	_cleanup_free_ uint8_t *data = NULL;
	char *line, *save = NULL;
	size_t len;
	int r;

	r = hv_read_file(mountinfo, GA_MOUNTINFO_MAX, &data, &len);
	if (r < 0)
		return r;
	for (line = strtok_r((char *)data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned id, parent, ma, mi;
		char mp[4096];
		int n = 0;

		/* "36 35 98:0 / /mnt1 rw,noatime ..." : mount id, parent, dev, root, mountpoint */
		if (sscanf(line, "%u %u %u:%u %*s %4095s%n", &id, &parent, &ma, &mi, mp, &n) != 5 ||
		    n == 0)
			continue;
		if (ma != major || mi != minor)
			continue;
		unescape_octal(mp);
		if (strlen(mp) >= outsz)
			return -ENAMETOOLONG;
		strcpy(out, mp);
		return 0;
	}
	return -ENOENT;
}

int ga_dm_file_list(void *path, struct ga_dm_target **out, size_t *nout)
{
	_cleanup_free_ uint8_t *data = NULL;
	struct ga_dm_target *arr;
	char *line, *save = NULL;
	size_t len, n = 0;
	int r;

	r = hv_read_file(path, 65536, &data, &len);
	if (r < 0)
		return r;
	arr = calloc(HV_PROTO_MAX_VERITY_DEVICES, sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	for (line = strtok_r((char *)data, "\n", &save); line && n < HV_PROTO_MAX_VERITY_DEVICES;
	     line = strtok_r(NULL, "\n", &save)) {
		struct ga_dm_target *t = &arr[n];
		int off = 0;

		if (sscanf(line, "%127s %u:%u %31s %n", t->name, &t->major, &t->minor, t->type,
		           &off) != 4 ||
		    off == 0)
			continue;
		t->params = strdup(line + off);
		if (!t->params) {
			ga_dm_targets_free(arr, n);
			return -ENOMEM;
		}
		n++;
	}
	*out = arr;
	*nout = n;
	return 0;
}

static int sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
	unsigned int olen = 0;

	if (!EVP_Digest(p, n, out, &olen, EVP_sha256(), NULL) || olen != 32)
		return -EIO;
	return 0;
}

static int cmp_policy(const void *a, const void *b)
{
	return strcmp(((const struct ga_policy *)a)->name, ((const struct ga_policy *)b)->name);
}

static void collect_policy(const char *pdir, const char *entry, struct ga_policy *pol)
{
	char buf[8];
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ uint8_t *blob = NULL;
	size_t len;

	memset(pol, 0, sizeof(*pol));
	if (ga_read_small(pdir, "name", pol->name, sizeof(pol->name)) < 0)
		snprintf(pol->name, sizeof(pol->name), "%s", entry);
	if (ga_read_small(pdir, "version", pol->version, sizeof(pol->version)) < 0)
		pol->version[0] = 0;
	pol->active = ga_read_small(pdir, "active", buf, sizeof(buf)) == 1 && buf[0] == '1';
	if (asprintf(&path, "%s/pkcs7", pdir) < 0)
		return;
	/* The boot policy has no pkcs7 (ENOENT): it is reported without a digest. */
	if (hv_read_file(path, HV_IPE_MAX_SIGNED_BLOB, &blob, &len) == 0 && len > 0)
		pol->has_digest = sha256(blob, len, pol->digest) == 0;
}

static bool lsm_listed(const char *securityfs, const char *lsm)
{
	char list[1024], *tok, *save = NULL;

	if (ga_read_small(securityfs, "lsm", list, sizeof(list)) < 0)
		return false;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, lsm))
			return true;
	return false;
}

int ga_ipe_collect(const char *securityfs, struct ga_ipe *out)
{
	_cleanup_free_ char *ipe = NULL, *pdir = NULL;
	DIR *d;
	struct dirent *de;
	struct stat st;
	char buf[8];

	memset(out, 0, sizeof(*out));
	if (asprintf(&ipe, "%s/ipe", securityfs) < 0 ||
	    asprintf(&pdir, "%s/ipe/policies", securityfs) < 0)
		return -ENOMEM;
	if (stat(ipe, &st) < 0 || !S_ISDIR(st.st_mode) || !lsm_listed(securityfs, "ipe"))
		return 0;
	out->present = true;
	out->enforce = ga_read_small(ipe, "enforce", buf, sizeof(buf)) == 1 && buf[0] == '1';
	out->success_audit =
	        ga_read_small(ipe, "success_audit", buf, sizeof(buf)) == 1 && buf[0] == '1';

	d = opendir(pdir);
	if (!d)
		return 0;
	/*
	 * At most HV_PROTO_MAX_POLICIES are reported (IPE has no limit). Past
	 * that, the directory is still walked for the active policy, which
	 * takes the last slot: the host must always see what is enforced.
	 */
	while ((de = readdir(d))) {
		_cleanup_free_ char *one = NULL;
		struct ga_policy extra, *slot;

		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&one, "%s/%s", pdir, de->d_name) < 0) {
			closedir(d);
			return -ENOMEM;
		}
		if (stat(one, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (out->n_policies < HV_PROTO_MAX_POLICIES) {
			collect_policy(one, de->d_name, &out->policies[out->n_policies++]);
			continue;
		}
		collect_policy(one, de->d_name, &extra);
		slot = &out->policies[HV_PROTO_MAX_POLICIES - 1];
		if (extra.active && !slot->active)
			*slot = extra;
	}
	closedir(d);
	qsort(out->policies, out->n_policies, sizeof(out->policies[0]), cmp_policy);
	return 0;
}

void ga_lockdown_collect(const char *securityfs, char *out, size_t outsz)
{
	char buf[128], *open, *close;

	out[0] = 0;
	if (ga_read_small(securityfs, "lockdown", buf, sizeof(buf)) < 0)
		return;
	open = strchr(buf, '[');
	close = open ? strchr(open, ']') : NULL;
	if (!close || (size_t)(close - open - 1) >= outsz)
		return;
	memcpy(out, open + 1, (size_t)(close - open - 1));
	out[close - open - 1] = 0;
}

int ga_boot_id_parse(const char *s, size_t len, uint8_t out[16])
{
	char hex[33];
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '-')
			continue;
		if (n == 32)
			return -EBADMSG;
		hex[n++] = s[i];
	}
	if (n != 32 || hv_hex_decode(out, 16, hex, 32) != 16)
		return -EBADMSG;
	return 0;
}

void ga_guard_collect(struct ga_guard *out)
{
	memset(out, 0, sizeof(*out));
	out->status = GA_GUARD_ABSENT;
	snprintf(out->detail, sizeof(out->detail), "guard not built into this agent");
}

static void split_path(const char *path, char *dir, size_t dsz, const char **base)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		snprintf(dir, dsz, ".");
		*base = path;
		return;
	}
	snprintf(dir, dsz, "%.*s", (int)(slash - path), path);
	if (!dir[0])
		snprintf(dir, dsz, "/");
	*base = slash + 1;
}

static int collect_verity(const struct ga_paths *p, struct ga_evidence *ev)
{
	struct ga_dm_target *t = NULL;
	size_t n = 0;
	int r;

	r = p->dm->list(p->dm->ctx, &t, &n);
	if (r == -ENOENT || r == -ENXIO)
		return 0; /* no device-mapper in this kernel: no verity devices */
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && ev->n_verity < HV_PROTO_MAX_VERITY_DEVICES; i++) {
		struct ga_verity_table vt;
		struct ga_verity *v;

		if (strcmp(t[i].type, "verity") || !t[i].params ||
		    ga_verity_parse(t[i].params, &vt) < 0)
			continue;
		v = &ev->verity[ev->n_verity++];
		memset(v, 0, sizeof(*v));
		snprintf(v->name, sizeof(v->name), "%s", t[i].name);
		memcpy(v->root_hash, vt.root_hash, vt.root_hash_len);
		v->root_hash_len = vt.root_hash_len;
		snprintf(v->alg, sizeof(v->alg), "%s", vt.alg);
		snprintf(v->data_dev, sizeof(v->data_dev), "%s", vt.data_dev);
		snprintf(v->hash_dev, sizeof(v->hash_dev), "%s", vt.hash_dev);
		v->signature = vt.sig_key_desc;
		if (ga_mountpoint(p->mountinfo, t[i].major, t[i].minor, v->mountpoint,
		                  sizeof(v->mountpoint)) < 0)
			v->mountpoint[0] = 0;
	}
	ga_dm_targets_free(t, n);
	return 0;
}

int ga_evidence_collect(const struct ga_paths *p, uint32_t want, struct ga_evidence *ev)
{
	char buf[64], dir[4096];
	const char *base;
	int r;

	memset(ev, 0, sizeof(*ev));
	ga_guard_collect(&ev->guard);
	if (want == 0)
		want = HVIPE__EVIDENCE_KIND__EVIDENCE_VERITY | HVIPE__EVIDENCE_KIND__EVIDENCE_IPE |
		       HVIPE__EVIDENCE_KIND__EVIDENCE_LOCKDOWN |
		       HVIPE__EVIDENCE_KIND__EVIDENCE_GUARD;

	split_path(p->osrelease, dir, sizeof(dir), &base);
	if (ga_read_small(dir, base, ev->kernel_release, sizeof(ev->kernel_release)) < 0)
		ev->kernel_release[0] = 0;
	split_path(p->boot_id, dir, sizeof(dir), &base);
	r = ga_read_small(dir, base, buf, sizeof(buf));
	ev->has_boot_id = r > 0 && ga_boot_id_parse(buf, (size_t)r, ev->boot_id) == 0;

	/* One part failing does not keep the others from the host. */
	if (want & HVIPE__EVIDENCE_KIND__EVIDENCE_VERITY)
		r = collect_verity(p, ev);
	else
		r = 0;
	if (want & HVIPE__EVIDENCE_KIND__EVIDENCE_IPE) {
		int r2 = ga_ipe_collect(p->securityfs, &ev->ipe);

		if (r == 0)
			r = r2;
	}
	if (want & HVIPE__EVIDENCE_KIND__EVIDENCE_LOCKDOWN)
		ga_lockdown_collect(p->securityfs, ev->lockdown, sizeof(ev->lockdown));
	if (want & HVIPE__EVIDENCE_KIND__EVIDENCE_GUARD)
		ga_guard_collect(&ev->guard);
	return r;
}
