/* execution_record: executions of runs the cluster started on its own,
 * recorded so that they have the history a run ferry starts has.
 *
 * On Kubernetes a scheduled task is a CronJob: the CronJob controller, not
 * ferry's scheduler, starts its runs (Jobs). The engine (rollout_kube)
 * records each such Job as an execution with trigger "schedule" and its
 * cron slot; execution.c's runner then follows it like any other: the
 * engine hands it the Job instead of creating one, and the runner keeps
 * its pod's output, exit code and times. Below execution.c and
 * rollout_kube.c (store only), so neither includes the other.
 */
#ifndef FERRY_EXECUTION_RECORD_H
#define FERRY_EXECUTION_RECORD_H

#include <stdint.h>
#include <time.h>

#include "lib/error.h"

/* The execution of component_id's run for cron slot slot (epoch seconds)
 * in environment_id, recorded now if it is not yet: pending, trigger
 * "schedule", triggered_by by, deployment deployment_id (the one whose
 * CronJob started it). Returns its id, 0 when the component, environment
 * or deployment is gone, or -1 with e set. */
int64_t execution_record_cluster_run(int64_t component_id, int64_t environment_id,
				     int64_t deployment_id, time_t slot, const char *by,
				     struct ferr *e);

/* The cron slot of execution id when it is a scheduled run (into *slot):
 * 1; 0 when it is not one (a manual run), -1 with e set. */
int execution_record_slot(int64_t id, time_t *slot, struct ferr *e);

/* Sets a finished execution's start and end times to the cluster's
 * (RFC 3339 UTC, "2026-01-01T00:00:00Z"; NULL keeps one). */
void execution_record_times(int64_t id, const char *started_at, const char *finished_at);

#endif
