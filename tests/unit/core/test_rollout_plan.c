/* Unit tests of core/rollout_plan: descriptor → plan, pure (descriptors
 * parsed from real .ferry/component.yaml text by the pipeline's parser). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/rollout_plan.h"
#include "lib/strbuf.h"

static const char *project = "shop";

/* A plan of component c (type) in project project, environment dev, from yaml.
 * Returns plan_compute's result; *e says why on -1. */
static int plan_of(struct plan *p, const char *type, const char *c, const char *yaml, struct ferr *e)
{
	memset(p, 0, sizeof(*p));
	p->d.id = 42;
	snprintf(p->d.project, sizeof(p->d.project), "%s", project);
	snprintf(p->d.environment, sizeof(p->d.environment), "dev");
	snprintf(p->d.component, sizeof(p->d.component), "%s", c);
	snprintf(p->d.component_type, sizeof(p->d.component_type), "%s", type);
	if (descriptor_parse(&p->desc, yaml, strlen(yaml), ".ferry/component.yaml", DESCRIPTOR_FERRY, e) < 0)
		fail_msg("descriptor does not parse: %s", e->msg);
	return plan_compute(p, e);
}

static void plan_done(struct plan *p)
{
	descriptor_free(p->desc);
}

static void test_service_defaults(void **state)
{
	struct ferr e = FERR_INIT;
	struct plan p;

	(void)state;
	assert_int_equal(plan_of(&p, "service", "orders",
				 "endpoints:\n"
				 "  - name: api\n"
				 "    service: {port: 8080, basePath: /v1}\n"
				 "    type: REST\n"
				 "    networkVisibilities: [Public]\n",
				 &e), 0);
	assert_string_equal(p.owner, "shop/dev/orders");
	assert_int_equal(p.task, 0);
	assert_int_equal(p.replicas, 1);
	assert_int_equal(p.nroutes, 1);
	assert_string_equal(p.routes[0].key, "shop.dev.orders.api");
	assert_string_equal(p.routes[0].host, "orders.shop.dev.localhost");
	assert_string_equal(p.routes[0].prefix, "/shop/dev/orders");
	assert_string_equal(p.routes[0].base, "/v1/");
	assert_int_equal(p.routes[0].port, 8080);
	assert_int_equal(p.nports, 1);
	assert_int_equal(p.ports[0], 8080);
	/* no probe declared: TCP on the first endpoint's port, 30 tries a second */
	assert_int_equal(p.readiness.kind, PROBE_TCP);
	assert_int_equal(p.readiness.port, 8080);
	assert_int_equal(p.readiness.period_seconds, 1);
	assert_int_equal(p.readiness.failure_threshold, 30);
	assert_int_equal(p.ready_budget_ms, READY_DEFAULT_MS);
	plan_done(&p);
}

static void test_probes_ports_budget(void **state)
{
	struct ferr e = FERR_INIT;
	struct plan p;

	(void)state;
	assert_int_equal(plan_of(&p, "service", "orders",
				 "endpoints:\n"
				 "  - name: api\n"
				 "    service: {port: 8080, basePath: /}\n"
				 "    type: REST\n"
				 "    networkVisibilities: [Organization]\n"
				 "  - name: internal\n"
				 "    service: {port: 8081, basePath: /}\n"
				 "    type: REST\n"
				 "    networkVisibilities: [Project]\n"
				 "  - name: raw\n"
				 "    port: 7000\n"
				 "    type: TCP\n"
				 "    networkVisibilities: [Public]\n"
				 "health:\n"
				 "  readiness:\n"
				 "    http: {path: /ready, port: 9000}\n"
				 "    periodSeconds: 5\n"
				 "    failureThreshold: 4\n"
				 "    initialDelaySeconds: 3\n"
				 "  liveness:\n"
				 "    tcp: {port: 9001}\n"
				 "replicas: 3\n",
				 &e), 0);
	assert_int_equal(p.replicas, 3);
	/* only organization/public HTTP-like endpoints are routed */
	assert_int_equal(p.nroutes, 1);
	assert_string_equal(p.routes[0].key, "shop.dev.orders.api");
	assert_string_equal(p.routes[0].base, "/");
	/* every endpoint port and both probe ports are published, once each */
	assert_int_equal(p.nports, 5);
	assert_int_equal(p.ports[0], 8080);
	assert_int_equal(p.ports[1], 8081);
	assert_int_equal(p.ports[2], 7000);
	assert_int_equal(p.ports[3], 9000);
	assert_int_equal(p.ports[4], 9001);
	assert_int_equal(p.readiness.kind, PROBE_HTTP);
	assert_string_equal(p.readiness.http_path, "/ready");
	/* (3 + 5 * 4) s, above the lower bound */
	assert_int_equal(p.ready_budget_ms, 23000);
	plan_done(&p);
}

static void test_budget_bounds(void **state)
{
	struct ferr e = FERR_INIT;
	struct plan p;

	(void)state;
	assert_int_equal(plan_of(&p, "service", "orders",
				 "health:\n  readiness:\n    tcp: {port: 80}\n"
				 "    periodSeconds: 1\n    failureThreshold: 2\n",
				 &e), 0);
	assert_int_equal(p.ready_budget_ms, READY_MIN_MS);
	assert_int_equal(p.nroutes, 0);
	assert_int_equal(p.nports, 1);
	plan_done(&p);
	assert_int_equal(plan_of(&p, "service", "orders",
				 "health:\n  readiness:\n    tcp: {port: 80}\n"
				 "    periodSeconds: 3600\n    failureThreshold: 100\n",
				 &e), 0);
	assert_int_equal(p.ready_budget_ms, READY_MAX_MS);
	plan_done(&p);
}

static void test_web_app_and_task(void **state)
{
	struct ferr e = FERR_INIT;
	struct plan p;
	const char *yaml = "endpoints:\n"
			   "  - name: site\n"
			   "    service: {port: 3000, basePath: /app}\n"
			   "    type: REST\n"
			   "    networkVisibilities: [Public]\n";

	(void)state;
	assert_int_equal(plan_of(&p, "web-app", "site", yaml, &e), 0);
	/* a web app is served at its root whatever its basePath */
	assert_string_equal(p.routes[0].base, "/");
	assert_int_equal(p.task, 0);
	plan_done(&p);
	assert_int_equal(plan_of(&p, "scheduled-task", "nightly", "replicas: 2\n", &e), 0);
	assert_int_equal(p.task, 1);
	assert_int_equal(p.nroutes, 0);
	assert_int_equal(p.nports, 0);
	assert_int_equal(p.readiness.kind, PROBE_NONE);
	plan_done(&p);
	assert_int_equal(plan_of(&p, "manual-task", "once", "", &e), 0);
	assert_int_equal(p.task, 1);
	plan_done(&p);
}

static void test_long_route_key_hashed(void **state)
{
	struct ferr e = FERR_INIT;
	struct plan p, q;
	char comp[64];
	const char *yaml = "endpoints:\n"
			   "  - name: api\n"
			   "    service: {port: 8080, basePath: /}\n"
			   "    type: REST\n"
			   "    networkVisibilities: [Public]\n";

	(void)state;
	memset(comp, 'c', 63);
	comp[63] = '\0';
	/* "<40>.dev.<63>.api" is longer than a route key may be */
	project = "pppppppppppppppppppppppppppppppppppppppp";
	assert_int_equal(plan_of(&p, "service", comp, yaml, &e), 0);
	comp[62] = 'd';
	assert_int_equal(plan_of(&q, "service", comp, yaml, &e), 0);
	project = "shop";
	assert_true(strlen(p.routes[0].key) <= GATEWAY_KEY_MAX);
	assert_int_equal(p.routes[0].key[0], 'h');
	assert_non_null(strstr(p.routes[0].key, ".api"));
	/* different components, different keys */
	assert_string_not_equal(p.routes[0].key, q.routes[0].key);
	plan_done(&p);
	plan_done(&q);
}

static void endpoints_yaml(struct strbuf *sb, int n, int distinct_ports)
{
	strbuf_addstr(sb, "endpoints:\n");
	for (int i = 0; i < n; i++)
		strbuf_addf(sb, "  - name: e%d\n    service: {port: %d, basePath: /}\n    type: REST\n"
			    "    networkVisibilities: [Public]\n",
			    i, distinct_ports ? 8000 + i : 8000);
}

static void test_limits(void **state)
{
	struct ferr e = FERR_INIT;
	struct strbuf sb;
	struct plan p;

	(void)state;
	strbuf_init(&sb, 0);
	endpoints_yaml(&sb, MAX_ROUTES, 0);
	assert_int_equal(plan_of(&p, "service", "orders", sb.buf, &e), 0);
	assert_int_equal(p.nroutes, MAX_ROUTES);
	plan_done(&p);
	strbuf_reset(&sb);
	endpoints_yaml(&sb, MAX_ROUTES + 1, 0);
	assert_int_equal(plan_of(&p, "service", "orders", sb.buf, &e), -1);
	assert_int_equal(e.status, 400);
	assert_non_null(strstr(e.msg, "more than 16 public or organization endpoints"));
	plan_done(&p);
	ferr_clear(&e);
	strbuf_reset(&sb);
	endpoints_yaml(&sb, RUNTIME_MAX_PORTS + 1, 1);
	assert_int_equal(plan_of(&p, "service", "orders", sb.buf, &e), -1);
	assert_int_equal(e.status, 400);
	assert_non_null(strstr(e.msg, "more than 8 different ports"));
	plan_done(&p);
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_defaults),
		cmocka_unit_test(test_probes_ports_budget),
		cmocka_unit_test(test_budget_bounds),
		cmocka_unit_test(test_web_app_and_task),
		cmocka_unit_test(test_long_route_key_hashed),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
