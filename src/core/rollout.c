/* rollout: the engine that converges the runtime and the gateway to the
 * store's deployments. See core/rollout.h for the contract,
 * core/rollout_engine.h for the parts and docs/rollout.md for the
 * behaviour in full.
 *
 * This part holds the engine's state and brings its drivers up through the
 * openers ferryd hands in (core/rollout_config.h): the runtime driver and
 * the gateway, both lazily, from the reconciler thread (podman needs
 * ferry's containers configuration, written once the build infrastructure
 * is up; HAProxy is started only once something is deployed); the plan
 * cache; the busy owners; start and stop.
 */
#include "core/rollout.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/deployment_record.h"
#include "core/rollout_engine.h"
#include "core/rollout_int.h"
#include "core/rollout_instance.h"
#include "core/rollout_kube.h"
#include "lib/log.h"
#include "lib/banned.h"

/* Grows *arr (elements of size elem, *cap slots) to hold n + 1. */
void grow(void **arr, size_t n, size_t *cap, size_t elem)
{
	if (n + 1 <= *cap)
		return;
	*cap = *cap ? *cap * 2 : 8;
	*arr = xrealloc(*arr, *cap * elem);
}

struct rollout_engine eng = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
				.pass_lock = PTHREAD_MUTEX_INITIALIZER,
				.net_lock = PTHREAD_RWLOCK_INITIALIZER };

void kick(void)
{
	pthread_mutex_lock(&eng.lock);
	eng.kick = 1;
	pthread_cond_broadcast(&eng.cond);
	pthread_mutex_unlock(&eng.lock);
}

void plan_unref(struct plan *p)
{
	int last;

	if (!p)
		return;
	pthread_mutex_lock(&eng.lock);
	last = --p->refs == 0;
	pthread_mutex_unlock(&eng.lock);
	if (!last)
		return;
	descriptor_free(p->desc);
	deployment_info_release(&p->d);
	free(p);
}

static int plan_build(int64_t dep, struct plan **ret, struct ferr *e)
{
	struct plan *p = calloc(1, sizeof(*p));

	if (!p)
		abort();
	if (deployment_info_load(dep, &p->d, e) < 0) {
		free(p);
		return -1;
	}
	if (descriptor_from_json(&p->desc, p->d.descriptor, e) < 0) {
		ferr_prefix(e, "deployment %lld", (long long)dep);
		goto fail;
	}
	if (plan_compute(p, e) < 0)
		goto fail;
	p->refs = 1;
	*ret = p;
	return 0;
fail:
	descriptor_free(p->desc);
	deployment_info_release(&p->d);
	free(p);
	return -1;
}

/* The plan of deployment dep, from the cache or built. Release with
 * plan_unref. */
int plan_get(int64_t dep, struct plan **ret, struct ferr *e)
{
	struct plan *p;

	pthread_mutex_lock(&eng.lock);
	for (size_t i = 0; i < eng.nplans; i++) {
		if (eng.plans[i]->d.id == dep) {
			*ret = eng.plans[i];
			eng.plans[i]->refs++;
			pthread_mutex_unlock(&eng.lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&eng.lock);
	if (plan_build(dep, &p, e) < 0)
		return -1;
	pthread_mutex_lock(&eng.lock);
	grow((void **)&eng.plans, eng.nplans, &eng.aplans, sizeof(*eng.plans));
	eng.plans[eng.nplans++] = p;
	p->refs++;
	pthread_mutex_unlock(&eng.lock);
	*ret = p;
	return 0;
}

/* Drops cached plans whose deployment is not in keep (n ids). */
void plans_prune(const long long *keep, size_t n)
{
	size_t i = 0;

	while (1) {
		struct plan *drop = NULL;

		pthread_mutex_lock(&eng.lock);
		for (; i < eng.nplans; i++) {
			size_t k;
			for (k = 0; k < n && keep[k] != eng.plans[i]->d.id; k++)
				;
			if (k == n) {
				drop = eng.plans[i];
				eng.plans[i] = eng.plans[--eng.nplans];
				break;
			}
		}
		pthread_mutex_unlock(&eng.lock);
		if (!drop)
			return;
		plan_unref(drop);
	}
}

/* Which engine answers: this one (replicas on the runtime driver, behind
 * the gateway) or, once rollout_start chose it, Kubernetes'
 * (core/rollout_kube.h). The one place that asks. */

struct runtime *rollout_runtime(struct ferr *e)
{
	return rollout_kube_on() ? rollout_kube_runtime(e) : engine_runtime(e);
}

json_t *rollout_health(int64_t component_id, int64_t environment_id)
{
	return rollout_kube_on() ? rollout_kube_health(component_id, environment_id)
				 : replicas_health(component_id, environment_id);
}

int rollout_task_start(int64_t deployment_id, int64_t execution_id, const char *const *args,
		       char ret_id[65], struct ferr *e)
{
	return rollout_kube_on() ? rollout_kube_task_start(deployment_id, execution_id, args, ret_id, e)
				 : replicas_task_start(deployment_id, execution_id, args, ret_id, e);
}

struct runtime *engine_runtime(struct ferr *e)
{
	struct runtime *rt;

	pthread_mutex_lock(&eng.lock);
	rt = eng.rt;
	if (!rt)
		ferr_set(e, 503, "starting", "the container runtime is not ready yet%s%s",
			 eng.why[0] ? ": " : "", eng.why);
	pthread_mutex_unlock(&eng.lock);
	return rt;
}

void set_why(const char *msg)
{
	pthread_mutex_lock(&eng.lock);
	snprintf(eng.why, sizeof(eng.why), "%.500s", msg);
	pthread_mutex_unlock(&eng.lock);
}

static int load_instance(struct ferr *e)
{
	return rollout_instance_load(eng.data_dir, eng.instance, sizeof(eng.instance), e);
}

int engine_runtime_up(struct ferr *e)
{
	struct runtime *rt;

	if (eng.rt)
		return 0;
	if (!eng.instance[0] && load_instance(e) < 0)
		return -1;
	if (eng.runtime_open(eng.instance, &rt, e) < 0)
		return -1;
	pthread_mutex_lock(&eng.lock);
	eng.rt = rt;
	pthread_mutex_unlock(&eng.lock);
	log_info("event=runtime_ready instance=%s", eng.instance);
	return 0;
}

static pthread_mutex_t gw_start_lock = PTHREAD_MUTEX_INITIALIZER;

/* The gateway, started (or adopted) on first need. */
struct gateway *engine_gateway(struct ferr *e)
{
	struct gateway *gw;

	pthread_mutex_lock(&gw_start_lock);
	if (eng.gw) {
		pthread_mutex_unlock(&gw_start_lock);
		return eng.gw;
	}
	gw = eng.gateway_open(e);
	if (!gw) {
		pthread_mutex_unlock(&gw_start_lock);
		ferr_prefix(e, "gateway on %s", eng.listen);
		return NULL;
	}
	pthread_mutex_lock(&eng.lock);
	eng.gw = gw;
	pthread_mutex_unlock(&eng.lock);
	pthread_mutex_unlock(&gw_start_lock);
	log_info("event=gateway_ready listen=%s", eng.listen);
	return gw;
}

int owner_busy_locked(const char *owner)
{
	for (size_t i = 0; i < eng.nbusy; i++)
		if (!strcmp(eng.busy[i], owner))
			return 1;
	return 0;
}

/* Takes owner for a job; waits while another job has it. Returns 0, or -1
 * if the job was cancelled while waiting. */
int owner_take(const char *owner, struct job *job)
{
	pthread_mutex_lock(&eng.lock);
	while (owner_busy_locked(owner)) {
		struct timespec ts;

		if (job && job_cancelled(job)) {
			pthread_mutex_unlock(&eng.lock);
			return -1;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&eng.cond, &eng.lock, &ts);
	}
	grow((void **)&eng.busy, eng.nbusy, &eng.abusy, sizeof(*eng.busy));
	snprintf(eng.busy[eng.nbusy++], OWNER_MAX, "%s", owner);
	pthread_mutex_unlock(&eng.lock);
	return 0;
}

void owner_give(const char *owner)
{
	pthread_mutex_lock(&eng.lock);
	for (size_t i = 0; i < eng.nbusy; i++) {
		if (!strcmp(eng.busy[i], owner)) {
			memcpy(eng.busy[i], eng.busy[--eng.nbusy], OWNER_MAX);
			break;
		}
	}
	pthread_cond_broadcast(&eng.cond);
	pthread_mutex_unlock(&eng.lock);
}

/* Sleeps ms, in steps, returning -1 at once if the job is cancelled. */
int nap(struct job *job, int ms)
{
	while (ms > 0) {
		int step = ms < 50 ? ms : 50;
		if (job && job_cancelled(job))
			return -1;
		usleep((useconds_t)step * 1000);
		ms -= step;
	}
	return job && job_cancelled(job) ? -1 : 0;
}

/* Waits until the engine finished its first pass. */
int engine_wait_ready(struct job *job, struct ferr *e)
{
	long long deadline = mono_ms() + ENGINE_WAIT_MS;

	for (;;) {
		int ready;
		char why[512];

		pthread_mutex_lock(&eng.lock);
		ready = eng.ready;
		memcpy(why, eng.why, sizeof(why));
		pthread_mutex_unlock(&eng.lock);
		if (ready)
			return 0;
		if (!eng.started)
			return ferr_set(e, 503, "not_started", "the rollout engine is not running");
		if (mono_ms() > deadline)
			return ferr_set(e, 503, "runtime_unavailable",
					"the container runtime did not come up in %d s%s%s",
					ENGINE_WAIT_MS / 1000, why[0] ? ": " : "", why);
		if (nap(job, 200) < 0)
			return ferr_set(e, 409, "cancelled", "cancelled while waiting for the container runtime");
	}
}

int rollout_start(const struct rollout_config *cfg, struct ferr *e)
{
	if (cfg->runtime && !strcmp(cfg->runtime, "kubernetes"))
		return rollout_kube_start(cfg, e);
	if (eng.started)
		return ferr_internal(e, "rollout_start called twice");
	if (!cfg->data_dir || !cfg->gateway_listen || !cfg->runtime_open || !cfg->gateway_open)
		return ferr_invalid(e, "the rollout engine needs a data dir, a gateway address and "
				    "its drivers' openers");
	{
		const char *colon = strrchr(cfg->gateway_listen, ':');
		char *end;
		long port = colon ? strtol(colon + 1, &end, 10) : 0;
		if (!colon || *end || port < 1 || port > 65535)
			return ferr_invalid(e, "gateway address \"%s\" is not HOST:PORT", cfg->gateway_listen);
		deployment_set_gateway_port((int)port);
	}
	eng.data_dir = xstrdup(cfg->data_dir);
	eng.listen = xstrdup(cfg->gateway_listen);
	eng.runtime_open = cfg->runtime_open;
	eng.gateway_open = cfg->gateway_open;
	eng.gateway_left_running = cfg->gateway_left_running;
	rollout_jobs_register();
	eng.stop = 0;
	if (pthread_create(&eng.thread, NULL, reconciler, NULL) != 0)
		return ferr_internal(e, "cannot start the reconciler thread");
	eng.started = 1;
	return 0;
}

void rollout_begin_shutdown(void)
{
	rollout_kube_begin_shutdown();
	pthread_mutex_lock(&eng.lock);
	eng.shutdown = 1;
	pthread_cond_broadcast(&eng.cond);
	pthread_mutex_unlock(&eng.lock);
}

void rollout_stop(void)
{
	rollout_kube_stop();
	if (!eng.started)
		return;
	pthread_mutex_lock(&eng.lock);
	eng.shutdown = 1;
	eng.stop = 1;
	pthread_cond_broadcast(&eng.cond);
	pthread_mutex_unlock(&eng.lock);
	pthread_join(eng.thread, NULL);
	/* a gateway restore the supervisor asks for from now on finds the
	 * engine stopped (rollout_gateway_restored) */
	pthread_mutex_lock(&eng.pass_lock);
	eng.started = 0;
	/* HAProxy and the replicas keep running: the next ferryd adopts them.
	 * The gateway is ferryd's (its supervisor frees it). */
	eng.gw = NULL;
	runtime_free(eng.rt);
	eng.rt = NULL;
	plans_prune(NULL, 0);
	free(eng.plans);
	free(eng.busy);
	free(eng.routes);
	free(eng.srvs);
	free(eng.reps);
	free(eng.backs);
	free(eng.data_dir);
	free(eng.listen);
	eng.plans = NULL;
	eng.busy = NULL;
	eng.routes = NULL;
	eng.srvs = NULL;
	eng.reps = NULL;
	eng.backs = NULL;
	eng.nplans = eng.aplans = eng.nbusy = eng.abusy = eng.nroutes = eng.aroutes = 0;
	eng.nsrvs = eng.asrvs = eng.nreps = eng.areps = eng.nbacks = eng.abacks = 0;
	eng.ready = 0;
	pthread_mutex_unlock(&eng.pass_lock);
}
