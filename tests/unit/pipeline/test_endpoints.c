/* pipeline/endpoints against a real checkout in a temp dir: a descriptor
 * with two endpoints, one naming an OpenAPI document in YAML, one an
 * AsyncAPI document in JSON; what is stored for each and the lines told;
 * the errors for a missing, an oversized and a not-an-API document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/fstree.h"
#include "lib/strbuf.h"
#include "pipeline/descriptor.h"
#include "pipeline/endpoints.h"
#include "testfs.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	testfs_tmpdir(dir, sizeof(dir), "endpoints");
	testfs_dir(dir, ".ferry");
	testfs_put(dir, "openapi.yaml", "openapi: 3.0.3\ninfo:\n  title: shop\n  version: 1\npaths: {}\n");
	testfs_put(dir, "events.json", "{\"asyncapi\": \"2.6.0\", \"info\": {\"title\": \"events\"}}");
	testfs_put(dir, "notes.yaml", "title: not an API\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(fstree_remove(dir), 0);
	return 0;
}

static void note(void *ctx, const char *line)
{
	struct strbuf *sb = ctx;

	strbuf_addf(sb, "%s\n", line);
}

static void test_endpoints_with_specifications(void **state)
{
	struct descriptor *d = NULL;
	struct strbuf told = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	json_t *arr, *api, *ev;

	(void)state;
	testfs_put(dir, ".ferry/component.yaml",
		   "endpoints:\n"
		   "  - name: api\n    service:\n      port: 8080\n      basePath: /api\n    type: REST\n"
		   "    networkVisibilities: [Public, Project]\n    schemaFilePath: openapi.yaml\n"
		   "  - name: events\n    service:\n      port: 8081\n      basePath: /events\n    type: REST\n"
		   "    schemaFilePath: events.json\n");
	if (descriptor_load(&d, dir, &e) < 0)
		fail_msg("descriptor_load: %s", e.msg);
	arr = endpoints_json(d, dir, note, &told, &e);
	assert_non_null(arr);
	assert_int_equal(json_array_size(arr), 2);
	api = json_array_get(arr, 0);
	assert_string_equal(json_string_value(json_object_get(api, "name")), "api");
	assert_int_equal(json_integer_value(json_object_get(api, "port")), 8080);
	assert_int_equal(json_array_size(json_object_get(api, "visibilities")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(api, "schema"), "format")),
			    "openapi");
	/* YAML typed as YAML 1.2 reads it: version 1 is a number */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(
		json_object_get(api, "schema"), "document"), "info"), "version")), 1);
	ev = json_array_get(arr, 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "schema"), "format")),
			    "asyncapi");
	assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "schema"), "version")),
			    "2.6.0");
	assert_string_equal(told.buf, "endpoint api: openapi 3.0.3 from openapi.yaml\n"
				      "endpoint events: asyncapi 2.6.0 from events.json\n");
	json_decref(arr);
	descriptor_free(d);
	strbuf_release(&told);
}

static void test_schema_errors(void **state)
{
	struct strbuf big = STRBUF_INIT;
	struct ferr e = FERR_INIT;

	(void)state;
	assert_null(endpoints_schema_load(dir, "missing.yaml", &e));
	assert_int_equal(e.status, 404);
	ferr_clear(&e);
	assert_null(endpoints_schema_load(dir, "notes.yaml", &e));
	assert_int_equal(e.status, 400);
	assert_non_null(strstr(e.msg, "not an OpenAPI or AsyncAPI document"));
	ferr_clear(&e);
	strbuf_addstr(&big, "openapi: 3.0.0\n");
	while (big.len <= ENDPOINTS_SCHEMA_MAX)
		strbuf_addstr(&big, "# padding padding padding padding padding padding padding\n");
	testfs_put(dir, "big.yaml", big.buf);
	assert_null(endpoints_schema_load(dir, "big.yaml", &e));
	assert_int_equal(e.status, 400);
	assert_non_null(strstr(e.msg, "big.yaml: larger than"));
	strbuf_release(&big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoints_with_specifications),
		cmocka_unit_test(test_schema_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
