/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvipe-hostd internals: the daemon state shared by its modules.
 *
 * One sd-event loop runs everything. Guest connections (guest.c) and control
 * connections (control.c) are non-blocking with bounded buffers; the VM model
 * (vm.c) keeps each VM's record in memory and mirrors every change into the
 * store (store.c) before it is acknowledged.
 */
#ifndef HVIPE_HOSTD_H
#define HVIPE_HOSTD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "act_libvirt.h"
#include "actuators.h"
#include "compose.h"
#include "signer.h"
#include "store.h"
#include "verdict.h"

struct hv_config {
	char *config_path;
	char *state_dir;
	char *db_path;
	char *key_path;
	char *cert_path;
	char *control_socket;
	char *control_group;
	gid_t control_gid; /* (gid_t)-1: none */
	unsigned vsock_port;
	unsigned heartbeat_ms;
	unsigned deadline_ms; /* how long a guest may take to answer */
	unsigned hello_ms;    /* how long a new connection may take to say Hello */
	unsigned max_conns;
	char *log_level;
	char *guard_tags_path; /* expected guard program tags; NULL: not checked */
};

struct hv_image {
	int64_t id;
	char *name;
	char alg[16];
	char *hex;
	uint8_t hash[64];
	size_t hash_len;
	bool has_signature;
};

struct hv_conn;
struct hv_listener;

struct hv_vm {
	struct hostd *h;
	int64_t id;
	char *name;
	uint32_t cid;
	char *uds;
	enum hv_vm_mode mode;
	enum hv_action action;
	char *actuator_kind;
	char *target;
	bool require_guard;
	bool paused;

	/* Policy bookkeeping, mirrored from the store. */
	uint64_t issued_n;
	uint8_t issued_digest[32];
	char issued_version[20];
	char *issued_rules; /* rule lines of the issued text, to see when they go stale */
	uint64_t confirmed_n;
	uint8_t confirmed_digest[32];

	int64_t *image_ids;
	size_t n_images;

	/* Runtime. */
	struct hv_actuator actuator;
	struct hv_conn *conn;
	struct hv_listener *listener;
	sd_event_source *silence; /* a daemon-mode guest that went away */
	bool had_daemon;
	bool has_verdict;
	bool last_trusted;
	uint32_t last_sig; /* finding codes of the last verdict, to store changes only */
	int64_t last_verdict_at;
	char last_reason[160];
	bool in_violation;     /* acted since the last trusted verdict */
	bool domain_down;      /* libvirt reported the domain stopped: silence is expected */
	char last_action[160]; /* "pause ok: suspended", shown by status */
	int64_t last_action_at;
};

struct hostd {
	struct hv_config cfg;
	sd_event *loop;
	struct hv_store store;
	struct hv_signer *signer;
	sd_event_source *flush;

	struct hv_vm **vms;
	size_t n_vms;
	struct hv_image **images;
	size_t n_images;

	size_t n_conns;
	uint64_t next_session;
	struct hv_listener *vsock;
	struct hv_listener *control;
	/* Group commit: connections holding frames that may leave only once
	 * the open transaction is committed (acks, policies). */
	struct hv_conn **waiting;
	size_t n_waiting, cap_waiting;
	sd_event_source *commit_src;
	/* Loaded from cfg.guard_tags_path at start. */
	struct hv_guard_tags guard_tags;
	bool have_guard_tags;
};

/* vm.c */
int hostd_load(struct hostd *h);
struct hv_vm *hostd_vm_by_name(struct hostd *h, const char *name);
struct hv_vm *hostd_vm_by_cid(struct hostd *h, uint32_t cid);
struct hv_image *hostd_image_by_name(struct hostd *h, const char *name);
struct hv_image *hostd_image_by_id(struct hostd *h, int64_t id);
bool hostd_vm_has_image(const struct hv_vm *vm, int64_t id);
int hostd_vm_add(struct hostd *h, struct hv_vm *tmpl, char *why, size_t whysz);
int hostd_vm_forget(struct hostd *h, struct hv_vm *vm);
int hostd_vm_set_action(struct hostd *h, struct hv_vm *vm, enum hv_action a);
int hostd_vm_resume(struct hostd *h, struct hv_vm *vm);
/*
 * Register an image. A signature (@sig_len > 0) must be a detached PKCS#7
 * over the lower-case hex root hash that verifies with the host certificate:
 * otherwise -EBADMSG/-EKEYREJECTED/-EMSGSIZE, nothing stored, @why says why.
 */
int hostd_image_add(struct hostd *h, const char *name, const char *alg, const char *hex,
                    const void *sig, size_t sig_len, char *why, size_t whysz);
int hostd_image_approve(struct hostd *h, struct hv_vm *vm, struct hv_image *img, bool on);
void hostd_free(struct hostd *h);
/* The rule lines the VM's policy would have now (malloc'd). */
int hostd_vm_rules(struct hostd *h, struct hv_vm *vm, char **out);
/*
 * Issue a new policy for @vm: take the next counter, compose, validate,
 * sign, record, all in the open transaction: the caller sends the policy
 * with hostd_send_durable() so that the counter and the record are
 * committed before the version leaves the host. Switches the VM to signature mode (persisted,
 * logged) when its root hashes do not fit. *@blob malloc'd.
 * The counter moves to at least @min_issue (0: just the next), never back:
 * the guest reported an hvipe policy the new one must be above. -ERANGE
 * (@why says so) when the counter cannot go there or past HV_ISSUE_MAX.
 */
int hostd_issue_policy(struct hostd *h, struct hv_vm *vm, uint64_t min_issue, uint8_t **blob,
                       size_t *blob_len, char *why, size_t whysz);
/* Record the guest's confirmation in the open transaction (ack durably). */
int hostd_policy_confirmed(struct hostd *h, struct hv_vm *vm, uint64_t n);
/* Store a verdict (batched), remember it, act when it is a violation. */
void hostd_record_verdict(struct hostd *h, struct hv_vm *vm, const struct hv_verdict *v,
                          bool new_session);
void hostd_violation(struct hostd *h, struct hv_vm *vm, const char *reason);
void hostd_event(struct hostd *h, struct hv_vm *vm, const char *kind, const char *detail);

/* domains.c: libvirt domain events, and the record of each action's outcome */
void hostd_domain_event(void *ctx, enum hv_domain_event ev, const struct hv_domain_info *d);
void hostd_action_done(struct hostd *h, const char *vm_name, enum hv_action action, int err,
                       const char *detail);
int hostd_load_last_actions(struct hostd *h);

/* guest.c */
int hostd_listen_vm(struct hostd *h, struct hv_vm *vm);
void hostd_unlisten_vm(struct hostd *h, struct hv_vm *vm);
int hostd_listen_vsock(struct hostd *h, int fd);
void hostd_conn_drop_vm(struct hostd *h, struct hv_vm *vm, const char *reason);
void hostd_vm_gone(struct hostd *h, struct hv_vm *vm);
/* For the fuzzer: feed one decoded envelope to a fresh connection of @vm. */
int hostd_fuzz_feed(struct hostd *h, struct hv_vm *vm, const uint8_t *data, size_t len);

/* Commit the open transaction, then release every held frame. */
void hostd_commit_waiting(struct hostd *h);

/* control.c */
int hostd_listen_control(struct hostd *h, int fd);

/* listeners, shared by guest.c and control.c */
typedef void (*hv_accept_fn)(struct hostd *h, struct hv_listener *l, int fd);
struct hv_listener {
	struct hostd *h;
	int fd;
	sd_event_source *src;
	hv_accept_fn on_accept;
	struct hv_vm *vm; /* NULL: vsock (identity by CID) or control */
	char *path;       /* unlinked on close when we created it */
};
struct hv_listener *hostd_listener_new(struct hostd *h, int fd, hv_accept_fn fn, struct hv_vm *vm,
                                       const char *path);
void hostd_listener_free(struct hv_listener *l);
int hostd_unix_listen(const char *path, mode_t mode, int *out);

int64_t hostd_now(void);

#endif
