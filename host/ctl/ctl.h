/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvipectl: verb-first command line. Each verb group lives in its own file
 * (ctl_<group>.c) and is listed in the table in main.c.
 */
#ifndef HVIPE_CTL_H
#define HVIPE_CTL_H

#include <stddef.h>

#include <openssl/evp.h>

/* Exit codes, documented in the README and hvipectl(8). */
enum ctl_exit {
	CTL_OK = 0,
	CTL_INVALID = 1,     /* invalid input, or the operation was refused */
	CTL_USAGE = 2,       /* bad command line */
	CTL_UNREACHABLE = 3, /* hvipe-hostd's control socket did not answer */
	CTL_SYSTEM = 4,      /* a local system or library failure (I/O, OpenSSL) */
};

struct ctl_group {
	const char *name;
	const char *summary;
	/* argv[0] is the group name; returns an enum ctl_exit. */
	int (*main)(int argc, char **argv);
};

/* Print "hvipectl: <msg>" to stderr; returns @code for tail calls. */
int ctl_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Report that the file @path given on the command line could not be used,
 * with the exit code README's table assigns: a file that cannot be opened or
 * read (missing, permission, I/O: -errno @err) is a local system failure,
 * CTL_SYSTEM; a file of the wrong kind (-EISDIR, -EINVAL for "not a regular
 * file" from our own checks) or too large (-EFBIG) is invalid input,
 * CTL_INVALID. @prefix ("kernel check: ", or "") starts the message.
 */
int ctl_file_fail(int err, const char *prefix, const char *path);

/* True when argv holds -h or --help before any "--". */
int ctl_wants_help(int argc, char **argv);

/* Smallest RSA modulus hvipectl signs with. */
#define CTL_RSA_MIN_BITS 2048

/*
 * NULL when @key is fit to sign policies (RSA of at least CTL_RSA_MIN_BITS,
 * EC P-256 or P-384); otherwise @buf, saying what the key is ("an RSA key of
 * 1024 bits (at least 2048 needed)"). ctl_key.c.
 */
const char *ctl_key_weakness(EVP_PKEY *key, char *buf, size_t bufsz);

/* Verb groups (one declaration per ctl_<group>.c). */
int ctl_kernel_main(int argc, char **argv);
int ctl_firmware_main(int argc, char **argv);
int ctl_vm_main(int argc, char **argv);     /* ctl_vm.c: daemon */
int ctl_image_main(int argc, char **argv);  /* ctl_image.c: daemon */
int ctl_status_main(int argc, char **argv); /* ctl_status.c: daemon */
int ctl_audit_main(int argc, char **argv);  /* ctl_status.c: daemon */
int ctl_policy_main(int argc, char **argv);
int ctl_key_main(int argc, char **argv);

#endif
