/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock packet header (44 bytes, little-endian in guest memory) and the
 * hybrid-vsock "CONNECT <port>\n" line a host client sends.
 */
#ifndef HVIPE_VSOCKD_VSOCK_PKT_H
#define HVIPE_VSOCKD_VSOCK_PKT_H

#include <stddef.h>
#include <stdint.h>

#define VSOCK_HDR_LEN     44u
#define VSOCK_HOST_CID    2u
#define VSOCK_TYPE_STREAM 1u
/* Largest payload one packet may carry (Linux VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
#define VSOCK_MAX_PAYLOAD (64u * 1024)

enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

#define VSOCK_SHUTDOWN_RCV  1u
#define VSOCK_SHUTDOWN_SEND 2u

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags;
	uint32_t buf_alloc, fwd_cnt;
};

void vsock_hdr_decode(struct vsock_hdr *h, const uint8_t raw[VSOCK_HDR_LEN]);
void vsock_hdr_encode(uint8_t raw[VSOCK_HDR_LEN], const struct vsock_hdr *h);

/*
 * Check a header the guest sent, given the readable bytes that follow it.
 * Returns 0, or:
 *   -EBADMSG  len larger than the bytes present or than VSOCK_MAX_PAYLOAD,
 *             or payload on anything but RW
 *   -EPROTONOSUPPORT  type is not STREAM (answer RST)
 *   -EADDRNOTAVAIL    src_cid is not the guest's CID or dst_cid is not the host
 *   -EOPNOTSUPP       op outside 1..7
 */
int vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid, size_t payload_avail);

/* Bytes a CONNECT line may take, LF included. */
#define VSOCK_CONNECT_LINE_MAX 32u

/*
 * Parse "CONNECT <port>" (keyword case-insensitive, one space, decimal u32,
 * optional CR) from @line of @len bytes without the LF. Returns 0 and *port,
 * -EINVAL on anything else.
 */
int vsock_parse_connect(const char *line, size_t len, uint32_t *port);

#endif
