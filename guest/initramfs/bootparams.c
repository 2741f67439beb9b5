// SPDX-License-Identifier: Apache-2.0
#include "bootparams.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static bool is_hex_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Parse @n decimal digits into *v; -EBADMSG on empty, non-digit or overflow. */
static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (n == 0 || n > 20)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EBADMSG;

		uint64_t d = (uint64_t)(s[i] - '0');

		if (d > max || x > (max - d) / 10)
			return -EBADMSG;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

static int copy_str(char *dst, size_t dstsz, const char *v, size_t n)
{
	if (n + 1 > dstsz)
		return -E2BIG;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

static int cmdline_word(const char *w, size_t n, struct boot_cmdline *c)
{
	static const char rh[] = "hvipe.roothash=", fl[] = "hvipe.fail=", pt[] = "hvipe.port=",
	                  ck[] = "hvipe.checks=", dl[] = "hvipe.deadline_ms=";
	uint64_t v;

	if (n >= sizeof(rh) - 1 && !memcmp(w, rh, sizeof(rh) - 1)) {
		const char *h = w + sizeof(rh) - 1;
		size_t hl = n - (sizeof(rh) - 1);

		if (hl < 32 || hl % 2 || !is_hex_lower(h, hl))
			return hl > BP_MAX_HASH_HEX ? -E2BIG : -EBADMSG;
		return copy_str(c->roothash, sizeof(c->roothash), h, hl);
	}
	if (n >= sizeof(fl) - 1 && !memcmp(w, fl, sizeof(fl) - 1)) {
		const char *f = w + sizeof(fl) - 1;
		size_t fn = n - (sizeof(fl) - 1);

		if (fn == 6 && !memcmp(f, "closed", 6))
			c->fail_closed = true;
		else if (fn == 4 && !memcmp(f, "open", 4))
			c->fail_closed = false;
		else
			return -EBADMSG;
		return 0;
	}
	if (n >= sizeof(pt) - 1 && !memcmp(w, pt, sizeof(pt) - 1)) {
		if (parse_u64(w + sizeof(pt) - 1, n - (sizeof(pt) - 1), UINT32_MAX, &v) < 0 ||
		    v == 0)
			return -EBADMSG;
		c->port = (unsigned)v;
		return 0;
	}
	if (n >= sizeof(dl) - 1 && !memcmp(w, dl, sizeof(dl) - 1)) {
		/* One hour at most: a guest must not wait for its host forever. */
		if (parse_u64(w + sizeof(dl) - 1, n - (sizeof(dl) - 1), 3600000, &v) < 0 || v == 0)
			return -EBADMSG;
		c->deadline_ms = (unsigned)v;
		return 0;
	}
	if (n >= sizeof(ck) - 1 && !memcmp(w, ck, sizeof(ck) - 1)) {
		if (parse_u64(w + sizeof(ck) - 1, n - (sizeof(ck) - 1), 1, &v) < 0)
			return -EBADMSG;
		c->checks = v == 1;
		return 0;
	}
	return 0;
}

int boot_parse_cmdline(const char *s, size_t len, struct boot_cmdline *out)
{
	struct boot_cmdline c = {0};
	size_t i = 0;

	if (len > BP_MAX_CMDLINE)
		return -E2BIG;
	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t'))
			i++;
		size_t start = i;

		while (i < len && s[i] != ' ' && s[i] != '\n' && s[i] != '\t') {
			if (s[i] == '\0')
				return -EBADMSG;
			i++;
		}
		if (i > start) {
			int r = cmdline_word(s + start, i - start, &c);

			if (r < 0)
				return r;
		}
	}
	*out = c;
	return 0;
}

enum vkey { VK_DATA, VK_HASH, VK_ALG, VK_SALT, VK_DBS, VK_HBS, VK_BLOCKS, VK_HSTART, VK_N };

static const char *const vkeys[VK_N] = {
        "data_device",     "hash_device",     "hash_algorithm", "salt",
        "data_block_size", "hash_block_size", "data_blocks",    "hash_start",
};

static bool good_block_size(uint64_t v)
{
	return v >= 512 && v <= 65536 && (v & (v - 1)) == 0;
}

static bool good_dev(const char *v, size_t n)
{
	if (n <= 5 || memcmp(v, "/dev/", 5))
		return false;
	for (size_t i = 5; i < n; i++) {
		char ch = v[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_' || ch == '/'))
			return false;
	}
	return !memmem(v, n, "..", 2);
}

static int verity_kv(struct verity_conf *vc, enum vkey k, const char *v, size_t n)
{
	uint64_t x;

	switch (k) {
	case VK_DATA:
	case VK_HASH:
		if (!good_dev(v, n))
			return n > BP_MAX_PATH ? -E2BIG : -EBADMSG;
		return copy_str(k == VK_DATA ? vc->data_dev : vc->hash_dev, BP_MAX_PATH + 1, v, n);
	case VK_ALG:
		if (!(n == 6 && (!memcmp(v, "sha256", 6) || !memcmp(v, "sha512", 6))))
			return -EBADMSG;
		return copy_str(vc->alg, sizeof(vc->alg), v, n);
	case VK_SALT:
		if (n == 1 && v[0] == '-')
			return copy_str(vc->salt, sizeof(vc->salt), v, n);
		if (n == 0 || n % 2 || !is_hex_lower(v, n))
			return n > BP_MAX_SALT_HEX ? -E2BIG : -EBADMSG;
		return copy_str(vc->salt, sizeof(vc->salt), v, n);
	case VK_DBS:
	case VK_HBS:
		if (parse_u64(v, n, 65536, &x) < 0 || !good_block_size(x))
			return -EBADMSG;
		*(k == VK_DBS ? &vc->data_block_size : &vc->hash_block_size) = (uint32_t)x;
		return 0;
	case VK_BLOCKS:
		/* The table length in sectors must fit in 64 bits. */
		if (parse_u64(v, n, UINT64_MAX / 65536 / 2, &x) < 0 || x == 0)
			return -EBADMSG;
		vc->data_blocks = x;
		return 0;
	case VK_HSTART:
		if (parse_u64(v, n, UINT32_MAX, &x) < 0)
			return -EBADMSG;
		vc->hash_start = x;
		return 0;
	case VK_N:
		break;
	}
	return -EBADMSG;
}

int boot_parse_verity_conf(const char *s, size_t len, struct verity_conf *out)
{
	struct verity_conf vc = {0};
	bool seen[VK_N] = {false};
	size_t i = 0;

	if (len > 4096)
		return -E2BIG;
	if (memchr(s, '\0', len))
		return -EBADMSG;
	while (i < len) {
		const char *l = s + i, *nl = memchr(l, '\n', len - i);
		size_t n = nl ? (size_t)(nl - l) : len - i;

		i += n + (nl ? 1 : 0);
		if (n == 0 || l[0] == '#')
			continue;

		const char *eq = memchr(l, '=', n);

		if (!eq)
			return -EBADMSG;

		size_t kl = (size_t)(eq - l);
		enum vkey k;

		for (k = 0; k < VK_N; k++)
			if (strlen(vkeys[k]) == kl && !memcmp(vkeys[k], l, kl))
				break;
		if (k == VK_N || seen[k])
			return -EBADMSG;
		seen[k] = true;

		int r = verity_kv(&vc, k, eq + 1, n - kl - 1);

		if (r < 0)
			return r;
	}
	for (int k = 0; k < VK_N; k++)
		if (!seen[k])
			return -EBADMSG;
	*out = vc;
	return 0;
}

int boot_verity_params(const struct verity_conf *vc, const char *roothash, const char *sig_key_desc,
                       char *buf, size_t size)
{
	int n;

	if (sig_key_desc)
		n = snprintf(buf, size,
		             "1 %s %s %" PRIu32 " %" PRIu32 " %" PRIu64 " %" PRIu64
		             " %s %s %s 2 root_hash_sig_key_desc %s",
		             vc->data_dev, vc->hash_dev, vc->data_block_size, vc->hash_block_size,
		             vc->data_blocks, vc->hash_start, vc->alg, roothash, vc->salt,
		             sig_key_desc);
	else
		n = snprintf(buf, size,
		             "1 %s %s %" PRIu32 " %" PRIu32 " %" PRIu64 " %" PRIu64 " %s %s %s",
		             vc->data_dev, vc->hash_dev, vc->data_block_size, vc->hash_block_size,
		             vc->data_blocks, vc->hash_start, vc->alg, roothash, vc->salt);
	if (n < 0 || (size_t)n >= size)
		return -ENOBUFS;
	return n;
}
