/* SPDX-License-Identifier: Apache-2.0 */
#include "ctl_daemon.h"
#include "ctl.h"
#include "hv_limits.h"
#include "proto/frame.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/log.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CTL_TIMEOUT_MS 30000

const char *ctl_socket_path;

static const char *socket_path(void)
{
	const char *env = getenv("HVIPE_SOCKET");

	if (ctl_socket_path)
		return ctl_socket_path;
	return env && env[0] ? env : CTL_DEFAULT_SOCKET;
}

static int ctl_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int recv_frame(int fd, struct hv_buf *rx, const uint8_t **body, size_t *n)
{
	struct timespec t0, t1;
	uint8_t chunk[65536];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		size_t used;
		int r = hv_frame_split(rx->data, rx->len, HV_CTL_MAX_FRAME, body, n, &used);
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long left;
		ssize_t got;

		if (r != -EAGAIN)
			return r;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = CTL_TIMEOUT_MS -
		       ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ETIMEDOUT;
		got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got < 0 ? -errno : -ECONNRESET;
		r = hv_buf_append(rx, chunk, (size_t)got);
		if (r < 0)
			return r;
	}
}

int ctl_call(Hvipe__Ctl__Request *rq, Hvipe__Ctl__Response **rs)
{
	return ctl_call_vm(rq, rs, NULL);
}

/* Print hvipe-hostd's refusal once, in words, naming the VM it did not know. */
static void print_refusal(const Hvipe__Ctl__Response *resp, const char *vm, int code)
{
	const char *why = strerror(resp->err ? (int)resp->err : EPROTO);
	char esc[300];

	if (resp->err == ENOENT && vm && vm[0] &&
	    (!resp->detail[0] || !strcmp(resp->detail, why) ||
	     !strcmp(resp->detail, "no such VM"))) {
		ctl_fail(CTL_INVALID, "no VM named '%s'",
		         hv_log_escape(esc, sizeof(esc), vm, strlen(vm), 200));
		return;
	}
	if (!resp->detail[0] || !strcmp(resp->detail, why))
		ctl_fail(code, "hvipe-hostd refused: %s", why);
	else
		ctl_fail(code, "hvipe-hostd refused: %s (%s)", resp->detail, why);
}

int ctl_call_vm(Hvipe__Ctl__Request *rq, Hvipe__Ctl__Response **rs, const char *vm)
{
	const char *path = socket_path();
	_cleanup_close_ int fd = -1;
	_cleanup_free_ uint8_t *body = NULL;
	struct hv_buf tx, rx;
	const uint8_t *rb;
	size_t n, rn;
	Hvipe__Ctl__Response *resp;
	int r;

	fd = ctl_connect(path);
	if (fd < 0)
		return ctl_fail(CTL_UNREACHABLE, "cannot reach hvipe-hostd at %s: %s", path,
		                strerror(-fd));
	rq->seq = 1;
	n = hvipe__ctl__request__get_packed_size(rq);
	body = malloc(n ? n : 1);
	if (!body)
		return ctl_fail(CTL_SYSTEM, "out of memory");
	hvipe__ctl__request__pack(rq, body);
	hv_buf_init(&tx, HV_PROTO_MAX_FRAME + 4);
	r = hv_frame_put(&tx, body, n);
	if (r == 0)
		r = send_all(fd, tx.data, tx.len);
	hv_buf_free(&tx);
	/* A daemon that refuses us (too many clients) answers and closes before
	 * reading: its answer may be waiting even though sending failed. */
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		return ctl_fail(r == -EMSGSIZE ? CTL_INVALID : CTL_UNREACHABLE,
		                "sending to hvipe-hostd: %s", strerror(-r));
	hv_buf_init(&rx, HV_CTL_MAX_FRAME + 4 + 65536);
	r = recv_frame(fd, &rx, &rb, &rn);
	if (r < 0) {
		hv_buf_free(&rx);
		return ctl_fail(CTL_UNREACHABLE, "no answer from hvipe-hostd at %s: %s", path,
		                strerror(-r));
	}
	resp = hvipe__ctl__response__unpack(NULL, rn, rb);
	hv_buf_free(&rx);
	if (!resp)
		return ctl_fail(CTL_SYSTEM, "hvipe-hostd sent an answer that does not decode");
	if (resp->ref_seq != rq->seq || resp->err != 0) {
		r = resp->err == EIO || resp->err == ENOMEM ? CTL_SYSTEM
		    : resp->err == EBUSY                    ? CTL_UNREACHABLE
		                                            : CTL_INVALID;
		print_refusal(resp, vm, r);
		hvipe__ctl__response__free_unpacked(resp, NULL);
		return r;
	}
	*rs = resp;
	return CTL_OK;
}

void ctl_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}
