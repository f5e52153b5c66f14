#include "core/housekeeping.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/audit.h"
#include "core/build.h"
#include "core/build_sweep.h"
#include "core/core.h"
#include "core/infra.h"
#include "core/image_prune.h"
#include "core/registry_prune.h"
#include "core/rollout_int.h"
#include "lib/fstree.h"
#include "pipeline/registry.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "sched/cron.h"
#include "store/reserve.h"
#include "lib/banned.h"

static struct {
	struct housekeeping_options o;
	struct cron gc;
	int gc_on;
	time_t next_gc;
	pthread_t thread;
	pthread_mutex_t lock;   /* stop, next_gc; and one run at a time (run_lock) */
	pthread_cond_t cond;
	int started, stop;
	/* A pass asked for over the API, run by this thread: the registry it
	 * restarts for GC dies with the thread that started it (lib/spawn.h
	 * die_with_parent), and an API connection's thread ends with it. */
	struct {
		int pending, done, gc, rc;
		json_t *ret;
		struct ferr e;
	} req;
} hk = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;

const struct housekeeping_options *housekeeping_options(void)
{
	return &hk.o;
}

static void fmt_time(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void housekeeping_next_gc(char out[32])
{
	out[0] = '\0';
	pthread_mutex_lock(&hk.lock);
	if (hk.gc_on && hk.next_gc)
		fmt_time(hk.next_gc, out);
	pthread_mutex_unlock(&hk.lock);
}

static long long registry_bytes(void)
{
	struct strbuf dir = STRBUF_INIT;
	long long n;

	strbuf_addf(&dir, "%s/registry/storage", core.data_dir);
	n = fstree_size(dir.buf);
	strbuf_release(&dir);
	return n;
}

static int registry_gc_now(json_t *out, struct ferr *e)
{
	struct strbuf log = STRBUF_INIT, msg = STRBUF_INIT;
	long long before = registry_bytes(), after;
	int rc = build_registry_gc(&log, e);

	after = registry_bytes();
	strbuf_release(&log);
	if (rc < 0) {
		log_warnx("event=registry_gc_failed err=\"%s\"", e->msg);
		audit_record(NULL, "ferryd", "registry.gc", "registry", NULL, e->status, e->msg);
		return -1;
	}
	strbuf_addf(&msg, "ok: %lld bytes before, %lld after", before, after);
	log_info("event=registry_gc bytes_before=%lld bytes_after=%lld", before, after);
	audit_record(NULL, "ferryd", "registry.gc", "registry", NULL, 200, msg.buf);
	strbuf_release(&msg);
	json_object_set_new(out, "registry_freed_bytes",
			    json_integer(before > after ? before - after : 0));
	return 0;
}

struct history_retention housekeeping_history(void)
{
	struct history_retention r = hk.o.history;

	/* whether builds.image tracks the registry's images can change when
	 * the managed registry starts: read it each time (into a copy: the
	 * API's df and the housekeeping thread ask at once) */
	r.keep_deployments = hk.o.keep_deployments;
	r.keep_builds = hk.o.keep_builds;
	r.track_images = core.registry && registry_storage_dir(core.registry);
	return r;
}

/* The history retention (after the registry prune, which lets go of the
 * builds whose images it deleted). What it deleted is logged and audited
 * when it is anything. A new reference, or NULL with e set. */
static json_t *history_now(struct ferr *e)
{
	json_t *r = NULL, *v;
	struct strbuf msg = STRBUF_INIT;
	const char *k;
	size_t head;
	long long total = 0;
	struct history_retention rules = housekeeping_history();

	if (history_retention_apply(&rules, time(NULL), &r, e) < 0) {
		ferr_prefix(e, "history retention");
		return NULL;
	}
	strbuf_addstr(&msg, "ok: deleted");
	head = msg.len;
	json_object_foreach(r, k, v) {
		if (!json_integer_value(v))
			continue;
		strbuf_addf(&msg, " %s=%lld", k, (long long)json_integer_value(v));
		total += json_integer_value(v);
	}
	if (total) {
		log_info("event=history_pruned%s", msg.buf + head);
		audit_record(NULL, "ferryd", "history.prune", "history records", NULL, 200, msg.buf);
	}
	strbuf_release(&msg);
	return r;
}

static int run_now(int registry_gc, json_t **ret, struct ferr *e)
{
	json_t *images, *reg = NULL, *hist = NULL, *out = NULL;
	long long freed = 0;
	int swept;

	pthread_mutex_lock(&run_lock);
	{
		struct ferr re = FERR_INIT; /* no runtime yet: nothing deployed, nothing to prune */
		images = image_prune(rollout_runtime(&re), hk.o.keep_deployments, 1, e);
	}
	if (!images)
		goto fail;
	reg = registry_prune(hk.o.keep_deployments, hk.o.keep_builds, 1, e);
	if (!reg)
		goto fail;
	if (log_retention_apply(&hk.o.logs, time(NULL), &freed, e) < 0)
		goto fail;
	hist = history_now(e);
	if (!hist)
		goto fail;
	swept = build_sweep("prune");
	out = json_pack("{s:I, s:I, s:I, s:i, s:I}", "images_removed",
			json_integer_value(json_object_get(images, "removed_count")), "images_freed_bytes",
			json_integer_value(json_object_get(images, "removed_bytes")), "logs_freed_bytes",
			(json_int_t)freed, "build_leftovers_removed", swept > 0 ? swept : 0,
			"registry_images_deleted",
			json_integer_value(json_object_get(reg, "deleted_manifests")));
	if (json_integer_value(json_object_get(reg, "deleted_manifests"))) {
		char msg[160];
		snprintf(msg, sizeof(msg), "ok: %lld images deleted from the registry (%lld failed)",
			 (long long)json_integer_value(json_object_get(reg, "deleted_manifests")),
			 (long long)json_integer_value(json_object_get(reg, "delete_failures")));
		log_info("event=registry_prune %s", msg);
		audit_record(NULL, "ferryd", "registry.prune", "registry", NULL, 200, msg);
	}
	if (json_integer_value(json_object_get(images, "removed_count")) || freed) {
		char msg[200];
		snprintf(msg, sizeof(msg), "ok: %lld images removed (%lld bytes), %lld bytes of logs",
			 (long long)json_integer_value(json_object_get(images, "removed_count")),
			 (long long)json_integer_value(json_object_get(images, "removed_bytes")), freed);
		log_info("event=housekeeping %s", msg);
		audit_record(NULL, "ferryd", "disk.prune", "runtime images and logs", NULL, 200, msg);
	}
	json_object_set(out, "history_deleted", hist);
	if (registry_gc && registry_gc_now(out, e) < 0)
		goto fail;
	json_decref(images);
	json_decref(reg);
	json_decref(hist);
	/* give the pages free()d since the last pass back to the system: with a
	 * thread per API connection, glibc's arenas keep them otherwise, and the
	 * RSS creeps up though the heap in use does not (docs/disk.md, Soak) */
	malloc_trim(0);
	pthread_mutex_unlock(&run_lock);
	*ret = out;
	return 0;
fail:
	json_decref(images);
	json_decref(reg);
	json_decref(hist);
	json_decref(out);
	pthread_mutex_unlock(&run_lock);
	return -1;
}

int housekeeping_run(int registry_gc, json_t **ret, struct ferr *e)
{
	int rc;

	pthread_mutex_lock(&hk.lock);
	if (!hk.started || pthread_equal(pthread_self(), hk.thread)) {
		pthread_mutex_unlock(&hk.lock);
		return run_now(registry_gc, ret, e);
	}
	while (hk.req.pending && !hk.stop)
		pthread_cond_wait(&hk.cond, &hk.lock);
	if (hk.stop) {
		pthread_mutex_unlock(&hk.lock);
		return ferr_set(e, 503, "unavailable", "ferryd is stopping");
	}
	hk.req.pending = 1;
	hk.req.done = 0;
	hk.req.gc = registry_gc;
	pthread_cond_broadcast(&hk.cond);
	while (!hk.req.done && !hk.stop)
		pthread_cond_wait(&hk.cond, &hk.lock);
	if (!hk.req.done) {
		rc = ferr_set(e, 503, "unavailable", "ferryd is stopping");
	} else {
		rc = hk.req.rc;
		*ret = hk.req.ret;
		*e = hk.req.e;
	}
	hk.req.pending = 0;
	hk.req.ret = NULL;
	pthread_cond_broadcast(&hk.cond);
	pthread_mutex_unlock(&hk.lock);
	return rc;
}

/* Runs a pass asked for by housekeeping_run(); hk.lock held. */
static void serve_request(void)
{
	struct ferr e = FERR_INIT;
	json_t *r = NULL;
	int gc = hk.req.gc, rc;

	pthread_mutex_unlock(&hk.lock);
	rc = run_now(gc, &r, &e);
	pthread_mutex_lock(&hk.lock);
	hk.req.rc = rc;
	hk.req.ret = r;
	hk.req.e = e;
	hk.req.done = 1;
	pthread_cond_broadcast(&hk.cond);
}

static void *hk_main(void *arg)
{
	time_t next_prune = time(NULL) + hk.o.interval_s;
	int swept = 0;

	(void)arg;
	pthread_mutex_lock(&hk.lock);
	while (!hk.stop) {
		struct timespec ts = { 0 };
		time_t wake;

		if (hk.req.pending && !hk.req.done) {
			serve_request();
			continue;
		}
		pthread_mutex_unlock(&hk.lock);
		if (!swept) {
			/* once the build store is usable (registry and base image) */
			struct ferr e = FERR_INIT;
			if (infra_wait(0, &e) == 0) {
				build_sweep("start");
				swept = 1;
			}
		}
		if (time(NULL) >= next_prune) {
			struct ferr e = FERR_INIT;
			json_t *r = NULL;
			if (run_now(0, &r, &e) < 0)
				log_warnx("event=housekeeping_failed err=\"%s\"", e.msg);
			json_decref(r);
			next_prune = time(NULL) + hk.o.interval_s;
		}
		pthread_mutex_lock(&hk.lock);
		if (hk.gc_on && hk.next_gc && time(NULL) >= hk.next_gc && !hk.stop) {
			struct ferr e = FERR_INIT;
			json_t *r = json_object();
			time_t after = time(NULL);
			pthread_mutex_unlock(&hk.lock);
			pthread_mutex_lock(&run_lock);
			registry_gc_now(r, &e);
			pthread_mutex_unlock(&run_lock);
			json_decref(r);
			pthread_mutex_lock(&hk.lock);
			if (cron_next(&hk.gc, NULL, after, &hk.next_gc, &e) < 0)
				hk.next_gc = 0;
		}
		wake = next_prune;
		if (hk.gc_on && hk.next_gc && hk.next_gc < wake)
			wake = hk.next_gc;
		if (!swept && time(NULL) + 5 < wake)
			wake = time(NULL) + 5;
		/* the store's reserve, given up on a full disk (by any thread),
		 * is made again within seconds of there being room */
		if (!store_reserve_held())
			store_reserve_restore();
		if (time(NULL) + 5 < wake)
			wake = time(NULL) + 5;
		ts.tv_sec = wake;
		while (!hk.stop && !(hk.req.pending && !hk.req.done) && time(NULL) < wake)
			if (pthread_cond_timedwait(&hk.cond, &hk.lock, &ts) == ETIMEDOUT)
				break;
	}
	pthread_mutex_unlock(&hk.lock);
	return NULL;
}

int housekeeping_start(const struct housekeeping_options *opts, struct ferr *e)
{
	hk.o = *opts;
	if (hk.o.keep_deployments <= 0)
		hk.o.keep_deployments = IMAGE_PRUNE_KEEP_DEFAULT;
	if (hk.o.keep_builds <= 0)
		hk.o.keep_builds = REGISTRY_PRUNE_KEEP_BUILDS_DEFAULT;
	if (hk.o.interval_s <= 0)
		hk.o.interval_s = HOUSEKEEPING_INTERVAL_DEFAULT;
	if (hk.o.logs.max_age_days <= 0)
		hk.o.logs.max_age_days = LOG_RETENTION_DAYS_DEFAULT;
	if (hk.o.logs.max_bytes <= 0)
		hk.o.logs.max_bytes = LOG_RETENTION_BYTES_DEFAULT;
	if (hk.o.history.keep <= 0)
		hk.o.history.keep = HISTORY_KEEP_DEFAULT;
	if (hk.o.history.max_age_days <= 0)
		hk.o.history.max_age_days = HISTORY_DAYS_DEFAULT;
	if (hk.o.history.audit_keep <= 0)
		hk.o.history.audit_keep = HISTORY_AUDIT_KEEP_DEFAULT;
	if (hk.o.history.execution_days <= 0)
		hk.o.history.execution_days = 90;
	if (!hk.o.registry_gc)
		hk.o.registry_gc = HOUSEKEEPING_REGISTRY_GC_DEFAULT;
	hk.gc_on = strcmp(hk.o.registry_gc, "off") != 0;
	if (hk.gc_on) {
		if (cron_parse(&hk.gc, hk.o.registry_gc, e) < 0) {
			ferr_prefix(e, "--registry-gc \"%s\"", hk.o.registry_gc);
			return -1;
		}
		if (cron_next(&hk.gc, NULL, time(NULL), &hk.next_gc, e) < 0)
			return -1;
	}
	pthread_mutex_lock(&hk.lock);
	hk.stop = 0;
	if (pthread_create(&hk.thread, NULL, hk_main, NULL)) {
		pthread_mutex_unlock(&hk.lock);
		return ferr_internal(e, "cannot start the housekeeping thread");
	}
	hk.started = 1;
	pthread_mutex_unlock(&hk.lock);
	return 0;
}

void housekeeping_stop(void)
{
	if (!hk.started)
		return;
	pthread_mutex_lock(&hk.lock);
	hk.stop = 1;
	pthread_cond_broadcast(&hk.cond);
	pthread_mutex_unlock(&hk.lock);
	pthread_join(hk.thread, NULL);
	hk.started = 0;
}
