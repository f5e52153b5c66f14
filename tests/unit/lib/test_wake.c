/* lib/wake: a waiter returns at the wake, not at its timeout; a wake
 * before the wait (the sequence already moved) is not missed; with no
 * wake the wait ends at its timeout. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "lib/clock.h"
#include "lib/wake.h"

static void *waker(void *arg)
{
	struct timespec ts = { 0, 50 * 1000000L };

	(void)arg;
	nanosleep(&ts, NULL);
	wake_all();
	return NULL;
}

static void test_wake_ends_the_wait(void **state)
{
	uint64_t seen = wake_seq();
	long long t0 = mono_ms(), took;
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, waker, NULL), 0);
	wake_wait(seen, 10000);
	took = mono_ms() - t0;
	pthread_join(t, NULL);
	assert_true(wake_seq() != seen);
	/* woken after the waker's 50 ms sleep, long before the 10 s timeout */
	assert_true(took >= 40);
	assert_true(took < 5000);
}

static void test_wake_before_the_wait_is_not_missed(void **state)
{
	uint64_t seen = wake_seq();
	long long t0 = mono_ms();

	(void)state;
	wake_all();
	wake_wait(seen, 10000);
	assert_true(mono_ms() - t0 < 1000);
}

static void test_no_wake_times_out(void **state)
{
	long long t0 = mono_ms(), took;

	(void)state;
	wake_wait(wake_seq(), 120);
	took = mono_ms() - t0;
	assert_true(took >= 110);
	assert_true(took < 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wake_ends_the_wait),
		cmocka_unit_test(test_wake_before_the_wait_is_not_missed),
		cmocka_unit_test(test_no_wake_times_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
