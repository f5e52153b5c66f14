/* rollout: the engine that makes the runtime and the gateway match the
 * store's deployments.
 *
 * Desired state, per component and environment: the deployment with status
 * active (what serves) and at most one pending/rolling-out (what should
 * replace it). A rollout is a job (kind "rollout", payload
 * {"deployment": ID}, re-queued after a crash and idempotent: it re-adopts
 * containers labelled with its deployment id). Rolling update, one replica
 * at a time: start new → readiness → add to the gateway → drain an old one
 * (no new requests, in-flight ones finish) → SIGTERM with a grace period →
 * remove. If readiness does not pass in time, the new replicas are removed,
 * the old version keeps all traffic and the deployment is failed, with the
 * probe's last answers in its rollout log. Task components get no replicas:
 * their deployment becomes active at once.
 *
 * A reconciler thread also keeps active deployments healthy (liveness
 * probes, restart with backoff), re-adopts running containers and restores
 * gateway routes after ferryd restarts.
 */
#ifndef FERRY_ROLLOUT_H
#define FERRY_ROLLOUT_H

#include <jansson.h>
#include <stdint.h>

#include "lib/error.h"

struct rollout_config {
	const char *data_dir;
	const char *gateway_listen;   /* "127.0.0.1:8080" */
	const char *const *containers_env; /* env for podman (CONTAINERS_CONF ...) */
	const char *init_binary;      /* ferry-init, bind-mounted as PID 1 */
};

/* Starts the runtime driver and the gateway, registers the job kinds
 * "rollout" and "undeploy", and starts the reconciler. Call after the job
 * queue kinds of other modules are registered and before jobq_start. */
int rollout_start(const struct rollout_config *cfg, struct ferr *e);
/* Stops the reconciler and the gateway process handle (HAProxy and the
 * containers keep running: deployed services survive a ferryd stop). */
void rollout_stop(void);

/* Queues the rollout of a pending deployment. Returns the job id or -1. */
int64_t rollout_queue(int64_t deployment_id, const char *who, struct ferr *e);
/* Queues stopping component_id's replicas in environment_id and removing its
 * routes (the deployment was already marked undeployed). Returns job id or -1. */
int64_t rollout_queue_undeploy(int64_t component_id, int64_t environment_id, const char *who,
			       struct ferr *e);

/* Health of component_id in environment_id for ferry status:
 * {"healthy": bool, "replicas": [{"id", "state", "ready", "restarts"}]}.
 * New reference; never NULL. */
json_t *rollout_health(int64_t component_id, int64_t environment_id);

#endif
