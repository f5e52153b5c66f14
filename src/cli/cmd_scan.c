/* ferry scan ID: every finding of a build's scan. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

static void print_summary(json_t *s)
{
	printf("CRITICAL %lld  HIGH %lld  MEDIUM %lld  LOW %lld  UNKNOWN %lld",
	       (long long)json_integer_value(json_object_get(s, "CRITICAL")),
	       (long long)json_integer_value(json_object_get(s, "HIGH")),
	       (long long)json_integer_value(json_object_get(s, "MEDIUM")),
	       (long long)json_integer_value(json_object_get(s, "LOW")),
	       (long long)json_integer_value(json_object_get(s, "UNKNOWN")));
}

void print_scan_summary(json_t *scan)
{
	if (!json_is_object(scan))
		return;
	printf("\nscan        ");
	print_summary(json_object_get(scan, "summary"));
	if (json_integer_value(json_object_get(scan, "suppressed")))
		printf("  (%lld suppressed)", (long long)json_integer_value(json_object_get(scan, "suppressed")));
	printf("\n            %s (fail-on=%s); ferry scan ID lists every finding\n",
	       json_is_true(json_object_get(scan, "passed")) ? "passed" : "FAILED",
	       json_string_value(json_object_get(scan, "fail_on")));
}

/* Secrets show their redacted match where a package would be. */
static void add_display_columns(json_t *rows)
{
	json_t *f;
	size_t i;

	json_array_foreach(rows, i, f) {
		json_t *pkg = json_object_get(f, "package");
		json_t *match = json_object_get(f, "match");
		if (!json_is_string(pkg) && json_is_string(match))
			json_object_set(f, "shown_package", match);
		else
			json_object_set(f, "shown_package", pkg ? pkg : json_null());
	}
}

static void show_scan(json_t *r)
{
	static const struct column cols[] = {
		{ "SEVERITY", "severity" }, { "ID", "id" }, { "PACKAGE", "shown_package" },
		{ "INSTALLED", "installed_version" }, { "FIXED", "fixed_version" },
		{ "WHERE", "where" }, { "TITLE", "title" }, { NULL, NULL },
	};
	static const struct column sup_cols[] = {
		{ "ID", "id" }, { "PACKAGE", "shown_package" }, { "WHERE", "where" },
		{ "SUPPRESSED BY", "suppressed_by" }, { NULL, NULL },
	};
	json_t *findings = json_object_get(r, "findings"), *sup = json_object_get(r, "suppressed");
	json_t *sc, *v;
	size_t i;

	printf("build %lld: ", (long long)json_integer_value(json_object_get(r, "build")));
	print_summary(json_object_get(r, "summary"));
	printf("\n%s (fail-on=%s)", json_is_true(json_object_get(r, "passed")) ? "passed" : "FAILED",
	       json_string_value(json_object_get(r, "fail_on")));
	if (json_is_string(json_object_get(r, "reason")))
		printf(": %s", json_string_value(json_object_get(r, "reason")));
	printf("\n");
	if (json_array_size(findings)) {
		printf("\n");
		add_display_columns(findings);
		print_table(findings, cols);
	} else {
		printf("\nno findings\n");
	}
	if (json_array_size(sup)) {
		printf("\nsuppressed:\n");
		add_display_columns(sup);
		print_table(sup, sup_cols);
	}
	sc = json_object_get(r, "scanners");
	if (json_array_size(sc)) {
		printf("\nscanners:");
		json_array_foreach(sc, i, v)
			printf(" %s %s%s", json_string_value(json_object_get(v, "name")),
			       json_string_value(json_object_get(v, "status")),
			       i + 1 < json_array_size(sc) ? "," : "\n");
	}
}

int cmd_scan(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { NULL, 0, NULL } };
	struct args a;
	char path[64], *end;
	long long id;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give one build id");
	errno = 0;
	id = strtoll(a.pos[0], &end, 10);
	if (errno || *end || id <= 0)
		return usage_error(e, "build id \"%s\" is not a number", a.pos[0]);
	snprintf(path, sizeof(path), "/api/v1/builds/%lld/scan", id);
	if (cli_resolve(e) < 0 || api_call("GET", path, NULL, &ret, e) < 0)
		return -1;
	print_result(ret, show_scan);
	json_decref(ret);
	return 0;
}
