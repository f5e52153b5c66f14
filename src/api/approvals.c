/* Approval policies of environments and approval requests. */
#include "api/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/approval.h"
#include "core/json.h"
#include "lib/banned.h"

void api_note_held(struct api_req *r, json_t *ret)
{
	json_t *req = json_object_get(ret, "approval_request");
	size_t len;

	if (!req)
		return;
	r->status = 202;
	len = strlen(r->audit_object);
	snprintf(r->audit_object + len, sizeof(r->audit_object) - len, " (held: approval request %lld)",
		 (long long)json_integer_value(json_object_get(req, "id")));
}

int h_env_update(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "require_approval", "approvers", "approvals", "approval_ttl_s", NULL };
	struct env_approval_policy p = { 0 };
	json_t *list, *v;
	int64_t n = 0, ttl = 0;
	size_t i;

	if (json_only_keys(r->body, keys, e) < 0)
		return -1;
	if (!json_object_get(r->body, "require_approval"))
		return ferr_invalid(e, "nothing to change: give \"require_approval\"");
	if (json_get_bool(r->body, "require_approval", &p.require, e) < 0 ||
	    json_get_int(r->body, "approvals", &n, e) < 0 ||
	    json_get_int(r->body, "approval_ttl_s", &ttl, e) < 0)
		return -1;
	list = json_object_get(r->body, "approvers");
	if (json_is_null(list))
		list = NULL;
	if (!p.require && (list || n || ttl))
		return ferr_invalid(e, "approvers, approvals and the expiry only go with require_approval");
	if (json_is_integer(json_object_get(r->body, "approvals")) && (n < 1 || n > APPROVAL_MAX_COUNT))
		return ferr_invalid(e, "\"approvals\" must be from 1 to %d", APPROVAL_MAX_COUNT);
	if (json_is_integer(json_object_get(r->body, "approval_ttl_s")) && ttl < 1)
		return ferr_invalid(e, "\"approval_ttl_s\" must be at least 1 second");
	p.approvals = (int)n;
	p.ttl_s = ttl;
	if (list) {
		if (!json_is_array(list) || json_array_size(list) > APPROVAL_MAX_APPROVERS - 1)
			return ferr_invalid(e, "\"approvers\" must be an array of at most %d role or token names",
					    APPROVAL_MAX_APPROVERS - 1);
		json_array_foreach(list, i, v) {
			if (!json_is_string(v))
				return ferr_invalid(e, "approvers[%zu] must be a string", i);
			p.approvers[i] = json_string_value(v);
		}
		p.set_approvers = 1;
	}
	snprintf(r->audit_object, sizeof(r->audit_object), "environment %s/%s: approval %s", r->params[0],
		 r->params[1], p.require ? "required" : "not required");
	return env_approval_update(r->who, r->params[0], r->params[1], &p, ret, e);
}

int h_approval_list(struct api_req *r, json_t **ret, struct ferr *e)
{
	long long all;

	if (api_query_int(r, "all", 0, 1, 0, &all, e) < 0)
		return -1;
	return approval_list(r->who, api_query(r, "project"), (int)all, ret, e);
}

static int request_id(struct api_req *r, int64_t *ret, struct ferr *e)
{
	char *end;
	long long id = strtoll(r->params[0], &end, 10);

	if (*end || id <= 0)
		return ferr_invalid(e, "approval request id \"%s\" is not a number", r->params[0]);
	*ret = id;
	snprintf(r->audit_object, sizeof(r->audit_object), "approval request %lld", id);
	approval_project_of(r->who, id, r->audit_project, sizeof(r->audit_project));
	return 0;
}

int h_approval_show(struct api_req *r, json_t **ret, struct ferr *e)
{
	int64_t id;

	if (request_id(r, &id, e) < 0)
		return -1;
	return approval_show(r->who, id, ret, e);
}

int h_approval_approve(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "comment", NULL };
	const char *comment = NULL;
	int64_t id;

	if (request_id(r, &id, e) < 0 || json_only_keys(r->body, keys, e) < 0 ||
	    json_get_string(r->body, "comment", &comment, e) < 0)
		return -1;
	return approval_approve(r->who, id, comment, ret, e);
}

int h_approval_reject(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "reason", NULL };
	const char *reason = NULL;
	int64_t id;

	if (request_id(r, &id, e) < 0 || json_only_keys(r->body, keys, e) < 0 ||
	    json_get_string(r->body, "reason", &reason, e) < 0)
		return -1;
	if (reason) {
		size_t len = strlen(r->audit_object);
		snprintf(r->audit_object + len, sizeof(r->audit_object) - len, ": %s", reason);
	}
	return approval_reject(r->who, id, reason, ret, e);
}
