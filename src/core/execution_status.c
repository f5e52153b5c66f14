/* An execution's status as a state machine (core/execution.h):
 *
 *   pending → running → succeeded | failed | timed-out | cancelled | interrupted
 *           ↘ failed | cancelled   (it never started)
 *   skipped is inserted as such and never moves.
 */
#include "core/execution.h"

#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "store/transition.h"
#include "lib/banned.h"

static const char *const names[EXECUTION__STATUS_COUNT] = {
	[EXECUTION_PENDING] = "pending",
	[EXECUTION_RUNNING] = "running",
	[EXECUTION_SUCCEEDED] = "succeeded",
	[EXECUTION_FAILED] = "failed",
	[EXECUTION_TIMED_OUT] = "timed-out",
	[EXECUTION_CANCELLED] = "cancelled",
	[EXECUTION_SKIPPED] = "skipped",
	[EXECUTION_INTERRUPTED] = "interrupted",
};

#define BIT(s) STATUS_BIT(s)
static const unsigned allowed_from[EXECUTION__STATUS_COUNT] = {
	[EXECUTION_RUNNING] = BIT(EXECUTION_PENDING),
	[EXECUTION_SUCCEEDED] = BIT(EXECUTION_RUNNING),
	[EXECUTION_FAILED] = BIT(EXECUTION_PENDING) | BIT(EXECUTION_RUNNING),
	[EXECUTION_TIMED_OUT] = BIT(EXECUTION_RUNNING),
	[EXECUTION_CANCELLED] = BIT(EXECUTION_PENDING) | BIT(EXECUTION_RUNNING),
	[EXECUTION_INTERRUPTED] = BIT(EXECUTION_RUNNING),
};
#undef BIT

const struct status_machine execution_statuses = {
	"execution", EXECUTION__STATUS_COUNT, names, allowed_from,
};

int execution_status_final(const char *s)
{
	return status_final(&execution_statuses, s);
}

int execution_transition(int64_t id, enum execution_status to, int exit_code, const char *reason,
			 struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(
		"UPDATE executions SET status = ?1,"
		" started_at = CASE WHEN ?1 = 'running' THEN ?2 ELSE started_at END,"
		" finished_at = CASE WHEN ?1 = 'running' THEN finished_at ELSE ?2 END,"
		" reason = coalesce(?3, reason), exit_code = coalesce(?6, exit_code)"
		" WHERE id = ?4 AND instr(?5, ',' || status || ',') > 0");

	if (exit_code >= 0)
		sqlite3_bind_int(st, 6, exit_code);
	return status_update(&execution_statuses, id, STATUS_ANY, (int)to, reason, st,
			     store_stmt("SELECT status FROM executions WHERE id = ?"), 0, e);
}

int execution_cancel_request(int64_t id, const char *why, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("UPDATE executions SET cancel_requested = 1, reason = ? WHERE id = ?"
				      " AND status IN ('pending','running')");
	sqlite3_stmt *cur;
	int changed;

	sqlite3_bind_text(st, 1, why, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_error(e, "cancel execution");
		sqlite3_reset(st);
		return -1;
	}
	changed = sqlite3_changes(store_db());
	sqlite3_reset(st);
	if (changed == 1)
		return 0;
	/* it ended after the caller looked (or never was) */
	cur = store_stmt("SELECT status FROM executions WHERE id = ?");
	sqlite3_bind_int64(cur, 1, id);
	if (sqlite3_step(cur) != SQLITE_ROW)
		ferr_notfound(e, "execution %lld not found", (long long)id);
	else
		ferr_conflict(e, "execution %lld already ended (%s)", (long long)id,
			      (const char *)sqlite3_column_text(cur, 0));
	sqlite3_reset(cur);
	return -1;
}
