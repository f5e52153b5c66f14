/* Unit tests of core/execution (records, concurrency policy, list and
 * paging, the exact 30-day count across retention) and of the scheduler's
 * decision (sched/scheduler.h), against a real SQLite store in a temp dir.
 * Running containers is the e2e suite's part (tests/e2e/test_tasks.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/component.h"
#include "core/core.h"
#include "core/execution.h"
#include "core/project.h"
#include "sched/jobqueue.h"
#include "sched/scheduler.h"
#include "store/store.h"
#include "vault/vault.h"

static const struct principal admin = { 1, "admin", ROLE_ADMIN, 0 };
static const struct principal viewer = { 3, "view1", ROLE_VIEWER, 0 };

struct fixture {
	char dir[64];
	int64_t pid, job, tick, svc, dev, prod;
};

static int64_t make_component(const char *name, const char *type, const char *schedule,
			      const char *concurrency)
{
	struct component_spec spec = { 0 };
	struct ferr e = FERR_INIT;
	int64_t pid, id;
	json_t *j = NULL;

	spec.name = name;
	spec.type = type;
	spec.repo = "https://git.example/tasks.git";
	spec.schedule = schedule;
	spec.concurrency = concurrency;
	if (component_create(&admin, "ops", &spec, &j, &e) < 0)
		fail_msg("component_create %s: %s", name, e.msg);
	json_decref(j);
	assert_int_equal(component_lookup(&admin, "ops", name, &pid, &id, &e), 0);
	return id;
}

/* An active deployment row (store_fixture.h: no build or snapshot
 * behind it). */
static void make_active(int64_t cid, int64_t env, int64_t pid)
{
	fixture_deployment(pid, cid, env, 1, "active");
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *envs[] = { "dev", "prod" };
	struct ferr e = FERR_INIT;
	json_t *j = NULL;

	assert_non_null(f);
	store_fixture_open(f->dir, "exec");
	if (project_create(&admin, "ops", envs, 2, &j, &e) < 0)
		fail_msg("project_create: %s", e.msg);
	json_decref(j);
	f->job = make_component("job", "manual-task", NULL, NULL);
	f->tick = make_component("tick", "scheduled-task", "*/5 * * * *", "forbid");
	f->svc = make_component("web", "service", NULL, NULL);
	assert_int_equal(project_lookup(&admin, "ops", &f->pid, &e), 0);
	assert_int_equal(env_lookup(f->pid, "dev", &f->dev, &e), 0);
	assert_int_equal(env_lookup(f->pid, "prod", &f->prod, &e), 0);
	make_active(f->job, f->dev, f->pid);
	make_active(f->tick, f->dev, f->pid);
	make_active(f->svc, f->dev, f->pid);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_fixture_close(f->dir);
	free(f);
	return 0;
}

static void set_status(int64_t id, const char *status, const char *triggered_at)
{
	sqlite3_stmt *st = store_stmt("UPDATE executions SET status = ?,"
				      " triggered_at = coalesce(?, triggered_at) WHERE id = ?");

	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, triggered_at, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void test_manual_run_records_revision_and_arguments(void **state)
{
	(void)state;
	struct ferr e = FERR_INIT;
	json_t *args = json_pack("[s, s]", "exit", "3"), *x = NULL;

	assert_int_equal(execution_run(&admin, "ops", "job", "dev", args, &x, &e), 0);
	assert_string_equal(str(x, "status"), "pending");
	assert_string_equal(str(x, "trigger"), "manual");
	assert_string_equal(str(x, "triggered_by"), "admin");
	assert_string_equal(str(x, "commit"), "c0ffee");
	assert_string_equal(str(x, "environment"), "dev");
	assert_true(json_equal(json_object_get(x, "args"), args));
	assert_int_equal(json_integer_value(json_object_get(x, "timeout")), 3600);
	assert_true(json_is_null(json_object_get(x, "exit_code")));
	json_decref(x);
	json_decref(args);
}

static void test_manual_run_refusals(void **state)
{
	struct ferr e = FERR_INIT;
	json_t *x = NULL, *bad = json_pack("[s, i]", "a", 1);

	(void)state;
	assert_int_equal(execution_run(&admin, "ops", "job", "prod", NULL, &x, &e), -1);
	assert_int_equal(e.status, 409);
	assert_non_null(strstr(e.msg, "no active deployment in prod"));
	ferr_clear(&e);
	assert_int_equal(execution_run(&admin, "ops", "web", "dev", NULL, &x, &e), -1);
	assert_int_equal(e.status, 400);
	assert_non_null(strstr(e.msg, "is a service"));
	ferr_clear(&e);
	assert_int_equal(execution_run(&admin, "ops", "job", "dev", bad, &x, &e), -1);
	assert_non_null(strstr(e.msg, "argument 2 is not a string"));
	ferr_clear(&e);
	assert_int_equal(execution_run(&viewer, "ops", "job", "dev", NULL, &x, &e), -1);
	assert_int_equal(e.status, 403);
	ferr_clear(&e);
	assert_int_equal(execution_run(&admin, "ops", "job", "qa", NULL, &x, &e), -1);
	assert_int_equal(e.status, 404);
	json_decref(bad);
}

static void test_fire_once_per_slot_and_forbid_skips(void **state)
{
	struct fixture *f = *state;
	struct ferr e = FERR_INIT;
	int64_t a, b, c;
	json_t *x = NULL;

	a = execution_fire(f->tick, f->dev, 1700000100, NULL, &e);
	assert_true(a > 0);
	/* the same slot again (a restart between fire and bookkeeping): nothing */
	assert_int_equal(execution_fire(f->tick, f->dev, 1700000100, NULL, &e), 0);
	/* a is still pending: forbid records the next slot as skipped */
	b = execution_fire(f->tick, f->dev, 1700000400, NULL, &e);
	assert_true(b > a);
	assert_int_equal(execution_show(&admin, b, &x, &e), 0);
	assert_string_equal(str(x, "status"), "skipped");
	assert_string_equal(str(x, "trigger"), "schedule");
	assert_non_null(strstr(str(x, "reason"), "was still running (concurrency policy forbid)"));
	assert_string_equal(str(x, "scheduled_for"), "2023-11-14T22:20:00Z");
	assert_non_null(str(x, "finished_at"));
	json_decref(x);
	/* a missed run over the deadline is recorded as skipped with its reason */
	set_status(a, "succeeded", NULL);
	c = execution_fire(f->tick, f->dev, 1700000700, "missed: too late", &e);
	assert_int_equal(execution_show(&admin, c, &x, &e), 0);
	assert_string_equal(str(x, "status"), "skipped");
	assert_string_equal(str(x, "reason"), "missed: too late");
	json_decref(x);
	/* nothing active in prod: nothing to do, no error */
	assert_int_equal(execution_fire(f->tick, f->prod, 1700000700, NULL, &e), 0);
	assert_false(ferr_isset(&e));
}

static void test_replace_cancels_the_running_one(void **state)
{
	struct fixture *f = *state;
	struct ferr e = FERR_INIT;
	int64_t a, b;
	sqlite3_stmt *st;

	assert_int_equal(store_exec("UPDATE components SET task_concurrency = 'replace'", &e), 0);
	a = execution_fire(f->tick, f->dev, 1700001000, NULL, &e);
	set_status(a, "running", NULL);
	b = execution_fire(f->tick, f->dev, 1700001300, NULL, &e);
	assert_true(b > a);
	st = store_stmt("SELECT cancel_requested, reason FROM executions WHERE id = ?");
	sqlite3_bind_int64(st, 1, a);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	assert_non_null(strstr((const char *)sqlite3_column_text(st, 1), "replaced by execution"));
	sqlite3_reset(st);
	/* allow: both run */
	assert_int_equal(store_exec("UPDATE components SET task_concurrency = 'allow'", &e), 0);
	set_status(b, "running", NULL);
	a = execution_fire(f->tick, f->dev, 1700001600, NULL, &e);
	st = store_stmt("SELECT status, cancel_requested FROM executions WHERE id = ?");
	sqlite3_bind_int64(st, 1, a);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "pending");
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, b);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 1), 0);
	sqlite3_reset(st);
}

/* The cap on queued work (sched/jobqueue.h) for executions: a project's
 * pending ones count; a manual run over it is refused 429 naming the
 * project and the cap, and nothing recorded; a scheduled one is recorded
 * skipped with the refusal as its reason; a running one does not count. */
static void test_cap_on_pending_executions(void **state)
{
	struct fixture *f = *state;
	struct ferr e = FERR_INIT;
	json_t *x = NULL;
	int64_t first = 0, skipped;
	sqlite3_stmt *st;
	long long before;

	jobq_set_max_queued(2);
	assert_int_equal(store_exec("UPDATE components SET task_concurrency = 'allow'", &e), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(execution_run(&admin, "ops", "job", "dev", NULL, &x, &e), 0);
		if (!first)
			first = json_integer_value(json_object_get(x, "id"));
		json_decref(x);
	}
	st = store_stmt("SELECT count(*) FROM executions");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	before = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	assert_int_equal(execution_run(&admin, "ops", "job", "dev", NULL, &x, &e), -1);
	assert_int_equal(e.status, 429);
	assert_int_equal(e.retry_after, 10);
	assert_non_null(strstr(e.msg, "project ops has 2 queued execution jobs already"));
	assert_non_null(strstr(e.msg, "ferryd --max-queued-jobs 2"));
	st = store_stmt("SELECT count(*) FROM executions");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), before);    /* nothing recorded */
	sqlite3_reset(st);
	/* a scheduled run over the cap: recorded skipped, with the reason */
	ferr_clear(&e);
	skipped = execution_fire(f->tick, f->dev, 1700002000, NULL, &e);
	assert_true(skipped > 0);
	assert_int_equal(execution_show(&admin, skipped, &x, &e), 0);
	assert_string_equal(str(x, "status"), "skipped");
	assert_non_null(strstr(str(x, "reason"), "not run: project ops has 2 queued execution jobs already"));
	json_decref(x);
	/* one that started no longer counts */
	set_status(first, "running", NULL);
	assert_int_equal(execution_run(&admin, "ops", "job", "dev", NULL, &x, &e), 0);
	json_decref(x);
	assert_int_equal(execution_run(&admin, "ops", "job", "dev", NULL, &x, &e), -1);
	assert_int_equal(e.status, 429);
	jobq_set_max_queued(JOBQ_MAX_QUEUED_DEFAULT);
}

static void iso(time_t t, char buf[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void test_list_pages_newest_first_and_counts_30_days(void **state)
{
	(void)state;
	struct ferr e = FERR_INIT;
	int64_t ids[12];
	time_t now = time(NULL);
	json_t *l = NULL, *x = NULL, *rows;
	char when[32];

	for (int i = 0; i < 12; i++) {
		assert_int_equal(execution_run(&admin, "ops", "job", "dev", NULL, &x, &e), 0);
		ids[i] = json_integer_value(json_object_get(x, "id"));
		json_decref(x);
	}
	/* two are 40 days old, one was skipped, the rest ended now */
	iso(now - 40 * 86400, when);
	set_status(ids[0], "succeeded", when);
	set_status(ids[1], "failed", when);
	set_status(ids[2], "skipped", NULL);
	for (int i = 3; i < 11; i++)
		set_status(ids[i], "succeeded", NULL);
	/* ids[11] stays pending */
	assert_int_equal(execution_list(&viewer, "ops", "job", NULL, 0, 5, 0, &l, &e), 0);
	rows = json_object_get(l, "executions");
	assert_int_equal(json_array_size(rows), 5);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), ids[11]);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 4), "id")), ids[7]);
	assert_int_equal(json_integer_value(json_object_get(l, "last_30_days")), 9);
	json_decref(l);
	assert_int_equal(execution_list(&viewer, "ops", "job", NULL, 0, 5, ids[7], &l, &e), 0);
	rows = json_object_get(l, "executions");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), ids[6]);
	json_decref(l);
	assert_int_equal(execution_list(&viewer, "ops", "job", "dev", 1, 20, 0, &l, &e), 0);
	rows = json_object_get(l, "executions");
	assert_int_equal(json_array_size(rows), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), ids[11]);
	json_decref(l);
	assert_int_equal(execution_list(&viewer, "ops", "job", "prod", 0, 20, 0, &l, &e), 0);
	assert_int_equal(json_array_size(json_object_get(l, "executions")), 0);
	assert_int_equal(json_integer_value(json_object_get(l, "last_30_days")), 0);
	json_decref(l);
	assert_int_equal(execution_list(&viewer, "ops", "job", NULL, 0, 501, 0, &l, &e), -1);
}

static void test_retention_keeps_the_30_day_count_exact(void **state)
{
	struct fixture *f = *state;
	struct ferr e = FERR_INIT;
	time_t now = time(NULL);
	int ages[] = { 1, 5, 15, 29, 31, 45, 100 };
	int64_t ids[7];
	json_t *x = NULL;
	char when[32];

	for (int i = 0; i < 7; i++) {
		assert_int_equal(execution_run(&admin, "ops", "job", "dev", NULL, &x, &e), 0);
		ids[i] = json_integer_value(json_object_get(x, "id"));
		json_decref(x);
		iso(now - ages[i] * 86400, when);
		set_status(ids[i], "succeeded", when);
	}
	assert_int_equal(execution_count_30d(f->job, 0, now), 4);
	/* 10 days: the 15- and 29-day-old ones go but still count; the others go */
	assert_int_equal(execution_prune(10, now, &e), 5);
	assert_int_equal(execution_count_30d(f->job, 0, now), 4);
	assert_int_equal(execution_count_30d(f->job, f->dev, now), 4);
	assert_int_equal(execution_count_30d(f->job, f->prod, now), 0);
	assert_int_equal(execution_show(&admin, ids[2], &x, &e), -1);
	assert_int_equal(e.status, 404);
	ferr_clear(&e);
	assert_int_equal(execution_show(&admin, ids[1], &x, &e), 0);
	json_decref(x);
	/* 20 days later: the 1- and 5-day-old ones are pruned but still inside
	 * the window, the 15- and 29-day-old ones have left it */
	assert_int_equal(execution_prune(10, now + 20 * 86400, &e), 2);
	assert_int_equal(execution_count_30d(f->job, 0, now + 20 * 86400), 2);
	assert_int_equal(execution_count_30d(f->job, 0, now + 40 * 86400), 0);
	/* pending and running executions are never pruned */
	assert_int_equal(execution_run(&admin, "ops", "job", "dev", NULL, &x, &e), 0);
	iso(now - 200 * 86400, when);
	set_status(json_integer_value(json_object_get(x, "id")), "running", when);
	assert_int_equal(execution_prune(10, now, &e), 0);
	json_decref(x);
}

static void test_log_lines_that_are_not_utf8_are_kept(void **state)
{
	struct ferr e = FERR_INIT;
	json_t *x = NULL, *l = NULL;
	sqlite3_stmt *st;
	int64_t id;

	(void)state;
	assert_int_equal(execution_run(&admin, "ops", "job", "dev", NULL, &x, &e), 0);
	id = json_integer_value(json_object_get(x, "id"));
	json_decref(x);
	st = store_stmt("INSERT INTO execution_logs (execution_id, ts, line) VALUES (?, 'now', ?)");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, "caf\xe9 ok", -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, "na\xc3\xafve", -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);
	assert_int_equal(execution_log_read(&viewer, id, 0, 10, &l, &e), 0);
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "line")), "caf\xef\xbf\xbd ok"); /* U+FFFD */
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 1), "line")), "na\xc3\xafve");
	json_decref(l);
}

static void test_cancel(void **state)
{
	struct ferr e = FERR_INIT;
	json_t *x = NULL, *c = NULL;
	int64_t id;

	(void)state;
	assert_int_equal(execution_run(&admin, "ops", "job", "dev", NULL, &x, &e), 0);
	id = json_integer_value(json_object_get(x, "id"));
	assert_int_equal(execution_cancel(&viewer, id, &c, &e), -1);
	assert_int_equal(e.status, 403);
	ferr_clear(&e);
	assert_int_equal(execution_cancel(&admin, id, &c, &e), 0);
	assert_string_equal(str(c, "reason"), "cancelled by admin");
	json_decref(c);
	set_status(id, "cancelled", NULL);
	assert_int_equal(execution_cancel(&admin, id, &c, &e), -1);
	assert_int_equal(e.status, 409);
	json_decref(x);
}

/* ---- the scheduler's decision ---- */

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
			 .tm_min = mi, .tm_sec = s };
	return timegm(&tm);
}

static void test_scheduler_due(void **state)
{
	struct ferr e = FERR_INIT;
	const struct tz *berlin;
	struct cron c;
	time_t slot = 0;
	long missed = -1;

	(void)state;
	assert_int_equal(cron_parse(&c, "*/15 * * * *", &e), 0);
	/* nothing since the last slot */
	assert_int_equal(scheduler_due(&c, NULL, utc(2024, 5, 1, 10, 0, 0), utc(2024, 5, 1, 10, 14, 59),
				       300, &slot, &missed, &e), SCHEDULER_NOTHING);
	/* the next slot, a second late */
	assert_int_equal(scheduler_due(&c, NULL, utc(2024, 5, 1, 10, 0, 0), utc(2024, 5, 1, 10, 15, 1),
				       300, &slot, &missed, &e), SCHEDULER_RUN);
	assert_int_equal(slot, utc(2024, 5, 1, 10, 15, 0));
	assert_int_equal(missed, 0);
	/* ferryd down for an hour: only the latest slot, and it is in time */
	assert_int_equal(scheduler_due(&c, NULL, utc(2024, 5, 1, 10, 0, 0), utc(2024, 5, 1, 11, 2, 0),
				       300, &slot, &missed, &e), SCHEDULER_RUN);
	assert_int_equal(slot, utc(2024, 5, 1, 11, 0, 0));
	assert_int_equal(missed, 3);
	/* the latest is over the deadline */
	assert_int_equal(scheduler_due(&c, NULL, utc(2024, 5, 1, 10, 0, 0), utc(2024, 5, 1, 11, 10, 0),
				       300, &slot, &missed, &e), SCHEDULER_TOO_LATE);
	assert_int_equal(slot, utc(2024, 5, 1, 11, 0, 0));
	/* exactly the deadline late is too late ("less than the deadline") */
	assert_int_equal(scheduler_due(&c, NULL, utc(2024, 5, 1, 10, 0, 0), utc(2024, 5, 1, 11, 5, 0),
				       300, &slot, &missed, &e), SCHEDULER_TOO_LATE);
	/* a year of every-minute runs missed: fast, and only the latest counts */
	assert_int_equal(cron_parse(&c, "* * * * *", &e), 0);
	assert_int_equal(scheduler_due(&c, NULL, utc(2023, 5, 1, 0, 0, 0), utc(2024, 5, 1, 0, 0, 30),
				       60, &slot, &missed, &e), SCHEDULER_RUN);
	assert_int_equal(slot, utc(2024, 5, 1, 0, 0, 0));
	assert_int_equal(missed, 100000 - 1);
	/* in a zone: Berlin's 02:30 on the spring-forward day runs at 03:00 CEST (01:00Z) */
	assert_int_equal(tz_get(&berlin, "Europe/Berlin", &e), 0);
	assert_int_equal(cron_parse(&c, "30 2 * * *", &e), 0);
	assert_int_equal(scheduler_due(&c, berlin, utc(2024, 3, 30, 12, 0, 0), utc(2024, 3, 31, 1, 0, 10),
				       300, &slot, &missed, &e), SCHEDULER_RUN);
	assert_int_equal(slot, utc(2024, 3, 31, 1, 0, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_manual_run_records_revision_and_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manual_run_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fire_once_per_slot_and_forbid_skips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_cancels_the_running_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_on_pending_executions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_pages_newest_first_and_counts_30_days, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_keeps_the_30_day_count_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_lines_that_are_not_utf8_are_kept, setup, teardown),
		cmocka_unit_test(test_scheduler_due),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
