/* SPDX-License-Identifier: Apache-2.0 */
#include "util/hex.h"

#include <errno.h>

void hv_hex_encode(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hv_hex_decode(uint8_t *out, size_t outsz, const char *hex, size_t hexlen)
{
	size_t i;

	if (hexlen % 2)
		return -EINVAL;
	if (hexlen / 2 > outsz)
		return -E2BIG;
	for (i = 0; i < hexlen; i += 2) {
		int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(hexlen / 2);
}
