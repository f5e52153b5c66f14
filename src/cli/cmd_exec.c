/* ferry run, executions, execution show, execution cancel, logs execution
 * (task components; docs/tasks.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

static int parse_exec_id(const char *s, long long *ret, struct ferr *e)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*end || v <= 0)
		return usage_error(e, "\"%s\" is not an execution id", s);
	*ret = v;
	return 0;
}

static const char *const execution_keys[] = {
	"id", "project", "component", "environment", "status", "exit_code", "trigger",
	"triggered_by", "triggered_at", "scheduled_for", "deployment", "commit", "args", "timeout",
	"started_at", "finished_at", "reason", NULL,
};

static void show_execution(json_t *x)
{
	print_fields(x, execution_keys);
}

static void print_output(json_t *j, void *arg)
{
	json_t *l = json_object_get(j, "line");

	if (!*(int *)arg)
		return;
	fwrite(json_string_value(l), 1, json_string_length(l), stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

/* Streams execution id's output (follow) to stdout for people when print;
 * *ret_end gets the final {"status", "exit_code", "reason"}. */
static int follow_log(long long id, int print, json_t **ret_end, struct ferr *e)
{
	char path[96];

	snprintf(path, sizeof(path), "/api/v1/executions/%lld/log?follow=1", id);
	return api_follow_lines(path, print_output, &print, ret_end, e);
}

static int fail_unless_succeeded(json_t *x, struct ferr *e)
{
	const char *status = json_string_value(json_object_get(x, "status"));
	json_t *code = json_object_get(x, "exit_code");
	const char *reason = json_string_value(json_object_get(x, "reason"));
	char c[32] = "";

	if (status && !strcmp(status, "succeeded"))
		return 0;
	if (json_is_integer(code))
		snprintf(c, sizeof(c), " with exit code %lld", (long long)json_integer_value(code));
	return ferr_set(e, 422, "execution_failed", "execution %lld %s%s%s%s",
			(long long)json_integer_value(json_object_get(x, "id")), status ? status : "?", c,
			reason ? ": " : "", reason ? reason : "");
}

int cmd_run(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "env", 1, NULL }, { "wait", 0, NULL }, { NULL, 0, NULL } };
	struct args a;
	char path[512];
	json_t *body, *ret, *args;
	long long id;
	int rc;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the task as PROJECT/COMPONENT");
	if (!opt_get(opts, "env"))
		return usage_error(e, "say where to run it: --env ENVIRONMENT");
	if (component_api_path(a.pos[0], "/executions", path, sizeof(path), e) < 0 || cli_resolve(e) < 0)
		return -1;
	body = json_pack("{s:s}", "env", opt_get(opts, "env"));
	if (a.rest) {
		args = json_array();
		for (int i = 0; i < a.nrest; i++)
			json_array_append_new(args, json_string(a.rest[i]));
		json_object_set_new(body, "args", args);
	}
	rc = api_call("POST", path, body, &ret, e);
	json_decref(body);
	if (rc < 0)
		return -1;
	id = json_integer_value(json_object_get(ret, "id"));
	if (!cli.json)
		printf("execution %lld of %s in %s (deployment %lld): %s\n", id, a.pos[0],
		       opt_get(opts, "env"), (long long)json_integer_value(json_object_get(ret, "deployment")),
		       json_string_value(json_object_get(ret, "status")));
	if (opt_get(opts, "wait")) {
		json_t *end = NULL;
		if (!cli.json)
			fflush(stdout);
		rc = follow_log(id, !cli.json, &end, e);
		json_decref(end);
		json_decref(ret);
		if (rc < 0)
			return -1;
		snprintf(path, sizeof(path), "/api/v1/executions/%lld", id);
		if (api_call("GET", path, NULL, &ret, e) < 0)
			return -1;
		if (cli.json)
			print_json(ret);
		else
			printf("execution %lld %s\n", id, json_string_value(json_object_get(ret, "status")));
		rc = fail_unless_succeeded(ret, e);
		json_decref(ret);
		return rc;
	}
	if (cli.json)
		print_json(ret);
	json_decref(ret);
	return 0;
}

static void list_executions(json_t *j)
{
	static const struct column cols[] = {
		{ "ID", "id" }, { "ENVIRONMENT", "environment" }, { "STATUS", "status" },
		{ "EXIT", "exit_code" }, { "TRIGGER", "trigger" }, { "BY", "triggered_by" },
		{ "TRIGGERED", "triggered_at" }, { "DEPLOYMENT", "deployment" }, { "COMMIT", "commit" },
		{ "FINISHED", "finished_at" }, { NULL, NULL },
	};
	json_t *rows = json_object_get(j, "executions");

	print_table(rows, cols);
	printf("\n%lld execution%s in the last 30 days\n",
	       (long long)json_integer_value(json_object_get(j, "last_30_days")),
	       json_integer_value(json_object_get(j, "last_30_days")) == 1 ? "" : "s");
	if (json_array_size(rows)) {
		json_t *last = json_array_get(rows, json_array_size(rows) - 1);
		printf("(older: --before %lld)\n", (long long)json_integer_value(json_object_get(last, "id")));
	}
}

int cmd_executions(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "env", 1, NULL }, { "running", 0, NULL }, { "limit", 1, NULL },
			      { "before", 1, NULL }, { NULL, 0, NULL } };
	struct args a;
	char path[768], q[256] = "", esc[200];
	json_t *ret;
	size_t n = 0;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the task as PROJECT/COMPONENT");
	if (opt_get(opts, "env"))
		n += (size_t)snprintf(q + n, sizeof(q) - n, "&env=%s",
				      url_escape(opt_get(opts, "env"), esc, sizeof(esc)));
	if (opt_get(opts, "running") && n < sizeof(q))
		n += (size_t)snprintf(q + n, sizeof(q) - n, "&running=1");
	if (opt_get(opts, "limit") && n < sizeof(q))
		n += (size_t)snprintf(q + n, sizeof(q) - n, "&limit=%s",
				      url_escape(opt_get(opts, "limit"), esc, sizeof(esc)));
	if (opt_get(opts, "before") && n < sizeof(q))
		n += (size_t)snprintf(q + n, sizeof(q) - n, "&before=%s",
				      url_escape(opt_get(opts, "before"), esc, sizeof(esc)));
	if (n >= sizeof(q))
		return usage_error(e, "options too long");
	if (n)
		q[0] = '?';
	if (component_api_path(a.pos[0], "/executions", path, sizeof(path), e) < 0 || cli_resolve(e) < 0)
		return -1;
	if (strlen(path) + strlen(q) + 1 > sizeof(path))
		return usage_error(e, "options too long");
	memcpy(path + strlen(path), q, strlen(q) + 1);
	if (api_call("GET", path, NULL, &ret, e) < 0)
		return -1;
	print_result(ret, list_executions);
	json_decref(ret);
	return 0;
}

static int one_id(int argc, char **argv, struct opt *opts, long long *id, struct ferr *e)
{
	struct args a;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give one execution id");
	if (parse_exec_id(a.pos[0], id, e) < 0 || cli_resolve(e) < 0)
		return -1;
	return 0;
}

int cmd_execution_show(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { NULL, 0, NULL } };
	char path[96];
	long long id;
	json_t *ret;

	if (one_id(argc, argv, opts, &id, e) < 0)
		return -1;
	snprintf(path, sizeof(path), "/api/v1/executions/%lld", id);
	if (api_call("GET", path, NULL, &ret, e) < 0)
		return -1;
	print_result(ret, show_execution);
	json_decref(ret);
	return 0;
}

int cmd_execution_cancel(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "wait", 0, NULL }, { NULL, 0, NULL } };
	char path[96];
	long long id;
	json_t *ret;

	if (one_id(argc, argv, opts, &id, e) < 0)
		return -1;
	snprintf(path, sizeof(path), "/api/v1/executions/%lld/cancel", id);
	if (api_call("POST", path, json_object(), &ret, e) < 0)
		return -1;
	if (opt_get(opts, "wait")) {
		json_t *end = NULL;
		json_decref(ret);
		if (follow_log(id, 0, &end, e) < 0)
			return -1;
		json_decref(end);
		snprintf(path, sizeof(path), "/api/v1/executions/%lld", id);
		if (api_call("GET", path, NULL, &ret, e) < 0)
			return -1;
	}
	if (cli.json)
		print_json(ret);
	else
		printf("execution %lld: %s%s\n", id, json_string_value(json_object_get(ret, "status")),
		       opt_get(opts, "wait") ? "" : " (cancel requested)");
	json_decref(ret);
	return 0;
}

int cmd_logs_execution(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "follow", 0, NULL }, { NULL, 0, NULL } };
	char path[128];
	long long id;
	json_t *ret, *l;
	size_t i;

	if (one_id(argc, argv, opts, &id, e) < 0)
		return -1;
	if (opt_get(opts, "follow") && !cli.json) {
		json_t *end = NULL;
		if (follow_log(id, 1, &end, e) < 0)
			return -1;
		json_decref(end);
		return 0;
	}
	snprintf(path, sizeof(path), "/api/v1/executions/%lld/log?limit=100000", id);
	if (opt_get(opts, "follow")) {
		/* --json --follow: one document once it ended */
		json_t *end = NULL;
		if (follow_log(id, 0, &end, e) < 0)
			return -1;
		json_decref(end);
	}
	if (api_call("GET", path, NULL, &ret, e) < 0)
		return -1;
	if (cli.json) {
		print_json(ret);
	} else {
		json_array_foreach(ret, i, l) {
			json_t *t = json_object_get(l, "line");
			fwrite(json_string_value(t), 1, json_string_length(t), stdout);
			fputc('\n', stdout);
		}
	}
	json_decref(ret);
	return 0;
}
