#include "snapshot.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/lookup.h"
#include "core/core.h"
#include "lib/strbuf.h"
#include "store/store.h"
#include "vault/vault.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

/* Runs in the caller's transaction if one is open, else in its own. */
static int tx_begin(int *own, struct ferr *e)
{
	*own = sqlite3_get_autocommit(store_db());
	return *own ? store_begin(e) : 0;
}

static int tx_end(int own, int rc, struct ferr *e)
{
	if (!own)
		return rc;
	if (rc < 0) {
		store_rollback();
		return -1;
	}
	return store_commit(e);
}

static void entry_aad(struct strbuf *aad, int64_t project_id, int64_t snapshot_id,
		      int64_t component_id, int64_t env_id, const char *kind, int64_t base_id,
		      size_t n, size_t idx, const struct config_value *v)
{
	vault_aad_add(aad, "config_snapshot");
	vault_aad_add_int(aad, project_id);
	vault_aad_add_int(aad, snapshot_id);
	vault_aad_add_int(aad, component_id);
	vault_aad_add_int(aad, env_id);
	vault_aad_add(aad, kind);
	vault_aad_add_int(aad, base_id);
	vault_aad_add_int(aad, (int64_t)n);
	vault_aad_add_int(aad, (int64_t)idx);
	vault_aad_add(aad, v->key);
	vault_aad_add(aad, config_kind_name(v->kind));
	vault_aad_add_int(aad, v->secret);
	vault_aad_add(aad, v->mount_path ? v->mount_path : "");
	vault_aad_add_int(aad, v->env_id);
	vault_aad_add_int(aad, v->version);
}

/* Writes a snapshot row and its n entries (pointers into the caller's
 * values). Inside the caller's transaction. */
static int write_snapshot(int64_t component_id, int64_t env_id, const char *kind, int64_t base_id,
			  int64_t config_version, struct config_value *const *v, size_t n,
			  int64_t *ret_id, struct ferr *e)
{
	sqlite3_stmt *st;
	char now[32], scope[32], env_text[24];
	int64_t pid = 0, id;
	int rc;

	if (component_project_id(component_id, &pid, e) < 0)
		return -1;
	snprintf(scope, sizeof(scope), "project:%lld", (long long)pid);
	store_now(now);
	st = store_stmt("INSERT INTO config_snapshots (component_id, env_id, kind, base_id,"
			" config_version, entries, created_at) VALUES (?,?,?,?,?,?,?)");
	sqlite3_bind_int64(st, 1, component_id);
	if (env_id)
		sqlite3_bind_int64(st, 2, env_id);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	if (base_id)
		sqlite3_bind_int64(st, 4, base_id);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, config_version);
	sqlite3_bind_int64(st, 6, (int64_t)n);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(e, "save configuration snapshot");
	id = sqlite3_last_insert_rowid(store_db());

	for (size_t i = 0; i < n; i++) {
		struct strbuf aad = STRBUF_INIT;
		uint8_t *blob = NULL;
		size_t blob_len = 0;

		entry_aad(&aad, pid, id, component_id, env_id, kind, base_id, n, i, v[i]);
		rc = vault_seal(core.vault, scope, aad.buf, aad.len, v[i]->value, v[i]->value_len,
				&blob, &blob_len, e);
		strbuf_release(&aad);
		if (rc < 0)
			return -1;
		snprintf(env_text, sizeof(env_text), "%lld", (long long)v[i]->env_id);
		st = store_stmt("INSERT INTO config_snapshot_entries (snapshot_id, idx, key, kind, secret,"
				" mount_path, scope, version, value) VALUES (?,?,?,?,?,?,?,?,?)");
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		sqlite3_bind_text(st, 3, v[i]->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, config_kind_name(v[i]->kind), -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, v[i]->secret);
		sqlite3_bind_text(st, 6, v[i]->mount_path, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, env_text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 8, v[i]->version);
		sqlite3_bind_blob(st, 9, blob, (int)blob_len, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		free(blob);
		if (rc != SQLITE_DONE)
			return store_error(e, "save configuration snapshot");
	}
	*ret_id = id;
	return 0;
}

static int create_independent(int64_t component_id, int64_t *ret_id, struct ferr *e)
{
	struct config_value *v = NULL, **p = NULL;
	int64_t version;
	size_t n = 0;
	int rc;

	if (config_current_version(component_id, &version, e) < 0 ||
	    config_current_values(component_id, 0, &v, &n, e) < 0)
		return -1;
	if (n && !(p = calloc(n, sizeof(*p))))
		abort();
	for (size_t i = 0; i < n; i++)
		p[i] = &v[i];
	rc = write_snapshot(component_id, 0, "independent", 0, version, p, n, ret_id, e);
	free(p);
	config_values_free(v, n);
	return rc;
}

int snapshot_create_independent(int64_t component_id, int64_t *ret_id, struct ferr *e)
{
	int own;

	if (tx_begin(&own, e) < 0)
		return -1;
	return tx_end(own, create_independent(component_id, ret_id, e), e);
}

static int by_key(const void *a, const void *b)
{
	return strcmp((*(struct config_value *const *)a)->key, (*(struct config_value *const *)b)->key);
}

static int join(int64_t independent_id, int64_t env_id, struct config_value *extra,
		size_t n_extra, int64_t *ret_id, struct ferr *e)
{
	struct config_value *own = NULL, **merged = NULL;
	struct snapshot *base = NULL;
	size_t n_own = 0, n = 0, i = 0, j = 0;
	int64_t env_project = 0, pid = 0, version = 0;
	sqlite3_stmt *st;
	int rc = -1;

	if (snapshot_load(independent_id, &base, e) < 0)
		return -1;
	if (base->env_id || base->base_id) {
		ferr_invalid(e, "configuration snapshot %lld is joined with an environment already: join its base %lld instead",
			     (long long)independent_id, (long long)base->base_id);
		goto out;
	}
	st = store_stmt("SELECT project_id FROM environments WHERE id = ?");
	sqlite3_bind_int64(st, 1, env_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		env_project = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = store_error(e, "find environment");
		goto out;
	}
	rc = -1;
	if (component_project_id(base->component_id, &pid, e) < 0)
		goto out;
	if (env_project != pid) {
		ferr_notfound(e, "environment %lld not found in the component's project", (long long)env_id);
		goto out;
	}
	if (config_current_version(base->component_id, &version, e) < 0 ||
	    config_current_values(base->component_id, env_id, &own, &n_own, e) < 0)
		goto out;
	if (base->n + n_own + n_extra &&
	    !(merged = calloc(base->n + n_own + n_extra, sizeof(*merged))))
		abort();
	/* Both lists are sorted by key: the environment's own value wins. */
	while (i < base->n || j < n_own) {
		int cmp = i == base->n ? 1 : j == n_own ? -1 : strcmp(base->entries[i].key, own[j].key);

		if (cmp < 0) {
			merged[n++] = &base->entries[i++];
		} else {
			merged[n++] = &own[j++];
			i += cmp == 0;
		}
	}
	/* What the descriptor resolved fills the keys nothing configured. */
	for (size_t k = 0, m = n; k < n_extra; k++) {
		size_t x;

		for (x = 0; x < m && strcmp(merged[x]->key, extra[k].key); x++)
			;
		if (x == m) {
			extra[k].env_id = env_id;
			merged[n++] = &extra[k];
		}
	}
	if (n)
		qsort(merged, n, sizeof(*merged), by_key);
	rc = write_snapshot(base->component_id, env_id, "joined", independent_id, version, merged, n,
			    ret_id, e);
out:
	free(merged);
	config_values_free(own, n_own);
	snapshot_free(base);
	return rc;
}

int snapshot_join_with(int64_t independent_id, int64_t env_id, struct config_value *extra,
		       size_t n_extra, int64_t *ret_id, struct ferr *e)
{
	int own;

	if (tx_begin(&own, e) < 0)
		return -1;
	return tx_end(own, join(independent_id, env_id, extra, n_extra, ret_id, e), e);
}

int snapshot_join(int64_t independent_id, int64_t env_id, int64_t *ret_id, struct ferr *e)
{
	return snapshot_join_with(independent_id, env_id, NULL, 0, ret_id, e);
}

int snapshot_build_with(int64_t component_id, int64_t env_id, struct config_value *extra,
			size_t n_extra, int64_t *ret_id, struct ferr *e)
{
	int64_t independent;
	int own, rc;

	if (tx_begin(&own, e) < 0)
		return -1;
	rc = create_independent(component_id, &independent, e);
	if (rc == 0)
		rc = join(independent, env_id, extra, n_extra, ret_id, e);
	return tx_end(own, rc, e);
}

int snapshot_build(int64_t component_id, int64_t env_id, int64_t *ret_id, struct ferr *e)
{
	return snapshot_build_with(component_id, env_id, NULL, 0, ret_id, e);
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	config_values_free(s->entries, s->n);
	free(s);
}

static int tampered(struct ferr *e, int64_t id, const char *why)
{
	return ferr_set(e, 500, "undecryptable",
			"configuration snapshot %lld cannot be decrypted: %s (tampered data)", (long long)id, why);
}

int snapshot_load(int64_t id, struct snapshot **ret, struct ferr *e)
{
	char kind[16] = "";
	struct snapshot *s;
	sqlite3_stmt *st;
	int64_t pid = 0, count = 0;
	int rc, r = 0;

	*ret = NULL;
	st = store_stmt("SELECT component_id, IFNULL(env_id, 0), kind, IFNULL(base_id, 0),"
			" config_version, entries FROM config_snapshots WHERE id = ?");
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (!(s = calloc(1, sizeof(*s))))
		abort();
	if (rc == SQLITE_ROW) {
		s->id = id;
		s->component_id = sqlite3_column_int64(st, 0);
		s->env_id = sqlite3_column_int64(st, 1);
		snprintf(kind, sizeof(kind), "%s", (const char *)sqlite3_column_text(st, 2));
		s->base_id = sqlite3_column_int64(st, 3);
		s->config_version = sqlite3_column_int64(st, 4);
		count = sqlite3_column_int64(st, 5);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		free(s);
		return rc == SQLITE_DONE ? ferr_notfound(e, "configuration snapshot %lld not found", (long long)id)
					 : store_error(e, "read configuration snapshot");
	}
	if (count < 0 || count > 100000 || component_project_id(s->component_id, &pid, e) < 0) {
		if (count < 0 || count > 100000)
			tampered(e, id, "impossible entry count");
		free(s);
		return -1;
	}
	if (count && !(s->entries = calloc((size_t)count, sizeof(*s->entries))))
		abort();
	st = store_stmt("SELECT idx, key, kind, secret, mount_path, scope, version, value"
			" FROM config_snapshot_entries WHERE snapshot_id = ? ORDER BY idx");
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct strbuf aad = STRBUF_INIT;
		struct config_value *v;
		char what[320];

		if ((int64_t)s->n >= count || sqlite3_column_int64(st, 0) != (int64_t)s->n) {
			r = tampered(e, id, "its entries do not match its entry count");
			break;
		}
		v = &s->entries[s->n];
		v->key = xstrdup((const char *)sqlite3_column_text(st, 1));
		v->kind = !strcmp((const char *)sqlite3_column_text(st, 2), "file") ? CONFIG_KIND_FILE
										    : CONFIG_KIND_ENV;
		v->secret = sqlite3_column_int(st, 3);
		v->mount_path = xstrdup((const char *)sqlite3_column_text(st, 4));
		v->env_id = strtoll((const char *)sqlite3_column_text(st, 5), NULL, 10);
		v->version = sqlite3_column_int64(st, 6);
		s->n++;
		entry_aad(&aad, pid, id, s->component_id, s->env_id, kind, s->base_id, (size_t)count,
			  s->n - 1, v);
		snprintf(what, sizeof(what), "configuration snapshot %lld entry %s", (long long)id, v->key);
		r = vault_unseal(core.vault, aad.buf, aad.len, sqlite3_column_blob(st, 7),
				 (size_t)sqlite3_column_bytes(st, 7), what, &v->value, &v->value_len, e);
		strbuf_release(&aad);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_error(e, "read configuration snapshot");
	sqlite3_reset(st);
	if (r == 0 && (int64_t)s->n != count)
		r = tampered(e, id, "entries are missing");
	if (r < 0) {
		snapshot_free(s);
		return -1;
	}
	*ret = s;
	return 0;
}

/* ---- validation against the descriptor ---------------------------------- */

static const struct config_value *find(const struct snapshot *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->entries[i].key, key))
			return &s->entries[i];
	return NULL;
}

/* A decimal number as JSON or YAML would write it: no hex, no inf/nan, no
 * surrounding blanks. */
static int is_number(const char *v, size_t len)
{
	char *end;
	double d;

	if (len == 0 || strlen(v) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)v[i]) && !strchr("+-.eE", v[i]))
			return 0;
	d = strtod(v, &end);
	return *end == '\0' && isfinite(d);
}

static int is_boolean(const char *v, size_t len)
{
	return strlen(v) == len && (!strcasecmp(v, "true") || !strcasecmp(v, "false"));
}

static void problem(json_t *list, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(json_t *list, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	json_array_append_new(list, json_string(sb.buf));
	strbuf_release(&sb);
}

static int declared_bool(const json_t *o, const char *key, int def)
{
	json_t *v = json_object_get(o, key);
	return json_is_boolean(v) ? json_is_true(v) : def;
}

static const char *declared_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void check_declared_env(const struct snapshot *s, const json_t *d, json_t *list)
{
	const char *name = declared_str(d, "name"), *type = declared_str(d, "type");
	const struct config_value *v;
	json_t *ref = json_object_get(d, "connection_ref");

	if (!name || (ref && !json_is_null(ref)))
		return; /* a connection fills it, not the configuration */
	if (!(v = find(s, name))) {
		if (declared_bool(d, "required", 1))
			problem(list, "environment variable %s is required but not set", name);
		return;
	}
	if (v->kind != CONFIG_KIND_ENV) {
		problem(list, "%s is declared as an environment variable but is set as a file mounted at %s",
			name, v->mount_path);
		return;
	}
	if (!type)
		return;
	if (!strcmp(type, "number") && !is_number(v->value, v->value_len))
		problem(list, "environment variable %s must be a number", name);
	else if (!strcmp(type, "boolean") && !is_boolean(v->value, v->value_len))
		problem(list, "environment variable %s must be a boolean (true or false)", name);
	else if (!strcmp(type, "secret") && !v->secret)
		problem(list, "environment variable %s is declared secret but is stored as a plain value: set it with --secret", name);
}

static void check_declared_file(const struct snapshot *s, const json_t *d, json_t *list)
{
	const char *name = declared_str(d, "name"), *path = declared_str(d, "mount_path");
	const char *type = declared_str(d, "type");
	const struct config_value *v;

	if (!name)
		return;
	if (!(v = find(s, name))) {
		if (declared_bool(d, "required", 1))
			problem(list, "file %s (mount path %s) is required but not set", name, path ? path : "?");
		return;
	}
	if (v->kind != CONFIG_KIND_FILE) {
		problem(list, "%s is declared as a file (mount path %s) but is set as an environment variable",
			name, path ? path : "?");
		return;
	}
	if (path && strcmp(path, v->mount_path))
		problem(list, "file %s is set to be mounted at %s but the descriptor declares %s", name,
			v->mount_path, path);
	if (type && !strcmp(type, "secret") && !v->secret)
		problem(list, "file %s is declared secret but is stored as a plain value: set it with --secret", name);
}

int snapshot_validate(const struct snapshot *s, const json_t *declared, json_t **ret_problems,
		      struct ferr *e)
{
	json_t *list = json_array(), *d;
	struct strbuf msg = STRBUF_INIT;
	size_t i, shown = 0, total;

	if (ret_problems)
		*ret_problems = NULL;
	json_array_foreach(json_object_get(declared, "env"), i, d)
		check_declared_env(s, d, list);
	json_array_foreach(json_object_get(declared, "files"), i, d)
		check_declared_file(s, d, list);
	/* The snapshot itself: files at absolute, distinct paths. */
	for (i = 0; i < s->n; i++) {
		const struct config_value *v = &s->entries[i];
		struct ferr pe = FERR_INIT;

		if (v->kind != CONFIG_KIND_FILE)
			continue;
		if (config_check_mount_path(v->mount_path, &pe) < 0) {
			problem(list, "file %s: %s", v->key, pe.msg);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (s->entries[j].kind == CONFIG_KIND_FILE &&
			    !strcmp(s->entries[j].mount_path, v->mount_path))
				problem(list, "files %s and %s are both mounted at %s", s->entries[j].key,
					v->key, v->mount_path);
	}
	total = json_array_size(list);
	if (total == 0) {
		json_decref(list);
		return 0;
	}
	strbuf_addf(&msg, "the configuration does not satisfy the component descriptor (%zu problem%s): ",
		    total, total == 1 ? "" : "s");
	json_array_foreach(list, i, d) {
		const char *p = json_string_value(d);
		/* Keep room for the tail that counts what did not fit. */
		if (msg.len + strlen(p) + 2 > sizeof(e->msg) - 40)
			break;
		strbuf_addf(&msg, "%s%s", shown ? "; " : "", p);
		shown++;
	}
	if (shown < total)
		strbuf_addf(&msg, "; and %zu more", total - shown);
	ferr_set(e, 422, "invalid_configuration", "%s", msg.buf);
	strbuf_release(&msg);
	if (ret_problems)
		*ret_problems = list;
	else
		json_decref(list);
	return -1;
}
