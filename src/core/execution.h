/* execution: runs of task components (scheduled-task, manual-task).
 *
 * An execution is one run of the deployment that is active for a task
 * component in an environment: a row of the executions table with a unique
 * id, its trigger (schedule or manual, and who), trigger time, revision
 * (deployment id and commit), status, exit code, start and end, and its
 * output (execution_logs, stored line by line as it is written).
 *
 *   pending → running → succeeded | failed | timed-out | cancelled
 *                     ↘ interrupted (its container was lost)
 *   skipped: a scheduled run the concurrency policy "forbid" did not start,
 *            or a missed run over the deadline; recorded, never run.
 *
 * The executions table is itself the durable queue: a dispatcher thread
 * gives every pending or running execution a runner thread (at most
 * EXECUTION_MAX_RUNNING at once; the rest wait pending). Tasks do not run on
 * the job queue's workers, because a task may run for its whole timeout
 * (an hour by default) and would starve builds and rollouts there.
 * A runner starts the container (rollout_task_start), stores its output,
 * enforces the timeout and cancellation, records the exit code and removes
 * the container. After ferryd stopped or was killed, the next start gives
 * every running execution a runner again: it re-attaches to the container
 * (still running: follows it to the end; exited meanwhile: collects its
 * output and exit code), starts it if it never started, or marks the
 * execution interrupted with the reason. None stays running.
 *
 * Retention: executions (and their logs) triggered more than
 * retention_days ago are pruned hourly; those pruned while still inside
 * the last 30 days leave a tally row, so the 30-day count stays exact.
 */
#ifndef FERRY_EXECUTION_H
#define FERRY_EXECUTION_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "core/auth.h"
#include "lib/error.h"
#include "store/transition.h"

#define EXECUTION_MAX_RUNNING 32          /* runner threads at once */
#define EXECUTION_LOG_MAX (10u << 20)     /* output stored per execution */
#define EXECUTION_MAX_ARGS 256            /* ferry run -- ARGS… */
#define EXECUTION_TIMEOUT_DEFAULT 3600
#define EXECUTION_TIMEOUT_MAX (7 * 86400)

struct execution_options {
	int retention_days;       /* > 0; default 90 */
};

/* Starts the dispatcher thread (which also prunes hourly). Call after
 * store_open and rollout_start. Returns 0 or -1 with e set. */
int execution_start(const struct execution_options *o, struct ferr *e);
/* Stops following containers: runners return and leave their executions
 * running (the containers keep running; the next start re-attaches). Then
 * joins every thread. Call before rollout_stop. */
void execution_stop(void);

/* ferry run P/C --env E [-- ARGS…]: a manual execution of the deployment
 * active in env (args: NULL or a JSON array of strings, appended to the
 * image's ENTRYPOINT instead of its CMD). Manual runs ignore the
 * concurrency policy, as a Job created from a Kubernetes CronJob does.
 * Developers and admins. *ret is the new execution (pending). 404: no such
 * component or environment; 409: nothing active there; 400: not a task. */
int execution_run(const struct principal *who, const char *project, const char *component,
		  const char *env, json_t *args, json_t **ret, struct ferr *e);

/* The scheduler's trigger: the cron slot `slot` of component_id in
 * environment_id is due. Applies the component's concurrency policy
 * (forbid: recorded as skipped while one runs; allow; replace: running ones
 * are cancelled first). With skip_reason (a missed run too late), records
 * a skipped execution with that reason instead. A slot is recorded at most
 * once (a second call for it is a no-op that returns 0). Returns the new
 * execution id (> 0), 0 if there was nothing to do (no active deployment,
 * slot already recorded), or -1 with e set. */
int64_t execution_fire(int64_t component_id, int64_t environment_id, time_t slot,
		       const char *skip_reason, struct ferr *e);

/* ferry executions P/C [--env E] [--running] [--limit N] [--before ID]:
 * {"executions": [...] newest first, "last_30_days": N}. limit 1..500
 * (default 20); before: only ids below it (paging). Viewers may read. */
int execution_list(const struct principal *who, const char *project, const char *component,
		   const char *env, int running, int limit, int64_t before, json_t **ret,
		   struct ferr *e);

/* {"last_30_days": N} for P/C (optionally in env), as execution_list
 * gives it, without the list. Viewers may read. */
int execution_count(const struct principal *who, const char *project, const char *component,
		    const char *env, json_t **ret, struct ferr *e);

/* Executions of component_id (in environment_id, or 0: every environment)
 * triggered in the 30 days before now, skipped ones not counted; exact
 * also after retention pruned some of them. */
long long execution_count_30d(int64_t component_id, int64_t environment_id, time_t now);

/* ferry execution show ID. 404 if unknown or not visible to who. */
int execution_show(const struct principal *who, int64_t id, json_t **ret, struct ferr *e);

/* ferry execution cancel ID: a pending execution is cancelled at once, a
 * running one is stopped (SIGTERM, SIGKILL after 10 s) by its runner and
 * ends cancelled. 409 if it already ended. *ret is the execution. */
int execution_cancel(const struct principal *who, int64_t id, json_t **ret, struct ferr *e);

/* The output lines of execution id after line id `after`, at most limit:
 * [{"id", "ts", "line"}]. 404 as for show. */
int execution_log_read(const struct principal *who, int64_t id, int64_t after, int limit,
		       json_t **ret, struct ferr *e);

/* Deletes executions (with their logs) triggered before now - days and
 * not pending or running, keeping a tally of those still inside the
 * 30-day window. Returns how many it deleted, or -1 with e set. */
long long execution_prune(int days, time_t now, struct ferr *e);
/* The same for the executions beyond the newest keep of each component
 * and environment (core/history_retention.h). */
long long execution_prune_beyond(int keep, time_t now, struct ferr *e);

/* True if status is final (every status but pending and running). */
int execution_status_final(const char *status);

/* An execution's status: the column executions.status, typed
 * (core/execution_status.c). */
enum execution_status {
	EXECUTION_PENDING,
	EXECUTION_RUNNING,
	EXECUTION_SUCCEEDED,
	EXECUTION_FAILED,
	EXECUTION_TIMED_OUT,
	EXECUTION_CANCELLED,
	EXECUTION_SKIPPED,
	EXECUTION_INTERRUPTED,
	EXECUTION__STATUS_COUNT
};

/* Its names and allowed moves (store/transition.h):
 *   pending → running | failed | cancelled
 *   running → succeeded | failed | timed-out | cancelled | interrupted
 * (skipped never moves). */
extern const struct status_machine execution_statuses;

/* The one transition of one execution: a single UPDATE whose WHERE names
 * the previous states `to` may be reached from, which must change exactly
 * one row. Sets started_at on running, finished_at on a final status,
 * exit_code when >= 0, reason when given. Returns 0, or -1 with e set:
 * 404 no such execution, 409 its status does not allow the move. */
int execution_transition(int64_t id, enum execution_status to, int exit_code, const char *reason,
			 struct ferr *e);

/* What execution_cancel does once access is checked: marks a pending or
 * running execution as asked to cancel, with why as its reason (its runner,
 * or the dispatcher for one that never started, ends it cancelled).
 * Returns 0, or -1 with e set: 409 when it already ended (also when it
 * ended after the caller looked), 404 no such execution. */
int execution_cancel_request(int64_t id, const char *why, struct ferr *e);

#endif
