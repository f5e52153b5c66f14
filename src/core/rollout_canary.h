/* rollout_canary: the analysis part of a rollout with a policy
 * (core/rollout_policy.h): raises the new replicas' share of traffic step
 * by step, watches, and decides. It knows the gateway and the traffic
 * numbers, not the runtime: the rollout engine hands it the replicas and a
 * way to probe them, and does the starting, stopping and marking itself. */
#ifndef FERRY_CORE_ROLLOUT_CANARY_H
#define FERRY_CORE_ROLLOUT_CANARY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rollout_policy.h"
#include "gateway/gateway.h"

struct canary_server {
	const char *route;   /* gateway route key */
	char id[40];         /* gateway server id ("d12-r0") */
};

struct canary {
	const struct rollout_policy *policy;
	struct gateway *gw;
	int64_t deployment;                  /* the new one */
	const struct canary_server *news;    /* its servers, every route */
	size_t nnews;
	const struct canary_server *olds;    /* the previous version's */
	size_t nolds;
	int nreplicas;                       /* new replicas, for probing */
	/* Probes new replica i once: 1 ready, 0 not (why into why). */
	int (*probe)(void *arg, int replica, char *why, size_t why_size);
	/* 1 when the rollout must stop (cancel or shutdown). */
	int (*cancelled)(void *arg);
	/* A line for the deployment's log. */
	void (*say)(void *arg, const char *text);
	void *arg;
};

/* Runs the steps and the watch window. Returns 1 if every threshold held
 * (the new servers take all traffic, the old ones are drained but still
 * running: the engine stops them), 0 on a breach (all traffic is back on
 * the old servers, the new ones are drained; *ret_numbers says what broke,
 * the engine stops them and marks the deployment rolled-back), -1 when
 * cancelled (the old servers take the traffic again). */
int canary_run(const struct canary *c, json_t **ret_numbers, char *reason, size_t reason_size);

#endif
