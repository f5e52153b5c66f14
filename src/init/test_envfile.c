/* Unit tests for the env file parser and loader of ferry-init. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "init/envfile.h"
#include "lib/error.h"

#include "lib/banned.h"

#define CANARY "s3cr3t-CANARY-9f2e"

static char *dup_bytes(const char *data, size_t len)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, data, len);
	return p;
}

/* Parses a literal (sizeof - 1 keeps the embedded and final NULs). */
static int parse(struct init_env *env, const char *data, size_t len, struct ferr *e)
{
	return init_env_parse(env, dup_bytes(data, len), len, len ? len : 1, e);
}
#define PARSE(env, lit, e) parse((env), (lit), sizeof(lit) - 1, (e))

static void test_key_valid(void **state)
{
	(void)state;
	assert_true(init_env_key_valid("A", 1));
	assert_true(init_env_key_valid("_", 1));
	assert_true(init_env_key_valid("db_URL_2", 8));
	assert_true(init_env_key_valid("_9", 2));
	assert_false(init_env_key_valid("", 0));
	assert_false(init_env_key_valid("9A", 2));
	assert_false(init_env_key_valid("A-B", 3));
	assert_false(init_env_key_valid("A B", 3));
	assert_false(init_env_key_valid("A.B", 3));
	assert_false(init_env_key_valid("\xc3\xa9", 2));
	assert_false(init_env_key_valid("A\nB", 3));
	/* Only len bytes count. */
	assert_true(init_env_key_valid("AB-", 2));
}

static void test_parse_ok(void **state)
{
	struct init_env env = INIT_ENV_INIT;
	struct ferr e = FERR_INIT;
	(void)state;

	assert_int_equal(PARSE(&env, "A=1\0MULTI=line1\nline2\0EQ=a=b==c\0EMPTY=\0", &e), 0);
	assert_int_equal(env.nvars, 4);
	assert_string_equal(env.vars[0], "A=1");
	assert_string_equal(env.vars[1], "MULTI=line1\nline2");
	assert_string_equal(env.vars[2], "EQ=a=b==c");
	assert_string_equal(env.vars[3], "EMPTY=");
	assert_null(env.vars[4]);
	init_env_release(&env);
	assert_null(env.buf);
	assert_null(env.vars);
	assert_int_equal(env.nvars, 0);
	init_env_release(&env); /* twice is fine */
}

static void test_parse_empty(void **state)
{
	struct init_env env = INIT_ENV_INIT;
	struct ferr e = FERR_INIT;
	(void)state;

	assert_int_equal(parse(&env, "", 0, &e), 0);
	assert_int_equal(env.nvars, 0);
	assert_null(env.vars[0]);
	init_env_release(&env);
}

struct bad_case {
	const char *data;
	size_t len;
	const char *expect; /* substring of the message */
};

static void test_parse_malformed(void **state)
{
	static const struct bad_case cases[] = {
		{ "A=1\0B=" CANARY, sizeof("A=1\0B=" CANARY) - 1, "no terminating NUL" },
		{ "A=1\0\0B=2\0", sizeof("A=1\0\0B=2\0") - 1, "record 2 (at byte 4) is empty" },
		{ "A=1\0" CANARY "\0", sizeof("A=1\0" CANARY "\0") - 1, "record 2 (at byte 4) has no '='" },
		{ "9A=" CANARY "\0", sizeof("9A=" CANARY "\0") - 1, "record 1 (at byte 0) has an invalid key" },
		{ "=" CANARY "\0", sizeof("=" CANARY "\0") - 1, "invalid key of 0 bytes" },
		{ CANARY "=x\0", sizeof(CANARY "=x\0") - 1, "invalid key" },
		/* Newline-separated lines are one record; the key is "X\nA". */
		{ "X\nA=1\0", sizeof("X\nA=1\0") - 1, "invalid key of 3 bytes" },
		{ "K=1\0L=2\0K=" CANARY "\0", sizeof("K=1\0L=2\0K=" CANARY "\0") - 1,
		  "key K is defined more than once" },
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct init_env env = INIT_ENV_INIT;
		struct ferr e = FERR_INIT;

		if (parse(&env, cases[i].data, cases[i].len, &e) != -1)
			fail_msg("case %zu: accepted", i);
		assert_int_equal(e.status, 400);
		if (!strstr(e.msg, cases[i].expect))
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, e.msg, cases[i].expect);
		/* A value (possibly a secret) never reaches the message. */
		assert_null(strstr(e.msg, "s3cr3t"));
		/* Released on failure. */
		assert_null(env.buf);
		assert_null(env.vars);
	}
}

static void test_parse_record_too_long(void **state)
{
	size_t max = INIT_ENV_MAX_RECORD_BYTES, len = max + 1;
	struct init_env env = INIT_ENV_INIT;
	struct ferr e = FERR_INIT;
	char *buf = malloc(len);
	(void)state;

	/* The longest record passes... */
	assert_non_null(buf);
	memset(buf, 'v', len);
	memcpy(buf, "LONG=", 5);
	buf[max - 1] = '\0';
	assert_int_equal(init_env_parse(&env, buf, max, len, &e), 0);
	init_env_release(&env);

	/* ...one byte more does not, and the message names the key only. */
	buf = malloc(len);
	assert_non_null(buf);
	memset(buf, 'v', len);
	memcpy(buf, "LONG=", 5);
	buf[len - 1] = '\0';
	assert_int_equal(init_env_parse(&env, buf, len, len, &e), -1);
	assert_int_equal(e.status, 413);
	assert_non_null(strstr(e.msg, "record 1 (at byte 0), LONG, is 131073 bytes"));
	assert_non_null(strstr(e.msg, "file mount"));
	assert_null(strstr(e.msg, "vvv"));
}

static void test_parse_many_records(void **state)
{
	/* Enough records that a quadratic duplicate check would show. */
	enum { N = 200000 };
	struct init_env env = INIT_ENV_INIT;
	struct ferr e = FERR_INIT;
	size_t cap = (size_t)N * 16, len = 0;
	char *buf = malloc(cap);
	int i;
	(void)state;

	assert_non_null(buf);
	for (i = 0; i < N; i++)
		len += (size_t)snprintf(buf + len, cap - len, "K%d=%d", i, i) + 1;
	assert_int_equal(init_env_parse(&env, buf, len, cap, &e), 0);
	assert_int_equal(env.nvars, N);
	assert_string_equal(env.vars[N - 1], "K199999=199999");
	init_env_release(&env);
}

static void test_merge(void **state)
{
	struct init_env env = INIT_ENV_INIT;
	struct ferr e = FERR_INIT;
	char *inherited[] = { "PATH=/bin", "HOME=/root", "NOEQUALS", "A=old",
			      "AB=keep", "Z=last", NULL };
	char **out;
	(void)state;

	assert_int_equal(PARSE(&env, "A=new\0PATH=/opt/bin:/bin\0NEW=x\0", &e), 0);
	out = init_env_merge(&env, inherited);
	assert_non_null(out);
	assert_string_equal(out[0], "HOME=/root");
	assert_string_equal(out[1], "AB=keep");
	assert_string_equal(out[2], "Z=last");
	assert_string_equal(out[3], "A=new");
	assert_string_equal(out[4], "PATH=/opt/bin:/bin");
	assert_string_equal(out[5], "NEW=x");
	assert_null(out[6]);
	/* No copies: the strings are the records themselves. */
	assert_ptr_equal(out[3], env.vars[0]);
	free(out);

	out = init_env_merge(&env, NULL);
	assert_non_null(out);
	assert_string_equal(out[0], "A=new");
	assert_null(out[3]);
	free(out);
	init_env_release(&env);

	out = init_env_merge(&env, inherited); /* empty env: inherited kept */
	assert_non_null(out);
	assert_string_equal(out[0], "PATH=/bin");
	assert_string_equal(out[4], "Z=last");
	assert_null(out[5]);
	free(out);
}

/* A fresh directory under /tmp; removed by the test. */
static char *make_dir(void)
{
	char tmpl[] = "/tmp/ferry-init-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void write_file(const char *dir, const char *name, const char *data, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0400);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void remove_in(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (unlink(path) < 0)
		rmdir(path);
}

static void test_load(void **state)
{
	static const char data[] = "A=1\0B=two\nlines\0";
	struct init_env env = INIT_ENV_INIT;
	struct ferr e = FERR_INIT;
	char *dir = make_dir();
	(void)state;

	write_file(dir, "env", data, sizeof(data) - 1);
	assert_int_equal(init_env_load(&env, dir, &e), 0);
	assert_int_equal(env.nvars, 2);
	assert_string_equal(env.vars[1], "B=two\nlines");
	init_env_release(&env);

	remove_in(dir, "env");
	rmdir(dir);
	free(dir);
}

static void test_load_errors(void **state)
{
	struct init_env env = INIT_ENV_INIT;
	struct ferr e = FERR_INIT;
	char *dir = make_dir();
	char path[512], target[512];
	int fd;
	(void)state;

	/* Missing directory. */
	assert_int_equal(init_env_load(&env, "/nonexistent/ferry/config", &e), -1);
	assert_int_equal(e.status, 404);
	assert_non_null(strstr(e.msg, "/nonexistent/ferry/config"));

	/* Missing file. */
	ferr_clear(&e);
	assert_int_equal(init_env_load(&env, dir, &e), -1);
	assert_int_equal(e.status, 404);
	assert_non_null(strstr(e.msg, "/env"));

	/* A symbolic link is refused, even to a good file. */
	write_file(dir, "real", "A=1\0", 4);
	snprintf(path, sizeof(path), "%s/env", dir);
	snprintf(target, sizeof(target), "%s/real", dir);
	assert_int_equal(symlink(target, path), 0);
	ferr_clear(&e);
	assert_int_equal(init_env_load(&env, dir, &e), -1);
	assert_int_equal(e.status, 400);
	assert_non_null(strstr(e.msg, "symbolic link"));
	unlink(path);
	remove_in(dir, "real");

	/* Not a regular file. */
	assert_int_equal(mkdir(path, 0700), 0);
	ferr_clear(&e);
	assert_int_equal(init_env_load(&env, dir, &e), -1);
	assert_int_equal(e.status, 400);
	assert_non_null(strstr(e.msg, "not a regular file"));
	rmdir(path);

	/* Over the cap (a sparse file: no need to write 4 MiB). */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)INIT_ENV_MAX_BYTES + 1), 0);
	close(fd);
	ferr_clear(&e);
	assert_int_equal(init_env_load(&env, dir, &e), -1);
	assert_int_equal(e.status, 413);
	assert_non_null(strstr(e.msg, "at most"));

	/* Exactly at the cap is accepted (records of the largest size). */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(fd >= 0);
	{
		size_t len = INIT_ENV_MAX_BYTES, rec = INIT_ENV_MAX_RECORD_BYTES, off;
		char *big = malloc(len);

		assert_non_null(big);
		assert_int_equal(len % rec, 0);
		for (off = 0; off < len; off += rec) {
			snprintf(big + off, rec, "K%06zu=", off / rec);
			memset(big + off + 8, 'v', rec - 9);
			big[off + rec - 1] = '\0';
		}
		assert_int_equal(write(fd, big, len), (ssize_t)len);
		free(big);
	}
	close(fd);
	ferr_clear(&e);
	assert_int_equal(init_env_load(&env, dir, &e), 0);
	assert_int_equal(env.nvars, INIT_ENV_MAX_BYTES / INIT_ENV_MAX_RECORD_BYTES);
	assert_int_equal(strlen(env.vars[0]), INIT_ENV_MAX_RECORD_BYTES - 1);
	init_env_release(&env);

	/* Malformed content: the message names the file. */
	write_file(dir, "env", "A=1", 3);
	ferr_clear(&e);
	assert_int_equal(init_env_load(&env, dir, &e), -1);
	assert_int_equal(e.status, 400);
	assert_non_null(strstr(e.msg, "/env: the last record"));
	assert_null(env.buf);

	remove_in(dir, "env");
	rmdir(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_valid),
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_empty),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_record_too_long),
		cmocka_unit_test(test_parse_many_records),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
