#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

void print_fields(json_t *obj, const char *const *keys)
{
	char cell[1024];
	size_t w = 0;

	for (const char *const *k = keys; *k; k++)
		if (strlen(*k) > w)
			w = strlen(*k);
	for (const char *const *k = keys; *k; k++) {
		json_t *v = json_object_get(obj, *k);
		if (!v)
			continue;
		value_text(v, cell, sizeof(cell));
		printf("%-*s  %s\n", (int)w + 1, *k, cell);
	}
}

static const char *const component_keys[] = {
	"project", "name", "type", "repo", "branch", "path", "dockerfile", "buildpack",
	"auto_build", "auto_deploy", "schedule", "timezone", "timeout", "concurrency",
	"poll_interval", "webhook_url",
	"created_at", NULL,
};

static void show_component(json_t *c)
{
	json_t *next = json_object_get(c, "next_runs");

	print_fields(c, component_keys);
	if (json_is_object(json_object_get(c, "scan_policy")))
		printf("%-15s  fail-on=%s\n", "scan_policy",
		       json_string_value(json_object_get(json_object_get(c, "scan_policy"), "fail_on")));
	if (json_array_size(next)) {
		size_t i;
		json_t *v;
		printf("next runs:\n");
		json_array_foreach(next, i, v)
			printf("  %s\n", json_string_value(v));
	}
}

static void show_created(json_t *c)
{
	show_component(c);
	printf("\nwebhook secret (shown once; configure it in your git host's push webhook):\n  %s\n",
	       json_string_value(json_object_get(c, "webhook_secret")));
}

int cmd_component_create(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = {
		{ "repo", 1, NULL }, { "branch", 1, NULL }, { "path", 1, NULL }, { "type", 1, NULL },
		{ "dockerfile", 1, NULL }, { "buildpack", 1, NULL }, { "auto-build", 0, NULL },
		{ "auto-deploy", 0, NULL }, { "schedule", 1, NULL }, { "timezone", 1, NULL },
		{ "poll-interval", 1, NULL }, { "timeout", 1, NULL }, { "concurrency", 1, NULL },
		{ "scan-fail-on", 1, NULL }, { NULL, 0, NULL },
	};
	char p[64], c[64], path[256], esc[200];
	json_t *body, *ret;
	struct args a;
	int rc;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the component as PROJECT/COMPONENT");
	if (!opt_get(opts, "repo"))
		return usage_error(e, "a repository is required: --repo URL");
	if (split_pc(a.pos[0], p, c, e) < 0 || cli_resolve(e) < 0)
		return -1;
	snprintf(path, sizeof(path), "/api/v1/projects/%s/components", url_escape(p, esc, sizeof(esc)));
	body = json_pack("{s:s, s:s, s:s*, s:s*, s:s*, s:s*, s:s*, s:b, s:b, s:s*, s:s*}",
			 "name", c, "repo", opt_get(opts, "repo"),
			 "branch", opt_get(opts, "branch"), "path", opt_get(opts, "path"),
			 "type", opt_get(opts, "type"), "dockerfile", opt_get(opts, "dockerfile"),
			 "buildpack", opt_get(opts, "buildpack"),
			 "auto_build", opt_get(opts, "auto-build") != NULL,
			 "auto_deploy", opt_get(opts, "auto-deploy") != NULL,
			 "schedule", opt_get(opts, "schedule"), "timezone", opt_get(opts, "timezone"));
	if (opt_get(opts, "poll-interval")) {
		char *end;
		long long v = strtoll(opt_get(opts, "poll-interval"), &end, 10);
		if (*end || v < 0) {
			json_decref(body);
			return usage_error(e, "--poll-interval takes seconds (0: off)");
		}
		json_object_set_new(body, "poll_interval", json_integer(v));
	}
	if (opt_get(opts, "timeout")) {
		char *end;
		long long v = strtoll(opt_get(opts, "timeout"), &end, 10);
		if (*end || v < 1) {
			json_decref(body);
			return usage_error(e, "--timeout takes seconds (a task run is killed after them)");
		}
		json_object_set_new(body, "timeout", json_integer(v));
	}
	if (opt_get(opts, "concurrency"))
		json_object_set_new(body, "concurrency", json_string(opt_get(opts, "concurrency")));
	if (opt_get(opts, "scan-fail-on"))
		json_object_set_new(body, "scan_fail_on", json_string(opt_get(opts, "scan-fail-on")));
	rc = api_call("POST", path, body, &ret, e);
	json_decref(body);
	if (rc < 0)
		return -1;
	print_result(ret, show_created);
	json_decref(ret);
	return 0;
}

static void list_components(json_t *rows)
{
	static const struct column cols[] = {
		{ "COMPONENT", "name" }, { "TYPE", "type" }, { "REPOSITORY", "repo" },
		{ "BRANCH", "branch" }, { "AUTO-BUILD", "auto_build" }, { "AUTO-DEPLOY", "auto_deploy" },
		{ NULL, NULL },
	};
	print_table(rows, cols);
}

int cmd_component_list(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { NULL, 0, NULL } };
	char path[256], esc[200];
	struct args a;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give one project name");
	snprintf(path, sizeof(path), "/api/v1/projects/%s/components", url_escape(a.pos[0], esc, sizeof(esc)));
	if (cli_resolve(e) < 0 || api_call("GET", path, NULL, &ret, e) < 0)
		return -1;
	print_result(ret, list_components);
	json_decref(ret);
	return 0;
}

int cmd_component_show(int argc, char **argv, struct ferr *e)
{
	return cli_component_get(argc, argv, "", 0, show_component, e);
}

static void say_deleted(json_t *j)
{
	(void)j;
	printf("deleted\n");
}

int cmd_component_delete(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { NULL, 0, NULL } };
	struct args a;
	char path[512];
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the component as PROJECT/COMPONENT");
	if (component_api_path(a.pos[0], "", path, sizeof(path), e) < 0 || cli_resolve(e) < 0 ||
	    api_call("DELETE", path, NULL, &ret, e) < 0)
		return -1;
	print_result(ret, say_deleted);
	json_decref(ret);
	return 0;
}
