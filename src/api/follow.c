#include "api/follow.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "lib/wake.h"
#include "lib/banned.h"

/* Sources that call wake_all() (lib/wake.h) are read again at once; the
 * others at this interval. */
#define POLL_INTERVAL_MS 100
/* A source can be silent for minutes (a long RUN step, a quiet task): an
 * empty line every HEARTBEAT_S keeps the connection from looking idle to
 * proxies and to the server's own connection timeout. Readers skip empty
 * lines. */
#define HEARTBEAT_S 15

struct follow {
	const struct follow_ops *ops;
	void *ctx;
	int64_t last;
	struct strbuf pending;
	size_t off;
	int ended;
	time_t last_sent;
};

static void add_line(struct strbuf *sb, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);

	strbuf_addstr(sb, s);
	strbuf_addch(sb, '\n');
	free(s);
}

static long follow_read(void *state, char *buf, size_t max)
{
	struct follow *f = state;
	size_t n;

	if (f->off == f->pending.len) {
		struct ferr e = FERR_INIT;
		json_t *lines = NULL, *end = NULL, *v;
		uint64_t seen = wake_seq(); /* before the read: no change is missed */
		size_t i;

		if (f->ended)
			return -1;
		strbuf_reset(&f->pending);
		f->off = 0;
		if (f->ops->poll(f->ctx, f->last, &lines, &end, &e) < 0)
			return -1;
		json_array_foreach(lines, i, v) {
			add_line(&f->pending, v);
			f->last = json_integer_value(json_object_get(v, "id"));
		}
		/* End only once a poll brings no new line, so the last lines are
		 * never cut off by the final object. */
		if (end && json_array_size(lines) == 0) {
			add_line(&f->pending, end);
			f->ended = 1;
		}
		json_decref(lines);
		json_decref(end);
		if (f->pending.len == 0 && time(NULL) - f->last_sent >= HEARTBEAT_S)
			strbuf_addch(&f->pending, '\n');
		if (f->pending.len == 0) {
			wake_wait(seen, POLL_INTERVAL_MS);
			return 0;
		}
	}
	n = f->pending.len - f->off;
	if (n > max)
		n = max;
	memcpy(buf, f->pending.buf + f->off, n);
	f->off += n;
	f->last_sent = time(NULL);
	return (long)n;
}

static void follow_done(void *state)
{
	struct follow *f = state;

	if (f->ops->free_ctx)
		f->ops->free_ctx(f->ctx);
	strbuf_release(&f->pending);
	free(f);
}

void api_follow(struct api_req *r, const struct follow_ops *ops, void *ctx, int64_t after)
{
	struct follow *f = calloc(1, sizeof(*f));

	if (!f)
		abort();
	f->ops = ops;
	f->ctx = ctx;
	f->last = after;
	f->last_sent = time(NULL);
	strbuf_init(&f->pending, 0);
	r->stream.read = follow_read;
	r->stream.done = follow_done;
	r->stream.state = f;
}
