/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IPE audit records: parsing the kernel's text form and a bounded queue that
 * holds them until the host acknowledges them.
 *
 * A record arrives from the audit netlink multicast group as a message type
 * (1420, 1421, 1422, 1404, ...) and a payload "audit(<sec>.<msec>:<serial>):
 * key=value ...". Every byte is untrusted: the parser bounds the payload, the
 * number of fields and each value, and never reads past @len.
 */
#ifndef HVIPE_GUESTD_AUDIT_H
#define HVIPE_GUESTD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GA_AUDIT_IPE_ACCESS        1420u
#define GA_AUDIT_IPE_CONFIG_CHANGE 1421u
#define GA_AUDIT_IPE_POLICY_LOAD   1422u
#define GA_AUDIT_MAC_STATUS        1404u

/* At most this many fields are kept per record (IPE's longest has 10). */
#define GA_AUDIT_MAX_FIELDS 32u

struct ga_audit_field {
	char *key;
	char *value; /* quotes removed; hex-encoded untrusted strings decoded */
};

struct ga_audit_rec {
	uint32_t type;
	uint64_t time_ms;
	uint64_t serial;
	char *text; /* the body after "audit(...): ", at most HV_PROTO_MAX_AUDIT_RECORD bytes */
	size_t n_fields;
	struct ga_audit_field fields[GA_AUDIT_MAX_FIELDS];
	size_t bytes; /* memory charged to the queue for this record */
	uint64_t id;  /* queue position, assigned by ga_audit_queue_push() */
};

/*
 * Whether a record of @type is one hvipe forwards: 1420, 1421, 1422 always;
 * 1404 (MAC status) only when it carries lsm=ipe. Records of other types and
 * the empty-bodied 1404 that 6.12 emits beside each real one are not kept.
 */
bool ga_audit_wanted(const struct ga_audit_rec *rec);

/*
 * Parse one record of @type from @msg (@len bytes, no NUL needed).
 * Returns 0 with *@out set (free with ga_audit_rec_free()), -EBADMSG when the
 * payload is not "audit(<sec>.<msec>:<serial>):" followed by key=value fields
 * (unterminated quote, missing '=', control bytes, bad numbers), -E2BIG when
 * it has more than GA_AUDIT_MAX_FIELDS fields, -ENOMEM.
 * A payload longer than HV_PROTO_MAX_AUDIT_RECORD is cut at that length first
 * (the cut record is still parsed; a field split by the cut is dropped).
 */
int ga_audit_parse(uint32_t type, const uint8_t *msg, size_t len, struct ga_audit_rec **out);

/*
 * Parse one line in the text form auditd and the kernel log use:
 * "type=<N> audit(...): fields" ("msg=" before "audit(" is accepted too).
 * This is what --audit-source FILE reads. Returns as ga_audit_parse().
 */
int ga_audit_parse_line(const uint8_t *line, size_t len, struct ga_audit_rec **out);

/*
 * Walk one datagram read from the audit netlink socket (@buf, @len bytes):
 * for each message of an IPE type (1420, 1421, 1422, 1404) call @take with
 * ga_audit_parse()'s result and record (ownership passes to @take; the
 * record is NULL on error). Other types are skipped; a truncated or
 * malformed header ends the walk. Returns the number of messages seen.
 */
size_t ga_audit_netlink(const uint8_t *buf, size_t len,
                        void (*take)(void *ctx, int r, struct ga_audit_rec *rec), void *ctx);

void ga_audit_rec_free(struct ga_audit_rec *rec);

/* Value of field @key in @rec, or NULL. */
const char *ga_audit_get(const struct ga_audit_rec *rec, const char *key);

/*
 * A FIFO of parsed records with two caps, a count and a byte budget. Pushing
 * into a full queue drops the oldest records (acknowledged or not) and counts
 * them. Records stay queued after they are sent until an ack covers them, so
 * a batch lost with its connection is sent again.
 */
struct ga_audit_queue {
	struct ga_audit_rec **ring;
	size_t cap_records;
	size_t cap_bytes;
	size_t head; /* index of the oldest record */
	size_t count;
	size_t bytes;
	uint64_t next_id;
	uint64_t dropped_unreported; /* dropped since the last acknowledged batch report */
	uint64_t dropped_total;
};

/* Returns 0 or -ENOMEM. @cap_records >= 1, @cap_bytes >= one record's worth. */
int ga_audit_queue_init(struct ga_audit_queue *q, size_t cap_records, size_t cap_bytes);
void ga_audit_queue_free(struct ga_audit_queue *q);

/* Take ownership of @rec; drops oldest records to make room. Never fails. */
void ga_audit_queue_push(struct ga_audit_queue *q, struct ga_audit_rec *rec);

/*
 * The oldest @max records (fewer if fewer are queued), in order, as pointers
 * owned by the queue and valid until the next push or ack. Returns the count.
 */
size_t ga_audit_queue_peek(const struct ga_audit_queue *q, struct ga_audit_rec **out, size_t max);

/*
 * The host acknowledged a batch whose newest record had id @last_id and which
 * reported @dropped drops: remove queued records with id <= @last_id and
 * subtract the reported drops.
 */
void ga_audit_queue_ack(struct ga_audit_queue *q, uint64_t last_id, uint64_t dropped);

#endif
