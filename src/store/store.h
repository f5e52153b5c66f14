/* store: ferry's SQLite database.
 *
 * One database file (WAL mode, foreign keys on). Each thread gets its own
 * connection on first use (store_db()), so readers never wait for each
 * other; writers take the write lock with BEGIN IMMEDIATE and wait up to
 * the busy timeout. Every multi-row change runs inside store_begin() /
 * store_commit().
 */
#ifndef FERRY_STORE_H
#define FERRY_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include "lib/error.h"

/* Opens (creating if needed) the database at path and applies every
 * pending migration, each in its own transaction. Call once at start,
 * before any store_db(). Returns 0 or -1 with e set. */
int store_open(const char *path, struct ferr *e);

/* Closes every thread's connection. */
void store_close(void);

/* How many connections are open: those of running threads and, in
 * *ret_idle (may be NULL), those kept from ended threads for reuse. Each
 * has its own page cache (up to 2 MiB, SQLite's default). */
int store_connections(int *ret_idle);

/* The calling thread's connection. Never NULL after store_open(). When this
 * thread cannot open the database (too many open files, the file gone) it
 * is an empty in-memory stand-in instead: store_stmt then gives NULL (its
 * binds and steps fail with SQLITE_MISUSE, its columns read as NULL),
 * store_exec and store_begin fail, and store_error answers 503
 * store_unavailable naming why; the open is tried again at most once a
 * second. Nothing aborts the daemon for it. */
sqlite3 *store_db(void);
/* 1 when db is this thread's stand-in for a connection that failed to open. */
int store_db_failed(sqlite3 *db);
/* For a thread about to use the store (a worker taking a job): 0 when its
 * connection is open, or -1 with e set (503 store_unavailable, why). */
int store_thread_ready(struct ferr *e);

/* A cached prepared statement for sql on this thread's connection, reset
 * and with bindings cleared. sql must be a string literal (the pointer is
 * the cache key). Aborts on a syntax error: that is a programmer error.
 * NULL when the thread's connection failed to open (see store_db). */
sqlite3_stmt *store_stmt(const char *sql);

/* Transactions on this thread's connection. store_begin takes the write
 * lock at once (BEGIN IMMEDIATE). store_commit returns -1 with e set if the
 * commit fails (the transaction is then rolled back). */
int store_begin(struct ferr *e);
int store_commit(struct ferr *e);
void store_rollback(void);

/* Fills e with the connection's last error, prefixed by what. Returns -1. */
int store_error(struct ferr *e, const char *what);

/* Steps write statement st (from store_stmt, bound) to its end and resets
 * it. Returns 0, or -1 with e set by store_error(e, what). */
int store_run(sqlite3_stmt *st, const char *what, struct ferr *e);
/* store_run for a write whose failure the caller can only report: logs
 * event=store_write_failed with what and the error. Returns 0 or -1. */
int store_run_logged(sqlite3_stmt *st, const char *what);

/* The current time as RFC 3339 UTC ("2026-11-26T18:00:00Z"), and as
 * milliseconds since the epoch. */
void store_now(char buf[32]);
int64_t store_now_ms(void);

/* Runs sql (one or more statements) on this thread's connection. */
int store_exec(const char *sql, struct ferr *e);

/* Schema version now applied. */
int store_schema_version(void);

#endif
