/* Unit tests of runtime/kube_render: the objects, their fields, and that
 * no configuration value appears outside the Secret's data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kube_render.h"

#define CANARY "canary-5e1f-never-in-a-pod-spec"

static const struct kube_endpoint EPS[] = {
	{ .name = "web_api", .port = 8080, .routed = 1, .base_path = "/api/" },
	{ .name = "metrics", .port = 9090, .routed = 0 },
};

static const char *const EXEC_ARGV[] = { "/bin/check", "--quick", NULL };

static const struct kube_config CFG[] = {
	{ .key = "GREETING", .value = "hello", .len = 5 },
	{ .key = "API_KEY", .value = CANARY, .len = sizeof(CANARY) - 1 },
	{ .key = "settings", .file = 1, .mount_path = "/etc/app/settings.toml", .value = "a = 1\n",
	  .len = 6 },
};

static struct kube_app service_app(void)
{
	struct kube_app a = {
		.project = "shop", .environment = "production", .component = "cart",
		.project_id = 3, .environment_id = 7, .component_id = 11, .deployment_id = 42,
		.deployment_seq = 5, .kind = KUBE_SERVICE,
		.image = "registry.example/shop/cart@sha256:0123", .replicas = 3,
		.cpu_millicores = 250, .memory_bytes = 64 << 20,
		.endpoints = EPS, .nendpoints = 2,
		.readiness = { .kind = KUBE_PROBE_HTTP, .http_path = "/healthz", .port = 8080,
			       .period_seconds = 2, .failure_threshold = 5 },
		.liveness = { .kind = KUBE_PROBE_EXEC, .argv = EXEC_ARGV, .period_seconds = 10 },
		.progress_deadline_s = 120,
		.config = CFG, .nconfig = 3,
		.ingress_class = "nginx",
	};
	return a;
}

/* j's member at a dotted path; keys may hold dots themselves
 * ("ferry.dev/component-id"): the longest key that exists wins. */
static json_t *json_at(json_t *j, const char *path)
{
	char key[256];

	while (j && *path) {
		size_t n = strlen(path);
		json_t *next = NULL;
		for (; n > 0; n--) {
			if (path[n] != '\0' && path[n] != '.')
				continue;
			if (n >= sizeof(key))
				continue;
			memcpy(key, path, n);
			key[n] = '\0';
			if ((next = json_object_get(j, key)))
				break;
		}
		if (!next)
			return NULL;
		j = next;
		path += n;
		if (*path == '.')
			path++;
	}
	return j;
}

static json_t *find(json_t *objs, const char *kind, const char *name)
{
	size_t i;
	json_t *o;

	json_array_foreach(objs, i, o) {
		json_t *md = json_object_get(o, "metadata");
		if (!strcmp(json_string_value(json_object_get(o, "kind")), kind) &&
		    (!name || !strcmp(json_string_value(json_object_get(md, "name")), name)))
			return o;
	}
	return NULL;
}

static const char *str_at(json_t *j, const char *path)
{
	json_t *v = json_at(j, path);
	return v ? json_string_value(v) : NULL;
}

static void test_service_objects_in_apply_order(void **state)
{
	struct kube_app a = service_app();
	struct ferr e = FERR_INIT;
	const char *kinds[] = { "Namespace", "NetworkPolicy", "Secret", "Deployment", "Service", "Ingress" };
	json_t *objs;

	(void)state;
	assert_int_equal(kube_render(&a, &objs, &e), 0);
	assert_int_equal(json_array_size(objs), 6);
	for (size_t i = 0; i < 6; i++) {
		json_t *o = json_array_get(objs, i);
		json_t *labels = json_object_get(json_object_get(o, "metadata"), "labels");
		assert_string_equal(json_string_value(json_object_get(o, "kind")), kinds[i]);
		assert_string_equal(json_string_value(json_object_get(labels, "app.kubernetes.io/managed-by")), "ferry");
		assert_string_equal(json_string_value(json_object_get(labels, "ferry.dev/project")), "shop");
		assert_string_equal(json_string_value(json_object_get(labels, "ferry.dev/project-id")), "3");
		assert_string_equal(json_string_value(json_object_get(labels, "ferry.dev/environment-id")), "7");
		assert_string_equal(json_string_value(json_object_get(labels, "ferry.dev/instance")), "ferry");
		if (i > 0)
			assert_string_equal(json_string_value(json_object_get(json_object_get(o, "metadata"),
									      "namespace")), "shop-production");
		if (i >= 2) {
			assert_string_equal(json_string_value(json_object_get(labels, "ferry.dev/component-id")), "11");
			assert_string_equal(json_string_value(json_object_get(labels, "ferry.dev/deployment-id")), "42");
		}
	}
	assert_non_null(find(objs, "Secret", "cart-d42"));
	json_decref(objs);
}

static void test_deployment_strategy_probes_resources_security(void **state)
{
	struct kube_app a = service_app();
	struct ferr e = FERR_INIT;
	json_t *objs, *d, *spec, *c, *pod;

	(void)state;
	assert_int_equal(kube_render(&a, &objs, &e), 0);
	d = find(objs, "Deployment", "cart");
	assert_non_null(d);
	spec = json_object_get(d, "spec");
	assert_int_equal(json_integer_value(json_object_get(spec, "replicas")), 3);
	assert_int_equal(json_integer_value(json_object_get(spec, "progressDeadlineSeconds")), 120);
	assert_string_equal(str_at(spec, "strategy.type"), "RollingUpdate");
	assert_int_equal(json_integer_value(json_at(spec, "strategy.rollingUpdate.maxUnavailable")), 0);
	assert_int_equal(json_integer_value(json_at(spec, "strategy.rollingUpdate.maxSurge")), 1);
	/* the selector holds only labels that never change across deployments */
	assert_int_equal(json_object_size(json_at(spec, "selector.matchLabels")), 2);
	assert_string_equal(str_at(spec, "selector.matchLabels.ferry.dev/component-id"), "11");
	pod = json_at(spec, "template.spec");
	assert_string_equal(str_at(spec, "template.metadata.labels.ferry.dev/deployment-id"), "42");
	assert_true(json_is_true(json_at(pod, "securityContext.runAsNonRoot")));
	assert_string_equal(str_at(pod, "securityContext.seccompProfile.type"), "RuntimeDefault");
	assert_true(json_is_false(json_object_get(pod, "automountServiceAccountToken")));
	c = json_array_get(json_object_get(pod, "containers"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "image")), a.image);
	assert_true(json_is_false(json_at(c, "securityContext.allowPrivilegeEscalation")));
	assert_true(json_is_true(json_at(c, "securityContext.runAsNonRoot")));
	assert_string_equal(json_string_value(json_array_get(json_at(c, "securityContext.capabilities.drop"), 0)), "ALL");
	assert_string_equal(str_at(c, "securityContext.seccompProfile.type"), "RuntimeDefault");
	assert_null(json_at(c, "securityContext.capabilities.add"));
	assert_null(json_at(c, "securityContext.readOnlyRootFilesystem"));
	assert_string_equal(str_at(c, "resources.requests.cpu"), "250m");
	assert_string_equal(str_at(c, "resources.limits.cpu"), "250m");
	assert_string_equal(str_at(c, "resources.limits.memory"), "67108864");
	assert_string_equal(str_at(c, "readinessProbe.httpGet.path"), "/healthz");
	assert_int_equal(json_integer_value(json_at(c, "readinessProbe.httpGet.port")), 8080);
	assert_int_equal(json_integer_value(json_at(c, "readinessProbe.periodSeconds")), 2);
	assert_int_equal(json_integer_value(json_at(c, "readinessProbe.failureThreshold")), 5);
	assert_string_equal(json_string_value(json_array_get(json_at(c, "livenessProbe.exec.command"), 1)), "--quick");
	/* startup probe: the liveness check, for as long as the rollout may take */
	assert_int_equal(json_integer_value(json_at(c, "startupProbe.failureThreshold")), 12);
	assert_int_equal(json_array_size(json_object_get(c, "ports")), 2);
	json_decref(objs);
}

static void test_declared_capabilities_and_read_only_root(void **state)
{
	static const char *const caps[] = { "NET_BIND_SERVICE", NULL };
	struct kube_app a = service_app();
	struct ferr e = FERR_INIT;
	json_t *objs, *c;

	(void)state;
	a.capabilities = caps;
	a.read_only_root = 1;
	assert_int_equal(kube_render(&a, &objs, &e), 0);
	c = json_array_get(json_at(find(objs, "Deployment", "cart"), "spec.template.spec.containers"), 0);
	assert_string_equal(json_string_value(json_array_get(json_at(c, "securityContext.capabilities.drop"), 0)), "ALL");
	assert_int_equal(json_array_size(json_at(c, "securityContext.capabilities.add")), 1);
	assert_string_equal(json_string_value(json_array_get(json_at(c, "securityContext.capabilities.add"), 0)), "NET_BIND_SERVICE");
	assert_true(json_is_true(json_at(c, "securityContext.readOnlyRootFilesystem")));
	assert_true(json_is_false(json_at(c, "securityContext.allowPrivilegeEscalation")));
	json_decref(objs);
}

static void test_configuration_only_in_the_immutable_secret(void **state)
{
	struct kube_app a = service_app();
	struct ferr e = FERR_INIT;
	json_t *objs, *s, *c, *env, *pod;
	char *text;
	size_t i;
	json_t *v;
	int found_ref = 0;

	(void)state;
	assert_int_equal(kube_render(&a, &objs, &e), 0);
	s = find(objs, "Secret", "cart-d42");
	assert_true(json_is_true(json_object_get(s, "immutable")));
	/* base64 of "hello" and of the file */
	assert_string_equal(str_at(s, "data.GREETING"), "aGVsbG8=");
	assert_string_equal(str_at(s, "data.file-2"), "YSA9IDEK");
	assert_null(find(objs, "ConfigMap", NULL));
	/* outside the Secret, no value at all (not even base64) */
	json_array_remove(objs, 2);
	text = json_dumps(objs, 0);
	assert_null(strstr(text, CANARY));
	assert_null(strstr(text, "hello"));
	assert_null(strstr(text, "aGVsbG8="));
	free(text);
	pod = json_at(find(objs, "Deployment", "cart"), "spec.template.spec");
	c = json_array_get(json_object_get(pod, "containers"), 0);
	env = json_object_get(c, "env");
	json_array_foreach(env, i, v) {
		if (!strcmp(json_string_value(json_object_get(v, "name")), "API_KEY")) {
			assert_string_equal(str_at(v, "valueFrom.secretKeyRef.name"), "cart-d42");
			assert_string_equal(str_at(v, "valueFrom.secretKeyRef.key"), "API_KEY");
			assert_null(json_object_get(v, "value"));
			found_ref = 1;
		}
	}
	assert_true(found_ref);
	assert_string_equal(str_at(json_array_get(json_object_get(c, "volumeMounts"), 0), "mountPath"),
			    "/etc/app/settings.toml");
	assert_string_equal(str_at(json_array_get(json_object_get(c, "volumeMounts"), 0), "subPath"), "file-2");
	assert_string_equal(str_at(json_array_get(json_object_get(pod, "volumes"), 0), "secret.secretName"),
			    "cart-d42");
	json_decref(objs);
}

static void test_redacted_secret_names_keys_only(void **state)
{
	struct kube_app a = service_app();
	struct ferr e = FERR_INIT;
	json_t *objs, *s;
	char *text;

	(void)state;
	a.redact = 1;
	a.registry_host = "registry.example";
	a.registry_username = "robot";
	a.registry_password = "pw-" CANARY;
	assert_int_equal(kube_render(&a, &objs, &e), 0);
	s = find(objs, "Secret", "cart-d42");
	assert_string_equal(str_at(s, "data.API_KEY"), "");
	assert_string_equal(str_at(s, "data.GREETING"), "");
	assert_string_equal(str_at(s, "data.file-2"), "");
	assert_non_null(str_at(s, "metadata.annotations.ferry.dev/values"));
	text = json_dumps(objs, 0);
	assert_null(strstr(text, CANARY));
	assert_null(strstr(text, "aGVsbG8="));
	free(text);
	json_decref(objs);
}

static void test_pull_secret_only_with_credentials(void **state)
{
	struct kube_app a = service_app();
	struct ferr e = FERR_INIT;
	json_t *objs, *pod;

	(void)state;
	assert_int_equal(kube_render(&a, &objs, &e), 0);
	assert_null(find(objs, "Secret", "ferry-registry"));
	pod = json_at(find(objs, "Deployment", "cart"), "spec.template.spec");
	assert_null(json_object_get(pod, "imagePullSecrets"));
	json_decref(objs);

	a.registry_host = "registry.example";
	a.registry_username = "robot";
	a.registry_password = "s3cret";
	assert_int_equal(kube_render(&a, &objs, &e), 0);
	assert_string_equal(str_at(find(objs, "Secret", "ferry-registry"), "type"),
			    "kubernetes.io/dockerconfigjson");
	pod = json_at(find(objs, "Deployment", "cart"), "spec.template.spec");
	assert_string_equal(str_at(json_array_get(json_object_get(pod, "imagePullSecrets"), 0), "name"),
			    "ferry-registry");
	json_decref(objs);
}

static void test_service_ingress_and_network_policy(void **state)
{
	struct kube_app a = service_app();
	struct ferr e = FERR_INIT;
	json_t *objs, *svc, *ing, *np, *paths, *from;

	(void)state;
	assert_int_equal(kube_render(&a, &objs, &e), 0);
	svc = find(objs, "Service", "cart");
	assert_string_equal(str_at(svc, "spec.selector.ferry.dev/component-id"), "11");
	assert_int_equal(json_array_size(json_at(svc, "spec.ports")), 2);
	assert_int_equal(json_integer_value(json_at(json_array_get(json_at(svc, "spec.ports"), 1), "port")), 9090);
	ing = find(objs, "Ingress", "cart");
	assert_string_equal(str_at(ing, "spec.ingressClassName"), "nginx");
	assert_string_equal(str_at(json_array_get(json_at(ing, "spec.rules"), 0), "host"),
			    "cart.shop.production.localhost");
	paths = json_at(json_array_get(json_at(ing, "spec.rules"), 0), "http.paths");
	/* only the routed endpoint, at its base path, without the trailing '/' */
	assert_int_equal(json_array_size(paths), 1);
	assert_string_equal(str_at(json_array_get(paths, 0), "path"), "/api");
	assert_string_equal(str_at(json_array_get(paths, 0), "pathType"), "Prefix");
	np = find(objs, "NetworkPolicy", "ferry-same-environment");
	from = json_at(json_array_get(json_at(np, "spec.ingress"), 0), "from");
	assert_int_equal(json_array_size(from), 2);
	assert_int_equal(json_object_size(json_object_get(json_array_get(from, 0), "podSelector")), 0);
	assert_string_equal(str_at(json_array_get(from, 1),
				   "namespaceSelector.matchLabels.kubernetes.io/metadata.name"), "ingress-nginx");
	json_decref(objs);
}

/* --gateway: two HTTPRoutes instead of the Ingress, one by host, one for
 * the by-path URL with the prefix stripped and the base path kept. */
static void test_httproutes_by_host_and_by_path(void **state)
{
	struct kube_app a = service_app();
	struct ferr e = FERR_INIT;
	json_t *objs, *host, *path, *rule, *filters;

	(void)state;
	a.gateway = "gateway-system/public";
	assert_int_equal(kube_render(&a, &objs, &e), 0);
	assert_null(find(objs, "Ingress", NULL));
	host = find(objs, "HTTPRoute", "cart");
	assert_non_null(host);
	assert_string_equal(json_string_value(json_array_get(json_at(host, "spec.hostnames"), 0)),
			    "cart.shop.production.localhost");
	assert_string_equal(str_at(json_array_get(json_at(host, "spec.parentRefs"), 0), "namespace"),
			    "gateway-system");
	assert_string_equal(str_at(json_array_get(json_at(host, "spec.parentRefs"), 0), "name"), "public");
	path = find(objs, "HTTPRoute", "cart-by-path");
	assert_non_null(path);
	assert_null(json_at(path, "spec.hostnames"));
	assert_string_equal(str_at(path, "metadata.labels.ferry.dev/component-id"), "11");
	assert_int_equal(json_array_size(json_at(path, "spec.rules")), 1);
	rule = json_array_get(json_at(path, "spec.rules"), 0);
	assert_string_equal(str_at(json_array_get(json_at(rule, "matches"), 0), "path.value"),
			    "/shop/production/cart/api");
	filters = json_at(rule, "filters");
	assert_string_equal(str_at(json_array_get(filters, 0), "urlRewrite.path.type"), "ReplacePrefixMatch");
	assert_string_equal(str_at(json_array_get(filters, 0), "urlRewrite.path.replacePrefixMatch"), "/api");
	assert_string_equal(str_at(json_array_get(json_at(json_array_get(filters, 1),
							  "requestHeaderModifier.add"), 0), "value"),
			    "/shop/production/cart");
	assert_int_equal(json_integer_value(json_at(json_array_get(json_at(rule, "backendRefs"), 0), "port")), 8080);
	json_decref(objs);
}

/* The by-path URL through an Ingress: only when asked for (the Ingress
 * API has no rewrite); with ingress-nginx a regex path per endpoint and
 * one rewrite-target for all of them, with plain Prefix paths otherwise;
 * the annotations given on top. */
static void test_ingress_by_path(void **state)
{
	static const struct kube_endpoint eps[] = {
		{ .name = "web", .port = 8080, .routed = 1, .base_path = "/" },
		{ .name = "api", .port = 8081, .routed = 1, .base_path = "/v1.2/" },
		{ .name = "metrics", .port = 9090, .routed = 0 },
	};
	static const char *const anns[] = { "example.com/strip=yes", "nginx.ingress.kubernetes.io/use-regex=true", NULL };
	struct kube_app a = service_app();
	struct ferr e = FERR_INIT;
	json_t *objs, *ing, *paths, *p;

	(void)state;
	a.endpoints = eps;
	a.nendpoints = 3;
	/* by default: the by-host Ingress alone */
	assert_int_equal(kube_render(&a, &objs, &e), 0);
	assert_null(find(objs, "Ingress", "cart-by-path"));
	assert_non_null(find(objs, "Ingress", "cart"));
	json_decref(objs);

	a.by_path = KUBE_BY_PATH_NGINX;
	assert_int_equal(kube_render(&a, &objs, &e), 0);
	assert_non_null(find(objs, "Ingress", "cart"));
	ing = find(objs, "Ingress", "cart-by-path");
	assert_non_null(ing);
	/* right after the by-host one, last */
	assert_ptr_equal(json_array_get(objs, json_array_size(objs) - 1), ing);
	assert_string_equal(str_at(ing, "metadata.namespace"), "shop-production");
	assert_string_equal(str_at(ing, "metadata.labels.ferry.dev/component-id"), "11");
	assert_string_equal(str_at(ing, "metadata.labels.ferry.dev/deployment-id"), "42");
	assert_string_equal(str_at(ing, "spec.ingressClassName"), "nginx");
	/* any host */
	assert_null(json_object_get(json_array_get(json_at(ing, "spec.rules"), 0), "host"));
	paths = json_at(json_array_get(json_at(ing, "spec.rules"), 0), "http.paths");
	assert_int_equal(json_array_size(paths), 2);
	p = json_array_get(paths, 0);
	assert_string_equal(str_at(p, "path"), "/shop/production/cart()(/|$)(.*)");
	assert_string_equal(str_at(p, "pathType"), "ImplementationSpecific");
	assert_string_equal(str_at(p, "backend.service.name"), "cart");
	assert_string_equal(str_at(p, "backend.service.port.name"), "p0-8080");
	p = json_array_get(paths, 1);
	/* the base path's regex characters quoted, its trailing '/' gone */
	assert_string_equal(str_at(p, "path"), "/shop/production/cart(/v1\\.2)(/|$)(.*)");
	assert_string_equal(str_at(p, "backend.service.port.name"), "p1-8081");
	/* /shop/production/cart/v1.2/x -> $1 "/v1.2", $3 "x": /v1.2/x; /shop/production/cart -> / */
	assert_string_equal(str_at(ing, "metadata.annotations.nginx.ingress.kubernetes.io/rewrite-target"), "$1/$3");
	assert_string_equal(str_at(ing, "metadata.annotations.nginx.ingress.kubernetes.io/use-regex"), "true");
	assert_string_equal(str_at(ing, "metadata.annotations.nginx.ingress.kubernetes.io/x-forwarded-prefix"),
			    "/shop/production/cart");
	json_decref(objs);

	a.by_path = KUBE_BY_PATH_PREFIX;
	a.by_path_annotations = anns;
	assert_int_equal(kube_render(&a, &objs, &e), 0);
	ing = find(objs, "Ingress", "cart-by-path");
	paths = json_at(json_array_get(json_at(ing, "spec.rules"), 0), "http.paths");
	assert_int_equal(json_array_size(paths), 2);
	assert_string_equal(str_at(json_array_get(paths, 0), "path"), "/shop/production/cart");
	assert_string_equal(str_at(json_array_get(paths, 0), "pathType"), "Prefix");
	assert_string_equal(str_at(json_array_get(paths, 1), "path"), "/shop/production/cart/v1.2");
	assert_null(json_at(ing, "metadata.annotations.nginx.ingress.kubernetes.io/rewrite-target"));
	assert_string_equal(str_at(ing, "metadata.annotations.example.com/strip"), "yes");
	assert_string_equal(str_at(ing, "metadata.annotations.nginx.ingress.kubernetes.io/use-regex"), "true");
	json_decref(objs);

	/* --gateway: the HTTPRoutes carry it, never an Ingress */
	a.gateway = "gateway-system/public";
	assert_int_equal(kube_render(&a, &objs, &e), 0);
	assert_null(find(objs, "Ingress", NULL));
	json_decref(objs);
}

static void test_scheduled_task_cronjob(void **state)
{
	struct kube_app a = service_app();
	struct ferr e = FERR_INIT;
	json_t *objs, *cj, *pod;

	(void)state;
	a.kind = KUBE_SCHEDULED_TASK;
	a.schedule = "*/5 * * * *";
	a.timezone = "Europe/Paris";
	a.concurrency = "replace";
	a.starting_deadline_s = 300;
	a.task_timeout_s = 600;
	assert_int_equal(kube_render(&a, &objs, &e), 0);
	assert_null(find(objs, "Deployment", NULL));
	assert_null(find(objs, "Service", NULL));
	cj = find(objs, "CronJob", "cart");
	assert_non_null(cj);
	assert_string_equal(str_at(cj, "spec.schedule"), "*/5 * * * *");
	assert_string_equal(str_at(cj, "spec.timeZone"), "Europe/Paris");
	assert_string_equal(str_at(cj, "spec.concurrencyPolicy"), "Replace");
	assert_int_equal(json_integer_value(json_at(cj, "spec.startingDeadlineSeconds")), 300);
	assert_int_equal(json_integer_value(json_at(cj, "spec.jobTemplate.spec.activeDeadlineSeconds")), 600);
	assert_int_equal(json_integer_value(json_at(cj, "spec.jobTemplate.spec.backoffLimit")), 0);
	pod = json_at(cj, "spec.jobTemplate.spec.template.spec");
	assert_string_equal(json_string_value(json_object_get(pod, "restartPolicy")), "Never");
	assert_null(json_object_get(json_array_get(json_object_get(pod, "containers"), 0), "readinessProbe"));
	json_decref(objs);

	a.concurrency = "sometimes";
	assert_int_equal(kube_render(&a, &objs, &e), -1);
	assert_int_equal(e.status, 400);
	assert_non_null(strstr(e.msg, "sometimes"));
	ferr_clear(&e);
	a.concurrency = NULL;
	a.schedule = NULL;
	assert_int_equal(kube_render(&a, &objs, &e), -1);
	assert_non_null(strstr(e.msg, "no schedule"));
}

static void test_execution_job(void **state)
{
	struct kube_app a = service_app();
	struct ferr e = FERR_INIT;
	const char *args[] = { "--day", "monday", NULL };
	json_t *job, *c, *env, *last;

	(void)state;
	assert_int_equal(kube_render_job(&a, 9, args, &job, &e), -1); /* a service */
	ferr_clear(&e);
	a.kind = KUBE_MANUAL_TASK;
	assert_int_equal(kube_render_job(&a, 9, args, &job, &e), 0);
	assert_string_equal(str_at(job, "metadata.name"), "cart-e9");
	assert_string_equal(str_at(job, "metadata.labels.ferry.dev/execution-id"), "9");
	assert_string_equal(str_at(job, "spec.template.metadata.labels.ferry.dev/execution-id"), "9");
	c = json_array_get(json_at(job, "spec.template.spec.containers"), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "args"), 1)), "monday");
	env = json_object_get(c, "env");
	last = json_array_get(env, json_array_size(env) - 1);
	assert_string_equal(str_at(last, "name"), "FERRY_EXECUTION");
	assert_string_equal(str_at(last, "value"), "9");
	json_decref(job);
}

static void test_names(void **state)
{
	char ns[KUBE_NAME_MAX + 1], ns2[KUBE_NAME_MAX + 1];
	struct kube_app a = service_app();
	struct ferr e = FERR_INIT;
	json_t *objs;
	const char *p = "a-very-long-project-name-that-goes-on-and-on-for-ever";

	(void)state;
	kube_namespace_name(ns, "shop", "dev");
	assert_string_equal(ns, "shop-dev");
	kube_namespace_name(ns, p, "production-environment");
	kube_namespace_name(ns2, p, "production-environment2");
	assert_true(strlen(ns) <= 63 && strlen(ns2) <= 63);
	assert_string_not_equal(ns, ns2);
	kube_namespace_name(ns2, p, "production-environment");
	assert_string_equal(ns, ns2);
	a.component = "Cart";
	assert_int_equal(kube_render(&a, &objs, &e), -1);
	assert_non_null(strstr(e.msg, "component \"Cart\""));
	ferr_clear(&e);
	a = service_app();
	a.image = "";
	assert_int_equal(kube_render(&a, &objs, &e), -1);
	assert_non_null(strstr(e.msg, "no image"));
}

static void test_same_input_same_bytes(void **state)
{
	struct kube_app a = service_app();
	struct ferr e = FERR_INIT;
	json_t *x, *y;
	char *tx, *ty;

	(void)state;
	assert_int_equal(kube_render(&a, &x, &e), 0);
	assert_int_equal(kube_render(&a, &y, &e), 0);
	tx = json_dumps(x, 0);
	ty = json_dumps(y, 0);
	assert_string_equal(tx, ty);
	free(tx);
	free(ty);
	json_decref(x);
	json_decref(y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_objects_in_apply_order),
		cmocka_unit_test(test_deployment_strategy_probes_resources_security),
		cmocka_unit_test(test_declared_capabilities_and_read_only_root),
		cmocka_unit_test(test_configuration_only_in_the_immutable_secret),
		cmocka_unit_test(test_redacted_secret_names_keys_only),
		cmocka_unit_test(test_pull_secret_only_with_credentials),
		cmocka_unit_test(test_service_ingress_and_network_policy),
		cmocka_unit_test(test_httproutes_by_host_and_by_path),
		cmocka_unit_test(test_ingress_by_path),
		cmocka_unit_test(test_scheduled_task_cronjob),
		cmocka_unit_test(test_execution_job),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_same_input_same_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
