#include "core/session.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "lib/banned.h"

static void random_hex(char out[SESSION_ID_LEN + 1])
{
	unsigned char raw[SESSION_ID_LEN / 2];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, SESSION_ID_LEN + 1, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
}

/* 0 if id is 64 lowercase hex digits, and its hash in out. */
static int id_hash(const char *id, unsigned char out[32])
{
	if (!id || strlen(id) != SESSION_ID_LEN || strspn(id, "0123456789abcdef") != SESSION_ID_LEN)
		return -1;
	crypto_generichash(out, 32, (const unsigned char *)id, SESSION_ID_LEN, NULL, 0);
	return 0;
}

static void format_utc(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int session_create(const char *token, int ttl_s, char ret_id[SESSION_ID_LEN + 1],
		   struct session *ret, struct ferr *e)
{
	unsigned char h[32];
	sqlite3_stmt *st;
	char now[32];
	int64_t expires;

	if (auth_lookup(token, &ret->who, e) < 0)
		return -1;
	if (ttl_s <= 0)
		ttl_s = SESSION_TTL_DEFAULT_S;
	store_now(now);
	expires = store_now_ms() + (int64_t)ttl_s * 1000;
	format_utc(expires, ret->expires_at);
	random_hex(ret_id);
	random_hex(ret->csrf);
	id_hash(ret_id, h);

	st = store_stmt("DELETE FROM sessions WHERE expires_ms <= ?");
	sqlite3_bind_int64(st, 1, store_now_ms());
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	st = store_stmt("INSERT INTO sessions (hash, token_id, csrf, created_at, expires_at, expires_ms)"
			" VALUES (?, ?, ?, ?, ?, ?)");
	sqlite3_bind_blob(st, 1, h, sizeof(h), SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, ret->who.token_id);
	sqlite3_bind_text(st, 3, ret->csrf, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, ret->expires_at, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, expires);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	return 0;
fail:
	sodium_memzero(ret_id, SESSION_ID_LEN + 1);
	return store_error(e, "create session");
}

int session_lookup(const char *id, struct session *ret, struct ferr *e)
{
	unsigned char h[32];
	sqlite3_stmt *st;
	int rc, revoked;
	int64_t expires;

	if (id_hash(id, h) < 0)
		return ferr_set(e, 401, "unauthorized", "the session cookie is malformed: sign in again");
	st = store_stmt("SELECT t.id, t.name, t.role, coalesce(t.project_id, 0),"
			" t.revoked_at IS NOT NULL, s.csrf, s.expires_at, s.expires_ms"
			" FROM sessions s JOIN tokens t ON t.id = s.token_id WHERE s.hash = ?");
	sqlite3_bind_blob(st, 1, h, sizeof(h), SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_error(e, "session lookup");
		return ferr_set(e, 401, "unauthorized", "the session has ended: sign in again");
	}
	revoked = sqlite3_column_int(st, 4);
	expires = sqlite3_column_int64(st, 7);
	ret->who.token_id = sqlite3_column_int64(st, 0);
	snprintf(ret->who.name, sizeof(ret->who.name), "%s", (const char *)sqlite3_column_text(st, 1));
	role_parse((const char *)sqlite3_column_text(st, 2), &ret->who.role, NULL);
	ret->who.project_id = sqlite3_column_int64(st, 3);
	snprintf(ret->csrf, sizeof(ret->csrf), "%s", (const char *)sqlite3_column_text(st, 5));
	snprintf(ret->expires_at, sizeof(ret->expires_at), "%s", (const char *)sqlite3_column_text(st, 6));
	sqlite3_reset(st);
	if (revoked || expires <= store_now_ms()) {
		session_delete(id, NULL);
		memset(ret, 0, sizeof(*ret));
		return ferr_set(e, 401, "unauthorized", revoked ?
				"the session's token was revoked: sign in with another token" :
				"the session has expired: sign in again");
	}
	return 0;
}

int session_delete(const char *id, struct ferr *e)
{
	unsigned char h[32];
	sqlite3_stmt *st;

	if (id_hash(id, h) < 0)
		return 0;
	st = store_stmt("DELETE FROM sessions WHERE hash = ?");
	sqlite3_bind_blob(st, 1, h, sizeof(h), SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_error(e, "delete session");
	return 0;
}

int session_csrf_ok(const struct session *s, const char *given)
{
	if (!given || strlen(given) != SESSION_ID_LEN || strlen(s->csrf) != SESSION_ID_LEN)
		return 0;
	return sodium_memcmp(s->csrf, given, SESSION_ID_LEN) == 0;
}
