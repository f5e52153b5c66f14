#include "api/handlers.h"

#include <stdio.h>

#include "core/gitcreds.h"
#include "core/json.h"
#include "lib/banned.h"

int h_gitcreds_show(struct api_req *r, json_t **ret, struct ferr *e)
{
	return gitcreds_show(r->who, r->params[0], r->params[1], ret, e);
}

int h_gitcreds_set(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "kind", "username", "token", "private_key", "passphrase",
					    "host_fingerprint", NULL };
	struct gitcreds_input in = { 0 };
	json_t *b = r->body;

	snprintf(r->audit_object, sizeof(r->audit_object), "git credentials of %s/%s",
		 r->params[0], r->params[1]);
	if (json_only_keys(b, keys, e) < 0 || json_need_string(b, "kind", &in.kind, e) < 0 ||
	    json_get_string(b, "username", &in.username, e) < 0 ||
	    json_get_string(b, "token", &in.token, e) < 0 ||
	    json_get_string(b, "private_key", &in.private_key, e) < 0 ||
	    json_get_string(b, "passphrase", &in.passphrase, e) < 0 ||
	    json_get_string(b, "host_fingerprint", &in.host_fingerprint, e) < 0)
		return -1;
	return gitcreds_set(r->who, r->params[0], r->params[1], &in, ret, e);
}

int h_gitcreds_unset(struct api_req *r, json_t **ret, struct ferr *e)
{
	snprintf(r->audit_object, sizeof(r->audit_object), "git credentials of %s/%s",
		 r->params[0], r->params[1]);
	if (gitcreds_unset(r->who, r->params[0], r->params[1], e) < 0)
		return -1;
	*ret = json_pack("{s:b}", "removed", 1);
	return 0;
}
