/* Builds, commits and webhook deliveries of components. */
#include "api/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/follow.h"
#include "core/build.h"
#include "core/commits.h"
#include "core/json.h"
#include "core/webhook.h"
#include "lib/banned.h"

static int build_id(struct api_req *r, int64_t *ret, struct ferr *e)
{
	char *end;
	long long id = strtoll(r->params[0], &end, 10);

	if (*end || id <= 0)
		return ferr_invalid(e, "build id \"%s\" is not a number", r->params[0]);
	*ret = id;
	return 0;
}

int h_commits(struct api_req *r, json_t **ret, struct ferr *e)
{
	long long limit;

	if (api_query_int(r, "limit", 1, 1000, 50, &limit, e) < 0)
		return -1;
	return commits_list(r->who, r->params[0], r->params[1], (int)limit, ret, e);
}

int h_build_create(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "commit", NULL };
	const char *commit = NULL;

	if (r->body && (json_only_keys(r->body, keys, e) < 0 ||
			json_get_string(r->body, "commit", &commit, e) < 0))
		return -1;
	snprintf(r->audit_object, sizeof(r->audit_object), "component %s/%s%s%s", r->params[0],
		 r->params[1], commit ? " commit " : "", commit ? commit : "");
	if (build_create(r->who, r->params[0], r->params[1], commit, ret, e) < 0)
		return -1;
	r->status = 202;
	return 0;
}

int h_build_list(struct api_req *r, json_t **ret, struct ferr *e)
{
	long long limit;

	if (api_query_int(r, "limit", 1, 500, 50, &limit, e) < 0)
		return -1;
	return build_list(r->who, r->params[0], r->params[1], (int)limit, ret, e);
}

int h_build_show(struct api_req *r, json_t **ret, struct ferr *e)
{
	int64_t id;

	if (build_id(r, &id, e) < 0)
		return -1;
	return build_show(r->who, id, ret, e);
}

int h_build_cancel(struct api_req *r, json_t **ret, struct ferr *e)
{
	int64_t id;

	if (build_id(r, &id, e) < 0)
		return -1;
	snprintf(r->audit_object, sizeof(r->audit_object), "build %lld", (long long)id);
	if (build_cancel(r->who, id, e) < 0)
		return -1;
	r->status = 202;
	return build_show(r->who, id, ret, e);
}

/* Following a build's log: NDJSON lines {"id","ts","step","text"} as they
 * are written, then one {"status", "error"} line once the build ended. */
struct build_follow {
	struct principal who;
	int64_t build;
};

static int build_poll(void *ctx, int64_t after, json_t **ret_lines, json_t **ret_end, struct ferr *e)
{
	struct build_follow *f = ctx;
	json_t *err = NULL;
	char status[16];

	/* Status first: every line written before the build ended is then
	 * seen by the read that follows. */
	if (build_status(f->build, status, &err, e) < 0)
		return -1;
	if (build_log_read(&f->who, f->build, after, 500, ret_lines, e) < 0) {
		json_decref(err);
		return -1;
	}
	*ret_end = build_status_final(status) ? json_pack("{s:s, s:o}", "status", status, "error",
							 err ? err : json_null())
					      : NULL;
	if (!*ret_end)
		json_decref(err);
	return 0;
}

static const struct follow_ops build_follow_ops = { build_poll, free };

int h_build_log(struct api_req *r, json_t **ret, struct ferr *e)
{
	long long after, follow;
	int64_t id;
	json_t *lines;

	if (build_id(r, &id, e) < 0 || api_query_int(r, "after", 0, INT64_MAX, 0, &after, e) < 0 ||
	    api_query_int(r, "follow", 0, 1, 0, &follow, e) < 0)
		return -1;
	/* Existence and scope first, so a follower of nothing gets a 404. */
	if (build_log_read(r->who, id, after, 1, &lines, e) < 0)
		return -1;
	json_decref(lines);
	if (follow) {
		struct build_follow *f = malloc(sizeof(*f));
		if (!f)
			abort();
		f->who = *r->who;
		f->build = id;
		api_follow(r, &build_follow_ops, f, after);
		return 0;
	}
	return build_log_read(r->who, id, after, 0, ret, e);
}

int h_deliveries(struct api_req *r, json_t **ret, struct ferr *e)
{
	long long limit;

	if (api_query_int(r, "limit", 1, 500, 50, &limit, e) < 0)
		return -1;
	return webhook_deliveries(r->who, r->params[0], r->params[1], (int)limit, ret, e);
}
