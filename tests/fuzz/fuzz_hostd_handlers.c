/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz hvipe-hostd's guest message handlers: a real hostd state (in-memory
 * SQLite, a signer with a throwaway key, one VM with one approved image) and
 * for each input a fresh session in the state named by the first byte, fed
 * the frames in the rest through the daemon's own dispatch (state table,
 * sequence check, Hello/Evidence/PolicyResult/AuditBatch handlers, verdicts,
 * policy issuance, actuator).
 */
#include "../../host/hostd/hostd.h"
#include "util/log.h"

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static struct hostd H;
static struct hv_vm *VM;

static void make_key(const char *key_path, const char *cert_path)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *c = X509_new();
	FILE *f;

	if (!k || !c)
		abort();
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
	X509_gmtime_adj(X509_getm_notBefore(c), 0);
	X509_gmtime_adj(X509_getm_notAfter(c), 86400);
	X509_set_pubkey(c, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
	                           (const unsigned char *)"hvipe-fuzz", -1, -1, 0);
	X509_set_issuer_name(c, X509_get_subject_name(c));
	if (!X509_sign(c, k, EVP_sha256()))
		abort();
	umask(077);
	f = fopen(key_path, "w");
	if (!f || !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL))
		abort();
	fclose(f);
	f = fopen(cert_path, "w");
	if (!f || !PEM_write_X509(f, c))
		abort();
	fclose(f);
	EVP_PKEY_free(k);
	X509_free(c);
}

static void setup(void)
{
	char dir[] = "/tmp/hvipe-hostd-fuzz-XXXXXX", key[64], cert[64], why[256];
	struct hv_vm t = {0};

	if (!mkdtemp(dir))
		abort();
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	make_key(key, cert);
	hv_log_init("fuzz", HV_ERR);
	H.cfg.heartbeat_ms = 1000;
	H.cfg.deadline_ms = 1000;
	H.cfg.hello_ms = 1000;
	H.cfg.max_conns = 100;
	H.cfg.vsock_port = 4730;
	if (hv_signer_open(key, cert, &H.signer) < 0 ||
	    hv_store_open(":memory:", &H.store, why, sizeof(why)) < 0 || sd_event_new(&H.loop) < 0)
		abort();
	unlink(key);
	unlink(cert);
	rmdir(dir);
	t.name = (char *)"fuzzvm";
	t.cid = 3;
	t.uds = (char *)"";
	t.actuator_kind = (char *)"log";
	t.target = (char *)"";
	if (hostd_vm_add(&H, &t, why, sizeof(why)) < 0 ||
	    hostd_image_add(&H, "img", "sha256",
	                    "5151515151515151515151515151515151515151515151515151515151515151",
	                    NULL, 0, why, sizeof(why)) < 0)
		abort();
	VM = hostd_vm_by_name(&H, "fuzzvm");
	VM->h = &H;
	if (hostd_image_approve(&H, VM, hostd_image_by_name(&H, "img"), true) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (!H.loop)
		setup();
	hostd_fuzz_feed(&H, VM, data, len);
	/* Whatever the handlers left open is committed, as the loop would. */
	hostd_commit_waiting(&H);
	return 0;
}
