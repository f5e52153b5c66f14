/* Unit tests of component_update against a real SQLite store and vault in
 * a temp dir: every setting, the checks create makes, nothing changed on
 * any error (also when a write fails half-way), the poller's head and the
 * task schedule's state, roles and scopes. */
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
#include <time.h>

#include "core/component.h"
#include "core/core.h"
#include "core/project.h"
#include "store/store.h"
#include "vault/vault.h"

static const struct principal admin = { 1, "admin", ROLE_ADMIN, 0 };
static const struct principal dev = { 2, "dev1", ROLE_DEVELOPER, 0 };
static const struct principal viewer = { 3, "view1", ROLE_VIEWER, 0 };

struct fixture {
	char dir[64];
	int64_t api, job; /* component ids */
};

static int64_t create(const char *name, const struct component_spec *spec)
{
	struct ferr e = FERR_INIT;
	json_t *j = NULL;
	int64_t id;

	if (component_create(&admin, "shop", spec, &j, &e) < 0)
		fail_msg("component_create %s: %s", name, e.msg);
	id = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	return id;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct component_spec api = { .name = "api", .repo = "https://git.example/shop.git" };
	struct component_spec job = { .name = "job", .repo = "https://git.example/shop.git",
				      .type = "scheduled-task", .schedule = "0 3 * * *" };
	struct ferr e = FERR_INIT;
	json_t *j = NULL;

	assert_non_null(f);
	store_fixture_open(f->dir, "component");
	if (project_create(&admin, "shop", NULL, 0, &j, &e) < 0)
		fail_msg("project_create: %s", e.msg);
	json_decref(j);
	if (project_create(&admin, "bank", NULL, 0, &j, &e) < 0)
		fail_msg("project_create: %s", e.msg);
	json_decref(j);
	f->api = create("api", &api);
	f->job = create("job", &job);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_fixture_close(f->dir);
	free(f);
	return 0;
}

static json_t *show(const char *name)
{
	struct ferr e = FERR_INIT;
	json_t *j = NULL;

	if (component_show(&admin, "shop", name, &j, &e) < 0)
		fail_msg("component_show: %s", e.msg);
	return j;
}

static int64_t int_of(const char *sql_literal, int64_t id)
{
	sqlite3_stmt *st = store_stmt(sql_literal);
	int64_t v = -1;

	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -2 : sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

static void exec(const char *sql)
{
	struct ferr e = FERR_INIT;

	if (store_exec(sql, &e) < 0)
		fail_msg("%s: %s", sql, e.msg);
}

/* Refused with a message containing why, and the component as it was. */
static void refused(const char *name, const struct component_update *u, int status, const char *why)
{
	json_t *before = show(name), *after, *ret = NULL;
	struct ferr e = FERR_INIT;

	assert_int_equal(component_update(&admin, "shop", name, u, &ret, &e), -1);
	assert_null(ret);
	assert_int_equal(e.status, status);
	if (!strstr(e.msg, why))
		fail_msg("expected \"%s\" in \"%s\"", why, e.msg);
	after = show(name);
	assert_true(json_equal(before, after));
	json_decref(before);
	json_decref(after);
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void test_every_setting_of_a_service(void **state)
{
	struct component_update u = {
		.repo = "ssh://git.example/other.git", .branch = "release/1.x", .path = "svc/api",
		.buildpack = "static", .set_auto_build = 1, .auto_build = 1, .set_auto_deploy = 1,
		.auto_deploy = 1, .set_poll_interval = 1, .poll_interval = 300, .scan_fail_on = "HIGH",
	};
	struct ferr e = FERR_INIT;
	json_t *j = NULL, *changed;

	(void)state;
	if (component_update(&dev, "shop", "api", &u, &j, &e) < 0)
		fail_msg("component_update: %s", e.msg);
	assert_string_equal(str(j, "repo"), "ssh://git.example/other.git");
	assert_string_equal(str(j, "branch"), "release/1.x");
	assert_string_equal(str(j, "path"), "svc/api");
	assert_true(json_is_null(json_object_get(j, "dockerfile")));
	assert_string_equal(str(j, "buildpack"), "static");
	assert_true(json_is_true(json_object_get(j, "auto_build")));
	assert_true(json_is_true(json_object_get(j, "auto_deploy")));
	assert_int_equal(json_integer_value(json_object_get(j, "poll_interval")), 300);
	assert_string_equal(str(json_object_get(j, "scan_policy"), "fail_on"), "high");
	changed = json_object_get(j, "changed");
	assert_int_equal(json_array_size(changed), 9);
	json_decref(j);

	/* a Dockerfile replaces the buildpack; turning a switch off */
	memset(&u, 0, sizeof(u));
	u.dockerfile = "build/Dockerfile";
	u.set_auto_deploy = 1;
	if (component_update(&dev, "shop", "api", &u, &j, &e) < 0)
		fail_msg("component_update: %s", e.msg);
	assert_string_equal(str(j, "dockerfile"), "build/Dockerfile");
	assert_true(json_is_null(json_object_get(j, "buildpack")));
	assert_true(json_is_false(json_object_get(j, "auto_deploy")));
	assert_true(json_is_true(json_object_get(j, "auto_build")));
	changed = json_object_get(j, "changed");
	assert_int_equal(json_array_size(changed), 3);
	assert_string_equal(json_string_value(json_array_get(changed, 2)), "auto_deploy");
	json_decref(j);

	/* the same values again: fine, nothing changed */
	if (component_update(&dev, "shop", "api", &u, &j, &e) < 0)
		fail_msg("component_update: %s", e.msg);
	assert_int_equal(json_array_size(json_object_get(j, "changed")), 0);
	json_decref(j);
}

static void test_task_settings_and_schedule(void **state)
{
	struct component_update u = { .schedule = "30 12 * * *", .timezone = "Asia/Tokyo",
				      .set_timeout = 1, .timeout = 90, .concurrency = "replace" };
	struct ferr e = FERR_INIT;
	json_t *j = NULL, *runs;
	size_t i;
	json_t *v;

	(void)state;
	if (component_update(&admin, "shop", "job", &u, &j, &e) < 0)
		fail_msg("component_update: %s", e.msg);
	assert_string_equal(str(j, "schedule"), "30 12 * * *");
	assert_string_equal(str(j, "timezone"), "Asia/Tokyo");
	assert_int_equal(json_integer_value(json_object_get(j, "timeout")), 90);
	assert_string_equal(str(j, "concurrency"), "replace");
	runs = json_object_get(j, "next_runs");
	assert_int_equal(json_array_size(runs), 5);
	json_array_foreach(runs, i, v)
		assert_non_null(strstr(json_string_value(v), "T03:30:00Z")); /* 12:30 in Tokyo */
	json_decref(j);

	/* timeout 0 is the default again */
	memset(&u, 0, sizeof(u));
	u.set_timeout = 1;
	if (component_update(&admin, "shop", "job", &u, &j, &e) < 0)
		fail_msg("component_update: %s", e.msg);
	assert_int_equal(json_integer_value(json_object_get(j, "timeout")), 3600);
	json_decref(j);
}

static void test_refusals_change_nothing(void **state)
{
	struct component_update u;

	(void)state;
#define REFUSE(name, status, why, ...) do { \
		struct component_update x_ = { __VA_ARGS__ }; \
		refused(name, &x_, status, why); \
	} while (0)
	REFUSE("api", 400, "unsupported scheme", .repo = "ftp://x/y", .branch = "dev");
	REFUSE("api", 400, "not a valid git branch name", .branch = "a..b");
	REFUSE("api", 400, "must not contain \"..\"", .path = "../up");
	REFUSE("api", 400, "must be relative", .dockerfile = "/etc/Dockerfile");
	REFUSE("api", 400, "not both", .dockerfile = "Dockerfile", .buildpack = "static");
	REFUSE("api", 400, "buildpack \"ruby\" is not known", .buildpack = "ruby");
	REFUSE("api", 400, "only scheduled-task components have a schedule", .schedule = "* * * * *");
	REFUSE("api", 400, "time zone is only meaningful", .timezone = "UTC");
	REFUSE("api", 400, "are for task components", .set_timeout = 1, .timeout = 60);
	REFUSE("api", 400, "are for task components", .concurrency = "allow");
	REFUSE("api", 400, "poll interval", .set_poll_interval = 1, .poll_interval = 86401);
	REFUSE("api", 400, "scan fail-on level \"severe\"", .scan_fail_on = "severe", .branch = "dev");
	REFUSE("api", 400, "name cannot change", .name = "web");
	REFUSE("api", 400, "type cannot change", .type = "web-app", .branch = "dev");
	REFUSE("api", 400, "nothing to change", .set_auto_build = 0);
	REFUSE("job", 400, "needs a schedule", .schedule = "");
	REFUSE("job", 400, "schedule \"61 * * * *\"", .schedule = "61 * * * *", .set_timeout = 1,
	       .timeout = 5);
	REFUSE("job", 404, "unknown time zone", .timezone = "Mars/Base");
	REFUSE("job", 400, "concurrency policy \"sometimes\"", .concurrency = "sometimes");
	REFUSE("job", 400, "timeout must be", .set_timeout = 1, .timeout = 604801);
#undef REFUSE
	/* the current name and type are accepted */
	memset(&u, 0, sizeof(u));
	u.name = "api";
	u.type = "service";
	u.branch = "dev";
	{
		struct ferr e = FERR_INIT;
		json_t *j = NULL;
		if (component_update(&admin, "shop", "api", &u, &j, &e) < 0)
			fail_msg("component_update: %s", e.msg);
		assert_string_equal(str(j, "branch"), "dev");
		json_decref(j);
	}
}

/* A write that fails half-way (the scan policy, after the components row)
 * leaves the row as it was: one transaction. */
static void test_failed_write_rolls_back(void **state)
{
	struct component_update u = { .branch = "dev", .set_auto_build = 1, .auto_build = 1,
				      .scan_fail_on = "low" };

	(void)state;
	exec("CREATE TEMP TRIGGER no_policy BEFORE INSERT ON scan_policies"
	     " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
	refused("api", &u, 500, "injected failure");
	exec("DROP TRIGGER no_policy");
}

static void test_new_source_resets_the_poll_head(void **state)
{
	struct fixture *f = *state;
	struct component_update u = { 0 };
	struct ferr e = FERR_INIT;
	sqlite3_stmt *st;
	json_t *j = NULL;

	st = store_stmt("UPDATE components SET poll_head = 'abc', polled_at = 100 WHERE id = ?");
	sqlite3_bind_int64(st, 1, f->api);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);

	u.set_auto_build = 1;
	u.auto_build = 1;
	if (component_update(&admin, "shop", "api", &u, &j, &e) < 0)
		fail_msg("component_update: %s", e.msg);
	json_decref(j);
	assert_int_equal(int_of("SELECT polled_at FROM components WHERE id = ?", f->api), 100);

	memset(&u, 0, sizeof(u));
	u.branch = "dev";
	if (component_update(&admin, "shop", "api", &u, &j, &e) < 0)
		fail_msg("component_update: %s", e.msg);
	json_decref(j);
	assert_int_equal(int_of("SELECT poll_head IS NULL FROM components WHERE id = ?", f->api), 1);
	assert_int_equal(int_of("SELECT polled_at FROM components WHERE id = ?", f->api), -2);

	st = store_stmt("UPDATE components SET poll_head = 'abc' WHERE id = ?");
	sqlite3_bind_int64(st, 1, f->api);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);
	memset(&u, 0, sizeof(u));
	u.repo = "https://git.example/shop2.git";
	if (component_update(&admin, "shop", "api", &u, &j, &e) < 0)
		fail_msg("component_update: %s", e.msg);
	json_decref(j);
	assert_int_equal(int_of("SELECT poll_head IS NULL FROM components WHERE id = ?", f->api), 1);
}

static void test_new_schedule_runs_from_now(void **state)
{
	struct fixture *f = *state;
	struct component_update u = { 0 };
	struct ferr e = FERR_INIT;
	sqlite3_stmt *st;
	json_t *j = NULL;
	time_t before = time(NULL);

	st = store_stmt("INSERT INTO task_schedules (component_id, environment_id, last_slot)"
			" SELECT ?, id, 1000 FROM environments");
	sqlite3_bind_int64(st, 1, f->job);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);

	u.concurrency = "allow";
	if (component_update(&admin, "shop", "job", &u, &j, &e) < 0)
		fail_msg("component_update: %s", e.msg);
	json_decref(j);
	assert_int_equal(int_of("SELECT max(last_slot) FROM task_schedules WHERE component_id = ?", f->job),
			 1000);

	memset(&u, 0, sizeof(u));
	u.timezone = "Europe/Berlin";
	if (component_update(&admin, "shop", "job", &u, &j, &e) < 0)
		fail_msg("component_update: %s", e.msg);
	json_decref(j);
	assert_true(int_of("SELECT min(last_slot) FROM task_schedules WHERE component_id = ?", f->job) >=
		    (int64_t)before);
}

static void test_roles_scopes_and_credentials(void **state)
{
	struct fixture *f = *state;
	const struct principal bank_dev = { 4, "bankdev", ROLE_DEVELOPER, 0 };
	struct component_update u = { .branch = "dev" };
	struct ferr e = FERR_INIT;
	struct principal scoped = bank_dev;
	sqlite3_stmt *st;
	json_t *j = NULL;

	(void)state;
	assert_int_equal(component_update(&viewer, "shop", "api", &u, &j, &e), -1);
	assert_int_equal(e.status, 403);
	ferr_clear(&e);
	scoped.project_id = int_of("SELECT id FROM projects WHERE name = 'bank' AND ? > 0", 1);
	assert_int_equal(component_update(&scoped, "shop", "api", &u, &j, &e), -1);
	assert_int_equal(e.status, 404);
	assert_string_equal(e.msg, "project \"shop\" not found");
	ferr_clear(&e);
	assert_int_equal(component_update(&admin, "shop", "ghost", &u, &j, &e), -1);
	assert_int_equal(e.status, 404);
	ferr_clear(&e);

	/* credentials go only where they were meant to */
	st = store_stmt("INSERT INTO git_credentials (component_id, kind, secret, updated_by, updated_at)"
			" VALUES (?, 'https', x'00', 'admin', '2026-01-01T00:00:00Z')");
	sqlite3_bind_int64(st, 1, f->api);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);
	{
		struct component_update away = { .repo = "https://evil.example/shop.git" };
		struct component_update user = { .repo = "https://bob@evil.example/shop.git" };
		struct component_update port = { .repo = "https://git.example:8443/shop.git" };
		refused("api", &away, 400, "remove them first");
		refused("api", &user, 400, "git credentials for https://git.example");
		refused("api", &port, 400, "https://git.example:8443");
	}
	memset(&u, 0, sizeof(u));
	u.repo = "https://ci@GIT.example/team/other.git"; /* same host: kept */
	if (component_update(&admin, "shop", "api", &u, &j, &e) < 0)
		fail_msg("component_update: %s", e.msg);
	assert_string_equal(str(j, "repo"), "https://ci@GIT.example/team/other.git");
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_setting_of_a_service, setup, teardown),
		cmocka_unit_test_setup_teardown(test_task_settings_and_schedule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_write_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_source_resets_the_poll_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_schedule_runs_from_now, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roles_scopes_and_credentials, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
