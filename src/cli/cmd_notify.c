/* ferry notifications create|list|delete|test|deliveries: a project's
 * outgoing webhooks (core/notify.h) and their delivery log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

#define MAX_SECRET 1024

static int hooks_path(const char *project, const char *name, const char *suffix, char *out, size_t size,
		      struct ferr *e)
{
	char pe[200], ne[200];
	int n;

	if (!project || !*project)
		return usage_error(e, "give the project");
	n = snprintf(out, size, "/api/v1/projects/%s/notifications%s%s%s", url_escape(project, pe, sizeof(pe)),
		     name ? "/" : "", name ? url_escape(name, ne, sizeof(ne)) : "", suffix ? suffix : "");
	if (n < 0 || (size_t)n >= size)
		return ferr_invalid(e, "names are too long");
	return 0;
}

/* "ferry notifications VERB P [NAME]": npos words, then method on the
 * hooks path (with NAME and suffix when npos is 2), printed with human. */
static int hook_call(int argc, char **argv, int npos, const char *method, const char *suffix,
		     void (*human)(json_t *), const char *usage, struct ferr *e)
{
	struct opt opts[] = { { NULL, 0, NULL } };
	char path[512];
	struct args a;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != npos)
		return usage_error(e, "%s", usage);
	if (hooks_path(a.pos[0], npos == 2 ? a.pos[1] : NULL, suffix, path, sizeof(path), e) < 0 ||
	    cli_resolve(e) < 0)
		return -1;
	return api_call_print(method, path, NULL, human, e);
}

static void show_hooks(json_t *rows)
{
	static const struct column cols[] = {
		{ "NAME", "name" }, { "URL", "url" }, { "FORMAT", "format" }, { "EVENTS", "events_text" },
		{ "CREATED", "created_at" }, { NULL, NULL },
	};
	size_t i;
	json_t *h;

	json_array_foreach(rows, i, h) {
		char *ev = json_dumps(json_object_get(h, "events"), JSON_COMPACT);
		json_object_set_new(h, "events_text", json_string(ev ? ev : "[]"));
		free(ev);
	}
	print_table(rows, cols);
}

static void show_created(json_t *h)
{
	const char *secret = json_string_value(json_object_get(h, "secret"));
	json_t *rows = json_pack("[O]", h);

	show_hooks(rows);
	json_decref(rows);
	if (secret)
		printf("\nsigning secret (shown once; receivers check X-Ferry-Signature-256 with it):\n%s\n", secret);
}

int cmd_notify_create(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "url", 1, NULL }, { "events", 1, NULL }, { "format", 1, NULL },
			      { "secret-file", 1, NULL }, { NULL, 0, NULL } };
	char path[512];
	struct args a;
	json_t *body;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 2)
		return usage_error(e, "give the project and the hook's name: ferry notifications create P NAME"
				   " --url URL --events E,...");
	if (!opt_get(opts, "url") || !opt_get(opts, "events"))
		return usage_error(e, "give --url URL and --events (a list such as build.failed,deployment.active,"
				   " or all)");
	if (hooks_path(a.pos[0], NULL, NULL, path, sizeof(path), e) < 0 || cli_resolve(e) < 0)
		return -1;
	body = json_pack("{s:s, s:s, s:o}", "name", a.pos[1], "url", opt_get(opts, "url"), "events",
			 args_split_commas(opt_get(opts, "events")));
	if (opt_get(opts, "format"))
		json_object_set_new(body, "format", json_string(opt_get(opts, "format")));
	if (opt_get(opts, "secret-file") &&
	    input_file_member(body, "secret", opt_get(opts, "secret-file"), MAX_SECRET, 1, e) < 0) {
		json_decref(body);
		return -1;
	}
	return api_call_print("POST", path, body, show_created, e);
}

int cmd_notify_list(int argc, char **argv, struct ferr *e)
{
	return hook_call(argc, argv, 1, "GET", NULL, show_hooks, "give the project: ferry notifications list P", e);
}

static void say_deleted(json_t *j)
{
	printf("deleted notification hook %s (and its delivery log)\n",
	       json_string_value(json_object_get(j, "deleted")));
}

int cmd_notify_delete(int argc, char **argv, struct ferr *e)
{
	return hook_call(argc, argv, 2, "DELETE", NULL, say_deleted,
			 "give the project and the hook: ferry notifications delete P NAME", e);
}

static void show_delivery_tries(json_t *d)
{
	json_t *tries = json_object_get(d, "tries"), *t;
	size_t i;

	json_array_foreach(tries, i, t) {
		json_t *code = json_object_get(t, "http_status");
		const char *err = json_string_value(json_object_get(t, "error"));
		printf("    try %lld at %s: ", (long long)json_integer_value(json_object_get(t, "n")),
		       json_string_value(json_object_get(t, "at")));
		if (json_is_integer(code))
			printf("HTTP %lld", (long long)json_integer_value(code));
		else
			printf("no answer");
		printf(" in %lld ms%s%s\n", (long long)json_integer_value(json_object_get(t, "duration_ms")),
		       err && !json_is_integer(code) ? ": " : "", err && !json_is_integer(code) ? err : "");
	}
}

static void show_deliveries(json_t *rows)
{
	size_t i;
	json_t *d;

	if (!json_array_size(rows)) {
		printf("no deliveries\n");
		return;
	}
	json_array_foreach(rows, i, d) {
		const char *next = json_string_value(json_object_get(d, "next_attempt_at"));
		printf("%lld  %s  %s  %s (%s)  %s after %lld tr%s%s%s\n",
		       (long long)json_integer_value(json_object_get(d, "id")),
		       json_string_value(json_object_get(d, "created_at")),
		       json_string_value(json_object_get(d, "hook")),
		       json_string_value(json_object_get(d, "event")),
		       json_string_value(json_object_get(d, "subject")),
		       json_string_value(json_object_get(d, "status")),
		       (long long)json_integer_value(json_object_get(d, "attempts")),
		       json_integer_value(json_object_get(d, "attempts")) == 1 ? "y" : "ies",
		       next ? ", next at " : "", next ? next : "");
		show_delivery_tries(d);
	}
}

static void show_one_delivery(json_t *d)
{
	json_t *rows = json_pack("[O]", d);

	show_deliveries(rows);
	json_decref(rows);
}

int cmd_notify_test(int argc, char **argv, struct ferr *e)
{
	return hook_call(argc, argv, 2, "POST", "/test", show_one_delivery,
			 "give the project and the hook: ferry notifications test P NAME", e);
}

int cmd_notify_deliveries(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "hook", 1, NULL }, { "limit", 1, NULL }, { NULL, 0, NULL } };
	char path[700], pe[200], he[200];
	const char *hook, *limit;
	struct args a;
	int n;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the project: ferry notifications deliveries P [--hook NAME]");
	hook = opt_get(opts, "hook");
	limit = opt_get(opts, "limit");
	n = snprintf(path, sizeof(path), "/api/v1/projects/%s/notification-deliveries?limit=%s%s%s",
		     url_escape(a.pos[0], pe, sizeof(pe)), limit ? limit : "50", hook ? "&hook=" : "",
		     hook ? url_escape(hook, he, sizeof(he)) : "");
	if (n < 0 || (size_t)n >= sizeof(path))
		return ferr_invalid(e, "names are too long");
	if (cli_resolve(e) < 0)
		return -1;
	return api_call_print("GET", path, NULL, show_deliveries, e);
}
