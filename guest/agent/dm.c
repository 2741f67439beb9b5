// SPDX-License-Identifier: Apache-2.0
/*
 * The device-mapper source of evidence, through libdevmapper: the kernel's
 * own tables over the dm ioctls, no dmsetup output parsed.
 */
#include "evidence.h"

#include <errno.h>
#include <libdevmapper.h>
#include <stdlib.h>
#include <string.h>

/* More devices than any guest has; the list is cut here. */
#define GA_DM_MAX_TARGETS 256u
/* Longest table line we keep; a verity line with signature key is < 1 KiB. */
#define GA_DM_MAX_PARAMS 4096u

static int add_targets(const char *name, struct ga_dm_target **arr, size_t *n)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_TABLE);
	struct dm_info info;
	void *next = NULL;
	int r = 0;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_name(dmt, name) || !dm_task_run(dmt) || !dm_task_get_info(dmt, &info) ||
	    !info.exists) {
		/* Removed between list and table: skip it. */
		dm_task_destroy(dmt);
		return 0;
	}
	do {
		uint64_t start, length;
		char *type = NULL, *params = NULL;
		struct ga_dm_target *t;

		next = dm_get_next_target(dmt, next, &start, &length, &type, &params);
		if (!type || *n >= GA_DM_MAX_TARGETS)
			continue;
		t = &(*arr)[*n];
		memset(t, 0, sizeof(*t));
		snprintf(t->name, sizeof(t->name), "%s", name);
		snprintf(t->type, sizeof(t->type), "%s", type);
		t->major = info.major;
		t->minor = info.minor;
		t->params = strndup(params ? params : "", GA_DM_MAX_PARAMS);
		if (!t->params) {
			r = -ENOMEM;
			break;
		}
		(*n)++;
	} while (next);
	dm_task_destroy(dmt);
	return r;
}

__attribute__((format(printf, 5, 6))) static void dm_quiet(int level, const char *file, int line,
                                                           int dm_errno, const char *f, ...)
{
}

static int dm_list(void *ctx, struct ga_dm_target **out, size_t *nout)
{
	struct dm_task *dmt;
	struct dm_names *names;
	struct ga_dm_target *arr;
	size_t n = 0;
	unsigned off = 0;
	int r = 0;

	(void)ctx;
	/* A library does not print: the agent logs the outcome once. */
	dm_log_with_errno_init(dm_quiet);
	dmt = dm_task_create(DM_DEVICE_LIST);
	if (!dmt)
		return -ENXIO; /* fails when the kernel has no device-mapper driver */
	if (!dm_task_run(dmt)) {
		dm_task_destroy(dmt);
		return -ENXIO; /* no /dev/mapper/control or no dm in the kernel */
	}
	names = dm_task_get_names(dmt);
	arr = calloc(GA_DM_MAX_TARGETS, sizeof(*arr));
	if (!arr) {
		dm_task_destroy(dmt);
		return -ENOMEM;
	}
	if (names && names->dev) {
		do {
			names = (struct dm_names *)((char *)names + off);
			r = add_targets(names->name, &arr, &n);
			off = names->next;
		} while (r == 0 && off);
	}
	dm_task_destroy(dmt);
	if (r < 0) {
		ga_dm_targets_free(arr, n);
		return r;
	}
	*out = arr;
	*nout = n;
	return 0;
}

const struct ga_dm_source ga_dm_libdevmapper = {.list = dm_list, .ctx = NULL};

void ga_paths_default(struct ga_paths *p)
{
	p->securityfs = "/sys/kernel/security";
	p->mountinfo = "/proc/self/mountinfo";
	p->boot_id = "/proc/sys/kernel/random/boot_id";
	p->osrelease = "/proc/sys/kernel/osrelease";
	p->dm = &ga_dm_libdevmapper;
}
