/* SPDX-License-Identifier: Apache-2.0 */
/* Reaching the host: address parsing, bounded connect, backoff, kernel command line. */
#ifndef HVIPE_GUESTD_TRANSPORT_H
#define HVIPE_GUESTD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ga_addr {
	bool is_unix;
	char path[108]; /* sun_path */
	uint32_t cid, port;
};

/* "unix:PATH" or "vsock:CID:PORT". Returns 0 or -EINVAL. */
int ga_addr_parse(const char *s, struct ga_addr *out);

/*
 * Connect to @a, giving up after @timeout_ms (non-blocking connect + poll).
 * Returns a blocking, close-on-exec socket, -ETIMEDOUT, or -errno of the
 * failed connect (-ECONNREFUSED, -ENOENT, -ENODEV when vsock is absent, ...).
 */
int ga_connect(const struct ga_addr *a, int timeout_ms);

/* Exponential backoff with jitter: 100 ms doubling up to @cap_ms. */
struct ga_backoff {
	uint32_t next_ms;
	uint32_t cap_ms;
	uint64_t rng;
};

void ga_backoff_init(struct ga_backoff *b, uint32_t cap_ms, uint64_t seed);
/* The delay to wait now: uniform in [d/2, d] for the current step d. */
uint32_t ga_backoff_next(struct ga_backoff *b);
void ga_backoff_reset(struct ga_backoff *b);

/* What the agent takes from the kernel command line. */
struct ga_cmdline {
	uint32_t port;    /* hvipe.port=, default HV_DEFAULT_PORT */
	bool fail_closed; /* hvipe.fail=closed */
};

/* Parse @text (@len bytes; /proc/cmdline). Unknown words are ignored; a
 * malformed hvipe.port= returns -EINVAL. */
int ga_cmdline_parse(const char *text, size_t len, struct ga_cmdline *out);

#endif
