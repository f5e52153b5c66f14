#include "build.h"
#include "build_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/lookup.h"
#include "core/core.h"
#include "core/diskspace.h"
#include "core/build_sweep.h"
#include "core/build_watchdog.h"
#include "core/infra.h"
#include "core/registry_wait.h"
#include "core/events.h"
#include "core/gitcreds.h"
#include "lib/fstree.h"
#include "store/eventlog.h"
#include "store/reserve.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/wake.h"
#include "pipeline/buildpack.h"
#include "pipeline/buildpack_build.h"
#include "pipeline/descriptor.h"
#include "pipeline/dockerfile_from.h"
#include "pipeline/endpoints.h"
#include "pipeline/git.h"
#include "pipeline/image.h"
#include "pipeline/layer_mount.h"
#include "pipeline/sandbox.h"
#include "pipeline/registry.h"
#include "pipeline/scan.h"
#include "sched/jobqueue.h"
#include "store/store.h"
#include "lib/clock.h"
#include "lib/banned.h"

enum step { STEP_CHECKOUT, STEP_DESCRIPTOR, STEP_IMAGE, STEP_SCAN, STEP_PUSH, STEP_ENDPOINTS, NSTEPS };

/* The steps of a build, in order (defined with run_steps): each runs with
 * what the steps before it made (struct build_ctx). */
struct build_ctx;
struct build_step {
	const char *name;     /* build_steps.name, the log's step */
	int (*run)(struct build_ctx *c, struct ferr *e);
};
static const struct build_step steps[NSTEPS];

#define MAX_RUNS 64
#define LOG_LINE_MAX 4000

/* ------------------------------------------------------------------ */
/* Running builds                                                       */

struct build_run {
	int64_t build_id;
	int64_t job_id;
	atomic_int stop;          /* cancel or timeout: tools poll it */
	atomic_int timed_out;
	long long deadline_ms;    /* CLOCK_MONOTONIC */
	int timeout_s;
	enum step step;
	struct eventlog_cap step_cap;   /* this step's log, BUILD_STEP_LOG_MAX */
	struct strbuf partial;    /* an unfinished line of git progress */
	struct build_watchdog wd; /* of the tools (image_watch.stalled) */
};

static pthread_mutex_t runs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct build_run *runs[MAX_RUNS];
static atomic_int shutting_down;

static int build_timeout_s = BUILD_DEFAULT_TIMEOUT_S;
static int registry_wait_s = BUILD_DEFAULT_REGISTRY_WAIT_S;

/* Serializes registry garbage collection (which restarts the registry
 * read-only) against pushes. */
static pthread_rwlock_t push_lock = PTHREAD_RWLOCK_INITIALIZER;

static void runs_add(struct build_run *run)
{
	pthread_mutex_lock(&runs_lock);
	for (int i = 0; i < MAX_RUNS; i++)
		if (!runs[i]) {
			runs[i] = run;
			break;
		}
	pthread_mutex_unlock(&runs_lock);
}

static void runs_remove(struct build_run *run)
{
	pthread_mutex_lock(&runs_lock);
	for (int i = 0; i < MAX_RUNS; i++)
		if (runs[i] == run)
			runs[i] = NULL;
	pthread_mutex_unlock(&runs_lock);
}

/* The job queue's cancel hook (another thread): the tools see stop and
 * kill their process groups. */
static void build_job_cancel(struct job *job)
{
	pthread_mutex_lock(&runs_lock);
	for (int i = 0; i < MAX_RUNS; i++)
		if (runs[i] && runs[i]->job_id == job->id)
			atomic_store(&runs[i]->stop, 1);
	pthread_mutex_unlock(&runs_lock);
}

static int run_check_deadline(struct build_run *run)
{
	if (run->deadline_ms && mono_ms() >= run->deadline_ms && !atomic_load(&run->timed_out)) {
		atomic_store(&run->timed_out, 1);
		atomic_store(&run->stop, 1);
	}
	return atomic_load(&run->stop);
}

/* ------------------------------------------------------------------ */
/* Step logs                                                            */

const struct eventlog build_log = {
	.what = "build log",
	.insert_sql = "INSERT INTO build_logs (build_id, ts, text, step) VALUES (?1, ?2, ?3, ?4)",
	.read_sql = "SELECT id, ts, text, step FROM build_logs WHERE build_id = ?1 AND id > ?2"
		    " ORDER BY id LIMIT ?3",
	.text_key = "text",
	.tag_key = "step",
	.default_limit = 1000000,
};

static void log_store(int64_t build_id, const char *step, const char *text, size_t len)
{
	struct ferr e = FERR_INIT;

	if (eventlog_append(&build_log, build_id, step, text, len, &e) < 0)
		log_error("event=build_log_failed build=%lld err=\"%s\"", (long long)build_id, e.msg);
	wake_all(); /* followers of the log read it at once */
}

/* One line of the current step's log, capped per line and per step. */
static void run_log_line(struct build_run *run, const char *text, size_t len)
{
	static const char msg[] = "(log truncated: the step wrote more than 4 MiB)";

	if (len > LOG_LINE_MAX)
		len = LOG_LINE_MAX;
	switch (eventlog_cap_take(&run->step_cap, len)) {
	case 1:
		log_store(run->build_id, steps[run->step].name, text, len);
		break;
	case 0:
		log_store(run->build_id, steps[run->step].name, msg, sizeof(msg) - 1);
		break;
	default:
		break;
	}
}

static void run_log(struct build_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void run_log(struct build_run *run, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	run_log_line(run, sb.buf, sb.len);
	strbuf_release(&sb);
}

/* A line of a build tool's output: the watchdog reads what it does. */
static void tool_line(void *ctx, const char *line, size_t len)
{
	struct build_run *run = ctx;

	build_watchdog_line(&run->wd, line, len);
	run_log_line(run, line, len);
}

/* The watchdog's notes, in the step's log. */
static void run_note(void *ctx, const char *line, size_t len)
{
	run_log_line(ctx, line, len);
}

/* The watchdog of the build's tools (image_watch.stalled). */
static int tool_stalled(void *ctx, long long quiet_ms, struct ferr *e)
{
	struct build_run *run = ctx;

	return build_watchdog_check(&run->wd, quiet_ms, e);
}

/* git progress comes in pieces with \r and \n; log whole lines only. */
static void git_progress(void *ctx, const char *text, size_t len)
{
	struct build_run *run = ctx;

	run_check_deadline(run);
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (c == '\n' || c == '\r') {
			/* Counting lines repeat with \r: keep only the final one. */
			if (run->partial.len && (c == '\n' || !strstr(run->partial.buf, "%")))
				run_log_line(run, run->partial.buf, run->partial.len);
			strbuf_reset(&run->partial);
		} else if (run->partial.len < LOG_LINE_MAX) {
			strbuf_addch(&run->partial, c);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Rows                                                                 */

static int step_set(int64_t build_id, enum step s, const char *status, const char *detail)
{
	sqlite3_stmt *st;
	char now[32];
	int running = !strcmp(status, "running");

	store_now(now);
	st = store_stmt("UPDATE build_steps SET status = ?1, detail = coalesce(?2, detail),"
			" started_at = CASE WHEN ?3 THEN ?4 ELSE coalesce(started_at, ?4) END,"
			" finished_at = CASE WHEN ?3 THEN NULL ELSE ?4 END"
			" WHERE build_id = ?5 AND idx = ?6");
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, detail, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, running);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, build_id);
	sqlite3_bind_int(st, 6, (int)s);
	if (sqlite3_step(st) != SQLITE_DONE) {
		log_error("event=build_step_update_failed build=%lld err=\"%s\"", (long long)build_id,
			  sqlite3_errmsg(store_db()));
		return -1;
	}
	return 0;
}

/* Ends a build: its status and error, and what happened to steps that
 * never ran. A build that another writer ended first (a cancel, the
 * recovery) keeps that end: the refused move is logged. */
static void build_finish(int64_t build_id, enum build_status status, const char *error)
{
	struct ferr e = FERR_INIT;
	sqlite3_stmt *st;
	char now[32];

	if (build_transition(build_id, status, error, &e) < 0) {
		log_error("event=build_finish_failed build=%lld err=\"%s\"", (long long)build_id, e.msg);
		return;
	}
	store_now(now);
	st = store_stmt("UPDATE build_steps SET status = ?, finished_at = ?"
			" WHERE build_id = ? AND status IN ('pending', 'running')");
	sqlite3_bind_text(st, 1, status == BUILD_CANCELLED ? "cancelled" : "skipped", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, build_id);
	store_run_logged(st, "finish the build's steps");
	wake_all(); /* a follower (ferry build --wait) learns the end at once */
	if (status == BUILD_SUCCEEDED)
		event_publish(EVENT_BUILD_SUCCEEDED, build_id);
	else if (status == BUILD_FAILED)
		event_publish(EVENT_BUILD_FAILED, build_id);
}

/* What a build needs of its component. */
struct build_src {
	int64_t component_id;
	int64_t project_id;
	char *project;
	char *component;
	char *repo;
	char *branch;
	char *path;
	char *dockerfile;  /* NULL with a buildpack */
	char *buildpack;
	char *requested;   /* NULL: the branch head */
	int build_network_egress; /* RUN steps may reach the network */
};

static char *col_dup(sqlite3_stmt *st, int c)
{
	const unsigned char *t = sqlite3_column_text(st, c);
	char *s;

	if (!t)
		return NULL;
	s = strdup((const char *)t);
	if (!s)
		abort();
	return s;
}

static void build_src_release(struct build_src *s)
{
	free(s->project);
	free(s->component);
	free(s->repo);
	free(s->branch);
	free(s->path);
	free(s->dockerfile);
	free(s->buildpack);
	free(s->requested);
}

static int build_src_load(int64_t build_id, struct build_src *s, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT c.id, c.project_id, p.name, c.name, c.repo, c.branch, c.path, c.dockerfile,"
		" c.buildpack, b.requested FROM builds b JOIN components c ON c.id = b.component_id"
		" JOIN projects p ON p.id = c.project_id WHERE b.id = ?");
	int rc;

	memset(s, 0, sizeof(*s));
	sqlite3_bind_int64(st, 1, build_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		s->component_id = sqlite3_column_int64(st, 0);
		s->project_id = sqlite3_column_int64(st, 1);
		s->project = col_dup(st, 2);
		s->component = col_dup(st, 3);
		s->repo = col_dup(st, 4);
		s->branch = col_dup(st, 5);
		s->path = col_dup(st, 6);
		s->dockerfile = col_dup(st, 7);
		s->buildpack = col_dup(st, 8);
		s->requested = col_dup(st, 9);
		s->build_network_egress = 1;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "build %lld or its component no longer exists", (long long)build_id);
	if (rc != SQLITE_ROW)
		return store_error(e, "load build");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Workspace                                                            */

static void workspace_path(struct strbuf *sb, int64_t build_id)
{
	strbuf_addf(sb, "%s/work/build-%lld", core.data_dir, (long long)build_id);
}

/* ------------------------------------------------------------------ */
/* The scan seam                                                        */

/* The scanners ferryd configured (build_register); zero: Dockerfile rules
 * only. */
static struct scan_config scan_cfg;

/* The component's scan policy (scan_policies), CRITICAL without a row. */
static int scan_fail_on(int64_t component_id)
{
	sqlite3_stmt *st = store_stmt("SELECT fail_on FROM scan_policies WHERE component_id = ?");
	int level = SCAN_CRITICAL;

	sqlite3_bind_int64(st, 1, component_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		int l = scan_fail_on_parse((const char *)sqlite3_column_text(st, 0));
		if (l > 0)
			level = l;
	}
	sqlite3_reset(st);
	return level;
}

static int scan_store(int64_t build_id, json_t *report, struct ferr *e)
{
	json_t *s = json_object_get(report, "summary");
	char *text = json_dumps(report, JSON_COMPACT);
	sqlite3_stmt *st;
	char now[32];
	int rc;

	store_now(now);
	st = store_stmt("INSERT OR REPLACE INTO scans (build_id, passed, fail_on, critical, high, medium,"
			" low, unknown, suppressed, report, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
	sqlite3_bind_int64(st, 1, build_id);
	sqlite3_bind_int(st, 2, json_is_true(json_object_get(report, "passed")));
	sqlite3_bind_text(st, 3, json_string_value(json_object_get(report, "fail_on")), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, json_integer_value(json_object_get(s, "CRITICAL")));
	sqlite3_bind_int64(st, 5, json_integer_value(json_object_get(s, "HIGH")));
	sqlite3_bind_int64(st, 6, json_integer_value(json_object_get(s, "MEDIUM")));
	sqlite3_bind_int64(st, 7, json_integer_value(json_object_get(s, "LOW")));
	sqlite3_bind_int64(st, 8, json_integer_value(json_object_get(s, "UNKNOWN")));
	sqlite3_bind_int64(st, 9, (sqlite3_int64)json_array_size(json_object_get(report, "suppressed")));
	sqlite3_bind_text(st, 10, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	free(text);
	return rc == SQLITE_DONE ? 0 : store_error(e, "store the scan report");
}

/* The scan step (pipeline/scan.h): Dockerfile rules, secrets in the
 * checkout and the image, vulnerabilities, the component's policy. Runs on
 * the local image before anything is pushed: returns 0 to let the push go
 * on, or -1 with e set ("scan_failed", 422, saying why) to fail the build.
 * The report is stored either way. */
static int build_scan_hook(struct build_run *run, const struct build_src *src, const char *workspace,
			   const char *dockerfile_text, const struct image_local *img,
			   const struct image_watch *w, struct ferr *e)
{
	struct scan_request rq = {
		.context_dir = workspace,
		.dockerfile = dockerfile_text ? NULL : src->dockerfile,
		.dockerfile_text = dockerfile_text,
		.image = img->name,
		.registry = core.registry,
		.fail_on = scan_fail_on(src->component_id),
		.w = w,
	};
	struct strbuf summary = STRBUF_INIT;
	json_t *report = NULL;
	const char *from_args[5];
	struct strbuf graph = STRBUF_INIT;
	size_t n = 0;
	int rc;

	/* The image was built under the sandbox's id mapping: mounted with
	 * the same one, its layers are used as they are (no chowned copy). */
	sandbox_userns_args(from_args, &n);
	from_args[n] = NULL;
	rq.from_args = from_args;
	/* ferry's build store (lib/containers.h): the image's layers are
	 * mounted from there, without buildah */
	{
		char *abs = realpath(core.data_dir, NULL); /* as storage.conf names it */
		strbuf_addf(&graph, "%s/containers/storage", abs ? abs : core.data_dir);
		free(abs);
	}
	rq.image_id = img->id;
	rq.graph_root = graph.buf;
	rc = scan_run(&scan_cfg, &rq, &report, e);
	strbuf_release(&graph);

	if (rc < 0)
		return -1;
	if (scan_store(run->build_id, report, e) < 0) {
		json_decref(report);
		return -1;
	}
	scan_report_summary(report, &summary);
	if (rc == 1)
		ferr_set(e, 422, "scan_failed", "%s", json_string_value(json_object_get(report, "reason")));
	else
		step_set(run->build_id, STEP_SCAN, "succeeded", summary.buf);
	log_info("event=build_scan build=%lld passed=%d summary=\"%s\"", (long long)run->build_id,
		 rc == 0, summary.buf);
	strbuf_release(&summary);
	json_decref(report);
	return rc == 0 ? 0 : -1;
}

void build_begin_shutdown(void)
{
	atomic_store(&shutting_down, 1);
}

int build_registry_gc(struct strbuf *log, struct ferr *e)
{
	int rc;

	if (!core.registry)
		return ferr_set(e, 503, "unavailable", "the registry is not running yet");
	pthread_rwlock_wrlock(&push_lock);
	rc = registry_gc(core.registry, log, e);
	pthread_rwlock_unlock(&push_lock);
	return rc;
}

int build_registry_exclusive(int (*fn)(void *arg, struct ferr *e), void *arg, struct ferr *e)
{
	int rc;

	pthread_rwlock_wrlock(&push_lock);
	rc = fn(arg, e);
	pthread_rwlock_unlock(&push_lock);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The build job                                                        */

/* Why a step stopped, when it was the build's stop flag. */
static int stop_reason(struct build_run *run, struct job *job, struct ferr *e)
{
	if (atomic_load(&run->timed_out))
		return ferr_set(e, 504, "timeout", "the build took longer than its timeout of %d s",
				run->timeout_s);
	if (job_cancelled(job) || atomic_load(&run->stop))
		return ferr_set(e, 409, "cancelled", "cancelled on request");
	return 0;
}

static int run_stopped(struct build_run *run, struct job *job)
{
	if (job_cancelled(job))
		atomic_store(&run->stop, 1);
	return run_check_deadline(run);
}

static void step_begin(struct build_run *run, enum step s)
{
	run->step = s;
	run->step_cap = (struct eventlog_cap)EVENTLOG_CAP(BUILD_STEP_LOG_MAX);
	build_watchdog_step(&run->wd, steps[s].name,
			    s == STEP_PUSH ? BUILD_WATCHDOG_STEP_PUSH :
			    s == STEP_IMAGE ? BUILD_WATCHDOG_STEP_IMAGE : BUILD_WATCHDOG_STEP_OTHER);
	step_set(run->build_id, s, "running", NULL);
}

/* What the steps of one build share: its inputs and what the steps before
 * made. A step returns 0 (its detail, if any, in detail) or -1 with e set;
 * one that records its own end sets recorded. */
struct build_ctx {
	struct job *job;
	struct build_run *run;
	struct build_src *src;
	const char *workspace;
	struct image_watch w;         /* the tools' output, cancel, deadline */
	char sha[GIT_SHA_SIZE];       /* checkout: the commit */
	int64_t commit_time;
	struct descriptor *d;         /* descriptor */
	struct strbuf repo;           /* image: "project/component" */
	struct strbuf df;             /* image: the Dockerfile text built, if not the checkout's */
	struct strbuf pinned;
	struct image_local img;       /* image: the local image (the caller removes it) */
	const char *detail;
	int recorded;
};

static int step_checkout(struct build_ctx *c, struct ferr *e)
{
	struct build_run *run = c->run;
	struct build_src *src = c->src;
	const char *workspace = c->workspace;
	char *sha = c->sha;
	int64_t *commit_time = &c->commit_time;
	struct git_fetch_opts fo = {
		.cancel = &run->stop,
		.progress = git_progress,
		.progress_ctx = run,
	};
	const char *rev = src->requested ? src->requested : src->branch;
	struct strbuf dir = STRBUF_INIT;
	char *mirror = NULL;
	sqlite3_stmt *st;
	int ret = -1;

	run_log(run, "fetching %s", src->repo);
	if (gitcreds_fetch(src->component_id, src->repo, &fo, &mirror, e) < 0)
		goto out;
	if (run->partial.len) {
		run_log_line(run, run->partial.buf, run->partial.len);
		strbuf_reset(&run->partial);
	}
	if (git_resolve(mirror, rev, sha, e) < 0) {
		ferr_prefix(e, "%s \"%s\"", src->requested ? "commit" : "branch", rev);
		goto out;
	}
	run_log(run, "%s %s is commit %s", src->requested ? "revision" : "branch", rev, sha);
	strbuf_addf(&dir, "%s/work", core.data_dir);
	if (mkdir(dir.buf, 0700) < 0 && errno != EEXIST) {
		ferr_internal(e, "cannot create %s: %s", dir.buf, strerror(errno));
		goto out;
	}
	if (fstree_remove(workspace) < 0) {
		ferr_internal(e, "cannot clear the old workspace %s: %s", workspace, strerror(errno));
		goto out;
	}
	if (git_export(mirror, sha, src->path, workspace, commit_time, e) < 0) {
		if (src->path && *src->path)
			ferr_prefix(e, "path \"%s\"", src->path);
		goto out;
	}
	run_log(run, "exported %s%s%s (commit time %lld)", sha, src->path && *src->path ? " path " : "",
		src->path ? src->path : "", (long long)*commit_time);
	st = store_stmt("UPDATE builds SET commit_sha = ?, commit_time = ? WHERE id = ?");
	sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, *commit_time);
	sqlite3_bind_int64(st, 3, run->build_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_error(e, "record the commit");
		goto out;
	}
	c->detail = sha;
	ret = 0;
out:
	free(mirror);
	strbuf_release(&dir);
	return ret;
}

static int store_json_col(int64_t build_id, int descriptor, json_t *j, struct ferr *e)
{
	char *text = json_dumps(j, JSON_COMPACT);
	sqlite3_stmt *st = descriptor ? store_stmt("UPDATE builds SET descriptor = ? WHERE id = ?")
				      : store_stmt("UPDATE builds SET endpoints = ? WHERE id = ?");
	int rc;

	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, build_id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	free(text);
	return rc == SQLITE_DONE ? 0 : store_error(e, "store the build's descriptor");
}

/* Base images by short name (FROM python:3.12-slim): looked up in ferry's
 * registry, then in each base-image cache in order. One found in a cache
 * is pinned in the Dockerfile given to buildah (dockerfile_from.h); the final
 * stage's base is recorded with the build (builds.base). Full references
 * (with a registry host), build arguments and stage names are left alone. */
struct base_ctx {
	struct build_run *run;
	json_t *last;          /* the latest FROM resolved: the final stage's */
};

static int base_resolve(void *arg, const char *image, struct strbuf *ref)
{
	struct base_ctx *ctx = arg;
	struct strbuf name = STRBUF_INIT;
	struct registry *where = NULL;
	const char *tag = "latest", *upstream = NULL, *slash;
	char digest[72] = "", *cut;
	int pin = 0;

	strbuf_addstr(&name, image);
	slash = strchr(name.buf, '/');
	if (slash && (memchr(name.buf, '.', (size_t)(slash - name.buf)) ||
		      memchr(name.buf, ':', (size_t)(slash - name.buf)) ||
		      !strncmp(name.buf, "localhost/", 10)))
		goto out;
	if ((cut = strchr(name.buf, '@')) || ((cut = strrchr(name.buf, ':')) && !strchr(cut, '/'))) {
		*cut = '\0';
		tag = cut + 1;
	}
	if (!registry_valid_repo(name.buf))
		goto out;
	if (registry_manifest_digest(core.registry, name.buf, tag, digest, NULL) == 1) {
		where = core.registry;
	} else {
		struct registry *const *caches;
		const char *const *upstreams;
		size_t n = infra_caches(&caches, &upstreams);

		for (size_t i = 0; i < n && !where; i++)
			if (registry_manifest_digest(caches[i], name.buf, tag, digest, NULL) == 1) {
				where = caches[i];
				upstream = upstreams[i];
			}
	}
	if (!where) {
		run_log(ctx->run, "base image %s: not found in ferry's registry%s", image,
			infra_caches(NULL, NULL) ? " nor in its base-image caches" : "");
		goto out;
	}
	run_log(ctx->run, "base image %s is %s/%s@%s%s%s", image, registry_host(where), name.buf,
		digest, upstream ? ", cached from " : "", upstream ? upstream : "");
	json_decref(ctx->last);
	ctx->last = json_pack("{s:s, s:s, s:s, s:s, s:o}", "name", name.buf, "tag", tag,
			      "registry", registry_host(where), "digest", digest,
			      "upstream", upstream ? json_string(upstream) : json_null());
	if (upstream) {
		strbuf_addf(ref, "%s/%s@%s", registry_host(where), name.buf, digest);
		pin = 1;
	}
out:
	strbuf_release(&name);
	return pin;
}

/* Pins text's cached short-name bases into pinned (left empty when none
 * is) and records the final stage's base. Never fails the build: a base
 * ferry cannot find is left to buildah, which says so. */
static void resolve_bases(struct build_run *run, const char *text, struct strbuf *pinned)
{
	struct base_ctx ctx = { run, NULL };
	int n = dockerfile_pin_from(text, base_resolve, &ctx, pinned);

	if (n <= 0)
		strbuf_reset(pinned);
	if (ctx.last) {
		char *jt = json_dumps(ctx.last, JSON_COMPACT);
		sqlite3_stmt *st = store_stmt("UPDATE builds SET base = ? WHERE id = ?");

		sqlite3_bind_text(st, 1, jt, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, run->build_id);
		if (sqlite3_step(st) != SQLITE_DONE)
			log_error("event=build_base_not_stored build=%lld", (long long)run->build_id);
		sqlite3_reset(st);
		free(jt);
		json_decref(ctx.last);
	}
}

/* The Dockerfile at rel below workspace (at most 1 MiB) into out; 0 or -1. */
static int read_dockerfile(const char *workspace, const char *rel, struct strbuf *out)
{
	return buildpack_read_file(workspace, rel ? rel : "Dockerfile", out);
}

/* The digest of the newest earlier successful build of the same commit. */
static int previous_digest(int64_t build_id, int64_t component_id, const char *sha, char out[72])
{
	sqlite3_stmt *st = store_stmt("SELECT digest FROM builds WHERE component_id = ? AND commit_sha = ?"
				      " AND status = 'succeeded' AND digest IS NOT NULL AND id <> ?"
				      " ORDER BY id DESC LIMIT 1");
	int found = 0;

	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_text(st, 2, sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, build_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(out, 72, "%s", sqlite3_column_text(st, 0));
		found = 1;
	}
	sqlite3_reset(st);
	return found;
}

/* How many times a build pushes (the registry going away meanwhile). */
#define PUSH_ATTEMPTS 3

static int step_push(struct build_ctx *c, struct ferr *e)
{
	struct build_run *run = c->run;
	struct build_src *src = c->src;
	const struct image_local *img = &c->img;
	const char *repo = c->repo.buf, *sha = c->sha;
	const struct image_watch *w = &c->w;
	struct image_pushed pushed = IMAGE_PUSHED_INIT;
	char old[72] = "";
	sqlite3_stmt *st;
	int rc, ret = -1;

	for (int attempt = 1;; attempt++) {
		pid_t pid = registry_pid(core.registry);
		if (registry_wait(core.registry, registry_wait_s, w, pid, e) < 0)
			goto out;
		pid = registry_pid(core.registry);
		pthread_rwlock_rdlock(&push_lock);
		rc = image_push(core.registry, img, repo, sha, w, &pushed, e);
		if (rc == 0)
			break; /* held until the digest is recorded (registry_prune) */
		pthread_rwlock_unlock(&push_lock);
		/* the registry went away during the push: wait for it, push again */
		if (attempt == PUSH_ATTEMPTS || strcmp(e->code, "push_failed") ||
		    atomic_load(&run->stop))
			goto out;
		{
			struct ferr we = FERR_INIT;
			int back = registry_wait(core.registry, registry_wait_s, w, pid, &we);
			if (back <= 0)
				goto out; /* up all along: the push's own error stands */
		}
		run_log(run, "pushing again (attempt %d of %d)", attempt + 1, PUSH_ATTEMPTS);
		image_pushed_release(&pushed);
		pushed = (struct image_pushed)IMAGE_PUSHED_INIT;
		ferr_clear(e);
	}
	run_log(run, "pushed %s:%s as %s", repo, sha, pushed.ref);
	st = store_stmt("UPDATE builds SET digest = ?, image = ? WHERE id = ?");
	sqlite3_bind_text(st, 1, pushed.digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pushed.ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, run->build_id);
	rc = sqlite3_step(st);
	pthread_rwlock_unlock(&push_lock);
	if (rc != SQLITE_DONE) {
		store_error(e, "record the digest");
		goto out;
	}
	if (previous_digest(run->build_id, src->component_id, sha, old)) {
		if (!strcmp(old, pushed.digest)) {
			run_log(run, "same digest as the previous build of this commit");
		} else {
			struct strbuf gclog = STRBUF_INIT;
			struct ferr ge = FERR_INIT;
			rc = image_replace(core.registry, repo, old, pushed.digest, &ge);
			if (rc < 0) {
				run_log(run, "warning: could not delete the older image %s: %s", old, ge.msg);
			} else if (rc == 1) {
				run_log(run, "deleted the older image of this commit %s@%s", repo, old);
				pthread_rwlock_wrlock(&push_lock);
				if (registry_gc(core.registry, &gclog, &ge) < 0)
					run_log(run, "warning: registry garbage collection failed: %s", ge.msg);
				else
					run_log(run, "registry garbage-collected");
				pthread_rwlock_unlock(&push_lock);
			}
			strbuf_release(&gclog);
			/* The older build's image is gone: it cannot be deployed. */
			st = store_stmt("UPDATE builds SET image = NULL WHERE component_id = ? AND digest = ?"
					" AND id <> ?");
			sqlite3_bind_int64(st, 1, src->component_id);
			sqlite3_bind_text(st, 2, old, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, run->build_id);
			store_run_logged(st, "forget the collected image of older builds");
		}
	}
	ret = 0;
out:
	image_pushed_release(&pushed);
	return ret;
}

/* Says in the build's log what the RUN steps are confined to. */
static void sandbox_describe(struct build_run *run, const struct sandbox *sb)
{
	const struct sandbox_config *c = sandbox_settings();
	char cpus[32];

	if (c->cpus > 0)
		snprintf(cpus, sizeof(cpus), "%.2f", c->cpus);
	else
		snprintf(cpus, sizeof(cpus), "unlimited");
	run_log(run, "sandbox: RUN steps as an unprivileged user (user namespace of %s), own "
		"PID/mount/IPC/UTS/network namespaces, network %s; limits: memory %lld MiB, "
		"processes %ld, disk %lld MiB, CPUs %s, time %d s", SANDBOX_ACCOUNT,
		sb->egress ? "egress (user-mode, host loopback unreachable)" :
		sandbox_egress_allowed() ? "none" : "none (the server allows no build network)",
		c->memory >> 20, c->pids, c->disk >> 20, cpus, run->timeout_s);
}

/* The buildpack of this build: the component's, or, when it names no
 * other Dockerfile than ./Dockerfile and the repository has none, the one
 * its files call for
 * (buildpack.h). NULL: a Dockerfile build. */
static const struct buildpack *choose_buildpack(struct build_run *run, const struct build_src *src,
						const char *workspace)
{
	const struct buildpack *bp;
	struct strbuf path = STRBUF_INIT;
	int has_dockerfile;

	if (src->buildpack)
		return buildpack_find(src->buildpack);
	/* "Dockerfile" is also what a component without --dockerfile records */
	if (src->dockerfile && strcmp(src->dockerfile, "Dockerfile"))
		return NULL;
	strbuf_addf(&path, "%s/Dockerfile", workspace);
	has_dockerfile = access(path.buf, F_OK) == 0;
	strbuf_release(&path);
	if (has_dockerfile)
		return NULL;
	bp = buildpack_detect(workspace);
	if (bp)
		run_log(run, "no Dockerfile: the %s buildpack, detected from %s", bp->name, bp->detect);
	return bp;
}

static int step_descriptor(struct build_ctx *c, struct ferr *e)
{
	struct descriptor *d;
	json_t *j;
	int rc;

	if (descriptor_load(&c->d, c->workspace, e) < 0)
		return -1;
	d = c->d;
	if (d->format == DESCRIPTOR_DEFAULT)
		run_log(c->run, "no descriptor (.ferry/component.yaml or .choreo/component.yaml): defaults");
	else
		run_log(c->run, "read %s (%s format%s%s): %zu endpoint(s), %zu env, %zu file(s)", d->file,
			descriptor_format_name(d->format), d->schema_version ? ", schemaVersion " : "",
			d->schema_version ? d->schema_version : "", d->n_endpoints, d->n_env, d->n_files);
	/* What the reference tolerates and ferry read differently: unknown
	 * keys, outdated versions, endpoint names mapped to DNS labels. */
	for (size_t i = 0; i < d->n_warnings; i++)
		run_log(c->run, "warning: %s", d->warnings[i]);
	j = descriptor_to_json(d);
	rc = store_json_col(c->run->build_id, 1, j, e);
	json_decref(j);
	c->detail = d->file ? d->file : "defaults";
	return rc;
}

/* The Dockerfile buildah builds: a buildpack's (or the static-files one),
 * else the checkout's; with its short base names pinned (resolve_bases). */
static int image_dockerfile(struct build_ctx *c, const struct buildpack *bp, struct sandbox *sb,
			    struct image_build *b, struct ferr *e)
{
	struct strbuf text = STRBUF_INIT;

	if (bp) {
		int port = IMAGE_STATIC_PORT, rc;
		if (c->d->n_endpoints && c->d->endpoints[0].port >= 1024)
			port = c->d->endpoints[0].port;
		if (!bp->build_base) {
			rc = image_static_dockerfile(".", port, &c->df, e);
			run_log(c->run, "buildpack %s: serving the files on port %d", bp->name, port);
		} else {
			struct buildpack_build bb = { bp, c->workspace, c->repo.buf, port, c->commit_time, sb };
			rc = buildpack_prepare(core.registry, &bb, &c->w, &c->df, e);
		}
		if (rc < 0)
			return -1;
		b->dockerfile = NULL;
		b->dockerfile_text = c->df.buf;
	} else {
		run_log(c->run, "building %s with buildah (timestamp %lld)",
			b->dockerfile ? b->dockerfile : "Dockerfile", (long long)c->commit_time);
	}
	if (c->df.len || read_dockerfile(c->workspace, c->src->dockerfile, &text) == 0)
		resolve_bases(c->run, c->df.len ? c->df.buf : text.buf, &c->pinned);
	strbuf_release(&text);
	if (c->pinned.len) {
		/* what buildah builds, and what the scan step reads */
		strbuf_reset(&c->df);
		strbuf_add(&c->df, c->pinned.buf, c->pinned.len);
		b->dockerfile = NULL;
		b->dockerfile_text = c->df.buf;
	}
	return 0;
}

static int step_image(struct build_ctx *c, struct ferr *e)
{
	struct build_run *run = c->run;
	struct sandbox sb = SANDBOX_INIT;
	const struct buildpack *bp;
	char sb_key[40];
	int rc;
	struct image_build b = {
		.context_dir = c->workspace,
		.dockerfile = c->src->dockerfile,
		.revision = c->sha,
		.timestamp = c->commit_time,
	};

	if (!core.registry || infra_wait(0, NULL) < 0) {
		run_log(run, "waiting for the image registry and the ferry/busybox base image");
		while (infra_wait(1000, e) < 0) {
			if (run_stopped(run, c->job)) {
				stop_reason(run, c->job, e);
				return -1;
			}
			if (e->status != 503)
				return -1;
			ferr_clear(e);
		}
	}
	/* buildah's FROM asks the registry for the base image */
	if (registry_wait(core.registry, registry_wait_s, &c->w, registry_pid(core.registry), e) < 0)
		return -1;
	strbuf_addf(&c->repo, "%s/%s", c->src->project, c->src->component);
	b.repo = c->repo.buf;
	/* unique on the machine: other ferryds number their builds too */
	snprintf(sb_key, sizeof(sb_key), "p%ld-b%lld", (long)getpid(), (long long)run->build_id);
	bp = choose_buildpack(run, c->src, c->workspace);
	if (sandbox_open(&sb, sb_key, c->src->build_network_egress, e) < 0)
		return -1;
	b.sandbox = &sb;
	sandbox_describe(run, &sb);
	rc = image_dockerfile(c, bp, &sb, &b, e);
	if (rc == 0)
		rc = image_build(core.registry, &b, &c->w, &c->img, e);
	sandbox_close(&sb);
	if (rc < 0)
		return -1;
	run_log(run, "built image %s", c->img.id);
	c->detail = c->img.id;
	return 0;
}

static int step_scan(struct build_ctx *c, struct ferr *e)
{
	/* the scan records its own end, with its summary */
	c->recorded = 1;
	return build_scan_hook(c->run, c->src, c->workspace, c->df.len ? c->df.buf : NULL, &c->img,
			       &c->w, e);
}

static void endpoint_note(void *ctx, const char *line)
{
	run_log(ctx, "%s", line);
}

static int step_endpoints(struct build_ctx *c, struct ferr *e)
{
	json_t *j = endpoints_json(c->d, c->workspace, endpoint_note, c->run, e);
	int rc;

	if (!j)
		return -1;
	rc = store_json_col(c->run->build_id, 0, j, e);
	json_decref(j);
	return rc;
}

static const struct build_step steps[NSTEPS] = {
	[STEP_CHECKOUT] = { "checkout", step_checkout },
	[STEP_DESCRIPTOR] = { "descriptor", step_descriptor },
	[STEP_IMAGE] = { "image", step_image },
	[STEP_SCAN] = { "scan", step_scan },
	[STEP_PUSH] = { "push", step_push },
	[STEP_ENDPOINTS] = { "endpoints", step_endpoints },
};

/* Runs the steps in order, each recorded running then succeeded (or
 * failed, or cancelled, with the error), stopping between steps when the
 * build was cancelled or timed out. The local image is left in *out_img
 * for the caller to remove once the build's result is recorded (users wait
 * for that, not for the clean-up). */
static int run_steps(struct job *job, struct build_run *run, struct build_src *src,
		     const char *workspace, struct image_local *out_img, struct ferr *e)
{
	struct build_ctx c = {
		.job = job, .run = run, .src = src, .workspace = workspace,
		.w = { tool_line, run, &run->stop, run->deadline_ms, tool_stalled },
		.repo = STRBUF_INIT, .df = STRBUF_INIT, .pinned = STRBUF_INIT,
		.img = IMAGE_LOCAL_INIT,
	};
	int ret = 0;

	for (int s = 0; s < NSTEPS && ret == 0; s++) {
		step_begin(run, (enum step)s);
		c.detail = NULL;
		c.recorded = 0;
		ret = steps[s].run(&c, e);
		if (ret == 0 && !c.recorded)
			step_set(run->build_id, (enum step)s, "succeeded", c.detail);
		if (ret == 0 && s + 1 < NSTEPS && run_stopped(run, job)) {
			stop_reason(run, job, e);
			ret = -1;
		}
	}
	if (ret < 0) {
		if (e->status == 499 || !strcmp(e->code, "canceled") || !strcmp(e->code, "cancelled") ||
		    !strcmp(e->code, "timeout")) {
			ferr_clear(e);
			run_check_deadline(run);
			stop_reason(run, job, e);
		}
		run_log(run, "error: %s", e->msg);
		step_set(run->build_id, run->step, !strcmp(e->code, "cancelled") ? "cancelled" : "failed",
			 e->msg);
	}
	*out_img = c.img;
	descriptor_free(c.d);
	strbuf_release(&c.repo);
	strbuf_release(&c.df);
	strbuf_release(&c.pinned);
	return ret;
}

static int build_job_run(struct job *job, struct ferr *e)
{
	int64_t build_id = json_integer_value(json_object_get(job->payload, "build"));
	struct build_run run = {
		.build_id = build_id, .job_id = job->id, .timeout_s = build_timeout_s,
		.wd = { .build_id = build_id, .registry_wait_s = registry_wait_s, .note = run_note },
	};
	struct image_local img = IMAGE_LOCAL_INIT;
	struct strbuf ws = STRBUF_INIT;
	struct build_src src;
	int rc;

	if (build_src_load(build_id, &src, e) < 0)
		return -1;
	if (build_transition(build_id, BUILD_RUNNING, NULL, e) < 0) {
		build_src_release(&src);
		if (e->status != 409)
			return -1;
		ferr_clear(e);
		return ferr_conflict(e, "build %lld is no longer queued (cancelled?)", (long long)build_id);
	}
	strbuf_init(&run.partial, 0);
	run.wd.note_ctx = &run;
	run.deadline_ms = image_deadline(build_timeout_s * 1000);
	atomic_init(&run.stop, job_cancelled(job));
	atomic_init(&run.timed_out, 0);
	build_sweep_enter();
	runs_add(&run);
	/* A cancel between claim and runs_add set only job->cancelled. */
	if (job_cancelled(job))
		atomic_store(&run.stop, 1);
	workspace_path(&ws, build_id);
	log_info("event=build_start build=%lld job=%lld component=%s/%s", (long long)build_id,
		 (long long)job->id, src.project, src.component);

	rc = run_steps(job, &run, &src, ws.buf, &img, e);

	runs_remove(&run);
	if (rc == 0) {
		build_finish(build_id, BUILD_SUCCEEDED, NULL);
		log_info("event=build_end build=%lld status=succeeded", (long long)build_id);
	} else if (!strcmp(e->code, "cancelled") && atomic_load(&shutting_down)) {
		ferr_clear(e);
		ferr_set(e, 503, "interrupted", "interrupted: ferryd stopped while the build ran; build again");
		build_finish(build_id, BUILD_FAILED, e->msg);
	} else {
		struct strbuf msg = STRBUF_INIT;
		enum build_status status = !strcmp(e->code, "cancelled") ? BUILD_CANCELLED : BUILD_FAILED;
		strbuf_addf(&msg, "%s: %s", steps[run.step].name, e->msg);
		if (status == BUILD_FAILED)
			diskspace_explain(&msg, run.wd.disk_was_full);
		build_finish(build_id, status, msg.buf);
		log_info("event=build_end build=%lld status=%s step=%s", (long long)build_id,
			 status_name(&build_statuses, status), steps[run.step].name);
		/* The job's reason says the same. */
		snprintf(e->msg, sizeof(e->msg), "%s", msg.buf);
		strbuf_release(&msg);
	}
	if (img.name) {
		struct ferr re = FERR_INIT;
		if (image_remove_local(core.registry, &img, &re) < 0)
			log_warnx("event=build_local_image_remove_failed build=%lld err=\"%s\"",
				  (long long)build_id, re.msg);
	}
	image_local_release(&img);
	if (fstree_remove(ws.buf) < 0)
		log_warn("event=build_workspace_remove_failed build=%lld path=%s", (long long)build_id, ws.buf);
	build_sweep_leave();
	/* what a killed tool left behind, once no other build runs */
	build_sweep("after-build");
	strbuf_release(&run.partial);
	strbuf_release(&ws);
	build_src_release(&src);
	return rc;
}

static struct job_kind build_kind = {
	.name = "build",
	.limit = BUILD_DEFAULT_CONCURRENCY,
	.requeue_on_restart = 0,
	.run = build_job_run,
	.cancel = build_job_cancel,
};

void build_register(const struct build_options *opts)
{
	if (opts->concurrency > 0)
		build_kind.limit = opts->concurrency;
	if (opts->timeout_s > 0)
		build_timeout_s = opts->timeout_s;
	if (opts->registry_wait_s > 0)
		registry_wait_s = opts->registry_wait_s;
	if (opts->scan)
		scan_cfg = *opts->scan;
	jobq_register(&build_kind);
}

void build_recover(void)
{
	sqlite3_stmt *st;
	struct ferr e = FERR_INIT;
	int n = 0;

	{
		/* the scans' image mounts a killed ferryd left (pipeline/layer_mount.h) */
		struct strbuf work = STRBUF_INIT;
		char *abs = realpath(core.data_dir, NULL);
		int k;

		strbuf_addf(&work, "%s/work", abs ? abs : core.data_dir);
		k = layer_unmount_stale(work.buf);
		if (k)
			log_info("event=scan_mounts_removed count=%d", k);
		free(abs);
		strbuf_release(&work);
	}
	if (store_begin(&e) < 0) {
		log_error("event=build_recover_failed err=\"%s\"", e.msg);
		return;
	}
	st = store_stmt("SELECT b.id, j.status, j.reason FROM builds b LEFT JOIN jobs j ON j.id = b.job_id"
			" WHERE b.status IN ('queued', 'running')"
			" AND (j.id IS NULL OR j.status IN ('succeeded','failed','cancelled','interrupted'))");
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *js = (const char *)sqlite3_column_text(st, 1);
		const char *reason = (const char *)sqlite3_column_text(st, 2);
		struct strbuf msg = STRBUF_INIT, ws = STRBUF_INIT;

		strbuf_addf(&msg, "interrupted: %s", reason ? reason : js ? js : "its job is gone");
		build_finish(id, js && !strcmp(js, "cancelled") ? BUILD_CANCELLED : BUILD_FAILED, msg.buf);
		workspace_path(&ws, id);
		fstree_remove(ws.buf);
		strbuf_release(&msg);
		strbuf_release(&ws);
		n++;
	}
	sqlite3_reset(st);
	if (store_commit(&e) < 0)
		log_error("event=build_recover_failed err=\"%s\"", e.msg);
	else if (n)
		log_info("event=builds_recovered count=%d", n);
}

/* ------------------------------------------------------------------ */
/* Queueing (what is read of builds: build_query.c)                    */

int64_t build_queue(int64_t component_id, const char *commit, const char *trigger,
		    const char *triggered_by, struct ferr *e)
{
	sqlite3_stmt *st;
	int64_t id, job, project_id;
	json_t *payload;
	char now[32];

	if (commit && (!*commit || strlen(commit) > 255))
		return ferr_invalid(e, "commit must be a sha, branch or tag of at most 255 characters");
	if (component_project_id(component_id, &project_id, e) < 0 || diskspace_check_build(e) < 0)
		return -1;
	/* over the cap on queued builds: refused before the build row is made
	 * (jobq_submit checks again, in one statement with its insert; a
	 * build refused there ends failed with the reason) */
	if (jobq_check_cap("build", project_id, e) < 0)
		return -1;
	if (store_begin(e) < 0)
		return -1;
	store_now(now);
	st = store_stmt("INSERT INTO builds (component_id, project_id, requested, status, trigger,"
			" triggered_by, created_at) VALUES (?, ?, ?, 'queued', ?, ?, ?)");
	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_int64(st, 2, project_id);
	sqlite3_bind_text(st, 3, commit, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, trigger, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, triggered_by, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_error(e, "queue build");
		store_rollback();
		return -1;
	}
	id = sqlite3_last_insert_rowid(store_db());
	for (int s = 0; s < NSTEPS; s++) {
		st = store_stmt("INSERT INTO build_steps (build_id, idx, name, status) VALUES (?, ?, ?, 'pending')");
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int(st, 2, s);
		sqlite3_bind_text(st, 3, steps[s].name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			store_error(e, "queue build");
			store_rollback();
			return -1;
		}
	}
	if (store_commit(e) < 0)
		return -1;
	/* The job goes in after the build row is committed: a worker that
	 * claims it at once finds the build. */
	payload = json_pack("{s:I}", "build", (json_int_t)id);
	job = jobq_submit("build", payload, project_id, triggered_by, e);
	json_decref(payload);
	if (job < 0) {
		build_finish(id, BUILD_FAILED, e->msg);
		return -1;
	}
	st = store_stmt("UPDATE builds SET job_id = ? WHERE id = ?");
	sqlite3_bind_int64(st, 1, job);
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_error(e, "link build to its job");
	log_info("event=build_queued build=%lld job=%lld trigger=%s", (long long)id, (long long)job, trigger);
	return id;
}

int build_create(const struct principal *who, const char *project, const char *component,
		 const char *commit, json_t **ret, struct ferr *e)
{
	int64_t cid, id;

	if (component_lookup(who, project, component, NULL, &cid, e) < 0 || auth_require_write(who, e) < 0)
		return -1;
	id = build_queue(cid, commit, "manual", who->name, e);
	if (id < 0)
		return -1;
	return build_show(who, id, ret, e);
}
