#include "api/handlers.h"

#include "core/component.h"
#include "core/json.h"
#include "lib/strbuf.h"
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

/* "component P/C <what> a,b,c" naming settings, never values; when the
 * names do not fit, their count. */
static void audit_settings(struct api_req *r, const char *what, json_t *names)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	json_t *v;

	strbuf_addf(&sb, "component %s/%s %s ", r->params[0], r->params[1], what);
	json_array_foreach(names, i, v)
		strbuf_addf(&sb, "%s%s", i ? "," : "", json_string_value(v));
	if (!json_array_size(names))
		strbuf_addstr(&sb, "nothing");
	if (sb.len >= sizeof(r->audit_object))
		snprintf(r->audit_object, sizeof(r->audit_object), "component %s/%s %s %zu settings",
			 r->params[0], r->params[1], what, json_array_size(names));
	else
		snprintf(r->audit_object, sizeof(r->audit_object), "%s", sb.buf);
	strbuf_release(&sb);
}

/* Present and not null: the client asks for a change. */
static int given(json_t *b, const char *key)
{
	json_t *v = json_object_get(b, key);
	return v && !json_is_null(v);
}

int h_component_update(struct api_req *r, json_t **ret, struct ferr *e)
{
	/* name and type are accepted only to say that they cannot change */
	static const char *const keys[] = { "name", "type", "repo", "branch", "path", "dockerfile",
		"buildpack", "auto_build", "auto_deploy", "schedule", "timezone", "poll_interval",
		"timeout", "concurrency", "scan_fail_on", NULL };
	struct component_update u = { 0 };
	json_t *b = r->body, *asked = json_array();
	const char *key;
	json_t *v;
	int rc;

	json_object_foreach(b, key, v)
		if (!json_is_null(v))
			json_array_append_new(asked, json_string(key));
	audit_settings(r, "update of", asked);
	json_decref(asked);
	if (json_only_keys(b, keys, e) < 0 || json_get_string(b, "name", &u.name, e) < 0 ||
	    json_get_string(b, "type", &u.type, e) < 0 || json_get_string(b, "repo", &u.repo, e) < 0 ||
	    json_get_string(b, "branch", &u.branch, e) < 0 || json_get_string(b, "path", &u.path, e) < 0 ||
	    json_get_string(b, "dockerfile", &u.dockerfile, e) < 0 ||
	    json_get_string(b, "buildpack", &u.buildpack, e) < 0 ||
	    json_get_bool(b, "auto_build", &u.auto_build, e) < 0 ||
	    json_get_bool(b, "auto_deploy", &u.auto_deploy, e) < 0 ||
	    json_get_string(b, "schedule", &u.schedule, e) < 0 ||
	    json_get_string(b, "timezone", &u.timezone, e) < 0 ||
	    json_get_int(b, "poll_interval", &u.poll_interval, e) < 0 ||
	    json_get_int(b, "timeout", &u.timeout, e) < 0 ||
	    json_get_string(b, "concurrency", &u.concurrency, e) < 0 ||
	    json_get_string(b, "scan_fail_on", &u.scan_fail_on, e) < 0)
		return -1;
	u.set_auto_build = given(b, "auto_build");
	u.set_auto_deploy = given(b, "auto_deploy");
	u.set_poll_interval = given(b, "poll_interval");
	u.set_timeout = given(b, "timeout");
	rc = component_update(r->who, r->params[0], r->params[1], &u, ret, e);
	if (rc == 0)
		audit_settings(r, "changed", json_object_get(*ret, "changed"));
	return rc;
}
