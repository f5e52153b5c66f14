#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/jsontext.h"

static void expect(const char *in, size_t len, const char *want)
{
	json_t *j = json_text(in, len);

	assert_non_null(j);
	assert_string_equal(json_string_value(j), want);
	json_decref(j);
}

static void test_valid_text_is_unchanged(void **state)
{
	(void)state;
	expect("hello", 5, "hello");
	expect("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\xa2", 14, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\xa2");
	expect("", 0, "");
}

static void test_invalid_bytes_become_replacement_characters(void **state)
{
	(void)state;
	expect("a\xff" "b", 3, "a\xef\xbf\xbd" "b");
	expect("\xc3", 1, "\xef\xbf\xbd");                      /* truncated */
	expect("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd");      /* overlong */
	expect("\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
	expect("x\0y", 3, "x\xef\xbf\xbdy");                     /* NUL */
}

static void test_null_is_json_null(void **state)
{
	json_t *j = json_text0(NULL);

	(void)state;
	assert_true(json_is_null(j));
	j = json_text0("ok");
	assert_string_equal(json_string_value(j), "ok");
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_text_is_unchanged),
		cmocka_unit_test(test_invalid_bytes_become_replacement_characters),
		cmocka_unit_test(test_null_is_json_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
