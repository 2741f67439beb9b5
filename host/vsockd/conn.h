/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bridged connections: the table keyed by (host port, guest port), the
 * per-connection byte FIFO for guest data the Unix socket has not taken yet,
 * and the credit arithmetic of virtio-vsock (all counters u32, wrapping).
 */
#ifndef HVIPE_VSOCKD_CONN_H
#define HVIPE_VSOCKD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Receive buffer we advertise per connection (guest -> host direction). */
#define CONN_BUF_ALLOC (256u * 1024)
/* Connections one daemon (one VM) bridges at once; more are refused with RST. */
#define CONN_MAX          1024u
#define CONN_HASH_BUCKETS 256u

enum conn_state {
	CONN_HOST_CONNECT, /* host client accepted, reading its CONNECT line */
	CONN_LOCAL_INIT,   /* REQUEST queued or sent to the guest, awaiting RESPONSE */
	CONN_ESTABLISHED,
};

/* Control packets a connection owes the guest, sent before data. */
enum {
	CONN_TX_REQUEST = 1u << 0,
	CONN_TX_RESPONSE = 1u << 1,
	CONN_TX_CREDIT = 1u << 2,
	CONN_TX_SHUTDOWN = 1u << 3,
	CONN_TX_RST = 1u << 4,
};

struct conn {
	int ep_kind; /* first: epoll tag shared with the daemon's other sources */
	uint32_t host_port, guest_port;
	int fd;
	enum conn_state state;
	unsigned owed; /* CONN_TX_* bits */

	/* guest -> host */
	uint8_t *fifo; /* CONN_BUF_ALLOC bytes, allocated on first need */
	size_t fifo_head, fifo_len;
	uint32_t fwd_cnt;      /* guest bytes written to the Unix socket */
	uint32_t fwd_cnt_sent; /* fwd_cnt last told to the guest */
	uint32_t recv_cnt;     /* guest payload bytes received */

	/* host -> guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t rx_cnt; /* payload bytes sent to the guest */

	bool readable, writable; /* edge-triggered readiness of fd */
	bool host_eof;           /* read() returned 0 */
	bool guest_shut_send;    /* guest will send no more */
	bool guest_shut_rcv;     /* guest will receive no more */
	bool shut_wr_done;       /* shutdown(fd, SHUT_WR) issued */
	bool sent_shut_send;     /* we told the guest we send no more */

	char line[32]; /* CONNECT line being read */
	size_t line_len;
	uint64_t deadline_ms; /* CONN_HOST_CONNECT / CONN_LOCAL_INIT give-up time */

	struct conn *hnext;       /* hash chain */
	struct conn *prev, *next; /* all connections */
	struct conn *act_next;    /* rx work list */
	bool active;
	bool in_table;
};

struct conn_table {
	struct conn *bucket[CONN_HASH_BUCKETS];
	struct conn *head; /* all connections, including those not in the hash */
	unsigned count;
	struct conn *act_head, *act_tail;
	uint32_t next_host_port;
	/*
	 * With epoll, an event batch may still hold a pointer to a connection
	 * an earlier event in the same batch closed: conn_free() then only
	 * retires it (fd closed, ep_kind 0, on this list) and conn_reap()
	 * frees it once the batch is done.
	 */
	bool defer_free;
	struct conn *dead;
};

void conn_table_init(struct conn_table *t);
/* Allocate a connection for @fd (ownership passes); -ENOBUFS at CONN_MAX, -ENOMEM. */
int conn_new(struct conn_table *t, int fd, struct conn **out);
/* Enter @c into the hash under its ports; -EEXIST if the key is taken. */
int conn_hash_add(struct conn_table *t, struct conn *c);
struct conn *conn_lookup(const struct conn_table *t, uint32_t host_port, uint32_t guest_port);
/*
 * Unhash, unlink, close the fd, free. With t->defer_free the memory stays
 * until conn_reap(), with ep_kind set to 0 so a stale epoll event is ignored.
 */
void conn_free(struct conn_table *t, struct conn *c);
/* Free the connections conn_free() retired. */
void conn_reap(struct conn_table *t);
/* A free host port in [2^30, 2^31) for a host-initiated connection to @guest_port. */
uint32_t conn_alloc_host_port(struct conn_table *t, uint32_t guest_port);

/* rx work list: connections that may have something for the guest. */
void conn_activate(struct conn_table *t, struct conn *c);
struct conn *conn_next_active(struct conn_table *t);

/* Bytes we may still send to the guest on @c (its advertised window). */
uint32_t conn_peer_credit(const struct conn *c);
/* Record the guest's buf_alloc/fwd_cnt carried by any packet on @c. */
void conn_update_peer(struct conn *c, uint32_t buf_alloc, uint32_t fwd_cnt);
/*
 * Account @len payload bytes arriving from the guest. -ENOBUFS when they do not
 * fit in what we advertised (the guest broke credit).
 */
int conn_guest_data(struct conn *c, uint32_t len);
/* Account @n bytes written to the Unix socket; may owe the guest a CREDIT_UPDATE. */
void conn_forwarded(struct conn *c, size_t n);
/* Append @n bytes to the FIFO; -ENOMEM, -ENOBUFS if it would exceed CONN_BUF_ALLOC. */
int conn_fifo_push(struct conn *c, const void *p, size_t n);

#endif
