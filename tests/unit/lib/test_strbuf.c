#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "lib/strbuf.h"

static void test_add_and_detach(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *s;
	size_t len;

	(void)state;
	assert_string_equal(sb.buf, "");
	strbuf_addstr(&sb, "hello");
	strbuf_addch(&sb, ' ');
	strbuf_addf(&sb, "%s %d", "world", 42);
	assert_string_equal(sb.buf, "hello world 42");
	assert_int_equal(sb.len, 14);
	s = strbuf_detach(&sb, &len);
	assert_int_equal(len, 14);
	assert_string_equal(s, "hello world 42");
	assert_string_equal(sb.buf, "");
	free(s);
}

static void test_grows_past_format_guess(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char big[5000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	strbuf_addf(&sb, "<%s>", big);
	assert_int_equal(sb.len, sizeof(big) + 1);
	assert_int_equal(sb.buf[0], '<');
	assert_int_equal(sb.buf[sb.len - 1], '>');
	strbuf_setlen(&sb, 1);
	assert_string_equal(sb.buf, "<");
	strbuf_release(&sb);
}

/* A pipe holding text, its write end closed; returns the read end. */
static int pipe_with(const char *text)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
	close(p[1]);
	return p[0];
}

static void test_read_fd_capped(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	int fd;

	(void)state;
	/* the whole input, appended to what sb held */
	strbuf_addstr(&sb, ">");
	fd = pipe_with("0123456789");
	assert_int_equal(strbuf_read_fd(&sb, fd, 100), 0);
	close(fd);
	assert_string_equal(sb.buf, ">0123456789");
	/* exactly cap bytes in all: still the end of the file */
	strbuf_reset(&sb);
	fd = pipe_with("0123456789");
	assert_int_equal(strbuf_read_fd(&sb, fd, 10), 0);
	close(fd);
	assert_int_equal(sb.len, 10);
	/* more than cap: the first cap bytes, and 1 */
	strbuf_reset(&sb);
	fd = pipe_with("0123456789");
	assert_int_equal(strbuf_read_fd(&sb, fd, 4), 1);
	close(fd);
	assert_string_equal(sb.buf, "0123");
	/* a read error */
	assert_int_equal(strbuf_read_fd(&sb, -1, 100), -1);
	assert_int_equal(errno, EBADF);
	assert_string_equal(sb.buf, "0123");
	strbuf_release(&sb);
}

static void test_read_fd_large_file(void **state)
{
	char path[] = "/tmp/ferry-strbuf-XXXXXX";
	struct strbuf sb = STRBUF_INIT;
	static char big[200000];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	assert_int_equal(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(strbuf_read_fd(&sb, fd, 1u << 20), 0);
	close(fd);
	assert_int_equal(sb.len, sizeof(big));
	assert_memory_equal(sb.buf, big, sizeof(big));
	assert_int_equal(sb.buf[sb.len], '\0');
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_detach),
		cmocka_unit_test(test_grows_past_format_guess),
		cmocka_unit_test(test_read_fd_capped),
		cmocka_unit_test(test_read_fd_large_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
