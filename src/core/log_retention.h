/* log_retention: the logs of builds, deployments (rollout events) and
 * executions kept in the store are bounded by age and by size.
 *
 * For each kind, the log of a finished build / ended deployment / finished
 * execution older than max_age_days is deleted; and the log of one whose
 * newer logs of the same kind already hold max_bytes is deleted (the
 * oldest go first; the newest is always kept). Logs of running builds, executions and of active or
 * rolling-out deployments are never deleted. The records themselves
 * (status, steps, digests, exit codes) stay: only their log lines go.
 */
#ifndef FERRY_CORE_LOG_RETENTION_H
#define FERRY_CORE_LOG_RETENTION_H

#include <jansson.h>
#include <time.h>

#include "lib/error.h"

#define LOG_RETENTION_DAYS_DEFAULT 90
#define LOG_RETENTION_BYTES_DEFAULT (256LL << 20)

struct log_retention {
	int max_age_days;        /* > 0 */
	long long max_bytes;     /* per kind; > 0 */
};

/* Deletes what the rules say, as of now. Sets *ret_freed to the bytes of
 * log text deleted. Returns 0, or -1 with e set. */
int log_retention_apply(const struct log_retention *r, time_t now, long long *ret_freed,
			struct ferr *e);

/* {"build": {"bytes", "logs", "reclaimable_bytes"}, "deployment": ...,
 * "execution": ...}: what each kind holds and what applying the rules now
 * would free. New reference, or NULL with e set. */
json_t *log_retention_report(const struct log_retention *r, time_t now, struct ferr *e);

#endif
