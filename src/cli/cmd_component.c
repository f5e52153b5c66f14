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

/* --poll-interval, --timeout, --concurrency and --scan-fail-on into body
 * (create and update share them). */
static int task_and_poll_opts(struct opt *opts, json_t *body, struct ferr *e)
{
	char *end;

	if (opt_get(opts, "poll-interval")) {
		long long v = strtoll(opt_get(opts, "poll-interval"), &end, 10);
		if (!*opt_get(opts, "poll-interval") || *end || v < 0)
			return usage_error(e, "--poll-interval takes seconds (0: off)");
		json_object_set_new(body, "poll_interval", json_integer(v));
	}
	if (opt_get(opts, "timeout")) {
		long long v = strtoll(opt_get(opts, "timeout"), &end, 10);
		if (*end || v < 1)
			return usage_error(e, "--timeout takes seconds (a task run is killed after them)");
		json_object_set_new(body, "timeout", json_integer(v));
	}
	if (opt_get(opts, "concurrency"))
		json_object_set_new(body, "concurrency", json_string(opt_get(opts, "concurrency")));
	if (opt_get(opts, "scan-fail-on"))
		json_object_set_new(body, "scan_fail_on", json_string(opt_get(opts, "scan-fail-on")));
	return 0;
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
	if (task_and_poll_opts(opts, body, e) < 0) {
		json_decref(body);
		return -1;
	}
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

/* --X / --no-X into body member key; both at once is a usage error. */
static int switch_pair(struct opt *opts, const char *on, const char *off, const char *key,
		       json_t *body, struct ferr *e)
{
	if (opt_get(opts, on) && opt_get(opts, off))
		return usage_error(e, "give --%s or --%s, not both", on, off);
	if (opt_get(opts, on) || opt_get(opts, off))
		json_object_set_new(body, key, json_boolean(opt_get(opts, on) != NULL));
	return 0;
}

static void show_updated(json_t *c)
{
	json_t *changed = json_object_get(c, "changed");
	size_t i;
	json_t *v;

	show_component(c);
	printf("\nchanged: ");
	json_array_foreach(changed, i, v)
		printf("%s%s", i ? ", " : "", json_string_value(v));
	printf("%s\n", json_array_size(changed) ? "" : "nothing (the settings were already so)");
}

static void show_policy(json_t *j)
{
	json_t *p = json_object_get(j, "policy");
	char *text;

	if (!json_is_object(p)) {
		printf("no rollout policy: plain rolling updates\n");
		return;
	}
	text = json_dumps(p, JSON_COMPACT);
	printf("rollout policy: %s\n", text);
	free(text);
}

int cmd_component_update(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = {
		{ "repo", 1, NULL }, { "branch", 1, NULL }, { "path", 1, NULL },
		{ "dockerfile", 1, NULL }, { "buildpack", 1, NULL },
		{ "auto-build", 0, NULL }, { "no-auto-build", 0, NULL },
		{ "auto-deploy", 0, NULL }, { "no-auto-deploy", 0, NULL },
		{ "schedule", 1, NULL }, { "timezone", 1, NULL }, { "poll-interval", 1, NULL },
		{ "timeout", 1, NULL }, { "concurrency", 1, NULL }, { "scan-fail-on", 1, NULL },
		{ "canary-steps", 1, NULL }, { "canary-pause", 1, NULL }, { "watch", 1, NULL },
		{ "max-5xx-ratio", 1, NULL }, { "max-p95", 1, NULL }, { "max-readiness-failures", 1, NULL },
		{ "min-requests", 1, NULL }, { "no-rollout-policy", 0, NULL },
		{ NULL, 0, NULL },
	};
	static const char *const strings[][2] = {
		{ "repo", "repo" }, { "branch", "branch" }, { "path", "path" },
		{ "dockerfile", "dockerfile" }, { "buildpack", "buildpack" },
		{ "schedule", "schedule" }, { "timezone", "timezone" },
	};
	char path[512];
	json_t *body, *ret, *policy;
	struct args a;
	int rc, remove_policy;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the component as PROJECT/COMPONENT");
	if (cli_rollout_policy_body(opts, &policy, &remove_policy, e) < 0)
		return -1;
	if (policy || remove_policy) {
		int only = 1;
		for (int i = 0; opts[i].name && strcmp(opts[i].name, "canary-steps"); i++)
			only &= !opts[i].value;
		if (!only) {
			json_decref(policy);
			return usage_error(e, "change the rollout policy in a command of its own");
		}
		if (component_api_path(a.pos[0], "/rollout-policy", path, sizeof(path), e) < 0 ||
		    cli_resolve(e) < 0) {
			json_decref(policy);
			return -1;
		}
		return api_call_print(remove_policy ? "DELETE" : "PUT", path, policy, show_policy, e);
	}
	body = json_object();
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (opt_get(opts, strings[i][0]))
			json_object_set_new(body, strings[i][1], json_string(opt_get(opts, strings[i][0])));
	if (switch_pair(opts, "auto-build", "no-auto-build", "auto_build", body, e) < 0 ||
	    switch_pair(opts, "auto-deploy", "no-auto-deploy", "auto_deploy", body, e) < 0 ||
	    task_and_poll_opts(opts, body, e) < 0) {
		json_decref(body);
		return -1;
	}
	if (!json_object_size(body)) {
		json_decref(body);
		return usage_error(e, "nothing to change: give at least one option (see ferry help)");
	}
	if (component_api_path(a.pos[0], "", path, sizeof(path), e) < 0 || cli_resolve(e) < 0) {
		json_decref(body);
		return -1;
	}
	rc = api_call("PATCH", path, body, &ret, e);
	json_decref(body);
	if (rc < 0)
		return -1;
	print_result(ret, show_updated);
	json_decref(ret);
	return 0;
}
