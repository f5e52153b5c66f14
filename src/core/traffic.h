/* traffic: what the gateway measured per deployment.
 *
 * The gateway reports every request it answered (gateway.h's traffic sink:
 * the replica's server id "d<deployment>-r<n>", the status, the total time).
 * traffic keeps, per deployment:
 *   - in memory, 10-second buckets of the last TRAFFIC_LIVE_S seconds
 *     (requests, 5xx answers, a latency histogram): what a rollout's watch
 *     window reads (traffic_window);
 *   - in the store, one row per minute (the same numbers), written every
 *     10 seconds and kept TRAFFIC_KEEP_DAYS days: what
 *     GET .../components/C/metrics and `ferry metrics` show.
 * Latency percentiles are read from the histogram: each is the upper bound
 * of the bucket it falls in (1, 2, 5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5,
 * 5, 10 s), or the largest time seen when above 10 s.
 */
#ifndef FERRY_CORE_TRAFFIC_H
#define FERRY_CORE_TRAFFIC_H

#include <jansson.h>
#include <stdint.h>

#include "core/auth.h"
#include "lib/error.h"

#define TRAFFIC_BINS 14
#define TRAFFIC_BUCKET_S 10
#define TRAFFIC_LIVE_S 600
#define TRAFFIC_KEEP_DAYS 7

struct traffic_stats {
	int64_t requests;
	int64_t errors;               /* answers 500..599 */
	int64_t bins[TRAFFIC_BINS];   /* requests per latency bucket */
	int64_t max_ms;
};

/* The gateway's sink: one request answered by server_id. */
void traffic_record(const char *server_id, int status, int total_ms);

/* Deployment dep's requests of the last window_s seconds (at most
 * TRAFFIC_LIVE_S; whole 10-second buckets, the current one included). */
void traffic_window(int64_t dep, int window_s, struct traffic_stats *ret);

/* The p-th percentile (0 < p <= 100) of s's latencies in ms; 0 if empty. */
int64_t traffic_percentile(const struct traffic_stats *s, double p);

/* Gateway-wide counts since ferryd started, for /metrics: requests by
 * status class (index 1..5 for 1xx..5xx, 0 for anything else) and those
 * no replica answered (no route, no ready replica). */
void traffic_totals(int64_t ret_by_class[6], int64_t *ret_unrouted);

/* Per-minute numbers of component (project, name) in env since since_s
 * (epoch seconds): {"component", "environment", "since", "resolution_s",
 * "total": {...}, "deployments": [{"deployment", "seq", "status", totals}],
 * "series": [{"t", "deployment", "requests", "errors_5xx", "error_ratio",
 * "p50_ms", "p95_ms", "p99_ms"}]}. Viewers may read. */
int traffic_series(const struct principal *who, const char *project, const char *component,
		   const char *env, int64_t since_s, json_t **ret, struct ferr *e);

/* Starts the thread that writes the minute rows (and prunes old ones). */
int traffic_start(struct ferr *e);
/* Writes what is left and stops it. */
void traffic_stop(void);

#endif
