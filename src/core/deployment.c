#include "deployment.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "core/component.h"
#include "core/deployment_int.h"
#include "core/events.h"
#include "core/json.h"
#include "core/lookup.h"
#include "core/rollout.h"
#include "core/resolve.h"
#include "core/snapshot.h"
#include "lib/jsontext.h"
#include "lib/log.h"
#include "store/store.h"
#include "lib/banned.h"

static deployment_gate_fn gate;

void deployment_set_gate(deployment_gate_fn fn)
{
	gate = fn;
}

int deployment_gate(const struct principal *who, const struct new_deployment *n,
		    const struct deployment_gate_info *g, json_t **ret, struct ferr *e)
{
	return gate ? gate(who, n, g, ret, e) : 0;
}

/* "build 12 (commit 0123456789ab, sha256:…)" for approval summaries. */
static void build_text(int64_t build_id, char *out, size_t size)
{
	sqlite3_stmt *st = store_stmt("SELECT commit_sha, digest FROM builds WHERE id = ?");

	snprintf(out, size, "build %lld", (long long)build_id);
	sqlite3_bind_int64(st, 1, build_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, size, "build %lld (commit %.12s, %s)", (long long)build_id,
			 sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "?",
			 sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "?");
	sqlite3_reset(st);
}

/* The URL of the first endpoint the gateway serves (Public or
 * Organization), or NULL if none is exposed. */
static json_t *public_url(const char *project, const char *env, const char *component,
			  const char *type, json_t *descriptor)
{
	json_t *eps = json_object_get(descriptor, "endpoints"), *ep;
	char url[512];
	size_t i;

	if (!strcmp(type, "scheduled-task") || !strcmp(type, "manual-task"))
		return json_null();
	json_array_foreach(eps, i, ep) {
		json_t *vis = json_object_get(ep, "network_visibilities"), *v;
		size_t j;
		json_array_foreach(vis, j, v) {
			const char *s = json_string_value(v);
			if (s && (!strcmp(s, "Public") || !strcmp(s, "Organization"))) {
				deployment_url(project, env, component,
					       !strcmp(type, "web-app") ? "/" :
					       json_string_value(json_object_get(ep, "base_path")),
					       url, sizeof(url));
				return json_string(url);
			}
		}
	}
	/* A web app without a descriptor is still served at its root. */
	if (!strcmp(type, "web-app") && json_array_size(eps) == 0) {
		deployment_url(project, env, component, "/", url, sizeof(url));
		return json_string(url);
	}
	return json_null();
}

/* ------------------------------------------------------------------ */
/* Reading                                                              */

static json_t *deployment_row(sqlite3_stmt *st)
{
	json_t *desc = json_loads((const char *)sqlite3_column_text(st, 19), 0, NULL);
	const char *project = (const char *)sqlite3_column_text(st, 1);
	const char *env = (const char *)sqlite3_column_text(st, 2);
	const char *component = (const char *)sqlite3_column_text(st, 3);
	json_t *row;

	row = json_pack("{s:I, s:s, s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:I,"
			" s:s, s:s, s:o, s:o, s:o, s:o, s:I}",
		"id", (json_int_t)sqlite3_column_int64(st, 0),
		"project", project, "environment", env, "component", component,
		"seq", sqlite3_column_int(st, 5),
		"build", (json_int_t)sqlite3_column_int64(st, 6),
		"commit", sqlite3_column_text(st, 7),
		"digest", sqlite3_column_text(st, 8),
		"image", sqlite3_column_text(st, 9),
		"status", sqlite3_column_text(st, 10),
		"cause", sqlite3_column_text(st, 11),
		"promoted_from", sqlite3_column_type(st, 12) == SQLITE_NULL ? json_null()
			: json_integer(sqlite3_column_int64(st, 12)),
		"config_version", (json_int_t)sqlite3_column_int64(st, 13),
		"created_by", sqlite3_column_text(st, 14),
		"created_at", sqlite3_column_text(st, 15),
		"started_at", json_text_or_null(st, 16),
		"finished_at", json_text_or_null(st, 17),
		"error", json_text_or_null(st, 18),
		"url", public_url(project, env, component, (const char *)sqlite3_column_text(st, 4), desc),
		"snapshot", (json_int_t)sqlite3_column_int64(st, 23));
	if (sqlite3_column_type(st, 25) != SQLITE_NULL)
		json_object_set_new(row, "skip_reason", json_text_or_null(st, 25));
	if (sqlite3_column_type(st, 26) != SQLITE_NULL) {
		json_t *rb = json_loads((const char *)sqlite3_column_text(st, 26), 0, NULL);
		if (rb)
			json_object_set_new(row, "rollback", rb);
	}
	json_decref(desc);
	return row;
}

/* ------------------------------------------------------------------ */
/* Creating deployments                                                 */


int deployment_create(const struct new_deployment *n, int64_t *ret_id, struct ferr *e)
{
	char status[16] = "", commit[64] = "", digest[80] = "", image[512] = "", now[32];
	struct snapshot *snap = NULL;
	int64_t snapshot_id = n->snapshot_id, indep = n->independent_id, id;
	json_t *descriptor = NULL;
	char *desc_text = NULL;
	sqlite3_stmt *st;
	int rc, seq = 1;

	/* over the cap on queued rollouts: refused before anything is made
	 * (rollout_queue checks again, in one statement with its insert) */
	if (rollout_queue_room(n->project_id, e) < 0)
		return -1;
	if (store_begin(e) < 0)
		return -1;
	st = store_stmt("SELECT status, commit_sha, digest, image, descriptor FROM builds"
			" WHERE id = ? AND component_id = ?");
	sqlite3_bind_int64(st, 1, n->build_id);
	sqlite3_bind_int64(st, 2, n->component_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(status, sizeof(status), "%s", sqlite3_column_text(st, 0));
		snprintf(commit, sizeof(commit), "%s", sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "");
		snprintf(digest, sizeof(digest), "%s", sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : "");
		snprintf(image, sizeof(image), "%s", sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "");
		descriptor = sqlite3_column_text(st, 4) ? json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL) : NULL;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			ferr_notfound(e, "build %lld not found for this component", (long long)n->build_id);
		else
			store_error(e, "read build");
		goto fail;
	}
	if (strcmp(status, "succeeded") || !digest[0]) {
		ferr_conflict(e, "build %lld has not succeeded (it is %s): only a successful build can be deployed",
			      (long long)n->build_id, status);
		goto fail;
	}
	if (!image[0]) {
		/* registry_prune (or a rebuild of the commit) deleted it */
		ferr_set(e, 409, "image_removed",
			 "the image of build %lld is no longer in the registry (ferry keeps the images "
			 "of active deployments, of the last deployments per environment and of the "
			 "newest builds; docs/disk.md): build commit %.12s again to deploy it",
			 (long long)n->build_id, commit);
		goto fail;
	}
	if (!descriptor)
		descriptor = json_object();

	if (!snapshot_id) {
		/* The descriptor's connections, groups and literal values for this
		 * environment, recorded in the snapshot (a rollback reuses its
		 * snapshot, so it keeps what it ran with). */
		struct config_value *extra = NULL;
		size_t n_extra = 0;

		if (resolve_descriptor_values(n->component_id, n->env_id, descriptor, &extra,
					      &n_extra, e) < 0) {
			ferr_prefix(e, "build %lld cannot be deployed here", (long long)n->build_id);
			goto fail;
		}
		rc = !indep ? snapshot_build_with(n->component_id, n->env_id, extra, n_extra,
						  &snapshot_id, e) :
			snapshot_join_with(indep, n->env_id, extra, n_extra, &snapshot_id, e);
		config_values_free(extra, n_extra);
		if (rc < 0)
			goto fail;
	}
	if (snapshot_load(snapshot_id, &snap, e) < 0)
		goto fail;
	indep = snap->base_id ? snap->base_id : snapshot_id;
	if (snapshot_validate(snap, descriptor, NULL, e) < 0) {
		ferr_prefix(e, "the configuration in this environment does not satisfy build %lld", (long long)n->build_id);
		goto fail;
	}

	st = store_stmt("SELECT coalesce(max(seq), 0) + 1 FROM deployments WHERE component_id = ? AND environment_id = ?");
	sqlite3_bind_int64(st, 1, n->component_id);
	sqlite3_bind_int64(st, 2, n->env_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		seq = sqlite3_column_int(st, 0);
	sqlite3_reset(st);

	desc_text = json_dumps(descriptor, JSON_COMPACT);
	store_now(now);
	st = store_stmt("INSERT INTO deployments (component_id, project_id, environment_id, seq, build_id,"
			" commit_sha, digest, image, descriptor, snapshot_id, independent_snapshot_id,"
			" config_version, cause, promoted_from, status, created_by, created_at, skip_reason)"
			" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,nullif(?, 0),'pending',?,?,?)");
	sqlite3_bind_int64(st, 1, n->component_id);
	sqlite3_bind_int64(st, 2, n->project_id);
	sqlite3_bind_int64(st, 3, n->env_id);
	sqlite3_bind_int(st, 4, seq);
	sqlite3_bind_int64(st, 5, n->build_id);
	sqlite3_bind_text(st, 6, commit, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, image, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, desc_text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, snapshot_id);
	sqlite3_bind_int64(st, 11, indep);
	sqlite3_bind_int64(st, 12, snap->config_version);
	sqlite3_bind_text(st, 13, n->cause, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 14, n->promoted_from);
	sqlite3_bind_text(st, 15, n->who, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 16, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 17, n->skip_reason, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_error(e, "create deployment");
		goto fail;
	}
	id = sqlite3_last_insert_rowid(store_db());
	if (store_commit(e) < 0)
		goto out_err;
	deployment_event(id, "created by %s (cause %s): build %lld, %s", n->who, n->cause,
			 (long long)n->build_id, digest);
	if (n->skip_reason)
		deployment_event(id, "promoted past the environment line by %s: %s", n->who, n->skip_reason);
	if (rollout_queue(id, n->who, e) < 0) {
		struct ferr ignore = FERR_INIT;
		deployment_mark_failed(id, e->msg, &ignore);
		goto out_err;
	}
	*ret_id = id;
	free(desc_text);
	json_decref(descriptor);
	snapshot_free(snap);
	return 0;
fail:
	store_rollback();
out_err:
	free(desc_text);
	json_decref(descriptor);
	snapshot_free(snap);
	return -1;
}

int deployment_show_by_id(int64_t id, json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT " DEPLOYMENT_COLUMNS DEPLOYMENT_FROM " WHERE d.id = ?");
	int rc;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = deployment_row(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "deployment %lld not found", (long long)id);
	if (rc != SQLITE_ROW)
		return store_error(e, "show deployment");
	return 0;
}

int deployment_env_at(int64_t project_id, const char *name, int rank, int64_t *ret_id, int *ret_rank,
		  struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT id, rank, name FROM environments WHERE project_id = ?1"
				      " AND ((?2 IS NULL AND rank = ?3) OR name = ?2)");
	int rc;

	sqlite3_bind_int64(st, 1, project_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, rank);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret_id = sqlite3_column_int64(st, 0);
		if (ret_rank)
			*ret_rank = sqlite3_column_int(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return name ? ferr_notfound(e, "environment \"%s\" not found", name)
			    : ferr_notfound(e, "no environment at position %d of the promotion line", rank + 1);
	if (rc != SQLITE_ROW)
		return store_error(e, "find environment");
	return 0;
}

int deployment_deploy(const struct principal *who, const char *project, const char *component,
		      int64_t build_id, json_t **ret, struct ferr *e)
{
	struct new_deployment n = { .cause = "deploy", .who = who->name };
	int newest = !build_id;
	int64_t id;

	if (component_lookup(who, project, component, &n.project_id, &n.component_id, e) < 0 ||
	    auth_require_write(who, e) < 0 || deployment_env_at(n.project_id, NULL, 0, &n.env_id, NULL, e) < 0)
		return -1;
	if (!build_id) {
		sqlite3_stmt *st = store_stmt("SELECT id FROM builds WHERE component_id = ? AND status = 'succeeded'"
					      " ORDER BY id DESC LIMIT 1");
		sqlite3_bind_int64(st, 1, n.component_id);
		if (sqlite3_step(st) == SQLITE_ROW)
			build_id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (!build_id)
			return ferr_conflict(e, "%s/%s has no successful build yet: run ferry build %s/%s first",
					     project, component, project, component);
	}
	n.build_id = build_id;
	{
		char what[256], summary[512];
		struct deployment_gate_info g = { .summary = summary, .newest_build = newest };
		int held;
		build_text(build_id, what, sizeof(what));
		snprintf(summary, sizeof(summary), "deploy %s of %s/%s", what, project, component);
		if ((held = deployment_gate(who, &n, &g, ret, e)) != 0)
			return held < 0 ? -1 : 0;
	}
	if (deployment_create(&n, &id, e) < 0)
		return -1;
	return deployment_show_by_id(id, ret, e);
}

int deployment_rollback(const struct principal *who, const char *project, const char *component,
			const char *env, int64_t to, json_t **ret, struct ferr *e)
{
	struct new_deployment n = { .cause = "rollback", .who = who->name };
	int64_t current, id;
	sqlite3_stmt *st;
	int rc;

	if (component_lookup(who, project, component, &n.project_id, &n.component_id, e) < 0 ||
	    auth_require_write(who, e) < 0 || deployment_env_at(n.project_id, env, 0, &n.env_id, NULL, e) < 0)
		return -1;
	current = deployment_active_in(n.component_id, n.env_id, NULL, NULL);
	/* The target: the given deployment, else the newest one that served
	 * here before the current one. */
	st = store_stmt("SELECT id, build_id, snapshot_id, status FROM deployments"
			" WHERE component_id = ?1 AND environment_id = ?2 AND"
			" (CASE WHEN ?3 != 0 THEN id = ?3"
			"  ELSE status IN ('superseded','undeployed') AND id != ?4 END)"
			" ORDER BY id DESC LIMIT 1");
	sqlite3_bind_int64(st, 1, n.component_id);
	sqlite3_bind_int64(st, 2, n.env_id);
	sqlite3_bind_int64(st, 3, to);
	sqlite3_bind_int64(st, 4, current);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *status = (const char *)sqlite3_column_text(st, 3);
		if (!strcmp(status, "failed") || !strcmp(status, "rolled-back") || !strcmp(status, "pending") ||
		    !strcmp(status, "rolling-out")) {
			sqlite3_reset(st);
			return ferr_conflict(e, "deployment %lld is %s: only a deployment that served can be rolled back to",
					     (long long)to, status);
		}
		n.build_id = sqlite3_column_int64(st, 1);
		n.snapshot_id = sqlite3_column_int64(st, 2);
		n.promoted_from = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		if (to)
			return ferr_notfound(e, "deployment %lld of %s/%s in \"%s\" not found", (long long)to,
					     project, component, env);
		return ferr_conflict(e, "%s/%s has no earlier deployment in \"%s\" to roll back to",
				     project, component, env);
	}
	if (n.promoted_from == current)
		return ferr_conflict(e, "deployment %lld is the one serving \"%s\" now", (long long)n.promoted_from, env);
	{
		char what[256], summary[512];
		struct deployment_gate_info g = { .summary = summary, .source_deployment = current,
						  .source_env = n.env_id };
		int held;
		build_text(n.build_id, what, sizeof(what));
		snprintf(summary, sizeof(summary), "roll %s/%s in %s back from deployment %lld to deployment %lld, %s",
			 project, component, env, (long long)current, (long long)n.promoted_from, what);
		if ((held = deployment_gate(who, &n, &g, ret, e)) != 0)
			return held < 0 ? -1 : 0;
	}
	/* promoted_from records where a rollback came from, too. */
	if (deployment_create(&n, &id, e) < 0)
		return -1;
	return deployment_show_by_id(id, ret, e);
}

int deployment_undeploy(const struct principal *who, const char *project, const char *component,
			const char *env, json_t **ret, struct ferr *e)
{
	int64_t pid, cid, eid, job;

	if (component_lookup(who, project, component, &pid, &cid, e) < 0 ||
	    auth_require_write(who, e) < 0 || deployment_env_at(pid, env, 0, &eid, NULL, e) < 0)
		return -1;
	if (!deployment_active_in(cid, eid, NULL, NULL)) {
		sqlite3_stmt *st = store_stmt("SELECT count(*) FROM deployments WHERE component_id = ?"
					      " AND environment_id = ? AND status IN ('pending','rolling-out')");
		int busy = 0;
		sqlite3_bind_int64(st, 1, cid);
		sqlite3_bind_int64(st, 2, eid);
		if (sqlite3_step(st) == SQLITE_ROW)
			busy = sqlite3_column_int(st, 0);
		sqlite3_reset(st);
		if (!busy)
			return ferr_conflict(e, "%s/%s is not deployed in \"%s\"", project, component, env);
	}
	if (deployment_mark_undeployed(cid, eid, e) < 0)
		return -1;
	job = rollout_queue_undeploy(cid, eid, who->name, e);
	if (job < 0)
		return -1;
	*ret = json_pack("{s:s, s:s, s:s, s:I}", "project", project, "component", component,
			 "environment", env, "job", (json_int_t)job);
	return 0;
}

int deployment_undeploy_all(int64_t component_id, const char *who, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT DISTINCT environment_id FROM deployments WHERE component_id = ?"
				      " AND status IN ('active','pending','rolling-out')");
	int64_t envs[64];
	int n = 0;

	sqlite3_bind_int64(st, 1, component_id);
	while (sqlite3_step(st) == SQLITE_ROW && n < 64)
		envs[n++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	for (int i = 0; i < n; i++)
		if (deployment_mark_undeployed(component_id, envs[i], e) < 0 ||
		    rollout_queue_undeploy(component_id, envs[i], who, e) < 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Listing                                                              */

int deployment_list(const struct principal *who, const char *project, const char *component,
		    const char *env, json_t **ret, struct ferr *e)
{
	int64_t pid, cid, eid = 0;
	sqlite3_stmt *st;

	if (component_lookup(who, project, component, &pid, &cid, e) < 0 ||
	    (env && deployment_env_at(pid, env, 0, &eid, NULL, e) < 0))
		return -1;
	st = store_stmt("SELECT " DEPLOYMENT_COLUMNS DEPLOYMENT_FROM
			" WHERE d.component_id = ?1 AND (?2 = 0 OR d.environment_id = ?2)"
			" ORDER BY d.id DESC LIMIT 500");
	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_int64(st, 2, eid);
	return json_rows(st, deployment_row, "list deployments", ret, e);
}

/* Access: the deployment's project must be visible to who. */
static int check_visible(const struct principal *who, int64_t id, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT project_id FROM deployments WHERE id = ?");
	int64_t pid = -1;

	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		pid = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (pid < 0 || (who->project_id && who->project_id != pid))
		return ferr_notfound(e, "deployment %lld not found", (long long)id);
	return 0;
}

int deployment_show(const struct principal *who, int64_t id, json_t **ret, struct ferr *e)
{
	if (check_visible(who, id, e) < 0)
		return -1;
	return deployment_show_by_id(id, ret, e);
}

int deployment_events(const struct principal *who, int64_t id, int64_t after, json_t **ret,
		      struct ferr *e)
{
	if (check_visible(who, id, e) < 0)
		return -1;
	return eventlog_read(&deployment_log, id, after, 0, ret, e);
}

int deployment_status(const struct principal *who, const char *project, const char *component,
		      json_t **ret, struct ferr *e)
{
	json_t *comp, *envs = json_array();
	int64_t pid, cid;
	sqlite3_stmt *st;

	if (component_lookup(who, project, component, &pid, &cid, e) < 0 ||
	    component_show(who, project, component, &comp, e) < 0) {
		json_decref(envs);
		return -1;
	}
	st = store_stmt("SELECT e.id, e.name,"
			" (SELECT max(d.id) FROM deployments d WHERE d.component_id = ?2"
			"  AND d.environment_id = e.id AND d.status = 'active')"
			" FROM environments e WHERE e.project_id = ?1 ORDER BY e.rank");
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int64(st, 2, cid);
	{
		/* Collect first: show_by_id reuses statements. */
		int64_t ids[32][2];
		char names[32][64];
		int n = 0;
		while (sqlite3_step(st) == SQLITE_ROW && n < 32) {
			ids[n][0] = sqlite3_column_int64(st, 0);
			ids[n][1] = sqlite3_column_type(st, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 2);
			snprintf(names[n], sizeof(names[n]), "%s", sqlite3_column_text(st, 1));
			n++;
		}
		sqlite3_reset(st);
		for (int i = 0; i < n; i++) {
			json_t *dep = NULL, *health = NULL, *env;
			if (ids[i][1] && deployment_show_by_id(ids[i][1], &dep, e) < 0) {
				json_decref(envs);
				json_decref(comp);
				return -1;
			}
			env = json_pack("{s:s, s:o, s:b, s:o}", "name", names[i],
					"deployment", dep ? dep : json_null(), "healthy", 0,
					"url", dep ? json_incref(json_object_get(dep, "url")) : json_null());
			if (dep) {
				health = rollout_health(cid, ids[i][0]);
				json_object_set(env, "healthy", json_object_get(health, "healthy"));
				json_object_set(env, "replicas", json_object_get(health, "replicas"));
				json_decref(health);
			}
			json_array_append_new(envs, env);
		}
	}
	*ret = json_pack("{s:o, s:o}", "component", comp, "environments", envs);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Hooks                                                                */

/* Records in the audit log that an automatic deployment of component_id
 * (action: "config.redeploy", "deployment.auto-deploy") could not happen. */
static void audit_not_deployed(const char *actor, const char *action, int64_t component_id,
			       int status, const char *why)
{
	sqlite3_stmt *st = store_stmt("SELECT p.name, c.name FROM components c"
				      " JOIN projects p ON p.id = c.project_id WHERE c.id = ?");
	char project[64] = "", object[160];

	sqlite3_bind_int64(st, 1, component_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(project, sizeof(project), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(object, sizeof(object), "%s/%s", project, (const char *)sqlite3_column_text(st, 1));
	} else {
		snprintf(object, sizeof(object), "component %lld", (long long)component_id);
	}
	sqlite3_reset(st);
	audit_record(NULL, actor, action, object, project[0] ? project : NULL, status ? status : 500, why);
}

void deployment_after_build(int64_t build_id)
{
	struct new_deployment n = { .cause = "auto-deploy", .who = "auto-deploy" };
	char summary[512];
	struct deployment_gate_info g = { .summary = summary, .newest_build = 1 };
	struct ferr e = FERR_INIT;
	sqlite3_stmt *st;
	int auto_deploy = 0, held = 0;
	int64_t id = 0;

	st = store_stmt("SELECT b.component_id, c.project_id, c.auto_deploy FROM builds b"
			" JOIN components c ON c.id = b.component_id WHERE b.id = ?");
	sqlite3_bind_int64(st, 1, build_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		n.component_id = sqlite3_column_int64(st, 0);
		n.project_id = sqlite3_column_int64(st, 1);
		auto_deploy = sqlite3_column_int(st, 2);
	}
	sqlite3_reset(st);
	if (!auto_deploy)
		return;
	n.build_id = build_id;
	snprintf(summary, sizeof(summary), "auto-deploy ");
	build_text(build_id, summary + strlen(summary), sizeof(summary) - strlen(summary));
	if (deployment_env_at(n.project_id, NULL, 0, &n.env_id, NULL, &e) < 0 ||
	    (held = deployment_gate(NULL, &n, &g, NULL, &e)) < 0 ||
	    (!held && deployment_create(&n, &id, &e) < 0)) {
		char why[700];

		log_warnx("event=auto_deploy_failed build=%lld err=\"%s\"", (long long)build_id, e.msg);
		snprintf(why, sizeof(why), "build %lld was not deployed: %.600s", (long long)build_id, e.msg);
		audit_not_deployed("auto-deploy", "deployment.auto-deploy", n.component_id, e.status, why);
		return;
	}
	if (held)
		log_info("event=auto_deploy_held build=%lld", (long long)build_id);
	else
		log_info("event=auto_deploy build=%lld deployment=%lld", (long long)build_id, (long long)id);
}

/* {"deployment": null, "reason": why}: what a change that deployed nothing
 * answers. */
static json_t *no_redeploy(const char *why)
{
	return json_pack("{s:n, s:s}", "deployment", "reason", why);
}

void deployment_on_event(enum event_type type, int64_t id)
{
	if (type == EVENT_BUILD_SUCCEEDED)
		deployment_after_build(id);
}

int deployment_on_change(struct domain_event *ev, struct ferr *e)
{
	switch (ev->type) {
	case DOMAIN_CONFIG_CHANGED:
		if (!ev->answer)
			ev->answer = deployment_after_config_change(ev->component_id, ev->env_id, ev->actor);
		return 0;
	case DOMAIN_COMPONENT_DELETING:
		return deployment_undeploy_all(ev->component_id, ev->actor, e);
	default:
		return 0;
	}
}

json_t *deployment_after_config_change(int64_t component_id, int64_t env_id, const char *who)
{
	struct new_deployment n = { .cause = "config", .who = "configuration change",
				    .component_id = component_id };
	struct ferr e = FERR_INIT;
	int64_t id, indep = 0;
	char why[700];

	if (component_project_id(component_id, &n.project_id, &e) < 0)
		return no_redeploy(e.msg);
	if (!env_id) {
		/* Component-wide: a new setup-area snapshot, in the first environment. */
		if (deployment_env_at(n.project_id, NULL, 0, &n.env_id, NULL, &e) < 0)
			return no_redeploy(e.msg);
		if (!deployment_active_in(component_id, n.env_id, &n.build_id, NULL))
			return no_redeploy("not deployed in the first environment: the values apply to its next deployment");
	} else {
		/* This environment's own values change; its independent part stays. */
		n.env_id = env_id;
		if (!deployment_active_in(component_id, env_id, &n.build_id, &indep))
			return no_redeploy("not deployed in this environment: the values apply to its next deployment");
		n.independent_id = indep;
	}
	if (deployment_create(&n, &id, &e) < 0) {
		log_warnx("event=config_redeploy_failed component=%lld err=\"%s\"", (long long)component_id, e.msg);
		snprintf(why, sizeof(why), "the redeploy failed: %.600s", e.msg);
		audit_not_deployed(who ? who : "configuration change", "config.redeploy", component_id,
				   e.status, why);
		return no_redeploy(why);
	}
	log_info("event=config_redeploy component=%lld deployment=%lld", (long long)component_id, (long long)id);
	return json_pack("{s:I}", "deployment", (json_int_t)id);
}
