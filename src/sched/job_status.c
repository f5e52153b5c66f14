/* A job's status as a state machine (sched/jobqueue.h):
 *
 *   queued → running → succeeded | failed | cancelled
 *          ↘ cancelled            ↘ interrupted | queued (ferryd stopped)
 */
#include "sched/jobqueue.h"

#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "store/transition.h"
#include "lib/banned.h"

static const char *const names[JOB__STATUS_COUNT] = {
	[JOB_QUEUED] = "queued",
	[JOB_RUNNING] = "running",
	[JOB_SUCCEEDED] = "succeeded",
	[JOB_FAILED] = "failed",
	[JOB_CANCELLED] = "cancelled",
	[JOB_INTERRUPTED] = "interrupted",
};

#define BIT(s) STATUS_BIT(s)
static const unsigned allowed_from[JOB__STATUS_COUNT] = {
	[JOB_QUEUED] = BIT(JOB_RUNNING),
	[JOB_RUNNING] = BIT(JOB_QUEUED),
	[JOB_SUCCEEDED] = BIT(JOB_RUNNING),
	[JOB_FAILED] = BIT(JOB_RUNNING),
	[JOB_CANCELLED] = BIT(JOB_QUEUED) | BIT(JOB_RUNNING),
	[JOB_INTERRUPTED] = BIT(JOB_RUNNING),
};
#undef BIT

const struct status_machine job_statuses = {
	"job", JOB__STATUS_COUNT, names, allowed_from,
};

int job_status_final(const char *s)
{
	return status_final(&job_statuses, s);
}

int job_transition_from(int64_t id, unsigned only, enum job_status to, const char *reason,
			struct ferr *e)
{
	/* a job's end is recorded even on a full disk (store/reserve.h) */
	return status_update(&job_statuses, id, only, (int)to, reason, store_stmt(
		"UPDATE jobs SET status = ?1,"
		" started_at = CASE WHEN ?1 = 'running' THEN ?2 ELSE started_at END,"
		" attempts = attempts + (?1 = 'running'),"
		" finished_at = CASE WHEN ?1 IN ('queued','running') THEN NULL ELSE ?2 END,"
		" cancel_requested = CASE WHEN ?1 = 'cancelled' THEN 1 ELSE cancel_requested END,"
		" reason = coalesce(?3, reason) WHERE id = ?4 AND instr(?5, ',' || status || ',') > 0"),
		store_stmt("SELECT status FROM jobs WHERE id = ?"), to != JOB_RUNNING, e);
}

int job_transition(int64_t id, enum job_status to, const char *reason, struct ferr *e)
{
	return job_transition_from(id, STATUS_ANY, to, reason, e);
}
