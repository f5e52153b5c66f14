/* rollout engine internals, shared by the parts of the engine and by no
 * other module (those use core/rollout.h and core/rollout_int.h):
 *
 *   rollout.c            the engine: state, plan cache, runtime and gateway
 *                        bring-up (through ferryd's openers), busy owners,
 *                        start and stop
 *   rollout_plan.c       descriptor → plan (pure; core/rollout_plan.h)
 *   rollout_gateway.c    the routes and servers this engine set, remembered
 *                        so that retiring a replica or an owner knows what
 *                        to remove
 *   rollout_replica.c    replicas: start, probe (readiness, liveness),
 *                        retire, restart with backoff
 *   rollout_jobs.c       the "rollout" and "undeploy" jobs
 *   rollout_reconcile.c  the reconciler thread (adoption after a restart,
 *                        crash and liveness restarts, orphans, stuck
 *                        rollouts), the gateway's restore once ferryd's
 *                        supervisor restarted it, and rollout_health
 *
 * Locking: eng.lock guards the engine's tables. It is never held across a
 * podman or HAProxy call. Work on one component in one environment (its
 * "owner", "project/environment/component") is serialised by the busy set:
 * a job holds its owner for its whole run, and the reconciler leaves busy
 * owners and owners with a pending or rolling-out deployment alone.
 */
#ifndef FERRY_ROLLOUT_ENGINE_H
#define FERRY_ROLLOUT_ENGINE_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rollout_plan.h"
#include "gateway/gateway.h"
#include "lib/clock.h"
#include "lib/error.h"
#include "lib/xalloc.h"
#include "runtime/runtime.h"
#include "sched/jobqueue.h"

#define GRACE_S 10               /* SIGTERM → SIGKILL when stopping replicas */
#define DRAIN_MS 30000           /* longest wait for in-flight requests */
#define RECONCILE_MS 1500        /* reconciler period */
#define PROBE_STEP_MS 50         /* probe interval while a rollout waits */
#define BACKOFF_MAX_S 60
#define ENGINE_WAIT_MS (5 * 60 * 1000)

struct gw_route {
	char key[GATEWAY_KEY_MAX + 1];
	char owner[OWNER_MAX];
};

struct gw_srv {
	char key[GATEWAY_KEY_MAX + 1];
	char id[40];
	char owner[OWNER_MAX];
	long long dep;
	int replica;
};

/* What the engine knows of a replica beyond what the runtime reports. */
struct rep_state {
	char id[65];             /* runtime id */
	long long dep;
	int replica;
	int ready;               /* passed readiness since it (re)started */
	int live_fails;          /* consecutive liveness failures */
	long long next_live_ms;  /* next liveness probe */
	int restarts;            /* restarts by the engine */
	int seen;                /* mark for pruning */
};

/* Restart backoff per deployment replica slot. */
struct backoff {
	long long dep;
	int replica;
	int fails;
	long long next_ms;
	long long since_ms;      /* last (re)start */
};

struct rollout_engine {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int started;             /* rollout_start succeeded */
	int stop;                /* reconciler must end */
	int shutdown;            /* the daemon is stopping */
	int kick;
	int ready;               /* runtime up and the first pass done */
	char why[512];           /* why not ready */

	/* Held by the reconciler for each of its passes and by a gateway
	 * restore (rollout_gateway_restored, from ferryd's supervisor), so
	 * the two never converge the gateway at once; and by rollout_stop
	 * while it takes the engine down. Taken before eng.lock, never
	 * inside it. */
	pthread_mutex_t pass_lock;

	char *data_dir;
	char *listen;
	/* rollout_config's openers: ferryd builds the drivers */
	int (*runtime_open)(const char *instance, struct runtime **ret, struct ferr *e);
	struct gateway *(*gateway_open)(struct ferr *e);
	int (*gateway_left_running)(void);
	char instance[40];

	struct runtime *rt;      /* set once, then constant; the engine's */
	struct gateway *gw;      /* set once, then constant; ferryd's */
	/* Networks are shared by every component of a project+environment:
	 * starting a replica (ensure network, then start) holds it for
	 * reading, removing a network for writing, so an undeploy never
	 * removes the network between another start's two steps. */
	pthread_rwlock_t net_lock;

	char (*busy)[OWNER_MAX];
	size_t nbusy, abusy;
	struct gw_route *routes;
	size_t nroutes, aroutes;
	struct gw_srv *srvs;
	size_t nsrvs, asrvs;
	struct rep_state *reps;
	size_t nreps, areps;
	struct backoff *backs;
	size_t nbacks, abacks;
	struct plan **plans;     /* cache, by deployment id */
	size_t nplans, aplans;
};

extern struct rollout_engine eng;

/* rollout.c */
/* Grows *arr (elements of size elem, *cap slots) to hold n + 1. */
void grow(void **arr, size_t n, size_t *cap, size_t elem);
/* Wakes the reconciler for a pass now. */
void kick(void);
/* The plan of deployment dep, from the cache or built. Release with
 * plan_unref. */
int plan_get(int64_t dep, struct plan **ret, struct ferr *e);
void plan_unref(struct plan *p);
/* Drops cached plans whose deployment is not in keep (n ids). */
void plans_prune(const long long *keep, size_t n);
void set_why(const char *msg);
int engine_runtime_up(struct ferr *e);
/* rollout_runtime of this engine: its driver once up, else NULL with e
 * (503 and why). */
struct runtime *engine_runtime(struct ferr *e);
/* The gateway, started (or adopted) on first need. */
struct gateway *engine_gateway(struct ferr *e);
int owner_busy_locked(const char *owner);
/* Takes owner for a job; waits while another job has it. Returns 0, or -1
 * if the job was cancelled while waiting. */
int owner_take(const char *owner, struct job *job);
void owner_give(const char *owner);
/* Sleeps ms, in steps, returning -1 at once if the job is cancelled. */
int nap(struct job *job, int ms);
/* Waits until the engine finished its first pass. */
int engine_wait_ready(struct job *job, struct ferr *e);

/* rollout_gateway.c */
void server_id(char out[40], long long dep, int replica);
void table_route_add(const char *key, const char *owner);
void table_srv_add(const char *key, const char *owner, long long dep, int replica);
int table_has_srv(const char *key, long long dep, int replica);
/* Sets the plan's routes. */
int gw_routes_apply(const struct plan *p, struct ferr *e);
/* Puts replica r of plan p behind every route of p, ready. */
int gw_server_up(const struct plan *p, const struct runtime_replica *r, struct ferr *e);
/* Takes replica (dep, replica) out of every route it is in: drained first
 * (up to drain_ms; 0: at once), then removed. Errors are logged: the
 * replica is going away either way. */
void gw_server_down(long long dep, int replica, int drain_ms);
/* Removes owner's routes whose key is not in keep (nkeep keys). */
void gw_routes_drop(const char *owner, const struct route_plan *keep, size_t nkeep);

/* rollout_replica.c */
/* Finds (or adds) the state of runtime id. Call with eng.lock held. */
struct rep_state *rep_state_locked(const char *id, long long dep, int replica);
void rep_set_ready(const char *id, long long dep, int replica, int ready);
int rep_ready(const char *id);
int replica_start(const struct plan *p, int i, struct runtime_replica *ret, struct ferr *e);
/* rollout_task_start of this engine (core/rollout_int.h). */
int replicas_task_start(int64_t deployment_id, int64_t execution_id, const char *const *args,
			char ret_id[65], struct ferr *e);
/* Runs probe pr against replica r once. Returns 1 healthy, 0 not; answer
 * says what it saw. */
int probe_once(const struct descriptor_probe *pr, const struct runtime_replica *r,
	       char *answer, size_t size);
/* Waits for replica r of plan p to pass readiness within the plan's
 * budget. Returns 1 ready, 0 not (why: the last answers), -1 cancelled. */
int wait_ready(const struct plan *p, const struct runtime_replica *r, struct job *job,
	       char *why, size_t size);
/* Stops replica r: out of the gateway (drained), SIGTERM with grace,
 * removed. */
void replica_retire(const struct runtime_replica *r, int drain_ms, int64_t event_dep,
		    const char *why);
/* Restarts (or re-creates) slot i of plan p after a crash or a liveness
 * failure, when its backoff allows. */
void replica_revive(const struct plan *p, int i, const struct runtime_replica *r,
		    const char *why);

/* rollout_jobs.c */
/* Registers the job kinds "rollout" and "undeploy". */
void rollout_jobs_register(void);
/* The newest active deployment of the component in the environment, or 0. */
int64_t active_of(int64_t component_id, int64_t env_id);
int status_is(int64_t dep, const char *status);

/* rollout_reconcile.c */
/* The reconciler thread's body (arg unused). */
void *reconciler(void *arg);
/* rollout_health of this engine (core/rollout.h). */
json_t *replicas_health(int64_t component_id, int64_t environment_id);

#endif
