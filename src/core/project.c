#include "project.h"

#include <string.h>

#include "core/json.h"
#include "core/names.h"
#include "store/store.h"
#include "lib/banned.h"

static json_t *envs_json(int64_t project_id)
{
	sqlite3_stmt *st = store_stmt("SELECT e.name, e.rank, e.production, e.created_at, a.approvers,"
				      " a.approvals, a.ttl_s FROM environments e LEFT JOIN environment_approvals a"
				      " ON a.environment_id = e.id WHERE e.project_id = ? ORDER BY e.rank");
	json_t *arr = json_array();

	sqlite3_bind_int64(st, 1, project_id);
	while (sqlite3_step(st) == SQLITE_ROW)
		/* approval: the policy core/approval.c keeps, or null */
		json_array_append_new(arr, json_pack("{s:s, s:i, s:b, s:s, s:o}",
			"name", sqlite3_column_text(st, 0),
			"rank", sqlite3_column_int(st, 1),
			"production", sqlite3_column_int(st, 2),
			"created_at", sqlite3_column_text(st, 3),
			"approval", sqlite3_column_type(st, 4) == SQLITE_NULL ? json_null()
				: json_pack("{s:o, s:i, s:I}",
					"approvers", json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL),
					"approvals", sqlite3_column_int(st, 5),
					"ttl_s", (json_int_t)sqlite3_column_int64(st, 6))));
	sqlite3_reset(st);
	return arr;
}

int project_create(const struct principal *who, const char *name,
		   const char *const *envs, size_t n, json_t **ret, struct ferr *e)
{
	static const char *const defaults[] = { "development", "production" };
	sqlite3_stmt *st;
	int64_t pid;
	char now[32];

	if (auth_require_admin(who, e) < 0)
		return -1;
	if (who->project_id)
		return ferr_forbidden(e, "a token scoped to one project cannot create projects");
	if (name_check_label("project name", name, e) < 0)
		return -1;
	if (!envs || n == 0) {
		envs = defaults;
		n = 2;
	}
	if (n > PROJECT_MAX_ENVS)
		return ferr_invalid(e, "%zu environments given: at most %d are allowed", n, PROJECT_MAX_ENVS);
	for (size_t i = 0; i < n; i++) {
		if (name_check_label("environment name", envs[i], e) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(envs[i], envs[j]))
				return ferr_invalid(e, "environment \"%s\" is listed twice", envs[i]);
	}

	if (store_begin(e) < 0)
		return -1;
	store_now(now);
	st = store_stmt("INSERT INTO projects (name, created_at) VALUES (?, ?)");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_error(e, "project");
		if (e && e->status == 409)
			snprintf(e->msg, sizeof(e->msg), "project \"%s\" already exists", name);
		goto fail;
	}
	pid = sqlite3_last_insert_rowid(store_db());
	for (size_t i = 0; i < n; i++) {
		st = store_stmt("INSERT INTO environments (project_id, name, rank, production, created_at)"
				" VALUES (?, ?, ?, ?, ?)");
		sqlite3_bind_int64(st, 1, pid);
		sqlite3_bind_text(st, 2, envs[i], -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, (int)i);
		sqlite3_bind_int(st, 4, i == n - 1);
		sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			store_error(e, "create environment");
			goto fail;
		}
	}
	if (store_commit(e) < 0)
		return -1;
	return project_show(who, name, ret, e);
fail:
	store_rollback();
	return -1;
}

int project_list(const struct principal *who, json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT p.id, p.name, p.created_at,"
		" (SELECT count(*) FROM components c WHERE c.project_id = p.id)"
		" FROM projects p WHERE ?1 = 0 OR p.id = ?1 ORDER BY p.name");
	json_t *arr = json_array();
	int rc;

	sqlite3_bind_int64(st, 1, who->project_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:i}",
			"id", (json_int_t)sqlite3_column_int64(st, 0),
			"name", sqlite3_column_text(st, 1),
			"created_at", sqlite3_column_text(st, 2),
			"components", sqlite3_column_int(st, 3)));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return store_error(e, "list projects");
	}
	*ret = arr;
	return 0;
}

int project_show(const struct principal *who, const char *name, json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st;
	int64_t pid;

	if (project_lookup(who, name, &pid, e) < 0)
		return -1;
	st = store_stmt("SELECT created_at FROM projects WHERE id = ?");
	sqlite3_bind_int64(st, 1, pid);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return store_error(e, "show project");
	}
	*ret = json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)pid, "name", name,
			 "created_at", sqlite3_column_text(st, 0), "environments", envs_json(pid));
	sqlite3_reset(st);
	return 0;
}

int env_list(const struct principal *who, const char *project, json_t **ret, struct ferr *e)
{
	int64_t pid;

	if (project_lookup(who, project, &pid, e) < 0)
		return -1;
	*ret = envs_json(pid);
	return 0;
}

int env_add(const struct principal *who, const char *project, const char *name,
	    const char *after, json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st;
	int64_t pid;
	int rank = -1, prod = 0, count = 0, rc;
	char now[32];

	if (project_lookup(who, project, &pid, e) < 0 || auth_require_admin(who, e) < 0 ||
	    name_check_label("environment name", name, e) < 0)
		return -1;
	if (!after || !*after)
		return ferr_invalid(e, "say where the environment goes in the promotion line: --after ENV");
	if (store_begin(e) < 0)
		return -1;
	st = store_stmt("SELECT rank, production, (SELECT count(*) FROM environments WHERE project_id = ?1)"
			" FROM environments WHERE project_id = ?1 AND name = ?2");
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_text(st, 2, after, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		rank = sqlite3_column_int(st, 0);
		prod = sqlite3_column_int(st, 1);
		count = sqlite3_column_int(st, 2);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			ferr_notfound(e, "environment \"%s\" not found in project \"%s\"", after, project);
		else
			store_error(e, "find environment");
		goto fail;
	}
	if (prod) {
		ferr_invalid(e, "cannot add an environment after \"%s\": it is the production environment, which ends the promotion line", after);
		goto fail;
	}
	if (count >= PROJECT_MAX_ENVS) {
		ferr_invalid(e, "project \"%s\" already has %d environments, the most allowed", project, count);
		goto fail;
	}
	/* Shift the ones after it up by one, highest first, so ranks stay
	 * unique at every step. */
	st = store_stmt("UPDATE environments SET rank = rank + 1 WHERE project_id = ? AND rank > ?");
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, rank);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_error(e, "move environments");
		goto fail;
	}
	store_now(now);
	st = store_stmt("INSERT INTO environments (project_id, name, rank, production, created_at)"
			" VALUES (?, ?, ?, 0, ?)");
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, rank + 1);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_error(e, "environment");
		if (e && e->status == 409)
			snprintf(e->msg, sizeof(e->msg), "environment \"%s\" already exists in project \"%s\"", name, project);
		goto fail;
	}
	if (store_commit(e) < 0)
		return -1;
	return env_list(who, project, ret, e);
fail:
	store_rollback();
	return -1;
}
