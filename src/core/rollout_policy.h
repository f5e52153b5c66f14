/* rollout_policy: how a component's new deployments take traffic.
 *
 * Without a policy a rollout is the plain rolling update (rollout.h). With
 * one, the new replicas come up beside the old ones, which keep running:
 *   - steps: the new version's share of the traffic, in percent, raised
 *     in order (e.g. 10, 50, 100; the last is always 100), each held for
 *     pause_s seconds;
 *   - then a watch window of watch_s seconds at 100%;
 * and all along the thresholds are checked every second over the new
 * deployment's requests since its first step (core/traffic.h): the 5xx
 * ratio (max_error_ratio), the 95th percentile latency (max_p95_ms), both
 * only once min_requests were seen, and failed readiness probes of the new
 * replicas (max_readiness_failures). A breach shifts all traffic back to
 * the old replicas, stops the new ones and marks the deployment
 * rolled-back with the numbers. Passing, the old replicas are drained and
 * stopped and the new deployment is active. */
#ifndef FERRY_CORE_ROLLOUT_POLICY_H
#define FERRY_CORE_ROLLOUT_POLICY_H

#include <jansson.h>
#include <stdint.h>

#include "core/auth.h"
#include "lib/error.h"

#define ROLLOUT_MAX_STEPS 10
#define ROLLOUT_MAX_PAUSE_S 3600
#define ROLLOUT_MAX_WATCH_S 600

struct rollout_policy {
	int nsteps;
	int steps[ROLLOUT_MAX_STEPS];   /* percent, ascending, the last 100 */
	int pause_s;
	int watch_s;
	double max_error_ratio;         /* < 0: not checked */
	int64_t max_p95_ms;             /* < 0: not checked */
	int max_readiness_failures;     /* < 0: not checked */
	int min_requests;
};

/* Reads a policy from JSON ({"steps", "pause_s", "watch_s",
 * "max_error_ratio", "max_p95_ms", "max_readiness_failures",
 * "min_requests"}), checking every member. */
int rollout_policy_parse(json_t *in, struct rollout_policy *ret, struct ferr *e);
json_t *rollout_policy_json(const struct rollout_policy *p);

/* component_id's policy: 1 with *ret, 0 if it has none. */
int rollout_policy_load(int64_t component_id, struct rollout_policy *ret);

/* Sets, shows, removes a component's policy (set and remove: developers
 * and admins). Show answers {"policy": null} when there is none. */
int rollout_policy_set(const struct principal *who, const char *project, const char *component,
		       json_t *in, json_t **ret, struct ferr *e);
int rollout_policy_show(const struct principal *who, const char *project, const char *component,
			json_t **ret, struct ferr *e);
int rollout_policy_unset(const struct principal *who, const char *project, const char *component,
			 struct ferr *e);

#endif
