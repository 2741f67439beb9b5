/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvipectl key: generate and show the policy signing key directory
 * (key.pem, mode 0600, and cert.pem). The private key is never printed.
 */
#include "ctl.h"
#include "policy/sign.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/hex.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

DEFINE_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_CLEANUP_FUNC(X509 *, X509_free)

static const char group_usage[] =
        "usage: hvipectl key <verb> [options]\n"
        "\n"
        "The policy signing key: a directory with key.pem (0600) and cert.pem.\n"
        "\n"
        "Verbs:\n"
        "  generate [--type ec-p256|ec-p384|rsa-3072] [--subject CN] [--days N] --out DIR\n"
        "  show DIR\n"
        "\n"
        "'hvipectl key <verb> --help' for details. See hvipectl-key(8).\n";

static void describe(X509 *cert)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1], type[32];
	char *subject;
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	BIO *b = BIO_new_fp(stdout, BIO_NOCLOSE);

	subject = X509_NAME_oneline(X509_get_subject_name(cert), NULL, 0);
	X509_digest(cert, EVP_sha256(), md, &mdlen);
	hv_hex_encode(hex, md, mdlen);
	printf("subject: %s\n", subject ? subject : "?");
	printf("fingerprint: sha256:%s\n", hex);
	printf("type: %s\n", pub ? hv_key_type(pub, type, sizeof(type)) : "unknown");
	printf("code-signing: %s\n",
	       X509_get_extended_key_usage(cert) & XKU_CODE_SIGN ? "yes" : "no");
	fputs("not-after: ", stdout);
	fflush(stdout);
	if (b) {
		ASN1_TIME_print(b, X509_get0_notAfter(cert));
		BIO_flush(b);
		BIO_free(b);
	}
	putchar('\n');
	OPENSSL_free(subject);
}

const char *ctl_key_weakness(EVP_PKEY *key, char *buf, size_t bufsz)
{
	char type[32];

	hv_key_type(key, type, sizeof(type));
	if (!strcmp(type, "ec-p256") || !strcmp(type, "ec-p384"))
		return NULL;
	if (EVP_PKEY_is_a(key, "RSA")) {
		if (EVP_PKEY_get_bits(key) >= CTL_RSA_MIN_BITS)
			return NULL;
		snprintf(buf, bufsz, "an RSA key of %d bits (at least %d needed)",
		         EVP_PKEY_get_bits(key), CTL_RSA_MIN_BITS);
	} else {
		snprintf(buf, bufsz, "a %s key (only RSA of at least %d bits, EC P-256 or P-384)",
		         type, CTL_RSA_MIN_BITS);
	}
	return buf;
}

/*
 * Create @dir's missing parents (mode 0755 less umask) and @dir itself with
 * mode 0700. An existing @dir is used only when it is a directory that group
 * and others cannot write. Returns an enum ctl_exit, message printed.
 */
static int make_key_dir(const char *dir)
{
	_cleanup_free_ char *p = strdup(dir);
	struct stat st;

	if (!p)
		return ctl_fail(CTL_SYSTEM, "out of memory");
	for (size_t n = strlen(p); n > 1 && p[n - 1] == '/'; n--)
		p[n - 1] = '\0';
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		if (s[-1] == '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return ctl_fail(CTL_SYSTEM, "%s: %s", p, strerror(errno));
		*s = '/';
	}
	if (mkdir(p, 0700) == 0)
		return CTL_OK;
	if (errno != EEXIST)
		return ctl_fail(CTL_SYSTEM, "%s: %s", dir, strerror(errno));
	if (stat(p, &st) < 0)
		return ctl_fail(CTL_SYSTEM, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return ctl_fail(CTL_INVALID, "%s exists and is not a directory", dir);
	if (st.st_mode & 022)
		return ctl_fail(CTL_INVALID,
		                "%s is writable by group or others (mode %04o); refusing to keep a "
		                "private key there (chmod 700, or name a new directory)",
		                dir, (unsigned)(st.st_mode & 07777));
	return CTL_OK;
}

static int verb_generate(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"type", required_argument, NULL, 't'},
	        {"out", required_argument, NULL, 'o'},
	        {"subject", required_argument, NULL, 's'},
	        {"days", required_argument, NULL, 'd'},
	        {NULL, 0, NULL, 0},
	};
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_(X509_freep) X509 *cert = NULL;
	const char *type = "ec-p256", *dir = NULL, *cn = "hvipe policy signing";
	char keyp[4096], certp[4096];
	unsigned long days = 3650;
	BIO *mem;
	BUF_MEM *bm;
	char *end;
	int c, rc;

	if (ctl_wants_help(argc, argv)) {
		printf("usage: hvipectl key generate [--type ec-p256|ec-p384|rsa-3072] "
		       "[--subject CN] [--days N] --out DIR\n\n"
		       "Create DIR/key.pem (private key, mode 0600, never printed) and\n"
		       "DIR/cert.pem (self-signed X.509 v3: CA:FALSE, keyUsage\n"
		       "digitalSignature, extendedKeyUsage codeSigning), fit for a UEFI db\n"
		       "and so for the guest kernel's .platform keyring. Existing files are\n"
		       "never replaced.\n\n"
		       "  --type T     key type (default ec-p256)\n"
		       "  --subject CN common name (default 'hvipe policy signing')\n"
		       "  --days N     validity in days (default 3650; the kernel does not\n"
		       "               check it for policies signed without attributes)\n"
		       "  --out DIR    key directory, created mode 0700 (and its missing\n"
		       "               parents) if missing; an existing DIR must not be\n"
		       "               writable by group or others\n");
		return CTL_OK;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			type = optarg;
			break;
		case 'o':
			dir = optarg;
			break;
		case 's':
			cn = optarg;
			break;
		case 'd':
			errno = 0;
			days = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || days == 0 || days > 36500)
				return ctl_fail(CTL_USAGE, "key generate: --days must be 1..36500");
			break;
		default:
			return CTL_USAGE;
		}
	}
	if (!dir || optind != argc)
		return ctl_fail(CTL_USAGE, "key generate: needs --out DIR and nothing else");
	if (strcmp(type, "ec-p256") && strcmp(type, "ec-p384") && strcmp(type, "rsa-3072"))
		return ctl_fail(CTL_USAGE,
		                "key generate: --type must be ec-p256, ec-p384 or rsa-3072");
	if (snprintf(keyp, sizeof(keyp), "%s/key.pem", dir) >= (int)sizeof(keyp) ||
	    snprintf(certp, sizeof(certp), "%s/cert.pem", dir) >= (int)sizeof(certp))
		return ctl_fail(CTL_USAGE, "key generate: DIR too long");
	rc = make_key_dir(dir);
	if (rc)
		return rc;
	if (!access(keyp, F_OK) || !access(certp, F_OK))
		return ctl_fail(CTL_INVALID,
		                "%s already holds key.pem or cert.pem; not replacing them", dir);

	rc = hv_key_generate(type, &key);
	if (!rc)
		rc = hv_cert_selfsign(key, cn, (unsigned)days, &cert);
	if (rc == -EINVAL)
		return ctl_fail(CTL_USAGE, "key generate: --subject must be 1-64 bytes");
	if (rc)
		return ctl_fail(CTL_SYSTEM, "key generation failed: %s", strerror(-rc));
	rc = hv_key_write(keyp, key);
	if (rc)
		return ctl_fail(CTL_SYSTEM, "%s: %s", keyp, strerror(-rc));

	mem = BIO_new(BIO_s_mem());
	if (!mem || !PEM_write_bio_X509(mem, cert)) {
		BIO_free(mem);
		unlink(keyp);
		return ctl_fail(CTL_SYSTEM, "cannot encode the certificate");
	}
	BIO_get_mem_ptr(mem, &bm);
	rc = hv_write_file_atomic(certp, bm->data, bm->length, 0644);
	BIO_free(mem);
	if (rc) {
		unlink(keyp);
		return ctl_fail(CTL_SYSTEM, "%s: %s", certp, strerror(-rc));
	}
	printf("key: %s (mode 0600)\ncert: %s\n", keyp, certp);
	describe(cert);
	return CTL_OK;
}

static int verb_show(int argc, char **argv)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_(X509_freep) X509 *cert = NULL;
	char keyp[4096], certp[4096], why[128];
	int rc;

	if (ctl_wants_help(argc, argv)) {
		printf("usage: hvipectl key show DIR\n\n"
		       "Print the certificate's subject, SHA-256 fingerprint, key type and\n"
		       "expiry, and whether DIR/key.pem is private (0600) and matches it.\n"
		       "Exit 1 when the key file is unsafe, does not match, or is weaker than\n"
		       "policy sign accepts (RSA under 2048 bits, EC other than P-256/P-384).\n");
		return CTL_OK;
	}
	if (argc != 2 || argv[1][0] == '-')
		return ctl_fail(CTL_USAGE, "key show: needs one DIR");
	if (snprintf(keyp, sizeof(keyp), "%s/key.pem", argv[1]) >= (int)sizeof(keyp) ||
	    snprintf(certp, sizeof(certp), "%s/cert.pem", argv[1]) >= (int)sizeof(certp))
		return ctl_fail(CTL_USAGE, "key show: DIR too long");
	rc = hv_cert_load(certp, &cert);
	if (rc == -EBADMSG)
		return ctl_fail(CTL_INVALID, "%s: not an X.509 certificate", certp);
	if (rc)
		return ctl_file_fail(rc, "", certp);
	describe(cert);

	rc = hv_key_load(keyp, &key);
	if (rc == -ENOENT) {
		printf("key: absent\n");
		return CTL_OK;
	}
	if (rc == -EPERM) {
		printf("key: unsafe\n");
		return ctl_fail(CTL_INVALID,
		                "%s is readable by group or others, or not yours "
		                "(chmod 600)",
		                keyp);
	}
	if (rc) {
		printf("key: unreadable\n");
		if (rc == -EBADMSG)
			return ctl_fail(CTL_INVALID, "%s: not an unencrypted PEM private key",
			                keyp);
		return ctl_file_fail(rc, "", keyp);
	}
	if (!X509_check_private_key(cert, key)) {
		printf("key: mismatch\n");
		return ctl_fail(CTL_INVALID, "%s does not belong to %s", keyp, certp);
	}
	if (ctl_key_weakness(key, why, sizeof(why))) {
		printf("key: weak\n");
		return ctl_fail(CTL_INVALID, "%s is %s; hvipectl policy sign refuses it", keyp,
		                why);
	}
	printf("key: %s (private, matches certificate)\n", keyp);
	return CTL_OK;
}

int ctl_key_main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(group_usage, stderr);
		return CTL_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(group_usage, stdout);
		return CTL_OK;
	}
	if (!strcmp(argv[1], "generate"))
		return verb_generate(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return verb_show(argc - 1, argv + 1);
	fputs(group_usage, stderr);
	return ctl_fail(CTL_USAGE, "key: unknown verb '%s'", argv[1]);
}
