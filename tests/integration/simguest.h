/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A simulated guest's state and the Evidence it reports, shared by the
 * protocol test client (hvipe-testguest) and the bench simulator. It stands
 * in for hvipe-guestd in tests that must not depend on a VM.
 */
#ifndef HVIPE_TESTS_SIMGUEST_H
#define HVIPE_TESTS_SIMGUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hv_limits.h"
#include "hvipe.pb-c.h"
#include "policy/sign.h"

struct sim_guest {
	/* What the guest reports. */
	char alg[16];
	uint8_t root_hash[64];
	size_t root_len;
	bool signature_verified;
	bool ipe_present;
	bool enforce;
	uint8_t boot_id[16];
	/* Its IPE state: the active policy. */
	bool has_hvipe;
	char version[20];
	uint8_t digest[32];
};

/* Everything one Evidence message points at. */
struct sim_evidence {
	Hvipe__Evidence ev;
	Hvipe__VerityDevice dev, *devp[1];
	Hvipe__IpeState ipe;
	Hvipe__IpePolicy pol[2], *polp[2];
	Hvipe__GuardState guard;
};

static inline void sim_guest_init(struct sim_guest *g)
{
	memset(g, 0, sizeof(*g));
	strcpy(g->alg, "sha256");
	g->root_len = 32;
	g->ipe_present = true;
	g->enforce = true;
	for (int i = 0; i < 16; i++)
		g->boot_id[i] = (uint8_t)(i * 7 + 1);
}

static inline void sim_evidence_build(const struct sim_guest *g, const uint8_t *nonce,
                                      struct sim_evidence *s)
{
	hvipe__evidence__init(&s->ev);
	hvipe__verity_device__init(&s->dev);
	hvipe__ipe_state__init(&s->ipe);
	hvipe__guard_state__init(&s->guard);
	s->ev.nonce.data = (uint8_t *)nonce;
	s->ev.nonce.len = HV_PROTO_NONCE_LEN;
	s->dev.name = (char *)"root";
	s->dev.root_hash.data = (uint8_t *)g->root_hash;
	s->dev.root_hash.len = g->root_len;
	s->dev.hash_algorithm = (char *)g->alg;
	s->dev.signature_verified = g->signature_verified;
	s->dev.mountpoint = (char *)"/";
	s->devp[0] = &s->dev;
	s->ev.verity = s->devp;
	s->ev.n_verity = 1;
	s->ipe.present = g->ipe_present;
	s->ipe.enforce = g->enforce;
	hvipe__ipe_policy__init(&s->pol[0]);
	hvipe__ipe_policy__init(&s->pol[1]);
	s->pol[0].name = (char *)"hvipe_fallback";
	s->pol[0].version = (char *)"0.0.1";
	s->pol[0].active = !g->has_hvipe;
	s->polp[0] = &s->pol[0];
	s->ipe.n_policies = 1;
	if (g->has_hvipe) {
		s->pol[1].name = (char *)"hvipe";
		s->pol[1].version = (char *)g->version;
		s->pol[1].active = true;
		s->pol[1].digest.data = (uint8_t *)g->digest;
		s->pol[1].digest.len = 32;
		s->polp[1] = &s->pol[1];
		s->ipe.n_policies = 2;
	}
	s->ipe.policies = s->polp;
	s->ev.ipe = &s->ipe;
	s->ev.lockdown = (char *)"integrity";
	s->ev.kernel_release = (char *)"6.12.0-sim";
	s->ev.boot_id.data = (uint8_t *)g->boot_id;
	s->ev.boot_id.len = 16;
	s->guard.status = HVIPE__GUARD_STATUS__GUARD_ABSENT;
	s->ev.guard = &s->guard;
}

/* "M.m.r" as one 48-bit number, as IPE compares versions; -1 if malformed. */
static inline int sim_version(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	for (int part = 0; part < 3; part++) {
		uint64_t x = 0;
		int digits = 0;

		for (; *s >= '0' && *s <= '9' && digits < 6; s++, digits++)
			x = x * 10 + (uint64_t)(*s - '0');
		if (digits == 0 || x > 0xffff || (part < 2 && *s++ != '.'))
			return -1;
		v = v << 16 | x;
	}
	if (*s)
		return -1;
	*out = v;
	return 0;
}

/* Apply a PolicyUpdate as the kernel would for the fields we model: like
 * IPE's update, a version lower than the loaded hvipe policy's is refused. */
static inline int sim_apply_policy(struct sim_guest *g, const Hvipe__PolicyUpdate *u)
{
	uint64_t nv, ov;
	uint8_t d[32];

	if (strlen(u->version) >= sizeof(g->version) || sim_version(u->version, &nv) < 0)
		return 22; /* EINVAL */
	hv_policy_blob_digest(u->blob.data, u->blob.len, d);
	if (u->digest.len == 32 && memcmp(d, u->digest.data, 32) != 0)
		return 74; /* EBADMSG */
	if (g->has_hvipe && sim_version(g->version, &ov) == 0 && nv < ov)
		return 116; /* ESTALE */
	g->has_hvipe = true;
	strcpy(g->version, u->version);
	memcpy(g->digest, d, 32);
	return 0;
}

#endif
