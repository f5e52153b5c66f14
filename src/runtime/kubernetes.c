/* kubernetes: the runtime driver for a Kubernetes cluster (see
 * kubernetes.h). */
#include "kubernetes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube_render.h"
#include "kube_status.h"
#include "lib/strbuf.h"
#include "lib/banned.h"

#define LABEL "ferry.dev/"

struct kubernetes {
	struct runtime rt;        /* first */
	struct kubectl *k;
	char instance[64];
};

static const struct runtime_ops kubernetes_ops;

static struct kubernetes *to_kube(struct runtime *rt)
{
	return (struct kubernetes *)rt;
}

struct kubectl *kubernetes_kubectl(struct runtime *rt)
{
	return rt && rt->ops == &kubernetes_ops ? to_kube(rt)->k : NULL;
}

void kubernetes_selector(struct runtime *rt, const char *extra, char *out, size_t size)
{
	snprintf(out, size, LABEL "instance=%s%s%s", to_kube(rt)->instance, extra ? "," : "",
		 extra ? extra : "");
}

static int unsupported(const char *what, struct ferr *e)
{
	return ferr_set(e, 501, "unsupported", "%s: not done by ferry on Kubernetes (%s)", what,
			!strcmp(what, "start_replica") ?
			"a run is a Job the rollout engine renders and applies" :
			"the kubelet restarts containers and runs probes");
}

static int kb_noop_network(struct runtime *rt, const char *project, const char *environment,
			   struct ferr *e)
{
	(void)rt;
	(void)project;
	(void)environment;
	(void)e;
	return 0;
}

static int kb_start_replica(struct runtime *rt, const struct runtime_spec *spec,
			    struct runtime_replica *ret, struct ferr *e)
{
	(void)rt;
	(void)spec;
	(void)ret;
	return unsupported("start_replica", e);
}

static int kb_restart_replica(struct runtime *rt, const char *id, int grace_s, struct ferr *e)
{
	(void)rt;
	(void)id;
	(void)grace_s;
	return unsupported("restart_replica", e);
}

static int kb_exec_probe(struct runtime *rt, const char *id, const char *const *argv,
			 int timeout_ms, struct strbuf *out, struct ferr *e)
{
	(void)rt;
	(void)id;
	(void)argv;
	(void)timeout_ms;
	(void)out;
	return unsupported("exec_probe", e);
}

static void copy_label(char *out, size_t size, const json_t *obj, const char *key)
{
	const char *v = kube_label(obj, key);

	snprintf(out, size, "%s", v ? v : "");
}

static long long label_num(const json_t *obj, const char *key)
{
	const char *v = kube_label(obj, key);

	return v ? strtoll(v, NULL, 10) : 0;
}

/* What any object of ferry's says of the replica it is: name
 * "namespace/name", its labels. */
static void replica_from(const json_t *obj, struct runtime_replica *r)
{
	const json_t *md = json_object_get(obj, "metadata");

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s/%s",
		 json_string_value(json_object_get(md, "namespace")) ?: "",
		 json_string_value(json_object_get(md, "name")) ?: "");
	copy_label(r->project, sizeof(r->project), obj, LABEL "project");
	copy_label(r->environment, sizeof(r->environment), obj, LABEL "environment");
	copy_label(r->component, sizeof(r->component), obj, LABEL "component");
	r->deployment = label_num(obj, LABEL "deployment-id");
}

/* A Job as a task replica. */
static void job_replica(const json_t *job, struct runtime_replica *r)
{
	long long exec = label_num(job, LABEL "execution-id");

	replica_from(job, r);
	snprintf(r->id, sizeof(r->id), "e%lld", exec);
	r->replica = (int)exec;
	r->task = 1;
	r->restarts = 0;
	r->exit_code = -1;
	switch (kube_job_state(job)) {
	case KUBE_JOB_PENDING: r->state = RUNTIME_CREATED; break;
	case KUBE_JOB_RUNNING: r->state = RUNTIME_RUNNING; break;
	case KUBE_JOB_SUCCEEDED: r->state = RUNTIME_EXITED; r->exit_code = 0; break;
	case KUBE_JOB_FAILED: r->state = RUNTIME_EXITED; break;
	}
}

/* A service's pod as a replica: id its uid, replica its index i. */
static void pod_replica(const json_t *pod, int i, struct runtime_replica *r)
{
	const json_t *md = json_object_get(pod, "metadata"), *st = json_object_get(pod, "status"), *cs;
	const char *phase = json_string_value(json_object_get(st, "phase"));
	size_t k;

	replica_from(pod, r);
	snprintf(r->id, sizeof(r->id), "%s", json_string_value(json_object_get(md, "uid")) ?: "");
	r->replica = i;
	r->exit_code = -1;
	r->state = !phase || !strcmp(phase, "Pending") ? RUNTIME_CREATED :
		   !strcmp(phase, "Running") ? RUNTIME_RUNNING : RUNTIME_EXITED;
	if (json_object_get(md, "deletionTimestamp"))
		r->state = RUNTIME_STOPPING;
	json_array_foreach(json_object_get(st, "containerStatuses"), k, cs)
		r->restarts += (int)json_integer_value(json_object_get(cs, "restartCount"));
}

/* The Jobs of this instance matching extra, from every namespace. */
static int jobs_get(struct kubernetes *kb, const char *extra, json_t **ret, struct ferr *e)
{
	char sel[512];
	int rc;

	kubernetes_selector(&kb->rt, extra, sel, sizeof(sel));
	rc = kubectl_get(kb->k, NULL, "jobs", sel, ret, e);
	if (rc == 1)
		*ret = json_pack("{s:[]}", "items");
	return rc < 0 ? -1 : 0;
}

static int kb_list(struct runtime *rt, const struct runtime_filter *f,
		   struct runtime_replica_list *ret, struct ferr *e)
{
	struct kubernetes *kb = to_kube(rt);
	struct strbuf sel = STRBUF_INIT;
	json_t *list = NULL, *o;
	char full[1024];
	size_t i;
	int rc, pods = 0;

	if (f && f->project)
		strbuf_addf(&sel, "," LABEL "project=%s", f->project);
	if (f && f->environment)
		strbuf_addf(&sel, "," LABEL "environment=%s", f->environment);
	if (f && f->component)
		strbuf_addf(&sel, "," LABEL "component=%s", f->component);
	if (f && f->deployment)
		strbuf_addf(&sel, "," LABEL "deployment-id=%lld", f->deployment);
	kubernetes_selector(rt, sel.len ? sel.buf + 1 : NULL, full, sizeof(full));
	strbuf_release(&sel);
	/* one request per kind: Jobs are the runs of tasks, pods without
	 * an execution label the replicas of services */
	rc = kubectl_get(kb->k, NULL, "jobs,pods", full, &list, e);
	if (rc < 0)
		return -1;
	ret->n = 0;
	ret->items = calloc(json_array_size(json_object_get(list, "items")) + 1, sizeof(*ret->items));
	if (!ret->items)
		abort();
	json_array_foreach(json_object_get(list, "items"), i, o) {
		const char *kind = json_string_value(json_object_get(o, "kind"));

		if (kind && !strcmp(kind, "Job") && kube_label(o, LABEL "execution-id"))
			job_replica(o, &ret->items[ret->n++]);
		else if (kind && !strcmp(kind, "Pod") && !kube_label(o, LABEL "execution-id") &&
			 !kube_label(o, "batch.kubernetes.io/job-name"))   /* a CronJob's run */
			pod_replica(o, pods++, &ret->items[ret->n++]);
	}
	json_decref(list);
	return 0;
}

/* The pod of a service replica (id: its uid) into ns and name. */
static int pod_find(struct kubernetes *kb, const char *uid, char ns[64], char name[64],
		    struct ferr *e)
{
	char sel[256];
	json_t *pods = NULL, *p;
	size_t i;
	int rc = -2;

	kubernetes_selector(&kb->rt, NULL, sel, sizeof(sel));
	if (kubectl_get(kb->k, NULL, "pods", sel, &pods, e) < 0)
		return -1;
	json_array_foreach(json_object_get(pods, "items"), i, p) {
		const json_t *md = json_object_get(p, "metadata");
		const char *u = json_string_value(json_object_get(md, "uid"));

		if (u && !strcmp(u, uid)) {
			snprintf(ns, 64, "%s", json_string_value(json_object_get(md, "namespace")) ?: "");
			snprintf(name, 64, "%s", json_string_value(json_object_get(md, "name")) ?: "");
			rc = 0;
			break;
		}
	}
	json_decref(pods);
	return rc == 0 ? 0 : ferr_notfound(e, "no pod %s of this ferry", uid);
}

/* Whether id names a run of a task ("e<execution id>", job_replica) rather
 * than a service's pod (its uid: hex digits and '-', which may well start
 * with 'e'). */
static int is_run_id(const char *id)
{
	return id[0] == 'e' && id[1] && strspn(id + 1, "0123456789") == strlen(id + 1);
}

/* The Job of replica id ("e<execution>") into *ret (a new reference) with
 * its namespace and name. 404 when there is none. */
static int job_find(struct kubernetes *kb, const char *id, json_t **ret, char ns[64], char name[64],
		    struct ferr *e)
{
	char extra[80];
	json_t *jobs = NULL, *job;
	const json_t *md;
	char *end;
	long long exec = id[0] == 'e' ? strtoll(id + 1, &end, 10) : 0;

	if (exec <= 0 || *end)
		return ferr_notfound(e, "%s is no run of a task on Kubernetes (e<execution id>)", id);
	snprintf(extra, sizeof(extra), LABEL "execution-id=%lld", exec);
	if (jobs_get(kb, extra, &jobs, e) < 0)
		return -1;
	job = json_array_get(json_object_get(jobs, "items"), 0);
	if (!job) {
		json_decref(jobs);
		return ferr_notfound(e, "no Job of execution %lld", exec);
	}
	md = json_object_get(job, "metadata");
	snprintf(ns, 64, "%s", json_string_value(json_object_get(md, "namespace")) ?: "");
	snprintf(name, 64, "%s", json_string_value(json_object_get(md, "name")) ?: "");
	*ret = json_incref(job);
	json_decref(jobs);
	return 0;
}

/* The exit code of the Job's pod, or -1. */
static int job_exit_code(struct kubernetes *kb, const char *ns, const char *name, struct ferr *e)
{
	char sel[128];
	json_t *pods = NULL;
	int code, rc;

	snprintf(sel, sizeof(sel), "batch.kubernetes.io/job-name=%s", name);
	rc = kubectl_get(kb->k, ns, "pods", sel, &pods, e);
	if (rc < 0)
		return -1;
	code = rc == 1 ? -1 : kube_pods_exit_code(pods);
	json_decref(pods);
	return code;
}

/* Whether a pod of the Job has left Pending (its container ran or runs). */
static int job_pod_started(struct kubernetes *kb, const char *ns, const char *name)
{
	char sel[128];
	json_t *pods = NULL, *p;
	size_t i;
	int started = 0;

	snprintf(sel, sizeof(sel), "batch.kubernetes.io/job-name=%s", name);
	if (kubectl_get(kb->k, ns, "pods", sel, &pods, NULL) != 0)
		return 0;
	json_array_foreach(json_object_get(pods, "items"), i, p) {
		const char *phase = json_string_value(json_object_get(json_object_get(p, "status"), "phase"));
		if (phase && strcmp(phase, "Pending"))
			started = 1;
	}
	json_decref(pods);
	return started;
}

static int kb_inspect(struct runtime *rt, const char *id, struct runtime_replica *ret,
		      struct ferr *e)
{
	struct kubernetes *kb = to_kube(rt);
	char ns[64], name[64];
	json_t *job;

	if (job_find(kb, id, &job, ns, name, e) < 0)
		return -1;
	job_replica(job, ret);
	if (ret->state == RUNTIME_EXITED) {
		int code = job_exit_code(kb, ns, name, NULL);
		if (code >= 0)
			ret->exit_code = code;
	}
	json_decref(job);
	return 0;
}

static int kb_stop_replica(struct runtime *rt, const char *id, int grace_s, struct ferr *e)
{
	struct kubernetes *kb = to_kube(rt);
	struct ferr fe = FERR_INIT;
	char ns[64], name[64], what[80];
	struct runtime_replica r;
	json_t *job;

	(void)grace_s; /* the pod's terminationGracePeriodSeconds */
	if (job_find(kb, id, &job, ns, name, &fe) < 0) {
		if (fe.status == 404)
			return 0;
		ferr_set(e, fe.status, fe.code, "%s", fe.msg);
		return -1;
	}
	job_replica(job, &r);
	json_decref(job);
	if (r.state == RUNTIME_EXITED)
		/* finished: left to its ttlSecondsAfterFinished (a day), for
		 * kubectl users; ferry has its history already */
		return 0;
	snprintf(what, sizeof(what), "job/%s", name);
	return kubectl_delete(kb->k, ns, what, NULL, e);
}

struct wait_ctx {
	enum kube_job state;
};

static int on_job(json_t *job, void *arg)
{
	struct wait_ctx *w = arg;

	if (!job)
		return 0;
	w->state = kube_job_state(job);
	return w->state == KUBE_JOB_SUCCEEDED || w->state == KUBE_JOB_FAILED;
}

static int kb_wait(struct runtime *rt, const char *id, int timeout_ms, struct ferr *e)
{
	struct kubernetes *kb = to_kube(rt);
	struct wait_ctx w = { KUBE_JOB_PENDING };
	char ns[64], name[64], what[80];
	json_t *job;
	int rc, code;

	if (job_find(kb, id, &job, ns, name, e) < 0)
		return -1;
	w.state = kube_job_state(job);
	json_decref(job);
	snprintf(what, sizeof(what), "job/%s", name);
	while (w.state != KUBE_JOB_SUCCEEDED && w.state != KUBE_JOB_FAILED) {
		rc = kubectl_watch(kb->k, ns, what, timeout_ms, on_job, &w, e);
		if (rc < 0)
			return -1;
		if (rc == 1 && timeout_ms > 0)
			return ferr_set(e, 504, "timeout", "job %s/%s did not finish in %d ms", ns, name,
					timeout_ms);
	}
	code = job_exit_code(kb, ns, name, e);
	if (code < 0 && ferr_isset(e))
		return -1;
	if (code < 0)
		/* failed without a terminated container: its deadline killed it */
		code = w.state == KUBE_JOB_SUCCEEDED ? 0 : 128 + 9;
	return code;
}

struct logs_ctx {
	runtime_log_fn fn;
	void *arg;
	int stopped;
	/* a followed Job: its end also ends the stream (a kubelet closes it
	 * when the container exits; kwok's simulated one never does) */
	struct kubernetes *kb;
	const char *job;
	long long next_check_ms, ended_ms;
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define JOB_CHECK_MS 2000
#define JOB_LAST_LINES_MS 1500

static int job_ended(struct logs_ctx *c)
{
	char ns[64], name[64];
	struct runtime_replica r;
	json_t *job;

	if (job_find(c->kb, c->job, &job, ns, name, NULL) < 0)
		return 1;   /* gone */
	job_replica(job, &r);
	json_decref(job);
	return r.state == RUNTIME_EXITED;
}

static int on_log_line(const char *line, size_t len, void *arg)
{
	struct logs_ctx *c = arg;
	long long now = mono_ms();

	if (c->fn(line, len, c->arg))
		c->stopped = 1;
	if (!c->stopped && c->job) {
		if (c->ended_ms && now - c->ended_ms >= JOB_LAST_LINES_MS)
			c->stopped = 1;
		else if (!c->ended_ms && now >= c->next_check_ms) {
			c->next_check_ms = now + JOB_CHECK_MS;
			if (job_ended(c))
				c->ended_ms = now;
		}
	}
	return c->stopped;
}

#define START_WAIT_MS 15000

/* A pod's log. A container that has not started yet has none to give
 * (the API server answers "container ... is waiting to start"): asked
 * again every second, for up to START_WAIT_MS, as long as fn lets. */
static int pod_logs(struct kubernetes *kb, const char *ns, const char *what, int follow, struct logs_ctx *c,
		    struct ferr *e)
{
	long long until = mono_ms() + START_WAIT_MS;

	for (;;) {
		struct ferr le = FERR_INIT;

		if (kubectl_logs_stream(kb->k, ns, what, NULL, follow, on_log_line, c, &le) == 0 || c->stopped)
			return 0;
		if ((!strstr(le.msg, "waiting to start") && !strstr(le.msg, "ContainerCreating") &&
		     !strstr(le.msg, "PodInitializing")) || mono_ms() >= until) {
			ferr_set(e, le.status, le.code, "%s", le.msg);
			return -1;
		}
		if (c->fn(NULL, 0, c->arg))
			return 0;
		usleep(1000 * 1000);
	}
}

static int kb_logs(struct runtime *rt, const char *id, int follow, runtime_log_fn fn, void *arg,
		   struct ferr *e)
{
	struct kubernetes *kb = to_kube(rt);
	struct logs_ctx c = { .fn = fn, .arg = arg };
	char ns[64], name[64], what[80];
	json_t *job;

	if (!is_run_id(id)) {
		/* a service's pod */
		if (pod_find(kb, id, ns, name, e) < 0)
			return -1;
		snprintf(what, sizeof(what), "pod/%s", name);
		return pod_logs(kb, ns, what, follow, &c, e);
	}
	/* until its pod runs (or ran) there is nothing to read: wait, ticking */
	for (;;) {
		struct runtime_replica r;

		if (job_find(kb, id, &job, ns, name, e) < 0)
			return -1;
		job_replica(job, &r);
		json_decref(job);
		if (!follow || r.state == RUNTIME_EXITED || (r.state != RUNTIME_CREATED &&
							      job_pod_started(kb, ns, name)))
			break;
		if (fn(NULL, 0, arg))
			return 0;
		usleep(300 * 1000);
	}
	snprintf(what, sizeof(what), "job/%s", name);
	if (follow) {
		c.kb = kb;
		c.job = id;
		c.next_check_ms = mono_ms() + JOB_CHECK_MS;
	}
	if (kubectl_logs_stream(kb->k, ns, what, NULL, follow, on_log_line, &c, e) < 0)
		return c.stopped ? 0 : -1;
	return 0;
}

static void kb_free(struct runtime *rt)
{
	struct kubernetes *kb = to_kube(rt);

	kubectl_free(kb->k);
	free(kb);
}

static const struct runtime_ops kubernetes_ops = {
	.name = "kubernetes",
	.ensure_network = kb_noop_network,
	.remove_network = kb_noop_network,
	.start_replica = kb_start_replica,
	.restart_replica = kb_restart_replica,
	.stop_replica = kb_stop_replica,
	.inspect = kb_inspect,
	.list = kb_list,
	.logs = kb_logs,
	.exec_probe = kb_exec_probe,
	.wait = kb_wait,
	.free = kb_free,
};

int kubernetes_runtime_new(struct runtime **ret, const struct kubernetes_config *cfg,
			   struct ferr *e)
{
	struct kubectl_config kc = { cfg->kubectl, cfg->kubeconfig, cfg->context };
	struct kubernetes *kb;

	if (!cfg->instance || runtime_check_name("runtime instance", cfg->instance, e) < 0)
		return cfg->instance ? -1 : ferr_invalid(e, "the Kubernetes driver needs an instance name");
	kb = calloc(1, sizeof(*kb));
	if (!kb)
		abort();
	kb->rt.ops = &kubernetes_ops;
	snprintf(kb->instance, sizeof(kb->instance), "%s", cfg->instance);
	if (kubectl_new(&kb->k, &kc, e) < 0 || kubectl_check(kb->k, e) < 0) {
		kubectl_free(kb->k);
		free(kb);
		return -1;
	}
	*ret = &kb->rt;
	return 0;
}
