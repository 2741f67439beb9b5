// SPDX-License-Identifier: Apache-2.0
/*
 * hvipe-guestd: the guest agent. Reports what the kernel sees, applies the
 * policies the host signs, forwards IPE's audit records. See
 * docs/man/hvipe-guestd.8.
 */
#include "apply.h"
#include "audit.h"
#include "evidence.h"
#include "transport.h"

#include "../guard/guard.h"
#include "../guard/guard_proto.h"

#include "hv_limits.h"
#include "proto/frame.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/hex.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define GA_VERSION "0.1.0"
#define HOST_NAME  "hvipe"

enum { EXIT_USAGE = 2, EXIT_UNREACHABLE = 3, EXIT_INTERRUPTED = 4 };

struct opts {
	bool once;
	const char *connect;
	const char *securityfs;
	const char *fallback;
	int deadline_ms;
	const char *cmdline;
	const char *state_dir;
	const char *audit_source; /* "netlink", "none" or a file */
	size_t queue_records, queue_bytes;
	int connect_timeout_ms;
	uint32_t backoff_cap_ms;
	int settle_ms;
	const char *dm_tables; /* tests: tables from a file instead of the kernel */
	const char *mountinfo;
	bool guard_off; /* --guard off */
};

struct agent {
	struct opts o;
	struct ga_paths paths;
	struct ga_dm_source dm_file;
	struct ga_addr addr;
	struct ga_cmdline cmd;
	struct ga_backoff backoff;
	struct ga_audit_queue q;
	int audit_fd;
	bool audit_is_netlink;
	struct hv_buf audit_line; /* partial line from a file source */
	bool audit_line_skip;     /* discarding an over-long line */
	uint64_t audit_malformed;
	uint64_t dropped_since_evidence, dropped_seen;
	int64_t start_ms;
	bool done; /* --once: a host-issued policy is active */
	bool last_trusted;
	bool dropping; /* drops not yet reported to the host */
	/* The BPF guard (daemon mode): armed or reopened once the host's
	 * policy is active; guard_err sticks after a failure. */
	struct hv_guard *guard;
	int guard_err;
	const char *guard_step;
	struct hv_guard_report guard_prev; /* as of the last Evidence sent */
	bool guard_have_prev;
};

/* Per-connection state. */
struct session {
	int fd;
	struct hv_buf rx;
	uint64_t seq;
	uint64_t host_caps;
	uint32_t heartbeat_ms;
	uint64_t session_id;
	int64_t last_rx_ms;
	bool hello_done;
	uint64_t batch_seq, batch_last_id, batch_dropped; /* in flight, 0 when none */
	uint64_t result_seq; /* --once: the successful PolicyResult awaiting its Ack */
	int64_t done_at_ms;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: hvipe-guestd (--once|--daemon) [options]\n\n"
	        "The hvipe guest agent: attests this guest to its host over vsock, applies\n"
	        "the IPE policy the host signs, and forwards IPE audit records.\n\n"
	        "  --once                 attest, apply the host's policy, exit 0 when it is\n"
	        "                         active (the initramfs mode)\n"
	        "  --daemon               answer challenges, apply updates, forward audit,\n"
	        "                         reconnect forever\n"
	        "  --connect ADDR         unix:PATH or vsock:CID:PORT (default "
	        "vsock:2:<hvipe.port>)\n"
	        "  --securityfs DIR       securityfs root (default /sys/kernel/security)\n"
	        "  --fallback FILE        signed policy to activate when the host is unreachable\n"
	        "                         by the deadline (--once)\n"
	        "  --deadline-ms N        --once: give up on the host after N ms (default 30000)\n"
	        "  --cmdline FILE         kernel command line (default /proc/cmdline): "
	        "hvipe.port=N,\n"
	        "                         hvipe.fail=closed\n"
	        "  --state-dir DIR        where the rollback floor is kept (default\n"
	        "                         /run/hvipe-guestd, a tmpfs: use a persistent\n"
	        "                         writable directory to keep it across boots)\n"
	        "  --audit-source SRC     netlink (default), none, or a FILE/FIFO of\n"
	        "                         'type=N audit(...): ...' lines (tests)\n"
	        "  --audit-queue N        audit records kept while the host is away (default "
	        "4096)\n"
	        "  --audit-queue-bytes N  byte budget of that queue (default 4194304)\n"
	        "  --connect-timeout-ms N bound on one connect attempt (default 2000)\n"
	        "  --backoff-cap-ms N     longest wait between attempts (default 5000)\n"
	        "  --log-level L          err, warn, notice, info (default), debug\n"
	        "  --guard auto|off       auto (default): in --daemon mode with the kernel's\n"
	        "                         securityfs, arm the BPF guard (hvipe-guard(8)) once\n"
	        "                         the host's policy is active; off: never\n"
	        "  --help, --version\n"
	        "Test options (a directory standing in for the kernel):\n"
	        "  --settle-ms N          re-read securityfs up to N ms to confirm a write\n"
	        "                         took effect (default 0: the kernel is synchronous)\n"
	        "  --dm-tables FILE       device-mapper tables from FILE, one\n"
	        "                         'NAME MAJ:MIN TYPE PARAMS' per line\n"
	        "  --mountinfo FILE       instead of /proc/self/mountinfo\n\n"
	        "Exit codes (--once): 0 a policy is active, 1 applying failed, 2 usage,\n"
	        "3 host unreachable and hvipe.fail=closed (or no fallback), 4 interrupted by a "
	        "signal.\n");
}

static int parse_num(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_level(const char *s, enum hv_log_level *l)
{
	static const struct {
		const char *n;
		enum hv_log_level l;
	} t[] = {{"err", HV_ERR},
	         {"warn", HV_WARN},
	         {"notice", HV_NOTICE},
	         {"info", HV_INFO},
	         {"debug", HV_DEBUG}};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (!strcmp(s, t[i].n)) {
			*l = t[i].l;
			return 0;
		}
	return -EINVAL;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum {
		O_CONNECT = 256,
		O_SECFS,
		O_FALLBACK,
		O_DEADLINE,
		O_CMDLINE,
		O_STATE,
		O_AUDIT,
		O_QUEUE,
		O_QBYTES,
		O_CTIMEOUT,
		O_BCAP,
		O_LEVEL,
		O_VERSION,
		O_SETTLE,
		O_DMT,
		O_MOUNTINFO,
		O_GUARD,
	};
	static const struct option lo[] = {
	        {"once", no_argument, NULL, '1'},
	        {"daemon", no_argument, NULL, 'd'},
	        {"connect", required_argument, NULL, O_CONNECT},
	        {"securityfs", required_argument, NULL, O_SECFS},
	        {"fallback", required_argument, NULL, O_FALLBACK},
	        {"deadline-ms", required_argument, NULL, O_DEADLINE},
	        {"cmdline", required_argument, NULL, O_CMDLINE},
	        {"state-dir", required_argument, NULL, O_STATE},
	        {"audit-source", required_argument, NULL, O_AUDIT},
	        {"audit-queue", required_argument, NULL, O_QUEUE},
	        {"audit-queue-bytes", required_argument, NULL, O_QBYTES},
	        {"connect-timeout-ms", required_argument, NULL, O_CTIMEOUT},
	        {"backoff-cap-ms", required_argument, NULL, O_BCAP},
	        {"log-level", required_argument, NULL, O_LEVEL},
	        {"settle-ms", required_argument, NULL, O_SETTLE},
	        {"dm-tables", required_argument, NULL, O_DMT},
	        {"mountinfo", required_argument, NULL, O_MOUNTINFO},
	        {"guard", required_argument, NULL, O_GUARD},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, O_VERSION},
	        {NULL, 0, NULL, 0},
	};
	bool mode = false;
	enum hv_log_level lvl;
	long v;
	int c;

	*o = (struct opts){
	        .securityfs = "/sys/kernel/security",
	        .deadline_ms = 30000,
	        .cmdline = "/proc/cmdline",
	        .state_dir = "/run/hvipe-guestd",
	        .audit_source = "netlink",
	        .queue_records = 4096,
	        .queue_bytes = 4u << 20,
	        .connect_timeout_ms = 2000,
	        .backoff_cap_ms = 5000,
	};
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case '1':
		case 'd':
			if (mode)
				return -EINVAL;
			mode = true;
			o->once = c == '1';
			break;
		case O_CONNECT:
			o->connect = optarg;
			break;
		case O_SECFS:
			o->securityfs = optarg;
			break;
		case O_FALLBACK:
			o->fallback = optarg;
			break;
		case O_DEADLINE:
			if (parse_num(optarg, 1, 24L * 3600 * 1000, &v) < 0)
				return -EINVAL;
			o->deadline_ms = (int)v;
			break;
		case O_CMDLINE:
			o->cmdline = optarg;
			break;
		case O_STATE:
			o->state_dir = optarg;
			break;
		case O_AUDIT:
			o->audit_source = optarg;
			break;
		case O_QUEUE:
			if (parse_num(optarg, 1, 1L << 20, &v) < 0)
				return -EINVAL;
			o->queue_records = (size_t)v;
			break;
		case O_QBYTES:
			if (parse_num(optarg, 65536, 1L << 30, &v) < 0)
				return -EINVAL;
			o->queue_bytes = (size_t)v;
			break;
		case O_CTIMEOUT:
			if (parse_num(optarg, 1, 600000, &v) < 0)
				return -EINVAL;
			o->connect_timeout_ms = (int)v;
			break;
		case O_BCAP:
			if (parse_num(optarg, 100, 600000, &v) < 0)
				return -EINVAL;
			o->backoff_cap_ms = (uint32_t)v;
			break;
		case O_SETTLE:
			if (parse_num(optarg, 0, 600000, &v) < 0)
				return -EINVAL;
			o->settle_ms = (int)v;
			break;
		case O_DMT:
			o->dm_tables = optarg;
			break;
		case O_MOUNTINFO:
			o->mountinfo = optarg;
			break;
		case O_GUARD:
			if (strcmp(optarg, "auto") && strcmp(optarg, "off"))
				return -EINVAL;
			o->guard_off = !strcmp(optarg, "off");
			break;
		case O_LEVEL:
			if (parse_level(optarg, &lvl) < 0)
				return -EINVAL;
			hv_log_set_level(lvl);
			break;
		case O_VERSION:
			printf("hvipe-guestd %s\n", GA_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (!mode || optind != argc)
		return -EINVAL;
	return 0;
}

/* ---- audit sources ---- */

static int audit_open(struct agent *a)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = AUDIT_NLGRP_READLOG};
	int fd, sz = 4 << 20;

	a->audit_fd = -1;
	if (!strcmp(a->o.audit_source, "none"))
		return 0;
	if (strcmp(a->o.audit_source, "netlink")) {
		/* O_RDWR on a FIFO keeps it open across writers coming and going. */
		struct stat st;
		int flags = O_CLOEXEC | O_NONBLOCK;

		flags |= (stat(a->o.audit_source, &st) == 0 && S_ISFIFO(st.st_mode)) ? O_RDWR
		                                                                     : O_RDONLY;
		fd = open(a->o.audit_source, flags);
		if (fd < 0)
			return -errno;
		a->audit_fd = fd;
		return 0;
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_AUDIT);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	a->audit_fd = fd;
	a->audit_is_netlink = true;
	return 0;
}

static void audit_take(struct agent *a, int r, struct ga_audit_rec *rec)
{
	if (r < 0) {
		a->audit_malformed++;
		hv_log(HV_DEBUG, "step=audit reason=malformed err=%d", -r);
		return;
	}
	if (!ga_audit_wanted(rec)) {
		ga_audit_rec_free(rec);
		return;
	}
	ga_audit_queue_push(&a->q, rec);
}

static void audit_take_cb(void *ctx, int r, struct ga_audit_rec *rec)
{
	audit_take(ctx, r, rec);
}

static void audit_read_netlink(struct agent *a)
{
	static uint8_t buf[65536];

	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n = recv(a->audit_fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == ENOBUFS)
				hv_log(HV_WARN,
				       "step=audit reason=netlink_overrun detail=\"kernel dropped "
				       "multicast records\"");
			return;
		}
		(void)ga_audit_netlink(buf, (size_t)n, audit_take_cb, a);
	}
}

/* Line-oriented file or FIFO source. Returns false at EOF of a regular file. */
static bool audit_read_file(struct agent *a)
{
	uint8_t chunk[8192];
	ssize_t n = read(a->audit_fd, chunk, sizeof(chunk));

	if (n == 0)
		return false;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	for (ssize_t i = 0; i < n; i++) {
		if (chunk[i] != '\n') {
			if (!a->audit_line_skip &&
			    hv_buf_append(&a->audit_line, &chunk[i], 1) < 0) {
				a->audit_line_skip = true;
				a->audit_malformed++;
			}
			continue;
		}
		if (!a->audit_line_skip && a->audit_line.len > 0) {
			struct ga_audit_rec *rec = NULL;
			int r = ga_audit_parse_line(a->audit_line.data, a->audit_line.len, &rec);

			audit_take(a, r, rec);
		}
		a->audit_line.len = 0;
		a->audit_line_skip = false;
	}
	return true;
}

static void audit_poll(struct agent *a)
{
	if (a->audit_fd < 0)
		return;
	if (a->audit_is_netlink) {
		audit_read_netlink(a);
	} else if (!audit_read_file(a)) {
		close(a->audit_fd);
		a->audit_fd = -1;
	}
	if (a->q.dropped_total != a->dropped_seen) {
		a->dropped_since_evidence += a->q.dropped_total - a->dropped_seen;
		if (!a->dropping)
			hv_log(HV_NOTICE,
			       "step=audit reason=queue_full queued=%zu detail=\"dropping "
			       "oldest records until the host acknowledges\"",
			       a->q.count);
		a->dropping = true;
		a->dropped_seen = a->q.dropped_total;
	}
}

/* Wait up to @ms for audit input (or a signal), draining what arrives. */
static void idle(struct agent *a, int ms)
{
	int64_t end = now_ms() + ms;

	while (!stop_signal) {
		int64_t left = end - now_ms();
		struct pollfd p = {.fd = a->audit_fd, .events = POLLIN};

		if (left <= 0)
			return;
		if (poll(&p, a->audit_fd >= 0 ? 1 : 0, (int)left) > 0)
			audit_poll(a);
	}
}

/* ---- protocol ---- */

static int send_env(struct session *s, Hvipe__Envelope *env)
{
	env->seq = ++s->seq;
	return hv_frame_send(s->fd, env);
}

static int send_hello(struct agent *a, struct session *s)
{
	Hvipe__Envelope env = HVIPE__ENVELOPE__INIT;
	Hvipe__Hello h = HVIPE__HELLO__INIT;
	struct ga_evidence *ev = calloc(1, sizeof(*ev));
	int r;

	if (!ev)
		return -ENOMEM;
	/* Boot id and release come from the same files as the evidence. */
	(void)ga_evidence_collect(&a->paths, HVIPE__EVIDENCE_KIND__EVIDENCE_LOCKDOWN, ev);
	h.protocol_version = HV_PROTO_VERSION;
	h.capabilities = HVIPE__CAPABILITY__CAP_AUDIT | HVIPE__CAPABILITY__CAP_POLICY_UPDATE;
	h.agent_version = (char *)GA_VERSION;
	h.kernel_release = ev->kernel_release;
	if (ev->has_boot_id) {
		h.boot_id.data = ev->boot_id;
		h.boot_id.len = 16;
	}
	h.mode = a->o.once ? HVIPE__AGENT_MODE__AGENT_MODE_ONCE
	                   : HVIPE__AGENT_MODE__AGENT_MODE_DAEMON;
	env.body_case = HVIPE__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	r = send_env(s, &env);
	free(ev);
	return r;
}

static bool hvipe_active(const struct ga_ipe *ipe)
{
	for (size_t i = 0; i < ipe->n_policies; i++)
		if (ipe->policies[i].active && !strcmp(ipe->policies[i].name, HOST_NAME))
			return true;
	return false;
}

/* Why the guard is not armed by this agent, or NULL when it should be. */
static const char *guard_skip_reason(const struct agent *a)
{
	if (a->o.guard_off)
		return "disabled by --guard off";
	if (a->o.once)
		return "armed by the daemon on the root volume, not by --once";
	if (strcmp(a->o.securityfs, "/sys/kernel/security") != 0)
		return "securityfs is a test directory";
	return NULL;
}

/*
 * Arm the guard once the host's policy is active (or reopen the one an
 * earlier run of this agent pinned). The agent's identity is its own
 * executable, /proc/self/exe, on the verity root.
 */
static void guard_maintain(struct agent *a)
{
	struct ga_ipe ipe;
	bool reopened = true;
	int r;

	if (a->guard || a->guard_err || guard_skip_reason(a))
		return;
	if (ga_ipe_collect(a->o.securityfs, &ipe) < 0 || !hvipe_active(&ipe))
		return;
	r = hv_guard_open(NULL, &a->guard);
	if (r == -ENOENT) {
		reopened = false;
		r = hv_guard_arm("/proc/self/exe", NULL, &a->guard);
	}
	if (r < 0) {
		a->guard = NULL;
		a->guard_err = r;
		a->guard_step = reopened ? "guard_open" : "guard_arm";
		hv_log(HV_ERR, "step=guard result=failed failed_step=%s reason=\"%s\"",
		       a->guard_step, strerror(-r));
		return;
	}
	hv_log(HV_NOTICE, "step=guard result=%s pin=%s", reopened ? "reopened" : "armed",
	       HV_GUARD_PIN_DIR);
}

/* Fill @b for the Evidence; *@now holds the report when one was read. */
static bool guard_state(struct agent *a, const struct ga_evidence *ev, struct hv_guard_state_buf *b,
                        struct hv_guard_report *now)
{
	const char *skip = guard_skip_reason(a);
	int r;

	if (a->guard) {
		r = hv_guard_read(a->guard, now);
		if (r == 0) {
			hv_guard_state_fill(b, now, a->guard_have_prev ? &a->guard_prev : NULL);
			for (size_t i = 0; i < b->gs.n_recent; i++)
				hv_log(HV_WARN,
				       "step=guard refused=%s count=%llu last_pid=%u last_comm=%s",
				       b->gs.recent[i]->what,
				       (unsigned long long)b->gs.recent[i]->count,
				       b->gs.recent[i]->pid, b->gs.recent[i]->comm);
			return true;
		}
		hv_guard_state_failed(b, "guard_read", r);
		return false;
	}
	if (a->guard_err) {
		hv_guard_state_failed(b, a->guard_step, a->guard_err);
		return false;
	}
	memset(b, 0, sizeof(*b));
	hvipe__guard_state__init(&b->gs);
	b->gs.status = (Hvipe__GuardStatus)ev->guard.status;
	snprintf(b->detail, sizeof(b->detail), "%s",
	         skip ? skip : "not armed yet: waiting for the host's policy");
	b->gs.detail = b->detail;
	return false;
}

static int on_challenge(struct agent *a, struct session *s, const Hvipe__Challenge *c)
{
	Hvipe__Envelope env = HVIPE__ENVELOPE__INIT;
	Hvipe__Evidence e = HVIPE__EVIDENCE__INIT;
	Hvipe__IpeState ipe = HVIPE__IPE_STATE__INIT;
	struct hv_guard_state_buf guard;
	struct hv_guard_report guard_now;
	bool guard_read;
	Hvipe__VerityDevice vd[HV_PROTO_MAX_VERITY_DEVICES], *vdp[HV_PROTO_MAX_VERITY_DEVICES];
	Hvipe__IpePolicy pol[HV_PROTO_MAX_POLICIES], *polp[HV_PROTO_MAX_POLICIES];
	_cleanup_free_ struct ga_evidence *ev = calloc(1, sizeof(*ev));
	int r;

	if (!ev)
		return -ENOMEM;
	r = ga_evidence_collect(&a->paths, c->want, ev);
	if (r < 0)
		hv_log(HV_WARN, "step=evidence reason=collect_failed err=\"%s\"", strerror(-r));
	e.nonce = c->nonce;
	for (size_t i = 0; i < ev->n_verity; i++) {
		const struct ga_verity *v = &ev->verity[i];

		hvipe__verity_device__init(&vd[i]);
		vd[i].name = (char *)v->name;
		vd[i].root_hash.data = (uint8_t *)v->root_hash;
		vd[i].root_hash.len = v->root_hash_len;
		vd[i].hash_algorithm = (char *)v->alg;
		vd[i].data_device = (char *)v->data_dev;
		vd[i].hash_device = (char *)v->hash_dev;
		vd[i].signature_verified = v->signature;
		vd[i].mountpoint = (char *)v->mountpoint;
		vdp[i] = &vd[i];
	}
	e.n_verity = ev->n_verity;
	e.verity = vdp;
	ipe.present = ev->ipe.present;
	ipe.enforce = ev->ipe.enforce;
	ipe.success_audit = ev->ipe.success_audit;
	for (size_t i = 0; i < ev->ipe.n_policies; i++) {
		struct ga_policy *p = &ev->ipe.policies[i];

		hvipe__ipe_policy__init(&pol[i]);
		pol[i].name = p->name;
		pol[i].version = p->version;
		pol[i].active = p->active;
		if (p->has_digest) {
			pol[i].digest.data = p->digest;
			pol[i].digest.len = 32;
		}
		polp[i] = &pol[i];
	}
	ipe.n_policies = ev->ipe.n_policies;
	ipe.policies = polp;
	e.ipe = &ipe;
	e.lockdown = ev->lockdown;
	e.kernel_release = ev->kernel_release;
	if (ev->has_boot_id) {
		e.boot_id.data = ev->boot_id;
		e.boot_id.len = 16;
	}
	guard_read = guard_state(a, ev, &guard, &guard_now);
	e.guard = &guard.gs;
	e.audit_dropped = a->dropped_since_evidence;
	env.body_case = HVIPE__ENVELOPE__BODY_EVIDENCE;
	env.evidence = &e;
	r = send_env(s, &env);
	if (r == 0) {
		a->dropped_since_evidence = 0;
		if (guard_read) {
			a->guard_prev = guard_now;
			a->guard_have_prev = true;
		}
		hv_log(HV_DEBUG, "step=evidence verity=%zu policies=%zu enforce=%d", ev->n_verity,
		       ev->ipe.n_policies, ev->ipe.enforce);
	}
	return r;
}

static void log_result(const struct ga_apply_result *res, const char *source)
{
	char name[96], an[96];

	hv_log_escape(name, sizeof(name), res->name, strlen(res->name), 64);
	hv_log_escape(an, sizeof(an), res->active.name, strlen(res->active.name), 64);
	hv_log(res->err ? HV_WARN : HV_NOTICE,
	       "step=policy source=%s policy=%s version=%s result=%s failed_step=%s err=%d "
	       "reason=\"%s\" active=%s active_version=%s",
	       source, name, res->version, res->err ? "failed" : "applied",
	       res->err ? res->step : "-", res->err, res->reason, an[0] ? an : "-",
	       res->active.version[0] ? res->active.version : "-");
}

static int on_policy_update(struct agent *a, struct session *s, uint64_t seq,
                            const Hvipe__PolicyUpdate *u)
{
	Hvipe__Envelope env = HVIPE__ENVELOPE__INIT;
	Hvipe__PolicyResult pr = HVIPE__POLICY_RESULT__INIT;
	struct ga_apply_result res;
	struct ga_apply_req req = {
	        .name = u->name,
	        .version = u->version,
	        .blob = u->blob.data,
	        .len = u->blob.len,
	        .digest = u->digest.len == 32 ? u->digest.data : NULL,
	        .activate = u->activate,
	        .settle_ms = a->o.settle_ms,
	};
	int r;

	r = ga_policy_apply(a->o.securityfs, a->o.state_dir, &req, &res);
	if (r < 0)
		return r;
	log_result(&res, "host");
	pr.update_seq = seq;
	pr.err = res.err;
	pr.step = (char *)res.step;
	pr.reason = res.reason;
	if (res.active.has_digest) {
		pr.active_digest.data = res.active.digest;
		pr.active_digest.len = 32;
	}
	pr.active_name = res.active.name;
	pr.active_version = res.active.version;
	env.body_case = HVIPE__ENVELOPE__BODY_POLICY_RESULT;
	env.policy_result = &pr;
	r = send_env(s, &env);
	/* --once: done when the host acknowledges the result, or shortly after
	 * (the policy is active either way; the wait lets the result reach it). */
	if (r == 0 && a->o.once && res.err == 0 && !strcmp(res.active.name, HOST_NAME)) {
		s->result_seq = s->seq;
		s->done_at_ms = now_ms() + 3000;
	}
	/* Arming takes a moment: do it after the result is on its way. */
	if (res.err == 0)
		guard_maintain(a);
	return r;
}

static void on_verdict(struct agent *a, const Hvipe__Verdict *v)
{
	struct ga_ipe ipe;
	/* Heartbeat verdicts repeat every second: log changes, and every untrusted one. */
	enum hv_log_level lvl = !v->trusted ? HV_WARN : a->last_trusted ? HV_DEBUG : HV_INFO;

	hv_log(lvl, "step=verdict trusted=%d findings=%zu policy_follows=%d", v->trusted,
	       v->n_findings, v->policy_follows);
	for (size_t i = 0; i < v->n_findings; i++) {
		char d[160];

		hv_log_escape(d, sizeof(d), v->findings[i]->detail, strlen(v->findings[i]->detail),
		              128);
		hv_log(lvl, "step=verdict finding=%d detail=\"%s\"", v->findings[i]->code, d);
	}
	a->last_trusted = v->trusted;
	if (a->o.once && !v->policy_follows && ga_ipe_collect(a->o.securityfs, &ipe) == 0 &&
	    hvipe_active(&ipe))
		a->done = true;
}

static void on_ack(struct agent *a, struct session *s, const Hvipe__Ack *ack)
{
	if (s->result_seq && ack->ref_seq == s->result_seq) {
		a->done = true;
		return;
	}
	if (!s->batch_seq || ack->ref_seq != s->batch_seq)
		return;
	if (ack->err)
		hv_log(HV_WARN, "step=audit reason=batch_refused err=%d records_discarded=yes",
		       ack->err);
	ga_audit_queue_ack(&a->q, s->batch_last_id, s->batch_dropped);
	if (s->batch_dropped)
		hv_log(HV_NOTICE, "step=audit reason=drops_reported dropped=%llu",
		       (unsigned long long)s->batch_dropped);
	if (a->q.dropped_unreported == 0)
		a->dropping = false;
	hv_log(HV_DEBUG, "step=audit acked_seq=%llu queued=%zu", (unsigned long long)ack->ref_seq,
	       a->q.count);
	s->batch_seq = 0;
}

#define BATCH_MAX 64u

/* Protobuf views of one batch; they point into the queued records. */
struct batch_view {
	struct ga_audit_rec *recs[BATCH_MAX];
	Hvipe__AuditRecord ar[BATCH_MAX], *arp[BATCH_MAX];
	Hvipe__AuditField af[BATCH_MAX][GA_AUDIT_MAX_FIELDS], *afp[BATCH_MAX][GA_AUDIT_MAX_FIELDS];
};

/* Send the oldest queued records (and the unreported drop count) when no batch is in flight. */
static int maybe_send_batch(struct agent *a, struct session *s)
{
	Hvipe__Envelope env = HVIPE__ENVELOPE__INIT;
	Hvipe__AuditBatch b = HVIPE__AUDIT_BATCH__INIT;
	_cleanup_free_ struct batch_view *v = NULL;
	size_t n, budget = 0;
	int r;

	if (s->batch_seq || !s->hello_done || !(s->host_caps & HVIPE__CAPABILITY__CAP_AUDIT))
		return 0;
	if (a->q.count == 0 && a->q.dropped_unreported == 0)
		return 0;
	v = malloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = ga_audit_queue_peek(&a->q, v->recs, BATCH_MAX);
	for (size_t i = 0; i < n; i++) {
		const struct ga_audit_rec *rec = v->recs[i];

		/* Stay well below the frame cap: each record is at most ~2x its text. */
		if (budget + rec->bytes > HV_PROTO_MAX_FRAME / 2 && i > 0) {
			n = i;
			break;
		}
		budget += rec->bytes;
		hvipe__audit_record__init(&v->ar[i]);
		v->ar[i].type = rec->type;
		v->ar[i].time_ms = rec->time_ms;
		v->ar[i].serial = rec->serial;
		v->ar[i].text = rec->text;
		for (size_t j = 0; j < rec->n_fields; j++) {
			hvipe__audit_field__init(&v->af[i][j]);
			v->af[i][j].key = rec->fields[j].key;
			v->af[i][j].value = rec->fields[j].value;
			v->afp[i][j] = &v->af[i][j];
		}
		v->ar[i].n_fields = rec->n_fields;
		v->ar[i].fields = v->afp[i];
		v->arp[i] = &v->ar[i];
	}
	b.n_records = n;
	b.records = v->arp;
	b.dropped = a->q.dropped_unreported;
	env.body_case = HVIPE__ENVELOPE__BODY_AUDIT_BATCH;
	env.audit_batch = &b;
	r = send_env(s, &env);
	if (r < 0)
		return r;
	s->batch_seq = s->seq;
	s->batch_last_id = n ? v->recs[n - 1]->id : 0;
	s->batch_dropped = b.dropped;
	hv_log(HV_DEBUG, "step=audit sent=%zu dropped=%llu seq=%llu", n,
	       (unsigned long long)b.dropped, (unsigned long long)s->seq);
	return 0;
}

static int on_frame(struct agent *a, struct session *s, hv_envelope *env)
{
	switch (env->body_case) {
	case HVIPE__ENVELOPE__BODY_HELLO:
		if (s->hello_done)
			return -EPROTO;
		if (env->hello->protocol_version != HV_PROTO_VERSION)
			return -EPROTONOSUPPORT;
		s->hello_done = true;
		s->host_caps = env->hello->capabilities;
		s->heartbeat_ms = env->hello->heartbeat_ms ? env->hello->heartbeat_ms
		                                           : HV_DEFAULT_HEARTBEAT_MS;
		s->session_id = env->hello->session_id;
		hv_log(HV_INFO, "step=hello session=%llu heartbeat_ms=%u caps=%llu",
		       (unsigned long long)s->session_id, s->heartbeat_ms,
		       (unsigned long long)s->host_caps);
		return 0;
	case HVIPE__ENVELOPE__BODY_CHALLENGE:
		return s->hello_done ? on_challenge(a, s, env->challenge) : -EPROTO;
	case HVIPE__ENVELOPE__BODY_VERDICT:
		on_verdict(a, env->verdict);
		return 0;
	case HVIPE__ENVELOPE__BODY_POLICY_UPDATE:
		return s->hello_done ? on_policy_update(a, s, env->seq, env->policy_update)
		                     : -EPROTO;
	case HVIPE__ENVELOPE__BODY_ACK:
		on_ack(a, s, env->ack);
		return 0;
	case HVIPE__ENVELOPE__BODY_ERROR: {
		char d[160];

		hv_log_escape(d, sizeof(d), env->error->detail, strlen(env->error->detail), 128);
		hv_log(HV_WARN, "step=session reason=host_error err=%d detail=\"%s\"",
		       env->error->err, d);
		return -ECONNABORTED;
	}
	default:
		return -EPROTO; /* a guest-to-host message from the host */
	}
}

/* Tell the host why the agent is closing on it (best effort). */
static void send_error(struct session *s, int r)
{
	Hvipe__Envelope env = HVIPE__ENVELOPE__INIT;
	Hvipe__Error e = HVIPE__ERROR__INIT;

	e.err = -r;
	e.detail = (char *)(r == -EPROTONOSUPPORT ? "protocol version not supported"
	                    : r == -EPROTO        ? "message not expected in this state"
	                                          : "malformed or oversized frame");
	env.body_case = HVIPE__ENVELOPE__BODY_ERROR;
	env.error = &e;
	(void)send_env(s, &env);
}

/* How long the host may stay silent before the agent reconnects. */
static int silence_limit(const struct session *s)
{
	int64_t hb = s->heartbeat_ms ? s->heartbeat_ms : HV_DEFAULT_HEARTBEAT_MS;
	int64_t lim = 3 * hb;

	return (int)(lim < 10000 ? 10000 : lim > 600000 ? 600000 : lim);
}

/* Run one connection until it ends. Returns the reason (negative errno). */
static int session_run(struct agent *a, int fd, int64_t deadline)
{
	struct session s = {.fd = fd, .last_rx_ms = now_ms()};
	int r;

	/* A host that stops reading must not block the agent forever in send(). */
	struct timeval sndto = {.tv_sec = 10};

	hv_buf_init(&s.rx, HV_PROTO_MAX_FRAME + 4);
	r = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sndto, sizeof(sndto)) < 0 ? -errno : 0;
	if (r == 0)
		r = send_hello(a, &s);
	while (r == 0 && !stop_signal && !a->done) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
		                      {.fd = a->audit_fd, .events = POLLIN}};
		int64_t t = now_ms(), wait = s.last_rx_ms + silence_limit(&s) - t;
		hv_envelope *env;
		size_t used;
		uint8_t chunk[16384];
		ssize_t n;

		if (s.result_seq && t >= s.done_at_ms) {
			a->done = true;
			break;
		}
		if (s.result_seq && s.done_at_ms - t < wait)
			wait = s.done_at_ms - t;
		if (deadline >= 0 && deadline - t < wait)
			wait = deadline - t;
		if (wait <= 0) {
			r = deadline >= 0 && t >= deadline ? -ETIME : -ETIMEDOUT;
			break;
		}
		if (poll(p, a->audit_fd >= 0 ? 2 : 1, (int)wait) < 0) {
			if (errno != EINTR)
				r = -errno;
			continue;
		}
		if (p[1].revents)
			audit_poll(a);
		if (p[0].revents) {
			n = read(fd, chunk, sizeof(chunk));
			if (n == 0) {
				r = -ECONNRESET;
				break;
			}
			if (n < 0) {
				if (errno != EINTR && errno != EAGAIN)
					r = -errno;
				continue;
			}
			r = hv_buf_append(&s.rx, chunk, (size_t)n);
			while (r == 0 &&
			       (r = hv_frame_decode(s.rx.data, s.rx.len, HV_PROTO_MAX_FRAME, &env,
			                            &used)) == 0) {
				hv_buf_consume(&s.rx, used);
				/* Only whole frames count as signs of life. */
				s.last_rx_ms = now_ms();
				hv_log(HV_DEBUG, "step=recv kind=%s seq=%llu",
				       hv_envelope_kind(env), (unsigned long long)env->seq);
				r = on_frame(a, &s, env);
				hv_envelope_free(env);
			}
			if (r == -EAGAIN)
				r = 0;
		}
		if (r == 0)
			r = maybe_send_batch(a, &s);
	}
	if (r == -EBADMSG || r == -EMSGSIZE || r == -EPROTO || r == -EPROTONOSUPPORT)
		send_error(&s, r);
	if (s.hello_done)
		ga_backoff_reset(&a->backoff);
	hv_buf_free(&s.rx);
	return a->done ? 0 : r;
}

static int apply_fallback(struct agent *a)
{
	_cleanup_free_ uint8_t *blob = NULL;
	struct ga_apply_result res;
	struct ga_apply_req req = {.activate = true, .settle_ms = a->o.settle_ms};
	size_t len;
	int r;

	r = hv_read_file(a->o.fallback, HV_IPE_MAX_SIGNED_BLOB, &blob, &len);
	if (r < 0) {
		hv_log(HV_ERR, "step=fallback reason=unreadable file=%s err=\"%s\"", a->o.fallback,
		       strerror(-r));
		return 1;
	}
	req.blob = blob;
	req.len = len;
	r = ga_policy_apply(a->o.securityfs, a->o.state_dir, &req, &res);
	if (r < 0) {
		hv_log(HV_ERR, "step=fallback reason=internal err=\"%s\"", strerror(-r));
		return 1;
	}
	log_result(&res, "fallback");
	return res.err ? 1 : 0;
}

static void addr_str(const struct ga_addr *ad, char *out, size_t n)
{
	if (ad->is_unix)
		snprintf(out, n, "unix:%s", ad->path);
	else
		snprintf(out, n, "vsock:%u:%u", ad->cid, ad->port);
}

static int run(struct agent *a)
{
	int64_t deadline = a->o.once ? a->start_ms + a->o.deadline_ms : -1;
	char as[160];
	int last_err = 0;

	addr_str(&a->addr, as, sizeof(as));
	/* A daemon started after the initramfs applied the host's policy arms
	 * the guard before it first answers a challenge. */
	guard_maintain(a);
	while (!stop_signal) {
		int64_t t = now_ms();
		int ct = a->o.connect_timeout_ms, fd, r;

		if (deadline >= 0 && t >= deadline)
			break;
		if (deadline >= 0 && deadline - t < ct)
			ct = (int)(deadline - t);
		fd = ga_connect(&a->addr, ct);
		if (fd >= 0) {
			hv_log(HV_INFO, "step=connect host=%s result=connected", as);
			r = session_run(a, fd, deadline);
			close(fd);
			if (a->done)
				return 0;
			if (stop_signal)
				break;
			hv_log(HV_WARN, "step=session host=%s reason=\"%s\"", as,
			       r == -ETIME ? "deadline" : strerror(-r));
			last_err = r;
		} else if (fd != last_err) {
			hv_log(HV_WARN, "step=connect host=%s reason=\"%s\"", as, strerror(-fd));
			last_err = fd;
		}
		r = (int)ga_backoff_next(&a->backoff);
		if (deadline >= 0 && deadline - now_ms() < r)
			r = (int)(deadline - now_ms());
		if (r > 0)
			idle(a, r);
	}
	if (stop_signal) {
		hv_log(HV_INFO, "step=exit reason=signal sig=%d", (int)stop_signal);
		/* --once must never let init believe a policy is active when it is not. */
		return a->o.once ? EXIT_INTERRUPTED : 0;
	}
	/* --once and the host did not deliver a policy in time. */
	if (a->cmd.fail_closed) {
		hv_log(HV_ERR, "step=fallback reason=host_unreachable fail=closed result=halt");
		return EXIT_UNREACHABLE;
	}
	if (!a->o.fallback) {
		hv_log(HV_ERR, "step=fallback reason=host_unreachable fallback=none");
		return EXIT_UNREACHABLE;
	}
	hv_log(HV_WARN, "step=fallback reason=host_unreachable fallback=%s", a->o.fallback);
	return apply_fallback(a);
}

int main(int argc, char **argv)
{
	struct agent a = {0};
	struct sigaction sa = {.sa_handler = on_signal};
	_cleanup_free_ uint8_t *cmdline = NULL;
	size_t cmdlen = 0;
	uint64_t seed;
	int r;

	hv_log_init("hvipe-guestd", HV_INFO);
	if (parse_opts(argc, argv, &a.o) < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	a.start_ms = now_ms();
	r = hv_read_file(a.o.cmdline, 65536, &cmdline, &cmdlen);
	if (r < 0)
		hv_log(HV_WARN, "step=start reason=cmdline_unreadable file=%s err=\"%s\"",
		       a.o.cmdline, strerror(-r));
	if (ga_cmdline_parse(cmdline ? (char *)cmdline : "", cmdlen, &a.cmd) < 0) {
		hv_log(HV_ERR,
		       "step=start reason=bad_cmdline detail=\"hvipe.port= is not a port\"");
		return EXIT_USAGE;
	}
	if (a.o.connect) {
		if (ga_addr_parse(a.o.connect, &a.addr) < 0) {
			hv_log(HV_ERR, "step=start reason=bad_address");
			return EXIT_USAGE;
		}
	} else {
		a.addr = (struct ga_addr){.cid = 2, .port = a.cmd.port};
	}
	ga_paths_default(&a.paths);
	a.paths.securityfs = a.o.securityfs;
	if (a.o.dm_tables) {
		a.dm_file = (struct ga_dm_source){.list = ga_dm_file_list,
		                                  .ctx = (void *)a.o.dm_tables};
		a.paths.dm = &a.dm_file;
	}
	if (a.o.mountinfo)
		a.paths.mountinfo = a.o.mountinfo;
	if (a.o.state_dir && mkdir(a.o.state_dir, 0700) < 0 && errno != EEXIST)
		hv_log(HV_WARN,
		       "step=start reason=state_dir_unusable dir=%s err=\"%s\" detail=\"no "
		       "rollback "
		       "floor\"",
		       a.o.state_dir, strerror(errno));
	if (ga_audit_queue_init(&a.q, a.o.queue_records, a.o.queue_bytes) < 0)
		return 1;
	hv_buf_init(&a.audit_line, 16384);
	r = audit_open(&a);
	if (r < 0)
		hv_log(HV_WARN, "step=audit reason=unavailable source=%s err=\"%s\"",
		       a.o.audit_source, strerror(-r));
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	seed = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32);
	ga_backoff_init(&a.backoff, a.o.backoff_cap_ms, seed);
	hv_log(HV_INFO, "step=start mode=%s securityfs=%s", a.o.once ? "once" : "daemon",
	       a.o.securityfs);

	r = run(&a);
	if (a.o.once && r == 0 && a.done)
		hv_log(HV_NOTICE, "step=exit result=policy_active");
	if (a.audit_fd >= 0)
		close(a.audit_fd);
	hv_buf_free(&a.audit_line);
	ga_audit_queue_free(&a.q);
	hv_guard_free(a.guard); /* the pins keep the guard armed */
	return r;
}
