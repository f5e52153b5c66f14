/* GET /api/v1/projects/{p}/components/{c}/environments/{e}/logs?follow=0|1:
 * the output of the component's replicas there, as NDJSON lines
 * {"replica", "line"} (core/rollout.h rollout_logs_open). */
#include "api/handlers.h"

#include "core/rollout.h"
#include "lib/banned.h"

static long logs_read(void *state, char *buf, size_t max)
{
	return rollout_logs_read(state, buf, max);
}

static void logs_done(void *state)
{
	rollout_logs_close(state);
}

int h_runtime_logs(struct api_req *r, json_t **ret, struct ferr *e)
{
	struct rollout_logs *s;
	long long follow;

	(void)ret;
	if (api_query_int(r, "follow", 0, 1, 0, &follow, e) < 0)
		return -1;
	if (rollout_logs_open(r->who, r->params[0], r->params[1], r->params[2], (int)follow, &s, e) < 0)
		return -1;
	r->stream.read = logs_read;
	r->stream.done = logs_done;
	r->stream.state = s;
	r->stream.content_type = "application/x-ndjson";
	return 0;
}
