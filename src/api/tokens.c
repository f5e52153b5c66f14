#include "api/handlers.h"

#include <sodium.h>
#include <stdlib.h>

#include "core/json.h"
#include "lib/banned.h"

int h_token_list(struct api_req *r, json_t **ret, struct ferr *e)
{
	return token_list(r->who, ret, e);
}

int h_token_create(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "name", "role", "project", NULL };
	const char *name = NULL, *role_s = NULL, *project = NULL;
	char token[TOKEN_LEN + 1];
	enum role role;

	if (json_only_keys(r->body, keys, e) < 0 || json_need_string(r->body, "role", &role_s, e) < 0 ||
	    json_get_string(r->body, "name", &name, e) < 0 ||
	    json_get_string(r->body, "project", &project, e) < 0 || role_parse(role_s, &role, e) < 0)
		return -1;
	if (!name)
		name = role_s;
	snprintf(r->audit_object, sizeof(r->audit_object), "token %s (%s%s%s)", name, role_s,
		 project ? ", project " : "", project ? project : "");
	if (token_create(r->who, name, role, project, token, ret, e) < 0)
		return -1;
	/* Shown once, here, and never stored or logged. */
	json_object_set_new(*ret, "token", json_string(token));
	sodium_memzero(token, sizeof(token));
	r->status = 201;
	return 0;
}

int h_token_revoke(struct api_req *r, json_t **ret, struct ferr *e)
{
	char *end;
	long long id = strtoll(r->params[0], &end, 10);

	if (*end || id <= 0)
		return ferr_invalid(e, "token id \"%s\" is not a number", r->params[0]);
	snprintf(r->audit_object, sizeof(r->audit_object), "token %lld", id);
	if (token_revoke(r->who, id, e) < 0)
		return -1;
	*ret = json_pack("{s:I, s:b}", "id", (json_int_t)id, "revoked", 1);
	return 0;
}

int h_whoami(struct api_req *r, json_t **ret, struct ferr *e)
{
	(void)e;
	*ret = json_pack("{s:I, s:s, s:s, s:b}", "token_id", (json_int_t)r->who->token_id,
			 "name", r->who->name, "role", role_name(r->who->role),
			 "scoped", r->who->project_id != 0);
	return 0;
}
