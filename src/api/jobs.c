#include "api/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "lib/strbuf.h"
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

/* Following a log: NDJSON lines {"id","ts","text"} as they are written,
 * then one {"status": ...} line when the job has ended. */
struct follow {
	int64_t job;
	int64_t scope;
	int64_t last;
	struct strbuf pending;
	size_t off;
	int ended;
};

static long follow_read(void *state, char *buf, size_t max)
{
	struct follow *f = state;
	struct ferr e = FERR_INIT;
	json_t *lines, *job = NULL;

	if (f->off == f->pending.len) {
		size_t i;
		json_t *v;
		const char *status;

		if (f->ended)
			return -1;
		strbuf_reset(&f->pending);
		f->off = 0;
		/* Read the status first: lines written before it ended are then
		 * all seen by the read that follows. */
		if (jobq_show(f->job, f->scope, &job, &e) < 0)
			return -1;
		status = json_string_value(json_object_get(job, "status"));
		if (jobq_log_read(f->job, f->last, 500, &lines, &e) < 0) {
			json_decref(job);
			return -1;
		}
		json_array_foreach(lines, i, v) {
			char *s = json_dumps(v, JSON_COMPACT);
			strbuf_addstr(&f->pending, s);
			strbuf_addch(&f->pending, '\n');
			free(s);
			f->last = json_integer_value(json_object_get(v, "id"));
		}
		if (json_array_size(lines) == 0 && job_status_final(status)) {
			json_t *end = json_pack("{s:s, s:O}", "status", status, "reason",
						json_object_get(job, "reason"));
			char *s = json_dumps(end, JSON_COMPACT);
			strbuf_addstr(&f->pending, s);
			strbuf_addch(&f->pending, '\n');
			free(s);
			json_decref(end);
			f->ended = 1;
		}
		json_decref(lines);
		json_decref(job);
		if (f->pending.len == 0) {
			usleep(150 * 1000);
			return 0;
		}
	}
	{
		size_t n = f->pending.len - f->off;
		if (n > max)
			n = max;
		memcpy(buf, f->pending.buf + f->off, n);
		f->off += n;
		return (long)n;
	}
}

static void follow_done(void *state)
{
	struct follow *f = state;

	strbuf_release(&f->pending);
	free(f);
}

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
		struct follow *f = calloc(1, sizeof(*f));
		if (!f)
			abort();
		f->job = id;
		f->scope = r->who->project_id;
		f->last = after;
		strbuf_init(&f->pending, 0);
		r->stream.read = follow_read;
		r->stream.done = follow_done;
		r->stream.state = f;
		return 0;
	}
	return jobq_log_read(id, after, 0, ret, e);
}
