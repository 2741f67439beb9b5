/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-vsock device model: consumes guest packets from the tx ring,
 * bridges each connection to a Unix socket (hybrid-vsock convention), and fills
 * the rx ring with replies and host data within the guest's credit.
 *
 * Everything the guest wrote is hostile. A malformed chain is completed with
 * length 0 and counted; a malformed or unexpected packet is answered with RST
 * (never an RST in reply to an RST); an absurd ring index stops the ring until
 * the driver resets the device.
 */
#ifndef HVIPE_VSOCKD_DEV_H
#define HVIPE_VSOCKD_DEV_H

#include <stdint.h>
#include <sys/un.h>

#include "conn.h"
#include "vring.h"
#include "vsock_pkt.h"

#define VQ_RX 0u
#define VQ_TX 1u
/* Control packets (RST to unknown peers) waiting for rx buffers; more are dropped. */
#define DEV_CTL_MAX 1024u
/* How long a host client may take to send CONNECT and the guest to answer it. */
#define DEV_CONNECT_TIMEOUT_MS 10000u
/* rx chains one host read may fill, and the bytes it may take at most. */
#define DEV_RX_BATCH       16u
#define DEV_RX_BATCH_BYTES (256u * 1024)
/* Guest-triggered log lines allowed per second. */
#define DEV_LOG_BURST 20u

enum ep_kind {
	EP_CONN = 1,
	EP_LISTEN,
	EP_VHOST,
	EP_VHOST_LISTEN,
	EP_KICK,
	EP_SIGNAL,
	EP_TIMER,
};

struct dev_stats {
	uint64_t bad_chains;  /* malformed descriptor chains */
	uint64_t bad_packets; /* malformed or unexpected packets */
	uint64_t rst_sent, ctl_dropped;
	uint64_t conns_opened;
};

struct vsock_dev {
	uint64_t guest_cid;
	char base[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int epfd; /* -1: no epoll registration (tests, fuzzing) */
	struct vu_mem mem;
	struct vq vq[2];
	struct conn_table conns;
	struct vsock_hdr ctl[DEV_CTL_MAX];
	unsigned ctl_head, ctl_len;
	struct dev_stats stats;
	struct vq_chain rx_batch[DEV_RX_BATCH]; /* scratch for batched host reads */
	uint64_t now_ms;
	uint64_t log_window_ms, log_suppressed;
	unsigned log_used;
};

/* Longest BASE accepted: BASE "_" + 10 digits must fit in sun_path. */
#define DEV_BASE_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 12)

/* -ENAMETOOLONG if @base is too long for BASE_<port>. */
int dev_init(struct vsock_dev *d, uint64_t guest_cid, const char *base, int epfd);
/* Drain the tx ring, then fill rx. Safe to call at any time. */
void dev_process_tx(struct vsock_dev *d);
/* Fill the rx ring from pending control packets and connection data. */
void dev_pump_rx(struct vsock_dev *d);
/* epoll events on a connection's Unix socket. */
void dev_conn_event(struct vsock_dev *d, struct conn *c, uint32_t events);
/*
 * Accept the host clients waiting on the listening socket @lfd. Returns 0, or
 * the negative errno of an accept that failed for lack of resources (EMFILE,
 * ENFILE, ENOBUFS, ENOMEM): the caller should stop watching @lfd for a while.
 */
int dev_accept(struct vsock_dev *d, int lfd);
/* Give up on handshakes past their deadline. */
void dev_tick(struct vsock_dev *d, uint64_t now_ms);
/* Close every host socket and forget every connection; @reason goes to the log. */
void dev_reset_conns(struct vsock_dev *d, const char *reason);
/*
 * Free the connections closed since the last call. Call it only between epoll
 * batches: until then a closed connection's memory stays valid (ep_kind 0) so a
 * later event of the same batch that names it is skipped, not a use after free.
 */
void dev_reap(struct vsock_dev *d);

#endif
