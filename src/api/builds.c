/* Builds, commits and webhook deliveries of components. */
#include "api/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/build.h"
#include "core/commits.h"
#include "core/json.h"
#include "core/webhook.h"
#include "lib/strbuf.h"
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
 * are written, then one {"status", "error"} line once the build ended. A
 * step can be silent for minutes (a long RUN): an empty line every
 * HEARTBEAT_S keeps the connection from looking idle to proxies and to the
 * server's own connection timeout; readers skip empty lines. */
#define HEARTBEAT_S 15

struct follow {
	struct principal who;
	int64_t build;
	int64_t last;
	struct strbuf pending;
	size_t off;
	int ended;
	time_t last_sent;
};

static long follow_read(void *state, char *buf, size_t max)
{
	struct follow *f = state;

	if (f->off == f->pending.len) {
		struct ferr e = FERR_INIT;
		json_t *lines = NULL, *err = NULL, *v;
		char status[16];
		size_t i;

		if (f->ended)
			return -1;
		strbuf_reset(&f->pending);
		f->off = 0;
		/* Status first: every line written before the build ended is then
		 * seen by the read that follows. */
		if (build_status(f->build, status, &err, &e) < 0 ||
		    build_log_read(&f->who, f->build, f->last, 500, &lines, &e) < 0) {
			json_decref(err);
			return -1;
		}
		json_array_foreach(lines, i, v) {
			char *s = json_dumps(v, JSON_COMPACT);
			strbuf_addstr(&f->pending, s);
			strbuf_addch(&f->pending, '\n');
			free(s);
			f->last = json_integer_value(json_object_get(v, "id"));
		}
		if (json_array_size(lines) == 0 && build_status_final(status)) {
			json_t *end = json_pack("{s:s, s:O}", "status", status, "error", err);
			char *s = json_dumps(end, JSON_COMPACT);
			strbuf_addstr(&f->pending, s);
			strbuf_addch(&f->pending, '\n');
			free(s);
			json_decref(end);
			f->ended = 1;
		}
		json_decref(lines);
		json_decref(err);
		if (f->pending.len == 0 && time(NULL) - f->last_sent >= HEARTBEAT_S)
			strbuf_addch(&f->pending, '\n');
		if (f->pending.len == 0) {
			usleep(100 * 1000);
			return 0;
		}
		f->last_sent = time(NULL);
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
		struct follow *f = calloc(1, sizeof(*f));
		if (!f)
			abort();
		f->who = *r->who;
		f->build = id;
		f->last = after;
		f->last_sent = time(NULL);
		strbuf_init(&f->pending, 0);
		r->stream.read = follow_read;
		r->stream.done = follow_done;
		r->stream.state = f;
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
