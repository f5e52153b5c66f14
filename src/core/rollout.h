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
 * gateway routes after ferryd restarts, and after HAProxy restarts (when
 * ferryd's supervisor says so). ferryd builds the runtime driver and the
 * gateway and hands them in (core/rollout_config.h).
 */
#ifndef FERRY_ROLLOUT_H
#define FERRY_ROLLOUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/auth.h"
#include "core/rollout_config.h"
#include "lib/error.h"

/* Registers the job kinds "rollout" and "undeploy" and starts the
 * reconciler thread, which brings up the runtime driver (as soon as the
 * containers configuration exists) and the gateway (as soon as anything is
 * deployed, or a HAProxy of an earlier ferryd on this data dir runs: it is
 * adopted), then adopts running replicas and syncs the gateway. Jobs wait
 * for that first pass. Sets deployment_set_gateway_port from
 * gateway_listen. The runtime instance name (label ferry.instance, prefix
 * of container and network names) is kept in DATA/runtime-instance.
 * Call after the job queue kinds of other modules are registered and
 * before jobq_start. Returns 0, or -1 with e set (bad configuration). */
int rollout_start(const struct rollout_config *cfg, struct ferr *e);
/* Marks the daemon as stopping: rollouts the job queue stops from now on
 * are left to resume at the next start instead of being failed. Call
 * before jobq_stop. */
void rollout_begin_shutdown(void);
/* Stops the reconciler and frees the runtime and gateway handles. HAProxy
 * and the containers keep running: deployed services survive a ferryd
 * stop, and the next ferryd adopts them. Call after jobq_stop. */
void rollout_stop(void);

/* The gateway was started again after its process died (ferryd's
 * supervisor, which watches it, calls this): the routes and servers of
 * every active deployment not in the middle of a rollout are converged
 * from the store and the runtime, after the reconciler's current pass.
 * Before the engine's first pass (which syncs the whole gateway) or once
 * it stopped, nothing is done. *ret_routes and *ret_servers: what was
 * restored. Returns 0, or -1 with e set. */
int rollout_gateway_restored(size_t *ret_routes, size_t *ret_servers, struct ferr *e);

/* Queues the rollout of a pending deployment. Returns the job id or -1
 * (429 when the project has the cap's number of rollouts queued,
 * sched/jobqueue.h). */
int64_t rollout_queue(int64_t deployment_id, const char *who, struct ferr *e);
/* 0 when project_id may queue one more rollout now, else -1 with e set
 * (429, naming the project and the cap): a deployment checks before it
 * is created, so a refused one leaves no record behind. */
int rollout_queue_room(int64_t project_id, struct ferr *e);
/* Queues stopping component_id's replicas in environment_id and removing its
 * routes (the deployment was already marked undeployed). Returns job id or -1. */
int64_t rollout_queue_undeploy(int64_t component_id, int64_t environment_id, const char *who,
			       struct ferr *e);

/* Health of component_id in environment_id for ferry status:
 * {"healthy": bool, "replicas": [{"id", "state", "ready", "restarts"}]}.
 * New reference; never NULL. */
json_t *rollout_health(int64_t component_id, int64_t environment_id);

/* The output of a component's replicas in an environment, as a stream of
 * NDJSON lines {"replica": "d12-r0", "line": "..."} (one per line the
 * program wrote, stdout and stderr, oldest first; replicas of every
 * deployment still running there, e.g. old and new during a rollout).
 * With follow the stream goes on until the replicas exit or the reader
 * closes it. Viewers may read. */
struct rollout_logs;
/* Opens the stream. Returns 0 with *ret (close with rollout_logs_close),
 * or -1 with e set (404: unknown or no replica there; 503: the runtime is
 * still starting). */
int rollout_logs_open(const struct principal *who, const char *project, const char *component,
		      const char *environment, int follow, struct rollout_logs **ret,
		      struct ferr *e);
/* Copies up to max bytes of the stream into buf. Returns the count, 0 when
 * nothing arrived within about 200 ms (call again), or -1 at the end. */
long rollout_logs_read(struct rollout_logs *s, char *buf, size_t max);
/* Stops the readers and frees s. Accepts NULL. */
void rollout_logs_close(struct rollout_logs *s);

#endif
