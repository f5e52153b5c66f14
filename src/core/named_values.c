#include "core/named_values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/lookup.h"
#include "lib/strbuf.h"
#include "store/store.h"
#include "vault/vault.h"
#include "lib/banned.h"

static const char *const kind_names[] = { "connection", "config_group" };

const char *named_kind_text(enum named_kind k)
{
	return k == NAMED_CONNECTION ? "connection" : "configuration group";
}

static int check_name(enum named_kind kind, const char *name, struct ferr *e)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 100)
		return ferr_invalid(e, "give the %s's name (1-100 characters)", named_kind_text(kind));
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f || name[i] == '/')
			return ferr_invalid(e, "%s name %.100s: no control characters or '/'",
					    named_kind_text(kind), name);
	return 0;
}

static int check_key(const char *key, struct ferr *e)
{
	size_t n = key ? strlen(key) : 0;

	if (n == 0 || n > CONFIG_MAX_KEY)
		return ferr_invalid(e, "a key must have 1-%d characters", CONFIG_MAX_KEY);
	for (size_t i = 0; i < n; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return ferr_invalid(e, "key %.255s: only letters, digits, '.', '_' and '-'", key);
	}
	return 0;
}

static void value_aad(struct strbuf *aad, int64_t pid, enum named_kind kind, const char *name,
		      int64_t eid, const char *key, int secret)
{
	vault_aad_add(aad, "named_value");
	vault_aad_add_int(aad, pid);
	vault_aad_add(aad, kind_names[kind]);
	vault_aad_add(aad, name);
	vault_aad_add_int(aad, eid);
	vault_aad_add(aad, key);
	vault_aad_add_int(aad, secret);
}

static int check_inputs(const struct named_input *in, size_t n, struct ferr *e)
{
	if (n == 0 || n > NAMED_MAX_SET)
		return ferr_invalid(e, "give from 1 to %d KEY=VALUE (got %zu)", NAMED_MAX_SET, n);
	for (size_t i = 0; i < n; i++) {
		if (check_key(in[i].key, e) < 0)
			return -1;
		if (in[i].value_len > CONFIG_MAX_VALUE)
			return ferr_set(e, 413, "too_large", "value of %s is %zu bytes: at most %d",
					in[i].key, in[i].value_len, CONFIG_MAX_VALUE);
		if (memchr(in[i].value, 0, in[i].value_len))
			return ferr_invalid(e, "value of %s has a NUL byte: it is injected as an environment variable",
					    in[i].key);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(in[i].key, in[j].key))
				return ferr_invalid(e, "%s is given twice", in[i].key);
	}
	return 0;
}

/* -1 on error, else whether key is stored as a secret now (0 also when absent). */
static int stored_secret(int64_t pid, enum named_kind kind, const char *name, int64_t eid,
			 const char *key, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT secret FROM named_values WHERE project_id = ? AND kind = ?"
				      " AND name = ? AND env_id = ? AND key = ?");
	int rc, secret = 0;

	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_text(st, 2, kind_names[kind], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, eid);
	sqlite3_bind_text(st, 5, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		secret = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(e, "read connection");
	return secret;
}

static int write_value(int64_t pid, enum named_kind kind, const char *name, int64_t eid,
		       const struct named_input *in, const char *now, const char *by, struct ferr *e)
{
	struct strbuf aad = STRBUF_INIT;
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	sqlite3_stmt *st;
	char scope[32];
	int rc;

	snprintf(scope, sizeof(scope), "project:%lld", (long long)pid);
	value_aad(&aad, pid, kind, name, eid, in->key, !!in->secret);
	rc = vault_seal(core.vault, scope, aad.buf, aad.len, in->value, in->value_len, &blob,
			&blob_len, e);
	strbuf_release(&aad);
	if (rc < 0)
		return -1;
	st = store_stmt("INSERT INTO named_values (project_id, kind, name, env_id, key, secret, value,"
			" updated_at, updated_by) VALUES (?,?,?,?,?,?,?,?,?)"
			" ON CONFLICT (project_id, kind, name, env_id, key) DO UPDATE SET"
			" secret = excluded.secret, value = excluded.value,"
			" updated_at = excluded.updated_at, updated_by = excluded.updated_by");
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_text(st, 2, kind_names[kind], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, eid);
	sqlite3_bind_text(st, 5, in->key, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, !!in->secret);
	sqlite3_bind_blob(st, 7, blob, (int)blob_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, by, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	free(blob);
	return rc == SQLITE_DONE ? 0 : store_error(e, "save connection");
}

int named_set(const struct principal *who, const char *project, enum named_kind kind,
	      const char *name, const char *env, const struct named_input *in, size_t n,
	      json_t **ret, struct ferr *e)
{
	int64_t pid = 0, eid = 0;
	char now[32];

	if (project_lookup(who, project, &pid, e) < 0 || auth_require_write(who, e) < 0)
		return -1;
	if (!env)
		return ferr_invalid(e, "say which environment the values are for: --env ENV");
	if (env_lookup(pid, env, &eid, e) < 0 || check_name(kind, name, e) < 0 ||
	    check_inputs(in, n, e) < 0)
		return -1;
	store_now(now);
	if (store_begin(e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int secret = stored_secret(pid, kind, name, eid, in[i].key, e);

		if (secret < 0)
			goto fail;
		if (secret && !in[i].secret) {
			ferr_conflict(e, "%s of %s %s (%s) is a secret: set it again with --secret %s, or delete it first",
				      in[i].key, named_kind_text(kind), name, env, in[i].key);
			goto fail;
		}
		if (write_value(pid, kind, name, eid, &in[i], now, who->name, e) < 0)
			goto fail;
	}
	if (store_commit(e) < 0)
		return -1;
	*ret = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s}", "name", name, "env", env,
				      "key", in[i].key, "secret", !!in[i].secret, "updated_at", now,
				      "updated_by", who->name);

		if (!in[i].secret)
			json_object_set_new(o, "value", json_stringn(in[i].value, in[i].value_len));
		json_array_append_new(*ret, o);
	}
	return 0;
fail:
	store_rollback();
	return -1;
}

/* The value of the current row of st (columns: 0 name, 1 env_id, 2 key,
 * 3 secret, 4 value) decrypted; caller frees with vault_plain_free. */
static int unseal_row(sqlite3_stmt *st, int64_t pid, enum named_kind kind, char **ret,
		      size_t *ret_len, struct ferr *e)
{
	const char *name = (const char *)sqlite3_column_text(st, 0);
	const char *key = (const char *)sqlite3_column_text(st, 2);
	struct strbuf aad = STRBUF_INIT;
	char what[400];
	int rc;

	value_aad(&aad, pid, kind, name, sqlite3_column_int64(st, 1), key, sqlite3_column_int(st, 3));
	snprintf(what, sizeof(what), "%s %s key %s", named_kind_text(kind), name, key);
	rc = vault_unseal(core.vault, aad.buf, aad.len, sqlite3_column_blob(st, 4),
			  (size_t)sqlite3_column_bytes(st, 4), what, ret, ret_len, e);
	strbuf_release(&aad);
	return rc;
}

int named_list(const struct principal *who, const char *project, enum named_kind kind,
	       const char *env, json_t **ret, struct ferr *e)
{
	int64_t pid = 0, eid = 0;
	sqlite3_stmt *st;
	json_t *out;
	int rc;

	if (project_lookup(who, project, &pid, e) < 0 || (env && env_lookup(pid, env, &eid, e) < 0))
		return -1;
	st = store_stmt("SELECT v.name, v.env_id, v.key, v.secret, v.value, e.name, v.updated_at,"
			" v.updated_by FROM named_values v JOIN environments e ON e.id = v.env_id"
			" WHERE v.project_id = ?1 AND v.kind = ?2 AND (?3 = 0 OR v.env_id = ?3)"
			" ORDER BY v.name, e.rank, v.key");
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_text(st, 2, kind_names[kind], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, eid);
	out = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s}",
				      "name", sqlite3_column_text(st, 0), "env", sqlite3_column_text(st, 5),
				      "key", sqlite3_column_text(st, 2), "secret", sqlite3_column_int(st, 3),
				      "updated_at", sqlite3_column_text(st, 6),
				      "updated_by", sqlite3_column_text(st, 7));

		if (!sqlite3_column_int(st, 3)) {
			char *plain = NULL;
			size_t len = 0;

			if (unseal_row(st, pid, kind, &plain, &len, e) < 0) {
				json_decref(o);
				rc = SQLITE_ERROR;
				break;
			}
			json_object_set_new(o, "value", json_stringn(plain, len));
			vault_plain_free(plain, len);
		}
		json_array_append_new(out, o);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(out);
		return ferr_isset(e) ? -1 : store_error(e, "list connections");
	}
	*ret = out;
	return 0;
}

int named_delete(const struct principal *who, const char *project, enum named_kind kind,
		 const char *name, const char *env, json_t **ret, struct ferr *e)
{
	int64_t pid = 0, eid = 0;
	sqlite3_stmt *st;
	int changed;

	if (project_lookup(who, project, &pid, e) < 0 || auth_require_write(who, e) < 0 ||
	    (env && env_lookup(pid, env, &eid, e) < 0) || check_name(kind, name, e) < 0)
		return -1;
	st = store_stmt("DELETE FROM named_values WHERE project_id = ?1 AND kind = ?2 AND name = ?3"
			" AND (?4 = 0 OR env_id = ?4)");
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_text(st, 2, kind_names[kind], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, eid);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(e, "delete connection");
	}
	sqlite3_reset(st);
	changed = sqlite3_changes(store_db());
	if (changed == 0)
		return ferr_notfound(e, "%s %.100s has no values%s%s", named_kind_text(kind), name,
				     env ? " in " : "", env ? env : "");
	*ret = json_pack("{s:s, s:o, s:i}", "name", name, "env", env ? json_string(env) : json_null(),
			 "deleted", changed);
	return 0;
}

int named_value_get(int64_t project_id, enum named_kind kind, const char *name, int64_t env_id,
		    const char *key, struct config_value *ret, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT name, env_id, key, secret, value FROM named_values"
				      " WHERE project_id = ? AND kind = ? AND name = ? AND env_id = ?"
				      " AND key = ?");
	int rc, r = 0;

	memset(ret, 0, sizeof(*ret));
	sqlite3_bind_int64(st, 1, project_id);
	sqlite3_bind_text(st, 2, kind_names[kind], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, env_id);
	sqlite3_bind_text(st, 5, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		char *plain = NULL;
		size_t len = 0;

		r = unseal_row(st, project_id, kind, &plain, &len, e);
		if (r == 0) {
			/* config_values_free releases it with vault_plain_free */
			if (!(ret->key = strdup(key)))
				abort();
			ret->value = plain;
			ret->value_len = len;
			ret->secret = sqlite3_column_int(st, 3);
			ret->kind = CONFIG_KIND_ENV;
			ret->env_id = env_id;
			r = 1;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(e, "read connection");
	return r;
}
