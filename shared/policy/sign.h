/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signing IPE policies the way Linux 6.12 accepts them: DER PKCS#7 SignedData,
 * content attached as one primitive OCTET STRING, no signed attributes, at most
 * 65,535 bytes. Only this module touches private keys; key bytes are wiped.
 */
#ifndef HVIPE_POLICY_SIGN_H
#define HVIPE_POLICY_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Load a PEM private key. Refuses (-EPERM) a file readable by group or
 * others, or not owned by the caller; -ENOENT, -EBADMSG (not an unencrypted
 * PEM key; never prompts), -EINVAL (not a regular file), -EFBIG (> 64 KiB).
 * The file's bytes are wiped after parsing. */
int hv_key_load(const char *path, EVP_PKEY **out);

/* Load a PEM (or DER) X.509 certificate: 0, -ENOENT, -EBADMSG. */
int hv_cert_load(const char *path, X509 **out);

/*
 * Sign @len bytes of policy text. Refuses text with a NUL byte (-EINVAL) and
 * a result over 65,535 bytes (-EMSGSIZE). *@blob is malloc'd.
 */
int hv_policy_sign(const void *text, size_t len, EVP_PKEY *key, X509 *cert, uint8_t **blob,
                   size_t *blob_len);

/*
 * Verify a signed blob against @cert (the signer must be @cert or chain to it)
 * and return the embedded text (malloc'd, NUL-terminated, length in *@text_len).
 * -EBADMSG for a blob that is not DER PKCS#7 with attached content,
 * -EKEYREJECTED for a bad signature or signed attributes the kernel refuses,
 * -EMSGSIZE over 65,535 bytes. Stricter than the kernel in one respect:
 * bytes after the DER message are refused (the kernel ignores them).
 */
int hv_policy_verify(const uint8_t *blob, size_t len, X509 *cert, uint8_t **text, size_t *text_len);

/*
 * Verify a dm-verity root-hash signature as the kernel's root_hash_sig_key_desc
 * check would take it, with OpenSSL: @sig must be DER PKCS#7/CMS SignedData
 * of id-data with detached content (nothing after the DER message), without
 * the SMIMECapabilities attribute the kernel refuses, and must verify over
 * the @hex_len bytes at @hex (the root hash as lower-case hex, no newline)
 * with @cert as the signer or chaining to it. Returns 0; -EMSGSIZE over
 * 65,535 bytes; -EBADMSG not such a message; -EKEYREJECTED the signature does
 * not verify. @why gets the reason (OpenSSL's, when it has one).
 */
int hv_roothash_sig_verify(const uint8_t *sig, size_t len, const char *hex, size_t hex_len,
                           X509 *cert, char *why, size_t whysz);

/* SHA-256 of the blob, as IPE's audit records and securityfs name it. */
void hv_policy_blob_digest(const uint8_t *blob, size_t len, uint8_t out[32]);

/*
 * Additions beyond the pinned interface: key generation for
 * `hvipectl key generate` and the tests.
 */

/* A new private key of @type "ec-p256", "ec-p384" or "rsa-3072":
 * 0, -EINVAL for another type, -EIO when OpenSSL fails. */
int hv_key_generate(const char *type, EVP_PKEY **out);

/* "ec-p256", "ec-p384", "rsa-3072", "rsa-<bits>", "ec-<group>" or "other". */
const char *hv_key_type(EVP_PKEY *key, char *buf, size_t bufsz);

/*
 * A self-signed X.509 v3 certificate for @key, subject CN=@cn, valid for
 * @days: basicConstraints CA:FALSE, keyUsage digitalSignature (critical),
 * extendedKeyUsage codeSigning, subject and authority key identifiers. Fit
 * for a UEFI db and so for the kernel's .platform keyring.
 * 0, -EINVAL (empty or over-long @cn, @days 0), -EIO.
 */
int hv_cert_selfsign(EVP_PKEY *key, const char *cn, unsigned days, X509 **out);

/* Write @key as unencrypted PKCS#8 PEM to a new file @path with mode 0600
 * (O_EXCL: an existing file is never replaced, -EEXIST). */
int hv_key_write(const char *path, EVP_PKEY *key);

/*
 * Read a signed blob WITHOUT verifying it (for display): the embedded text
 * (pointer into @blob, not NUL-terminated) and a one-line description of the
 * signer (subject of the embedded signer certificate, else issuer and serial).
 * 0, -EMSGSIZE over 65,535 bytes, -EBADMSG for anything the kernel would not
 * take as DER SignedData with one primitive attached content.
 */
int hv_policy_blob_inspect(const uint8_t *blob, size_t len, const uint8_t **text, size_t *text_len,
                           char *signer, size_t signer_sz);

#endif
