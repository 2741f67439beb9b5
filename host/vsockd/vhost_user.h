/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user back-end protocol for vhost-user-vsock-pci: one session with one
 * QEMU front-end. QEMU is trusted (it owns the VM); its messages are still
 * size-checked so a version mismatch fails cleanly instead of corrupting state.
 */
#ifndef HVIPE_VSOCKD_VHOST_USER_H
#define HVIPE_VSOCKD_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "dev.h"

#define VHOST_USER_F_PROTOCOL_FEATURES  30
#define VIRTIO_F_VERSION_1              32
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3
#define VHOST_USER_PROTOCOL_F_CONFIG    9

/* The features we offer: split rings without INDIRECT_DESC or EVENT_IDX. */
#define VU_FEATURES ((1ull << VIRTIO_F_VERSION_1) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES))
#define VU_PROTOCOL_FEATURES                                                                       \
	((1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | (1ull << VHOST_USER_PROTOCOL_F_CONFIG))

struct vu_kick_tag {
	int ep_kind; /* EP_KICK */
	unsigned idx;
};

struct vu_session {
	int fd;
	struct vsock_dev *dev;
	uint64_t features, protocol_features;
	struct vu_kick_tag kick_tag[2];
	/* Telling a pause (resume at the same place) from a driver reset. */
	bool ran[2];
	uint16_t stopped_at[2];
	uint64_t prev_desc[2];
	bool reset_done;
};

void vu_session_init(struct vu_session *s, int fd, struct vsock_dev *dev);
/*
 * Read and handle one message. Returns 0, -ECONNRESET when QEMU closed the
 * socket, or another negative errno on a protocol violation (close the session).
 */
int vu_session_handle(struct vu_session *s);
/* The kick fd of ring @idx fired. */
void vu_session_kick(struct vu_session *s, unsigned idx);
/* Drop all session state (fds, memory, rings, connections). */
void vu_session_close(struct vu_session *s);

#endif
