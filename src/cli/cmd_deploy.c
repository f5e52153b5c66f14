/* ferry deploy, promote, rollback, undeploy, deployments, deployment show,
 * logs deployment, status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

static const char *const deployment_keys[] = {
	"id", "project", "component", "environment", "seq", "status", "cause", "build", "commit",
	"digest", "image", "config_version", "promoted_from", "url", "created_by", "created_at",
	"started_at", "finished_at", "error", NULL,
};

static void show_deployment(json_t *d)
{
	print_fields(d, deployment_keys);
}

static void print_event(json_t *j, void *arg)
{
	(void)arg;
	if (cli.json)
		return;
	printf("%s  %s\n", json_string_value(json_object_get(j, "ts")),
	       json_string_value(json_object_get(j, "text")));
	fflush(stdout);
}

/* Streams the rollout log of deployment id until it settles; prints the
 * lines for people. Returns 0 if it became active, else -1 with e set. */
static int wait_deployment(long long id, struct ferr *e)
{
	char path[96];
	const char *status;
	json_t *end;
	int rc = 0;

	snprintf(path, sizeof(path), "/api/v1/deployments/%lld/log?follow=1", id);
	if (api_follow_lines(path, print_event, NULL, &end, e) < 0)
		return -1;
	status = json_string_value(json_object_get(end, "status"));
	if (strcmp(status, "active")) {
		const char *err = json_string_value(json_object_get(end, "error"));
		rc = ferr_set(e, 422, "deployment_failed", "deployment %lld %s%s%s", id, status,
			      err ? ": " : "", err ? err : "");
	}
	json_decref(end);
	return rc;
}

/* POSTs body to P/C's action and prints the deployment (after waiting). */
static int deployment_action(const char *pc, const char *action, json_t *body, int wait,
			     struct ferr *e)
{
	char path[512];
	json_t *ret;
	long long id;
	int rc = 0;

	if (component_api_path(pc, action, path, sizeof(path), e) < 0 || cli_resolve(e) < 0) {
		json_decref(body);
		return -1;
	}
	rc = api_call("POST", path, body, &ret, e);
	json_decref(body);
	if (rc < 0)
		return -1;
	if (cli_say_held(ret)) {
		/* without --wait the request is the answer; with it, the
		 * deployment it makes once approved */
		id = json_integer_value(json_object_get(json_object_get(ret, "approval_request"), "id"));
		if (!wait) {
			if (cli.json)
				print_json(ret);
			json_decref(ret);
			return 0;
		}
		json_decref(ret);
		if (!cli.json)
			printf("waiting for the decision on approval request %lld\n", id);
		if (cli_wait_approval(id, &id, e) < 0)
			return -1;
		snprintf(path, sizeof(path), "/api/v1/deployments/%lld", id);
		if (api_call("GET", path, NULL, &ret, e) < 0)
			return -1;
	}
	id = json_integer_value(json_object_get(ret, "id"));
	if (!cli.json && json_is_object(json_object_get(ret, "source"))) {
		json_t *src = json_object_get(ret, "source");
		printf("promoting deployment %lld (#%lld in %s, commit %.12s, %s)\n",
		       (long long)json_integer_value(json_object_get(src, "id")),
		       (long long)json_integer_value(json_object_get(src, "seq")),
		       json_string_value(json_object_get(src, "environment")),
		       json_string_value(json_object_get(src, "commit")),
		       json_string_value(json_object_get(src, "digest")));
	}
	if (!cli.json)
		printf("deployment %lld (#%lld in %s): %s\n", id,
		       (long long)json_integer_value(json_object_get(ret, "seq")),
		       json_string_value(json_object_get(ret, "environment")),
		       json_string_value(json_object_get(ret, "status")));
	if (wait) {
		rc = wait_deployment(id, e);
		json_decref(ret);
		snprintf(path, sizeof(path), "/api/v1/deployments/%lld", id);
		if (api_call("GET", path, NULL, &ret, rc < 0 ? NULL : e) < 0)
			return -1;
	}
	if (cli.json)
		print_json(ret);
	else if (wait && rc == 0)
		printf("active: %s\n", json_is_string(json_object_get(ret, "url")) ?
		       json_string_value(json_object_get(ret, "url")) : "(no public endpoint)");
	json_decref(ret);
	return rc;
}

int cmd_deploy(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "build", 1, NULL }, { "wait", 0, NULL }, { NULL, 0, NULL } };
	struct args a;
	long long build = 0;
	char *end;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the component as PROJECT/COMPONENT");
	if (opt_get(opts, "build")) {
		build = strtoll(opt_get(opts, "build"), &end, 10);
		if (*end || build <= 0)
			return usage_error(e, "--build takes a build id (ferry builds lists them)");
	}
	return deployment_action(a.pos[0], "/deploy",
				 build ? json_pack("{s:I}", "build", (json_int_t)build) : json_object(),
				 opt_get(opts, "wait") != NULL, e);
}

int cmd_promote(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "to", 1, NULL }, { "from", 1, NULL }, { "wait", 0, NULL },
			      { "skip-reason", 1, NULL }, { "no-wait", 0, NULL }, { NULL, 0, NULL } };
	struct args a;
	json_t *body;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the component as PROJECT/COMPONENT");
	if (!opt_get(opts, "to"))
		return usage_error(e, "say where to: --to ENV");
	if (opt_get(opts, "wait") && opt_get(opts, "no-wait"))
		return usage_error(e, "--wait and --no-wait exclude each other");
	body = json_pack("{s:s, s:s*, s:s*}", "to", opt_get(opts, "to"), "from", opt_get(opts, "from"),
			 "skip_reason", opt_get(opts, "skip-reason"));
	if (opt_get(opts, "no-wait"))
		json_object_set_new(body, "wait", json_false());
	return deployment_action(a.pos[0], "/promote", body, opt_get(opts, "wait") != NULL, e);
}

int cmd_rollback(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "env", 1, NULL }, { "to", 1, NULL }, { "wait", 0, NULL },
			      { NULL, 0, NULL } };
	struct args a;
	long long to = 0;
	char *end;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the component as PROJECT/COMPONENT");
	if (!opt_get(opts, "env"))
		return usage_error(e, "say which environment: --env ENV");
	if (opt_get(opts, "to")) {
		to = strtoll(opt_get(opts, "to"), &end, 10);
		if (*end || to <= 0)
			return usage_error(e, "--to takes a deployment id (ferry deployments lists them)");
	}
	return deployment_action(a.pos[0], "/rollback",
				 json_pack("{s:s, s:I}", "env", opt_get(opts, "env"), "to", (json_int_t)to),
				 opt_get(opts, "wait") != NULL, e);
}

static void say_undeployed(json_t *j)
{
	printf("undeploying %s/%s from %s (job %lld)\n", json_string_value(json_object_get(j, "project")),
	       json_string_value(json_object_get(j, "component")),
	       json_string_value(json_object_get(j, "environment")),
	       (long long)json_integer_value(json_object_get(j, "job")));
}

int cmd_undeploy(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "env", 1, NULL }, { NULL, 0, NULL } };
	char path[512];
	json_t *body, *ret;
	struct args a;
	int rc;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the component as PROJECT/COMPONENT");
	if (!opt_get(opts, "env"))
		return usage_error(e, "say which environment: --env ENV");
	if (component_api_path(a.pos[0], "/undeploy", path, sizeof(path), e) < 0 || cli_resolve(e) < 0)
		return -1;
	body = json_pack("{s:s}", "env", opt_get(opts, "env"));
	rc = api_call("POST", path, body, &ret, e);
	json_decref(body);
	if (rc < 0)
		return -1;
	print_result(ret, say_undeployed);
	json_decref(ret);
	return 0;
}

static void list_deployments(json_t *rows)
{
	static const struct column cols[] = {
		{ "ID", "id" }, { "ENVIRONMENT", "environment" }, { "SEQ", "seq" },
		{ "STATUS", "status" }, { "CAUSE", "cause" }, { "BUILD", "build" },
		{ "CONFIG", "config_version" }, { "BY", "created_by" }, { "CREATED", "created_at" },
		{ NULL, NULL },
	};
	print_table(rows, cols);
}

int cmd_deployments(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "env", 1, NULL }, { NULL, 0, NULL } };
	char path[512], suffix[160], esc[140];
	struct args a;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the component as PROJECT/COMPONENT");
	snprintf(suffix, sizeof(suffix), "/deployments%s%s", opt_get(opts, "env") ? "?env=" : "",
		 opt_get(opts, "env") ? url_escape(opt_get(opts, "env"), esc, sizeof(esc)) : "");
	if (component_api_path(a.pos[0], suffix, path, sizeof(path), e) < 0 || cli_resolve(e) < 0 ||
	    api_call("GET", path, NULL, &ret, e) < 0)
		return -1;
	print_result(ret, list_deployments);
	json_decref(ret);
	return 0;
}

static int parse_id(const char *s, long long *ret, struct ferr *e)
{
	char *end;

	*ret = strtoll(s, &end, 10);
	if (*end || *ret <= 0)
		return usage_error(e, "\"%s\" is not a deployment id", s);
	return 0;
}

int cmd_deployment_show(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { NULL, 0, NULL } };
	struct args a;
	char path[96];
	long long id;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give one deployment id");
	if (parse_id(a.pos[0], &id, e) < 0 || cli_resolve(e) < 0)
		return -1;
	snprintf(path, sizeof(path), "/api/v1/deployments/%lld", id);
	if (api_call("GET", path, NULL, &ret, e) < 0)
		return -1;
	print_result(ret, show_deployment);
	json_decref(ret);
	return 0;
}

int cmd_logs_deployment(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "follow", 0, NULL }, { NULL, 0, NULL } };
	struct args a;
	char path[96];
	long long id;
	json_t *ret, *l;
	size_t i;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give one deployment id");
	if (parse_id(a.pos[0], &id, e) < 0 || cli_resolve(e) < 0)
		return -1;
	if (opt_get(opts, "follow"))
		return wait_deployment(id, e);
	snprintf(path, sizeof(path), "/api/v1/deployments/%lld/log", id);
	if (api_call("GET", path, NULL, &ret, e) < 0)
		return -1;
	if (cli.json)
		print_json(ret);
	else
		json_array_foreach(ret, i, l)
			printf("%s  %s\n", json_string_value(json_object_get(l, "ts")),
			       json_string_value(json_object_get(l, "text")));
	json_decref(ret);
	return 0;
}

static void show_status(json_t *j)
{
	json_t *envs = json_object_get(j, "environments"), *env;
	size_t i;

	printf("%-14s %-10s %-8s %-13s %-8s %s\n", "ENVIRONMENT", "DEPLOYMENT", "STATUS", "DIGEST",
	       "HEALTHY", "URL");
	json_array_foreach(envs, i, env) {
		json_t *d = json_object_get(env, "deployment");
		const char *digest = d ? json_string_value(json_object_get(d, "digest")) : NULL;
		char dep[32], url[512], dg[20];

		snprintf(dep, sizeof(dep), "%s", "-");
		if (json_is_object(d))
			snprintf(dep, sizeof(dep), "%lld", (long long)json_integer_value(json_object_get(d, "id")));
		snprintf(dg, sizeof(dg), "%.13s", digest ? digest + (strncmp(digest, "sha256:", 7) ? 0 : 7) : "-");
		value_text(json_object_get(env, "url"), url, sizeof(url));
		printf("%-14s %-10s %-8s %-13s %-8s %s\n", json_string_value(json_object_get(env, "name")),
		       dep, json_is_object(d) ? json_string_value(json_object_get(d, "status")) : "-",
		       dg, json_is_object(d) ? (json_is_true(json_object_get(env, "healthy")) ? "yes" : "no") : "-",
		       url);
	}
}

int cmd_status(int argc, char **argv, struct ferr *e)
{
	return cli_component_get(argc, argv, "/status", 0, show_status, e);
}
