/* Unit tests of runtime/kube_drift: ferry's rendered objects against the
 * cluster's, with what the API server adds (defaults, its own labels,
 * status) and what a hand edit changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kube_drift.h"
#include "runtime/kube_render.h"

static const struct kube_endpoint EPS[] = {
	{ .name = "web", .port = 8080, .routed = 1, .base_path = "/" },
};

static json_t *rendered(const char *gateway)
{
	struct kube_app a = {
		.project = "shop", .environment = "production", .component = "cart",
		.project_id = 3, .environment_id = 7, .component_id = 11, .deployment_id = 42,
		.kind = KUBE_SERVICE, .image = "registry.example/shop/cart@sha256:0123", .replicas = 1,
		.endpoints = EPS, .nendpoints = 1, .ingress_class = "nginx", .gateway = gateway,
		.registry_host = "registry.example", .registry_username = "u", .registry_password = "pw",
	};
	struct ferr e = FERR_INIT;
	json_t *objs = NULL;

	assert_int_equal(kube_render(&a, &objs, &e), 0);
	return objs;
}

static json_t *find(json_t *objs, const char *kind, const char *name)
{
	size_t i;
	json_t *o;

	json_array_foreach(objs, i, o) {
		const char *n = json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
		if (!strcmp(json_string_value(json_object_get(o, "kind")), kind) && (!name || !strcmp(n, name)))
			return o;
	}
	return NULL;
}

/* desired as the API server would return it: its own metadata, labels,
 * defaults and status added. */
static json_t *as_served(const json_t *desired)
{
	json_t *l = json_deep_copy(desired), *md = json_object_get(l, "metadata");
	const char *kind = json_string_value(json_object_get(l, "kind"));

	json_object_set_new(md, "uid", json_string("0d9c"));
	json_object_set_new(md, "resourceVersion", json_string("1234"));
	json_object_set_new(md, "generation", json_integer(1));
	json_object_set_new(md, "managedFields", json_pack("[{s:s, s:s}]", "manager", "ferry", "operation", "Apply"));
	if (!strcmp(kind, "Namespace")) {
		json_object_set_new(json_object_get(md, "labels"), "kubernetes.io/metadata.name",
				    json_string("shop-production"));
		json_object_set_new(l, "spec", json_pack("{s:[s]}", "finalizers", "kubernetes"));
		json_object_set_new(l, "status", json_pack("{s:s}", "phase", "Active"));
	} else if (!strcmp(kind, "Service")) {
		json_t *spec = json_object_get(l, "spec");
		json_object_set_new(spec, "clusterIP", json_string("10.96.0.12"));
		json_object_set_new(spec, "sessionAffinity", json_string("None"));
		json_object_set_new(spec, "ipFamilies", json_pack("[s]", "IPv4"));
	} else if (!strcmp(kind, "HTTPRoute")) {
		json_t *r, *b;
		size_t i, k;
		json_array_foreach(json_object_get(json_object_get(l, "spec"), "rules"), i, r)
			json_array_foreach(json_object_get(r, "backendRefs"), k, b) {
				json_object_set_new(b, "group", json_string(""));
				json_object_set_new(b, "kind", json_string("Service"));
				json_object_set_new(b, "weight", json_integer(1));
			}
	} else if (!strcmp(kind, "Deployment")) {
		json_object_set_new(json_object_get(md, "annotations") ? json_object_get(md, "annotations") :
				    (json_object_set_new(md, "annotations", json_object()), json_object_get(md, "annotations")),
				    "deployment.kubernetes.io/revision", json_string("3"));
		json_object_set_new(json_object_get(l, "spec"), "revisionHistoryLimit", json_integer(10));
		json_object_set_new(l, "status", json_pack("{s:i}", "availableReplicas", 1));
	}
	return l;
}

static void test_served_objects_are_no_drift(void **state)
{
	json_t *objs = rendered(NULL), *gw = rendered("gateway-system/public"), *o;
	char where[256] = "x";
	size_t i;

	(void)state;
	json_array_extend(objs, gw);
	json_array_foreach(objs, i, o) {
		json_t *l = as_served(o);
		assert_int_equal(kube_drift(o, l, where, sizeof(where)), 0);
		assert_string_equal(where, "");
		json_decref(l);
	}
	json_decref(objs);
	json_decref(gw);
}

static void test_a_widened_network_policy_is_drift(void **state)
{
	json_t *objs = rendered(NULL), *np = find(objs, "NetworkPolicy", NULL), *l, *from;
	char where[256];

	(void)state;
	/* a peer more: an ipBlock of anywhere */
	l = as_served(np);
	from = json_object_get(json_array_get(json_object_get(json_object_get(l, "spec"), "ingress"), 0), "from");
	json_array_append_new(from, json_pack("{s:{s:s}}", "ipBlock", "cidr", "0.0.0.0/0"));
	assert_int_equal(kube_drift(np, l, where, sizeof(where)), 1);
	assert_string_equal(where, "spec.ingress[0].from");
	json_decref(l);
	/* the same-namespace peer widened to every namespace: a key added */
	l = as_served(np);
	from = json_object_get(json_array_get(json_object_get(json_object_get(l, "spec"), "ingress"), 0), "from");
	json_object_set_new(json_array_get(from, 0), "namespaceSelector", json_object());
	assert_int_equal(kube_drift(np, l, where, sizeof(where)), 1);
	assert_string_equal(where, "spec.ingress[0].from[0].namespaceSelector");
	json_decref(l);
	/* a rule that lets everything in */
	l = as_served(np);
	json_array_append_new(json_object_get(json_object_get(l, "spec"), "ingress"), json_object());
	assert_int_equal(kube_drift(np, l, where, sizeof(where)), 1);
	assert_string_equal(where, "spec.ingress");
	json_decref(l);
	/* the ingress controller's namespace changed */
	l = as_served(np);
	from = json_object_get(json_array_get(json_object_get(json_object_get(l, "spec"), "ingress"), 0), "from");
	json_object_set_new(json_object_get(json_object_get(json_array_get(from, 1), "namespaceSelector"), "matchLabels"),
			    "kubernetes.io/metadata.name", json_string("elsewhere"));
	assert_int_equal(kube_drift(np, l, where, sizeof(where)), 1);
	assert_string_equal(where, "spec.ingress[0].from[1].namespaceSelector.matchLabels.kubernetes.io/metadata.name");
	json_decref(l);
	/* one of ferry's labels changed; one added by someone else is theirs */
	l = as_served(np);
	json_object_set_new(json_object_get(json_object_get(l, "metadata"), "labels"), "team", json_string("a"));
	assert_int_equal(kube_drift(np, l, where, sizeof(where)), 0);
	json_object_set_new(json_object_get(json_object_get(l, "metadata"), "labels"), "ferry.dev/environment",
			    json_string("staging"));
	assert_int_equal(kube_drift(np, l, where, sizeof(where)), 1);
	assert_string_equal(where, "metadata.labels.ferry.dev/environment");
	json_decref(l);
	json_decref(objs);
}

static void test_namespace_labels(void **state)
{
	json_t *objs = rendered(NULL), *ns = find(objs, "Namespace", NULL), *l;
	char where[256];

	(void)state;
	l = as_served(ns);
	json_object_set_new(json_object_get(json_object_get(l, "metadata"), "labels"),
			    "pod-security.kubernetes.io/enforce", json_string("privileged"));
	assert_int_equal(kube_drift(ns, l, where, sizeof(where)), 1);
	assert_string_equal(where, "metadata.labels.pod-security.kubernetes.io/enforce");
	json_object_del(json_object_get(json_object_get(l, "metadata"), "labels"), "pod-security.kubernetes.io/enforce");
	assert_int_equal(kube_drift(ns, l, where, sizeof(where)), 1);
	/* no labels at all */
	json_object_del(json_object_get(l, "metadata"), "labels");
	assert_int_equal(kube_drift(ns, l, where, sizeof(where)), 1);
	assert_string_equal(where, "metadata.labels");
	json_decref(l);
	json_decref(objs);
}

static void test_component_objects(void **state)
{
	json_t *objs = rendered(NULL), *o, *l;
	char where[256];

	(void)state;
	o = find(objs, "Service", "cart");
	l = as_served(o);
	json_object_set_new(json_object_get(l, "spec"), "type", json_string("NodePort"));
	assert_int_equal(kube_drift(o, l, where, sizeof(where)), 1);
	assert_string_equal(where, "spec.type");
	json_decref(l);
	o = find(objs, "Ingress", "cart");
	l = as_served(o);
	json_object_set_new(json_array_get(json_object_get(json_object_get(l, "spec"), "rules"), 0), "host",
			    json_string("cart.example.com"));
	assert_int_equal(kube_drift(o, l, where, sizeof(where)), 1);
	assert_string_equal(where, "spec.rules[0].host");
	json_decref(l);
	/* a Deployment's spec is its generation's business; its labels are compared */
	o = find(objs, "Deployment", "cart");
	l = as_served(o);
	json_object_set_new(json_object_get(l, "spec"), "replicas", json_integer(3));
	assert_int_equal(kube_drift(o, l, where, sizeof(where)), 0);
	json_object_set_new(json_object_get(json_object_get(l, "metadata"), "labels"), "ferry.dev/deployment-id",
			    json_string("41"));
	assert_int_equal(kube_drift(o, l, where, sizeof(where)), 1);
	json_decref(l);
	json_decref(objs);
}

static void test_pull_secret_without_its_value(void **state)
{
	json_t *objs = rendered(NULL), *s = find(objs, "Secret", "ferry-registry"), *l;
	char where[256];

	(void)state;
	assert_non_null(s);
	l = as_served(s);
	json_object_set_new(json_object_get(l, "data"), ".dockerconfigjson", json_string("c2VjcmV0LXZhbHVl"));
	assert_int_equal(kube_drift(s, l, where, sizeof(where)), 1);
	assert_string_equal(where, "data..dockerconfigjson");
	assert_null(strstr(where, "c2Vj"));
	json_decref(l);
	json_decref(objs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_served_objects_are_no_drift),
		cmocka_unit_test(test_a_widened_network_policy_is_drift),
		cmocka_unit_test(test_namespace_labels),
		cmocka_unit_test(test_component_objects),
		cmocka_unit_test(test_pull_secret_without_its_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
