#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/spawn.h"

static void test_capture_output_and_status(void **state)
{
	const char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	struct strbuf out = STRBUF_INIT;
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(spawn_capture(argv, NULL, NULL, &out, 1024, 5000, &e), 3);
	assert_string_equal(out.buf, "out\nerr\n");
	strbuf_release(&out);
}

static void test_env_override_and_dir(void **state)
{
	const char *argv[] = { "sh", "-c", "echo $FERRY_T; pwd", NULL };
	const char *env[] = { "FERRY_T=v1", NULL };
	struct strbuf out = STRBUF_INIT;
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(spawn_capture(argv, env, "/tmp", &out, 1024, 5000, &e), 0);
	assert_string_equal(out.buf, "v1\n/tmp\n");
	strbuf_release(&out);
}

static void test_missing_program_is_an_error(void **state)
{
	const char *argv[] = { "ferry-no-such-program", NULL };
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(spawn_capture(argv, NULL, NULL, NULL, 0, 0, &e), -1);
	assert_non_null(strstr(e.msg, "not found"));
}

static void test_timeout_kills_the_group(void **state)
{
	const char *argv[] = { "sh", "-c", "sleep 30 & sleep 30", NULL };
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(spawn_capture(argv, NULL, NULL, NULL, 0, 200, &e), -1);
	assert_string_equal(e.code, "timeout");
}

static void test_capture_is_capped(void **state)
{
	const char *argv[] = { "sh", "-c", "yes | head -c 100000", NULL };
	struct strbuf out = STRBUF_INIT;
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(spawn_capture(argv, NULL, NULL, &out, 1000, 5000, &e), 0);
	assert_int_equal(out.len, 1000);
	strbuf_release(&out);
}

static void test_pipe_stdin_and_separate_streams(void **state)
{
	/* more than a pipe buffer each way: neither side may block the other */
	size_t n = 300000;
	char *in = malloc(n);
	const char *argv[] = { "sh", "-c", "cat; echo oops >&2; exit 3", NULL };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct spawn_io io = { .argv = argv, .out = &out, .out_cap = 1 << 20, .err = &err,
			       .err_cap = 4096, .timeout_ms = 20000 };
	struct ferr e = FERR_INIT;

	(void)state;
	for (size_t i = 0; i < n; i++)
		in[i] = (char)('a' + i % 26);
	io.in = in;
	io.in_len = n;
	assert_int_equal(spawn_pipe(&io, &e), 3);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.buf, in, n);
	assert_string_equal(err.buf, "oops\n");
	strbuf_release(&out);
	strbuf_release(&err);
	free(in);
}

struct lines {
	char got[256];
	int n, ticks, stop_after;
};

static int collect_line(const char *line, size_t len, void *arg)
{
	struct lines *l = arg;
	size_t at = strlen(l->got);

	if (!line) {
		l->ticks++;
		return 0;
	}
	snprintf(l->got + at, sizeof(l->got) - at, "[%.*s]", (int)len, line);
	l->n++;
	return l->stop_after && l->n >= l->stop_after;
}

static void test_pipe_lines_ticks_and_stop(void **state)
{
	const char *lines_argv[] = { "sh", "-c", "printf 'a\\nbb\\n'; sleep 1.5; printf 'ccc'", NULL };
	const char *yes_argv[] = { "yes", NULL };
	struct lines l = { 0 };
	struct spawn_io io = { .argv = lines_argv, .timeout_ms = 20000, .on_line = collect_line,
			       .arg = &l };
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(spawn_pipe(&io, &e), 0);
	assert_string_equal(l.got, "[a][bb][ccc]");
	assert_true(l.ticks >= 1);
	/* an endless stream ends when the callback says so */
	memset(&l, 0, sizeof(l));
	l.stop_after = 3;
	io.argv = yes_argv;
	assert_int_equal(spawn_pipe(&io, &e), 137);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.got, "[y][y][y]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_output_and_status),
		cmocka_unit_test(test_env_override_and_dir),
		cmocka_unit_test(test_missing_program_is_an_error),
		cmocka_unit_test(test_timeout_kills_the_group),
		cmocka_unit_test(test_capture_is_capped),
		cmocka_unit_test(test_pipe_stdin_and_separate_streams),
		cmocka_unit_test(test_pipe_lines_ticks_and_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
