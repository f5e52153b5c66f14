/* execution_record: executions of runs the cluster started (see
 * execution_record.h). */
#include "core/execution_record.h"

#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "store/store.h"
#include "lib/banned.h"

int64_t execution_record_cluster_run(int64_t component_id, int64_t environment_id,
				     int64_t deployment_id, time_t slot, const char *by,
				     struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(
		"INSERT OR IGNORE INTO executions (component_id, project_id, environment_id, deployment_id,"
		" commit_sha, trigger, triggered_by, triggered_at, scheduled_for, status, timeout_s)"
		" SELECT c.id, c.project_id, d.environment_id, d.id, d.commit_sha, 'schedule', ?4, ?5, ?6,"
		"  'pending', c.task_timeout"
		" FROM components c JOIN deployments d ON d.component_id = c.id"
		" WHERE c.id = ?1 AND d.id = ?3 AND d.environment_id = ?2");
	char now[32];
	int64_t id = 0;
	int rc, added;

	store_now(now);
	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_int64(st, 2, environment_id);
	sqlite3_bind_int64(st, 3, deployment_id);
	sqlite3_bind_text(st, 4, by, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)slot);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(e, "record a scheduled run");
	added = sqlite3_changes(store_db());
	st = store_stmt("SELECT id FROM executions WHERE component_id = ? AND environment_id = ?"
			" AND scheduled_for = ?");
	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_int64(st, 2, environment_id);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)slot);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (added && id)
		log_info("event=execution_queued execution=%lld component=%lld environment=%lld "
			 "trigger=schedule by=\"%s\" slot=%lld", (long long)id, (long long)component_id,
			 (long long)environment_id, by, (long long)slot);
	return id;
}

int execution_record_slot(int64_t id, time_t *slot, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT trigger, scheduled_for FROM executions WHERE id = ?");
	int rc, yes = 0;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 1) != SQLITE_NULL &&
	    sqlite3_column_text(st, 0) && !strcmp((const char *)sqlite3_column_text(st, 0), "schedule")) {
		*slot = (time_t)sqlite3_column_int64(st, 1);
		yes = 1;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(e, "read execution");
	return yes;
}

void execution_record_times(int64_t id, const char *started_at, const char *finished_at)
{
	sqlite3_stmt *st = store_stmt(
		"UPDATE executions SET started_at = coalesce(?2, started_at),"
		" finished_at = coalesce(?3, finished_at)"
		" WHERE id = ?1 AND status NOT IN ('pending','running')"
		" AND (started_at IS NOT ?2 OR finished_at IS NOT ?3)");

	sqlite3_bind_int64(st, 1, id);
	if (started_at)
		sqlite3_bind_text(st, 2, started_at, -1, SQLITE_STATIC);
	if (finished_at)
		sqlite3_bind_text(st, 3, finished_at, -1, SQLITE_STATIC);
	store_run_logged(st, "set the execution's times from the cluster's");
}
