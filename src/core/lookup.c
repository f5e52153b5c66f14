/* Names to ids: projects, environments, components; see lookup.h. */
#include "core/lookup.h"

#include "store/store.h"
#include "lib/banned.h"

int project_lookup(const struct principal *who, const char *name, int64_t *ret_id,
		   struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT id FROM projects WHERE name = ?");
	int rc;

	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return auth_require_project(who, *ret_id, name, e);
	if (rc != SQLITE_DONE)
		return store_error(e, "find project");
	return ferr_notfound(e, "project \"%s\" not found", name);
}

int env_lookup(int64_t project_id, const char *name, int64_t *ret_id, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT id FROM environments WHERE project_id = ? AND name = ?");
	int rc;

	sqlite3_bind_int64(st, 1, project_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_error(e, "find environment");
	return ferr_notfound(e, "environment \"%s\" not found", name);
}

int component_lookup(const struct principal *who, const char *project, const char *name,
		     int64_t *ret_project_id, int64_t *ret_id, struct ferr *e)
{
	sqlite3_stmt *st;
	int64_t pid;
	int rc;

	if (project_lookup(who, project, &pid, e) < 0)
		return -1;
	st = store_stmt("SELECT id FROM components WHERE project_id = ? AND name = ?");
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "component \"%s/%s\" not found", project, name);
	if (rc != SQLITE_ROW)
		return store_error(e, "find component");
	if (ret_project_id)
		*ret_project_id = pid;
	return 0;
}

int component_project_id(int64_t component_id, int64_t *ret, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT project_id FROM components WHERE id = ?");
	int rc;

	sqlite3_bind_int64(st, 1, component_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "component %lld not found", (long long)component_id);
	if (rc != SQLITE_ROW)
		return store_error(e, "find component");
	return 0;
}
