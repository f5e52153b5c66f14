#include "api/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/follow.h"
#include "core/deployment.h"
#include "core/manifests.h"
#include "core/json.h"
#include "lib/banned.h"

static void audit_pc(struct api_req *r, const char *what)
{
	snprintf(r->audit_object, sizeof(r->audit_object), "%s %s/%s", what, r->params[0], r->params[1]);
}

int h_deploy(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "build", NULL };
	int64_t build = 0;

	if (json_only_keys(r->body, keys, e) < 0 || json_get_int(r->body, "build", &build, e) < 0)
		return -1;
	audit_pc(r, "deploy");
	r->status = 202;
	if (deployment_deploy(r->who, r->params[0], r->params[1], build, ret, e) < 0)
		return -1;
	api_note_held(r, *ret);
	return 0;
}

int h_promote(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "to", "from", "skip_reason", "wait", NULL };
	struct promote_opts o = { 0 };
	int wait = 1;

	if (json_only_keys(r->body, keys, e) < 0 || json_need_string(r->body, "to", &o.to, e) < 0 ||
	    json_get_string(r->body, "from", &o.from, e) < 0 ||
	    json_get_string(r->body, "skip_reason", &o.skip_reason, e) < 0 ||
	    json_get_bool(r->body, "wait", &wait, e) < 0)
		return -1;
	o.no_wait = !wait;
	snprintf(r->audit_object, sizeof(r->audit_object), "promote %s/%s to %s%s%s%s%s", r->params[0],
		 r->params[1], o.to, o.from ? " from " : "", o.from ? o.from : "",
		 o.skip_reason ? ", skipping the line: " : "", o.skip_reason ? o.skip_reason : "");
	r->status = 202;
	if (deployment_promote(r->who, r->params[0], r->params[1], &o, ret, e) < 0)
		return -1;
	api_note_held(r, *ret);
	return 0;
}

int h_rollback(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "env", "to", NULL };
	const char *env = NULL;
	int64_t to = 0;

	if (json_only_keys(r->body, keys, e) < 0 || json_need_string(r->body, "env", &env, e) < 0 ||
	    json_get_int(r->body, "to", &to, e) < 0)
		return -1;
	snprintf(r->audit_object, sizeof(r->audit_object), "rollback %s/%s in %s", r->params[0],
		 r->params[1], env);
	r->status = 202;
	if (deployment_rollback(r->who, r->params[0], r->params[1], env, to, ret, e) < 0)
		return -1;
	api_note_held(r, *ret);
	return 0;
}

int h_undeploy(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "env", NULL };
	const char *env = NULL;

	if (json_only_keys(r->body, keys, e) < 0 || json_need_string(r->body, "env", &env, e) < 0)
		return -1;
	snprintf(r->audit_object, sizeof(r->audit_object), "undeploy %s/%s from %s", r->params[0],
		 r->params[1], env);
	r->status = 202;
	return deployment_undeploy(r->who, r->params[0], r->params[1], env, ret, e);
}

int h_deployment_list(struct api_req *r, json_t **ret, struct ferr *e)
{
	return deployment_list(r->who, r->params[0], r->params[1], api_query(r, "env"), ret, e);
}

int h_status(struct api_req *r, json_t **ret, struct ferr *e)
{
	return deployment_status(r->who, r->params[0], r->params[1], ret, e);
}

int h_manifests(struct api_req *r, json_t **ret, struct ferr *e)
{
	return manifests_show(r->who, r->params[0], r->params[1], api_query(r, "env"), ret, e);
}

static int deployment_id(struct api_req *r, int64_t *ret, struct ferr *e)
{
	char *end;
	long long id = strtoll(r->params[0], &end, 10);

	if (*end || id <= 0)
		return ferr_invalid(e, "deployment id \"%s\" is not a number", r->params[0]);
	*ret = id;
	return 0;
}

int h_deployment_show(struct api_req *r, json_t **ret, struct ferr *e)
{
	int64_t id;

	if (deployment_id(r, &id, e) < 0)
		return -1;
	return deployment_show(r->who, id, ret, e);
}

/* Following a rollout log until the deployment settles (active, failed,
 * superseded or undeployed). */
struct dep_follow {
	struct principal who;
	int64_t id;
};

static int dep_poll(void *ctx, int64_t after, json_t **ret_lines, json_t **ret_end, struct ferr *e)
{
	struct dep_follow *f = ctx;
	const char *status;
	json_t *dep;

	if (deployment_show(&f->who, f->id, &dep, e) < 0)
		return -1;
	if (deployment_events(&f->who, f->id, after, ret_lines, e) < 0) {
		json_decref(dep);
		return -1;
	}
	status = json_string_value(json_object_get(dep, "status"));
	*ret_end = strcmp(status, "pending") && strcmp(status, "rolling-out")
		? json_pack("{s:s, s:O}", "status", status, "error", json_object_get(dep, "error"))
		: NULL;
	json_decref(dep);
	return 0;
}

static const struct follow_ops dep_follow_ops = { dep_poll, free };

int h_deployment_log(struct api_req *r, json_t **ret, struct ferr *e)
{
	long long after, follow;
	json_t *dep;
	int64_t id;

	if (deployment_id(r, &id, e) < 0 || api_query_int(r, "after", 0, INT64_MAX, 0, &after, e) < 0 ||
	    api_query_int(r, "follow", 0, 1, 0, &follow, e) < 0 || deployment_show(r->who, id, &dep, e) < 0)
		return -1;
	json_decref(dep);
	if (follow) {
		struct dep_follow *f = malloc(sizeof(*f));
		if (!f)
			abort();
		f->who = *r->who;
		f->id = id;
		api_follow(r, &dep_follow_ops, f, after);
		return 0;
	}
	return deployment_events(r->who, id, after, ret, e);
}
