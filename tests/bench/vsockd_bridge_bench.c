// SPDX-License-Identifier: Apache-2.0
/*
 * The bridge's own capacity, without an emulated guest: one thread plays a
 * Linux-like guest on synthetic rings (64 KiB tx packets, 3776-byte rx
 * buffers, credit updates every 64 KiB) and the host end of the Unix socket,
 * and drives hvipe-vsockd's device model directly. The baseline is a Unix
 * socket pair driven the same way (write 64 KiB, read what is there) in the
 * same process. Prints
 *   BENCH vsockd_bridge_guest_to_host <MB/s> MB/s ratio=<r>
 *   BENCH vsockd_bridge_host_to_guest <MB/s> MB/s ratio=<r>
 * usage: vsockd-bridge-bench [MIB]   (default 512)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../host/vsockd/dev.h"
#include "util/log.h"

#define GPA     0x100000ull
#define QVA     0x7f0000000000ull
#define MEMSZ   (8u << 20)
#define N       256u
#define TXD     0x0u
#define RXD     0x10000u
#define PAYLOAD 0x100000u /* 64 KiB payload buffer */
#define TXHDR   0x200000u /* N headers */
#define RXBUF   0x300000u /* N rx buffers */
#define RXLEN   3776u
#define CHUNK   65536u

struct sim {
	uint8_t *mem;
	struct vsock_dev d;
	uint16_t avail[2], used_seen[2];
	uint32_t gport;
	/* guest view of the host's credit, and its own receive accounting */
	uint32_t host_buf_alloc, host_fwd_cnt, tx_cnt, fwd_cnt, fwd_sent;
	uint64_t rx_bytes;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *ring_base(struct sim *s, unsigned q)
{
	return s->mem + (q == VQ_TX ? TXD : RXD);
}

static void put_desc(struct sim *s, unsigned q, unsigned i, uint64_t off, uint32_t len,
                     uint16_t flags, uint16_t next)
{
	struct vring_desc_le d = {GPA + off, len, flags, next};

	memcpy(ring_base(s, q) + 16 * i, &d, sizeof(d));
}

static void publish(struct sim *s, unsigned q, uint16_t head)
{
	uint8_t *av = ring_base(s, q) + 16 * N;

	memcpy(av + 4 + 2 * (s->avail[q] % N), &head, 2);
	s->avail[q]++;
	__atomic_store_n((uint16_t *)(av + 2), s->avail[q], __ATOMIC_RELEASE);
}

static uint16_t used_idx(struct sim *s, unsigned q)
{
	return __atomic_load_n((uint16_t *)(ring_base(s, q) + 16 * N + 0x1000 + 2),
	                       __ATOMIC_ACQUIRE);
}

static void send_pkt(struct sim *s, uint16_t op, uint32_t hport, uint32_t len)
{
	unsigned slot = s->avail[VQ_TX] % (N / 2);
	struct vsock_hdr h = {.src_cid = 3,
	                      .dst_cid = 2,
	                      .src_port = s->gport,
	                      .dst_port = hport,
	                      .len = len,
	                      .type = 1,
	                      .op = op,
	                      .buf_alloc = 262144,
	                      .fwd_cnt = s->fwd_cnt};

	vsock_hdr_encode(s->mem + TXHDR + 64 * slot, &h);
	if (len) {
		put_desc(s, VQ_TX, 2 * slot, TXHDR + 64 * slot, 44, VRING_DESC_F_NEXT,
		         2 * slot + 1);
		put_desc(s, VQ_TX, 2 * slot + 1, PAYLOAD, len, 0, 0);
	} else {
		put_desc(s, VQ_TX, 2 * slot, TXHDR + 64 * slot, 44, 0, 0);
	}
	publish(s, VQ_TX, 2 * slot);
	s->fwd_sent = s->fwd_cnt;
}

/* Guest rx side: consume completed rx buffers and post them again. */
static void guest_rx(struct sim *s)
{
	uint16_t u = used_idx(s, VQ_RX);

	while (s->used_seen[VQ_RX] != u) {
		uint8_t *e =
		        ring_base(s, VQ_RX) + 16 * N + 0x1000 + 4 + 8 * (s->used_seen[VQ_RX] % N);
		uint32_t id;
		struct vsock_hdr h;

		memcpy(&id, e, 4);
		vsock_hdr_decode(&h, s->mem + RXBUF + (size_t)id * 4096);
		s->host_buf_alloc = h.buf_alloc;
		s->host_fwd_cnt = h.fwd_cnt;
		if (h.op == VSOCK_OP_RW) {
			s->rx_bytes += h.len;
			s->fwd_cnt += h.len; /* the guest application reads at once */
		}
		s->used_seen[VQ_RX]++;
		publish(s, VQ_RX, (uint16_t)id);
	}
}

static void sim_init(struct sim *s, const char *base)
{
	memset(s, 0, sizeof(*s));
	s->mem = aligned_alloc(4096, MEMSZ);
	memset(s->mem, 0, MEMSZ);
	if (dev_init(&s->d, 3, base, -1) < 0)
		exit(1);
	s->d.mem.nregions = 1;
	s->d.mem.r[0] = (struct vu_region){.gpa = GPA, .size = MEMSZ, .qva = QVA, .host = s->mem};
	for (unsigned q = 0; q < 2; q++) {
		struct vq *vq = &s->d.vq[q];
		uint64_t off = q == VQ_TX ? TXD : RXD;

		vq_init(vq);
		vq->num = N;
		vq->desc_qva = QVA + off;
		vq->avail_qva = QVA + off + 16 * N;
		vq->used_qva = QVA + off + 16 * N + 0x1000;
		vq->addr_set = vq->started = vq->enabled = true;
		if (vq_map(vq, &s->d.mem) < 0)
			exit(1);
	}
	for (unsigned i = 0; i < N; i++) {
		put_desc(s, VQ_RX, i, RXBUF + (size_t)i * 4096, RXLEN, VRING_DESC_F_WRITE, 0);
		publish(s, VQ_RX, (uint16_t)i);
	}
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
		exit(1);
	return fd;
}

static struct conn *open_conn(struct sim *s, const char *base, uint32_t port, int *hfd)
{
	char path[96];
	int lfd;

	snprintf(path, sizeof(path), "%.64s_%u", base, port);
	lfd = listen_at(path);
	s->gport = 0x40000000u + port;
	send_pkt(s, VSOCK_OP_REQUEST, port, 0);
	dev_process_tx(&s->d);
	*hfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
	close(lfd);
	unlink(path);
	guest_rx(s);
	return conn_lookup(&s->d.conns, port, s->gport);
}

static double bench_g2h(const char *base, uint64_t total)
{
	static uint8_t sinkbuf[1 << 20];
	struct sim s;
	int hfd;
	uint64_t got = 0;

	sim_init(&s, base);
	struct conn *c = open_conn(&s, base, 5000, &hfd);
	if (!c || hfd < 0)
		exit(1);
	double t0 = now();
	while (got < total) {
		/* the guest sends what its credit allows, 64 KiB per packet */
		while (s.host_buf_alloc - (s.tx_cnt - s.host_fwd_cnt) >= CHUNK &&
		       (uint16_t)(s.avail[VQ_TX] - used_idx(&s, VQ_TX)) < N / 2) {
			send_pkt(&s, VSOCK_OP_RW, 5000, CHUNK);
			s.tx_cnt += CHUNK;
		}
		dev_process_tx(&s.d);
		ssize_t r;
		while ((r = read(hfd, sinkbuf, sizeof(sinkbuf))) > 0)
			got += (uint64_t)r;
		dev_conn_event(&s.d, c, EPOLLOUT);
		dev_pump_rx(&s.d);
		guest_rx(&s);
	}
	double dt = now() - t0;
	close(hfd);
	dev_reset_conns(&s.d, "bench");
	free(s.mem);
	return (double)total / (1 << 20) / dt;
}

static double bench_h2g(const char *base, uint64_t total)
{
	static uint8_t src[CHUNK];
	struct sim s;
	int hfd;
	uint64_t sent = 0;

	sim_init(&s, base);
	struct conn *c = open_conn(&s, base, 5001, &hfd);
	if (!c || hfd < 0)
		exit(1);
	double t0 = now();
	while (s.rx_bytes < total) {
		while (sent < total) {
			size_t k = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
			ssize_t w = write(hfd, src, k);

			if (w <= 0)
				break;
			sent += (uint64_t)w;
		}
		dev_conn_event(&s.d, c, EPOLLIN);
		dev_pump_rx(&s.d);
		guest_rx(&s);
		/* like Linux: tell the host once 64 KiB of its window were consumed */
		if (s.fwd_cnt - s.fwd_sent >= CHUNK) {
			send_pkt(&s, VSOCK_OP_CREDIT_UPDATE, 5001, 0);
			dev_process_tx(&s.d);
		}
	}
	double dt = now() - t0;
	close(hfd);
	dev_reset_conns(&s.d, "bench");
	free(s.mem);
	return (double)total / (1 << 20) / dt;
}

/* A Unix socket pair driven the same way from one thread. */
static double bench_pair(uint64_t total)
{
	static uint8_t src[CHUNK], dst[1 << 20];
	int sv[2];
	uint64_t sent = 0, got = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		exit(1);
	double t0 = now();
	while (got < total) {
		while (sent < total) {
			ssize_t w = write(sv[0], src, CHUNK);

			if (w <= 0)
				break;
			sent += (uint64_t)w;
		}
		ssize_t r;
		while ((r = read(sv[1], dst, sizeof(dst))) > 0)
			got += (uint64_t)r;
	}
	double dt = now() - t0;
	close(sv[0]);
	close(sv[1]);
	return (double)got / (1 << 20) / dt;
}

int main(int argc, char **argv)
{
	uint64_t total = (uint64_t)(argc > 1 ? strtoul(argv[1], NULL, 0) : 512) << 20;
	char dir[] = "/tmp/hvipe-vsockd-bench.XXXXXX", base[64];

	hv_log_init("vsockd-bridge-bench", HV_ERR);
	if (!mkdtemp(dir))
		return 1;
	snprintf(base, sizeof(base), "%s/v", dir);
	double pair = bench_pair(total);
	double g2h = bench_g2h(base, total);
	double h2g = bench_h2g(base, total);
	double pair2 = bench_pair(total);
	double ref = (pair + pair2) / 2;

	printf("BENCH vsockd_bridge_guest_to_host %.0f MB/s ratio=%.2f\n", g2h, g2h / ref);
	printf("BENCH vsockd_bridge_host_to_guest %.0f MB/s ratio=%.2f\n", h2g, h2g / ref);
	printf("# synthetic Linux-like guest in-process (64 KiB tx packets, %u-byte rx buffers); "
	       "unix socket pair %.0f MB/s\n",
	       RXLEN, ref);
	rmdir(dir);
	return 0;
}
