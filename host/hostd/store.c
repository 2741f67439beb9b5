/* SPDX-License-Identifier: Apache-2.0 */
#include "store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * Migration i brings the schema from version i to i + 1. Never edit a
 * shipped entry: add a new one. Names of issue counters live apart from VM
 * rows so that forgetting and re-adding a VM never reuses a policy version.
 */
static const char *const migrations[] = {
        "CREATE TABLE vms(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
        " cid INTEGER NOT NULL DEFAULT 0, uds TEXT NOT NULL DEFAULT '',"
        " mode TEXT NOT NULL, action TEXT NOT NULL, actuator TEXT NOT NULL,"
        " target TEXT NOT NULL DEFAULT '', require_guard INTEGER NOT NULL DEFAULT 0,"
        " paused INTEGER NOT NULL DEFAULT 0, last_verdict TEXT NOT NULL DEFAULT '',"
        " last_verdict_at INTEGER NOT NULL DEFAULT 0, last_reason TEXT NOT NULL DEFAULT '',"
        " created_at INTEGER NOT NULL);"
        "CREATE TABLE issue_counters(name TEXT PRIMARY KEY, n INTEGER NOT NULL);"
        "CREATE TABLE images(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
        " alg TEXT NOT NULL, root_hash TEXT NOT NULL, signature BLOB,"
        " created_at INTEGER NOT NULL);"
        "CREATE TABLE approvals(vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
        " image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
        " PRIMARY KEY(vm_id, image_id));"
        "CREATE TABLE policies(id INTEGER PRIMARY KEY,"
        " vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
        " issue INTEGER NOT NULL, version TEXT NOT NULL, mode TEXT NOT NULL,"
        " text TEXT NOT NULL, digest BLOB NOT NULL, blob_len INTEGER NOT NULL,"
        " issued_at INTEGER NOT NULL, confirmed_at INTEGER NOT NULL DEFAULT 0,"
        " UNIQUE(vm_id, issue));"
        "CREATE TABLE verdicts(id INTEGER PRIMARY KEY,"
        " vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
        " at INTEGER NOT NULL, trusted INTEGER NOT NULL, findings TEXT NOT NULL);"
        "CREATE TABLE audit(id INTEGER PRIMARY KEY,"
        " vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
        " at INTEGER NOT NULL, type INTEGER NOT NULL, serial INTEGER NOT NULL,"
        " text TEXT NOT NULL);"
        "CREATE TABLE events(id INTEGER PRIMARY KEY, vm_id INTEGER NOT NULL"
        " REFERENCES vms(id) ON DELETE CASCADE, at INTEGER NOT NULL,"
        " kind TEXT NOT NULL, detail TEXT NOT NULL);",

        "CREATE INDEX verdicts_vm ON verdicts(vm_id, id);"
        "CREATE INDEX audit_vm ON audit(vm_id, id);"
        "CREATE INDEX policies_vm ON policies(vm_id, issue);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == HV_STORE_SCHEMA_LATEST,
               "one migration per schema version");

static int simple(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

int hv_store_schema_version(struct hv_store *s)
{
	sqlite3_stmt *st;
	int v = -EIO;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int migrate(struct hv_store *s)
{
	int v = hv_store_schema_version(s);
	char sql[64];

	if (v < 0)
		return v;
	if (v > HV_STORE_SCHEMA_LATEST)
		return -EPROTO; /* written by a newer hvipe-hostd */
	for (; v < HV_STORE_SCHEMA_LATEST; v++) {
		if (simple(s->db, "BEGIN IMMEDIATE") < 0)
			return -EIO;
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", v + 1);
		if (simple(s->db, migrations[v]) < 0 || simple(s->db, sql) < 0) {
			simple(s->db, "ROLLBACK");
			return -EIO;
		}
		if (simple(s->db, "COMMIT") < 0)
			return -EIO;
	}
	return 0;
}

/*
 * PRAGMA quick_check before anything writes: a database with damaged pages
 * otherwise loads whatever rows SQLite can still reach and fails later on
 * writes. Nothing here writes to the file, and the caller closes the handle
 * with checkpoint-on-close off, so a refused database is left as found.
 * Returns 0, or -EBADMSG with SQLite's first complaint in @why.
 */
static int quick_check(sqlite3 *db, char *why, size_t whysz)
{
	sqlite3_stmt *st;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, whysz, "integrity check failed: %s", sqlite3_errmsg(db));
		return -EBADMSG;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *msg = (const char *)sqlite3_column_text(st, 0);

		if (!msg || strcmp(msg, "ok")) {
			static const char hdr[] = "*** in database main ***\n";

			/* SQLite prefixes the first complaint with a header line. */
			if (msg && !strncmp(msg, hdr, sizeof(hdr) - 1))
				msg += sizeof(hdr) - 1;
			snprintf(why, whysz, "integrity check failed: %s", msg ? msg : "(null)");
			for (char *p = why; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					*p = ' ';
			r = -EBADMSG;
		}
	} else {
		snprintf(why, whysz, "integrity check failed: %s", sqlite3_errmsg(db));
		r = -EBADMSG;
	}
	sqlite3_finalize(st);
	return r;
}

int hv_store_open(const char *path, struct hv_store *s, char *why, size_t whysz)
{
	int r;

	memset(s, 0, sizeof(*s));
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		snprintf(why, whysz, "%s", s->db ? sqlite3_errmsg(s->db) : "out of memory");
		hv_store_close(s);
		return -EIO;
	}
	sqlite3_busy_timeout(s->db, 5000);
	/* Until the check passes, closing must not checkpoint a WAL into the file. */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	r = quick_check(s->db, why, whysz);
	if (r < 0) {
		hv_store_close(s);
		return r;
	}
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);
	r = simple(s->db, "PRAGMA journal_mode=WAL");
	if (r == 0)
		r = simple(s->db, "PRAGMA synchronous=FULL");
	if (r == 0)
		r = simple(s->db, "PRAGMA foreign_keys=ON");
	if (r == 0)
		r = migrate(s);
	if (r < 0) {
		snprintf(why, whysz, "%s",
		         r == -EPROTO ? "schema is newer than this program"
		                      : sqlite3_errmsg(s->db));
		hv_store_close(s);
		return r;
	}
	return 0;
}

void hv_store_close(struct hv_store *s)
{
	if (s->db) {
		if (s->in_tx)
			hv_store_commit(s);
		sqlite3_close(s->db);
	}
	s->db = NULL;
}

int hv_store_begin(struct hv_store *s)
{
	if (s->in_tx)
		return 0;
	if (simple(s->db, "BEGIN IMMEDIATE") < 0)
		return -EIO;
	s->in_tx = true;
	return 0;
}

int hv_store_commit(struct hv_store *s)
{
	if (!s->in_tx)
		return 0;
	if (simple(s->db, "COMMIT") < 0) {
		hv_store_rollback(s);
		return -EIO;
	}
	s->in_tx = false;
	return 0;
}

int hv_store_commit_lazy(struct hv_store *s)
{
	int r;

	if (!s->in_tx)
		return 0;
	if (simple(s->db, "PRAGMA synchronous=NORMAL") < 0)
		return hv_store_commit(s);
	r = hv_store_commit(s);
	if (simple(s->db, "PRAGMA synchronous=FULL") < 0 && r == 0)
		r = -EIO;
	return r;
}

void hv_store_rollback(struct hv_store *s)
{
	if (s->in_tx)
		simple(s->db, "ROLLBACK");
	s->in_tx = false;
}

static int bind_all(sqlite3_stmt *st, const char *types, va_list ap)
{
	int i = 1, rc = SQLITE_OK;

	for (; *types && rc == SQLITE_OK; types++, i++) {
		if (*types == 'i') {
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
		} else if (*types == 't') {
			rc = sqlite3_bind_text(st, i, va_arg(ap, const char *), -1,
			                       SQLITE_TRANSIENT);
		} else {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);

			rc = p ? sqlite3_bind_blob(st, i, p, (int)n, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(st, i);
		}
	}
	return rc == SQLITE_OK ? 0 : -EIO;
}

int hv_store_query(struct hv_store *s, sqlite3_stmt **st, const char *sql, const char *types, ...)
{
	va_list ap;
	int r;

	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return -EIO;
	va_start(ap, types);
	r = bind_all(*st, types, ap);
	va_end(ap);
	if (r < 0) {
		sqlite3_finalize(*st);
		*st = NULL;
	}
	return r;
}

int hv_store_exec(struct hv_store *s, int64_t *rowid, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int r, rc;

	r = hv_store_begin(s);
	if (r < 0)
		return r;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	va_start(ap, types);
	r = bind_all(st, types, ap);
	va_end(ap);
	if (r == 0) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_CONSTRAINT)
			r = -EEXIST;
		else if (rc != SQLITE_DONE && rc != SQLITE_ROW)
			r = -EIO;
	}
	sqlite3_finalize(st);
	if (r == 0 && rowid)
		*rowid = sqlite3_last_insert_rowid(s->db);
	return r;
}
