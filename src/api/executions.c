/* Task executions: run, list, show, cancel, log (docs/tasks.md). */
#include "api/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/follow.h"
#include "core/execution.h"
#include "core/json.h"
#include "lib/banned.h"

int h_execution_run(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "env", "args", NULL };
	const char *env = NULL;

	if (json_only_keys(r->body, keys, e) < 0 || json_need_string(r->body, "env", &env, e) < 0)
		return -1;
	snprintf(r->audit_object, sizeof(r->audit_object), "run %s/%s in %s", r->params[0],
		 r->params[1], env);
	r->status = 202;
	return execution_run(r->who, r->params[0], r->params[1], env,
			     r->body ? json_object_get(r->body, "args") : NULL, ret, e);
}

int h_execution_list(struct api_req *r, json_t **ret, struct ferr *e)
{
	long long limit, before, running;

	if (api_query_int(r, "limit", 1, 500, 20, &limit, e) < 0 ||
	    api_query_int(r, "before", 0, INT64_MAX, 0, &before, e) < 0 ||
	    api_query_int(r, "running", 0, 1, 0, &running, e) < 0)
		return -1;
	return execution_list(r->who, r->params[0], r->params[1], api_query(r, "env"), (int)running,
			      (int)limit, before, ret, e);
}

int h_execution_count(struct api_req *r, json_t **ret, struct ferr *e)
{
	return execution_count(r->who, r->params[0], r->params[1], api_query(r, "env"), ret, e);
}

static int execution_id(struct api_req *r, int64_t *ret, struct ferr *e)
{
	char *end;
	long long id = strtoll(r->params[0], &end, 10);

	if (*end || id <= 0)
		return ferr_invalid(e, "execution id \"%s\" is not a number", r->params[0]);
	*ret = id;
	return 0;
}

int h_execution_show(struct api_req *r, json_t **ret, struct ferr *e)
{
	int64_t id;

	if (execution_id(r, &id, e) < 0)
		return -1;
	return execution_show(r->who, id, ret, e);
}

int h_execution_cancel(struct api_req *r, json_t **ret, struct ferr *e)
{
	int64_t id;

	if (execution_id(r, &id, e) < 0)
		return -1;
	snprintf(r->audit_object, sizeof(r->audit_object), "execution %lld", (long long)id);
	r->status = 202;
	return execution_cancel(r->who, id, ret, e);
}

/* Following an execution's output until it ends. */
struct exec_follow {
	struct principal who;
	int64_t id;
};

static int exec_poll(void *ctx, int64_t after, json_t **ret_lines, json_t **ret_end, struct ferr *e)
{
	struct exec_follow *f = ctx;
	const char *status;
	json_t *x;

	/* the state first, then the lines: nothing written before the end is missed */
	if (execution_show(&f->who, f->id, &x, e) < 0)
		return -1;
	if (execution_log_read(&f->who, f->id, after, 1000, ret_lines, e) < 0) {
		json_decref(x);
		return -1;
	}
	status = json_string_value(json_object_get(x, "status"));
	*ret_end = execution_status_final(status) && json_array_size(*ret_lines) < 1000
		? json_pack("{s:s, s:O, s:O}", "status", status, "exit_code",
			    json_object_get(x, "exit_code"), "reason", json_object_get(x, "reason"))
		: NULL;
	json_decref(x);
	return 0;
}

static const struct follow_ops exec_follow_ops = { exec_poll, free };

int h_execution_log(struct api_req *r, json_t **ret, struct ferr *e)
{
	long long after, follow, limit;
	json_t *x;
	int64_t id;

	if (execution_id(r, &id, e) < 0 || api_query_int(r, "after", 0, INT64_MAX, 0, &after, e) < 0 ||
	    api_query_int(r, "follow", 0, 1, 0, &follow, e) < 0 ||
	    api_query_int(r, "limit", 1, 100000, 10000, &limit, e) < 0 ||
	    execution_show(r->who, id, &x, e) < 0)
		return -1;
	json_decref(x);
	if (follow) {
		struct exec_follow *f = malloc(sizeof(*f));
		if (!f)
			abort();
		f->who = *r->who;
		f->id = id;
		api_follow(r, &exec_follow_ops, f, after);
		return 0;
	}
	return execution_log_read(r->who, id, after, (int)limit, ret, e);
}
