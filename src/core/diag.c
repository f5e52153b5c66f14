#include "diag.h"

#include <unistd.h>

#include "sched/jobqueue.h"
#include "lib/banned.h"

/* Logs a line every 100 ms for payload.seconds, then succeeds or (with
 * payload.fail) fails. Stops early when cancelled. */
static int sleep_run(struct job *job, struct ferr *e)
{
	json_int_t seconds = json_integer_value(json_object_get(job->payload, "seconds"));
	int fail = json_is_true(json_object_get(job->payload, "fail"));

	job_log(job, "sleeping %lld s", (long long)seconds);
	for (json_int_t tick = 0; tick < seconds * 10; tick++) {
		if (job_cancelled(job))
			return ferr_set(e, 409, "cancelled", "stopped after %lld ms", (long long)tick * 100);
		if (tick % 10 == 0)
			job_log(job, "tick %lld", (long long)tick / 10);
		usleep(100 * 1000);
	}
	job_log(job, "done");
	if (fail)
		return ferr_set(e, 500, "failed", "failed on request (payload fail=true)");
	return 0;
}

static const struct job_kind sleep_kind = {
	.name = "sleep",
	.limit = 2,
	.requeue_on_restart = 1,
	.run = sleep_run,
};

/* The same work, but not safe to repeat: a crash leaves it 'interrupted'. */
static const struct job_kind sleep_once_kind = {
	.name = "sleep-once",
	.limit = 2,
	.requeue_on_restart = 0,
	.run = sleep_run,
};

void diag_register(void)
{
	jobq_register(&sleep_kind);
	jobq_register(&sleep_once_kind);
}
