// SPDX-License-Identifier: Apache-2.0
/* Fuzz the initramfs init's command-line and verity-geometry parsers. */
#include "../../guest/initramfs/bootparams.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_cmdline c;
	struct verity_conf vc;
	char p[4096];

	if (boot_parse_cmdline((const char *)data, size, &c) == 0) {
		if (strlen(c.roothash) > BP_MAX_HASH_HEX)
			__builtin_trap();
	}
	if (boot_parse_verity_conf((const char *)data, size, &vc) == 0) {
		int n = boot_verity_params(&vc, c.roothash, "k", p, sizeof(p));

		if (n >= (int)sizeof(p) || (n >= 0 && strlen(p) != (size_t)n))
			__builtin_trap();
	}
	return 0;
}
