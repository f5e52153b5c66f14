/* Online copies of the store (SQLite's backup API) and checks of a
 * database file; see backup.h. */
#include "store/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include "store/migrations.h"
#include "store/store.h"
#include "lib/banned.h"

int store_schema_latest(void)
{
	return store_migrations[store_migrations_count - 1].version;
}

static int fsync_path(const char *path, struct ferr *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		ferr_internal(e, "fsync %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int store_backup_copy(const char *dest, struct ferr *e)
{
	sqlite3 *out = NULL;
	sqlite3_backup *b;
	int rc;

	if (access(dest, F_OK) == 0)
		return ferr_conflict(e, "%s already exists", dest);
	rc = sqlite3_open_v2(dest, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		ferr_internal(e, "create %s: %s", dest, out ? sqlite3_errmsg(out) : sqlite3_errstr(rc));
		goto fail;
	}
	b = sqlite3_backup_init(out, "main", store_db(), "main");
	if (!b) {
		ferr_internal(e, "backup of the store: %s", sqlite3_errmsg(out));
		goto fail;
	}
	/* All pages in one step: one read transaction, so one consistent
	 * snapshot; writers carry on in the WAL meanwhile. */
	do {
		rc = sqlite3_backup_step(b, -1);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(50);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		ferr_internal(e, "backup of the store: %s", sqlite3_errstr(rc));
		goto fail;
	}
	/* The copy inherits WAL mode; one self-contained file is what a backup
	 * should be. */
	if (sqlite3_exec(out, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
		ferr_internal(e, "backup of the store: %s", sqlite3_errmsg(out));
		goto fail;
	}
	if (sqlite3_close(out) != SQLITE_OK) {
		out = NULL;
		ferr_internal(e, "close %s", dest);
		goto fail;
	}
	out = NULL;
	if (fsync_path(dest, e) < 0)
		goto fail;
	return 0;
fail:
	if (out)
		sqlite3_close(out);
	unlink(dest);
	return -1;
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
