/* housekeeping: the thread that keeps ferryd's disk use bounded.
 *
 * Once at start it sweeps what killed builds left (core/build_sweep.h);
 * every interval_s it removes runtime images no deployment needs
 * (core/image_prune.h), deletes the registry's images nothing keeps
 * (core/registry_prune.h) and applies the log retention
 * (core/log_retention.h) and the history retention (builds, deployments,
 * executions and what hangs off them, core/history_retention.h); at each time of the registry_gc cron schedule it
 * garbage-collects the managed registry (read-only meanwhile: pulls work,
 * pushes wait). What it removed is logged and recorded in the audit log
 * (actor "ferryd").
 */
#ifndef FERRY_CORE_HOUSEKEEPING_H
#define FERRY_CORE_HOUSEKEEPING_H

#include <jansson.h>

#include "core/history_retention.h"
#include "core/log_retention.h"
#include "lib/error.h"

#define HOUSEKEEPING_INTERVAL_DEFAULT 600
#define HOUSEKEEPING_REGISTRY_GC_DEFAULT "30 3 * * *"

struct housekeeping_options {
	int keep_deployments;         /* per component and environment; 0: default 5 */
	int keep_builds;              /* registry images of the newest builds per component;
	                               * 0: default 5 (core/registry_prune.h) */
	const char *registry_gc;      /* cron (UTC); NULL: the default; "off": never */
	struct log_retention logs;    /* 0s: defaults */
	struct history_retention history; /* keep, max_age_days, audit_keep,
	                               * execution_days (0s: defaults); the rest
	                               * is filled in from the fields above */
	int interval_s;               /* 0: default */
};

/* Checks opts (a bad cron expression is named) and starts the thread.
 * Returns 0 or -1 with e set. */
int housekeeping_start(const struct housekeeping_options *opts, struct ferr *e);
void housekeeping_stop(void);

/* The options in force (defaults filled in). */
const struct housekeeping_options *housekeeping_options(void);
/* The history retention in force, with what the image prunes keep (a copy). */
struct history_retention housekeeping_history(void);

/* Runs the prune, the log and the history retention now (POST /api/v1/admin/prune);
 * with registry_gc also the registry GC. *ret: what was freed. Returns 0
 * or -1 with e set. */
int housekeeping_run(int registry_gc, json_t **ret, struct ferr *e);

/* The time of the next scheduled registry GC (RFC 3339) into out, or "" */
void housekeeping_next_gc(char out[32]);

#endif
