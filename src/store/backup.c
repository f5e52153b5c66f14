/* Online copies of the store (SQLite's backup API) and checks of a
 * database file; see backup.h. */
#include "store/backup.h"

#include <sqlite3.h>
#include <string.h>

#include "store/dbcopy.h"
#include "store/migrations.h"
#include "store/store.h"
#include "lib/banned.h"

int store_schema_latest(void)
{
	return store_migrations_latest();
}

int store_backup_copy(const char *dest, struct ferr *e)
{
	sqlite3 *db = store_db();

	if (store_db_failed(db))
		return store_error(e, "backup of the store");
	return db_copy(db, dest, e);
}

int store_file_check(const char *path, int *ret_version, struct ferr *e)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		ferr_invalid(e, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
		goto out;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		ferr_invalid(e, "%s is not a ferry database: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	if (strcmp((const char *)sqlite3_column_text(st, 0), "ok")) {
		ferr_invalid(e, "%s is damaged: %s", path, sqlite3_column_text(st, 0));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		ferr_invalid(e, "%s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	*ret_version = sqlite3_column_int(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}
