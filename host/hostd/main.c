/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvipe-hostd: the host's attestation verifier and policy authority.
 * See hvipe-hostd(8) and docs/protocol.md.
 */
#include "act_shared.h"
#include "config.h"
#include "hostd.h"
#include "hv_limits.h"
#include "util/cleanup.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>
#include <systemd/sd-daemon.h>

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: hvipe-hostd [--config FILE] [--state-dir DIR] [--db FILE] [--key FILE]\n"
	        "                   [--cert FILE] [--control-socket PATH] [--control-group NAME]\n"
	        "                   [--vsock-port N] [--heartbeat-ms N] [--deadline-ms N]\n"
	        "                   [--hello-ms N] [--max-connections N] [--log-level L]\n"
	        "                   [--guard-tags FILE]\n\n"
	        "Attests the guests of this host over vsock (and hybrid-vsock Unix sockets),\n"
	        "signs and delivers their IPE policies, and acts on VMs that fail.\n\n"
	        "  --config FILE          INI file, section [hostd] (default "
	        "/etc/hvipe/hostd.conf)\n"
	        "  --state-dir DIR        state directory (default /var/lib/hvipe)\n"
	        "  --db FILE              SQLite database (default <state-dir>/hvipe.db)\n"
	        "  --key FILE --cert FILE policy signing key (mode 0600) and certificate\n"
	        "                         (default <state-dir>/keys/key.pem, cert.pem)\n"
	        "  --control-socket PATH  hvipectl's socket (default /run/hvipe/hostd.sock)\n"
	        "  --control-group NAME   group also allowed on the control socket\n"
	        "  --vsock-port N         port guests dial (default 4730)\n"
	        "  --heartbeat-ms N       challenge interval (default 1000)\n"
	        "  --deadline-ms N        time a guest has to answer (default: the interval)\n"
	        "  --hello-ms N           time a new guest connection has to say Hello\n"
	        "                         (default 10000)\n"
	        "  --max-connections N    guest connections at most (default 20000)\n"
	        "  --log-level L          err|warning|notice|info|debug (default info)\n"
	        "  --guard-tags FILE      expected guard program tags (from make test-guard);\n"
	        "                         without it a VM that requires the guard needs it\n"
	        "                         armed, but its programs are not compared\n");
}

static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"state-dir", required_argument, NULL, 's'},
        {"db", required_argument, NULL, 'd'},
        {"key", required_argument, NULL, 'k'},
        {"cert", required_argument, NULL, 'C'},
        {"control-socket", required_argument, NULL, 'S'},
        {"control-group", required_argument, NULL, 'g'},
        {"vsock-port", required_argument, NULL, 'p'},
        {"heartbeat-ms", required_argument, NULL, 'H'},
        {"deadline-ms", required_argument, NULL, 'D'},
        {"hello-ms", required_argument, NULL, 'E'},
        {"max-connections", required_argument, NULL, 'm'},
        {"log-level", required_argument, NULL, 'l'},
        {"guard-tags", required_argument, NULL, 'G'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

static int parse_level(const char *s, enum hv_log_level *l)
{
	static const struct {
		const char *n;
		enum hv_log_level l;
	} t[] = {{"err", HV_ERR},       {"error", HV_ERR}, {"warning", HV_WARN}, {"warn", HV_WARN},
	         {"notice", HV_NOTICE}, {"info", HV_INFO}, {"debug", HV_DEBUG}};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (!strcmp(s, t[i].n)) {
			*l = t[i].l;
			return 0;
		}
	return -EINVAL;
}

/*
 * The guard's expected program tags (a file written by `make test-guard`).
 * A configured file that cannot be read or parsed stops the daemon: running
 * without the check the operator asked for would be worse than not running.
 */
static int load_guard_tags(struct hostd *h)
{
	_cleanup_free_ uint8_t *text = NULL;
	size_t len = 0;
	int r;

	if (!h->cfg.guard_tags_path) {
		hv_log(HV_INFO, "step=start guard_tags=unchecked");
		return 0;
	}
	/* hv_read_file wants room for a 4 KiB read beyond what it has read, so
	 * it cannot enforce a cap this small: the parser checks the size. */
	r = hv_read_file(h->cfg.guard_tags_path, 65536, &text, &len);
	if (r == 0)
		r = hv_guard_tags_parse((const char *)text, len, &h->guard_tags);
	if (r < 0) {
		hv_log(HV_ERR, "step=start guard_tags=%s verdict=refused reason=\"%s\"",
		       h->cfg.guard_tags_path, strerror(-r));
		return r;
	}
	h->have_guard_tags = true;
	hv_log(HV_INFO, "step=start guard_tags=%s programs=%zu", h->cfg.guard_tags_path,
	       h->guard_tags.n);
	return 0;
}

/* Command-line options win over the file: collect them, read the file,
 * then apply them. */
static int parse_args(int argc, char **argv, struct hv_config *c)
{
	const char *keys[ARRAY_SIZE(opts)];
	const char *vals[ARRAY_SIZE(opts)];
	const char *config = "/etc/hvipe/hostd.conf";
	bool explicit_config = false;
	char why[256] = "";
	size_t n = 0;
	unsigned line;
	int o, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (o == 'h') {
			usage(stdout);
			exit(0);
		}
		if (o == '?') {
			usage(stderr);
			return -EINVAL;
		}
		if (o == 'c') {
			config = optarg;
			explicit_config = true;
			continue;
		}
		for (size_t i = 0; opts[i].name; i++)
			if (opts[i].val == o && n < ARRAY_SIZE(keys)) {
				keys[n] = opts[i].name;
				vals[n++] = optarg;
			}
	}
	if (optind < argc) {
		usage(stderr);
		return -EINVAL;
	}
	c->config_path = strdup(config);
	r = hv_config_load(c, config, !explicit_config, &line, why, sizeof(why));
	if (r < 0) {
		hv_log(HV_ERR, "step=config file=%s line=%u reason=\"%s\"", config, line, why);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		r = hv_config_set(c, keys[i], vals[i]);
		if (r < 0) {
			hv_log(HV_ERR, "step=config option=--%s value=\"%s\" reason=\"%s\"",
			       keys[i], vals[i], r == -ERANGE ? "out of range" : "bad value");
			return r;
		}
	}
	return 0;
}

/* The key must be readable by its owner only: refuse to start otherwise. */
static int check_key_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return -EPERM;
	return 0;
}

/*
 * One daemon per database: an exclusive, non-blocking flock on <db>.lock
 * (<state-dir>/hvipe.db.lock by default), taken before any socket is
 * touched. The database names the VMs whose sockets hostd creates, so a
 * second instance on it would replace the first one's sockets and delete
 * them on exit. The lock file holds the owner's pid, for the message; it is
 * never removed (a lock on an unlinked file would not exclude the next
 * instance). Returns the locked descriptor (kept open for the daemon's life)
 * or a negative errno, logged.
 */
static int take_state_lock(const struct hv_config *c)
{
	size_t sl = strlen(c->state_dir);
	bool in_state = !strncmp(c->db_path, c->state_dir, sl) && c->db_path[sl] == '/';
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	char pid[32] = "";
	ssize_t n;
	int r;

	if (asprintf(&path, "%s.lock", c->db_path) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		hv_log(HV_ERR, "step=start lock=%s verdict=refused reason=\"%s\"", path,
		       strerror(-r));
		return r;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		if (r == -EWOULDBLOCK) {
			n = pread(fd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			hv_log(HV_ERR,
			       "step=start lock=%s verdict=refused reason=\"%s %s is in use by pid "
			       "%s\"",
			       path, in_state ? "state dir" : "database",
			       in_state ? c->state_dir : c->db_path, pid[0] ? pid : "(unknown)");
			return -EBUSY;
		}
		hv_log(HV_ERR, "step=start lock=%s verdict=refused reason=\"%s\"", path,
		       strerror(-r));
		return r;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		hv_log(HV_WARN, "step=start lock=%s reason=\"cannot record our pid: %s\"", path,
		       strerror(errno));
	return TAKE_FD(fd);
}

/*
 * SIGHUP: hostd has nothing to reload (the configuration is read once, and
 * VMs and images change through the control socket), but the default action
 * would kill it and leave its sockets behind. Note it and carry on.
 */
static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	hv_log(HV_NOTICE,
	       "step=signal signal=SIGHUP pid=%u verdict=ignored reason=\"nothing to "
	       "reload; restart to apply configuration changes\"",
	       si->ssi_pid);
	return 0;
}

static int on_flush(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct hostd *h = userdata;

	hostd_commit_waiting(h);
	sd_event_source_set_time(s, usec + HV_STORE_BATCH_MS * 1000ull);
	return 0;
}

static int setup_vsock(struct hostd *h)
{
	struct sockaddr_vm sa = {
	        .svm_family = AF_VSOCK,
	        .svm_cid = VMADDR_CID_ANY,
	        .svm_port = h->cfg.vsock_port,
	};
	_cleanup_close_ int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0) {
		/* The port is taken: another hostd answers this host's guests. */
		if (errno == EADDRINUSE) {
			hv_log(HV_ERR,
			       "step=listen socket=vsock:%u verdict=refused reason=\"%s: another "
			       "hvipe-hostd owns this port (--vsock-port)\"",
			       h->cfg.vsock_port, strerror(errno));
			return -EADDRINUSE;
		}
		/* Hosts without vhost-vsock: the Unix listeners carry on alone. */
		hv_log(HV_NOTICE, "step=listen socket=vsock:%u verdict=unavailable reason=\"%s\"",
		       h->cfg.vsock_port, strerror(errno));
		return 0;
	}
	if (hostd_listen_vsock(h, fd) < 0)
		return -ENOMEM;
	TAKE_FD(fd);
	hv_log(HV_INFO, "step=listen socket=vsock:%u", h->cfg.vsock_port);
	return 0;
}

/*
 * systemd sets an activated control socket's mode and group (SocketMode=,
 * SocketGroup=); we do not change them. Warn when --control-group members
 * could not connect, so the unit and the configuration are made to agree.
 */
static void check_activated_mode(struct hostd *h, int fd)
{
	struct sockaddr_un sa;
	socklen_t l = sizeof(sa);
	struct stat st;

	if (!h->cfg.control_group || getsockname(fd, (struct sockaddr *)&sa, &l) < 0 ||
	    l <= offsetof(struct sockaddr_un, sun_path) || l >= sizeof(sa) || !sa.sun_path[0] ||
	    stat(sa.sun_path, &st) < 0)
		return;
	if (st.st_gid != h->cfg.control_gid || (st.st_mode & 0060) != 0060)
		hv_log(HV_WARN,
		       "step=listen socket=%s source=systemd mode=%04o reason=\"control group %s "
		       "cannot use it: set SocketGroup=%s and SocketMode=0660 in "
		       "hvipe-hostd.socket\"",
		       sa.sun_path, (unsigned)(st.st_mode & 07777), h->cfg.control_group,
		       h->cfg.control_group);
}

static int setup_listeners(struct hostd *h, int n)
{
	int r, fd;
	bool have_ctl = false, have_vsock = false;

	for (int i = 0; i < n; i++) {
		fd = SD_LISTEN_FDS_START + i;
		if (sd_is_socket(fd, AF_VSOCK, SOCK_STREAM, 1) > 0 && !have_vsock) {
			r = hostd_listen_vsock(h, fd);
			have_vsock = r == 0;
		} else if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0 && !have_ctl) {
			r = hostd_listen_control(h, fd);
			have_ctl = r == 0;
			if (have_ctl)
				check_activated_mode(h, fd);
		} else {
			hv_log(HV_WARN,
			       "step=listen fd=%d reason=\"unexpected socket from systemd\"", fd);
			close(fd);
			continue;
		}
		if (r < 0)
			return r;
		hv_log(HV_INFO, "step=listen fd=%d source=systemd kind=%s", fd,
		       have_vsock && h->vsock && h->vsock->fd == fd ? "vsock" : "control");
	}
	if (!have_ctl) {
		_cleanup_free_ char *dir = strdup(h->cfg.control_socket);
		char *slash = dir ? strrchr(dir, '/') : NULL;

		if (slash && slash != dir) {
			*slash = '\0';
			mkdir(dir, 0755);
		}
		r = hostd_unix_listen(h->cfg.control_socket, h->cfg.control_group ? 0660 : 0600,
		                      &fd);
		if (r == 0 && h->cfg.control_group &&
		    chown(h->cfg.control_socket, (uid_t)-1, h->cfg.control_gid) < 0)
			r = -errno;
		if (r < 0) {
			hv_log(HV_ERR, "step=listen socket=%s reason=\"%s\"", h->cfg.control_socket,
			       strerror(-r));
			return r;
		}
		r = hostd_listen_control(h, fd);
		if (r < 0)
			return r;
		h->control->path = strdup(h->cfg.control_socket);
		hv_log(HV_INFO, "step=listen socket=%s kind=control", h->cfg.control_socket);
	}
	if (!have_vsock && (r = setup_vsock(h)) < 0)
		return r;
	for (size_t i = 0; i < h->n_vms; i++) {
		r = hostd_listen_vm(h, h->vms[i]);
		if (r < 0)
			hv_log(HV_ERR, "vm=%s step=listen socket=%s_%u reason=\"%s\"",
			       h->vms[i]->name, h->vms[i]->uds, h->cfg.vsock_port, strerror(-r));
	}
	return 0;
}

/*
 * Each VM with a Unix base path costs a listening socket plus its guest's
 * connection: 10,000 guests need more descriptors than the usual 1,024 or
 * even 20,000. Raise the soft limit to the hard one, and the hard one too
 * when we may (root).
 */
static void raise_nofile(unsigned max_conns)
{
	struct rlimit rl;
	rlim_t want = 2 * (rlim_t)max_conns + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_max < want) {
		struct rlimit up = {want, want};

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

int main(int argc, char **argv)
{
	struct hostd h = {0};
	enum hv_log_level lvl = HV_INFO;
	char why[256] = "";
	sigset_t ss;
	int r, rc = 0, lock_fd = -1;

	/* Take systemd's sockets before anything else opens a descriptor. */
	int n_listen = sd_listen_fds(1);

	hv_log_init("hvipe-hostd", HV_INFO);
	hv_config_defaults(&h.cfg);
	if (parse_args(argc, argv, &h.cfg) < 0) {
		rc = 2;
		goto out;
	}
	if (hv_config_finish(&h.cfg, why, sizeof(why)) < 0) {
		hv_log(HV_ERR, "step=config reason=\"%s\"", why);
		rc = 2;
		goto out;
	}
	if (h.cfg.log_level && parse_level(h.cfg.log_level, &lvl) < 0) {
		hv_log(HV_ERR, "step=config reason=\"bad log level\"");
		rc = 2;
		goto out;
	}
	hv_log_set_level(lvl);
	raise_nofile(h.cfg.max_conns);

	r = check_key_mode(h.cfg.key_path);
	if (r < 0) {
		hv_log(HV_ERR, "step=start key=%s verdict=refused reason=\"%s\"", h.cfg.key_path,
		       r == -EPERM ? "key file is readable by group or others (chmod 600)"
		                   : strerror(-r));
		rc = 1;
		goto out;
	}
	r = hv_signer_open(h.cfg.key_path, h.cfg.cert_path, &h.signer);
	if (r < 0) {
		hv_log(HV_ERR, "step=start key=%s cert=%s verdict=refused reason=\"%s\"",
		       h.cfg.key_path, h.cfg.cert_path, strerror(-r));
		rc = 1;
		goto out;
	}
	if (load_guard_tags(&h) < 0) {
		rc = 1;
		goto out;
	}
	mkdir(h.cfg.state_dir, 0700);
	lock_fd = take_state_lock(&h.cfg);
	if (lock_fd < 0) {
		rc = 1;
		goto out;
	}
	r = hv_store_open(h.cfg.db_path, &h.store, why, sizeof(why));
	if (r < 0) {
		hv_log(HV_ERR, "step=start db=%s verdict=refused reason=\"%s\"", h.cfg.db_path,
		       why);
		rc = 1;
		goto out;
	}
	r = sd_event_default(&h.loop);
	if (r >= 0)
		r = hv_actuators_setup(h.loop, NULL, hostd_domain_event, &h);
	if (r >= 0)
		r = hostd_load(&h);
	if (r >= 0)
		r = hostd_load_last_actions(&h);
	if (r < 0) {
		hv_log(HV_ERR, "step=start db=%s reason=\"loading state: %s\"", h.cfg.db_path,
		       strerror(-r));
		rc = 1;
		goto out;
	}
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = sd_event_add_signal(h.loop, NULL, SIGTERM, NULL, NULL);
	if (r >= 0)
		r = sd_event_add_signal(h.loop, NULL, SIGINT, NULL, NULL);
	if (r >= 0)
		r = sd_event_add_signal(h.loop, NULL, SIGHUP, on_sighup, NULL);
	if (r >= 0)
		r = sd_event_add_time_relative(h.loop, &h.flush, CLOCK_MONOTONIC,
		                               HV_STORE_BATCH_MS * 1000ull, 0, on_flush, &h);
	if (r >= 0)
		r = sd_event_source_set_enabled(h.flush, SD_EVENT_ON);
	if (r < 0 || setup_listeners(&h, n_listen < 0 ? 0 : n_listen) < 0) {
		hv_log(HV_ERR, "step=start reason=\"event loop setup failed\"");
		rc = 1;
		goto out;
	}
	hv_log(HV_NOTICE,
	       "step=start verdict=ready vms=%zu images=%zu heartbeat_ms=%u db=%s schema=%d",
	       h.n_vms, h.n_images, h.cfg.heartbeat_ms, h.cfg.db_path,
	       hv_store_schema_version(&h.store));
	sd_notify(0, "READY=1\nSTATUS=attesting");

	r = sd_event_loop(h.loop);
	sd_notify(0, "STOPPING=1");
	hv_log(HV_NOTICE, "step=stop reason=\"%s\"", r < 0 ? strerror(-r) : "signal");
	rc = r < 0 ? 1 : 0;
	if (h.store.db)
		hostd_commit_waiting(&h);
out:
	/* Every path out releases what was set up, so leak checkers stay quiet. */
	hostd_free(&h);
	hv_actuators_shutdown();
	hostd_listener_free(h.control);
	hostd_listener_free(h.vsock);
	sd_event_source_unref(h.flush);
	sd_event_source_unref(h.commit_src);
	free(h.waiting);
	hv_store_close(&h.store);
	hv_signer_free(h.signer);
	sd_event_unref(h.loop);
	hv_config_free(&h.cfg);
	/* Last: the sockets are gone before the next instance may start. */
	if (lock_fd >= 0)
		close(lock_fd);
	return rc;
}
