// SPDX-License-Identifier: Apache-2.0
/* Fuzz the kernel .config reader behind hvipectl kernel check. */
#include "../../host/ctl/kconfig.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kconfig_verdict v[KCONFIG_MAX_REQS];
	int n = kconfig_check((const char *)data, size, v, KCONFIG_MAX_REQS);

	for (int i = 0; i < n; i++)
		if (strlen(v[i].found) >= sizeof(v[i].found) || !v[i].req)
			__builtin_trap();
	return 0;
}
