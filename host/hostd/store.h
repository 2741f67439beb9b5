/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvipe-hostd's database: SQLite in WAL mode with synchronous=FULL, a
 * versioned schema (PRAGMA user_version) upgraded by ordered migrations.
 *
 * Two kinds of writes. Acknowledged ones (control requests, audit batches,
 * issue counters, issued policies) call hv_store_commit() before the answer
 * leaves, so kill -9 after the ack loses none. Heartbeat bookkeeping (each
 * VM's last verdict) joins an open transaction that the daemon commits at
 * least every HV_STORE_BATCH_MS; the verdict history keeps a row for the
 * first verdict of each session and for every change, not for each repeated
 * identical heartbeat. Those batches are committed lazily (no fsync) unless
 * an acknowledged write shares the transaction.
 */
#ifndef HVIPE_HOSTD_STORE_H
#define HVIPE_HOSTD_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HV_STORE_BATCH_MS      200
#define HV_STORE_SCHEMA_LATEST 2

struct hv_store {
	sqlite3 *db;
	bool in_tx;
};

/*
 * Open (creating), check (PRAGMA quick_check) and migrate. -EIO with the
 * SQLite message in @why; -EBADMSG when the check finds damage (the file is
 * left untouched, @why has SQLite's first complaint); -EPROTO for a schema
 * newer than this program.
 */
int hv_store_open(const char *path, struct hv_store *s, char *why, size_t whysz);
void hv_store_close(struct hv_store *s);
int hv_store_schema_version(struct hv_store *s);

/* Start the batch transaction if none is open. */
int hv_store_begin(struct hv_store *s);
/* Commit whatever is open (durable on return). */
int hv_store_commit(struct hv_store *s);
/*
 * Commit without waiting for the disk (WAL, synchronous=NORMAL): for
 * heartbeat bookkeeping nobody was promised. The next durable commit makes
 * it durable too; a crash before that may lose it, never corrupt it.
 */
int hv_store_commit_lazy(struct hv_store *s);
/* Roll back the open transaction. */
void hv_store_rollback(struct hv_store *s);

/*
 * Run @sql with positional parameters described by @types: 'i' int64,
 * 't' text (const char *), 'b' blob (const void *, size_t). Inside the open
 * transaction (begun when needed). Returns 0, or -EEXIST on a constraint
 * violation, -EIO otherwise. *@rowid (may be NULL) gets the last insert id.
 */
int hv_store_exec(struct hv_store *s, int64_t *rowid, const char *sql, const char *types, ...);

/* Prepare @sql and bind as hv_store_exec; the caller steps and finalizes. */
int hv_store_query(struct hv_store *s, sqlite3_stmt **st, const char *sql, const char *types, ...);

static inline void hv_stmt_freep(sqlite3_stmt **p)
{
	sqlite3_finalize(*p);
}
#define _cleanup_stmt_ __attribute__((cleanup(hv_stmt_freep)))

#endif
