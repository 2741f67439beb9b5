/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the initramfs init reads before it trusts anything: the kernel command
 * line (hvipe.* parameters, set by the host) and the verity geometry file that
 * the image build writes into the initramfs. Both parsers are strict and
 * bounded; the init has no allocator-heavy code.
 */
#ifndef HVIPE_INITRAMFS_BOOTPARAMS_H
#define HVIPE_INITRAMFS_BOOTPARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BP_MAX_CMDLINE  4096u
#define BP_MAX_HASH_HEX 128u /* sha512 */
#define BP_MAX_SALT_HEX 512u /* 256-byte salt, veritysetup's maximum */
#define BP_MAX_PATH     64u
#define BP_MAX_ALG      16u

struct boot_cmdline {
	char roothash[BP_MAX_HASH_HEX + 1]; /* hvipe.roothash=HEX, lower case */
	bool fail_closed;                   /* hvipe.fail=closed */
	unsigned port;                      /* hvipe.port=N, 0 when absent */
	bool checks;                        /* hvipe.checks=1: run the image's self-checks */
	unsigned deadline_ms;               /* hvipe.deadline_ms=N, 0 when absent */
};

/*
 * Parse the kernel command line @s (@len bytes). Unknown words are ignored;
 * a malformed hvipe.* value fails. Returns 0, or -EBADMSG (bad hex, bad
 * hvipe.fail value, bad port), -E2BIG (longer than BP_MAX_CMDLINE or an
 * over-long value).
 */
int boot_parse_cmdline(const char *s, size_t len, struct boot_cmdline *out);

struct verity_conf {
	char data_dev[BP_MAX_PATH + 1];
	char hash_dev[BP_MAX_PATH + 1];
	char alg[BP_MAX_ALG + 1];
	char salt[BP_MAX_SALT_HEX + 1];
	uint32_t data_block_size;
	uint32_t hash_block_size;
	uint64_t data_blocks;
	uint64_t hash_start; /* in hash blocks */
};

/*
 * Parse the verity geometry (lines "key=value"; keys data_device, hash_device,
 * hash_algorithm, salt, data_block_size, hash_block_size, data_blocks,
 * hash_start). Every key is required exactly once. Returns 0, -EBADMSG
 * (unknown or repeated key, bad number, block size not a power of two in
 * 512..65536, device not under /dev/, bad algorithm or salt), -E2BIG.
 */
int boot_parse_verity_conf(const char *s, size_t len, struct verity_conf *out);

/*
 * Format the dm-verity table parameters (version 1) into @buf of @size bytes,
 * naming @sig_key_desc as root_hash_sig_key_desc when it is not NULL.
 * Returns the length, or -ENOBUFS when @buf is too small.
 */
int boot_verity_params(const struct verity_conf *vc, const char *roothash, const char *sig_key_desc,
                       char *buf, size_t size);

#endif
