#include "audit.h"

#include "core/lookup.h"
#include "core/json.h"
#include "lib/log.h"
#include "store/store.h"
#include "lib/banned.h"

void audit_record(const struct principal *who, const char *actor, const char *action,
		  const char *object, const char *project, int status, const char *result)
{
	sqlite3_stmt *st = store_stmt("INSERT INTO audit (ts, actor, role, action, object, project, status, result)"
				      " VALUES (strftime('%Y-%m-%dT%H:%M:%SZ','now'), ?, ?, ?, ?, ?, ?, ?)");

	sqlite3_bind_text(st, 1, who ? who->name : actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, who ? role_name(who->role) : "none", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, object, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, project, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, status);
	sqlite3_bind_text(st, 7, result, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_error("event=audit_failed action=%s err=\"%s\"", action, sqlite3_errmsg(store_db()));
	sqlite3_reset(st);
}

int audit_list(const struct principal *who, const char *project, int limit, json_t **ret,
	       struct ferr *e)
{
	const char *scope = NULL;
	char scoped[64];
	sqlite3_stmt *st;
	json_t *arr;
	int64_t pid;
	int rc;

	if (auth_require_admin(who, e) < 0)
		return -1;
	if (project) {
		if (project_lookup(who, project, &pid, e) < 0)
			return -1;
		scope = project;
	} else if (who->project_id) {
		/* A scoped admin reads its own project's entries only. */
		st = store_stmt("SELECT name FROM projects WHERE id = ?");
		sqlite3_bind_int64(st, 1, who->project_id);
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(scoped, sizeof(scoped), "%s", sqlite3_column_text(st, 0));
		sqlite3_reset(st);
		scope = scoped;
	}
	if (limit <= 0 || limit > 1000)
		limit = 100;
	st = store_stmt("SELECT id, ts, actor, role, action, object, project, status, result FROM audit"
			" WHERE ?1 IS NULL OR project = ?1 ORDER BY id DESC LIMIT ?2");
	sqlite3_bind_text(st, 1, scope, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:i, s:s}",
			"id", (json_int_t)sqlite3_column_int64(st, 0),
			"time", sqlite3_column_text(st, 1),
			"actor", sqlite3_column_text(st, 2),
			"role", sqlite3_column_text(st, 3),
			"action", sqlite3_column_text(st, 4),
			"object", sqlite3_column_text(st, 5),
			"project", json_text_or_null(st, 6),
			"status", sqlite3_column_int(st, 7),
			"result", sqlite3_column_text(st, 8)));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return store_error(e, "read audit log");
	}
	*ret = arr;
	return 0;
}
