// SPDX-License-Identifier: Apache-2.0
/* virtio-vsock header codec and CONNECT line parser; see vsock_pkt.h. */
#include "vsock_pkt.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#define GET(type, conv, off)                                                                       \
	({                                                                                         \
		type _v;                                                                           \
		memcpy(&_v, raw + (off), sizeof(_v));                                              \
		conv(_v);                                                                          \
	})
#define PUT(type, conv, off, val)                                                                  \
	do {                                                                                       \
		type _v = conv(val);                                                               \
		memcpy(raw + (off), &_v, sizeof(_v));                                              \
	} while (0)

void vsock_hdr_decode(struct vsock_hdr *h, const uint8_t raw[VSOCK_HDR_LEN])
{
	h->src_cid = GET(uint64_t, le64toh, 0);
	h->dst_cid = GET(uint64_t, le64toh, 8);
	h->src_port = GET(uint32_t, le32toh, 16);
	h->dst_port = GET(uint32_t, le32toh, 20);
	h->len = GET(uint32_t, le32toh, 24);
	h->type = GET(uint16_t, le16toh, 28);
	h->op = GET(uint16_t, le16toh, 30);
	h->flags = GET(uint32_t, le32toh, 32);
	h->buf_alloc = GET(uint32_t, le32toh, 36);
	h->fwd_cnt = GET(uint32_t, le32toh, 40);
}

void vsock_hdr_encode(uint8_t raw[VSOCK_HDR_LEN], const struct vsock_hdr *h)
{
	PUT(uint64_t, htole64, 0, h->src_cid);
	PUT(uint64_t, htole64, 8, h->dst_cid);
	PUT(uint32_t, htole32, 16, h->src_port);
	PUT(uint32_t, htole32, 20, h->dst_port);
	PUT(uint32_t, htole32, 24, h->len);
	PUT(uint16_t, htole16, 28, h->type);
	PUT(uint16_t, htole16, 30, h->op);
	PUT(uint32_t, htole32, 32, h->flags);
	PUT(uint32_t, htole32, 36, h->buf_alloc);
	PUT(uint32_t, htole32, 40, h->fwd_cnt);
}

int vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid, size_t payload_avail)
{
	if (h->len > VSOCK_MAX_PAYLOAD || h->len > payload_avail)
		return -EBADMSG;
	if (h->len && h->op != VSOCK_OP_RW)
		return -EBADMSG;
	if (h->src_cid != guest_cid || h->dst_cid != VSOCK_HOST_CID)
		return -EADDRNOTAVAIL;
	if (h->type != VSOCK_TYPE_STREAM)
		return -EPROTONOSUPPORT;
	if (h->op < VSOCK_OP_REQUEST || h->op > VSOCK_OP_CREDIT_REQUEST)
		return -EOPNOTSUPP;
	return 0;
}

int vsock_parse_connect(const char *line, size_t len, uint32_t *port)
{
	static const char kw[] = "connect ";
	uint64_t v = 0;
	size_t i = sizeof(kw) - 1;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len <= i || strncasecmp(line, kw, i) != 0)
		return -EINVAL;
	if (len - i > 10)
		return -EINVAL;
	for (; i < len; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	*port = (uint32_t)v;
	return 0;
}
