/* ferry metrics P/C --env E [--since 1h]: the gateway's numbers of a
 * component's deployments, per minute, with a small chart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

#define CHART_WIDTH 60

static void print_totals(const char *what, json_t *o)
{
	printf("%s%lld requests, %lld 5xx (%.2f%%), p50 %lld ms, p95 %lld ms, p99 %lld ms\n", what,
	       (long long)json_integer_value(json_object_get(o, "requests")),
	       (long long)json_integer_value(json_object_get(o, "errors_5xx")),
	       100.0 * json_number_value(json_object_get(o, "error_ratio")),
	       (long long)json_integer_value(json_object_get(o, "p50_ms")),
	       (long long)json_integer_value(json_object_get(o, "p95_ms")),
	       (long long)json_integer_value(json_object_get(o, "p99_ms")));
}

/* One bar per minute (all deployments together): its height is the
 * requests, '!' marks a minute with 5xx answers. */
static void chart(json_t *series)
{
	static const char *const blocks[] = { " ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	long long req[CHART_WIDTH] = { 0 }, err[CHART_WIDTH] = { 0 }, max = 0;
	char first[32] = "", last[32] = "";
	const char *prev = NULL;
	int n = -1;
	size_t i;
	json_t *row;

	json_array_foreach(series, i, row) {
		const char *t = json_string_value(json_object_get(row, "t"));
		if (!prev || strcmp(prev, t)) {
			if (n + 1 == CHART_WIDTH) {
				memmove(req, req + 1, sizeof(req) - sizeof(req[0]));
				memmove(err, err + 1, sizeof(err) - sizeof(err[0]));
				req[n] = err[n] = 0;
			} else {
				n++;
			}
			if (!*first || n == 0)
				snprintf(first, sizeof(first), "%s", t);
			snprintf(last, sizeof(last), "%s", t);
			prev = t;
		}
		req[n] += json_integer_value(json_object_get(row, "requests"));
		err[n] += json_integer_value(json_object_get(row, "errors_5xx"));
	}
	if (n < 0)
		return;
	for (int k = 0; k <= n; k++)
		if (req[k] > max)
			max = req[k];
	printf("\nrequests per minute (max %lld; ! = minute with 5xx):\n  ", max);
	for (int k = 0; k <= n; k++)
		printf("%s", blocks[max ? (int)((req[k] * 8 + max - 1) / max) : 0]);
	printf("\n  ");
	for (int k = 0; k <= n; k++)
		printf("%s", err[k] ? "!" : " ");
	printf("\n  %s … %s\n", first, last);
}

static void show_metrics(json_t *m)
{
	json_t *deps = json_object_get(m, "deployments"), *d;
	size_t i;

	printf("%s in %s since %s (per minute)\n", json_string_value(json_object_get(m, "component")),
	       json_string_value(json_object_get(m, "environment")), json_string_value(json_object_get(m, "since")));
	print_totals("all: ", json_object_get(m, "total"));
	json_array_foreach(deps, i, d) {
		char what[96];
		snprintf(what, sizeof(what), "deployment %lld (#%lld, %s): ",
			 (long long)json_integer_value(json_object_get(d, "deployment")),
			 (long long)json_integer_value(json_object_get(d, "seq")),
			 json_string_value(json_object_get(d, "status")));
		print_totals(what, d);
	}
	chart(json_object_get(m, "series"));
}

int cmd_metrics(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "env", 1, NULL }, { "since", 1, NULL }, { NULL, 0, NULL } };
	char suffix[300], ee[140], se[140], path[700];
	struct args a;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1 || !opt_get(opts, "env"))
		return usage_error(e, "give the component and the environment: ferry metrics P/C --env ENV [--since 1h]");
	snprintf(suffix, sizeof(suffix), "/metrics?env=%s%s%s", url_escape(opt_get(opts, "env"), ee, sizeof(ee)),
		 opt_get(opts, "since") ? "&since=" : "",
		 opt_get(opts, "since") ? url_escape(opt_get(opts, "since"), se, sizeof(se)) : "");
	if (component_api_path(a.pos[0], suffix, path, sizeof(path), e) < 0 || cli_resolve(e) < 0)
		return -1;
	return api_call_print("GET", path, NULL, show_metrics, e);
}
