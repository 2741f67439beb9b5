/* SPDX-License-Identifier: Apache-2.0 */
/*
 * QMP actuator. One connection per action, never blocking the loop: the
 * socket is non-blocking, every read and write is driven by an sd-event I/O
 * source, and a timer source enforces the deadline. QEMU is trusted but its
 * replies are still bounded (HV_QMP_MAX_LINE per message) and parsed with
 * json-c; asynchronous events ({"event": ...}) are skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "act_qmp.h"
#include "hv_limits.h"
#include "util/cleanup.h"
#include "util/log.h"

DEFINE_CLEANUP_FUNC(json_object *, json_object_put)

enum qmp_step {
	QMP_GREETING, /* waiting for {"QMP": ...} */
	QMP_CAPS,     /* sent qmp_capabilities */
	QMP_QUERY,    /* sent query-status (resume only) */
	QMP_CMD,      /* sent the action's command */
};

struct qmp_act;

struct qmp_job {
	struct qmp_job *next;
	struct qmp_act *owner;
	int fd;
	sd_event_source *io;
	sd_event_source *timer;
	enum qmp_step step;
	enum hv_action action;
	char *vm;
	char *reason;
	hv_act_done_fn done;
	void *ctx;
	char rx[HV_QMP_MAX_LINE];
	size_t rx_len;
	char tx[128];
	size_t tx_len, tx_off;
};

struct qmp_act {
	sd_event *loop;
	uint64_t timeout_us;
	struct qmp_job *jobs;
};

static void job_free(struct qmp_job *j)
{
	struct qmp_job **pp;

	for (pp = &j->owner->jobs; *pp; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	}
	sd_event_source_disable_unref(j->io);
	sd_event_source_disable_unref(j->timer);
	if (j->fd >= 0)
		close(j->fd);
	free(j->vm);
	free(j->reason);
	free(j);
}

static void log_result(const char *vm, enum hv_action action, const char *reason, int err,
                       const char *detail)
{
	char evm[96], ereason[160], edetail[200];

	hv_log(err ? HV_WARN : HV_NOTICE,
	       "vm=%s step=act actuator=qmp action=%s reason=\"%s\" result=%s detail=\"%s\"",
	       hv_log_escape(evm, sizeof(evm), vm, strlen(vm), 64), hv_action_name(action),
	       hv_log_escape(ereason, sizeof(ereason), reason, strlen(reason), 120),
	       err ? "failed" : "ok",
	       hv_log_escape(edetail, sizeof(edetail), detail, strlen(detail), 160));
}

/* Report once, log once, free the job. */
static void job_finish(struct qmp_job *j, int err, const char *detail)
{
	hv_act_done_fn done = j->done;
	void *ctx = j->ctx;

	log_result(j->vm, j->action, j->reason, err, detail);
	job_free(j);
	done(ctx, err, detail);
}

static int job_send(struct qmp_job *j, const char *cmd, enum qmp_step next)
{
	int n = snprintf(j->tx, sizeof(j->tx), "{\"execute\":\"%s\"}\n", cmd);

	if (n < 0 || (size_t)n >= sizeof(j->tx))
		return -EINVAL;
	j->tx_len = (size_t)n;
	j->tx_off = 0;
	j->step = next;
	return sd_event_source_set_io_events(j->io, EPOLLIN | EPOLLOUT);
}

static const char *action_command(enum hv_action a)
{
	switch (a) {
	case HV_ACTION_PAUSE:
		return "stop";
	case HV_ACTION_POWEROFF:
		return "quit";
	case HV_ACTION_RESUME:
		return "cont";
	default:
		return NULL;
	}
}

/*
 * Handle one complete QMP message. Returns 1 when the job finished (and was
 * freed), 0 to keep going, or a negative errno for a broken exchange.
 */
static int job_message(struct qmp_job *j, const char *line)
{
	_cleanup_(json_object_putp) json_object *msg = json_tokener_parse(line);
	json_object *ret, *err, *v;
	char detail[160];

	if (!msg || !json_object_is_type(msg, json_type_object))
		return -EPROTO;
	if (json_object_object_get_ex(msg, "event", NULL))
		return 0;

	if (j->step == QMP_GREETING) {
		if (!json_object_object_get_ex(msg, "QMP", NULL))
			return -EPROTO;
		return job_send(j, "qmp_capabilities", QMP_CAPS);
	}

	if (json_object_object_get_ex(msg, "error", &err)) {
		const char *desc = "";

		if (json_object_object_get_ex(err, "desc", &v) &&
		    json_object_is_type(v, json_type_string))
			desc = json_object_get_string(v);
		snprintf(detail, sizeof(detail), "qemu refused: %s", desc);
		job_finish(j, -EREMOTEIO, detail);
		return 1;
	}
	if (!json_object_object_get_ex(msg, "return", &ret))
		return -EPROTO;

	switch (j->step) {
	case QMP_CAPS:
		if (j->action == HV_ACTION_RESUME)
			return job_send(j, "query-status", QMP_QUERY);
		return job_send(j, action_command(j->action), QMP_CMD);
	case QMP_QUERY:
		if (json_object_object_get_ex(ret, "running", &v) &&
		    json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v)) {
			job_finish(j, 0, "already running");
			return 1;
		}
		return job_send(j, "cont", QMP_CMD);
	case QMP_CMD:
		job_finish(j, 0,
		           j->action == HV_ACTION_PAUSE      ? "stopped"
		           : j->action == HV_ACTION_POWEROFF ? "quit"
		                                             : "continued");
		return 1;
	default:
		return -EPROTO;
	}
}

static int job_read(struct qmp_job *j)
{
	for (;;) {
		ssize_t n = read(j->fd, j->rx + j->rx_len, sizeof(j->rx) - 1 - j->rx_len);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		j->rx_len += (size_t)n;
		j->rx[j->rx_len] = '\0';

		while ((nl = memchr(j->rx, '\n', j->rx_len))) {
			size_t used = (size_t)(nl - j->rx) + 1;
			int r;

			*nl = '\0';
			r = job_message(j, j->rx);
			if (r != 0)
				return r;
			memmove(j->rx, j->rx + used, j->rx_len - used);
			j->rx_len -= used;
			j->rx[j->rx_len] = '\0';
		}
		if (j->rx_len >= sizeof(j->rx) - 1)
			return -EMSGSIZE;
	}
}

static int job_write(struct qmp_job *j)
{
	while (j->tx_off < j->tx_len) {
		ssize_t n = send(j->fd, j->tx + j->tx_off, j->tx_len - j->tx_off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -errno;
		j->tx_off += (size_t)n;
	}
	return sd_event_source_set_io_events(j->io, EPOLLIN);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct qmp_job *j = userdata;
	char detail[96];
	int r = 0;

	if (revents & EPOLLOUT)
		r = job_write(j);
	if (r == 0 && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		r = job_read(j);
	if (r < 0) {
		/* QEMU closes the socket as it exits after "quit": that is success. */
		if (r == -ECONNRESET && j->action == HV_ACTION_POWEROFF && j->step == QMP_CMD) {
			job_finish(j, 0, "quit");
			return 0;
		}
		snprintf(detail, sizeof(detail), "qmp exchange failed: %s", strerror(-r));
		job_finish(j, r, detail);
	}
	return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	job_finish(userdata, -ETIMEDOUT, "qmp did not answer before the deadline");
	return 0;
}

static int qmp_connect(const char *path, int *out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;

	if (!path || !*path)
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS &&
	    errno != EAGAIN)
		return -errno;
	*out = TAKE_FD(fd);
	return 0;
}

/*
 * Start an action. Returns 0 (done follows), or -EINVAL (no socket path, or
 * an action QMP has no command for), -ENAMETOOLONG, -ENOMEM, or the errno of
 * connect() (-ENOENT, -ECONNREFUSED: QEMU is not running) for pause and
 * resume. For poweroff a QEMU that is not running is the goal reached: done
 * reports success with "qemu not running".
 */
static int qmp_act(void *impl, const struct hv_act_request *req, hv_act_done_fn done, void *ctx)
{
	struct qmp_act *q = impl;
	struct qmp_job *j;
	uint64_t now;
	int fd = -1, r;

	if (req->action == HV_ACTION_LOG) {
		log_result(req->vm, req->action, req->reason, 0, "logged only");
		done(ctx, 0, "logged only");
		return 0;
	}
	if (!action_command(req->action))
		return -EINVAL;

	r = qmp_connect(req->target, &fd);
	if (r == -ENOENT || r == -ECONNREFUSED) {
		if (req->action == HV_ACTION_POWEROFF) {
			log_result(req->vm, req->action, req->reason, 0, "qemu not running");
			done(ctx, 0, "qemu not running");
			return 0;
		}
	}
	if (r < 0) {
		log_result(req->vm, req->action, req->reason, r, "qmp socket unreachable");
		return r;
	}

	j = calloc(1, sizeof(*j));
	if (!j) {
		close(fd);
		return -ENOMEM;
	}
	j->owner = q;
	j->fd = fd;
	j->action = req->action;
	j->done = done;
	j->ctx = ctx;
	j->step = QMP_GREETING;
	j->vm = strdup(req->vm ? req->vm : "?");
	j->reason = strdup(req->reason ? req->reason : "");
	j->next = q->jobs;
	q->jobs = j;
	if (!j->vm || !j->reason)
		goto nomem;

	if (sd_event_add_io(q->loop, &j->io, fd, EPOLLIN, on_io, j) < 0)
		goto nomem;
	if (sd_event_now(q->loop, CLOCK_MONOTONIC, &now) < 0)
		now = 0;
	if (sd_event_add_time(q->loop, &j->timer, CLOCK_MONOTONIC, now + q->timeout_us, 0,
	                      on_timeout, j) < 0)
		goto nomem;
	return 0;

nomem:
	job_free(j);
	return -ENOMEM;
}

/* Pending actions end with -ECANCELED. */
static void qmp_destroy(void *impl)
{
	struct qmp_act *q = impl;

	while (q->jobs)
		job_finish(q->jobs, -ECANCELED, "actuator shut down");
	sd_event_unref(q->loop);
	free(q);
}

static const struct hv_actuator_ops qmp_ops = {
        .kind = "qmp",
        .act = qmp_act,
        .destroy = qmp_destroy,
};

int hv_act_qmp_new(sd_event *loop, unsigned timeout_ms, struct hv_actuator *out)
{
	struct qmp_act *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->loop = sd_event_ref(loop);
	q->timeout_us = (uint64_t)(timeout_ms ? timeout_ms : HV_ACT_DEFAULT_TIMEOUT_MS) * 1000;
	out->ops = &qmp_ops;
	out->impl = q;
	return 0;
}
