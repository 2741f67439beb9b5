/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hostd's per-VM "qmp" and "libvirt" actuators. All VMs of a kind share one
 * implementation (one libvirt connection and its threads; one QMP engine)
 * on hostd's event loop; each VM's struct hv_actuator holds a reference and
 * its destroy() drops it. The engines stay until hv_actuators_shutdown(),
 * which hostd calls after freeing its VMs: pending actions then end with
 * -ECANCELED and find no VM to update.
 */
#ifndef HVIPE_HOSTD_ACT_SHARED_H
#define HVIPE_HOSTD_ACT_SHARED_H

#include <systemd/sd-event.h>

#include "act_libvirt.h"

/*
 * Where the shared actuators run: hostd's loop, the libvirt URI (NULL:
 * $HVIPE_LIBVIRT_URI, else qemu:///system) and who hears libvirt domain
 * events. Call before the first create; without it the thread's default
 * sd-event loop is used. Returns 0, or -EBUSY while an engine exists (until
 * hv_actuators_shutdown()).
 */
int hv_actuators_setup(sd_event *loop, const char *libvirt_uri, hv_domain_event_fn on_event,
                       void *ctx);

/* Kind constructors for the actuator registry: @target is the QMP socket
 * path or the libvirt domain name/UUID. Return 0, -EINVAL (empty target),
 * -ENOMEM, or the errno of starting the libvirt threads. */
int hv_actuator_qmp_create(const char *target, struct hv_actuator *out);
int hv_actuator_libvirt_create(const char *target, struct hv_actuator *out);

/* Tear the shared engines down (at exit, after the VMs are freed). */
void hv_actuators_shutdown(void);

#endif
