/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry of actuator kinds (see actuator.h for the interface). A kind
 * is a name and a constructor; hostd builds one actuator per VM from the VM
 * record's actuator kind and target.
 */
#ifndef HVIPE_HOSTD_ACTUATORS_H
#define HVIPE_HOSTD_ACTUATORS_H

#include "actuator.h"

struct hv_actuator_kind {
	const char *name;
	/* Returns 0 with *@out ready, or a negative errno (-EINVAL bad target). */
	int (*create)(const char *target, struct hv_actuator *out);
};

/*
 * Other kinds plug in here: a file adding kind "x" defines
 * hv_actuator_x_create() and extends this list, e.g.
 * #define HV_ACTUATOR_EXTRA_KINDS {"libvirt", hv_actuator_libvirt_create},
 */
#ifndef HV_ACTUATOR_EXTRA_KINDS
#define HV_ACTUATOR_EXTRA_KINDS
#endif

const struct hv_actuator_kind *hv_actuator_kind_find(const char *kind);
/* -EOPNOTSUPP for a kind this build does not have. */
int hv_actuator_create(const char *kind, const char *target, struct hv_actuator *out);
void hv_actuator_destroy(struct hv_actuator *a);

#endif
