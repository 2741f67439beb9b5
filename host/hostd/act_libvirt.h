/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libvirt actuator: acts on libvirt domains (the VM record's target is the
 * domain name or UUID) and tells hostd which domains exist, which vsock CID
 * each has, and when they start, stop, pause or resume.
 *
 * libvirt's API blocks, so it never runs on hostd's loop: a worker thread
 * owns the connection and makes every RPC, a second thread runs libvirt's
 * default event loop (lifecycle events, keepalive), and results come back to
 * the sd-event loop through an eventfd. Every callback (done, domain events)
 * runs on the loop thread. A dead connection is reopened by the next action
 * or rescan, and a reopen reports the full domain list again.
 *
 * pause = virDomainSuspend, poweroff = virDomainDestroy, resume =
 * virDomainResume, each idempotent: pausing a paused domain, powering off an
 * inactive one or resuming a running one succeeds without an RPC that would
 * change anything. Pausing a domain that is not running succeeds too ("not
 * running": it runs no code); resuming one that is not running fails with
 * -ESRCH.
 */
#ifndef HVIPE_HOSTD_ACT_LIBVIRT_H
#define HVIPE_HOSTD_ACT_LIBVIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "actuator.h"

#define HV_LIBVIRT_DEFAULT_URI "qemu:///system"

enum hv_domain_event {
	HV_DOMAIN_PRESENT,   /* seen by a scan (after connecting, or on request) */
	HV_DOMAIN_STARTED,   /* lifecycle: started */
	HV_DOMAIN_STOPPED,   /* lifecycle: stopped, crashed or shut down */
	HV_DOMAIN_SUSPENDED, /* lifecycle: paused (by anyone) */
	HV_DOMAIN_RESUMED,   /* lifecycle: resumed */
	HV_DOMAIN_UNDEFINED, /* lifecycle: definition removed */
};

struct hv_domain_info {
	const char *name;
	const char *uuid; /* 36-character UUID string */
	uint32_t cid;     /* guest CID from the domain XML, 0 when it has none */
	bool vsock;       /* has a vsock device (CID may still be 0: see below) */
	bool active;      /* running or paused */
	bool paused;
};

typedef void (*hv_domain_event_fn)(void *ctx, enum hv_domain_event ev,
                                   const struct hv_domain_info *d);

const char *hv_domain_event_name(enum hv_domain_event ev);

/*
 * Create the actuator: connect to @uri (NULL: HV_LIBVIRT_DEFAULT_URI) from
 * the worker, register for lifecycle events and report every domain with
 * HV_DOMAIN_PRESENT. @on_event may be NULL. @timeout_ms bounds each action
 * as seen by its caller (0: HV_ACT_DEFAULT_TIMEOUT_MS); an RPC still running
 * at the deadline is reported -ETIMEDOUT and its late result only logged.
 * Returns 0, -ENOMEM, or the negative errno of starting a thread.
 */
int hv_act_libvirt_new(sd_event *loop, const char *uri, unsigned timeout_ms,
                       hv_domain_event_fn on_event, void *ctx, struct hv_actuator *out);

/* Ask the worker to list every domain again (HV_DOMAIN_PRESENT events).
 * Returns 0 or -ENOMEM. */
int hv_act_libvirt_rescan(struct hv_actuator *a);

/*
 * The guest CID a domain's XML gives it: <devices><vsock><cid address='N'/>
 * for libvirt's own vhost-vsock device, else a qemu:commandline argument that
 * adds a vhost-user-vsock device with "guest-cid=N" (hvipe-vsockd domains:
 * libvirt has no element for those). Returns 0 and sets *cid, -ENOENT when
 * the domain has no vsock device, -ENODATA for a vhost-user-vsock device
 * without guest-cid= (hvipe-vsockd's --guest-cid sets it; such a domain is
 * matched to its VM record by name, the record's target), -EBADMSG for
 * malformed XML or a CID outside 3..0xfffffffe, -E2BIG for XML over
 * HV_LIBVIRT_MAX_XML.
 */
int hv_libvirt_domain_cid(const char *xml, size_t len, uint32_t *cid);

#endif
