/* manifests: the store's desired state of a deployment → kube_app. */
#include "manifests.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lookup.h"
#include "core/config.h"
#include "core/snapshot.h"
#include "gateway/gateway.h"
#include "pipeline/descriptor.h"
#include "store/store.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

#define READY_MIN_S 60
#define READY_MAX_S 3600

static struct {
	char *instance, *ingress_class, *domain, *ingress_namespace, *gateway;
	char *registry_host, *registry_username, *registry_password;
	int missed_run_deadline_s;
	enum kube_by_path by_path;
	char *by_path_annotations[MANIFESTS_MAX_ANNOTATIONS + 1];
} opts;

void manifests_set_options(const struct manifests_options *o)
{
	opts.instance = xstrdup(o->instance);
	opts.ingress_class = xstrdup(o->ingress_class);
	opts.domain = xstrdup(o->domain);
	opts.ingress_namespace = xstrdup(o->ingress_namespace);
	opts.gateway = xstrdup(o->gateway);
	opts.registry_host = xstrdup(o->registry_host);
	opts.registry_username = xstrdup(o->registry_username);
	opts.registry_password = xstrdup(o->registry_password);
	opts.missed_run_deadline_s = o->missed_run_deadline_s;
	opts.by_path = o->ingress_by_path;
	for (size_t i = 0; i < o->n_by_path_annotations && i < MANIFESTS_MAX_ANNOTATIONS; i++)
		opts.by_path_annotations[i] = xstrdup(o->by_path_annotations[i]);
}

const char *manifests_gateway(void)
{
	return opts.gateway;
}

void manifests_set_instance(const char *instance)
{
	free(opts.instance);
	opts.instance = xstrdup(instance);
}

static void map_probe(struct kube_probe *out, const struct descriptor_probe *p)
{
	memset(out, 0, sizeof(*out));
	switch (p->kind) {
	case PROBE_NONE: return;
	case PROBE_HTTP: out->kind = KUBE_PROBE_HTTP; break;
	case PROBE_TCP: out->kind = KUBE_PROBE_TCP; break;
	case PROBE_EXEC: out->kind = KUBE_PROBE_EXEC; break;
	}
	out->http_path = p->http_path;
	out->port = p->port;
	out->argv = (const char *const *)p->exec_argv;
	out->period_seconds = p->period_seconds;
	out->timeout_seconds = p->timeout_seconds;
	out->failure_threshold = p->failure_threshold;
	out->initial_delay_seconds = p->initial_delay_seconds;
}

/* The component's task settings (schedule and the rest). */
static int load_task_settings(struct manifests_app *m, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT schedule, timezone, task_concurrency, task_timeout"
				      " FROM components WHERE id = ?");
	int rc;

	sqlite3_bind_int64(st, 1, m->d.component_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		m->schedule = xstrdup((const char *)sqlite3_column_text(st, 0));
		m->timezone = xstrdup((const char *)sqlite3_column_text(st, 1));
		m->concurrency = xstrdup((const char *)sqlite3_column_text(st, 2));
		m->app.task_timeout_s = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "component %lld not found", (long long)m->d.component_id);
	if (rc != SQLITE_ROW)
		return store_error(e, "read component");
	return 0;
}

static int map_endpoints(struct manifests_app *m, struct ferr *e)
{
	const struct descriptor *ds = m->desc;
	int webapp = !strcmp(m->d.component_type, "web-app");

	if (ds->n_endpoints > MANIFESTS_MAX_ENDPOINTS)
		return ferr_invalid(e, "deployment %lld: more than %d endpoints", (long long)m->d.id,
				    MANIFESTS_MAX_ENDPOINTS);
	for (size_t i = 0; i < ds->n_endpoints; i++) {
		const struct descriptor_endpoint *ep = &ds->endpoints[i];
		struct kube_endpoint *k = &m->eps[i];

		k->name = ep->name;
		k->port = ep->port;
		k->udp = ep->type == ENDPOINT_UDP;
		/* the same endpoints the podman gateway routes (rollout_plan.c) */
		k->routed = (ep->visibilities & (VISIBILITY_PUBLIC | VISIBILITY_ORGANIZATION)) &&
			    ep->type != ENDPOINT_TCP && ep->type != ENDPOINT_UDP;
		if (k->routed) {
			if (gateway_base_path_norm(m->bases[i], sizeof(m->bases[i]),
						   webapp ? "/" : ep->base_path, e) < 0)
				return -1;
			k->base_path = m->bases[i];
		}
	}
	m->app.endpoints = m->eps;
	m->app.nendpoints = ds->n_endpoints;
	return 0;
}

static void map_probes(struct manifests_app *m)
{
	const struct descriptor *ds = m->desc;
	long long budget;

	map_probe(&m->app.readiness, &ds->readiness);
	map_probe(&m->app.liveness, &ds->liveness);
	if (ds->readiness.kind == PROBE_NONE && ds->n_endpoints) {
		/* as the podman engine does: the first endpoint's port answers */
		m->app.readiness.kind = KUBE_PROBE_TCP;
		m->app.readiness.port = ds->endpoints[0].port;
		m->app.readiness.period_seconds = 1;
		m->app.readiness.timeout_seconds = 1;
		m->app.readiness.failure_threshold = 30;
	}
	budget = ds->readiness.kind == PROBE_NONE ? 30 :
		 (long long)ds->readiness.initial_delay_seconds +
		 (long long)ds->readiness.period_seconds * ds->readiness.failure_threshold;
	/* a Deployment's progress deadline runs per step of the rolling
	 * update; leave room for pulling the image */
	budget += 30;
	m->app.progress_deadline_s = (int)(budget < READY_MIN_S ? READY_MIN_S :
					   budget > READY_MAX_S ? READY_MAX_S : budget);
}

int manifests_app_load(struct manifests_app *m, int64_t deployment_id, int redact, struct ferr *e)
{
	struct kube_app *a = &m->app;
	size_t n;

	memset(m, 0, sizeof(*m));
	if (deployment_info_load(deployment_id, &m->d, e) < 0)
		return -1;
	if (descriptor_from_json(&m->desc, m->d.descriptor, e) < 0)
		return ferr_prefix(e, "deployment %lld", (long long)deployment_id);
	if (snapshot_load(m->d.snapshot_id, &m->snap, e) < 0)
		return ferr_prefix(e, "configuration of deployment %lld", (long long)deployment_id);
	if (load_task_settings(m, e) < 0)
		return -1;
	a->instance = opts.instance;
	a->project = m->d.project;
	a->environment = m->d.environment;
	a->component = m->d.component;
	a->project_id = m->d.project_id;
	a->environment_id = m->d.environment_id;
	a->component_id = m->d.component_id;
	a->deployment_id = m->d.id;
	a->deployment_seq = m->d.seq;
	a->kind = !strcmp(m->d.component_type, "scheduled-task") ? KUBE_SCHEDULED_TASK :
		  !strcmp(m->d.component_type, "manual-task") ? KUBE_MANUAL_TASK : KUBE_SERVICE;
	a->image = m->d.image;
	a->replicas = m->desc->replicas > 0 ? m->desc->replicas : 1;
	a->cpu_millicores = m->desc->cpu_millicores;
	a->memory_bytes = m->desc->memory_bytes;
	n = 0;
	for (int k = 0; k < DESCRIPTOR_N_CAPABILITIES; k++)
		if (m->desc->capabilities & (1u << k))
			m->caps[n++] = descriptor_capabilities[k];
	m->caps[n] = NULL;
	a->capabilities = m->caps;
	a->read_only_root = m->desc->read_only_root;
	if (map_endpoints(m, e) < 0)
		return -1;
	map_probes(m);
	n = m->snap->n;
	m->config = calloc(n + 1, sizeof(*m->config));
	if (!m->config)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct config_value *v = &m->snap->entries[i];
		m->config[i].key = v->key;
		m->config[i].file = v->kind == CONFIG_KIND_FILE;
		m->config[i].mount_path = v->mount_path;
		m->config[i].value = v->value;
		m->config[i].len = v->value_len;
	}
	a->config = m->config;
	a->nconfig = n;
	a->schedule = m->schedule;
	a->timezone = m->timezone;
	a->concurrency = m->concurrency;
	a->starting_deadline_s = opts.missed_run_deadline_s;
	a->ingress_class = opts.ingress_class;
	a->domain = opts.domain;
	a->ingress_namespace = opts.ingress_namespace;
	a->gateway = opts.gateway;
	a->by_path = opts.by_path;
	a->by_path_annotations = (const char *const *)opts.by_path_annotations;
	a->registry_host = opts.registry_host;
	a->registry_username = opts.registry_username;
	a->registry_password = opts.registry_password;
	a->redact = redact;
	return 0;
}

void manifests_app_release(struct manifests_app *m)
{
	free(m->config);
	free(m->schedule);
	free(m->timezone);
	free(m->concurrency);
	snapshot_free(m->snap);
	descriptor_free(m->desc);
	deployment_info_release(&m->d);
	memset(m, 0, sizeof(*m));
}

/* The deployment `ferry manifests` shows: the active one of the
 * component in env, else the newest on its way. 0 when there is none. */
static int shown_deployment(int64_t component_id, const char *env, int64_t project_id,
			    int64_t *ret, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT e.id, (SELECT d.id FROM deployments d WHERE d.component_id = ?1"
		"  AND d.environment_id = e.id AND d.status IN ('active','pending','rolling-out')"
		"  ORDER BY d.status = 'active' DESC, d.id DESC LIMIT 1)"
		" FROM environments e WHERE e.project_id = ?2 AND e.name = ?3");
	int rc;

	*ret = 0;
	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_int64(st, 2, project_id);
	sqlite3_bind_text(st, 3, env, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "environment \"%s\" not found", env);
	if (rc != SQLITE_ROW)
		return store_error(e, "find deployment");
	return 0;
}

int manifests_show(const struct principal *who, const char *project, const char *component,
		   const char *env, json_t **ret, struct ferr *e)
{
	struct manifests_app m;
	int64_t pid, cid, dep;
	char ns[KUBE_NAME_MAX + 1];
	json_t *objs;
	int rc = -1;

	if (!env || !*env)
		return ferr_invalid(e, "which environment? give --env ENV (query parameter env)");
	if (component_lookup(who, project, component, &pid, &cid, e) < 0 ||
	    shown_deployment(cid, env, pid, &dep, e) < 0)
		return -1;
	if (!dep)
		return ferr_notfound(e, "%s/%s is not deployed in %s", project, component, env);
	if (manifests_app_load(&m, dep, 1, e) < 0)
		goto out;
	if (kube_render(&m.app, &objs, e) < 0)
		goto out;
	kube_namespace_name(ns, m.d.project, m.d.environment);
	*ret = json_pack("{s:I, s:s, s:s, s:o}", "deployment", (json_int_t)dep, "status", m.d.status,
			 "namespace", ns, "objects", objs);
	rc = 0;
out:
	manifests_app_release(&m);
	return rc;
}
