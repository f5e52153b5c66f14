/* Unit tests of core/webhook and the queueing side of core/build, against a
 * real SQLite store and vault in a temp dir (no job workers run: queued
 * builds stay queued). */
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

#include "core/build.h"
#include "core/component.h"
#include "core/core.h"
#include "core/project.h"
#include "core/webhook.h"
#include "lib/strbuf.h"
#include "store/store.h"
#include "vault/vault.h"

static const struct principal admin = { 1, "admin", ROLE_ADMIN, 0 };
static const struct principal viewer = { 3, "view1", ROLE_VIEWER, 0 };

#define SHA1 "1111111111111111111111111111111111111111"
#define SHA2 "2222222222222222222222222222222222222222"

struct fixture {
	char dir[64];
	char key[33];
	char secret[65];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct component_spec spec = { 0 };
	struct build_options bo = { 0 };
	static int registered;
	struct ferr e = FERR_INIT;
	json_t *j = NULL;
	const char *url;

	assert_non_null(f);
	store_fixture_open(f->dir, "webhook");
	if (!registered++)
		build_register(&bo);
	if (project_create(&admin, "shop", NULL, 0, &j, &e) < 0)
		fail_msg("project_create: %s", e.msg);
	json_decref(j);
	spec.name = "api";
	spec.repo = "https://git.example/shop.git";
	spec.auto_build = 1;
	if (component_create(&admin, "shop", &spec, &j, &e) < 0)
		fail_msg("component_create: %s", e.msg);
	url = json_string_value(json_object_get(j, "webhook_url"));
	snprintf(f->key, sizeof(f->key), "%s", strrchr(url, '/') + 1);
	snprintf(f->secret, sizeof(f->secret), "%s", json_string_value(json_object_get(j, "webhook_secret")));
	json_decref(j);
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

/* A GitHub push body for ref/after. */
static void push_body(struct strbuf *sb, const char *ref, const char *after)
{
	strbuf_addf(sb, "{\"ref\": \"%s\", \"before\": \"%s\", \"after\": \"%s\", \"deleted\": %s,"
		    " \"repository\": {\"full_name\": \"acme/api\"}}", ref, SHA1, after,
		    strcmp(after, "0000000000000000000000000000000000000000") ? "false" : "true");
}

/* Sends a signed GitHub delivery; returns webhook_receive's result. */
static int github(struct fixture *f, const char *event, const char *body, const char *delivery,
		  const char *secret, int *status, json_t **ret, struct ferr *e)
{
	char sig[72];
	struct webhook_delivery d = {
		.key = f->key, .github_event = event, .github_delivery = delivery,
		.github_signature = sig, .body = body, .len = strlen(body),
	};

	webhook_github_signature(secret ? secret : f->secret, body, strlen(body), sig);
	*ret = NULL;
	return webhook_receive(&d, status, ret, e);
}

static size_t count(const char *sql_literal)
{
	sqlite3_stmt *st = store_stmt(sql_literal);
	size_t n = 0;

	if (sqlite3_step(st) == SQLITE_ROW)
		n = (size_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

/* GitHub's documented test vector for X-Hub-Signature-256. */
static void test_signature_vector(void **state)
{
	char sig[72];

	(void)state;
	webhook_github_signature("It's a Secret to Everybody", "Hello, World!", 13, sig);
	assert_string_equal(sig, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

static void test_push_queues_once(void **state)
{
	struct fixture *f = *state;
	struct strbuf body = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	json_t *ret, *b;
	int status;
	int64_t build;

	push_body(&body, "refs/heads/main", SHA2);
	assert_int_equal(github(f, "push", body.buf, "d-1", NULL, &status, &ret, &e), 0);
	assert_int_equal(status, 202);
	assert_true(json_is_true(json_object_get(ret, "queued")));
	build = json_integer_value(json_object_get(ret, "build"));
	assert_true(build > 0);
	json_decref(ret);
	if (build_show(&admin, build, &b, &e) < 0)
		fail_msg("build_show: %s", e.msg);
	assert_string_equal(json_string_value(json_object_get(b, "status")), "queued");
	assert_string_equal(json_string_value(json_object_get(b, "requested")), SHA2);
	assert_string_equal(json_string_value(json_object_get(b, "trigger")), "webhook");
	assert_int_equal(json_array_size(json_object_get(b, "steps")), 6);
	json_decref(b);

	/* Replay: recorded, nothing queued, points at the first build. */
	assert_int_equal(github(f, "push", body.buf, "d-1", NULL, &status, &ret, &e), 0);
	assert_int_equal(status, 200);
	assert_true(json_is_true(json_object_get(ret, "duplicate")));
	assert_int_equal(json_integer_value(json_object_get(ret, "build")), build);
	json_decref(ret);
	assert_int_equal(count("SELECT count(*) FROM builds"), 1);
	assert_int_equal(count("SELECT count(*) FROM webhook_deliveries"), 2);
	assert_int_equal(count("SELECT count(*) FROM audit WHERE actor = 'webhook'"), 2);
	strbuf_release(&body);
}

static void test_bad_signatures(void **state)
{
	struct fixture *f = *state;
	struct strbuf body = STRBUF_INIT;
	struct webhook_delivery d = { .key = f->key, .github_event = "push" };
	struct ferr e = FERR_INIT;
	json_t *ret;
	int status;

	push_body(&body, "refs/heads/main", SHA2);
	assert_int_equal(github(f, "push", body.buf, "d-2", "wrong", &status, &ret, &e), -1);
	assert_int_equal(e.status, 401);
	assert_non_null(strstr(e.msg, "does not match"));
	ferr_clear(&e);
	d.body = body.buf;
	d.len = body.len;
	assert_int_equal(webhook_receive(&d, &status, &ret, &e), -1);
	assert_int_equal(e.status, 401);
	assert_non_null(strstr(e.msg, "missing"));
	ferr_clear(&e);
	d.github_signature = "sha256=zz";
	assert_int_equal(webhook_receive(&d, &status, &ret, &e), -1);
	assert_int_equal(e.status, 401);
	ferr_clear(&e);
	/* One byte of the body changed after signing. */
	{
		char sig[72];
		webhook_github_signature(f->secret, body.buf, body.len, sig);
		body.buf[body.len - 1] = ' ';
		d.github_signature = sig;
		assert_int_equal(webhook_receive(&d, &status, &ret, &e), -1);
		assert_int_equal(e.status, 401);
		ferr_clear(&e);
	}
	assert_int_equal(count("SELECT count(*) FROM builds"), 0);
	assert_int_equal(count("SELECT count(*) FROM webhook_deliveries WHERE verified = 0 AND status = 401"), 4);
	/* The forged delivery id is still free for the real one. */
	strbuf_reset(&body);
	push_body(&body, "refs/heads/main", SHA2);
	assert_int_equal(github(f, "push", body.buf, "d-2", NULL, &status, &ret, &e), 0);
	assert_int_equal(status, 202);
	json_decref(ret);
	strbuf_release(&body);
}

static void test_nothing_to_build(void **state)
{
	struct fixture *f = *state;
	static const struct { const char *event, *ref, *after, *why; } cases[] = {
		{ "push", "refs/heads/feature", SHA2, "push to branch feature" },
		{ "push", "refs/tags/v1", SHA2, "tag push" },
		{ "push", "refs/heads/main", "0000000000000000000000000000000000000000", "was deleted" },
		{ "ping", "refs/heads/main", SHA2, "pong" },
		{ "release", "refs/heads/main", SHA2, "not a push" },
	};
	struct ferr e = FERR_INIT;
	char id[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf body = STRBUF_INIT;
		json_t *ret;
		int status;

		push_body(&body, cases[i].ref, cases[i].after);
		snprintf(id, sizeof(id), "n-%zu", i);
		if (github(f, cases[i].event, body.buf, id, NULL, &status, &ret, &e) < 0)
			fail_msg("case %zu: %s", i, e.msg);
		assert_int_equal(status, 200);
		assert_true(json_is_false(json_object_get(ret, "queued")));
		if (!strstr(json_string_value(json_object_get(ret, "reason")), cases[i].why))
			fail_msg("case %zu: reason \"%s\"", i, json_string_value(json_object_get(ret, "reason")));
		json_decref(ret);
		strbuf_release(&body);
	}
	assert_int_equal(count("SELECT count(*) FROM builds"), 0);
}

static void test_gitlab_token(void **state)
{
	struct fixture *f = *state;
	struct strbuf body = STRBUF_INIT;
	struct webhook_delivery d = { .key = f->key, .gitlab_event = "Push Hook" };
	struct ferr e = FERR_INIT;
	json_t *ret = NULL;
	int status;

	push_body(&body, "refs/heads/main", SHA2);
	d.body = body.buf;
	d.len = body.len;
	d.gitlab_token = "nope";
	assert_int_equal(webhook_receive(&d, &status, &ret, &e), -1);
	assert_int_equal(e.status, 401);
	ferr_clear(&e);
	d.gitlab_token = f->secret;
	assert_int_equal(webhook_receive(&d, &status, &ret, &e), 0);
	assert_int_equal(status, 202);
	json_decref(ret);
	/* No event UUID: the body itself is the delivery id. */
	assert_int_equal(webhook_receive(&d, &status, &ret, &e), 0);
	assert_int_equal(status, 200);
	assert_true(json_is_true(json_object_get(ret, "duplicate")));
	json_decref(ret);
	assert_int_equal(count("SELECT count(*) FROM builds"), 1);
	strbuf_release(&body);
}

static void test_unknown_key_and_bad_payloads(void **state)
{
	struct fixture *f = *state;
	struct webhook_delivery d = { .key = "0123456789abcdef0123456789abcdef", .github_event = "push",
				      .body = "{}", .len = 2 };
	struct ferr e = FERR_INIT;
	json_t *ret = NULL;
	int status;

	assert_int_equal(webhook_receive(&d, &status, &ret, &e), -1);
	assert_int_equal(e.status, 404);
	ferr_clear(&e);
	d.key = "../../etc";
	assert_int_equal(webhook_receive(&d, &status, &ret, &e), -1);
	assert_int_equal(e.status, 404);
	ferr_clear(&e);
	assert_int_equal(github(f, "push", "[1, 2]", "b-1", NULL, &status, &ret, &e), -1);
	assert_int_equal(e.status, 400);
	ferr_clear(&e);
	assert_int_equal(github(f, "push", "{\"ref\": \"refs/heads/main\", \"after\": \"HEAD\"}", "b-2",
				NULL, &status, &ret, &e), -1);
	assert_int_equal(e.status, 400);
	assert_int_equal(count("SELECT count(*) FROM builds"), 0);
}

static void test_build_queue_list_cancel(void **state)
{
	struct ferr e = FERR_INIT;
	json_t *b, *list, *log;
	int64_t id;

	(void)state;
	assert_int_equal(build_create(&viewer, "shop", "api", NULL, &b, &e), -1);
	assert_int_equal(e.status, 403);
	ferr_clear(&e);
	assert_int_equal(build_create(&admin, "shop", "nope", NULL, &b, &e), -1);
	assert_int_equal(e.status, 404);
	ferr_clear(&e);
	if (build_create(&admin, "shop", "api", "main", &b, &e) < 0)
		fail_msg("build_create: %s", e.msg);
	id = json_integer_value(json_object_get(b, "id"));
	assert_string_equal(json_string_value(json_object_get(b, "trigger")), "manual");
	assert_string_equal(json_string_value(json_object_get(b, "triggered_by")), "admin");
	json_decref(b);
	if (build_list(&admin, "shop", "api", 10, &list, &e) < 0)
		fail_msg("build_list: %s", e.msg);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	if (build_cancel(&admin, id, &e) < 0)
		fail_msg("build_cancel: %s", e.msg);
	if (build_show(&admin, id, &b, &e) < 0)
		fail_msg("build_show: %s", e.msg);
	assert_string_equal(json_string_value(json_object_get(b, "status")), "cancelled");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(b, "steps"), 0),
							     "status")), "cancelled");
	json_decref(b);
	assert_int_equal(build_cancel(&admin, id, &e), -1);
	assert_int_equal(e.status, 409);
	ferr_clear(&e);
	if (build_log_read(&admin, id, 0, 0, &log, &e) < 0)
		fail_msg("build_log_read: %s", e.msg);
	assert_int_equal(json_array_size(log), 0);
	json_decref(log);
	/* Project scope: another project's token sees no such build. */
	{
		struct principal other = { 9, "other", ROLE_ADMIN, 4242 };
		assert_int_equal(build_show(&other, id, &b, &e), -1);
		assert_int_equal(e.status, 404);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature_vector),
		cmocka_unit_test_setup_teardown(test_push_queues_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_signatures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_to_build, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitlab_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key_and_bad_payloads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_queue_list_cancel, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
