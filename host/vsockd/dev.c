// SPDX-License-Identifier: Apache-2.0
/* virtio-vsock device model and hybrid-vsock bridge; see dev.h. */
#include "dev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"

static const char *op_name(uint16_t op)
{
	static const char *const names[] = {"invalid",       "request",       "response",
	                                    "rst",           "shutdown",      "rw",
	                                    "credit_update", "credit_request"};

	return op < 8 ? names[op] : "unknown";
}

int dev_init(struct vsock_dev *d, uint64_t guest_cid, const char *base, int epfd)
{
	memset(d, 0, sizeof(*d));
	if (strlen(base) > DEV_BASE_MAX)
		return -ENAMETOOLONG;
	strcpy(d->base, base);
	d->guest_cid = guest_cid;
	d->epfd = epfd;
	vq_init(&d->vq[VQ_RX]);
	vq_init(&d->vq[VQ_TX]);
	conn_table_init(&d->conns);
	d->conns.defer_free = epfd >= 0;
	return 0;
}

/*
 * Guest-triggered log lines are rate-limited (DEV_LOG_BURST per second) so a
 * guest cannot flood the host's journal; the count of dropped lines is logged
 * with the next one allowed.
 */
static bool guest_log_ok(struct vsock_dev *d)
{
	if (d->now_ms - d->log_window_ms >= 1000) {
		if (d->log_suppressed)
			hv_log(HV_WARN, "vm=cid:%llu step=log suppressed=%llu reason=rate_limit",
			       (unsigned long long)d->guest_cid,
			       (unsigned long long)d->log_suppressed);
		d->log_window_ms = d->now_ms;
		d->log_used = 0;
		d->log_suppressed = 0;
	}
	if (d->log_used < DEV_LOG_BURST) {
		d->log_used++;
		return true;
	}
	d->log_suppressed++;
	return false;
}

/* Queue a bare control packet to the guest from host_port to guest_port. */
static void ctl_queue(struct vsock_dev *d, uint16_t op, uint32_t host_port, uint32_t guest_port)
{
	if (d->ctl_len >= DEV_CTL_MAX) {
		d->stats.ctl_dropped++;
		return;
	}
	struct vsock_hdr *h = &d->ctl[(d->ctl_head + d->ctl_len++) % DEV_CTL_MAX];

	*h = (struct vsock_hdr){
	        .src_cid = VSOCK_HOST_CID,
	        .dst_cid = d->guest_cid,
	        .src_port = host_port,
	        .dst_port = guest_port,
	        .type = VSOCK_TYPE_STREAM,
	        .op = op,
	};
	if (op == VSOCK_OP_RST)
		d->stats.rst_sent++;
}

static void conn_close(struct vsock_dev *d, struct conn *c, bool rst, const char *reason)
{
	if (c->state != CONN_HOST_CONNECT)
		if (guest_log_ok(d))
			hv_log(HV_INFO,
			       "vm=cid:%llu step=close host_port=%u guest_port=%u reason=%s",
			       (unsigned long long)d->guest_cid, c->host_port, c->guest_port,
			       reason);
	if (rst && c->state != CONN_HOST_CONNECT)
		ctl_queue(d, VSOCK_OP_RST, c->host_port, c->guest_port);
	conn_free(&d->conns, c);
}

static int conn_watch(struct vsock_dev *d, struct conn *c)
{
	struct epoll_event ev = {
	        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
	        .data.ptr = c,
	};

	c->ep_kind = EP_CONN;
	if (d->epfd < 0)
		return 0;
	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0 ? -errno : 0;
}

/* Does @c have anything it could put in an rx buffer right now? */
static bool conn_has_rx_work(const struct conn *c)
{
	if (c->owed)
		return true;
	return c->state == CONN_ESTABLISHED && c->readable && !c->host_eof && !c->guest_shut_rcv &&
	       conn_peer_credit(c) > 0;
}

/* Flush buffered guest data to the Unix socket; -errno on a dead socket. */
static int conn_flush(struct conn *c)
{
	while (c->fifo_len && c->writable) {
		size_t first = CONN_BUF_ALLOC - c->fifo_head;
		struct iovec iov[2] = {
		        {c->fifo + c->fifo_head, first < c->fifo_len ? first : c->fifo_len},
		        {c->fifo, first < c->fifo_len ? c->fifo_len - first : 0},
		};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = iov[1].iov_len ? 2 : 1};
		ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->writable = false;
				break;
			}
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c->fifo_head = (c->fifo_head + (size_t)n) % CONN_BUF_ALLOC;
		c->fifo_len -= (size_t)n;
		conn_forwarded(c, (size_t)n);
	}
	return 0;
}

/*
 * After any change: apply the guest's half-close once its data is flushed, and
 * retire the connection when both directions are finished.
 */
static void conn_settle(struct vsock_dev *d, struct conn *c)
{
	if (c->guest_shut_send && !c->fifo_len && !c->shut_wr_done) {
		shutdown(c->fd, SHUT_WR);
		c->shut_wr_done = true;
	}
	if (c->guest_shut_send && c->guest_shut_rcv && !c->fifo_len) {
		conn_close(d, c, true, "guest_closed");
		return;
	}
	if (c->host_eof && c->sent_shut_send && c->shut_wr_done) {
		conn_close(d, c, true, "both_closed");
		return;
	}
	if (conn_has_rx_work(c))
		conn_activate(&d->conns, c);
}

/* Guest payload of an RW packet: straight to the socket, the rest into the FIFO. */
static int conn_take_payload(struct conn *c, const struct vq_chain *ch, uint32_t len)
{
	struct iovec iov[VQ_MAX_SEGS];
	unsigned n = 0;
	size_t off = VSOCK_HDR_LEN, left = len, written = 0;

	if (conn_guest_data(c, len) < 0)
		return -ENOBUFS;
	for (unsigned i = 0; i < ch->nr && left; i++) {
		size_t l = ch->rd[i].len;

		if (off >= l) {
			off -= l;
			continue;
		}
		size_t take = l - off < left ? l - off : left;
		iov[n++] = (struct iovec){ch->rd[i].p + off, take};
		left -= take;
		off = 0;
	}
	if (!c->fifo_len && c->writable) {
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n};
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (w < 0)
			c->writable = false;
		else
			written = (size_t)w;
		if (written < len)
			c->writable = false;
		conn_forwarded(c, written);
	}
	for (unsigned i = 0; i < n; i++) {
		if (written >= iov[i].iov_len) {
			written -= iov[i].iov_len;
			continue;
		}
		int r = conn_fifo_push(c, (uint8_t *)iov[i].iov_base + written,
		                       iov[i].iov_len - written);
		if (r < 0)
			return r;
		written = 0;
	}
	return 0;
}

static int unix_connect(const struct vsock_dev *d, uint32_t port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	char path[sizeof(d->base) + 16];
	int len = snprintf(path, sizeof(path), "%s_%u", d->base, port);

	if (len < 0 || (size_t)len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, (size_t)len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		/* A full backlog (EAGAIN) is refused like a missing listener. */
		return -e;
	}
	return fd;
}

static void guest_request(struct vsock_dev *d, const struct vsock_hdr *h)
{
	struct conn *c = conn_lookup(&d->conns, h->dst_port, h->src_port);
	int fd, r;

	if (c) /* the guest reused a port pair it had forgotten (reboot) */
		conn_close(d, c, false, "request_reuse");
	fd = unix_connect(d, h->dst_port);
	if (fd < 0) {
		if (guest_log_ok(d))
			hv_log(HV_INFO, "vm=cid:%llu step=connect port=%u guest_port=%u reason=%s",
			       (unsigned long long)d->guest_cid, h->dst_port, h->src_port,
			       strerror(-fd));
		ctl_queue(d, VSOCK_OP_RST, h->dst_port, h->src_port);
		return;
	}
	r = conn_new(&d->conns, fd, &c);
	if (r < 0) {
		close(fd);
		hv_log(HV_WARN, "vm=cid:%llu step=connect port=%u reason=%s",
		       (unsigned long long)d->guest_cid, h->dst_port, strerror(-r));
		ctl_queue(d, VSOCK_OP_RST, h->dst_port, h->src_port);
		return;
	}
	c->host_port = h->dst_port;
	c->guest_port = h->src_port;
	c->state = CONN_ESTABLISHED;
	c->owed = CONN_TX_RESPONSE;
	c->writable = true;
	conn_update_peer(c, h->buf_alloc, h->fwd_cnt);
	conn_hash_add(&d->conns, c);
	if ((r = conn_watch(d, c)) < 0) {
		conn_close(d, c, true, "epoll");
		return;
	}
	d->stats.conns_opened++;
	if (guest_log_ok(d))
		hv_log(HV_INFO, "vm=cid:%llu step=open dir=guest host_port=%u guest_port=%u",
		       (unsigned long long)d->guest_cid, c->host_port, c->guest_port);
	conn_activate(&d->conns, c);
}

/* Returns 0, or -ECONNRESET when @c was closed (and freed). */
static int guest_response(struct vsock_dev *d, struct conn *c)
{
	char ok[24];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);

	/* Only an answer to a REQUEST we sent: a guest that guesses the host port
	 * cannot get "OK" to the host client before the guest was asked. */
	if (c->state != CONN_LOCAL_INIT || (c->owed & CONN_TX_REQUEST)) {
		conn_close(d, c, true, "unexpected_response");
		return -ECONNRESET;
	}
	/* A fresh socket's send buffer always holds these few bytes. */
	if (send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		conn_close(d, c, true, "host_gone");
		return -ECONNRESET;
	}
	c->state = CONN_ESTABLISHED;
	c->writable = true;
	d->stats.conns_opened++;
	hv_log(HV_INFO, "vm=cid:%llu step=open dir=host host_port=%u guest_port=%u",
	       (unsigned long long)d->guest_cid, c->host_port, c->guest_port);
	return 0;
}

static void guest_packet(struct vsock_dev *d, const struct vq_chain *ch)
{
	uint8_t raw[VSOCK_HDR_LEN];
	struct vsock_hdr h;
	struct conn *c;
	int r;

	if (vq_chain_read(ch, 0, raw, sizeof(raw)) < sizeof(raw)) {
		d->stats.bad_packets++;
		if (guest_log_ok(d))
			hv_log(HV_WARN, "vm=cid:%llu step=tx reason=short_header len=%zu",
			       (unsigned long long)d->guest_cid, ch->rlen);
		return;
	}
	vsock_hdr_decode(&h, raw);
	r = vsock_hdr_check(&h, d->guest_cid, ch->rlen - VSOCK_HDR_LEN);
	if (r < 0) {
		d->stats.bad_packets++;
		if (guest_log_ok(d))
			hv_log(HV_WARN,
			       "vm=cid:%llu step=tx op=%s src_port=%u dst_port=%u reason=%s",
			       (unsigned long long)d->guest_cid, op_name(h.op), h.src_port,
			       h.dst_port, strerror(-r));
		c = conn_lookup(&d->conns, h.dst_port, h.src_port);
		if (c)
			conn_close(d, c, true, "bad_packet");
		else if (h.op != VSOCK_OP_RST)
			ctl_queue(d, VSOCK_OP_RST, h.dst_port, h.src_port);
		return;
	}

	c = conn_lookup(&d->conns, h.dst_port, h.src_port);
	if (h.op == VSOCK_OP_REQUEST) {
		guest_request(d, &h);
		return;
	}
	if (!c) {
		if (h.op != VSOCK_OP_RST)
			ctl_queue(d, VSOCK_OP_RST, h.dst_port, h.src_port);
		return;
	}
	if (h.op == VSOCK_OP_RST) {
		conn_close(d, c, false, "guest_rst");
		return;
	}
	conn_update_peer(c, h.buf_alloc, h.fwd_cnt);
	switch (h.op) {
	case VSOCK_OP_RESPONSE:
		if (guest_response(d, c) < 0)
			return;
		break;
	case VSOCK_OP_RW:
		if (c->state != CONN_ESTABLISHED || c->guest_shut_send) {
			conn_close(d, c, true, "unexpected_rw");
			return;
		}
		r = conn_take_payload(c, ch, h.len);
		if (r < 0) {
			conn_close(d, c, true, r == -ENOBUFS ? "credit_exceeded" : "host_write");
			return;
		}
		break;
	case VSOCK_OP_SHUTDOWN:
		if (h.flags & VSOCK_SHUTDOWN_SEND)
			c->guest_shut_send = true;
		if (h.flags & VSOCK_SHUTDOWN_RCV)
			c->guest_shut_rcv = true;
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		c->owed |= CONN_TX_CREDIT;
		break;
	default: /* CREDIT_UPDATE: the peer fields are all it carries */
		break;
	}
	if (c->state != CONN_ESTABLISHED) {
		conn_close(d, c, true, "unexpected_op");
		return;
	}
	conn_settle(d, c);
}

void dev_process_tx(struct vsock_dev *d)
{
	struct vq *vq = &d->vq[VQ_TX];
	struct vq_chain ch;
	unsigned budget = 4 * VQ_MAX_SIZE;

	while (vq_ready(vq) && budget--) {
		int r = vq_pop(vq, &d->mem, &ch);

		if (r == 0)
			break;
		if (r == -EPROTO) {
			hv_log(HV_ERR,
			       "vm=cid:%llu step=tx reason=ring_index_corrupt action=stop_ring",
			       (unsigned long long)d->guest_cid);
			break;
		}
		if (r == -EBADMSG) {
			d->stats.bad_chains++;
			if (guest_log_ok(d))
				hv_log(HV_WARN,
				       "vm=cid:%llu step=tx head=%u reason=malformed_chain",
				       (unsigned long long)d->guest_cid, ch.head);
		} else {
			guest_packet(d, &ch);
		}
		vq_push(vq, ch.head, 0);
	}
	vq_notify(vq);
	dev_pump_rx(d);
}

/* Put header @h (and @len payload bytes already in place) into @ch and complete it. */
static void rx_complete(struct vsock_dev *d, const struct vq_chain *ch, struct vsock_hdr *h)
{
	uint8_t raw[VSOCK_HDR_LEN];

	vsock_hdr_encode(raw, h);
	vq_chain_write(ch, 0, raw, sizeof(raw));
	vq_push(&d->vq[VQ_RX], ch->head, VSOCK_HDR_LEN + h->len);
}

static struct vsock_hdr conn_hdr(const struct vsock_dev *d, struct conn *c, uint16_t op)
{
	c->fwd_cnt_sent = c->fwd_cnt;
	c->owed &= ~CONN_TX_CREDIT; /* every packet carries our credit */
	return (struct vsock_hdr){
	        .src_cid = VSOCK_HOST_CID,
	        .dst_cid = d->guest_cid,
	        .src_port = c->host_port,
	        .dst_port = c->guest_port,
	        .type = VSOCK_TYPE_STREAM,
	        .op = op,
	        .buf_alloc = CONN_BUF_ALLOC,
	        .fwd_cnt = c->fwd_cnt,
	};
}

/* Add the payload area of @ch (after the header), at most @max bytes, to @iov. */
static size_t chain_payload_iov(const struct vq_chain *ch, size_t max, struct iovec *iov,
                                unsigned *n, unsigned cap)
{
	size_t off = VSOCK_HDR_LEN, left = max;

	for (unsigned i = 0; i < ch->nw && left && *n < cap; i++) {
		size_t l = ch->wr[i].len;

		if (off >= l) {
			off -= l;
			continue;
		}
		size_t take = l - off < left ? l - off : left;
		iov[(*n)++] = (struct iovec){ch->wr[i].p + off, take};
		left -= take;
		off = 0;
	}
	return max - left;
}

/*
 * Read host data for @c into @ch and, when more credit and rx buffers are
 * there, into up to DEV_RX_BATCH - 1 further rx chains with the same read,
 * one RW packet per chain. Chains that get no data are given back. Returns 1
 * if a packet was produced, 0 if not, a negative errno for a dead socket.
 */
static int conn_rx_data(struct vsock_dev *d, struct conn *c, const struct vq_chain *ch)
{
	struct vq *vq = &d->vq[VQ_RX];
	struct iovec iov[DEV_RX_BATCH * 4];
	const struct vq_chain *chains[DEV_RX_BATCH];
	size_t cap[DEV_RX_BATCH], budget = conn_peer_credit(c);
	unsigned nch = 1, n = 0;
	ssize_t r;

	if (budget > DEV_RX_BATCH_BYTES)
		budget = DEV_RX_BATCH_BYTES;
	chains[0] = ch;
	cap[0] = chain_payload_iov(ch, budget < VSOCK_MAX_PAYLOAD ? budget : VSOCK_MAX_PAYLOAD, iov,
	                           &n, ARRAY_SIZE(iov));
	budget -= cap[0];
	if (n == 0) {
		/*
		 * A header-only buffer has no room for data, and readv() of no
		 * iovecs returns 0, which would read as EOF. Use the buffer for a
		 * credit update instead, so it is not handed back and re-popped.
		 */
		struct vsock_hdr h = conn_hdr(d, c, VSOCK_OP_CREDIT_UPDATE);

		rx_complete(d, ch, &h);
		return 1;
	}
	while (nch < DEV_RX_BATCH && budget && n < ARRAY_SIZE(iov)) {
		struct vq_chain *x = &d->rx_batch[nch];
		int p = vq_pop(vq, &d->mem, x);

		if (p == -EBADMSG || (p == 1 && (x->nr || x->wlen <= VSOCK_HDR_LEN))) {
			vq_unpop(vq); /* the main loop reports and returns it */
			break;
		}
		if (p != 1)
			break;
		chains[nch] = x;
		cap[nch] = chain_payload_iov(
		        x, budget < VSOCK_MAX_PAYLOAD ? budget : VSOCK_MAX_PAYLOAD, iov, &n,
		        ARRAY_SIZE(iov));
		budget -= cap[nch];
		nch++;
	}

	do
		r = readv(c->fd, iov, (int)n);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		for (unsigned i = 1; i < nch; i++)
			vq_unpop(vq);
		if (r == 0) {
			c->host_eof = true;
			c->owed |= CONN_TX_SHUTDOWN;
			return 0;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->readable = false;
			return 0;
		}
		return -errno;
	}

	/*
	 * A short read does not clear readiness: an EOF that arrived with the
	 * data raises no new edge, so only EAGAIN says the socket is drained.
	 */
	size_t rem = (size_t)r;
	unsigned used = 0;
	while (used < nch && rem) {
		struct vsock_hdr h = conn_hdr(d, c, VSOCK_OP_RW);
		size_t share = cap[used] < rem ? cap[used] : rem;

		h.len = (uint32_t)share;
		c->rx_cnt += (uint32_t)share;
		rx_complete(d, chains[used], &h);
		rem -= share;
		used++;
	}
	for (unsigned i = used; i < nch; i++)
		vq_unpop(vq); /* popped last, so given back in reverse without a gap */
	return 1;
}

/* Produce at most one packet from @c into @ch. Returns 1 if @ch was used. */
static int conn_rx(struct vsock_dev *d, struct conn *c, const struct vq_chain *ch)
{
	struct vsock_hdr h;

	if (c->owed & CONN_TX_REQUEST) {
		c->owed &= ~CONN_TX_REQUEST;
		h = conn_hdr(d, c, VSOCK_OP_REQUEST);
		rx_complete(d, ch, &h);
		return 1;
	}
	if (c->owed & CONN_TX_RESPONSE) {
		c->owed &= ~CONN_TX_RESPONSE;
		h = conn_hdr(d, c, VSOCK_OP_RESPONSE);
		rx_complete(d, ch, &h);
		return 1;
	}
	if (c->state == CONN_ESTABLISHED && c->readable && !c->host_eof && !c->guest_shut_rcv &&
	    conn_peer_credit(c) > 0) {
		int r = conn_rx_data(d, c, ch);

		if (r != 0)
			return r;
	}
	if (c->owed & CONN_TX_SHUTDOWN) {
		c->owed &= ~CONN_TX_SHUTDOWN;
		c->sent_shut_send = true;
		h = conn_hdr(d, c, VSOCK_OP_SHUTDOWN);
		h.flags = VSOCK_SHUTDOWN_SEND;
		rx_complete(d, ch, &h);
		return 1;
	}
	if (c->owed & CONN_TX_CREDIT) {
		h = conn_hdr(d, c, VSOCK_OP_CREDIT_UPDATE);
		rx_complete(d, ch, &h);
		return 1;
	}
	return 0;
}

void dev_pump_rx(struct vsock_dev *d)
{
	struct vq *vq = &d->vq[VQ_RX];
	struct vq_chain ch;
	unsigned budget = 4 * VQ_MAX_SIZE;

	while (vq_ready(vq) && budget--) {
		if (!d->ctl_len && !d->conns.act_head)
			break;
		int r = vq_pop(vq, &d->mem, &ch);

		if (r == 0)
			break;
		if (r == -EPROTO) {
			hv_log(HV_ERR,
			       "vm=cid:%llu step=rx reason=ring_index_corrupt action=stop_ring",
			       (unsigned long long)d->guest_cid);
			break;
		}
		if (r == -EBADMSG || ch.nr || ch.wlen < VSOCK_HDR_LEN) {
			d->stats.bad_chains++;
			if (guest_log_ok(d))
				hv_log(HV_WARN,
				       "vm=cid:%llu step=rx head=%u reason=malformed_chain",
				       (unsigned long long)d->guest_cid, ch.head);
			vq_push(vq, ch.head, 0);
			continue;
		}
		if (d->ctl_len) {
			struct vsock_hdr h = d->ctl[d->ctl_head];

			d->ctl_head = (d->ctl_head + 1) % DEV_CTL_MAX;
			d->ctl_len--;
			rx_complete(d, &ch, &h);
			continue;
		}
		struct conn *c = conn_next_active(&d->conns);
		if (!c) {
			vq_unpop(vq);
			break;
		}
		r = conn_rx(d, c, &ch);
		if (r < 0) {
			vq_unpop(vq);
			conn_close(d, c, true, "host_read");
			continue;
		}
		if (r == 0)
			vq_unpop(vq);
		if (c->state == CONN_LOCAL_INIT && r == 1)
			c->deadline_ms = d->now_ms + DEV_CONNECT_TIMEOUT_MS;
		conn_settle(d, c);
	}
	vq_notify(vq);
}

static void host_connect_line(struct vsock_dev *d, struct conn *c)
{
	/* One byte at a time, so no payload after the LF is consumed. */
	while (c->line_len < sizeof(c->line)) {
		char ch;
		ssize_t n = read(c->fd, &ch, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(d, c, false, "client_gone");
			return;
		}
		if (ch != '\n') {
			c->line[c->line_len++] = ch;
			continue;
		}
		uint32_t port;
		char esc[64];

		if (vsock_parse_connect(c->line, c->line_len, &port) < 0) {
			hv_log(HV_WARN, "vm=cid:%llu step=host_connect reason=bad_line line=\"%s\"",
			       (unsigned long long)d->guest_cid,
			       hv_log_escape(esc, sizeof(esc), c->line, c->line_len, 32));
			conn_close(d, c, false, "bad_connect");
			return;
		}
		c->guest_port = port;
		c->host_port = conn_alloc_host_port(&d->conns, port);
		conn_hash_add(&d->conns, c);
		c->state = CONN_LOCAL_INIT;
		c->owed = CONN_TX_REQUEST;
		c->readable = true; /* data may already follow the line */
		c->deadline_ms = d->now_ms + DEV_CONNECT_TIMEOUT_MS;
		conn_activate(&d->conns, c);
		return;
	}
	hv_log(HV_WARN, "vm=cid:%llu step=host_connect reason=line_too_long",
	       (unsigned long long)d->guest_cid);
	conn_close(d, c, false, "bad_connect");
}

void dev_conn_event(struct vsock_dev *d, struct conn *c, uint32_t events)
{
	if (c->ep_kind != EP_CONN)
		return; /* closed earlier in this epoll batch */
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->readable = true;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		c->writable = true;
	if (c->state == CONN_HOST_CONNECT) {
		if (c->readable)
			host_connect_line(d, c);
		return;
	}
	if (conn_flush(c) < 0) {
		conn_close(d, c, true, "host_write");
		return;
	}
	conn_settle(d, c);
}

int dev_accept(struct vsock_dev *d, int lfd)
{
	for (;;) {
		struct conn *c;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
			    errno == ECONNABORTED)
				return 0;
			return -errno;
		}
		if (conn_new(&d->conns, fd, &c) < 0) {
			close(fd);
			hv_log(HV_WARN, "vm=cid:%llu step=accept reason=too_many_connections",
			       (unsigned long long)d->guest_cid);
			continue;
		}
		c->state = CONN_HOST_CONNECT;
		c->deadline_ms = d->now_ms + DEV_CONNECT_TIMEOUT_MS;
		if (conn_watch(d, c) < 0)
			conn_close(d, c, false, "epoll");
	}
}

void dev_tick(struct vsock_dev *d, uint64_t now_ms)
{
	struct conn *c = d->conns.head, *next;

	d->now_ms = now_ms;
	for (; c; c = next) {
		next = c->next;
		if (c->state == CONN_ESTABLISHED || c->deadline_ms > now_ms)
			continue;
		/* An unsent REQUEST needs no RST; a sent one does. */
		conn_close(d, c, !(c->owed & CONN_TX_REQUEST), "connect_timeout");
	}
	dev_pump_rx(d);
}

void dev_reset_conns(struct vsock_dev *d, const char *reason)
{
	unsigned n = d->conns.count;

	while (d->conns.head)
		conn_free(&d->conns, d->conns.head);
	d->ctl_len = 0;
	d->ctl_head = 0;
	if (n)
		hv_log(HV_NOTICE, "vm=cid:%llu step=reset connections=%u reason=%s",
		       (unsigned long long)d->guest_cid, n, reason);
}

void dev_reap(struct vsock_dev *d)
{
	conn_reap(&d->conns);
}
