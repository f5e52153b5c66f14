/* Unit tests of store/backup and the store's migration rules: an online
 * copy while another thread writes, a downgrade refused, a failed migration
 * leaving the store as it was with a backup taken first. Real SQLite files
 * in a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/backup.h"
#include "store/store.h"

static char dir[64], db[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ferry-store-test-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(db, sizeof(db), "%s/ferry.db", dir);
	return 0;
}

static int teardown(void **state)
{
	const char *argv[] = { "rm", "-rf", dir, NULL };
	pid_t pid;

	(void)state;
	store_close();
	pid = fork();
	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid > 0 && waitpid(pid, NULL, 0) == pid ? 0 : -1;
}

static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *h;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static int raw_int(const char *path, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	int v;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static volatile int writing;

static void *writer(void *arg)
{
	struct ferr e = FERR_INIT;

	(void)arg;
	while (writing) {
		/* each transaction writes a pair: a consistent copy has an even count */
		if (store_begin(&e) == 0) {
			store_exec("INSERT INTO t(v) VALUES (1); INSERT INTO t(v) VALUES (2);", &e);
			store_commit(&e);
		}
	}
	return NULL;
}

static void test_online_copy_while_writing(void **state)
{
	struct ferr e = FERR_INIT;
	char copy[160];
	pthread_t th;
	int version = -1, rows;

	(void)state;
	assert_int_equal(store_open(db, &e), 0);
	assert_int_equal(store_exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)", &e), 0);
	writing = 1;
	assert_int_equal(pthread_create(&th, NULL, writer, NULL), 0);
	/* copied while the writer writes: once it has written, and until it
	 * has written more (waits, not sleeps: a loaded machine may not run
	 * the writer for a while) */
	for (int i = 0; i < 1000 && raw_int(db, "SELECT count(*) FROM t") == 0; i++)
		usleep(10 * 1000);
	snprintf(copy, sizeof(copy), "%s/copy.db", dir);
	assert_int_equal(store_backup_copy(copy, &e), 0);
	rows = raw_int(copy, "SELECT count(*) FROM t");
	for (int i = 0; i < 1000 && raw_int(db, "SELECT count(*) FROM t") <= rows; i++)
		usleep(10 * 1000);
	writing = 0;
	pthread_join(th, NULL);

	assert_int_equal(store_file_check(copy, &version, &e), 0);
	assert_int_equal(version, store_schema_latest());
	assert_true(rows > 0);
	assert_int_equal(rows % 2, 0);
	/* the live store went on: it has more than the snapshot */
	assert_true(raw_int(db, "SELECT count(*) FROM t") > rows);
	assert_int_equal(raw_int(copy, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode='delete'"), 1);
	/* an existing destination is never overwritten */
	assert_int_equal(store_backup_copy(copy, &e), -1);
	assert_int_equal(e.status, 409);
}

static void test_file_check_refuses_garbage(void **state)
{
	struct ferr e = FERR_INIT;
	char bad[160];
	FILE *f;
	int v;

	(void)state;
	snprintf(bad, sizeof(bad), "%s/bad.db", dir);
	f = fopen(bad, "w");
	assert_non_null(f);
	fputs("this is not a database, it is only text long enough to look like a header..........", f);
	fclose(f);
	assert_int_equal(store_file_check(bad, &v, &e), -1);
	assert_non_null(strstr(e.msg, "bad.db"));
}

static void test_downgrade_refused(void **state)
{
	struct ferr e = FERR_INIT;
	char sql[64];

	(void)state;
	assert_int_equal(store_open(db, &e), 0);
	store_close();
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", store_schema_latest() + 1);
	raw_exec(db, sql);
	assert_int_equal(store_open(db, &e), -1);
	assert_non_null(strstr(e.msg, "newer than this ferryd knows"));
	assert_non_null(strstr(e.msg, "a downgrade is not supported"));
	store_close();
	/* nothing was changed */
	assert_int_equal(raw_int(db, "PRAGMA user_version"), store_schema_latest() + 1);
}

static int count_backups(void)
{
	char path[160];
	struct dirent *d;
	DIR *dh;
	int n = 0;

	snprintf(path, sizeof(path), "%s/backups", dir);
	dh = opendir(path);
	if (!dh)
		return 0;
	while ((d = readdir(dh)))
		n += !strncmp(d->d_name, "ferry-v", 7);
	closedir(dh);
	return n;
}

/* Two migrations pending, the last of which fails (its table is there
 * already): the first one's change is rolled back with it, and a backup
 * of the store as it was had been taken first. */
static void test_failed_migration_changes_nothing(void **state)
{
	struct ferr e = FERR_INIT;
	char sql[64];
	int before = store_schema_latest() - 2;

	(void)state;
	assert_int_equal(store_open(db, &e), 0);
	assert_int_equal(store_exec("CREATE TABLE keepme (x INTEGER); INSERT INTO keepme VALUES (42)", &e), 0);
	store_close();
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", before);
	raw_exec(db, sql);
	assert_int_equal(count_backups(), 0);
	assert_int_equal(store_open(db, &e), -1);
	assert_non_null(strstr(e.msg, "migration"));
	store_close();
	assert_int_equal(raw_int(db, "PRAGMA user_version"), before);
	assert_int_equal(raw_int(db, "SELECT x FROM keepme"), 42);
	assert_int_equal(count_backups(), 1);
}

/* A fresh store is made without a backup (there is nothing to keep). */
static void test_fresh_store_no_backup(void **state)
{
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(store_open(db, &e), 0);
	assert_int_equal(store_schema_version(), store_schema_latest());
	assert_int_equal(count_backups(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_online_copy_while_writing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_check_refuses_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_downgrade_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_migration_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fresh_store_no_backup, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
