/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest memory and split virtqueues, as seen by a vhost-user backend.
 *
 * Guest memory arrives as up to VU_MAX_REGIONS mmapped regions. Every guest
 * address is translated through vu_mem_gpa()/vu_mem_qva(), which return a
 * pointer only when the whole [addr, addr+len) range lies inside one region.
 * A buffer that straddles two regions is rejected as malformed: QEMU merges
 * adjacent sections of one RAM block, so a Linux guest never produces one.
 *
 * The ring walker copies each descriptor out of guest memory once, validates
 * the copy (index < size, no loops, at most VQ_MAX_SEGS elements, readable
 * before writable, no INDIRECT since it is not offered) and hands back the
 * chain as host pointers. Everything in guest memory may change under us at
 * any time; no field is read twice.
 */
#ifndef HVIPE_VSOCKD_VRING_H
#define HVIPE_VSOCKD_VRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VU_MAX_REGIONS 8u
/* Longest chain accepted: a Linux tx packet uses at most 1 + 17 elements. */
#define VQ_MAX_SEGS 64u
#define VQ_MAX_SIZE 32768u

#define VRING_DESC_F_NEXT          1u
#define VRING_DESC_F_WRITE         2u
#define VRING_DESC_F_INDIRECT      4u
#define VRING_AVAIL_F_NO_INTERRUPT 1u

struct vu_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t qva;
	uint8_t *host; /* start of the region in our address space */
	void *map;     /* what munmap() gets, NULL if not ours to unmap */
	size_t map_len;
};

struct vu_mem {
	unsigned nregions;
	struct vu_region r[VU_MAX_REGIONS];
};

/* Host pointer for guest-physical [gpa, gpa+len), or NULL if not in one region. */
void *vu_mem_gpa(const struct vu_mem *m, uint64_t gpa, uint64_t len);
/* Host pointer for QEMU-virtual [qva, qva+len), or NULL. */
void *vu_mem_qva(const struct vu_mem *m, uint64_t qva, uint64_t len);
/* Unmap every region we own and forget them. */
void vu_mem_clear(struct vu_mem *m);

struct vq_seg {
	uint8_t *p;
	uint32_t len;
};

struct vq_chain {
	uint16_t head;
	unsigned nr, nw; /* readable, then writable segments */
	struct vq_seg rd[VQ_MAX_SEGS];
	struct vq_seg wr[VQ_MAX_SEGS];
	size_t rlen, wlen; /* total readable / writable bytes */
};

struct vring_desc_le {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
} __attribute__((packed));

struct vq {
	unsigned num; /* 0 until SET_VRING_NUM */
	uint64_t desc_qva, avail_qva, used_qva;
	bool addr_set;
	struct vring_desc_le *desc; /* NULL until addresses translate */
	uint8_t *avail;             /* flags, idx, ring[num] */
	uint8_t *used;              /* flags, idx, ring[num] of {id,len} */
	uint16_t last_avail;        /* next avail entry we will consume */
	uint16_t used_idx;          /* next used entry we will write */
	int kick_fd, call_fd, err_fd;
	bool started, enabled;
	bool broken;     /* guest corrupted the ring: stop touching it */
	unsigned pushed; /* used entries since the last notify */
};

void vq_init(struct vq *vq);
/*
 * Translate the ring addresses through @m. Returns 0, -EINVAL when the size or
 * the addresses are unusable (then the ring stays unmapped).
 */
int vq_map(struct vq *vq, const struct vu_mem *m);
/* True when the ring may be processed (started, enabled, mapped, not broken). */
bool vq_ready(const struct vq *vq);
/* Number of avail entries not yet consumed; -EPROTO if the guest index is absurd. */
int vq_pending(struct vq *vq);
/*
 * Pop the next chain. Returns 1 with *c filled, 0 when the ring is empty,
 * -EPROTO when the avail index is absurd (ring marked broken; nothing popped),
 * -EBADMSG when the chain is malformed (its head was consumed and must still
 * be pushed back, with length 0; c->head is valid).
 */
int vq_pop(struct vq *vq, const struct vu_mem *m, struct vq_chain *c);
/* Give back the chain popped last, untouched (nothing was pushed since). */
void vq_unpop(struct vq *vq);
/* Publish a used element {head, len}. */
void vq_push(struct vq *vq, uint16_t head, uint32_t len);
/* Signal the call fd if entries were pushed and the guest did not suppress it. */
void vq_notify(struct vq *vq);

/* Copy up to @n bytes out of the readable segments, starting at byte @off. */
size_t vq_chain_read(const struct vq_chain *c, size_t off, void *dst, size_t n);
/* Copy @n bytes into the writable segments starting at byte @off; returns bytes copied. */
size_t vq_chain_write(const struct vq_chain *c, size_t off, const void *src, size_t n);

#endif
