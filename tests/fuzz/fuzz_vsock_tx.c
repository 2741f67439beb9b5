// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the tx packet path of hvipe-vsockd: the input is the content of a
 * synthetic 64 KiB guest memory region holding both split rings (tx and rx,
 * 16 entries each, at fixed addresses) and the packet buffers. The device then
 * walks the tx ring, parses and dispatches every packet, and fills rx. The
 * region is its own heap allocation, so any access outside guest memory is an
 * AddressSanitizer report. A host listener on BASE_1 lets REQUESTs to port 1
 * become real connections.
 *
 * Layout (guest-physical = offset + GPA): tx desc 0x000, tx avail 0x100,
 * tx used 0x200, rx desc 0x400, rx avail 0x500, rx used 0x600, data after 0x800.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../host/vsockd/dev.h"
#include "util/log.h"

#define MEM 0x10000u
#define GPA 0x40000000ull
#define QVA 0x7f4000000000ull
#define NUM 16u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[64];
static int lfd = -1;

static void setup_once(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[] = "/tmp/hvipe-vsockd-fuzz.XXXXXX";

	if (lfd >= 0)
		return;
	hv_log_init("fuzz_vsock_tx", HV_ERR);
	hv_log_set_level((enum hv_log_level)0); /* nothing: the fuzzer's output is the signal */
	if (!mkdtemp(dir))
		abort();
	snprintf(base, sizeof(base), "%s/v", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_1", base);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 64) < 0)
		abort();
}

static void ring(struct vq *vq, struct vu_mem *m, uint64_t off)
{
	vq_init(vq);
	vq->num = NUM;
	vq->desc_qva = QVA + off;
	vq->avail_qva = QVA + off + 0x100;
	vq->used_qva = QVA + off + 0x200;
	vq->addr_set = vq->started = vq->enabled = true;
	if (vq_map(vq, m) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vsock_dev d;
	uint8_t *mem;

	setup_once();
	mem = calloc(1, MEM);
	if (!mem)
		return 0;
	memcpy(mem, data, size < MEM ? size : MEM);
	if (dev_init(&d, 3, base, -1) < 0)
		abort();
	d.mem.nregions = 1;
	d.mem.r[0] = (struct vu_region){.gpa = GPA, .size = MEM, .qva = QVA, .host = mem};
	ring(&d.vq[VQ_TX], &d.mem, 0);
	ring(&d.vq[VQ_RX], &d.mem, 0x400);
	/* The rings' used indices start where the input left them, as after a resume. */
	memcpy(&d.vq[VQ_TX].used_idx, mem + 0x202, 2);
	memcpy(&d.vq[VQ_RX].used_idx, mem + 0x602, 2);

	dev_process_tx(&d);
	/* Host side of any bridged connection: accept, say something, hang up. */
	for (int c; (c = accept(lfd, NULL, NULL)) >= 0;) {
		if (send(c, "x", 1, MSG_NOSIGNAL) < 0) {
			/* the guest side may already be gone */
		}
		close(c);
	}
	for (struct conn *c = d.conns.head, *next; c; c = next) {
		next = c->next; /* the event may retire c */
		dev_conn_event(&d, c, 1 /* EPOLLIN */);
	}
	dev_pump_rx(&d);
	dev_process_tx(&d); /* the same ring again, now with connections in place */

	dev_reset_conns(&d, "fuzz");
	free(mem);
	return 0;
}
