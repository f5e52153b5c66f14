/* Unit tests of core/config and core/snapshot, against a real SQLite store
 * and a real vault in a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_fixture.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/component.h"
#include "core/config.h"
#include "core/core.h"
#include "core/named_values.h"
#include "core/project.h"
#include "core/resolve.h"
#include "core/snapshot.h"
#include "pipeline/descriptor.h"
#include "store/store.h"
#include "vault/vault.h"

#define CANARY "canary-7f3e9b2d41c5a8e0-secret"

static const struct principal admin = { 1, "admin", ROLE_ADMIN, 0 };
static const struct principal dev = { 2, "dev1", ROLE_DEVELOPER, 0 };
static const struct principal viewer = { 3, "view1", ROLE_VIEWER, 0 };

struct fixture {
	char dir[64];
	int64_t pid, cid, dev_env, prod_env;
};

static int changed_calls;
static int64_t changed_component, changed_env;

static json_t *on_changed(int64_t component_id, int64_t env_id, const char *who)
{
	(void)who;
	changed_calls++;
	changed_component = component_id;
	changed_env = env_id;
	return json_pack("{s:n, s:s}", "deployment", "reason", "test hook");
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *envs[] = { "development", "production" };
	struct component_spec spec = { 0 };
	struct ferr e = FERR_INIT;
	json_t *j = NULL;

	assert_non_null(f);
	store_fixture_open(f->dir, "config");
	if (project_create(&admin, "shop", envs, 2, &j, &e) < 0)
		fail_msg("project_create: %s", e.msg);
	json_decref(j);
	if (project_create(&admin, "bank", NULL, 0, &j, &e) < 0)
		fail_msg("project_create: %s", e.msg);
	json_decref(j);
	spec.name = "api";
	spec.repo = "https://git.example/shop.git";
	if (component_create(&admin, "shop", &spec, &j, &e) < 0)
		fail_msg("component_create: %s", e.msg);
	json_decref(j);
	assert_int_equal(component_lookup(&admin, "shop", "api", &f->pid, &f->cid, &e), 0);
	assert_int_equal(env_lookup(f->pid, "development", &f->dev_env, &e), 0);
	assert_int_equal(env_lookup(f->pid, "production", &f->prod_env, &e), 0);
	changed_calls = 0;
	config_set_changed_hook(on_changed);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	config_set_changed_hook(NULL);
	store_fixture_close(f->dir);
	free(f);
	return 0;
}

static struct config_input env_in(const char *key, const char *value, int secret)
{
	struct config_input in = { key, CONFIG_KIND_ENV, NULL, secret, value, strlen(value) };
	return in;
}

static void set_ok(const char *env, const struct config_input *in, size_t n)
{
	struct ferr e = FERR_INIT;
	json_t *j = NULL;

	if (config_set(&dev, "shop", "api", env, in, n, &j, &e) < 0)
		fail_msg("config_set: %s", e.msg);
	json_decref(j);
}

static json_t *list_ok(const char *env, int history)
{
	struct ferr e = FERR_INIT;
	json_t *j = NULL;

	if (config_list(&viewer, "shop", "api", env, history, &j, &e) < 0)
		fail_msg("config_list: %s", e.msg);
	return j;
}

static json_t *entry(json_t *list, const char *key)
{
	size_t i;
	json_t *o;

	json_array_foreach(list, i, o)
		if (!strcmp(json_string_value(json_object_get(o, "key")), key))
			return o;
	return NULL;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int64_t version_of(int64_t cid)
{
	struct ferr e = FERR_INIT;
	int64_t v = -1;

	assert_int_equal(config_current_version(cid, &v, &e), 0);
	return v;
}

static void assert_no_canary(json_t *j)
{
	char *s = json_dumps(j, JSON_ENCODE_ANY);

	assert_null(strstr(s, CANARY));
	free(s);
}

/* ---- configuration values ------------------------------------------------- */

static void test_set_list_unset_versions(void **state)
{
	struct fixture *f = *state;
	struct config_input two[] = { env_in("DB_HOST", "db.local", 0), env_in("PORT", "5432", 0) };
	struct config_input pw = env_in("DB_PASSWORD", CANARY, 1);
	struct ferr e = FERR_INIT;
	json_t *l, *h, *u = NULL;

	assert_int_equal(version_of(f->cid), 0);
	set_ok(NULL, two, 2);
	assert_int_equal(version_of(f->cid), 1); /* one change, one version */
	assert_int_equal(changed_calls, 1);
	assert_int_equal(changed_component, f->cid);
	assert_int_equal(changed_env, 0);
	set_ok(NULL, &pw, 1);
	assert_int_equal(version_of(f->cid), 2);

	l = list_ok(NULL, 0);
	assert_int_equal(json_array_size(l), 3);
	/* sorted by key */
	assert_string_equal(str(json_array_get(l, 0), "key"), "DB_HOST");
	assert_string_equal(str(json_array_get(l, 1), "key"), "DB_PASSWORD");
	assert_string_equal(str(entry(l, "DB_HOST"), "value"), "db.local");
	assert_string_equal(str(entry(l, "DB_HOST"), "scope"), "component");
	assert_string_equal(str(entry(l, "DB_HOST"), "kind"), "env");
	assert_string_equal(str(entry(l, "DB_HOST"), "updated_by"), "dev1");
	assert_int_equal(json_integer_value(json_object_get(entry(l, "PORT"), "version")), 1);
	assert_true(json_is_true(json_object_get(entry(l, "DB_PASSWORD"), "secret")));
	assert_null(json_object_get(entry(l, "DB_PASSWORD"), "value"));
	assert_no_canary(l);
	json_decref(l);

	assert_int_equal(config_unset(&dev, "shop", "api", NULL, "PORT", &u, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(u, "version")), 3);
	json_decref(u);
	assert_int_equal(changed_calls, 3);
	l = list_ok(NULL, 0);
	assert_null(entry(l, "PORT"));
	json_decref(l);
	/* unsetting again: not set any more */
	assert_int_equal(config_unset(&dev, "shop", "api", NULL, "PORT", &u, &e), -1);
	assert_int_equal(e.status, 404);
	assert_non_null(strstr(e.msg, "PORT is not set"));

	h = list_ok(NULL, 1);
	assert_int_equal(json_array_size(h), 4);
	/* newest first, the unset included */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(h, 0), "version")), 3);
	assert_true(json_is_true(json_object_get(json_array_get(h, 0), "deleted")));
	assert_no_canary(h);
	json_decref(h);
	assert_int_equal(version_of(f->cid), 3);
}

static void test_environment_overrides(void **state)
{
	struct fixture *f = *state;
	struct config_input base[] = { env_in("LOG_LEVEL", "info", 0), env_in("REGION", "eu", 0) };
	struct config_input prod = env_in("LOG_LEVEL", "warn", 0);
	json_t *l;

	set_ok(NULL, base, 2);
	set_ok("production", &prod, 1);
	assert_int_equal(changed_env, f->prod_env);

	l = list_ok("production", 0);
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(str(entry(l, "LOG_LEVEL"), "value"), "warn");
	assert_string_equal(str(entry(l, "LOG_LEVEL"), "scope"), "production");
	assert_string_equal(str(entry(l, "REGION"), "scope"), "component");
	json_decref(l);
	l = list_ok("development", 0);
	assert_string_equal(str(entry(l, "LOG_LEVEL"), "value"), "info");
	json_decref(l);
	l = list_ok(NULL, 0);
	assert_string_equal(str(entry(l, "LOG_LEVEL"), "value"), "info");
	json_decref(l);
	/* history of an environment: only its own values */
	l = list_ok("production", 1);
	assert_int_equal(json_array_size(l), 1);
	json_decref(l);
}

static void test_files_and_binary_values(void **state)
{
	static const char bin[] = { 'a', 0, (char)0xff, 'b' };
	struct config_input in = { "tls.key", CONFIG_KIND_FILE, "/etc/tls/key.pem", 0, bin, sizeof(bin) };
	struct config_input txt = { "app.conf", CONFIG_KIND_FILE, "/etc/app.conf", 0, "x=1\n", 4 };
	json_t *l;

	(void)state;
	set_ok(NULL, &in, 1);
	set_ok(NULL, &txt, 1);
	l = list_ok(NULL, 0);
	assert_string_equal(str(entry(l, "tls.key"), "kind"), "file");
	assert_string_equal(str(entry(l, "tls.key"), "mount_path"), "/etc/tls/key.pem");
	assert_string_equal(str(entry(l, "tls.key"), "value_base64"), "YQD/Yg==");
	assert_null(json_object_get(entry(l, "tls.key"), "value"));
	assert_string_equal(str(entry(l, "app.conf"), "value"), "x=1\n");
	json_decref(l);
}

static void expect_set_error(const char *env, const struct config_input *in, size_t n, int status,
			     const char *why)
{
	struct ferr e = FERR_INIT;
	json_t *j = NULL;

	if (config_set(&dev, "shop", "api", env, in, n, &j, &e) == 0)
		fail_msg("config_set accepted what it should refuse (%s)", why);
	assert_null(j);
	if (e.status != status || !strstr(e.msg, why))
		fail_msg("expected %d \"%s\", got %d \"%s\"", status, why, e.status, e.msg);
}

static void test_bad_input_changes_nothing(void **state)
{
	struct fixture *f = *state;
	char *big = malloc(CONFIG_MAX_VALUE + 2);
	struct config_input in;
	json_t *l;

	memset(big, 'x', CONFIG_MAX_VALUE + 1);
	big[CONFIG_MAX_VALUE + 1] = '\0';
	in = env_in("1BAD", "x", 0);
	expect_set_error(NULL, &in, 1, 400, "starts with a digit");
	in = env_in("BAD-KEY", "x", 0);
	expect_set_error(NULL, &in, 1, 400, "invalid character");
	in = env_in("", "x", 0);
	expect_set_error(NULL, &in, 1, 400, "empty");
	in = (struct config_input){ "f", CONFIG_KIND_FILE, "etc/relative", 0, "x", 1 };
	expect_set_error(NULL, &in, 1, 400, "relative");
	in.mount_path = "/etc/../passwd";
	expect_set_error(NULL, &in, 1, 400, "\"..\" part");
	in.mount_path = "/etc//x";
	expect_set_error(NULL, &in, 1, 400, "empty part");
	in.mount_path = "/etc/x/";
	expect_set_error(NULL, &in, 1, 400, "ends with '/'");
	in.mount_path = "/.ferry/config/env";
	expect_set_error(NULL, &in, 1, 400, "ferry-init");
	in.mount_path = NULL;
	expect_set_error(NULL, &in, 1, 400, "needs a mount path");
	in = (struct config_input){ "f", CONFIG_KIND_FILE, "/big", 0, big, CONFIG_MAX_VALUE + 1 };
	expect_set_error(NULL, &in, 1, 413, "at most 1048576 bytes");
	in = (struct config_input){ "BIG", CONFIG_KIND_ENV, NULL, 0, big, 200000 };
	expect_set_error(NULL, &in, 1, 413, "mount it as a file");
	in = (struct config_input){ "NUL", CONFIG_KIND_ENV, NULL, 0, "a\0b", 3 };
	expect_set_error(NULL, &in, 1, 400, "NUL byte");
	in = env_in("OK", "x", 0);
	expect_set_error("staging", &in, 1, 404, "environment \"staging\" not found");
	{
		struct config_input twice[] = { env_in("A", "1", 0), env_in("A", "2", 0) };
		struct config_input one_bad[] = { env_in("GOOD", "1", 0), env_in("9BAD", "2", 0) };
		expect_set_error(NULL, twice, 2, 400, "given twice");
		/* all or nothing */
		expect_set_error(NULL, one_bad, 2, 400, "9BAD");
	}
	assert_int_equal(version_of(f->cid), 0);
	assert_int_equal(changed_calls, 0);
	l = list_ok(NULL, 0);
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);

	/* exactly 1 MiB is fine for a file */
	in = (struct config_input){ "f", CONFIG_KIND_FILE, "/big", 0, big, CONFIG_MAX_VALUE };
	set_ok(NULL, &in, 1);
	free(big);
}

static void test_conflicts(void **state)
{
	struct fixture *f = *state;
	struct config_input pw = env_in("DB_PASSWORD", CANARY, 1);
	struct config_input plain = env_in("DB_PASSWORD", "visible", 0);
	struct config_input a = { "a", CONFIG_KIND_FILE, "/etc/x", 0, "1", 1 };
	struct config_input b = { "b", CONFIG_KIND_FILE, "/etc/x", 0, "2", 1 };
	struct ferr e = FERR_INIT;
	json_t *j = NULL;

	set_ok(NULL, &pw, 1);
	expect_set_error(NULL, &plain, 1, 409, "is a secret");
	set_ok(NULL, &a, 1);
	expect_set_error(NULL, &b, 1, 409, "already used by a");
	/* another scope may mount its own file there */
	set_ok("production", &b, 1);
	assert_int_equal(version_of(f->cid), 3);
	/* unset, then a plain value is fine */
	assert_int_equal(config_unset(&dev, "shop", "api", NULL, "DB_PASSWORD", &j, &e), 0);
	json_decref(j);
	set_ok(NULL, &plain, 1);
}

static void test_access(void **state)
{
	const struct principal bank_dev = { 4, "bankdev", ROLE_DEVELOPER, 0 };
	struct principal scoped = bank_dev;
	struct config_input in = env_in("A", "1", 0);
	struct ferr e = FERR_INIT;
	json_t *j = NULL;
	int64_t bank;

	(void)state;
	assert_int_equal(config_set(&viewer, "shop", "api", NULL, &in, 1, &j, &e), -1);
	assert_int_equal(e.status, 403);
	ferr_clear(&e);
	assert_int_equal(project_lookup(&admin, "bank", &bank, &e), 0);
	scoped.project_id = bank;
	assert_int_equal(config_list(&scoped, "shop", "api", NULL, 0, &j, &e), -1);
	assert_int_equal(e.status, 404);
	assert_string_equal(e.msg, "project \"shop\" not found");
	ferr_clear(&e);
	assert_int_equal(config_set(&scoped, "shop", "api", NULL, &in, 1, &j, &e), -1);
	assert_int_equal(e.status, 404);
	ferr_clear(&e);
	assert_int_equal(config_list(&viewer, "shop", "nope", NULL, 0, &j, &e), -1);
	assert_int_equal(e.status, 404);
}

/* Swapping two ciphertexts between rows fails to decrypt, with a clear
 * error and no value. */
static void test_swapped_ciphertexts_fail(void **state)
{
	struct config_input two[] = { env_in("A", "value-a", 0), env_in("B", "value-b", 0) };
	struct config_input one = env_in("C", "value-c", 0);
	struct ferr e = FERR_INIT;
	json_t *j = NULL;

	(void)state;
	set_ok(NULL, two, 2);
	set_ok(NULL, &one, 1);
	assert_int_equal(store_exec("UPDATE config_values SET value = (SELECT value FROM config_values"
				    " WHERE key = 'C') WHERE key = 'A'", &e), 0);
	assert_int_equal(config_list(&viewer, "shop", "api", NULL, 0, &j, &e), -1);
	assert_null(j);
	assert_int_equal(e.status, 500);
	assert_string_equal(e.code, "undecryptable");
	assert_non_null(strstr(e.msg, "configuration value for A"));
	assert_non_null(strstr(e.msg, "wrong master key or tampered data"));
	assert_null(strstr(e.msg, "value-c"));
}

/* Flipping the secret flag in the database does not reveal a secret. */
static void test_flipped_secret_flag_fails(void **state)
{
	struct config_input pw = env_in("DB_PASSWORD", CANARY, 1);
	struct ferr e = FERR_INIT;
	json_t *j = NULL;

	(void)state;
	set_ok(NULL, &pw, 1);
	assert_int_equal(store_exec("UPDATE config_values SET secret = 0", &e), 0);
	assert_int_equal(config_list(&viewer, "shop", "api", NULL, 0, &j, &e), -1);
	assert_string_equal(e.code, "undecryptable");
	assert_null(strstr(e.msg, CANARY));
}

/* ---- snapshots ------------------------------------------------------------ */

static const struct config_value *find(const struct snapshot *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->entries[i].key, key))
			return &s->entries[i];
	return NULL;
}

static struct snapshot *load_ok(int64_t id)
{
	struct ferr e = FERR_INIT;
	struct snapshot *s = NULL;

	if (snapshot_load(id, &s, &e) < 0)
		fail_msg("snapshot_load: %s", e.msg);
	return s;
}

static void test_snapshot_build_join_and_immutability(void **state)
{
	struct fixture *f = *state;
	struct config_input base[] = { env_in("LOG_LEVEL", "info", 0), env_in("DB_PASSWORD", CANARY, 1),
				       env_in("REGION", "eu", 0) };
	struct config_input dev_own = env_in("LOG_LEVEL", "debug", 0);
	struct config_input prod_own[] = { env_in("LOG_LEVEL", "warn", 0), env_in("REPLICA_HINT", "3", 0) };
	struct config_input later = env_in("REGION", "us", 0);
	struct ferr e = FERR_INIT;
	struct snapshot *s, *p, *b;
	int64_t id, pid;

	set_ok(NULL, base, 3);
	set_ok("development", &dev_own, 1);
	set_ok("production", prod_own, 2);
	assert_int_equal(snapshot_build(f->cid, f->dev_env, &id, &e), 0);
	s = load_ok(id);
	assert_int_equal(s->component_id, f->cid);
	assert_int_equal(s->env_id, f->dev_env);
	assert_true(s->base_id > 0);
	assert_int_equal(s->config_version, 3);
	assert_int_equal(s->n, 3);
	assert_string_equal(find(s, "LOG_LEVEL")->value, "debug");
	assert_int_equal(find(s, "LOG_LEVEL")->env_id, f->dev_env);
	assert_string_equal(find(s, "DB_PASSWORD")->value, CANARY);
	assert_true(find(s, "DB_PASSWORD")->secret);
	assert_int_equal(find(s, "REGION")->env_id, 0);
	/* sorted by key */
	assert_string_equal(s->entries[0].key, "DB_PASSWORD");

	/* the base is the environment-independent snapshot */
	b = load_ok(s->base_id);
	assert_int_equal(b->env_id, 0);
	assert_int_equal(b->base_id, 0);
	assert_int_equal(b->n, 3);
	assert_string_equal(find(b, "LOG_LEVEL")->value, "info");

	/* a change afterwards does not touch the snapshots */
	set_ok(NULL, &later, 1);
	snapshot_free(s);
	s = load_ok(id);
	assert_string_equal(find(s, "REGION")->value, "eu");

	/* promotion: the same independent snapshot (REGION=eu, as fixed at the
	 * setup area) joined with production's own values */
	assert_int_equal(snapshot_join(s->base_id, f->prod_env, &pid, &e), 0);
	p = load_ok(pid);
	assert_int_equal(p->base_id, s->base_id);
	assert_int_equal(p->n, 4);
	assert_string_equal(find(p, "REGION")->value, "eu");
	assert_string_equal(find(p, "LOG_LEVEL")->value, "warn");
	assert_string_equal(find(p, "REPLICA_HINT")->value, "3");
	assert_string_equal(find(p, "DB_PASSWORD")->value, CANARY);

	/* a joined snapshot cannot be joined again; unknown ids and foreign
	 * environments are refused */
	assert_int_equal(snapshot_join(pid, f->prod_env, &id, &e), -1);
	assert_int_equal(e.status, 400);
	ferr_clear(&e);
	snapshot_free(b);
	b = NULL;
	assert_int_equal(snapshot_load(99999, &b, &e), -1);
	assert_null(b);
	assert_int_equal(e.status, 404);
	ferr_clear(&e);
	{
		int64_t bank, bank_env;
		assert_int_equal(project_lookup(&admin, "bank", &bank, &e), 0);
		assert_int_equal(env_lookup(bank, "production", &bank_env, &e), 0);
		assert_int_equal(snapshot_join(s->base_id, bank_env, &id, &e), -1);
		assert_int_equal(e.status, 404);
	}
	snapshot_free(s);
	snapshot_free(p);
	snapshot_free(NULL);
}

static void flip_byte(int64_t snapshot_id, int idx, size_t at)
{
	sqlite3_stmt *st = store_stmt("SELECT value FROM config_snapshot_entries WHERE snapshot_id = ? AND idx = ?");
	unsigned char *copy;
	size_t len;

	sqlite3_bind_int64(st, 1, snapshot_id);
	sqlite3_bind_int(st, 2, idx);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	len = (size_t)sqlite3_column_bytes(st, 0);
	assert_true(len > at);
	copy = malloc(len);
	memcpy(copy, sqlite3_column_blob(st, 0), len);
	sqlite3_reset(st);
	copy[at] ^= 0x01;
	st = store_stmt("UPDATE config_snapshot_entries SET value = ? WHERE snapshot_id = ? AND idx = ?");
	sqlite3_bind_blob(st, 1, copy, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, snapshot_id);
	sqlite3_bind_int(st, 3, idx);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);
	free(copy);
}

static void test_snapshot_tampering(void **state)
{
	struct fixture *f = *state;
	struct config_input base[] = { env_in("A", "1", 0), env_in("B", "2", 0), env_in("C", "3", 1) };
	struct ferr e = FERR_INIT;
	struct snapshot *s = NULL;
	int64_t id, other;

	set_ok(NULL, base, 3);
	assert_int_equal(snapshot_build(f->cid, f->dev_env, &id, &e), 0);
	assert_int_equal(snapshot_build(f->cid, f->prod_env, &other, &e), 0);

	/* swap two entries' ciphertexts within a snapshot */
	assert_int_equal(store_exec("CREATE TEMP TABLE t AS SELECT idx, value FROM config_snapshot_entries"
				    " WHERE snapshot_id = (SELECT MAX(id) FROM config_snapshots WHERE kind = 'joined')", &e), 0);
	assert_int_equal(store_exec("UPDATE config_snapshot_entries SET value = (SELECT value FROM t WHERE t.idx = 1 - config_snapshot_entries.idx)"
				    " WHERE snapshot_id = (SELECT MAX(id) FROM config_snapshots WHERE kind = 'joined') AND idx IN (0, 1)", &e), 0);
	assert_int_equal(snapshot_load(other, &s, &e), -1);
	assert_null(s);
	assert_string_equal(e.code, "undecryptable");
	ferr_clear(&e);

	/* the first one is intact */
	s = load_ok(id);
	snapshot_free(s);
	s = NULL;

	/* flip one byte of an entry */
	flip_byte(id, 2, 40);
	assert_int_equal(snapshot_load(id, &s, &e), -1);
	assert_string_equal(e.code, "undecryptable");
	ferr_clear(&e);

	/* drop an entry: the count does not match */
	assert_int_equal(store_exec("DELETE FROM config_snapshot_entries WHERE idx = 2", &e), 0);
	assert_int_equal(snapshot_load(id, &s, &e), -1);
	assert_string_equal(e.code, "undecryptable");
	assert_non_null(strstr(e.msg, "missing"));
	ferr_clear(&e);

	/* lower the count to hide the drop: every entry's aad changes */
	assert_int_equal(store_exec("UPDATE config_snapshots SET entries = 2", &e), 0);
	assert_int_equal(snapshot_load(id, &s, &e), -1);
	assert_string_equal(e.code, "undecryptable");
}

static void test_snapshot_of_nothing(void **state)
{
	struct fixture *f = *state;
	struct ferr e = FERR_INIT;
	struct snapshot *s;
	int64_t id;

	assert_int_equal(snapshot_create_independent(f->cid, &id, &e), 0);
	s = load_ok(id);
	assert_int_equal(s->n, 0);
	assert_int_equal(s->config_version, 0);
	snapshot_free(s);
	/* inside the caller's transaction */
	assert_int_equal(store_begin(&e), 0);
	assert_int_equal(snapshot_build(f->cid, f->prod_env, &id, &e), 0);
	store_rollback();
	assert_int_equal(snapshot_load(id, &s, &e), -1);
	assert_int_equal(e.status, 404);
}

/* ---- validation against a real parsed descriptor --------------------------- */

static json_t *declared(const char *yaml)
{
	struct descriptor *d = NULL;
	struct ferr e = FERR_INIT;
	json_t *j;

	if (descriptor_parse(&d, yaml, strlen(yaml), ".ferry/component.yaml", DESCRIPTOR_FERRY, &e) < 0)
		fail_msg("descriptor_parse: %s", e.msg);
	j = descriptor_to_json(d);
	descriptor_free(d);
	return j;
}

static const char DESCRIPTOR[] =
	"configurations:\n"
	"  env:\n"
	"    - {name: DB_URL}\n"
	"    - {name: DB_PASSWORD, type: secret}\n"
	"    - {name: WORKERS, type: number}\n"
	"    - {name: DEBUG, type: boolean, required: false}\n"
	"    - {name: OPTIONAL, required: false}\n"
	"    - {name: AS_FILE}\n"
	"  file:\n"
	"    - {name: app.json, mountPath: /etc/app/app.json}\n"
	"    - {name: extra.json, mountPath: /etc/app/extra.json, required: false}\n"
	"    - {name: tls.key, mountPath: /etc/tls/key.pem}\n";

static void test_validate_lists_every_problem(void **state)
{
	struct fixture *f = *state;
	struct config_input in[] = {
		env_in("DB_PASSWORD", CANARY, 0),           /* declared secret, stored plain */
		env_in("WORKERS", "four", 0),               /* not a number */
		env_in("DEBUG", "maybe", 0),                /* not a boolean */
		{ "AS_FILE", CONFIG_KIND_FILE, "/etc/as", 0, "x", 1 },     /* kind mismatch */
		{ "app.json", CONFIG_KIND_FILE, "/etc/other.json", 0, "{}", 2 }, /* other path */
	};
	struct config_input dup = { "dup.json", CONFIG_KIND_FILE, "/etc/as", 0, "y", 1 };
	struct ferr e = FERR_INIT;
	json_t *d = declared(DESCRIPTOR), *problems = NULL;
	struct snapshot *s;
	int64_t id;

	set_ok(NULL, in, 5);
	set_ok("development", &dup, 1); /* same path as AS_FILE, other scope */
	assert_int_equal(snapshot_build(f->cid, f->dev_env, &id, &e), 0);
	s = load_ok(id);
	assert_int_equal(snapshot_validate(s, d, &problems, &e), -1);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.code, "invalid_configuration");
	assert_non_null(strstr(e.msg, "(8 problems)"));
	assert_non_null(strstr(e.msg, "environment variable DB_URL is required but not set"));
	assert_non_null(strstr(e.msg, "DB_PASSWORD is declared secret"));
	assert_non_null(strstr(e.msg, "WORKERS must be a number"));
	assert_non_null(strstr(e.msg, "DEBUG must be a boolean"));
	assert_non_null(strstr(e.msg, "AS_FILE is declared as an environment variable but is set as a file"));
	assert_non_null(strstr(e.msg, "file app.json is set to be mounted at /etc/other.json but the descriptor declares /etc/app/app.json"));
	assert_non_null(strstr(e.msg, "file tls.key (mount path /etc/tls/key.pem) is required but not set"));
	assert_non_null(strstr(e.msg, "files AS_FILE and dup.json are both mounted at /etc/as"));
	/* OPTIONAL and extra.json are optional: no complaint */
	assert_null(strstr(e.msg, "OPTIONAL"));
	assert_null(strstr(e.msg, "extra.json"));
	/* values are never quoted */
	assert_null(strstr(e.msg, CANARY));
	assert_null(strstr(e.msg, "four"));
	assert_int_equal(json_array_size(problems), 8);
	json_decref(problems);
	snapshot_free(s);
	json_decref(d);
}

static void test_validate_accepts_a_good_configuration(void **state)
{
	struct fixture *f = *state;
	struct config_input in[] = {
		env_in("DB_URL", "postgres://db/shop", 0),
		env_in("DB_PASSWORD", CANARY, 1),
		env_in("WORKERS", "4", 0),
		env_in("DEBUG", "FALSE", 0),
		env_in("AS_FILE", "y", 0),
		env_in("UNDECLARED", "fine", 0),
		{ "app.json", CONFIG_KIND_FILE, "/etc/app/app.json", 0, "{}", 2 },
		{ "tls.key", CONFIG_KIND_FILE, "/etc/tls/key.pem", 1, "k", 1 },
	};
	const char *const numbers[] = { "0", "-1.5", "1e3", "+7", NULL };
	const char *const not_numbers[] = { "", " 1", "0x10", "inf", "nan", "1,5", NULL };
	struct ferr e = FERR_INIT;
	json_t *d = declared(DESCRIPTOR);
	struct snapshot *s;
	int64_t id;

	set_ok(NULL, in, 8);
	assert_int_equal(snapshot_build(f->cid, f->dev_env, &id, &e), 0);
	s = load_ok(id);
	if (snapshot_validate(s, d, NULL, &e) < 0)
		fail_msg("snapshot_validate: %s", e.msg);
	snapshot_free(s);
	/* the number parser, through the snapshot */
	for (const char *const *n = numbers; *n; n++) {
		struct config_input w = env_in("WORKERS", *n, 0);
		set_ok("development", &w, 1);
		assert_int_equal(snapshot_build(f->cid, f->dev_env, &id, &e), 0);
		s = load_ok(id);
		if (snapshot_validate(s, d, NULL, &e) < 0)
			fail_msg("%s refused as a number: %s", *n, e.msg);
		snapshot_free(s);
	}
	for (const char *const *n = not_numbers; *n; n++) {
		struct config_input w = env_in("WORKERS", *n, 0);
		set_ok("development", &w, 1);
		assert_int_equal(snapshot_build(f->cid, f->dev_env, &id, &e), 0);
		s = load_ok(id);
		ferr_clear(&e);
		if (snapshot_validate(s, d, NULL, &e) == 0)
			fail_msg("\"%s\" accepted as a number", *n);
		assert_non_null(strstr(e.msg, "(1 problem)"));
		snapshot_free(s);
	}
	/* an empty descriptor declares nothing */
	json_decref(d);
	d = declared("endpoints: []\n");
	s = load_ok(id);
	assert_int_equal(snapshot_validate(s, d, NULL, &e), 0);
	assert_int_equal(snapshot_validate(s, NULL, NULL, &e), 0);
	snapshot_free(s);
	json_decref(d);
}

static void test_validate_message_overflow_counts(void **state)
{
	struct fixture *f = *state;
	struct strbuf yaml = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	json_t *d, *problems = NULL;
	struct snapshot *s;
	int64_t id;

	strbuf_addstr(&yaml, "configurations:\n  env:\n");
	for (int i = 0; i < 60; i++)
		strbuf_addf(&yaml, "    - {name: REQUIRED_VARIABLE_NUMBER_%02d}\n", i);
	d = declared(yaml.buf);
	assert_int_equal(snapshot_create_independent(f->cid, &id, &e), 0);
	s = load_ok(id);
	assert_int_equal(snapshot_validate(s, d, &problems, &e), -1);
	assert_int_equal(json_array_size(problems), 60);
	assert_non_null(strstr(e.msg, "(60 problems)"));
	assert_non_null(strstr(e.msg, "more"));
	assert_true(strlen(e.msg) < sizeof(e.msg) - 1);
	json_decref(problems);
	snapshot_free(s);
	json_decref(d);
	strbuf_release(&yaml);
}

static void test_check_helpers(void **state)
{
	struct ferr e = FERR_INIT;
	enum config_kind k;

	(void)state;
	assert_int_equal(config_check_key(CONFIG_KIND_ENV, "_OK_1", &e), 0);
	assert_int_equal(config_check_key(CONFIG_KIND_FILE, "app-1.conf", &e), 0);
	assert_int_equal(config_check_key(CONFIG_KIND_FILE, "..", &e), -1);
	ferr_clear(&e);
	assert_int_equal(config_check_key(CONFIG_KIND_FILE, "a/b", &e), -1);
	ferr_clear(&e);
	assert_int_equal(config_check_mount_path("/etc/app/x.conf", &e), 0);
	assert_int_equal(config_check_mount_path("/", &e), -1);
	ferr_clear(&e);
	assert_int_equal(config_check_mount_path("/etc/./x", &e), -1);
	ferr_clear(&e);
	assert_int_equal(config_check_mount_path("/etc/x\n", &e), -1);
	ferr_clear(&e);
	assert_int_equal(config_kind_parse("file", &k, &e), 0);
	assert_int_equal(k, CONFIG_KIND_FILE);
	assert_int_equal(config_kind_parse("volume", &k, &e), -1);
	assert_string_equal(config_kind_name(CONFIG_KIND_ENV), "env");
}

/* ---- connections, configuration groups and what a descriptor resolves ---- */

static void named_ok(enum named_kind kind, const char *name, const char *env,
		     const struct named_input *in, size_t n)
{
	struct ferr e = FERR_INIT;
	json_t *j = NULL;

	if (named_set(&dev, "shop", kind, name, env, in, n, &j, &e) < 0)
		fail_msg("named_set: %s", e.msg);
	json_decref(j);
}

static void test_named_values(void **state)
{
	struct fixture *f = *state;
	struct named_input in[] = {
		{ "Host", "db.dev", 6, 0 }, { "Password", CANARY, strlen(CANARY), 1 },
	};
	struct config_value v = { 0 };
	struct ferr e = FERR_INIT;
	json_t *j = NULL;
	char *text;

	named_ok(NAMED_CONNECTION, "orders db", "development", in, 2);
	in[0].value = "db.prod";
	in[0].value_len = 7;
	named_ok(NAMED_CONNECTION, "orders db", "production", in, 1);
	/* list: per environment, secrets without their value */
	assert_int_equal(named_list(&viewer, "shop", NAMED_CONNECTION, NULL, &j, &e), 0);
	assert_int_equal(json_array_size(j), 3);
	text = json_dumps(j, 0);
	assert_null(strstr(text, CANARY));
	assert_non_null(strstr(text, "db.prod"));
	free(text);
	json_decref(j);
	assert_int_equal(named_list(&viewer, "shop", NAMED_CONFIG_GROUP, NULL, &j, &e), 0);
	assert_int_equal(json_array_size(j), 0); /* groups are another kind */
	json_decref(j);
	/* the value for core, decrypted */
	assert_int_equal(named_value_get(f->pid, NAMED_CONNECTION, "orders db", f->dev_env, "Password",
					 &v, &e), 1);
	assert_string_equal(v.value, CANARY);
	assert_true(v.secret);
	free(v.key);
	vault_plain_free(v.value, v.value_len);
	assert_int_equal(named_value_get(f->pid, NAMED_CONNECTION, "orders db", f->prod_env, "Password",
					 &v, &e), 0);
	/* refusals change nothing */
	assert_int_equal(named_set(&viewer, "shop", NAMED_CONNECTION, "x", "development", in, 1, &j, &e), -1);
	assert_int_equal(e.status, 403);
	ferr_clear(&e);
	in[1].secret = 0;
	assert_int_equal(named_set(&dev, "shop", NAMED_CONNECTION, "orders db", "development", &in[1], 1,
				   &j, &e), -1);
	assert_int_equal(e.status, 409);
	ferr_clear(&e);
	in[0].key = "bad key";
	assert_int_equal(named_set(&dev, "shop", NAMED_CONNECTION, "x", "development", in, 1, &j, &e), -1);
	assert_int_equal(e.status, 400);
	ferr_clear(&e);
	assert_int_equal(named_set(&dev, "shop", NAMED_CONNECTION, "a/b", "development", &in[1], 1, &j, &e), -1);
	ferr_clear(&e);
	assert_int_equal(named_set(&dev, "shop", NAMED_CONNECTION, "x", "staging", &in[1], 1, &j, &e), -1);
	assert_int_equal(e.status, 404);
	ferr_clear(&e);
	/* delete one environment, then the rest */
	assert_int_equal(named_delete(&dev, "shop", NAMED_CONNECTION, "orders db", "production", &j, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "deleted")), 1);
	json_decref(j);
	assert_int_equal(named_delete(&dev, "shop", NAMED_CONNECTION, "orders db", NULL, &j, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "deleted")), 2);
	json_decref(j);
	assert_int_equal(named_delete(&dev, "shop", NAMED_CONNECTION, "orders db", NULL, &j, &e), -1);
	assert_int_equal(e.status, 404);
}

static json_t *descriptor_json_of(const char *yaml)
{
	struct ferr e = FERR_INIT;
	struct descriptor *d = NULL;
	json_t *j;

	if (descriptor_parse(&d, yaml, strlen(yaml), ".choreo/component.yaml", DESCRIPTOR_CHOREO, &e) < 0)
		fail_msg("descriptor: %s", e.msg);
	j = descriptor_to_json(d);
	descriptor_free(d);
	return j;
}

static void test_resolve_into_the_snapshot(void **state)
{
	struct fixture *f = *state;
	struct named_input grp = { "region", "eu-dev", 6, 0 };
	struct named_input pw = { "Password", CANARY, strlen(CANARY), 1 };
	json_t *desc = descriptor_json_of(
		"schemaVersion: 1.2\n"
		"dependencies:\n"
		"  connectionReferences:\n"
		"    - {name: orders-db, resourceRef: database:orders}\n"
		"    - {name: backend conn, resourceRef: backend/v1}\n"
		"configurations:\n"
		"  env:\n"
		"    - {name: MODE, value: fast}\n"
		"    - {name: LOG_LEVEL, value: info}\n"
		"    - {name: REGION, valueFrom: {configGroupRef: {name: shared, key: region}}}\n"
		"    - {name: DB_PASSWORD, valueFrom: {connectionRef: {name: orders-db, key: Password}}}\n");
	json_t *with_backend = descriptor_json_of(
		"schemaVersion: 1.2\n"
		"dependencies:\n"
		"  connectionReferences:\n"
		"    - {name: backend conn, resourceRef: backend/v1}\n"
		"configurations:\n"
		"  env:\n"
		"    - {name: URL, valueFrom: {connectionRef: {name: backend conn, key: ServiceURL}}}\n");
	struct config_value *v = NULL;
	struct config_input lvl = env_in("LOG_LEVEL", "debug", 0);
	struct snapshot *snap = NULL;
	struct ferr e = FERR_INIT;
	size_t n = 0;
	int64_t id;

	/* missing group and connection: refused, naming what to create */
	assert_int_equal(resolve_descriptor_values(f->cid, f->dev_env, desc, &v, &n, &e), -1);
	assert_int_equal(e.status, 409);
	assert_string_equal(e.msg, "REGION needs key region of configuration group \"shared\" in development: set it with ferry config-group set shop 'shared' --env development region=...");
	ferr_clear(&e);
	named_ok(NAMED_CONFIG_GROUP, "shared", "development", &grp, 1);
	named_ok(NAMED_CONNECTION, "orders-db", "development", &pw, 1);
	assert_int_equal(resolve_descriptor_values(f->cid, f->dev_env, desc, &v, &n, &e), 0);
	assert_int_equal(n, 4);
	/* a configured value wins over the descriptor's default */
	set_ok(NULL, &lvl, 1);
	assert_int_equal(snapshot_build_with(f->cid, f->dev_env, v, n, &id, &e), 0);
	config_values_free(v, n);
	assert_int_equal(snapshot_load(id, &snap, &e), 0);
	assert_int_equal(snap->n, 4);
	assert_string_equal(snap->entries[0].key, "DB_PASSWORD");
	assert_string_equal(snap->entries[0].value, CANARY);
	assert_true(snap->entries[0].secret);
	assert_string_equal(snap->entries[1].key, "LOG_LEVEL");
	assert_string_equal(snap->entries[1].value, "debug");
	assert_string_equal(snap->entries[2].value, "fast");
	assert_string_equal(snap->entries[3].value, "eu-dev");
	assert_int_equal(snap->entries[3].env_id, f->dev_env);
	snapshot_free(snap);
	/* production has neither */
	assert_int_equal(resolve_descriptor_values(f->cid, f->prod_env, desc, &v, &n, &e), -1);
	assert_non_null(strstr(e.msg, "in production"));
	ferr_clear(&e);
	/* a component connection needs the dependency deployed there */
	assert_int_equal(resolve_descriptor_values(f->cid, f->dev_env, with_backend, &v, &n, &e), -1);
	assert_int_equal(e.status, 409);
	assert_string_equal(e.msg, "connection backend conn: component backend is not deployed in development (its development's URL is injected there): deploy shop/backend to development first");
	json_decref(desc);
	json_decref(with_backend);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_helpers),
		cmocka_unit_test_setup_teardown(test_set_list_unset_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_environment_overrides, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_and_binary_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swapped_ciphertexts_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_secret_flag_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_build_join_and_immutability, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_tampering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_of_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_validate_lists_every_problem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_validate_accepts_a_good_configuration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_validate_message_overflow_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_named_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_into_the_snapshot, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
