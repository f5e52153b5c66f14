/* The common shape of "ferry X P/C [--limit N]": GET one of a component's
 * resources and print it. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "lib/banned.h"

int cli_component_get(int argc, char **argv, const char *resource, int max_limit,
		      void (*human)(json_t *), struct ferr *e)
{
	struct opt with_limit[] = { { "limit", 1, NULL }, { NULL, 0, NULL } };
	struct opt none[] = { { NULL, 0, NULL } };
	struct opt *opts = max_limit ? with_limit : none;
	char path[512], suffix[160];
	const char *limit_s;
	struct args a;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the component as PROJECT/COMPONENT");
	snprintf(suffix, sizeof(suffix), "%s", resource);
	if (max_limit && (limit_s = opt_get(opts, "limit"))) {
		char *end;
		long long limit = strtoll(limit_s, &end, 10);

		if (*end || limit < 1 || limit > max_limit)
			return usage_error(e, "--limit must be a number from 1 to %d", max_limit);
		snprintf(suffix, sizeof(suffix), "%s?limit=%lld", resource, limit);
	}
	if (component_api_path(a.pos[0], suffix, path, sizeof(path), e) < 0 || cli_resolve(e) < 0 ||
	    api_call("GET", path, NULL, &ret, e) < 0)
		return -1;
	print_result(ret, human);
	json_decref(ret);
	return 0;
}
