/* Unit tests of api/openapi: the description in src/api/openapi.json and
 * the route table in src/api/routes.c must be the same surface. When
 * test_every_route_is_described fails, its output says what to add. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/handlers.h"
#include "api/openapi.h"

static void test_every_route_is_described(void **state)
{
	struct strbuf problems = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	json_t *doc = openapi_source(&e);
	int n;

	(void)state;
	if (!doc)
		fail_msg("%s", e.msg);
	n = openapi_check(doc, api_routes, &problems);
	if (n)
		fail_msg("the OpenAPI description and the route table differ (%d problems):\n%s", n, problems.buf);
	strbuf_release(&problems);
	json_decref(doc);
}

static int dummy(struct api_req *r, json_t **ret, struct ferr *e)
{
	(void)r; (void)ret; (void)e;
	return 0;
}

/* The check can fail: a route the description lacks, and a described
 * operation with no route, are each reported with what to do. */
static void test_check_reports_both_directions(void **state)
{
	const struct api_route routes[] = {
		{ "GET", "/healthz", dummy, NULL, 1 },
		{ "POST", "/api/v1/widgets/{}/spin", dummy, "widget.spin", 0 },
		{ NULL, NULL, NULL, NULL, 0 },
	};
	struct strbuf problems = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	json_t *doc = openapi_source(&e);
	int n;

	(void)state;
	assert_non_null(doc);
	n = openapi_check(doc, routes, &problems);
	/* every operation of the real description but GET /healthz is stale here */
	assert_true(n > 10);
	assert_non_null(strstr(problems.buf, "route POST /api/v1/widgets/{}/spin (src/api/routes.c) is not described"));
	assert_non_null(strstr(problems.buf, "\"/api/v1/widgets/{}/spin\": { \"post\": { \"summary\""));
	assert_non_null(strstr(problems.buf, "describes get /api/v1/projects but src/api/routes.c has no such route"));
	assert_null(strstr(problems.buf, "/healthz"));
	strbuf_release(&problems);
	json_decref(doc);
}

static void test_check_reports_bad_operations(void **state)
{
	const struct api_route routes[] = {
		{ "GET", "/api/v1/things/{}", dummy, NULL, 0 },
		{ NULL, NULL, NULL, NULL, 0 },
	};
	struct strbuf problems = STRBUF_INIT;
	json_t *doc = json_loads("{\"components\": {\"parameters\": {}}, \"paths\": {\"/api/v1/things/{thing}\": "
				 "{\"get\": {\"responses\": {\"404\": {}}}}}}", 0, NULL);

	(void)state;
	assert_non_null(doc);
	assert_int_equal(openapi_check(doc, routes, &problems), 4);
	assert_non_null(strstr(problems.buf, "uses {thing}: add \"thing\""));
	assert_non_null(strstr(problems.buf, "has no \"summary\""));
	assert_non_null(strstr(problems.buf, "response 404 has no \"description\""));
	assert_non_null(strstr(problems.buf, "needs \"responses\" with its success status"));
	strbuf_release(&problems);
	json_decref(doc);
}

/* The served document carries the route table's facts on each operation. */
static void test_document_adds_route_facts(void **state)
{
	struct ferr e = FERR_INIT;
	json_t *doc = openapi_document(api_routes, &e), *op, *params;

	(void)state;
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.3");

	op = json_object_get(json_object_get(json_object_get(doc, "paths"), "/healthz"), "get");
	assert_non_null(op);
	assert_int_equal(json_array_size(json_object_get(op, "security")), 0);
	assert_true(json_is_array(json_object_get(op, "security")));
	assert_null(json_object_get(json_object_get(op, "responses"), "401"));

	op = json_object_get(json_object_get(json_object_get(doc, "paths"),
					     "/api/v1/projects/{project}/components/{component}/configs/{key}"), "delete");
	assert_non_null(op);
	assert_null(json_object_get(op, "security")); /* the document's default: a token */
	assert_string_equal(json_string_value(json_object_get(op, "x-ferry-audit")), "config.unset");
	assert_non_null(json_object_get(json_object_get(op, "responses"), "401"));
	assert_non_null(json_object_get(json_object_get(op, "responses"), "default"));
	params = json_object_get(op, "parameters");
	assert_int_equal(json_array_size(params), 4); /* project, component, key, then ?env */
	assert_string_equal(json_string_value(json_object_get(json_array_get(params, 0), "$ref")),
			    "#/components/parameters/project");
	assert_string_equal(json_string_value(json_object_get(json_array_get(params, 2), "$ref")),
			    "#/components/parameters/key");
	assert_string_equal(json_string_value(json_object_get(json_array_get(params, 3), "$ref")),
			    "#/components/parameters/envq");
	json_decref(doc);
}

static void test_route_pattern(void **state)
{
	char out[128];

	(void)state;
	openapi_route_pattern("/api/v1/projects/{project}/components/{component}", out, sizeof(out));
	assert_string_equal(out, "/api/v1/projects/{}/components/{}");
	openapi_route_pattern("/healthz", out, sizeof(out));
	assert_string_equal(out, "/healthz");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_route_is_described),
		cmocka_unit_test(test_check_reports_both_directions),
		cmocka_unit_test(test_check_reports_bad_operations),
		cmocka_unit_test(test_document_adds_route_facts),
		cmocka_unit_test(test_route_pattern),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
