/* What a notification says about the object an event is about: one query
 * per kind of object, whose columns after the project become the members of
 * the body's "data", and one line for people (the Slack text). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/notify_int.h"
#include "lib/strbuf.h"
#include "store/store.h"
#include "lib/banned.h"

/* Each query: ?1 is the object's id; columns 0 and 1 are the project's id
 * and name, the others are named as they appear in "data". */
static const char sql_build[] =
	"SELECT b.project_id, p.name, b.id AS build, c.name AS component, b.status AS status,"
	" b.commit_sha AS commit_sha, b.digest AS digest, b.trigger AS trigger,"
	" b.triggered_by AS triggered_by, b.error AS error, b.finished_at AS finished_at"
	" FROM builds b JOIN components c ON c.id = b.component_id JOIN projects p ON p.id = b.project_id"
	" WHERE b.id = ?1";
static const char sql_deployment[] =
	"SELECT d.project_id, p.name, d.id AS deployment, c.name AS component, e.name AS environment,"
	" d.seq AS seq, d.status AS status, d.cause AS cause, d.build_id AS build,"
	" d.commit_sha AS commit_sha, d.digest AS digest, d.created_by AS created_by,"
	" d.error AS error, d.finished_at AS finished_at"
	" FROM deployments d JOIN components c ON c.id = d.component_id"
	" JOIN environments e ON e.id = d.environment_id JOIN projects p ON p.id = d.project_id"
	" WHERE d.id = ?1";
static const char sql_approval[] =
	"SELECT r.project_id, p.name, r.id AS approval_request, c.name AS component,"
	" e.name AS environment, r.action AS action, r.summary AS summary, r.status AS status,"
	" r.requested_by AS requested_by, r.expires_at AS expires_at, r.decided_at AS decided_at,"
	" r.reason AS reason, r.deployment_id AS deployment,"
	" (SELECT group_concat(v.name, ',') FROM approval_votes v WHERE v.request_id = r.id) AS voters"
	" FROM approval_requests r JOIN components c ON c.id = r.component_id"
	" JOIN environments e ON e.id = r.environment_id JOIN projects p ON p.id = r.project_id"
	" WHERE r.id = ?1";
static const char sql_execution[] =
	"SELECT x.project_id, p.name, x.id AS execution, c.name AS component, e.name AS environment,"
	" x.status AS status, x.exit_code AS exit_code, x.reason AS reason, x.trigger AS trigger,"
	" x.commit_sha AS commit_sha, x.deployment_id AS deployment, x.finished_at AS finished_at"
	" FROM executions x JOIN components c ON c.id = x.component_id"
	" JOIN environments e ON e.id = x.environment_id JOIN projects p ON p.id = x.project_id"
	" WHERE x.id = ?1";

static const char *query_of(enum event_type t)
{
	switch (t) {
	case EVENT_BUILD_SUCCEEDED:
	case EVENT_BUILD_FAILED:
		return sql_build;
	case EVENT_DEPLOYMENT_ACTIVE:
	case EVENT_DEPLOYMENT_FAILED:
	case EVENT_DEPLOYMENT_ROLLED_BACK:
		return sql_deployment;
	case EVENT_APPROVAL_REQUESTED:
	case EVENT_APPROVAL_DECIDED:
		return sql_approval;
	case EVENT_EXECUTION_FAILED:
		return sql_execution;
	default:
		return NULL;
	}
}

static const char *s(json_t *data, const char *key)
{
	const char *v = json_string_value(json_object_get(data, key));
	return v ? v : "";
}

static long long n(json_t *data, const char *key)
{
	return (long long)json_integer_value(json_object_get(data, key));
}

/* The commit's first 12 characters. */
static const char *short_commit(json_t *data, char out[16])
{
	snprintf(out, 16, "%.12s", s(data, "commit_sha"));
	return out;
}

static char *text_of(enum event_type t, const char *project, json_t *data)
{
	struct strbuf sb = STRBUF_INIT;
	const char *err = s(data, "error");
	char c[16];

	switch (t) {
	case EVENT_BUILD_SUCCEEDED:
		strbuf_addf(&sb, "ferry: build %lld of %s/%s succeeded (commit %s)", n(data, "build"), project,
			    s(data, "component"), short_commit(data, c));
		break;
	case EVENT_BUILD_FAILED:
		strbuf_addf(&sb, "ferry: build %lld of %s/%s failed (commit %s)%s%s", n(data, "build"), project,
			    s(data, "component"), short_commit(data, c), *err ? ": " : "", err);
		break;
	case EVENT_DEPLOYMENT_ACTIVE:
	case EVENT_DEPLOYMENT_FAILED:
	case EVENT_DEPLOYMENT_ROLLED_BACK:
		strbuf_addf(&sb, "ferry: deployment %lld of %s/%s (commit %s) %s %s", n(data, "deployment"), project,
			    s(data, "component"), short_commit(data, c),
			    t == EVENT_DEPLOYMENT_ACTIVE ? "is active in"
			    : t == EVENT_DEPLOYMENT_FAILED ? "failed in" : "was rolled back in",
			    s(data, "environment"));
		if (t != EVENT_DEPLOYMENT_ACTIVE && *err)
			strbuf_addf(&sb, ": %s", err);
		break;
	case EVENT_APPROVAL_REQUESTED:
		strbuf_addf(&sb, "ferry: approval requested by %s in %s (request %lld): %s", s(data, "requested_by"),
			    project, n(data, "approval_request"), s(data, "summary"));
		break;
	case EVENT_APPROVAL_DECIDED:
		strbuf_addf(&sb, "ferry: approval request %lld in %s %s: %s", n(data, "approval_request"), project,
			    s(data, "status"), s(data, "summary"));
		if (*s(data, "reason"))
			strbuf_addf(&sb, " (%s)", s(data, "reason"));
		break;
	case EVENT_EXECUTION_FAILED:
		strbuf_addf(&sb, "ferry: execution %lld of %s/%s in %s %s", n(data, "execution"), project,
			    s(data, "component"), s(data, "environment"), s(data, "status"));
		if (json_is_integer(json_object_get(data, "exit_code")))
			strbuf_addf(&sb, " (exit code %lld)", n(data, "exit_code"));
		if (*s(data, "reason"))
			strbuf_addf(&sb, ": %s", s(data, "reason"));
		break;
	default:
		strbuf_addf(&sb, "ferry: %s", event_name(t));
	}
	return strbuf_detach(&sb, NULL);
}

int notify_describe(enum event_type type, int64_t id, int64_t *ret_project_id, char ret_project[64],
		    json_t **ret_data, char **ret_text, struct ferr *e)
{
	const char *sql = query_of(type);
	sqlite3_stmt *st;
	json_t *data;
	int rc;

	if (!sql)
		return ferr_internal(e, "no description of event %d", (int)type);
	st = store_stmt(sql);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? ferr_notfound(e, "%s: object %lld is gone", event_name(type), (long long)id)
					 : store_error(e, "describe event");
	}
	*ret_project_id = sqlite3_column_int64(st, 0);
	snprintf(ret_project, 64, "%s", sqlite3_column_text(st, 1));
	data = json_object();
	for (int i = 2; i < sqlite3_column_count(st); i++) {
		const char *name = sqlite3_column_name(st, i);
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			json_object_set_new(data, name, json_integer(sqlite3_column_int64(st, i)));
			break;
		case SQLITE_NULL:
			json_object_set_new(data, name, json_null());
			break;
		default:
			json_object_set_new(data, name, json_text_or_null(st, i));
		}
	}
	sqlite3_reset(st);
	*ret_data = data;
	*ret_text = text_of(type, ret_project, data);
	return 0;
}
