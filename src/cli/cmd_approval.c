/* ferry env update, approvals, approval show, approve, reject; and how the
 * commands whose change an environment holds for approval say so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

static const char *const request_keys[] = {
	"id", "project", "component", "environment", "action", "summary", "status", "requested_by",
	"approvals_needed", "approvers", "created_at", "expires_at", "decided_at", "reason",
	"deployment", NULL,
};

static void show_request(json_t *r)
{
	json_t *votes = json_object_get(r, "votes"), *v;
	size_t i;

	print_fields(r, request_keys);
	json_array_foreach(votes, i, v) {
		const char *c = json_string_value(json_object_get(v, "comment"));
		printf("  %s %s at %s%s%s\n", json_string_value(json_object_get(v, "by")),
		       !strcmp(json_string_value(json_object_get(v, "decision")), "approve") ? "approved" : "rejected",
		       json_string_value(json_object_get(v, "at")), c ? ": " : "", c ? c : "");
	}
}

int cli_say_held(json_t *ret)
{
	json_t *r = json_object_get(ret, "approval_request");
	long long id = json_integer_value(json_object_get(r, "id"));
	char *who;

	if (!r)
		return 0;
	if (cli.json)
		return 1;
	who = json_dumps(json_object_get(r, "approvers"), JSON_COMPACT);
	printf("held for approval: request %lld: %s\n", id, json_string_value(json_object_get(r, "summary")));
	printf("it needs %lld approval%s from %s, not the requester's: ferry approve %lld"
	       " (expires %s)\n", (long long)json_integer_value(json_object_get(r, "approvals_needed")),
	       json_integer_value(json_object_get(r, "approvals_needed")) == 1 ? "" : "s", who ? who : "?",
	       id, json_string_value(json_object_get(r, "expires_at")));
	free(who);
	return 1;
}

int cli_wait_approval(long long id, long long *ret_deployment, struct ferr *e)
{
	char path[96];
	const char *status;
	json_t *r;

	snprintf(path, sizeof(path), "/api/v1/approvals/%lld", id);
	for (;;) {
		if (api_call("GET", path, NULL, &r, e) < 0)
			return -1;
		status = json_string_value(json_object_get(r, "status"));
		if (strcmp(status, "pending") && strcmp(status, "approving"))
			break;
		json_decref(r);
		sleep(1);
	}
	if (strcmp(status, "approved")) {
		const char *why = json_string_value(json_object_get(r, "reason"));
		ferr_set(e, 409, "not_approved", "approval request %lld %s%s%s", id, status, why ? ": " : "",
			 why ? why : "");
		json_decref(r);
		return -1;
	}
	*ret_deployment = json_integer_value(json_object_get(r, "deployment"));
	json_decref(r);
	return 0;
}

static int parse_duration(const char *s, long long *ret, struct ferr *e)
{
	char *end;
	long long n = strtoll(s, &end, 10), mult = 1;

	if (end == s || n <= 0)
		return usage_error(e, "\"%s\" is not a duration: give a number with s, m, h or d (24h)", s);
	if (!strcmp(end, "s") || !*end)
		mult = 1;
	else if (!strcmp(end, "m"))
		mult = 60;
	else if (!strcmp(end, "h"))
		mult = 3600;
	else if (!strcmp(end, "d"))
		mult = 86400;
	else
		return usage_error(e, "\"%s\" is not a duration: give a number with s, m, h or d (24h)", s);
	*ret = n * mult;
	return 0;
}

static void show_env(json_t *env)
{
	json_t *a = json_object_get(env, "approval");
	char *who;

	if (!json_is_object(a)) {
		printf("%s: no approval needed\n", json_string_value(json_object_get(env, "name")));
		return;
	}
	who = json_dumps(json_object_get(a, "approvers"), JSON_COMPACT);
	printf("%s: changes wait for %lld approval%s from %s; a request expires after %lld s\n",
	       json_string_value(json_object_get(env, "name")),
	       (long long)json_integer_value(json_object_get(a, "approvals")),
	       json_integer_value(json_object_get(a, "approvals")) == 1 ? "" : "s", who ? who : "?",
	       (long long)json_integer_value(json_object_get(a, "ttl_s")));
	free(who);
}

int cmd_env_update(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "require-approval", 0, NULL }, { "no-require-approval", 0, NULL },
			      { "approvers", 1, NULL }, { "approvals", 1, NULL },
			      { "approval-ttl", 1, NULL }, { NULL, 0, NULL } };
	char path[512], pe[140], ee[140];
	long long n = 0, ttl = 0;
	struct args a;
	json_t *body;
	char *end;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 2)
		return usage_error(e, "give the project and the environment: ferry env update P ENV --require-approval");
	if (!!opt_get(opts, "require-approval") == !!opt_get(opts, "no-require-approval"))
		return usage_error(e, "say --require-approval or --no-require-approval");
	if (opt_get(opts, "no-require-approval") &&
	    (opt_get(opts, "approvers") || opt_get(opts, "approvals") || opt_get(opts, "approval-ttl")))
		return usage_error(e, "--approvers, --approvals and --approval-ttl go with --require-approval");
	if (opt_get(opts, "approvals")) {
		n = strtoll(opt_get(opts, "approvals"), &end, 10);
		if (*end || n < 1 || n > 10)
			return usage_error(e, "--approvals takes a number from 1 to 10");
	}
	if (opt_get(opts, "approval-ttl") && parse_duration(opt_get(opts, "approval-ttl"), &ttl, e) < 0)
		return -1;
	body = json_pack("{s:b}", "require_approval", opt_get(opts, "require-approval") != NULL);
	if (opt_get(opts, "approvers"))
		json_object_set_new(body, "approvers", args_split_commas(opt_get(opts, "approvers")));
	if (n)
		json_object_set_new(body, "approvals", json_integer(n));
	if (ttl)
		json_object_set_new(body, "approval_ttl_s", json_integer(ttl));
	snprintf(path, sizeof(path), "/api/v1/projects/%s/environments/%s",
		 url_escape(a.pos[0], pe, sizeof(pe)), url_escape(a.pos[1], ee, sizeof(ee)));
	if (cli_resolve(e) < 0) {
		json_decref(body);
		return -1;
	}
	return api_call_print("PATCH", path, body, show_env, e);
}

static void list_requests(json_t *rows)
{
	static const struct column cols[] = {
		{ "ID", "id" }, { "STATUS", "status" }, { "ENVIRONMENT", "environment" },
		{ "ACTION", "action" }, { "BY", "requested_by" }, { "EXPIRES", "expires_at" },
		{ "WHAT", "summary" }, { NULL, NULL },
	};
	print_table(rows, cols);
}

int cmd_approvals(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "all", 0, NULL }, { NULL, 0, NULL } };
	char path[256], pe[140];
	struct args a;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos > 1)
		return usage_error(e, "give at most one project");
	snprintf(path, sizeof(path), "/api/v1/approvals?all=%d%s%s", opt_get(opts, "all") ? 1 : 0,
		 a.npos ? "&project=" : "", a.npos ? url_escape(a.pos[0], pe, sizeof(pe)) : "");
	if (cli_resolve(e) < 0)
		return -1;
	return api_call_print("GET", path, NULL, list_requests, e);
}

static int request_id(struct args *a, long long *ret, struct ferr *e)
{
	char *end;

	if (a->npos != 1)
		return usage_error(e, "give one approval request id (ferry approvals lists them)");
	*ret = strtoll(a->pos[0], &end, 10);
	if (*end || *ret <= 0)
		return usage_error(e, "\"%s\" is not an approval request id", a->pos[0]);
	return 0;
}

int cmd_approval_show(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { NULL, 0, NULL } };
	struct args a;
	char path[96];
	long long id;

	if (args_parse(argc, argv, opts, &a, e) < 0 || request_id(&a, &id, e) < 0 || cli_resolve(e) < 0)
		return -1;
	snprintf(path, sizeof(path), "/api/v1/approvals/%lld", id);
	return api_call_print("GET", path, NULL, show_request, e);
}

static void say_decided(json_t *r)
{
	const char *status = json_string_value(json_object_get(r, "status"));

	show_request(r);
	if (!strcmp(status, "approved") && json_is_integer(json_object_get(r, "deployment")))
		printf("\napproved: deployment %lld is rolling out (ferry logs deployment %lld --follow)\n",
		       (long long)json_integer_value(json_object_get(r, "deployment")),
		       (long long)json_integer_value(json_object_get(r, "deployment")));
	else if (!strcmp(status, "approved"))
		printf("\napproved: the configuration change is made\n");
	else if (!strcmp(status, "pending"))
		printf("\nrecorded; the request still waits for more approvals\n");
}

static int decide(int argc, char **argv, const char *verb, const char *field, int need,
		  struct ferr *e)
{
	struct opt opts[] = { { field, 1, NULL }, { NULL, 0, NULL } };
	struct args a;
	char path[96];
	long long id;

	if (args_parse(argc, argv, opts, &a, e) < 0 || request_id(&a, &id, e) < 0)
		return -1;
	if (need && !opt_get(opts, field))
		return usage_error(e, "say why with --%s TEXT (it is recorded)", field);
	if (cli_resolve(e) < 0)
		return -1;
	snprintf(path, sizeof(path), "/api/v1/approvals/%lld/%s", id, verb);
	return api_call_print("POST", path, json_pack("{s:s*}", field, opt_get(opts, field)), say_decided, e);
}

int cmd_approve(int argc, char **argv, struct ferr *e)
{
	return decide(argc, argv, "approve", "comment", 0, e);
}

int cmd_reject(int argc, char **argv, struct ferr *e)
{
	return decide(argc, argv, "reject", "reason", 1, e);
}
