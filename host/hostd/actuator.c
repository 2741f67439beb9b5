/* SPDX-License-Identifier: Apache-2.0 */
#include "act_shared.h"
#include "actuator.h"
/* Kinds beyond "log": act_shared.c, one engine per kind shared by all VMs. */
#define HV_ACTUATOR_EXTRA_KINDS                                                                    \
	{"qmp", hv_actuator_qmp_create}, {"libvirt", hv_actuator_libvirt_create},
#include "actuators.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const action_names[] = {
        [HV_ACTION_LOG] = "log",
        [HV_ACTION_PAUSE] = "pause",
        [HV_ACTION_POWEROFF] = "poweroff",
        [HV_ACTION_RESUME] = "resume",
};

const char *hv_action_name(enum hv_action a)
{
	if ((size_t)a < sizeof(action_names) / sizeof(action_names[0]))
		return action_names[a];
	return "unknown";
}

int hv_action_parse(const char *name, enum hv_action *out)
{
	for (size_t i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++)
		if (!strcmp(name, action_names[i])) {
			*out = (enum hv_action)i;
			return 0;
		}
	return -EINVAL;
}

/*
 * The log actuator: it records the decision in the log and nothing else. It
 * is the right kind for a VM the operator only watches, and the fallback that
 * keeps a decision visible when no hypervisor handle exists.
 */
static int log_act(void *impl, const struct hv_act_request *req, hv_act_done_fn done, void *ctx)
{
	char reason[200];

	hv_log_escape(reason, sizeof(reason), req->reason, strlen(req->reason), 150);
	hv_log(HV_NOTICE,
	       "vm=%s cid=%u step=act actuator=log action=%s result=logged reason=\"%s\"", req->vm,
	       req->cid, hv_action_name(req->action), reason);
	done(ctx, 0, "logged");
	return 0;
}

static const struct hv_actuator_ops log_ops = {
        .kind = "log",
        .act = log_act,
        .destroy = NULL,
};

static int log_create(const char *target, struct hv_actuator *out)
{
	out->ops = &log_ops;
	out->impl = NULL;
	return 0;
}

/*
 * The registry of actuator kinds. Adding one (libvirt, QMP) is one line here
 * and a create function in its own file, declared in actuators.h.
 */
static const struct hv_actuator_kind kinds[] = {
        {"log", log_create},
        HV_ACTUATOR_EXTRA_KINDS{NULL, NULL},
};

const struct hv_actuator_kind *hv_actuator_kind_find(const char *kind)
{
	for (size_t i = 0; kinds[i].name; i++)
		if (!strcmp(kinds[i].name, kind))
			return &kinds[i];
	return NULL;
}

int hv_actuator_create(const char *kind, const char *target, struct hv_actuator *out)
{
	const struct hv_actuator_kind *k = hv_actuator_kind_find(kind);

	if (!k)
		return -EOPNOTSUPP;
	return k->create(target, out);
}

void hv_actuator_destroy(struct hv_actuator *a)
{
	if (a->ops && a->ops->destroy)
		a->ops->destroy(a->impl);
	a->ops = NULL;
	a->impl = NULL;
}
