#include "api/handlers.h"

#include "store/store.h"
#include "lib/banned.h"

int h_healthz(struct api_req *r, json_t **ret, struct ferr *e)
{
	(void)r;
	if (store_exec("SELECT 1", e) < 0)
		return -1;
	*ret = json_pack("{s:s, s:i}", "status", "ok", "schema", store_schema_version());
	return 0;
}
