/* kube_render: desired state → Kubernetes objects (see kube_render.h). */
#include "kube_render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/banned.h"

#define LABEL_PREFIX "ferry.dev/"
#define REGISTRY_SECRET "ferry-registry"
#define REDACTED_NOTE "values not shown: configuration values are write-only"

/* FNV-1a, for names that must be shortened: stable across runs and hosts. */
static unsigned long long fnv1a(const char *s)
{
	unsigned long long h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void kube_namespace_name(char out[KUBE_NAME_MAX + 1], const char *project, const char *environment)
{
	char full[256];
	int n = snprintf(full, sizeof(full), "%s-%s", project, environment);

	if (n >= 0 && n <= KUBE_NAME_MAX) {
		memcpy(out, full, (size_t)n + 1);
		return;
	}
	/* 52 characters of the name, '-', 10 hex digits: 63 */
	snprintf(out, KUBE_NAME_MAX + 1, "%.52s-%010llx", full, fnv1a(full) & 0xffffffffffULL);
	/* a cut may leave '-' before the hash's '-': still a DNS label */
}

void kube_secret_name(char out[KUBE_NAME_MAX + 1], const char *component, int64_t deployment_id)
{
	snprintf(out, KUBE_NAME_MAX + 1, "%.40s-d%lld", component, (long long)deployment_id);
}

static int is_dns_label(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > KUBE_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* A Secret's data key: [-._a-zA-Z0-9]+, at most 253. */
static int is_secret_key(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.' || s[i] == '_'))
			return 0;
	return 1;
}

static json_t *jstr(const char *s)
{
	json_t *j = json_string(s ? s : "");

	/* every string here comes from checked names or the store's UTF-8 */
	return j ? j : json_string("");
}

static json_t *jid(int64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%lld", (long long)v);
	return json_string(b);
}

static const char *instance_of(const struct kube_app *a)
{
	return a->instance && *a->instance ? a->instance : "ferry";
}

/* The labels that select a component's pods in its namespace: they never
 * change across deployments (a Deployment's selector is immutable). */
static json_t *selector_labels(const struct kube_app *a)
{
	json_t *l = json_object();

	json_object_set_new(l, "app.kubernetes.io/name", jstr(a->component));
	json_object_set_new(l, LABEL_PREFIX "component-id", jid(a->component_id));
	return l;
}

/* Labels of every object of the project+environment. */
static json_t *env_labels(const struct kube_app *a)
{
	json_t *l = json_object();

	json_object_set_new(l, "app.kubernetes.io/managed-by", json_string("ferry"));
	json_object_set_new(l, LABEL_PREFIX "instance", jstr(instance_of(a)));
	json_object_set_new(l, LABEL_PREFIX "project", jstr(a->project));
	json_object_set_new(l, LABEL_PREFIX "project-id", jid(a->project_id));
	json_object_set_new(l, LABEL_PREFIX "environment", jstr(a->environment));
	json_object_set_new(l, LABEL_PREFIX "environment-id", jid(a->environment_id));
	return l;
}

/* Labels of a component's objects: the environment's, the selector's and
 * the deployment. */
static json_t *component_labels(const struct kube_app *a)
{
	json_t *l = env_labels(a), *sel = selector_labels(a);

	json_object_update(l, sel);
	json_decref(sel);
	json_object_set_new(l, LABEL_PREFIX "component", jstr(a->component));
	json_object_set_new(l, LABEL_PREFIX "deployment-id", jid(a->deployment_id));
	return l;
}

static json_t *object_new(const char *api, const char *kind, const char *name, const char *ns,
			  json_t *labels)
{
	json_t *o = json_object(), *md = json_object();

	json_object_set_new(o, "apiVersion", json_string(api));
	json_object_set_new(o, "kind", json_string(kind));
	json_object_set_new(md, "name", jstr(name));
	if (ns)
		json_object_set_new(md, "namespace", jstr(ns));
	json_object_set_new(md, "labels", labels);
	json_object_set_new(o, "metadata", md);
	return o;
}

static void annotate(json_t *o, const char *key, const char *value)
{
	json_t *md = json_object_get(o, "metadata");
	json_t *an = json_object_get(md, "annotations");

	if (!an) {
		an = json_object();
		json_object_set_new(md, "annotations", an);
	}
	json_object_set_new(an, key, jstr(value));
}

/* ------------------------------------------------------------------ */
/* Namespace and policies                                               */

static json_t *render_namespace(const struct kube_app *a, const char *ns)
{
	json_t *o = object_new("v1", "Namespace", ns, NULL, env_labels(a));
	json_t *labels = json_object_get(json_object_get(o, "metadata"), "labels");

	/* Pod Security Admission: the restricted profile, which the pod spec
	 * below satisfies */
	json_object_set_new(labels, "pod-security.kubernetes.io/enforce", json_string("restricted"));
	return o;
}

/* One policy: pods of this namespace take connections only from pods of
 * the same namespace (same environment, by Service name) and from the
 * ingress controller's namespace. Egress is left open (DNS, the registry,
 * outside services). */
static json_t *render_network_policy(const struct kube_app *a, const char *ns)
{
	json_t *o = object_new("networking.k8s.io/v1", "NetworkPolicy", "ferry-same-environment", ns,
			       env_labels(a));
	json_t *from = json_array(), *ing = json_object();

	json_array_append_new(from, json_pack("{s:{}}", "podSelector"));
	if (a->gateway) {
		/* the Gateway's controller forwards from the Gateway's namespace */
		char gns[KUBE_NAME_MAX + 1];
		snprintf(gns, sizeof(gns), "%.*s", (int)strcspn(a->gateway, "/"), a->gateway);
		json_array_append_new(from, json_pack("{s:{s:{s:s}}}", "namespaceSelector", "matchLabels",
						      "kubernetes.io/metadata.name", gns));
	} else {
		json_array_append_new(from, json_pack("{s:{s:{s:s}}}", "namespaceSelector", "matchLabels",
						      "kubernetes.io/metadata.name",
						      a->ingress_namespace ? a->ingress_namespace : "ingress-nginx"));
	}
	json_object_set_new(ing, "from", from);
	json_object_set_new(o, "spec", json_pack("{s:{}, s:[s], s:[o]}", "podSelector", "policyTypes",
						 "Ingress", "ingress", ing));
	return o;
}

/* ------------------------------------------------------------------ */
/* Secrets                                                              */

static void file_key(char out[32], size_t i)
{
	snprintf(out, 32, "file-%zu", i);
}

static int check_config(const struct kube_app *a, struct ferr *e)
{
	for (size_t i = 0; i < a->nconfig; i++) {
		const struct kube_config *c = &a->config[i];
		if (c->file) {
			if (!c->mount_path || c->mount_path[0] != '/')
				return ferr_invalid(e, "configuration %s: a file mount needs an absolute path",
						    c->key ? c->key : "?");
		} else if (!is_secret_key(c->key)) {
			return ferr_invalid(e, "configuration key \"%s\" cannot be a Secret key "
					    "(letters, digits, '-', '.', '_')", c->key ? c->key : "");
		}
	}
	return 0;
}

static json_t *render_config_secret(const struct kube_app *a, const char *ns)
{
	char name[KUBE_NAME_MAX + 1];
	json_t *o, *data = json_object();

	kube_secret_name(name, a->component, a->deployment_id);
	o = object_new("v1", "Secret", name, ns, component_labels(a));
	json_object_set_new(o, "type", json_string("Opaque"));
	json_object_set_new(o, "immutable", json_true());
	for (size_t i = 0; i < a->nconfig; i++) {
		const struct kube_config *c = &a->config[i];
		char fk[32];
		struct strbuf sb = STRBUF_INIT;

		if (c->file)
			file_key(fk, i);
		if (!a->redact)
			strbuf_add_base64(&sb, c->value, c->len);
		json_object_set_new(data, c->file ? fk : c->key, json_string(sb.buf));
		strbuf_release(&sb);
	}
	json_object_set_new(o, "data", data);
	if (a->redact)
		annotate(o, LABEL_PREFIX "values", REDACTED_NOTE);
	return o;
}

static int needs_pull_secret(const struct kube_app *a)
{
	return a->registry_host && a->registry_username && a->registry_password;
}

static json_t *render_pull_secret(const struct kube_app *a, const char *ns)
{
	json_t *o = object_new("v1", "Secret", REGISTRY_SECRET, ns, env_labels(a));
	struct strbuf auth = STRBUF_INIT, cred = STRBUF_INIT, cfg = STRBUF_INIT;
	json_t *doc;
	char *text;

	json_object_set_new(o, "type", json_string("kubernetes.io/dockerconfigjson"));
	if (!a->redact) {
		strbuf_addf(&cred, "%s:%s", a->registry_username, a->registry_password);
		strbuf_add_base64(&auth, cred.buf, cred.len);
	}
	doc = json_pack("{s:{s:{s:s, s:s, s:s}}}", "auths", a->registry_host, "username",
			a->registry_username, "password", a->redact ? "" : a->registry_password,
			"auth", auth.buf);
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	strbuf_add_base64(&cfg, text, strlen(text));
	json_object_set_new(o, "data", json_pack("{s:s}", ".dockerconfigjson", cfg.buf));
	if (a->redact)
		annotate(o, LABEL_PREFIX "values", "password not shown: registry credentials are write-only");
	explicit_bzero(text, strlen(text));
	free(text);
	json_decref(doc);
	explicit_bzero(cred.buf, cred.len);
	strbuf_release(&cred);
	strbuf_release(&auth);
	strbuf_release(&cfg);
	return o;
}

/* ------------------------------------------------------------------ */
/* Pod template                                                         */

static json_t *render_probe(const struct kube_probe *p, int override_failures)
{
	json_t *o = json_object();

	switch (p->kind) {
	case KUBE_PROBE_HTTP:
		json_object_set_new(o, "httpGet", json_pack("{s:s, s:i}", "path",
							    p->http_path ? p->http_path : "/",
							    "port", p->port));
		break;
	case KUBE_PROBE_TCP:
		json_object_set_new(o, "tcpSocket", json_pack("{s:i}", "port", p->port));
		break;
	case KUBE_PROBE_EXEC: {
		json_t *cmd = json_array();
		for (const char *const *s = p->argv; s && *s; s++)
			json_array_append_new(cmd, jstr(*s));
		json_object_set_new(o, "exec", json_pack("{s:o}", "command", cmd));
		break;
	}
	case KUBE_PROBE_NONE:
		json_decref(o);
		return NULL;
	}
	if (p->period_seconds > 0)
		json_object_set_new(o, "periodSeconds", json_integer(p->period_seconds));
	if (p->timeout_seconds > 0)
		json_object_set_new(o, "timeoutSeconds", json_integer(p->timeout_seconds));
	if (override_failures > 0)
		json_object_set_new(o, "failureThreshold", json_integer(override_failures));
	else if (p->failure_threshold > 0)
		json_object_set_new(o, "failureThreshold", json_integer(p->failure_threshold));
	if (p->initial_delay_seconds > 0 && override_failures == 0)
		json_object_set_new(o, "initialDelaySeconds", json_integer(p->initial_delay_seconds));
	return o;
}

static json_t *security_context_container(const struct kube_app *a)
{
	json_t *sc = json_pack("{s:b, s:b, s:{s:[s]}, s:{s:s}}", "runAsNonRoot", 1,
			       "allowPrivilegeEscalation", 0, "capabilities", "drop", "ALL",
			       "seccompProfile", "type", "RuntimeDefault");

	if (a->capabilities && a->capabilities[0]) {
		json_t *add = json_array();
		for (const char *const *c = a->capabilities; *c; c++)
			json_array_append_new(add, jstr(*c));
		json_object_set_new(json_object_get(sc, "capabilities"), "add", add);
	}
	if (a->read_only_root)
		json_object_set_new(sc, "readOnlyRootFilesystem", json_true());
	return sc;
}

static json_t *resources(const struct kube_app *a)
{
	json_t *q = json_object();
	char b[32];

	if (a->cpu_millicores > 0) {
		snprintf(b, sizeof(b), "%lldm", (long long)a->cpu_millicores);
		json_object_set_new(q, "cpu", json_string(b));
	}
	if (a->memory_bytes > 0) {
		snprintf(b, sizeof(b), "%lld", (long long)a->memory_bytes);
		json_object_set_new(q, "memory", json_string(b));
	}
	if (!json_object_size(q)) {
		json_decref(q);
		return json_object();
	}
	/* requests = limits: the pod gets what the descriptor says, and its
	 * QoS class is Guaranteed when both are given */
	return json_pack("{s:O, s:o}", "requests", q, "limits", q);
}

static json_t *env_vars(const struct kube_app *a, int64_t execution_id)
{
	char secret[KUBE_NAME_MAX + 1];
	json_t *env = json_array();
	const char *names[] = { "FERRY_PROJECT", "FERRY_ENVIRONMENT", "FERRY_COMPONENT" };
	const char *vals[] = { a->project, a->environment, a->component };

	kube_secret_name(secret, a->component, a->deployment_id);
	for (size_t i = 0; i < a->nconfig; i++) {
		const struct kube_config *c = &a->config[i];
		if (c->file)
			continue;
		json_array_append_new(env, json_pack("{s:s, s:{s:{s:s, s:s}}}", "name", c->key,
						     "valueFrom", "secretKeyRef", "name", secret, "key",
						     c->key));
	}
	/* ferry's own variables come last: they win over a stored value */
	for (size_t i = 0; i < 3; i++)
		json_array_append_new(env, json_pack("{s:s, s:s}", "name", names[i], "value", vals[i]));
	json_array_append_new(env, json_pack("{s:s, s:o}", "name", "FERRY_DEPLOYMENT", "value",
					     jid(a->deployment_id)));
	if (execution_id > 0)
		json_array_append_new(env, json_pack("{s:s, s:o}", "name", "FERRY_EXECUTION", "value",
						     jid(execution_id)));
	return env;
}

/* The pod template of a's container (services, CronJob and Job alike). */
static json_t *pod_template(const struct kube_app *a, int64_t execution_id,
			    const char *const *args, int service)
{
	char secret[KUBE_NAME_MAX + 1];
	json_t *c = json_object(), *spec = json_object(), *labels = component_labels(a);
	json_t *mounts = json_array(), *items = json_array();

	kube_secret_name(secret, a->component, a->deployment_id);
	json_object_set_new(c, "name", jstr(a->component));
	json_object_set_new(c, "image", jstr(a->image));
	json_object_set_new(c, "imagePullPolicy", json_string("IfNotPresent"));
	if (args) {
		json_t *arr = json_array();
		for (const char *const *s = args; *s; s++)
			json_array_append_new(arr, jstr(*s));
		json_object_set_new(c, "args", arr);
	}
	json_object_set_new(c, "env", env_vars(a, execution_id));
	for (size_t i = 0; i < a->nconfig; i++) {
		char fk[32];
		if (!a->config[i].file)
			continue;
		file_key(fk, i);
		json_array_append_new(items, json_pack("{s:s, s:s}", "key", fk, "path", fk));
		json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b}", "name", "ferry-config",
							"mountPath", a->config[i].mount_path, "subPath", fk,
							"readOnly", 1));
	}
	if (service && a->nendpoints) {
		json_t *ports = json_array();
		for (size_t i = 0; i < a->nendpoints; i++) {
			int dup = 0;
			for (size_t k = 0; k < i; k++)
				dup |= a->endpoints[k].port == a->endpoints[i].port &&
				       a->endpoints[k].udp == a->endpoints[i].udp;
			if (!dup)
				json_array_append_new(ports, json_pack("{s:i, s:s}", "containerPort",
								       a->endpoints[i].port, "protocol",
								       a->endpoints[i].udp ? "UDP" : "TCP"));
		}
		json_object_set_new(c, "ports", ports);
	}
	json_object_set_new(c, "resources", resources(a));
	json_object_set_new(c, "securityContext", security_context_container(a));
	if (service) {
		json_t *r = render_probe(&a->readiness, 0);
		json_t *l = render_probe(&a->liveness, 0);
		if (r)
			json_object_set_new(c, "readinessProbe", r);
		if (l) {
			/* the startup probe holds liveness off while the program
			 * starts, for as long as readiness may take */
			int period = a->liveness.period_seconds > 0 ? a->liveness.period_seconds : 10;
			int budget = a->progress_deadline_s > 0 ? a->progress_deadline_s : 600;
			int fails = (budget + period - 1) / period;
			json_object_set_new(c, "startupProbe", render_probe(&a->liveness, fails));
			json_object_set_new(c, "livenessProbe", l);
		}
	}
	if (json_array_size(mounts))
		json_object_set_new(c, "volumeMounts", mounts);
	else
		json_decref(mounts);

	json_object_set_new(spec, "containers", json_pack("[o]", c));
	json_object_set_new(spec, "automountServiceAccountToken", json_false());
	json_object_set_new(spec, "enableServiceLinks", json_false());
	json_object_set_new(spec, "securityContext",
			    json_pack("{s:b, s:{s:s}}", "runAsNonRoot", 1, "seccompProfile", "type",
				      "RuntimeDefault"));
	if (!service)
		json_object_set_new(spec, "restartPolicy", json_string("Never"));
	/* "optional: false" is Kubernetes' default, written out because
	 * podman kube play (4.3) dereferences it unchecked */
	if (json_array_size(items))
		json_object_set_new(spec, "volumes",
				    json_pack("[{s:s, s:{s:s, s:o, s:i, s:b}}]", "name", "ferry-config",
					      "secret", "secretName", secret, "items", items,
					      "defaultMode", 0400, "optional", 0));
	else
		json_decref(items);
	if (needs_pull_secret(a))
		json_object_set_new(spec, "imagePullSecrets",
				    json_pack("[{s:s}]", "name", REGISTRY_SECRET));
	if (execution_id > 0)
		json_object_set_new(labels, LABEL_PREFIX "execution-id", jid(execution_id));
	return json_pack("{s:{s:o}, s:o}", "metadata", "labels", labels, "spec", spec);
}

/* ------------------------------------------------------------------ */
/* Workloads                                                            */

static json_t *render_deployment(const struct kube_app *a, const char *ns)
{
	json_t *o = object_new("apps/v1", "Deployment", a->component, ns, component_labels(a));
	json_t *spec = json_object();

	json_object_set_new(spec, "replicas", json_integer(a->replicas > 0 ? a->replicas : 1));
	json_object_set_new(spec, "selector", json_pack("{s:o}", "matchLabels", selector_labels(a)));
	json_object_set_new(spec, "strategy",
			    json_pack("{s:s, s:{s:i, s:i}}", "type", "RollingUpdate", "rollingUpdate",
				      "maxUnavailable", 0, "maxSurge", 1));
	json_object_set_new(spec, "minReadySeconds", json_integer(0));
	json_object_set_new(spec, "revisionHistoryLimit", json_integer(10));
	json_object_set_new(spec, "progressDeadlineSeconds",
			    json_integer(a->progress_deadline_s > 0 ? a->progress_deadline_s : 600));
	json_object_set_new(spec, "template", pod_template(a, 0, NULL, 1));
	json_object_set_new(o, "spec", spec);
	return o;
}

static void port_name(char out[16], const struct kube_endpoint *ep, size_t i)
{
	/* a Service port name is a DNS label of at most 15: endpoint names
	 * (with '_') often are not */
	snprintf(out, 16, "p%u-%u", (unsigned)(i % 100), (unsigned)ep->port % 100000u);
}

static json_t *render_service(const struct kube_app *a, const char *ns)
{
	json_t *o = object_new("v1", "Service", a->component, ns, component_labels(a));
	json_t *ports = json_array();

	for (size_t i = 0; i < a->nendpoints; i++) {
		const struct kube_endpoint *ep = &a->endpoints[i];
		char pn[16];
		port_name(pn, ep, i);
		json_array_append_new(ports, json_pack("{s:s, s:i, s:i, s:s}", "name", pn, "port",
						       ep->port, "targetPort", ep->port, "protocol",
						       ep->udp ? "UDP" : "TCP"));
	}
	json_object_set_new(o, "spec", json_pack("{s:s, s:o, s:o}", "type", "ClusterIP", "selector",
						 selector_labels(a), "ports", ports));
	{
		struct strbuf sb = STRBUF_INIT;
		for (size_t i = 0; i < a->nendpoints; i++)
			strbuf_addf(&sb, "%s%s=%d", i ? "," : "", a->endpoints[i].name,
				    a->endpoints[i].port);
		annotate(o, LABEL_PREFIX "endpoints", sb.buf);
		strbuf_release(&sb);
	}
	return o;
}

/* An endpoint's base path as a route's prefix: "/api/" -> "/api" (a
 * Prefix match takes /api, /api/ and /api/x, as the gateway's base path
 * does); "/" stays. */
static void route_path(const struct kube_endpoint *ep, char *out, size_t size)
{
	size_t n;

	snprintf(out, size, "%s", ep->base_path ? ep->base_path : "/");
	n = strlen(out);
	if (n > 1 && out[n - 1] == '/')
		out[n - 1] = '\0';
}

/* parentRefs naming the Gateway "NS/NAME" of --gateway. */
static json_t *gateway_parent_refs(const struct kube_app *a)
{
	char gns[KUBE_NAME_MAX + 1];
	size_t glen = strcspn(a->gateway, "/");

	snprintf(gns, sizeof(gns), "%.*s", (int)glen, a->gateway);
	return json_pack("[{s:s, s:s, s:s, s:s}]", "group", "gateway.networking.k8s.io", "kind", "Gateway",
			 "namespace", gns, "name", a->gateway + glen + (a->gateway[glen] ? 1 : 0));
}

static json_t *render_ingress(const struct kube_app *a, const char *ns)
{
	char host[300];
	json_t *o = object_new("networking.k8s.io/v1", "Ingress", a->component, ns, component_labels(a));
	json_t *paths = json_array(), *spec = json_object();

	snprintf(host, sizeof(host), "%s.%s.%s.%s", a->component, a->project, a->environment,
		 a->domain ? a->domain : "localhost");
	for (size_t i = 0; i < a->nendpoints; i++) {
		const struct kube_endpoint *ep = &a->endpoints[i];
		char path[300], pn[16];
		if (!ep->routed)
			continue;
		route_path(ep, path, sizeof(path));
		port_name(pn, ep, i);
		json_array_append_new(paths, json_pack("{s:s, s:s, s:{s:{s:s, s:{s:s}}}}", "path", path,
						       "pathType", "Prefix", "backend", "service",
						       "name", a->component, "port", "name", pn));
	}
	if (a->ingress_class)
		json_object_set_new(spec, "ingressClassName", jstr(a->ingress_class));
	json_object_set_new(spec, "rules", json_pack("[{s:s, s:{s:o}}]", "host", host, "http",
						     "paths", paths));
	json_object_set_new(o, "spec", spec);
	return o;
}

/* s with every character a regular expression gives a meaning to escaped
 * (names are DNS labels; a base path may hold '.', '+', ...). */
static void regex_quote(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (strchr("\\.^$|?*+()[]{}", *s))
			strbuf_addch(sb, '\\');
		strbuf_addch(sb, *s);
	}
}

/* The gateway's by-path URL through an Ingress, on any host: one path per
 * routed endpoint at /<project>/<environment>/<component><basePath>. The
 * Ingress API has no rewrite. KUBE_BY_PATH_NGINX: ingress-nginx's regex
 * path "<prefix>(<base>)(/|$)(.*)" rewritten to "$1/$3" (prefix stripped,
 * base path kept, one rewrite-target for every path of the Ingress) and
 * X-Forwarded-Prefix, as the podman gateway does (docs/gateway.md).
 * KUBE_BY_PATH_PREFIX: plain Prefix paths; the controller strips the
 * prefix (by_path_annotations name how). */
static json_t *render_ingress_by_path(const struct kube_app *a, const char *ns)
{
	char name[KUBE_NAME_MAX + 16], prefix[300];
	json_t *o, *paths = json_array(), *spec = json_object();
	int nginx = a->by_path == KUBE_BY_PATH_NGINX;

	snprintf(name, sizeof(name), "%s-by-path", a->component);
	snprintf(prefix, sizeof(prefix), "/%s/%s/%s", a->project, a->environment, a->component);
	o = object_new("networking.k8s.io/v1", "Ingress", name, ns, component_labels(a));
	for (size_t i = 0; i < a->nendpoints; i++) {
		const struct kube_endpoint *ep = &a->endpoints[i];
		struct strbuf path = STRBUF_INIT;
		char base[300], pn[16];
		if (!ep->routed)
			continue;
		route_path(ep, base, sizeof(base));
		port_name(pn, ep, i);
		if (nginx) {
			strbuf_addstr(&path, prefix);
			strbuf_addch(&path, '(');
			regex_quote(&path, strcmp(base, "/") ? base : "");
			strbuf_addstr(&path, ")(/|$)(.*)");
		} else {
			strbuf_addf(&path, "%s%s", prefix, strcmp(base, "/") ? base : "");
		}
		json_array_append_new(paths, json_pack("{s:s, s:s, s:{s:{s:s, s:{s:s}}}}", "path", path.buf,
						       "pathType", nginx ? "ImplementationSpecific" : "Prefix",
						       "backend", "service", "name", a->component, "port", "name", pn));
		strbuf_release(&path);
	}
	if (nginx) {
		annotate(o, "nginx.ingress.kubernetes.io/use-regex", "true");
		annotate(o, "nginx.ingress.kubernetes.io/rewrite-target", "$1/$3");
		annotate(o, "nginx.ingress.kubernetes.io/x-forwarded-prefix", prefix);
	}
	for (const char *const *kv = a->by_path_annotations; kv && *kv; kv++) {
		const char *eq = strchr(*kv, '=');
		char key[320];
		if (!eq || eq == *kv || (size_t)(eq - *kv) >= sizeof(key))
			continue;   /* ferryd refuses these at start */
		snprintf(key, sizeof(key), "%.*s", (int)(eq - *kv), *kv);
		annotate(o, key, eq + 1);
	}
	if (a->ingress_class)
		json_object_set_new(spec, "ingressClassName", jstr(a->ingress_class));
	json_object_set_new(spec, "rules", json_pack("[{s:{s:o}}]", "http", "paths", paths));
	json_object_set_new(o, "spec", spec);
	return o;
}

/* The Gateway API's HTTPRoute serving the same host and paths as the
 * Ingress would, attached to the Gateway a->gateway names. */
static json_t *render_httproute(const struct kube_app *a, const char *ns)
{
	char host[300];
	json_t *o = object_new("gateway.networking.k8s.io/v1", "HTTPRoute", a->component, ns, component_labels(a));
	json_t *rules = json_array();

	snprintf(host, sizeof(host), "%s.%s.%s.%s", a->component, a->project, a->environment,
		 a->domain ? a->domain : "localhost");
	for (size_t i = 0; i < a->nendpoints; i++) {
		const struct kube_endpoint *ep = &a->endpoints[i];
		char path[300];
		if (!ep->routed)
			continue;
		route_path(ep, path, sizeof(path));
		json_array_append_new(rules, json_pack("{s:[{s:{s:s, s:s}}], s:[{s:s, s:i}]}",
			"matches", "path", "type", "PathPrefix", "value", path,
			"backendRefs", "name", a->component, "port", ep->port));
	}
	json_object_set_new(o, "spec", json_pack("{s:o, s:[s], s:o}", "parentRefs", gateway_parent_refs(a),
		"hostnames", host, "rules", rules));
	return o;
}

/* The gateway's by-path URL, /<project>/<environment>/<component><basePath>,
 * as a second HTTPRoute on every host the Gateway serves: the prefix is
 * stripped, the base path kept and X-Forwarded-Prefix set, as the podman
 * gateway does (docs/gateway.md). */
static json_t *render_httproute_by_path(const struct kube_app *a, const char *ns)
{
	char name[KUBE_NAME_MAX + 16], prefix[300];
	json_t *o, *rules = json_array();

	snprintf(name, sizeof(name), "%s-by-path", a->component);
	snprintf(prefix, sizeof(prefix), "/%s/%s/%s", a->project, a->environment, a->component);
	o = object_new("gateway.networking.k8s.io/v1", "HTTPRoute", name, ns, component_labels(a));
	for (size_t i = 0; i < a->nendpoints; i++) {
		const struct kube_endpoint *ep = &a->endpoints[i];
		char base[300], match[600];
		if (!ep->routed)
			continue;
		route_path(ep, base, sizeof(base));
		snprintf(match, sizeof(match), "%s%s", prefix, strcmp(base, "/") ? base : "");
		json_array_append_new(rules, json_pack(
			"{s:[{s:{s:s, s:s}}], s:[{s:s, s:{s:{s:s, s:s}}}, {s:s, s:{s:[{s:s, s:s}]}}], s:[{s:s, s:i}]}",
			"matches", "path", "type", "PathPrefix", "value", match,
			"filters", "type", "URLRewrite", "urlRewrite", "path", "type", "ReplacePrefixMatch",
			"replacePrefixMatch", base,
			"type", "RequestHeaderModifier", "requestHeaderModifier", "add", "name",
			"X-Forwarded-Prefix", "value", prefix,
			"backendRefs", "name", a->component, "port", ep->port));
	}
	json_object_set_new(o, "spec", json_pack("{s:o, s:o}", "parentRefs", gateway_parent_refs(a),
		"rules", rules));
	return o;
}

static int has_routes(const struct kube_app *a)
{
	for (size_t i = 0; i < a->nendpoints; i++)
		if (a->endpoints[i].routed)
			return 1;
	return 0;
}

static json_t *job_spec(const struct kube_app *a, int64_t execution_id, const char *const *args)
{
	json_t *s = json_object();

	json_object_set_new(s, "backoffLimit", json_integer(0));
	/* finished Jobs stay a day for their logs and status; ferry has read
	 * them into its history long before */
	json_object_set_new(s, "ttlSecondsAfterFinished", json_integer(86400));
	if (a->task_timeout_s > 0)
		json_object_set_new(s, "activeDeadlineSeconds", json_integer(a->task_timeout_s));
	json_object_set_new(s, "template", pod_template(a, execution_id, args, 0));
	return s;
}

static int concurrency_policy(const char *c, const char **ret, struct ferr *e)
{
	if (!c || !strcmp(c, "forbid"))
		*ret = "Forbid";
	else if (!strcmp(c, "allow"))
		*ret = "Allow";
	else if (!strcmp(c, "replace"))
		*ret = "Replace";
	else
		return ferr_invalid(e, "concurrency policy \"%s\": must be forbid, allow or replace", c);
	return 0;
}

static int render_cronjob(const struct kube_app *a, const char *ns, json_t **ret, struct ferr *e)
{
	const char *policy = NULL;
	json_t *o, *spec;

	if (!a->schedule || !*a->schedule)
		return ferr_invalid(e, "scheduled task %s has no schedule", a->component);
	if (concurrency_policy(a->concurrency, &policy, e) < 0)
		return -1;
	if (strlen(a->component) > 52)
		return ferr_invalid(e, "a CronJob's name is at most 52 characters: \"%s\" is longer",
				    a->component);
	o = object_new("batch/v1", "CronJob", a->component, ns, component_labels(a));
	spec = json_object();
	json_object_set_new(spec, "schedule", jstr(a->schedule));
	json_object_set_new(spec, "timeZone", jstr(a->timezone ? a->timezone : "UTC"));
	json_object_set_new(spec, "concurrencyPolicy", json_string(policy));
	if (a->starting_deadline_s > 0)
		json_object_set_new(spec, "startingDeadlineSeconds", json_integer(a->starting_deadline_s));
	json_object_set_new(spec, "successfulJobsHistoryLimit", json_integer(3));
	json_object_set_new(spec, "failedJobsHistoryLimit", json_integer(3));
	json_object_set_new(spec, "jobTemplate",
			    json_pack("{s:{s:o}, s:o}", "metadata", "labels", component_labels(a),
				      "spec", job_spec(a, 0, NULL)));
	json_object_set_new(o, "spec", spec);
	*ret = o;
	return 0;
}

static int check_app(const struct kube_app *a, struct ferr *e)
{
	const char *what[] = { "project", "environment", "component" };
	const char *vals[] = { a->project, a->environment, a->component };

	for (int i = 0; i < 3; i++)
		if (!is_dns_label(vals[i]))
			return ferr_invalid(e, "%s \"%s\" is not a DNS label ([a-z0-9-], 1-63)", what[i],
					    vals[i] ? vals[i] : "");
	if (strlen(a->component) > 40)
		return ferr_invalid(e, "component \"%s\": at most 40 characters on Kubernetes "
				    "(object names carry a suffix)", a->component);
	if (!a->image || !*a->image)
		return ferr_invalid(e, "deployment %lld has no image", (long long)a->deployment_id);
	if (a->deployment_id <= 0)
		return ferr_invalid(e, "a deployment id is required");
	return check_config(a, e);
}

int kube_render(const struct kube_app *a, json_t **ret, struct ferr *e)
{
	char ns[KUBE_NAME_MAX + 1];
	json_t *out;

	if (check_app(a, e) < 0)
		return -1;
	kube_namespace_name(ns, a->project, a->environment);
	out = json_array();
	json_array_append_new(out, render_namespace(a, ns));
	json_array_append_new(out, render_network_policy(a, ns));
	if (needs_pull_secret(a))
		json_array_append_new(out, render_pull_secret(a, ns));
	json_array_append_new(out, render_config_secret(a, ns));
	switch (a->kind) {
	case KUBE_SERVICE:
		json_array_append_new(out, render_deployment(a, ns));
		if (a->nendpoints)
			json_array_append_new(out, render_service(a, ns));
		if (has_routes(a) && a->gateway) {
			json_array_append_new(out, render_httproute(a, ns));
			json_array_append_new(out, render_httproute_by_path(a, ns));
		} else if (has_routes(a)) {
			json_array_append_new(out, render_ingress(a, ns));
			if (a->by_path != KUBE_BY_PATH_NONE)
				json_array_append_new(out, render_ingress_by_path(a, ns));
		}
		break;
	case KUBE_SCHEDULED_TASK: {
		json_t *cj = NULL;
		if (render_cronjob(a, ns, &cj, e) < 0) {
			json_decref(out);
			return -1;
		}
		json_array_append_new(out, cj);
		break;
	}
	case KUBE_MANUAL_TASK:
		break;
	}
	*ret = out;
	return 0;
}

int kube_render_job(const struct kube_app *a, int64_t execution_id, const char *const *args,
		    json_t **ret, struct ferr *e)
{
	char ns[KUBE_NAME_MAX + 1], name[KUBE_NAME_MAX + 1];
	json_t *o;

	if (check_app(a, e) < 0)
		return -1;
	if (a->kind == KUBE_SERVICE)
		return ferr_invalid(e, "%s is a service: only tasks run as Jobs", a->component);
	if (execution_id <= 0)
		return ferr_invalid(e, "an execution id is required");
	kube_namespace_name(ns, a->project, a->environment);
	snprintf(name, sizeof(name), "%.40s-e%lld", a->component, (long long)execution_id);
	o = object_new("batch/v1", "Job", name, ns, component_labels(a));
	json_object_set_new(json_object_get(json_object_get(o, "metadata"), "labels"),
			    LABEL_PREFIX "execution-id", jid(execution_id));
	json_object_set_new(o, "spec", job_spec(a, execution_id, args));
	*ret = o;
	return 0;
}
