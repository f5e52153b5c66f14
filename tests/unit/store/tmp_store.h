/* tmp_store: a store of its own for a unit test of src/store.
 *
 * tmp_store_open makes dir (64 bytes) from "/tmp/ferry-<tag>-test-XXXXXX",
 * opens the store at dir/ferry.db (db, 128 bytes) and runs sql there (the
 * test's own tables; NULL: none). tmp_store_close closes the store and
 * removes the database, its WAL files and dir. Both return 0 or -1 (for
 * cmocka's setup and teardown).
 */
#ifndef FERRY_TEST_TMP_STORE_H
#define FERRY_TEST_TMP_STORE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/store.h"

static int tmp_store_open(char dir[64], char db[128], const char *tag, const char *sql)
{
	struct ferr e = FERR_INIT;

	snprintf(dir, 64, "/tmp/ferry-%s-test-XXXXXX", tag);
	if (!mkdtemp(dir))
		return -1;
	snprintf(db, 128, "%s/ferry.db", dir);
	if (store_open(db, &e) < 0) {
		fprintf(stderr, "store_open: %s\n", e.msg);
		return -1;
	}
	return sql ? store_exec(sql, &e) : 0;
}

static int tmp_store_close(const char *dir, const char *db)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char p[200];

	store_close();
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", db, suffix[i]);
		unlink(p);
	}
	return rmdir(dir);
}

#endif
