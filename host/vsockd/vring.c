// SPDX-License-Identifier: Apache-2.0
/* Split virtqueue walker over mmapped guest memory; see vring.h. */
#include "vring.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *region_lookup(const struct vu_mem *m, uint64_t addr, uint64_t len, bool qva)
{
	for (unsigned i = 0; i < m->nregions && i < VU_MAX_REGIONS; i++) {
		const struct vu_region *r = &m->r[i];
		uint64_t start = qva ? r->qva : r->gpa;

		if (addr < start || addr - start >= r->size)
			continue;
		if (len > r->size - (addr - start))
			return NULL;
		return r->host + (addr - start);
	}
	return NULL;
}

void *vu_mem_gpa(const struct vu_mem *m, uint64_t gpa, uint64_t len)
{
	return region_lookup(m, gpa, len, false);
}

void *vu_mem_qva(const struct vu_mem *m, uint64_t qva, uint64_t len)
{
	return region_lookup(m, qva, len, true);
}

void vu_mem_clear(struct vu_mem *m)
{
	for (unsigned i = 0; i < m->nregions && i < VU_MAX_REGIONS; i++)
		if (m->r[i].map)
			munmap(m->r[i].map, m->r[i].map_len);
	memset(m, 0, sizeof(*m));
}

void vq_init(struct vq *vq)
{
	memset(vq, 0, sizeof(*vq));
	vq->kick_fd = -1;
	vq->call_fd = -1;
	vq->err_fd = -1;
}

int vq_map(struct vq *vq, const struct vu_mem *m)
{
	unsigned n = vq->num;

	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	if (!vq->addr_set || n == 0 || n > VQ_MAX_SIZE || (n & (n - 1)))
		return -EINVAL;
	vq->desc = vu_mem_qva(m, vq->desc_qva, 16ull * n);
	vq->avail = vu_mem_qva(m, vq->avail_qva, 6ull + 2ull * n);
	vq->used = vu_mem_qva(m, vq->used_qva, 6ull + 8ull * n);
	if (!vq->desc || !vq->avail || !vq->used || ((uintptr_t)vq->used & 3) ||
	    ((uintptr_t)vq->avail & 1)) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return -EINVAL;
	}
	return 0;
}

bool vq_ready(const struct vq *vq)
{
	return vq->started && vq->enabled && vq->desc && !vq->broken;
}

static uint16_t load_le16_acquire(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE));
}

int vq_pending(struct vq *vq)
{
	uint16_t avail_idx = load_le16_acquire(vq->avail + 2);
	uint16_t n = (uint16_t)(avail_idx - vq->last_avail);

	if (n > vq->num) {
		vq->broken = true;
		return -EPROTO;
	}
	return n;
}

static int add_seg(struct vq_chain *c, const struct vu_mem *m, uint64_t addr, uint32_t len,
                   bool writable)
{
	uint8_t *p = vu_mem_gpa(m, addr, len);

	if (!p)
		return -EFAULT;
	if (writable) {
		if (c->nw >= VQ_MAX_SEGS)
			return -E2BIG;
		c->wr[c->nw++] = (struct vq_seg){.p = p, .len = len};
		c->wlen += len;
	} else {
		/* A readable element after a writable one breaks the split-ring rules. */
		if (c->nw > 0)
			return -EBADMSG;
		if (c->nr >= VQ_MAX_SEGS)
			return -E2BIG;
		c->rd[c->nr++] = (struct vq_seg){.p = p, .len = len};
		c->rlen += len;
	}
	return 0;
}

int vq_pop(struct vq *vq, const struct vu_mem *m, struct vq_chain *c)
{
	int pending = vq_pending(vq);
	unsigned n = vq->num;

	if (pending <= 0)
		return pending;

	uint16_t slot = vq->last_avail & (n - 1);
	uint16_t head = load_le16_acquire(vq->avail + 4 + 2u * slot);

	c->nr = c->nw = 0;
	c->rlen = c->wlen = 0;
	if (head >= n) {
		/* Nothing sensible can be pushed back for an out-of-range head. */
		vq->broken = true;
		return -EPROTO;
	}
	vq->last_avail++;
	c->head = head;

	uint16_t idx = head;
	for (unsigned hops = 0;; hops++) {
		struct vring_desc_le d;

		if (hops >= n || hops >= VQ_MAX_SEGS)
			return -EBADMSG; /* loop or oversized chain */
		memcpy(&d, &vq->desc[idx], sizeof(d));
		uint16_t flags = le16toh(d.flags);
		if (flags & VRING_DESC_F_INDIRECT)
			return -EBADMSG; /* INDIRECT_DESC is not offered */
		if (add_seg(c, m, le64toh(d.addr), le32toh(d.len), flags & VRING_DESC_F_WRITE) < 0)
			return -EBADMSG;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		idx = le16toh(d.next);
		if (idx >= n)
			return -EBADMSG;
	}
	return 1;
}

void vq_unpop(struct vq *vq)
{
	vq->last_avail--;
}

void vq_push(struct vq *vq, uint16_t head, uint32_t len)
{
	uint8_t *e = vq->used + 4 + 8u * (vq->used_idx & (vq->num - 1));
	uint32_t id_le = htole32(head), len_le = htole32(len);

	memcpy(e, &id_le, 4);
	memcpy(e + 4, &len_le, 4);
	vq->used_idx++;
	__atomic_store_n((uint16_t *)(vq->used + 2), htole16(vq->used_idx), __ATOMIC_RELEASE);
	vq->pushed++;
}

void vq_notify(struct vq *vq)
{
	uint64_t one = 1;

	if (!vq->pushed)
		return;
	vq->pushed = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (load_le16_acquire(vq->avail) & VRING_AVAIL_F_NO_INTERRUPT)
		return;
	if (vq->call_fd >= 0 && write(vq->call_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN means the counter is saturated: the guest is signalled anyway. */
	}
}

size_t vq_chain_read(const struct vq_chain *c, size_t off, void *dst, size_t n)
{
	uint8_t *out = dst;
	size_t done = 0;

	for (unsigned i = 0; i < c->nr && done < n; i++) {
		size_t l = c->rd[i].len;

		if (off >= l) {
			off -= l;
			continue;
		}
		size_t take = l - off < n - done ? l - off : n - done;
		memcpy(out + done, c->rd[i].p + off, take);
		done += take;
		off = 0;
	}
	return done;
}

size_t vq_chain_write(const struct vq_chain *c, size_t off, const void *src, size_t n)
{
	const uint8_t *in = src;
	size_t done = 0;

	for (unsigned i = 0; i < c->nw && done < n; i++) {
		size_t l = c->wr[i].len;

		if (off >= l) {
			off -= l;
			continue;
		}
		size_t take = l - off < n - done ? l - off : n - done;
		memcpy(c->wr[i].p + off, in + done, take);
		done += take;
		off = 0;
	}
	return done;
}
