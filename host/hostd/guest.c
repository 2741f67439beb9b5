/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest connections: accept, identify by the socket (or vsock CID) they came
 * through, then run the attestation state machine.
 *
 *   HELLO --Hello--> (Hello, Challenge) EVIDENCE --Evidence--> Verdict
 *     then either PolicyUpdate and RESULT --PolicyResult--> Ack, IDLE
 *     or IDLE; IDLE --heartbeat timer--> Challenge, EVIDENCE.
 *
 * Each state admits only the message types in its row of `admit`; anything
 * else, a frame over the cap, or bytes that do not decode drop the
 * connection. Each state has a deadline (one timer per connection); a guest
 * that stalls, mid-frame or otherwise, misses it. Sockets are non-blocking,
 * reads and writes bounded, so one guest cannot hold up another.
 */
#include "hostd.h"
#include "hv_limits.h"
#include "proto/frame.h"
#include "util/cleanup.h"
#include "util/hex.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#define HOSTD_VERSION "hvipe-hostd 0.1"
#define HOST_CAPS                                                                                  \
	(HVIPE__CAPABILITY__CAP_AUDIT | HVIPE__CAPABILITY__CAP_POLICY_UPDATE |                     \
	 HVIPE__CAPABILITY__CAP_GUARD)
/* Bytes held for one connection: a whole frame and one read past it. */
#define RX_MAX (HV_PROTO_MAX_FRAME + 4 + 65536)
#define TX_MAX (2 * (HV_PROTO_MAX_FRAME + 4))
/*
 * sd-event coalesces timers within their accuracy (250 ms by default), which
 * would fire every guest's challenge in one burst and queue the answers
 * behind each other. 1 ms keeps the heartbeats spread as the guests arrived.
 */
#define TIMER_ACCURACY_US 1000
/* Audit batches a guest may send per heartbeat interval. */
#define AUDIT_BATCHES_PER_BEAT 16

enum conn_state { ST_HELLO, ST_EVIDENCE, ST_RESULT, ST_IDLE, ST__MAX };

static const char *const state_names[] = {"hello", "evidence", "result", "idle"};

#define BIT(c) (1u << (c))
/* Which message types each state admits (Error is admitted everywhere and
 * closes the session after it is logged). */
static const uint32_t admit[ST__MAX] = {
        [ST_HELLO] = BIT(HVIPE__ENVELOPE__BODY_HELLO),
        [ST_EVIDENCE] =
                BIT(HVIPE__ENVELOPE__BODY_EVIDENCE) | BIT(HVIPE__ENVELOPE__BODY_AUDIT_BATCH),
        [ST_RESULT] =
                BIT(HVIPE__ENVELOPE__BODY_POLICY_RESULT) | BIT(HVIPE__ENVELOPE__BODY_AUDIT_BATCH),
        [ST_IDLE] = BIT(HVIPE__ENVELOPE__BODY_AUDIT_BATCH),
};

struct hv_conn {
	struct hostd *h;
	struct hv_vm *vm;
	int fd;
	sd_event_source *io;
	sd_event_source *timer;
	enum conn_state st;
	uint64_t session;
	uint64_t rx_seq;
	uint64_t tx_seq;
	uint64_t update_seq; /* our seq of the PolicyUpdate in flight */
	uint64_t update_n;   /* its issue number */
	uint64_t caps;
	uint8_t nonce[HV_PROTO_NONCE_LEN];
	uint8_t boot_id[16];
	size_t boot_id_len;
	bool daemon_mode;
	bool judged; /* a verdict was given in this session */
	unsigned audit_batches;
	bool waiting; /* holds frames until the next commit */
	struct hv_buf rx;
	struct hv_buf tx;
};

typedef int (*handler_fn)(struct hv_conn *c, const hv_envelope *env);

static void conn_free(struct hv_conn *c, const char *why);

static uint64_t mono_usec(struct hostd *h)
{
	uint64_t now = 0;

	sd_event_now(h->loop, CLOCK_MONOTONIC, &now);
	return now;
}

static void conn_arm(struct hv_conn *c, unsigned ms)
{
	sd_event_source_set_time(c->timer, mono_usec(c->h) + (uint64_t)ms * 1000);
	sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

static int conn_flush(struct hv_conn *c)
{
	if (c->waiting)
		return 0; /* hostd_commit_waiting() flushes after the commit */
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
	if (c->tx.len == 0) {
		/* Idle connections hold no buffer: memory per guest stays small. */
		hv_buf_free(&c->tx);
		hv_buf_init(&c->tx, TX_MAX);
	}
	return sd_event_source_set_io_events(c->io, EPOLLIN | EPOLLET | (c->tx.len ? EPOLLOUT : 0));
}

static int conn_send(struct hv_conn *c, hv_envelope *env)
{
	int r;

	env->seq = ++c->tx_seq;
	r = hv_frame_encode(env, &c->tx);
	if (r < 0)
		return r; /* -E2BIG: the guest stopped reading */
	return conn_flush(c);
}

static int on_commit(sd_event_source *s, uint64_t usec, void *userdata)
{
	hostd_commit_waiting(userdata);
	return 0;
}

/*
 * Group commit window. sd-event dispatches one event per iteration, so a
 * commit "after this iteration" would cost one fsync per guest when
 * thousands attest at once; instead the first held frame arms a short
 * timer and every frame held until it fires shares one fsync.
 */
#define GROUP_COMMIT_US 2000

/*
 * Queue @env but hold it until the open transaction is committed: what the
 * frame acknowledges (or the version it carries) is durable before the guest
 * can see it.
 */
static int conn_send_durable(struct hv_conn *c, hv_envelope *env)
{
	struct hostd *h = c->h;
	int r;

	env->seq = ++c->tx_seq;
	r = hv_frame_encode(env, &c->tx);
	if (r < 0 || c->waiting)
		return r;
	if (h->n_waiting == h->cap_waiting) {
		size_t cap = h->cap_waiting ? 2 * h->cap_waiting : 64;
		struct hv_conn **n = realloc(h->waiting, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		h->waiting = n;
		h->cap_waiting = cap;
	}
	if (!h->commit_src && sd_event_add_time(h->loop, &h->commit_src, CLOCK_MONOTONIC,
	                                        UINT64_MAX, 1000, on_commit, h) < 0)
		return -ENOMEM;
	h->waiting[h->n_waiting++] = c;
	c->waiting = true;
	if (h->n_waiting > 1)
		return 0; /* the timer is armed */
	r = sd_event_source_set_time(h->commit_src, mono_usec(h) + GROUP_COMMIT_US);
	return r < 0 ? r : sd_event_source_set_enabled(h->commit_src, SD_EVENT_ONESHOT);
}

void hostd_commit_waiting(struct hostd *h)
{
	int r = h->n_waiting ? hv_store_commit(&h->store) : hv_store_commit_lazy(&h->store);

	if (r < 0)
		hv_log(HV_ERR, "step=store reason=\"commit failed: %s\" dropped=%zu", strerror(-r),
		       h->n_waiting);
	/* conn_free() edits the list: take it first. */
	while (h->n_waiting > 0) {
		struct hv_conn *c = h->waiting[--h->n_waiting];

		c->waiting = false;
		if (r < 0 || conn_flush(c) < 0)
			conn_free(c, r < 0 ? "not committed" : "write failed");
	}
}

static const char *vm_name(const struct hv_conn *c)
{
	return c->vm ? c->vm->name : "?";
}

static int send_challenge(struct hv_conn *c)
{
	hv_envelope env = HVIPE__ENVELOPE__INIT;
	Hvipe__Challenge ch = HVIPE__CHALLENGE__INIT;
	int r;

	if (getrandom(c->nonce, sizeof(c->nonce), 0) != sizeof(c->nonce))
		return -EIO;
	ch.nonce.data = c->nonce;
	ch.nonce.len = sizeof(c->nonce);
	ch.deadline_ms = c->h->cfg.deadline_ms;
	env.body_case = HVIPE__ENVELOPE__BODY_CHALLENGE;
	env.challenge = &ch;
	r = conn_send(c, &env);
	if (r < 0)
		return r;
	c->st = ST_EVIDENCE;
	c->audit_batches = 0;
	conn_arm(c, c->h->cfg.deadline_ms);
	return 0;
}

static int on_hello(struct hv_conn *c, const hv_envelope *in)
{
	const Hvipe__Hello *g = in->hello;
	hv_envelope env = HVIPE__ENVELOPE__INIT;
	Hvipe__Hello me = HVIPE__HELLO__INIT;
	char kr[80];
	int r;

	if (g->protocol_version < 1) {
		hv_log(HV_WARN, "vm=%s cid=%u step=hello verdict=refused reason=\"protocol %u\"",
		       vm_name(c), c->vm->cid, g->protocol_version);
		return -EPROTO;
	}
	c->caps = g->capabilities & HOST_CAPS;
	c->daemon_mode = g->mode == HVIPE__AGENT_MODE__AGENT_MODE_DAEMON;
	c->boot_id_len = g->boot_id.len;
	if (g->boot_id.len) /* validated: 0 or 16 */
		memcpy(c->boot_id, g->boot_id.data, g->boot_id.len);
	hv_log_escape(kr, sizeof(kr), g->kernel_release, strlen(g->kernel_release), 64);
	hv_log(HV_INFO, "vm=%s cid=%u step=hello session=%llu mode=%s kernel=\"%s\"", vm_name(c),
	       c->vm->cid, (unsigned long long)c->session, c->daemon_mode ? "daemon" : "once", kr);

	me.protocol_version = HV_PROTO_VERSION;
	me.capabilities = c->caps;
	me.agent_version = (char *)HOSTD_VERSION;
	me.session_id = c->session;
	me.heartbeat_ms = c->h->cfg.heartbeat_ms;
	env.body_case = HVIPE__ENVELOPE__BODY_HELLO;
	env.hello = &me;
	r = conn_send(c, &env);
	return r < 0 ? r : send_challenge(c);
}

/*
 * Issue a policy for the VM, its issue number at least @min_issue (0: any).
 * Done before the Verdict leaves, so that policy_follows is only promised
 * for a policy that exists. Returns 0 with *@blob, or -errno after logging
 * why (the session goes on; the next heartbeat tries again).
 */
static int issue_policy(struct hv_conn *c, uint64_t min_issue, uint8_t **blob, size_t *blob_len)
{
	struct hv_vm *vm = c->vm;
	char why[256] = "";
	int r;

	r = hostd_issue_policy(c->h, vm, min_issue, blob, blob_len, why, sizeof(why));
	if (r < 0)
		hv_log(HV_ERR, "vm=%s cid=%u step=issue verdict=failed reason=\"%s\"", vm->name,
		       vm->cid, why);
	return r;
}

/* Send the policy just issued. */
static int send_policy(struct hv_conn *c, const uint8_t *blob, size_t blob_len,
                       const char *why_needed)
{
	hv_envelope env = HVIPE__ENVELOPE__INIT;
	Hvipe__PolicyUpdate u = HVIPE__POLICY_UPDATE__INIT;
	struct hv_vm *vm = c->vm;
	char dhex[65];
	int r;

	hv_hex_encode(dhex, vm->issued_digest, 32);
	u.name = (char *)HV_POLICY_NAME;
	u.version = vm->issued_version;
	u.blob.data = (uint8_t *)blob;
	u.blob.len = blob_len;
	u.activate = true;
	u.digest.data = vm->issued_digest;
	u.digest.len = 32;
	env.body_case = HVIPE__ENVELOPE__BODY_POLICY_UPDATE;
	env.policy_update = &u;
	r = conn_send_durable(c, &env);
	if (r < 0)
		return r;
	c->update_seq = c->tx_seq;
	c->update_n = vm->issued_n;
	c->st = ST_RESULT;
	conn_arm(c, c->h->cfg.deadline_ms * 4);
	hv_log(HV_INFO,
	       "vm=%s cid=%u step=policy_update policy=%s version=%s mode=%s digest=%s bytes=%zu"
	       " reason=%s",
	       vm->name, vm->cid, HV_POLICY_NAME, vm->issued_version, hv_mode_name(vm->mode), dhex,
	       blob_len, why_needed);
	return 0;
}

static void build_expect(struct hv_conn *c, struct hv_expect *x, struct hv_approved_image *imgs)
{
	struct hv_vm *vm = c->vm;
	size_t k = 0;

	for (size_t i = 0; i < vm->n_images; i++) {
		struct hv_image *img = hostd_image_by_id(c->h, vm->image_ids[i]);

		if (!img)
			continue;
		imgs[k].name = img->name;
		imgs[k].alg = img->alg;
		memcpy(imgs[k].hash, img->hash, img->hash_len);
		imgs[k].hash_len = img->hash_len;
		imgs[k].has_signature = img->has_signature;
		k++;
	}
	memset(x, 0, sizeof(*x));
	x->nonce = c->nonce;
	x->images = imgs;
	x->n_images = k;
	x->mode = vm->mode;
	x->require_guard = vm->require_guard;
	x->guard_tags = c->h->have_guard_tags ? &c->h->guard_tags : NULL;
	x->guard_pending_ok = !c->daemon_mode;
	x->issued_n = vm->issued_n;
	memcpy(x->issued_digest, vm->issued_digest, 32);
	x->confirmed_n = vm->confirmed_n;
	memcpy(x->confirmed_digest, vm->confirmed_digest, 32);
	x->boot_id = c->boot_id_len ? c->boot_id : NULL;
	x->boot_id_len = c->boot_id_len;
}

static bool rules_stale(struct hv_conn *c)
{
	_cleanup_free_ char *now = NULL;

	if (c->vm->issued_n == 0 || !c->vm->issued_rules)
		return true;
	if (hostd_vm_rules(c->h, c->vm, &now) < 0)
		return false;
	return strcmp(now, c->vm->issued_rules) != 0;
}

/*
 * What the guest's BPF guard refused since its last Evidence: one event and
 * one log line per kind. The strings are the guest's: escaped and capped, and
 * at most HV_GUARD_RECENT_MAX entries are taken from one Evidence.
 */
static void record_guard_refusals(struct hv_conn *c, const Hvipe__GuardState *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n_recent && i < HV_GUARD_RECENT_MAX; i++) {
		const Hvipe__GuardRefusal *r = g->recent[i];
		char what[64], comm[80], detail[200];

		hv_log_escape(what, sizeof(what), r->what, strlen(r->what), 24);
		hv_log_escape(comm, sizeof(comm), r->comm, strlen(r->comm), 16);
		snprintf(detail, sizeof(detail), "what=%s count=%llu pid=%u comm=%s", what,
		         (unsigned long long)r->count, r->pid, comm);
		hostd_event(c->h, c->vm, "guard_refusal", detail);
		hv_log(HV_WARN, "vm=%s cid=%u step=guard refused=%s count=%llu pid=%u comm=\"%s\"",
		       c->vm->name, c->vm->cid, what, (unsigned long long)r->count, r->pid, comm);
		/* Every kind the guard refuses is an attempt on IPE, the agent or
		 * the guard itself by someone with root in the guest: the guard
		 * held, but the guest is compromised, so the VM's action applies. */
		if (i == 0) {
			snprintf(detail, sizeof(detail), "guard_refusal: %s by pid %u (%s)", what,
			         r->pid, comm);
			c->vm->in_violation = true;
			hostd_violation(c->h, c->vm, detail);
		}
	}
}

static int on_evidence(struct hv_conn *c, const hv_envelope *in)
{
	struct hv_vm *vm = c->vm;
	_cleanup_free_ struct hv_approved_image *imgs = NULL;
	hv_envelope env = HVIPE__ENVELOPE__INIT;
	Hvipe__Verdict vd = HVIPE__VERDICT__INIT;
	Hvipe__Finding fs[HV_VERDICT_MAX_FINDINGS], *fp[HV_VERDICT_MAX_FINDINGS];
	struct hv_verdict v;
	struct hv_expect x;
	_cleanup_free_ uint8_t *blob = NULL;
	size_t blob_len = 0;
	const char *deliver = NULL;
	char reason[200], esc[240];
	int r;

	imgs = calloc(vm->n_images ? vm->n_images : 1, sizeof(*imgs));
	if (!imgs)
		return -ENOMEM;
	build_expect(c, &x, imgs);
	hv_verdict_eval(&x, in->evidence, &v);
	record_guard_refusals(c, in->evidence->guard);
	if (v.need_policy)
		deliver = v.deliver;
	else if (!v.violation && rules_stale(c))
		deliver = "approvals_changed";

	hostd_record_verdict(c->h, vm, &v, !c->judged);
	snprintf(reason, sizeof(reason), "%s%s%s", v.n ? hv_finding_name(v.f[0].code) : "ok",
	         v.n ? ": " : "", v.n ? v.f[0].detail : "");
	hv_log_escape(esc, sizeof(esc), reason, strlen(reason), 200);
	if (!c->judged || !v.trusted || hv_log_level() >= HV_DEBUG)
		hv_log(v.violation ? HV_WARN : HV_INFO,
		       "vm=%s cid=%u step=verdict session=%llu verdict=%s findings=%zu "
		       "reason=\"%s\"",
		       vm->name, vm->cid, (unsigned long long)c->session,
		       v.trusted ? "trusted" : (v.violation ? "violation" : "pending"), v.n, esc);
	c->judged = true;
	if (deliver && (c->caps & HVIPE__CAPABILITY__CAP_POLICY_UPDATE) &&
	    issue_policy(c, v.need_policy ? v.min_issue : 0, &blob, &blob_len) < 0)
		deliver = NULL;

	for (size_t i = 0; i < v.n; i++) {
		hvipe__finding__init(&fs[i]);
		fs[i].code = v.f[i].code;
		fs[i].detail = v.f[i].detail;
		fp[i] = &fs[i];
	}
	vd.trusted = v.trusted;
	vd.n_findings = v.n;
	vd.findings = fp;
	vd.nonce.data = c->nonce;
	vd.nonce.len = sizeof(c->nonce);
	vd.policy_follows = blob != NULL;
	env.body_case = HVIPE__ENVELOPE__BODY_VERDICT;
	env.verdict = &vd;
	r = conn_send(c, &env);
	if (r < 0)
		return r;

	if (v.violation && !vm->in_violation) {
		vm->in_violation = true;
		hostd_violation(c->h, vm, reason);
	} else if (v.trusted) {
		vm->in_violation = false;
	}
	if (blob)
		return send_policy(c, blob, blob_len, deliver);
	c->st = ST_IDLE;
	conn_arm(c, c->h->cfg.heartbeat_ms);
	return 0;
}

static int send_ack(struct hv_conn *c, uint64_t ref, int err, const char *detail)
{
	hv_envelope env = HVIPE__ENVELOPE__INIT;
	Hvipe__Ack ack = HVIPE__ACK__INIT;

	ack.ref_seq = ref;
	ack.err = err;
	ack.detail = (char *)detail;
	env.body_case = HVIPE__ENVELOPE__BODY_ACK;
	env.ack = &ack;
	return conn_send_durable(c, &env);
}

static int on_policy_result(struct hv_conn *c, const hv_envelope *in)
{
	const Hvipe__PolicyResult *p = in->policy_result;
	struct hv_vm *vm = c->vm;
	char reason[160], step[40];
	bool ok;
	int r;

	if (p->update_seq != c->update_seq) {
		hv_log(HV_WARN,
		       "vm=%s cid=%u step=policy_result verdict=refused reason=\"answers seq %llu, "
		       "not %llu\"",
		       vm->name, vm->cid, (unsigned long long)p->update_seq,
		       (unsigned long long)c->update_seq);
		return -EPROTO;
	}
	ok = p->err == 0 && p->active_digest.len == 32 &&
	     memcmp(p->active_digest.data, vm->issued_digest, 32) == 0;
	hv_log_escape(reason, sizeof(reason), p->reason, strlen(p->reason), 100);
	hv_log_escape(step, sizeof(step), p->step, strlen(p->step), 30);
	if (ok) {
		r = hostd_policy_confirmed(c->h, vm, c->update_n);
		if (r < 0)
			return r;
		hv_log(HV_INFO, "vm=%s cid=%u step=policy_result verdict=applied version=%s",
		       vm->name, vm->cid, vm->issued_version);
	} else {
		char why[400];

		snprintf(why, sizeof(why), "policy %s not applied: step=%s err=%d %s",
		         vm->issued_version, step, p->err,
		         p->err ? reason : "active digest differs");
		hv_log(HV_WARN, "vm=%s cid=%u step=policy_result verdict=violation reason=\"%s\"",
		       vm->name, vm->cid, why);
		hostd_event(c->h, vm, "policy_failed", why);
		vm->in_violation = true;
		hostd_violation(c->h, vm, why);
	}
	r = send_ack(c, in->seq, 0, ok ? "applied" : "recorded");
	if (r < 0)
		return r;
	c->st = ST_IDLE;
	conn_arm(c, c->h->cfg.heartbeat_ms);
	return 0;
}

static int on_audit(struct hv_conn *c, const hv_envelope *in)
{
	const Hvipe__AuditBatch *b = in->audit_batch;
	struct hv_vm *vm = c->vm;
	int64_t now = hostd_now();
	int r = 0;

	if (++c->audit_batches > AUDIT_BATCHES_PER_BEAT) {
		hv_log(HV_WARN,
		       "vm=%s cid=%u step=audit verdict=dropped reason=\"flood: over %u batches "
		       "per heartbeat\"",
		       vm->name, vm->cid, AUDIT_BATCHES_PER_BEAT);
		return -EPROTO;
	}
	for (size_t i = 0; r == 0 && i < b->n_records; i++)
		r = hv_store_exec(
		        &c->h->store, NULL,
		        "INSERT INTO audit(vm_id, at, type, serial, text) VALUES(?,?,?,?,?)",
		        "iiiit", vm->id, now, (int64_t)b->records[i]->type,
		        (int64_t)b->records[i]->serial, b->records[i]->text);
	if (r == 0 && b->dropped)
		hostd_event(c->h, vm, "audit_dropped", "guest dropped audit records");
	/* The Ack is held until the commit: a record acknowledged is a record
	 * kept. */
	if (r < 0) {
		hv_log(HV_ERR, "vm=%s step=audit reason=\"store: %s\"", vm->name, strerror(-r));
		return send_ack(c, in->seq, EIO, "not stored");
	}
	for (size_t i = 0; i < b->n_records; i++) {
		char t[200];

		hv_log_escape(t, sizeof(t), b->records[i]->text, strlen(b->records[i]->text), 150);
		hv_log(HV_NOTICE, "vm=%s cid=%u step=audit type=%u record=\"%s\"", vm->name,
		       vm->cid, b->records[i]->type, t);
	}
	return send_ack(c, in->seq, 0, "stored");
}

static int on_error(struct hv_conn *c, const hv_envelope *in)
{
	char d[200];

	hv_log_escape(d, sizeof(d), in->error->detail, strlen(in->error->detail), 150);
	hv_log(HV_WARN, "vm=%s cid=%u step=%s verdict=closed reason=\"guest error %d: %s\"",
	       vm_name(c), c->vm->cid, state_names[c->st], in->error->err, d);
	return -ECONNABORTED;
}

static const handler_fn handlers[] = {
        [HVIPE__ENVELOPE__BODY_HELLO] = on_hello,
        [HVIPE__ENVELOPE__BODY_EVIDENCE] = on_evidence,
        [HVIPE__ENVELOPE__BODY_POLICY_RESULT] = on_policy_result,
        [HVIPE__ENVELOPE__BODY_AUDIT_BATCH] = on_audit,
        [HVIPE__ENVELOPE__BODY_ERROR] = on_error,
};

static int dispatch(struct hv_conn *c, const hv_envelope *env)
{
	unsigned bc = (unsigned)env->body_case;

	if (bc == HVIPE__ENVELOPE__BODY_ERROR)
		return on_error(c, env);
	if (bc >= 32 || !(admit[c->st] & BIT(bc)) || bc >= ARRAY_SIZE(handlers) || !handlers[bc]) {
		hv_log(HV_WARN, "vm=%s cid=%u step=%s verdict=dropped reason=\"unexpected %s\"",
		       vm_name(c), c->vm->cid, state_names[c->st], hv_envelope_kind(env));
		return -EPROTO;
	}
	if (env->seq != c->rx_seq + 1) {
		hv_log(HV_WARN,
		       "vm=%s cid=%u step=%s verdict=dropped reason=\"sequence %llu after %llu\"",
		       vm_name(c), c->vm->cid, state_names[c->st], (unsigned long long)env->seq,
		       (unsigned long long)c->rx_seq);
		return -EPROTO;
	}
	c->rx_seq = env->seq;
	return handlers[bc](c, env);
}

/* Decode and dispatch every complete frame at @data; returns bytes used. */
static int process(struct hv_conn *c, const uint8_t *data, size_t len, size_t *used)
{
	size_t off = 0;
	int r = 0;

	while (off < len) {
		hv_envelope *env = NULL;
		size_t n;

		r = hv_frame_decode(data + off, len - off, HV_PROTO_MAX_FRAME, &env, &n);
		if (r == -EAGAIN) {
			r = 0;
			break;
		}
		if (r < 0) {
			hv_log(HV_WARN, "vm=%s cid=%u step=%s verdict=dropped reason=\"%s\"",
			       vm_name(c), c->vm->cid, state_names[c->st],
			       r == -EMSGSIZE ? "frame length out of bounds" : "malformed frame");
			break;
		}
		off += n;
		r = dispatch(c, env);
		hv_envelope_free(env);
		if (r < 0)
			break;
	}
	*used = off;
	return r;
}

/* One read's worth of bytes: decode what is complete, keep the rest. */
static int take_bytes(struct hv_conn *c, const uint8_t *chunk, size_t n)
{
	size_t used;
	int r;

	if (c->rx.len == 0) {
		r = process(c, chunk, n, &used);
		if (r == 0 && used < n)
			r = hv_buf_append(&c->rx, chunk + used, n - used);
		return r;
	}
	r = hv_buf_append(&c->rx, chunk, n);
	if (r == 0) {
		r = process(c, c->rx.data, c->rx.len, &used);
		hv_buf_consume(&c->rx, used);
	}
	if (c->rx.len == 0) {
		hv_buf_free(&c->rx);
		hv_buf_init(&c->rx, RX_MAX);
	}
	return r;
}

/*
 * Guest sockets are edge-triggered: with thousands of guests answering the
 * same second, a level-triggered epoll set would rescan every ready socket
 * for each one dispatched. So each wakeup reads until EAGAIN, at most
 * MAX_READS chunks: a guest that keeps more than that coming is flooding
 * (no legitimate exchange needs it) and is dropped.
 */
#define MAX_READS 8

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	static uint8_t chunk[65536];
	struct hv_conn *c = userdata;
	const char *why = NULL;
	ssize_t n;
	int r = 0, i;

	if ((revents & EPOLLOUT) && conn_flush(c) < 0) {
		conn_free(c, "write failed");
		return 0;
	}
	if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return 0;
	for (i = 0; i < MAX_READS; i++) {
		n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			why = n == 0 ? "closed by guest" : "read failed";
			break;
		}
		r = take_bytes(c, chunk, (size_t)n);
		if (r < 0) {
			why = r == -EPIPE || r == -ECONNRESET ? "closed by guest"
			      : r == -E2BIG                   ? "guest not reading"
			                                      : "protocol violation";
			break;
		}
	}
	if (!why) {
		hv_log(HV_WARN,
		       "vm=%s cid=%u step=%s verdict=dropped reason=\"flood: over %d KiB at once\"",
		       vm_name(c), c->vm->cid, state_names[c->st], MAX_READS * 64);
		why = "flood";
	}
	conn_free(c, why);
	return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct hv_conn *c = userdata;
	struct hv_vm *vm = c->vm;
	struct hv_verdict v = {0};
	char reason[160];

	switch (c->st) {
	case ST_IDLE:
		if (send_challenge(c) < 0)
			conn_free(c, "write failed");
		return 0;
	case ST_HELLO:
		hv_log(HV_WARN,
		       "vm=%s cid=%u step=hello verdict=dropped reason=\"no hello in %u ms\"",
		       vm->name, vm->cid, c->h->cfg.hello_ms);
		conn_free(c, NULL);
		return 0;
	default:
		break;
	}
	snprintf(reason, sizeof(reason), "heartbeat_missed: no %s within %u ms",
	         c->st == ST_EVIDENCE ? "evidence" : "policy result",
	         c->h->cfg.deadline_ms * (c->st == ST_RESULT ? 4 : 1));
	v.n = 1;
	v.violation = true;
	v.f[0].code = HVIPE__FINDING_CODE__FINDING_HEARTBEAT_MISSED;
	snprintf(v.f[0].detail, sizeof(v.f[0].detail), "%s", reason);
	hostd_record_verdict(c->h, vm, &v, false);
	hv_log(HV_WARN, "vm=%s cid=%u step=heartbeat session=%llu verdict=violation reason=\"%s\"",
	       vm->name, vm->cid, (unsigned long long)c->session, reason);
	vm->in_violation = true;
	hostd_violation(c->h, vm, reason);
	/* A late answer to this challenge is not worth waiting for. */
	conn_free(c, NULL);
	return 0;
}

/*
 * How long a judged daemon-mode agent may stay disconnected before its
 * silence is a violation. One heartbeat interval: the agent reconnects at
 * once after a transient fault, and "agent gone" reaches the action within
 * two intervals. A libvirt-managed domain gets LIBVIRT_STOP_LAG_MS more,
 * because libvirt reports a destroyed domain only after tearing its QEMU
 * down, which was measured at up to 1.8 s after the guest's connection
 * closed; a stop that libvirt reports in that window is not a violation.
 */
#define LIBVIRT_STOP_LAG_MS 2500u

static unsigned silence_grace_ms(const struct hostd *h, const struct hv_vm *vm)
{
	unsigned g = h->cfg.heartbeat_ms;

	if (vm->actuator_kind && strcmp(vm->actuator_kind, "libvirt") == 0)
		g += LIBVIRT_STOP_LAG_MS;
	return g;
}

static void silence_fired(struct hostd *h, struct hv_vm *vm)
{
	char reason[120];
	struct hv_verdict v = {0};

	snprintf(reason, sizeof(reason), "heartbeat_missed: daemon-mode guest gone for %u ms",
	         silence_grace_ms(h, vm));
	v.n = 1;
	v.violation = true;
	v.f[0].code = HVIPE__FINDING_CODE__FINDING_HEARTBEAT_MISSED;
	snprintf(v.f[0].detail, sizeof(v.f[0].detail), "%s", reason);
	hostd_record_verdict(h, vm, &v, false);
	hv_log(HV_WARN, "vm=%s cid=%u step=heartbeat verdict=violation reason=\"%s\"", vm->name,
	       vm->cid, reason);
	/* Acted on already when the session ended in a violation. */
	if (!vm->in_violation) {
		vm->in_violation = true;
		hostd_violation(h, vm, reason);
	}
}

static int on_silence(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct hv_vm *vm = userdata;

	if (!vm->conn && !vm->domain_down)
		silence_fired(vm->h, vm);
	return 0;
}

static int ensure_silence(struct hostd *h, struct hv_vm *vm)
{
	if (vm->silence)
		return 0;
	return sd_event_add_time(h->loop, &vm->silence, CLOCK_MONOTONIC, UINT64_MAX,
	                         TIMER_ACCURACY_US, on_silence, vm);
}

static void conn_free(struct hv_conn *c, const char *why)
{
	struct hostd *h = c->h;
	struct hv_vm *vm = c->vm;

	if (why)
		hv_log(HV_INFO, "vm=%s cid=%u step=close session=%llu state=%s reason=\"%s\"",
		       vm_name(c), vm ? vm->cid : 0, (unsigned long long)c->session,
		       state_names[c->st], why);
	if (vm && vm->conn == c) {
		vm->conn = NULL;
		if (c->daemon_mode && c->judged && ensure_silence(h, vm) == 0) {
			sd_event_source_set_time(vm->silence,
			                         mono_usec(h) +
			                                 (uint64_t)silence_grace_ms(h, vm) * 1000);
			sd_event_source_set_enabled(vm->silence, SD_EVENT_ONESHOT);
		}
	}
	if (c->waiting)
		for (size_t i = 0; i < h->n_waiting; i++)
			if (h->waiting[i] == c) {
				h->waiting[i] = h->waiting[--h->n_waiting];
				break;
			}
	sd_event_source_disable_unref(c->io);
	sd_event_source_disable_unref(c->timer);
	if (c->fd >= 0)
		close(c->fd);
	hv_buf_free(&c->rx);
	hv_buf_free(&c->tx);
	h->n_conns--;
	free(c);
}

static struct hv_conn *conn_new(struct hostd *h, struct hv_vm *vm, int fd)
{
	struct hv_conn *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return NULL;
	c->h = h;
	c->vm = vm;
	c->fd = fd;
	c->st = ST_HELLO;
	c->session = ++h->next_session;
	hv_buf_init(&c->rx, RX_MAX);
	hv_buf_init(&c->tx, TX_MAX);
	h->n_conns++;
	r = sd_event_add_io(h->loop, &c->io, fd, EPOLLIN | EPOLLET, on_io, c);
	if (r == 0)
		r = sd_event_add_time(h->loop, &c->timer, CLOCK_MONOTONIC, UINT64_MAX,
		                      TIMER_ACCURACY_US, on_timer, c);
	if (r < 0) {
		c->fd = -1;
		conn_free(c, NULL);
		return NULL;
	}
	conn_arm(c, h->cfg.hello_ms);
	return c;
}

/* Admit a connection for @vm (identity already established by the caller). */
static void admit_conn(struct hostd *h, struct hv_vm *vm, int fd, const char *via)
{
	struct hv_conn *c;

	if (h->n_conns >= h->cfg.max_conns) {
		hv_log(HV_WARN,
		       "vm=%s cid=%u step=accept verdict=refused reason=\"%zu connections\"",
		       vm->name, vm->cid, h->n_conns);
		close(fd);
		return;
	}
	if (vm->conn) {
		/* One session per VM: a reconnecting guest replaces the old one. */
		hv_log(HV_INFO, "vm=%s cid=%u step=accept decision=replace_session", vm->name,
		       vm->cid);
		conn_free(vm->conn, "replaced by a new connection");
	}
	c = conn_new(h, vm, fd);
	if (!c) {
		hv_log(HV_ERR, "vm=%s step=accept reason=\"out of memory\"", vm->name);
		close(fd);
		return;
	}
	vm->conn = c;
	if (vm->silence)
		sd_event_source_set_enabled(vm->silence, SD_EVENT_OFF);
	hv_log(HV_DEBUG, "vm=%s cid=%u step=accept via=%s session=%llu", vm->name, vm->cid, via,
	       (unsigned long long)c->session);
}

static void accept_unix(struct hostd *h, struct hv_listener *l, int fd)
{
	admit_conn(h, l->vm, fd, "unix");
}

static void accept_vsock(struct hostd *h, struct hv_listener *l, int fd)
{
	struct sockaddr_vm sa;
	socklen_t sl = sizeof(sa);
	struct hv_vm *vm;

	if (getpeername(fd, (struct sockaddr *)&sa, &sl) < 0 || sa.svm_family != AF_VSOCK) {
		close(fd);
		return;
	}
	vm = hostd_vm_by_cid(h, sa.svm_cid);
	if (!vm) {
		/* Identity comes from the hypervisor's CID only: unknown is refused. */
		hv_log(HV_WARN, "vm=? cid=%u step=accept verdict=refused reason=\"unknown peer\"",
		       sa.svm_cid);
		close(fd);
		return;
	}
	admit_conn(h, vm, fd, "vsock");
}

/*
 * A descriptor kept in reserve for EMFILE: an edge-triggered listener whose
 * backlog we cannot drain would never be reported again, so at the limit we
 * accept with the reserve and close at once (the guest retries), and log it.
 */
static int reserve_fd = -1;

/* Returns true when a pending connection was taken off the backlog. */
static bool refuse_at_limit(int lfd)
{
	static uint64_t refused;
	int cfd;

	if (reserve_fd < 0)
		return false; /* no reserve: it stays queued until a descriptor frees */
	close(reserve_fd);
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd >= 0)
		close(cfd);
	reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (refused++ % 1000 == 0)
		hv_log(HV_ERR,
		       "step=accept verdict=refused refused=%llu reason=\"descriptor limit "
		       "reached (RLIMIT_NOFILE): each Unix-socket VM needs two\"",
		       (unsigned long long)refused);
	return cfd >= 0;
}

static int on_listen(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct hv_listener *l = userdata;

	/* Edge-triggered (see on_io): accept until the backlog is empty; the
	 * backlog itself bounds the loop. */
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && refuse_at_limit(fd))
				continue;
			if (errno != EAGAIN)
				hv_log(HV_ERR, "step=accept reason=\"%s\"", strerror(errno));
			break;
		}
		l->on_accept(l->h, l, cfd);
	}
	return 0;
}

struct hv_listener *hostd_listener_new(struct hostd *h, int fd, hv_accept_fn fn, struct hv_vm *vm,
                                       const char *path)
{
	struct hv_listener *l;
	int fl = fcntl(fd, F_GETFL);

	if (reserve_fd < 0) /* taken while descriptors are plenty */
		reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* Sockets from systemd may be blocking: accept() must never wait. */
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->h = h;
	l->fd = fd;
	l->on_accept = fn;
	l->vm = vm;
	l->path = path ? strdup(path) : NULL;
	if ((path && !l->path) ||
	    sd_event_add_io(h->loop, &l->src, fd, EPOLLIN | EPOLLET, on_listen, l) < 0) {
		free(l->path);
		free(l);
		return NULL;
	}
	return l;
}

void hostd_listener_free(struct hv_listener *l)
{
	if (!l)
		return;
	sd_event_source_disable_unref(l->src);
	close(l->fd);
	if (l->path)
		unlink(l->path);
	free(l->path);
	free(l);
}

int hostd_unix_listen(const char *path, mode_t mode, int *out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A stale socket from an earlier run is replaced; any other file is not. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(path);
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	if (chmod(path, mode) < 0 || listen(fd, 1024) < 0) {
		int e = -errno;

		unlink(path);
		return e;
	}
	*out = TAKE_FD(fd);
	return 0;
}

int hostd_listen_vm(struct hostd *h, struct hv_vm *vm)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
	int fd, r;

	vm->h = h;
	if (!vm->uds[0] || vm->listener)
		return 0;
	snprintf(path, sizeof(path), "%s_%u", vm->uds, h->cfg.vsock_port);
	r = hostd_unix_listen(path, 0660, &fd);
	if (r < 0)
		return r;
	vm->listener = hostd_listener_new(h, fd, accept_unix, vm, path);
	if (!vm->listener) {
		close(fd);
		unlink(path);
		return -ENOMEM;
	}
	hv_log(HV_DEBUG, "vm=%s step=listen socket=%s", vm->name, path);
	return 0;
}

void hostd_unlisten_vm(struct hostd *h, struct hv_vm *vm)
{
	hostd_listener_free(vm->listener);
	vm->listener = NULL;
}

void hostd_conn_drop_vm(struct hostd *h, struct hv_vm *vm, const char *reason)
{
	if (vm->conn)
		conn_free(vm->conn, reason);
}

int hostd_listen_vsock(struct hostd *h, int fd)
{
	h->vsock = hostd_listener_new(h, fd, accept_vsock, NULL, NULL);
	return h->vsock ? 0 : -ENOMEM;
}

#ifdef HVIPE_FUZZING
/*
 * Fuzzing entry: a fresh session for @vm on one end of a socket pair, put in
 * the state named by the first byte, then every frame in the rest fed
 * through the same dispatch the daemon uses.
 */
int hostd_fuzz_feed(struct hostd *h, struct hv_vm *vm, const uint8_t *data, size_t len)
{
	struct hv_conn *c;
	int sv[2], r;
	size_t used;

	if (len < 1 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		return 0;
	c = conn_new(h, vm, sv[0]);
	if (!c) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	vm->conn = c;
	c->st = (enum conn_state)(data[0] % ST__MAX);
	c->caps = HOST_CAPS;
	r = process(c, data + 1, len - 1, &used);
	conn_free(c, NULL);
	close(sv[1]);
	return r;
}
#endif
