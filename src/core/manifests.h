/* manifests: a deployment's desired state as the Kubernetes objects the
 * Kubernetes driver applies (runtime/kube_render.h does the rendering).
 *
 * This module gathers what the renderer needs from the store: the
 * deployment (image by digest, ids), the build's descriptor (endpoints,
 * probes, replicas, resources), the configuration snapshot it carries, the
 * component's task settings (schedule, time zone, concurrency, timeout) and
 * ferryd's options (ingress class, domain, registry credentials, missed-run
 * deadline). `ferry manifests` shows the result whichever runtime ferryd
 * runs, so a podman user can preview a move to Kubernetes.
 */
#ifndef FERRY_MANIFESTS_H
#define FERRY_MANIFESTS_H

#include <jansson.h>
#include <stdint.h>

#include "core/auth.h"
#include "core/deployment_record.h"
#include "pipeline/descriptor.h"
#include "lib/error.h"
#include "runtime/kube_render.h"

struct descriptor;
struct snapshot;

/* ferryd's settings that shape the objects. Strings are copied. */
struct manifests_options {
	const char *instance;          /* ferry.dev/instance; NULL: "ferry" */
	const char *ingress_class;     /* NULL: the cluster's default class */
	const char *domain;            /* Ingress host suffix; NULL: "localhost" */
	const char *ingress_namespace; /* NULL: "ingress-nginx" */
	const char *gateway;           /* "NAMESPACE/NAME": an HTTPRoute to that Gateway instead of an Ingress */
	enum kube_by_path ingress_by_path; /* the Ingress <component>-by-path, and how */
	/* "KEY=VALUE" annotations of that Ingress, n_by_path_annotations of them */
	const char *const *by_path_annotations;
	size_t n_by_path_annotations;  /* at most MANIFESTS_MAX_ANNOTATIONS */
	int missed_run_deadline_s;     /* CronJob startingDeadlineSeconds */
	const char *registry_host;     /* with credentials: an imagePullSecret */
	const char *registry_username;
	const char *registry_password;
};

#define MANIFESTS_MAX_ANNOTATIONS 8

/* Sets the options (once at start, before any request). */
void manifests_set_options(const struct manifests_options *o);
/* The --gateway option ("NAMESPACE/NAME"), or NULL (Ingresses). */
const char *manifests_gateway(void);
/* Sets the ferry.dev/instance label (the rollout engine's, at start). */
void manifests_set_instance(const char *instance);

#define MANIFESTS_MAX_ENDPOINTS 16

/* Everything a rendered deployment borrows from, owned here. */
struct manifests_app {
	struct kube_app app;
	struct deployment_info d;
	struct descriptor *desc;
	struct snapshot *snap;
	struct kube_endpoint eps[MANIFESTS_MAX_ENDPOINTS];
	char bases[MANIFESTS_MAX_ENDPOINTS][260];
	struct kube_config *config;
	char *schedule, *timezone, *concurrency;
	const char *caps[DESCRIPTOR_N_CAPABILITIES + 1];
};

/* Loads deployment_id's desired state into *ret (the caller's; release
 * with manifests_app_release, also after a failure). With redact the
 * rendered Secret holds no value. No access check. Returns 0 or -1 with e
 * set (404 unknown deployment, 500 undecryptable configuration). */
int manifests_app_load(struct manifests_app *ret, int64_t deployment_id, int redact,
		       struct ferr *e);
void manifests_app_release(struct manifests_app *m);

/* ferry manifests P/C --env ENV: {"deployment": ID, "status": "...",
 * "namespace": "...", "objects": [...]} for the active deployment there
 * (else the newest one on its way: pending or rolling-out), with every
 * Secret value left out. Viewers may read. 404 when nothing is deployed
 * there. */
int manifests_show(const struct principal *who, const char *project, const char *component,
		   const char *env, json_t **ret, struct ferr *e);

#endif
