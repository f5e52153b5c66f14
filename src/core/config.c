#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/events.h"
#include "core/lookup.h"
#include "core/core.h"
#include "core/names.h"
#include "lib/strbuf.h"
#include "store/store.h"
#include "vault/vault.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

static config_changed_fn changed_hook;

/* The hook as a subscriber of configuration.changed. */
static int hook_on_change(struct domain_event *ev, struct ferr *e)
{
	(void)e;
	if (ev->type == DOMAIN_CONFIG_CHANGED && changed_hook && !ev->answer)
		ev->answer = changed_hook(ev->component_id, ev->env_id, ev->actor);
	return 0;
}

void config_set_changed_hook(config_changed_fn fn)
{
	domain_unsubscribe(hook_on_change);
	changed_hook = fn;
	if (fn)
		domain_subscribe(hook_on_change);
}

json_t *config_changed(int64_t component_id, int64_t env_id, const char *who)
{
	struct domain_event ev = { .type = DOMAIN_CONFIG_CHANGED, .component_id = component_id,
				   .env_id = env_id, .actor = who };
	struct ferr e = FERR_INIT;

	/* the change is committed: a subscriber's failure is only its answer */
	if (domain_publish(&ev, &e) < 0 && !ev.answer)
		ev.answer = json_pack("{s:n, s:s}", "deployment", "reason", e.msg);
	return ev.answer ? ev.answer : json_pack("{s:n, s:s}", "deployment", "reason",
						 "nothing redeploys configuration changes");
}

const char *config_kind_name(enum config_kind k)
{
	return k == CONFIG_KIND_FILE ? "file" : "env";
}

int config_kind_parse(const char *s, enum config_kind *ret, struct ferr *e)
{
	if (s && !strcmp(s, "env"))
		*ret = CONFIG_KIND_ENV;
	else if (s && !strcmp(s, "file"))
		*ret = CONFIG_KIND_FILE;
	else
		return ferr_invalid(e, "configuration kind \"%.32s\" is not \"env\" or \"file\"", s ? s : "");
	return 0;
}

int config_check_key(enum config_kind kind, const char *key, struct ferr *e)
{
	size_t n = key ? strlen(key) : 0;

	if (kind == CONFIG_KIND_ENV)
		return name_check_env_key("environment variable name", key, e);
	if (n == 0)
		return ferr_invalid(e, "file configuration name is empty");
	if (n > CONFIG_MAX_KEY)
		return ferr_invalid(e, "file configuration name is %zu characters long: at most %d are allowed",
				    n, CONFIG_MAX_KEY);
	if (!strcmp(key, ".") || !strcmp(key, ".."))
		return ferr_invalid(e, "file configuration name \"%s\" is not allowed", key);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)key[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return ferr_invalid(e, "file configuration name \"%.64s\" has an invalid character at position %zu: use [A-Za-z0-9._-]",
					    key, i + 1);
	}
	return 0;
}

int config_check_mount_path(const char *path, struct ferr *e)
{
	size_t n = path ? strlen(path) : 0;
	const char *p;

	if (n == 0)
		return ferr_invalid(e, "a file configuration needs a mount path (--file-mount /absolute/path)");
	if (n > CONFIG_MAX_MOUNT_PATH)
		return ferr_invalid(e, "mount path is %zu characters long: at most %d are allowed", n,
				    CONFIG_MAX_MOUNT_PATH);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] < ' ' || path[i] == 0x7f)
			return ferr_invalid(e, "mount path has a control character at position %zu", i + 1);
	if (path[0] != '/')
		return ferr_invalid(e, "mount path \"%.200s\" is relative: it must be absolute (start with /)", path);
	if (n == 1)
		return ferr_invalid(e, "mount path \"/\" names the root directory: give a file path");
	if (path[n - 1] == '/')
		return ferr_invalid(e, "mount path \"%.200s\" ends with '/': give a file path", path);
	for (p = path; *p; ) {
		const char *part = ++p; /* past the '/' */
		size_t len = strcspn(part, "/");

		if (len == 0)
			return ferr_invalid(e, "mount path \"%.200s\" has an empty part (\"//\"): write it normalised", path);
		if ((len == 1 && part[0] == '.') || (len == 2 && part[0] == '.' && part[1] == '.'))
			return ferr_invalid(e, "mount path \"%.200s\" has a \"%.*s\" part: write it normalised, without \".\" or \"..\"",
					    path, (int)len, part);
		p = part + len;
	}
	if (!strcmp(path, "/.ferry") || !strncmp(path, "/.ferry/", 8))
		return ferr_invalid(e, "mount path \"%.200s\" is below /.ferry, where ferry-init reads the configuration", path);
	return 0;
}

static void key_scope(char out[32], int64_t project_id)
{
	snprintf(out, 32, "project:%lld", (long long)project_id);
}

/* Associated data of a value row: every column that identifies it or says
 * how it is used, so that a blob moved to another row, key, version or
 * scope, or a secret flag flipped in the database, fails to decrypt. */
static void value_aad(struct strbuf *aad, int64_t project_id, int64_t component_id,
		      int64_t env_id, const char *key, int64_t version, const char *kind,
		      int secret, const char *mount_path)
{
	vault_aad_add(aad, "config_value");
	vault_aad_add_int(aad, project_id);
	vault_aad_add_int(aad, component_id);
	vault_aad_add_int(aad, env_id);
	vault_aad_add(aad, key);
	vault_aad_add_int(aad, version);
	vault_aad_add(aad, kind);
	vault_aad_add_int(aad, secret);
	vault_aad_add(aad, mount_path ? mount_path : "");
}

int config_current_version(int64_t component_id, int64_t *ret, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT version FROM config_versions WHERE component_id = ?");
	int rc;

	sqlite3_bind_int64(st, 1, component_id);
	rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(e, "read configuration version");
	return 0;
}

/* Takes the next configuration version (inside the caller's transaction). */
static int next_version(int64_t component_id, int64_t *ret, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("INSERT INTO config_versions (component_id, version) VALUES (?, 1)"
				      " ON CONFLICT (component_id) DO UPDATE SET version = version + 1"
				      " RETURNING version");
	int rc;

	sqlite3_bind_int64(st, 1, component_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	else
		store_error(e, "configuration version");
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

#define VALUE_COLUMNS \
	"v.key, v.version, v.kind, v.secret, v.mount_path, v.value, v.deleted, v.updated_at, v.updated_by"

/* The newest row of each key of one scope (deleted ones included). */
#define CURRENT_SQL \
	"SELECT " VALUE_COLUMNS " FROM config_values v" \
	" WHERE v.component_id = ?1 AND IFNULL(v.env_id, 0) = ?2" \
	" AND v.version = (SELECT MAX(w.version) FROM config_values w" \
	"   WHERE w.component_id = ?1 AND IFNULL(w.env_id, 0) = ?2 AND w.key = v.key)" \
	" ORDER BY v.key"

#define HISTORY_SQL \
	"SELECT " VALUE_COLUMNS " FROM config_values v" \
	" WHERE v.component_id = ?1 AND IFNULL(v.env_id, 0) = ?2" \
	" ORDER BY v.version DESC, v.key"

enum { C_KEY, C_VERSION, C_KIND, C_SECRET, C_MOUNT, C_VALUE, C_DELETED, C_AT, C_BY };

/* Decrypts the value of the row st is on. */
static int unseal_row(sqlite3_stmt *st, int64_t project_id, int64_t component_id, int64_t env_id,
		      char **ret, size_t *ret_len, struct ferr *e)
{
	const char *key = (const char *)sqlite3_column_text(st, C_KEY);
	struct strbuf aad = STRBUF_INIT;
	char what[320];
	int rc;

	value_aad(&aad, project_id, component_id, env_id, key, sqlite3_column_int64(st, C_VERSION),
		  (const char *)sqlite3_column_text(st, C_KIND), sqlite3_column_int(st, C_SECRET),
		  (const char *)sqlite3_column_text(st, C_MOUNT));
	snprintf(what, sizeof(what), "configuration value for %s (version %lld)", key,
		 (long long)sqlite3_column_int64(st, C_VERSION));
	rc = vault_unseal(core.vault, aad.buf, aad.len, sqlite3_column_blob(st, C_VALUE),
			  (size_t)sqlite3_column_bytes(st, C_VALUE), what, ret, ret_len, e);
	strbuf_release(&aad);
	return rc;
}

/* Puts a value into entry o: as "value" if it is UTF-8 text without NUL,
 * else as "value_base64". */
static void set_value(json_t *o, const char *v, size_t len)
{
	json_t *s = memchr(v, 0, len) ? NULL : json_stringn(v, len);

	if (s) {
		json_object_set_new(o, "value", s);
	} else {
		size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
		char *b = malloc(n);

		if (!b)
			abort();
		sodium_bin2base64(b, n, (const unsigned char *)v, len, sodium_base64_VARIANT_ORIGINAL);
		json_object_set_new(o, "value_base64", json_string(b));
		free(b);
	}
}

/* One entry for people and scripts from the row st is on. Decrypts the
 * value unless it is secret or deleted. */
static int row_json(sqlite3_stmt *st, int64_t project_id, int64_t component_id, int64_t env_id,
		    const char *scope, int with_deleted, json_t **ret, struct ferr *e)
{
	int secret = sqlite3_column_int(st, C_SECRET), deleted = sqlite3_column_int(st, C_DELETED);
	const char *kind = (const char *)sqlite3_column_text(st, C_KIND);
	json_t *o;

	o = json_pack("{s:s, s:s, s:s, s:b, s:I, s:s, s:s}",
		      "key", (const char *)sqlite3_column_text(st, C_KEY),
		      "scope", scope, "kind", kind, "secret", secret,
		      "version", (json_int_t)sqlite3_column_int64(st, C_VERSION),
		      "updated_at", (const char *)sqlite3_column_text(st, C_AT),
		      "updated_by", (const char *)sqlite3_column_text(st, C_BY));
	if (!strcmp(kind, "file"))
		json_object_set_new(o, "mount_path",
				    json_string((const char *)sqlite3_column_text(st, C_MOUNT)));
	if (with_deleted)
		json_object_set_new(o, "deleted", json_boolean(deleted));
	if (!secret && !deleted) {
		char *plain = NULL;
		size_t len = 0;

		if (unseal_row(st, project_id, component_id, env_id, &plain, &len, e) < 0) {
			json_decref(o);
			return -1;
		}
		set_value(o, plain, len);
		vault_plain_free(plain, len);
	}
	*ret = o;
	return 0;
}

/* Appends the current (not deleted) entries of one scope to arr, or, with
 * history, every version. */
static int scope_json(int64_t project_id, int64_t component_id, int64_t env_id, const char *scope,
		      int history, json_t *arr, struct ferr *e)
{
	sqlite3_stmt *st = history ? store_stmt(HISTORY_SQL) : store_stmt(CURRENT_SQL);
	int rc, r = 0;

	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_int64(st, 2, env_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o;

		if (!history && sqlite3_column_int(st, C_DELETED))
			continue;
		if (row_json(st, project_id, component_id, env_id, scope, history, &o, e) < 0) {
			r = -1;
			break;
		}
		json_array_append_new(arr, o);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_error(e, "list configuration");
	sqlite3_reset(st);
	return r;
}

static const char *entry_key(json_t *o)
{
	return json_string_value(json_object_get(o, "key"));
}

int config_list(const struct principal *who, const char *project, const char *component,
		const char *env, int history, json_t **ret, struct ferr *e)
{
	json_t *base = NULL, *own = NULL, *out;
	int64_t pid = 0, cid = 0, eid = 0;
	size_t i = 0, j = 0;

	if (component_lookup(who, project, component, &pid, &cid, e) < 0 ||
	    (env && env_lookup(pid, env, &eid, e) < 0))
		return -1;
	if (history || !env) {
		out = json_array();
		if (scope_json(pid, cid, eid, env ? env : "component", history, out, e) < 0) {
			json_decref(out);
			return -1;
		}
		*ret = out;
		return 0;
	}
	/* In effect in env: its own values over the component-wide ones. Both
	 * lists are sorted by key, so one merge pass joins them. */
	base = json_array();
	own = json_array();
	if (scope_json(pid, cid, 0, "component", 0, base, e) < 0 ||
	    scope_json(pid, cid, eid, env, 0, own, e) < 0) {
		json_decref(base);
		json_decref(own);
		return -1;
	}
	out = json_array();
	while (i < json_array_size(base) || j < json_array_size(own)) {
		json_t *b = json_array_get(base, i), *o = json_array_get(own, j);
		int cmp = !b ? 1 : !o ? -1 : strcmp(entry_key(b), entry_key(o));

		if (cmp < 0) {
			json_array_append(out, b);
			i++;
		} else {
			json_array_append(out, o);
			j++;
			i += cmp == 0;
		}
	}
	json_decref(base);
	json_decref(own);
	*ret = out;
	return 0;
}

/* The newest row of key in a scope: *ret_found 0 if none or deleted. */
static int current_row(int64_t component_id, int64_t env_id, const char *key, int *ret_found,
		       int *ret_secret, char *ret_kind, size_t kind_size, char **ret_mount,
		       struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT kind, secret, mount_path, deleted FROM config_values"
				      " WHERE component_id = ? AND IFNULL(env_id, 0) = ? AND key = ?"
				      " ORDER BY version DESC LIMIT 1");
	int rc;

	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_int64(st, 2, env_id);
	sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*ret_found = rc == SQLITE_ROW && !sqlite3_column_int(st, 3);
	if (*ret_found) {
		if (ret_secret)
			*ret_secret = sqlite3_column_int(st, 1);
		if (ret_kind)
			snprintf(ret_kind, kind_size, "%s", (const char *)sqlite3_column_text(st, 0));
		if (ret_mount && sqlite3_column_type(st, 2) != SQLITE_NULL &&
		    !(*ret_mount = strdup((const char *)sqlite3_column_text(st, 2))))
			abort();
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(e, "read configuration");
	return 0;
}

/* Another key of the scope whose current file is mounted at path, into
 * other (empty if none). */
static int mount_taken(int64_t component_id, int64_t env_id, const char *path, const char *key,
		       char other[CONFIG_MAX_KEY + 1], struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT v.key FROM config_values v"
		" WHERE v.component_id = ?1 AND IFNULL(v.env_id, 0) = ?2 AND v.mount_path = ?3"
		" AND v.key <> ?4 AND v.deleted = 0"
		" AND v.version = (SELECT MAX(w.version) FROM config_values w"
		"   WHERE w.component_id = ?1 AND IFNULL(w.env_id, 0) = ?2 AND w.key = v.key)"
		" LIMIT 1");
	int rc;

	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_int64(st, 2, env_id);
	sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	other[0] = '\0';
	if (rc == SQLITE_ROW)
		snprintf(other, CONFIG_MAX_KEY + 1, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(e, "read configuration");
	return 0;
}

/* Checks one input on its own (no store access). */
static int check_input(const struct config_input *in, struct ferr *e)
{
	if (config_check_key(in->kind, in->key, e) < 0)
		return -1;
	if (in->kind == CONFIG_KIND_FILE) {
		if (config_check_mount_path(in->mount_path, e) < 0)
			return -1;
	} else if (in->mount_path) {
		return ferr_invalid(e, "%s is an environment variable: a mount path is only for file configurations",
				    in->key);
	}
	if (in->value_len > CONFIG_MAX_VALUE)
		return ferr_set(e, 413, "too_large",
				"value of %s is %zu bytes: at most %d bytes (1 MiB) are allowed",
				in->key, in->value_len, CONFIG_MAX_VALUE);
	if (in->kind == CONFIG_KIND_ENV) {
		size_t record = strlen(in->key) + 1 + in->value_len + 1;

		if (memchr(in->value, 0, in->value_len))
			return ferr_invalid(e, "value of environment variable %s has a NUL byte: environment variables cannot hold one (use a file mount)",
					    in->key);
		if (record > CONFIG_MAX_ENV_RECORD)
			return ferr_set(e, 413, "too_large",
					"value of environment variable %s is %zu bytes: a process can be given at most %zu; mount it as a file instead (--file-mount PATH)",
					in->key, in->value_len,
					(size_t)CONFIG_MAX_ENV_RECORD - strlen(in->key) - 2);
	}
	return 0;
}

static int check_inputs(const struct config_input *in, size_t n, struct ferr *e)
{
	if (n == 0)
		return ferr_invalid(e, "give at least one KEY=VALUE to set");
	if (n > CONFIG_MAX_SET)
		return ferr_invalid(e, "%zu values in one change: at most %d are allowed", n, CONFIG_MAX_SET);
	for (size_t i = 0; i < n; i++) {
		if (check_input(&in[i], e) < 0)
			return -1;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(in[i].key, in[j].key))
				return ferr_invalid(e, "%s is given twice", in[i].key);
			if (in[i].mount_path && in[j].mount_path && !strcmp(in[i].mount_path, in[j].mount_path))
				return ferr_invalid(e, "%s and %s are both mounted at %s", in[j].key,
						    in[i].key, in[i].mount_path);
		}
	}
	return 0;
}

static int in_inputs(const struct config_input *in, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(in[i].key, key))
			return 1;
	return 0;
}

static const char *scope_text(const char *env)
{
	return env ? env : "component-wide";
}

/* Checks the inputs against what the scope holds now (inside the
 * transaction, so nothing changes between the check and the write). */
static int check_against_store(int64_t cid, int64_t eid, const char *env,
			       const struct config_input *in, size_t n, struct ferr *e)
{
	char other[CONFIG_MAX_KEY + 1];

	for (size_t i = 0; i < n; i++) {
		int found = 0, secret = 0;

		if (current_row(cid, eid, in[i].key, &found, &secret, NULL, 0, NULL, e) < 0)
			return -1;
		if (found && secret && !in[i].secret)
			return ferr_conflict(e, "%s is a secret (%s): set it again with --secret, or unset it first to make it a plain value",
					     in[i].key, scope_text(env));
		if (in[i].kind != CONFIG_KIND_FILE)
			continue;
		if (mount_taken(cid, eid, in[i].mount_path, in[i].key, other, e) < 0)
			return -1;
		if (other[0] && !in_inputs(in, n, other))
			return ferr_conflict(e, "mount path %s is already used by %s (%s)",
					     in[i].mount_path, other, scope_text(env));
	}
	return 0;
}

static int insert_value(int64_t pid, int64_t cid, int64_t eid, const struct config_input *in,
			int64_t version, const char *now, const char *by, struct ferr *e)
{
	const char *kind = config_kind_name(in->kind);
	struct strbuf aad = STRBUF_INIT;
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	sqlite3_stmt *st;
	char scope[32];
	int rc;

	key_scope(scope, pid);
	value_aad(&aad, pid, cid, eid, in->key, version, kind, !!in->secret, in->mount_path);
	rc = vault_seal(core.vault, scope, aad.buf, aad.len, in->value, in->value_len, &blob,
			&blob_len, e);
	strbuf_release(&aad);
	if (rc < 0)
		return -1;
	st = store_stmt("INSERT INTO config_values (component_id, env_id, key, version, kind, secret,"
			" mount_path, value, deleted, updated_at, updated_by)"
			" VALUES (?,?,?,?,?,?,?,?,0,?,?)");
	sqlite3_bind_int64(st, 1, cid);
	if (eid)
		sqlite3_bind_int64(st, 2, eid);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, in->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, version);
	sqlite3_bind_text(st, 5, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, !!in->secret);
	sqlite3_bind_text(st, 7, in->mount_path, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, blob, (int)blob_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, by, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	free(blob);
	if (rc != SQLITE_DONE)
		return store_error(e, "save configuration");
	return 0;
}

static config_gate_fn gate;
/* Set while an approved change is made: it passed the gate already. */
static __thread int past_gate;

void config_set_gate_hook(config_gate_fn fn)
{
	gate = fn;
}

int config_set(const struct principal *who, const char *project, const char *component,
	       const char *env, const struct config_input *in, size_t n, json_t **ret,
	       struct ferr *e)
{
	int64_t pid = 0, cid = 0, eid = 0, version = 0;
	char now[32];
	json_t *out, *redeploy;
	int held;

	if (component_lookup(who, project, component, &pid, &cid, e) < 0 ||
	    auth_require_write(who, e) < 0 || (env && env_lookup(pid, env, &eid, e) < 0) ||
	    check_inputs(in, n, e) < 0)
		return -1;
	if (gate && !past_gate &&
	    (held = gate(who, pid, cid, eid, env, component, in, n, NULL, ret, e)) != 0)
		return held < 0 ? -1 : 0;
	store_now(now);
	if (store_begin(e) < 0)
		return -1;
	if (check_against_store(cid, eid, env, in, n, e) < 0 || next_version(cid, &version, e) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (insert_value(pid, cid, eid, &in[i], version, now, who->name, e) < 0)
			goto fail;
	if (store_commit(e) < 0)
		return -1;
	redeploy = config_changed(cid, eid, who->name);

	out = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:I, s:s, s:s}", "key", in[i].key,
				      "scope", env ? env : "component", "kind", config_kind_name(in[i].kind),
				      "secret", !!in[i].secret, "version", (json_int_t)version,
				      "updated_at", now, "updated_by", who->name);
		if (in[i].kind == CONFIG_KIND_FILE)
			json_object_set_new(o, "mount_path", json_string(in[i].mount_path));
		if (!in[i].secret)
			set_value(o, in[i].value, in[i].value_len);
		json_object_set(o, "redeploy", redeploy);
		json_array_append_new(out, o);
	}
	json_decref(redeploy);
	*ret = out;
	return 0;
fail:
	store_rollback();
	return -1;
}

int config_unset(const struct principal *who, const char *project, const char *component,
		 const char *env, const char *key, json_t **ret, struct ferr *e)
{
	int64_t pid = 0, cid = 0, eid = 0, version = 0;
	char now[32], kind[8] = "";
	char *mount = NULL;
	int found = 0, secret = 0, rc;
	sqlite3_stmt *st;

	if (component_lookup(who, project, component, &pid, &cid, e) < 0 ||
	    auth_require_write(who, e) < 0 || (env && env_lookup(pid, env, &eid, e) < 0))
		return -1;
	if (!key || !*key || strlen(key) > CONFIG_MAX_KEY)
		return ferr_invalid(e, "give the key to unset (1-%d characters)", CONFIG_MAX_KEY);
	if (gate && !past_gate) {
		int held;
		/* an unknown key is refused below, before anyone is asked */
		if (current_row(cid, eid, key, &found, NULL, NULL, 0, NULL, e) < 0)
			return -1;
		if (found && (held = gate(who, pid, cid, eid, env, component, NULL, 0, key, ret, e)) != 0)
			return held < 0 ? -1 : 0;
		found = 0;
	}
	store_now(now);
	if (store_begin(e) < 0)
		return -1;
	if (current_row(cid, eid, key, &found, &secret, kind, sizeof(kind), &mount, e) < 0)
		goto fail;
	if (!found) {
		ferr_notfound(e, "configuration %.255s is not set for %s/%s (%s)", key, project, component,
			      scope_text(env));
		goto fail;
	}
	if (next_version(cid, &version, e) < 0)
		goto fail;
	st = store_stmt("INSERT INTO config_values (component_id, env_id, key, version, kind, secret,"
			" mount_path, value, deleted, updated_at, updated_by)"
			" VALUES (?,?,?,?,?,?,?,NULL,1,?,?)");
	sqlite3_bind_int64(st, 1, cid);
	if (eid)
		sqlite3_bind_int64(st, 2, eid);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, version);
	sqlite3_bind_text(st, 5, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, secret);
	sqlite3_bind_text(st, 7, mount, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, who->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		store_error(e, "unset configuration");
		goto fail;
	}
	if (store_commit(e) < 0)
		goto out;
	*ret = json_pack("{s:s, s:s, s:I, s:b, s:o}", "key", key, "scope", env ? env : "component",
			 "version", (json_int_t)version, "deleted", 1, "redeploy",
			 config_changed(cid, eid, who->name));
	free(mount);
	return 0;
fail:
	store_rollback();
out:
	free(mount);
	return -1;
}

void config_values_free(struct config_value *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].mount_path);
		vault_plain_free(v[i].value, v[i].value_len);
	}
	free(v);
}

int config_current_values(int64_t component_id, int64_t env_id, struct config_value **ret,
			  size_t *ret_n, struct ferr *e)
{
	struct config_value *v = NULL;
	size_t n = 0, alloc = 0;
	sqlite3_stmt *st;
	int64_t pid = 0;
	int rc, r = 0;

	*ret = NULL;
	*ret_n = 0;
	if (component_project_id(component_id, &pid, e) < 0)
		return -1;
	st = store_stmt(CURRENT_SQL);
	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_int64(st, 2, env_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct config_value *x;

		if (sqlite3_column_int(st, C_DELETED))
			continue;
		if (n == alloc) {
			struct config_value *nv;

			alloc = alloc ? 2 * alloc : 8;
			if (!(nv = realloc(v, alloc * sizeof(*v))))
				abort();
			v = nv;
		}
		x = &v[n];
		memset(x, 0, sizeof(*x));
		if (unseal_row(st, pid, component_id, env_id, &x->value, &x->value_len, e) < 0) {
			r = -1;
			break;
		}
		n++;
		x->key = xstrdup((const char *)sqlite3_column_text(st, C_KEY));
		x->kind = !strcmp((const char *)sqlite3_column_text(st, C_KIND), "file") ?
			  CONFIG_KIND_FILE : CONFIG_KIND_ENV;
		x->secret = sqlite3_column_int(st, C_SECRET);
		x->mount_path = xstrdup((const char *)sqlite3_column_text(st, C_MOUNT));
		x->env_id = env_id;
		x->version = sqlite3_column_int64(st, C_VERSION);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_error(e, "read configuration");
	sqlite3_reset(st);
	if (r < 0) {
		config_values_free(v, n);
		return -1;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int config_set_approved(const struct principal *who, const char *project, const char *component,
			const char *env, const struct config_input *in, size_t n, json_t **ret,
			struct ferr *e)
{
	int rc;

	past_gate = 1;
	rc = config_set(who, project, component, env, in, n, ret, e);
	past_gate = 0;
	return rc;
}

int config_unset_approved(const struct principal *who, const char *project, const char *component,
			  const char *env, const char *key, json_t **ret, struct ferr *e)
{
	int rc;

	past_gate = 1;
	rc = config_unset(who, project, component, env, key, ret, e);
	past_gate = 0;
	return rc;
}
