/* Unit tests of core/infra: what builds and the rollout engine see of the
 * build infrastructure while ferryd's supervisor brings it up: "still
 * starting" (503), then the supervisor's last failure, then ready; a waiter
 * woken by readiness and by ferryd stopping; the caches as set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "core/infra.h"


static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct waiter {
	int timeout_ms;
	int rc;
	int status;
	int64_t took_ms;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	struct ferr e = FERR_INIT;
	int64_t t0 = now_ms();

	w->rc = infra_wait(w->timeout_ms, &e);
	w->status = e.status;
	w->took_ms = now_ms() - t0;
	return NULL;
}

static void test_starting_failed_ready(void **state)
{
	struct ferr e = FERR_INIT, bad = FERR_INIT;

	(void)state;
	infra_reset();
	assert_int_equal(infra_wait(0, &e), -1);
	assert_int_equal(e.status, 503);
	assert_string_equal(e.code, "starting");

	ferr_set(&bad, 502, "registry", "docker-registry exited at once: port taken");
	infra_failed(&bad);
	e = (struct ferr)FERR_INIT;
	assert_int_equal(infra_wait(50, &e), -1);
	assert_int_equal(e.status, 502);
	assert_string_equal(e.msg, "docker-registry exited at once: port taken");

	infra_ready();
	e = (struct ferr)FERR_INIT;
	assert_int_equal(infra_wait(0, &e), 0);
	assert_int_equal(e.status, 0);
}

static void test_waiter_woken(void **state)
{
	struct waiter w = { .timeout_ms = 20000 };
	pthread_t t;

	(void)state;
	infra_reset();
	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	usleep(100 * 1000);
	infra_ready();
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.rc, 0);
	assert_true(w.took_ms < 10000);

	/* stopping: a waiter gives up at once, sleep returns 1 */
	infra_reset();
	w = (struct waiter){ .timeout_ms = 20000 };
	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	usleep(100 * 1000);
	infra_stopping();
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.rc, -1);
	assert_int_equal(w.status, 503);
	assert_true(w.took_ms < 10000);
	assert_int_equal(infra_sleep(20000), 1);
	infra_reset();
	assert_int_equal(infra_sleep(10), 0);
}

static void test_registry_and_caches(void **state)
{
	struct registry *const fake[2] = { (struct registry *)0x10, (struct registry *)0x20 };
	const char *const up[2] = { "https://a.example", "https://b.example" };
	struct registry *const *caches;
	const char *const *upstreams;

	(void)state;
	assert_int_equal(infra_caches(NULL, NULL), 0);
	infra_set_caches(fake, up, 2);
	assert_int_equal(infra_caches(&caches, &upstreams), 2);
	assert_ptr_equal(caches[1], fake[1]);
	assert_string_equal(upstreams[0], "https://a.example");
	infra_set_caches(NULL, NULL, 0);
	assert_int_equal(infra_caches(&caches, NULL), 0);

	infra_set_registry(fake[0]);
	assert_ptr_equal(core.registry, fake[0]);
	infra_set_registry(NULL);
	assert_null(core.registry);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_starting_failed_ready),
		cmocka_unit_test(test_waiter_woken),
		cmocka_unit_test(test_registry_and_caches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
