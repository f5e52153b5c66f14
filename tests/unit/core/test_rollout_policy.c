/* Rollout policies as read from JSON, and the percentiles traffic reads
 * from its latency histogram. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/rollout_policy.h"
#include "core/traffic.h"

static int parse(const char *text, struct rollout_policy *p, struct ferr *e)
{
	json_t *j = json_loads(text, 0, NULL);
	int rc;

	assert_non_null(j);
	ferr_clear(e);
	rc = rollout_policy_parse(j, p, e);
	json_decref(j);
	return rc;
}

static void test_policy_defaults_and_steps(void **state)
{
	struct rollout_policy p;
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(parse("{\"steps\": [10, 50], \"max_error_ratio\": 0.05}", &p, &e), 0);
	assert_int_equal(p.nsteps, 3);
	assert_int_equal(p.steps[0], 10);
	assert_int_equal(p.steps[2], 100);
	assert_int_equal(p.pause_s, 30);
	assert_int_equal(p.watch_s, 60);
	assert_int_equal(p.min_requests, 10);
	assert_true(p.max_p95_ms < 0 && p.max_readiness_failures < 0);
	/* no steps: a watch after a plain rolling update */
	assert_int_equal(parse("{\"watch_s\": 20, \"max_p95_ms\": 300}", &p, &e), 0);
	assert_int_equal(p.nsteps, 1);
	assert_int_equal(p.pause_s, 0);
	{
		json_t *j = rollout_policy_json(&p);
		assert_int_equal(json_integer_value(json_object_get(j, "max_p95_ms")), 300);
		assert_true(json_is_null(json_object_get(j, "max_error_ratio")));
		json_decref(j);
	}
}

static void test_policy_refusals(void **state)
{
	struct rollout_policy p;
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(parse("{\"steps\": [50, 10], \"max_error_ratio\": 0.1}", &p, &e), -1);
	assert_non_null(strstr(e.msg, "steps must go up"));
	assert_int_equal(parse("{\"steps\": [10]}", &p, &e), -1);
	assert_non_null(strstr(e.msg, "needs a threshold"));
	assert_int_equal(parse("{\"max_error_ratio\": 1.5}", &p, &e), -1);
	assert_non_null(strstr(e.msg, "max_error_ratio"));
	assert_int_equal(parse("{\"steps\": [0], \"max_p95_ms\": 5}", &p, &e), -1);
	assert_non_null(strstr(e.msg, "steps[0]"));
	assert_int_equal(parse("{\"watch_s\": 0, \"max_p95_ms\": 5}", &p, &e), -1);
	assert_non_null(strstr(e.msg, "time to watch"));
	assert_int_equal(parse("{\"max_p95_ms\": 5, \"typo\": 1}", &p, &e), -1);
	assert_non_null(strstr(e.msg, "typo"));
}

static void test_percentiles(void **state)
{
	struct traffic_stats s = { 0 };

	(void)state;
	assert_int_equal(traffic_percentile(&s, 95), 0);
	/* 90 requests at <= 1 ms, 10 at 100 ms (bucket 50..100) */
	s.requests = 100;
	s.bins[0] = 90;
	s.bins[6] = 10;
	s.max_ms = 97;
	assert_int_equal(traffic_percentile(&s, 50), 1);
	assert_int_equal(traffic_percentile(&s, 90), 1);
	assert_int_equal(traffic_percentile(&s, 95), 97); /* the bucket's bound, capped by the largest seen */
	s.max_ms = 100;
	assert_int_equal(traffic_percentile(&s, 99), 100);
	/* above 10 s: the largest time seen */
	s.bins[6] = 0;
	s.bins[TRAFFIC_BINS - 1] = 10;
	s.max_ms = 12345;
	assert_int_equal(traffic_percentile(&s, 99), 12345);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_defaults_and_steps),
		cmocka_unit_test(test_policy_refusals),
		cmocka_unit_test(test_percentiles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
