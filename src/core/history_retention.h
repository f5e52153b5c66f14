/* history_retention: the records of builds, deployments and executions (and
 * what hangs off them: steps, logs, scan reports, rollout events,
 * configuration snapshots, jobs, webhook deliveries, decided approvals and
 * audit entries) are bounded by count and by age, so the store stays flat
 * over months.
 *
 * A record goes when it is beyond the newest `keep` of its series (builds:
 * per component; deployments and executions: per component and
 * environment) or older than `max_age_days` (executions: older than
 * `execution_days`, core/execution.h) — unless something still needs it:
 *
 *   builds       queued or running; used by any deployment that stays; among
 *                the component's newest keep_builds successful ones (their
 *                registry images are kept, core/registry_prune.h); named by
 *                a pending approval; or (managed registry) the last record
 *                of an image still in the registry, so registry_prune can
 *                still delete it.
 *   deployments  pending, rolling out or active; among the newest
 *                keep_deployments of their component and environment (the
 *                rollback targets, even when old); with an execution that
 *                stays; with a rollout job queued or running; promoted into
 *                a deployment that stays (promoted_from is kept whole).
 *   executions   pending or running. Those deleted inside the 30-day window
 *                leave a tally row (execution_count_30d stays exact).
 *   snapshots    used by a deployment, as the base of another snapshot, or
 *                by a pending approval; or made in the last minute.
 *   jobs         queued or running; of a build that stays (linked, or named
 *                by the payload); a rollout of a deployment that stays. Other kinds: by count per kind and
 *                by age.
 *   audit        the newest audit_keep entries and those younger than
 *                max_age_days.
 *   webhook deliveries by count per component and age; approvals that
 *                were decided, by count per component and environment and
 *                age.
 *
 * Deleting runs in batches (each its own transaction) so no write waits
 * long behind it; SQLite reuses the freed pages, so the file stops growing
 * once the retention applies (docs/disk.md has the figures).
 */
#ifndef FERRY_CORE_HISTORY_RETENTION_H
#define FERRY_CORE_HISTORY_RETENTION_H

#include <jansson.h>
#include <time.h>

#include "lib/error.h"

#define HISTORY_KEEP_DEFAULT 1000
#define HISTORY_DAYS_DEFAULT 365
#define HISTORY_AUDIT_KEEP_DEFAULT 100000

struct history_retention {
	int keep;               /* > 0 */
	int max_age_days;       /* > 0 */
	int audit_keep;         /* > 0 */
	int execution_days;     /* > 0: --execution-retention-days */
	/* what the image prunes keep (housekeeping fills these in) */
	int keep_deployments;   /* >= 0 */
	int keep_builds;        /* >= 0 */
	int track_images;       /* 1: the registry is ferry's own (builds.image tracks it) */
};

/* Deletes what the rules say, as of now. *ret (may be NULL): {"builds": N,
 * "deployments", "executions", "snapshots", "jobs", "webhook_deliveries",
 * "approvals", "audit"}, the rows deleted of each. Returns 0, or -1 with e
 * set (what was deleted before the error stays deleted). */
int history_retention_apply(const struct history_retention *r, time_t now, json_t **ret,
			    struct ferr *e);

/* {"builds": {"records", "reclaimable"}, "deployments": ..., "executions": ...,
 * "audit": ..., "keep", "max_age_days", "audit_keep"}: what the store holds
 * and what applying the rules now would delete. New reference, or NULL
 * with e set. */
json_t *history_retention_report(const struct history_retention *r, time_t now, struct ferr *e);

#endif
