/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CMS signing and verification of IPE policies with OpenSSL, shaped for the
 * Linux 6.12 PKCS#7 parser: SignedData, eContentType id-data, content attached
 * as one primitive definite-length OCTET STRING, no signed attributes.
 */
#include "policy/sign.h"
#include "util/cleanup.h"
#include "hv_limits.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>

DEFINE_CLEANUP_FUNC(BIO *, BIO_free)
DEFINE_CLEANUP_FUNC(CMS_ContentInfo *, CMS_ContentInfo_free)
DEFINE_CLEANUP_FUNC(X509_STORE *, X509_STORE_free)

/* Largest key or certificate file we read. */
#define KEY_FILE_MAX (64u * 1024)

static const uint8_t oid_signed_data[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};
static const uint8_t oid_data[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};

/* Never prompt for a passphrase: an encrypted key is refused, not asked for. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Read a file of at most KEY_FILE_MAX bytes from an open descriptor. */
static int read_fd(int fd, uint8_t **out, size_t *len)
{
	uint8_t *buf = malloc(KEY_FILE_MAX + 1);
	size_t n = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r = read(fd, buf + n, KEY_FILE_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			OPENSSL_cleanse(buf, n);
			free(buf);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > KEY_FILE_MAX) {
			OPENSSL_cleanse(buf, n);
			free(buf);
			return -EFBIG;
		}
	}
	*out = buf;
	*len = n;
	return 0;
}

int hv_key_load(const char *path, EVP_PKEY **out)
{
	_cleanup_close_ int fd = -1;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct stat st;
	EVP_PKEY *key;
	BIO *bio;
	int rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	/* A signing key others can read is already lost; refuse to use it. */
	if ((st.st_mode & 077) || st.st_uid != geteuid())
		return -EPERM;
	rc = read_fd(fd, &buf, &len);
	if (rc)
		return rc;

	bio = BIO_new_mem_buf(buf, (int)len);
	key = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
	BIO_free(bio);
	OPENSSL_cleanse(buf, len);
	free(buf);
	ERR_clear_error();
	if (!bio)
		return -ENOMEM;
	if (!key)
		return -EBADMSG;
	*out = key;
	return 0;
}

int hv_cert_load(const char *path, X509 **out)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ uint8_t *buf = NULL;
	const unsigned char *p;
	size_t len = 0;
	X509 *cert;
	BIO *bio;
	int rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	rc = read_fd(fd, &buf, &len);
	if (rc)
		return rc;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio)
		return -ENOMEM;
	cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!cert) {
		p = buf;
		cert = d2i_X509(NULL, &p, (long)len);
		if (cert && p != buf + len) {
			X509_free(cert);
			cert = NULL;
		}
	}
	ERR_clear_error();
	if (!cert)
		return -EBADMSG;
	*out = cert;
	return 0;
}

/* One DER TLV with a one-byte tag and a definite length of at most two
 * length octets (the kernel's ASN.1 decoder limit). */
static int der_next(const uint8_t **p, const uint8_t *end, uint8_t tag, const uint8_t **val,
                    size_t *len)
{
	const uint8_t *q = *p;
	size_t l;

	if (end - q < 2 || q[0] != tag)
		return -EBADMSG;
	l = q[1];
	q += 2;
	if (l & 0x80) {
		size_t n = l & 0x7f;

		if (n == 0 || n > 2 || (size_t)(end - q) < n)
			return -EBADMSG;
		l = 0;
		for (size_t i = 0; i < n; i++)
			l = l << 8 | *q++;
	}
	if ((size_t)(end - q) < l)
		return -EBADMSG;
	*val = q;
	*len = l;
	*p = q + l;
	return 0;
}

static int der_skip(const uint8_t **p, const uint8_t *end, uint8_t tag)
{
	const uint8_t *v;
	size_t l;

	return der_next(p, end, tag, &v, &l);
}

/*
 * Locate the attached content of a DER SignedData: it must be one primitive
 * OCTET STRING under eContentType id-data, the layout the kernel digests.
 */
static int der_content(const uint8_t *blob, size_t len, const uint8_t **content, size_t *clen)
{
	const uint8_t *p = blob, *end = blob + len, *v, *sd, *sd_end, *eci, *eci_end, *x;
	size_t l;

	if (der_next(&p, end, 0x30, &v, &l) || p != end)
		return -EBADMSG;
	p = v;
	end = v + l;
	if (der_next(&p, end, 0x06, &v, &l) || l != sizeof(oid_signed_data) ||
	    memcmp(v, oid_signed_data, l))
		return -EBADMSG;
	if (der_next(&p, end, 0xa0, &v, &l))
		return -EBADMSG;
	x = v;
	if (der_next(&x, v + l, 0x30, &sd, &l))
		return -EBADMSG;
	sd_end = sd + l;
	if (der_skip(&sd, sd_end, 0x02) || der_skip(&sd, sd_end, 0x31) ||
	    der_next(&sd, sd_end, 0x30, &eci, &l))
		return -EBADMSG;
	eci_end = eci + l;
	if (der_next(&eci, eci_end, 0x06, &v, &l) || l != sizeof(oid_data) ||
	    memcmp(v, oid_data, l))
		return -EBADMSG;
	if (der_next(&eci, eci_end, 0xa0, &v, &l))
		return -EBADMSG;
	x = v;
	if (der_next(&x, v + l, 0x04, content, clen) || x != v + l || eci != eci_end)
		return -EBADMSG;
	return 0;
}

static const EVP_MD *digest_for(EVP_PKEY *key)
{
	char group[32];
	size_t n = 0;

	if (EVP_PKEY_is_a(key, "EC") &&
	    EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &n) &&
	    !strcmp(group, "secp384r1"))
		return EVP_sha384();
	return EVP_sha256();
}

int hv_policy_sign(const void *text, size_t len, EVP_PKEY *key, X509 *cert, uint8_t **blob,
                   size_t *blob_len)
{
	const int flags = CMS_BINARY | CMS_NOATTR | CMS_NOSMIMECAP;
	_cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
	_cleanup_(BIO_freep) BIO *in = NULL;
	const uint8_t *content;
	unsigned char *der = NULL;
	size_t clen;
	int n;

	if (!len || memchr(text, '\0', len))
		return -EINVAL;
	if (len > HV_IPE_MAX_SIGNED_BLOB)
		return -EMSGSIZE;
	if (!X509_check_private_key(cert, key)) {
		ERR_clear_error();
		return -EKEYREJECTED;
	}
	in = BIO_new_mem_buf(text, (int)len);
	cms = CMS_sign(NULL, NULL, NULL, NULL, flags | CMS_PARTIAL);
	if (!in || !cms || !CMS_add1_signer(cms, cert, key, digest_for(key), flags) ||
	    !CMS_final(cms, in, NULL, flags)) {
		ERR_clear_error();
		return -EIO;
	}
	n = i2d_CMS_ContentInfo(cms, &der);
	if (n <= 0) {
		ERR_clear_error();
		return -EIO;
	}
	if ((size_t)n > HV_IPE_MAX_SIGNED_BLOB) {
		OPENSSL_free(der);
		return -EMSGSIZE;
	}
	/* Self-check: the kernel digests the raw OCTET STRING value. */
	if (der_content(der, (size_t)n, &content, &clen) || clen != len ||
	    memcmp(content, text, len)) {
		OPENSSL_free(der);
		return -EPROTO;
	}
	*blob = malloc((size_t)n);
	if (!*blob) {
		OPENSSL_free(der);
		return -ENOMEM;
	}
	memcpy(*blob, der, (size_t)n);
	OPENSSL_free(der);
	*blob_len = (size_t)n;
	return 0;
}

/* The kernel refuses an SMIMECapabilities signed attribute (Authenticode only). */
static bool has_smimecap(CMS_ContentInfo *cms)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);

	for (int i = 0; i < sk_CMS_SignerInfo_num(sis); i++)
		if (CMS_signed_get_attr_by_NID(sk_CMS_SignerInfo_value(sis, i),
		                               NID_SMIMECapabilities, -1) >= 0)
			return true;
	return false;
}

/*
 * The trust the kernel applies to a blob: @cert alone, without checking the
 * clock or S/MIME key usage, and a trusted certificate need not be
 * self-signed. @cert also serves to find the signer when the blob does not
 * embed it (the kernel then looks the signer up in its keyrings). The caller
 * frees *store and *signers (sk_X509_free: the stack does not own @cert).
 */
static int kernel_trust(X509 *cert, X509_STORE **store, STACK_OF(X509) * *signers)
{
	*store = X509_STORE_new();
	*signers = sk_X509_new_null();
	if (!*store || !*signers || !X509_STORE_add_cert(*store, cert) ||
	    !sk_X509_push(*signers, cert)) {
		ERR_clear_error();
		X509_STORE_free(*store);
		sk_X509_free(*signers);
		*store = NULL;
		*signers = NULL;
		return -ENOMEM;
	}
	X509_STORE_set_flags(*store, X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_PARTIAL_CHAIN);
	X509_STORE_set_purpose(*store, X509_PURPOSE_ANY);
	return 0;
}

int hv_policy_verify(const uint8_t *blob, size_t len, X509 *cert, uint8_t **text, size_t *text_len)
{
	_cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
	_cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
	_cleanup_(BIO_freep) BIO *out = NULL;
	const unsigned char *p = blob;
	STACK_OF(X509) * signers;
	const uint8_t *content;
	size_t clen;
	BUF_MEM *mem;
	uint8_t *t;
	int ok;

	if (len > HV_IPE_MAX_SIGNED_BLOB)
		return -EMSGSIZE;
	if (der_content(blob, len, &content, &clen))
		return -EBADMSG;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (!cms || p != blob + len) {
		ERR_clear_error();
		return -EBADMSG;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
		return -EBADMSG;
	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data)
		return -EKEYREJECTED;
	if (has_smimecap(cms))
		return -EKEYREJECTED;

	out = BIO_new(BIO_s_mem());
	if (!out || kernel_trust(cert, &store, &signers) < 0)
		return -ENOMEM;
	ok = CMS_verify(cms, signers, store, NULL, out, CMS_BINARY);
	sk_X509_free(signers);
	if (!ok) {
		ERR_clear_error();
		return -EKEYREJECTED;
	}
	BIO_get_mem_ptr(out, &mem);
	if (mem->length != clen)
		return -EBADMSG;
	t = malloc(mem->length + 1);
	if (!t)
		return -ENOMEM;
	memcpy(t, mem->data, mem->length);
	t[mem->length] = '\0';
	*text = t;
	*text_len = mem->length;
	return 0;
}

/* OpenSSL's reason for the last failure, with its detail ("certificate
 * verify error: Verify error: self-signed certificate"), or @fallback. The
 * error queue is cleared. */
static void ossl_reason(char *why, size_t whysz, const char *fallback)
{
	const char *data = NULL;
	int flags = 0;
	unsigned long e = ERR_peek_last_error_data(&data, &flags);
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	if (!(flags & ERR_TXT_STRING) || !data || !*data)
		data = NULL;
	snprintf(why, whysz, "%s%s%s", r ? r : fallback, data ? ": " : "", data ? data : "");
	ERR_clear_error();
}

int hv_roothash_sig_verify(const uint8_t *sig, size_t len, const char *hex, size_t hex_len,
                           X509 *cert, char *why, size_t whysz)
{
	_cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
	_cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
	_cleanup_(BIO_freep) BIO *data = NULL;
	const unsigned char *p = sig;
	STACK_OF(X509) * signers;
	BIO *probe;
	int ok;

	if (len > HV_IPE_MAX_SIGNED_BLOB) {
		snprintf(why, whysz, "larger than 65535 bytes");
		return -EMSGSIZE;
	}
	ERR_clear_error();
	cms = len ? d2i_CMS_ContentInfo(NULL, &p, (long)len) : NULL;
	if (!cms) {
		char r[128];

		ossl_reason(r, sizeof(r), "empty");
		snprintf(why, whysz, "not DER PKCS#7/CMS: %s", r);
		return -EBADMSG;
	}
	if (p != sig + len) {
		snprintf(why, whysz, "%zu bytes after the DER message", (size_t)(sig + len - p));
		return -EBADMSG;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		snprintf(why, whysz, "not SignedData");
		return -EBADMSG;
	}
	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
		snprintf(why, whysz, "signed content is not id-data");
		return -EBADMSG;
	}
	if (CMS_is_detached(cms) != 1) {
		/* dm-verity supplies the root hash itself: the kernel refuses a
		 * signature that carries its own content. */
		snprintf(why, whysz, "content attached, not a detached signature");
		return -EBADMSG;
	}
	if (has_smimecap(cms)) {
		snprintf(why, whysz,
		         "SMIMECapabilities attribute, which the kernel refuses"
		         " (sign with -nosmimecap or -noattr)");
		return -EKEYREJECTED;
	}
	/*
	 * Set the digest machinery up once on our own first. CMS_verify() with a
	 * detached memory BIO (OpenSSL 3.0) copies it into a BIO of its own and
	 * leaks that copy when the message names a digest it cannot set up;
	 * refusing such a message here never reaches that path.
	 */
	probe = CMS_dataInit(cms, NULL);
	if (!probe) {
		char r[128];

		ossl_reason(r, sizeof(r), "cannot set up its digests");
		snprintf(why, whysz, "unusable digest algorithm: %s", r);
		return -EBADMSG;
	}
	BIO_free_all(probe);
	data = BIO_new_mem_buf(hex, (int)hex_len);
	if (!data || kernel_trust(cert, &store, &signers) < 0) {
		snprintf(why, whysz, "out of memory");
		return -ENOMEM;
	}
	ok = CMS_verify(cms, signers, store, data, NULL, CMS_BINARY);
	sk_X509_free(signers);
	if (ok != 1) {
		ossl_reason(why, whysz, "verification failed");
		return -EKEYREJECTED;
	}
	ERR_clear_error();
	return 0;
}

void hv_policy_blob_digest(const uint8_t *blob, size_t len, uint8_t out[32])
{
	unsigned int n = 32;

	EVP_Digest(blob, len, out, &n, EVP_sha256(), NULL);
}

int hv_key_generate(const char *type, EVP_PKEY **out)
{
	EVP_PKEY *key;

	if (!strcmp(type, "ec-p256"))
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (!strcmp(type, "ec-p384"))
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else if (!strcmp(type, "rsa-3072"))
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	else
		return -EINVAL;
	if (!key) {
		ERR_clear_error();
		return -EIO;
	}
	*out = key;
	return 0;
}

const char *hv_key_type(EVP_PKEY *key, char *buf, size_t bufsz)
{
	char group[64];
	size_t n = 0;

	if (EVP_PKEY_is_a(key, "RSA")) {
		snprintf(buf, bufsz, "rsa-%d", EVP_PKEY_get_bits(key));
	} else if (EVP_PKEY_is_a(key, "EC") &&
	           EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &n)) {
		if (!strcmp(group, "prime256v1"))
			snprintf(buf, bufsz, "ec-p256");
		else if (!strcmp(group, "secp384r1"))
			snprintf(buf, bufsz, "ec-p384");
		else
			snprintf(buf, bufsz, "ec-%s", group);
	} else {
		snprintf(buf, bufsz, "other");
	}
	return buf;
}

static int add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -EIO;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -EIO;
}

DEFINE_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_CLEANUP_FUNC(BIGNUM *, BN_free)

int hv_cert_selfsign(EVP_PKEY *key, const char *cn, unsigned days, X509 **out)
{
	_cleanup_(X509_freep) X509 *cert = NULL;
	_cleanup_(BN_freep) BIGNUM *serial = NULL;
	X509_NAME *name;

	if (!cn || !*cn || strlen(cn) > 64 || !days || days > 36500)
		return -EINVAL;
	cert = X509_new();
	serial = BN_new();
	/* 127 random bits: positive, unique, within the 20 octets RFC 5280 allows. */
	if (!cert || !serial || !BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ODD) ||
	    !X509_set_version(cert, X509_VERSION_3) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400) ||
	    !X509_set_pubkey(cert, key))
		goto fail;
	name = X509_get_subject_name(cert);
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"hvipe",
	                                -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
	                                -1, 0) ||
	    !X509_set_issuer_name(cert, name))
		goto fail;
	if (add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(cert, NID_key_usage, "critical,digitalSignature") ||
	    add_ext(cert, NID_ext_key_usage, "codeSigning") ||
	    add_ext(cert, NID_subject_key_identifier, "hash") ||
	    add_ext(cert, NID_authority_key_identifier, "keyid:always"))
		goto fail;
	if (!X509_sign(cert, key, digest_for(key)))
		goto fail;
	*out = TAKE_PTR(cert);
	return 0;
fail:
	ERR_clear_error();
	return -EIO;
}

int hv_key_write(const char *path, EVP_PKEY *key)
{
	_cleanup_(BIO_freep) BIO *mem = BIO_new(BIO_s_secmem());
	_cleanup_close_ int fd = -1;
	BUF_MEM *bm;
	size_t off = 0;

	if (!mem || !PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL)) {
		ERR_clear_error();
		return -EIO;
	}
	BIO_get_mem_ptr(mem, &bm);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	while (off < bm->length) {
		ssize_t w = write(fd, bm->data + off, bm->length - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = -errno;

			unlink(path);
			return e;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		int e = -errno;

		unlink(path);
		return e;
	}
	return 0;
}

static void name_line(X509_NAME *n, char *out, size_t outsz)
{
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *m;

	snprintf(out, outsz, "?");
	if (!b)
		return;
	/* RFC 2253 escaping keeps control bytes out of the output. */
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0) {
		BIO_get_mem_ptr(b, &m);
		snprintf(out, outsz, "%.*s", (int)(m->length > 400 ? 400 : m->length), m->data);
	}
	BIO_free(b);
}

int hv_policy_blob_inspect(const uint8_t *blob, size_t len, const uint8_t **text, size_t *text_len,
                           char *signer, size_t signer_sz)
{
	_cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
	const unsigned char *p = blob;
	STACK_OF(CMS_SignerInfo) * sis;
	STACK_OF(X509) * certs;
	CMS_SignerInfo *si;
	ASN1_OCTET_STRING *keyid = NULL;
	X509_NAME *issuer = NULL;
	ASN1_INTEGER *serial = NULL;
	char buf[512];

	if (len > HV_IPE_MAX_SIGNED_BLOB)
		return -EMSGSIZE;
	if (der_content(blob, len, text, text_len))
		return -EBADMSG;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (!cms || p != blob + len || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		ERR_clear_error();
		return -EBADMSG;
	}
	sis = CMS_get0_SignerInfos(cms);
	if (sk_CMS_SignerInfo_num(sis) < 1)
		return -EBADMSG;
	si = sk_CMS_SignerInfo_value(sis, 0);
	certs = CMS_get1_certs(cms);
	snprintf(signer, signer_sz, "unknown");
	for (int i = 0; i < sk_X509_num(certs); i++) {
		if (!CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, i))) {
			name_line(X509_get_subject_name(sk_X509_value(certs, i)), buf, sizeof(buf));
			snprintf(signer, signer_sz, "%s", buf);
			break;
		}
	}
	sk_X509_pop_free(certs, X509_free);
	if (!strcmp(signer, "unknown") &&
	    CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &serial) && issuer) {
		name_line(issuer, buf, sizeof(buf));
		snprintf(signer, signer_sz, "certificate not embedded; issuer %s", buf);
	}
	ERR_clear_error();
	return 0;
}
