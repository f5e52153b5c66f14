#include <stdio.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

static void list_audit(json_t *rows)
{
	static const struct column cols[] = {
		{ "TIME", "time" }, { "ACTOR", "actor" }, { "ROLE", "role" }, { "ACTION", "action" },
		{ "OBJECT", "object" }, { "STATUS", "status" }, { "RESULT", "result" }, { NULL, NULL },
	};
	print_table(rows, cols);
}

int cmd_audit(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "project", 1, NULL }, { "limit", 1, NULL }, { NULL, 0, NULL } };
	char path[512], pe[200], le[32];
	struct args a;
	json_t *ret;
	int n;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos)
		return usage_error(e, "audit takes no positional arguments");
	n = snprintf(path, sizeof(path), "/api/v1/audit?limit=%s",
		     url_escape(opt_get(opts, "limit") ? opt_get(opts, "limit") : "100", le, sizeof(le)));
	if (opt_get(opts, "project"))
		snprintf(path + n, sizeof(path) - (size_t)n, "&project=%s",
			 url_escape(opt_get(opts, "project"), pe, sizeof(pe)));
	if (cli_resolve(e) < 0 || api_call("GET", path, NULL, &ret, e) < 0)
		return -1;
	print_result(ret, list_audit);
	json_decref(ret);
	return 0;
}
