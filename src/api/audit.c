#include "api/handlers.h"

#include "core/audit.h"
#include "lib/banned.h"

int h_audit_list(struct api_req *r, json_t **ret, struct ferr *e)
{
	long long limit;

	if (api_query_int(r, "limit", 1, 1000, 100, &limit, e) < 0)
		return -1;
	return audit_list(r->who, api_query(r, "project"), (int)limit, ret, e);
}
