/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The only code in hvipe-hostd that touches the signing key. It answers one
 * narrow request: validate this policy text with shared/policy and, when the
 * kernel would accept it, sign it. The key stays inside this module.
 */
#ifndef HVIPE_HOSTD_SIGNER_H
#define HVIPE_HOSTD_SIGNER_H

#include <stddef.h>
#include <stdint.h>

struct hv_signer;

/*
 * Load the key and certificate. Refuses a key file readable by group or
 * others (-EPERM), as shared/policy's hv_key_load does; -ENOENT, -EBADMSG.
 */
int hv_signer_open(const char *key_path, const char *cert_path, struct hv_signer **out);
void hv_signer_free(struct hv_signer *s);

/*
 * Validate @text (parse, deploy checks: -EBADMSG/-EINVAL/-ERANGE/... as the
 * kernel would, message in @why) and sign it. -EMSGSIZE when the signed blob
 * would exceed 65,535 bytes. On success *@blob is malloc'd and @digest holds
 * its SHA-256.
 */
int hv_signer_sign(struct hv_signer *s, const char *text, size_t len, uint8_t **blob,
                   size_t *blob_len, uint8_t digest[32], char *why, size_t whysz);

/*
 * Check a dm-verity root-hash signature for the image whose root hash is
 * @hex (lower-case, as dm-verity's table and build-image sign it) against
 * the host certificate: shared/policy's hv_roothash_sig_verify, reason in
 * @why. 0, -EBADMSG, -EKEYREJECTED, -EMSGSIZE, -ENOMEM.
 */
int hv_signer_verify_roothash(const struct hv_signer *s, const void *sig, size_t len,
                              const char *hex, char *why, size_t whysz);

/* Bytes a signature adds to the text (measured once at open). */
size_t hv_signer_overhead(const struct hv_signer *s);

#endif
