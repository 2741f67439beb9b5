/* SPDX-License-Identifier: Apache-2.0 */
/* hvipectl vm add|list|show|forget|set-action|resume: VM records in hvipe-hostd. */
#include "ctl.h"
#include "ctl_daemon.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void vm_usage(FILE *f)
{
	fprintf(f, "usage: hvipectl [--socket PATH] vm <verb> ...\n\n"
	           "  add NAME [--cid N] [--uds BASE] [--mode roothash|signature]\n"
	           "           [--action log|pause|poweroff] [--actuator log|libvirt|qmp]\n"
	           "           [--target T] [--require-guard yes|no (default yes)]\n"
	           "  list [--json]\n"
	           "  show NAME [--json]\n"
	           "  forget NAME\n"
	           "  set-action NAME log|pause|poweroff\n"
	           "  resume NAME\n\n"
	           "A VM is known by where it connects: its vsock CID, or the Unix socket\n"
	           "BASE_4730 that hvipe-hostd opens for it (hybrid vsock).\n");
}

static void fmt_time(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0 || !gmtime_r(&tt, &tm))
		snprintf(buf, n, "-");
	else
		strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void ctl_print_vm_json(FILE *f, const Hvipe__Ctl__VmInfo *v)
{
	fprintf(f, "{\"name\":");
	ctl_json_str(f, v->name);
	fprintf(f, ",\"cid\":%u,\"uds\":", v->cid);
	ctl_json_str(f, v->uds);
	fprintf(f, ",\"mode\":\"%s\",\"action\":\"%s\",\"actuator\":", v->mode, v->action);
	ctl_json_str(f, v->actuator);
	fprintf(f, ",\"target\":");
	ctl_json_str(f, v->target);
	fprintf(f, ",\"require_guard\":%s,\"images\":[", v->require_guard ? "true" : "false");
	for (size_t i = 0; i < v->n_images; i++) {
		fputs(i ? "," : "", f);
		ctl_json_str(f, v->images[i]);
	}
	fprintf(f, "],\"connected\":%s,\"last_verdict\":", v->connected ? "true" : "false");
	ctl_json_str(f, v->last_verdict);
	fprintf(f, ",\"last_verdict_at\":%lld,\"last_reason\":", (long long)v->last_verdict_at);
	ctl_json_str(f, v->last_reason);
	fprintf(f, ",\"policy_version\":");
	ctl_json_str(f, v->policy_version);
	fprintf(f, ",\"policy_confirmed\":%s,\"paused\":%s,\"last_action\":",
	        v->policy_confirmed ? "true" : "false", v->paused ? "true" : "false");
	ctl_json_str(f, v->last_action);
	fprintf(f, ",\"last_action_at\":%lld}", (long long)v->last_action_at);
}

static void print_vm_long(const Hvipe__Ctl__VmInfo *v)
{
	char at[32];

	fmt_time(v->last_verdict_at, at, sizeof(at));
	printf("name:           %s\n", v->name);
	printf("cid:            %u\n", v->cid);
	printf("uds:            %s\n", v->uds[0] ? v->uds : "-");
	printf("mode:           %s\n", v->mode);
	printf("action:         %s (actuator %s%s%s)\n", v->action, v->actuator,
	       v->target[0] ? ", target " : "", v->target);
	printf("require-guard:  %s\n", v->require_guard ? "yes" : "no");
	printf("images:        ");
	for (size_t i = 0; i < v->n_images; i++)
		printf(" %s", v->images[i]);
	printf("%s\n", v->n_images ? "" : " -");
	printf("connected:      %s\n", v->connected ? "yes" : "no");
	printf("last verdict:   %s at %s%s%s\n", v->last_verdict[0] ? v->last_verdict : "-", at,
	       v->last_reason[0] ? ", " : "", v->last_reason);
	printf("policy:         %s%s\n", v->policy_version[0] ? v->policy_version : "-",
	       v->policy_version[0] ? (v->policy_confirmed ? " (applied)" : " (not confirmed)")
	                            : "");
	printf("paused:         %s\n", v->paused ? "yes (hvipectl vm resume)" : "no");
	fmt_time(v->last_action_at, at, sizeof(at));
	printf("last action:    %s%s%s\n", v->last_action[0] ? v->last_action : "-",
	       v->last_action[0] ? " at " : "", v->last_action[0] ? at : "");
}

static int parse_yesno(const char *s, protobuf_c_boolean *out)
{
	if (!strcmp(s, "yes"))
		*out = true;
	else if (!strcmp(s, "no"))
		*out = false;
	else
		return -1;
	return 0;
}

static int vm_add(int argc, char **argv)
{
	static const struct option o[] = {
	        {"cid", required_argument, NULL, 'c'},
	        {"uds", required_argument, NULL, 'u'},
	        {"mode", required_argument, NULL, 'm'},
	        {"action", required_argument, NULL, 'a'},
	        {"actuator", required_argument, NULL, 'A'},
	        {"target", required_argument, NULL, 't'},
	        {"require-guard", required_argument, NULL, 'g'},
	        {NULL, 0, NULL, 0},
	};
	Hvipe__Ctl__Request rq = HVIPE__CTL__REQUEST__INIT;
	Hvipe__Ctl__VmAdd a = HVIPE__CTL__VM_ADD__INIT;
	Hvipe__Ctl__Response *rs;
	unsigned long cid;
	char *end;
	int c, r;

	/* A trusted verdict needs the guest's BPF guard armed unless the
	 * operator says otherwise (guests without the guard: --require-guard no). */
	a.require_guard = true;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (c) {
		case 'c':
			cid = strtoul(optarg, &end, 10);
			if (!optarg[0] || *end || cid > 0xffffffffUL)
				return ctl_fail(CTL_USAGE, "--cid takes a number");
			a.cid = (uint32_t)cid;
			break;
		case 'u':
			a.uds = optarg;
			break;
		case 'm':
			a.mode = optarg;
			break;
		case 'a':
			a.action = optarg;
			break;
		case 'A':
			a.actuator = optarg;
			break;
		case 't':
			a.target = optarg;
			break;
		case 'g':
			if (parse_yesno(optarg, &a.require_guard) < 0)
				return ctl_fail(CTL_USAGE, "--require-guard takes yes or no");
			break;
		default:
			vm_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind != argc - 1) {
		vm_usage(stderr);
		return CTL_USAGE;
	}
	a.name = argv[optind];
	rq.body_case = HVIPE__CTL__REQUEST__BODY_VM_ADD;
	rq.vm_add = &a;
	r = ctl_call(&rq, &rs);
	if (r != CTL_OK)
		return r;
	printf("vm %s added\n", a.name);
	if (rs->detail[0])
		fprintf(stderr, "hvipectl: warning: %s\n", rs->detail);
	hvipe__ctl__response__free_unpacked(rs, NULL);
	return CTL_OK;
}

static int want_json(int *argc, char **argv)
{
	int json = 0, k = 1;

	for (int i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else
			argv[k++] = argv[i];
	}
	*argc = k;
	return json;
}

static int vm_list_show(int argc, char **argv, bool show)
{
	Hvipe__Ctl__Request rq = HVIPE__CTL__REQUEST__INIT;
	Hvipe__Ctl__VmRef ref = HVIPE__CTL__VM_REF__INIT;
	Hvipe__Ctl__Response *rs;
	int json = want_json(&argc, argv), r;

	if (argc != (show ? 2 : 1) || (argc > 1 && argv[1][0] == '-')) {
		vm_usage(stderr);
		return CTL_USAGE;
	}
	if (show) {
		ref.name = argv[1];
		rq.body_case = HVIPE__CTL__REQUEST__BODY_VM_SHOW;
		rq.vm_show = &ref;
	} else {
		rq.body_case = HVIPE__CTL__REQUEST__BODY_VM_LIST;
		rq.vm_list = &ref;
	}
	r = ctl_call_vm(&rq, &rs, ref.name);
	if (r != CTL_OK)
		return r;
	if (json) {
		fputs(show ? "" : "[", stdout);
		for (size_t i = 0; i < rs->n_vms; i++) {
			fputs(i ? "," : "", stdout);
			ctl_print_vm_json(stdout, rs->vms[i]);
		}
		puts(show ? "" : "]");
	} else if (show) {
		print_vm_long(rs->vms[0]);
	} else {
		printf("%-20s %6s %-9s %-8s %-8s %s\n", "NAME", "CID", "MODE", "ACTION", "ACTUATOR",
		       "UDS");
		for (size_t i = 0; i < rs->n_vms; i++) {
			const Hvipe__Ctl__VmInfo *v = rs->vms[i];

			printf("%-20s %6u %-9s %-8s %-8s %s\n", v->name, v->cid, v->mode, v->action,
			       v->actuator, v->uds[0] ? v->uds : "-");
		}
	}
	hvipe__ctl__response__free_unpacked(rs, NULL);
	return CTL_OK;
}

static int vm_simple(int argc, char **argv, Hvipe__Ctl__Request__BodyCase bc, const char *done)
{
	Hvipe__Ctl__Request rq = HVIPE__CTL__REQUEST__INIT;
	Hvipe__Ctl__VmRef ref = HVIPE__CTL__VM_REF__INIT;
	Hvipe__Ctl__Response *rs;
	int r;

	if (argc != 2 || argv[1][0] == '-') {
		vm_usage(stderr);
		return CTL_USAGE;
	}
	ref.name = argv[1];
	rq.body_case = bc;
	if (bc == HVIPE__CTL__REQUEST__BODY_VM_FORGET)
		rq.vm_forget = &ref;
	else
		rq.vm_resume = &ref;
	r = ctl_call_vm(&rq, &rs, ref.name);
	if (r != CTL_OK)
		return r;
	printf("vm %s %s\n", ref.name, done);
	hvipe__ctl__response__free_unpacked(rs, NULL);
	return CTL_OK;
}

static int vm_set_action(int argc, char **argv)
{
	Hvipe__Ctl__Request rq = HVIPE__CTL__REQUEST__INIT;
	Hvipe__Ctl__VmSetAction a = HVIPE__CTL__VM_SET_ACTION__INIT;
	Hvipe__Ctl__Response *rs;
	int r;

	if (argc != 3) {
		vm_usage(stderr);
		return CTL_USAGE;
	}
	a.name = argv[1];
	a.action = argv[2];
	rq.body_case = HVIPE__CTL__REQUEST__BODY_VM_SET_ACTION;
	rq.vm_set_action = &a;
	r = ctl_call_vm(&rq, &rs, a.name);
	if (r != CTL_OK)
		return r;
	printf("vm %s action %s\n", a.name, a.action);
	hvipe__ctl__response__free_unpacked(rs, NULL);
	return CTL_OK;
}

int ctl_vm_main(int argc, char **argv)
{
	if (argc < 2 || ctl_wants_help(argc, argv)) {
		vm_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CTL_USAGE : CTL_OK;
	}
	if (!strcmp(argv[1], "add"))
		return vm_add(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return vm_list_show(argc - 1, argv + 1, false);
	if (!strcmp(argv[1], "show"))
		return vm_list_show(argc - 1, argv + 1, true);
	if (!strcmp(argv[1], "forget"))
		return vm_simple(argc - 1, argv + 1, HVIPE__CTL__REQUEST__BODY_VM_FORGET,
		                 "forgotten");
	if (!strcmp(argv[1], "resume"))
		return vm_simple(argc - 1, argv + 1, HVIPE__CTL__REQUEST__BODY_VM_RESUME,
		                 "resumed");
	if (!strcmp(argv[1], "set-action"))
		return vm_set_action(argc - 1, argv + 1);
	vm_usage(stderr);
	return ctl_fail(CTL_USAGE, "unknown verb 'vm %s'", argv[1]);
}
