#include "api/handlers.h"

#include "core/json.h"
#include "core/project.h"
#include "lib/banned.h"

int h_project_list(struct api_req *r, json_t **ret, struct ferr *e)
{
	return project_list(r->who, ret, e);
}

int h_project_create(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "name", "environments", NULL };
	const char *envs[PROJECT_MAX_ENVS + 1];
	const char *name = NULL;
	size_t n = 0;
	json_t *list;

	if (json_only_keys(r->body, keys, e) < 0 || json_need_string(r->body, "name", &name, e) < 0)
		return -1;
	list = json_object_get(r->body, "environments");
	if (list && !json_is_null(list)) {
		size_t i;
		json_t *v;
		if (!json_is_array(list))
			return ferr_invalid(e, "field \"environments\" must be an array of names");
		if (json_array_size(list) > PROJECT_MAX_ENVS)
			return ferr_invalid(e, "%zu environments given: at most %d are allowed",
					    json_array_size(list), PROJECT_MAX_ENVS);
		json_array_foreach(list, i, v) {
			if (!json_is_string(v))
				return ferr_invalid(e, "environments[%zu] must be a string", i);
			envs[n++] = json_string_value(v);
		}
		if (n == 0)
			return ferr_invalid(e, "field \"environments\" is empty: a project needs at least one environment");
	}
	snprintf(r->audit_object, sizeof(r->audit_object), "project %s", name);
	snprintf(r->audit_project, sizeof(r->audit_project), "%s", name);
	r->status = 201;
	return project_create(r->who, name, n ? envs : NULL, n, ret, e);
}

int h_project_show(struct api_req *r, json_t **ret, struct ferr *e)
{
	return project_show(r->who, r->params[0], ret, e);
}

int h_env_list(struct api_req *r, json_t **ret, struct ferr *e)
{
	return env_list(r->who, r->params[0], ret, e);
}

int h_env_add(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "name", "after", NULL };
	const char *name = NULL, *after = NULL;

	if (json_only_keys(r->body, keys, e) < 0 || json_need_string(r->body, "name", &name, e) < 0 ||
	    json_need_string(r->body, "after", &after, e) < 0)
		return -1;
	snprintf(r->audit_object, sizeof(r->audit_object), "environment %s/%s", r->params[0], name);
	r->status = 201;
	return env_add(r->who, r->params[0], name, after, ret, e);
}
