/* The deployment record: one row of deployments, its status machine and
 * its rollout log; see deployment_record.h. */
#include "core/deployment_record.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/events.h"
#include "lib/log.h"
#include "store/eventlog.h"
#include "store/store.h"
#include "store/transition.h"
#include "lib/banned.h"

static int gateway_port = 8080;

void deployment_set_gateway_port(int port)
{
	gateway_port = port;
}

void deployment_url(const char *project, const char *environment, const char *component,
		    const char *base_path, char *out, size_t size)
{
	snprintf(out, size, "http://%s.%s.%s.localhost:%d%s", component, project, environment,
		 gateway_port, base_path && *base_path ? base_path : "/");
}

const struct eventlog deployment_log =
	EVENTLOG_TABLE("deployment log", "deployment_events", "deployment_id", "text", "text", 5000);

void deployment_event(int64_t id, const char *fmt, ...)
{
	char text[4096];
	struct ferr e = FERR_INIT;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (eventlog_append(&deployment_log, id, NULL, text, strlen(text), &e) < 0)
		log_error("event=deployment_event_failed deployment=%lld err=\"%s\"", (long long)id, e.msg);
	log_debug("event=deployment_event deployment=%lld text=\"%.200s\"", (long long)id, text);
}

int deployment_info_load(int64_t id, struct deployment_info *d, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT " DEPLOYMENT_COLUMNS DEPLOYMENT_FROM " WHERE d.id = ?");
	int rc;

	memset(d, 0, sizeof(*d));
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		d->id = id;
		snprintf(d->project, sizeof(d->project), "%s", sqlite3_column_text(st, 1));
		snprintf(d->environment, sizeof(d->environment), "%s", sqlite3_column_text(st, 2));
		snprintf(d->component, sizeof(d->component), "%s", sqlite3_column_text(st, 3));
		snprintf(d->component_type, sizeof(d->component_type), "%s", sqlite3_column_text(st, 4));
		d->seq = sqlite3_column_int(st, 5);
		snprintf(d->digest, sizeof(d->digest), "%s", sqlite3_column_text(st, 8));
		snprintf(d->image, sizeof(d->image), "%s", sqlite3_column_text(st, 9));
		snprintf(d->status, sizeof(d->status), "%s", sqlite3_column_text(st, 10));
		d->descriptor = json_loads((const char *)sqlite3_column_text(st, 19), 0, NULL);
		if (!d->descriptor)
			d->descriptor = json_object();
		d->component_id = sqlite3_column_int64(st, 20);
		d->project_id = sqlite3_column_int64(st, 21);
		d->environment_id = sqlite3_column_int64(st, 22);
		d->snapshot_id = sqlite3_column_int64(st, 23);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "deployment %lld not found", (long long)id);
	if (rc != SQLITE_ROW)
		return store_error(e, "read deployment");
	return 0;
}

void deployment_info_release(struct deployment_info *d)
{
	json_decref(d->descriptor);
	d->descriptor = NULL;
}

/* ------------------------------------------------------------------ */
/* Status moves                                                         */

static const char *const status_names[DEPLOYMENT__STATUS_COUNT] = {
	[DEPLOYMENT_PENDING] = "pending",
	[DEPLOYMENT_ROLLING_OUT] = "rolling-out",
	[DEPLOYMENT_ACTIVE] = "active",
	[DEPLOYMENT_FAILED] = "failed",
	[DEPLOYMENT_SUPERSEDED] = "superseded",
	[DEPLOYMENT_UNDEPLOYED] = "undeployed",
	[DEPLOYMENT_ROLLED_BACK] = "rolled-back",
};

/* allowed_from[to]: bit s set when status s may move to `to`. */
#define BIT(s) (1u << (s))
static const unsigned allowed_from[DEPLOYMENT__STATUS_COUNT] = {
	[DEPLOYMENT_ROLLING_OUT] = BIT(DEPLOYMENT_PENDING),
	[DEPLOYMENT_ACTIVE] = BIT(DEPLOYMENT_PENDING) | BIT(DEPLOYMENT_ROLLING_OUT),
	[DEPLOYMENT_FAILED] = BIT(DEPLOYMENT_PENDING) | BIT(DEPLOYMENT_ROLLING_OUT),
	[DEPLOYMENT_SUPERSEDED] = BIT(DEPLOYMENT_ACTIVE),
	[DEPLOYMENT_UNDEPLOYED] = BIT(DEPLOYMENT_ACTIVE),
	[DEPLOYMENT_ROLLED_BACK] = BIT(DEPLOYMENT_ROLLING_OUT),
};
#undef BIT

static const struct status_machine machine = {
	"deployment", DEPLOYMENT__STATUS_COUNT, status_names, allowed_from,
};

const char *deployment_status_name(enum deployment_status s)
{
	return status_name(&machine, (int)s);
}

int deployment_status_parse(const char *name)
{
	return status_parse(&machine, name);
}

int deployment_transition_allowed(enum deployment_status from, enum deployment_status to)
{
	return status_allowed(&machine, (int)from, (int)to);
}

int deployment_transition(int64_t id, enum deployment_status to, const char *error,
			  struct ferr *e)
{
	return status_update(&machine, id, STATUS_ANY, (int)to, error, store_stmt(
		"UPDATE deployments SET status = ?1,"
		" started_at = CASE WHEN ?1 = 'rolling-out' THEN coalesce(started_at, ?2) ELSE started_at END,"
		" finished_at = CASE WHEN ?1 IN ('active','failed','rolled-back') THEN ?2 ELSE finished_at END,"
		" error = coalesce(?3, error) WHERE id = ?4 AND instr(?5, ',' || status || ',') > 0"),
		store_stmt("SELECT status FROM deployments WHERE id = ?"), 0, e);
}

int deployment_mark_rolling_out(int64_t id, struct ferr *e)
{
	return deployment_transition(id, DEPLOYMENT_ROLLING_OUT, NULL, e);
}

int deployment_mark_active(int64_t id, struct ferr *e)
{
	sqlite3_stmt *st;

	if (store_begin(e) < 0)
		return -1;
	/* first the move itself: refused (and nothing superseded) when an
	 * undeploy or a failure got there first */
	if (deployment_transition(id, DEPLOYMENT_ACTIVE, NULL, e) < 0) {
		store_rollback();
		return -1;
	}
	/* then the environment's other active ones of the component: active →
	 * superseded is the machine's only way there */
	st = store_stmt("UPDATE deployments SET status = ?1"
			" WHERE instr(?5, ',' || status || ',') > 0 AND id != ?4 AND"
			" (component_id, environment_id) ="
			" (SELECT component_id, environment_id FROM deployments WHERE id = ?4)");
	sqlite3_bind_int64(st, 4, id);
	if (status_update_where(&machine, STATUS_ANY, DEPLOYMENT_SUPERSEDED, NULL, st, 0, e) < 0) {
		ferr_prefix(e, "supersede the deployments before %lld", (long long)id);
		store_rollback();
		return -1;
	}
	if (store_commit(e) < 0)
		return -1;
	deployment_event(id, "active: this deployment now serves its environment");
	event_publish(EVENT_DEPLOYMENT_ACTIVE, id);
	return 0;
}

int deployment_mark_failed(int64_t id, const char *error, struct ferr *e)
{
	if (deployment_transition(id, DEPLOYMENT_FAILED, error ? error : "failed", e) < 0)
		return -1;
	deployment_event(id, "failed: %s", error ? error : "failed");
	event_publish(EVENT_DEPLOYMENT_FAILED, id);
	return 0;
}

int deployment_mark_rolled_back(int64_t id, const char *reason, json_t *numbers, struct ferr *e)
{
	char *text = json_dumps(numbers, JSON_COMPACT);
	sqlite3_stmt *st;
	int rc;

	if (deployment_transition(id, DEPLOYMENT_ROLLED_BACK, reason, e) < 0) {
		free(text);
		return -1;
	}
	st = store_stmt("UPDATE deployments SET rollback = ? WHERE id = ?");
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	free(text);
	if (rc != SQLITE_DONE)
		return store_error(e, "record the rollback");
	deployment_event(id, "rolled-back: %s", reason);
	event_publish(EVENT_DEPLOYMENT_ROLLED_BACK, id);
	return 0;
}

int deployment_mark_undeployed(int64_t component_id, int64_t environment_id, struct ferr *e)
{
	/* the active one is undeployed; one still pending or rolling out
	 * fails, its rollout overtaken (the machine's moves for both; any
	 * other status stays) */
	sqlite3_stmt *st;
	int own = sqlite3_get_autocommit(store_db());

	if (own && store_begin(e) < 0)
		return -1;
	st = store_stmt("UPDATE deployments SET status = ?1, finished_at = coalesce(finished_at, ?2)"
			" WHERE component_id = ?4 AND environment_id = ?6"
			" AND instr(?5, ',' || status || ',') > 0");
	sqlite3_bind_int64(st, 4, component_id);
	sqlite3_bind_int64(st, 6, environment_id);
	if (status_update_where(&machine, STATUS_ANY, DEPLOYMENT_UNDEPLOYED, NULL, st, 0, e) < 0)
		goto fail;
	st = store_stmt("UPDATE deployments SET status = ?1, error = ?3,"
			" finished_at = coalesce(finished_at, ?2)"
			" WHERE component_id = ?4 AND environment_id = ?6"
			" AND instr(?5, ',' || status || ',') > 0");
	sqlite3_bind_int64(st, 4, component_id);
	sqlite3_bind_int64(st, 6, environment_id);
	if (status_update_where(&machine, STATUS_ANY, DEPLOYMENT_FAILED,
				"undeployed before its rollout finished", st, 0, e) < 0)
		goto fail;
	return own ? store_commit(e) : 0;
fail:
	ferr_prefix(e, "undeploy");
	if (own)
		store_rollback();
	return -1;
}

int64_t deployment_active_in(int64_t component_id, int64_t env_id, int64_t *ret_build,
			 int64_t *ret_indep)
{
	sqlite3_stmt *st = store_stmt("SELECT id, build_id, independent_snapshot_id FROM deployments"
				      " WHERE component_id = ? AND environment_id = ? AND status = 'active'"
				      " ORDER BY id DESC LIMIT 1");
	int64_t id = 0;

	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_int64(st, 2, env_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		if (ret_build)
			*ret_build = sqlite3_column_int64(st, 1);
		if (ret_indep)
			*ret_indep = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	return id;
}

int deployment_status_is(int64_t id, const char *status)
{
	sqlite3_stmt *st = store_stmt("SELECT status FROM deployments WHERE id = ?");
	int r = 0;

	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		r = !strcmp((const char *)sqlite3_column_text(st, 0), status);
	sqlite3_reset(st);
	return r;
}
