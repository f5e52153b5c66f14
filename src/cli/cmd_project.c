#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

static const struct column env_cols[] = {
	{ "RANK", "rank" }, { "ENVIRONMENT", "name" }, { "PRODUCTION", "production" },
	{ "CREATED", "created_at" }, { NULL, NULL },
};

static void show_project(json_t *p)
{
	printf("project %s (created %s)\n\n", json_string_value(json_object_get(p, "name")),
	       json_string_value(json_object_get(p, "created_at")));
	print_table(json_object_get(p, "environments"), env_cols);
}

int cmd_project_create(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "environments", 1, NULL }, { NULL, 0, NULL } };
	json_t *body, *envs = NULL, *ret;
	const char *list;
	struct args a;
	int rc;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give one project name");
	if ((list = opt_get(opts, "environments")))
		envs = args_split_commas(list);
	if (cli_resolve(e) < 0) {
		json_decref(envs);
		return -1;
	}
	body = json_pack("{s:s, s:o*}", "name", a.pos[0], "environments", envs);
	rc = api_call("POST", "/api/v1/projects", body, &ret, e);
	json_decref(body);
	if (rc < 0)
		return -1;
	print_result(ret, show_project);
	json_decref(ret);
	return 0;
}

static void list_projects(json_t *rows)
{
	static const struct column cols[] = {
		{ "PROJECT", "name" }, { "COMPONENTS", "components" }, { "CREATED", "created_at" },
		{ NULL, NULL },
	};
	print_table(rows, cols);
}

int cmd_project_list(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { NULL, 0, NULL } };
	struct args a;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0 || a.npos)
		return usage_error(e, "%s", e->msg[0] ? e->msg : "project list takes no arguments");
	if (cli_resolve(e) < 0 || api_call("GET", "/api/v1/projects", NULL, &ret, e) < 0)
		return -1;
	print_result(ret, list_projects);
	json_decref(ret);
	return 0;
}

int cmd_project_show(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { NULL, 0, NULL } };
	char path[256], esc[200];
	struct args a;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0 || a.npos != 1)
		return usage_error(e, "%s", e->msg[0] ? e->msg : "give one project name");
	snprintf(path, sizeof(path), "/api/v1/projects/%s", url_escape(a.pos[0], esc, sizeof(esc)));
	if (cli_resolve(e) < 0 || api_call("GET", path, NULL, &ret, e) < 0)
		return -1;
	print_result(ret, show_project);
	json_decref(ret);
	return 0;
}

static void list_envs(json_t *rows)
{
	print_table(rows, env_cols);
}

int cmd_env_list(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { NULL, 0, NULL } };
	char path[256], esc[200];
	struct args a;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0 || a.npos != 1)
		return usage_error(e, "%s", e->msg[0] ? e->msg : "give one project name");
	snprintf(path, sizeof(path), "/api/v1/projects/%s/environments", url_escape(a.pos[0], esc, sizeof(esc)));
	if (cli_resolve(e) < 0 || api_call("GET", path, NULL, &ret, e) < 0)
		return -1;
	print_result(ret, list_envs);
	json_decref(ret);
	return 0;
}

int cmd_env_add(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "after", 1, NULL }, { NULL, 0, NULL } };
	char path[256], esc[200];
	json_t *body, *ret;
	struct args a;
	int rc;

	if (args_parse(argc, argv, opts, &a, e) < 0 || a.npos != 2)
		return usage_error(e, "%s", e->msg[0] ? e->msg : "give a project and an environment name");
	if (!opt_get(opts, "after"))
		return usage_error(e, "say where it goes in the promotion line: --after ENV");
	snprintf(path, sizeof(path), "/api/v1/projects/%s/environments", url_escape(a.pos[0], esc, sizeof(esc)));
	if (cli_resolve(e) < 0)
		return -1;
	body = json_pack("{s:s, s:s}", "name", a.pos[1], "after", opt_get(opts, "after"));
	rc = api_call("POST", path, body, &ret, e);
	json_decref(body);
	if (rc < 0)
		return -1;
	print_result(ret, list_envs);
	json_decref(ret);
	return 0;
}
