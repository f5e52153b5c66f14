/* rollout plan: what one deployment needs of the runtime and the gateway
 * (replica count, published ports, routes, the effective readiness probe
 * and its time budget), derived from its record and its descriptor.
 *
 * Pure: no store, no driver, no lock. The engine builds plans from the
 * store and caches them by deployment id (rollout_engine.h); a deployment
 * is immutable, so its plan is too. Internal to the rollout engine: other
 * modules use core/rollout.h. */
#ifndef FERRY_ROLLOUT_PLAN_H
#define FERRY_ROLLOUT_PLAN_H

#include <stddef.h>

#include "core/deployment_record.h"
#include "gateway/gateway.h"
#include "lib/error.h"
#include "pipeline/descriptor.h"
#include "runtime/runtime.h"

#define READY_MIN_MS 10000       /* readiness budget bounds */
#define READY_MAX_MS 600000
#define READY_DEFAULT_MS 30000   /* no probe declared */
#define MAX_ROUTES 16
#define OWNER_MAX 200

struct route_plan {
	char key[GATEWAY_KEY_MAX + 1];
	char host[GATEWAY_HOST_MAX + 1];
	char prefix[GATEWAY_PATH_MAX + 1];
	char base[GATEWAY_PATH_MAX + 1];
	int port;                /* container port */
};

struct plan {
	struct deployment_info d;
	struct descriptor *desc;
	char owner[OWNER_MAX];
	int task;
	int replicas;
	struct route_plan routes[MAX_ROUTES];
	size_t nroutes;
	int ports[RUNTIME_MAX_PORTS];
	int nports;
	struct descriptor_probe readiness;  /* effective (defaults filled) */
	int ready_budget_ms;
	int refs;
};

/* "project/environment/component": the unit the engine serialises work on. */
void owner_of(char out[OWNER_MAX], const char *p, const char *env, const char *c);

/* Fills every derived member of p (owner, task, replicas, routes, ports,
 * readiness, ready_budget_ms) from p->d and p->desc, which the caller set.
 * Leaves refs alone. Returns 0, or -1 with e set (400: more ports or
 * routes than the runtime and gateway take, a bad base path). */
int plan_compute(struct plan *p, struct ferr *e);

#endif
