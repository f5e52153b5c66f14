/* kube_status: rollout, pod and Job facts from API objects (see
 * kube_status.h). */
#include "kube_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

static json_int_t num(const json_t *o, const char *a, const char *b)
{
	const json_t *v = json_object_get(o, a);

	if (b)
		v = json_object_get(v, b);
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

const char *kube_label(const json_t *obj, const char *key)
{
	return str(json_object_get(json_object_get(obj, "metadata"), "labels"), key);
}

static const json_t *condition(const json_t *status, const char *type)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(status, "conditions"), i, c) {
		const char *t = str(c, "type");
		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

enum kube_rollout kube_rollout_state(const json_t *d, char *why, size_t size)
{
	const json_t *st = json_object_get(d, "status"), *progressing;
	json_int_t gen = num(d, "metadata", "generation"), observed = num(st, "observedGeneration", NULL);
	json_int_t want = json_is_integer(json_object_get(json_object_get(d, "spec"), "replicas")) ?
			  num(d, "spec", "replicas") : 1;
	json_int_t updated = num(st, "updatedReplicas", NULL), total = num(st, "replicas", NULL);
	json_int_t available = num(st, "availableReplicas", NULL);

	if (observed < gen) {
		snprintf(why, size, "waiting for the Deployment controller to see generation %lld",
			 (long long)gen);
		return KUBE_ROLLOUT_PROGRESSING;
	}
	progressing = condition(st, "Progressing");
	if (progressing && str(progressing, "reason") &&
	    !strcmp(str(progressing, "reason"), "ProgressDeadlineExceeded")) {
		snprintf(why, size, "%s", str(progressing, "message") ? str(progressing, "message") :
			 "the Deployment exceeded its progress deadline");
		return KUBE_ROLLOUT_FAILED;
	}
	if (updated < want) {
		snprintf(why, size, "%lld of %lld new replicas updated, %lld available", (long long)updated,
			 (long long)want, (long long)available);
		return KUBE_ROLLOUT_PROGRESSING;
	}
	if (total > updated) {
		snprintf(why, size, "%lld old replica%s pending termination", (long long)(total - updated),
			 total - updated == 1 ? "" : "s");
		return KUBE_ROLLOUT_PROGRESSING;
	}
	if (available < updated) {
		snprintf(why, size, "%lld of %lld updated replicas available", (long long)available,
			 (long long)updated);
		return KUBE_ROLLOUT_PROGRESSING;
	}
	snprintf(why, size, "%lld of %lld replicas updated and available", (long long)available,
		 (long long)want);
	return KUBE_ROLLOUT_DONE;
}

static void __attribute__((format(printf, 3, 4))) addf(char *out, size_t size, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;

	if (n + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(out + n, size - n, fmt, ap);
	va_end(ap);
}

void kube_pod_reasons(const json_t *pods, char *out, size_t size)
{
	const json_t *p;
	size_t i;

	out[0] = '\0';
	json_array_foreach(json_object_get(pods, "items"), i, p) {
		const json_t *st = json_object_get(p, "status"), *ready = condition(st, "Ready"), *cs;
		const char *name = str(json_object_get(p, "metadata"), "name");
		size_t k;

		if (ready && str(ready, "status") && !strcmp(str(ready, "status"), "True"))
			continue;
		if (json_object_get(json_object_get(p, "metadata"), "deletionTimestamp"))
			continue;
		addf(out, size, "%spod %s:", out[0] ? "; " : "", name ? name : "?");
		if (ready && str(ready, "message"))
			addf(out, size, " %s", str(ready, "message"));
		else if (str(st, "phase"))
			addf(out, size, " %s", str(st, "phase"));
		json_array_foreach(json_object_get(st, "containerStatuses"), k, cs) {
			const json_t *state = json_object_get(cs, "state");
			const json_t *w = json_object_get(state, "waiting");
			const json_t *t = json_object_get(state, "terminated");

			if (w && str(w, "reason"))
				addf(out, size, " (waiting: %s%s%s)", str(w, "reason"),
				     str(w, "message") ? ": " : "", str(w, "message") ? str(w, "message") : "");
			if (t)
				addf(out, size, " (exited with %lld: %s)", (long long)num(t, "exitCode", NULL),
				     str(t, "reason") ? str(t, "reason") : "no reason given");
			if (num(cs, "restartCount", NULL) > 0)
				addf(out, size, " (%lld restarts)", (long long)num(cs, "restartCount", NULL));
		}
	}
}

enum kube_job kube_job_state(const json_t *job)
{
	const json_t *st = json_object_get(job, "status");
	const json_t *done = condition(st, "Complete"), *failed = condition(st, "Failed");

	if (done && str(done, "status") && !strcmp(str(done, "status"), "True"))
		return KUBE_JOB_SUCCEEDED;
	if (failed && str(failed, "status") && !strcmp(str(failed, "status"), "True"))
		return KUBE_JOB_FAILED;
	if (num(st, "active", NULL) > 0 || num(st, "ready", NULL) > 0 || json_object_get(st, "startTime"))
		return KUBE_JOB_RUNNING;
	return KUBE_JOB_PENDING;
}

int kube_pods_exit_code(const json_t *pods)
{
	const json_t *p;
	const char *newest = NULL;
	int code = -1;
	size_t i;

	json_array_foreach(json_object_get(pods, "items"), i, p) {
		const json_t *cs = json_array_get(json_object_get(json_object_get(p, "status"),
								  "containerStatuses"), 0);
		const json_t *t = json_object_get(json_object_get(cs, "state"), "terminated");
		const char *at = str(t, "finishedAt");

		if (!t)
			continue;
		/* RFC 3339 in UTC: the strings order as the times do */
		if (!newest || (at && strcmp(at, newest) > 0)) {
			newest = at ? at : "";
			code = (int)num(t, "exitCode", NULL);
		}
	}
	return code;
}
