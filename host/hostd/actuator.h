/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Actuators: how hvipe-hostd acts on a VM through the hypervisor.
 *
 * Each VM record names an actuator kind ("log", "libvirt", "qmp") and a target
 * (libvirt domain name or UUID; QMP socket path; empty for "log") plus the
 * action to take on a violation. hostd calls hv_actuator_act() from its event
 * loop; an implementation must never block that loop: slow work (a libvirt RPC,
 * a QMP exchange) runs elsewhere and reports through @done, which is called
 * exactly once, from the event loop thread, possibly before act() returns.
 */
#ifndef HVIPE_HOSTD_ACTUATOR_H
#define HVIPE_HOSTD_ACTUATOR_H

#include <stdint.h>

enum hv_action {
	HV_ACTION_LOG = 0,      /* record and log only */
	HV_ACTION_PAUSE = 1,    /* suspend the VM (libvirt virDomainSuspend, QMP stop) */
	HV_ACTION_POWEROFF = 2, /* hard stop (libvirt virDomainDestroy, QMP quit) */
	HV_ACTION_RESUME = 3,   /* release a paused VM (operator decision only) */
};

const char *hv_action_name(enum hv_action a);
/* Returns 0 and sets *out, or -EINVAL for an unknown name. */
int hv_action_parse(const char *name, enum hv_action *out);

struct hv_act_request {
	const char *vm;     /* VM name, for logs */
	uint32_t cid;       /* its vsock CID, 0 when unknown */
	const char *target; /* actuator-specific: domain name/UUID or QMP socket path */
	enum hv_action action;
	const char *reason; /* why, for logs and records */
};

/* @err is 0 or a negative errno; @detail is a short operator-readable text. */
typedef void (*hv_act_done_fn)(void *ctx, int err, const char *detail);

struct hv_actuator_ops {
	const char *kind; /* "log", "libvirt", "qmp" */
	/* Start the action. Returns 0 when started (then @done follows) or a
	 * negative errno when it could not start (then @done is not called). */
	int (*act)(void *impl, const struct hv_act_request *req, hv_act_done_fn done, void *ctx);
	void (*destroy)(void *impl);
};

struct hv_actuator {
	const struct hv_actuator_ops *ops;
	void *impl;
};

#endif
