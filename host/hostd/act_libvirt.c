/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libvirt actuator: see act_libvirt.h for the threading model. Shared state
 * (the job queue, the result queue, the quit flag) is under one mutex; the
 * libvirt connection is touched only by the worker thread.
 */
#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "act_libvirt.h"
#include "hv_limits.h"
#include "util/cleanup.h"
#include "util/log.h"

DEFINE_CLEANUP_FUNC(xmlDocPtr, xmlFreeDoc)
DEFINE_CLEANUP_FUNC(xmlXPathContextPtr, xmlXPathFreeContext)
DEFINE_CLEANUP_FUNC(xmlXPathObjectPtr, xmlXPathFreeObject)
DEFINE_CLEANUP_FUNC(virDomainPtr, virDomainFree)

/* ---- domain XML ---- */

static int parse_cid(const char *s, uint32_t *cid)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EBADMSG;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || v < 3 || v > 0xfffffffeull)
		return -EBADMSG;
	if (*end != '\0' && *end != ',')
		return -EBADMSG;
	*cid = (uint32_t)v;
	return 0;
}

static xmlXPathObjectPtr xpath(xmlXPathContextPtr ctx, const char *expr)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);

	if (o && (o->type != XPATH_NODESET || !o->nodesetval || o->nodesetval->nodeNr == 0)) {
		xmlXPathFreeObject(o);
		return NULL;
	}
	return o;
}

int hv_libvirt_domain_cid(const char *xml, size_t len, uint32_t *cid)
{
	_cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;
	_cleanup_(xmlXPathFreeContextp) xmlXPathContextPtr ctx = NULL;
	_cleanup_(xmlXPathFreeObjectp) xmlXPathObjectPtr o = NULL;

	if (len > HV_LIBVIRT_MAX_XML)
		return -E2BIG;
	doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
	                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return -EBADMSG;
	ctx = xmlXPathNewContext(doc);
	if (!ctx)
		return -ENOMEM;

	o = xpath(ctx, "/domain/devices/vsock/cid/@address");
	if (o) {
		_cleanup_free_ char *s = (char *)xmlNodeGetContent(o->nodesetval->nodeTab[0]);
		return parse_cid(s, cid);
	}

	/* hvipe-vsockd: -device vhost-user-vsock-pci,chardev=...,guest-cid=N */
	o = xpath(ctx, "/domain/*[local-name()='commandline']/*[local-name()='arg']/@value");
	if (!o)
		return -ENOENT;
	for (int i = 0; i < o->nodesetval->nodeNr; i++) {
		_cleanup_free_ char *s = (char *)xmlNodeGetContent(o->nodesetval->nodeTab[i]);
		const char *p;

		if (!s || !strstr(s, "vhost-user-vsock"))
			continue;
		p = strstr(s, "guest-cid=");
		if (!p)
			return -ENODATA; /* the backend (hvipe-vsockd) sets the CID */
		return parse_cid(p + strlen("guest-cid="), cid);
	}
	return -ENOENT;
}

const char *hv_domain_event_name(enum hv_domain_event ev)
{
	static const char *const names[] = {"present",   "started", "stopped",
	                                    "suspended", "resumed", "undefined"};

	return (unsigned)ev < ARRAY_SIZE(names) ? names[ev] : "?";
}

/* ---- queues ---- */

enum job_kind { JOB_ACT, JOB_EVENT, JOB_SCAN };

struct lv_job {
	struct lv_job *next;
	enum job_kind kind;
	/* JOB_ACT */
	enum hv_action action;
	char *vm, *target, *reason;
	hv_act_done_fn done;
	void *ctx;
	sd_event_source *timer;
	bool timed_out; /* loop thread only */
	int err;
	char detail[200];
	/* JOB_EVENT */
	char uuid[VIR_UUID_STRING_BUFLEN];
	enum hv_domain_event ev;
};

/* A domain event or scan entry on its way to the loop thread. */
struct lv_note {
	struct lv_note *next;
	enum hv_domain_event ev;
	char *name;
	char uuid[VIR_UUID_STRING_BUFLEN];
	uint32_t cid;
	bool vsock, active, paused;
};

struct lv_act {
	sd_event *loop;
	sd_event_source *efd_source;
	int efd;
	char *uri;
	uint64_t timeout_us;
	hv_domain_event_fn on_event;
	void *ev_ctx;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool quit;
	struct lv_job *todo, **todo_tail; /* to the worker */
	struct lv_job *done_jobs;         /* back to the loop */
	struct lv_note *notes, **notes_tail;
	pthread_t worker, events;
	bool worker_started, events_started;

	/* worker thread only */
	virConnectPtr conn;
	int lifecycle_cb;
};

static void job_free(struct lv_job *j)
{
	sd_event_source_disable_unref(j->timer);
	free(j->vm);
	free(j->target);
	free(j->reason);
	free(j);
}

static void wake_loop(struct lv_act *a)
{
	uint64_t one = 1;

	if (write(a->efd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow in practice; a failed write only
		 * delays delivery until the next one. */
	}
}

static void push_job(struct lv_act *a, struct lv_job *j)
{
	pthread_mutex_lock(&a->lock);
	j->next = NULL;
	*a->todo_tail = j;
	a->todo_tail = &j->next;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

static void push_note(struct lv_act *a, struct lv_note *n)
{
	pthread_mutex_lock(&a->lock);
	n->next = NULL;
	*a->notes_tail = n;
	a->notes_tail = &n->next;
	pthread_mutex_unlock(&a->lock);
	wake_loop(a);
}

static void push_done(struct lv_act *a, struct lv_job *j)
{
	pthread_mutex_lock(&a->lock);
	j->next = a->done_jobs;
	a->done_jobs = j;
	pthread_mutex_unlock(&a->lock);
	wake_loop(a);
}

/* ---- worker thread ---- */

static int last_errno(int fallback, char *detail, size_t n, const char *what)
{
	virErrorPtr e = virGetLastError();
	int r = fallback;

	if (e) {
		switch (e->code) {
		case VIR_ERR_NO_DOMAIN:
			r = -ENOENT;
			break;
		case VIR_ERR_NO_CONNECT:
		case VIR_ERR_SYSTEM_ERROR:
		case VIR_ERR_RPC:
			r = -ECONNREFUSED;
			break;
		case VIR_ERR_OPERATION_INVALID:
			r = -EINVAL;
			break;
		default:
			break;
		}
	}
	snprintf(detail, n, "%s: %s", what, e && e->message ? e->message : "libvirt error");
	virResetLastError();
	return r;
}

static void domain_note(struct lv_act *a, virDomainPtr dom, enum hv_domain_event ev)
{
	struct lv_note *n = calloc(1, sizeof(*n));
	const char *name = virDomainGetName(dom);
	int state = 0, reason = 0;
	_cleanup_free_ char *xml = NULL;

	if (!n)
		return;
	n->ev = ev;
	n->name = strdup(name ? name : "");
	if (!n->name) {
		free(n);
		return;
	}
	if (virDomainGetUUIDString(dom, n->uuid) < 0)
		n->uuid[0] = '\0';
	if (virDomainGetState(dom, &state, &reason, 0) == 0) {
		n->paused = state == VIR_DOMAIN_PAUSED;
		n->active = state != VIR_DOMAIN_SHUTOFF && state != VIR_DOMAIN_CRASHED &&
		            state != VIR_DOMAIN_NOSTATE;
	}
	xml = virDomainGetXMLDesc(dom, 0);
	if (xml) {
		int r = hv_libvirt_domain_cid(xml, strlen(xml), &n->cid);

		n->vsock = r == 0 || r == -ENODATA;
		if (r < 0)
			n->cid = 0;
	}
	virResetLastError();
	push_note(a, n);
}

static enum hv_domain_event map_lifecycle(int event)
{
	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
		return HV_DOMAIN_STARTED;
	case VIR_DOMAIN_EVENT_SUSPENDED:
		return HV_DOMAIN_SUSPENDED;
	case VIR_DOMAIN_EVENT_RESUMED:
		return HV_DOMAIN_RESUMED;
	case VIR_DOMAIN_EVENT_UNDEFINED:
		return HV_DOMAIN_UNDEFINED;
	case VIR_DOMAIN_EVENT_STOPPED:
	case VIR_DOMAIN_EVENT_SHUTDOWN:
	case VIR_DOMAIN_EVENT_CRASHED:
		return HV_DOMAIN_STOPPED;
	default:
		return HV_DOMAIN_PRESENT;
	}
}

/* Runs on the libvirt event thread: no RPC here, hand over to the worker. */
static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct lv_act *a = opaque;
	struct lv_job *j;
	enum hv_domain_event ev = map_lifecycle(event);

	if (ev == HV_DOMAIN_PRESENT)
		return 0; /* defined, pmsuspended: nothing hostd acts on */
	j = calloc(1, sizeof(*j));
	if (!j)
		return 0;
	j->kind = JOB_EVENT;
	j->ev = ev;
	if (virDomainGetUUIDString(dom, j->uuid) < 0) {
		free(j);
		return 0;
	}
	/* A stopped or undefined transient domain may be gone by the time the
	 * worker looks: report its name now. */
	j->vm = strdup(virDomainGetName(dom) ? virDomainGetName(dom) : "");
	push_job(a, j);
	return 0;
}

static void scan(struct lv_act *a)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(a->conn, &doms, 0);

	if (n < 0) {
		virResetLastError();
		return;
	}
	for (int i = 0; i < n; i++) {
		domain_note(a, doms[i], HV_DOMAIN_PRESENT);
		virDomainFree(doms[i]);
	}
	free(doms);
}

static void disconnect(struct lv_act *a)
{
	if (!a->conn)
		return;
	if (a->lifecycle_cb >= 0)
		virConnectDomainEventDeregisterAny(a->conn, a->lifecycle_cb);
	a->lifecycle_cb = -1;
	virConnectClose(a->conn);
	a->conn = NULL;
	virResetLastError();
}

/* Returns 0 with a live connection (reporting every domain after a fresh
 * connect), or -ECONNREFUSED with @detail set. */
static int ensure_connected(struct lv_act *a, char *detail, size_t n)
{
	if (a->conn && virConnectIsAlive(a->conn) == 1)
		return 0;
	disconnect(a);

	a->conn = virConnectOpen(a->uri);
	if (!a->conn)
		return last_errno(-ECONNREFUSED, detail, n, "connect");
	if (virConnectSetKeepAlive(a->conn, 5, 3) < 0)
		virResetLastError();
	a->lifecycle_cb =
	        virConnectDomainEventRegisterAny(a->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
	                                         VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), a, NULL);
	if (a->lifecycle_cb < 0) {
		int r = last_errno(-ECONNREFUSED, detail, n, "register events");

		disconnect(a);
		return r;
	}
	scan(a);
	return 0;
}

static virDomainPtr lookup(virConnectPtr conn, const char *target)
{
	unsigned char uuid[VIR_UUID_BUFLEN];

	if (strlen(target) == VIR_UUID_STRING_BUFLEN - 1 &&
	    sscanf(target, "%2hhx%2hhx%2hhx%2hhx-", &uuid[0], &uuid[1], &uuid[2], &uuid[3]) == 4)
		return virDomainLookupByUUIDString(conn, target);
	return virDomainLookupByName(conn, target);
}

static void run_act(struct lv_act *a, struct lv_job *j)
{
	_cleanup_(virDomainFreep) virDomainPtr dom = NULL;
	int state = 0, reason = 0, r;
	bool active;

	j->err = ensure_connected(a, j->detail, sizeof(j->detail));
	if (j->err < 0)
		return;

	dom = lookup(a->conn, j->target);
	if (!dom) {
		r = last_errno(-ENOENT, j->detail, sizeof(j->detail), "lookup");
		if (r == -ENOENT && j->action == HV_ACTION_POWEROFF) {
			snprintf(j->detail, sizeof(j->detail), "no such domain (not running)");
			r = 0;
		}
		j->err = r;
		return;
	}
	if (virDomainGetState(dom, &state, &reason, 0) < 0) {
		j->err = last_errno(-EIO, j->detail, sizeof(j->detail), "get state");
		return;
	}
	active = state != VIR_DOMAIN_SHUTOFF && state != VIR_DOMAIN_CRASHED &&
	         state != VIR_DOMAIN_NOSTATE;

	switch (j->action) {
	case HV_ACTION_PAUSE:
		if (state == VIR_DOMAIN_PAUSED) {
			snprintf(j->detail, sizeof(j->detail), "already paused");
			return;
		}
		if (!active) {
			snprintf(j->detail, sizeof(j->detail), "not running");
			return;
		}
		if (virDomainSuspend(dom) < 0) {
			j->err = last_errno(-EIO, j->detail, sizeof(j->detail), "suspend");
			return;
		}
		snprintf(j->detail, sizeof(j->detail), "suspended");
		return;
	case HV_ACTION_POWEROFF:
		if (!active) {
			snprintf(j->detail, sizeof(j->detail), "already off");
			return;
		}
		if (virDomainDestroy(dom) < 0) {
			j->err = last_errno(-EIO, j->detail, sizeof(j->detail), "destroy");
			return;
		}
		snprintf(j->detail, sizeof(j->detail), "destroyed");
		return;
	case HV_ACTION_RESUME:
		if (!active) {
			j->err = -ESRCH;
			snprintf(j->detail, sizeof(j->detail), "not running");
			return;
		}
		if (state != VIR_DOMAIN_PAUSED) {
			snprintf(j->detail, sizeof(j->detail), "already running");
			return;
		}
		if (virDomainResume(dom) < 0) {
			j->err = last_errno(-EIO, j->detail, sizeof(j->detail), "resume");
			return;
		}
		snprintf(j->detail, sizeof(j->detail), "resumed");
		return;
	default:
		j->err = -EINVAL;
		snprintf(j->detail, sizeof(j->detail), "unsupported action");
		return;
	}
}

static void run_event(struct lv_act *a, struct lv_job *j)
{
	_cleanup_(virDomainFreep) virDomainPtr dom = NULL;
	struct lv_note *n;
	char detail[64];

	if (ensure_connected(a, detail, sizeof(detail)) == 0)
		dom = virDomainLookupByUUIDString(a->conn, j->uuid);
	virResetLastError();
	if (dom) {
		domain_note(a, dom, j->ev);
		return;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return;
	n->ev = j->ev;
	n->name = TAKE_PTR(j->vm);
	memcpy(n->uuid, j->uuid, sizeof(n->uuid));
	push_note(a, n);
}

static void *worker_main(void *arg)
{
	struct lv_act *a = arg;
	char detail[200];

	/* Connect and report the domains up front, so hostd learns the CIDs. */
	if (ensure_connected(a, detail, sizeof(detail)) < 0) {
		char e[220];

		hv_log(HV_WARN, "step=libvirt-connect uri=%s result=failed detail=\"%s\"", a->uri,
		       hv_log_escape(e, sizeof(e), detail, strlen(detail), 200));
	}

	for (;;) {
		struct lv_job *j;

		pthread_mutex_lock(&a->lock);
		while (!a->quit && !a->todo)
			pthread_cond_wait(&a->cond, &a->lock);
		if (a->quit) {
			pthread_mutex_unlock(&a->lock);
			break;
		}
		j = a->todo;
		a->todo = j->next;
		if (!a->todo)
			a->todo_tail = &a->todo;
		pthread_mutex_unlock(&a->lock);

		switch (j->kind) {
		case JOB_ACT:
			run_act(a, j);
			push_done(a, j);
			break;
		case JOB_EVENT:
			run_event(a, j);
			job_free(j);
			break;
		case JOB_SCAN:
			if (ensure_connected(a, detail, sizeof(detail)) == 0)
				scan(a);
			job_free(j);
			break;
		}
	}
	disconnect(a);
	return NULL;
}

/* ---- libvirt event thread ---- */

static void on_wakeup(int timer, void *opaque)
{
	virEventRemoveTimeout(timer);
}

static void *events_main(void *arg)
{
	struct lv_act *a = arg;

	for (;;) {
		bool quit;

		pthread_mutex_lock(&a->lock);
		quit = a->quit;
		pthread_mutex_unlock(&a->lock);
		if (quit)
			break;
		if (virEventRunDefaultImpl() < 0)
			virResetLastError();
	}
	return NULL;
}

static pthread_once_t event_impl_once = PTHREAD_ONCE_INIT;
static int event_impl_result;

/* libvirt prints every error to stderr by default; hostd logs its own line
 * per action with libvirt's message in it. */
static void quiet_errors(void *opaque, virErrorPtr e)
{
}

static void event_impl_init(void)
{
	virSetErrorFunc(NULL, quiet_errors);
	event_impl_result = virEventRegisterDefaultImpl();
}

/* ---- loop thread ---- */

static void log_result(const char *vm, enum hv_action action, const char *reason, int err,
                       const char *detail, bool late)
{
	char evm[96], ereason[160], edetail[220];

	hv_log(err ? HV_WARN : HV_NOTICE,
	       "vm=%s step=act actuator=libvirt action=%s reason=\"%s\" result=%s%s detail=\"%s\"",
	       hv_log_escape(evm, sizeof(evm), vm, strlen(vm), 64), hv_action_name(action),
	       hv_log_escape(ereason, sizeof(ereason), reason, strlen(reason), 120),
	       err ? "failed" : "ok", late ? " late=yes" : "",
	       hv_log_escape(edetail, sizeof(edetail), detail, strlen(detail), 200));
}

static void finish_job(struct lv_job *j)
{
	log_result(j->vm, j->action, j->reason, j->err, j->detail, j->timed_out);
	if (!j->timed_out)
		j->done(j->ctx, j->err, j->detail);
	job_free(j);
}

static void deliver(struct lv_act *a)
{
	struct lv_job *jobs;
	struct lv_note *notes;

	pthread_mutex_lock(&a->lock);
	jobs = a->done_jobs;
	a->done_jobs = NULL;
	notes = a->notes;
	a->notes = NULL;
	a->notes_tail = &a->notes;
	pthread_mutex_unlock(&a->lock);

	while (notes) {
		struct lv_note *n = notes;
		struct hv_domain_info d = {
		        .name = n->name ? n->name : "",
		        .uuid = n->uuid,
		        .cid = n->cid,
		        .active = n->active,
		        .paused = n->paused,
		};

		notes = n->next;
		if (a->on_event)
			a->on_event(a->ev_ctx, n->ev, &d);
		free(n->name);
		free(n);
	}
	while (jobs) {
		struct lv_job *j = jobs;

		jobs = j->next;
		finish_job(j);
	}
}

static int on_efd(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
		/* eventfd reads only fail with EAGAIN when empty */
	}
	deliver(userdata);
	return 0;
}

static int on_job_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct lv_job *j = userdata;

	/* The worker still owns the job; it comes back through deliver(). */
	j->timed_out = true;
	log_result(j->vm, j->action, j->reason, -ETIMEDOUT, "libvirt did not answer in time",
	           false);
	j->done(j->ctx, -ETIMEDOUT, "libvirt did not answer in time");
	return 0;
}

/* Start an action: returns 0 (done follows) or -EINVAL, -ENOMEM. */
static int lv_act(void *impl, const struct hv_act_request *req, hv_act_done_fn done, void *ctx)
{
	struct lv_act *a = impl;
	struct lv_job *j;
	uint64_t now;

	if (req->action == HV_ACTION_LOG) {
		log_result(req->vm ? req->vm : "?", req->action, req->reason ? req->reason : "", 0,
		           "logged only", false);
		done(ctx, 0, "logged only");
		return 0;
	}
	if (!req->target || !*req->target || req->action > HV_ACTION_RESUME)
		return -EINVAL;

	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->kind = JOB_ACT;
	j->action = req->action;
	j->done = done;
	j->ctx = ctx;
	j->vm = strdup(req->vm ? req->vm : "?");
	j->target = strdup(req->target);
	j->reason = strdup(req->reason ? req->reason : "");
	if (!j->vm || !j->target || !j->reason)
		goto nomem;
	if (sd_event_now(a->loop, CLOCK_MONOTONIC, &now) < 0)
		now = 0;
	if (sd_event_add_time(a->loop, &j->timer, CLOCK_MONOTONIC, now + a->timeout_us, 0,
	                      on_job_timeout, j) < 0)
		goto nomem;
	push_job(a, j);
	return 0;

nomem:
	job_free(j);
	return -ENOMEM;
}

int hv_act_libvirt_rescan(struct hv_actuator *act)
{
	struct lv_job *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->kind = JOB_SCAN;
	push_job(act->impl, j);
	return 0;
}

/* Stops both threads; queued actions end with -ECANCELED, finished ones are
 * delivered. */
static void lv_destroy(void *impl)
{
	struct lv_act *a = impl;

	pthread_mutex_lock(&a->lock);
	a->quit = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (a->worker_started)
		pthread_join(a->worker, NULL);
	if (a->events_started) {
		if (virEventAddTimeout(0, on_wakeup, NULL, NULL) < 0)
			virResetLastError();
		pthread_join(a->events, NULL);
	}

	deliver(a);
	while (a->todo) {
		struct lv_job *j = a->todo;

		a->todo = j->next;
		if (j->kind == JOB_ACT) {
			j->err = -ECANCELED;
			snprintf(j->detail, sizeof(j->detail), "actuator shut down");
			finish_job(j);
		} else {
			job_free(j);
		}
	}
	sd_event_source_disable_unref(a->efd_source);
	if (a->efd >= 0)
		close(a->efd);
	sd_event_unref(a->loop);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a->uri);
	free(a);
}

static const struct hv_actuator_ops libvirt_ops = {
        .kind = "libvirt",
        .act = lv_act,
        .destroy = lv_destroy,
};

int hv_act_libvirt_new(sd_event *loop, const char *uri, unsigned timeout_ms,
                       hv_domain_event_fn on_event, void *ctx, struct hv_actuator *out)
{
	struct lv_act *a = calloc(1, sizeof(*a));
	int r;

	if (!a)
		return -ENOMEM;
	a->efd = -1;
	a->lifecycle_cb = -1;
	a->loop = sd_event_ref(loop);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->todo_tail = &a->todo;
	a->notes_tail = &a->notes;
	a->on_event = on_event;
	a->ev_ctx = ctx;
	a->timeout_us = (uint64_t)(timeout_ms ? timeout_ms : HV_ACT_DEFAULT_TIMEOUT_MS) * 1000;
	a->uri = strdup(uri ? uri : HV_LIBVIRT_DEFAULT_URI);
	if (!a->uri) {
		r = -ENOMEM;
		goto fail;
	}

	pthread_once(&event_impl_once, event_impl_init);
	if (event_impl_result < 0) {
		r = -EIO;
		goto fail;
	}
	a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->efd < 0) {
		r = -errno;
		goto fail;
	}
	r = sd_event_add_io(loop, &a->efd_source, a->efd, EPOLLIN, on_efd, a);
	if (r < 0)
		goto fail;

	r = -pthread_create(&a->events, NULL, events_main, a);
	if (r < 0)
		goto fail;
	a->events_started = true;
	r = -pthread_create(&a->worker, NULL, worker_main, a);
	if (r < 0)
		goto fail;
	a->worker_started = true;

	out->ops = &libvirt_ops;
	out->impl = a;
	return 0;

fail:
	lv_destroy(a);
	return r;
}
