/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared actuators (see act_shared.h). hostd is single threaded on its loop,
 * so the counters need no lock. The engines outlive their last reference
 * until hv_actuators_shutdown(): hostd drops the references while it frees
 * its VM list, and an engine torn down then would run completions (and
 * libvirt domain events) against a half-freed list.
 */
#include <errno.h>
#include <stdlib.h>

#include "act_qmp.h"
#include "act_shared.h"

struct shared {
	struct hv_actuator impl;
	unsigned refs;
};

static struct {
	sd_event *loop;
	const char *libvirt_uri;
	hv_domain_event_fn on_event;
	void *ctx;
	struct shared qmp, libvirt;
} g;

int hv_actuators_setup(sd_event *loop, const char *libvirt_uri, hv_domain_event_fn on_event,
                       void *ctx)
{
	if (g.qmp.impl.ops || g.libvirt.impl.ops)
		return -EBUSY;
	if (g.loop)
		sd_event_unref(g.loop);
	g.loop = sd_event_ref(loop);
	g.libvirt_uri = libvirt_uri;
	g.on_event = on_event;
	g.ctx = ctx;
	return 0;
}

static int ensure_loop(void)
{
	return g.loop ? 0 : sd_event_default(&g.loop);
}

static int forward_act(void *impl, const struct hv_act_request *req, hv_act_done_fn done, void *ctx)
{
	struct shared *s = impl;

	return s->impl.ops->act(s->impl.impl, req, done, ctx);
}

static void release(void *impl)
{
	struct shared *s = impl;

	if (s->refs)
		s->refs--;
}

static void shared_destroy(struct shared *s)
{
	if (s->impl.ops)
		s->impl.ops->destroy(s->impl.impl);
	s->impl.ops = NULL;
	s->refs = 0;
}

static const struct hv_actuator_ops qmp_shared_ops = {
        .kind = "qmp",
        .act = forward_act,
        .destroy = release,
};

static const struct hv_actuator_ops libvirt_shared_ops = {
        .kind = "libvirt",
        .act = forward_act,
        .destroy = release,
};

int hv_actuator_qmp_create(const char *target, struct hv_actuator *out)
{
	int r;

	if (!target || !*target)
		return -EINVAL;
	if (!g.qmp.impl.ops) {
		r = ensure_loop();
		if (r < 0)
			return r;
		r = hv_act_qmp_new(g.loop, 0, &g.qmp.impl);
		if (r < 0)
			return r;
	}
	g.qmp.refs++;
	out->ops = &qmp_shared_ops;
	out->impl = &g.qmp;
	return 0;
}

int hv_actuator_libvirt_create(const char *target, struct hv_actuator *out)
{
	const char *uri = g.libvirt_uri ? g.libvirt_uri : getenv("HVIPE_LIBVIRT_URI");
	int r;

	if (!target || !*target)
		return -EINVAL;
	if (!g.libvirt.impl.ops) {
		r = ensure_loop();
		if (r < 0)
			return r;
		r = hv_act_libvirt_new(g.loop, uri, 0, g.on_event, g.ctx, &g.libvirt.impl);
		if (r < 0)
			return r;
	}
	g.libvirt.refs++;
	out->ops = &libvirt_shared_ops;
	out->impl = &g.libvirt;
	return 0;
}

void hv_actuators_shutdown(void)
{
	shared_destroy(&g.qmp);
	shared_destroy(&g.libvirt);
	if (g.loop)
		g.loop = sd_event_unref(g.loop);
}
