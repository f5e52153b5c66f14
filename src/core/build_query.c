/* The build records as users read them (core/build.h): a component's
 * builds, one build with its steps, scan and descriptor, its scan report,
 * its status, its step log; and the access checks of a cancel (the cancel
 * itself is build_cancel_request, core/build_status.c). Reads only what
 * the build job (build.c) wrote.
 */
#include "build.h"
#include "build_int.h"

#include <stdio.h>

#include "core/access.h"
#include "core/json.h"
#include "core/lookup.h"
#include "store/eventlog.h"
#include "store/store.h"
#include "lib/banned.h"

#define BUILD_COLUMNS \
	"b.id, p.name, c.name, b.commit_sha, b.requested, b.status, b.digest, b.image, b.trigger," \
	" b.triggered_by, b.error, b.created_at, b.started_at, b.finished_at, b.job_id, b.project_id"

static json_t *build_row(sqlite3_stmt *st)
{
	return json_pack("{s:I, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:s, s:s, s:o, s:s, s:o, s:o, s:o}",
		"id", (json_int_t)sqlite3_column_int64(st, 0),
		"project", sqlite3_column_text(st, 1),
		"component", sqlite3_column_text(st, 2),
		"commit", json_text_or_null(st, 3),
		"requested", json_text_or_null(st, 4),
		"status", sqlite3_column_text(st, 5),
		"digest", json_text_or_null(st, 6),
		"image", json_text_or_null(st, 7),
		"trigger", sqlite3_column_text(st, 8),
		"triggered_by", sqlite3_column_text(st, 9),
		"error", json_text_or_null(st, 10),
		"created_at", sqlite3_column_text(st, 11),
		"started_at", json_text_or_null(st, 12),
		"finished_at", json_text_or_null(st, 13),
		"job", sqlite3_column_type(st, 14) == SQLITE_NULL ? json_null()
				: json_integer(sqlite3_column_int64(st, 14)));
}

static json_t *build_steps(int64_t id)
{
	sqlite3_stmt *st = store_stmt("SELECT name, status, detail, started_at, finished_at FROM build_steps"
				      " WHERE build_id = ? ORDER BY idx");
	json_t *arr = json_array();

	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:o, s:o}",
			"name", sqlite3_column_text(st, 0), "status", sqlite3_column_text(st, 1),
			"detail", json_text_or_null(st, 2), "started_at", json_text_or_null(st, 3),
			"finished_at", json_text_or_null(st, 4)));
	sqlite3_reset(st);
	return arr;
}

int build_list(const struct principal *who, const char *project, const char *component,
	       int limit, json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st;
	json_t *arr;
	int64_t cid;
	int rc;

	if (component_lookup(who, project, component, NULL, &cid, e) < 0)
		return -1;
	if (limit <= 0 || limit > 500)
		limit = 50;
	st = store_stmt("SELECT " BUILD_COLUMNS " FROM builds b JOIN components c ON c.id = b.component_id"
			" JOIN projects p ON p.id = b.project_id WHERE b.component_id = ? ORDER BY b.id DESC LIMIT ?");
	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_int(st, 2, limit);
	arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, build_row(st));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return store_error(e, "list builds");
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *b = json_array_get(arr, i);
		json_object_set_new(b, "steps", build_steps(json_integer_value(json_object_get(b, "id"))));
	}
	*ret = arr;
	return 0;
}

/* The build's project id, checking who may see it (404 otherwise). */
static int build_visible(const struct principal *who, int64_t id, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT project_id FROM builds WHERE id = ?");
	int64_t pid = 0;
	int rc;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		pid = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE || (rc == SQLITE_ROW && who && who->project_id && who->project_id != pid))
		return ferr_notfound(e, "build %lld not found", (long long)id);
	if (rc != SQLITE_ROW)
		return store_error(e, "find build");
	return 0;
}

/* The build's scan in short (counts by severity), or null before the scan
 * step ran. */
static json_t *scan_summary(int64_t id)
{
	sqlite3_stmt *st = store_stmt("SELECT passed, fail_on, critical, high, medium, low, unknown,"
				      " suppressed FROM scans WHERE build_id = ?");
	json_t *j = json_null();

	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		j = json_pack("{s:b, s:s, s:{s:I, s:I, s:I, s:I, s:I}, s:I}",
			      "passed", sqlite3_column_int(st, 0), "fail_on", sqlite3_column_text(st, 1),
			      "summary", "CRITICAL", (json_int_t)sqlite3_column_int64(st, 2),
			      "HIGH", (json_int_t)sqlite3_column_int64(st, 3),
			      "MEDIUM", (json_int_t)sqlite3_column_int64(st, 4),
			      "LOW", (json_int_t)sqlite3_column_int64(st, 5),
			      "UNKNOWN", (json_int_t)sqlite3_column_int64(st, 6),
			      "suppressed", (json_int_t)sqlite3_column_int64(st, 7));
	sqlite3_reset(st);
	return j;
}

int build_show(const struct principal *who, int64_t id, json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st;
	json_t *b = NULL;
	int rc;

	if (build_visible(who, id, e) < 0)
		return -1;
	st = store_stmt("SELECT " BUILD_COLUMNS ", b.descriptor, b.endpoints, b.base"
			" FROM builds b JOIN components c ON c.id = b.component_id"
			" JOIN projects p ON p.id = b.project_id WHERE b.id = ?");
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(st, 16);
		const char *ep = (const char *)sqlite3_column_text(st, 17);
		json_t *dj = d ? json_loads(d, 0, NULL) : NULL;
		json_t *ej = ep ? json_loads(ep, 0, NULL) : NULL;
		const char *base = (const char *)sqlite3_column_text(st, 18);
		json_t *bj = base ? json_loads(base, 0, NULL) : NULL;
		b = build_row(st);
		json_object_set_new(b, "base", bj ? bj : json_null());
		json_object_set_new(b, "descriptor", dj ? dj : json_null());
		json_object_set_new(b, "endpoints", ej ? ej : json_array());
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? ferr_notfound(e, "build %lld not found", (long long)id)
					 : store_error(e, "show build");
	json_object_set_new(b, "steps", build_steps(id));
	json_object_set_new(b, "scan", scan_summary(id));
	*ret = b;
	return 0;
}

int build_scan_report(const struct principal *who, int64_t id, json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st;
	json_t *r = NULL;
	int rc;

	if (build_visible(who, id, e) < 0)
		return -1;
	st = store_stmt("SELECT report FROM scans WHERE build_id = ?");
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "build %lld has no scan report: its scan step has not run "
				     "(ferry build show %lld says how far it got)", (long long)id, (long long)id);
	if (rc != SQLITE_ROW || !r)
		return store_error(e, "read the scan report");
	json_object_set_new(r, "build", json_integer(id));
	*ret = r;
	return 0;
}

int build_status(int64_t id, char status[16], json_t **ret_error, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT status, error FROM builds WHERE id = ?");
	int rc;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(status, 16, "%s", sqlite3_column_text(st, 0));
		if (ret_error)
			*ret_error = json_text_or_null(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "build %lld not found", (long long)id);
	if (rc != SQLITE_ROW)
		return store_error(e, "build status");
	return 0;
}

int build_cancel(const struct principal *who, int64_t id, struct ferr *e)
{
	char status[16];

	if (build_visible(who, id, e) < 0 || auth_require_write(who, e) < 0 ||
	    build_status(id, status, NULL, e) < 0)
		return -1;
	if (build_status_final(status))
		return ferr_conflict(e, "build %lld already ended (%s)", (long long)id, status);
	return build_cancel_request(id, e);
}

int build_log_read(const struct principal *who, int64_t id, int64_t after_id, int limit,
		   json_t **ret, struct ferr *e)
{
	if (build_visible(who, id, e) < 0)
		return -1;
	return eventlog_read(&build_log, id, after_id, limit, ret, e);
}
