#include "jobqueue.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/jsontext.h"
#include "store/reserve.h"
#include "store/eventlog.h"
#include "store/store.h"
#include "lib/banned.h"

#define MAX_KINDS 16
#define MAX_WORKERS 32

static struct {
	const struct job_kind *kind;
	int running;
} kinds[MAX_KINDS];
static int nkinds;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_t workers[MAX_WORKERS];
static int nworkers_started;
static int stopping;
static struct job *running[MAX_WORKERS]; /* per worker, for cancel */

void jobq_register(const struct job_kind *kind)
{
	if (nkinds == MAX_KINDS)
		abort();
	kinds[nkinds++].kind = kind;
}

static int kind_index(const char *name)
{
	for (int i = 0; i < nkinds; i++)
		if (!strcmp(kinds[i].kind->name, name))
			return i;
	return -1;
}

static int max_queued = JOBQ_MAX_QUEUED_DEFAULT;

void jobq_set_max_queued(int n)
{
	max_queued = n < 1 ? 1 : n > JOBQ_MAX_QUEUED_LIMIT ? JOBQ_MAX_QUEUED_LIMIT : n;
}

int jobq_max_queued(void)
{
	return max_queued;
}

int jobq_refuse_over_cap(int64_t project_id, const char *project, const char *what,
			 long long queued, struct ferr *e)
{
	char name[128] = "";

	if (!project) {
		/* the jobs know their project by id; the message names it */
		sqlite3_stmt *st = store_stmt("SELECT name FROM projects WHERE id = ?");
		sqlite3_bind_int64(st, 1, project_id);
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(name, sizeof(name), "%s", sqlite3_column_text(st, 0));
		else
			snprintf(name, sizeof(name), "%lld", (long long)project_id);
		sqlite3_reset(st);
		project = name;
	}
	ferr_set(e, 429, "too_many_queued",
		 "project %s has %lld queued %s jobs already (the cap per project and kind; "
		 "ferryd --max-queued-jobs %d): try again once some of them have started",
		 project, queued, what, max_queued);
	return ferr_retry_after(e, 10);
}

static int capped(const char *kind, int64_t project_id)
{
	int k = kind_index(kind);

	return project_id > 0 && k >= 0 && !kinds[k].kind->uncapped;
}

static long long queued_count(const char *kind, int64_t project_id)
{
	sqlite3_stmt *st = store_stmt("SELECT count(*) FROM jobs WHERE status = 'queued' AND kind = ?"
				      " AND project_id = ?");
	long long n = -1;

	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, project_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

int jobq_check_cap(const char *kind, int64_t project_id, struct ferr *e)
{
	long long n;

	if (!capped(kind, project_id))
		return 0;
	n = queued_count(kind, project_id);
	if (n < 0)
		return store_error(e, "count queued jobs");
	return n < max_queued ? 0 : jobq_refuse_over_cap(project_id, NULL, kind, n, e);
}

/* Puts jobs marked running back in order: re-queue or interrupt each. */
static int recover(const char *why, struct ferr *e)
{
	sqlite3_stmt *st;
	char now[32], reason[256];
	int n = 0;

	if (store_begin(e) < 0)
		return -1;
	store_now(now);
	st = store_stmt("SELECT id, kind FROM jobs WHERE status = 'running'");
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		int k = kind_index((const char *)sqlite3_column_text(st, 1));
		int requeue = k >= 0 && kinds[k].kind->requeue_on_restart;

		snprintf(reason, sizeof(reason), "%s while the job ran (%s): %s", why, now,
			 requeue ? "re-queued" : "interrupted");
		if (job_transition(id, requeue ? JOB_QUEUED : JOB_INTERRUPTED, reason, e) < 0) {
			sqlite3_reset(st);
			store_rollback();
			return -1;
		}
		n++;
	}
	sqlite3_reset(st);
	if (store_commit(e) < 0)
		return -1;
	if (n)
		log_info("event=jobs_recovered count=%d", n);
	return 0;
}

/* Claims the oldest queued job of a kind under its limit. Called with lock. */
static struct job *claim(void)
{
	int64_t best = 0;
	int best_k = -1;
	struct ferr e = FERR_INIT;
	struct job *job;
	sqlite3_stmt *st;

	for (int k = 0; k < nkinds; k++) {
		if (kinds[k].running >= kinds[k].kind->limit)
			continue;
		st = store_stmt("SELECT id FROM jobs WHERE status = 'queued' AND kind = ? ORDER BY id LIMIT 1");
		sqlite3_bind_text(st, 1, kinds[k].kind->name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(st, 0);
			if (!best || id < best) {
				best = id;
				best_k = k;
			}
		}
		sqlite3_reset(st);
	}
	if (!best)
		return NULL;
	if (job_transition(best, JOB_RUNNING, NULL, &e) < 0)
		return NULL;
	st = store_stmt("SELECT payload, coalesce(project_id, 0) FROM jobs WHERE id = ?");
	sqlite3_bind_int64(st, 1, best);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return NULL;
	}
	job = calloc(1, sizeof(*job));
	if (!job)
		abort();
	job->id = best;
	job->kind = kinds[best_k].kind;
	job->payload = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	if (!job->payload)
		job->payload = json_object();
	job->project_id = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	kinds[best_k].running++;
	return job;
}

static void finish(struct job *job, int rc, const struct ferr *e)
{
	enum job_status status = rc == 0 ? JOB_SUCCEEDED : JOB_FAILED;
	const char *reason = rc == 0 ? NULL : (e->msg[0] ? e->msg : "failed");
	struct ferr fe = FERR_INIT;

	if (job_cancelled(job)) {
		if (stopping) {
			/* Shutdown: leave it for recover() at the next start. */
			return;
		}
		status = JOB_CANCELLED;
		reason = "cancelled on request";
	}
	/* A success keeps an earlier reason (e.g. that it was re-queued after
	 * a crash), so what happened to the job stays visible. */
	if (job_transition(job->id, status, reason, &fe) < 0)
		log_error("event=job_finish_failed job=%lld err=\"%s\"", (long long)job->id, fe.msg);
	log_info("event=job_end job=%lld kind=%s status=%s", (long long)job->id, job->kind->name,
		 status_name(&job_statuses, status));
}

static void *worker_main(void *arg)
{
	int slot = (int)(intptr_t)arg;

	pthread_mutex_lock(&lock);
	while (!stopping) {
		struct job *job = claim();
		struct ferr e = FERR_INIT;
		int rc, k;

		if (!job) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&wake, &lock, &ts);
			continue;
		}
		running[slot] = job;
		pthread_mutex_unlock(&lock);

		log_info("event=job_start job=%lld kind=%s", (long long)job->id, job->kind->name);
		rc = job->kind->run(job, &e);
		finish(job, rc, &e);

		pthread_mutex_lock(&lock);
		running[slot] = NULL;
		k = kind_index(job->kind->name);
		kinds[k].running--;
		json_decref(job->payload);
		free(job);
		/* A slot of this kind is free: another worker may take a job. */
		pthread_cond_broadcast(&wake);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int jobq_start(int n, struct ferr *e)
{
	if (recover("ferryd stopped", e) < 0)
		return -1;
	if (n < 1)
		n = 1;
	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	stopping = 0;
	for (int i = 0; i < n; i++) {
		if (pthread_create(&workers[i], NULL, worker_main, (void *)(intptr_t)i)) {
			jobq_stop();
			return ferr_internal(e, "cannot start job worker threads");
		}
		nworkers_started++;
	}
	return 0;
}

void jobq_stop(void)
{
	struct ferr e = FERR_INIT;

	pthread_mutex_lock(&lock);
	stopping = 1;
	for (int i = 0; i < MAX_WORKERS; i++)
		if (running[i]) {
			atomic_store(&running[i]->cancelled, 1);
			if (running[i]->kind->cancel)
				running[i]->kind->cancel(running[i]);
		}
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < nworkers_started; i++)
		pthread_join(workers[i], NULL);
	nworkers_started = 0;
	if (recover("ferryd stopped", &e) < 0)
		log_error("event=jobs_recover_failed err=\"%s\"", e.msg);
}

int64_t jobq_submit(const char *kind, json_t *payload, int64_t project_id,
		    const char *created_by, struct ferr *e)
{
	sqlite3_stmt *st;
	char *text, now[32];
	int64_t id;

	if (kind_index(kind) < 0)
		return ferr_invalid(e, "unknown job kind \"%s\"", kind);
	text = payload ? json_dumps(payload, JSON_COMPACT) : strdup("{}");
	if (!text)
		abort();
	store_now(now);
	/* the cap's count and the insert in one statement: two submits at
	 * once cannot both take the last place */
	st = store_stmt("INSERT INTO jobs (kind, status, payload, project_id, created_by, created_at)"
			" SELECT ?1, 'queued', ?2, nullif(?3, 0), ?4, ?5"
			" WHERE NOT ?6 OR (SELECT count(*) FROM jobs WHERE status = 'queued' AND kind = ?1"
			"  AND project_id = ?3) < ?7");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, project_id);
	sqlite3_bind_text(st, 4, created_by, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, capped(kind, project_id));
	sqlite3_bind_int(st, 7, max_queued);
	if (sqlite3_step(st) != SQLITE_DONE) {
		free(text);
		return store_error(e, "queue job");
	}
	free(text);
	if (sqlite3_changes(store_db()) != 1) {
		long long n = queued_count(kind, project_id);
		return jobq_refuse_over_cap(project_id, NULL, kind, n < 0 ? max_queued : n, e);
	}
	id = sqlite3_last_insert_rowid(store_db());
	pthread_mutex_lock(&lock);
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	return id;
}

static int job_status(int64_t id, int64_t scope, char status[16], struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT status FROM jobs WHERE id = ? AND (?2 = 0 OR project_id = ?2)");
	int rc;

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, scope);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(status, 16, "%s", sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "job %lld not found", (long long)id);
	if (rc != SQLITE_ROW)
		return store_error(e, "find job");
	return 0;
}

int jobq_cancel(int64_t id, int64_t scope, struct ferr *e)
{
	char status[16];

	if (job_status(id, scope, status, e) < 0)
		return -1;
	if (job_status_final(status))
		return ferr_conflict(e, "job %lld already ended (%s)", (long long)id, status);
	return jobq_cancel_request(id, e);
}

int jobq_cancel_request(int64_t id, struct ferr *e)
{
	struct ferr te = FERR_INIT;
	sqlite3_stmt *st;
	char status[16];
	int changed;

	/* a queued one ends here */
	if (job_transition_from(id, STATUS_BIT(JOB_QUEUED), JOB_CANCELLED, "cancelled before it started",
				&te) == 0)
		return 0;
	if (te.status != 409)
		return ferr_set(e, te.status, te.code, "%s", te.msg);
	/* a running one is asked to stop: its run ends it cancelled */
	st = store_stmt("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND status = 'running'");
	sqlite3_bind_int64(st, 1, id);
	if (store_run(st, "cancel job", e) < 0)
		return -1;
	changed = sqlite3_changes(store_db());
	if (changed != 1) {
		if (job_status(id, 0, status, e) < 0)
			return -1;
		return ferr_conflict(e, "job %lld already ended (%s)", (long long)id, status);
	}
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_WORKERS; i++)
		if (running[i] && running[i]->id == id) {
			atomic_store(&running[i]->cancelled, 1);
			if (running[i]->kind->cancel)
				running[i]->kind->cancel(running[i]);
		}
	pthread_mutex_unlock(&lock);
	return 0;
}

int jobq_show(int64_t id, int64_t scope, json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT id, kind, status, reason, attempts, payload, created_by, created_at,"
		" started_at, finished_at, cancel_requested"
		" FROM jobs WHERE id = ? AND (?2 = 0 OR project_id = ?2)");
	int rc;

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, scope);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		json_t *j = json_object();
		const char *names[] = { "id", "kind", "status", "reason", "attempts", "payload",
					"created_by", "created_at", "started_at", "finished_at",
					"cancel_requested" };
		for (int c = 0; c < 11; c++) {
			json_t *v;
			switch (sqlite3_column_type(st, c)) {
			case SQLITE_NULL: v = json_null(); break;
			case SQLITE_INTEGER: v = json_integer(sqlite3_column_int64(st, c)); break;
			default:
				v = c == 5 ? json_loads((const char *)sqlite3_column_text(st, c), 0, NULL)
					   : json_string((const char *)sqlite3_column_text(st, c));
			}
			json_object_set_new(j, names[c], v ? v : json_null());
		}
		json_object_set_new(j, "cancel_requested", json_boolean(sqlite3_column_int(st, 10)));
		*ret = j;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "job %lld not found", (long long)id);
	if (rc != SQLITE_ROW)
		return store_error(e, "show job");
	return 0;
}

static const struct eventlog job_log_table =
	EVENTLOG_TABLE("job log", "job_logs", "job_id", "text", "text", 10000);

int jobq_log_read(int64_t id, int64_t after_id, int limit, json_t **ret, struct ferr *e)
{
	return eventlog_read(&job_log_table, id, after_id, limit, ret, e);
}

void job_log(struct job *job, const char *fmt, ...)
{
	char text[4096];
	struct ferr e = FERR_INIT;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (eventlog_append(&job_log_table, job->id, NULL, text, strlen(text), &e) < 0)
		log_error("event=job_log_failed job=%lld err=\"%s\"", (long long)job->id, e.msg);
}
