#include "component.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "core/repo_policy.h"
#include "core/events.h"
#include "core/json.h"
#include "core/names.h"
#include "core/lookup.h"
#include "pipeline/buildpack.h"
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
	if (s->buildpack && !buildpack_find(s->buildpack))
		return ferr_invalid(e, "buildpack \"%s\" is not known: the built-in buildpacks are %s",
				    s->buildpack, buildpack_names());
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
	    check_spec(s, e) < 0 || repo_policy_check(who, s->repo, e) < 0)
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
	/* The component and its scan policy: one transaction. */
	if (store_begin(e) < 0) {
		free(sealed);
		sodium_memzero(secret_hex, sizeof(secret_hex));
		return -1;
	}
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
		store_rollback();
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
		if (rc != SQLITE_DONE) {
			sodium_memzero(secret_hex, sizeof(secret_hex));
			store_error(e, "store the component's scan policy");
			store_rollback();
			return -1;
		}
		sqlite3_reset(st);
	}
	if (store_commit(e) < 0) {
		sodium_memzero(secret_hex, sizeof(secret_hex));
		return -1;
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
	/* Subscribers undeploy it everywhere (ferryd: deployment_on_change);
	 * the undeploy jobs carry the names they need, so they finish after
	 * the component's rows are gone. */
	{
		struct domain_event ev = { .type = DOMAIN_COMPONENT_DELETING, .component_id = id,
					   .actor = who->name };
		if (domain_publish(&ev, e) < 0)
			return -1;
	}
	st = store_stmt("DELETE FROM components WHERE id = ?");
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_error(e, "delete component");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Changing settings                                                    */

/* A component's settings as stored; the strings are owned. */
struct component_now {
	char *name, *type, *repo, *branch, *path, *dockerfile, *buildpack;
	char *schedule, *timezone, *concurrency, *scan_fail_on;
	int auto_build, auto_deploy;
	int64_t poll_interval, timeout;
};

static char *column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	char *s;

	if (!t)
		return NULL;
	if (!(s = strdup((const char *)t)))
		abort();
	return s;
}

static void component_now_release(struct component_now *c)
{
	char **strs[] = { &c->name, &c->type, &c->repo, &c->branch, &c->path, &c->dockerfile,
			  &c->buildpack, &c->schedule, &c->timezone, &c->concurrency, &c->scan_fail_on };

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

static int component_now_load(int64_t id, struct component_now *c, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT name, type, repo, branch, path, dockerfile, buildpack, auto_build, auto_deploy,"
		" schedule, timezone, poll_interval, task_timeout, task_concurrency,"
		" (SELECT fail_on FROM scan_policies sp WHERE sp.component_id = c.id)"
		" FROM components c WHERE id = ?");
	int rc;

	memset(c, 0, sizeof(*c));
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		c->name = column_dup(st, 0);
		c->type = column_dup(st, 1);
		c->repo = column_dup(st, 2);
		c->branch = column_dup(st, 3);
		c->path = column_dup(st, 4);
		c->dockerfile = column_dup(st, 5);
		c->buildpack = column_dup(st, 6);
		c->auto_build = sqlite3_column_int(st, 7);
		c->auto_deploy = sqlite3_column_int(st, 8);
		c->schedule = column_dup(st, 9);
		c->timezone = column_dup(st, 10);
		c->poll_interval = sqlite3_column_int64(st, 11);
		c->timeout = sqlite3_column_int64(st, 12);
		c->concurrency = column_dup(st, 13);
		c->scan_fail_on = column_dup(st, 14);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "component %lld was deleted meanwhile", (long long)id);
	if (rc != SQLITE_ROW)
		return store_error(e, "read component");
	return 0;
}

static int is_task_type(const char *type)
{
	return !strcmp(type, "scheduled-task") || !strcmp(type, "manual-task");
}

/* The spec of the component an update would leave: the update's values
 * over the stored ones. Pointers borrow from u and c. Task settings of a
 * component that is not a task are left out (the columns hold defaults), so
 * check_spec refuses them only when the update gives them. */
static void spec_after_update(const struct component_now *c, const struct component_update *u,
			      struct component_spec *s)
{
	int task = is_task_type(c->type);

	memset(s, 0, sizeof(*s));
	s->name = c->name;
	s->type = c->type;
	s->repo = u->repo ? u->repo : c->repo;
	s->branch = u->branch ? u->branch : c->branch;
	s->path = u->path ? u->path : c->path;
	if (u->dockerfile || u->buildpack) {
		/* one recipe replaces the other; both at once is check_spec's refusal */
		s->dockerfile = u->dockerfile;
		s->buildpack = u->buildpack;
	} else {
		s->dockerfile = c->dockerfile;
		s->buildpack = c->buildpack;
	}
	s->auto_build = u->set_auto_build ? u->auto_build : c->auto_build;
	s->auto_deploy = u->set_auto_deploy ? u->auto_deploy : c->auto_deploy;
	s->schedule = u->schedule ? u->schedule : c->schedule;
	s->timezone = u->timezone ? u->timezone : c->timezone;
	s->poll_interval = u->set_poll_interval ? u->poll_interval : c->poll_interval;
	s->timeout = u->set_timeout ? u->timeout : task ? c->timeout : 0;
	s->concurrency = u->concurrency ? u->concurrency : task ? c->concurrency : NULL;
	s->scan_fail_on = u->scan_fail_on ? u->scan_fail_on : c->scan_fail_on;
}

static int update_is_empty(const struct component_update *u)
{
	return !u->name && !u->type && !u->repo && !u->branch && !u->path && !u->dockerfile &&
	       !u->buildpack && !u->set_auto_build && !u->set_auto_deploy && !u->schedule &&
	       !u->timezone && !u->set_poll_interval && !u->set_timeout && !u->concurrency &&
	       !u->scan_fail_on;
}

/* "scheme://host:port" of a repository URL, lower case, without user
 * information: where a fetch (and its credentials) goes. */
static void repo_origin(const char *url, char *out, size_t size)
{
	const char *sep = strstr(url, "://");
	const char *host = sep ? sep + 3 : url;
	size_t len = strcspn(host, "/");
	const char *at = memchr(host, '@', len);
	int n;

	if (at) {
		len -= (size_t)(at + 1 - host);
		host = at + 1;
	}
	n = snprintf(out, size, "%.*s%.*s", sep ? (int)(sep + 3 - url) : 0, url, (int)len, host);
	for (int i = 0; i < n && (size_t)i < size; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
}

static int has_git_credentials(int64_t id, int *ret, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT 1 FROM git_credentials WHERE component_id = ?");
	int rc;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(e, "read git credentials");
	*ret = rc == SQLITE_ROW;
	return 0;
}

static int same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Writes the resulting settings s of component id (stored now as c). */
static int write_update(int64_t id, const struct component_now *c, const struct component_spec *s,
			int new_source, int new_schedule, struct ferr *e)
{
	int task = is_task_type(c->type);
	sqlite3_stmt *st;
	int rc;

	st = store_stmt("UPDATE components SET repo = ?, branch = ?, path = ?, dockerfile = ?,"
			" buildpack = ?, auto_build = ?, auto_deploy = ?, schedule = ?, timezone = ?,"
			" poll_interval = ?, task_timeout = ?, task_concurrency = ?,"
			" poll_head = CASE WHEN ?13 THEN NULL ELSE poll_head END,"
			" polled_at = CASE WHEN ?13 THEN NULL ELSE polled_at END"
			" WHERE id = ?14");
	sqlite3_bind_text(st, 1, s->repo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->branch, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, s->dockerfile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, s->buildpack, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, !!s->auto_build);
	sqlite3_bind_int(st, 7, !!s->auto_deploy);
	sqlite3_bind_text(st, 8, s->schedule, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, s->schedule ? (s->timezone ? s->timezone : "UTC") : NULL, -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, s->poll_interval);
	sqlite3_bind_int64(st, 11, task ? (s->timeout ? s->timeout : 3600) : c->timeout);
	sqlite3_bind_text(st, 12, task ? (s->concurrency ? s->concurrency : "forbid") : c->concurrency,
			  -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 13, new_source);
	sqlite3_bind_int64(st, 14, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(e, "update component");
	if (s->scan_fail_on && !same_text(s->scan_fail_on, c->scan_fail_on)) {
		st = store_stmt("INSERT OR REPLACE INTO scan_policies (component_id, fail_on) VALUES (?, ?)");
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, scan_fail_on_name(scan_fail_on_parse(s->scan_fail_on)), -1,
				  SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_error(e, "store the component's scan policy");
	}
	if (new_schedule) {
		/* The scheduler counts runs from last_slot: left at a slot of the
		 * old schedule, the new one would look late and make up a run
		 * (or record a missed one) the moment it is set. */
		st = store_stmt("UPDATE task_schedules SET last_slot = ? WHERE component_id = ?");
		sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
		sqlite3_bind_int64(st, 2, id);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_error(e, "restart the task's schedule");
	}
	return 0;
}

/* The settings whose value differs between c and s, as JSON names. */
static json_t *changed_settings(const struct component_now *c, const struct component_spec *s)
{
	int task = is_task_type(c->type);
	const char *tz_after = s->schedule ? (s->timezone ? s->timezone : "UTC") : NULL;
	const char *fail_before = c->scan_fail_on ? c->scan_fail_on : "critical";
	const char *fail_after = s->scan_fail_on ? scan_fail_on_name(scan_fail_on_parse(s->scan_fail_on))
						 : fail_before;
	json_t *a = json_array();

#define CHANGED(cond, what) do { if (cond) json_array_append_new(a, json_string(what)); } while (0)
	CHANGED(strcmp(c->repo, s->repo), "repo");
	CHANGED(strcmp(c->branch, s->branch), "branch");
	CHANGED(strcmp(c->path, s->path), "path");
	CHANGED(!same_text(c->dockerfile, s->dockerfile), "dockerfile");
	CHANGED(!same_text(c->buildpack, s->buildpack), "buildpack");
	CHANGED(!c->auto_build != !s->auto_build, "auto_build");
	CHANGED(!c->auto_deploy != !s->auto_deploy, "auto_deploy");
	CHANGED(!same_text(c->schedule, s->schedule), "schedule");
	CHANGED(!same_text(c->timezone, tz_after), "timezone");
	CHANGED(c->poll_interval != s->poll_interval, "poll_interval");
	CHANGED(task && c->timeout != (s->timeout ? s->timeout : 3600), "timeout");
	CHANGED(task && strcmp(c->concurrency, s->concurrency ? s->concurrency : "forbid"), "concurrency");
	CHANGED(strcmp(fail_before, fail_after), "scan_fail_on");
#undef CHANGED
	return a;
}

int component_update(const struct principal *who, const char *project, const char *name,
		     const struct component_update *u, json_t **ret, struct ferr *e)
{
	struct component_now c;
	struct component_spec s;
	json_t *changed = NULL;
	int64_t id;
	int rc = -1;

	if (component_lookup(who, project, name, NULL, &id, e) < 0 || auth_require_write(who, e) < 0)
		return -1;
	if (update_is_empty(u))
		return ferr_invalid(e, "nothing to change: give at least one setting");
	if (store_begin(e) < 0)
		return -1;
	if (component_now_load(id, &c, e) < 0)
		goto out;
	if (u->name && strcmp(u->name, c.name)) {
		ferr_invalid(e, "a component's name cannot change (it is \"%s\"): create a new component "
			     "and delete this one", c.name);
		goto out;
	}
	if (u->type && strcmp(u->type, c.type)) {
		ferr_invalid(e, "a component's type cannot change (%s/%s is a %s): create a new %s "
			     "component and delete this one", project, name, c.type, u->type);
		goto out;
	}
	spec_after_update(&c, u, &s);
	if (check_spec(&s, e) < 0)
		goto out;
	if (strcmp(s.repo, c.repo) && repo_policy_check(who, s.repo, e) < 0)
		goto out;
	if (strcmp(s.repo, c.repo)) {
		char from[256], to[256];
		int creds = 0;

		repo_origin(c.repo, from, sizeof(from));
		repo_origin(s.repo, to, sizeof(to));
		if (strcmp(from, to)) {
			if (has_git_credentials(id, &creds, e) < 0)
				goto out;
			if (creds) {
				ferr_invalid(e, "%s/%s has git credentials for %s; a repository at %s would "
					     "be fetched with them: remove them first (ferry component "
					     "credentials %s/%s --remove), then set the new repository and "
					     "its credentials", project, name, from, to, project, name);
				goto out;
			}
		}
	}
	changed = changed_settings(&c, &s);
	if (write_update(id, &c, &s, strcmp(s.repo, c.repo) || strcmp(s.branch, c.branch),
			 !same_text(c.schedule, s.schedule) || !same_text(c.timezone, s.timezone), e) < 0)
		goto out;
	if (store_commit(e) < 0) {
		component_now_release(&c);
		json_decref(changed);
		return -1;
	}
	rc = 0;
out:
	if (rc < 0)
		store_rollback();
	component_now_release(&c);
	if (rc == 0) {
		if (component_show(who, project, name, ret, e) < 0)
			rc = -1;
		else
			json_object_set(*ret, "changed", changed);
	}
	json_decref(changed);
	return rc;
}
