/* execution: runs of task components. See core/execution.h for the
 * contract and docs/tasks.md for the behaviour.
 *
 * Pieces, in this file's order:
 *   rows       JSON of an execution, time helpers
 *   create     manual runs and scheduled slots (concurrency policy)
 *   read       list, 30-day count, show, log, cancel
 *   runner     one thread per pending/running execution: start or
 *              re-attach, store output, timeout, cancel, exit code
 *   dispatcher gives executions runners; prunes hourly
 *
 * Locking: ex.lock guards the runner table. It is never held across a
 * store or runtime call that may block for long.
 */
#include "core/execution.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/events.h"
#include "core/lookup.h"
#include "core/json.h"
#include "core/rollout_int.h"
#include "lib/log.h"
#include "runtime/runtime.h"
#include "store/eventlog.h"
#include "sched/jobqueue.h"
#include "store/store.h"
#include "lib/jsontext.h"
#include "lib/clock.h"
#include "lib/banned.h"

/* A run's output, one row per line. */
static const struct eventlog execution_log =
	EVENTLOG_TABLE("execution log", "execution_logs", "execution_id", "line", "line", 1000);

#define GRACE_S 10                 /* SIGTERM → SIGKILL on cancel and timeout */
#define DISPATCH_MS 1000
#define PRUNE_EVERY_S 3600
#define PRUNE_BATCH 5000
#define RUNTIME_WAIT_S 300         /* how long a runner waits for the runtime */
#define CHECK_MS 1000              /* cancel/timeout checks while following */

/* ------------------------------------------------------------------ */
/* Rows                                                                 */

static void fmt_time(time_t t, char buf[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Parses store_now's RFC 3339 UTC form; 0 if it is not one. */
static time_t parse_time(const char *s)
{
	struct tm tm = { 0 };
	const char *end;

	if (!s)
		return 0;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return 0;
	return timegm(&tm);
}

#define EXEC_COLUMNS \
	"x.id, p.name, c.name, en.name, x.trigger, x.triggered_by, x.triggered_at," \
	" x.deployment_id, x.commit_sha, x.status, x.exit_code, x.args, x.started_at," \
	" x.finished_at, x.reason, x.timeout_s, x.project_id, x.scheduled_for"
#define EXEC_JOINS \
	" JOIN components c ON c.id = x.component_id" \
	" JOIN projects p ON p.id = x.project_id JOIN environments en ON en.id = x.environment_id"
#define EXEC_FROM " FROM executions x" EXEC_JOINS
/* Only pending and running ones: the small partial index, named because
 * the planner may prefer a long scan of a big one when statistics say
 * most rows of a component match nothing */
#define EXEC_FROM_OPEN " FROM executions x INDEXED BY executions_open" EXEC_JOINS

static json_t *exec_row(sqlite3_stmt *st)
{
	json_t *row, *args;

	args = json_loads((const char *)sqlite3_column_text(st, 11), 0, NULL);
	row = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:I}",
		"id", (json_int_t)sqlite3_column_int64(st, 0),
		"project", sqlite3_column_text(st, 1),
		"component", sqlite3_column_text(st, 2),
		"environment", sqlite3_column_text(st, 3),
		"trigger", sqlite3_column_text(st, 4),
		"triggered_by", sqlite3_column_text(st, 5),
		"triggered_at", sqlite3_column_text(st, 6),
		"deployment", (json_int_t)sqlite3_column_int64(st, 7),
		"commit", sqlite3_column_text(st, 8),
		"status", sqlite3_column_text(st, 9),
		"exit_code", sqlite3_column_type(st, 10) == SQLITE_NULL ? json_null()
			: json_integer(sqlite3_column_int(st, 10)),
		"args", args ? args : json_array(),
		"started_at", json_text_or_null(st, 12),
		"finished_at", json_text_or_null(st, 13),
		"reason", json_text_or_null(st, 14),
		"timeout", (json_int_t)sqlite3_column_int64(st, 15));
	if (sqlite3_column_type(st, 17) != SQLITE_NULL) {
		char buf[32];
		fmt_time((time_t)sqlite3_column_int64(st, 17), buf);
		json_object_set_new(row, "scheduled_for", json_string(buf));
	}
	return row;
}

/* Reads execution id into *ret (with its project id); no access check. */
static int exec_load(int64_t id, json_t **ret, int64_t *ret_project, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT " EXEC_COLUMNS EXEC_FROM " WHERE x.id = ?");
	int rc;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret = exec_row(st);
		if (ret_project)
			*ret_project = sqlite3_column_int64(st, 16);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "execution %lld not found", (long long)id);
	if (rc != SQLITE_ROW)
		return store_error(e, "read execution");
	return 0;
}

/* Reads execution id as who may see it (404 otherwise, so ids do not leak
 * across project scopes). */
static int exec_visible(const struct principal *who, int64_t id, json_t **ret, struct ferr *e)
{
	int64_t project = 0;
	json_t *j;

	if (exec_load(id, &j, &project, e) < 0)
		return -1;
	if (auth_require_project(who, project, "execution", NULL) < 0) {
		json_decref(j);
		return ferr_notfound(e, "execution %lld not found", (long long)id);
	}
	*ret = j;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Create                                                               */

struct target {
	int64_t component_id, project_id, environment_id, deployment_id;
	char type[32];
	char commit[64];
	char concurrency[16];
	int timeout_s;
};

/* The task component and its active deployment in environment_id. 409 when
 * nothing is active there. */
static int target_load(int64_t component_id, int64_t environment_id, struct target *t,
		       struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT c.project_id, c.type, c.task_concurrency, c.task_timeout, c.name, en.name,"
		" (SELECT d.id FROM deployments d WHERE d.component_id = c.id AND d.environment_id = en.id"
		"   AND d.status = 'active' ORDER BY d.id DESC LIMIT 1)"
		" FROM components c JOIN environments en ON en.project_id = c.project_id AND en.id = ?2"
		" WHERE c.id = ?1");
	int rc;

	memset(t, 0, sizeof(*t));
	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_int64(st, 2, environment_id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? ferr_notfound(e, "component %lld or environment %lld not found",
							 (long long)component_id, (long long)environment_id)
					 : store_error(e, "read task");
	}
	t->component_id = component_id;
	t->environment_id = environment_id;
	t->project_id = sqlite3_column_int64(st, 0);
	snprintf(t->type, sizeof(t->type), "%s", sqlite3_column_text(st, 1));
	snprintf(t->concurrency, sizeof(t->concurrency), "%s", sqlite3_column_text(st, 2));
	t->timeout_s = sqlite3_column_int(st, 3);
	if (strcmp(t->type, "scheduled-task") && strcmp(t->type, "manual-task")) {
		ferr_invalid(e, "%s is a %s: only scheduled-task and manual-task components run",
			     sqlite3_column_text(st, 4), t->type);
		sqlite3_reset(st);
		return -1;
	}
	if (sqlite3_column_type(st, 6) == SQLITE_NULL) {
		ferr_conflict(e, "%s has no active deployment in %s: deploy (or promote) it there first",
			      sqlite3_column_text(st, 4), sqlite3_column_text(st, 5));
		sqlite3_reset(st);
		return -1;
	}
	t->deployment_id = sqlite3_column_int64(st, 6);
	sqlite3_reset(st);
	st = store_stmt("SELECT commit_sha FROM deployments WHERE id = ?");
	sqlite3_bind_int64(st, 1, t->deployment_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(t->commit, sizeof(t->commit), "%s", sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return 0;
}

static pthread_mutex_t kick_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kick_cond = PTHREAD_COND_INITIALIZER;
static int kicked;

static void kick(void)
{
	pthread_mutex_lock(&kick_lock);
	kicked = 1;
	pthread_cond_broadcast(&kick_cond);
	pthread_mutex_unlock(&kick_lock);
}

/* Inserts an execution (inside the caller's transaction, or alone).
 * status: pending or skipped. Returns its id or -1. */
static int64_t exec_insert(const struct target *t, const char *trigger, const char *by,
			   time_t slot, const char *args, const char *status, const char *reason,
			   struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(
		"INSERT INTO executions (component_id, project_id, environment_id, deployment_id,"
		" commit_sha, trigger, triggered_by, triggered_at, scheduled_for, args, status,"
		" timeout_s, reason, finished_at)"
		" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?, CASE WHEN ?11 = 'skipped' THEN ?8 END)");
	char now[32];
	int rc;

	store_now(now);
	sqlite3_bind_int64(st, 1, t->component_id);
	sqlite3_bind_int64(st, 2, t->project_id);
	sqlite3_bind_int64(st, 3, t->environment_id);
	sqlite3_bind_int64(st, 4, t->deployment_id);
	sqlite3_bind_text(st, 5, t->commit, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, trigger, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, by, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, now, -1, SQLITE_STATIC);
	if (slot)
		sqlite3_bind_int64(st, 9, (sqlite3_int64)slot);
	else
		sqlite3_bind_null(st, 9);
	sqlite3_bind_text(st, 10, args ? args : "[]", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 12, t->timeout_s > 0 ? t->timeout_s : EXECUTION_TIMEOUT_DEFAULT);
	sqlite3_bind_text(st, 13, reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(e, "record execution");
	return sqlite3_last_insert_rowid(store_db());
}

/* The cap on queued work (sched/jobqueue.h) for executions: 0 when t's
 * project has fewer pending executions than the cap, else -1 with e set
 * (429, naming the project and the cap). In the caller's transaction, so
 * the count and the insert after it are one. */
static int exec_room(const struct target *t, const char *project, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT count(*) FROM executions INDEXED BY executions_project_pending"
				      " WHERE project_id = ? AND status = 'pending'");
	long long n = -1;

	sqlite3_bind_int64(st, 1, t->project_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (n < 0)
		return store_error(e, "count pending executions");
	return n < jobq_max_queued() ? 0 : jobq_refuse_over_cap(t->project_id, project, "execution", n, e);
}

int execution_run(const struct principal *who, const char *project, const char *component,
		  const char *env, json_t *args, json_t **ret, struct ferr *e)
{
	int64_t pid, cid, eid, id;
	struct target t;
	char *args_s = NULL;
	size_t i;
	json_t *a;

	if (component_lookup(who, project, component, &pid, &cid, e) < 0 ||
	    auth_require_write(who, e) < 0)
		return -1;
	if (!env || !*env)
		return ferr_invalid(e, "say where to run it: --env ENVIRONMENT");
	if (env_lookup(pid, env, &eid, e) < 0)
		return -1;
	if (args && !json_is_null(args)) {
		size_t total = 0;
		if (!json_is_array(args))
			return ferr_invalid(e, "args must be an array of strings");
		if (json_array_size(args) > EXECUTION_MAX_ARGS)
			return ferr_invalid(e, "at most %d arguments", EXECUTION_MAX_ARGS);
		json_array_foreach(args, i, a) {
			if (!json_is_string(a))
				return ferr_invalid(e, "argument %zu is not a string", i + 1);
			if (memchr(json_string_value(a), '\0', json_string_length(a)))
				return ferr_invalid(e, "argument %zu contains a NUL byte", i + 1);
			total += json_string_length(a) + 1;
		}
		if (total > 128 * 1024)
			return ferr_invalid(e, "the arguments are over 128 KiB together: pass data through configuration instead");
		args_s = json_dumps(args, JSON_COMPACT);
	}
	if (target_load(cid, eid, &t, e) < 0) {
		free(args_s);
		return -1;
	}
	/* over the cap on queued work: refused, nothing recorded (the user
	 * who asked sees why) */
	if (store_begin(e) < 0) {
		free(args_s);
		return -1;
	}
	id = exec_room(&t, project, e) < 0 ? -1 :
		exec_insert(&t, "manual", who->name, 0, args_s, "pending", NULL, e);
	free(args_s);
	if (id < 0) {
		store_rollback();
		return -1;
	}
	if (store_commit(e) < 0)
		return -1;
	log_info("event=execution_queued execution=%lld component=%lld environment=%lld trigger=manual",
		 (long long)id, (long long)cid, (long long)eid);
	kick();
	return exec_load(id, ret, NULL, e);
}

int64_t execution_fire(int64_t component_id, int64_t environment_id, time_t slot,
		       const char *skip_reason, struct ferr *e)
{
	struct target t;
	char reason[1024] = "";
	const char *status = "pending";
	sqlite3_stmt *st;
	int64_t id, running = 0;
	int rc;

	if (target_load(component_id, environment_id, &t, e) < 0)
		return e->status == 409 || e->status == 404 ? (ferr_clear(e), 0) : -1;
	if (store_begin(e) < 0)
		return -1;
	st = store_stmt("SELECT 1 FROM executions WHERE component_id = ? AND environment_id = ?"
			" AND scheduled_for = ?");
	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_int64(st, 2, environment_id);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)slot);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW) {
		store_rollback();
		return 0;
	}
	st = store_stmt("SELECT id FROM executions INDEXED BY executions_open WHERE component_id = ?"
			" AND environment_id = ? AND status IN ('pending','running') ORDER BY id DESC LIMIT 1");
	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_int64(st, 2, environment_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		running = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (skip_reason) {
		status = "skipped";
		snprintf(reason, sizeof(reason), "%s", skip_reason);
	} else if (running && !strcmp(t.concurrency, "forbid")) {
		status = "skipped";
		snprintf(reason, sizeof(reason),
			 "execution %lld was still running (concurrency policy forbid)", (long long)running);
	} else {
		/* over the cap on queued work: the run is recorded skipped with
		 * the refusal as its reason, not lost */
		struct ferr ce = FERR_INIT;
		if (exec_room(&t, NULL, &ce) < 0) {
			if (ce.status != 429) {
				store_rollback();
				return ferr_set(e, ce.status, ce.code, "%s", ce.msg);
			}
			status = "skipped";
			snprintf(reason, sizeof(reason), "not run: %.1000s", ce.msg);
		}
	}
	id = exec_insert(&t, "schedule", "schedule", slot, NULL, status, reason[0] ? reason : NULL, e);
	if (id < 0) {
		store_rollback();
		return -1;
	}
	if (running && !strcmp(status, "pending") && !strcmp(t.concurrency, "replace")) {
		char why[128];
		snprintf(why, sizeof(why), "replaced by execution %lld (concurrency policy replace)",
			 (long long)id);
		st = store_stmt("UPDATE executions SET cancel_requested = 1, reason = ?"
				" WHERE component_id = ? AND environment_id = ? AND id < ?"
				" AND status IN ('pending','running')");
		sqlite3_bind_text(st, 1, why, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, component_id);
		sqlite3_bind_int64(st, 3, environment_id);
		sqlite3_bind_int64(st, 4, id);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			store_error(e, "replace executions");
			store_rollback();
			return -1;
		}
	}
	if (store_commit(e) < 0)
		return -1;
	log_info("event=execution_%s execution=%lld component=%lld environment=%lld trigger=schedule%s%s%s",
		 !strcmp(status, "skipped") ? "skipped" : "queued", (long long)id,
		 (long long)component_id, (long long)environment_id, reason[0] ? " reason=\"" : "",
		 reason, reason[0] ? "\"" : "");
	kick();
	return id;
}

/* ------------------------------------------------------------------ */
/* Read                                                                 */

long long execution_count_30d(int64_t component_id, int64_t environment_id, time_t now)
{
	sqlite3_stmt *st;
	char since[32];
	long long n = 0;

	fmt_time(now - 30 * 86400, since);
	if (environment_id)
		st = store_stmt(
			"SELECT (SELECT count(*) FROM executions WHERE component_id = ?1 AND triggered_at >= ?2"
			"   AND environment_id = ?3 AND status != 'skipped')"
			" + (SELECT count(*) FROM execution_tally WHERE component_id = ?1 AND triggered_at >= ?2"
			"   AND environment_id = ?3)");
	else
		st = store_stmt(
			"SELECT (SELECT count(*) FROM executions WHERE component_id = ?1 AND triggered_at >= ?2"
			"   AND status != 'skipped')"
			" + (SELECT count(*) FROM execution_tally WHERE component_id = ?1 AND triggered_at >= ?2)");
	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_text(st, 2, since, -1, SQLITE_TRANSIENT);
	if (environment_id)
		sqlite3_bind_int64(st, 3, environment_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

int execution_list(const struct principal *who, const char *project, const char *component,
		   const char *env, int running, int limit, int64_t before, json_t **ret,
		   struct ferr *e)
{
	int64_t pid, cid, eid = 0;
	sqlite3_stmt *st;
	json_t *arr;
	int rc;

	if (component_lookup(who, project, component, &pid, &cid, e) < 0 ||
	    (env && env_lookup(pid, env, &eid, e) < 0))
		return -1;
	if (limit < 1 || limit > 500)
		return ferr_invalid(e, "limit must be from 1 to 500");
	if (before <= 0)
		before = INT64_MAX;
	/* one statement per shape, so that each uses its own index */
	if (eid && running)
		st = store_stmt("SELECT " EXEC_COLUMNS EXEC_FROM_OPEN " WHERE x.component_id = ?1"
				" AND x.environment_id = ?2 AND x.status IN ('pending','running')"
				" AND x.id < ?3 ORDER BY x.id DESC LIMIT ?4");
	else if (eid)
		st = store_stmt("SELECT " EXEC_COLUMNS EXEC_FROM " WHERE x.component_id = ?1"
				" AND x.environment_id = ?2 AND x.id < ?3 ORDER BY x.id DESC LIMIT ?4");
	else if (running)
		st = store_stmt("SELECT " EXEC_COLUMNS EXEC_FROM_OPEN " WHERE x.component_id = ?1"
				" AND x.status IN ('pending','running') AND ?2 = 0"
				" AND x.id < ?3 ORDER BY x.id DESC LIMIT ?4");
	else
		st = store_stmt("SELECT " EXEC_COLUMNS EXEC_FROM " WHERE x.component_id = ?1 AND ?2 = 0"
				" AND x.id < ?3 ORDER BY x.id DESC LIMIT ?4");
	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_int64(st, 2, eid);
	sqlite3_bind_int64(st, 3, before);
	sqlite3_bind_int(st, 4, limit);
	arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, exec_row(st));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return store_error(e, "list executions");
	}
	*ret = json_pack("{s:o, s:I}", "executions", arr, "last_30_days",
			 (json_int_t)execution_count_30d(cid, eid, time(NULL)));
	return 0;
}

int execution_count(const struct principal *who, const char *project, const char *component,
		    const char *env, json_t **ret, struct ferr *e)
{
	int64_t pid, cid, eid = 0;

	if (component_lookup(who, project, component, &pid, &cid, e) < 0 ||
	    (env && env_lookup(pid, env, &eid, e) < 0))
		return -1;
	*ret = json_pack("{s:I}", "last_30_days", (json_int_t)execution_count_30d(cid, eid, time(NULL)));
	return 0;
}

int execution_show(const struct principal *who, int64_t id, json_t **ret, struct ferr *e)
{
	return exec_visible(who, id, ret, e);
}

int execution_log_read(const struct principal *who, int64_t id, int64_t after, int limit,
		       json_t **ret, struct ferr *e)
{
	json_t *j;

	if (exec_visible(who, id, &j, e) < 0)
		return -1;
	json_decref(j);
	return eventlog_read(&execution_log, id, after, limit, ret, e);
}

/* Moves execution id to a final status (only from pending or running).
 * exit_code < 0: none. Returns 1 if it moved, 0 if it had already ended. */
static int exec_finish(int64_t id, enum execution_status status, int exit_code, const char *reason)
{
	struct ferr e = FERR_INIT;

	if (execution_transition(id, status, exit_code, reason, &e) < 0) {
		if (e.status != 409)
			log_warnx("event=execution_update_failed execution=%lld err=\"%s\"", (long long)id,
				  e.msg);
		return 0;
	}
	log_info("event=execution_finished execution=%lld status=%s exit_code=%d", (long long)id,
		 status_name(&execution_statuses, status), exit_code);
	if (status == EXECUTION_FAILED || status == EXECUTION_TIMED_OUT)
		event_publish(EVENT_EXECUTION_FAILED, id);
	return 1;
}

int execution_cancel(const struct principal *who, int64_t id, json_t **ret, struct ferr *e)
{
	const char *status;
	char why[128];
	json_t *j;

	if (exec_visible(who, id, &j, e) < 0)
		return -1;
	if (auth_require_write(who, e) < 0) {
		json_decref(j);
		return -1;
	}
	status = json_string_value(json_object_get(j, "status"));
	if (execution_status_final(status)) {
		ferr_conflict(e, "execution %lld already ended (%s)", (long long)id, status);
		json_decref(j);
		return -1;
	}
	json_decref(j);
	snprintf(why, sizeof(why), "cancelled by %s", who->name);
	/* a pending one that no runner has taken yet ends here; otherwise its
	 * runner sees the request within a second and stops the container */
	if (execution_cancel_request(id, why, e) < 0)
		return -1;
	kick();
	return exec_load(id, ret, NULL, e);
}

/* ------------------------------------------------------------------ */
/* Retention                                                            */

/* The executions a prune deletes, in batches of ?3: by age (?1: the
 * cut-off) or beyond the newest ?1 of each component and environment.
 * Each selection is written out twice (tally, delete): store_stmt caches
 * statements by their literal. */
struct prune_sql {
	const char *tally;     /* ?2: the 30-day window's start */
	const char *del;
};

static const struct prune_sql prune_by_age = {
	"INSERT INTO execution_tally (component_id, environment_id, triggered_at)"
	" SELECT component_id, environment_id, triggered_at FROM executions WHERE id IN"
	" (SELECT id FROM executions WHERE triggered_at < ?1"
	"  AND status NOT IN ('pending','running') ORDER BY triggered_at, id LIMIT ?3)"
	" AND triggered_at >= ?2 AND status != 'skipped'",
	"DELETE FROM executions WHERE id IN"
	" (SELECT id FROM executions WHERE triggered_at < ?1"
	"  AND status NOT IN ('pending','running') ORDER BY triggered_at, id LIMIT ?3)",
};

static const struct prune_sql prune_by_count = {
	"INSERT INTO execution_tally (component_id, environment_id, triggered_at)"
	" SELECT component_id, environment_id, triggered_at FROM executions WHERE id IN"
	" (SELECT id FROM (SELECT id, status, ROW_NUMBER() OVER (PARTITION BY component_id,"
	"   environment_id ORDER BY id DESC) AS n FROM executions)"
	"  WHERE n > ?1 AND status NOT IN ('pending','running') ORDER BY id LIMIT ?3)"
	" AND triggered_at >= ?2 AND status != 'skipped'",
	"DELETE FROM executions WHERE id IN"
	" (SELECT id FROM (SELECT id, status, ROW_NUMBER() OVER (PARTITION BY component_id,"
	"   environment_id ORDER BY id DESC) AS n FROM executions)"
	"  WHERE n > ?1 AND status NOT IN ('pending','running') ORDER BY id LIMIT ?3)",
};

/* Runs q in batches: ?1 is cutoff (text) or, when cutoff is NULL, keep. */
static long long prune_run(const struct prune_sql *q, const char *cutoff, int keep, time_t now,
			   struct ferr *e)
{
	char window[32];
	long long total = 0;

	fmt_time(now - 30 * 86400, window);
	for (;;) {
		sqlite3_stmt *st;
		int n;

		if (store_begin(e) < 0)
			return -1;
		/* the same batch twice in one transaction: first tallied (those
		 * still inside the 30-day window), then deleted with their logs */
		st = store_stmt(q->tally);
		if (cutoff)
			sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int(st, 1, keep);
		sqlite3_bind_text(st, 2, window, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, PRUNE_BATCH);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_reset(st);
			store_error(e, "tally pruned executions");
			store_rollback();
			return -1;
		}
		sqlite3_reset(st);
		st = store_stmt(q->del);
		if (cutoff)
			sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int(st, 1, keep);
		sqlite3_bind_int(st, 3, PRUNE_BATCH);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_reset(st);
			store_error(e, "prune executions");
			store_rollback();
			return -1;
		}
		n = sqlite3_changes(store_db());
		sqlite3_reset(st);
		st = store_stmt("DELETE FROM execution_tally WHERE triggered_at < ?");
		sqlite3_bind_text(st, 1, window, -1, SQLITE_STATIC);
		if (store_run(st, "prune the execution tally", e) < 0) {
			store_rollback();
			return -1;
		}
		if (store_commit(e) < 0)
			return -1;
		total += n;
		if (n < PRUNE_BATCH)
			break;
	}
	return total;
}

long long execution_prune(int days, time_t now, struct ferr *e)
{
	char cutoff[32];

	if (days < 1)
		return ferr_invalid(e, "retention must be at least one day");
	fmt_time(now - (time_t)days * 86400, cutoff);
	return prune_run(&prune_by_age, cutoff, 0, now, e);
}

long long execution_prune_beyond(int keep, time_t now, struct ferr *e)
{
	if (keep < 1)
		return ferr_invalid(e, "at least one execution is kept");
	return prune_run(&prune_by_count, NULL, keep, now, e);
}

/* ------------------------------------------------------------------ */
/* Runner                                                               */

struct runner {
	int64_t id;
	pthread_t thread;
	atomic_int done;
};

static struct {
	pthread_mutex_t lock;
	pthread_t thread;
	struct runner *runners[EXECUTION_MAX_RUNNING];
	int nrunners;
	atomic_int stop;
	int started;
	int retention_days;
} ex = { .lock = PTHREAD_MUTEX_INITIALIZER };

enum ending { END_NONE, END_STOP, END_CANCEL, END_TIMEOUT };

struct follow_ctx {
	int64_t id;
	time_t deadline;
	long long next_check_ms;
	struct eventlog_cap cap;   /* EXECUTION_LOG_MAX */
	enum ending ending;
	char reason[256];
};

/* Cancel requested (with its reason)? */
static int cancel_requested(int64_t id, char *reason, size_t size)
{
	sqlite3_stmt *st = store_stmt("SELECT cancel_requested, reason FROM executions WHERE id = ?");
	int yes = 0;

	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		yes = sqlite3_column_int(st, 0);
		if (yes && reason)
			snprintf(reason, size, "%s", sqlite3_column_text(st, 1) ?
				 (const char *)sqlite3_column_text(st, 1) : "cancelled");
	}
	sqlite3_reset(st);
	return yes;
}

/* Stop, cancel or timeout? Sets c->ending. */
static int should_end(struct follow_ctx *c)
{
	if (atomic_load(&ex.stop)) {
		c->ending = END_STOP;
		return 1;
	}
	if (cancel_requested(c->id, c->reason, sizeof(c->reason))) {
		c->ending = END_CANCEL;
		return 1;
	}
	if (time(NULL) >= c->deadline) {
		c->ending = END_TIMEOUT;
		return 1;
	}
	return 0;
}

static void log_store(int64_t id, const char *line, size_t len)
{
	struct ferr e = FERR_INIT;

	if (eventlog_append(&execution_log, id, NULL, line, len, &e) < 0)
		log_warnx("event=execution_log_failed execution=%lld err=\"%s\"", (long long)id, e.msg);
}

static int on_line(const char *line, size_t len, void *arg)
{
	struct follow_ctx *c = arg;
	long long now = mono_ms();

	if (line) {
		static const char msg[] = "[ferry: output over 10 MiB; the rest is not stored]";
		int fits = eventlog_cap_take(&c->cap, len + 1); /* a line and its newline */

		if (fits == 1)
			log_store(c->id, line, len);
		else if (fits == 0)
			log_store(c->id, msg, sizeof(msg) - 1);
		/* a chatty task gets no ticks: check now and then anyway */
		if (now < c->next_check_ms)
			return 0;
	}
	c->next_check_ms = now + CHECK_MS;
	return should_end(c);
}

/* The container of execution id: the stored one, else one labelled with
 * its deployment and slot (started just before a crash). 0 and ret_id
 * filled, 1 if there is none, -1 with e set. */
static int find_container(struct runtime *rt, int64_t id, int64_t dep, const char *stored,
			  char ret_id[65], struct ferr *e)
{
	struct runtime_replica_list l = RUNTIME_REPLICA_LIST_INIT;
	struct runtime_filter f = { NULL, NULL, NULL, dep };
	int rc = 1;

	if (stored) {
		struct runtime_replica r;
		struct ferr ie = FERR_INIT;
		if (runtime_inspect(rt, stored, &r, &ie) == 0) {
			memcpy(ret_id, r.id, sizeof(r.id));
			return 0;
		}
		if (ie.status != 404) {
			*e = ie;
			return -1;
		}
	}
	if (runtime_list(rt, &f, &l, e) < 0)
		return -1;
	for (size_t i = 0; i < l.n; i++) {
		if (l.items[i].task && l.items[i].replica == (int)id) {
			memcpy(ret_id, l.items[i].id, sizeof(l.items[i].id));
			rc = 0;
			break;
		}
	}
	runtime_replica_list_release(&l);
	return rc;
}

static void set_container(int64_t id, const char *cid)
{
	sqlite3_stmt *st = store_stmt("UPDATE executions SET container = ? WHERE id = ?");

	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	store_run_logged(st, "record the execution's container");
}

/* Waits for the engine's runtime driver; NULL (with e) after
 * RUNTIME_WAIT_S, when ferryd stops or the execution is cancelled. */
static struct runtime *runtime_get(int64_t id, char *reason, size_t size, struct ferr *e)
{
	long long deadline = mono_ms() + RUNTIME_WAIT_S * 1000LL;

	for (;;) {
		struct runtime *rt;
		ferr_clear(e);
		rt = rollout_runtime(e);
		if (rt)
			return rt;
		if (atomic_load(&ex.stop) || cancel_requested(id, reason, size) || mono_ms() > deadline)
			return NULL;
		usleep(200 * 1000);
	}
}

static void run_execution(int64_t id)
{
	struct follow_ctx c = { .id = id, .cap = EVENTLOG_CAP(EXECUTION_LOG_MAX) };
	struct ferr e = FERR_INIT;
	struct runtime *rt;
	sqlite3_stmt *st;
	char status[16] = "", stored[65] = "", cid[65] = "";
	char **argv = NULL;
	json_t *args = NULL;
	int64_t dep = 0;
	int timeout_s = EXECUTION_TIMEOUT_DEFAULT, reattach, rc, code;
	time_t started = 0;

	st = store_stmt("SELECT status, deployment_id, timeout_s, started_at, container, args"
			" FROM executions WHERE id = ?");
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(status, sizeof(status), "%s", sqlite3_column_text(st, 0));
		dep = sqlite3_column_int64(st, 1);
		timeout_s = sqlite3_column_int(st, 2);
		started = parse_time((const char *)sqlite3_column_text(st, 3));
		if (sqlite3_column_text(st, 4))
			snprintf(stored, sizeof(stored), "%s", sqlite3_column_text(st, 4));
		args = json_loads((const char *)sqlite3_column_text(st, 5), 0, NULL);
	}
	sqlite3_reset(st);
	if (execution_status_final(status[0] ? status : "gone"))
		goto out;
	reattach = !strcmp(status, "running");
	if (!reattach && cancel_requested(id, c.reason, sizeof(c.reason))) {
		exec_finish(id, EXECUTION_CANCELLED, -1, NULL);
		goto out;
	}
	rt = runtime_get(id, c.reason, sizeof(c.reason), &e);
	if (!rt) {
		if (atomic_load(&ex.stop))
			goto out;
		if (cancel_requested(id, c.reason, sizeof(c.reason)))
			exec_finish(id, EXECUTION_CANCELLED, -1, NULL);
		else
			exec_finish(id, reattach ? EXECUTION_INTERRUPTED : EXECUTION_FAILED, -1, e.msg);
		goto out;
	}
	if (!reattach) {
		ferr_clear(&e);
		if (execution_transition(id, EXECUTION_RUNNING, -1, NULL, &e) < 0) {
			/* 409: cancelled or ended meanwhile */
			if (e.status != 409)
				log_warnx("event=execution_update_failed execution=%lld err=\"%s\"",
					  (long long)id, e.msg);
			goto out;
		}
		started = time(NULL);
	}
	if (!started)
		started = time(NULL);
	c.deadline = started + timeout_s;
	rc = find_container(rt, id, dep, stored[0] ? stored : NULL, cid, &e);
	if (rc < 0) {
		/* the runtime answered with an error: try again at the next pass */
		log_warnx("event=execution_find_failed execution=%lld err=\"%s\"", (long long)id, e.msg);
		sleep(1);
		goto out;
	}
	if (rc == 1 && reattach && stored[0]) {
		exec_finish(id, EXECUTION_INTERRUPTED, -1,
			    "its container is gone: it was removed while ferryd was not watching it");
		goto out;
	}
	if (rc == 1) {
		size_t n = json_array_size(args);
		if (n) {
			argv = calloc(n + 1, sizeof(*argv));
			if (!argv)
				abort();
			for (size_t i = 0; i < n; i++)
				argv[i] = (char *)json_string_value(json_array_get(args, i));
		}
		if (rollout_task_start(dep, id, (const char *const *)argv, cid, &e) < 0) {
			exec_finish(id, EXECUTION_FAILED, -1, e.msg);
			goto out;
		}
		set_container(id, cid);
		log_info("event=execution_started execution=%lld deployment=%lld container=%.12s",
			 (long long)id, (long long)dep, cid);
	} else {
		/* podman keeps the container's whole output: read it again */
		st = store_stmt("DELETE FROM execution_logs WHERE execution_id = ?");
		sqlite3_bind_int64(st, 1, id);
		store_run_logged(st, "drop the execution's log before reading it again");
		if (!stored[0])
			set_container(id, cid);
		log_info("event=execution_reattached execution=%lld container=%.12s", (long long)id, cid);
	}
	c.next_check_ms = mono_ms() + CHECK_MS;
	if (!should_end(&c)) {
		ferr_clear(&e);
		if (runtime_logs(rt, cid, 1, on_line, &c, &e) < 0)
			log_warnx("event=execution_logs_failed execution=%lld err=\"%s\"", (long long)id, e.msg);
	}
	switch (c.ending) {
	case END_STOP:
		goto out;   /* the container runs on; the next ferryd re-attaches */
	case END_CANCEL:
	case END_TIMEOUT: {
		char why[300];
		ferr_clear(&e);
		if (runtime_stop_replica(rt, cid, GRACE_S, &e) < 0)
			log_warnx("event=execution_stop_failed execution=%lld err=\"%s\"", (long long)id, e.msg);
		if (c.ending == END_TIMEOUT) {
			snprintf(why, sizeof(why), "killed after its timeout of %d s", timeout_s);
			exec_finish(id, EXECUTION_TIMED_OUT, -1, why);
		} else {
			exec_finish(id, EXECUTION_CANCELLED, -1, c.reason);
		}
		goto out;
	}
	case END_NONE:
		break;
	}
	ferr_clear(&e);
	code = runtime_wait(rt, cid, 30000, &e);
	if (code < 0) {
		char why[1200];
		snprintf(why, sizeof(why), "its exit status is unknown: %s%s", e.msg,
			 e.status == 404 ? " (the container was removed, e.g. by an undeploy)" : "");
		exec_finish(id, EXECUTION_INTERRUPTED, -1, why);
	} else {
		exec_finish(id, code == 0 ? EXECUTION_SUCCEEDED : EXECUTION_FAILED, code, NULL);
	}
	ferr_clear(&e);
	if (runtime_stop_replica(rt, cid, 0, &e) < 0)
		log_warnx("event=execution_cleanup_failed execution=%lld err=\"%s\"", (long long)id, e.msg);
out:
	free(argv);
	json_decref(args);
}

static void *runner_main(void *arg)
{
	struct runner *r = arg;

	run_execution(r->id);
	atomic_store(&r->done, 1);
	kick();
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Dispatcher                                                           */

static int has_runner_locked(int64_t id)
{
	for (int i = 0; i < ex.nrunners; i++)
		if (ex.runners[i]->id == id)
			return 1;
	return 0;
}

static void reap_runners(int all)
{
	for (;;) {
		struct runner *r = NULL;

		pthread_mutex_lock(&ex.lock);
		for (int i = 0; i < ex.nrunners; i++) {
			if (all || atomic_load(&ex.runners[i]->done)) {
				r = ex.runners[i];
				ex.runners[i] = ex.runners[--ex.nrunners];
				break;
			}
		}
		pthread_mutex_unlock(&ex.lock);
		if (!r)
			return;
		pthread_join(r->thread, NULL);
		free(r);
	}
}

/* Gives every pending or running execution a runner, oldest first. A
 * pending one that was asked to cancel ends here without one. */
static void dispatch(void)
{
	sqlite3_stmt *st = store_stmt("SELECT id, status, cancel_requested FROM executions"
				      " INDEXED BY executions_open"
				      " WHERE status IN ('pending','running') ORDER BY id LIMIT 256");
	int64_t ids[256], cancel[256];
	int n = 0, nc = 0;

	while (sqlite3_step(st) == SQLITE_ROW && n < 256) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (!strcmp((const char *)sqlite3_column_text(st, 1), "pending") &&
		    sqlite3_column_int(st, 2))
			cancel[nc++] = id;
		else
			ids[n++] = id;
	}
	sqlite3_reset(st);
	for (int i = 0; i < nc; i++) {
		pthread_mutex_lock(&ex.lock);
		int busy = has_runner_locked(cancel[i]);
		pthread_mutex_unlock(&ex.lock);
		if (!busy)
			exec_finish(cancel[i], EXECUTION_CANCELLED, -1, NULL);
	}
	for (int i = 0; i < n && !atomic_load(&ex.stop); i++) {
		struct runner *r;

		pthread_mutex_lock(&ex.lock);
		if (has_runner_locked(ids[i]) || ex.nrunners == EXECUTION_MAX_RUNNING) {
			pthread_mutex_unlock(&ex.lock);
			continue;
		}
		r = calloc(1, sizeof(*r));
		if (!r)
			abort();
		r->id = ids[i];
		if (pthread_create(&r->thread, NULL, runner_main, r) != 0) {
			pthread_mutex_unlock(&ex.lock);
			log_warnx("event=execution_runner_failed execution=%lld", (long long)ids[i]);
			free(r);
			break;
		}
		ex.runners[ex.nrunners++] = r;
		pthread_mutex_unlock(&ex.lock);
	}
}

static void *dispatcher(void *arg)
{
	time_t next_prune = 0;

	(void)arg;
	while (!atomic_load(&ex.stop)) {
		struct timespec ts;

		reap_runners(0);
		dispatch();
		if (time(NULL) >= next_prune) {
			struct ferr e = FERR_INIT;
			long long n = execution_prune(ex.retention_days, time(NULL), &e);
			if (n < 0)
				log_warnx("event=execution_prune_failed err=\"%s\"", e.msg);
			else if (n > 0)
				log_info("event=executions_pruned count=%lld retention_days=%d", n,
					 ex.retention_days);
			next_prune = time(NULL) + PRUNE_EVERY_S;
		}
		pthread_mutex_lock(&kick_lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += DISPATCH_MS / 1000;
		while (!kicked && !atomic_load(&ex.stop))
			if (pthread_cond_timedwait(&kick_cond, &kick_lock, &ts) == ETIMEDOUT)
				break;
		kicked = 0;
		pthread_mutex_unlock(&kick_lock);
	}
	return NULL;
}

int execution_start(const struct execution_options *o, struct ferr *e)
{
	if (ex.started)
		return ferr_internal(e, "execution_start called twice");
	ex.retention_days = o && o->retention_days > 0 ? o->retention_days : 90;
	atomic_store(&ex.stop, 0);
	if (pthread_create(&ex.thread, NULL, dispatcher, NULL) != 0)
		return ferr_internal(e, "cannot start the execution dispatcher thread");
	ex.started = 1;
	return 0;
}

void execution_stop(void)
{
	if (!ex.started)
		return;
	atomic_store(&ex.stop, 1);
	kick();
	pthread_join(ex.thread, NULL);
	reap_runners(1);
	ex.started = 0;
}
