/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvipectl policy: check, fmt, sign, verify, show. Local files only; the
 * verdicts are those of the Linux 6.12 IPE parser (shared/policy).
 *
 * Diagnostics go to stderr as FILE:LINE:COL: error|warning: WHAT (ERRNO);
 * LINE and COL are 0 when the problem is about the whole text.
 */
#include "ctl.h"
#include "hv_limits.h"
#include "policy/policy.h"
#include "policy/sign.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/hex.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>

DEFINE_CLEANUP_FUNC(struct hv_policy *, hv_policy_free)
DEFINE_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_CLEANUP_FUNC(X509 *, X509_free)

#define MAX_WARNINGS 64

static const char group_usage[] =
        "usage: hvipectl policy <verb> [options] FILE...\n"
        "\n"
        "IPE policies as Linux 6.12 reads them.\n"
        "\n"
        "Verbs:\n"
        "  check [--initramfs] [--strict] FILE...   would the kernel accept it?\n"
        "  fmt [--check|--write] FILE...           canonical text\n"
        "  sign --key K --cert C [-o OUT] FILE     DER PKCS#7 blob for securityfs\n"
        "  verify --cert C BLOB                    verify, print the embedded policy\n"
        "  show BLOB                               signer, digest, name, version\n"
        "\n"
        "'hvipectl policy <verb> --help' for a verb's options. See hvipectl-policy(8).\n";

static void diag(const char *file, unsigned line, unsigned col, const char *kind, const char *msg,
                 const char *errname)
{
	if (errname)
		fprintf(stderr, "%s:%u:%u: %s: %s (%s)\n", file, line, col, kind, msg, errname);
	else
		fprintf(stderr, "%s:%u:%u: %s: %s\n", file, line, col, kind, msg);
}

static void print_error(const char *file, const struct hv_policy_error *e)
{
	diag(file, e->line, e->col, "error", e->msg, hv_policy_errno_name(e->err));
}

/* "-" reads standard input. */
/* SHA-256 of a blob in upper-case hex, as IPE's audit records print it. */
static char *audit_digest(const uint8_t *blob, size_t len, char hex[65])
{
	uint8_t d[32];

	hv_policy_blob_digest(blob, len, d);
	hv_hex_encode(hex, d, 32);
	for (char *h = hex; *h; h++)
		if (*h >= 'a' && *h <= 'f')
			*h = (char)(*h - 'a' + 'A');
	return hex;
}

static int read_input(const char *path, uint8_t **data, size_t *len)
{
	int rc = hv_read_file(strcmp(path, "-") ? path : "/dev/stdin", HV_POLICY_MAX_FILE, data,
	                      len);

	if (rc == -EFBIG)
		return ctl_fail(CTL_INVALID, "%s: larger than %u bytes", path, HV_POLICY_MAX_FILE);
	if (rc)
		return ctl_file_fail(rc, "", path);
	return CTL_OK;
}

/*
 * Parse, deployment-check and lint one text. Prints every diagnostic and
 * returns CTL_OK (accepted, maybe with warnings), CTL_INVALID (refused).
 * *@out receives the policy when accepted and @out is not NULL.
 */
static int check_text(const char *file, const uint8_t *text, size_t len, bool initramfs,
                      bool strict, struct hv_policy **out)
{
	_cleanup_(hv_policy_freep) struct hv_policy *p = NULL;
	struct hv_policy_warning w[MAX_WARNINGS];
	struct hv_policy_error e;
	size_t n;

	if (hv_policy_parse(text, len, &p, &e)) {
		print_error(file, &e);
		return CTL_INVALID;
	}
	if (hv_policy_check_deploy(p, len, &e)) {
		print_error(file, &e);
		return CTL_INVALID;
	}
	n = hv_policy_lint(p, !initramfs, w, MAX_WARNINGS);
	for (size_t i = 0; i < n && i < MAX_WARNINGS; i++)
		diag(file, w[i].line, w[i].col, "warning", w[i].msg, NULL);
	if (n > MAX_WARNINGS)
		diag(file, 0, 0, "warning", "more warnings not shown", NULL);
	if (n && strict) {
		diag(file, 0, 0, "error", "warnings are errors with --strict", NULL);
		return CTL_INVALID;
	}
	if (out)
		*out = TAKE_PTR(p);
	return CTL_OK;
}

static int verb_check(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"initramfs", no_argument, NULL, 'i'},
	        {"strict", no_argument, NULL, 's'},
	        {NULL, 0, NULL, 0},
	};
	bool initramfs = false, strict = false;
	int c, worst = CTL_OK;

	if (ctl_wants_help(argc, argv)) {
		printf("usage: hvipectl policy check [--initramfs] [--strict] FILE...\n\n"
		       "FILE '-' is standard input.\n"
		       "Exit 0 when Linux 6.12 would accept every FILE (warnings on stderr),\n"
		       "1 when it would refuse one: FILE:LINE:COL: error: WHAT (ERRNO).\n"
		       "Also checks what securityfs refuses at deployment (EACCES,\n"
		       "ENAMETOOLONG for the name; EMSGSIZE for text that cannot be signed\n"
		       "into 65,535 bytes).\n\n"
		       "  --initramfs  the policy is for the initramfs stage: no warning for\n"
		       "               boot_verified=TRUE\n"
		       "  --strict     treat warnings as errors (exit 1)\n");
		return CTL_OK;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'i')
			initramfs = true;
		else if (c == 's')
			strict = true;
		else
			return CTL_USAGE;
	}
	if (optind >= argc)
		return ctl_fail(CTL_USAGE, "policy check: no FILE (see --help)");
	for (int i = optind; i < argc; i++) {
		_cleanup_free_ uint8_t *data = NULL;
		size_t len = 0;
		int rc = read_input(argv[i], &data, &len);

		if (rc == CTL_OK)
			rc = check_text(argv[i], data, len, initramfs, strict, NULL);
		if (rc > worst)
			worst = rc;
	}
	return worst;
}

/*
 * Replace the file @path names by @len bytes of @data, keeping what the
 * operator set up: a symbolic link is followed and its target rewritten (the
 * link stays), and the new file gets the old one's owner, group and mode
 * before it is renamed over it; file and directory are synced. Other hard
 * links keep the old text (the man page says so; *@nlink tells the caller).
 * Returns 0 or -errno (-EPERM when the owner cannot be kept).
 */
static int replace_file(const char *path, const void *data, size_t len, nlink_t *nlink)
{
	_cleanup_free_ char *target = realpath(path, NULL);
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1, dfd = -1;
	const uint8_t *p = data;
	struct stat st;
	char *slash;
	int e;

	if (!target)
		return -errno;
	if (stat(target, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*nlink = st.st_nlink;
	if (asprintf(&tmp, "%s.tmpXXXXXX", target) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Owner first: chown clears set-id bits that fchmod then restores. */
	if (fchown(fd, st.st_uid, st.st_gid) < 0 || fchmod(fd, st.st_mode & 07777) < 0)
		goto fail;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0 || rename(tmp, target) < 0)
		goto fail;
	slash = strrchr(target, '/');
	slash[slash == target] = '\0';
	dfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		return -errno;
	return 0;
fail:
	e = errno;
	unlink(tmp);
	return -e;
}

static int verb_fmt(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"check", no_argument, NULL, 'c'},
	        {"write", no_argument, NULL, 'w'},
	        {NULL, 0, NULL, 0},
	};
	bool check = false, write = false;
	int c, worst = CTL_OK;

	if (ctl_wants_help(argc, argv)) {
		printf("usage: hvipectl policy fmt [--check | --write] FILE...\n\n"
		       "Print the canonical form of each FILE: LF line ends, single spaces,\n"
		       "lower-case hex, version without '+' or leading zeros, header, global\n"
		       "DEFAULT, per-op DEFAULTs and rules in kernel op order (rules of one op\n"
		       "keep their order). Formatting twice changes nothing; the result means\n"
		       "the same to the kernel. FILE '-' is standard input.\n\n"
		       "  --check  print nothing; exit 1 and name each FILE that is not canonical\n"
		       "  --write  replace each FILE by its canonical form, keeping its mode,\n"
		       "           owner and group; a symlink's target is rewritten. Other\n"
		       "           hard links to FILE keep the old text.\n");
		return CTL_OK;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c')
			check = true;
		else if (c == 'w')
			write = true;
		else
			return CTL_USAGE;
	}
	if (check && write)
		return ctl_fail(CTL_USAGE, "policy fmt: --check and --write exclude each other");
	if (optind >= argc)
		return ctl_fail(CTL_USAGE, "policy fmt: no FILE (see --help)");
	for (int i = optind; write && i < argc; i++)
		if (!strcmp(argv[i], "-"))
			return ctl_fail(CTL_USAGE, "policy fmt: --write needs files, not '-'");
	for (int i = optind; i < argc; i++) {
		_cleanup_(hv_policy_freep) struct hv_policy *p = NULL;
		_cleanup_free_ uint8_t *data = NULL;
		_cleanup_free_ char *out = NULL;
		struct hv_policy_error e;
		size_t len = 0, olen = 0;
		int rc = read_input(argv[i], &data, &len);

		if (rc == CTL_OK && hv_policy_parse(data, len, &p, &e)) {
			print_error(argv[i], &e);
			rc = CTL_INVALID;
		}
		if (rc == CTL_OK && memchr(data, '\0', len)) {
			struct hv_policy_warning w;

			if (hv_policy_lint(p, false, &w, 1) && w.code == HV_LINT_NUL)
				diag(argv[i], w.line, w.col, "warning",
				     "NUL byte: the canonical text ends here, as the kernel's "
				     "reading does",
				     NULL);
		}
		if (rc == CTL_OK && (rc = hv_policy_format(p, &out, &olen)))
			rc = ctl_fail(CTL_SYSTEM, "%s: %s", argv[i], strerror(-rc));
		if (rc == CTL_OK && check && (olen != len || memcmp(out, data, len))) {
			fprintf(stderr, "%s: not canonical (hvipectl policy fmt --write)\n",
			        argv[i]);
			rc = CTL_INVALID;
		} else if (rc == CTL_OK && write) {
			if (olen != len || memcmp(out, data, len)) {
				nlink_t links = 1;
				int r = replace_file(argv[i], out, olen, &links);

				if (r == -EPERM)
					rc = ctl_fail(
					        CTL_SYSTEM,
					        "%s: cannot give the new text the file's owner "
					        "and group (%s); left unchanged",
					        argv[i], strerror(-r));
				else if (r)
					rc = ctl_file_fail(r, "", argv[i]);
				else if (links > 1)
					fprintf(stderr,
					        "%s: warning: had %lu hard links; the other names "
					        "keep the old text\n",
					        argv[i], (unsigned long)links);
			}
		} else if (rc == CTL_OK && !check) {
			fwrite(out, 1, olen, stdout);
		}
		if (rc > worst)
			worst = rc;
	}
	if (fflush(stdout))
		return ctl_fail(CTL_SYSTEM, "stdout: %s", strerror(errno));
	return worst;
}

static int load_cert(const char *path, X509 **cert)
{
	int rc = hv_cert_load(path, cert);

	if (rc == -EBADMSG)
		return ctl_fail(CTL_INVALID, "%s: not a PEM or DER X.509 certificate", path);
	if (rc)
		return ctl_file_fail(rc, "", path);
	return CTL_OK;
}

static int verb_sign(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"key", required_argument, NULL, 'k'},    {"cert", required_argument, NULL, 'c'},
	        {"output", required_argument, NULL, 'o'}, {"out", required_argument, NULL, 'o'},
	        {"initramfs", no_argument, NULL, 'i'},    {NULL, 0, NULL, 0},
	};
	_cleanup_(hv_policy_freep) struct hv_policy *p = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_(X509_freep) X509 *cert = NULL;
	_cleanup_free_ uint8_t *data = NULL, *blob = NULL;
	_cleanup_free_ char *def_out = NULL;
	const char *keyp = NULL, *certp = NULL, *outp = NULL, *file;
	bool initramfs = false;
	size_t len = 0, blen = 0;
	char hex[65], ver[24], name[1100], why[128];
	int c, rc;

	if (ctl_wants_help(argc, argv)) {
		printf("usage: hvipectl policy sign --key KEY --cert CERT [-o OUT] FILE\n\n"
		       "Sign FILE as Linux 6.12 IPE accepts it: DER PKCS#7 SignedData, content\n"
		       "attached, no signed attributes, at most 65,535 bytes. Refuses what\n"
		       "'policy check' refuses, and any NUL byte. KEY must be readable by its\n"
		       "owner only (mode 0600), and RSA of at least 2048 bits or EC P-256 or\n"
		       "P-384. FILE '-' is standard input; its blob then goes to standard\n"
		       "output unless -o names a file.\n\n"
		       "  --key KEY        PEM private key (e.g. var/keys/key.pem)\n"
		       "  --cert CERT      its certificate (embedded in the blob)\n"
		       "  -o, --output OUT where to write the blob (default FILE.p7s; '-' "
		       "stdout);\n"
		       "                   --out is the same\n"
		       "  --initramfs      the policy is for the initramfs stage (lint only)\n");
		return CTL_OK;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			keyp = optarg;
			break;
		case 'c':
			certp = optarg;
			break;
		case 'o':
			outp = optarg;
			break;
		case 'i':
			initramfs = true;
			break;
		default:
			return CTL_USAGE;
		}
	}
	if (!keyp || !certp || optind != argc - 1)
		return ctl_fail(CTL_USAGE, "policy sign: needs --key, --cert and one FILE");
	file = argv[optind];
	rc = read_input(file, &data, &len);
	if (rc)
		return rc;
	rc = check_text(file, data, len, initramfs, false, &p);
	if (rc)
		return rc;
	if (memchr(data, '\0', len)) {
		diag(file, 0, 0, "error",
		     "contains a NUL byte; the kernel would ignore the rest, so it is not signed",
		     NULL);
		return CTL_INVALID;
	}

	rc = hv_key_load(keyp, &key);
	if (rc == -EPERM)
		return ctl_fail(CTL_INVALID,
		                "%s: refusing a key file readable by group or others, or not owned "
		                "by you (chmod 600)",
		                keyp);
	if (rc == -EBADMSG)
		return ctl_fail(CTL_INVALID, "%s: not an unencrypted PEM private key", keyp);
	if (rc)
		return ctl_file_fail(rc, "", keyp);
	if (ctl_key_weakness(key, why, sizeof(why)))
		return ctl_fail(CTL_INVALID, "%s: refusing to sign with %s", keyp, why);
	rc = load_cert(certp, &cert);
	if (rc)
		return rc;

	rc = hv_policy_sign(data, len, key, cert, &blob, &blen);
	if (rc == -EMSGSIZE)
		return ctl_fail(
		        CTL_INVALID,
		        "%s: the signed blob would be larger than %u bytes, which the kernel "
		        "refuses (EMSGSIZE); shorten the policy",
		        file, HV_IPE_MAX_SIGNED_BLOB);
	if (rc == -EKEYREJECTED)
		return ctl_fail(CTL_INVALID, "%s does not belong to %s", keyp, certp);
	if (rc)
		return ctl_fail(CTL_SYSTEM, "signing failed: %s", strerror(-rc));

	if (!outp && !strcmp(file, "-")) {
		/* Standard input has no name to put .p7s after: the blob goes to stdout. */
		if (isatty(STDOUT_FILENO))
			return ctl_fail(CTL_USAGE, "policy sign: FILE '-' writes the blob to "
			                           "standard output, which is a terminal; give "
			                           "-o OUT");
		outp = "-";
	}
	if (!outp) {
		if (asprintf(&def_out, "%s.p7s", file) < 0)
			return ctl_fail(CTL_SYSTEM, "out of memory");
		outp = def_out;
	}
	if (!strcmp(outp, "-")) {
		if (fwrite(blob, 1, blen, stdout) != blen || fflush(stdout))
			return ctl_fail(CTL_SYSTEM, "stdout: %s", strerror(errno));
		return CTL_OK;
	}
	rc = hv_write_file_atomic(outp, blob, blen, 0644);
	if (rc)
		return ctl_file_fail(rc, "", outp);
	audit_digest(blob, blen, hex);
	printf("%s: signed policy_name=%s policy_version=%s bytes=%zu digest=sha256:%s\n", outp,
	       hv_log_escape(name, sizeof(name), hv_policy_name(p), strlen(hv_policy_name(p)), 255),
	       hv_ipe_version_format(hv_policy_version(p), ver, sizeof(ver)), blen, hex);
	return CTL_OK;
}

static int read_blob(const char *path, uint8_t **blob, size_t *len)
{
	int rc = hv_read_file(path, HV_IPE_MAX_SIGNED_BLOB, blob, len);

	if (rc == -EFBIG)
		return ctl_fail(CTL_INVALID,
		                "%s: larger than %u bytes; the kernel refuses it (EMSGSIZE)", path,
		                HV_IPE_MAX_SIGNED_BLOB);
	if (rc)
		return ctl_file_fail(rc, "", path);
	return CTL_OK;
}

static int verb_verify(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"cert", required_argument, NULL, 'c'},
	        {NULL, 0, NULL, 0},
	};
	_cleanup_(hv_policy_freep) struct hv_policy *p = NULL;
	_cleanup_(X509_freep) X509 *cert = NULL;
	_cleanup_free_ uint8_t *blob = NULL, *text = NULL;
	const char *certp = NULL, *file;
	struct hv_policy_error e;
	size_t len = 0, tlen = 0;
	int c, rc;

	if (ctl_wants_help(argc, argv)) {
		printf("usage: hvipectl policy verify --cert CERT BLOB\n\n"
		       "Verify BLOB's signature against CERT (the signer, or a certificate it\n"
		       "chains to; no clock check, as in the kernel) and print the embedded\n"
		       "policy on stdout. Exit 1 when the signature or the policy would be\n"
		       "refused.\n");
		return CTL_OK;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c')
			certp = optarg;
		else
			return CTL_USAGE;
	}
	if (!certp || optind != argc - 1)
		return ctl_fail(CTL_USAGE, "policy verify: needs --cert and one BLOB");
	file = argv[optind];
	rc = read_blob(file, &blob, &len);
	if (!rc)
		rc = load_cert(certp, &cert);
	if (rc)
		return rc;
	rc = hv_policy_verify(blob, len, cert, &text, &tlen);
	if (rc == -EKEYREJECTED)
		return ctl_fail(CTL_INVALID,
		                "%s: signature does not verify against %s, or carries signed "
		                "attributes the kernel refuses (EKEYREJECTED)",
		                file, certp);
	if (rc == -EBADMSG || rc == -EMSGSIZE)
		return ctl_fail(CTL_INVALID,
		                "%s: not a DER PKCS#7 SignedData with attached content of at most "
		                "%u bytes (%s)",
		                file, HV_IPE_MAX_SIGNED_BLOB,
		                rc == -EBADMSG ? "EBADMSG" : "EMSGSIZE");
	if (rc)
		return ctl_fail(CTL_SYSTEM, "%s: %s", file, strerror(-rc));
	if (fwrite(text, 1, tlen, stdout) != tlen || fflush(stdout))
		return ctl_fail(CTL_SYSTEM, "stdout: %s", strerror(errno));
	if (hv_policy_parse(text, tlen, &p, &e)) {
		print_error(file, &e);
		return CTL_INVALID;
	}
	return CTL_OK;
}

static int verb_show(int argc, char **argv)
{
	_cleanup_(hv_policy_freep) struct hv_policy *p = NULL;
	_cleanup_free_ uint8_t *blob = NULL;
	const uint8_t *text;
	struct hv_policy_error e;
	size_t len = 0, tlen;
	char signer[512], hex[65], ver[24], name[1100];
	int rc;

	if (ctl_wants_help(argc, argv)) {
		printf("usage: hvipectl policy show BLOB\n\n"
		       "Describe a signed policy without verifying it: signer, SHA-256 of the\n"
		       "blob as IPE's audit records name it (policy_digest=sha256:HEX), policy\n"
		       "name and version. Use 'policy verify' to check the signature.\n");
		return CTL_OK;
	}
	if (argc != 2 || argv[1][0] == '-')
		return ctl_fail(CTL_USAGE, "policy show: needs one BLOB");
	rc = read_blob(argv[1], &blob, &len);
	if (rc)
		return rc;
	rc = hv_policy_blob_inspect(blob, len, &text, &tlen, signer, sizeof(signer));
	if (rc)
		return ctl_fail(CTL_INVALID,
		                "%s: not a DER PKCS#7 SignedData with one attached content (%s)",
		                argv[1], hv_policy_errno_name(-rc));
	audit_digest(blob, len, hex);
	printf("signer: %s\n", signer);
	printf("digest: sha256:%s\n", hex);
	printf("bytes: %zu\n", len);
	if (hv_policy_parse(text, tlen, &p, &e)) {
		print_error(argv[1], &e);
		return CTL_INVALID;
	}
	printf("name: %s\n", hv_log_escape(name, sizeof(name), hv_policy_name(p),
	                                   strlen(hv_policy_name(p)), 255));
	printf("version: %s\n", hv_ipe_version_format(hv_policy_version(p), ver, sizeof(ver)));
	printf("rules: %zu\n", hv_policy_rule_count(p));
	return CTL_OK;
}

int ctl_policy_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} verbs[] = {
	        {"check", verb_check},   {"fmt", verb_fmt},   {"sign", verb_sign},
	        {"verify", verb_verify}, {"show", verb_show},
	};

	if (argc < 2) {
		fputs(group_usage, stderr);
		return CTL_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(group_usage, stdout);
		return CTL_OK;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	fputs(group_usage, stderr);
	return ctl_fail(CTL_USAGE, "policy: unknown verb '%s'", argv[1]);
}
