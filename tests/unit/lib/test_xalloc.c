/* Unit tests of lib/xalloc and lib/clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/xalloc.h"

static void test_xstrdup(void **state)
{
	char *s;

	(void)state;
	assert_null(xstrdup(NULL));
	s = xstrdup("ferry");
	assert_string_equal(s, "ferry");
	free(s);
	s = xstrdup("");
	assert_string_equal(s, "");
	free(s);
}

static void test_alloc(void **state)
{
	unsigned char *p;

	(void)state;
	p = xcalloc(16, 1);
	for (int i = 0; i < 16; i++)
		assert_int_equal(p[i], 0);
	memset(p, 7, 16);
	p = xrealloc(p, 4096);
	assert_int_equal(p[15], 7);
	free(p);
	/* zero sizes still give a pointer to free */
	p = xmalloc(0);
	assert_non_null(p);
	free(p);
	p = xrealloc(NULL, 0);
	assert_non_null(p);
	free(p);
}

static void test_mono_ms(void **state)
{
	struct timespec nap = { 0, 20 * 1000000L };
	long long a, b;

	(void)state;
	a = mono_ms();
	nanosleep(&nap, NULL);
	b = mono_ms();
	assert_true(b - a >= 20);
	assert_true(b - a < 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xstrdup),
		cmocka_unit_test(test_alloc),
		cmocka_unit_test(test_mono_ms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
