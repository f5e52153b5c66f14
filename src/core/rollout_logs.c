/* rollout_logs: a component's own output, streamed from its replicas.
 *
 * One reader thread per replica runs runtime_logs and appends NDJSON lines
 * to a shared buffer; the API's connection thread drains it with
 * rollout_logs_read. The buffer is bounded: a slow reader makes the reader
 * threads wait (their callback blocks), it never grows without limit.
 */
#include "core/rollout.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/lookup.h"
#include "core/rollout_int.h"
#include "lib/strbuf.h"
#include "runtime/runtime.h"
#include "lib/jsontext.h"
#include "lib/banned.h"

#define LOGS_BUF_MAX (1u << 20)

struct log_reader {
	struct rollout_logs *s;
	char id[65];
	char label[40];
	pthread_t thread;
	int started;
};

struct rollout_logs {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct runtime *rt;
	int follow;
	int stop;
	int running;             /* reader threads still going */
	struct strbuf buf;
	size_t off;
	struct log_reader *readers;
	size_t n;
};

static void deadline_in(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int on_line(const char *line, size_t len, void *arg)
{
	struct log_reader *r = arg;
	struct rollout_logs *s = r->s;
	int stop;

	pthread_mutex_lock(&s->lock);
	if (line) {
		json_t *j = json_pack("{s:s, s:o}", "replica", r->label, "line", json_text(line, len));
		char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

		while (!s->stop && s->buf.len - s->off > LOGS_BUF_MAX) {
			struct timespec ts;
			deadline_in(&ts, 200);
			pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		}
		if (text && !s->stop) {
			strbuf_addstr(&s->buf, text);
			strbuf_addch(&s->buf, '\n');
			pthread_cond_broadcast(&s->cond);
		}
		free(text);
		json_decref(j);
	}
	stop = s->stop;
	pthread_mutex_unlock(&s->lock);
	return stop;
}

static void *reader_main(void *arg)
{
	struct log_reader *r = arg;
	struct rollout_logs *s = r->s;
	struct ferr e = FERR_INIT;

	if (runtime_logs(s->rt, r->id, s->follow, on_line, r, &e) < 0 && e.status != 404) {
		char msg[1100];
		snprintf(msg, sizeof(msg), "(ferry: cannot read the output of %s: %s)", r->label, e.msg);
		on_line(msg, strlen(msg), r);
	}
	pthread_mutex_lock(&s->lock);
	s->running--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int rollout_logs_open(const struct principal *who, const char *project, const char *component,
		      const char *environment, int follow, struct rollout_logs **ret,
		      struct ferr *e)
{
	struct runtime_replica_list l = RUNTIME_REPLICA_LIST_INIT;
	struct runtime_filter f = { project, environment, component, 0 };
	struct rollout_logs *s;
	int64_t pid, cid, eid;
	struct runtime *rt;

	if (component_lookup(who, project, component, &pid, &cid, e) < 0 ||
	    env_lookup(pid, environment, &eid, e) < 0)
		return -1;
	rt = rollout_runtime(e);
	if (!rt)
		return -1;
	if (runtime_list(rt, &f, &l, e) < 0)
		return -1;
	if (!l.n) {
		runtime_replica_list_release(&l);
		return ferr_notfound(e, "%s/%s has no replica in \"%s\": is it deployed there?", project,
				     component, environment);
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	strbuf_init(&s->buf, 0);
	s->rt = rt;
	s->follow = follow;
	s->n = l.n;
	s->readers = calloc(l.n, sizeof(*s->readers));
	if (!s->readers)
		abort();
	for (size_t i = 0; i < l.n; i++) {
		struct log_reader *r = &s->readers[i];
		r->s = s;
		memcpy(r->id, l.items[i].id, sizeof(r->id));
		snprintf(r->label, sizeof(r->label), "d%lld-r%d", l.items[i].deployment,
			 l.items[i].replica);
	}
	runtime_replica_list_release(&l);
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++) {
		if (pthread_create(&s->readers[i].thread, NULL, reader_main, &s->readers[i]) == 0) {
			s->readers[i].started = 1;
			s->running++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (!s->running) {
		rollout_logs_close(s);
		return ferr_internal(e, "cannot start a log reader");
	}
	*ret = s;
	return 0;
}

long rollout_logs_read(struct rollout_logs *s, char *buf, size_t max)
{
	long n;

	pthread_mutex_lock(&s->lock);
	if (s->off == s->buf.len) {
		struct timespec ts;

		if (!s->running) {
			pthread_mutex_unlock(&s->lock);
			return -1;
		}
		deadline_in(&ts, 200);
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	n = (long)(s->buf.len - s->off);
	if ((size_t)n > max)
		n = (long)max;
	memcpy(buf, s->buf.buf + s->off, (size_t)n);
	s->off += (size_t)n;
	if (s->off == s->buf.len) {
		strbuf_reset(&s->buf);
		s->off = 0;
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return n;
}

void rollout_logs_close(struct rollout_logs *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	/* a follower notices stop at its next line or tick (about 1 s) */
	for (size_t i = 0; i < s->n; i++)
		if (s->readers[i].started)
			pthread_join(s->readers[i].thread, NULL);
	free(s->readers);
	strbuf_release(&s->buf);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
