#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "core/lookup.h"
#include "store/store.h"
#include "lib/banned.h"

static void token_hash(const char *token, unsigned char out[32])
{
	crypto_generichash(out, 32, (const unsigned char *)token, strlen(token), NULL, 0);
}

static void token_new(char out[TOKEN_LEN + 1])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof(raw));
	memcpy(out, "fry_", 4);
	sodium_bin2hex(out + 4, 65, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
}

int auth_lookup(const char *token, struct principal *who, struct ferr *e)
{
	unsigned char h[32];
	sqlite3_stmt *st;
	int rc;

	if (!token || strlen(token) != TOKEN_LEN || strncmp(token, "fry_", 4))
		return ferr_set(e, 401, "unauthorized", "the token is malformed: expected fry_ and 64 hex digits");
	token_hash(token, h);
	st = store_stmt("SELECT id, name, role, coalesce(project_id, 0), revoked_at IS NOT NULL"
			" FROM tokens WHERE hash = ?");
	sqlite3_bind_blob(st, 1, h, sizeof(h), SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_error(e, "token lookup");
		return ferr_set(e, 401, "unauthorized", "the token is not known");
	}
	if (sqlite3_column_int(st, 4)) {
		sqlite3_reset(st);
		return ferr_set(e, 401, "unauthorized", "the token was revoked");
	}
	who->token_id = sqlite3_column_int64(st, 0);
	snprintf(who->name, sizeof(who->name), "%s", (const char *)sqlite3_column_text(st, 1));
	role_parse((const char *)sqlite3_column_text(st, 2), &who->role, NULL);
	who->project_id = sqlite3_column_int64(st, 3);
	sqlite3_reset(st);
	return 0;
}

int token_create(const struct principal *who, const char *name, enum role role,
		 const char *project, char ret_token[TOKEN_LEN + 1], json_t **ret_json,
		 struct ferr *e)
{
	unsigned char h[32];
	int64_t pid = 0;
	char now[32];
	sqlite3_stmt *st;

	if (auth_require_admin(who, e) < 0)
		return -1;
	if (!name || !*name || strlen(name) > 63)
		return ferr_invalid(e, "token name must be 1-63 characters");
	if (project && project_lookup(who, project, &pid, e) < 0)
		return -1;
	token_new(ret_token);
	token_hash(ret_token, h);
	store_now(now);
	st = store_stmt("INSERT INTO tokens (name, role, project_id, hash, created_at)"
			" VALUES (?, ?, nullif(?, 0), ?, ?)");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, role_name(role), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, pid);
	sqlite3_bind_blob(st, 4, h, sizeof(h), SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sodium_memzero(ret_token, TOKEN_LEN + 1);
		return store_error(e, "create token");
	}
	*ret_json = json_pack("{s:I, s:s, s:s, s:s?, s:s}",
			      "id", (json_int_t)sqlite3_last_insert_rowid(store_db()),
			      "name", name, "role", role_name(role), "project", project,
			      "created_at", now);
	return 0;
}

int token_list(const struct principal *who, json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st;
	json_t *arr;
	int rc;

	if (auth_require_admin(who, e) < 0)
		return -1;
	arr = json_array();
	st = store_stmt("SELECT t.id, t.name, t.role, p.name, t.created_at, t.revoked_at"
			" FROM tokens t LEFT JOIN projects p ON p.id = t.project_id"
			" WHERE ?1 = 0 OR t.project_id = ?1 ORDER BY t.id");
	sqlite3_bind_int64(st, 1, who->project_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:o, s:s, s:o}",
			"id", (json_int_t)sqlite3_column_int64(st, 0),
			"name", sqlite3_column_text(st, 1),
			"role", sqlite3_column_text(st, 2),
			"project", json_text_or_null(st, 3),
			"created_at", sqlite3_column_text(st, 4),
			"revoked_at", json_text_or_null(st, 5)));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return store_error(e, "list tokens");
	}
	*ret = arr;
	return 0;
}

int token_revoke(const struct principal *who, int64_t id, struct ferr *e)
{
	sqlite3_stmt *st;
	char now[32];

	if (auth_require_admin(who, e) < 0)
		return -1;
	store_now(now);
	st = store_stmt("UPDATE tokens SET revoked_at = coalesce(revoked_at, ?)"
			" WHERE id = ? AND (?3 = 0 OR project_id = ?3)");
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	sqlite3_bind_int64(st, 3, who->project_id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_error(e, "revoke token");
	if (sqlite3_changes(store_db()) == 0)
		return ferr_notfound(e, "token %lld not found", (long long)id);
	/* Its console sessions end with it (session_lookup refuses them
	 * anyway; this frees their rows at once). */
	st = store_stmt("DELETE FROM sessions WHERE token_id = ?");
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_error(e, "end the token's sessions");
	return 0;
}

int auth_bootstrap(const char *path, struct ferr *e)
{
	char token[TOKEN_LEN + 1], tmp[4096];
	unsigned char h[32];
	sqlite3_stmt *st;
	char now[32];
	int fd, have;

	st = store_stmt("SELECT count(*) FROM tokens");
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_error(e, "count tokens");
	have = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (have)
		return 0;

	token_new(token);
	token_hash(token, h);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return ferr_internal(e, "path too long: %s", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return ferr_internal(e, "create %s: %s", tmp, strerror(errno));
	if (write(fd, token, TOKEN_LEN) != TOKEN_LEN || write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
		close(fd);
		unlink(tmp);
		return ferr_internal(e, "write %s: %s", tmp, strerror(errno));
	}
	close(fd);

	if (store_begin(e) < 0)
		goto fail;
	store_now(now);
	st = store_stmt("INSERT INTO tokens (name, role, hash, created_at) VALUES ('admin', 'admin', ?, ?)");
	sqlite3_bind_blob(st, 1, h, sizeof(h), SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_error(e, "create admin token");
		store_rollback();
		goto fail;
	}
	/* The file is in place before the token becomes valid: a crash in
	 * between leaves no usable token that nobody knows. */
	if (rename(tmp, path) < 0) {
		ferr_internal(e, "rename %s: %s", tmp, strerror(errno));
		store_rollback();
		goto fail;
	}
	if (store_commit(e) < 0) {
		unlink(path);
		goto fail;
	}
	sodium_memzero(token, sizeof(token));
	return 1;
fail:
	unlink(tmp);
	sodium_memzero(token, sizeof(token));
	return -1;
}
