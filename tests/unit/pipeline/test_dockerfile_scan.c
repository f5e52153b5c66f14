/* Dockerfile rules: each rule found on the right line, and clean files clean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/dockerfile_scan.h"

static json_t *scan(const char *text)
{
	struct ferr e = FERR_INIT;
	json_t *f = json_array();
	int n = dockerfile_scan(text, strlen(text), "Dockerfile", f, &e);

	if (n < 0)
		fail_msg("dockerfile_scan: %s", e.msg);
	assert_int_equal((size_t)n, json_array_size(f));
	return f;
}

/* The number of findings with id, and the line of the first. */
static int count(json_t *f, const char *id, int *line)
{
	json_t *v;
	size_t i;
	int n = 0;

	json_array_foreach(f, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "id")), id))
			continue;
		if (!n && line)
			*line = (int)json_integer_value(json_object_get(v, "line"));
		n++;
	}
	return n;
}

static void clean_file(void **state)
{
	(void)state;
	json_t *f = scan("# syntax=docker/dockerfile:1\n"
			 "FROM debian:12.5@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
			 "RUN apt-get update && \\\n    apt-get install -y curl\n"
			 "ENV PASSWORD_FILE=/run/secrets/db APP_TOKEN=$TOKEN_FROM_ARG\n"
			 "ARG API_KEY\n"
			 "COPY app /app\n"
			 "USER 10001:10001\n");
	assert_int_equal(json_array_size(f), 0);
	json_decref(f);
	f = scan("FROM ferry/busybox\nUSER 65534\n");
	assert_int_equal(json_array_size(f), 0);
	json_decref(f);
}

static void no_user(void **state)
{
	int line = 0;
	json_t *f, *v;
	(void)state;

	f = scan("FROM golang:1.22 AS build\nUSER 1000\nRUN go build\n\nFROM debian:12\nCOPY --from=build /x /x\n");
	assert_int_equal(count(f, "FERRY-DF-001", &line), 1);
	assert_int_equal(line, 5);
	v = json_array_get(f, 0);
	assert_string_equal(json_string_value(json_object_get(v, "severity")), "CRITICAL");
	assert_string_equal(json_string_value(json_object_get(v, "where")), "Dockerfile:5");
	json_decref(f);
	/* USER root, and USER 0:0, count as root */
	f = scan("FROM debian:12\nUSER app\nUSER root\n");
	assert_int_equal(count(f, "FERRY-DF-001", &line), 1);
	assert_int_equal(line, 3);
	json_decref(f);
	f = scan("FROM debian:12\nuser 0:0\n");
	assert_int_equal(count(f, "FERRY-DF-001", NULL), 1);
	json_decref(f);
	/* A final stage FROM an earlier stage inherits its USER */
	f = scan("FROM debian:12 AS base\nUSER 1000\nFROM base\nCOPY x /x\n");
	assert_int_equal(count(f, "FERRY-DF-001", NULL), 0);
	json_decref(f);
}

static void remote_add(void **state)
{
	int line = 0;
	json_t *f;
	(void)state;

	f = scan("FROM debian:12\nADD --chown=1:1 https://example.com/x.tgz /opt/\n"
		 "ADD [\"http://example.com/y\", \"/y\"]\nADD local.tgz /opt/\nUSER 1\n");
	assert_int_equal(count(f, "FERRY-DF-002", &line), 2);
	assert_int_equal(line, 2);
	json_decref(f);
}

static void secret_env(void **state)
{
	int line = 0;
	json_t *f;
	(void)state;

	f = scan("FROM debian:12\nUSER 1\n"
		 "ENV DB_PASSWORD=hunter2 OTHER=x\n"
		 "ENV GITHUB_TOKEN ghp_notreallyatoken\n"
		 "ARG NPM_TOKEN=\"abc def\"\n"
		 "ARG VERSION=1.2\n"
		 "ENV SECRET_PATH=/run/x\n");
	assert_int_equal(count(f, "FERRY-DF-003", &line), 3);
	assert_int_equal(line, 3);
	{
		char *text = json_dumps(f, 0);
		assert_null(strstr(text, "hunter2"));
		free(text);
	}
	json_decref(f);
}

static void unpinned_base(void **state)
{
	int line = 0;
	json_t *f;
	(void)state;

	f = scan("FROM --platform=linux/amd64 debian AS a\nFROM registry.local:5000/team/app:latest\n"
		 "FROM a\nFROM scratch\nFROM node:20\nUSER 1\n");
	assert_int_equal(count(f, "FERRY-DF-004", &line), 2);
	assert_int_equal(line, 1);
	json_decref(f);
	/* A port in the registry host is not a tag; ARG defaults are expanded */
	f = scan("ARG BASE=registry.local:5000/app\nFROM ${BASE}\nUSER 1\n");
	assert_int_equal(count(f, "FERRY-DF-004", NULL), 1);
	json_decref(f);
	f = scan("ARG TAG=3.19\nFROM alpine:$TAG\nUSER 1\n");
	assert_int_equal(count(f, "FERRY-DF-004", NULL), 0);
	json_decref(f);
}

static void sudo_run(void **state)
{
	int line = 0;
	json_t *f;
	(void)state;

	f = scan("FROM debian:12\nRUN apt-get install -y pseudo sudoku\n"
		 "# RUN sudo ignored in a comment\n"
		 "RUN echo a && \\\n  sudo make install\nUSER 1\n");
	assert_int_equal(count(f, "FERRY-DF-005", &line), 1);
	assert_int_equal(line, 4);
	json_decref(f);
}

static void errors(void **state)
{
	struct ferr e = FERR_INIT;
	json_t *f = json_array();
	(void)state;

	assert_int_equal(dockerfile_scan("RUN x\n", 6, "Dockerfile", f, &e), -1);
	assert_non_null(strstr(e.msg, "no FROM"));
	json_decref(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clean_file),
		cmocka_unit_test(no_user),
		cmocka_unit_test(remote_add),
		cmocka_unit_test(secret_env),
		cmocka_unit_test(unpinned_base),
		cmocka_unit_test(sudo_run),
		cmocka_unit_test(errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
