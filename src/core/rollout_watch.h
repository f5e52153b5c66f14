/* rollout_watch: the engine's side of a rollout with a policy. Engine
 * internal (rollout_engine.h). */
#ifndef FERRY_ROLLOUT_WATCH_H
#define FERRY_ROLLOUT_WATCH_H

#include <stddef.h>

#include "core/rollout_engine.h"
#include "core/rollout_policy.h"

/* Before the new replicas join: the old ones' servers get the largest
 * weight, so a new server (weight 1) takes next to nothing until the first
 * step. */
void rollout_watch_begin(const struct plan *p, const struct runtime_replica *olds, size_t nolds);

/* With every new replica up and in the gateway beside the old ones: runs
 * the policy's steps and watch. Returns 1 if it passed (the old replicas
 * are drained, still running: the caller stops them and marks the
 * deployment active), 0 if it rolled back (the new replicas are stopped,
 * the deployment is rolled-back: nothing left to do), -1 if the job was
 * cancelled (the old replicas take the traffic again). */
int rollout_watch(struct job *job, const struct plan *p, const struct rollout_policy *pol,
		  const struct runtime_replica *news, int nnews, const struct runtime_replica *olds, size_t nolds);

#endif
