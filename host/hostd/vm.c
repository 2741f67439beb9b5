/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM model: VMs, images and approvals in memory, each change written to
 * the store first. Policy issuance and verdict bookkeeping live here too,
 * because both read and write a VM's record.
 */
#include "hostd.h"
#include "hv_limits.h"
#include "util/cleanup.h"
#include "util/hex.h"
#include "util/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t hostd_now(void)
{
	return (int64_t)time(NULL);
}

static void vm_free(struct hv_vm *vm)
{
	if (!vm)
		return;
	hv_actuator_destroy(&vm->actuator);
	sd_event_source_unref(vm->silence);
	free(vm->name);
	free(vm->uds);
	free(vm->actuator_kind);
	free(vm->target);
	free(vm->issued_rules);
	free(vm->image_ids);
	free(vm);
}

static void image_free(struct hv_image *img)
{
	if (!img)
		return;
	free(img->name);
	free(img->hex);
	free(img);
}

void hostd_free(struct hostd *h)
{
	for (size_t i = 0; i < h->n_vms; i++) {
		hostd_conn_drop_vm(h, h->vms[i], NULL);
		hostd_unlisten_vm(h, h->vms[i]);
		vm_free(h->vms[i]);
	}
	for (size_t i = 0; i < h->n_images; i++)
		image_free(h->images[i]);
	free(h->vms);
	free(h->images);
	h->vms = NULL;
	h->images = NULL;
	h->n_vms = h->n_images = 0;
}

struct hv_vm *hostd_vm_by_name(struct hostd *h, const char *name)
{
	for (size_t i = 0; i < h->n_vms; i++)
		if (!strcmp(h->vms[i]->name, name))
			return h->vms[i];
	return NULL;
}

struct hv_vm *hostd_vm_by_cid(struct hostd *h, uint32_t cid)
{
	for (size_t i = 0; cid > 2 && i < h->n_vms; i++)
		if (h->vms[i]->cid == cid)
			return h->vms[i];
	return NULL;
}

struct hv_image *hostd_image_by_name(struct hostd *h, const char *name)
{
	for (size_t i = 0; i < h->n_images; i++)
		if (!strcmp(h->images[i]->name, name))
			return h->images[i];
	return NULL;
}

struct hv_image *hostd_image_by_id(struct hostd *h, int64_t id)
{
	for (size_t i = 0; i < h->n_images; i++)
		if (h->images[i]->id == id)
			return h->images[i];
	return NULL;
}

bool hostd_vm_has_image(const struct hv_vm *vm, int64_t id)
{
	for (size_t i = 0; i < vm->n_images; i++)
		if (vm->image_ids[i] == id)
			return true;
	return false;
}

static int push(void *arrp, size_t *n, void *item)
{
	void ***arr = arrp;
	void **na = realloc(*arr, (*n + 1) * sizeof(void *));

	if (!na)
		return -ENOMEM;
	na[(*n)++] = item;
	*arr = na;
	return 0;
}

static int vm_image_push(struct hv_vm *vm, int64_t id)
{
	int64_t *n = realloc(vm->image_ids, (vm->n_images + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	n[vm->n_images++] = id;
	vm->image_ids = n;
	return 0;
}

static int vm_make_actuator(struct hv_vm *vm)
{
	hv_actuator_destroy(&vm->actuator);
	return hv_actuator_create(vm->actuator_kind, vm->target, &vm->actuator);
}

static char *dup_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return strdup(t ? (const char *)t : "");
}

static int image_from_row(sqlite3_stmt *st, struct hv_image **out)
{
	struct hv_image *img = calloc(1, sizeof(*img));
	int n;

	if (!img)
		return -ENOMEM;
	img->id = sqlite3_column_int64(st, 0);
	img->name = dup_col(st, 1);
	snprintf(img->alg, sizeof(img->alg), "%s", (const char *)sqlite3_column_text(st, 2));
	img->hex = dup_col(st, 3);
	img->has_signature = sqlite3_column_type(st, 4) != SQLITE_NULL;
	n = img->hex ? hv_hex_decode(img->hash, sizeof(img->hash), img->hex, strlen(img->hex)) : -1;
	if (!img->name || n <= 0) {
		image_free(img);
		return -EBADMSG;
	}
	img->hash_len = (size_t)n;
	*out = img;
	return 0;
}

/*
 * A query that stopped on something else than SQLITE_DONE lost rows (a
 * damaged page, an I/O error): say which table, and refuse to go on with a
 * partial state. Returns 0 or -EIO.
 */
static int load_end(struct hostd *h, int rc, const char *table)
{
	if (rc == SQLITE_DONE)
		return 0;
	hv_log(HV_ERR, "step=load table=%s reason=\"reading rows stopped: %s\"", table,
	       sqlite3_errmsg(h->store.db));
	return -EIO;
}

static int load_policy(struct hostd *h, struct hv_vm *vm)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = hv_store_query(&h->store, &st,
	                   "SELECT issue, version, digest, text, confirmed_at FROM policies"
	                   " WHERE vm_id=? ORDER BY issue DESC",
	                   "i", vm->id);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t n = (uint64_t)sqlite3_column_int64(st, 0);
		const void *d = sqlite3_column_blob(st, 2);
		bool confirmed = sqlite3_column_int64(st, 4) != 0;

		if (sqlite3_column_bytes(st, 2) != 32) {
			hv_log(HV_ERR,
			       "vm=%s step=load table=policies issue=%" PRIu64
			       " reason=\"digest is %d bytes, not 32\"",
			       vm->name, n, sqlite3_column_bytes(st, 2));
			return -EBADMSG;
		}
		if (vm->issued_n == 0) {
			const char *text = (const char *)sqlite3_column_text(st, 3);
			const char *nl = text ? strchr(text, '\n') : NULL;

			vm->issued_n = n;
			memcpy(vm->issued_digest, d, 32);
			snprintf(vm->issued_version, sizeof(vm->issued_version), "%s",
			         (const char *)sqlite3_column_text(st, 1));
			vm->issued_rules = strdup(nl ? nl + 1 : "");
		}
		if (confirmed) {
			vm->confirmed_n = n;
			memcpy(vm->confirmed_digest, d, 32);
			break;
		}
	}
	return rc == SQLITE_ROW ? 0 : load_end(h, rc, "policies");
}

int hostd_load(struct hostd *h)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = hv_store_query(&h->store, &st, "SELECT id, name, alg, root_hash, signature FROM images",
	                   "");
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hv_image *img;

		r = image_from_row(st, &img);
		if (r == -EBADMSG)
			hv_log(HV_ERR, "step=load table=images id=%" PRId64 " reason=\"bad row\"",
			       (int64_t)sqlite3_column_int64(st, 0));
		if (r == 0 && img->has_signature && h->signer) {
			char reason[160];

			/* Stored before image add checked signatures: kept, but
			 * not counted as the host's signature unless it verifies. */
			if (hv_signer_verify_roothash(h->signer, sqlite3_column_blob(st, 4),
			                              (size_t)sqlite3_column_bytes(st, 4), img->hex,
			                              reason, sizeof(reason)) < 0) {
				hv_log(HV_WARN,
				       "image=%s step=load signature=ignored reason=\"signature "
				       "does "
				       "not verify over the root hash with the host certificate: "
				       "%s\"",
				       img->name, reason);
				img->has_signature = false;
			}
		}
		if (r == 0 && (r = push(&h->images, &h->n_images, img)) < 0)
			image_free(img);
		if (r < 0)
			return r;
	}
	if ((r = load_end(h, rc, "images")) < 0)
		return r;
	sqlite3_finalize(st);
	st = NULL;

	r = hv_store_query(&h->store, &st,
	                   "SELECT id, name, cid, uds, mode, action, actuator, target,"
	                   " require_guard, paused, last_verdict, last_verdict_at, last_reason"
	                   " FROM vms ORDER BY id",
	                   "");
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hv_vm *vm = calloc(1, sizeof(*vm));

		if (!vm)
			return -ENOMEM;
		vm->h = h;
		vm->id = sqlite3_column_int64(st, 0);
		vm->name = dup_col(st, 1);
		vm->cid = (uint32_t)sqlite3_column_int64(st, 2);
		vm->uds = dup_col(st, 3);
		if (hv_mode_parse((const char *)sqlite3_column_text(st, 4), &vm->mode) < 0 ||
		    hv_action_parse((const char *)sqlite3_column_text(st, 5), &vm->action) < 0) {
			hv_log(HV_ERR,
			       "step=load table=vms id=%" PRId64
			       " reason=\"bad mode or action in the row\"",
			       (int64_t)vm->id);
			vm_free(vm);
			return -EBADMSG;
		}
		vm->actuator_kind = dup_col(st, 6);
		vm->target = dup_col(st, 7);
		vm->require_guard = sqlite3_column_int(st, 8) != 0;
		vm->paused = sqlite3_column_int(st, 9) != 0;
		vm->has_verdict = sqlite3_column_bytes(st, 10) > 0;
		vm->last_trusted = !strcmp((const char *)sqlite3_column_text(st, 10), "trusted");
		vm->last_verdict_at = sqlite3_column_int64(st, 11);
		snprintf(vm->last_reason, sizeof(vm->last_reason), "%s",
		         (const char *)sqlite3_column_text(st, 12));
		if (!vm->name || !vm->uds || !vm->actuator_kind || !vm->target ||
		    push(&h->vms, &h->n_vms, vm) < 0) {
			vm_free(vm);
			return -ENOMEM;
		}
		r = vm_make_actuator(vm);
		if (r < 0)
			hv_log(HV_WARN, "vm=%s step=load actuator=%s reason=\"%s\" fallback=log",
			       vm->name, vm->actuator_kind, strerror(-r));
		if (r < 0 && (r = hv_actuator_create("log", "", &vm->actuator)) < 0)
			return r;
		r = load_policy(h, vm);
		if (r < 0)
			return r;
	}
	if ((r = load_end(h, rc, "vms")) < 0)
		return r;
	sqlite3_finalize(st);
	st = NULL;

	r = hv_store_query(&h->store, &st, "SELECT vm_id, image_id FROM approvals", "");
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t vid = sqlite3_column_int64(st, 0);

		for (size_t i = 0; i < h->n_vms; i++)
			if (h->vms[i]->id == vid &&
			    vm_image_push(h->vms[i], sqlite3_column_int64(st, 1)) < 0)
				return -ENOMEM;
	}
	return load_end(h, rc, "approvals");
}

int hostd_vm_add(struct hostd *h, struct hv_vm *t, char *why, size_t whysz)
{
	struct hv_vm *vm;
	int r;

	if (hostd_vm_by_name(h, t->name)) {
		snprintf(why, whysz, "a VM named '%s' exists", t->name);
		return -EEXIST;
	}
	if (t->cid && hostd_vm_by_cid(h, t->cid)) {
		snprintf(why, whysz, "CID %u belongs to another VM", t->cid);
		return -EEXIST;
	}
	for (size_t i = 0; t->uds[0] && i < h->n_vms; i++)
		if (!strcmp(h->vms[i]->uds, t->uds)) {
			snprintf(why, whysz, "socket base belongs to VM '%s'", h->vms[i]->name);
			return -EEXIST;
		}
	if (!hv_actuator_kind_find(t->actuator_kind)) {
		snprintf(why, whysz, "actuator '%s' is not built into this hvipe-hostd",
		         t->actuator_kind);
		return -EOPNOTSUPP;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	*vm = *t;
	vm->h = h;
	vm->name = strdup(t->name);
	vm->uds = strdup(t->uds);
	vm->actuator_kind = strdup(t->actuator_kind);
	vm->target = strdup(t->target);
	vm->image_ids = NULL;
	vm->n_images = 0;
	vm->actuator = (struct hv_actuator){0};
	if (!vm->name || !vm->uds || !vm->actuator_kind || !vm->target) {
		vm_free(vm);
		return -ENOMEM;
	}
	r = vm_make_actuator(vm);
	if (r < 0) {
		snprintf(why, whysz, "actuator target refused: %s", strerror(-r));
		vm_free(vm);
		return r;
	}
	r = hv_store_exec(&h->store, &vm->id,
	                  "INSERT INTO vms(name, cid, uds, mode, action, actuator, target,"
	                  " require_guard, created_at) VALUES(?,?,?,?,?,?,?,?,?)",
	                  "titttttii", vm->name, (int64_t)vm->cid, vm->uds, hv_mode_name(vm->mode),
	                  hv_action_name(vm->action), vm->actuator_kind, vm->target,
	                  (int64_t)vm->require_guard, hostd_now());
	if (r == 0)
		r = hv_store_commit(&h->store);
	if (r == 0)
		r = push(&h->vms, &h->n_vms, vm);
	if (r < 0) {
		hv_store_rollback(&h->store);
		snprintf(why, whysz, "database: %s", strerror(-r));
		vm_free(vm);
		return r;
	}
	if (vm->uds[0]) {
		r = hostd_listen_vm(h, vm);
		if (r < 0)
			snprintf(why, whysz, "registered, but listening on %s_%u failed: %s",
			         vm->uds, h->cfg.vsock_port, strerror(-r));
	}
	return 0;
}

int hostd_vm_forget(struct hostd *h, struct hv_vm *vm)
{
	int r;

	r = hv_store_exec(&h->store, NULL, "DELETE FROM vms WHERE id=?", "i", vm->id);
	if (r == 0)
		r = hv_store_commit(&h->store);
	if (r < 0) {
		hv_store_rollback(&h->store);
		return r;
	}
	hostd_conn_drop_vm(h, vm, "vm forgotten");
	hostd_unlisten_vm(h, vm);
	for (size_t i = 0; i < h->n_vms; i++)
		if (h->vms[i] == vm) {
			h->vms[i] = h->vms[--h->n_vms];
			break;
		}
	vm_free(vm);
	return 0;
}

int hostd_vm_set_action(struct hostd *h, struct hv_vm *vm, enum hv_action a)
{
	int r;

	if (a == HV_ACTION_RESUME)
		return -EINVAL;
	r = hv_store_exec(&h->store, NULL, "UPDATE vms SET action=? WHERE id=?", "ti",
	                  hv_action_name(a), vm->id);
	if (r == 0)
		r = hv_store_commit(&h->store);
	if (r == 0)
		vm->action = a;
	return r;
}

/*
 * Completion of an actuator request. It may arrive after the VM was
 * forgotten, so the context names the VM by value, not by pointer.
 */
struct act_ctx {
	struct hostd *h;
	char vm[65];
	char kind[16];
	enum hv_action action;
};

/* A pause or poweroff that took effect marks the VM (the log actuator
 * takes none): no further action until the operator resumes it. */
static void mark_paused(struct hostd *h, const char *name, bool paused)
{
	struct hv_vm *vm = hostd_vm_by_name(h, name);

	if (!vm || vm->paused == paused)
		return;
	vm->paused = paused;
	if (hv_store_exec(&h->store, NULL, "UPDATE vms SET paused=? WHERE id=?", "ii",
	                  (int64_t)paused, vm->id) < 0)
		hv_log(HV_ERR, "vm=%s step=store reason=\"paused mark not stored\"", name);
}

static void act_done(void *ctx, int err, const char *detail)
{
	struct act_ctx *c = ctx;
	bool effective = strcmp(c->kind, "log") != 0;

	if (err < 0)
		hv_log(HV_ERR, "vm=%s step=act actuator=%s action=%s result=failed reason=\"%s\"",
		       c->vm, c->kind, hv_action_name(c->action), detail ? detail : strerror(-err));
	else if (effective)
		hv_log(HV_NOTICE, "vm=%s step=act actuator=%s action=%s result=done", c->vm,
		       c->kind, hv_action_name(c->action));
	if (err == 0 && effective &&
	    (c->action == HV_ACTION_PAUSE || c->action == HV_ACTION_POWEROFF))
		mark_paused(c->h, c->vm, true);
	hostd_action_done(c->h, c->vm, c->action, err, detail ? detail : "");
	free(c);
}

static int vm_act(struct hv_vm *vm, const struct hv_act_request *req)
{
	struct act_ctx *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->h = vm->h;
	snprintf(c->vm, sizeof(c->vm), "%s", vm->name);
	snprintf(c->kind, sizeof(c->kind), "%s", vm->actuator_kind);
	c->action = req->action;
	r = vm->actuator.ops->act(vm->actuator.impl, req, act_done, c);
	if (r < 0)
		free(c);
	return r;
}

int hostd_vm_resume(struct hostd *h, struct hv_vm *vm)
{
	struct hv_act_request req = {
	        .vm = vm->name,
	        .cid = vm->cid,
	        .target = vm->target,
	        .action = HV_ACTION_RESUME,
	        .reason = "operator resume",
	};
	int r;

	r = hv_store_exec(&h->store, NULL, "UPDATE vms SET paused=0 WHERE id=?", "i", vm->id);
	if (r == 0)
		r = hv_store_commit(&h->store);
	if (r < 0)
		return r;
	vm->paused = false;
	hostd_event(h, vm, "resume", "operator");
	return vm_act(vm, &req);
}

int hostd_image_add(struct hostd *h, const char *name, const char *alg, const char *hex,
                    const void *sig, size_t sig_len, char *why, size_t whysz)
{
	struct hv_image *img;
	size_t want = hv_alg_digest_len(alg);
	int n, r;

	if (hostd_image_by_name(h, name)) {
		snprintf(why, whysz, "an image named '%s' exists", name);
		return -EEXIST;
	}
	if (!want) {
		snprintf(why, whysz, "unknown hash algorithm");
		return -EINVAL;
	}
	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	n = hv_hex_decode(img->hash, sizeof(img->hash), hex, strlen(hex));
	if (n < 0 || (size_t)n != want) {
		snprintf(why, whysz, "root hash must be %zu hex digits for %s", 2 * want, alg);
		free(img);
		return -EINVAL;
	}
	img->hash_len = (size_t)n;
	snprintf(img->alg, sizeof(img->alg), "%s", alg);
	img->name = strdup(name);
	img->hex = malloc(2 * want + 1);
	if (!img->name || !img->hex) {
		image_free(img);
		return -ENOMEM;
	}
	hv_hex_encode(img->hex, img->hash, img->hash_len);
	if (sig_len > 0) {
		char reason[160];

		/* A signature stored here makes the image pass signature mode and
		 * the verdict's signature check: it must be one the guest's
		 * dm-verity would accept from this host. */
		r = hv_signer_verify_roothash(h->signer, sig, sig_len, img->hex, reason,
		                              sizeof(reason));
		if (r < 0) {
			snprintf(why, whysz,
			         "signature does not verify over the root hash with the host "
			         "certificate: %s",
			         reason);
			image_free(img);
			return r;
		}
	}
	img->has_signature = sig_len > 0;
	r = hv_store_exec(&h->store, &img->id,
	                  "INSERT INTO images(name, alg, root_hash, signature, created_at)"
	                  " VALUES(?,?,?,?,?)",
	                  "tttbi", img->name, img->alg, img->hex, sig_len ? sig : NULL, sig_len,
	                  hostd_now());
	if (r == 0)
		r = hv_store_commit(&h->store);
	if (r == 0)
		r = push(&h->images, &h->n_images, img);
	if (r < 0) {
		hv_store_rollback(&h->store);
		snprintf(why, whysz, "database: %s", strerror(-r));
		image_free(img);
	}
	return r;
}

int hostd_image_approve(struct hostd *h, struct hv_vm *vm, struct hv_image *img, bool on)
{
	int r;

	if (on == hostd_vm_has_image(vm, img->id))
		return 0;
	if (on)
		r = hv_store_exec(&h->store, NULL,
		                  "INSERT INTO approvals(vm_id, image_id) VALUES(?,?)", "ii",
		                  vm->id, img->id);
	else
		r = hv_store_exec(&h->store, NULL,
		                  "DELETE FROM approvals WHERE vm_id=? AND image_id=?", "ii",
		                  vm->id, img->id);
	if (r == 0)
		r = hv_store_commit(&h->store);
	if (r < 0) {
		hv_store_rollback(&h->store);
		return r;
	}
	if (on)
		return vm_image_push(vm, img->id) < 0 ? -ENOMEM : 0;
	for (size_t i = 0; i < vm->n_images; i++)
		if (vm->image_ids[i] == img->id) {
			vm->image_ids[i] = vm->image_ids[--vm->n_images];
			break;
		}
	return 0;
}

static int vm_rule_list(struct hostd *h, struct hv_vm *vm, struct hv_image_rule **out, size_t *n)
{
	struct hv_image_rule *rules = calloc(vm->n_images ? vm->n_images : 1, sizeof(*rules));
	size_t k = 0;

	if (!rules)
		return -ENOMEM;
	for (size_t i = 0; i < vm->n_images; i++) {
		struct hv_image *img = hostd_image_by_id(h, vm->image_ids[i]);

		if (img)
			rules[k++] = (struct hv_image_rule){img->alg, img->hex};
	}
	*out = rules;
	*n = k;
	return 0;
}

int hostd_vm_rules(struct hostd *h, struct hv_vm *vm, char **out)
{
	_cleanup_free_ struct hv_image_rule *rules = NULL;
	struct hv_buf b;
	size_t n;
	int r;

	r = vm_rule_list(h, vm, &rules, &n);
	if (r < 0)
		return r;
	hv_buf_init(&b, 64u * 1024 * 1024);
	r = hv_compose_rules(vm->mode, rules, n, &b);
	if (r == 0)
		r = hv_buf_append(&b, "", 1);
	if (r < 0) {
		hv_buf_free(&b);
		return r;
	}
	*out = (char *)b.data;
	return 0;
}

static int switch_to_signature(struct hostd *h, struct hv_vm *vm, size_t n_images)
{
	char detail[96];
	int r;

	r = hv_store_exec(&h->store, NULL, "UPDATE vms SET mode='signature' WHERE id=?", "i",
	                  vm->id);
	if (r == 0)
		r = hv_store_commit(&h->store);
	if (r < 0)
		return r;
	vm->mode = HV_MODE_SIGNATURE;
	snprintf(detail, sizeof(detail), "%zu root hashes exceed the 65535-byte signed policy",
	         n_images);
	hv_log(HV_WARN, "vm=%s cid=%u step=compose decision=signature_mode reason=\"%s\"", vm->name,
	       vm->cid, detail);
	hostd_event(h, vm, "mode_signature", detail);
	return 0;
}

int hostd_issue_policy(struct hostd *h, struct hv_vm *vm, uint64_t min_issue, uint8_t **blob,
                       size_t *blob_len, char *why, size_t whysz)
{
	_cleanup_free_ struct hv_image_rule *rules = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ uint8_t *signed_blob = NULL;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	size_t n_rules, text_len, max_text, sblen = 0;
	uint8_t digest[32];
	char version[20];
	int64_t cur = 0;
	uint64_t n;
	const char *nl;
	char *rules_copy;
	int r;

	max_text = HV_IPE_MAX_SIGNED_BLOB - hv_signer_overhead(h->signer);
	r = vm_rule_list(h, vm, &rules, &n_rules);
	if (r < 0)
		return r;

	/*
	 * The next issue number: one past the VM name's counter, or @min_issue
	 * when that is higher (a guest runs a version this store does not
	 * know). The counter only grows; it is committed with the policy
	 * record before the version leaves the host (the caller's durable send).
	 */
	r = hv_store_query(&h->store, &st, "SELECT n FROM issue_counters WHERE name=?", "t",
	                   vm->name);
	if (r == 0) {
		int step = sqlite3_step(st);

		if (step == SQLITE_ROW)
			cur = sqlite3_column_int64(st, 0);
		else if (step != SQLITE_DONE)
			r = -EIO;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (r == 0 && cur < 0)
		r = -EBADMSG;
	if (r < 0) {
		snprintf(why, whysz, "issue counter: %s", strerror(-r));
		return r;
	}
	if ((uint64_t)cur >= HV_ISSUE_MAX || min_issue > HV_ISSUE_MAX) {
		snprintf(why, whysz, "issue counter exhausted: at %lld, issue %llu is the last",
		         (long long)cur, (unsigned long long)HV_ISSUE_MAX);
		return -ERANGE;
	}
	n = (uint64_t)cur + 1;
	if (min_issue > n) {
		char above[20];

		hv_compose_version(min_issue - 1, above, sizeof(above));
		hv_log(HV_NOTICE,
		       "vm=%s cid=%u step=issue decision=skip counter=%lld issue=%llu"
		       " reason=\"the guest reports hvipe version %s: the new one must be above\"",
		       vm->name, vm->cid, (long long)cur, (unsigned long long)min_issue, above);
		n = min_issue;
	}
	r = hv_store_exec(&h->store, NULL,
	                  "INSERT INTO issue_counters(name, n) VALUES(?, ?)"
	                  " ON CONFLICT(name) DO UPDATE SET n = max(n, excluded.n)",
	                  "ti", vm->name, (int64_t)n);
	if (r < 0) {
		snprintf(why, whysz, "issue counter: %s", strerror(-r));
		return r;
	}

	r = hv_compose_policy(vm->mode, rules, n_rules, n, max_text, &text, &text_len);
	if (r == -EMSGSIZE && vm->mode == HV_MODE_ROOTHASH) {
		r = switch_to_signature(h, vm, n_rules);
		if (r == 0)
			r = hv_compose_policy(vm->mode, rules, n_rules, n, max_text, &text,
			                      &text_len);
	}
	if (r < 0) {
		snprintf(why, whysz, "compose: %s", strerror(-r));
		return r;
	}
	r = hv_signer_sign(h->signer, text, text_len, &signed_blob, &sblen, digest, why, whysz);
	if (r < 0)
		return r;
	hv_compose_version(n, version, sizeof(version));
	r = hv_store_exec(&h->store, NULL,
	                  "INSERT INTO policies(vm_id, issue, version, mode, text, digest,"
	                  " blob_len, issued_at) VALUES(?,?,?,?,?,?,?,?)",
	                  "iitttbii", vm->id, (int64_t)n, version, hv_mode_name(vm->mode), text,
	                  digest, (size_t)32, (int64_t)sblen, hostd_now());
	if (r < 0) {
		snprintf(why, whysz, "database: %s", strerror(-r));
		return r;
	}
	nl = strchr(text, '\n');
	rules_copy = strdup(nl ? nl + 1 : "");
	if (!rules_copy)
		return -ENOMEM;
	free(vm->issued_rules);
	vm->issued_rules = rules_copy;
	vm->issued_n = n;
	memcpy(vm->issued_digest, digest, 32);
	snprintf(vm->issued_version, sizeof(vm->issued_version), "%s", version);
	*blob = TAKE_PTR(signed_blob);
	*blob_len = sblen;
	return 0;
}

int hostd_policy_confirmed(struct hostd *h, struct hv_vm *vm, uint64_t n)
{
	int r;

	r = hv_store_exec(&h->store, NULL,
	                  "UPDATE policies SET confirmed_at=? WHERE vm_id=? AND issue=?", "iii",
	                  hostd_now(), vm->id, (int64_t)n);
	if (r < 0)
		return r;
	if (n == vm->issued_n) {
		vm->confirmed_n = n;
		memcpy(vm->confirmed_digest, vm->issued_digest, 32);
	}
	return 0;
}

void hostd_event(struct hostd *h, struct hv_vm *vm, const char *kind, const char *detail)
{
	int r = hv_store_exec(&h->store, NULL,
	                      "INSERT INTO events(vm_id, at, kind, detail) VALUES(?,?,?,?)", "iitt",
	                      vm->id, hostd_now(), kind, detail);

	if (r < 0)
		hv_log(HV_ERR, "vm=%s step=store reason=\"event not stored: %s\"", vm->name,
		       strerror(-r));
}

static uint32_t findings_sig(const struct hv_verdict *v)
{
	uint32_t s = v->trusted ? 1u : 0u;

	for (size_t i = 0; i < v->n; i++)
		s |= 1u << (v->f[i].code & 31);
	return s;
}

void hostd_record_verdict(struct hostd *h, struct hv_vm *vm, const struct hv_verdict *v,
                          bool new_session)
{
	char findings[HV_VERDICT_MAX_FINDINGS * 200] = "";
	uint32_t sig = findings_sig(v);
	size_t off = 0;
	int r = 0;

	for (size_t i = 0; i < v->n && off < sizeof(findings); i++)
		off += (size_t)snprintf(findings + off, sizeof(findings) - off, "%s%s: %s",
		                        i ? "; " : "", hv_finding_name(v->f[i].code),
		                        v->f[i].detail);
	if (off >= sizeof(findings))
		off = sizeof(findings) - 1;
	vm->last_verdict_at = hostd_now();
	snprintf(vm->last_reason, sizeof(vm->last_reason), "%s",
	         v->n ? hv_finding_name(v->f[0].code) : "");
	if (new_session || !vm->has_verdict || sig != vm->last_sig)
		r = hv_store_exec(
		        &h->store, NULL,
		        "INSERT INTO verdicts(vm_id, at, trusted, findings) VALUES(?,?,?,?)",
		        "iiit", vm->id, vm->last_verdict_at, (int64_t)v->trusted, findings);
	if (r == 0)
		r = hv_store_exec(&h->store, NULL,
		                  "UPDATE vms SET last_verdict=?, last_verdict_at=?, last_reason=?"
		                  " WHERE id=?",
		                  "titi", v->trusted ? "trusted" : "untrusted", vm->last_verdict_at,
		                  vm->last_reason, vm->id);
	if (r < 0)
		hv_log(HV_ERR, "vm=%s step=store reason=\"verdict not stored: %s\"", vm->name,
		       strerror(-r));
	vm->has_verdict = true;
	vm->last_trusted = v->trusted;
	vm->last_sig = sig;
}

void hostd_violation(struct hostd *h, struct hv_vm *vm, const char *reason)
{
	struct hv_act_request req = {
	        .vm = vm->name,
	        .cid = vm->cid,
	        .target = vm->target,
	        .action = vm->action,
	        .reason = reason,
	};
	int r;

	hostd_event(h, vm, "violation", reason);
	/*
	 * The record of why a VM is acted on is durable before the action: an
	 * operator who finds a paused VM finds the reason too, even if this
	 * process dies next. Violations are rare; the synchronous commit is cheap.
	 */
	if (hv_store_commit(&h->store) < 0)
		hv_log(HV_ERR, "vm=%s step=store reason=\"violation not committed\"", vm->name);
	if (vm->paused && vm->action != HV_ACTION_LOG)
		return; /* already acted; the operator resumes */
	r = vm_act(vm, &req);
	if (r < 0) {
		hv_log(HV_ERR,
		       "vm=%s cid=%u step=act actuator=%s action=%s result=failed reason=\"%s\"",
		       vm->name, vm->cid, vm->actuator_kind, hv_action_name(vm->action),
		       strerror(-r));
	}
}
