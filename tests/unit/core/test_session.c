/* Unit tests of core/session (the console's sign-in), against a real SQLite
 * store in a temp dir: a session acts as its token, ends on logout, at its
 * expiry and with its token's revocation; only the id's hash is stored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fstree.h"
#include "core/auth.h"
#include "core/project.h"
#include "core/session.h"
#include "store/store.h"

struct fixture {
	char dir[64];
	char admin[TOKEN_LEN + 1];
	struct principal who;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ferr e = FERR_INIT;
	char db[128], path[128];
	FILE *fp;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ferry-session-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(db, sizeof(db), "%s/ferry.db", f->dir);
	if (store_open(db, &e) < 0)
		fail_msg("store_open: %s", e.msg);
	snprintf(path, sizeof(path), "%s/admin.token", f->dir);
	assert_int_equal(auth_bootstrap(path, &e), 1);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(f->admin, sizeof(f->admin), fp));
	fclose(fp);
	assert_int_equal(auth_lookup(f->admin, &f->who, &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close();
	fstree_remove(f->dir);
	free(f);
	return 0;
}

static void test_session_acts_as_its_token(void **state)
{
	struct fixture *f = *state;
	char id[SESSION_ID_LEN + 1];
	struct session s, got;
	struct ferr e = FERR_INIT;

	assert_int_equal(session_create(f->admin, 3600, id, &s, &e), 0);
	assert_int_equal(strlen(id), SESSION_ID_LEN);
	assert_int_equal(strlen(s.csrf), SESSION_ID_LEN);
	assert_string_not_equal(id, s.csrf);
	assert_int_equal(s.who.token_id, f->who.token_id);
	assert_int_equal(s.who.role, ROLE_ADMIN);
	assert_int_equal(session_lookup(id, &got, &e), 0);
	assert_string_equal(got.who.name, "admin");
	assert_string_equal(got.csrf, s.csrf);
	assert_string_equal(got.expires_at, s.expires_at);
	assert_true(session_csrf_ok(&got, s.csrf));
	assert_false(session_csrf_ok(&got, NULL));
	assert_false(session_csrf_ok(&got, ""));
	s.csrf[0] = s.csrf[0] == 'a' ? 'b' : 'a';
	assert_false(session_csrf_ok(&got, s.csrf));
}

static void test_only_the_hash_is_stored(void **state)
{
	struct fixture *f = *state;
	char id[SESSION_ID_LEN + 1];
	struct ferr e = FERR_INIT;
	struct session s;
	sqlite3_stmt *st;

	assert_int_equal(session_create(f->admin, 3600, id, &s, &e), 0);
	st = store_stmt("SELECT count(*) FROM sessions WHERE hash = ? OR csrf = ?");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_reset(st);
}

static void test_bad_tokens_and_ids_are_refused(void **state)
{
	struct fixture *f = *state;
	char id[SESSION_ID_LEN + 1], bad[SESSION_ID_LEN + 1];
	struct ferr e = FERR_INIT;
	struct session s;

	(void)f;
	assert_int_equal(session_create("fry_nope", 3600, id, &s, &e), -1);
	assert_int_equal(e.status, 401);
	ferr_clear(&e);
	assert_int_equal(session_lookup("", &s, &e), -1);
	assert_int_equal(e.status, 401);
	ferr_clear(&e);
	assert_int_equal(session_lookup("../../etc", &s, &e), -1);
	ferr_clear(&e);
	memset(bad, 'f', SESSION_ID_LEN);
	bad[SESSION_ID_LEN] = '\0';
	assert_int_equal(session_lookup(bad, &s, &e), -1);
	assert_int_equal(e.status, 401);
	assert_non_null(strstr(e.msg, "sign in again"));
}

static void test_logout_ends_it(void **state)
{
	struct fixture *f = *state;
	char id[SESSION_ID_LEN + 1], other[SESSION_ID_LEN + 1];
	struct ferr e = FERR_INIT;
	struct session s;

	assert_int_equal(session_create(f->admin, 3600, id, &s, &e), 0);
	assert_int_equal(session_create(f->admin, 3600, other, &s, &e), 0);
	assert_int_equal(session_delete(id, &e), 0);
	assert_int_equal(session_lookup(id, &s, &e), -1);
	assert_int_equal(e.status, 401);
	ferr_clear(&e);
	/* the other session of the same token lives on */
	assert_int_equal(session_lookup(other, &s, &e), 0);
	/* deleting twice, or nonsense, is not an error */
	assert_int_equal(session_delete(id, &e), 0);
	assert_int_equal(session_delete("x", &e), 0);
}

static void test_expiry_ends_it_and_old_ones_are_swept(void **state)
{
	struct fixture *f = *state;
	char id[SESSION_ID_LEN + 1], id2[SESSION_ID_LEN + 1];
	struct ferr e = FERR_INIT;
	struct session s;
	sqlite3_stmt *st;

	assert_int_equal(session_create(f->admin, 3600, id, &s, &e), 0);
	assert_int_equal(store_exec("UPDATE sessions SET expires_ms = 1", &e), 0);
	assert_int_equal(session_lookup(id, &s, &e), -1);
	assert_int_equal(e.status, 401);
	assert_non_null(strstr(e.msg, "expired"));
	ferr_clear(&e);
	assert_int_equal(session_create(f->admin, 3600, id, &s, &e), 0);
	assert_int_equal(store_exec("UPDATE sessions SET expires_ms = 1", &e), 0);
	assert_int_equal(session_create(f->admin, 3600, id2, &s, &e), 0);
	st = store_stmt("SELECT count(*) FROM sessions");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_reset(st);
}

static void test_revoking_the_token_ends_its_sessions(void **state)
{
	struct fixture *f = *state;
	char tok[TOKEN_LEN + 1], id[SESSION_ID_LEN + 1], mine[SESSION_ID_LEN + 1];
	struct ferr e = FERR_INIT;
	struct session s;
	json_t *j = NULL;
	int64_t tid;

	assert_int_equal(token_create(&f->who, "dev", ROLE_DEVELOPER, NULL, tok, &j, &e), 0);
	tid = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	assert_int_equal(session_create(tok, 3600, id, &s, &e), 0);
	assert_int_equal(s.who.role, ROLE_DEVELOPER);
	assert_int_equal(session_create(f->admin, 3600, mine, &s, &e), 0);
	assert_int_equal(token_revoke(&f->who, tid, &e), 0);
	assert_int_equal(session_lookup(id, &s, &e), -1);
	assert_int_equal(e.status, 401);
	ferr_clear(&e);
	assert_int_equal(session_lookup(mine, &s, &e), 0);
	/* revoked in the store but the row left behind (an older ferryd): refused */
	assert_int_equal(token_create(&f->who, "dev2", ROLE_DEVELOPER, NULL, tok, &j, &e), 0);
	json_decref(j);
	assert_int_equal(session_create(tok, 3600, id, &s, &e), 0);
	assert_int_equal(store_exec("UPDATE tokens SET revoked_at = '2026-01-01T00:00:00Z' WHERE name = 'dev2'", &e), 0);
	assert_int_equal(session_lookup(id, &s, &e), -1);
	assert_non_null(strstr(e.msg, "revoked"));
	sodium_memzero(tok, sizeof(tok));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session_acts_as_its_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_the_hash_is_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_tokens_and_ids_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logout_ends_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_ends_it_and_old_ones_are_swept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoking_the_token_ends_its_sessions, setup, teardown),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
