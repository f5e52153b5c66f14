/* rollout_kube: the rollout engine when ferryd runs on Kubernetes
 * (ferryd --runtime kubernetes). Internal to core: core/rollout.h's
 * functions hand over to these when it is on.
 *
 * The same jobs as the podman engine ("rollout", "undeploy", re-queued
 * after a restart), the same deployment statuses and rollout log, but
 * Kubernetes does the rolling update:
 *   rollout   the deployment's objects (runtime/kube_render.h) applied
 *             server-side with field manager ferry; the Deployment watched
 *             (observedGeneration, updated/available replicas, its
 *             Progressing condition) until its new ReplicaSet is available
 *             (active) or it exceeds its progress deadline: then the
 *             previous active deployment's exact objects are applied again
 *             (its ReplicaSet, still available, keeps serving) and the
 *             deployment is failed with the pods' reasons. Tasks: the
 *             Secret and, for a scheduled task, its CronJob; active at once.
 *   undeploy  the component's objects deleted from its namespace.
 *   executions  one Job per run (rollout_kube_task_start), followed by
 *             execution.c through the driver's replica operations.
 *   reconciler  every few seconds: the objects of each active deployment
 *             are compared with the cluster's (found by their labels);
 *             one missing, pointing at another deployment or edited (a
 *             new generation) is applied again and the repair recorded in
 *             the deployment's rollout log. After a restart the objects
 *             found are adopted, not recreated.
 */
#ifndef FERRY_ROLLOUT_KUBE_H
#define FERRY_ROLLOUT_KUBE_H

#include <jansson.h>
#include <stdint.h>

#include "core/auth.h"
#include "core/rollout_config.h"
#include "lib/error.h"

struct runtime;

/* Starts the engine (instead of the podman one): registers the job kinds,
 * starts the reconciler thread, which connects to the cluster (retrying:
 * jobs wait) through cfg's runtime_open, ferryd's Kubernetes driver. */
int rollout_kube_start(const struct rollout_config *cfg, struct ferr *e);
/* 1 once rollout_kube_start succeeded. */
int rollout_kube_on(void);
void rollout_kube_begin_shutdown(void);
void rollout_kube_stop(void);

/* The Kubernetes driver once connected, else NULL with e (503, why). */
struct runtime *rollout_kube_runtime(struct ferr *e);

/* rollout_task_start on Kubernetes: the execution's Job applied; ret_id
 * "e<execution_id>". */
int rollout_kube_task_start(int64_t deployment_id, int64_t execution_id, const char *const *args,
			    char ret_id[65], struct ferr *e);

/* rollout_health on Kubernetes: from the Deployment and its pods. */
json_t *rollout_kube_health(int64_t component_id, int64_t environment_id);

#endif
