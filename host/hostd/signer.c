/* SPDX-License-Identifier: Apache-2.0 */
#include "signer.h"
#include "compose.h"
#include "hv_limits.h"
#include "policy/policy.h"
#include "policy/sign.h"
#include "util/cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hv_signer {
	EVP_PKEY *key;
	X509 *cert;
	size_t overhead;
};

void hv_signer_free(struct hv_signer *s)
{
	if (!s)
		return;
	EVP_PKEY_free(s->key);
	X509_free(s->cert);
	free(s);
}

size_t hv_signer_overhead(const struct hv_signer *s)
{
	return s->overhead;
}

int hv_signer_open(const char *key_path, const char *cert_path, struct hv_signer **out)
{
	static const char probe[] = "policy_name=probe policy_version=0.0.0\n"
	                            "DEFAULT action=ALLOW\n";
	struct hv_signer *s = calloc(1, sizeof(*s));
	uint8_t *blob = NULL;
	size_t blob_len;
	int r;

	if (!s)
		return -ENOMEM;
	r = hv_key_load(key_path, &s->key);
	if (r == 0)
		r = hv_cert_load(cert_path, &s->cert);
	/* The signature's size does not depend on the text's (no signed
	 * attributes): measure it once, with margin for length encodings. */
	if (r == 0)
		r = hv_policy_sign(probe, sizeof(probe) - 1, s->key, s->cert, &blob, &blob_len);
	if (r < 0) {
		hv_signer_free(s);
		return r;
	}
	s->overhead = blob_len - (sizeof(probe) - 1) + 16;
	free(blob);
	*out = s;
	return 0;
}

int hv_signer_sign(struct hv_signer *s, const char *text, size_t len, uint8_t **blob,
                   size_t *blob_len, uint8_t digest[32], char *why, size_t whysz)
{
	struct hv_policy_error perr = {0};
	struct hv_policy *p = NULL;
	int r;

	r = hv_policy_parse(text, len, &p, &perr);
	if (r == 0)
		r = hv_policy_check_deploy(p, len, &perr);
	hv_policy_free(p);
	if (r < 0) {
		snprintf(why, whysz, "line %u col %u: %s", perr.line, perr.col, perr.msg);
		return r;
	}
	r = hv_policy_sign(text, len, s->key, s->cert, blob, blob_len);
	if (r < 0) {
		snprintf(why, whysz, "signing failed: %s", strerror(-r));
		return r;
	}
	hv_policy_blob_digest(*blob, *blob_len, digest);
	return 0;
}

int hv_signer_verify_roothash(const struct hv_signer *s, const void *sig, size_t len,
                              const char *hex, char *why, size_t whysz)
{
	return hv_roothash_sig_verify(sig, len, hex, strlen(hex), s->cert, why, whysz);
}
