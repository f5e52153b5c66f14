/* store backup: consistent copies of the live database, and facts about a
 * database file that is not open.
 *
 * store_backup_copy uses SQLite's online backup API on the calling thread's
 * connection: it copies one consistent snapshot (the WAL content committed
 * when it starts) while other threads go on reading and writing (in WAL
 * mode a reader never blocks a writer).
 */
#ifndef FERRY_STORE_BACKUP_H
#define FERRY_STORE_BACKUP_H

#include "lib/error.h"

/* Copies the open store into a new database file at dest (which must not
 * exist), fsynced, in rollback-journal mode (one self-contained file).
 * Call after store_open(), outside a transaction. Returns 0, or -1 with e
 * set and dest removed. */
int store_backup_copy(const char *dest, struct ferr *e);

/* Opens the database file at path read-only, runs PRAGMA quick_check and
 * reads its schema version (PRAGMA user_version) into *ret_version.
 * Returns 0, or -1 with e set (not a database, damaged). */
int store_file_check(const char *path, int *ret_version, struct ferr *e);

/* The newest schema version this binary knows (its last migration). */
int store_schema_latest(void);

#endif
