/* Unit tests of the store's per-thread connections: a thread that cannot
 * open the database (no file descriptor left) gets errors naming why, not
 * an abort, while other threads go on; once descriptors are free again the
 * thread's next try opens it. Real SQLite files in a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "store/store.h"
#include "tmp_store.h"

static char dir[64], db[128];

static int setup(void **state)
{
	(void)state;
	return tmp_store_open(dir, db, "store", "CREATE TABLE t(x INTEGER)");
}

static int teardown(void **state)
{
	(void)state;
	return tmp_store_close(dir, db);
}

struct report {
	int ready_rc, ready_status;
	char ready_msg[1024];
	int stmt_null, step_rc, begin_rc, begin_status, exec_rc, run_rc, run_status;
	char run_msg[1024];
	long long changes;
	int recovered_rc;
	long long count_after;
};

static struct rlimit saved;
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int phase; /* 0: descriptors exhausted; 1: the thread checked; 2: freed again */

static void *starved_thread(void *arg)
{
	struct report *r = arg;
	struct ferr e = FERR_INIT;
	sqlite3_stmt *st;

	r->ready_rc = store_thread_ready(&e);
	r->ready_status = e.status;
	snprintf(r->ready_msg, sizeof(r->ready_msg), "%s", e.msg);
	st = store_stmt("INSERT INTO t(x) VALUES (?)");
	r->stmt_null = st == NULL;
	sqlite3_bind_int(st, 1, 7);
	r->step_rc = sqlite3_step(st);
	sqlite3_reset(st);
	/* what callers do after a step: must not crash on the stand-in */
	r->changes = sqlite3_changes(store_db()) + sqlite3_last_insert_rowid(store_db());
	e = (struct ferr)FERR_INIT;
	r->begin_rc = store_begin(&e);
	r->begin_status = e.status;
	e = (struct ferr)FERR_INIT;
	r->exec_rc = store_exec("INSERT INTO t(x) VALUES (8)", &e);
	e = (struct ferr)FERR_INIT;
	r->run_rc = store_run(store_stmt("INSERT INTO t(x) VALUES (9)"), "insert into t", &e);
	r->run_status = e.status;
	snprintf(r->run_msg, sizeof(r->run_msg), "%s", e.msg);

	pthread_mutex_lock(&gate);
	phase = 1;
	pthread_cond_broadcast(&gate_cv);
	while (phase < 2)
		pthread_cond_wait(&gate_cv, &gate);
	pthread_mutex_unlock(&gate);

	/* the next try, a second later, opens the database */
	usleep(1100 * 1000);
	e = (struct ferr)FERR_INIT;
	r->recovered_rc = store_thread_ready(&e);
	st = store_stmt("INSERT INTO t(x) VALUES (?)");
	sqlite3_bind_int(st, 1, 10);
	if (store_run(st, "insert", &e) == 0) {
		st = store_stmt("SELECT count(*) FROM t");
		if (sqlite3_step(st) == SQLITE_ROW)
			r->count_after = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	return NULL;
}

static void test_thread_without_connection_gets_errors(void **state)
{
	struct report r = { 0 };
	struct rlimit low;
	pthread_t t;
	int lowest;
	sqlite3_stmt *st;
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	lowest = dup(0);
	assert_true(lowest >= 0);
	close(lowest);
	low = saved;
	low.rlim_cur = (rlim_t)lowest; /* no descriptor left for a new open */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_int_equal(pthread_create(&t, NULL, starved_thread, &r), 0);

	pthread_mutex_lock(&gate);
	while (phase < 1)
		pthread_cond_wait(&gate_cv, &gate);
	pthread_mutex_unlock(&gate);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);

	/* the thread was told, every way it asked */
	assert_int_equal(r.ready_rc, -1);
	assert_int_equal(r.ready_status, 503);
	assert_non_null(strstr(r.ready_msg, "cannot open the store"));
	assert_non_null(strstr(r.ready_msg, db));
	assert_true(r.stmt_null);
	assert_int_not_equal(r.step_rc, SQLITE_DONE);
	assert_int_equal(r.changes, 0);
	assert_int_equal(r.begin_rc, -1);
	assert_int_equal(r.begin_status, 503);
	assert_int_equal(r.exec_rc, -1);
	assert_int_equal(r.run_rc, -1);
	assert_int_equal(r.run_status, 503);
	assert_non_null(strstr(r.run_msg, "insert into t: this thread cannot open the store"));

	/* this thread's connection went on working meanwhile */
	st = store_stmt("INSERT INTO t(x) VALUES (1)");
	assert_int_equal(store_run(st, "insert", &e), 0);

	pthread_mutex_lock(&gate);
	phase = 2;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate);
	assert_int_equal(pthread_join(t, NULL), 0);

	/* nothing the starved thread tried was stored; its later insert was */
	assert_int_equal(r.recovered_rc, 0);
	assert_int_equal(r.count_after, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_thread_without_connection_gets_errors, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
