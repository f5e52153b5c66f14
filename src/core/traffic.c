#include "core/traffic.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/lookup.h"
#include "core/json.h"
#include "lib/log.h"
#include "store/store.h"
#include "lib/banned.h"

#define SLOTS (TRAFFIC_LIVE_S / TRAFFIC_BUCKET_S)
#define TRACKED 128            /* deployments followed in memory at once */
#define FLUSH_MS 10000
#define PRUNE_EVERY_S 3600

static const int64_t bin_upper[TRAFFIC_BINS] = { 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
						 INT64_MAX };

struct pending {
	int64_t minute;              /* epoch seconds of the minute; 0: empty */
	struct traffic_stats s;
};

struct dep_traffic {
	int64_t dep;                 /* 0: unused */
	int64_t last_s;
	struct {
		int64_t slot;        /* epoch seconds / TRAFFIC_BUCKET_S */
		struct traffic_stats s;
	} live[SLOTS];
	struct pending pend[2];      /* minutes not yet in the store */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct dep_traffic deps[TRACKED];
static int64_t by_class[6], unrouted;
static pthread_t flusher;
static int running, stopping;

static void stats_add(struct traffic_stats *s, int status, int64_t ms)
{
	int b = 0;

	s->requests++;
	if (status >= 500 && status <= 599)
		s->errors++;
	while (b < TRAFFIC_BINS - 1 && ms > bin_upper[b])
		b++;
	s->bins[b]++;
	if (ms > s->max_ms)
		s->max_ms = ms;
}

static void stats_merge(struct traffic_stats *into, const struct traffic_stats *s)
{
	into->requests += s->requests;
	into->errors += s->errors;
	for (int i = 0; i < TRAFFIC_BINS; i++)
		into->bins[i] += s->bins[i];
	if (s->max_ms > into->max_ms)
		into->max_ms = s->max_ms;
}

int64_t traffic_percentile(const struct traffic_stats *s, double p)
{
	int64_t want, seen = 0;

	if (s->requests <= 0)
		return 0;
	want = (int64_t)((double)s->requests * p / 100.0 + 0.999999);
	if (want < 1)
		want = 1;
	for (int i = 0; i < TRAFFIC_BINS; i++) {
		seen += s->bins[i];
		if (seen >= want)
			return i == TRAFFIC_BINS - 1 || bin_upper[i] > s->max_ms ? s->max_ms : bin_upper[i];
	}
	return s->max_ms;
}

/* "d<id>-r<n>" → id, else 0. */
static int64_t deployment_of(const char *server_id)
{
	char *end;
	long long id;

	if (server_id[0] != 'd')
		return 0;
	id = strtoll(server_id + 1, &end, 10);
	return id > 0 && !strncmp(end, "-r", 2) ? id : 0;
}

/* The entry of dep, taking the least recently used one if dep has none. */
static struct dep_traffic *entry(int64_t dep, int64_t now_s, int create)
{
	struct dep_traffic *lru = &deps[0];

	for (int i = 0; i < TRACKED; i++) {
		if (deps[i].dep == dep)
			return &deps[i];
		if (deps[i].last_s < lru->last_s)
			lru = &deps[i];
	}
	if (!create)
		return NULL;
	/* what an evicted entry had not written yet is lost: with TRACKED
	 * deployments taking traffic within ten seconds, rarely anything */
	memset(lru, 0, sizeof(*lru));
	lru->dep = dep;
	lru->last_s = now_s;
	return lru;
}

void traffic_record(const char *server_id, int status, int total_ms)
{
	int64_t dep = deployment_of(server_id), now_s = (int64_t)time(NULL), slot, minute;
	struct dep_traffic *d;
	struct pending *p;
	int cls = status / 100;

	pthread_mutex_lock(&lock);
	by_class[cls >= 1 && cls <= 5 ? cls : 0]++;
	if (!dep) {
		unrouted++;
		pthread_mutex_unlock(&lock);
		return;
	}
	d = entry(dep, now_s, 1);
	d->last_s = now_s;
	slot = now_s / TRAFFIC_BUCKET_S;
	if (d->live[slot % SLOTS].slot != slot) {
		memset(&d->live[slot % SLOTS].s, 0, sizeof(d->live[0].s));
		d->live[slot % SLOTS].slot = slot;
	}
	stats_add(&d->live[slot % SLOTS].s, status, total_ms < 0 ? 0 : total_ms);
	minute = now_s - now_s % 60;
	p = d->pend[0].minute == minute ? &d->pend[0] : d->pend[1].minute == minute ? &d->pend[1] : NULL;
	if (!p) {
		/* the older minute goes (it was written unless the writer stalled) */
		p = d->pend[0].minute <= d->pend[1].minute ? &d->pend[0] : &d->pend[1];
		memset(p, 0, sizeof(*p));
		p->minute = minute;
	}
	stats_add(&p->s, status, total_ms < 0 ? 0 : total_ms);
	pthread_mutex_unlock(&lock);
}

void traffic_window(int64_t dep, int window_s, struct traffic_stats *ret)
{
	int64_t now_slot = (int64_t)time(NULL) / TRAFFIC_BUCKET_S, first;
	struct dep_traffic *d;

	memset(ret, 0, sizeof(*ret));
	if (window_s > TRAFFIC_LIVE_S)
		window_s = TRAFFIC_LIVE_S;
	first = now_slot - (window_s + TRAFFIC_BUCKET_S - 1) / TRAFFIC_BUCKET_S + 1;
	pthread_mutex_lock(&lock);
	d = entry(dep, 0, 0);
	for (int i = 0; d && i < SLOTS; i++)
		if (d->live[i].slot >= first && d->live[i].slot <= now_slot)
			stats_merge(ret, &d->live[i].s);
	pthread_mutex_unlock(&lock);
}

void traffic_totals(int64_t ret_by_class[6], int64_t *ret_unrouted)
{
	pthread_mutex_lock(&lock);
	memcpy(ret_by_class, by_class, sizeof(by_class));
	*ret_unrouted = unrouted;
	pthread_mutex_unlock(&lock);
}

/* ------------------------------------------------------------------ */
/* The store                                                            */

static void bins_text(const struct traffic_stats *s, char *out, size_t size)
{
	size_t len = 0;

	for (int i = 0; i < TRAFFIC_BINS && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%lld", i ? "," : "", (long long)s->bins[i]);
}

static void bins_parse(const char *text, struct traffic_stats *s)
{
	const char *p = text ? text : "";

	for (int i = 0; i < TRAFFIC_BINS && *p; i++) {
		char *end;
		s->bins[i] = strtoll(p, &end, 10);
		p = *end == ',' ? end + 1 : end;
	}
}

static void row_stats(sqlite3_stmt *st, int col, struct traffic_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->requests = sqlite3_column_int64(st, col);
	s->errors = sqlite3_column_int64(st, col + 1);
	bins_parse((const char *)sqlite3_column_text(st, col + 2), s);
	s->max_ms = sqlite3_column_int64(st, col + 3);
}

/* Adds s to the stored minute row of dep. */
static int store_add(int64_t dep, int64_t minute, const struct traffic_stats *s, struct ferr *e)
{
	struct traffic_stats sum = *s;
	char bins[TRAFFIC_BINS * 21];
	sqlite3_stmt *st;
	int rc;

	st = store_stmt("SELECT requests, errors, bins, max_ms FROM gateway_traffic"
			" WHERE deployment_id = ? AND minute = ?");
	sqlite3_bind_int64(st, 1, dep);
	sqlite3_bind_int64(st, 2, minute);
	if (sqlite3_step(st) == SQLITE_ROW) {
		struct traffic_stats old;
		row_stats(st, 0, &old);
		stats_merge(&sum, &old);
	}
	sqlite3_reset(st);
	bins_text(&sum, bins, sizeof(bins));
	st = store_stmt("INSERT OR REPLACE INTO gateway_traffic (deployment_id, minute, requests, errors, bins, max_ms)"
			" SELECT id, ?2, ?3, ?4, ?5, ?6 FROM deployments WHERE id = ?1");
	sqlite3_bind_int64(st, 1, dep);
	sqlite3_bind_int64(st, 2, minute);
	sqlite3_bind_int64(st, 3, sum.requests);
	sqlite3_bind_int64(st, 4, sum.errors);
	sqlite3_bind_text(st, 5, bins, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, sum.max_ms);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_error(e, "store gateway traffic");
}

struct flush_item {
	int64_t dep, minute;
	struct traffic_stats s;
};

static void flush(void)
{
	struct flush_item *items = calloc(TRACKED * 2, sizeof(*items));
	struct ferr e = FERR_INIT;
	int n = 0;

	if (!items)
		abort();
	pthread_mutex_lock(&lock);
	for (int i = 0; i < TRACKED; i++)
		for (int j = 0; j < 2; j++) {
			struct pending *p = &deps[i].pend[j];
			if (!deps[i].dep || !p->s.requests)
				continue;
			items[n++] = (struct flush_item){ deps[i].dep, p->minute, p->s };
			memset(&p->s, 0, sizeof(p->s));
		}
	pthread_mutex_unlock(&lock);
	if (n && store_begin(&e) == 0) {
		for (int i = 0; i < n; i++)
			if (store_add(items[i].dep, items[i].minute, &items[i].s, &e) < 0)
				break;
		if (ferr_isset(&e))
			store_rollback();
		else
			store_commit(&e);
	}
	if (ferr_isset(&e))
		log_warnx("event=traffic_flush_failed err=\"%s\"", e.msg);
	free(items);
}

static void prune(void)
{
	sqlite3_stmt *st = store_stmt("DELETE FROM gateway_traffic WHERE minute < ?");

	sqlite3_bind_int64(st, 1, (int64_t)time(NULL) - (int64_t)TRAFFIC_KEEP_DAYS * 86400);
	store_run_logged(st, "prune gateway traffic");
}

static void *flush_loop(void *arg)
{
	int64_t last_prune = 0;

	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += FLUSH_MS / 1000;
		pthread_cond_timedwait(&wake, &lock, &until);
		pthread_mutex_unlock(&lock);
		flush();
		if (time(NULL) - last_prune > PRUNE_EVERY_S) {
			prune();
			last_prune = time(NULL);
		}
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int traffic_start(struct ferr *e)
{
	stopping = 0;
	if (pthread_create(&flusher, NULL, flush_loop, NULL) != 0)
		return ferr_internal(e, "cannot start the gateway traffic writer");
	running = 1;
	return 0;
}

void traffic_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(flusher, NULL);
	running = 0;
	flush();
}

/* ------------------------------------------------------------------ */
/* Reading                                                              */

static void iso(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void put_stats(json_t *o, const struct traffic_stats *s)
{
	json_object_set_new(o, "requests", json_integer(s->requests));
	json_object_set_new(o, "errors_5xx", json_integer(s->errors));
	json_object_set_new(o, "error_ratio", json_real(s->requests ? (double)s->errors / (double)s->requests : 0));
	json_object_set_new(o, "p50_ms", json_integer(traffic_percentile(s, 50)));
	json_object_set_new(o, "p95_ms", json_integer(traffic_percentile(s, 95)));
	json_object_set_new(o, "p99_ms", json_integer(traffic_percentile(s, 99)));
}

int traffic_series(const struct principal *who, const char *project, const char *component,
		   const char *env, int64_t since_s, json_t **ret, struct ferr *e)
{
	struct traffic_stats total = { 0 }, per[64];
	int64_t pid, cid, eid, dep_ids[64];
	json_t *series = json_array(), *out, *list;
	int ndeps = 0, rc;
	sqlite3_stmt *st;
	char t[32];

	if (component_lookup(who, project, component, &pid, &cid, e) < 0 || env_lookup(pid, env, &eid, e) < 0) {
		json_decref(series);
		return -1;
	}
	st = store_stmt("SELECT t.deployment_id, t.minute, t.requests, t.errors, t.bins, t.max_ms"
			" FROM gateway_traffic t JOIN deployments d ON d.id = t.deployment_id"
			" WHERE d.component_id = ? AND d.environment_id = ? AND t.minute >= ?"
			" ORDER BY t.minute, t.deployment_id LIMIT 20000");
	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_int64(st, 2, eid);
	sqlite3_bind_int64(st, 3, since_s - since_s % 60);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t dep = sqlite3_column_int64(st, 0);
		struct traffic_stats s;
		json_t *row;
		int k;

		row_stats(st, 2, &s);
		stats_merge(&total, &s);
		for (k = 0; k < ndeps && dep_ids[k] != dep; k++)
			;
		if (k == ndeps && ndeps < 64) {
			dep_ids[ndeps] = dep;
			memset(&per[ndeps], 0, sizeof(per[0]));
			ndeps++;
		}
		if (k < ndeps)
			stats_merge(&per[k], &s);
		iso(sqlite3_column_int64(st, 1), t);
		row = json_pack("{s:s, s:I}", "t", t, "deployment", (json_int_t)dep);
		put_stats(row, &s);
		json_array_append_new(series, row);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(series);
		return store_error(e, "read gateway traffic");
	}
	list = json_array();
	for (int k = 0; k < ndeps; k++) {
		json_t *o = json_pack("{s:I}", "deployment", (json_int_t)dep_ids[k]);
		st = store_stmt("SELECT seq, status FROM deployments WHERE id = ?");
		sqlite3_bind_int64(st, 1, dep_ids[k]);
		if (sqlite3_step(st) == SQLITE_ROW) {
			json_object_set_new(o, "seq", json_integer(sqlite3_column_int64(st, 0)));
			json_object_set_new(o, "status", json_text_or_null(st, 1));
		}
		sqlite3_reset(st);
		put_stats(o, &per[k]);
		json_array_append_new(list, o);
	}
	iso(since_s, t);
	out = json_pack("{s:s, s:s, s:s, s:i, s:o, s:o}", "component", component, "environment", env, "since", t,
			"resolution_s", 60, "deployments", list, "series", series);
	json_object_set_new(out, "total", json_object());
	put_stats(json_object_get(out, "total"), &total);
	*ret = out;
	return 0;
}
