/* Notification hooks, queueing a delivery per event, and the delivery log. */
#include "core/notify.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "core/json.h"
#include "core/notify_int.h"
#include "core/lookup.h"
#include "core/repo_policy.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "store/store.h"
#include "vault/vault.h"
#include "lib/banned.h"

#define SECRET_MIN 16
#define SECRET_MAX 1024
#define URL_MAX 2048

/* A hook's secret is bound to its project and name. */
static void aad_for(struct strbuf *aad, int64_t project_id, const char *hook)
{
	strbuf_reset(aad);
	vault_aad_add(aad, "notification_hook");
	vault_aad_add_int(aad, project_id);
	vault_aad_add(aad, hook);
}

int notify_secret_open(int64_t project_id, const char *hook, const void *blob, size_t len,
		       char **ret, size_t *ret_len, struct ferr *e)
{
	struct strbuf aad = STRBUF_INIT;
	int rc;

	aad_for(&aad, project_id, hook);
	rc = vault_unseal(core.vault, aad.buf, aad.len, blob, len, "notification secret", ret, ret_len, e);
	strbuf_release(&aad);
	return rc;
}

static int check_name(const char *name, struct ferr *e)
{
	size_t n = name ? strlen(name) : 0;

	if (!n || n > 50 || name[0] < 'a' || name[0] > 'z')
		return ferr_invalid(e, "a notification hook name must start with a lower-case letter and be"
				    " at most 50 characters");
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return ferr_invalid(e, "notification hook name \"%s\" may hold only a-z, 0-9 and '-'",
					    name);
	return 0;
}

static int check_url(const struct principal *who, const char *url, struct ferr *e)
{
	const char *host;

	if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
		return ferr_invalid(e, "a notification URL must start with http:// or https://");
	if (strlen(url) > URL_MAX)
		return ferr_invalid(e, "the notification URL is longer than %d characters", URL_MAX);
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return ferr_invalid(e, "the notification URL has a space or a control character");
	host = strstr(url, "://") + 3;
	if (!*host || *host == '/')
		return ferr_invalid(e, "the notification URL has no host");
	if (repo_policy_url_local(who, url)) {
		return ferr_forbidden(e, "notification URL %s is on a loopback or link-local address of the"
				      " server: accepted only from an admin token, or when ferryd runs with"
				      " --allow-local-repos", url);
	}
	return 0;
}

/* in's events as a sorted, de-duplicated JSON array of names. */
static int events_array(json_t *in, json_t **ret, struct ferr *e)
{
	int want[EVENT__COUNT] = { 0 };
	json_t *v, *out;
	size_t i;

	if (!json_is_array(in) || json_array_size(in) == 0)
		return ferr_invalid(e, "give the events to notify: a list of names, or \"all\"");
	json_array_foreach(in, i, v) {
		const char *s = json_string_value(v);
		int t;

		if (!s)
			return ferr_invalid(e, "events[%zu] must be a string", i);
		if (!strcmp(s, "all")) {
			for (t = 0; t < EVENT__COUNT; t++)
				want[t] = 1;
			continue;
		}
		t = event_parse(s);
		if (t < 0) {
			struct strbuf known = STRBUF_INIT;
			for (int k = 0; k < EVENT__COUNT; k++)
				strbuf_addf(&known, "%s%s", k ? ", " : "", event_name(k));
			ferr_invalid(e, "unknown event \"%s\": give all, or some of %s", s, known.buf);
			strbuf_release(&known);
			return -1;
		}
		want[t] = 1;
	}
	out = json_array();
	for (int t = 0; t < EVENT__COUNT; t++)
		if (want[t])
			json_array_append_new(out, json_string(event_name(t)));
	*ret = out;
	return 0;
}

static json_t *hook_row(sqlite3_stmt *st)
{
	json_t *events = json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL);

	return json_pack("{s:I, s:s, s:s, s:o, s:s, s:s, s:s}",
			 "id", (json_int_t)sqlite3_column_int64(st, 0),
			 "name", sqlite3_column_text(st, 1),
			 "url", sqlite3_column_text(st, 2),
			 "events", events ? events : json_array(),
			 "format", sqlite3_column_text(st, 4),
			 "created_by", sqlite3_column_text(st, 5),
			 "created_at", sqlite3_column_text(st, 6));
}

#define HOOK_COLUMNS "id, name, url, events, format, created_by, created_at"

static int hook_get(int64_t project_id, const char *name, json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT " HOOK_COLUMNS " FROM notification_hooks"
				      " WHERE project_id = ? AND name = ?");
	int rc;

	sqlite3_bind_int64(st, 1, project_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = hook_row(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "no notification hook \"%s\"", name);
	return rc == SQLITE_ROW ? 0 : store_error(e, "read notification hook");
}

static int count_hooks(int64_t project_id)
{
	sqlite3_stmt *st = store_stmt("SELECT count(*) FROM notification_hooks WHERE project_id = ?");
	int n = 0;

	sqlite3_bind_int64(st, 1, project_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return n;
}

int notify_hook_create(const struct principal *who, const char *project,
		       const struct notify_hook_input *in, json_t **ret, struct ferr *e)
{
	struct strbuf aad = STRBUF_INIT;
	char generated[65] = "", now[32], scope[32];
	const char *format = in->format ? in->format : "json", *secret = in->secret;
	json_t *events = NULL;
	char *events_text = NULL;
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	int64_t pid;
	sqlite3_stmt *st;
	int rc = -1;

	if (project_lookup(who, project, &pid, e) < 0 || auth_require_write(who, e) < 0 ||
	    check_name(in->name, e) < 0 || check_url(who, in->url, e) < 0 ||
	    events_array(in->events, &events, e) < 0)
		return -1;
	if (strcmp(format, "json") && strcmp(format, "slack")) {
		ferr_invalid(e, "format \"%s\": give json (ferry's body) or slack (a Slack-compatible"
			     " {\"text\": ...} body)", format);
		goto out;
	}
	if (secret && (strlen(secret) < SECRET_MIN || strlen(secret) > SECRET_MAX)) {
		ferr_invalid(e, "a notification secret must be %d to %d characters", SECRET_MIN, SECRET_MAX);
		goto out;
	}
	if (count_hooks(pid) >= NOTIFY_MAX_HOOKS) {
		ferr_conflict(e, "project %s has %d notification hooks already (the most it may have)",
			      project, NOTIFY_MAX_HOOKS);
		goto out;
	}
	if (!secret) {
		unsigned char raw[32];
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(generated, sizeof(generated), raw, sizeof(raw));
		sodium_memzero(raw, sizeof(raw));
		secret = generated;
	}
	snprintf(scope, sizeof(scope), "project:%lld", (long long)pid);
	aad_for(&aad, pid, in->name);
	if (vault_seal(core.vault, scope, aad.buf, aad.len, secret, strlen(secret), &sealed, &sealed_len, e) < 0)
		goto out;
	events_text = json_dumps(events, JSON_COMPACT);
	store_now(now);
	st = store_stmt("INSERT INTO notification_hooks (project_id, name, url, events, format, secret,"
			" created_by, created_at) VALUES (?,?,?,?,?,?,?,?)");
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_text(st, 2, in->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, in->url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, events_text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, format, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, sealed, (int)sealed_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, who->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT) {
		rc = ferr_conflict(e, "project %s has a notification hook \"%s\" already", project, in->name);
		goto out;
	}
	if (rc != SQLITE_DONE) {
		rc = store_error(e, "store notification hook");
		goto out;
	}
	rc = hook_get(pid, in->name, ret, e);
	if (rc == 0 && *generated)
		json_object_set_new(*ret, "secret", json_string(generated));
out:
	sodium_memzero(generated, sizeof(generated));
	strbuf_release(&aad);
	json_decref(events);
	free(events_text);
	free(sealed);
	return rc;
}

int notify_hook_list(const struct principal *who, const char *project, json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st;
	int64_t pid;

	if (project_lookup(who, project, &pid, e) < 0)
		return -1;
	st = store_stmt("SELECT " HOOK_COLUMNS " FROM notification_hooks WHERE project_id = ? ORDER BY name");
	sqlite3_bind_int64(st, 1, pid);
	return json_rows(st, hook_row, "read notification hooks", ret, e);
}

int notify_hook_delete(const struct principal *who, const char *project, const char *name,
		       struct ferr *e)
{
	sqlite3_stmt *st;
	int64_t pid;

	if (project_lookup(who, project, &pid, e) < 0 || auth_require_write(who, e) < 0)
		return -1;
	st = store_stmt("DELETE FROM notification_hooks WHERE project_id = ? AND name = ?");
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_error(e, "delete notification hook");
	if (sqlite3_changes(store_db()) == 0)
		return ferr_notfound(e, "project %s has no notification hook \"%s\"", project, name);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Queueing                                                             */

/* The body a hook of format gets for an event. */
static char *render(const char *format, const char *event, const char *event_id, const char *project,
		    json_t *data, const char *text)
{
	char now[32];
	json_t *body;
	char *out;

	store_now(now);
	if (!strcmp(format, "slack"))
		body = json_pack("{s:s}", "text", text);
	else
		body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O}", "event", event, "event_id", event_id,
				 "at", now, "project", project, "text", text, "data", data);
	out = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return out;
}

static int64_t queue(int64_t hook_id, const char *event, const char *event_id, const char *subject,
		     const char *body, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("INSERT INTO notification_deliveries (hook_id, event, event_id,"
				      " subject, body, status, next_at_ms, created_at)"
				      " VALUES (?,?,?,?,?,'pending',?,?)");
	char now[32];
	int64_t id = -1;

	store_now(now);
	sqlite3_bind_int64(st, 1, hook_id);
	sqlite3_bind_text(st, 2, event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, event_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, body, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, store_now_ms());
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		id = sqlite3_last_insert_rowid(store_db());
	else
		store_error(e, "queue notification");
	sqlite3_reset(st);
	return id;
}

static void new_event_id(char out[33])
{
	unsigned char raw[16];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, 33, raw, sizeof(raw));
}

static int wants(const char *events_json, const char *event)
{
	json_t *list = json_loads(events_json, 0, NULL), *v;
	size_t i;
	int yes = 0;

	json_array_foreach(list, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), event))
			yes = 1;
	json_decref(list);
	return yes;
}

void notify_on_event(enum event_type type, int64_t id)
{
	const char *event = event_name(type);
	char project[64], event_id[33], subject[64];
	struct ferr e = FERR_INIT;
	json_t *data = NULL;
	char *text = NULL;
	sqlite3_stmt *st;
	int64_t pid;
	int queued = 0;

	/* The common case, a project without hooks, costs one lookup. */
	st = store_stmt("SELECT 1 FROM notification_hooks LIMIT 1");
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return;
	}
	sqlite3_reset(st);
	if (notify_describe(type, id, &pid, project, &data, &text, &e) < 0) {
		log_warnx("event=notify_describe_failed type=%s id=%lld err=\"%s\"", event, (long long)id, e.msg);
		return;
	}
	new_event_id(event_id);
	snprintf(subject, sizeof(subject), "%.*s %lld", (int)strcspn(event, "."), event, (long long)id);
	st = store_stmt("SELECT id, format, events FROM notification_hooks WHERE project_id = ?");
	sqlite3_bind_int64(st, 1, pid);
	while (sqlite3_step(st) == SQLITE_ROW) {
		char *body;
		if (!wants((const char *)sqlite3_column_text(st, 2), event))
			continue;
		body = render((const char *)sqlite3_column_text(st, 1), event, event_id, project, data, text);
		if (queue(sqlite3_column_int64(st, 0), event, event_id, subject, body, &e) > 0)
			queued++;
		else
			log_warnx("event=notify_queue_failed type=%s id=%lld err=\"%s\"", event, (long long)id, e.msg);
		free(body);
	}
	sqlite3_reset(st);
	json_decref(data);
	free(text);
	if (queued)
		notify_wake();
}

/* ------------------------------------------------------------------ */
/* The delivery log                                                     */

static json_t *attempt_row(sqlite3_stmt *st)
{
	return json_pack("{s:i, s:s, s:o, s:o, s:I}",
			 "n", sqlite3_column_int(st, 0),
			 "at", sqlite3_column_text(st, 1),
			 "http_status", sqlite3_column_type(st, 2) == SQLITE_NULL ? json_null()
			 : json_integer(sqlite3_column_int(st, 2)),
			 "error", json_text_or_null(st, 3),
			 "duration_ms", (json_int_t)sqlite3_column_int64(st, 4));
}

static json_t *delivery_row(sqlite3_stmt *st)
{
	int64_t next = sqlite3_column_int64(st, 8);
	const char *status = (const char *)sqlite3_column_text(st, 5);
	json_t *next_at = json_null();

	if (!strcmp(status, "pending") || !strcmp(status, "retrying")) {
		char buf[32];
		time_t t = (time_t)(next / 1000);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
		next_at = json_string(buf);
	}
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:s, s:o}",
			 "id", (json_int_t)sqlite3_column_int64(st, 0),
			 "hook", sqlite3_column_text(st, 1),
			 "event", sqlite3_column_text(st, 2),
			 "event_id", sqlite3_column_text(st, 3),
			 "subject", sqlite3_column_text(st, 4),
			 "status", status,
			 "attempts", sqlite3_column_int(st, 6),
			 "last_http_status", sqlite3_column_type(st, 7) == SQLITE_NULL ? json_null()
			 : json_integer(sqlite3_column_int(st, 7)),
			 "last_error", json_text_or_null(st, 9),
			 "next_attempt_at", next_at,
			 "created_at", sqlite3_column_text(st, 10),
			 "finished_at", json_text_or_null(st, 11));
}

static int add_attempts(json_t *d, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT n, at, http_status, error, duration_ms FROM notification_attempts"
				      " WHERE delivery_id = ? ORDER BY n");
	json_t *tries;

	sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(d, "id")));
	if (json_rows(st, attempt_row, "read notification attempts", &tries, e) < 0)
		return -1;
	json_object_set_new(d, "tries", tries);
	return 0;
}

#define DELIVERY_COLUMNS "d.id, h.name, d.event, d.event_id, d.subject, d.status, d.attempts," \
	" d.last_status, d.next_at_ms, d.last_error, d.created_at, d.finished_at"

static int delivery_get(int64_t id, json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT " DELIVERY_COLUMNS " FROM notification_deliveries d"
				      " JOIN notification_hooks h ON h.id = d.hook_id WHERE d.id = ?");
	json_t *rows;

	sqlite3_bind_int64(st, 1, id);
	if (json_rows(st, delivery_row, "read notification delivery", &rows, e) < 0)
		return -1;
	if (json_array_size(rows) != 1) {
		json_decref(rows);
		return ferr_notfound(e, "notification delivery %lld not found", (long long)id);
	}
	*ret = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return add_attempts(*ret, e);
}

int notify_deliveries(const struct principal *who, const char *project, const char *hook, int limit,
		      json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st;
	json_t *rows, *d;
	int64_t pid;
	size_t i;

	if (project_lookup(who, project, &pid, e) < 0)
		return -1;
	if (hook) {
		json_t *h = NULL;
		if (hook_get(pid, hook, &h, e) < 0)
			return -1;
		json_decref(h);
	}
	st = store_stmt("SELECT " DELIVERY_COLUMNS " FROM notification_deliveries d"
			" JOIN notification_hooks h ON h.id = d.hook_id"
			" WHERE h.project_id = ?1 AND (?2 IS NULL OR h.name = ?2) ORDER BY d.id DESC LIMIT ?3");
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_text(st, 2, hook, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, limit);
	if (json_rows(st, delivery_row, "read notification deliveries", &rows, e) < 0)
		return -1;
	json_array_foreach(rows, i, d)
		if (add_attempts(d, e) < 0) {
			json_decref(rows);
			return -1;
		}
	*ret = rows;
	return 0;
}

int notify_hook_test(const struct principal *who, const char *project, const char *name,
		     json_t **ret, struct ferr *e)
{
	char event_id[33], text[256];
	json_t *hook = NULL, *data;
	char *body;
	int64_t pid, id;

	if (project_lookup(who, project, &pid, e) < 0 || auth_require_write(who, e) < 0 ||
	    hook_get(pid, name, &hook, e) < 0)
		return -1;
	new_event_id(event_id);
	snprintf(text, sizeof(text), "ferry: a test notification to hook %s of project %s, sent by %s", name,
		 project, who->name);
	data = json_pack("{s:s, s:s}", "hook", name, "by", who->name);
	body = render(json_string_value(json_object_get(hook, "format")), "ping", event_id, project, data, text);
	id = queue(json_integer_value(json_object_get(hook, "id")), "ping", event_id, "ping", body, e);
	free(body);
	json_decref(data);
	json_decref(hook);
	if (id < 0)
		return -1;
	notify_wake();
	return delivery_get(id, ret, e);
}
