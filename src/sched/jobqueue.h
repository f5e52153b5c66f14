/* jobqueue: the durable job queue.
 *
 * Jobs live in the store's jobs table, so queued work survives a restart.
 * Worker threads claim the oldest queued job whose kind is under its
 * concurrency limit (the claim is one guarded UPDATE, so no job runs twice)
 * and call the kind's run function. At start, jobs left 'running' by a
 * crash are re-queued (kinds that are safe to run again) or marked
 * 'interrupted', with the reason stored either way.
 */
#ifndef FERRY_JOBQUEUE_H
#define FERRY_JOBQUEUE_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "lib/error.h"
#include "store/transition.h"

struct job {
	int64_t id;
	const struct job_kind *kind;
	json_t *payload;          /* borrowed for the run */
	int64_t project_id;       /* 0: none */
	atomic_int cancelled;     /* set by jobq_cancel and at shutdown */
	void *run_state;          /* for the kind's cancel hook */
};

struct job_kind {
	const char *name;
	int limit;                /* at most this many running at once (>= 1) */
	int requeue_on_restart;   /* run again after a crash, else 'interrupted' */
	/* Does the work. Returns 0 (succeeded) or -1 with e's message stored as
	 * the reason (failed; or cancelled when job->cancelled is set). */
	int (*run)(struct job *job, struct ferr *e);
	/* Optional: called from another thread when the job is cancelled, to
	 * interrupt blocking work (e.g. kill a child's process group). */
	void (*cancel)(struct job *job);
	/* 1: never refused by the cap on queued jobs (undeploy: a clean-up,
	 * at most one per deployment, must not wait behind a flood). */
	int uncapped;
};

/* The cap on queued work per project and kind: at most this many jobs of
 * one kind (and, in core/execution, executions) of one project waiting to
 * start; running ones do not count. ferryd --max-queued-jobs. */
#define JOBQ_MAX_QUEUED_DEFAULT 50
#define JOBQ_MAX_QUEUED_LIMIT 100000
/* Sets the cap (1 .. JOBQ_MAX_QUEUED_LIMIT; other values are clamped).
 * Call at start, before any submit. */
void jobq_set_max_queued(int n);
int jobq_max_queued(void);
/* The refusal of work over the cap: -1 with e set to 429 too_many_queued,
 * "project P has N queued KIND jobs already (the cap per project and kind;
 * ferryd --max-queued-jobs)", retry_after set. project is the project's
 * name (NULL: looked up by project_id). */
int jobq_refuse_over_cap(int64_t project_id, const char *project, const char *what,
			 long long queued, struct ferr *e);
/* 0 when project_id may queue one more job of kind now (fewer than the
 * cap queued; always for an uncapped kind or project 0), else -1 with e
 * set as jobq_refuse_over_cap does (or the store's error). For a caller
 * that refuses before it writes its own rows; jobq_submit checks again. */
int jobq_check_cap(const char *kind, int64_t project_id, struct ferr *e);

/* Registers a kind. Call before jobq_start. kind must outlive the queue. */
void jobq_register(const struct job_kind *kind);

/* Recovers jobs a crash left running, then starts n worker threads. */
int jobq_start(int nworkers, struct ferr *e);

/* Cancels running jobs (they are re-queued or interrupted, as after a crash,
 * with reason "ferryd stopped") and joins the workers. */
void jobq_stop(void);

/* Queues a job (payload: a JSON object, copied). A job of a project
 * (project_id > 0) whose kind is capped is refused while the project has
 * the cap's number of that kind queued: the count and the insert are one
 * statement, so concurrent submits cannot pass it together. Returns the
 * job id (> 0) or -1 with e set (429 over the cap, see
 * jobq_refuse_over_cap). */
int64_t jobq_submit(const char *kind, json_t *payload, int64_t project_id,
		    const char *created_by, struct ferr *e);

/* Cancels a queued (at once) or running (asks the run to stop) job.
 * 409 if it already ended; 404 if unknown or not visible with scope. */
int jobq_cancel(int64_t id, int64_t scope_project_id, struct ferr *e);

/* The job as JSON (id, kind, status, reason, attempts, payload, times). */
int jobq_show(int64_t id, int64_t scope_project_id, json_t **ret, struct ferr *e);

/* Log lines after after_id, at most limit; *ret is an array of
 * {id, ts, text}. */
int jobq_log_read(int64_t id, int64_t after_id, int limit, json_t **ret, struct ferr *e);

/* Appends a line to the job's log (stored at once, so followers see it). */
void job_log(struct job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True once the job was asked to stop. */
static inline int job_cancelled(struct job *job) { return atomic_load(&job->cancelled); }

/* True if the status is final (succeeded, failed, cancelled, interrupted). */
int job_status_final(const char *status);

/* A job's status: the column jobs.status, typed (sched/job_status.c). */
enum job_status {
	JOB_QUEUED,
	JOB_RUNNING,
	JOB_SUCCEEDED,
	JOB_FAILED,
	JOB_CANCELLED,
	JOB_INTERRUPTED,
	JOB__STATUS_COUNT
};

/* Its names and allowed moves (store/transition.h):
 *   queued → running | cancelled
 *   running → succeeded | failed | cancelled | interrupted | queued
 *   (the last two when ferryd stopped while it ran). */
extern const struct status_machine job_statuses;

/* The one transition of one job: a single UPDATE whose WHERE names the
 * previous states `to` may be reached from, which must change exactly one
 * row. running counts an attempt and sets started_at; a final status sets
 * finished_at (recorded even on a full disk), cancelled also
 * cancel_requested; reason when given. Returns 0, or -1 with e set: 404 no
 * such job, 409 its status does not allow the move. job_transition_from
 * narrows the previous states to the bits of only (STATUS_BIT(JOB_QUEUED):
 * the caller saw it queued). */
int job_transition(int64_t id, enum job_status to, const char *reason, struct ferr *e);
int job_transition_from(int64_t id, unsigned only, enum job_status to, const char *reason,
			struct ferr *e);

/* What jobq_cancel does once the job is found: a queued job becomes
 * cancelled; a running one is marked cancel_requested and its run told to
 * stop. 409 when it already ended, also when it ended after the caller
 * looked. */
int jobq_cancel_request(int64_t id, struct ferr *e);

#endif
