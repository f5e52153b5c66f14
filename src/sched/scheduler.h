/* scheduler: the thread that starts scheduled tasks on time.
 *
 * Once a second it looks at every scheduled-task component with an active
 * deployment in some environment, and asks the cron expression (the
 * component's schedule, else its deployment descriptor's; in the
 * component's time zone, UTC by default) whether a run time passed since
 * the last one it handled. If so it calls the configured fire function with
 * that slot, which records an execution (core/execution.h applies the
 * concurrency policy). The last slot handled per component and environment
 * is kept in the store (task_schedules), so after ferryd was down at most
 * one missed run is fired: the latest, and only if it is less than
 * missed_deadline_s late; otherwise the latest missed slot is fired with a
 * skip reason (recorded as skipped, not run).
 *
 * The scheduler reads the components and deployments tables directly and
 * knows nothing else of core: the fire function is its only way out.
 */
#ifndef FERRY_SCHEDULER_H
#define FERRY_SCHEDULER_H

#include <stdint.h>
#include <time.h>

#include "lib/error.h"
#include "sched/cron.h"

#define SCHEDULER_DEADLINE_DEFAULT 300

/* Records the run of slot for component_id in environment_id (skip_reason
 * NULL), or records it as skipped with skip_reason. Returns >= 0 (0:
 * nothing to do, e.g. the slot was already recorded) or -1 with e set (the
 * slot is then tried again at the next tick). */
typedef int64_t (*scheduler_fire_fn)(int64_t component_id, int64_t environment_id, time_t slot,
				     const char *skip_reason, struct ferr *e);

struct scheduler_config {
	int missed_deadline_s;        /* > 0; 0: SCHEDULER_DEADLINE_DEFAULT */
	scheduler_fire_fn fire;
};

/* What scheduler_due() found. */
enum scheduler_verdict {
	SCHEDULER_NOTHING = 0,        /* no run time in (last, now] */
	SCHEDULER_RUN = 1,            /* *ret_slot is due and less than the deadline late */
	SCHEDULER_TOO_LATE = 2,       /* run times passed, the latest (*ret_slot) over the deadline */
};

/* Decides for one schedule: the run times of c (in tz; NULL: UTC) strictly
 * after last and at or before now. Only the latest of them counts (missed
 * earlier ones are never caught up). Sets *ret_slot to it and, in
 * *ret_missed, how many run times were passed over before it (capped at
 * 100000). Returns the verdict, or -1 with e set (cron_next failed). */
int scheduler_due(const struct cron *c, const struct tz *tz, time_t last, time_t now,
		  int deadline_s, time_t *ret_slot, long *ret_missed, struct ferr *e);

/* Starts the scheduler thread. Returns 0 or -1 with e set. */
int scheduler_start(const struct scheduler_config *cfg, struct ferr *e);
/* Stops and joins it. Accepts being called without a start. */
void scheduler_stop(void);

#endif
