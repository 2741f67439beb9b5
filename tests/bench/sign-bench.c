/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sign-bench: time hv_policy_sign (what hvipe-hostd does per issued policy)
 * on one policy text, K times in one process. Prints the mean in ms:
 *   sign inproc_ms=X runs=K bytes=B
 */
#include "policy/sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util/buf.h"

int main(int argc, char **argv)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	uint8_t *text = NULL, *blob = NULL;
	size_t len, blob_len = 0;
	struct timespec a, b;
	int k;

	if (argc != 5) {
		fprintf(stderr, "usage: sign-bench KEY CERT TEXT RUNS\n");
		return 2;
	}
	k = atoi(argv[4]);
	if (k <= 0 || hv_key_load(argv[1], &key) < 0 || hv_cert_load(argv[2], &cert) < 0 ||
	    hv_read_file(argv[3], 1 << 20, &text, &len) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < k; i++) {
		free(blob);
		blob = NULL;
		if (hv_policy_sign(text, len, key, cert, &blob, &blob_len) < 0)
			return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("sign inproc_ms=%.4f runs=%d bytes=%zu\n",
	       ((b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6) / k, k, blob_len);
	free(blob);
	free(text);
	EVP_PKEY_free(key);
	X509_free(cert);
	return 0;
}
