// SPDX-License-Identifier: Apache-2.0
/*
 * hvipe-vsockd: vhost-user back-end for QEMU's vhost-user-vsock-pci that
 * bridges guest AF_VSOCK streams to host Unix sockets (hybrid-vsock). One
 * process per VM, one epoll loop, no threads, no privileges.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dev.h"
#include "util/log.h"
#include "vhost_user.h"

/* How long to wait for QEMU's listening socket without --server. */
#define CONNECT_WAIT_MS 30000
/* A QEMU that starts a message and stalls this long is treated as gone. */
#define VHOST_RECV_TIMEOUT_S 10

struct ep_tag {
	int ep_kind;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: hvipe-vsockd --socket VHOST_USER_PATH --uds-path BASE --guest-cid N\n"
	        "                    [--server] [--log-level err|warn|notice|info|debug]\n"
	        "\n"
	        "vhost-user back-end for QEMU's vhost-user-vsock-pci device. A guest\n"
	        "connection to host port P is bridged to the Unix socket BASE_P; a host\n"
	        "client connecting to BASE and writing \"CONNECT <port>\\n\" gets\n"
	        "\"OK <hostport>\\n\" and a stream to guest port <port>.\n"
	        "\n"
	        "  --socket PATH     vhost-user socket shared with QEMU\n"
	        "  --server          create and listen on PATH (QEMU: -chardev socket,path=PATH);\n"
	        "                    without it, connect to QEMU listening on PATH\n"
	        "                    (-chardev socket,path=PATH,server=on,wait=on)\n"
	        "  --uds-path BASE   hybrid-vsock base path (listening socket BASE)\n"
	        "  --guest-cid N     the guest's CID (3 .. 4294967294)\n"
	        "  --log-level L     most verbose level logged (default info)\n"
	        "  --help            this text\n"
	        "\n"
	        "Exits 0 when QEMU disconnects or on SIGTERM/SIGINT.\n");
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Remove a stale socket file at @path; never touches anything that is not a socket. */
static int unlink_stale_socket(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	return unlink(path) < 0 ? -errno : 0;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if ((r = unlink_stale_socket(path)) < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int connect_qemu(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint64_t until = now_ms() + CONNECT_WAIT_MS;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		int e = errno;
		close(fd);
		if ((e != ENOENT && e != ECONNREFUSED) || now_ms() > until)
			return -e;
		usleep(100 * 1000);
	}
}

static int ep_add(int epfd, int fd, void *tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int parse_level(const char *s, enum hv_log_level *out)
{
	static const struct {
		const char *name;
		enum hv_log_level level;
	} t[] = {{"err", HV_ERR},
	         {"warn", HV_WARN},
	         {"notice", HV_NOTICE},
	         {"info", HV_INFO},
	         {"debug", HV_DEBUG}};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(s, t[i].name)) {
			*out = t[i].level;
			return 0;
		}
	return -EINVAL;
}

struct opts {
	const char *socket, *uds;
	uint64_t cid;
	bool server;
	enum hv_log_level level;
};

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"uds-path", required_argument, NULL, 'u'},
	        {"guest-cid", required_argument, NULL, 'c'},
	        {"server", no_argument, NULL, 'S'},
	        {"log-level", required_argument, NULL, 'l'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int ch;

	*o = (struct opts){.level = HV_INFO};
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		char *end;

		switch (ch) {
		case 's':
			o->socket = optarg;
			break;
		case 'u':
			o->uds = optarg;
			break;
		case 'c':
			errno = 0;
			o->cid = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || o->cid < 3 ||
			    o->cid >= 0xffffffffull) {
				fprintf(stderr,
				        "hvipe-vsockd: --guest-cid must be 3..4294967294\n");
				return 2;
			}
			break;
		case 'S':
			o->server = true;
			break;
		case 'l':
			if (parse_level(optarg, &o->level) < 0) {
				fprintf(stderr, "hvipe-vsockd: unknown log level '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !o->socket || !o->uds || !o->cid) {
		usage(stderr);
		return 2;
	}
	return 0;
}

/*
 * Up to CONN_MAX host sockets plus a few of our own: raise the soft fd limit
 * so accept() and connect() do not run out first.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rlim_t want = CONN_MAX + 64;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want)
		hv_log(HV_WARN, "step=init reason=fd_limit limit=%llu want=%llu",
		       (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

static int run(const struct opts *o)
{
	static struct ep_tag t_listen = {EP_LISTEN}, t_vhost = {EP_VHOST},
	                     t_vlisten = {EP_VHOST_LISTEN}, t_sig = {EP_SIGNAL},
	                     t_timer = {EP_TIMER};
	struct vsock_dev dev;
	struct vu_session s;
	int epfd, lfd, vlfd = -1, vfd = -1, sfd, tfd, r, rc = 1;
	bool listen_paused = false;
	sigset_t mask;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || dev_init(&dev, o->cid, o->uds, epfd) < 0) {
		hv_log(HV_ERR, "step=init reason=%s",
		       epfd < 0 ? strerror(errno) : "uds_path_too_long");
		return 1;
	}
	vu_session_init(&s, -1, &dev);
	raise_fd_limit();
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec its = {{1, 0}, {1, 0}};
	if (sfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0) {
		hv_log(HV_ERR, "step=init reason=%s", strerror(errno));
		return 1;
	}

	lfd = listen_unix(o->uds);
	if (lfd < 0) {
		hv_log(HV_ERR, "step=listen path=%s reason=%s", o->uds, strerror(-lfd));
		return 1;
	}
	if (o->server) {
		vlfd = listen_unix(o->socket);
		if (vlfd < 0) {
			hv_log(HV_ERR, "step=listen path=%s reason=%s", o->socket, strerror(-vlfd));
			goto out;
		}
		r = ep_add(epfd, vlfd, &t_vlisten);
	} else {
		vfd = connect_qemu(o->socket);
		if (vfd < 0) {
			hv_log(HV_ERR, "step=connect path=%s reason=%s", o->socket, strerror(-vfd));
			goto out;
		}
		r = ep_add(epfd, vfd, &t_vhost);
	}
	if (r < 0 || ep_add(epfd, lfd, &t_listen) < 0 || ep_add(epfd, sfd, &t_sig) < 0 ||
	    ep_add(epfd, tfd, &t_timer) < 0) {
		hv_log(HV_ERR, "step=init reason=epoll");
		goto out;
	}
	if (vfd >= 0)
		s.fd = vfd;
	hv_log(HV_INFO, "vm=cid:%llu step=start socket=%s uds=%s mode=%s",
	       (unsigned long long)o->cid, o->socket, o->uds, o->server ? "server" : "client");

	for (;;) {
		struct epoll_event ev[64];
		int n = epoll_wait(epfd, ev, 64, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			hv_log(HV_ERR, "step=epoll reason=%s", strerror(errno));
			goto out;
		}
		dev.now_ms = now_ms();
		for (int i = 0; i < n; i++) {
			struct ep_tag *t = ev[i].data.ptr;

			switch (t->ep_kind) {
			case EP_CONN:
				dev_conn_event(&dev, (struct conn *)t, ev[i].events);
				break;
			case EP_LISTEN:
				r = dev_accept(&dev, lfd);
				if (r < 0 && !listen_paused) {
					/* Out of fds or memory: a pending client would spin the
					 * loop. */
					struct epoll_event pe = {.events = 0,
					                         .data.ptr = &t_listen};

					epoll_ctl(epfd, EPOLL_CTL_MOD, lfd, &pe);
					listen_paused = true;
					hv_log(HV_WARN,
					       "vm=cid:%llu step=accept reason=%s action=pause_1s",
					       (unsigned long long)o->cid, strerror(-r));
				}
				break;
			case EP_VHOST_LISTEN: {
				int fd = accept4(vlfd, NULL, NULL, SOCK_CLOEXEC);

				if (fd < 0)
					break;
				/* One front-end per daemon: stop listening once QEMU is here. */
				epoll_ctl(epfd, EPOLL_CTL_DEL, vlfd, NULL);
				close(vlfd);
				vlfd = -1;
				unlink(o->socket);
				s.fd = fd;
				if (ep_add(epfd, fd, &t_vhost) < 0)
					goto out;
				hv_log(HV_INFO, "vm=cid:%llu step=frontend state=connected",
				       (unsigned long long)o->cid);
				break;
			}
			case EP_VHOST: {
				struct timeval tv = {VHOST_RECV_TIMEOUT_S, 0};

				setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
				r = vu_session_handle(&s);
				if (r == -ECONNRESET) {
					hv_log(HV_INFO,
					       "vm=cid:%llu step=frontend state=closed action=exit",
					       (unsigned long long)o->cid);
					rc = 0;
					goto out;
				}
				if (r < 0) {
					hv_log(HV_ERR,
					       "vm=cid:%llu step=frontend reason=%s action=exit",
					       (unsigned long long)o->cid, strerror(-r));
					goto out;
				}
				break;
			}
			case EP_KICK:
				vu_session_kick(&s, ((struct vu_kick_tag *)t)->idx);
				break;
			case EP_SIGNAL:
				hv_log(HV_INFO, "vm=cid:%llu step=signal action=exit",
				       (unsigned long long)o->cid);
				rc = 0;
				goto out;
			case EP_TIMER: {
				uint64_t x;

				if (read(tfd, &x, sizeof(x)) < 0) {
					/* spurious: the next tick comes anyway */
				}
				dev_tick(&dev, dev.now_ms);
				if (listen_paused) {
					struct epoll_event pe = {.events = EPOLLIN,
					                         .data.ptr = &t_listen};

					epoll_ctl(epfd, EPOLL_CTL_MOD, lfd, &pe);
					listen_paused = false;
				}
				break;
			}
			}
		}
		dev_pump_rx(&dev);
		/* Only now may closed connections go: the batch no longer names them. */
		dev_reap(&dev);
	}
out:
	vu_session_close(&s);
	dev_reap(&dev);
	if (vlfd >= 0) {
		close(vlfd);
		unlink(o->socket);
	}
	close(lfd);
	unlink(o->uds);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	int r;

	hv_log_init("hvipe-vsockd", HV_INFO);
	r = parse_args(argc, argv, &o);
	if (r)
		return r == 1 ? 0 : 2;
	hv_log_set_level(o.level);
	return run(&o);
}
