/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket for hvipectl: control.proto Requests in, one Response
 * each. Admitted peers: root, our own uid, and members of the configured
 * control group (SO_PEERCRED, SO_PEERGROUPS). A Response with err == 0 to a
 * request that changes state is sent after the change is committed.
 */
#include "control.pb-c.h"
#include "hostd.h"
#include "hv_limits.h"
#include "proto/frame.h"
#include "util/cleanup.h"
#include "util/log.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

/* Requests are small (HV_PROTO_MAX_FRAME); answers may be up to
 * HV_CTL_MAX_FRAME, two of them queued for a slow reader. */
#define CTL_RX_MAX (HV_PROTO_MAX_FRAME + 4 + 65536)
#define CTL_TX_MAX (2 * (HV_CTL_MAX_FRAME + 4))
/* At most one "too many clients" line per interval, with the count. */
#define CTL_REFUSE_LOG_USEC (10ull * 1000 * 1000)

typedef Hvipe__Ctl__Request ctl_req;
typedef Hvipe__Ctl__Response ctl_resp;

struct ctl_conn {
	struct hostd *h;
	int fd;
	uid_t uid;
	sd_event_source *io;
	sd_event_source *timer;
	struct hv_buf rx, tx;
	bool closing;
	bool in_request; /* the timer runs HV_CTL_REQUEST_TIMEOUT_MS, else idle */
};

static size_t n_ctl;
static uint64_t refused_log_at;
static unsigned refused_since_log;

static void ctl_free(struct ctl_conn *c)
{
	sd_event_source_disable_unref(c->timer);
	sd_event_source_disable_unref(c->io);
	close(c->fd);
	hv_buf_free(&c->rx);
	hv_buf_free(&c->tx);
	n_ctl--;
	free(c);
}

static bool peer_allowed(struct hostd *h, int fd, uid_t *uid)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);
	gid_t groups[256];
	socklen_t gl = sizeof(groups);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0)
		return false;
	*uid = cr.uid;
	if (cr.uid == 0 || cr.uid == geteuid())
		return true;
	if (h->cfg.control_gid == (gid_t)-1)
		return false;
	if (cr.gid == h->cfg.control_gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl) < 0)
		return false;
	for (size_t i = 0; i < gl / sizeof(gid_t); i++)
		if (groups[i] == h->cfg.control_gid)
			return true;
	return false;
}

/* Bounded, and no control characters (they would forge log lines). */
static int str_field(const char *s, size_t max)
{
	if (!s || strnlen(s, max + 1) > max)
		return -EINVAL;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return -EINVAL;
	return 0;
}

static bool name_ok(const char *s)
{
	size_t n = strnlen(s, 65);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || s[i] == '.' || (s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

static void fill_vm(struct hostd *h, struct hv_vm *vm, Hvipe__Ctl__VmInfo *vi, char **names)
{
	size_t k = 0;

	hvipe__ctl__vm_info__init(vi);
	vi->name = vm->name;
	vi->cid = vm->cid;
	vi->uds = vm->uds;
	vi->mode = (char *)hv_mode_name(vm->mode);
	vi->action = (char *)hv_action_name(vm->action);
	vi->actuator = vm->actuator_kind;
	vi->target = vm->target;
	vi->require_guard = vm->require_guard;
	for (size_t i = 0; i < vm->n_images; i++) {
		struct hv_image *img = hostd_image_by_id(h, vm->image_ids[i]);

		if (img)
			names[k++] = img->name;
	}
	vi->images = names;
	vi->n_images = k;
	vi->connected = vm->conn != NULL;
	vi->last_verdict =
	        (char *)(vm->has_verdict ? (vm->last_trusted ? "trusted" : "untrusted") : "");
	vi->last_verdict_at = vm->last_verdict_at;
	vi->last_reason = vm->last_reason;
	vi->policy_version = vm->issued_version;
	vi->policy_confirmed = vm->confirmed_n != 0 && vm->confirmed_n == vm->issued_n;
	vi->issue_counter = vm->issued_n;
	vi->paused = vm->paused;
	vi->last_action = vm->last_action;
	vi->last_action_at = vm->last_action_at;
}

/* Everything a Response points at that must be freed after packing. */
struct scratch {
	Hvipe__Ctl__VmInfo *vms;
	Hvipe__Ctl__VmInfo **vmp;
	char **names;
	Hvipe__Ctl__ImageInfo *imgs;
	Hvipe__Ctl__ImageInfo **imgp;
	Hvipe__Ctl__AuditEntry *aud;
	Hvipe__Ctl__AuditEntry **audp;
	char **strs;
	size_t n_strs;
};

static void scratch_free(struct scratch *s)
{
	for (size_t i = 0; i < s->n_strs; i++)
		free(s->strs[i]);
	free(s->strs);
	free(s->vms);
	free(s->vmp);
	free(s->names);
	free(s->imgs);
	free(s->imgp);
	free(s->aud);
	free(s->audp);
}

static int list_vms(struct hostd *h, const char *only, ctl_resp *rs, struct scratch *s)
{
	size_t n = 0, total_images = 0, off = 0;

	for (size_t i = 0; i < h->n_vms; i++)
		total_images += h->vms[i]->n_images;
	s->vms = calloc(h->n_vms + 1, sizeof(*s->vms));
	s->vmp = calloc(h->n_vms + 1, sizeof(*s->vmp));
	s->names = calloc(total_images + 1, sizeof(*s->names));
	if (!s->vms || !s->vmp || !s->names)
		return -ENOMEM;
	for (size_t i = 0; i < h->n_vms; i++) {
		if (only && strcmp(only, h->vms[i]->name) != 0)
			continue;
		fill_vm(h, h->vms[i], &s->vms[n], s->names + off);
		off += s->vms[n].n_images;
		s->vmp[n] = &s->vms[n];
		n++;
	}
	if (only && n == 0)
		return -ENOENT;
	rs->vms = s->vmp;
	rs->n_vms = n;
	return 0;
}

static int list_images(struct hostd *h, ctl_resp *rs, struct scratch *s)
{
	size_t off = 0, total = 0;

	for (size_t i = 0; i < h->n_vms; i++)
		total += h->vms[i]->n_images;
	s->imgs = calloc(h->n_images + 1, sizeof(*s->imgs));
	s->imgp = calloc(h->n_images + 1, sizeof(*s->imgp));
	s->names = calloc(total + 1, sizeof(*s->names));
	if (!s->imgs || !s->imgp || !s->names)
		return -ENOMEM;
	for (size_t i = 0; i < h->n_images; i++) {
		Hvipe__Ctl__ImageInfo *ii = &s->imgs[i];
		struct hv_image *img = h->images[i];

		hvipe__ctl__image_info__init(ii);
		ii->name = img->name;
		ii->alg = img->alg;
		ii->root_hash = img->hex;
		ii->has_signature = img->has_signature;
		ii->vms = s->names + off;
		for (size_t j = 0; j < h->n_vms; j++)
			if (hostd_vm_has_image(h->vms[j], img->id))
				s->names[off + ii->n_vms++] = h->vms[j]->name;
		off += ii->n_vms;
		s->imgp[i] = ii;
	}
	rs->images = s->imgp;
	rs->n_images = h->n_images;
	return 0;
}

static int list_audit(struct hostd *h, const Hvipe__Ctl__AuditQuery *q, ctl_resp *rs,
                      struct scratch *s)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	size_t limit = q->limit ? q->limit : 100, n = 0;
	int r;

	if (limit > 10000)
		limit = 10000;
	if (q->vm[0] && !hostd_vm_by_name(h, q->vm))
		return -ENOENT;
	r = hv_store_query(&h->store, &st,
	                   "SELECT v.name, a.at, a.type, a.text FROM audit a JOIN vms v"
	                   " ON v.id = a.vm_id WHERE (?1 = '' OR v.name = ?1)"
	                   " ORDER BY a.id DESC LIMIT ?2",
	                   "ti", q->vm, (int64_t)limit);
	if (r < 0)
		return r;
	s->aud = calloc(limit, sizeof(*s->aud));
	s->audp = calloc(limit, sizeof(*s->audp));
	s->strs = calloc(2 * limit, sizeof(*s->strs));
	if (!s->aud || !s->audp || !s->strs)
		return -ENOMEM;
	while (n < limit && sqlite3_step(st) == SQLITE_ROW) {
		Hvipe__Ctl__AuditEntry *e = &s->aud[n];

		hvipe__ctl__audit_entry__init(e);
		e->vm = s->strs[s->n_strs++] = strdup((const char *)sqlite3_column_text(st, 0));
		e->at = sqlite3_column_int64(st, 1);
		e->type = (uint32_t)sqlite3_column_int64(st, 2);
		e->text = s->strs[s->n_strs++] = strdup((const char *)sqlite3_column_text(st, 3));
		if (!e->vm || !e->text)
			return -ENOMEM;
		s->audp[n++] = e;
	}
	rs->audit = s->audp;
	rs->n_audit = n;
	return 0;
}

static int do_vm_add(struct hostd *h, const Hvipe__Ctl__VmAdd *a, char *why, size_t whysz)
{
	struct hv_vm t = {0};
	int r;

	/* A VM's name may name files and directories: not '.' or '..'. */
	if (!name_ok(a->name) || !strcmp(a->name, ".") || !strcmp(a->name, "..")) {
		snprintf(why, whysz, "VM names are 1-64 of [A-Za-z0-9._-], not '.' or '..'");
		return -EINVAL;
	}
	/* 0 means no CID here; 1 (local), 2 (host) and VMADDR_CID_ANY are
	 * never a guest's. */
	if (a->cid == 1 || a->cid == 2 || a->cid == VMADDR_CID_ANY) {
		snprintf(why, whysz,
		         "CID %u is reserved (1 local, 2 host, %u any): guest CIDs are 3 to %u,"
		         " 0 for none",
		         a->cid, VMADDR_CID_ANY, VMADDR_CID_ANY - 1);
		return -EINVAL;
	}
	if (str_field(a->uds, 100) < 0 || str_field(a->target, 1024) < 0) {
		snprintf(why, whysz, "bad socket path or target (too long, or control characters)");
		return -EINVAL;
	}
	if (!a->cid && !a->uds[0]) {
		snprintf(why, whysz,
		         "a VM needs --cid or --uds: its identity is where it connects");
		return -EINVAL;
	}
	if (a->uds[0] && a->uds[0] != '/') {
		snprintf(why, whysz, "--uds must be an absolute path");
		return -EINVAL;
	}
	r = hv_mode_parse(a->mode[0] ? a->mode : "roothash", &t.mode);
	if (r == 0)
		r = hv_action_parse(a->action[0] ? a->action : "log", &t.action);
	if (r < 0 || t.action == HV_ACTION_RESUME) {
		snprintf(why, whysz, "mode is roothash|signature, action is log|pause|poweroff");
		return -EINVAL;
	}
	t.h = h;
	t.name = a->name;
	t.cid = a->cid;
	t.uds = a->uds;
	t.actuator_kind = a->actuator[0] ? a->actuator : (char *)"log";
	t.target = a->target;
	t.require_guard = a->require_guard;
	r = hostd_vm_add(h, &t, why, whysz);
	if (r == 0)
		hv_log(HV_NOTICE,
		       "vm=%s cid=%u step=control op=vm_add uds=%s mode=%s action=%s actuator=%s",
		       a->name, a->cid, a->uds[0] ? a->uds : "-", hv_mode_name(t.mode),
		       hv_action_name(t.action), t.actuator_kind);
	return r;
}

static int do_image_add(struct hostd *h, const Hvipe__Ctl__ImageAdd *a, char *why, size_t whysz)
{
	int r;

	if (!name_ok(a->name)) {
		snprintf(why, whysz, "image names are 1-64 of [A-Za-z0-9._-]");
		return -EINVAL;
	}
	if (a->signature.len > HV_IPE_MAX_SIGNED_BLOB) {
		snprintf(why, whysz, "signature too large");
		return -E2BIG;
	}
	r = hostd_image_add(h, a->name, a->alg[0] ? a->alg : "sha256", a->root_hash,
	                    a->signature.data, a->signature.len, why, whysz);
	if (r == -EBADMSG || r == -EKEYREJECTED) {
		char esc[400];

		hv_log_escape(esc, sizeof(esc), why, strlen(why), 300);
		hv_log(HV_WARN, "image=%s step=control op=image_add verdict=refused reason=\"%s\"",
		       a->name, esc);
	}
	if (r == 0)
		hv_log(HV_NOTICE,
		       "image=%s step=control op=image_add alg=%s root_hash=%s signed=%s", a->name,
		       a->alg[0] ? a->alg : "sha256", hostd_image_by_name(h, a->name)->hex,
		       a->signature.len ? "yes" : "no");
	return r;
}

static int do_approve(struct hostd *h, const Hvipe__Ctl__ImageVm *a, bool on, char *why,
                      size_t whysz)
{
	struct hv_vm *vm = hostd_vm_by_name(h, a->vm);
	struct hv_image *img = hostd_image_by_name(h, a->image);
	int r;

	if (!vm || !img) {
		snprintf(why, whysz, "no such %s", vm ? "image" : "VM");
		return -ENOENT;
	}
	r = hostd_image_approve(h, vm, img, on);
	if (r == 0)
		hv_log(HV_NOTICE, "vm=%s cid=%u step=control op=%s image=%s", vm->name, vm->cid,
		       on ? "image_approve" : "image_revoke", img->name);
	return r;
}

static int handle(struct hostd *h, const ctl_req *rq, ctl_resp *rs, struct scratch *s, char *why,
                  size_t whysz)
{
	struct hv_vm *vm;
	enum hv_action act;

	switch (rq->body_case) {
	case HVIPE__CTL__REQUEST__BODY_VM_ADD:
		return do_vm_add(h, rq->vm_add, why, whysz);
	case HVIPE__CTL__REQUEST__BODY_VM_LIST:
		return list_vms(h, NULL, rs, s);
	case HVIPE__CTL__REQUEST__BODY_VM_SHOW:
		return list_vms(h, rq->vm_show->name, rs, s);
	case HVIPE__CTL__REQUEST__BODY_STATUS:
		return list_vms(h, rq->status->name[0] ? rq->status->name : NULL, rs, s);
	case HVIPE__CTL__REQUEST__BODY_VM_FORGET:
		vm = hostd_vm_by_name(h, rq->vm_forget->name);
		if (!vm)
			return -ENOENT;
		hv_log(HV_NOTICE, "vm=%s cid=%u step=control op=vm_forget", vm->name, vm->cid);
		return hostd_vm_forget(h, vm);
	case HVIPE__CTL__REQUEST__BODY_VM_SET_ACTION:
		vm = hostd_vm_by_name(h, rq->vm_set_action->name);
		if (!vm)
			return -ENOENT;
		if (hv_action_parse(rq->vm_set_action->action, &act) < 0 ||
		    act == HV_ACTION_RESUME) {
			snprintf(why, whysz, "action is log|pause|poweroff");
			return -EINVAL;
		}
		hv_log(HV_NOTICE, "vm=%s cid=%u step=control op=set_action action=%s", vm->name,
		       vm->cid, hv_action_name(act));
		return hostd_vm_set_action(h, vm, act);
	case HVIPE__CTL__REQUEST__BODY_VM_RESUME:
		vm = hostd_vm_by_name(h, rq->vm_resume->name);
		if (!vm)
			return -ENOENT;
		hv_log(HV_NOTICE, "vm=%s cid=%u step=control op=resume", vm->name, vm->cid);
		return hostd_vm_resume(h, vm);
	case HVIPE__CTL__REQUEST__BODY_IMAGE_ADD:
		return do_image_add(h, rq->image_add, why, whysz);
	case HVIPE__CTL__REQUEST__BODY_IMAGE_APPROVE:
		return do_approve(h, rq->image_approve, true, why, whysz);
	case HVIPE__CTL__REQUEST__BODY_IMAGE_REVOKE:
		return do_approve(h, rq->image_revoke, false, why, whysz);
	case HVIPE__CTL__REQUEST__BODY_IMAGE_LIST:
		return list_images(h, rs, s);
	case HVIPE__CTL__REQUEST__BODY_AUDIT:
		return list_audit(h, rq->audit, rs, s);
	default:
		snprintf(why, whysz, "unknown request");
		return -EOPNOTSUPP;
	}
}

static int ctl_flush(struct ctl_conn *c)
{
	while (c->tx.len > 0) {
		ssize_t n = send(c->fd, c->tx.data, c->tx.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		hv_buf_consume(&c->tx, (size_t)n);
	}
	return sd_event_source_set_io_events(c->io, EPOLLIN | (c->tx.len ? EPOLLOUT : 0));
}

static int ctl_request(struct ctl_conn *c, const uint8_t *body, size_t n)
{
	ctl_resp rs = HVIPE__CTL__RESPONSE__INIT;
	struct scratch s = {0};
	_cleanup_free_ uint8_t *out = NULL;
	char why[256] = "";
	ctl_req *rq;
	size_t len;
	int r;

	rq = hvipe__ctl__request__unpack(NULL, n, body);
	if (!rq)
		return -EBADMSG;
	r = handle(c->h, rq, &rs, &s, why, sizeof(why));
	rs.ref_seq = rq->seq;
	rs.err = r < 0 ? -r : 0;
	if (r < 0 && !why[0])
		snprintf(why, sizeof(why), "%s", strerror(-r));
	rs.detail = why;
	len = hvipe__ctl__response__get_packed_size(&rs);
	out = malloc(len ? len : 1);
	if (!out) {
		r = -ENOMEM;
	} else {
		hvipe__ctl__response__pack(&rs, out);
		r = hv_frame_put_max(&c->tx, out, len, HV_CTL_MAX_FRAME);
		if (r == -EMSGSIZE) {
			/* A listing too big for one frame: say so rather than cut it. */
			ctl_resp small = HVIPE__CTL__RESPONSE__INIT;
			uint8_t tiny[128];

			small.ref_seq = rq->seq;
			small.err = EMSGSIZE;
			small.detail = (char *)"answer exceeds the control frame limit "
			                       "(HV_CTL_MAX_FRAME); narrow the query";
			r = hv_frame_put(&c->tx, tiny, hvipe__ctl__response__pack(&small, tiny));
		}
	}
	hvipe__ctl__request__free_unpacked(rq, NULL);
	scratch_free(&s);
	return r < 0 ? r : ctl_flush(c);
}

/*
 * A connection that has not sent a complete request within
 * HV_CTL_REQUEST_TIMEOUT_MS (of connecting, or of starting one), or has sat
 * idle between requests for HV_CTL_IDLE_TIMEOUT_MS, gives its slot back:
 * otherwise HV_CTL_MAX_CLIENTS silent clients lock operators out.
 */
static int ctl_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct ctl_conn *c = userdata;

	hv_log(HV_INFO, "step=control uid=%u verdict=closed reason=\"%s %u ms\"", (unsigned)c->uid,
	       c->in_request ? "no complete request within" : "idle for",
	       c->in_request ? HV_CTL_REQUEST_TIMEOUT_MS : HV_CTL_IDLE_TIMEOUT_MS);
	ctl_free(c);
	return 0;
}

static int ctl_arm(struct ctl_conn *c, bool in_request)
{
	int r;

	c->in_request = in_request;
	r = sd_event_source_set_time_relative(
	        c->timer,
	        (uint64_t)(in_request ? HV_CTL_REQUEST_TIMEOUT_MS : HV_CTL_IDLE_TIMEOUT_MS) * 1000);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
	return r;
}

static int ctl_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct ctl_conn *c = userdata;
	uint8_t chunk[16384];
	ssize_t n;
	int r = 0;

	if ((revents & EPOLLOUT) && ctl_flush(c) < 0) {
		ctl_free(c);
		return 0;
	}
	if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return 0;
	n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		ctl_free(c);
		return 0;
	}
	r = hv_buf_append(&c->rx, chunk, (size_t)n);
	while (r == 0) {
		const uint8_t *body;
		size_t len, used;

		r = hv_frame_split(c->rx.data, c->rx.len, HV_PROTO_MAX_FRAME, &body, &len, &used);
		if (r == -EAGAIN) {
			r = 0;
			break;
		}
		if (r == 0)
			r = ctl_request(c, body, len);
		if (r == 0)
			hv_buf_consume(&c->rx, used);
	}
	/* Idle once every request is answered; a new partial one starts the
	 * request clock (not restarted by each further byte). */
	if (r == 0 && c->rx.len == 0)
		r = ctl_arm(c, false);
	else if (r == 0 && !c->in_request)
		r = ctl_arm(c, true);
	if (r < 0) {
		hv_log(HV_WARN, "step=control uid=%u verdict=dropped reason=\"%s\"",
		       (unsigned)c->uid, strerror(-r));
		ctl_free(c);
	}
	return 0;
}

/*
 * The table is full: tell the client in a Response it can print (best
 * effort: one non-blocking write into an empty socket buffer), drain what it
 * sent so the close is not a reset, and log at most once per
 * CTL_REFUSE_LOG_USEC with the number refused since the last line.
 */
static void refuse_busy(struct hostd *h, int fd, uid_t uid)
{
	ctl_resp rs = HVIPE__CTL__RESPONSE__INIT;
	uint8_t out[160], sink[4096];
	char detail[96];
	uint64_t now = 0;
	size_t n;

	snprintf(detail, sizeof(detail), "too many clients (%u connections open); try again",
	         HV_CTL_MAX_CLIENTS);
	rs.err = EBUSY;
	rs.detail = detail;
	n = hvipe__ctl__response__get_packed_size(&rs);
	if (n + 4 <= sizeof(out)) {
		out[0] = (uint8_t)(n >> 24);
		out[1] = (uint8_t)(n >> 16);
		out[2] = (uint8_t)(n >> 8);
		out[3] = (uint8_t)n;
		hvipe__ctl__response__pack(&rs, out + 4);
		(void)!send(fd, out, n + 4, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	/* Bounded: a client that keeps writing does not keep us here. */
	for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
	close(fd);
	refused_since_log++;
	sd_event_now(h->loop, CLOCK_MONOTONIC, &now);
	if (refused_log_at && now - refused_log_at < CTL_REFUSE_LOG_USEC)
		return;
	hv_log(HV_WARN,
	       "step=control uid=%u verdict=refused reason=\"too many clients\" open=%zu "
	       "refused=%u",
	       (unsigned)uid, n_ctl, refused_since_log);
	refused_log_at = now ? now : 1;
	refused_since_log = 0;
}

static void accept_ctl(struct hostd *h, struct hv_listener *l, int fd)
{
	struct ctl_conn *c;
	uid_t uid = (uid_t)-1;

	if (!peer_allowed(h, fd, &uid)) {
		hv_log(HV_WARN,
		       "step=control uid=%d verdict=refused reason=\"not root, owner or group %s\"",
		       (int)uid, h->cfg.control_group ? h->cfg.control_group : "-");
		close(fd);
		return;
	}
	if (n_ctl >= HV_CTL_MAX_CLIENTS) {
		refuse_busy(h, fd, uid);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->h = h;
	c->fd = fd;
	c->uid = uid;
	hv_buf_init(&c->rx, CTL_RX_MAX);
	hv_buf_init(&c->tx, CTL_TX_MAX);
	n_ctl++;
	if (sd_event_add_io(h->loop, &c->io, fd, EPOLLIN, ctl_io, c) < 0 ||
	    sd_event_add_time_relative(h->loop, &c->timer, CLOCK_MONOTONIC,
	                               HV_CTL_REQUEST_TIMEOUT_MS * 1000ull, 0, ctl_timeout, c) < 0)
		ctl_free(c);
	else
		c->in_request = true;
}

int hostd_listen_control(struct hostd *h, int fd)
{
	h->control = hostd_listener_new(h, fd, accept_ctl, NULL, NULL);
	return h->control ? 0 : -ENOMEM;
}
