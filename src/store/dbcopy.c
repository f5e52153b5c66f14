/* Online copies of an SQLite database into a new file; see dbcopy.h. */
#include "store/dbcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "lib/banned.h"

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

int db_copy(sqlite3 *src, const char *dest, struct ferr *e)
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
	b = sqlite3_backup_init(out, "main", src, "main");
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
