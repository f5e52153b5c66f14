/* kube_render: a deployment's desired state as Kubernetes objects.
 *
 * Pure: takes a struct kube_app (everything borrowed, nothing looked up)
 * and returns the objects as a JSON array, in the order they must be
 * applied. No I/O, no clock, no randomness: the same input gives the same
 * bytes, so a reviewer (`ferry manifests`) and the driver see the same
 * objects.
 *
 * What is rendered (docs/kubernetes.md has the whole mapping):
 *   Namespace        <project>-<environment> (hashed when too long)
 *   NetworkPolicy    ferry-same-environment: only pods of this namespace,
 *                    and the ingress controller's namespace, get in
 *   Secret           ferry-registry (kubernetes.io/dockerconfigjson), only
 *                    when the registry needs credentials
 *   Secret           <component>-d<deployment>: the configuration, immutable
 *   services/web-apps:
 *     Deployment     <component>: RollingUpdate maxUnavailable 0, maxSurge 1,
 *                    probes, replicas, resources, hardened securityContext
 *     Service        <component>: one port per endpoint (same-environment
 *                    neighbours reach it by this name)
 *     Ingress        <component>: host <component>.<project>.<environment>.
 *                    <domain>, one path per Public/Organization endpoint
 *     Ingress        <component>-by-path (by_path set): any host, one path per
 *                    such endpoint at /<project>/<environment>/<component><base>
 *     HTTPRoute      <component> and <component>-by-path instead (gateway set)
 *   scheduled tasks: CronJob <component>
 *   executions:      Job <component>-e<execution> (kube_render_job)
 *
 * Every object carries the labels app.kubernetes.io/name, .../managed-by
 * "ferry" and ferry.dev/{project,environment,component}{,-id},
 * ferry.dev/deployment-id and ferry.dev/instance: the driver adopts what it
 * finds by them.
 *
 * Configuration values reach the pod only through the Secret (env vars by
 * secretKeyRef, files by a secret volume with subPath): never a ConfigMap,
 * never a value in the pod spec. With kube_app.redact the Secret's values
 * (and the registry password) are replaced by empty strings and an
 * annotation says so: that form is for people, never for applying.
 */
#ifndef FERRY_RUNTIME_KUBE_RENDER_H
#define FERRY_RUNTIME_KUBE_RENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

#define KUBE_NAME_MAX 63

enum kube_kind {
	KUBE_SERVICE = 0,    /* service or web-app: Deployment + Service + Ingress */
	KUBE_SCHEDULED_TASK, /* CronJob */
	KUBE_MANUAL_TASK,    /* nothing until an execution: Job */
};

enum kube_probe_kind {
	KUBE_PROBE_NONE = 0,
	KUBE_PROBE_HTTP,
	KUBE_PROBE_TCP,
	KUBE_PROBE_EXEC,
};

struct kube_probe {
	enum kube_probe_kind kind;
	const char *http_path;      /* HTTP */
	int port;                   /* HTTP, TCP */
	const char *const *argv;    /* EXEC, NULL-terminated */
	int period_seconds;         /* 0: Kubernetes' default */
	int timeout_seconds;
	int failure_threshold;
	int initial_delay_seconds;
};

struct kube_endpoint {
	const char *name;           /* DNS label-ish: [a-z][a-z0-9_-]* */
	int port;
	int udp;                    /* 1: UDP (Service port protocol) */
	/* routed through the Ingress (Public/Organization and not TCP/UDP) */
	int routed;
	const char *base_path;      /* routed: "/" or "/api/" (normalised) */
};

struct kube_config {
	const char *key;            /* env: the variable name */
	int file;                   /* 1: a file mount at mount_path */
	const char *mount_path;
	const void *value;
	size_t len;
};

/* The gateway's by-path URL, /<project>/<environment>/<component><basePath>
 * with the prefix stripped, through an Ingress: the Ingress API has no
 * rewrite, so it takes the controller's own annotations. */
enum kube_by_path {
	KUBE_BY_PATH_NONE = 0,  /* no by-path Ingress: the by-host URL only */
	KUBE_BY_PATH_NGINX,     /* ingress-nginx: a regex path, rewrite-target and
				   x-forwarded-prefix annotations */
	KUBE_BY_PATH_PREFIX,    /* Prefix paths, no rewrite: the controller strips the
				   prefix (e.g. a Traefik stripPrefixRegex Middleware named
				   in by_path_annotations) */
};

struct kube_app {
	const char *instance;       /* ferry.dev/instance label; NULL: "ferry" */
	const char *project;
	const char *environment;
	const char *component;
	int64_t project_id, environment_id, component_id, deployment_id;
	int deployment_seq;
	enum kube_kind kind;
	const char *image;          /* by digest */
	int replicas;               /* >= 1 */
	int64_t cpu_millicores;     /* 0: none */
	int64_t memory_bytes;       /* 0: none */
	/* capabilities added back after dropping ALL (names without "CAP_"),
	 * NULL-terminated or NULL; and readOnlyRootFilesystem */
	const char *const *capabilities;
	int read_only_root;
	const struct kube_endpoint *endpoints;
	size_t nendpoints;
	struct kube_probe readiness;
	struct kube_probe liveness;
	/* seconds a rollout may take before the Deployment reports it has
	 * not progressed (progressDeadlineSeconds); 0: 600 */
	int progress_deadline_s;
	const struct kube_config *config;
	size_t nconfig;
	/* scheduled tasks */
	const char *schedule;       /* cron */
	const char *timezone;       /* IANA; NULL: UTC */
	const char *concurrency;    /* forbid (default), allow, replace */
	int starting_deadline_s;    /* missed-run deadline; 0: none */
	int64_t task_timeout_s;     /* activeDeadlineSeconds of a run; 0: none */
	/* Ingress */
	const char *ingress_class;  /* NULL: none given (the cluster's default) */
	const char *domain;         /* host suffix; NULL: "localhost" */
	const char *ingress_namespace; /* where the controller runs; NULL: "ingress-nginx" */
	const char *gateway;        /* "NAMESPACE/NAME" of a Gateway API Gateway: an HTTPRoute
				       attached to it instead of an Ingress (NULL: Ingress) */
	enum kube_by_path by_path;  /* with an Ingress: the Ingress <component>-by-path */
	/* "KEY=VALUE" annotations of that Ingress (NULL-terminated, or NULL) */
	const char *const *by_path_annotations;
	/* registry credentials (imagePullSecret); NULL: none needed */
	const char *registry_host;
	const char *registry_username;
	const char *registry_password;
	int redact;                 /* 1: no configuration value, no password */
};

/* The namespace of project+environment into out (KUBE_NAME_MAX + 1):
 * "<project>-<environment>", or a prefix of it and a hash when longer than
 * 63 characters. */
void kube_namespace_name(char out[KUBE_NAME_MAX + 1], const char *project,
			 const char *environment);

/* The configuration Secret's name: "<component>-d<deployment id>". */
void kube_secret_name(char out[KUBE_NAME_MAX + 1], const char *component, int64_t deployment_id);

/* Renders every object of a (the Namespace first, then policies, secrets,
 * the workload, Service and Ingress). Returns 0 with *ret a new JSON array,
 * or -1 with e set (400: a name that is no DNS label, an unknown
 * concurrency policy, a scheduled task without a schedule, a config key a
 * Secret cannot hold). */
int kube_render(const struct kube_app *a, json_t **ret, struct ferr *e);

/* The Job of one execution of a (a task): name "<component>-e<execution>",
 * args appended to the image's entrypoint (NULL-terminated; NULL: the
 * image's CMD), backoffLimit 0, the configuration Secret as for services.
 * Returns 0 with *ret a new object, or -1 with e set. */
int kube_render_job(const struct kube_app *a, int64_t execution_id, const char *const *args,
		    json_t **ret, struct ferr *e);

#endif
