/* Unit tests of the build status machine (core/build.h): every allowed
 * and refused move of build_transition against a real SQLite store, and
 * the check-then-act races around a cancel: a cancel that looked while
 * the build ran and acts after the run ended must answer 409 and leave
 * the end alone (before the typed transitions it answered success), and
 * a run that claims a build cancelled meanwhile is refused. */
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

#include "core/build.h"
#include "store/store.h"


static int64_t make_build(struct core_fixture *f, const char *status)
{
	sqlite3_stmt *st = store_stmt("INSERT INTO builds (component_id, project_id, status, trigger,"
				      " triggered_by, created_at) VALUES (?, ?, ?, 'manual', 'admin',"
				      " '2026-01-01T00:00:00Z')");
	int64_t id;

	sqlite3_bind_int64(st, 1, f->cid);
	sqlite3_bind_int64(st, 2, f->pid);
	sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);
	id = sqlite3_last_insert_rowid(store_db());
	st = store_stmt("INSERT INTO build_steps (build_id, idx, name, status) VALUES (?, 0, 'clone', 'pending')");
	sqlite3_bind_int64(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);
	return id;
}

/* Asserts that column col ("status", "error" ('' for none) or "step",
 * the first step's status) of build id is want. */
static void expect_column(int64_t id, const char *col, const char *want)
{
	sqlite3_stmt *st = !strcmp(col, "error")
		? store_stmt("SELECT coalesce(error, '') FROM builds WHERE id = ?")
		: !strcmp(col, "step") ? store_stmt("SELECT status FROM build_steps WHERE build_id = ?")
				       : store_stmt("SELECT status FROM builds WHERE id = ?");

	sqlite3_bind_int64(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), want);
	sqlite3_reset(st);
}

static int setup(void **state)
{
	struct core_fixture *f = fixture_new("buildstatus", "service");

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
	return build_transition(id, (enum build_status)to, NULL, e);
}

static void test_every_move(void **state)
{
	static const struct status_move allowed[] = {
		{ BUILD_QUEUED, BUILD_RUNNING },
		{ BUILD_QUEUED, BUILD_FAILED },
		{ BUILD_QUEUED, BUILD_CANCELLED },
		{ BUILD_RUNNING, BUILD_SUCCEEDED },
		{ BUILD_RUNNING, BUILD_FAILED },
		{ BUILD_RUNNING, BUILD_CANCELLED },
	};
	struct core_fixture *f = *state;

	check_every_move(&build_statuses, "builds", make_build(f, "queued"), allowed,
			 sizeof(allowed) / sizeof(allowed[0]), move);
	for (int s = 0; s < BUILD__STATUS_COUNT; s++)
		assert_int_equal(build_status_final(status_name(&build_statuses, s)),
				 s != BUILD_QUEUED && s != BUILD_RUNNING);
}

/* build_cancel saw "running"; the run then ended succeeded; the cancel's
 * act must say the build already ended and keep it succeeded. */
static void test_cancel_after_the_run_ended(void **state)
{
	struct core_fixture *f = *state;
	struct ferr e = FERR_INIT;
	int64_t id = make_build(f, "queued");

	assert_int_equal(build_transition(id, BUILD_RUNNING, NULL, &e), 0);
	expect_column(id, "status", "running");                 /* the cancel's check */
	assert_int_equal(build_transition(id, BUILD_SUCCEEDED, NULL, &e), 0);  /* the run ends */
	assert_int_equal(build_cancel_request(id, &e), -1);
	assert_int_equal(e.status, 409);
	assert_non_null(strstr(e.msg, "already ended (succeeded)"));
	expect_column(id, "status", "succeeded");
	expect_column(id, "error", "");
}

/* A cancel of a running build leaves the end to its run. */
static void test_cancel_running_leaves_it_to_the_run(void **state)
{
	struct core_fixture *f = *state;
	struct ferr e = FERR_INIT;
	int64_t id = make_build(f, "running");

	assert_int_equal(build_cancel_request(id, &e), 0);
	expect_column(id, "status", "running");
	assert_int_equal(build_transition(id, BUILD_CANCELLED, "clone: cancelled", &e), 0);
}

/* A queued build is cancelled with its pending steps; the run that
 * claims it afterwards is refused, as is a late "could not queue" end. */
static void test_cancel_queued_then_claim(void **state)
{
	struct core_fixture *f = *state;
	struct ferr e = FERR_INIT;
	int64_t id = make_build(f, "queued");

	assert_int_equal(build_cancel_request(id, &e), 0);
	expect_column(id, "status", "cancelled");
	expect_column(id, "error", "cancelled before it started");
	expect_column(id, "step", "cancelled");
	assert_int_equal(build_transition(id, BUILD_RUNNING, NULL, &e), -1);
	assert_int_equal(e.status, 409);
	ferr_clear(&e);
	assert_int_equal(build_transition(id, BUILD_FAILED, "cannot queue", &e), -1);
	assert_int_equal(e.status, 409);
	expect_column(id, "status", "cancelled");
	ferr_clear(&e);
	assert_int_equal(build_cancel_request(id, &e), -1);
	assert_int_equal(e.status, 409);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_after_the_run_ended, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_running_leaves_it_to_the_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_queued_then_claim, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
