/* A build's status as a state machine (core/build.h):
 *
 *   queued → running → succeeded | failed | cancelled
 *          ↘ failed | cancelled   (never started: cancelled, its job could
 *                                  not be queued, or it was lost in a crash)
 */
#include "build.h"

#include <stdio.h>
#include <string.h>

#include "lib/wake.h"
#include "sched/jobqueue.h"
#include "store/store.h"
#include "store/transition.h"
#include "lib/banned.h"

static const char *const names[BUILD__STATUS_COUNT] = {
	[BUILD_QUEUED] = "queued",
	[BUILD_RUNNING] = "running",
	[BUILD_SUCCEEDED] = "succeeded",
	[BUILD_FAILED] = "failed",
	[BUILD_CANCELLED] = "cancelled",
};

#define BIT(s) STATUS_BIT(s)
static const unsigned allowed_from[BUILD__STATUS_COUNT] = {
	[BUILD_RUNNING] = BIT(BUILD_QUEUED),
	[BUILD_SUCCEEDED] = BIT(BUILD_RUNNING),
	[BUILD_FAILED] = BIT(BUILD_QUEUED) | BIT(BUILD_RUNNING),
	[BUILD_CANCELLED] = BIT(BUILD_QUEUED) | BIT(BUILD_RUNNING),
};
#undef BIT

const struct status_machine build_statuses = {
	"build", BUILD__STATUS_COUNT, names, allowed_from,
};

int build_status_final(const char *s)
{
	return status_final(&build_statuses, s);
}

/* build_transition narrowed to the previous states in only (bits). */
static int transition(int64_t id, unsigned only, enum build_status to, const char *error,
		      struct ferr *e)
{
	/* a build's end is recorded even on a full disk (store/reserve.h) */
	return status_update(&build_statuses, id, only, (int)to, error, store_stmt(
		"UPDATE builds SET status = ?1,"
		" started_at = CASE WHEN ?1 = 'running' THEN ?2 ELSE started_at END,"
		" finished_at = CASE WHEN ?1 = 'running' THEN finished_at ELSE ?2 END,"
		" error = coalesce(?3, error) WHERE id = ?4 AND instr(?5, ',' || status || ',') > 0"),
		store_stmt("SELECT status FROM builds WHERE id = ?"), to != BUILD_RUNNING, e);
}

int build_transition(int64_t id, enum build_status to, const char *error, struct ferr *e)
{
	return transition(id, STATUS_ANY, to, error, e);
}

int build_cancel_request(int64_t id, struct ferr *e)
{
	sqlite3_stmt *st;
	struct ferr te = FERR_INIT;
	char now[32], status[16];
	int64_t job = 0;

	st = store_stmt("SELECT job_id FROM builds WHERE id = ?");
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		job = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	/* the job first: a queued one is then never claimed, a running one's
	 * run stops and ends the build cancelled; one that ended meanwhile is
	 * fine (the build row says what happened) */
	if (job) {
		struct ferr je = FERR_INIT;
		if (jobq_cancel(job, 0, &je) < 0 && je.status != 409)
			return ferr_set(e, je.status, je.code, "%s", je.msg);
	}
	/* a build still queued ends here, with its pending steps, or neither */
	if (store_begin(e) < 0)
		return -1;
	if (transition(id, STATUS_BIT(BUILD_QUEUED), BUILD_CANCELLED, "cancelled before it started", &te) == 0) {
		store_now(now);
		st = store_stmt("UPDATE build_steps SET status = 'cancelled', finished_at = ?"
				" WHERE build_id = ? AND status = 'pending'");
		sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, id);
		if (store_run(st, "cancel build", e) < 0) {
			store_rollback();
			return -1;
		}
		if (store_commit(e) < 0)
			return -1;
		wake_all(); /* a follower (ferry build --wait) learns the end at once */
		return 0;
	}
	store_rollback();
	if (te.status != 409)
		return ferr_set(e, te.status, te.code, "%s", te.msg);
	/* not queued: running (its run was asked to stop above, it ends the
	 * build) or ended (a final status stays as it is) */
	if (build_status(id, status, NULL, e) < 0)
		return -1;
	if (build_status_final(status))
		return ferr_conflict(e, "build %lld already ended (%s)", (long long)id, status);
	return 0;
}
