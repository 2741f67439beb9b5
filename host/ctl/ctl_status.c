/* SPDX-License-Identifier: Apache-2.0 */
/* hvipectl status and audit: what hvipe-hostd knows about its guests now. */
#include "ctl.h"
#include "ctl_daemon.h"
#include "util/log.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void fmt_time(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0 || !gmtime_r(&tt, &tm))
		snprintf(buf, n, "-");
	else
		strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int ctl_status_main(int argc, char **argv)
{
	Hvipe__Ctl__Request rq = HVIPE__CTL__REQUEST__INIT;
	Hvipe__Ctl__VmRef ref = HVIPE__CTL__VM_REF__INIT;
	Hvipe__Ctl__Response *rs;
	bool json = false;
	int r;

	if (ctl_wants_help(argc, argv)) {
		printf("usage: hvipectl [--socket PATH] status [VM] [--json]\n\n"
		       "Per VM: connected now, the last verdict and when, the policy version\n"
		       "issued and whether the guest confirmed it.\n");
		return CTL_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (argv[i][0] != '-' && !ref.name[0])
			ref.name = argv[i];
		else
			return ctl_fail(CTL_USAGE, "usage: hvipectl status [VM] [--json]");
	}
	rq.body_case = HVIPE__CTL__REQUEST__BODY_STATUS;
	rq.status = &ref;
	r = ctl_call_vm(&rq, &rs, ref.name);
	if (r != CTL_OK)
		return r;
	if (json) {
		fputs("[", stdout);
		for (size_t i = 0; i < rs->n_vms; i++) {
			fputs(i ? "," : "", stdout);
			ctl_print_vm_json(stdout, rs->vms[i]);
		}
		puts("]");
	} else {
		printf("%-20s %-9s %-9s %-20s %-12s %-28s %s\n", "VM", "CONNECTED", "VERDICT", "AT",
		       "POLICY", "LAST ACTION", "REASON");
		for (size_t i = 0; i < rs->n_vms; i++) {
			const Hvipe__Ctl__VmInfo *v = rs->vms[i];
			char at[32], pol[40];

			fmt_time(v->last_verdict_at, at, sizeof(at));
			snprintf(pol, sizeof(pol), "%s%s",
			         v->policy_version[0] ? v->policy_version : "-",
			         v->policy_version[0] && !v->policy_confirmed ? "?" : "");
			printf("%-20s %-9s %-9s %-20s %-12s %-28s %s%s\n", v->name,
			       v->connected ? "yes" : "no",
			       v->last_verdict[0] ? v->last_verdict : "-", at, pol,
			       v->last_action[0] ? v->last_action : "-",
			       v->last_reason[0] ? v->last_reason : "-",
			       v->paused ? " (paused)" : "");
		}
	}
	hvipe__ctl__response__free_unpacked(rs, NULL);
	return CTL_OK;
}

int ctl_audit_main(int argc, char **argv)
{
	static const struct option o[] = {
	        {"vm", required_argument, NULL, 'v'},
	        {"limit", required_argument, NULL, 'n'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	Hvipe__Ctl__Request rq = HVIPE__CTL__REQUEST__INIT;
	Hvipe__Ctl__AuditQuery q = HVIPE__CTL__AUDIT_QUERY__INIT;
	Hvipe__Ctl__Response *rs;
	bool json = false;
	char *end;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (c) {
		case 'v':
			q.vm = optarg;
			break;
		case 'n':
			q.limit = (uint32_t)strtoul(optarg, &end, 10);
			if (*end || !optarg[0])
				return ctl_fail(CTL_USAGE, "--limit takes a number");
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			printf("usage: hvipectl [--socket PATH] audit [--vm NAME] [--limit N] "
			       "[--json]\n\n"
			       "IPE audit records the guests forwarded, newest first.\n");
			return CTL_OK;
		default:
			return ctl_fail(CTL_USAGE, "usage: hvipectl audit [--vm NAME] [--json]");
		}
	}
	if (optind != argc)
		return ctl_fail(CTL_USAGE, "usage: hvipectl audit [--vm NAME] [--json]");
	rq.body_case = HVIPE__CTL__REQUEST__BODY_AUDIT;
	rq.audit = &q;
	r = ctl_call_vm(&rq, &rs, q.vm);
	if (r != CTL_OK)
		return r;
	if (json)
		fputs("[", stdout);
	for (size_t i = 0; i < rs->n_audit; i++) {
		const Hvipe__Ctl__AuditEntry *e = rs->audit[i];
		char at[32];

		fmt_time(e->at, at, sizeof(at));
		if (json) {
			fputs(i ? ",{\"vm\":" : "{\"vm\":", stdout);
			ctl_json_str(stdout, e->vm);
			printf(",\"at\":%lld,\"type\":%u,\"text\":", (long long)e->at, e->type);
			ctl_json_str(stdout, e->text);
			fputs("}", stdout);
		} else {
			char t[1024];

			/* Guest text: escaped, so it cannot drive the terminal. */
			hv_log_escape(t, sizeof(t), e->text, strlen(e->text), 700);
			printf("%s %s type=%u %s\n", at, e->vm, e->type, t);
		}
	}
	if (json)
		puts("]");
	hvipe__ctl__response__free_unpacked(rs, NULL);
	return CTL_OK;
}
