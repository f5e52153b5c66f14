/* Unit tests of the execution status machine (core/execution.h): every
 * allowed and refused move of execution_transition against a real SQLite
 * store, and the cancel-vs-end race: execution_cancel looked while the
 * execution ran, the execution then ended; the cancel's act must answer
 * 409 and leave the end and its reason alone (before the typed
 * transitions it answered success). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_fixture.h"
#include "../status_moves.h"

#include "core/execution.h"
#include "store/store.h"


static int64_t make_execution(struct core_fixture *f, const char *status)
{
	sqlite3_stmt *st = store_stmt(
		"INSERT INTO executions (component_id, project_id, environment_id, deployment_id,"
		" commit_sha, trigger, triggered_by, triggered_at, status, timeout_s)"
		" VALUES (?, ?, ?, ?, 'c0ffee', 'manual', 'admin', '2026-01-01T00:00:00Z', ?, 60)");

	sqlite3_bind_int64(st, 1, f->cid);
	sqlite3_bind_int64(st, 2, f->pid);
	sqlite3_bind_int64(st, 3, f->dev);
	sqlite3_bind_int64(st, 4, f->extra[0]);
	sqlite3_bind_text(st, 5, status, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);
	return sqlite3_last_insert_rowid(store_db());
}

/* Asserts execution id's status and, unless NULL or -1, its reason (''
 * for none) and cancel_requested. */
static void expect_row(int64_t id, const char *status, const char *reason, int cancel)
{
	sqlite3_stmt *st = store_stmt("SELECT status, coalesce(reason, ''), cancel_requested"
				      " FROM executions WHERE id = ?");

	sqlite3_bind_int64(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), status);
	if (reason)
		assert_string_equal((const char *)sqlite3_column_text(st, 1), reason);
	if (cancel >= 0)
		assert_int_equal(sqlite3_column_int(st, 2), cancel);
	sqlite3_reset(st);
}

static int setup(void **state)
{
	struct core_fixture *f = fixture_new("execstatus", "manual-task");

	f->extra[0] = fixture_deployment(f->pid, f->cid, f->dev, 1, "active");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

static int move(int64_t id, int to, struct ferr *e)
{
	return execution_transition(id, (enum execution_status)to, -1, NULL, e);
}

static void test_every_move(void **state)
{
	static const struct status_move allowed[] = {
		{ EXECUTION_PENDING, EXECUTION_RUNNING },
		{ EXECUTION_PENDING, EXECUTION_FAILED },
		{ EXECUTION_PENDING, EXECUTION_CANCELLED },
		{ EXECUTION_RUNNING, EXECUTION_SUCCEEDED },
		{ EXECUTION_RUNNING, EXECUTION_FAILED },
		{ EXECUTION_RUNNING, EXECUTION_TIMED_OUT },
		{ EXECUTION_RUNNING, EXECUTION_CANCELLED },
		{ EXECUTION_RUNNING, EXECUTION_INTERRUPTED },
	};
	struct core_fixture *f = *state;

	check_every_move(&execution_statuses, "executions", make_execution(f, "pending"), allowed,
			 sizeof(allowed) / sizeof(allowed[0]), move);
	for (int s = 0; s < EXECUTION__STATUS_COUNT; s++)
		assert_int_equal(execution_status_final(status_name(&execution_statuses, s)),
				 s != EXECUTION_PENDING && s != EXECUTION_RUNNING);
}

static void test_cancel_after_the_end(void **state)
{
	struct core_fixture *f = *state;
	struct ferr e = FERR_INIT;
	int64_t id = make_execution(f, "pending");

	assert_int_equal(execution_transition(id, EXECUTION_RUNNING, -1, NULL, &e), 0);
	expect_row(id, "running", NULL, -1);                           /* the cancel's check */
	assert_int_equal(execution_transition(id, EXECUTION_SUCCEEDED, 0, NULL, &e), 0);  /* ends */
	assert_int_equal(execution_cancel_request(id, "cancelled by admin", &e), -1);
	assert_int_equal(e.status, 409);
	assert_non_null(strstr(e.msg, "already ended (succeeded)"));
	expect_row(id, "succeeded", "", 0);
}

/* A cancel that got there first: the runner's end is cancelled, and a
 * late success is refused. */
static void test_cancel_before_the_end(void **state)
{
	struct core_fixture *f = *state;
	struct ferr e = FERR_INIT;
	int64_t id = make_execution(f, "running");

	assert_int_equal(execution_cancel_request(id, "cancelled by admin", &e), 0);
	expect_row(id, "running", "cancelled by admin", 1);
	assert_int_equal(execution_transition(id, EXECUTION_CANCELLED, -1, "cancelled by admin", &e), 0);
	assert_int_equal(execution_transition(id, EXECUTION_SUCCEEDED, 0, NULL, &e), -1);
	assert_int_equal(e.status, 409);
	expect_row(id, "cancelled", "cancelled by admin", 1);
	ferr_clear(&e);
	assert_int_equal(execution_cancel_request(id + 1000, "x", &e), -1);
	assert_int_equal(e.status, 404);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_after_the_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_before_the_end, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
