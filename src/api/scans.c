/* The scan report of a build: GET /api/v1/builds/{id}/scan. */
#include <errno.h>
#include <stdlib.h>

#include "api/handlers.h"
#include "core/build.h"
#include "lib/banned.h"

int h_build_scan(struct api_req *r, json_t **ret, struct ferr *e)
{
	char *end;
	long long id;

	errno = 0;
	id = strtoll(r->params[0], &end, 10);
	if (errno || *end || id <= 0)
		return ferr_notfound(e, "build %s not found", r->params[0]);
	return build_scan_report(r->who, id, ret, e);
}
