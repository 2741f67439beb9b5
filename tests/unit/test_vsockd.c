// SPDX-License-Identifier: Apache-2.0
/*
 * hvipe-vsockd unit tests: packet codec and checks, CONNECT parsing, the
 * connection table and credit arithmetic, the ring walker over a synthetic
 * guest memory region (malformed chains included), and the device model
 * end to end against real Unix sockets.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../host/vsockd/dev.h"
#include "../../host/vsockd/vhost_user.h"
#include "util/cleanup.h"
#include "util/log.h"

/* ---- synthetic guest ------------------------------------------------------ */

#define GPA_BASE  0x100000ull
#define QVA_BASE  0x7f0000000000ull
#define MEM_SIZE  (1u << 20)
#define RING_N    16u
#define DESC_OFF  0x0000u
#define AVAIL_OFF 0x1000u
#define USED_OFF  0x2000u
#define DATA_OFF  0x10000u
#define RING_SPAN 0x4000u /* per ring: desc, avail, used */

struct guest {
	uint8_t *mem;
	struct vu_mem vm;
	uint16_t avail_idx[2];
	uint16_t used_seen[2];
	uint32_t data_next;
};

static uint8_t *gptr(struct guest *g, uint64_t gpa)
{
	return g->mem + (gpa - GPA_BASE);
}

static void guest_init(struct guest *g)
{
	memset(g, 0, sizeof(*g));
	g->mem = calloc(1, MEM_SIZE);
	assert_non_null(g->mem);
	g->vm.nregions = 1;
	g->vm.r[0] = (struct vu_region){
	        .gpa = GPA_BASE, .size = MEM_SIZE, .qva = QVA_BASE, .host = g->mem};
	g->data_next = DATA_OFF;
}

static void ring_setup(struct guest *g, struct vq *vq, unsigned idx)
{
	uint64_t off = (uint64_t)idx * RING_SPAN;

	vq_init(vq);
	vq->num = RING_N;
	vq->desc_qva = QVA_BASE + off + DESC_OFF;
	vq->avail_qva = QVA_BASE + off + AVAIL_OFF;
	vq->used_qva = QVA_BASE + off + USED_OFF;
	vq->addr_set = true;
	vq->started = vq->enabled = true;
	assert_int_equal(vq_map(vq, &g->vm), 0);
}

static struct vring_desc_le *gdesc(struct guest *g, unsigned ring, unsigned i)
{
	return (struct vring_desc_le *)(g->mem + ring * RING_SPAN + DESC_OFF) + i;
}

static void set_desc(struct guest *g, unsigned ring, unsigned i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
	*gdesc(g, ring, i) = (struct vring_desc_le){addr, len, flags, next};
}

static void publish(struct guest *g, unsigned ring, uint16_t head)
{
	uint8_t *avail = g->mem + ring * RING_SPAN + AVAIL_OFF;
	uint16_t slot = g->avail_idx[ring] % RING_N;

	memcpy(avail + 4 + 2 * slot, &head, 2);
	g->avail_idx[ring]++;
	memcpy(avail + 2, &g->avail_idx[ring], 2);
}

static uint64_t galloc(struct guest *g, uint32_t len)
{
	uint64_t gpa = GPA_BASE + g->data_next;

	g->data_next += (len + 15) & ~15u;
	return gpa;
}

/* Used element @n of ring @ring. */
static void used_elem(struct guest *g, unsigned ring, unsigned n, uint32_t *id, uint32_t *len)
{
	uint8_t *e = g->mem + ring * RING_SPAN + USED_OFF + 4 + 8 * (n % RING_N);

	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
}

static uint16_t used_idx(struct guest *g, unsigned ring)
{
	uint16_t v;

	memcpy(&v, g->mem + ring * RING_SPAN + USED_OFF + 2, 2);
	return v;
}

/* ---- packets --------------------------------------------------------------- */

static struct vsock_hdr hdr(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t len)
{
	return (struct vsock_hdr){.src_cid = 3,
	                          .dst_cid = 2,
	                          .src_port = src_port,
	                          .dst_port = dst_port,
	                          .len = len,
	                          .type = 1,
	                          .op = op,
	                          .buf_alloc = 262144};
}

static void test_hdr_roundtrip(void **state)
{
	struct vsock_hdr h, back;
	uint8_t raw[VSOCK_HDR_LEN];

	memset(&h, 0, sizeof(h)); /* padding too: the whole struct is compared */
	memset(&back, 0, sizeof(back));
	h.src_cid = 3;
	h.dst_cid = 2;
	h.src_port = 0xdeadbeef;
	h.dst_port = 0xfffffffe;
	h.len = 7;
	h.type = 1;
	h.op = VSOCK_OP_RW;
	h.buf_alloc = 262144;
	h.flags = 3;
	h.fwd_cnt = 0x80000001u;
	vsock_hdr_encode(raw, &h);
	assert_int_equal(raw[24], 7); /* len at offset 24, little-endian */
	assert_int_equal(raw[30], VSOCK_OP_RW);
	vsock_hdr_decode(&back, raw);
	assert_memory_equal(&h, &back, sizeof(h));
}

static void test_hdr_check_table(void **state)
{
	static const struct {
		uint64_t src_cid, dst_cid;
		uint32_t len;
		uint16_t type, op;
		size_t avail;
		int err;
		const char *why;
	} t[] = {
	        {3, 2, 0, 1, 1, 0, 0, "plain request"},
	        {3, 2, 10, 1, 5, 10, 0, "rw with its payload"},
	        {3, 2, 11, 1, 5, 10, -EBADMSG, "len beyond readable bytes"},
	        {3, 2, 65537, 1, 5, 70000, -EBADMSG, "payload over 64 KiB"},
	        {3, 2, 4, 1, 1, 4, -EBADMSG, "payload on a request"},
	        {4, 2, 0, 1, 1, 0, -EADDRNOTAVAIL, "spoofed source cid"},
	        {3, 3, 0, 1, 1, 0, -EADDRNOTAVAIL, "destination not the host"},
	        {3, 2, 0, 2, 1, 0, -EPROTONOSUPPORT, "seqpacket not offered"},
	        {3, 2, 0, 1, 0, 0, -EOPNOTSUPP, "op invalid"},
	        {3, 2, 0, 1, 8, 0, -EOPNOTSUPP, "op unknown"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct vsock_hdr h = {.src_cid = t[i].src_cid,
		                      .dst_cid = t[i].dst_cid,
		                      .len = t[i].len,
		                      .type = t[i].type,
		                      .op = t[i].op};
		int r = vsock_hdr_check(&h, 3, t[i].avail);

		if (r != (int)t[i].err)
			fail_msg("%s: got %d want %d", t[i].why, r, t[i].err);
	}
}

static void test_connect_line_table(void **state)
{
	static const struct {
		const char *line;
		int err;
		uint32_t port;
	} t[] = {
	        {"CONNECT 52", 0, 52},
	        {"connect 4294967295", 0, 4294967295u},
	        {"Connect 7\r", 0, 7},
	        {"CONNECT 4294967296", -EINVAL, 0},
	        {"CONNECT ", -EINVAL, 0},
	        {"CONNECT -1", -EINVAL, 0},
	        {"CONNECT 1 2", -EINVAL, 0},
	        {"CONNECTX 1", -EINVAL, 0},
	        {"CONNECT 99999999999", -EINVAL, 0},
	        {"", -EINVAL, 0},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		uint32_t port = 0;
		int r = vsock_parse_connect(t[i].line, strlen(t[i].line), &port);

		if (r != (int)t[i].err || (r == 0 && port != t[i].port))
			fail_msg("'%s': r=%d port=%u", t[i].line, r, port);
	}
}

/* ---- connection table and credit ------------------------------------------- */

static void test_conn_table(void **state)
{
	struct conn_table t;
	struct conn *a, *b, *c;

	conn_table_init(&t);
	assert_int_equal(conn_new(&t, -1, &a), 0);
	a->host_port = 80;
	a->guest_port = 0xffffffffu;
	assert_int_equal(conn_hash_add(&t, a), 0);
	assert_ptr_equal(conn_lookup(&t, 80, 0xffffffffu), a);
	assert_null(conn_lookup(&t, 0xffffffffu, 80));
	assert_int_equal(conn_new(&t, -1, &b), 0);
	b->host_port = 80;
	b->guest_port = 0xffffffffu;
	assert_int_equal(conn_hash_add(&t, b), -EEXIST);
	conn_free(&t, b);

	uint32_t p1 = conn_alloc_host_port(&t, 5), p2;
	assert_true(p1 >= (1u << 30) && p1 < (1u << 31));
	assert_int_equal(conn_new(&t, -1, &c), 0);
	c->host_port = p1;
	c->guest_port = 5;
	assert_int_equal(conn_hash_add(&t, c), 0);
	t.next_host_port--; /* force a collision: the allocator must step over it */
	p2 = conn_alloc_host_port(&t, 5);
	assert_int_not_equal(p1, p2);

	conn_activate(&t, a);
	conn_activate(&t, c);
	conn_activate(&t, a); /* already queued: no duplicate */
	assert_ptr_equal(conn_next_active(&t), a);
	assert_ptr_equal(conn_next_active(&t), c);
	assert_null(conn_next_active(&t));
	conn_activate(&t, c);
	conn_free(&t, c); /* freeing unlinks it from the work list */
	assert_null(conn_next_active(&t));
	assert_null(conn_lookup(&t, p1, 5));
	conn_free(&t, a);
	assert_int_equal(t.count, 0);
}

static void test_conn_limit(void **state)
{
	struct conn_table t;
	struct conn *c;

	conn_table_init(&t);
	for (unsigned i = 0; i < CONN_MAX; i++)
		assert_int_equal(conn_new(&t, -1, &c), 0);
	assert_int_equal(conn_new(&t, -1, &c), -ENOBUFS);
	while (t.head)
		conn_free(&t, t.head);
}

static void test_credit(void **state)
{
	struct conn c = {0};

	conn_update_peer(&c, 1000, 0);
	assert_int_equal(conn_peer_credit(&c), 1000);
	c.rx_cnt = 600;
	assert_int_equal(conn_peer_credit(&c), 400);
	conn_update_peer(&c, 1000, 500);
	assert_int_equal(conn_peer_credit(&c), 900);
	/* counters wrap at 2^32 */
	c.rx_cnt = 100;
	conn_update_peer(&c, 1000, 0xffffff00u);
	assert_int_equal(conn_peer_credit(&c), 1000 - 356);
	/* guest shrank its buffer below what is in flight */
	conn_update_peer(&c, 100, 0xffffff00u);
	assert_int_equal(conn_peer_credit(&c), 0);

	/* guest -> host: never more than we advertised in flight */
	memset(&c, 0, sizeof(c));
	assert_int_equal(conn_guest_data(&c, CONN_BUF_ALLOC), 0);
	assert_int_equal(conn_guest_data(&c, 1), -ENOBUFS);
	conn_forwarded(&c, 100);
	assert_int_equal(conn_guest_data(&c, 100), 0);
	assert_int_equal(conn_guest_data(&c, 1), -ENOBUFS);
	/* a quarter of the window freed since we last said so: owe an update */
	c.owed = 0;
	conn_forwarded(&c, CONN_BUF_ALLOC / 4 - 101);
	assert_int_equal(c.owed & CONN_TX_CREDIT, 0);
	conn_forwarded(&c, 1);
	assert_int_not_equal(c.owed & CONN_TX_CREDIT, 0);
}

static void test_fifo(void **state)
{
	struct conn c = {0};
	uint8_t *big = malloc(CONN_BUF_ALLOC);

	assert_int_equal(conn_fifo_push(&c, "abc", 3), 0);
	assert_int_equal(c.fifo_len, 3);
	assert_int_equal(conn_fifo_push(&c, big, CONN_BUF_ALLOC - 3), 0);
	assert_int_equal(conn_fifo_push(&c, "x", 1), -ENOBUFS);
	/* wrap-around write */
	c.fifo_head = CONN_BUF_ALLOC - 2;
	c.fifo_len = 0;
	assert_int_equal(conn_fifo_push(&c, "wxyz", 4), 0);
	assert_memory_equal(c.fifo + CONN_BUF_ALLOC - 2, "wx", 2);
	assert_memory_equal(c.fifo, "yz", 2);
	free(c.fifo);
	free(big);
}

/* ---- ring walker ------------------------------------------------------------ */

static int walker_setup(void **state)
{
	struct guest *g = malloc(sizeof(*g));

	guest_init(g);
	*state = g;
	return 0;
}

static int walker_teardown(void **state)
{
	struct guest *g = *state;

	free(g->mem);
	free(g);
	return 0;
}

static void test_walker_good_chain(void **state)
{
	struct guest *g = *state;
	struct vq vq;
	struct vq_chain ch;

	ring_setup(g, &vq, 0);
	assert_int_equal(vq_pop(&vq, &g->vm, &ch), 0); /* empty */
	uint64_t a = galloc(g, 44), b = galloc(g, 100), w = galloc(g, 64);
	memcpy(gptr(g, a), "HEADER", 6);
	set_desc(g, 0, 3, a, 44, VRING_DESC_F_NEXT, 7);
	set_desc(g, 0, 7, b, 100, VRING_DESC_F_NEXT, 1);
	set_desc(g, 0, 1, w, 64, VRING_DESC_F_WRITE, 0);
	publish(g, 0, 3);
	assert_int_equal(vq_pop(&vq, &g->vm, &ch), 1);
	assert_int_equal(ch.head, 3);
	assert_int_equal(ch.nr, 2);
	assert_int_equal(ch.nw, 1);
	assert_int_equal(ch.rlen, 144);
	assert_int_equal(ch.wlen, 64);
	assert_ptr_equal(ch.rd[0].p, gptr(g, a));
	char buf[8] = {0};
	assert_int_equal(vq_chain_read(&ch, 0, buf, 6), 6);
	assert_string_equal(buf, "HEADER");
	assert_int_equal(vq_chain_write(&ch, 60, "12345678", 8), 4); /* clipped at the end */
	vq_push(&vq, ch.head, 64);
	uint32_t id, len;
	used_elem(g, 0, 0, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(len, 64);
	assert_int_equal(used_idx(g, 0), 1);
}

/* Each malformed chain is consumed (head returned) and reported as -EBADMSG. */
static void test_walker_malformed_table(void **state)
{
	struct guest *g = *state;
	struct vq vq;
	struct vq_chain ch;
	uint64_t ok = galloc(g, 64);

	ring_setup(g, &vq, 0);
	static const char *const why[] = {
	        "address below the region", "length past the region end",
	        "address overflow",         "next index out of range",
	        "two-element loop",         "readable after writable",
	        "indirect not negotiated",  "chain longer than VQ_MAX_SEGS",
	};
	for (unsigned k = 0; k < ARRAY_SIZE(why); k++) {
		memset(g->mem, 0, RING_SPAN);
		switch (k) {
		case 0:
			set_desc(g, 0, 0, GPA_BASE - 16, 16, 0, 0);
			break;
		case 1:
			set_desc(g, 0, 0, GPA_BASE + MEM_SIZE - 8, 16, 0, 0);
			break;
		case 2:
			set_desc(g, 0, 0, UINT64_MAX - 4, 16, 0, 0);
			break;
		case 3:
			set_desc(g, 0, 0, ok, 16, VRING_DESC_F_NEXT, RING_N);
			break;
		case 4:
			set_desc(g, 0, 0, ok, 16, VRING_DESC_F_NEXT, 1);
			set_desc(g, 0, 1, ok, 16, VRING_DESC_F_NEXT, 0);
			break;
		case 5:
			set_desc(g, 0, 0, ok, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
			set_desc(g, 0, 1, ok, 16, 0, 0);
			break;
		case 6:
			set_desc(g, 0, 0, ok, 32, VRING_DESC_F_INDIRECT, 0);
			break;
		case 7: /* a ring big enough that only the segment cap stops the chain */
			break;
		}
		if (k == 7) {
			struct vq big;
			uint8_t *d = g->mem + 2 * RING_SPAN;
			uint8_t *av = g->mem + 2 * RING_SPAN + 0x800;
			uint16_t one = 1, zero = 0;

			vq_init(&big);
			big.num = 128;
			big.desc_qva = QVA_BASE + 2 * RING_SPAN;
			big.avail_qva = big.desc_qva + 0x800;
			big.used_qva = big.desc_qva + 0xa00;
			big.addr_set = big.started = big.enabled = true;
			assert_int_equal(vq_map(&big, &g->vm), 0);
			/* 100 in-range, loop-free elements: only the segment cap rejects it */
			for (unsigned i = 0; i < 100; i++)
				((struct vring_desc_le *)d)[i] = (struct vring_desc_le){
				        ok, 1, i < 99 ? VRING_DESC_F_NEXT : 0, i + 1};
			memcpy(av + 4, &zero, 2);
			memcpy(av + 2, &one, 2);
			if (vq_pop(&big, &g->vm, &ch) != -EBADMSG)
				fail_msg("%s: not rejected", why[k]);
			continue;
		}
		publish(g, 0, 0);
		int r = vq_pop(&vq, &g->vm, &ch);
		if (r != -EBADMSG || ch.head != 0)
			fail_msg("%s: r=%d", why[k], r);
		assert_false(vq.broken);
		vq_push(&vq, ch.head, 0);
	}
}

static void test_walker_broken_indices(void **state)
{
	struct guest *g = *state;
	struct vq vq;
	struct vq_chain ch;

	ring_setup(g, &vq, 0);
	publish(g, 0, RING_N + 3); /* head out of range */
	assert_int_equal(vq_pop(&vq, &g->vm, &ch), -EPROTO);
	assert_true(vq.broken);
	assert_false(vq_ready(&vq));

	ring_setup(g, &vq, 0);
	uint16_t idx = RING_N + 1; /* more entries than the ring holds */
	memcpy(g->mem + AVAIL_OFF + 2, &idx, 2);
	assert_int_equal(vq_pop(&vq, &g->vm, &ch), -EPROTO);
	assert_true(vq.broken);
}

static void test_vq_map_bounds(void **state)
{
	struct guest *g = *state;
	struct vq vq;

	vq_init(&vq);
	vq.num = RING_N;
	vq.addr_set = true;
	vq.desc_qva = QVA_BASE + MEM_SIZE - 8; /* table runs off the region */
	vq.avail_qva = QVA_BASE + AVAIL_OFF;
	vq.used_qva = QVA_BASE + USED_OFF;
	assert_int_equal(vq_map(&vq, &g->vm), -EINVAL);
	assert_null(vq.desc);
	vq.desc_qva = QVA_BASE;
	vq.num = 12; /* not a power of two */
	assert_int_equal(vq_map(&vq, &g->vm), -EINVAL);
	vq.num = RING_N;
	vq.used_qva = QVA_BASE + USED_OFF + 2; /* misaligned used ring */
	assert_int_equal(vq_map(&vq, &g->vm), -EINVAL);
	assert_null(vu_mem_gpa(&g->vm, GPA_BASE - 1, 1));
	assert_non_null(vu_mem_gpa(&g->vm, GPA_BASE + MEM_SIZE - 1, 1));
	assert_null(vu_mem_gpa(&g->vm, GPA_BASE + MEM_SIZE - 1, 2));
}

/* ---- device model ------------------------------------------------------------ */

struct devt {
	struct guest g;
	struct vsock_dev d;
	char dir[64];
	char base[96];
	int lfd; /* host listener on BASE_1234 */
};

static int dev_setup(void **state)
{
	struct devt *t = calloc(1, sizeof(*t));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	guest_init(&t->g);
	strcpy(t->dir, "/tmp/hvipe-vsockd-unit.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->base, sizeof(t->base), "%s/v", t->dir);
	assert_int_equal(dev_init(&t->d, 3, t->base, -1), 0);
	t->d.mem = t->g.vm;
	ring_setup(&t->g, &t->d.vq[VQ_RX], 0);
	ring_setup(&t->g, &t->d.vq[VQ_TX], 1);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_1234", t->base);
	t->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(t->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(t->lfd, 8), 0);
	*state = t;
	return 0;
}

static int dev_teardown(void **state)
{
	struct devt *t = *state;
	char path[128];

	dev_reset_conns(&t->d, "test");
	close(t->lfd);
	snprintf(path, sizeof(path), "%s_1234", t->base);
	unlink(path);
	rmdir(t->dir);
	free(t->g.mem);
	free(t);
	return 0;
}

/* Post one rx buffer of @len writable bytes. */
static void post_rx(struct devt *t, unsigned slot, uint32_t len)
{
	set_desc(&t->g, 0, slot, galloc(&t->g, len), len, VRING_DESC_F_WRITE, 0);
	publish(&t->g, 0, slot);
}

/* Send a packet on tx with @payload. */
static void send_tx(struct devt *t, unsigned slot, const struct vsock_hdr *h, const void *payload,
                    uint32_t plen)
{
	uint64_t a = galloc(&t->g, VSOCK_HDR_LEN);

	vsock_hdr_encode(gptr(&t->g, a), h);
	if (plen) {
		uint64_t b = galloc(&t->g, plen);

		memcpy(gptr(&t->g, b), payload, plen);
		set_desc(&t->g, 1, slot, a, VSOCK_HDR_LEN, VRING_DESC_F_NEXT, slot + 1);
		set_desc(&t->g, 1, slot + 1, b, plen, 0, 0);
	} else {
		set_desc(&t->g, 1, slot, a, VSOCK_HDR_LEN, 0, 0);
	}
	publish(&t->g, 1, slot);
	dev_process_tx(&t->d);
}

/* The @n-th packet the device placed on rx (header decoded, payload pointer). */
static const uint8_t *rx_pkt(struct devt *t, unsigned n, struct vsock_hdr *h, uint32_t *used_len)
{
	uint32_t id;
	struct vring_desc_le *d;

	assert_true(used_idx(&t->g, 0) > n);
	used_elem(&t->g, 0, n, &id, used_len);
	d = gdesc(&t->g, 0, id);
	vsock_hdr_decode(h, gptr(&t->g, d->addr));
	return gptr(&t->g, d->addr) + VSOCK_HDR_LEN;
}

static void test_dev_request_no_listener_rst(void **state)
{
	struct devt *t = *state;
	struct vsock_hdr h = hdr(VSOCK_OP_REQUEST, 777, 4321, 0), r;
	uint32_t ulen;

	post_rx(t, 0, 4096);
	send_tx(t, 0, &h, NULL, 0);
	assert_int_equal(used_idx(&t->g, 1), 1); /* tx chain completed */
	rx_pkt(t, 0, &r, &ulen);
	assert_int_equal(r.op, VSOCK_OP_RST);
	assert_int_equal(r.src_port, 4321);
	assert_int_equal(r.dst_port, 777);
	assert_int_equal(r.dst_cid, 3);
	assert_int_equal(ulen, VSOCK_HDR_LEN);
}

static void test_dev_unknown_connection(void **state)
{
	struct devt *t = *state;
	struct vsock_hdr h = hdr(VSOCK_OP_RW, 5, 6, 3), r;
	uint32_t ulen;

	post_rx(t, 0, 4096);
	post_rx(t, 1, 4096);
	send_tx(t, 0, &h, "abc", 3);
	rx_pkt(t, 0, &r, &ulen);
	assert_int_equal(r.op, VSOCK_OP_RST);
	/* An RST for an unknown connection is never answered. */
	h = hdr(VSOCK_OP_RST, 5, 6, 0);
	send_tx(t, 2, &h, NULL, 0);
	assert_int_equal(used_idx(&t->g, 0), 1);
}

static void test_dev_bridge_and_credit(void **state)
{
	struct devt *t = *state;
	struct vsock_hdr h = hdr(VSOCK_OP_REQUEST, 0x80000001u, 1234, 0), r;
	uint32_t ulen;
	char buf[64];
	int hfd;

	h.buf_alloc = 10; /* guest can take only 10 bytes */
	for (unsigned i = 0; i < 4; i++)
		post_rx(t, i, 4096);
	send_tx(t, 0, &h, NULL, 0);
	rx_pkt(t, 0, &r, &ulen);
	assert_int_equal(r.op, VSOCK_OP_RESPONSE);
	assert_int_equal(r.buf_alloc, CONN_BUF_ALLOC); /* backend announces its credit */
	hfd = accept(t->lfd, NULL, NULL);
	assert_true(hfd >= 0);

	/* guest -> host payload arrives on the Unix socket */
	h = hdr(VSOCK_OP_RW, 0x80000001u, 1234, 5);
	h.buf_alloc = 10;
	send_tx(t, 2, &h, "hello", 5);
	assert_int_equal(read(hfd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);

	/* host -> guest limited by the guest's credit: 10 of 20 bytes */
	assert_int_equal(write(hfd, "0123456789abcdefghij", 20), 20);
	struct conn *c = conn_lookup(&t->d.conns, 1234, 0x80000001u);
	assert_non_null(c);
	dev_conn_event(&t->d, c, 1 /* EPOLLIN */);
	dev_pump_rx(&t->d);
	const uint8_t *p = rx_pkt(t, 1, &r, &ulen);
	assert_int_equal(r.op, VSOCK_OP_RW);
	assert_int_equal(r.len, 10);
	assert_int_equal(ulen, VSOCK_HDR_LEN + 10);
	assert_memory_equal(p, "0123456789", 10);
	assert_int_equal(used_idx(&t->g, 0), 2); /* nothing more without credit */

	/* the guest consumed 10 bytes: the rest follows */
	h = hdr(VSOCK_OP_CREDIT_UPDATE, 0x80000001u, 1234, 0);
	h.buf_alloc = 10;
	h.fwd_cnt = 10;
	send_tx(t, 4, &h, NULL, 0);
	p = rx_pkt(t, 2, &r, &ulen);
	assert_int_equal(r.len, 10);
	assert_memory_equal(p, "abcdefghij", 10);

	/* guest half-close: the host reader sees EOF, the connection stays */
	h = hdr(VSOCK_OP_SHUTDOWN, 0x80000001u, 1234, 0);
	h.flags = VSOCK_SHUTDOWN_SEND;
	h.buf_alloc = 10;
	h.fwd_cnt = 20;
	send_tx(t, 5, &h, NULL, 0);
	assert_int_equal(read(hfd, buf, sizeof(buf)), 0);
	assert_non_null(conn_lookup(&t->d.conns, 1234, 0x80000001u));

	/* more data than advertised credit: RST, connection gone */
	uint8_t *big = calloc(1, 65536);
	h = hdr(VSOCK_OP_RW, 0x80000001u, 1234, 65536);
	c->guest_shut_send = false;
	c->recv_cnt = c->fwd_cnt + CONN_BUF_ALLOC - 100;
	send_tx(t, 6, &h, big, 65536);
	free(big);
	rx_pkt(t, 3, &r, &ulen);
	assert_int_equal(r.op, VSOCK_OP_RST);
	assert_null(conn_lookup(&t->d.conns, 1234, 0x80000001u));
	close(hfd);
}

static void test_dev_host_connect(void **state)
{
	struct devt *t = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vsock_hdr r, h;
	uint32_t ulen;
	char line[32] = {0};
	int lfd, cfd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->base);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	cfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(cfd, "CONNECT 4000000000\npayload", 26), 26);
	dev_accept(&t->d, lfd);
	assert_non_null(t->d.conns.head);
	dev_conn_event(&t->d, t->d.conns.head, 1);
	post_rx(t, 0, 4096);
	post_rx(t, 1, 4096);
	dev_pump_rx(&t->d);
	rx_pkt(t, 0, &r, &ulen);
	assert_int_equal(r.op, VSOCK_OP_REQUEST);
	assert_int_equal(r.dst_port, 4000000000u);
	assert_true(r.src_port >= (1u << 30));

	h = hdr(VSOCK_OP_RESPONSE, 4000000000u, r.src_port, 0);
	send_tx(t, 0, &h, NULL, 0);
	assert_true(read(cfd, line, sizeof(line) - 1) > 0);
	char want[32];
	snprintf(want, sizeof(want), "OK %u\n", r.src_port);
	assert_string_equal(line, want);
	/* bytes sent right after the CONNECT line were not swallowed */
	const uint8_t *p = rx_pkt(t, 1, &r, &ulen);
	assert_int_equal(r.op, VSOCK_OP_RW);
	assert_int_equal(r.len, 7);
	assert_memory_equal(p, "payload", 7);
	close(cfd);
	close(lfd);
	unlink(t->base);
}

/* A RESPONSE for a host-initiated connection whose REQUEST was not sent yet is refused. */
static void test_dev_response_before_request(void **state)
{
	struct devt *t = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vsock_hdr h;
	char line[32] = {0};
	int lfd, cfd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->base);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	cfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(cfd, "CONNECT 5000\n", 13), 13);
	dev_accept(&t->d, lfd);
	assert_non_null(t->d.conns.head);
	dev_conn_event(&t->d, t->d.conns.head, 1); /* no rx buffers: REQUEST stays owed */
	struct conn *c = t->d.conns.head;
	assert_int_equal(c->state, CONN_LOCAL_INIT);
	assert_true(c->owed & CONN_TX_REQUEST);

	/* the guest guesses the host port and answers first */
	h = hdr(VSOCK_OP_RESPONSE, 5000, c->host_port, 0);
	send_tx(t, 0, &h, NULL, 0);
	assert_null(t->d.conns.head);
	assert_true(read(cfd, line, sizeof(line) - 1) <= 0); /* never told "OK" */
	close(cfd);
	close(lfd);
	unlink(t->base);
}

static void test_dev_malformed_tx_chain(void **state)
{
	struct devt *t = *state;
	struct vsock_hdr r;
	uint32_t ulen, id;

	/* header descriptor pointing outside guest memory */
	set_desc(&t->g, 1, 0, 0x10, VSOCK_HDR_LEN, 0, 0);
	publish(&t->g, 1, 0);
	/* header shorter than 44 bytes */
	set_desc(&t->g, 1, 1, galloc(&t->g, 20), 20, 0, 0);
	publish(&t->g, 1, 1);
	dev_process_tx(&t->d);
	assert_int_equal(used_idx(&t->g, 1), 2); /* both chains returned */
	assert_int_equal(t->d.stats.bad_chains, 1);
	assert_int_equal(t->d.stats.bad_packets, 1);
	assert_int_equal(t->d.ctl_len, 0); /* no sensible RST target */

	/* rx buffers the device cannot use come back empty; the RST goes to the next good one */
	set_desc(&t->g, 0, 5, galloc(&t->g, 8), 8, VRING_DESC_F_WRITE, 0); /* too small */
	publish(&t->g, 0, 5);
	set_desc(&t->g, 0, 6, galloc(&t->g, 64), 64, 0, 0); /* not device-writable */
	publish(&t->g, 0, 6);
	post_rx(t, 7, 4096);
	struct vsock_hdr h = hdr(VSOCK_OP_RW, 1, 2, 0);
	send_tx(t, 2, &h, NULL, 0); /* unknown connection: RST owed */
	assert_int_equal(used_idx(&t->g, 0), 3);
	used_elem(&t->g, 0, 0, &id, &ulen);
	assert_int_equal(id, 5);
	assert_int_equal(ulen, 0);
	used_elem(&t->g, 0, 1, &id, &ulen);
	assert_int_equal(id, 6);
	assert_int_equal(ulen, 0);
	rx_pkt(t, 2, &r, &ulen);
	assert_int_equal(r.op, VSOCK_OP_RST);
	assert_int_equal(t->d.stats.bad_chains, 3);
}

/*
 * One epoll batch can hold a tx kick and an event for a connection that the
 * kick's RST closes: the later event must find the connection retired, not
 * freed (use after free), until dev_reap() between batches.
 */
static void test_dev_stale_event_after_close(void **state)
{
	struct devt *t = *state;
	struct vsock_hdr h = hdr(VSOCK_OP_REQUEST, 0x80000002u, 1234, 0);
	struct epoll_event ev[8];
	int ep = epoll_create1(0), hfd, n;

	assert_true(ep >= 0);
	assert_int_equal(dev_init(&t->d, 3, t->base, ep), 0);
	t->d.mem = t->g.vm;
	ring_setup(&t->g, &t->d.vq[VQ_RX], 0);
	ring_setup(&t->g, &t->d.vq[VQ_TX], 1);
	post_rx(t, 0, 4096);
	post_rx(t, 1, 4096);
	send_tx(t, 0, &h, NULL, 0);
	hfd = accept(t->lfd, NULL, NULL);
	assert_true(hfd >= 0);
	assert_int_equal(write(hfd, "x", 1), 1);
	n = epoll_wait(ep, ev, 8, 1000);
	assert_int_equal(n, 1);

	/* the same batch: the guest resets the connection first */
	h = hdr(VSOCK_OP_RST, 0x80000002u, 1234, 0);
	send_tx(t, 2, &h, NULL, 0);
	assert_null(conn_lookup(&t->d.conns, 1234, 0x80000002u));
	struct conn *c = ev[0].data.ptr;
	assert_int_not_equal(c->ep_kind, EP_CONN); /* the daemon skips it */
	dev_conn_event(&t->d, c, ev[0].events);    /* and so would the handler */
	dev_reap(&t->d);
	assert_null(t->d.conns.dead);
	close(hfd);
	close(ep);
}

/* An rx buffer with room for the header only must not make host data look like EOF. */
static void test_dev_header_only_rx_buffer(void **state)
{
	struct devt *t = *state;
	struct vsock_hdr h = hdr(VSOCK_OP_REQUEST, 0x80000003u, 1234, 0), r;
	uint32_t ulen;
	int hfd;

	post_rx(t, 0, 4096);
	send_tx(t, 0, &h, NULL, 0);
	rx_pkt(t, 0, &r, &ulen);
	assert_int_equal(r.op, VSOCK_OP_RESPONSE);
	hfd = accept(t->lfd, NULL, NULL);
	assert_true(hfd >= 0);
	assert_int_equal(write(hfd, "data", 4), 4);
	struct conn *c = conn_lookup(&t->d.conns, 1234, 0x80000003u);
	assert_non_null(c);

	post_rx(t, 1, VSOCK_HDR_LEN);
	dev_conn_event(&t->d, c, 1 /* EPOLLIN */);
	dev_pump_rx(&t->d);
	assert_int_equal(used_idx(&t->g, 0), 2);
	rx_pkt(t, 1, &r, &ulen);
	assert_int_not_equal(r.op, VSOCK_OP_SHUTDOWN);
	assert_false(c->host_eof);

	/* a real buffer then carries the data */
	post_rx(t, 2, 4096);
	dev_pump_rx(&t->d);
	const uint8_t *p = rx_pkt(t, 2, &r, &ulen);
	assert_int_equal(r.op, VSOCK_OP_RW);
	assert_int_equal(r.len, 4);
	assert_memory_equal(p, "data", 4);
	close(hfd);
}

/* One host read fills several rx buffers, within credit; unused ones are given back. */
static void test_dev_rx_batch(void **state)
{
	struct devt *t = *state;
	struct vsock_hdr h = hdr(VSOCK_OP_REQUEST, 9, 1234, 0), r;
	uint32_t ulen;
	static uint8_t data[10000];
	int hfd;

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	h.buf_alloc = 9000;
	for (unsigned i = 0; i < 5; i++)
		post_rx(t, i, 4096);
	send_tx(t, 0, &h, NULL, 0);
	rx_pkt(t, 0, &r, &ulen);
	assert_int_equal(r.op, VSOCK_OP_RESPONSE);
	hfd = accept(t->lfd, NULL, NULL);
	assert_int_equal(write(hfd, data, sizeof(data)), (ssize_t)sizeof(data));
	struct conn *c = conn_lookup(&t->d.conns, 1234, 9);
	dev_conn_event(&t->d, c, 1);
	dev_pump_rx(&t->d);
	/* 9000 bytes of credit: 4052 + 4052 + 896, and the 5th buffer stays posted */
	static const uint32_t want[] = {4052, 4052, 896};
	size_t off = 0;
	for (unsigned i = 0; i < 3; i++) {
		const uint8_t *p = rx_pkt(t, 1 + i, &r, &ulen);

		assert_int_equal(r.op, VSOCK_OP_RW);
		assert_int_equal(r.len, want[i]);
		assert_int_equal(ulen, VSOCK_HDR_LEN + want[i]);
		assert_memory_equal(p, data + off, want[i]);
		off += want[i];
	}
	assert_int_equal(used_idx(&t->g, 0), 4);
	assert_int_equal(t->d.vq[VQ_RX].last_avail, 4);
	/* more credit: the rest arrives in the buffer that was given back */
	h = hdr(VSOCK_OP_CREDIT_UPDATE, 9, 1234, 0);
	h.buf_alloc = 9000;
	h.fwd_cnt = 9000;
	send_tx(t, 2, &h, NULL, 0);
	const uint8_t *p = rx_pkt(t, 4, &r, &ulen);
	assert_int_equal(r.len, 1000);
	assert_memory_equal(p, data + 9000, 1000);
	close(hfd);
}

/* Out of fds, accept() must report it instead of leaving a pending client to spin on. */
static void test_dev_accept_emfile(void **state)
{
	struct devt *t = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct rlimit old, low;
	int lfd, cfd, next;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->base);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	cfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	next = dup(0);
	close(next);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)next; /* no fd number left for accept() */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int r = dev_accept(&t->d, lfd);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(r, -EMFILE);
	assert_int_equal(dev_accept(&t->d, lfd), 0); /* with fds again the client is taken */
	assert_int_equal(t->d.conns.count, 1);
	close(cfd);
	close(lfd);
	unlink(t->base);
}

/* Handshakes past their deadline are dropped; an answered REQUEST is withdrawn with RST. */
static void test_dev_connect_timeouts(void **state)
{
	struct devt *t = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vsock_hdr r;
	uint32_t ulen;
	int lfd, silent, asked;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->base);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	silent = socket(AF_UNIX, SOCK_STREAM, 0); /* never sends CONNECT */
	asked = socket(AF_UNIX, SOCK_STREAM, 0);  /* the guest never answers */
	assert_int_equal(connect(silent, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(connect(asked, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(asked, "CONNECT 77\n", 11), 11);
	t->d.now_ms = 1000;
	dev_accept(&t->d, lfd);
	assert_int_equal(t->d.conns.count, 2);
	for (struct conn *c = t->d.conns.head; c; c = c->next)
		dev_conn_event(&t->d, c, 1);
	post_rx(t, 0, 4096);
	post_rx(t, 1, 4096);
	dev_pump_rx(&t->d);
	rx_pkt(t, 0, &r, &ulen);
	assert_int_equal(r.op, VSOCK_OP_REQUEST);

	dev_tick(&t->d, 1000 + DEV_CONNECT_TIMEOUT_MS - 1);
	assert_int_equal(t->d.conns.count, 2);
	dev_tick(&t->d, 1000 + DEV_CONNECT_TIMEOUT_MS + 1);
	assert_int_equal(t->d.conns.count, 0);
	rx_pkt(t, 1, &r, &ulen);
	assert_int_equal(r.op, VSOCK_OP_RST);
	assert_int_equal(r.dst_port, 77);
	char buf[8];
	assert_int_equal(read(asked, buf, sizeof(buf)), 0); /* closed without an OK line */
	assert_int_equal(read(silent, buf, sizeof(buf)), 0);
	close(asked);
	close(silent);
	close(lfd);
	unlink(t->base);
}

static void test_dev_log_rate_limit(void **state)
{
	struct devt *t = *state;

	for (unsigned i = 0; i < DEV_LOG_BURST + 10; i++) {
		struct vsock_hdr h = hdr(VSOCK_OP_REQUEST, i, 1, 0);

		h.type = 2; /* refused: logged and answered with RST */
		send_tx(t, i % RING_N, &h, NULL, 0);
	}
	assert_int_equal(t->d.stats.bad_packets, DEV_LOG_BURST + 10);
	assert_int_equal(t->d.log_suppressed, 10);
	assert_int_equal(t->d.ctl_len, DEV_LOG_BURST + 10); /* every one still gets its RST */
	t->d.now_ms += 1000;                                /* a second later lines flow again */
	struct vsock_hdr h = hdr(VSOCK_OP_REQUEST, 99, 1, 0);
	h.type = 2;
	send_tx(t, 0, &h, NULL, 0);
	assert_int_equal(t->d.log_suppressed, 0);
}

/* ---- vhost-user session ---------------------------------------------------- */

struct vut {
	int peer; /* QEMU's end */
	struct vu_session s;
	struct vsock_dev d;
	int memfd;
};

static void vu_send(struct vut *t, uint32_t req, uint32_t flags, const void *p, uint32_t size,
                    const int *fds, unsigned nfds)
{
	uint8_t buf[12 + 512];
	uint32_t h[3] = {req, flags, size};
	union {
		char b[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {buf, 12 + size};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	memcpy(buf, h, 12);
	if (size)
		memcpy(buf + 12, p, size);
	if (nfds) {
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	assert_int_equal(sendmsg(t->peer, &mh, 0), (ssize_t)(12 + size));
}

/* Send, let the back-end handle it, and return its status. */
static int vu_do(struct vut *t, uint32_t req, uint32_t flags, const void *p, uint32_t size,
                 const int *fds, unsigned nfds)
{
	vu_send(t, req, flags, p, size, fds, nfds);
	return vu_session_handle(&t->s);
}

/* Read one reply; check its header; return the payload size. */
static uint32_t vu_reply(struct vut *t, uint32_t req, void *out, uint32_t max)
{
	uint32_t h[3];

	assert_int_equal(recv(t->peer, h, 12, MSG_DONTWAIT), 12);
	assert_int_equal(h[0], req);
	assert_int_equal(h[1], 0x5); /* version 1 | REPLY, never NEED_REPLY */
	assert_true(h[2] <= max);
	if (h[2])
		assert_int_equal(recv(t->peer, out, h[2], MSG_DONTWAIT), (ssize_t)h[2]);
	return h[2];
}

static void vu_no_reply(struct vut *t)
{
	char c;

	assert_int_equal(recv(t->peer, &c, 1, MSG_DONTWAIT), -1);
}

static int vu_setup(void **state)
{
	struct vut *t = calloc(1, sizeof(*t));
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	t->peer = sv[0];
	assert_int_equal(dev_init(&t->d, 7, "/nonexistent/v", -1), 0);
	vu_session_init(&t->s, sv[1], &t->d);
	t->memfd = memfd_create("guest", 0);
	assert_int_equal(ftruncate(t->memfd, MEM_SIZE), 0);
	*state = t;
	return 0;
}

static int vu_teardown(void **state)
{
	struct vut *t = *state;

	vu_session_close(&t->s);
	close(t->peer);
	close(t->memfd);
	free(t);
	return 0;
}

static void test_vu_negotiation(void **state)
{
	struct vut *t = *state;
	uint64_t v = 0;
	uint8_t cfg[20] = {0};

	assert_int_equal(vu_do(t, 1, 1, NULL, 0, NULL, 0), 0); /* GET_FEATURES */
	assert_int_equal(vu_reply(t, 1, &v, 8), 8);
	assert_true(v & (1ull << 32));                                  /* VERSION_1 */
	assert_true(v & (1ull << 30));                                  /* PROTOCOL_FEATURES */
	assert_false(v & ((1ull << 28) | (1ull << 29) | (1ull << 34))); /* not offered */
	assert_int_equal(vu_do(t, 15, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(vu_reply(t, 15, &v, 8), 8);
	assert_true(v & (1ull << 9)); /* CONFIG, which QEMU requires */
	assert_int_equal(vu_do(t, 16, 1, &v, 8, NULL, 0), 0);
	vu_no_reply(t);

	uint32_t req[3] = {0, 8, 0};
	memcpy(cfg, req, 12);
	assert_int_equal(vu_do(t, 24, 1, cfg, 20, NULL, 0), 0); /* GET_CONFIG */
	assert_int_equal(vu_reply(t, 24, cfg, 20), 20);
	memcpy(&v, cfg + 12, 8);
	assert_int_equal(v, 7);

	/* Features we never offered are refused, and with REPLY_ACK QEMU hears it. */
	v = 1ull << 29;
	assert_int_equal(vu_do(t, 2, 1 | 8, &v, 8, NULL, 0), 0);
	assert_int_equal(vu_reply(t, 2, &v, 8), 8);
	assert_int_not_equal(v, 0);
	/* Unknown request with NEED_REPLY: failure reply, session continues. */
	assert_int_equal(vu_do(t, 99, 1 | 8, NULL, 0, NULL, 0), 0);
	assert_int_equal(vu_reply(t, 99, &v, 8), 8);
	assert_int_equal(v, 1);
	/* A header claiming a payload beyond any message is a protocol error. */
	uint32_t bad[3] = {1, 1, 1u << 20};
	assert_int_equal(send(t->peer, bad, 12, 0), 12);
	assert_int_equal(vu_session_handle(&t->s), -EPROTO);
}

static void set_mem(struct vut *t, int expect_ack)
{
	uint8_t tbl[8 + 32] = {0};
	uint64_t r[4] = {GPA_BASE, MEM_SIZE, QVA_BASE, 0}, v = 99;
	uint32_t n = 1;

	memcpy(tbl, &n, 4);
	memcpy(tbl + 8, r, 32);
	assert_int_equal(vu_do(t, 5, 1 | 8, tbl, sizeof(tbl), &t->memfd, 1), 0);
	assert_int_equal(vu_reply(t, 5, &v, 8), 8);
	assert_int_equal(v, (uint64_t)expect_ack);
}

static void start_ring(struct vut *t, uint32_t idx, uint32_t base, uint64_t off)
{
	uint32_t st[2] = {idx, RING_N};
	uint8_t addr[40] = {0};
	uint64_t a[3] = {QVA_BASE + off + DESC_OFF, QVA_BASE + off + USED_OFF,
	                 QVA_BASE + off + AVAIL_OFF};
	int kfd = eventfd(0, EFD_NONBLOCK);
	uint64_t k = idx;

	assert_int_equal(vu_do(t, 8, 1, st, 8, NULL, 0), 0);
	st[1] = base;
	assert_int_equal(vu_do(t, 10, 1, st, 8, NULL, 0), 0);
	memcpy(addr, &idx, 4);
	memcpy(addr + 8, a, 24);
	assert_int_equal(vu_do(t, 9, 1, addr, 40, NULL, 0), 0);
	assert_int_equal(vu_do(t, 12, 1, &k, 8, &kfd, 1), 0);
	close(kfd); /* the back-end holds its own copy */
	st[1] = 1;
	assert_int_equal(vu_do(t, 18, 1, st, 8, NULL, 0), 0);
	vu_no_reply(t);
}

static uint32_t stop_ring(struct vut *t, uint32_t idx)
{
	uint32_t st[2] = {idx, 0};

	assert_int_equal(vu_do(t, 18, 1, st, 8, NULL, 0), 0);
	assert_int_equal(vu_do(t, 11, 1, st, 8, NULL, 0), 0);
	assert_int_equal(vu_reply(t, 11, st, 8), 8);
	assert_int_equal(st[0], idx);
	return st[1];
}

static void test_vu_rings_pause_and_reset(void **state)
{
	struct vut *t = *state;
	uint64_t v = (1ull << 32) | (1ull << 30);
	struct conn *c;

	v = 1ull << 3 | 1ull << 9;
	assert_int_equal(vu_do(t, 16, 1, &v, 8, NULL, 0), 0); /* REPLY_ACK|CONFIG */
	v = (1ull << 32) | (1ull << 30);
	assert_int_equal(vu_do(t, 2, 1, &v, 8, NULL, 0), 0);
	set_mem(t, 0);
	start_ring(t, 0, 0, 0);
	start_ring(t, 1, 0, RING_SPAN);
	assert_true(vq_ready(&t->d.vq[0]) && vq_ready(&t->d.vq[1]));

	/* a live host connection, and some ring progress */
	assert_int_equal(conn_new(&t->d.conns, -1, &c), 0);
	c->state = CONN_ESTABLISHED;
	c->host_port = 1;
	c->guest_port = 2;
	assert_int_equal(conn_hash_add(&t->d.conns, c), 0);
	/* the guest made 42 tx entries available and we consumed them all */
	uint8_t *gm = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, t->memfd, 0);
	uint16_t idx42 = 42;
	assert_true(gm != MAP_FAILED);
	memcpy(gm + RING_SPAN + AVAIL_OFF + 2, &idx42, 2);
	memcpy(gm + RING_SPAN + USED_OFF + 2, &idx42, 2);
	munmap(gm, MEM_SIZE);
	t->d.vq[1].last_avail = 42;

	/* pause: rings stop, base is reported, connection kept */
	assert_int_equal(stop_ring(t, 0), 0);
	assert_int_equal(stop_ring(t, 1), 42);
	assert_false(vq_ready(&t->d.vq[1]));
	set_mem(t, 0);
	start_ring(t, 0, 0, 0);
	start_ring(t, 1, 42, RING_SPAN);
	assert_int_equal(t->d.vq[1].last_avail, 42);
	assert_non_null(conn_lookup(&t->d.conns, 1, 2));

	/* driver reset: the guest re-initialises its rings, base back to 0, connections gone */
	stop_ring(t, 0);
	stop_ring(t, 1);
	gm = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, t->memfd, 0);
	assert_true(gm != MAP_FAILED);
	memset(gm, 0, 2 * RING_SPAN);
	munmap(gm, MEM_SIZE);
	start_ring(t, 0, 0, 0);
	start_ring(t, 1, 0, RING_SPAN);
	assert_null(conn_lookup(&t->d.conns, 1, 2));
	assert_int_equal(t->d.conns.count, 0);

	/* a ring outside guest memory is refused (REPLY_ACK carries the failure) */
	uint8_t addr[40] = {0};
	uint64_t far[3] = {QVA_BASE + MEM_SIZE, QVA_BASE, QVA_BASE};
	memcpy(addr + 8, far, 24);
	assert_int_equal(vu_do(t, 9, 1 | 8, addr, 40, NULL, 0), 0);
	assert_int_equal(vu_reply(t, 9, &v, 8), 8);
	assert_int_not_equal(v, 0);
	assert_false(vq_ready(&t->d.vq[0]));

	/* QEMU hangs up */
	close(t->peer);
	t->peer = -1;
	assert_int_equal(vu_session_handle(&t->s), -ECONNRESET);
}

/*
 * SET_VRING_NUM after SET_VRING_ADDR: a ring that fit for 16 entries must not
 * be walked as 32768 entries past the end of guest memory.
 */
static void test_vu_ring_resize_after_addr(void **state)
{
	struct vut *t = *state;
	uint64_t v = 1ull << 3 | 1ull << 9;
	uint32_t st[2] = {0, RING_N};
	uint8_t addr[40] = {0};
	uint64_t a[3] = {QVA_BASE + MEM_SIZE - 16 * RING_N, QVA_BASE + USED_OFF,
	                 QVA_BASE + AVAIL_OFF};
	int kfd = eventfd(0, EFD_NONBLOCK);
	uint64_t k = 0;

	assert_int_equal(vu_do(t, 16, 1, &v, 8, NULL, 0), 0); /* REPLY_ACK|CONFIG */
	v = (1ull << 32) | (1ull << 30);
	assert_int_equal(vu_do(t, 2, 1, &v, 8, NULL, 0), 0);
	set_mem(t, 0);
	assert_int_equal(vu_do(t, 8, 1, st, 8, NULL, 0), 0);
	memcpy(addr + 8, a, 24);
	assert_int_equal(vu_do(t, 9, 1, addr, 40, NULL, 0), 0);
	assert_int_equal(vu_do(t, 12, 1, &k, 8, &kfd, 1), 0);
	close(kfd);
	st[1] = 1;
	assert_int_equal(vu_do(t, 18, 1, st, 8, NULL, 0), 0);
	assert_true(vq_ready(&t->d.vq[0]));

	st[1] = VQ_MAX_SIZE;
	assert_int_equal(vu_do(t, 8, 1, st, 8, NULL, 0), 0);
	assert_false(vq_ready(&t->d.vq[0]));
	assert_null(t->d.vq[0].desc);

	/* a fresh ADDR that fits the new size brings the ring back */
	a[0] = QVA_BASE + DESC_OFF;
	memcpy(addr + 8, a, 24);
	assert_int_equal(vu_do(t, 9, 1 | 8, addr, 40, NULL, 0), 0);
	assert_int_equal(vu_reply(t, 9, &v, 8), 8);
	assert_int_equal(v, 0);
	assert_true(vq_ready(&t->d.vq[0]));
}

/* A region that runs past the end of its file would SIGBUS on first touch. */
static void test_vu_region_past_file_end(void **state)
{
	struct vut *t = *state;
	uint8_t tbl[8 + 32] = {0};
	uint64_t r[4] = {GPA_BASE, MEM_SIZE, QVA_BASE, 4096}, v = 0;
	uint32_t n = 1;

	v = 1ull << 3 | 1ull << 9;
	assert_int_equal(vu_do(t, 16, 1, &v, 8, NULL, 0), 0);
	memcpy(tbl, &n, 4);
	memcpy(tbl + 8, r, 32); /* offset 4096 + MEM_SIZE bytes in a MEM_SIZE file */
	assert_int_equal(vu_do(t, 5, 1 | 8, tbl, sizeof(tbl), &t->memfd, 1), 0);
	assert_int_equal(vu_reply(t, 5, &v, 8), 8);
	assert_int_equal(v, 1);
	assert_int_equal(t->d.mem.nregions, 0);

	r[3] = 0; /* the same region at offset 0 fits exactly */
	memcpy(tbl + 8, r, 32);
	assert_int_equal(vu_do(t, 5, 1 | 8, tbl, sizeof(tbl), &t->memfd, 1), 0);
	assert_int_equal(vu_reply(t, 5, &v, 8), 8);
	assert_int_equal(v, 0);
	assert_int_equal(t->d.mem.nregions, 1);
}

static void test_vu_bad_mem_table(void **state)
{
	struct vut *t = *state;
	uint8_t tbl[8 + 64] = {0};
	uint32_t n = 2;
	uint64_t v = 0;

	v = 1ull << 3 | 1ull << 9;
	assert_int_equal(vu_do(t, 16, 1, &v, 8, NULL, 0), 0);
	memcpy(tbl, &n, 4); /* two regions, one fd */
	assert_int_equal(vu_do(t, 5, 1 | 8, tbl, sizeof(tbl), &t->memfd, 1), 0);
	assert_int_equal(vu_reply(t, 5, &v, 8), 8);
	assert_int_equal(v, 1);
	assert_int_equal(t->d.mem.nregions, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hdr_roundtrip),
	        cmocka_unit_test(test_hdr_check_table),
	        cmocka_unit_test(test_connect_line_table),
	        cmocka_unit_test(test_conn_table),
	        cmocka_unit_test(test_conn_limit),
	        cmocka_unit_test(test_credit),
	        cmocka_unit_test(test_fifo),
	        cmocka_unit_test_setup_teardown(test_walker_good_chain, walker_setup,
	                                        walker_teardown),
	        cmocka_unit_test_setup_teardown(test_walker_malformed_table, walker_setup,
	                                        walker_teardown),
	        cmocka_unit_test_setup_teardown(test_walker_broken_indices, walker_setup,
	                                        walker_teardown),
	        cmocka_unit_test_setup_teardown(test_vq_map_bounds, walker_setup, walker_teardown),
	        cmocka_unit_test_setup_teardown(test_dev_request_no_listener_rst, dev_setup,
	                                        dev_teardown),
	        cmocka_unit_test_setup_teardown(test_dev_unknown_connection, dev_setup,
	                                        dev_teardown),
	        cmocka_unit_test_setup_teardown(test_dev_bridge_and_credit, dev_setup,
	                                        dev_teardown),
	        cmocka_unit_test_setup_teardown(test_dev_host_connect, dev_setup, dev_teardown),
	        cmocka_unit_test_setup_teardown(test_dev_response_before_request, dev_setup,
	                                        dev_teardown),
	        cmocka_unit_test_setup_teardown(test_dev_malformed_tx_chain, dev_setup,
	                                        dev_teardown),
	        cmocka_unit_test_setup_teardown(test_dev_rx_batch, dev_setup, dev_teardown),
	        cmocka_unit_test_setup_teardown(test_dev_header_only_rx_buffer, dev_setup,
	                                        dev_teardown),
	        cmocka_unit_test_setup_teardown(test_dev_stale_event_after_close, dev_setup,
	                                        dev_teardown),
	        cmocka_unit_test_setup_teardown(test_dev_accept_emfile, dev_setup, dev_teardown),
	        cmocka_unit_test_setup_teardown(test_dev_connect_timeouts, dev_setup, dev_teardown),
	        cmocka_unit_test_setup_teardown(test_dev_log_rate_limit, dev_setup, dev_teardown),
	        cmocka_unit_test_setup_teardown(test_vu_negotiation, vu_setup, vu_teardown),
	        cmocka_unit_test_setup_teardown(test_vu_rings_pause_and_reset, vu_setup,
	                                        vu_teardown),
	        cmocka_unit_test_setup_teardown(test_vu_bad_mem_table, vu_setup, vu_teardown),
	        cmocka_unit_test_setup_teardown(test_vu_region_past_file_end, vu_setup,
	                                        vu_teardown),
	        cmocka_unit_test_setup_teardown(test_vu_ring_resize_after_addr, vu_setup,
	                                        vu_teardown),
	};

	hv_log_init("test_vsockd", HV_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
