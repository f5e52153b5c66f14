/* rollout_kube: rollouts, undeploys, task runs and drift repair on a
 * Kubernetes cluster (see rollout_kube.h). */
#include "core/rollout_kube.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/deployment_record.h"
#include "core/execution_record.h"
#include "core/manifests.h"
#include "core/rollout_instance.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "runtime/kube_drift.h"
#include "runtime/kube_render.h"
#include "runtime/kube_status.h"
#include "runtime/kubectl.h"
#include "runtime/kubernetes.h"
#include "sched/jobqueue.h"
#include "store/store.h"
#include "lib/clock.h"
#include "lib/banned.h"

#define RECONCILE_MS 3000
#define CONNECT_RETRY_MS 2000
/* past the Deployment's own progress deadline: ferry's last resort */
#define WATCH_SLACK_S 30
/* A watch is ended and started again (a fresh list, then a watch from its
 * resourceVersion) this often: an update a watch stream did not deliver
 * is seen at the next list, not never. */
#define RELIST_MS 10000
#define UNDO_WAIT_S 60
#define LABEL "ferry.dev/"
/* the Gateway API's kind, by its full name (kubectl's short "httproutes"
 * could be another group's) */
#define HTTPROUTES "httproutes.gateway.networking.k8s.io"

struct owner {
	int64_t component_id, environment_id;
};

struct seen {
	int64_t dep;
	long long generation;     /* of its workload after ferry's last apply */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int started, stop, shutdown, kick;
	struct runtime *rt;
	struct kubectl *k;
	/* rollout_config.runtime_open: ferryd builds the driver */
	int (*runtime_open)(const char *instance, struct runtime **ret, struct ferr *e);
	char instance[40];
	char why[600];
	struct owner *busy;
	size_t nbusy, abusy;
	struct seen *seen;
	size_t nseen, aseen;
} ke = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void grow(void **arr, size_t n, size_t *cap, size_t elem)
{
	if (n < *cap)
		return;
	*cap = *cap ? *cap * 2 : 8;
	*arr = realloc(*arr, *cap * elem);
	if (!*arr)
		abort();
}

static void kick(void)
{
	pthread_mutex_lock(&ke.lock);
	ke.kick = 1;
	pthread_cond_broadcast(&ke.cond);
	pthread_mutex_unlock(&ke.lock);
}

int rollout_kube_on(void)
{
	return ke.started;
}

struct runtime *rollout_kube_runtime(struct ferr *e)
{
	struct runtime *rt;

	pthread_mutex_lock(&ke.lock);
	rt = ke.rt;
	if (!rt)
		ferr_set(e, 503, "starting", "the Kubernetes cluster is not reachable yet%s%s",
			 ke.why[0] ? ": " : "", ke.why);
	pthread_mutex_unlock(&ke.lock);
	return rt;
}

/* Waits until the cluster answered once. -1 with e when ferryd stops or
 * the job is cancelled first. */
static int wait_connected(struct job *job, struct ferr *e)
{
	pthread_mutex_lock(&ke.lock);
	while (!ke.rt && !ke.shutdown && !(job && job_cancelled(job))) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&ke.cond, &ke.lock, &ts);
	}
	pthread_mutex_unlock(&ke.lock);
	if (ke.rt)
		return 0;
	return ferr_set(e, 503, "interrupted", "ferryd stopped before the cluster answered");
}

/* One rollout or undeploy at a time per component and environment. */
static int owner_busy_locked(const struct owner *o)
{
	for (size_t i = 0; i < ke.nbusy; i++)
		if (ke.busy[i].component_id == o->component_id &&
		    ke.busy[i].environment_id == o->environment_id)
			return 1;
	return 0;
}

static int owner_take(const struct owner *o, struct job *job)
{
	pthread_mutex_lock(&ke.lock);
	while (owner_busy_locked(o)) {
		struct timespec ts;
		if (ke.shutdown || job_cancelled(job)) {
			pthread_mutex_unlock(&ke.lock);
			return -1;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&ke.cond, &ke.lock, &ts);
	}
	grow((void **)&ke.busy, ke.nbusy, &ke.abusy, sizeof(*ke.busy));
	ke.busy[ke.nbusy++] = *o;
	pthread_mutex_unlock(&ke.lock);
	return 0;
}

static void owner_give(const struct owner *o)
{
	pthread_mutex_lock(&ke.lock);
	for (size_t i = 0; i < ke.nbusy; i++) {
		if (ke.busy[i].component_id == o->component_id &&
		    ke.busy[i].environment_id == o->environment_id) {
			ke.busy[i] = ke.busy[--ke.nbusy];
			break;
		}
	}
	pthread_cond_broadcast(&ke.cond);
	pthread_mutex_unlock(&ke.lock);
}

static void seen_set(int64_t dep, long long generation)
{
	pthread_mutex_lock(&ke.lock);
	for (size_t i = 0; i < ke.nseen; i++) {
		if (ke.seen[i].dep == dep) {
			ke.seen[i].generation = generation;
			pthread_mutex_unlock(&ke.lock);
			return;
		}
	}
	grow((void **)&ke.seen, ke.nseen, &ke.aseen, sizeof(*ke.seen));
	ke.seen[ke.nseen++] = (struct seen){ dep, generation };
	pthread_mutex_unlock(&ke.lock);
}

/* The generation ferry last left dep's workload at, or -1 (not seen since
 * this ferryd started). */
static long long seen_get(int64_t dep)
{
	long long g = -1;

	pthread_mutex_lock(&ke.lock);
	for (size_t i = 0; i < ke.nseen; i++)
		if (ke.seen[i].dep == dep)
			g = ke.seen[i].generation;
	pthread_mutex_unlock(&ke.lock);
	return g;
}

/* ------------------------------------------------------------------ */
/* Objects                                                              */

/* dep's objects, rendered with their values (for the cluster, never for
 * people), its namespace into ns. */
static int render(int64_t dep, struct manifests_app *m, json_t **objs, char ns[KUBE_NAME_MAX + 1],
		  struct ferr *e)
{
	*objs = NULL;
	if (manifests_app_load(m, dep, 0, e) < 0 || kube_render(&m->app, objs, e) < 0)
		return -1;
	kube_namespace_name(ns, m->d.project, m->d.environment);
	return 0;
}

/* "Namespace demo-development, NetworkPolicy ..., Deployment hello" */
static void describe(const json_t *objs, char *out, size_t size)
{
	const json_t *o;
	size_t i, n = 0;

	out[0] = '\0';
	json_array_foreach(objs, i, o) {
		n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s %s", i ? ", " : "",
				      json_string_value(json_object_get(o, "kind")),
				      json_string_value(json_object_get(json_object_get(o, "metadata"), "name")));
		if (n >= size)
			break;
	}
}

/* Applies the secrets' values held in objs: wiped after. */
static int apply(json_t *objs, struct ferr *e)
{
	return kubectl_apply(ke.k, objs, 0, e);
}

static const char *workload_kind(const struct manifests_app *m)
{
	return m->app.kind == KUBE_SERVICE ? "deployment" : m->app.kind == KUBE_SCHEDULED_TASK ?
	       "cronjob" : NULL;
}

/* The workload's generation now, or -1 (absent); the deployment its
 * labels name into *ret_dep (if not NULL). */
static long long workload_generation(const struct manifests_app *m, const char *ns, int64_t *ret_dep)
{
	char what[96];
	json_t *o = NULL;
	long long g = -1;

	if (ret_dep)
		*ret_dep = 0;
	if (!workload_kind(m))
		return -1;
	snprintf(what, sizeof(what), "%s/%s", workload_kind(m), m->d.component);
	if (kubectl_get(ke.k, ns, what, NULL, &o, NULL) == 0) {
		const char *d = kube_label(o, LABEL "deployment-id");
		g = (long long)json_integer_value(json_object_get(json_object_get(o, "metadata"),
								  "generation"));
		if (ret_dep && d)
			*ret_dep = strtoll(d, NULL, 10);
	}
	json_decref(o);
	return g;
}

static int64_t active_of(int64_t component_id, int64_t env_id)
{
	return deployment_active_in(component_id, env_id, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* The rollout job                                                      */

struct watch {
	int64_t dep;
	struct job *job;
	enum kube_rollout state;
	char why[512];
	long long generation;
	int interrupted;          /* ferryd stops or the job was cancelled */
	int other;                /* the Deployment now runs another deployment */
};

static int on_deployment(json_t *obj, void *arg)
{
	struct watch *w = arg;
	char why[512];
	const char *owner;

	if (ke.shutdown || (w->job && job_cancelled(w->job))) {
		w->interrupted = 1;
		return 1;
	}
	if (!obj)
		return 0;
	owner = kube_label(json_object_get(json_object_get(obj, "spec"), "template"), LABEL "deployment-id");
	if (!owner || strtoll(owner, NULL, 10) != w->dep) {
		w->other = 1;
		return 1;
	}
	w->generation = (long long)json_integer_value(json_object_get(json_object_get(obj, "metadata"),
									"generation"));
	w->state = kube_rollout_state(obj, why, sizeof(why));
	if (strcmp(why, w->why)) {
		snprintf(w->why, sizeof(w->why), "%s", why);
		deployment_event(w->dep, "Deployment: %s", why);
	}
	return w->state != KUBE_ROLLOUT_PROGRESSING;
}

/* Watches dep's Deployment until it is available, failed, or timeout_s. */
static int watch_rollout(const struct manifests_app *m, const char *ns, struct job *job, int timeout_s,
			 struct watch *w, struct ferr *e)
{
	char what[96];
	long long deadline = mono_ms() + timeout_s * 1000LL;

	memset(w, 0, sizeof(*w));
	w->dep = m->d.id;
	w->job = job;
	snprintf(what, sizeof(what), "deployment/%s", m->d.component);
	while (w->state == KUBE_ROLLOUT_PROGRESSING && !w->interrupted && !w->other) {
		long long left = deadline - mono_ms();
		int rc;

		if (left <= 0)
			return 1;
		rc = kubectl_watch(ke.k, ns, what, (int)(left < RELIST_MS ? left : RELIST_MS), on_deployment,
				   w, e);
		if (rc < 0)
			return -1;
		/* rc 1: the watch ended (the server's timeout, our deadline or
		 * RELIST_MS): list and watch again */
	}
	return 0;
}

/* The reasons dep's pods are not ready, into out. */
static void pod_reasons(const char *ns, int64_t dep, char *out, size_t size)
{
	char sel[256], extra[64];
	json_t *pods = NULL;
	struct ferr e = FERR_INIT;

	snprintf(extra, sizeof(extra), LABEL "deployment-id=%lld", (long long)dep);
	kubernetes_selector(ke.rt, extra, sel, sizeof(sel));
	out[0] = '\0';
	if (kubectl_get(ke.k, ns, "pods", sel, &pods, &e) < 0)
		snprintf(out, size, "(its pods could not be read: %s)", e.msg);
	else
		kube_pod_reasons(pods, out, size);
	if (!out[0] && pods) {
		/* every pod is ready, or there is none: then what the
		 * ReplicaSet says is the lead */
		size_t n = json_array_size(json_object_get(pods, "items"));
		json_t *rs = NULL, *r, *c;
		size_t i, k, len;

		snprintf(out, size, "%s", n ? "its pods are Ready" : "it has no pod");
		if (kubectl_get(ke.k, ns, "replicasets", sel, &rs, NULL) == 0) {
			json_array_foreach(json_object_get(rs, "items"), i, r) {
				const json_t *st = json_object_get(r, "status");
				len = strlen(out);
				snprintf(out + len, size - len, "; ReplicaSet %s: %lld replicas, %lld ready, "
					 "%lld available (observed generation %lld of %lld)",
					 json_string_value(json_object_get(json_object_get(r, "metadata"), "name")) ?: "?",
					 (long long)json_integer_value(json_object_get(st, "replicas")),
					 (long long)json_integer_value(json_object_get(st, "readyReplicas")),
					 (long long)json_integer_value(json_object_get(st, "availableReplicas")),
					 (long long)json_integer_value(json_object_get(st, "observedGeneration")),
					 (long long)json_integer_value(json_object_get(json_object_get(r, "metadata"),
										       "generation")));
				/* ReplicaFailure: the controller could not create
				 * its pods (an admission refusal, a quota) */
				json_array_foreach(json_object_get(st, "conditions"), k, c) {
					if (strcmp(json_string_value(json_object_get(c, "status")) ?: "", "True"))
						continue;
					len = strlen(out);
					snprintf(out + len, size - len, ", %s: %s",
						 json_string_value(json_object_get(c, "type")) ?: "?",
						 json_string_value(json_object_get(c, "message")) ?: "");
				}
			}
		}
		json_decref(rs);
	}
	json_decref(pods);
}

/* A rollout that cannot finish: the previous active deployment's exact
 * objects go back (its ReplicaSet, still available, serves on), or, when
 * nothing served before, the new workload goes. */
static void undo(const struct manifests_app *m, const char *ns, struct job *job, char *note, size_t size)
{
	int64_t prev = active_of(m->d.component_id, m->d.environment_id);
	struct ferr e = FERR_INIT;

	if (prev && prev != m->d.id) {
		struct manifests_app pm;
		char pns[KUBE_NAME_MAX + 1];
		json_t *objs = NULL;
		struct watch w;

		if (render(prev, &pm, &objs, pns, &e) < 0 || apply(objs, &e) < 0) {
			snprintf(note, size, "undoing it failed: %.600s", e.msg);
		} else {
			deployment_event(m->d.id, "undone: deployment %lld's objects applied again",
					 (long long)prev);
			if (pm.app.kind == KUBE_SERVICE && watch_rollout(&pm, pns, job, UNDO_WAIT_S, &w, &e) == 0 &&
			    w.state == KUBE_ROLLOUT_DONE) {
				seen_set(prev, w.generation);
				snprintf(note, size, "undone: deployment %lld serves (%s)", (long long)prev, w.why);
			} else {
				snprintf(note, size, "undone: deployment %lld's objects applied again", (long long)prev);
			}
		}
		json_decref(objs);
		manifests_app_release(&pm);
		return;
	}
	{
		char sel[256], extra[64];
		snprintf(extra, sizeof(extra), LABEL "deployment-id=%lld", (long long)m->d.id);
		kubernetes_selector(ke.rt, extra, sel, sizeof(sel));
		if (kubectl_delete(ke.k, ns, manifests_gateway() ? "deployments,services,ingresses,cronjobs,"
				   HTTPROUTES : "deployments,services,ingresses,cronjobs", sel, &e) < 0)
			snprintf(note, size, "its objects could not be removed: %.600s", e.msg);
		else
			snprintf(note, size, "nothing served before it: its objects were removed");
	}
}

/* Secrets of the component's deployments other than dep and the one it
 * replaced: nothing references them any more. */
static void prune_secrets(const struct manifests_app *m, const char *ns, int64_t prev)
{
	char sel[320], extra[160];
	struct ferr e = FERR_INIT;

	snprintf(extra, sizeof(extra), LABEL "component-id=%lld," LABEL "deployment-id notin (%lld,%lld)",
		 (long long)m->d.component_id, (long long)m->d.id, (long long)(prev ? prev : m->d.id));
	kubernetes_selector(ke.rt, extra, sel, sizeof(sel));
	if (kubectl_delete(ke.k, ns, "secrets", sel, &e) < 0)
		log_warnx("event=kube_prune_failed deployment=%lld err=\"%s\"", (long long)m->d.id, e.msg);
}

static void fail(int64_t dep, const char *why)
{
	struct ferr e = FERR_INIT;

	if (deployment_mark_failed(dep, why, &e) < 0)
		log_error("event=mark_failed_failed deployment=%lld err=\"%s\"", (long long)dep, e.msg);
	log_warnx("event=rollout_failed deployment=%lld runtime=kubernetes reason=\"%s\"", (long long)dep, why);
}

/* Applies and follows dep (rolling-out). 0 when it ended active or
 * failed; -1 when interrupted by a shutdown (resumed at the next start). */
static int roll(struct job *job, int64_t dep, struct ferr *e)
{
	struct manifests_app m;
	char ns[KUBE_NAME_MAX + 1], what[1024], note[700];
	json_t *objs = NULL;
	long long t0 = mono_ms();
	long calls0 = kubectl_calls(ke.k);
	int64_t prev;
	struct watch w;
	int rc = 0;

	if (render(dep, &m, &objs, ns, e) < 0 || apply(objs, e) < 0) {
		fail(dep, e->msg);
		ferr_clear(e);
		goto out;
	}
	describe(objs, what, sizeof(what));
	deployment_event(dep, "applied to namespace %s (server-side apply, field manager ferry): %s", ns, what);
	prev = active_of(m.d.component_id, m.d.environment_id);
	if (m.app.kind != KUBE_SERVICE) {
		seen_set(dep, workload_generation(&m, ns, NULL));
		rc = deployment_mark_active(dep, e);
		goto out;
	}
	if (watch_rollout(&m, ns, job, m.app.progress_deadline_s + WATCH_SLACK_S, &w, e) < 0) {
		snprintf(note, sizeof(note), "following the rollout failed: %.600s", e->msg);
		ferr_clear(e);
		fail(dep, note);
		goto out;
	}
	if (w.interrupted && ke.shutdown) {
		deployment_event(dep, "interrupted: ferryd is stopping; the rollout resumes at its next start");
		rc = ferr_set(e, 503, "interrupted", "ferryd stopped during the rollout");
		goto out;
	}
	if (w.other) {
		fail(dep, "another deployment's objects replaced this one's before it became available");
		goto out;
	}
	if (w.state == KUBE_ROLLOUT_DONE && !w.interrupted) {
		if (!deployment_status_is(dep, "rolling-out")) {
			deployment_event(dep, "undeployed before its rollout finished");
			goto out;
		}
		seen_set(dep, w.generation);
		deployment_event(dep, "new ReplicaSet available after %lld ms (%ld kubectl calls)",
				 mono_ms() - t0, kubectl_calls(ke.k) - calls0);
		log_info("event=rollout_done deployment=%lld runtime=kubernetes ms=%lld kubectl_calls=%ld",
			 (long long)dep, mono_ms() - t0, kubectl_calls(ke.k) - calls0);
		rc = deployment_mark_active(dep, e);
		if (rc == 0)
			prune_secrets(&m, ns, prev);
		goto out;
	}
	{
		char reasons[1500], why[3000];

		pod_reasons(ns, dep, reasons, sizeof(reasons));
		undo(&m, ns, job, note, sizeof(note));
		snprintf(why, sizeof(why), "%s: %s%s%s; %s",
			 w.interrupted ? "the rollout was cancelled" :
			 w.state == KUBE_ROLLOUT_FAILED ? "the new ReplicaSet did not become available" :
			 "the new ReplicaSet was not available in time",
			 w.why, reasons[0] ? "; " : "", reasons, note);
		deployment_event(dep, "%s", why);
		fail(dep, why);
	}
out:
	json_decref(objs);
	manifests_app_release(&m);
	return rc;
}

static int64_t payload_id(struct job *job, const char *key)
{
	json_t *v = json_object_get(job->payload, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static int kube_rollout_run(struct job *job, struct ferr *e)
{
	int64_t dep = payload_id(job, "deployment"), newer;
	struct deployment_info d;
	struct owner o;
	int rc = 0;

	if (dep <= 0)
		return ferr_invalid(e, "rollout job without a deployment id");
	if (deployment_info_load(dep, &d, e) < 0)
		return -1;
	o = (struct owner){ d.component_id, d.environment_id };
	if (strcmp(d.status, "pending") && strcmp(d.status, "rolling-out")) {
		job_log(job, "deployment %lld is %s: nothing to roll out", (long long)dep, d.status);
		deployment_info_release(&d);
		return 0;
	}
	deployment_info_release(&d);
	if (wait_connected(job, e) < 0) {
		if (!ke.shutdown)
			fail(dep, job_cancelled(job) ? "the rollout was cancelled" : e->msg);
		return -1;
	}
	if (owner_take(&o, job) < 0) {
		if (!ke.shutdown)
			fail(dep, "the rollout was cancelled");
		return ferr_set(e, 409, "cancelled", "cancelled while another rollout of the component ran");
	}
	if (!deployment_status_is(dep, "pending") && !deployment_status_is(dep, "rolling-out")) {
		job_log(job, "deployment %lld is no longer pending: nothing to roll out", (long long)dep);
		goto out;
	}
	newer = active_of(o.component_id, o.environment_id);
	if (newer > dep) {
		char why[160];
		snprintf(why, sizeof(why), "deployment %lld, which is newer, became active first",
			 (long long)newer);
		fail(dep, why);
		goto out;
	}
	if (deployment_status_is(dep, "pending")) {
		if (deployment_mark_rolling_out(dep, e) < 0) {
			rc = -1;
			goto out;
		}
		deployment_event(dep, "rolling out on Kubernetes (job %lld)", (long long)job->id);
	} else {
		deployment_event(dep, "resuming the rollout (job %lld, after a restart): the objects "
			 "found in the cluster are adopted", (long long)job->id);
	}
	rc = roll(job, dep, e);
	if (rc == 0 && deployment_status_is(dep, "failed"))
		rc = ferr_set(e, 422, "rollout_failed", "deployment %lld failed", (long long)dep);
out:
	owner_give(&o);
	kick();
	return rc;
}

/* ------------------------------------------------------------------ */
/* The undeploy job                                                     */

static int kube_undeploy_run(struct job *job, struct ferr *e)
{
	int64_t upto = payload_id(job, "upto");
	struct owner o = { payload_id(job, "component"), payload_id(job, "environment") };
	const char *project = json_string_value(json_object_get(job->payload, "project"));
	const char *env = json_string_value(json_object_get(job->payload, "environment_name"));
	char ns[KUBE_NAME_MAX + 1], sel[256], extra[64];
	sqlite3_stmt *st;
	int newer = 0, rc = 0;

	if (!project || !env || !o.component_id)
		return ferr_invalid(e, "undeploy job without component, project and environment_name");
	if (wait_connected(job, e) < 0)
		return -1;
	if (owner_take(&o, job) < 0)
		return ferr_set(e, 409, "cancelled", "cancelled while a rollout of the component ran");
	st = store_stmt("SELECT count(*) FROM deployments WHERE component_id = ? AND environment_id = ?"
			" AND id > ? AND status IN ('active','pending','rolling-out')");
	sqlite3_bind_int64(st, 1, o.component_id);
	sqlite3_bind_int64(st, 2, o.environment_id);
	sqlite3_bind_int64(st, 3, upto);
	if (sqlite3_step(st) == SQLITE_ROW)
		newer = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	kube_namespace_name(ns, project, env);
	if (upto && newer) {
		/* a deployment made after the undeploy was asked for took the
		 * objects over already */
		job_log(job, "a deployment newer than %lld took over: its objects stay", (long long)upto);
		goto out;
	}
	snprintf(extra, sizeof(extra), LABEL "component-id=%lld", (long long)o.component_id);
	kubernetes_selector(ke.rt, extra, sel, sizeof(sel));
	if (kubectl_delete(ke.k, ns, manifests_gateway() ? HTTPROUTES ",ingresses,services,deployments,cronjobs,"
			   "jobs,secrets" : "ingresses,services,deployments,cronjobs,jobs,secrets", sel, e) < 0) {
		rc = -1;
		goto out;
	}
	job_log(job, "deleted the component's objects in namespace %s (%s)", ns, sel);
out:
	owner_give(&o);
	kick();
	return rc;
}

static const struct job_kind rollout_kind = {
	.name = "rollout", .limit = 4, .requeue_on_restart = 1, .run = kube_rollout_run,
};

static const struct job_kind undeploy_kind = {
	.name = "undeploy", .limit = 2, .requeue_on_restart = 1, .run = kube_undeploy_run,
	.uncapped = 1,
};

/* ------------------------------------------------------------------ */
/* Runs CronJobs start                                                  */

/* An RFC 3339 time ("2026-01-01T03:30:00+01:00", "…Z") as epoch seconds;
 * 0 if it is not one. */
static time_t rfc3339(const char *s)
{
	struct tm tm = { 0 };
	const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	long off = 0;

	if (!p)
		return 0;
	if (*p == '.')
		while (*++p >= '0' && *p <= '9')
			;
	if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':')
		off = (*p == '-' ? -1 : 1) * (strtol(p + 1, NULL, 10) * 3600 + strtol(p + 4, NULL, 10) * 60);
	else if (strcmp(p, "Z"))
		return 0;
	return timegm(&tm) - off;
}

/* The cron slot a CronJob's Job was started for (the CronJob controller's
 * annotation), or 0 when the Job is not a CronJob's. */
static time_t cron_slot(const json_t *job)
{
	const json_t *md = json_object_get(job, "metadata");

	return rfc3339(json_string_value(json_object_get(json_object_get(md, "annotations"),
							 "batch.kubernetes.io/cronjob-scheduled-timestamp")));
}

/* Labels the Job m's CronJob started for slot as execution id's, so that
 * the driver's operations on "e<id>" find it. 404 when it is gone. */
static int claim_cron_job(const struct manifests_app *m, int64_t id, time_t slot, struct ferr *e)
{
	char ns[KUBE_NAME_MAX + 1], sel[256], extra[64], idbuf[24];
	json_t *jobs = NULL, *j, *patch = NULL;
	const char *name = NULL;
	size_t i;
	int rc;

	kube_namespace_name(ns, m->d.project, m->d.environment);
	snprintf(extra, sizeof(extra), LABEL "component-id=%lld", (long long)m->d.component_id);
	kubernetes_selector(ke.rt, extra, sel, sizeof(sel));
	if (kubectl_get(ke.k, ns, "jobs", sel, &jobs, e) < 0)
		return -1;
	json_array_foreach(json_object_get(jobs, "items"), i, j) {
		const char *x = kube_label(j, LABEL "execution-id");
		if (cron_slot(j) == slot && (!x || strtoll(x, NULL, 10) == id))
			name = json_string_value(json_object_get(json_object_get(j, "metadata"), "name"));
	}
	if (!name) {
		json_decref(jobs);
		return ferr_notfound(e, "the CronJob's Job for the run at %lld is gone (deleted, or past the "
				     "CronJob's history limit) before ferry could follow it", (long long)slot);
	}
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	/* server-side apply of the label alone: ferry owns that one field */
	patch = json_pack("[{s:s, s:s, s:{s:s, s:s, s:{s:s}}}]", "apiVersion", "batch/v1", "kind", "Job",
			  "metadata", "name", name, "namespace", ns, "labels", LABEL "execution-id", idbuf);
	rc = apply(patch, e);
	if (rc == 0)
		log_info("event=execution_cron_job execution=%lld job=%s/%s slot=%lld", (long long)id, ns, name,
			 (long long)slot);
	json_decref(patch);
	json_decref(jobs);
	return rc;
}

/* Records the runs CronJobs started as executions (the runner then
 * follows each: claim_cron_job), and gives finished ones the Job's own
 * start and end times. */
static void record_cron_runs(void)
{
	sqlite3_stmt *st = store_stmt("SELECT 1 FROM deployments d JOIN components c ON c.id = d.component_id"
				      " WHERE c.type = 'scheduled-task' AND d.status = 'active' LIMIT 1");
	struct ferr e = FERR_INIT;
	json_t *jobs = NULL, *j;
	char sel[256];
	size_t i;
	int any = sqlite3_step(st) == SQLITE_ROW;

	sqlite3_reset(st);
	if (!any)
		return;
	kubernetes_selector(ke.rt, NULL, sel, sizeof(sel));
	if (kubectl_get(ke.k, NULL, "jobs", sel, &jobs, &e) < 0) {
		log_warnx("event=kube_cron_runs_failed err=\"%s\"", e.msg);
		return;
	}
	json_array_foreach(json_object_get(jobs, "items"), i, j) {
		const json_t *jst = json_object_get(j, "status");
		const char *x = kube_label(j, LABEL "execution-id"), *cj = NULL;
		time_t slot = cron_slot(j);
		const json_t *o;
		size_t k;

		if (!slot)
			continue;   /* a run ferry started */
		json_array_foreach(json_object_get(json_object_get(j, "metadata"), "ownerReferences"), k, o)
			if (!strcmp(json_string_value(json_object_get(o, "kind")) ?: "", "CronJob"))
				cj = json_string_value(json_object_get(o, "name"));
		if (!x) {
			char by[96];
			const char *c = kube_label(j, LABEL "component-id"), *en = kube_label(j, LABEL "environment-id");
			const char *d = kube_label(j, LABEL "deployment-id");

			if (!c || !en || !d)
				continue;
			snprintf(by, sizeof(by), "cronjob/%s", cj ? cj : "?");
			if (execution_record_cluster_run(strtoll(c, NULL, 10), strtoll(en, NULL, 10),
							 strtoll(d, NULL, 10), slot, by, &e) < 0) {
				log_warnx("event=kube_cron_runs_failed err=\"%s\"", e.msg);
				ferr_clear(&e);
			}
		} else if (kube_job_state(j) == KUBE_JOB_SUCCEEDED || kube_job_state(j) == KUBE_JOB_FAILED) {
			const char *end = json_string_value(json_object_get(jst, "completionTime"));
			const json_t *c;

			json_array_foreach(json_object_get(jst, "conditions"), k, c)
				if (!end && !strcmp(json_string_value(json_object_get(c, "type")) ?: "", "Failed"))
					end = json_string_value(json_object_get(c, "lastTransitionTime"));
			execution_record_times(strtoll(x, NULL, 10),
					       json_string_value(json_object_get(jst, "startTime")), end);
		}
	}
	json_decref(jobs);
}

/* ------------------------------------------------------------------ */
/* Reconciler: adoption and drift                                       */

/* kind/name (in namespace ns when not NULL) in list (a kubectl get
 * answer), or NULL. */
static const json_t *listed(const json_t *list, const char *kind, const char *name, const char *ns)
{
	const json_t *l;
	size_t k;

	json_array_foreach(json_object_get(list, "items"), k, l) {
		const json_t *md = json_object_get(l, "metadata");
		const char *lk = json_string_value(json_object_get(l, "kind"));
		const char *ln = json_string_value(json_object_get(md, "name"));
		const char *lns = json_string_value(json_object_get(md, "namespace"));

		if (lk && ln && !strcmp(lk, kind) && !strcmp(ln, name) &&
		    (!ns || (lns && !strcmp(lns, ns))))
			return l;
	}
	return NULL;
}

/* Objects that differed from ferry's even after ferry applied its own
 * again (a mutating admission webhook, or a default this cluster adds
 * that kube_drift does not know): left alone while their resourceVersion
 * stays, so that the reconciler does not apply them every pass. Only the
 * reconciler's thread reads and writes this. */
#define STUCK_MAX 64
static struct stuck {
	char key[200];            /* namespace/kind/name */
	char rv[32];
} stuck[STUCK_MAX];
static size_t nstuck;

static void object_key(char *out, size_t size, const json_t *o, const char *ns)
{
	snprintf(out, size, "%s/%s/%s", ns, json_string_value(json_object_get(o, "kind")) ?: "",
		 json_string_value(json_object_get(json_object_get(o, "metadata"), "name")) ?: "");
}

static const char *resource_version(const json_t *live)
{
	return json_string_value(json_object_get(json_object_get(live, "metadata"), "resourceVersion")) ?: "";
}

static int stuck_at(const char *key, const char *rv)
{
	for (size_t i = 0; i < nstuck; i++)
		if (!strcmp(stuck[i].key, key))
			return !strcmp(stuck[i].rv, rv);
	return 0;
}

static void stuck_set(const char *key, const char *rv)
{
	size_t i;

	for (i = 0; i < nstuck && strcmp(stuck[i].key, key); i++)
		;
	if (i == nstuck) {
		if (nstuck == STUCK_MAX)
			i = 0;   /* the first goes: at worst it is applied once more */
		else
			nstuck++;
	}
	snprintf(stuck[i].key, sizeof(stuck[i].key), "%s", key);
	snprintf(stuck[i].rv, sizeof(stuck[i].rv), "%s", rv);
}

/* The objects of every namespace ferry made (the Namespaces, their
 * NetworkPolicies and pull Secrets: no component label), read once per
 * pass; NULL when that failed (they are not checked then). */
static json_t *shared_objects(void)
{
	char sel[256];
	json_t *live = NULL;
	struct ferr e = FERR_INIT;

	kubernetes_selector(ke.rt, "!" LABEL "component-id", sel, sizeof(sel));
	if (kubectl_get(ke.k, NULL, "namespaces,networkpolicies,secrets", sel, &live, &e) != 0) {
		log_warnx("event=kube_check_failed what=namespaces err=\"%s\"", e.msg);
		json_decref(live);
		return NULL;
	}
	return live;
}

/* The component's own objects in ns, as the cluster has them (a List). */
static int component_objects(const char *ns, int64_t component_id, json_t **ret, struct ferr *e)
{
	char sel[256], extra[64];

	snprintf(extra, sizeof(extra), LABEL "component-id=%lld", (long long)component_id);
	kubernetes_selector(ke.rt, extra, sel, sizeof(sel));
	return kubectl_get(ke.k, ns, manifests_gateway() ? "deployments,services,ingresses,cronjobs,secrets,"
			   HTTPROUTES : "deployments,services,ingresses,cronjobs,secrets", sel, ret, e) < 0 ? -1 : 0;
}

/* The cluster's copy of o (one of a deployment's objects in ns): in live
 * (the component's objects) or, for the namespace's own, in shared. NULL
 * when absent; *ret_known 0 when shared is NULL (not checked). */
static const json_t *live_copy(const json_t *o, const char *ns, const json_t *live, const json_t *shared,
			       int *ret_known)
{
	const char *kind = json_string_value(json_object_get(o, "kind"));
	const char *name = json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));

	*ret_known = 1;
	if (kube_label(o, LABEL "component-id"))
		return listed(live, kind, name, NULL);
	if (!shared) {
		*ret_known = 0;
		return NULL;
	}
	return listed(shared, kind, name, strcmp(kind, "Namespace") ? ns : NULL);
}

static void list_add(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void list_add(char *out, size_t size, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;

	if (n + 3 >= size)
		return;
	if (n) {
		memcpy(out + n, ", ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(out + n, size - n, fmt, ap);
	va_end(ap);
}

/* Compares objs with the cluster's (live, shared: see live_copy): which
 * it lacks ("Deployment hello, Service hello") into missing, which differ
 * from ferry's (kube_drift: "NetworkPolicy ferry-same-environment
 * (spec.ingress[0].from)") into edited, and where each differs into
 * edited_at (one per object, "" when it does not); "" when none. Objects stuck at their resourceVersion are
 * not counted as edited. */
static void drifted_objects(const json_t *objs, const char *ns, const json_t *live, const json_t *shared,
			    char *missing, size_t msize, char *edited, size_t esize, char (*edited_at)[200])
{
	const json_t *o;
	size_t i;

	missing[0] = edited[0] = '\0';
	json_array_foreach(objs, i, o) {
		const char *kind = json_string_value(json_object_get(o, "kind"));
		const char *name = json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
		char key[200];
		int known;
		const json_t *l = live_copy(o, ns, live, shared, &known);

		edited_at[i][0] = '\0';
		if (!known)
			continue;
		if (!l) {
			list_add(missing, msize, "%s %s", kind, name);
			continue;
		}
		object_key(key, sizeof(key), o, ns);
		if (kube_drift(o, l, edited_at[i], sizeof(edited_at[i])) && !stuck_at(key, resource_version(l)))
			list_add(edited, esize, "%s %s (%s)", kind, name, edited_at[i]);
		else
			edited_at[i][0] = '\0';
	}
}

/* After ferry applied objs again: of the edited ones (edited_at), those
 * the cluster still holds otherwise are remembered as stuck at their
 * resourceVersion and named in ret_stuck; ret_repaired names the others. */
static void check_repairs(const json_t *objs, const char *ns, int64_t component_id, int with_shared,
			  char (*edited_at)[200], char *ret_repaired, size_t rsize, char *ret_stuck,
			  size_t ssize)
{
	json_t *live = NULL, *shared = with_shared ? shared_objects() : NULL;
	const json_t *o;
	size_t i;

	ret_repaired[0] = ret_stuck[0] = '\0';
	if (component_objects(ns, component_id, &live, NULL) < 0)
		live = NULL;
	json_array_foreach(objs, i, o) {
		const char *kind = json_string_value(json_object_get(o, "kind"));
		const char *name = json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
		char where[200], key[200];
		const json_t *l;
		int known;

		if (!edited_at[i][0])
			continue;
		l = live_copy(o, ns, live, shared, &known);
		if (l && kube_drift(o, l, where, sizeof(where))) {
			object_key(key, sizeof(key), o, ns);
			stuck_set(key, resource_version(l));
			list_add(ret_stuck, ssize, "%s %s (%s)", kind, name, where);
		} else {
			list_add(ret_repaired, rsize, "%s %s (%s)", kind, name, edited_at[i]);
		}
	}
	json_decref(live);
	json_decref(shared);
}

/* Checks the objects of active deployment dep; applies them again when one
 * is missing or was edited, or the workload runs another deployment or
 * was edited. The namespace's own objects (in shared) only when
 * with_shared: once per namespace and pass. */
static void check_deployment(int64_t dep, const json_t *shared, int with_shared)
{
	struct manifests_app m;
	struct ferr e = FERR_INIT;
	char ns[KUBE_NAME_MAX + 1], missing[600], edited[1200];
	json_t *objs = NULL, *live = NULL;
	char (*edited_at)[200] = NULL;
	long long before, after, known;
	int64_t runs = 0;

	if (render(dep, &m, &objs, ns, &e) < 0) {
		log_warnx("event=kube_check_failed deployment=%lld err=\"%s\"", (long long)dep, e.msg);
		goto out;
	}
	if (component_objects(ns, m.d.component_id, &live, &e) < 0) {
		log_warnx("event=kube_check_failed deployment=%lld err=\"%s\"", (long long)dep, e.msg);
		goto out;
	}
	edited_at = calloc(json_array_size(objs) + 1, sizeof(*edited_at));
	if (!edited_at)
		abort();
	drifted_objects(objs, ns, live, with_shared ? shared : NULL, missing, sizeof(missing), edited,
			sizeof(edited), edited_at);
	known = seen_get(dep);
	before = workload_generation(&m, ns, &runs);
	if (before < 0 && workload_kind(&m) && !strstr(missing, m.app.kind == KUBE_SERVICE ?
						      "Deployment " : "CronJob "))
		/* deleted between the two reads */
		list_add(missing, sizeof(missing), "%s %s", m.app.kind == KUBE_SERVICE ? "Deployment" : "CronJob",
			 m.d.component);
	if (!missing[0] && !edited[0] && known >= 0 && before == known && runs == dep)
		goto out;   /* as ferry left it */
	if (apply(objs, &e) < 0) {
		deployment_event(dep, "drift: applying the objects again failed: %s", e.msg);
		goto out;
	}
	after = workload_generation(&m, ns, NULL);
	seen_set(dep, after);
	if (edited[0]) {
		char repaired[600], stuck_list[1200];

		check_repairs(objs, ns, m.d.component_id, with_shared && shared, edited_at, repaired,
			      sizeof(repaired), stuck_list, sizeof(stuck_list));
		if (repaired[0])
			deployment_event(dep, "drift repaired: edited outside ferry (in brackets where it parted "
					 "from ferry's objects): %s; applied again", repaired);
		if (stuck_list[0]) {
			deployment_event(dep, "drift: %s still differs from ferry's objects after applying them "
					 "again (a mutating admission webhook, or a default of this cluster?): left as "
					 "it is until it changes", stuck_list);
			log_warnx("event=kube_drift_stuck deployment=%lld objects=\"%s\"", (long long)dep, stuck_list);
		}
	}
	if (!missing[0] && before >= 0 && runs != dep)
		deployment_event(dep, "drift repaired: the %s ran deployment %lld's objects (changed outside "
				 "ferry): applied this one's again", workload_kind(&m), (long long)runs);
	else if (missing[0])
		deployment_event(dep, "drift repaired: %s %s missing from namespace %s (deleted by hand?): "
				 "applied again", missing, strchr(missing, ',') ? "were" : "was", ns);
	else if (known >= 0 && before != known)
		deployment_event(dep, "drift repaired: the %s had been changed outside ferry "
				 "(generation %lld, ferry left %lld): applied again (now %lld)",
				 workload_kind(&m), before, known, after);
	else if (known < 0 && after != before)
		deployment_event(dep, "adopted after a ferryd start; drift repaired: the %s had been "
				 "changed outside ferry (generation %lld → %lld)", workload_kind(&m), before, after);
	else if (known < 0)
		deployment_event(dep, "adopted after a ferryd start: its objects in namespace %s are as "
				 "ferry applies them%s", ns, edited[0] ? " (the edits above aside)" : "");
	log_info("event=kube_reconciled deployment=%lld missing=\"%s\" edited=\"%s\" generation=%lld",
		 (long long)dep, missing, edited, after);
out:
	free(edited_at);
	json_decref(live);
	json_decref(objs);
	manifests_app_release(&m);
}

static void pass(void)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT d.id, d.component_id, d.environment_id FROM deployments d"
		" JOIN components c ON c.id = d.component_id"
		" WHERE d.status = 'active' AND c.type <> 'manual-task'"
		/* a rollout there owns the objects: it is not drift */
		" AND NOT EXISTS (SELECT 1 FROM deployments n WHERE n.component_id = d.component_id"
		"  AND n.environment_id = d.environment_id AND n.status IN ('pending', 'rolling-out'))"
		" ORDER BY d.id");
	struct { int64_t dep; struct owner o; } *w = NULL;
	size_t n = 0, cap = 0;
	json_t *shared, *checked = json_object();   /* the namespaces whose own objects were checked */

	while (sqlite3_step(st) == SQLITE_ROW) {
		grow((void **)&w, n, &cap, sizeof(*w));
		w[n].dep = sqlite3_column_int64(st, 0);
		w[n].o.component_id = sqlite3_column_int64(st, 1);
		w[n].o.environment_id = sqlite3_column_int64(st, 2);
		n++;
	}
	sqlite3_reset(st);
	shared = n ? shared_objects() : NULL;
	for (size_t i = 0; i < n && !ke.stop; i++) {
		int busy;

		pthread_mutex_lock(&ke.lock);
		busy = owner_busy_locked(&w[i].o);
		if (!busy) {
			grow((void **)&ke.busy, ke.nbusy, &ke.abusy, sizeof(*ke.busy));
			ke.busy[ke.nbusy++] = w[i].o;
		}
		pthread_mutex_unlock(&ke.lock);
		if (busy)
			continue;   /* a rollout or undeploy is at work there */
		if (deployment_status_is(w[i].dep, "active")) {
			/* the first deployment checked in a namespace checks its
			 * Namespace, NetworkPolicy and pull Secret too */
			char key[48];
			snprintf(key, sizeof(key), "%lld", (long long)w[i].o.environment_id);
			check_deployment(w[i].dep, shared, !json_object_get(checked, key));
			json_object_set_new(checked, key, json_true());
		}
		owner_give(&w[i].o);
	}
	json_decref(checked);
	json_decref(shared);
	free(w);
}

static int connect_cluster(struct ferr *e)
{
	struct runtime *rt;

	if (ke.runtime_open(ke.instance, &rt, e) < 0)
		return -1;
	pthread_mutex_lock(&ke.lock);
	ke.rt = rt;
	ke.k = kubernetes_kubectl(rt);
	ke.why[0] = '\0';
	pthread_cond_broadcast(&ke.cond);
	pthread_mutex_unlock(&ke.lock);
	log_info("event=runtime_ready runtime=kubernetes instance=%s", ke.instance);
	return 0;
}

static void *reconciler(void *arg)
{
	(void)arg;
	for (;;) {
		struct ferr e = FERR_INIT;
		struct timespec ts;
		long wait_ms = RECONCILE_MS;

		if (ke.stop)
			break;
		if (!ke.rt && connect_cluster(&e) < 0) {
			pthread_mutex_lock(&ke.lock);
			snprintf(ke.why, sizeof(ke.why), "%.590s", e.msg);
			pthread_mutex_unlock(&ke.lock);
			log_warnx("event=kube_unreachable err=\"%s\"", e.msg);
			wait_ms = CONNECT_RETRY_MS;
		} else if (ke.rt) {
			pass();
			record_cron_runs();
		}
		pthread_mutex_lock(&ke.lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (wait_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!ke.stop && !ke.kick)
			if (pthread_cond_timedwait(&ke.cond, &ke.lock, &ts) == ETIMEDOUT)
				break;
		ke.kick = 0;
		pthread_mutex_unlock(&ke.lock);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Task runs and health                                                 */

int rollout_kube_task_start(int64_t deployment_id, int64_t execution_id, const char *const *args,
			    char ret_id[65], struct ferr *e)
{
	struct manifests_app m;
	json_t *job = NULL, *list;
	time_t slot;
	int rc = -1;

	if (!rollout_kube_runtime(e))
		return -1;
	switch (execution_record_slot(execution_id, &slot, e)) {
	case -1:
		return -1;
	case 1:
		/* the CronJob started this run: its Job exists already */
		if (manifests_app_load(&m, deployment_id, 0, e) == 0 &&
		    claim_cron_job(&m, execution_id, slot, e) == 0) {
			snprintf(ret_id, 65, "e%lld", (long long)execution_id);
			rc = 0;
		}
		manifests_app_release(&m);
		return rc;
	}
	if (manifests_app_load(&m, deployment_id, 0, e) < 0 ||
	    kube_render_job(&m.app, execution_id, args, &job, e) < 0)
		goto out;
	list = json_pack("[O]", job);
	rc = apply(list, e);
	json_decref(list);
	if (rc == 0)
		snprintf(ret_id, 65, "e%lld", (long long)execution_id);
out:
	json_decref(job);
	manifests_app_release(&m);
	return rc;
}

json_t *rollout_kube_health(int64_t component_id, int64_t environment_id)
{
	json_t *out = json_object(), *reps = json_array(), *dep = NULL, *pods = NULL, *p;
	int64_t active = active_of(component_id, environment_id);
	struct manifests_app m;
	struct ferr e = FERR_INIT;
	char ns[KUBE_NAME_MAX + 1], what[96], why[512] = "", sel[256], extra[64];
	enum kube_rollout state = KUBE_ROLLOUT_PROGRESSING;
	size_t i;

	json_object_set_new(out, "replicas", reps);
	memset(&m, 0, sizeof(m));
	if (!active) {
		json_object_set_new(out, "healthy", json_false());
		json_object_set_new(out, "reason", json_string("no active deployment"));
		return out;
	}
	if (manifests_app_load(&m, active, 1, &e) < 0 || !rollout_kube_runtime(&e)) {
		json_object_set_new(out, "healthy", json_false());
		json_object_set_new(out, "reason", json_string(e.msg));
		goto out;
	}
	if (m.app.kind != KUBE_SERVICE) {
		json_object_set_new(out, "healthy", json_true());
		goto out;
	}
	kube_namespace_name(ns, m.d.project, m.d.environment);
	snprintf(what, sizeof(what), "deployment/%s", m.d.component);
	if (kubectl_get(ke.k, ns, what, NULL, &dep, &e) != 0) {
		json_object_set_new(out, "healthy", json_false());
		json_object_set_new(out, "reason", json_string(e.msg[0] ? e.msg : "its Deployment is missing"));
		goto out;
	}
	state = kube_rollout_state(dep, why, sizeof(why));
	snprintf(extra, sizeof(extra), LABEL "component-id=%lld", (long long)component_id);
	kubernetes_selector(ke.rt, extra, sel, sizeof(sel));
	if (kubectl_get(ke.k, ns, "pods", sel, &pods, &e) == 0) {
		json_array_foreach(json_object_get(pods, "items"), i, p) {
			const json_t *md = json_object_get(p, "metadata"), *c;
			const char *phase = json_string_value(json_object_get(json_object_get(p, "status"), "phase"));
			const char *d = kube_label(p, LABEL "deployment-id");
			int ready = 0, restarts = 0;
			size_t k;

			json_array_foreach(json_object_get(json_object_get(p, "status"), "conditions"), k, c)
				if (!strcmp(json_string_value(json_object_get(c, "type")) ?: "", "Ready"))
					ready = !strcmp(json_string_value(json_object_get(c, "status")) ?: "", "True");
			json_array_foreach(json_object_get(json_object_get(p, "status"), "containerStatuses"), k, c)
				restarts += (int)json_integer_value(json_object_get(c, "restartCount"));
			json_array_append_new(reps, json_pack("{s:s, s:I, s:s, s:b, s:i}", "id",
				json_string_value(json_object_get(md, "name")) ?: "",
				"deployment", (json_int_t)(d ? strtoll(d, NULL, 10) : 0),
				"state", phase ? phase : "Pending", "ready", ready, "restarts", restarts));
		}
	}
	{
		const char *runs = kube_label(json_object_get(json_object_get(dep, "spec"), "template"),
					      LABEL "deployment-id");
		int ok = state == KUBE_ROLLOUT_DONE && runs && strtoll(runs, NULL, 10) == active;

		json_object_set_new(out, "healthy", json_boolean(ok));
		if (!ok)
			json_object_set_new(out, "reason", json_string(why));
	}
out:
	json_decref(dep);
	json_decref(pods);
	manifests_app_release(&m);
	return out;
}

/* ------------------------------------------------------------------ */
/* Start and stop                                                       */

int rollout_kube_start(const struct rollout_config *cfg, struct ferr *e)
{
	if (ke.started)
		return ferr_internal(e, "rollout_kube_start called twice");
	if (!cfg->data_dir || !cfg->runtime_open)
		return ferr_invalid(e, "the rollout engine needs a data dir and its driver's opener");
	if (rollout_instance_load(cfg->data_dir, ke.instance, sizeof(ke.instance), e) < 0)
		return -1;
	manifests_set_instance(ke.instance);
	ke.runtime_open = cfg->runtime_open;
	jobq_register(&rollout_kind);
	jobq_register(&undeploy_kind);
	ke.stop = ke.shutdown = 0;
	snprintf(ke.why, sizeof(ke.why), "connecting");
	if (pthread_create(&ke.thread, NULL, reconciler, NULL) != 0)
		return ferr_internal(e, "cannot start the Kubernetes reconciler thread");
	ke.started = 1;
	log_info("event=rollout_engine runtime=kubernetes instance=%s kubeconfig=%s context=%s", ke.instance,
		 cfg->kubeconfig ? cfg->kubeconfig : "(default)", cfg->kube_context ? cfg->kube_context : "(current)");
	return 0;
}

void rollout_kube_begin_shutdown(void)
{
	pthread_mutex_lock(&ke.lock);
	ke.shutdown = 1;
	pthread_cond_broadcast(&ke.cond);
	pthread_mutex_unlock(&ke.lock);
}

void rollout_kube_stop(void)
{
	if (!ke.started)
		return;
	pthread_mutex_lock(&ke.lock);
	ke.shutdown = ke.stop = 1;
	pthread_cond_broadcast(&ke.cond);
	pthread_mutex_unlock(&ke.lock);
	pthread_join(ke.thread, NULL);
	ke.started = 0;
	runtime_free(ke.rt);
	ke.rt = NULL;
	ke.k = NULL;
	ke.runtime_open = NULL;
	free(ke.busy);
	free(ke.seen);
	ke.busy = NULL;
	ke.seen = NULL;
	ke.nbusy = ke.abusy = ke.nseen = ke.aseen = 0;
}
