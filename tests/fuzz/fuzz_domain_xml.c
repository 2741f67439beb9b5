/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the domain XML CID extraction. */
#include <stddef.h>
#include <stdint.h>

#include "act_libvirt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t cid;

	hv_libvirt_domain_cid((const char *)data, size, &cid);
	return 0;
}
