#include "api/handlers.h"

#include "core/component.h"
#include "core/json.h"
#include "lib/strbuf.h"
#include "lib/banned.h"

int h_component_list(struct api_req *r, json_t **ret, struct ferr *e)
{
	return component_list(r->who, r->params[0], ret, e);
}

/* The settings of a component in a request body, the same for create and
 * update: each member is read into where its pointer says (absent members
 * leave it untouched). */
static const char *const setting_keys[] = { "name", "type", "repo", "branch", "path",
	"dockerfile", "buildpack", "auto_build", "auto_deploy", "schedule", "timezone",
	"poll_interval", "timeout", "concurrency", "scan_fail_on", NULL };

struct settings {
	const char **name, **type, **repo, **branch, **path, **dockerfile, **buildpack;
	int *auto_build, *auto_deploy;
	const char **schedule, **timezone;
	int64_t *poll_interval, *timeout;
	const char **concurrency, **scan_fail_on;
};

static int read_settings(json_t *b, const struct settings *t, struct ferr *e)
{
	if (json_only_keys(b, setting_keys, e) < 0 || json_get_string(b, "name", t->name, e) < 0 ||
	    json_get_string(b, "type", t->type, e) < 0 || json_get_string(b, "repo", t->repo, e) < 0 ||
	    json_get_string(b, "branch", t->branch, e) < 0 || json_get_string(b, "path", t->path, e) < 0 ||
	    json_get_string(b, "dockerfile", t->dockerfile, e) < 0 ||
	    json_get_string(b, "buildpack", t->buildpack, e) < 0 ||
	    json_get_bool(b, "auto_build", t->auto_build, e) < 0 ||
	    json_get_bool(b, "auto_deploy", t->auto_deploy, e) < 0 ||
	    json_get_string(b, "schedule", t->schedule, e) < 0 ||
	    json_get_string(b, "timezone", t->timezone, e) < 0 ||
	    json_get_int(b, "poll_interval", t->poll_interval, e) < 0 ||
	    json_get_int(b, "timeout", t->timeout, e) < 0 ||
	    json_get_string(b, "concurrency", t->concurrency, e) < 0 ||
	    json_get_string(b, "scan_fail_on", t->scan_fail_on, e) < 0)
		return -1;
	return 0;
}

#define SETTINGS_OF(x) { &(x).name, &(x).type, &(x).repo, &(x).branch, &(x).path, \
	&(x).dockerfile, &(x).buildpack, &(x).auto_build, &(x).auto_deploy, &(x).schedule, \
	&(x).timezone, &(x).poll_interval, &(x).timeout, &(x).concurrency, &(x).scan_fail_on }

int h_component_create(struct api_req *r, json_t **ret, struct ferr *e)
{
	struct component_spec s = { 0 };
	const struct settings t = SETTINGS_OF(s);

	if (read_settings(r->body, &t, e) < 0)
		return -1;
	if (!s.name)
		return ferr_invalid(e, "field \"name\" is required");
	if (!s.repo)
		return ferr_invalid(e, "field \"repo\" is required");
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
	struct component_update u = { 0 };
	const struct settings t = SETTINGS_OF(u);
	json_t *b = r->body, *asked = json_array();
	const char *key;
	json_t *v;
	int rc;

	json_object_foreach(b, key, v)
		if (!json_is_null(v))
			json_array_append_new(asked, json_string(key));
	audit_settings(r, "update of", asked);
	json_decref(asked);
	if (read_settings(b, &t, e) < 0)
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
