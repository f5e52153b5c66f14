/* A project's notification hooks and their delivery log. */
#include "api/handlers.h"

#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/notify.h"
#include "lib/banned.h"

int h_notify_list(struct api_req *r, json_t **ret, struct ferr *e)
{
	return notify_hook_list(r->who, r->params[0], ret, e);
}

int h_notify_create(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "name", "url", "events", "format", "secret", NULL };
	struct notify_hook_input in = { 0 };

	if (json_only_keys(r->body, keys, e) < 0 || json_need_string(r->body, "name", &in.name, e) < 0 ||
	    json_need_string(r->body, "url", &in.url, e) < 0 ||
	    json_get_string(r->body, "format", &in.format, e) < 0 ||
	    json_get_string(r->body, "secret", &in.secret, e) < 0)
		return -1;
	in.events = json_object_get(r->body, "events");
	snprintf(r->audit_object, sizeof(r->audit_object), "notification hook %s/%s", r->params[0], in.name);
	if (notify_hook_create(r->who, r->params[0], &in, ret, e) < 0)
		return -1;
	r->status = 201;
	return 0;
}

int h_notify_delete(struct api_req *r, json_t **ret, struct ferr *e)
{
	snprintf(r->audit_object, sizeof(r->audit_object), "notification hook %s/%s", r->params[0],
		 r->params[1]);
	if (notify_hook_delete(r->who, r->params[0], r->params[1], e) < 0)
		return -1;
	*ret = json_pack("{s:s}", "deleted", r->params[1]);
	return 0;
}

int h_notify_test(struct api_req *r, json_t **ret, struct ferr *e)
{
	snprintf(r->audit_object, sizeof(r->audit_object), "notification hook %s/%s", r->params[0],
		 r->params[1]);
	if (notify_hook_test(r->who, r->params[0], r->params[1], ret, e) < 0)
		return -1;
	r->status = 202;
	return 0;
}

int h_notify_deliveries(struct api_req *r, json_t **ret, struct ferr *e)
{
	long long limit;

	if (api_query_int(r, "limit", 1, 500, 50, &limit, e) < 0)
		return -1;
	return notify_deliveries(r->who, r->params[0], api_query(r, "hook"), (int)limit, ret, e);
}
