/* A component's rollout policy: canary steps and analysis thresholds. */
#include "api/handlers.h"

#include <stdio.h>

#include "core/rollout_policy.h"
#include "lib/banned.h"

int h_rollout_policy_show(struct api_req *r, json_t **ret, struct ferr *e)
{
	return rollout_policy_show(r->who, r->params[0], r->params[1], ret, e);
}

int h_rollout_policy_set(struct api_req *r, json_t **ret, struct ferr *e)
{
	snprintf(r->audit_object, sizeof(r->audit_object), "rollout policy of %s/%s", r->params[0], r->params[1]);
	return rollout_policy_set(r->who, r->params[0], r->params[1], r->body, ret, e);
}

int h_rollout_policy_unset(struct api_req *r, json_t **ret, struct ferr *e)
{
	snprintf(r->audit_object, sizeof(r->audit_object), "rollout policy of %s/%s", r->params[0], r->params[1]);
	if (rollout_policy_unset(r->who, r->params[0], r->params[1], e) < 0)
		return -1;
	*ret = json_pack("{s:n}", "policy");
	return 0;
}
