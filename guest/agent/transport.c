// SPDX-License-Identifier: Apache-2.0
#include "transport.h"
#include "hv_limits.h"
#include "util/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static int parse_u32(const char *s, const char *end, uint32_t *v)
{
	uint64_t x = 0;

	if (s == end)
		return -EINVAL;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		x = x * 10 + (uint64_t)(*s - '0');
		if (x > UINT32_MAX)
			return -EINVAL;
	}
	*v = (uint32_t)x;
	return 0;
}

int ga_addr_parse(const char *s, struct ga_addr *out)
{
	struct ga_addr a = {0};

	if (!strncmp(s, "unix:", 5)) {
		if (!s[5] || strlen(s + 5) >= sizeof(a.path))
			return -EINVAL;
		a.is_unix = true;
		strcpy(a.path, s + 5);
	} else if (!strncmp(s, "vsock:", 6)) {
		const char *c = s + 6, *colon = strchr(c, ':');

		if (!colon || parse_u32(c, colon, &a.cid) < 0 ||
		    parse_u32(colon + 1, colon + 1 + strlen(colon + 1), &a.port) < 0)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	*out = a;
	return 0;
}

int ga_connect(const struct ga_addr *a, int timeout_ms)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct sockaddr_vm vm = {.svm_family = AF_VSOCK};
	const struct sockaddr *sa;
	socklen_t salen;
	_cleanup_close_ int fd = -1;
	struct pollfd pfd;
	int err = 0, r, fl;
	socklen_t elen = sizeof(err);

	if (a->is_unix) {
		strcpy(un.sun_path, a->path);
		sa = (const struct sockaddr *)&un;
		salen = sizeof(un);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	} else {
		vm.svm_cid = a->cid;
		vm.svm_port = a->port;
		sa = (const struct sockaddr *)&vm;
		salen = sizeof(vm);
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	}
	if (fd < 0)
		return errno == EAFNOSUPPORT ? -ENODEV : -errno;
	r = connect(fd, sa, salen);
	if (r < 0 && errno != EINPROGRESS && errno != EAGAIN)
		return -errno;
	if (r < 0) {
		pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
		do
			r = poll(&pfd, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			return -errno;
		if (err)
			return -err;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return -errno;
	return TAKE_FD(fd);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

void ga_backoff_init(struct ga_backoff *b, uint32_t cap_ms, uint64_t seed)
{
	b->cap_ms = cap_ms < 100 ? 100 : cap_ms;
	b->next_ms = 100;
	b->rng = seed;
}

uint32_t ga_backoff_next(struct ga_backoff *b)
{
	uint32_t d = b->next_ms, half = d / 2;
	uint32_t wait = half + (uint32_t)(xorshift(&b->rng) % (uint64_t)(d - half + 1));

	b->next_ms = d >= b->cap_ms / 2 ? b->cap_ms : d * 2;
	return wait;
}

void ga_backoff_reset(struct ga_backoff *b)
{
	b->next_ms = 100;
}

int ga_cmdline_parse(const char *text, size_t len, struct ga_cmdline *out)
{
	struct ga_cmdline c = {.port = HV_DEFAULT_PORT, .fail_closed = false};
	size_t i = 0;

	while (i < len) {
		size_t start;

		while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t'))
			i++;
		start = i;
		while (i < len && text[i] != ' ' && text[i] != '\n' && text[i] != '\t')
			i++;
		if (i - start > 11 && !memcmp(text + start, "hvipe.port=", 11)) {
			if (parse_u32(text + start + 11, text + i, &c.port) < 0 || c.port == 0)
				return -EINVAL;
		} else if (i - start == 17 && !memcmp(text + start, "hvipe.fail=closed", 17)) {
			c.fail_closed = true;
		} else if (i - start == 15 && !memcmp(text + start, "hvipe.fail=open", 15)) {
			c.fail_closed = false;
		}
	}
	*out = c;
	return 0;
}
