/* SPDX-License-Identifier: Apache-2.0 */
/* hvipectl image add|approve|revoke|list: dm-verity images known to hvipe-hostd. */
#include "ctl.h"
#include "ctl_daemon.h"
#include "hv_limits.h"
#include "util/buf.h"
#include "util/cleanup.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void image_usage(FILE *f)
{
	fprintf(f, "usage: hvipectl [--socket PATH] image <verb> ...\n\n"
	           "  add NAME --root-hash HEX [--alg sha256] [--signature FILE]\n"
	           "  approve IMAGE --vm VM\n"
	           "  revoke IMAGE --vm VM\n"
	           "  list [--json]\n\n"
	           "Approving or revoking changes the VM's policy: hvipe-hostd issues and\n"
	           "delivers a new version at the guest's next heartbeat.\n");
}

static int image_add(int argc, char **argv)
{
	static const struct option o[] = {
	        {"root-hash", required_argument, NULL, 'r'},
	        {"alg", required_argument, NULL, 'a'},
	        {"signature", required_argument, NULL, 's'},
	        {NULL, 0, NULL, 0},
	};
	Hvipe__Ctl__Request rq = HVIPE__CTL__REQUEST__INIT;
	Hvipe__Ctl__ImageAdd a = HVIPE__CTL__IMAGE_ADD__INIT;
	Hvipe__Ctl__Response *rs;
	_cleanup_free_ uint8_t *sig = NULL;
	size_t sig_len = 0;
	const char *sig_path = NULL;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		if (c == 'r')
			a.root_hash = optarg;
		else if (c == 'a')
			a.alg = optarg;
		else if (c == 's')
			sig_path = optarg;
		else {
			image_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind != argc - 1 || !a.root_hash[0]) {
		image_usage(stderr);
		return CTL_USAGE;
	}
	a.name = argv[optind];
	if (sig_path) {
		r = hv_read_file(sig_path, HV_IPE_MAX_SIGNED_BLOB, &sig, &sig_len);
		if (r == -EFBIG)
			return ctl_fail(CTL_INVALID,
			                "--signature %s: larger than %u bytes, which the kernel "
			                "refuses",
			                sig_path, HV_IPE_MAX_SIGNED_BLOB);
		if (r < 0)
			return ctl_file_fail(r, "--signature ", sig_path);
		a.signature.data = sig;
		a.signature.len = sig_len;
	}
	rq.body_case = HVIPE__CTL__REQUEST__BODY_IMAGE_ADD;
	rq.image_add = &a;
	r = ctl_call(&rq, &rs);
	if (r != CTL_OK)
		return r;
	printf("image %s added\n", a.name);
	hvipe__ctl__response__free_unpacked(rs, NULL);
	return CTL_OK;
}

static int image_approve(int argc, char **argv, bool on)
{
	static const struct option o[] = {
	        {"vm", required_argument, NULL, 'v'},
	        {NULL, 0, NULL, 0},
	};
	Hvipe__Ctl__Request rq = HVIPE__CTL__REQUEST__INIT;
	Hvipe__Ctl__ImageVm a = HVIPE__CTL__IMAGE_VM__INIT;
	Hvipe__Ctl__Response *rs;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		if (c != 'v') {
			image_usage(stderr);
			return CTL_USAGE;
		}
		a.vm = optarg;
	}
	if (optind != argc - 1 || !a.vm[0]) {
		image_usage(stderr);
		return CTL_USAGE;
	}
	a.image = argv[optind];
	rq.body_case = on ? HVIPE__CTL__REQUEST__BODY_IMAGE_APPROVE
	                  : HVIPE__CTL__REQUEST__BODY_IMAGE_REVOKE;
	if (on)
		rq.image_approve = &a;
	else
		rq.image_revoke = &a;
	r = ctl_call_vm(&rq, &rs, a.vm);
	if (r != CTL_OK)
		return r;
	printf("image %s %s for vm %s\n", a.image, on ? "approved" : "revoked", a.vm);
	hvipe__ctl__response__free_unpacked(rs, NULL);
	return CTL_OK;
}

static int image_list(int argc, char **argv)
{
	Hvipe__Ctl__Request rq = HVIPE__CTL__REQUEST__INIT;
	Hvipe__Ctl__VmRef ref = HVIPE__CTL__VM_REF__INIT;
	Hvipe__Ctl__Response *rs;
	bool json = argc == 2 && !strcmp(argv[1], "--json");
	int r;

	if (argc > 2 || (argc == 2 && !json)) {
		image_usage(stderr);
		return CTL_USAGE;
	}
	rq.body_case = HVIPE__CTL__REQUEST__BODY_IMAGE_LIST;
	rq.image_list = &ref;
	r = ctl_call(&rq, &rs);
	if (r != CTL_OK)
		return r;
	if (json)
		fputs("[", stdout);
	else
		printf("%-20s %-7s %-4s %-64s %s\n", "NAME", "ALG", "SIG", "ROOT HASH", "VMS");
	for (size_t i = 0; i < rs->n_images; i++) {
		const Hvipe__Ctl__ImageInfo *im = rs->images[i];

		if (json) {
			fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
			ctl_json_str(stdout, im->name);
			printf(",\"alg\":\"%s\",\"root_hash\":\"%s\",\"signed\":%s,\"vms\":[",
			       im->alg, im->root_hash, im->has_signature ? "true" : "false");
			for (size_t j = 0; j < im->n_vms; j++) {
				fputs(j ? "," : "", stdout);
				ctl_json_str(stdout, im->vms[j]);
			}
			fputs("]}", stdout);
			continue;
		}
		printf("%-20s %-7s %-4s %-64s", im->name, im->alg, im->has_signature ? "yes" : "no",
		       im->root_hash);
		for (size_t j = 0; j < im->n_vms; j++)
			printf("%s%s", j ? "," : " ", im->vms[j]);
		printf("%s\n", im->n_vms ? "" : " -");
	}
	if (json)
		puts("]");
	hvipe__ctl__response__free_unpacked(rs, NULL);
	return CTL_OK;
}

int ctl_image_main(int argc, char **argv)
{
	if (argc < 2 || ctl_wants_help(argc, argv)) {
		image_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CTL_USAGE : CTL_OK;
	}
	if (!strcmp(argv[1], "add"))
		return image_add(argc - 1, argv + 1);
	if (!strcmp(argv[1], "approve"))
		return image_approve(argc - 1, argv + 1, true);
	if (!strcmp(argv[1], "revoke"))
		return image_approve(argc - 1, argv + 1, false);
	if (!strcmp(argv[1], "list"))
		return image_list(argc - 1, argv + 1);
	image_usage(stderr);
	return ctl_fail(CTL_USAGE, "unknown verb 'image %s'", argv[1]);
}
