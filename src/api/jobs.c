#include "api/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/follow.h"
#include "core/json.h"
#include "sched/jobqueue.h"
#include "lib/banned.h"

static int job_id(struct api_req *r, int64_t *ret, struct ferr *e)
{
	char *end;
	long long id = strtoll(r->params[0], &end, 10);

	if (*end || id <= 0)
		return ferr_invalid(e, "job id \"%s\" is not a number", r->params[0]);
	*ret = id;
	return 0;
}

/* Only diagnostic jobs can be queued directly; real work (builds, rollouts,
 * executions) is queued by its own API. */
int h_job_create(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "kind", "seconds", "fail", NULL };
	const char *kind = NULL;
	int64_t seconds = 1, id;
	int fail = 0;
	json_t *payload;

	if (auth_require_admin(r->who, e) < 0 || json_only_keys(r->body, keys, e) < 0 ||
	    json_need_string(r->body, "kind", &kind, e) < 0 ||
	    json_get_int(r->body, "seconds", &seconds, e) < 0 || json_get_bool(r->body, "fail", &fail, e) < 0)
		return -1;
	if (strcmp(kind, "sleep") && strcmp(kind, "sleep-once"))
		return ferr_invalid(e, "job kind \"%s\" cannot be queued directly: only the diagnostic kinds \"sleep\" and \"sleep-once\" can", kind);
	if (seconds < 0 || seconds > 3600)
		return ferr_invalid(e, "field \"seconds\" must be from 0 to 3600");
	payload = json_pack("{s:I, s:b}", "seconds", (json_int_t)seconds, "fail", fail);
	id = jobq_submit(kind, payload, 0, r->who->name, e);
	json_decref(payload);
	if (id < 0)
		return -1;
	snprintf(r->audit_object, sizeof(r->audit_object), "job %lld", (long long)id);
	r->status = 202;
	return jobq_show(id, r->who->project_id, ret, e);
}

int h_job_show(struct api_req *r, json_t **ret, struct ferr *e)
{
	int64_t id;

	if (job_id(r, &id, e) < 0)
		return -1;
	return jobq_show(id, r->who->project_id, ret, e);
}

int h_job_cancel(struct api_req *r, json_t **ret, struct ferr *e)
{
	int64_t id;

	if (job_id(r, &id, e) < 0 || auth_require_write(r->who, e) < 0)
		return -1;
	snprintf(r->audit_object, sizeof(r->audit_object), "job %lld", (long long)id);
	if (jobq_cancel(id, r->who->project_id, e) < 0)
		return -1;
	r->status = 202;
	return jobq_show(id, r->who->project_id, ret, e);
}

/* Following a job's log: NDJSON lines {"id","ts","text"} as they are
 * written, then one {"status", "reason"} line when the job has ended. */
struct job_follow {
	int64_t job;
	int64_t scope;
};

static int job_poll(void *ctx, int64_t after, json_t **ret_lines, json_t **ret_end, struct ferr *e)
{
	struct job_follow *f = ctx;
	const char *status;
	json_t *job;

	if (jobq_show(f->job, f->scope, &job, e) < 0)
		return -1;
	if (jobq_log_read(f->job, after, 500, ret_lines, e) < 0) {
		json_decref(job);
		return -1;
	}
	status = json_string_value(json_object_get(job, "status"));
	*ret_end = job_status_final(status)
		? json_pack("{s:s, s:O}", "status", status, "reason", json_object_get(job, "reason"))
		: NULL;
	json_decref(job);
	return 0;
}

static const struct follow_ops job_follow_ops = { job_poll, free };

int h_job_log(struct api_req *r, json_t **ret, struct ferr *e)
{
	long long after, follow;
	json_t *job;
	int64_t id;

	if (job_id(r, &id, e) < 0 || api_query_int(r, "after", 0, INT64_MAX, 0, &after, e) < 0 ||
	    api_query_int(r, "follow", 0, 1, 0, &follow, e) < 0)
		return -1;
	/* Existence and scope first, so a follower of nothing gets a 404. */
	if (jobq_show(id, r->who->project_id, &job, e) < 0)
		return -1;
	json_decref(job);
	if (follow) {
		struct job_follow *f = malloc(sizeof(*f));
		if (!f)
			abort();
		f->job = id;
		f->scope = r->who->project_id;
		api_follow(r, &job_follow_ops, f, after);
		return 0;
	}
	return jobq_log_read(id, after, 0, ret, e);
}
