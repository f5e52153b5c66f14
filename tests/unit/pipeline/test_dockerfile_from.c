/* dockerfile_from: which FROM images are handed to the resolver and how
 * the rewritten Dockerfile keeps everything else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/dockerfile_from.h"

struct seen {
	char names[8][64];
	int n;
	int fail;
};

static int resolve(void *arg, const char *image, struct strbuf *ref)
{
	struct seen *s = arg;

	if (s->fail)
		return -1;
	snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", image);
	if (!strncmp(image, "ferry/", 6))
		return 0; /* kept */
	strbuf_addf(ref, "cache:5000/%s@sha256:1", image);
	return 1;
}

static void test_pins_short_names_only(void **state)
{
	struct strbuf out = STRBUF_INIT;
	struct seen s = { 0 };
	const char *df =
		"# syntax comment FROM nothing\n"
		"ARG V=1\n"
		"FROM --platform=linux/amd64 python:3.12-slim AS build\r\n"
		"RUN pip install x\n"
		"from node:20\n"
		"FROM build\n"
		"FROM ferry/busybox\n"
		"FROM scratch\n"
		"FROM base:${V}\n"
		"  FROM golang AS Go";

	(void)state;
	assert_int_equal(dockerfile_pin_from(df, resolve, &s, &out), 3);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.names[0], "python:3.12-slim");
	assert_string_equal(s.names[1], "node:20");
	assert_string_equal(s.names[2], "ferry/busybox");
	assert_string_equal(s.names[3], "golang");
	assert_string_equal(out.buf,
		"# syntax comment FROM nothing\n"
		"ARG V=1\n"
		"FROM --platform=linux/amd64 cache:5000/python:3.12-slim@sha256:1 AS build\r\n"
		"RUN pip install x\n"
		"from cache:5000/node:20@sha256:1\n"
		"FROM build\n"
		"FROM ferry/busybox\n"
		"FROM scratch\n"
		"FROM base:${V}\n"
		"  FROM cache:5000/golang@sha256:1 AS Go");
	strbuf_release(&out);

	s.fail = 1;
	assert_int_equal(dockerfile_pin_from(df, resolve, &s, &out), -1);
	strbuf_release(&out);
	s.fail = 0;
	assert_int_equal(dockerfile_pin_from("RUN echo\n", resolve, &s, &out), 0);
	assert_string_equal(out.buf, "RUN echo\n");
	strbuf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pins_short_names_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
