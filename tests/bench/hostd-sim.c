/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hostd-sim: many simulated guests in one process, multiplexed with epoll,
 * against one hvipe-hostd over hybrid-vsock Unix sockets. Used by the bench
 * (N = 1,000 and 10,000 at the daemon's heartbeat) and by the integration
 * test of 1,000 concurrent clients.
 *
 * --register first creates the image and the N VMs through the control
 * socket. Then every guest connects, attests, applies its policy and answers
 * each challenge. Latency is measured per challenge from sending Evidence to
 * receiving the Verdict. At the end one line:
 *   sim guests=N attested=A verdicts=V untrusted=U p50_ms=X p99_ms=Y dropped=D
 */
#include "control.pb-c.h"
#include "hv_limits.h"
#include "proto/frame.h"
#include "../integration/simguest.h"
#include "util/cleanup.h"
#include "util/hex.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct guest {
	int fd;
	uint64_t seq;
	uint64_t sent_ns;
	bool trusted_once;
	bool dead;
	struct sim_guest g;
	struct hv_buf rx;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int unix_connect(const char *path, bool nonblock)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* One control request, one answer; returns the answer's err (positive). */
static int ctl(int fd, Hvipe__Ctl__Request *rq)
{
	static uint64_t cseq;
	uint8_t body[4096], hdr[4];
	struct hv_buf rx;
	size_t n, bn, used;
	const uint8_t *b;
	int err = EIO;

	rq->seq = ++cseq;
	n = hvipe__ctl__request__get_packed_size(rq);
	if (n > sizeof(body))
		return E2BIG;
	hvipe__ctl__request__pack(rq, body);
	hdr[0] = (uint8_t)(n >> 24);
	hdr[1] = (uint8_t)(n >> 16);
	hdr[2] = (uint8_t)(n >> 8);
	hdr[3] = (uint8_t)n;
	if (write(fd, hdr, 4) != 4 || write(fd, body, n) != (ssize_t)n)
		return EIO;
	hv_buf_init(&rx, HV_PROTO_MAX_FRAME + 65536);
	for (;;) {
		uint8_t chunk[65536];
		ssize_t got;

		if (hv_frame_split(rx.data, rx.len, HV_PROTO_MAX_FRAME, &b, &bn, &used) == 0) {
			Hvipe__Ctl__Response *rs = hvipe__ctl__response__unpack(NULL, bn, b);

			err = rs ? rs->err : EBADMSG;
			if (rs)
				hvipe__ctl__response__free_unpacked(rs, NULL);
			break;
		}
		got = read(fd, chunk, sizeof(chunk));
		if (got <= 0 || hv_buf_append(&rx, chunk, (size_t)got) < 0)
			break;
	}
	hv_buf_free(&rx);
	return err;
}

/* Extra images approved for every VM: "<prefix>-x<i>", root hash from i. */
static int extra_images;

static int add_extra(int fd, const char *prefix, const char *vm)
{
	Hvipe__Ctl__Request rq = HVIPE__CTL__REQUEST__INIT;
	char name[80], hex[65];
	int err;

	for (int i = 0; i < extra_images; i++) {
		Hvipe__Ctl__ImageAdd ia = HVIPE__CTL__IMAGE_ADD__INIT;
		Hvipe__Ctl__ImageVm ap = HVIPE__CTL__IMAGE_VM__INIT;

		snprintf(name, sizeof(name), "%s-x%d", prefix, i);
		snprintf(hex, sizeof(hex), "%064x", i + 0x100000);
		ia.name = name;
		ia.root_hash = hex;
		rq.body_case = HVIPE__CTL__REQUEST__BODY_IMAGE_ADD;
		rq.image_add = &ia;
		err = ctl(fd, &rq);
		if (err && err != EEXIST)
			return err;
		ap.image = name;
		ap.vm = (char *)vm;
		rq.body_case = HVIPE__CTL__REQUEST__BODY_IMAGE_APPROVE;
		rq.image_approve = &ap;
		err = ctl(fd, &rq);
		if (err)
			return err;
	}
	return 0;
}

static int do_register(const char *ctl_path, const char *dir, const char *prefix, int n,
                       const char *hash)
{
	Hvipe__Ctl__Request rq = HVIPE__CTL__REQUEST__INIT;
	Hvipe__Ctl__ImageAdd ia = HVIPE__CTL__IMAGE_ADD__INIT;
	char name[64], uds[256], img[80];
	int fd = unix_connect(ctl_path, false), err;

	if (fd < 0) {
		fprintf(stderr, "hostd-sim: control socket %s: %s\n", ctl_path, strerror(-fd));
		return -1;
	}
	snprintf(img, sizeof(img), "%s-img", prefix);
	ia.name = img;
	ia.root_hash = (char *)hash;
	rq.body_case = HVIPE__CTL__REQUEST__BODY_IMAGE_ADD;
	rq.image_add = &ia;
	err = ctl(fd, &rq);
	if (err && err != EEXIST)
		goto fail;
	for (int i = 0; i < n; i++) {
		Hvipe__Ctl__VmAdd va = HVIPE__CTL__VM_ADD__INIT;
		Hvipe__Ctl__ImageVm ap = HVIPE__CTL__IMAGE_VM__INIT;

		snprintf(name, sizeof(name), "%s%d", prefix, i);
		snprintf(uds, sizeof(uds), "%s/%s%d", dir, prefix, i);
		va.name = name;
		va.uds = uds;
		rq.body_case = HVIPE__CTL__REQUEST__BODY_VM_ADD;
		rq.vm_add = &va;
		err = ctl(fd, &rq);
		if (err && err != EEXIST)
			goto fail;
		ap.image = img;
		ap.vm = name;
		rq.body_case = HVIPE__CTL__REQUEST__BODY_IMAGE_APPROVE;
		rq.image_approve = &ap;
		err = ctl(fd, &rq);
		if (err == 0)
			err = add_extra(fd, prefix, name);
		if (err)
			goto fail;
	}
	close(fd);
	return 0;
fail:
	fprintf(stderr, "hostd-sim: registration refused: %s\n", strerror(err));
	close(fd);
	return -1;
}

static int send_env(struct guest *g, hv_envelope *env)
{
	struct hv_buf b;
	int r;

	env->seq = ++g->seq;
	hv_buf_init(&b, HV_PROTO_MAX_FRAME + 4);
	r = hv_frame_encode(env, &b);
	/* Small frames on an idle socket: a short write means the host stopped
	 * reading, which the bench treats as a dropped guest. */
	if (r == 0 && send(g->fd, b.data, b.len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)b.len)
		r = -EIO;
	hv_buf_free(&b);
	return r;
}

static int send_hello(struct guest *g)
{
	hv_envelope env = HVIPE__ENVELOPE__INIT;
	Hvipe__Hello h = HVIPE__HELLO__INIT;

	h.protocol_version = 1;
	h.capabilities = HVIPE__CAPABILITY__CAP_AUDIT | HVIPE__CAPABILITY__CAP_POLICY_UPDATE;
	h.agent_version = (char *)"hostd-sim";
	h.boot_id.data = g->g.boot_id;
	h.boot_id.len = 16;
	h.kernel_release = (char *)"6.12.0-sim";
	h.mode = HVIPE__AGENT_MODE__AGENT_MODE_DAEMON;
	env.body_case = HVIPE__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	return send_env(g, &env);
}

static uint64_t *lat;
static size_t n_lat, cap_lat;
static unsigned long verdicts, untrusted;

static int on_frame(struct guest *g, const hv_envelope *in, bool measure)
{
	hv_envelope env = HVIPE__ENVELOPE__INIT;

	switch (in->body_case) {
	case HVIPE__ENVELOPE__BODY_CHALLENGE: {
		struct sim_evidence s;

		sim_evidence_build(&g->g, in->challenge->nonce.data, &s);
		env.body_case = HVIPE__ENVELOPE__BODY_EVIDENCE;
		env.evidence = &s.ev;
		g->sent_ns = now_ns();
		return send_env(g, &env);
	}
	case HVIPE__ENVELOPE__BODY_VERDICT:
		verdicts++;
		if (in->verdict->trusted)
			g->trusted_once = true;
		else if (!in->verdict->policy_follows)
			untrusted++;
		if (measure && g->sent_ns) {
			if (n_lat == cap_lat) {
				cap_lat = cap_lat ? 2 * cap_lat : 65536;
				lat = realloc(lat, cap_lat * sizeof(*lat));
				if (!lat)
					return -ENOMEM;
			}
			lat[n_lat++] = now_ns() - g->sent_ns;
		}
		g->sent_ns = 0;
		return 0;
	case HVIPE__ENVELOPE__BODY_POLICY_UPDATE: {
		Hvipe__PolicyResult pr = HVIPE__POLICY_RESULT__INIT;

		pr.update_seq = in->seq;
		pr.err = sim_apply_policy(&g->g, in->policy_update);
		pr.step = (char *)"load";
		pr.reason = (char *)"";
		pr.active_digest.data = g->g.digest;
		pr.active_digest.len = 32;
		pr.active_name = (char *)"hvipe";
		pr.active_version = g->g.version;
		env.body_case = HVIPE__ENVELOPE__BODY_POLICY_RESULT;
		env.policy_result = &pr;
		return send_env(g, &env);
	}
	default:
		return 0;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void raise_nofile(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_max < want) {
		rl.rlim_max = want; /* needs CAP_SYS_RESOURCE; harmless to try */
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	        {"control", required_argument, NULL, 'c'},
	        {"dir", required_argument, NULL, 'd'},
	        {"n", required_argument, NULL, 'n'},
	        {"seconds", required_argument, NULL, 's'},
	        {"warmup", required_argument, NULL, 'w'},
	        {"register", no_argument, NULL, 'r'},
	        {"prefix", required_argument, NULL, 'p'},
	        {"root-hash", required_argument, NULL, 'H'},
	        {"port", required_argument, NULL, 'P'},
	        {"images", required_argument, NULL, 'i'},
	        {NULL, 0, NULL, 0},
	};
	const char *ctl_path = NULL, *dir = NULL, *prefix = "sim",
	           *hash = "5151515151515151515151515151515151515151515151515151515151515151";
	int n = 100, seconds = 5, warmup = 2, port = HV_DEFAULT_PORT, c, ep;
	bool reg = false;
	struct guest *gs;
	struct epoll_event evs[256];
	uint64_t t_end, t_measure;
	unsigned long attested = 0, dropped = 0, conn_failed = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			ctl_path = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 's':
			seconds = atoi(optarg);
			break;
		case 'w':
			warmup = atoi(optarg);
			break;
		case 'r':
			reg = true;
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'H':
			hash = optarg;
			break;
		case 'P':
			port = atoi(optarg);
			break;
		case 'i':
			extra_images = atoi(optarg);
			break;
		default:
			fprintf(stderr,
			        "usage: hostd-sim --dir DIR --n N [--register --control PATH]"
			        " [--seconds S] [--warmup S] [--prefix P] [--root-hash HEX]"
			        " [--images M]\n");
			return 2;
		}
	}
	if (!dir || n <= 0 || (reg && !ctl_path))
		return 2;
	raise_nofile((size_t)n + 64);
	if (reg && do_register(ctl_path, dir, prefix, n, hash) < 0)
		return 1;
	if (seconds == 0)
		return 0; /* registration only */

	gs = calloc((size_t)n, sizeof(*gs));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!gs || ep < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		struct guest *g = &gs[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = g};
		char path[300];

		sim_guest_init(&g->g);
		g->g.boot_id[0] = (uint8_t)i;
		g->g.boot_id[1] = (uint8_t)(i >> 8);
		hv_hex_decode(g->g.root_hash, sizeof(g->g.root_hash), hash, strlen(hash));
		hv_buf_init(&g->rx, HV_PROTO_MAX_FRAME + 65536);
		snprintf(path, sizeof(path), "%s/%s%d_%d", dir, prefix, i, port);
		g->fd = unix_connect(path, true);
		if (g->fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, g->fd, &ev) < 0 ||
		    send_hello(g) < 0) {
			g->dead = true;
			conn_failed++;
		}
	}

	t_measure = now_ns() + (uint64_t)warmup * 1000000000ull;
	t_end = t_measure + (uint64_t)seconds * 1000000000ull;
	while (now_ns() < t_end) {
		int k = epoll_wait(ep, evs, 256, 100);

		for (int i = 0; i < k; i++) {
			struct guest *g = evs[i].data.ptr;
			uint8_t chunk[65536];
			ssize_t got = read(g->fd, chunk, sizeof(chunk));
			size_t off = 0;

			if (got <= 0) {
				if (got < 0 && errno == EAGAIN)
					continue;
				epoll_ctl(ep, EPOLL_CTL_DEL, g->fd, NULL);
				g->dead = true;
				dropped++;
				continue;
			}
			if (hv_buf_append(&g->rx, chunk, (size_t)got) < 0)
				return 1;
			for (;;) {
				hv_envelope *env;
				size_t used;
				int r = hv_frame_decode(g->rx.data + off, g->rx.len - off,
				                        HV_PROTO_MAX_FRAME, &env, &used);

				if (r == -EAGAIN)
					break;
				if (r < 0)
					return 1;
				off += used;
				r = on_frame(g, env, now_ns() >= t_measure);
				hv_envelope_free(env);
				if (r < 0)
					g->dead = true;
			}
			hv_buf_consume(&g->rx, off);
		}
	}
	for (int i = 0; i < n; i++) {
		attested += gs[i].trusted_once && !gs[i].dead;
		if (gs[i].fd >= 0)
			close(gs[i].fd);
		hv_buf_free(&gs[i].rx);
	}
	qsort(lat, n_lat, sizeof(*lat), cmp_u64);
	printf("sim guests=%d attested=%lu verdicts=%lu untrusted=%lu samples=%zu p50_ms=%.3f "
	       "p99_ms=%.3f dropped=%lu connect_failed=%lu\n",
	       n, attested, verdicts, untrusted, n_lat, n_lat ? lat[n_lat / 2] / 1e6 : 0.0,
	       n_lat ? lat[(n_lat * 99) / 100] / 1e6 : 0.0, dropped, conn_failed);
	free(lat);
	free(gs);
	return attested == (unsigned long)n ? 0 : 1;
}
