/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvipe-guard: arm the BPF LSM guard and show its state, for operators and
 * tests. hvipe-guestd calls the same library (guard.h) itself.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guard.h"
#include "util/log.h"

enum { EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: hvipe-guard arm --agent PATH [--pin DIR] [--serve]\n"
	        "       hvipe-guard status [--pin DIR]\n"
	        "       hvipe-guard tags\n"
	        "       hvipe-guard check-lsm [--securityfs DIR]\n\n"
	        "Arm, inspect or fingerprint hvipe's BPF LSM guard (see hvipe-guard(8)).\n\n"
	        "  arm        load, attach, pin (default %s) and arm the guard;\n"
	        "             PATH is the agent's executable; --serve keeps running\n"
	        "             as a guarded process until SIGTERM\n"
	        "  status     print armed state, program tags and refusal counters\n"
	        "  tags       load the programs without attaching them and print\n"
	        "             \"<tag> <name>\" lines: the expected-tags file\n"
	        "  check-lsm  exit 0 when \"bpf\" is an active LSM\n\n"
	        "Exit codes: 0 ok, 1 failed, 2 usage.\n",
	        HV_GUARD_PIN_DIR);
}

static void print_report(const struct hv_guard_report *r)
{
	printf("armed=%d programs=%zu refusals=%llu\n", r->armed, r->nprogs,
	       (unsigned long long)r->total);
	for (size_t i = 0; i < r->nprogs; i++)
		printf("program=%s tag=%s\n", r->names[i], r->tags[i]);
	for (unsigned int k = 0; k < HV_GUARD_KINDS; k++) {
		char comm[64];

		hv_log_escape(comm, sizeof(comm), r->kinds[k].comm, strlen(r->kinds[k].comm), 16);
		printf("refused=%s count=%llu last_pid=%u last_comm=%s\n", r->kinds[k].what,
		       (unsigned long long)r->kinds[k].count, r->kinds[k].pid, comm);
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

static int cmd_arm(const char *agent, const char *pin, bool serve)
{
	struct hv_guard *g = NULL;
	struct hv_guard_report rep;
	long long t0 = now_ms();
	int r;

	if (!agent) {
		fprintf(stderr, "hvipe-guard: arm needs --agent PATH\n");
		return EXIT_USAGE;
	}
	r = hv_guard_arm(agent, pin, &g);
	if (r < 0) {
		hv_log(HV_ERR, "step=guard_arm result=failed reason=%s", strerror(-r));
		return 1;
	}
	r = hv_guard_read(g, &rep);
	if (r < 0) {
		hv_log(HV_ERR, "step=guard_read result=failed reason=%s", strerror(-r));
		hv_guard_free(g);
		return 1;
	}
	hv_log(HV_NOTICE, "step=guard_arm result=armed programs=%zu pid=%d elapsed_ms=%lld",
	       rep.nprogs, (int)getpid(), now_ms() - t0);
	print_report(&rep);
	fflush(stdout);
	if (serve) {
		struct sigaction sa = {.sa_handler = on_term};

		sigaction(SIGTERM, &sa, NULL);
		while (!stop)
			pause();
	}
	hv_guard_free(g);
	return 0;
}

static int cmd_status(const char *pin)
{
	struct hv_guard *g = NULL;
	struct hv_guard_report rep;
	int r;

	r = hv_guard_open(pin, &g);
	if (r == 0) {
		r = hv_guard_read(g, &rep);
		hv_guard_free(g);
	}
	if (r < 0) {
		hv_log(HV_ERR, "step=guard_status result=failed reason=%s", strerror(-r));
		return 1;
	}
	print_report(&rep);
	return 0;
}

static int cmd_tags(void)
{
	struct hv_guard_report rep;
	int r = hv_guard_probe(&rep);

	if (r < 0) {
		hv_log(HV_ERR, "step=guard_probe result=failed reason=%s", strerror(-r));
		return 1;
	}
	for (size_t i = 0; i < rep.nprogs; i++)
		printf("%s %s\n", rep.tags[i], rep.names[i]);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"agent", required_argument, NULL, 'a'},
	        {"pin", required_argument, NULL, 'p'},
	        {"serve", no_argument, NULL, 's'},
	        {"securityfs", required_argument, NULL, 'S'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *agent = NULL, *pin = NULL, *secfs = NULL, *verb;
	bool serve = false;
	int c;

	hv_log_init("hvipe-guard", HV_INFO);
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		usage(stderr);
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	verb = argv[optind];
	optind++;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			agent = optarg;
			break;
		case 'p':
			pin = optarg;
			break;
		case 's':
			serve = true;
			break;
		case 'S':
			secfs = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(verb, "arm"))
		return cmd_arm(agent, pin, serve);
	if (!strcmp(verb, "status"))
		return cmd_status(pin);
	if (!strcmp(verb, "tags"))
		return cmd_tags();
	if (!strcmp(verb, "check-lsm")) {
		int r = hv_guard_lsm_active(secfs);

		if (r < 0)
			fprintf(stderr, "hvipe-guard: bpf LSM not active: %s\n", strerror(-r));
		return r < 0 ? 1 : 0;
	}
	usage(stderr);
	return EXIT_USAGE;
}
