/* The job queue against a real SQLite store in a temp dir; its status
 * machine (every allowed and refused move of job_transition) and the
 * cancel-vs-end race: jobq_cancel looked while the job ran, the job then
 * ended; the cancel's act must answer 409 and not mark the ended job
 * cancel_requested (before the typed transitions it did, and answered
 * success); and the cap on queued jobs per project and kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched/jobqueue.h"
#include "store/store.h"
#include "../status_moves.h"

static char dir[64];
static atomic_int ran, concurrent, max_concurrent;

static int count_run(struct job *job, struct ferr *e)
{
	int now = atomic_fetch_add(&concurrent, 1) + 1;
	int fail = json_is_true(json_object_get(job->payload, "fail"));

	if (now > atomic_load(&max_concurrent))
		atomic_store(&max_concurrent, now);
	job_log(job, "run %lld", (long long)job->id);
	usleep(50 * 1000);
	atomic_fetch_sub(&concurrent, 1);
	atomic_fetch_add(&ran, 1);
	return fail ? ferr_set(e, 500, "failed", "asked to fail") : 0;
}

static int block_run(struct job *job, struct ferr *e)
{
	while (!job_cancelled(job))
		usleep(10 * 1000);
	return ferr_set(e, 409, "cancelled", "stopped");
}

static const struct job_kind count_kind = { "count", 1, 1, count_run, NULL, 0 };
static const struct job_kind block_kind = { "block", 2, 0, block_run, NULL, 0 };
static const struct job_kind clean_kind = { "clean", 1, 1, count_run, NULL, 1 }; /* uncapped */

static int setup(void **state)
{
	char path[128];
	struct ferr e = FERR_INIT;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ferry-jobq-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ferry.db", dir);
	assert_int_equal(store_open(path, &e), 0);
	return 0;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	store_close();
	snprintf(path, sizeof(path), "%s/ferry.db", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/ferry.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/ferry.db-shm", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

static const char *status_of(int64_t id, char buf[32])
{
	json_t *j = NULL;
	struct ferr e = FERR_INIT;

	assert_int_equal(jobq_show(id, 0, &j, &e), 0);
	snprintf(buf, 32, "%s", json_string_value(json_object_get(j, "status")));
	json_decref(j);
	return buf;
}

static void wait_status(int64_t id, const char *want)
{
	char buf[32];

	for (int i = 0; i < 300 && strcmp(status_of(id, buf), want); i++)
		usleep(20 * 1000);
	assert_string_equal(status_of(id, buf), want);
}

static void test_runs_in_order_within_the_kind_limit(void **state)
{
	struct ferr e = FERR_INIT;
	int64_t ids[5];
	json_t *log = NULL;

	(void)state;
	assert_int_equal(jobq_start(4, &e), 0);
	for (int i = 0; i < 5; i++) {
		json_t *p = json_pack("{s:b}", "fail", i == 4);
		ids[i] = jobq_submit("count", p, 0, "test", &e);
		json_decref(p);
		assert_true(ids[i] > 0);
	}
	for (int i = 0; i < 4; i++)
		wait_status(ids[i], "succeeded");
	wait_status(ids[4], "failed");
	assert_int_equal(atomic_load(&ran), 5);
	assert_int_equal(atomic_load(&max_concurrent), 1); /* the kind's limit */
	assert_int_equal(jobq_log_read(ids[0], 0, 0, &log, &e), 0);
	assert_int_equal(json_array_size(log), 1);
	json_decref(log);
	jobq_stop();
}

static void test_unknown_kind_is_refused(void **state)
{
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(jobq_submit("nope", NULL, 0, "test", &e), -1);
	assert_int_equal(e.status, 400);
}

static void test_cancel_running_and_queued(void **state)
{
	struct ferr e = FERR_INIT;
	int64_t a, b, c;
	char buf[32];

	(void)state;
	assert_int_equal(jobq_start(4, &e), 0);
	a = jobq_submit("block", NULL, 0, "test", &e);
	b = jobq_submit("block", NULL, 0, "test", &e);
	c = jobq_submit("block", NULL, 0, "test", &e);
	wait_status(a, "running");
	wait_status(b, "running");
	assert_string_equal(status_of(c, buf), "queued"); /* limit 2 */
	assert_int_equal(jobq_cancel(c, 0, &e), 0);
	assert_string_equal(status_of(c, buf), "cancelled");
	assert_int_equal(jobq_cancel(a, 0, &e), 0);
	wait_status(a, "cancelled");
	ferr_clear(&e);
	assert_int_equal(jobq_cancel(a, 0, &e), -1);
	assert_int_equal(e.status, 409);
	/* Stopping interrupts b: its kind is not safe to run twice. */
	jobq_stop();
	assert_string_equal(status_of(b, buf), "interrupted");
}

static void test_scope_hides_other_projects_jobs(void **state)
{
	struct ferr e = FERR_INIT;
	json_t *j = NULL;
	int64_t id;

	(void)state;
	/* A project row for the foreign key. */
	assert_int_equal(store_exec("INSERT INTO projects (id, name, created_at) VALUES (7, 'p', 'now')", &e), 0);
	id = jobq_submit("count", NULL, 7, "test", &e);
	assert_int_equal(jobq_show(id, 7, &j, &e), 0);
	json_decref(j);
	assert_int_equal(jobq_show(id, 8, &j, &e), -1);
	assert_int_equal(e.status, 404);
}

static int cancel_requested(int64_t id)
{
	json_t *j = NULL;
	struct ferr e = FERR_INIT;
	int yes;

	assert_int_equal(jobq_show(id, 0, &j, &e), 0);
	yes = json_is_true(json_object_get(j, "cancel_requested"));
	json_decref(j);
	return yes;
}

static int move(int64_t id, int to, struct ferr *e)
{
	return job_transition(id, (enum job_status)to, NULL, e);
}

static void test_every_move(void **state)
{
	static const struct status_move allowed[] = {
		{ JOB_QUEUED, JOB_RUNNING },
		{ JOB_QUEUED, JOB_CANCELLED },
		{ JOB_RUNNING, JOB_SUCCEEDED },
		{ JOB_RUNNING, JOB_FAILED },
		{ JOB_RUNNING, JOB_CANCELLED },
		{ JOB_RUNNING, JOB_INTERRUPTED },
		{ JOB_RUNNING, JOB_QUEUED },
	};
	struct ferr e = FERR_INIT;
	json_t *j = NULL;
	int64_t id = jobq_submit("count", NULL, 0, "test", &e);

	(void)state;
	check_every_move(&job_statuses, "jobs", id, allowed, sizeof(allowed) / sizeof(allowed[0]), move);
	for (int s = 0; s < JOB__STATUS_COUNT; s++)
		assert_int_equal(job_status_final(status_name(&job_statuses, s)),
				 s != JOB_QUEUED && s != JOB_RUNNING);
	/* the one allowed move to running counted an attempt */
	assert_int_equal(jobq_show(id, 0, &j, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 1);
	json_decref(j);
}

static void test_cancel_after_the_end(void **state)
{
	struct ferr e = FERR_INIT;
	int64_t id = jobq_submit("count", NULL, 0, "test", &e);
	char buf[32];

	(void)state;
	assert_int_equal(job_transition(id, JOB_RUNNING, NULL, &e), 0);
	assert_string_equal(status_of(id, buf), "running");          /* the cancel's check */
	assert_int_equal(job_transition(id, JOB_SUCCEEDED, NULL, &e), 0);  /* the run ends */
	assert_int_equal(jobq_cancel_request(id, &e), -1);
	assert_int_equal(e.status, 409);
	assert_non_null(strstr(e.msg, "already ended (succeeded)"));
	assert_string_equal(status_of(id, buf), "succeeded");
	assert_false(cancel_requested(id));
}

/* A queued job is cancelled at once and then never claimed; a running one
 * is only asked to stop. */
static void test_cancel_request_queued_and_running(void **state)
{
	struct ferr e = FERR_INIT;
	int64_t queued = jobq_submit("count", NULL, 0, "test", &e);
	int64_t running = jobq_submit("count", NULL, 0, "test", &e);
	char buf[32];

	(void)state;
	assert_int_equal(job_transition(running, JOB_RUNNING, NULL, &e), 0);
	assert_int_equal(jobq_cancel_request(queued, &e), 0);
	assert_string_equal(status_of(queued, buf), "cancelled");
	assert_true(cancel_requested(queued));
	assert_int_equal(job_transition(queued, JOB_RUNNING, NULL, &e), -1);
	assert_int_equal(e.status, 409);
	ferr_clear(&e);
	assert_int_equal(jobq_cancel_request(running, &e), 0);
	assert_string_equal(status_of(running, buf), "running");
	assert_true(cancel_requested(running));
}

static int64_t submit(const char *kind, int64_t project, struct ferr *e)
{
	ferr_clear(e);
	return jobq_submit(kind, NULL, project, "test", e);
}

/* The cap on queued jobs per project and kind (no workers: what is
 * submitted stays queued): up to N are queued, the N+1st is refused 429
 * naming the project, the kind and the cap; another project, another kind,
 * no project and an uncapped kind are not affected; a job that started
 * (running) or ended no longer counts. */
static void test_cap_on_queued_jobs(void **state)
{
	struct ferr e = FERR_INIT;
	int64_t ids[3];

	(void)state;
	assert_int_equal(store_exec("INSERT INTO projects (id, name, created_at) VALUES"
				    " (7, 'shop', 'now'), (8, 'blog', 'now')", &e), 0);
	jobq_set_max_queued(3);
	assert_int_equal(jobq_max_queued(), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(jobq_check_cap("count", 7, &e), 0);
		ids[i] = submit("count", 7, &e);
		assert_true(ids[i] > 0);
	}
	assert_int_equal(submit("count", 7, &e), -1);
	assert_int_equal(e.status, 429);
	assert_string_equal(e.code, "too_many_queued");
	assert_int_equal(e.retry_after, 10);
	assert_non_null(strstr(e.msg, "project shop has 3 queued count jobs already"));
	assert_non_null(strstr(e.msg, "ferryd --max-queued-jobs 3"));
	ferr_clear(&e);
	assert_int_equal(jobq_check_cap("count", 7, &e), -1);
	assert_int_equal(e.status, 429);
	assert_non_null(strstr(e.msg, "project shop has 3 queued count jobs already"));

	/* another project, another kind, no project, an uncapped kind */
	assert_true(submit("count", 8, &e) > 0);
	assert_int_equal(jobq_check_cap("count", 8, &e), 0);
	assert_true(submit("block", 7, &e) > 0);
	for (int i = 0; i < 5; i++) {
		assert_true(submit("count", 0, &e) > 0);
		assert_true(submit("clean", 7, &e) > 0);
	}
	assert_int_equal(jobq_check_cap("clean", 7, &e), 0);

	/* a running job does not count: one place is free again, once */
	assert_int_equal(job_transition(ids[0], JOB_RUNNING, NULL, &e), 0);
	assert_true(submit("count", 7, &e) > 0);
	assert_int_equal(submit("count", 7, &e), -1);
	assert_int_equal(e.status, 429);
	/* nor does one that ended (cancelled before it started) */
	assert_int_equal(jobq_cancel(ids[1], 7, &e), 0);
	assert_true(submit("count", 7, &e) > 0);
	assert_int_equal(submit("count", 7, &e), -1);
	/* the other project's count is its own: it still has places */
	assert_true(submit("count", 8, &e) > 0);

	/* the cap is clamped to 1 .. JOBQ_MAX_QUEUED_LIMIT */
	jobq_set_max_queued(0);
	assert_int_equal(jobq_max_queued(), 1);
	jobq_set_max_queued(JOBQ_MAX_QUEUED_LIMIT + 1);
	assert_int_equal(jobq_max_queued(), JOBQ_MAX_QUEUED_LIMIT);
	jobq_set_max_queued(JOBQ_MAX_QUEUED_DEFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_runs_in_order_within_the_kind_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_kind_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_running_and_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scope_hides_other_projects_jobs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_after_the_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_request_queued_and_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_on_queued_jobs, setup, teardown),
	};

	jobq_register(&count_kind);
	jobq_register(&block_kind);
	jobq_register(&clean_kind);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
