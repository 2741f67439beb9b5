// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz hvipe-vsockd's vhost-user message handling: a sequence of front-end
 * messages (with file descriptors) goes through a socketpair into
 * vu_session_handle(), and after each one both rings are kicked, so memory
 * tables, ring sizes and addresses chosen by the input are walked for real.
 *
 * Input: u16 image length L (little-endian, capped at 16 KiB), L bytes copied
 * to the start of a 64 KiB memfd standing for guest RAM, then messages:
 *   u8 fdspec   bits 0-1: number of fds (0..3); bit 2+i set: fd i is the guest
 *               memfd, else a fresh eventfd
 *   12 bytes    request, flags, size (host-endian, as on the wire)
 *   payload     min(size, what is left, 4096) bytes
 * A payload shorter than the header claims is a short message (EPROTO).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../host/vsockd/dev.h"
#include "../../host/vsockd/vhost_user.h"
#include "util/log.h"

#define GUEST_MEM (64u * 1024)
#define IMAGE_MAX (16u * 1024)
#define MSG_MAX   4096u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void send_one(int fd, const uint8_t *hdr, const uint8_t *p, size_t n, const int *fds,
                     unsigned nfds)
{
	uint8_t buf[12 + MSG_MAX];
	union {
		char b[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {buf, 12 + n};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	memcpy(buf, hdr, 12);
	memcpy(buf + 12, p, n);
	if (nfds) {
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0) {
		/* the back-end side is gone: the handler sees that */
	}
}

static void drain(int fd)
{
	uint8_t b[8192];

	while (recv(fd, b, sizeof(b), MSG_DONTWAIT) > 0) {
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vsock_dev d;
	static struct vu_session s;
	static bool init;
	int sv[2], memfd;
	size_t off = 2, img;

	if (!init) {
		hv_log_init("fuzz_vhost_user", HV_ERR);
		hv_log_set_level((enum hv_log_level)0);
		init = true;
	}
	if (size < 2)
		return 0;
	img = (size_t)data[0] | (size_t)data[1] << 8;
	if (img > IMAGE_MAX)
		img = IMAGE_MAX;
	if (img > size - off)
		img = size - off;
	memfd = memfd_create("guest", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, GUEST_MEM) < 0 ||
	    pwrite(memfd, data + off, img, 0) != (ssize_t)img)
		abort();
	off += img;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (dev_init(&d, 3, "/nonexistent/hvipe-fuzz/v", -1) < 0)
		abort();
	vu_session_init(&s, sv[1], &d);

	while (size - off >= 13) {
		uint8_t spec = data[off];
		uint32_t claimed;
		int fds[3];
		unsigned nfds = spec & 3u;

		memcpy(&claimed, data + off + 9, 4);
		size_t n = size - off - 13;
		if (n > claimed)
			n = claimed;
		if (n > MSG_MAX)
			n = MSG_MAX;
		for (unsigned i = 0; i < nfds; i++)
			fds[i] = spec & (4u << i) ? dup(memfd) : eventfd(0, EFD_NONBLOCK);
		send_one(sv[0], data + off + 1, data + off + 13, n, fds, nfds);
		for (unsigned i = 0; i < nfds; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		off += 13 + n;

		int r = vu_session_handle(&s);
		drain(sv[0]);
		if (r < 0)
			break;
		vu_session_kick(&s, VQ_TX);
		vu_session_kick(&s, VQ_RX);
	}

	vu_session_close(&s);
	close(sv[0]);
	close(memfd);
	return 0;
}
