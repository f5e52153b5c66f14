#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_detach),
		cmocka_unit_test(test_grows_past_format_guess),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
