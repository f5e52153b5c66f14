/* deployment internals shared by deployment.c, promotion.c and approval.c
 * (an approved request creates the deployment it was holding back). Not for
 * other modules: they use core/deployment.h. */
#ifndef FERRY_DEPLOYMENT_INT_H
#define FERRY_DEPLOYMENT_INT_H

#include <jansson.h>
#include <stdint.h>

#include "core/auth.h"
#include "lib/error.h"

/* Everything a new deployment is made of, resolved by the operation that
 * asks for it (deploy, promote, rollback, config change, auto-deploy). */
struct new_deployment {
	int64_t component_id;
	int64_t project_id;
	int64_t env_id;
	int64_t build_id;
	int64_t independent_id;  /* 0: snapshot the current component-wide values */
	int64_t snapshot_id;     /* rollback: reuse this exact joined snapshot */
	const char *cause;
	int64_t promoted_from;   /* 0: none */
	const char *who;
	const char *skip_reason; /* a promotion past the next environment: the admin's reason */
};

/* Creates the deployment row (pending) with its snapshot, after checking
 * the snapshot against the build's declared configurables, and queues its
 * rollout. Nothing is kept when validation fails. Returns 0 with *ret_id,
 * or -1 with e set. */
int deployment_create(const struct new_deployment *n, int64_t *ret_id, struct ferr *e);

/* The deployment as the API shows it. Returns 0 (*ret new) or -1 with e set. */
int deployment_show_by_id(int64_t id, json_t **ret, struct ferr *e);

/* Environment id (and rank) by name, or the one at rank when name is NULL.
 * 404 naming it when absent. */
int deployment_env_at(int64_t project_id, const char *name, int rank, int64_t *ret_id,
		      int *ret_rank, struct ferr *e);

/* The gate every deploy, promote, rollback and auto-deploy passes before
 * deployment_create (configuration redeploys do not: the change itself
 * passed config's gate). approval_install sets it; without one every
 * deployment goes ahead. */
struct deployment_gate_info {
	const char *summary;        /* for people: what would be deployed */
	int64_t source_deployment;  /* must still be active in source_env when approved (0: none) */
	int64_t source_env;
	int newest_build;           /* a deploy of the newest build: a newer one invalidates it */
};
/* Returns 0 to go ahead, 1 when the deployment is held (ret, if not NULL,
 * set to {"approval_request": …}), or -1 with e set. who NULL: ferry
 * itself (auto-deploy). */
typedef int (*deployment_gate_fn)(const struct principal *who, const struct new_deployment *n,
				  const struct deployment_gate_info *g, json_t **ret, struct ferr *e);
void deployment_set_gate(deployment_gate_fn fn);
int deployment_gate(const struct principal *who, const struct new_deployment *n,
		    const struct deployment_gate_info *g, json_t **ret, struct ferr *e);

#endif
