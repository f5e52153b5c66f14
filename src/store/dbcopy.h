/* dbcopy: a consistent copy of an open SQLite database into a new file.
 *
 * Knows nothing of ferry's store (its connections, its schema): the store
 * uses it for the backup it takes before migrating, store/backup for the
 * online copies ferry admin backup makes.
 */
#ifndef FERRY_STORE_DBCOPY_H
#define FERRY_STORE_DBCOPY_H

#include <sqlite3.h>

#include "lib/error.h"

/* Copies database src (SQLite's online backup API, all pages in one step:
 * one consistent snapshot while other connections go on writing) into a
 * new file at dest, which must not exist; the copy is in rollback-journal
 * mode (one self-contained file) and fsynced. Returns 0, or -1 with e set
 * and dest removed. */
int db_copy(sqlite3 *src, const char *dest, struct ferr *e);

#endif
