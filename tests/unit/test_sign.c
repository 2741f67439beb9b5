/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy signatures, checked with OpenSSL's own CMS verification (not ours)
 * and by reading the DER: attached content as one primitive OCTET STRING, no
 * signed attributes, size cap, NUL refusal, key file permissions.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "policy/sign.h"

static const char policy[] = "policy_name=hvipe policy_version=1.0.1\nDEFAULT action=ALLOW\n"
                             "DEFAULT op=EXECUTE action=DENY\n";

struct fixture {
	EVP_PKEY *key;
	X509 *cert;
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || hv_key_generate("ec-p256", &f->key) ||
	    hv_cert_selfsign(f->key, "hvipe test", 30, &f->cert))
		return -1;
	strcpy(f->dir, "/tmp/hvipe-policy-test-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		return -1;
	EVP_PKEY_free(f->key);
	X509_free(f->cert);
	free(f);
	return 0;
}

/* Verification by OpenSSL alone: trust @cert, no clock, any purpose. */
static int openssl_verify(const uint8_t *blob, size_t len, X509 *cert, BIO *out,
                          CMS_ContentInfo **cms_out)
{
	const unsigned char *p = blob;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	X509_STORE *store = X509_STORE_new();
	int ok;

	assert_non_null(cms);
	assert_ptr_equal(p, blob + len);
	X509_STORE_add_cert(store, cert);
	X509_STORE_set_flags(store, X509_V_FLAG_NO_CHECK_TIME);
	X509_STORE_set_purpose(store, X509_PURPOSE_ANY);
	ok = CMS_verify(cms, NULL, store, NULL, out, CMS_BINARY);
	X509_STORE_free(store);
	ERR_clear_error();
	*cms_out = cms;
	return ok;
}

/* Find eContentType id-data, then [0], then a primitive OCTET STRING whose
 * definite length and bytes are the policy text. */
static void assert_primitive_content(const uint8_t *der, size_t len, const char *text, size_t tlen)
{
	static const uint8_t oid_data[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
	                                   0xf7, 0x0d, 0x01, 0x07, 0x01};
	const uint8_t *p = memmem(der, len, oid_data, sizeof(oid_data));
	size_t l;

	assert_non_null(p);
	p += sizeof(oid_data);
	assert_int_equal(p[0], 0xa0); /* [0] EXPLICIT, constructed */
	assert_true(p[1] != 0x80);    /* definite length */
	p += 2 + (p[1] & 0x80 ? (p[1] & 0x7f) : 0);
	assert_int_equal(p[0], 0x04); /* primitive OCTET STRING, not 0x24 */
	if (p[1] < 0x80) {
		l = p[1];
		p += 2;
	} else {
		assert_true((p[1] & 0x7f) <= 2);
		l = p[1] == 0x81 ? p[2] : (size_t)p[2] << 8 | p[3];
		p += 2 + (p[1] & 0x7f);
	}
	assert_int_equal(l, tlen);
	assert_memory_equal(p, text, tlen);
}

static void test_sign_verify_openssl(void **state)
{
	struct fixture *f = *state;
	uint8_t *blob = NULL, *reenc = NULL;
	size_t len = 0;
	CMS_ContentInfo *cms = NULL;
	BIO *out = BIO_new(BIO_s_mem());
	BUF_MEM *mem;
	STACK_OF(CMS_SignerInfo) * sis;
	int n;

	assert_int_equal(hv_policy_sign(policy, strlen(policy), f->key, f->cert, &blob, &len), 0);
	assert_true(len > strlen(policy) && len <= 65535);
	assert_int_equal(openssl_verify(blob, len, f->cert, out, &cms), 1);
	BIO_get_mem_ptr(out, &mem);
	assert_int_equal(mem->length, strlen(policy));
	assert_memory_equal(mem->data, policy, mem->length);

	/* attached, SignedData of id-data, no signed attributes at all */
	assert_int_equal(OBJ_obj2nid(CMS_get0_type(cms)), NID_pkcs7_signed);
	assert_int_equal(OBJ_obj2nid(CMS_get0_eContentType(cms)), NID_pkcs7_data);
	assert_int_equal(CMS_is_detached(cms), 0);
	sis = CMS_get0_SignerInfos(cms);
	assert_int_equal(sk_CMS_SignerInfo_num(sis), 1);
	assert_true(CMS_signed_get_attr_count(sk_CMS_SignerInfo_value(sis, 0)) <= 0);

	/* DER: re-encoding the parsed message gives the same bytes */
	n = i2d_CMS_ContentInfo(cms, &reenc);
	assert_int_equal(n, (int)len);
	assert_memory_equal(reenc, blob, len);
	assert_int_equal(blob[0], 0x30);
	assert_primitive_content(blob, len, policy, strlen(policy));

	OPENSSL_free(reenc);
	CMS_ContentInfo_free(cms);
	BIO_free(out);
	free(blob);
}

static void test_verify_ours(void **state)
{
	struct fixture *f = *state;
	uint8_t *blob = NULL, *text = NULL;
	size_t len = 0, tlen = 0;
	EVP_PKEY *other_key = NULL;
	X509 *other = NULL;

	assert_int_equal(hv_policy_sign(policy, strlen(policy), f->key, f->cert, &blob, &len), 0);
	assert_int_equal(hv_policy_verify(blob, len, f->cert, &text, &tlen), 0);
	assert_int_equal(tlen, strlen(policy));
	assert_string_equal((char *)text, policy);
	free(text);

	/* a different signer's certificate is not trusted */
	assert_int_equal(hv_key_generate("ec-p256", &other_key), 0);
	assert_int_equal(hv_cert_selfsign(other_key, "other", 1, &other), 0);
	assert_int_equal(hv_policy_verify(blob, len, other, &text, &tlen), -EKEYREJECTED);

	/* a flipped byte of the content breaks the signature */
	uint8_t *p = memmem(blob, len, "DEFAULT", 7);
	assert_non_null(p);
	p[0] = 'X';
	assert_int_equal(hv_policy_verify(blob, len, f->cert, &text, &tlen), -EKEYREJECTED);

	/* not DER PKCS#7 */
	assert_int_equal(
	        hv_policy_verify((const uint8_t *)policy, strlen(policy), f->cert, &text, &tlen),
	        -EBADMSG);
	assert_int_equal(hv_policy_verify(blob, len - 1, f->cert, &text, &tlen), -EBADMSG);
	EVP_PKEY_free(other_key);
	X509_free(other);
	free(blob);
}

/* What `openssl smime -sign` without -noattr makes: refused like the kernel. */
static void test_verify_refuses_smimecap(void **state)
{
	struct fixture *f = *state;
	BIO *in = BIO_new_mem_buf(policy, (int)strlen(policy));
	CMS_ContentInfo *cms = CMS_sign(f->cert, f->key, NULL, in, CMS_BINARY);
	unsigned char *der = NULL;
	uint8_t *text = NULL;
	size_t tlen;
	int n;

	assert_non_null(cms);
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	assert_int_equal(hv_policy_verify(der, (size_t)n, f->cert, &text, &tlen), -EKEYREJECTED);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);

	/* signer certificate not embedded: found through the given certificate */
	in = BIO_new_mem_buf(policy, (int)strlen(policy));
	cms = CMS_sign(f->cert, f->key, NULL, in, CMS_BINARY | CMS_NOATTR | CMS_NOCERTS);
	der = NULL;
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_int_equal(hv_policy_verify(der, (size_t)n, f->cert, &text, &tlen), 0);
	assert_int_equal(tlen, strlen(policy));
	free(text);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);

	/* detached content: refused as the kernel cannot digest it */
	in = BIO_new_mem_buf(policy, (int)strlen(policy));
	cms = CMS_sign(f->cert, f->key, NULL, in, CMS_BINARY | CMS_NOATTR | CMS_DETACHED);
	der = NULL;
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_int_equal(hv_policy_verify(der, (size_t)n, f->cert, &text, &tlen), -EBADMSG);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
}

/* DER CMS over @data made with OpenSSL's own signer, with @flags. */
static uint8_t *cms_sign_der(EVP_PKEY *key, X509 *cert, const char *data, int flags, size_t *len)
{
	BIO *in = BIO_new_mem_buf(data, (int)strlen(data));
	CMS_ContentInfo *cms = CMS_sign(cert, key, NULL, in, flags);
	unsigned char *der = NULL;
	uint8_t *out;
	int n;

	assert_non_null(cms);
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	out = malloc((size_t)n);
	assert_non_null(out);
	memcpy(out, der, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return out;
}

/* Root-hash signatures as build-image makes them (`openssl cms -sign -noattr
 * -binary -outform DER`, detached, over the hex text without a newline). */
static void test_roothash_sig(void **state)
{
	static const char hex[] =
	        "3a1f0c9d2b7e4f6a8c0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d";
	static const int good = CMS_BINARY | CMS_NOATTR | CMS_DETACHED;
	struct fixture *f = *state;
	EVP_PKEY *other_key = NULL;
	X509 *other = NULL;
	uint8_t *sig, junk[] = "not a signature at all\n";
	size_t len;
	char why[160], nl[sizeof(hex) + 1];

	sig = cms_sign_der(f->key, f->cert, hex, good, &len);
	assert_int_equal(
	        hv_roothash_sig_verify(sig, len, hex, strlen(hex), f->cert, why, sizeof(why)), 0);
	/* another root hash, or the same text with the newline echo would add */
	assert_int_equal(hv_roothash_sig_verify(sig, len, "3a1f", 4, f->cert, why, sizeof(why)),
	                 -EKEYREJECTED);
	snprintf(nl, sizeof(nl), "%s\n", hex);
	assert_int_equal(
	        hv_roothash_sig_verify(sig, len, nl, strlen(nl), f->cert, why, sizeof(why)),
	        -EKEYREJECTED);
	assert_true(why[0] != 0);
	/* trailing bytes after the DER message */
	sig = realloc(sig, len + 1);
	sig[len] = 0;
	assert_int_equal(
	        hv_roothash_sig_verify(sig, len + 1, hex, strlen(hex), f->cert, why, sizeof(why)),
	        -EBADMSG);
	free(sig);

	/* signed by another key: not the host's */
	assert_int_equal(hv_key_generate("ec-p256", &other_key), 0);
	assert_int_equal(hv_cert_selfsign(other_key, "other", 1, &other), 0);
	sig = cms_sign_der(other_key, other, hex, good, &len);
	assert_int_equal(
	        hv_roothash_sig_verify(sig, len, hex, strlen(hex), f->cert, why, sizeof(why)),
	        -EKEYREJECTED);
	free(sig);
	/* ... also without its certificate embedded (no signer found) */
	sig = cms_sign_der(other_key, other, hex, good | CMS_NOCERTS, &len);
	assert_int_equal(
	        hv_roothash_sig_verify(sig, len, hex, strlen(hex), f->cert, why, sizeof(why)),
	        -EKEYREJECTED);
	free(sig);
	EVP_PKEY_free(other_key);
	X509_free(other);

	/* signer not embedded: found through the host certificate */
	sig = cms_sign_der(f->key, f->cert, hex, good | CMS_NOCERTS, &len);
	assert_int_equal(
	        hv_roothash_sig_verify(sig, len, hex, strlen(hex), f->cert, why, sizeof(why)), 0);
	free(sig);
	/* content attached: dm-verity supplies the data, the kernel refuses */
	sig = cms_sign_der(f->key, f->cert, hex, CMS_BINARY | CMS_NOATTR, &len);
	assert_int_equal(
	        hv_roothash_sig_verify(sig, len, hex, strlen(hex), f->cert, why, sizeof(why)),
	        -EBADMSG);
	assert_non_null(strstr(why, "detached"));
	free(sig);
	/* signed attributes with SMIMECapabilities: the kernel refuses them */
	sig = cms_sign_der(f->key, f->cert, hex, CMS_BINARY | CMS_DETACHED, &len);
	assert_int_equal(
	        hv_roothash_sig_verify(sig, len, hex, strlen(hex), f->cert, why, sizeof(why)),
	        -EKEYREJECTED);
	free(sig);
	/* signed attributes without it are what the kernel takes for dm-verity */
	sig = cms_sign_der(f->key, f->cert, hex, CMS_BINARY | CMS_DETACHED | CMS_NOSMIMECAP, &len);
	assert_int_equal(
	        hv_roothash_sig_verify(sig, len, hex, strlen(hex), f->cert, why, sizeof(why)), 0);
	free(sig);

	/* garbage, empty, too large */
	assert_int_equal(hv_roothash_sig_verify(junk, sizeof(junk) - 1, hex, strlen(hex), f->cert,
	                                        why, sizeof(why)),
	                 -EBADMSG);
	assert_non_null(strstr(why, "not DER PKCS#7/CMS"));
	assert_int_equal(
	        hv_roothash_sig_verify(junk, 0, hex, strlen(hex), f->cert, why, sizeof(why)),
	        -EBADMSG);
	assert_int_equal(
	        hv_roothash_sig_verify(junk, 65536, hex, strlen(hex), f->cert, why, sizeof(why)),
	        -EMSGSIZE);
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	uint8_t *blob = NULL;
	size_t len = 0, big = 65300;
	char *text = malloc(70000);
	const char nul[] = "policy_name=a policy_version=0.0.0\n\0DEFAULT action=ALLOW\n";

	assert_non_null(text);
	assert_int_equal(hv_policy_sign(nul, sizeof(nul) - 1, f->key, f->cert, &blob, &len),
	                 -EINVAL);
	assert_int_equal(hv_policy_sign("", 0, f->key, f->cert, &blob, &len), -EINVAL);

	/* text that fits 65,535 bytes alone but not with the signature around it */
	memset(text, '#', big);
	text[big - 1] = '\n';
	assert_int_equal(hv_policy_sign(text, big, f->key, f->cert, &blob, &len), -EMSGSIZE);
	memset(text, '#', 69999);
	assert_int_equal(hv_policy_sign(text, 69999, f->key, f->cert, &blob, &len), -EMSGSIZE);
	assert_null(blob);

	/* and a text just small enough is signed and stays within the cap */
	assert_int_equal(hv_policy_sign(text, 64000, f->key, f->cert, &blob, &len), 0);
	assert_true(len <= 65535);
	free(blob);
	free(text);
}

static void test_key_file_modes(void **state)
{
	struct fixture *f = *state;
	char path[128];
	EVP_PKEY *k = NULL;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/key.pem", f->dir);
	assert_int_equal(hv_key_write(path, f->key), 0);
	assert_int_equal(hv_key_write(path, f->key), -EEXIST);

	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(hv_key_load(path, &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, f->key), 1);
	EVP_PKEY_free(k);

	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(hv_key_load(path, &k), -EPERM);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(hv_key_load(path, &k), -EPERM);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(hv_key_load(path, &k), 0);
	EVP_PKEY_free(k);

	/* not owned by the caller (needs root to hand the file to another uid) */
	if (geteuid() == 0) {
		assert_int_equal(chmod(path, 0600), 0);
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(hv_key_load(path, &k), -EPERM);
		assert_int_equal(chown(path, 0, 0), 0);
		assert_int_equal(hv_key_load(path, &k), 0);
		EVP_PKEY_free(k);
	}

	/* an encrypted key is refused without asking for a passphrase */
	snprintf(path, sizeof(path), "%s/encrypted.pem", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_PrivateKey(fp, f->key, EVP_aes_256_cbc(),
	                                      (unsigned char *)"secret", 6, NULL, NULL),
	                 1);
	fclose(fp);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(hv_key_load(path, &k), -EBADMSG);

	snprintf(path, sizeof(path), "%s/missing.pem", f->dir);
	assert_int_equal(hv_key_load(path, &k), -ENOENT);
	snprintf(path, sizeof(path), "%s/garbage.pem", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n", fp);
	fclose(fp);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(hv_key_load(path, &k), -EBADMSG);
	assert_int_equal(hv_cert_load(path, NULL), -EBADMSG);
}

static void test_cert(void **state)
{
	struct fixture *f = *state;
	char path[128];
	X509 *c = NULL;
	FILE *fp;

	/* code signing, digital signature, not a CA, v3 */
	assert_int_equal(X509_get_version(f->cert), X509_VERSION_3);
	assert_true(X509_get_extended_key_usage(f->cert) & XKU_CODE_SIGN);
	assert_true(X509_get_key_usage(f->cert) & KU_DIGITAL_SIGNATURE);
	assert_false(X509_get_key_usage(f->cert) & KU_KEY_CERT_SIGN);
	assert_int_equal(X509_check_ca(f->cert), 0);
	assert_non_null(X509_get0_subject_key_id(f->cert));

	snprintf(path, sizeof(path), "%s/cert.pem", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	PEM_write_X509(fp, f->cert);
	fclose(fp);
	assert_int_equal(hv_cert_load(path, &c), 0);
	assert_int_equal(X509_cmp(c, f->cert), 0);
	X509_free(c);
	snprintf(path, sizeof(path), "%s/none.pem", f->dir);
	assert_int_equal(hv_cert_load(path, &c), -ENOENT);
	assert_int_equal(hv_cert_selfsign(f->key, "", 1, &c), -EINVAL);
}

static void test_key_types(void **state)
{
	static const char *const types[] = {"ec-p384", "rsa-3072"};
	char buf[32];

	for (size_t i = 0; i < 2; i++) {
		EVP_PKEY *k = NULL;
		X509 *c = NULL;
		uint8_t *blob = NULL;
		size_t len;
		CMS_ContentInfo *cms = NULL;
		BIO *out = BIO_new(BIO_s_mem());

		assert_int_equal(hv_key_generate(types[i], &k), 0);
		assert_string_equal(hv_key_type(k, buf, sizeof(buf)), types[i]);
		assert_int_equal(hv_cert_selfsign(k, "t", 1, &c), 0);
		assert_int_equal(hv_policy_sign(policy, strlen(policy), k, c, &blob, &len), 0);
		assert_int_equal(openssl_verify(blob, len, c, out, &cms), 1);
		/* P-384 signs with SHA-384, RSA with SHA-256 and PKCS#1 v1.5
		 * (rsaEncryption, the only RSA form the kernel takes) */
		X509_ALGOR *dig = NULL, *sig = NULL;
		CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0),
		                         NULL, NULL, &dig, &sig);
		assert_int_equal(OBJ_obj2nid(dig->algorithm), i == 0 ? NID_sha384 : NID_sha256);
		if (i == 1)
			assert_int_equal(OBJ_obj2nid(sig->algorithm), NID_rsaEncryption);
		CMS_ContentInfo_free(cms);
		BIO_free(out);
		free(blob);
		X509_free(c);
		EVP_PKEY_free(k);
	}
	EVP_PKEY *k = NULL;
	assert_int_equal(hv_key_generate("ed25519", &k), -EINVAL);
}

static void test_inspect(void **state)
{
	struct fixture *f = *state;
	uint8_t *blob = NULL;
	const uint8_t *text;
	size_t len = 0, tlen;
	char signer[256];
	BIO *in;
	CMS_ContentInfo *cms;
	unsigned char *der = NULL;
	int n;

	assert_int_equal(hv_policy_sign(policy, strlen(policy), f->key, f->cert, &blob, &len), 0);
	assert_int_equal(hv_policy_blob_inspect(blob, len, &text, &tlen, signer, sizeof(signer)),
	                 0);
	assert_int_equal(tlen, strlen(policy));
	assert_memory_equal(text, policy, tlen);
	assert_non_null(strstr(signer, "CN=hvipe test"));
	assert_int_equal(
	        hv_policy_blob_inspect(blob, len - 1, &text, &tlen, signer, sizeof(signer)),
	        -EBADMSG);
	assert_int_equal(hv_policy_blob_inspect(blob, 70000, &text, &tlen, signer, sizeof(signer)),
	                 -EMSGSIZE);
	free(blob);

	in = BIO_new_mem_buf(policy, (int)strlen(policy));
	cms = CMS_sign(f->cert, f->key, NULL, in, CMS_BINARY | CMS_NOATTR | CMS_NOCERTS);
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_int_equal(
	        hv_policy_blob_inspect(der, (size_t)n, &text, &tlen, signer, sizeof(signer)), 0);
	assert_non_null(strstr(signer, "not embedded"));
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);

	/* streamed (indefinite-length, chunked) content: the kernel's digest
	 * would not match, and inspect refuses it */
	in = BIO_new_mem_buf(policy, (int)strlen(policy));
	cms = CMS_sign(f->cert, f->key, NULL, in, CMS_BINARY | CMS_NOATTR | CMS_STREAM);
	BIO *out = BIO_new(BIO_s_mem());
	BUF_MEM *m;
	assert_int_equal(i2d_CMS_bio_stream(out, cms, in, CMS_BINARY | CMS_NOATTR | CMS_STREAM), 1);
	BIO_get_mem_ptr(out, &m);
	assert_int_equal(hv_policy_blob_inspect((uint8_t *)m->data, m->length, &text, &tlen, signer,
	                                        sizeof(signer)),
	                 -EBADMSG);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
}

static void test_blob_digest(void **state)
{
	static const uint8_t empty_sha256[32] = {0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
	                                         0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	                                         0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
	                                         0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
	uint8_t d[32];

	/* the boot policy's audit digest is SHA-256 of zero bytes */
	hv_policy_blob_digest((const uint8_t *)"", 0, d);
	assert_memory_equal(d, empty_sha256, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_sign_verify_openssl),
	        cmocka_unit_test(test_verify_ours),
	        cmocka_unit_test(test_verify_refuses_smimecap),
	        cmocka_unit_test(test_roothash_sig),
	        cmocka_unit_test(test_refusals),
	        cmocka_unit_test(test_key_file_modes),
	        cmocka_unit_test(test_cert),
	        cmocka_unit_test(test_key_types),
	        cmocka_unit_test(test_inspect),
	        cmocka_unit_test(test_blob_digest),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
