/* SPDX-License-Identifier: Apache-2.0 */
#ifndef HVIPE_UTIL_HEX_H
#define HVIPE_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Lower-case hex of @len bytes into @out (2*len+1 bytes, NUL-terminated). */
void hv_hex_encode(char *out, const uint8_t *in, size_t len);

/*
 * Decode exactly @hexlen hex digits (either case) into @out (@outsz bytes).
 * Returns the number of bytes written, -EINVAL for an odd count or a non-hex
 * digit, -E2BIG when @out is too small.
 */
int hv_hex_decode(uint8_t *out, size_t outsz, const char *hex, size_t hexlen);

#endif
