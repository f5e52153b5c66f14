#include "component.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "core/deployment.h"
#include "core/json.h"
#include "core/names.h"
#include "core/project.h"
#include "pipeline/scan.h"
#include "sched/cron.h"
#include "sched/tz.h"
#include "store/store.h"
#include "vault/vault.h"
#include "lib/banned.h"

static char public_url[256] = "http://127.0.0.1:7700";

void component_set_public_url(const char *base)
{
	snprintf(public_url, sizeof(public_url), "%s", base);
}

static const char *const types[] = { "service", "web-app", "scheduled-task", "manual-task", NULL };
static const char *const buildpacks[] = { "static", NULL };

static int one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return 1;
	return 0;
}

int component_check_repo(const char *url, struct ferr *e)
{
	static const char *const schemes[] = { "https://", "http://", "git://", "ssh://", "file://", NULL };
	size_t n = url ? strlen(url) : 0;

	if (n == 0)
		return ferr_invalid(e, "a repository URL is required (--repo URL)");
	if (n > 2048)
		return ferr_invalid(e, "repository URL is %zu characters long: at most 2048 are allowed", n);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= ' ')
			return ferr_invalid(e, "repository URL has a space or control character at position %zu", i + 1);
	for (const char *const *s = schemes; *s; s++)
		if (!strncmp(url, *s, strlen(*s))) {
			if (n == strlen(*s))
				return ferr_invalid(e, "repository URL \"%s\" has no host or path after the scheme", url);
			return 0;
		}
	return ferr_invalid(e, "repository URL \"%s\" has an unsupported scheme: use https://, http://, git://, ssh:// or file://", url);
}

static int check_relpath(const char *what, const char *p, struct ferr *e)
{
	if (strlen(p) > 1024)
		return ferr_invalid(e, "%s is too long (at most 1024 characters)", what);
	if (p[0] == '/')
		return ferr_invalid(e, "%s \"%s\" must be relative to the repository root", what, p);
	for (const char *s = p; *s; s++)
		if ((unsigned char)*s < ' ')
			return ferr_invalid(e, "%s has a control character", what);
	for (const char *s = p; (s = strstr(s, "..")); s += 2)
		if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
			return ferr_invalid(e, "%s \"%s\" must not contain \"..\"", what, p);
	return 0;
}

static int check_branch(const char *b, struct ferr *e)
{
	size_t n = strlen(b);

	if (n == 0 || n > 255)
		return ferr_invalid(e, "branch name must be 1-255 characters");
	if (b[0] == '-' || b[0] == '/' || b[n - 1] == '/' || b[n - 1] == '.' || strstr(b, "..") ||
	    strstr(b, "//") || strstr(b, "@{") || (n >= 5 && !strcmp(b + n - 5, ".lock")))
		return ferr_invalid(e, "branch name \"%s\" is not a valid git branch name", b);
	for (const char *s = b; *s; s++)
		if ((unsigned char)*s <= ' ' || strchr("~^:?*[\\\x7f", *s))
			return ferr_invalid(e, "branch name \"%s\" has a character git does not allow in branch names", b);
	return 0;
}

static int check_spec(const struct component_spec *s, struct ferr *e)
{
	const char *type = s->type ? s->type : "service";
	int task = !strcmp(type, "scheduled-task");

	if (name_check_label("component name", s->name, e) < 0)
		return -1;
	if (!one_of(type, types))
		return ferr_invalid(e, "component type \"%s\" is not one of service, web-app, scheduled-task, manual-task", type);
	if (component_check_repo(s->repo, e) < 0)
		return -1;
	if (s->branch && check_branch(s->branch, e) < 0)
		return -1;
	if (s->path && check_relpath("path", s->path, e) < 0)
		return -1;
	if (s->dockerfile && s->buildpack)
		return ferr_invalid(e, "give either a Dockerfile (--dockerfile) or a buildpack (--buildpack), not both");
	if (s->dockerfile && (!*s->dockerfile || check_relpath("dockerfile", s->dockerfile, e) < 0))
		return ferr_invalid(e, "dockerfile path must not be empty");
	if (s->buildpack && !one_of(s->buildpack, buildpacks))
		return ferr_invalid(e, "buildpack \"%s\" is not known: the built-in buildpack is \"static\"", s->buildpack);
	if (s->scan_fail_on && scan_fail_on_parse(s->scan_fail_on) < 0)
		return ferr_invalid(e, "scan fail-on level \"%s\" is not one of critical, high, medium, "
				    "low, never", s->scan_fail_on);
	if (s->poll_interval < 0 || s->poll_interval > 86400)
		return ferr_invalid(e, "poll interval must be from 0 (off) to 86400 seconds");
	if (task && (!s->schedule || !*s->schedule))
		return ferr_invalid(e, "a scheduled-task needs a schedule (--schedule CRON)");
	if (!task && s->schedule)
		return ferr_invalid(e, "only scheduled-task components have a schedule; this one is a %s", type);
	if (!task && s->timezone)
		return ferr_invalid(e, "a time zone is only meaningful with a schedule");
	{
		int any_task = task || !strcmp(type, "manual-task");
		if (!any_task && (s->timeout || s->concurrency))
			return ferr_invalid(e, "--timeout and --concurrency are for task components; this one is a %s", type);
		if (s->timeout < 0 || s->timeout > 7 * 86400)
			return ferr_invalid(e, "a task's timeout must be from 1 to 604800 seconds");
		if (s->concurrency && strcmp(s->concurrency, "forbid") && strcmp(s->concurrency, "allow") &&
		    strcmp(s->concurrency, "replace"))
			return ferr_invalid(e, "concurrency policy \"%s\" is not one of forbid, allow, replace",
					    s->concurrency);
	}
	if (s->schedule) {
		struct cron c;
		const struct tz *tz;
		if (cron_parse(&c, s->schedule, e) < 0)
			return ferr_prefix(e, "schedule \"%s\"", s->schedule);
		if (s->timezone && tz_get(&tz, s->timezone, e) < 0)
			return -1;
	}
	return 0;
}

/* The next five run times of a scheduled task, in UTC. */
static json_t *next_runs(const char *schedule, const char *zone)
{
	const struct tz *tz = NULL;
	json_t *arr = json_array();
	struct ferr e = FERR_INIT;
	time_t runs[5];
	struct cron c;

	if (cron_parse(&c, schedule, &e) < 0 || (zone && tz_get(&tz, zone, &e) < 0) ||
	    cron_next_n(&c, tz, time(NULL), 5, runs, &e) < 0)
		return arr;
	for (int i = 0; i < 5; i++) {
		char buf[32];
		struct tm tm;
		gmtime_r(&runs[i], &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_array_append_new(arr, json_string(buf));
	}
	return arr;
}

#define COMPONENT_COLUMNS \
	"c.id, p.name, c.name, c.type, c.repo, c.branch, c.path, c.dockerfile, c.buildpack," \
	" c.auto_build, c.auto_deploy, c.schedule, c.timezone, c.webhook_key, c.created_at," \
	" c.poll_interval, c.task_timeout, c.task_concurrency," \
	" (SELECT fail_on FROM scan_policies sp WHERE sp.component_id = c.id)"

static json_t *component_row(sqlite3_stmt *st)
{
	char url[512];
	json_t *row;

	snprintf(url, sizeof(url), "%s/api/v1/hooks/%s", public_url, sqlite3_column_text(st, 13));
	row = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:b, s:b, s:o, s:o, s:s, s:s}",
		"id", (json_int_t)sqlite3_column_int64(st, 0),
		"project", sqlite3_column_text(st, 1),
		"name", sqlite3_column_text(st, 2),
		"type", sqlite3_column_text(st, 3),
		"repo", sqlite3_column_text(st, 4),
		"branch", sqlite3_column_text(st, 5),
		"path", sqlite3_column_text(st, 6),
		"dockerfile", json_text_or_null(st, 7),
		"buildpack", json_text_or_null(st, 8),
		"auto_build", sqlite3_column_int(st, 9),
		"auto_deploy", sqlite3_column_int(st, 10),
		"schedule", json_text_or_null(st, 11),
		"timezone", json_text_or_null(st, 12),
		"webhook_url", url,
		"created_at", sqlite3_column_text(st, 14));
	json_object_set_new(row, "poll_interval", json_integer(sqlite3_column_int64(st, 15)));
	json_object_set_new(row, "scan_policy", json_pack("{s:s}", "fail_on",
		sqlite3_column_type(st, 18) == SQLITE_NULL ? "critical" : (const char *)sqlite3_column_text(st, 18)));
	if (!strcmp((const char *)sqlite3_column_text(st, 3), "scheduled-task") ||
	    !strcmp((const char *)sqlite3_column_text(st, 3), "manual-task")) {
		json_object_set_new(row, "timeout", json_integer(sqlite3_column_int64(st, 16)));
		json_object_set_new(row, "concurrency", json_string((const char *)sqlite3_column_text(st, 17)));
	}
	if (sqlite3_column_type(st, 11) != SQLITE_NULL)
		json_object_set_new(row, "next_runs",
				    next_runs((const char *)sqlite3_column_text(st, 11),
					      (const char *)sqlite3_column_text(st, 12)));
	return row;
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

/* The webhook secret is sealed in the vault, bound to its component row. */
static void webhook_aad(struct strbuf *aad, int64_t project_id, const char *name)
{
	vault_aad_add(aad, "webhook_secret");
	vault_aad_add_int(aad, project_id);
	vault_aad_add(aad, name);
}

static void project_scope(char out[32], int64_t project_id)
{
	snprintf(out, 32, "project:%lld", (long long)project_id);
}

int component_webhook_secret(int64_t component_id, char ret[65], struct ferr *e)
{
	struct strbuf aad = STRBUF_INIT;
	sqlite3_stmt *st;
	char *plain = NULL;
	size_t len = 0;
	int rc;

	st = store_stmt("SELECT project_id, name, webhook_secret FROM components WHERE id = ?");
	sqlite3_bind_int64(st, 1, component_id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? ferr_notfound(e, "component %lld not found", (long long)component_id)
					 : store_error(e, "read webhook secret");
	}
	webhook_aad(&aad, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1));
	rc = vault_unseal(core.vault, aad.buf, aad.len, sqlite3_column_blob(st, 2),
			  (size_t)sqlite3_column_bytes(st, 2), "webhook secret", &plain, &len, e);
	sqlite3_reset(st);
	strbuf_release(&aad);
	if (rc < 0)
		return -1;
	if (len != 64) {
		vault_plain_free(plain, len);
		return ferr_internal(e, "webhook secret of component %lld has a bad length", (long long)component_id);
	}
	memcpy(ret, plain, 65);
	vault_plain_free(plain, len);
	return 0;
}

int component_create(const struct principal *who, const char *project,
		     const struct component_spec *s, json_t **ret, struct ferr *e)
{
	unsigned char key[16], secret[32];
	char key_hex[33], secret_hex[65], now[32], scope[32];
	struct strbuf aad = STRBUF_INIT;
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	sqlite3_stmt *st;
	int64_t pid;
	int rc;

	if (project_lookup(who, project, &pid, e) < 0 || auth_require_write(who, e) < 0 ||
	    check_spec(s, e) < 0)
		return -1;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(secret, sizeof(secret));
	sodium_bin2hex(key_hex, sizeof(key_hex), key, sizeof(key));
	sodium_bin2hex(secret_hex, sizeof(secret_hex), secret, sizeof(secret));
	sodium_memzero(secret, sizeof(secret));
	project_scope(scope, pid);
	webhook_aad(&aad, pid, s->name);
	rc = vault_seal(core.vault, scope, aad.buf, aad.len, secret_hex, 64, &sealed, &sealed_len, e);
	strbuf_release(&aad);
	if (rc < 0) {
		sodium_memzero(secret_hex, sizeof(secret_hex));
		return -1;
	}
	store_now(now);
	st = store_stmt("INSERT INTO components (project_id, name, type, repo, branch, path,"
			" dockerfile, buildpack, auto_build, auto_deploy, schedule, timezone,"
			" webhook_key, webhook_secret, created_at, poll_interval, task_timeout,"
			" task_concurrency) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_text(st, 2, s->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->type ? s->type : "service", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, s->repo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, s->branch ? s->branch : "main", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, s->path ? s->path : "", -1, SQLITE_STATIC);
	if (s->buildpack)
		sqlite3_bind_null(st, 7);
	else
		sqlite3_bind_text(st, 7, s->dockerfile ? s->dockerfile : "Dockerfile", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, s->buildpack, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 9, !!s->auto_build);
	sqlite3_bind_int(st, 10, !!s->auto_deploy);
	sqlite3_bind_text(st, 11, s->schedule, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, s->schedule ? (s->timezone ? s->timezone : "UTC") : NULL, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, key_hex, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 14, sealed, (int)sealed_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 15, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 16, s->poll_interval);
	sqlite3_bind_int64(st, 17, s->timeout ? s->timeout : 3600);
	sqlite3_bind_text(st, 18, s->concurrency ? s->concurrency : "forbid", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	free(sealed);
	if (rc != SQLITE_DONE) {
		sodium_memzero(secret_hex, sizeof(secret_hex));
		store_error(e, "component");
		if (e && e->status == 409)
			snprintf(e->msg, sizeof(e->msg), "component \"%s/%s\" already exists", project, s->name);
		return -1;
	}
	if (s->scan_fail_on) {
		int64_t cid = sqlite3_last_insert_rowid(store_db());
		char level[16];
		snprintf(level, sizeof(level), "%s", scan_fail_on_name(scan_fail_on_parse(s->scan_fail_on)));
		st = store_stmt("INSERT OR REPLACE INTO scan_policies (component_id, fail_on) VALUES (?, ?)");
		sqlite3_bind_int64(st, 1, cid);
		sqlite3_bind_text(st, 2, level, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			sodium_memzero(secret_hex, sizeof(secret_hex));
			return store_error(e, "store the component's scan policy");
		}
	}
	if (component_show(who, project, s->name, ret, e) < 0) {
		sodium_memzero(secret_hex, sizeof(secret_hex));
		return -1;
	}
	json_object_set_new(*ret, "webhook_secret", json_string(secret_hex));
	sodium_memzero(secret_hex, sizeof(secret_hex));
	return 0;
}

int component_list(const struct principal *who, const char *project, json_t **ret,
		   struct ferr *e)
{
	sqlite3_stmt *st;
	json_t *arr;
	int64_t pid;
	int rc;

	if (project_lookup(who, project, &pid, e) < 0)
		return -1;
	st = store_stmt("SELECT " COMPONENT_COLUMNS " FROM components c JOIN projects p ON p.id = c.project_id"
			" WHERE c.project_id = ? ORDER BY c.name");
	sqlite3_bind_int64(st, 1, pid);
	arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, component_row(st));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return store_error(e, "list components");
	}
	*ret = arr;
	return 0;
}

int component_show(const struct principal *who, const char *project, const char *name,
		   json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st;
	int64_t id;
	int rc;

	if (component_lookup(who, project, name, NULL, &id, e) < 0)
		return -1;
	st = store_stmt("SELECT " COMPONENT_COLUMNS " FROM components c JOIN projects p ON p.id = c.project_id"
			" WHERE c.id = ?");
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = component_row(st);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_error(e, "show component");
	return 0;
}

int component_delete(const struct principal *who, const char *project, const char *name,
		     struct ferr *e)
{
	sqlite3_stmt *st;
	int64_t id;

	if (component_lookup(who, project, name, NULL, &id, e) < 0 || auth_require_write(who, e) < 0)
		return -1;
	/* The undeploy jobs carry the names they need, so they finish after
	 * the component's rows are gone. */
	if (deployment_undeploy_all(id, who->name, e) < 0)
		return -1;
	st = store_stmt("DELETE FROM components WHERE id = ?");
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_error(e, "delete component");
	return 0;
}
