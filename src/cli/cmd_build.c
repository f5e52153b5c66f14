/* ferry commits, build, builds, build show/cancel, logs build, component
 * deliveries. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

static int parse_id(const char *s, const char *what, long long *ret, struct ferr *e)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*end || v <= 0)
		return usage_error(e, "%s \"%s\" is not a number", what, s);
	*ret = v;
	return 0;
}

/* ---- ferry commits P/C ---------------------------------------------- */

static void list_commits(json_t *rows)
{
	static const struct column cols[] = {
		{ "SHA", "sha" }, { "AUTHOR", "author" }, { "TIME", "time" }, { "MESSAGE", "message" },
		{ NULL, NULL },
	};
	print_table(rows, cols);
}

int cmd_commits(int argc, char **argv, struct ferr *e)
{
	return cli_component_get(argc, argv, "/commits", 1000, list_commits, e);
}

/* ---- builds ---------------------------------------------------------- */

static const char *const build_keys[] = {
	"id", "project", "component", "commit", "status", "digest", "image", "trigger",
	"triggered_by", "error", "created_at", "started_at", "finished_at", NULL,
};

static void show_build(json_t *b)
{
	json_t *steps = json_object_get(b, "steps"), *eps = json_object_get(b, "endpoints");
	json_t *d = json_object_get(b, "descriptor");
	size_t i;
	json_t *v;

	print_fields(b, build_keys);
	print_scan_summary(json_object_get(b, "scan"));
	if (json_array_size(steps)) {
		static const struct column cols[] = {
			{ "STEP", "name" }, { "STATUS", "status" }, { "STARTED", "started_at" },
			{ "FINISHED", "finished_at" }, { "DETAIL", "detail" }, { NULL, NULL },
		};
		printf("\n");
		print_table(steps, cols);
	}
	if (json_is_object(d)) {
		const char *file = json_string_value(json_object_get(d, "file"));
		printf("\ndescriptor  %s (%s)\n", file ? file : "none: defaults",
		       json_string_value(json_object_get(d, "format")));
	}
	if (json_array_size(eps)) {
		printf("\nendpoints:\n");
		json_array_foreach(eps, i, v) {
			json_t *schema = json_object_get(v, "schema");
			const char *bp = json_string_value(json_object_get(v, "base_path"));
			printf("  %s  %s port %lld%s%s", json_string_value(json_object_get(v, "name")),
			       json_string_value(json_object_get(v, "type")),
			       (long long)json_integer_value(json_object_get(v, "port")),
			       bp ? " base path " : "", bp ? bp : "");
			if (json_is_object(schema))
				printf("  %s %s (%s)", json_string_value(json_object_get(schema, "format")),
				       json_string_value(json_object_get(schema, "version")),
				       json_string_value(json_object_get(schema, "path")));
			printf("\n");
		}
	}
}

static void list_builds(json_t *rows)
{
	static const struct column cols[] = {
		{ "ID", "id" }, { "COMMIT", "commit" }, { "STATUS", "status" }, { "TRIGGER", "trigger" },
		{ "CREATED", "created_at" }, { "DIGEST", "digest" }, { NULL, NULL },
	};
	print_table(rows, cols);
}

static int build_final(const char *s)
{
	return s && (!strcmp(s, "succeeded") || !strcmp(s, "failed") || !strcmp(s, "cancelled"));
}

static void ignore_line(json_t *obj, void *arg)
{
	(void)obj;
	(void)arg;
}

/* Waits for the build's end; *ret is its last state. The log's follow
 * stream ends the moment the build does (ferryd wakes its followers), so
 * the wait costs no polling interval; after=MAX asks for the end only,
 * none of the log. A ferryd that closed the stream early (restarted) is
 * polled instead. */
static int wait_build(long long id, json_t **ret, struct ferr *e)
{
	char path[96];
	json_t *end = NULL;

	snprintf(path, sizeof(path), "/api/v1/builds/%lld/log?follow=1&after=%lld", id, (long long)INT64_MAX);
	if (api_follow_lines(path, ignore_line, NULL, &end, e) < 0) {
		if (e->status >= 400 && e->status < 500)
			return -1;
		ferr_clear(e);
	}
	json_decref(end);
	snprintf(path, sizeof(path), "/api/v1/builds/%lld", id);
	for (;;) {
		json_t *b;
		if (api_call("GET", path, NULL, &b, e) < 0)
			return -1;
		if (build_final(json_string_value(json_object_get(b, "status")))) {
			*ret = b;
			return 0;
		}
		json_decref(b);
		usleep(100 * 1000);
	}
}

/* A build that did not succeed fails the command (for --wait). */
static int build_outcome(json_t *b, struct ferr *e)
{
	const char *status = json_string_value(json_object_get(b, "status"));
	const char *err = json_string_value(json_object_get(b, "error"));

	if (status && !strcmp(status, "succeeded"))
		return 0;
	return ferr_set(e, 422, "build_failed", "build %lld %s%s%s",
			(long long)json_integer_value(json_object_get(b, "id")), status ? status : "?",
			err ? ": " : "", err ? err : "");
}

int cmd_build(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "commit", 1, NULL }, { "wait", 0, NULL }, { NULL, 0, NULL } };
	json_t *body, *ret, *done;
	char path[512];
	struct args a;
	int rc;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the component as PROJECT/COMPONENT");
	if (component_api_path(a.pos[0], "/builds", path, sizeof(path), e) < 0 || cli_resolve(e) < 0)
		return -1;
	body = json_pack("{s:s*}", "commit", opt_get(opts, "commit"));
	rc = api_call("POST", path, body, &ret, e);
	json_decref(body);
	if (rc < 0)
		return -1;
	if (!opt_get(opts, "wait")) {
		print_result(ret, show_build);
		json_decref(ret);
		return 0;
	}
	if (!cli.json)
		fprintf(stderr, "build %lld queued; waiting for it to end\n",
			(long long)json_integer_value(json_object_get(ret, "id")));
	rc = wait_build(json_integer_value(json_object_get(ret, "id")), &done, e);
	json_decref(ret);
	if (rc < 0)
		return -1;
	print_result(done, show_build);
	rc = build_outcome(done, e);
	json_decref(done);
	return rc;
}

int cmd_builds(int argc, char **argv, struct ferr *e)
{
	return cli_component_get(argc, argv, "/builds", 500, list_builds, e);
}

int cmd_build_show(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { NULL, 0, NULL } };
	struct args a;
	char path[64];
	long long id = 0;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give one build id");
	if (parse_id(a.pos[0], "build id", &id, e) < 0)
		return -1;
	snprintf(path, sizeof(path), "/api/v1/builds/%lld", id);
	if (cli_resolve(e) < 0 || api_call("GET", path, NULL, &ret, e) < 0)
		return -1;
	print_result(ret, show_build);
	json_decref(ret);
	return 0;
}

int cmd_build_cancel(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "wait", 0, NULL }, { NULL, 0, NULL } };
	struct args a;
	char path[64];
	long long id = 0;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give one build id");
	if (parse_id(a.pos[0], "build id", &id, e) < 0)
		return -1;
	snprintf(path, sizeof(path), "/api/v1/builds/%lld/cancel", id);
	if (cli_resolve(e) < 0 || api_call("POST", path, NULL, &ret, e) < 0)
		return -1;
	if (opt_get(opts, "wait")) {
		json_decref(ret);
		if (wait_build(id, &ret, e) < 0)
			return -1;
	}
	print_result(ret, show_build);
	json_decref(ret);
	return 0;
}

/* ---- ferry logs build ID [--follow] ---------------------------------- */

struct log_state {
	char step[32];
	int failed;
	json_t *end;      /* the final {"status", "error"} line */
};

static void print_log_line(struct log_state *s, json_t *l)
{
	const char *step = json_string_value(json_object_get(l, "step"));
	const char *text = json_string_value(json_object_get(l, "text"));

	if (step && strcmp(step, s->step)) {
		printf("==> %s\n", step);
		snprintf(s->step, sizeof(s->step), "%s", step);
	}
	printf("%s\n", text ? text : "");
}

static int follow_line(const char *text, size_t len, void *arg)
{
	struct log_state *s = arg;
	json_t *l;

	if (len == 0)
		return 0;
	if (cli.json) {
		printf("%.*s\n", (int)len, text);
		fflush(stdout);
	}
	l = json_loadb(text, len, 0, NULL);
	if (!l)
		return 0;
	if (json_object_get(l, "status")) {
		json_decref(s->end);
		s->end = l;
		return 0;
	}
	if (!cli.json) {
		print_log_line(s, l);
		fflush(stdout);
	}
	json_decref(l);
	return 0;
}

int cmd_logs_build(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "follow", 0, NULL }, { NULL, 0, NULL } };
	struct log_state s = { "", 0, NULL };
	struct args a;
	char path[96];
	long long id = 0;
	json_t *ret;
	int rc = 0;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give one build id");
	if (parse_id(a.pos[0], "build id", &id, e) < 0 || cli_resolve(e) < 0)
		return -1;
	if (!opt_get(opts, "follow")) {
		size_t i;
		json_t *l;

		snprintf(path, sizeof(path), "/api/v1/builds/%lld/log", id);
		if (api_call("GET", path, NULL, &ret, e) < 0)
			return -1;
		if (cli.json)
			print_json(ret);
		else
			json_array_foreach(ret, i, l)
				print_log_line(&s, l);
		json_decref(ret);
		return 0;
	}
	snprintf(path, sizeof(path), "/api/v1/builds/%lld/log?follow=1", id);
	if (api_stream(path, follow_line, &s, e) < 0)
		return -1;
	if (!s.end)
		return ferr_set(e, 502, "stream_ended", "the log stream ended before the build did");
	{
		const char *status = json_string_value(json_object_get(s.end, "status"));
		const char *err = json_string_value(json_object_get(s.end, "error"));
		if (!cli.json)
			printf("==> build %lld %s%s%s\n", id, status, err ? ": " : "", err ? err : "");
		if (strcmp(status, "succeeded"))
			rc = ferr_set(e, 422, "build_failed", "build %lld %s%s%s", id, status,
				      err ? ": " : "", err ? err : "");
	}
	json_decref(s.end);
	return rc;
}

/* ---- ferry component deliveries P/C ---------------------------------- */

static void list_deliveries(json_t *rows)
{
	static const struct column cols[] = {
		{ "ID", "id" }, { "RECEIVED", "received_at" }, { "PROVIDER", "provider" },
		{ "EVENT", "event" }, { "VERIFIED", "verified" }, { "STATUS", "status" },
		{ "BUILD", "build" }, { "RESULT", "result" }, { NULL, NULL },
	};
	print_table(rows, cols);
}

int cmd_component_deliveries(int argc, char **argv, struct ferr *e)
{
	return cli_component_get(argc, argv, "/deliveries", 500, list_deliveries, e);
}
