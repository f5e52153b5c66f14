/* Unit tests of runtime/kube_status: rollout, pod and Job facts from
 * objects shaped as the API server returns them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "runtime/kube_status.h"

static json_t *parse(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	if (!j)
		fail_msg("bad test JSON: %s", je.text);
	return j;
}

static enum kube_rollout state_of(const char *text, char *why, size_t size)
{
	json_t *d = parse(text);
	enum kube_rollout s = kube_rollout_state(d, why, size);

	json_decref(d);
	return s;
}

static void test_rollout_states(void **state)
{
	char why[256];

	(void)state;
	/* the controller has not seen the new spec yet */
	assert_int_equal(state_of("{\"metadata\":{\"generation\":3},\"spec\":{\"replicas\":2},"
				  "\"status\":{\"observedGeneration\":2,\"updatedReplicas\":2,"
				  "\"replicas\":2,\"availableReplicas\":2}}", why, sizeof(why)),
			 KUBE_ROLLOUT_PROGRESSING);
	assert_non_null(strstr(why, "generation 3"));
	/* surge: one new, one old still there */
	assert_int_equal(state_of("{\"metadata\":{\"generation\":3},\"spec\":{\"replicas\":1},"
				  "\"status\":{\"observedGeneration\":3,\"updatedReplicas\":1,"
				  "\"replicas\":2,\"availableReplicas\":1}}", why, sizeof(why)),
			 KUBE_ROLLOUT_PROGRESSING);
	assert_string_equal(why, "1 old replica pending termination");
	assert_int_equal(state_of("{\"metadata\":{\"generation\":3},\"spec\":{\"replicas\":2},"
				  "\"status\":{\"observedGeneration\":3,\"updatedReplicas\":1,"
				  "\"replicas\":3,\"availableReplicas\":2}}", why, sizeof(why)),
			 KUBE_ROLLOUT_PROGRESSING);
	assert_string_equal(why, "1 of 2 new replicas updated, 2 available");
	assert_int_equal(state_of("{\"metadata\":{\"generation\":3},\"spec\":{\"replicas\":2},"
				  "\"status\":{\"observedGeneration\":3,\"updatedReplicas\":2,"
				  "\"replicas\":2,\"availableReplicas\":1}}", why, sizeof(why)),
			 KUBE_ROLLOUT_PROGRESSING);
	assert_string_equal(why, "1 of 2 updated replicas available");
	assert_int_equal(state_of("{\"metadata\":{\"generation\":3},\"spec\":{\"replicas\":2},"
				  "\"status\":{\"observedGeneration\":3,\"updatedReplicas\":2,"
				  "\"replicas\":2,\"availableReplicas\":2}}", why, sizeof(why)),
			 KUBE_ROLLOUT_DONE);
	/* the Deployment gave up: its Progressing condition says so */
	assert_int_equal(state_of("{\"metadata\":{\"generation\":4},\"spec\":{\"replicas\":1},"
				  "\"status\":{\"observedGeneration\":4,\"updatedReplicas\":1,\"replicas\":2,"
				  "\"availableReplicas\":1,\"conditions\":[{\"type\":\"Available\","
				  "\"status\":\"True\"},{\"type\":\"Progressing\",\"status\":\"False\","
				  "\"reason\":\"ProgressDeadlineExceeded\",\"message\":\"ReplicaSet \\\"web-7\\\" "
				  "has timed out progressing.\"}]}}", why, sizeof(why)),
			 KUBE_ROLLOUT_FAILED);
	assert_string_equal(why, "ReplicaSet \"web-7\" has timed out progressing.");
	/* no replicas given: Kubernetes' default of 1 */
	assert_int_equal(state_of("{\"metadata\":{\"generation\":1},\"spec\":{},\"status\":{}}", why,
				  sizeof(why)), KUBE_ROLLOUT_PROGRESSING);
}

static void test_pod_reasons(void **state)
{
	char out[512];
	json_t *pods = parse(
		"{\"items\":["
		"{\"metadata\":{\"name\":\"web-1\"},\"status\":{\"phase\":\"Running\",\"conditions\":"
		"[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
		"{\"metadata\":{\"name\":\"web-2\"},\"status\":{\"phase\":\"Running\",\"conditions\":"
		"[{\"type\":\"Ready\",\"status\":\"False\",\"message\":\"readiness probe failed\"}],"
		"\"containerStatuses\":[{\"restartCount\":2,\"state\":{\"waiting\":{\"reason\":"
		"\"CrashLoopBackOff\",\"message\":\"back-off 10s\"}}}]}},"
		"{\"metadata\":{\"name\":\"web-3\",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\"},"
		"\"status\":{\"phase\":\"Running\"}},"
		"{\"metadata\":{\"name\":\"web-4\"},\"status\":{\"phase\":\"Failed\",\"containerStatuses\":"
		"[{\"state\":{\"terminated\":{\"exitCode\":137,\"reason\":\"OOMKilled\"}}}]}}]}");

	(void)state;
	kube_pod_reasons(pods, out, sizeof(out));
	assert_string_equal(out, "pod web-2: readiness probe failed (waiting: CrashLoopBackOff: back-off 10s)"
			    " (2 restarts); pod web-4: Failed (exited with 137: OOMKilled)");
	/* capped, still a string */
	kube_pod_reasons(pods, out, 20);
	assert_int_equal(strlen(out), 19);
	json_decref(pods);
}

static void test_jobs_and_exit_codes(void **state)
{
	json_t *j;

	(void)state;
	j = parse("{\"status\":{}}");
	assert_int_equal(kube_job_state(j), KUBE_JOB_PENDING);
	json_decref(j);
	j = parse("{\"status\":{\"active\":1,\"startTime\":\"2026-01-01T00:00:00Z\"}}");
	assert_int_equal(kube_job_state(j), KUBE_JOB_RUNNING);
	json_decref(j);
	j = parse("{\"status\":{\"conditions\":[{\"type\":\"SuccessCriteriaMet\",\"status\":\"True\"},"
		  "{\"type\":\"Complete\",\"status\":\"True\"}]}}");
	assert_int_equal(kube_job_state(j), KUBE_JOB_SUCCEEDED);
	json_decref(j);
	j = parse("{\"status\":{\"conditions\":[{\"type\":\"Failed\",\"status\":\"True\","
		  "\"reason\":\"BackoffLimitExceeded\"}]}}");
	assert_int_equal(kube_job_state(j), KUBE_JOB_FAILED);
	json_decref(j);
	/* the newest terminated pod's first container */
	j = parse("{\"items\":[{\"status\":{\"containerStatuses\":[{\"state\":{\"terminated\":"
		  "{\"exitCode\":1,\"finishedAt\":\"2026-01-01T00:00:01Z\"}}}]}},"
		  "{\"status\":{\"containerStatuses\":[{\"state\":{\"terminated\":"
		  "{\"exitCode\":3,\"finishedAt\":\"2026-01-01T00:00:09Z\"}}}]}},"
		  "{\"status\":{\"containerStatuses\":[{\"state\":{\"running\":{}}}]}}]}");
	assert_int_equal(kube_pods_exit_code(j), 3);
	json_decref(j);
	j = parse("{\"items\":[]}");
	assert_int_equal(kube_pods_exit_code(j), -1);
	json_decref(j);
	j = parse("{\"metadata\":{\"labels\":{\"ferry.dev/deployment-id\":\"12\"}}}");
	assert_string_equal(kube_label(j, "ferry.dev/deployment-id"), "12");
	assert_null(kube_label(j, "ferry.dev/nope"));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rollout_states),
		cmocka_unit_test(test_pod_reasons),
		cmocka_unit_test(test_jobs_and_exit_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
