// SPDX-License-Identifier: Apache-2.0
/*
 * A minimal client of hvipe-hostd's control socket for guestd's integration
 * tests (hvipectl's vm/image verbs are built elsewhere): one request per run,
 * the answer printed as key=value lines.
 *
 *   guestd-hostctl SOCKET vm-add NAME UDS
 *   guestd-hostctl SOCKET image-add NAME ROOTHASH_HEX
 *   guestd-hostctl SOCKET approve IMAGE VM
 *   guestd-hostctl SOCKET show VM
 *   guestd-hostctl SOCKET audit VM
 */
#include "control.pb-c.h"
#include "hv_limits.h"
#include "util/buf.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int xfer(const char *path, Hvipe__Ctl__Request *req, Hvipe__Ctl__Response **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = hvipe__ctl__request__get_packed_size(req), have = 0;
	uint8_t *buf = malloc(n + 4), hdr[4];
	uint32_t len;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || !buf || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	buf[0] = (uint8_t)(n >> 24);
	buf[1] = (uint8_t)(n >> 16);
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	hvipe__ctl__request__pack(req, buf + 4);
	if (write(fd, buf, n + 4) != (ssize_t)(n + 4))
		return -EIO;
	free(buf);
	if (read(fd, hdr, 4) != 4)
		return -EIO;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > 64u * 1024 * 1024)
		return -EMSGSIZE;
	buf = malloc(len);
	while (buf && have < len) {
		ssize_t r = read(fd, buf + have, len - have);

		if (r <= 0)
			return -EIO;
		have += (size_t)r;
	}
	close(fd);
	*out = hvipe__ctl__response__unpack(NULL, len, buf);
	free(buf);
	return *out ? 0 : -EBADMSG;
}

int main(int argc, char **argv)
{
	Hvipe__Ctl__Request req = HVIPE__CTL__REQUEST__INIT;
	Hvipe__Ctl__VmAdd va = HVIPE__CTL__VM_ADD__INIT;
	Hvipe__Ctl__ImageAdd ia = HVIPE__CTL__IMAGE_ADD__INIT;
	Hvipe__Ctl__ImageVm iv = HVIPE__CTL__IMAGE_VM__INIT;
	Hvipe__Ctl__VmRef ref = HVIPE__CTL__VM_REF__INIT;
	Hvipe__Ctl__AuditQuery aq = HVIPE__CTL__AUDIT_QUERY__INIT;
	Hvipe__Ctl__Response *resp = NULL;
	const char *verb = argc > 2 ? argv[2] : "";
	int r;

	req.seq = 1;
	if (!strcmp(verb, "vm-add") && argc == 5) {
		va.name = argv[3];
		va.uds = argv[4];
		req.body_case = HVIPE__CTL__REQUEST__BODY_VM_ADD;
		req.vm_add = &va;
	} else if (!strcmp(verb, "image-add") && argc == 5) {
		ia.name = argv[3];
		ia.root_hash = argv[4];
		ia.alg = (char *)"sha256";
		req.body_case = HVIPE__CTL__REQUEST__BODY_IMAGE_ADD;
		req.image_add = &ia;
	} else if (!strcmp(verb, "approve") && argc == 5) {
		iv.image = argv[3];
		iv.vm = argv[4];
		req.body_case = HVIPE__CTL__REQUEST__BODY_IMAGE_APPROVE;
		req.image_approve = &iv;
	} else if (!strcmp(verb, "show") && argc == 4) {
		ref.name = argv[3];
		req.body_case = HVIPE__CTL__REQUEST__BODY_VM_SHOW;
		req.vm_show = &ref;
	} else if (!strcmp(verb, "audit") && argc == 4) {
		aq.vm = argv[3];
		aq.limit = 1000;
		req.body_case = HVIPE__CTL__REQUEST__BODY_AUDIT;
		req.audit = &aq;
	} else {
		fprintf(stderr,
		        "usage: guestd-hostctl SOCKET vm-add|image-add|approve|show|audit ...\n");
		return 2;
	}
	r = xfer(argv[1], &req, &resp);
	if (r < 0) {
		fprintf(stderr, "guestd-hostctl: %s\n", strerror(-r));
		return 3;
	}
	if (resp->err) {
		fprintf(stderr, "guestd-hostctl: err=%d %s\n", resp->err, resp->detail);
		return 1;
	}
	for (size_t i = 0; i < resp->n_vms; i++) {
		Hvipe__Ctl__VmInfo *v = resp->vms[i];

		printf("connected=%d\nlast_verdict=%s\nlast_reason=%s\npolicy_version=%s\n"
		       "policy_confirmed=%d\nissue_counter=%llu\n",
		       v->connected, v->last_verdict, v->last_reason, v->policy_version,
		       v->policy_confirmed, (unsigned long long)v->issue_counter);
	}
	for (size_t i = 0; i < resp->n_audit; i++)
		printf("audit type=%u text=%s\n", resp->audit[i]->type, resp->audit[i]->text);
	hvipe__ctl__response__free_unpacked(resp, NULL);
	return 0;
}
