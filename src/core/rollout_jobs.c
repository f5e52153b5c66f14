/* rollout jobs: "rollout" (the rolling update of one pending deployment)
 * and "undeploy" (stop a component's replicas in an environment and drop
 * its routes), and their queueing. See core/rollout.h and
 * core/rollout_engine.h. */
#include "core/rollout.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/deployment_record.h"
#include "core/rollout_engine.h"
#include "core/rollout_policy.h"
#include "core/rollout_watch.h"
#include "core/rollout_int.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "store/store.h"
#include "lib/banned.h"

static int64_t payload_id(struct job *job, const char *key)
{
	json_t *v = json_object_get(job->payload, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* The newest active deployment of the component in the environment, or 0. */
int64_t active_of(int64_t component_id, int64_t env_id)
{
	sqlite3_stmt *st = store_stmt("SELECT max(id) FROM deployments WHERE component_id = ?"
				      " AND environment_id = ? AND status = 'active'");
	int64_t id = 0;

	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_int64(st, 2, env_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return id;
}

int status_is(int64_t dep, const char *status)
{
	return deployment_status_is(dep, status);
}

int rollout_status_is(int64_t dep, const char *status)
{
	return status_is(dep, status);
}

static int cmp_replica(const void *a, const void *b)
{
	const struct runtime_replica *x = a, *y = b;

	if (x->deployment != y->deployment)
		return x->deployment < y->deployment ? -1 : 1;
	return x->replica - y->replica;
}

/* Undoes a rollout that cannot finish: its replicas leave the gateway and
 * stop; the previous version keeps (or gets back, via the reconciler) all
 * traffic; the deployment is failed with reason. */
static void rollout_abort(const struct plan *p, const char *reason)
{
	struct runtime_replica_list mine = RUNTIME_REPLICA_LIST_INIT;
	struct runtime_filter f = { p->d.project, p->d.environment, p->d.component, p->d.id };
	struct ferr e = FERR_INIT;

	if (runtime_list(eng.rt, &f, &mine, &e) == 0) {
		for (size_t i = 0; i < mine.n; i++)
			replica_retire(&mine.items[i], 2000, p->d.id, "removed: the rollout did not finish");
	} else {
		log_warnx("event=rollout_cleanup_failed deployment=%lld err=\"%s\"", (long long)p->d.id, e.msg);
	}
	runtime_replica_list_release(&mine);
	ferr_clear(&e);
	if (deployment_mark_failed(p->d.id, reason, &e) < 0 && e.status != 409)
		log_error("event=mark_failed_failed deployment=%lld err=\"%s\"", (long long)p->d.id, e.msg);
	log_warnx("event=rollout_failed deployment=%lld owner=%s reason=\"%s\"", (long long)p->d.id,
		  p->owner, reason);
	kick();
}

/* The component's replicas in the environment that are not of p's
 * deployment, sorted, into *olds (replacing what was there). */
static int olds_load(const struct plan *p, struct runtime_replica_list *all,
		     struct runtime_replica **olds, size_t *nolds, struct ferr *e)
{
	struct runtime_filter f = { p->d.project, p->d.environment, p->d.component, 0 };

	runtime_replica_list_release(all);
	if (runtime_list(eng.rt, &f, all, e) < 0)
		return -1;
	free(*olds);
	*olds = calloc(all->n + 1, sizeof(**olds));
	if (!*olds)
		abort();
	*nolds = 0;
	for (size_t i = 0; i < all->n; i++)
		if (all->items[i].deployment != p->d.id)
			(*olds)[(*nolds)++] = all->items[i];
	qsort(*olds, *nolds, sizeof(**olds), cmp_replica);
	return 0;
}

/* The rolling update itself, with owner taken. fresh: the deployment was
 * pending when the job took it, so none of its replicas can exist yet.
 * Returns 0 when the deployment ended active or failed, -1 when
 * interrupted by a shutdown (the job is re-queued and resumes). */
/* How long a rollout waits for HAProxy that is down (killed, restarting:
 * the reconciler's supervision brings it back within a second or two)
 * before the rollout fails. */
#define GATEWAY_DOWN_WAIT_MS 30000

/* 1 when e says the gateway is down and the rollout may wait for it a
 * little longer (e cleared, after a pause), else 0 with e kept. *until:
 * 0 before the first wait. */
static int gateway_down_wait(const struct plan *p, long long *until, struct ferr *e)
{
	if (strcmp(e->code, "gateway_down"))
		return 0;
	if (!*until) {
		*until = mono_ms() + GATEWAY_DOWN_WAIT_MS;
		deployment_event(p->d.id, "the gateway is down (%s): waiting up to %d s for it", e->msg,
				 GATEWAY_DOWN_WAIT_MS / 1000);
	}
	if (mono_ms() >= *until)
		return 0;
	ferr_clear(e);
	usleep(200 * 1000);
	return 1;
}

static int routes_apply(const struct plan *p, struct ferr *e)
{
	long long until = 0;
	int rc;

	while ((rc = gw_routes_apply(p, e)) < 0 && gateway_down_wait(p, &until, e))
		;
	return rc;
}

static int server_up(const struct plan *p, const struct runtime_replica *r, struct ferr *e)
{
	long long until = 0;
	int rc;

	while ((rc = gw_server_up(p, r, e)) < 0 && gateway_down_wait(p, &until, e))
		;
	if (rc == 0 && until)
		deployment_event(p->d.id, "the gateway answers again");
	return rc;
}

static int roll(struct job *job, struct plan *p, int fresh, struct ferr *e)
{
	struct runtime_replica_list all = RUNTIME_REPLICA_LIST_INIT;
	struct runtime_replica *olds = NULL, *news = NULL;
	size_t nolds = 0, nextold = 0;
	struct rollout_policy pol;
	char why[1024];
	int rc = 0, canary, policy = rollout_policy_load(p->d.component_id, &pol);
	/* Without a policy, a fresh rollout starts its first replica before
	 * it lists the old ones: the list (a podman ps, 50-300 ms) is needed
	 * only to retire them, once the new one serves. */
	int deferred = fresh && !policy;

	if (runtime_ensure_network(eng.rt, p->d.project, p->d.environment, e) < 0 ||
	    routes_apply(p, e) < 0 || (!deferred && olds_load(p, &all, &olds, &nolds, e) < 0)) {
		snprintf(why, sizeof(why), "%s", e->msg);
		rollout_abort(p, why);
		runtime_replica_list_release(&all);
		free(olds);
		return 0;
	}
	news = calloc((size_t)p->replicas + 1, sizeof(*news));
	if (!news)
		abort();
	/* with a rollout policy the new replicas join beside the old ones,
	 * which keep serving until the policy's steps and watch passed
	 * (rollout_watch.h); a first deployment has nothing to compare with */
	canary = nolds > 0 && p->nroutes > 0 && policy;
	if (canary) {
		deployment_event(p->d.id, "rollout policy: the new replicas join beside the %zu running one%s", nolds,
				 nolds == 1 ? "" : "s");
		rollout_watch_begin(p, olds, nolds);
	}
	for (int i = 0; i < p->replicas; i++) {
		struct runtime_replica cur, *found = NULL;
		int ready;

		for (size_t k = 0; k < all.n; k++)
			if (all.items[k].deployment == p->d.id && all.items[k].replica == i)
				found = &all.items[k];
		if (found && found->state == RUNTIME_RUNNING) {
			cur = *found;
			deployment_event(p->d.id, "replica %d: adopted the running container %.12s", i, cur.id);
		} else {
			if (found && runtime_stop_replica(eng.rt, found->id, 0, e) < 0)
				goto fail_e;
			if (replica_start(p, i, &cur, e) < 0)
				goto fail_e;
			deployment_event(p->d.id, "replica %d: started container %.12s", i, cur.id);
		}
		ready = wait_ready(p, &cur, job, why, sizeof(why));
		if (ready < 0)
			goto cancelled;
		if (!ready) {
			char reason[1200];
			deployment_event(p->d.id, "replica %d: %s", i, why);
			snprintf(reason, sizeof(reason), "replica %d: %s", i, why);
			rollout_abort(p, reason);
			goto out;
		}
		deployment_event(p->d.id, "replica %d: ready (%s)", i, why);
		if (server_up(p, &cur, e) < 0)
			goto fail_e;
		rep_set_ready(cur.id, cur.deployment, cur.replica, 1);
		news[i] = cur;
		if (p->nroutes)
			deployment_event(p->d.id, "replica %d: taking traffic", i);
		if (deferred) {
			deferred = 0;
			if (olds_load(p, &all, &olds, &nolds, e) < 0)
				goto fail_e;
		}
		/* one new in, one old out (with a policy: once it passed) */
		if (!canary && nextold < nolds) {
			replica_retire(&olds[nextold], DRAIN_MS, p->d.id, "drained and stopped");
			nextold++;
		}
		if (job_cancelled(job))
			goto cancelled;
	}
	if (canary) {
		int passed = rollout_watch(job, p, &pol, news, p->replicas, olds, nolds);
		if (passed < 0)
			goto cancelled;
		if (passed == 0)
			goto out; /* rolled back: the old version kept serving */
	}
	while (nextold < nolds) {
		replica_retire(&olds[nextold], DRAIN_MS, p->d.id, "drained and stopped");
		nextold++;
	}
	gw_routes_drop(p->owner, p->routes, p->nroutes);
	if (!status_is(p->d.id, "rolling-out")) {
		/* undeployed (or failed by someone) while rolling out */
		rollout_abort(p, "undeployed before its rollout finished");
		goto out;
	}
	if (deployment_mark_active(p->d.id, e) < 0) {
		if (e->status == 409) {
			/* an undeploy landed between the check above and the
			 * move: it wins, the new replicas go */
			ferr_clear(e);
			rollout_abort(p, "undeployed before its rollout finished");
			goto out;
		}
		rc = -1;
		goto out;
	}
	log_info("event=rollout_done deployment=%lld owner=%s replicas=%d", (long long)p->d.id,
		 p->owner, p->replicas);
	goto out;
fail_e:
	snprintf(why, sizeof(why), "%s", e->msg);
	ferr_clear(e);
	rollout_abort(p, why);
	goto out;
cancelled:
	if (eng.shutdown) {
		deployment_event(p->d.id, "interrupted: ferryd is stopping; the rollout resumes at its next start");
		rc = ferr_set(e, 503, "interrupted", "ferryd stopped during the rollout");
	} else {
		rollout_abort(p, "the rollout was cancelled");
	}
out:
	free(olds);
	free(news);
	runtime_replica_list_release(&all);
	return rc;
}

static int rollout_run(struct job *job, struct ferr *e)
{
	int64_t dep = payload_id(job, "deployment"), newer;
	struct deployment_info d;
	struct plan *p = NULL;
	char owner[OWNER_MAX];
	int rc = 0, fresh;

	if (dep <= 0)
		return ferr_invalid(e, "rollout job without a deployment id");
	if (deployment_info_load(dep, &d, e) < 0)
		return -1;
	owner_of(owner, d.project, d.environment, d.component);
	if (strcmp(d.status, "pending") && strcmp(d.status, "rolling-out")) {
		job_log(job, "deployment %lld is %s: nothing to roll out", (long long)dep, d.status);
		deployment_info_release(&d);
		return 0;
	}
	deployment_info_release(&d);
	if (engine_wait_ready(job, e) < 0) {
		if (eng.shutdown)
			return -1;
		if (job_cancelled(job)) {
			struct ferr ig = FERR_INIT;
			deployment_mark_failed(dep, "the rollout was cancelled", &ig);
			return -1;
		}
		{
			struct ferr ig = FERR_INIT;
			deployment_mark_failed(dep, e->msg, &ig);
		}
		return -1;
	}
	if (owner_take(owner, job) < 0) {
		if (!eng.shutdown) {
			struct ferr ig = FERR_INIT;
			deployment_mark_failed(dep, "the rollout was cancelled", &ig);
		}
		return ferr_set(e, 409, "cancelled", "cancelled while another rollout of %s ran", owner);
	}
	/* re-read: it may have changed while we waited */
	if (plan_get(dep, &p, e) < 0) {
		struct ferr ig = FERR_INIT;
		deployment_mark_failed(dep, e->msg, &ig);
		rc = -1;
		goto out;
	}
	if (strcmp(p->d.status, "pending") && strcmp(p->d.status, "rolling-out")) {
		plan_unref(p);
		p = NULL;
		if (status_is(dep, "pending") || status_is(dep, "rolling-out")) {
			/* the cached plan's status is stale: build afresh */
		}
	}
	if (!p || (!status_is(dep, "pending") && !status_is(dep, "rolling-out"))) {
		job_log(job, "deployment %lld is no longer pending: nothing to roll out", (long long)dep);
		goto out;
	}
	newer = active_of(p->d.component_id, p->d.environment_id);
	if (newer > dep) {
		char why[160];
		snprintf(why, sizeof(why), "deployment %lld, which is newer, became active first",
			 (long long)newer);
		struct ferr ig = FERR_INIT;
		deployment_mark_failed(dep, why, &ig);
		goto out;
	}
	fresh = status_is(dep, "pending");
	if (fresh) {
		if (deployment_mark_rolling_out(dep, e) < 0) {
			rc = -1;
			goto out;
		}
		deployment_event(dep, "rolling out %s to %s (%d replica%s, job %lld)", p->d.digest,
				 p->d.environment, p->task ? 0 : p->replicas,
				 !p->task && p->replicas == 1 ? "" : "s", (long long)job->id);
	} else {
		deployment_event(dep, "resuming the rollout (job %lld, attempt after a restart)",
				 (long long)job->id);
	}
	if (p->task) {
		/* tasks run per execution: nothing to start, nothing to route */
		rc = deployment_mark_active(dep, e);
		goto out;
	}
	rc = roll(job, p, fresh, e);
	if (rc == 0 && status_is(dep, "failed")) {
		sqlite3_stmt *st = store_stmt("SELECT error FROM deployments WHERE id = ?");
		sqlite3_bind_int64(st, 1, dep);
		if (sqlite3_step(st) == SQLITE_ROW)
			rc = ferr_set(e, 422, "rollout_failed", "deployment %lld failed: %s", (long long)dep,
				      sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
		sqlite3_reset(st);
	}
out:
	plan_unref(p);
	owner_give(owner);
	kick();
	return rc;
}

/* Whether a deployment newer than upto (the newest one when the undeploy
 * was asked for) of the payload's component and environment is active or
 * on its way. */
static int overtaken(json_t *payload, int64_t upto)
{
	sqlite3_stmt *st = store_stmt("SELECT count(*) FROM deployments WHERE component_id = ?"
				      " AND environment_id = ? AND id > ?"
				      " AND status IN ('active','pending','rolling-out')");
	int n = 0;

	sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(payload, "component")));
	sqlite3_bind_int64(st, 2, json_integer_value(json_object_get(payload, "environment")));
	sqlite3_bind_int64(st, 3, upto);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return n > 0;
}

static int undeploy_run(struct job *job, struct ferr *e)
{
	int64_t upto = json_integer_value(json_object_get(job->payload, "upto"));
	const char *project = json_string_value(json_object_get(job->payload, "project"));
	const char *env = json_string_value(json_object_get(job->payload, "environment_name"));
	const char *comp = json_string_value(json_object_get(job->payload, "component_name"));
	struct runtime_replica_list l = RUNTIME_REPLICA_LIST_INIT;
	struct runtime_filter f;
	char owner[OWNER_MAX];
	int rc = 0;

	if (!project || !env || !comp)
		return ferr_invalid(e, "undeploy job without project, environment_name and component_name");
	if (engine_wait_ready(job, e) < 0)
		return -1;
	owner_of(owner, project, env, comp);
	if (owner_take(owner, job) < 0)
		return ferr_set(e, 409, "cancelled", "cancelled while a rollout of %s ran", owner);
	f.project = project;
	f.environment = env;
	f.component = comp;
	f.deployment = 0;
	if (runtime_list(eng.rt, &f, &l, e) < 0) {
		rc = -1;
		goto out;
	}
	if (upto && overtaken(job->payload, upto)) {
		/* A deployment made after this undeploy was asked for serves or
		 * rolls out now: stop only what the undeploy was about, and
		 * leave the routes and the network to the newer one. */
		for (size_t i = 0; i < l.n; i++) {
			if (l.items[i].deployment > upto)
				continue;
			replica_retire(&l.items[i], 0, 0, "undeployed");
			job_log(job, "stopped %s", l.items[i].name);
		}
		job_log(job, "%s: a deployment newer than %lld took over; its replicas, routes and network stay",
			owner, (long long)upto);
		goto out;
	}
	/* routes first: the component is gone from the outside at once */
	gw_routes_drop(owner, NULL, 0);
	for (size_t i = 0; i < l.n; i++) {
		replica_retire(&l.items[i], 0, 0, "undeployed");
		job_log(job, "stopped %s", l.items[i].name);
	}
	{
		struct ferr ne = FERR_INIT;
		int removed;

		pthread_rwlock_wrlock(&eng.net_lock);
		removed = runtime_remove_network(eng.rt, project, env, &ne);
		pthread_rwlock_unlock(&eng.net_lock);
		if (removed < 0) {
			if (ne.status == 409)
				job_log(job, "network of %s/%s kept: other components still use it", project, env);
			else
				job_log(job, "network of %s/%s not removed: %s", project, env, ne.msg);
		} else {
			job_log(job, "removed the network of %s/%s", project, env);
		}
	}
	job_log(job, "%s undeployed: %zu replica%s stopped", owner, l.n, l.n == 1 ? "" : "s");
out:
	runtime_replica_list_release(&l);
	owner_give(owner);
	kick();
	return rc;
}

static const struct job_kind rollout_kind = {
	.name = "rollout", .limit = 4, .requeue_on_restart = 1, .run = rollout_run,
};

static const struct job_kind undeploy_kind = {
	.name = "undeploy", .limit = 2, .requeue_on_restart = 1, .run = undeploy_run,
	.uncapped = 1,
};

void rollout_jobs_register(void)
{
	jobq_register(&rollout_kind);
	jobq_register(&undeploy_kind);
}

int64_t rollout_queue(int64_t deployment_id, const char *who, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT project_id FROM deployments WHERE id = ?");
	int64_t project = 0, id;
	json_t *payload;
	int rc;

	sqlite3_bind_int64(st, 1, deployment_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		project = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return ferr_notfound(e, "deployment %lld not found", (long long)deployment_id);
	payload = json_pack("{s:I}", "deployment", (json_int_t)deployment_id);
	id = jobq_submit("rollout", payload, project, who, e);
	json_decref(payload);
	/* No reconciler pass here: the job does the work, and a pass's
	 * `podman ps` would only compete with its start (the job's end
	 * kicks one). */
	return id;
}

int rollout_queue_room(int64_t project_id, struct ferr *e)
{
	return jobq_check_cap("rollout", project_id, e);
}

int64_t rollout_queue_undeploy(int64_t component_id, int64_t environment_id, const char *who,
			       struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT p.id, p.name, e.name, c.name, (SELECT coalesce(max(d.id), 0) FROM deployments d"
		"  WHERE d.component_id = c.id AND d.environment_id = e.id)"
		" FROM components c JOIN projects p ON p.id = c.project_id"
		" JOIN environments e ON e.project_id = p.id AND e.id = ? WHERE c.id = ?");
	json_t *payload = NULL;
	int64_t project = 0, id;

	sqlite3_bind_int64(st, 1, environment_id);
	sqlite3_bind_int64(st, 2, component_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		project = sqlite3_column_int64(st, 0);
		/* upto: the undeploy is about the deployments made until now,
		 * not about one a deploy right after it makes */
		payload = json_pack("{s:I, s:I, s:I, s:s, s:s, s:s}", "component", (json_int_t)component_id,
				    "environment", (json_int_t)environment_id,
				    "upto", (json_int_t)sqlite3_column_int64(st, 4),
				    "project", (const char *)sqlite3_column_text(st, 1),
				    "environment_name", (const char *)sqlite3_column_text(st, 2),
				    "component_name", (const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_reset(st);
	if (!payload)
		return ferr_notfound(e, "component %lld or environment %lld not found",
				     (long long)component_id, (long long)environment_id);
	id = jobq_submit("undeploy", payload, project, who, e);
	json_decref(payload);
	return id;
}
