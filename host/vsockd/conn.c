// SPDX-License-Identifier: Apache-2.0
/* Connection table and credit accounting; see conn.h. */
#include "conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOST_PORT_FIRST (1u << 30)
#define HOST_PORT_SPAN  (1u << 30)

void conn_table_init(struct conn_table *t)
{
	memset(t, 0, sizeof(*t));
}

static unsigned bucket_of(uint32_t host_port, uint32_t guest_port)
{
	uint32_t h = host_port * 0x9e3779b1u ^ guest_port * 0x85ebca6bu;

	return (h ^ (h >> 16)) % CONN_HASH_BUCKETS;
}

int conn_new(struct conn_table *t, int fd, struct conn **out)
{
	struct conn *c;

	if (t->count >= CONN_MAX)
		return -ENOBUFS;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->next = t->head;
	if (t->head)
		t->head->prev = c;
	t->head = c;
	t->count++;
	*out = c;
	return 0;
}

int conn_hash_add(struct conn_table *t, struct conn *c)
{
	unsigned b = bucket_of(c->host_port, c->guest_port);

	if (conn_lookup(t, c->host_port, c->guest_port))
		return -EEXIST;
	c->hnext = t->bucket[b];
	t->bucket[b] = c;
	c->in_table = true;
	return 0;
}

struct conn *conn_lookup(const struct conn_table *t, uint32_t host_port, uint32_t guest_port)
{
	for (struct conn *c = t->bucket[bucket_of(host_port, guest_port)]; c; c = c->hnext)
		if (c->host_port == host_port && c->guest_port == guest_port)
			return c;
	return NULL;
}

static void act_remove(struct conn_table *t, struct conn *c)
{
	struct conn **pp = &t->act_head, *prev = NULL;

	if (!c->active)
		return;
	while (*pp && *pp != c) {
		prev = *pp;
		pp = &(*pp)->act_next;
	}
	if (*pp)
		*pp = c->act_next;
	if (t->act_tail == c)
		t->act_tail = prev;
	c->active = false;
	c->act_next = NULL;
}

void conn_free(struct conn_table *t, struct conn *c)
{
	if (c->in_table) {
		struct conn **pp = &t->bucket[bucket_of(c->host_port, c->guest_port)];

		while (*pp && *pp != c)
			pp = &(*pp)->hnext;
		if (*pp)
			*pp = c->hnext;
	}
	act_remove(t, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		t->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	t->count--;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->fifo);
	c->fifo = NULL;
	if (t->defer_free) {
		c->ep_kind = 0;
		c->prev = NULL;
		c->next = t->dead;
		t->dead = c;
		return;
	}
	free(c);
}

void conn_reap(struct conn_table *t)
{
	while (t->dead) {
		struct conn *c = t->dead;

		t->dead = c->next;
		free(c);
	}
}

uint32_t conn_alloc_host_port(struct conn_table *t, uint32_t guest_port)
{
	/* At most CONN_MAX ports are in use, so this finds one within CONN_MAX + 1 steps. */
	for (;;) {
		uint32_t p = HOST_PORT_FIRST + (t->next_host_port++ % HOST_PORT_SPAN);

		if (!conn_lookup(t, p, guest_port))
			return p;
	}
}

void conn_activate(struct conn_table *t, struct conn *c)
{
	if (c->active)
		return;
	c->active = true;
	c->act_next = NULL;
	if (t->act_tail)
		t->act_tail->act_next = c;
	else
		t->act_head = c;
	t->act_tail = c;
}

struct conn *conn_next_active(struct conn_table *t)
{
	struct conn *c = t->act_head;

	if (!c)
		return NULL;
	t->act_head = c->act_next;
	if (!t->act_head)
		t->act_tail = NULL;
	c->act_next = NULL;
	c->active = false;
	return c;
}

uint32_t conn_peer_credit(const struct conn *c)
{
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt;

	/* A guest that shrank its buffer below what is in flight gets nothing more. */
	if (in_flight >= c->peer_buf_alloc)
		return 0;
	return c->peer_buf_alloc - in_flight;
}

void conn_update_peer(struct conn *c, uint32_t buf_alloc, uint32_t fwd_cnt)
{
	c->peer_buf_alloc = buf_alloc;
	c->peer_fwd_cnt = fwd_cnt;
}

int conn_guest_data(struct conn *c, uint32_t len)
{
	/* What the guest may have in flight is bounded by what we advertised. */
	uint32_t in_flight = c->recv_cnt - c->fwd_cnt;

	if (in_flight > CONN_BUF_ALLOC || len > CONN_BUF_ALLOC - in_flight)
		return -ENOBUFS;
	c->recv_cnt += len;
	return 0;
}

void conn_forwarded(struct conn *c, size_t n)
{
	c->fwd_cnt += (uint32_t)n;
	/*
	 * The Linux guest never asks for credit: tell it once a quarter of the
	 * window has been freed since we last said, so it never stalls.
	 */
	if (c->fwd_cnt - c->fwd_cnt_sent >= CONN_BUF_ALLOC / 4)
		c->owed |= CONN_TX_CREDIT;
}

int conn_fifo_push(struct conn *c, const void *p, size_t n)
{
	if (n > CONN_BUF_ALLOC - c->fifo_len)
		return -ENOBUFS;
	if (!c->fifo) {
		c->fifo = malloc(CONN_BUF_ALLOC);
		if (!c->fifo)
			return -ENOMEM;
	}
	const uint8_t *in = p;
	size_t tail = (c->fifo_head + c->fifo_len) % CONN_BUF_ALLOC;
	size_t first = n < CONN_BUF_ALLOC - tail ? n : CONN_BUF_ALLOC - tail;

	memcpy(c->fifo + tail, in, first);
	memcpy(c->fifo, in + first, n - first);
	c->fifo_len += n;
	return 0;
}
