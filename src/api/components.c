#include "api/handlers.h"

#include "core/component.h"
#include "core/json.h"
#include "lib/banned.h"

int h_component_list(struct api_req *r, json_t **ret, struct ferr *e)
{
	return component_list(r->who, r->params[0], ret, e);
}

int h_component_create(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "name", "type", "repo", "branch", "path", "dockerfile",
		"buildpack", "auto_build", "auto_deploy", "schedule", "timezone", "poll_interval",
		"timeout", "concurrency", "scan_fail_on", NULL };
	struct component_spec s = { 0 };
	json_t *b = r->body;

	if (json_only_keys(b, keys, e) < 0 || json_need_string(b, "name", &s.name, e) < 0 ||
	    json_get_string(b, "type", &s.type, e) < 0 || json_need_string(b, "repo", &s.repo, e) < 0 ||
	    json_get_string(b, "branch", &s.branch, e) < 0 || json_get_string(b, "path", &s.path, e) < 0 ||
	    json_get_string(b, "dockerfile", &s.dockerfile, e) < 0 ||
	    json_get_string(b, "buildpack", &s.buildpack, e) < 0 ||
	    json_get_bool(b, "auto_build", &s.auto_build, e) < 0 ||
	    json_get_bool(b, "auto_deploy", &s.auto_deploy, e) < 0 ||
	    json_get_string(b, "schedule", &s.schedule, e) < 0 ||
	    json_get_string(b, "timezone", &s.timezone, e) < 0 ||
	    json_get_int(b, "poll_interval", &s.poll_interval, e) < 0 ||
	    json_get_int(b, "timeout", &s.timeout, e) < 0 ||
	    json_get_string(b, "concurrency", &s.concurrency, e) < 0 ||
	    json_get_string(b, "scan_fail_on", &s.scan_fail_on, e) < 0)
		return -1;
	snprintf(r->audit_object, sizeof(r->audit_object), "component %s/%s", r->params[0], s.name);
	r->status = 201;
	return component_create(r->who, r->params[0], &s, ret, e);
}

int h_component_show(struct api_req *r, json_t **ret, struct ferr *e)
{
	return component_show(r->who, r->params[0], r->params[1], ret, e);
}

int h_component_delete(struct api_req *r, json_t **ret, struct ferr *e)
{
	snprintf(r->audit_object, sizeof(r->audit_object), "component %s/%s", r->params[0], r->params[1]);
	if (component_delete(r->who, r->params[0], r->params[1], e) < 0)
		return -1;
	*ret = json_pack("{s:b}", "deleted", 1);
	return 0;
}
