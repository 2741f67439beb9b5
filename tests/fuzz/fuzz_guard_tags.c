/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the expected-tags parser and the check of reported tags. The first
 * half of the input is a tags file, the second half NUL-separated reported
 * tags. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../guest/guard/tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct hv_guard_tags fixed = {.n = 2, .tag = {1, 0x0123456789abcdefULL}};
	struct hv_guard_tags t;
	char buf[1024];
	const char *tags[HV_GUARD_TAGS_MAX + 2];
	size_t half = size / 2, n = 0, len;

	if (hv_guard_tags_parse((const char *)data, half, &t) == 0 &&
	    (t.n == 0 || t.n > HV_GUARD_TAGS_MAX))
		__builtin_trap();

	len = size - half < sizeof(buf) - 1 ? size - half : sizeof(buf) - 1;
	memcpy(buf, data + half, len);
	buf[len] = '\0';
	for (size_t i = 0; i < len && n < HV_GUARD_TAGS_MAX + 2; i++) {
		tags[n++] = &buf[i];
		i += strlen(&buf[i]);
	}
	hv_guard_tags_check(&fixed, tags, n);
	return 0;
}
