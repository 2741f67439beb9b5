/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What hostd does with what the hypervisor tells it: libvirt domain events
 * (a domain that stops is expected to fall silent, so its silence is not a
 * violation; one that starts again is watched again), and the outcome of each
 * action, stored as an "act" event and shown by `hvipectl status`.
 *
 * A libvirt domain maps to the VM record whose actuator is "libvirt" and
 * whose target is the domain's name or UUID, or, when the domain XML names a
 * vsock CID, to the record with that CID.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hostd.h"
#include "util/log.h"

static struct hv_vm *vm_for_domain(struct hostd *h, const struct hv_domain_info *d)
{
	for (size_t i = 0; i < h->n_vms; i++) {
		struct hv_vm *vm = h->vms[i];

		if (strcmp(vm->actuator_kind, "libvirt") != 0)
			continue;
		if (!strcmp(vm->target, d->name) || !strcasecmp(vm->target, d->uuid) ||
		    (d->cid && vm->cid == d->cid))
			return vm;
	}
	return NULL;
}

void hostd_domain_event(void *ctx, enum hv_domain_event ev, const struct hv_domain_info *d)
{
	struct hostd *h = ctx;
	struct hv_vm *vm = vm_for_domain(h, d);
	char name[96], detail[160];

	hv_log(vm || ev != HV_DOMAIN_PRESENT ? HV_INFO : HV_DEBUG,
	       "vm=%s step=libvirt-domain event=%s domain=%s uuid=%s cid=%u vsock=%s state=%s",
	       vm ? vm->name : "-", hv_domain_event_name(ev),
	       hv_log_escape(name, sizeof(name), d->name, strlen(d->name), 64), d->uuid, d->cid,
	       d->vsock ? "yes" : "no",
	       d->paused   ? "paused"
	       : d->active ? "running"
	                   : "off");
	if (!vm)
		return;

	switch (ev) {
	case HV_DOMAIN_PRESENT:
		vm->domain_down = !d->active;
		return;
	case HV_DOMAIN_STARTED:
	case HV_DOMAIN_RESUMED:
		vm->domain_down = false;
		break;
	case HV_DOMAIN_STOPPED:
	case HV_DOMAIN_UNDEFINED:
		/* Its guest connection ends now: that silence is no violation. */
		vm->domain_down = true;
		if (vm->silence)
			sd_event_source_set_enabled(vm->silence, SD_EVENT_OFF);
		break;
	case HV_DOMAIN_SUSPENDED:
		break;
	}
	snprintf(detail, sizeof(detail), "domain=%s", d->name);
	hostd_event(h, vm,
	            ev == HV_DOMAIN_STARTED     ? "domain-started"
	            : ev == HV_DOMAIN_RESUMED   ? "domain-resumed"
	            : ev == HV_DOMAIN_SUSPENDED ? "domain-suspended"
	                                        : "domain-stopped",
	            detail);
}

void hostd_action_done(struct hostd *h, const char *vm_name, enum hv_action action, int err,
                       const char *detail)
{
	struct hv_vm *vm = hostd_vm_by_name(h, vm_name);

	if (!vm)
		return; /* forgotten while the action ran */
	snprintf(vm->last_action, sizeof(vm->last_action), "%s %s: %s", hv_action_name(action),
	         err ? "failed" : "ok", detail);
	vm->last_action_at = hostd_now();
	hostd_event(h, vm, "act", vm->last_action);
}

/* Returns 0 or the store's negative errno. */
int hostd_load_last_actions(struct hostd *h)
{
	for (size_t i = 0; i < h->n_vms; i++) {
		struct hv_vm *vm = h->vms[i];
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		int r = hv_store_query(&h->store, &st,
		                       "SELECT at, detail FROM events WHERE vm_id=? AND kind='act'"
		                       " ORDER BY id DESC LIMIT 1",
		                       "i", vm->id);
		int rc;

		if (r < 0)
			return r;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			vm->last_action_at = sqlite3_column_int64(st, 0);
			snprintf(vm->last_action, sizeof(vm->last_action), "%s",
			         (const char *)sqlite3_column_text(st, 1));
		} else if (rc != SQLITE_DONE) {
			hv_log(HV_ERR, "vm=%s step=load table=events reason=\"%s\"", vm->name,
			       sqlite3_errmsg(h->store.db));
			return -EIO;
		}
	}
	return 0;
}
