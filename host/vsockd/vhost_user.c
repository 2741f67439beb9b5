// SPDX-License-Identifier: Apache-2.0
/* vhost-user message handling for the vsock device; see vhost_user.h. */
#include "vhost_user.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

enum {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_GET_CONFIG = 24,
};

#define VU_FLAG_VERSION    1u
#define VU_FLAG_REPLY      (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)
#define VU_MAX_PAYLOAD     4096u
#define VU_MAX_FDS         8u
#define VU_VRING_NOFD      (1ull << 8)

struct vu_msg {
	uint32_t request, flags, size;
	uint8_t payload[VU_MAX_PAYLOAD];
	int fds[VU_MAX_FDS];
	unsigned nfds;
};

void vu_session_init(struct vu_session *s, int fd, struct vsock_dev *dev)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->dev = dev;
	for (unsigned i = 0; i < 2; i++)
		s->kick_tag[i] = (struct vu_kick_tag){.ep_kind = EP_KICK, .idx = i};
}

static void close_fds(struct vu_msg *m)
{
	for (unsigned i = 0; i < m->nfds; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	m->nfds = 0;
}

static int read_msg(int fd, struct vu_msg *m)
{
	uint32_t hdr[3];
	struct iovec iov = {hdr, sizeof(hdr)};
	union {
		char buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = {
	        .msg_iov = &iov,
	        .msg_iovlen = 1,
	        .msg_control = ctl.buf,
	        .msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n;

	m->nfds = 0;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (size_t i = 0; i < k && m->nfds < VU_MAX_FDS; i++)
			memcpy(&m->fds[m->nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		close_fds(m);
		return -EPROTO;
	}
	if ((size_t)n != sizeof(hdr)) {
		close_fds(m);
		return -EPROTO;
	}
	m->request = hdr[0];
	m->flags = hdr[1];
	m->size = hdr[2];
	if ((m->flags & 3u) != VU_FLAG_VERSION || m->size > VU_MAX_PAYLOAD) {
		close_fds(m);
		return -EPROTO;
	}
	if (m->size) {
		do
			n = recv(fd, m->payload, m->size, MSG_WAITALL);
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)m->size) {
			close_fds(m);
			return n == 0 ? -ECONNRESET : -EPROTO;
		}
	}
	return 0;
}

static int send_reply(int fd, uint32_t request, const void *p, uint32_t size)
{
	uint8_t buf[12 + VU_MAX_PAYLOAD];
	uint32_t hdr[3] = {request, VU_FLAG_VERSION | VU_FLAG_REPLY, size};

	memcpy(buf, hdr, sizeof(hdr));
	memcpy(buf + 12, p, size);
	ssize_t n = send(fd, buf, 12 + size, MSG_NOSIGNAL);

	return n == (ssize_t)(12 + size) ? 0 : -EPIPE;
}

static int reply_u64(int fd, uint32_t request, uint64_t v)
{
	return send_reply(fd, request, &v, sizeof(v));
}

static void ring_unwatch(struct vu_session *s, unsigned idx)
{
	struct vq *vq = &s->dev->vq[idx];

	if (vq->kick_fd >= 0) {
		if (s->dev->epfd >= 0)
			epoll_ctl(s->dev->epfd, EPOLL_CTL_DEL, vq->kick_fd, NULL);
		close(vq->kick_fd);
		vq->kick_fd = -1;
	}
}

static void guest_reset(struct vu_session *s, const char *why)
{
	if (s->reset_done)
		return;
	s->reset_done = true;
	dev_reset_conns(s->dev, why);
}

static int set_mem_table(struct vu_session *s, struct vu_msg *m)
{
	struct vsock_dev *d = s->dev;
	uint32_t n;

	if (m->size < 8)
		return -EBADMSG;
	memcpy(&n, m->payload, 4);
	if (n == 0 || n > VU_MAX_REGIONS || m->size < 8 + 32 * n || m->nfds != n)
		return -EBADMSG;

	struct vu_mem mem = {0};
	for (uint32_t i = 0; i < n; i++) {
		uint64_t f[4];
		struct vu_region *r = &mem.r[i];

		memcpy(f, m->payload + 8 + 32 * i, sizeof(f));
		r->gpa = f[0];
		r->size = f[1];
		r->qva = f[2];
		if (r->size == 0 || f[3] > SIZE_MAX - r->size) {
			vu_mem_clear(&mem);
			return -EBADMSG;
		}
		r->map_len = r->size + f[3];
		/*
		 * Pages past the end of a file fault with SIGBUS when the guest's
		 * rings point there: a region must lie inside its file. (A front-end
		 * that truncates the file afterwards can still do that; it owns the VM.)
		 */
		struct stat st;
		if (fstat(m->fds[i], &st) < 0 ||
		    (S_ISREG(st.st_mode) && (uint64_t)st.st_size < r->map_len)) {
			vu_mem_clear(&mem);
			return -EINVAL;
		}
		r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		              m->fds[i], 0);
		if (r->map == MAP_FAILED) {
			int e = errno;

			r->map = NULL;
			vu_mem_clear(&mem);
			return -e;
		}
		r->host = (uint8_t *)r->map + f[3];
		mem.nregions = i + 1;
	}
	close_fds(m);
	vu_mem_clear(&d->mem);
	d->mem = mem;
	for (unsigned i = 0; i < 2; i++)
		if (d->vq[i].addr_set)
			vq_map(&d->vq[i], &d->mem);
	hv_log(HV_INFO, "vm=cid:%llu step=mem_table regions=%u", (unsigned long long)d->guest_cid,
	       n);
	return 0;
}

static int vring_state(const struct vu_msg *m, uint32_t *idx, uint32_t *num)
{
	if (m->size < 8)
		return -EBADMSG;
	memcpy(idx, m->payload, 4);
	memcpy(num, m->payload + 4, 4);
	return *idx < 2 ? 0 : -ERANGE;
}

static int set_vring_addr(struct vu_session *s, const struct vu_msg *m)
{
	uint32_t idx;
	uint64_t a[3];

	if (m->size < 40)
		return -EBADMSG;
	memcpy(&idx, m->payload, 4);
	if (idx >= 2)
		return -ERANGE;
	memcpy(a, m->payload + 8, sizeof(a)); /* desc, used, avail */

	struct vq *vq = &s->dev->vq[idx];
	if (s->ran[idx] && a[0] != s->prev_desc[idx])
		guest_reset(s, "guest_reset:new_ring_address");
	s->prev_desc[idx] = a[0];
	vq->desc_qva = a[0];
	vq->used_qva = a[1];
	vq->avail_qva = a[2];
	vq->addr_set = true;
	vq->broken = false;
	if (vq_map(vq, &s->dev->mem) < 0)
		return -EFAULT;
	vq->used_idx = le16toh(__atomic_load_n((uint16_t *)(vq->used + 2), __ATOMIC_ACQUIRE));
	return 0;
}

static int set_vring_fd(struct vu_session *s, struct vu_msg *m)
{
	uint64_t v;
	int fd = -1;

	if (m->size < 8)
		return -EBADMSG;
	memcpy(&v, m->payload, 8);
	unsigned idx = v & 0xff;
	if (!(v & VU_VRING_NOFD)) {
		if (m->nfds != 1)
			return -EBADMSG;
		fd = m->fds[0];
		m->nfds = 0;
	}
	if (idx >= 2) {
		if (fd >= 0)
			close(fd);
		return -ERANGE;
	}

	struct vq *vq = &s->dev->vq[idx];
	if (m->request == VU_SET_VRING_CALL) {
		if (vq->call_fd >= 0)
			close(vq->call_fd);
		vq->call_fd = fd;
		return 0;
	}
	if (m->request == VU_SET_VRING_ERR) {
		if (vq->err_fd >= 0)
			close(vq->err_fd);
		vq->err_fd = fd;
		return 0;
	}
	ring_unwatch(s, idx);
	vq->kick_fd = fd;
	vq->started = true;
	if (fd >= 0 && s->dev->epfd >= 0) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->kick_tag[idx]};

		if (epoll_ctl(s->dev->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
	}
	return 0;
}

static void rings_changed(struct vu_session *s)
{
	/* Kicks may have been consumed while a ring was disabled: rescan both. */
	dev_process_tx(s->dev);
	dev_pump_rx(s->dev);
}

static int dispatch(struct vu_session *s, struct vu_msg *m, bool *replied)
{
	struct vsock_dev *d = s->dev;
	uint32_t idx, num;
	uint64_t v;
	int r;

	*replied = false;
	switch (m->request) {
	case VU_GET_FEATURES:
		*replied = true;
		return reply_u64(s->fd, m->request, VU_FEATURES);
	case VU_GET_PROTOCOL_FEATURES:
		*replied = true;
		return reply_u64(s->fd, m->request, VU_PROTOCOL_FEATURES);
	case VU_SET_FEATURES:
	case VU_SET_PROTOCOL_FEATURES:
		if (m->size < 8)
			return -EBADMSG;
		memcpy(&v, m->payload, 8);
		if (m->request == VU_SET_PROTOCOL_FEATURES) {
			s->protocol_features = v & VU_PROTOCOL_FEATURES;
			return 0;
		}
		if (v & ~VU_FEATURES)
			return -EOPNOTSUPP;
		s->features = v;
		/* Without PROTOCOL_FEATURES there is no SET_VRING_ENABLE: rings start enabled. */
		if (!(v & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
			d->vq[0].enabled = d->vq[1].enabled = true;
		return 0;
	case VU_SET_OWNER:
	case VU_RESET_OWNER:
		return 0;
	case VU_SET_MEM_TABLE:
		return set_mem_table(s, m);
	case VU_SET_VRING_NUM:
		if ((r = vring_state(m, &idx, &num)) < 0)
			return r;
		if (num == 0 || num > VQ_MAX_SIZE || (num & (num - 1)))
			return -EINVAL;
		d->vq[idx].num = num;
		/*
		 * The ring was mapped for the old size: remap, which leaves it
		 * unmapped if it no longer fits. Like a new memory table, that is
		 * not an error yet: QEMU resends NUM before ADDR on every start.
		 */
		if (d->vq[idx].addr_set)
			vq_map(&d->vq[idx], &d->mem);
		return 0;
	case VU_SET_VRING_ADDR:
		return set_vring_addr(s, m);
	case VU_SET_VRING_BASE:
		if ((r = vring_state(m, &idx, &num)) < 0)
			return r;
		if (s->ran[idx] && (uint16_t)num != s->stopped_at[idx])
			guest_reset(s, "guest_reset:ring_base_changed");
		d->vq[idx].last_avail = (uint16_t)num;
		return 0;
	case VU_GET_VRING_BASE: {
		uint32_t st[2];

		if ((r = vring_state(m, &idx, &num)) < 0)
			return r;
		/* Stop only: indices and host connections are kept for a resume. */
		struct vq *vq = &d->vq[idx];
		vq->started = false;
		ring_unwatch(s, idx);
		s->ran[idx] = true;
		s->stopped_at[idx] = vq->last_avail;
		s->reset_done = false;
		st[0] = idx;
		st[1] = vq->last_avail;
		*replied = true;
		return send_reply(s->fd, m->request, st, sizeof(st));
	}
	case VU_SET_VRING_KICK:
		if ((r = set_vring_fd(s, m)) < 0)
			return r;
		rings_changed(s);
		return 0;
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR:
		return set_vring_fd(s, m);
	case VU_SET_VRING_ENABLE:
		if ((r = vring_state(m, &idx, &num)) < 0)
			return r;
		d->vq[idx].enabled = num != 0;
		if (num)
			rings_changed(s);
		return 0;
	case VU_GET_CONFIG: {
		uint32_t off, size;
		uint8_t out[12 + 8] = {0};

		if (m->size < 12)
			return -EBADMSG;
		memcpy(&off, m->payload, 4);
		memcpy(&size, m->payload + 4, 4);
		if (off > 8 || size > 8 - off || m->size != 12 + size)
			return -EINVAL;
		uint64_t cid = htole64(d->guest_cid);
		memcpy(out, m->payload, 12);
		memcpy(out + 12, (uint8_t *)&cid + off, size);
		*replied = true;
		return send_reply(s->fd, m->request, out, 12 + size);
	}
	default:
		return -EOPNOTSUPP;
	}
}

int vu_session_handle(struct vu_session *s)
{
	struct vu_msg m;
	bool replied;
	int r = read_msg(s->fd, &m);

	if (r < 0)
		return r;
	r = dispatch(s, &m, &replied);
	close_fds(&m);
	if (r < 0)
		hv_log(r == -EOPNOTSUPP ? HV_WARN : HV_ERR,
		       "vm=cid:%llu step=vhost_user request=%u reason=%s",
		       (unsigned long long)s->dev->guest_cid, m.request, strerror(-r));
	if (!replied && (m.flags & VU_FLAG_NEED_REPLY) &&
	    (s->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK)))
		return reply_u64(s->fd, m.request, r < 0 ? 1 : 0);
	/* A failed request QEMU did not wait for cannot be reported: keep going. */
	return r == -EPIPE ? r : 0;
}

void vu_session_kick(struct vu_session *s, unsigned idx)
{
	struct vq *vq = &s->dev->vq[idx];
	uint64_t v;

	if (vq->kick_fd >= 0 && read(vq->kick_fd, &v, sizeof(v)) < 0) {
		/* Spurious wakeup: nothing to drain. */
	}
	if (idx == VQ_TX)
		dev_process_tx(s->dev);
	else
		dev_pump_rx(s->dev);
}

void vu_session_close(struct vu_session *s)
{
	struct vsock_dev *d = s->dev;

	for (unsigned i = 0; i < 2; i++) {
		ring_unwatch(s, i);
		if (d->vq[i].call_fd >= 0)
			close(d->vq[i].call_fd);
		if (d->vq[i].err_fd >= 0)
			close(d->vq[i].err_fd);
		vq_init(&d->vq[i]);
	}
	dev_reset_conns(d, "frontend_closed");
	vu_mem_clear(&d->mem);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
