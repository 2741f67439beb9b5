/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for signed policy blobs: hv_policy_blob_inspect() and
 * hv_policy_verify() on hostile bytes. Neither may crash; whatever inspect
 * reports as content must lie inside the blob, and a blob that verifies must
 * also inspect to the same text. The same bytes go to the root-hash
 * signature check (detached CMS), which must not crash and must always
 * leave a NUL-terminated reason when it refuses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "policy/sign.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The certificate the seed blobs in corpus/fuzz_policy_blob/ were signed
 * with (its key is not kept), so seeds reach the verified path. */
static const char seed_cert[] = "-----BEGIN CERTIFICATE-----\n"
                                "MIIB0TCCAXegAwIBAgIQHp1WBR06htgprGL2EhFzwzAKBggqhkjOPQQDAjAvMQ4w\n"
                                "DAYDVQQKDAVodmlwZTEdMBsGA1UEAwwUaHZpcGUgcG9saWN5IHNpZ25pbmcwHhcN\n"
                                "MjYxMjAzMTg1ODEzWhcNMzYxMTMwMTg1ODEzWjAvMQ4wDAYDVQQKDAVodmlwZTEd\n"
                                "MBsGA1UEAwwUaHZpcGUgcG9saWN5IHNpZ25pbmcwWTATBgcqhkjOPQIBBggqhkjO\n"
                                "PQMBBwNCAAS7GTeGYHCPE+DumsdfNR+k3I/tMGK3SZvlDGJFdVsHjmUnEx8ecHKZ\n"
                                "tOkDLH+YIIt5p9rfz9Xu315wYZrIv9LEo3UwczAMBgNVHRMBAf8EAjAAMA4GA1Ud\n"
                                "DwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDAzAdBgNVHQ4EFgQUzoT6KQzR\n"
                                "+xcc7mh0Kji3xjLgcNwwHwYDVR0jBBgwFoAUzoT6KQzR+xcc7mh0Kji3xjLgcNww\n"
                                "CgYIKoZIzj0EAwIDSAAwRQIgT/daT0W/81w0P/0iiodx4mW2XgNIR9RUbb3CyqN5\n"
                                "e3UCIQDr3nmLVmVmBPfQZsZUUPs95xf5JNMtBFTn8pf5oQuf2w==\n"
                                "-----END CERTIFICATE-----\n";

static X509 *cert;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	BIO *b = BIO_new_mem_buf(seed_cert, -1);

	cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!cert)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *text = NULL;
	uint8_t *vtext = NULL;
	size_t tlen = 0, vlen = 0;
	char signer[256];
	int irc, vrc;

	irc = hv_policy_blob_inspect(data, size, &text, &tlen, signer, sizeof(signer));
	if (!irc && (text < data || text + tlen > data + size || strlen(signer) >= sizeof(signer)))
		abort();
	vrc = hv_policy_verify(data, size, cert, &vtext, &vlen);
	if (!vrc) {
		if (irc || vlen != tlen || memcmp(vtext, text, tlen))
			abort();
		free(vtext);
	}
	memset(signer, 'x', sizeof(signer));
	if (hv_roothash_sig_verify(data, size, "00", 2, cert, signer, sizeof(signer)) < 0 &&
	    strnlen(signer, sizeof(signer)) == sizeof(signer))
		abort();
	return 0;
}
