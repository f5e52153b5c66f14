#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "pipeline/descriptor.h"
#include "descriptor_cases.h"
#include "testfs.h"

#if !defined(DATA_DIR) || !defined(SOURCE_ROOT)
#error "DATA_DIR must name tests/unit/pipeline/data, SOURCE_ROOT the source tree"
#endif

#define FERRY  DESCRIPTOR_FERRY
#define CHOREO DESCRIPTOR_CHOREO
#define CCONF  DESCRIPTOR_CHOREO_COMPONENT_CONFIG
#define EPS    DESCRIPTOR_CHOREO_ENDPOINTS

static struct descriptor *parse_str(enum descriptor_format fmt, const char *yaml)
{
	struct ferr e = FERR_INIT;
	struct descriptor *d = NULL;

	if (descriptor_parse(&d, yaml, strlen(yaml), descriptor_format_path(fmt), fmt, &e) < 0)
		fail_msg("unexpected error: %s", e.msg);
	assert_non_null(d);
	return d;
}

static struct descriptor *parse_file(enum descriptor_format fmt, const char *name)
{
	struct ferr e = FERR_INIT;
	struct descriptor *d = NULL;
	size_t len;
	char *buf = testfs_read(DATA_DIR, name, &len);

	if (descriptor_parse(&d, buf, len, descriptor_format_path(fmt), fmt, &e) < 0)
		fail_msg("%s: unexpected error: %s", name, e.msg);
	free(buf);
	return d;
}

static void assert_round_trip(struct descriptor *d);

/* ---- the example files, field by field ---- */

static void test_ferry_full(void **state)
{
	struct descriptor *d = parse_file(FERRY, "ferry-full.yaml");

	(void)state;
	assert_int_equal(d->format, DESCRIPTOR_FERRY);
	assert_string_equal(d->file, ".ferry/component.yaml");
	assert_string_equal(d->schema_version, "1.2");

	assert_int_equal(d->n_endpoints, 2);
	assert_string_equal(d->endpoints[0].name, "orders-api");
	assert_string_equal(d->endpoints[0].display_name, "Orders API");
	assert_int_equal(d->endpoints[0].port, 8080);
	assert_string_equal(d->endpoints[0].base_path, "/orders");
	assert_int_equal(d->endpoints[0].type, ENDPOINT_REST);
	assert_int_equal(d->endpoints[0].visibilities, VISIBILITY_PROJECT | VISIBILITY_PUBLIC);
	assert_string_equal(d->endpoints[0].schema_file_path, "api/openapi.yaml");
	assert_string_equal(d->endpoints[1].name, "events");
	assert_string_equal(d->endpoints[1].display_name, "events");
	assert_int_equal(d->endpoints[1].port, 9090);
	assert_null(d->endpoints[1].base_path);
	assert_int_equal(d->endpoints[1].type, ENDPOINT_TCP);
	assert_int_equal(d->endpoints[1].visibilities, VISIBILITY_ORGANIZATION);
	assert_null(d->endpoints[1].schema_file_path);

	assert_int_equal(d->n_connections, 1);
	assert_string_equal(d->connections[0].name, "payments");
	assert_string_equal(d->connections[0].resource_ref, "service:/shop/payments/v1/ad088/PUBLIC");

	assert_int_equal(d->n_env, 4);
	assert_string_equal(d->env[0].name, "LOG_LEVEL");
	assert_string_equal(d->env[0].display_name, "Log level");
	assert_false(d->env[0].required);
	assert_int_equal(d->env[0].type, CONFIG_STRING);
	assert_null(d->env[0].connection_name);
	assert_string_equal(d->env[1].name, "DB_PASSWORD");
	assert_string_equal(d->env[1].display_name, "DB_PASSWORD");
	assert_true(d->env[1].required);
	assert_int_equal(d->env[1].type, CONFIG_SECRET);
	assert_string_equal(d->env[2].name, "PAYMENTS_URL");
	assert_string_equal(d->env[2].connection_name, "payments");
	assert_string_equal(d->env[2].connection_key, "ServiceURL");
	assert_true(d->env[2].required);
	assert_string_equal(d->env[3].name, "_WORKERS");
	assert_int_equal(d->env[3].type, CONFIG_NUMBER);
	assert_true(d->env[3].required);

	assert_int_equal(d->n_files, 2);
	assert_string_equal(d->files[0].name, "app-config");
	assert_string_equal(d->files[0].mount_path, "/etc/orders/config.json");
	assert_string_equal(d->files[0].display_name, "Application config");
	assert_false(d->files[0].required);
	assert_int_equal(d->files[0].type, CONFIG_STRING);
	assert_string_equal(d->files[1].name, "tls.key");
	assert_true(d->files[1].required);
	assert_int_equal(d->files[1].type, CONFIG_SECRET);

	assert_int_equal(d->readiness.kind, PROBE_HTTP);
	assert_string_equal(d->readiness.http_path, "/healthz");
	assert_int_equal(d->readiness.port, 8080);
	assert_int_equal(d->readiness.period_seconds, 5);
	assert_int_equal(d->readiness.timeout_seconds, 2);
	assert_int_equal(d->readiness.failure_threshold, 4);
	assert_int_equal(d->readiness.initial_delay_seconds, 3);
	assert_int_equal(d->liveness.kind, PROBE_EXEC);
	assert_int_equal(d->liveness.exec_argc, 3);
	assert_string_equal(d->liveness.exec_argv[0], "/bin/check");
	assert_string_equal(d->liveness.exec_argv[1], "--quick");
	assert_string_equal(d->liveness.exec_argv[2], "");
	assert_null(d->liveness.exec_argv[3]);
	assert_int_equal(d->liveness.period_seconds, 10);
	assert_int_equal(d->liveness.timeout_seconds, 1);
	assert_int_equal(d->liveness.failure_threshold, 3);
	assert_int_equal(d->liveness.initial_delay_seconds, 0);

	assert_int_equal(d->replicas, 3);
	assert_int_equal(d->cpu_millicores, 500);
	assert_int_equal(d->memory_bytes, 256LL << 20);
	assert_string_equal(d->schedule, "*/5 * * * *");
	assert_string_equal(d->timezone, "Europe/Berlin");
	assert_int_equal(d->capabilities, (1u << 0) | (1u << 5)); /* CHOWN, NET_BIND_SERVICE */
	assert_true(d->read_only_root);
	descriptor_free(d);
}

static void test_choreo_1_0(void **state)
{
	struct descriptor *d = parse_file(CHOREO, "choreo-1.0.yaml");

	(void)state;
	assert_string_equal(d->schema_version, "1.0");
	assert_int_equal(d->n_endpoints, 1);
	assert_string_equal(d->endpoints[0].name, "greeter");
	assert_string_equal(d->endpoints[0].display_name, "Greeter");
	assert_int_equal(d->endpoints[0].port, 9090);
	assert_string_equal(d->endpoints[0].base_path, "/greeting");
	assert_int_equal(d->endpoints[0].visibilities, VISIBILITY_PUBLIC);
	assert_string_equal(d->endpoints[0].schema_file_path, "openapi.yaml");
	/* sections newer than 1.0 are ignored */
	assert_int_equal(d->n_connections, 0);
	assert_int_equal(d->n_env, 0);
	assert_int_equal(d->replicas, 1);
	assert_int_equal(d->readiness.kind, PROBE_NONE);
	descriptor_free(d);
}

static void test_choreo_1_1(void **state)
{
	struct descriptor *d = parse_file(CHOREO, "choreo-1.1.yaml");

	(void)state;
	assert_string_equal(d->schema_version, "1.1");
	assert_int_equal(d->endpoints[0].type, ENDPOINT_GRAPHQL);
	assert_string_equal(d->endpoints[0].base_path, "/");
	assert_int_equal(d->endpoints[0].visibilities,
			 VISIBILITY_PROJECT | VISIBILITY_ORGANIZATION);
	assert_int_equal(d->n_connections, 1);
	assert_string_equal(d->connections[0].name, "hr-connection");
	assert_int_equal(d->connections[0].kind, CONNECTION_SERVICE);
	assert_string_equal(d->connections[0].project, "HRProject");
	assert_string_equal(d->connections[0].component, "UserComponent");
	assert_string_equal(d->connections[0].version, "v1");
	assert_string_equal(d->connections[0].endpoint, "ad088");
	assert_string_equal(d->connections[0].visibility, "PUBLIC");
	/* configuration (the alias) with the three 1.1 sources */
	assert_int_equal(d->n_env, 3);
	assert_string_equal(d->env[0].connection_key, "ServiceURL");
	assert_string_equal(d->env[1].group_name, "hello-config-group");
	assert_string_equal(d->env[1].group_key, "config-key");
	assert_string_equal(d->env[2].value, "custom-value");
	/* outdated version, unknown top-level key */
	assert_int_equal(d->n_warnings, 2);
	assert_string_equal(d->warnings[0], ".choreo/component.yaml:3:16: schemaVersion: component.yaml 1.1 is outdated: 1.2 is current");
	assert_string_equal(d->warnings[1], ".choreo/component.yaml:29:1: someFutureField: unknown field, ignored (known here: schemaVersion, endpoints, dependencies, configuration, configurations, proxy)");
	descriptor_free(d);
}

static void test_choreo_1_2(void **state)
{
	struct descriptor *d = parse_file(CHOREO, "choreo-1.2.yaml");

	(void)state;
	assert_string_equal(d->schema_version, "1.2");
	assert_string_equal(d->endpoints[0].name, "greeter-sample");
	assert_int_equal(d->endpoints[0].visibilities,
			 VISIBILITY_PUBLIC | VISIBILITY_ORGANIZATION);
	assert_int_equal(d->n_env, 3);
	assert_string_equal(d->env[0].connection_name, "hr-connection");
	assert_string_equal(d->env[0].connection_key, "ServiceURL");
	assert_string_equal(d->env[1].display_name, "DB User");
	assert_false(d->env[1].required);
	assert_int_equal(d->env[2].type, CONFIG_SECRET);
	assert_true(d->env[2].required);
	assert_string_equal(d->env[2].display_name, "DB_PASSWORD");
	assert_int_equal(d->n_files, 1);
	assert_string_equal(d->files[0].name, "ssl-config");
	assert_string_equal(d->files[0].mount_path, "/usr/src/app/ssl.yaml");
	assert_int_equal(d->files[0].type, CONFIG_STRING);
	assert_true(d->files[0].required);
	descriptor_free(d);
}

static void test_component_config(void **state)
{
	struct descriptor *d = parse_file(CCONF, "component-config.yaml");

	(void)state;
	assert_int_equal(d->format, DESCRIPTOR_CHOREO_COMPONENT_CONFIG);
	assert_null(d->schema_version);
	assert_int_equal(d->n_endpoints, 2);
	assert_string_equal(d->endpoints[0].name, "greeting-service");
	assert_string_equal(d->endpoints[0].display_name, "Greeting Service");
	assert_int_equal(d->endpoints[0].port, 9090);
	assert_string_equal(d->endpoints[0].base_path, "/greeting");
	assert_int_equal(d->endpoints[0].visibilities, VISIBILITY_ORGANIZATION);
	assert_string_equal(d->endpoints[0].schema_file_path, "greeting_openapi.yaml");
	assert_string_equal(d->endpoints[1].name, "raw-tcp");
	assert_int_equal(d->endpoints[1].type, ENDPOINT_TCP);
	assert_null(d->endpoints[1].base_path);
	assert_int_equal(d->endpoints[1].visibilities, VISIBILITY_PUBLIC);
	assert_string_equal(d->endpoints[0].declared_name, "Greeting Service");
	/* the legacy serviceReferences: a connection and its env mapping */
	assert_int_equal(d->n_connections, 1);
	assert_string_equal(d->connections[0].name, "choreo:///org/proj/comp/ep/v1/PUBLIC");
	assert_string_equal(d->connections[0].project, "proj");
	assert_string_equal(d->connections[0].component, "comp");
	assert_string_equal(d->connections[0].endpoint, "ep");
	assert_string_equal(d->connections[0].connection_config, "19d2648b-d29c-4452-afdd-1b9311e81412");
	assert_int_equal(d->n_env, 1);
	assert_string_equal(d->env[0].name, "SERVICE_URL");
	assert_string_equal(d->env[0].connection_key, "ServiceURL");
	descriptor_free(d);
}

/* Found by fuzz_descriptor: a long legacy name made a 64-character label. */
static void test_legacy_long_name(void **state)
{
	static const char *const names[] = {
		/* 61 letters, a space, more letters: the '-' must not push past 63 */
		"Gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaag Service",
		"Gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaag Service",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	static const char *const want[] = {
		"gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaag-s",
		"gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaag",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	char yaml[512];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct descriptor *d;

		snprintf(yaml, sizeof(yaml), "version: 0.1\nendpoints:\n  - {name: %s, port: 8080, type: TCP}\n",
			 names[i]);
		d = parse_str(EPS, yaml);
		assert_string_equal(d->endpoints[0].name, want[i]);
		assert_true(strlen(d->endpoints[0].name) <= 63);
		assert_string_equal(d->endpoints[0].display_name, names[i]);
		assert_round_trip(d);
		descriptor_free(d);
	}
}

static void test_endpoints_yaml(void **state)
{
	struct descriptor *d = parse_file(EPS, "endpoints.yaml");

	(void)state;
	assert_int_equal(d->format, DESCRIPTOR_CHOREO_ENDPOINTS);
	assert_int_equal(d->n_endpoints, 1);
	assert_string_equal(d->endpoints[0].name, "greeter");
	assert_string_equal(d->endpoints[0].display_name, "Greeter");
	assert_string_equal(d->endpoints[0].base_path, "/greeter");
	assert_int_equal(d->endpoints[0].visibilities, VISIBILITY_PROJECT);
	descriptor_free(d);
}

static void test_defaults(void **state)
{
	struct descriptor *d = parse_str(FERRY, "# nothing declared\n");

	(void)state;
	assert_int_equal(d->format, DESCRIPTOR_FERRY);
	assert_null(d->schema_version);
	assert_int_equal(d->n_endpoints, 0);
	assert_int_equal(d->n_connections, 0);
	assert_int_equal(d->n_env, 0);
	assert_int_equal(d->n_files, 0);
	assert_int_equal(d->readiness.kind, PROBE_NONE);
	assert_int_equal(d->liveness.kind, PROBE_NONE);
	assert_int_equal(d->replicas, 1);
	assert_int_equal(d->cpu_millicores, 0);
	assert_int_equal(d->memory_bytes, 0);
	assert_null(d->schedule);
	assert_null(d->timezone);
	descriptor_free(d);

	d = parse_str(FERRY, "endpoints:\nconfigurations: ~\nhealth: null\n");
	assert_int_equal(d->n_endpoints, 0);
	descriptor_free(d);

	d = descriptor_new_default();
	assert_int_equal(d->format, DESCRIPTOR_DEFAULT);
	assert_null(d->file);
	assert_int_equal(d->replicas, 1);
	descriptor_free(d);
}

static void test_values(void **state)
{
	static const struct {
		const char *cpu;
		int64_t milli;
	} cpus[] = {
		{ "1", 1000 }, { "0.5", 500 }, { "\"0.25\"", 250 }, { "1.125", 1125 },
		{ "250m", 250 }, { "1m", 1 }, { "64", 64000 },
	};
	static const struct {
		const char *mem;
		int64_t bytes;
	} mems[] = {
		{ "256Mi", 256LL << 20 }, { "1Gi", 1LL << 30 }, { "512M", 512000000LL },
		{ "1G", 1000000000LL }, { "8000k", 8000000LL }, { "7340032", 7340032LL },
		{ "1Ti", 1LL << 40 }, { "6144Ki", 6LL << 20 },
	};
	char yaml[256];
	struct descriptor *d;

	(void)state;
	for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		snprintf(yaml, sizeof(yaml), "resources:\n  cpu: %s\n", cpus[i].cpu);
		d = parse_str(FERRY, yaml);
		assert_int_equal(d->cpu_millicores, cpus[i].milli);
		descriptor_free(d);
	}
	for (size_t i = 0; i < sizeof(mems) / sizeof(mems[0]); i++) {
		snprintf(yaml, sizeof(yaml), "resources:\n  memory: %s\n", mems[i].mem);
		d = parse_str(FERRY, yaml);
		assert_int_equal(d->memory_bytes, mems[i].bytes);
		descriptor_free(d);
	}
	/* booleans in YAML 1.1 spellings, enums in any case, port as a string */
	d = parse_str(FERRY,
		      "endpoints:\n"
		      "  - {name: a, port: \"80\", basePath: /, type: rest,"
		      " networkVisibilities: [public, PROJECT]}\n"
		      "configurations:\n"
		      "  env:\n"
		      "    - {name: A, required: no, type: BOOLEAN}\n"
		      "    - {name: B, required: Yes}\n"
		      "    - {name: C, required: off}\n"
		      "health:\n"
		      "  readiness: {tcp: {}}\n"
		      "  liveness: {http: {port: 81}}\n");
	assert_int_equal(d->endpoints[0].port, 80);
	assert_int_equal(d->endpoints[0].type, ENDPOINT_REST);
	assert_int_equal(d->endpoints[0].visibilities, VISIBILITY_PUBLIC | VISIBILITY_PROJECT);
	assert_false(d->env[0].required);
	assert_int_equal(d->env[0].type, CONFIG_BOOLEAN);
	assert_true(d->env[1].required);
	assert_false(d->env[2].required);
	/* a probe without a port takes the first endpoint's */
	assert_int_equal(d->readiness.kind, PROBE_TCP);
	assert_int_equal(d->readiness.port, 80);
	assert_int_equal(d->liveness.kind, PROBE_HTTP);
	assert_int_equal(d->liveness.port, 81);
	assert_string_equal(d->liveness.http_path, "/");
	descriptor_free(d);

	/* GRPC and UDP need no base path; WS gets "/" */
	d = parse_str(CHOREO,
		      "schemaVersion: 1.2\n"
		      "endpoints:\n"
		      "  - {name: w, service: {port: 1001}, type: WS}\n"
		      "  - {name: g, service: {port: 2000}, type: GRPC, networkVisibilities: [Project]}\n"
		      "  - {name: u, service: {port: 65534}, type: UDP, networkVisibilities: [Project]}\n");
	assert_int_equal(d->n_endpoints, 3);
	assert_string_equal(d->endpoints[0].base_path, "/");
	assert_null(d->endpoints[1].base_path);
	assert_int_equal(d->endpoints[2].type, ENDPOINT_UDP);
	assert_int_equal(d->endpoints[2].port, 65534);
	descriptor_free(d);
}

/* ---- every error, with its exact position ---- */


static const struct bad bad[] = {
	/* the shape of the file */
	{ FERRY, "- a\n- b\n",
	  ".ferry/component.yaml:1:1: the descriptor must be a YAML mapping, got a list" },
	{ FERRY, "just text\n",
	  ".ferry/component.yaml:1:1: the descriptor must be a YAML mapping, got \"just text\"" },
	{ FERRY, "endpoints: [\n  {name: a\n",
	  ".ferry/component.yaml:3:1: YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping at line 2 column 3)" },
	{ FERRY, "replicas: 1\n  bad: 2\n",
	  ".ferry/component.yaml:2:6: YAML syntax error: mapping values are not allowed in this context" },
	{ FERRY, "replicas: 1\nreplicas: 2\n",
	  ".ferry/component.yaml:2:1: duplicate key \"replicas\"" },
	{ FERRY, "a: &x 1\nb: *x\n",
	  ".ferry/component.yaml:2:4: aliases (*x) are not supported here: write the value out" },
	{ FERRY, "replicas: 1\n---\nreplicas: 2\n",
	  ".ferry/component.yaml:2:1: only one YAML document is allowed in this file" },
	{ FERRY, "? [a]\n: 1\n",
	  ".ferry/component.yaml:1:3: mapping keys must be plain strings" },
	{ FERRY, "schedule: \"a\\0b\"\n",
	  ".ferry/component.yaml:1:11: a string holds a NUL character" },
	/* unknown keys are typos in ferry's format */
	{ FERRY, "replicas: 2\nendpoint: []\n",
	  ".ferry/component.yaml:2:1: endpoint: unknown field (expected one of schemaVersion, endpoints, dependencies, configurations, health, replicas, resources, schedule, timezone, security)" },
	{ FERRY, "endpoints:\n  - name: api\n    servce: {}\n",
	  ".ferry/component.yaml:3:5: endpoints[0].servce: unknown field (expected one of name, displayName, service, port, basePath, type, networkVisibilities, schemaFilePath)" },
	{ FERRY, "endpoints:\n  - name: api\n    type: TCP\n    service:\n      port: 1\n      path: /\n",
	  ".ferry/component.yaml:6:7: endpoints[0].service.path: unknown field (expected one of port, basePath)" },
	{ FERRY, "health:\n  readyness: {}\n",
	  ".ferry/component.yaml:2:3: health.readyness: unknown field (expected one of readiness, liveness)" },
	/* schemaVersion */
	{ FERRY, "schemaVersion: 2.0\n",
	  ".ferry/component.yaml:1:16: schemaVersion: must be one of 1.0, 1.1, 1.2, got \"2.0\"" },
	{ CHOREO, "endpoints: []\n",
	  ".choreo/component.yaml:1:1: schemaVersion: is required (one of 1.0, 1.1, 1.2)" },
	{ CHOREO, "", ".choreo/component.yaml:1:1: schemaVersion: is required (one of 1.0, 1.1, 1.2)" },
	{ CHOREO, "schemaVersion: [1]\n",
	  ".choreo/component.yaml:1:16: schemaVersion: must be one of 1.0, 1.1, 1.2, got a list" },
	/* endpoints */
	{ FERRY, "endpoints: {}\n",
	  ".ferry/component.yaml:1:12: endpoints: must be a list, got a mapping" },
	{ FERRY, "endpoints:\n  - api\n",
	  ".ferry/component.yaml:2:5: endpoints[0]: must be a mapping, got \"api\"" },
	{ FERRY, "endpoints:\n  - name: api\n    type: TCP\n    service:\n      port: http\n",
	  ".ferry/component.yaml:5:13: endpoints[0].service.port: must be an integer from 1 to 65535, got \"http\"" },
	{ FERRY, "endpoints:\n  - name: api\n    type: TCP\n    port: 65536\n",
	  ".ferry/component.yaml:4:11: endpoints[0].port: must be an integer from 1 to 65535, got \"65536\"" },
	{ FERRY, "endpoints:\n  - name: api\n    type: TCP\n    port: 0\n",
	  ".ferry/component.yaml:4:11: endpoints[0].port: must be an integer from 1 to 65535, got \"0\"" },
	{ FERRY, "endpoints:\n  - name: api\n    type: TCP\n    service:\n      basePath: /\n",
	  ".ferry/component.yaml:5:7: endpoints[0].service.port: is required" },
	{ FERRY, "endpoints:\n  - name: api\n    type: TCP\n",
	  ".ferry/component.yaml:2:5: endpoints[0].port: is required" },
	{ CHOREO, "schemaVersion: 1.2\nendpoints:\n  - name: api\n    type: TCP\n    port: 8080\n",
	  ".choreo/component.yaml:3:5: endpoints[0].service: is required (with port, and basePath for REST, GraphQL and WS)" },
	{ FERRY, "endpoints:\n  - type: TCP\n    port: 1\n",
	  ".ferry/component.yaml:2:5: endpoints[0].name: is required" },
	{ FERRY, "endpoints:\n  - name: Orders_API\n",
	  ".ferry/component.yaml:2:11: endpoints[0].name: must start with a lower-case letter and hold only lower-case letters, digits, '_' and '-', at most 50 characters, got \"Orders_API\"" },
	{ FERRY, "endpoints:\n  - name: \"\"\n",
	  ".ferry/component.yaml:2:11: endpoints[0].name: must not be empty" },
	{ FERRY, "endpoints:\n  - name: a\n    displayName: [x]\n",
	  ".ferry/component.yaml:3:18: endpoints[0].displayName: must be a string, got a list" },
	{ FERRY, "endpoints:\n  - {name: a, port: 1, type: TCP}\n  - {name: a, port: 2, type: TCP}\n",
	  ".ferry/component.yaml:3:12: endpoints[1].name: endpoint name \"a\" is already used by endpoints[0] (names must be unique)" },
	{ FERRY, "endpoints:\n  - name: a\n    service: {port: 1}\n    port: 2\n",
	  ".ferry/component.yaml:4:11: endpoints[0].port: give the port and base path either under service or flat, not both" },
	{ FERRY, "endpoints:\n  - name: a\n    port: 1\n    type: SOAP\n",
	  ".ferry/component.yaml:4:11: endpoints[0].type: must be one of REST, GraphQL, WS, GRPC, TCP, UDP, got \"SOAP\"" },
	{ FERRY, "endpoints:\n  - name: a\n    port: 1\n",
	  ".ferry/component.yaml:2:5: endpoints[0].type: is required" },
	{ FERRY, "endpoints:\n  - name: a\n    type: REST\n    service:\n      port: 8080\n",
	  ".ferry/component.yaml:5:7: endpoints[0].service.basePath: is required for REST endpoints" },
	{ FERRY, "endpoints:\n  - {name: a, type: GraphQL, port: 1}\n",
	  ".ferry/component.yaml:2:5: endpoints[0].basePath: is required for GraphQL endpoints" },
	{ FERRY, "endpoints:\n  - {name: a, type: REST, port: 1, basePath: api}\n",
	  ".ferry/component.yaml:2:46: endpoints[0].basePath: must be an URL path starting with '/' (no spaces, '?' or '#'), got \"api\"" },
	{ FERRY, "endpoints:\n  - {name: a, type: REST, port: 1, basePath: \"/a b\"}\n",
	  ".ferry/component.yaml:2:46: endpoints[0].basePath: must be an URL path starting with '/' (no spaces, '?' or '#'), got \"/a b\"" },
	{ FERRY, "endpoints:\n  - name: a\n    type: TCP\n    port: 1\n    networkVisibilities: [Public, Internet]\n",
	  ".ferry/component.yaml:5:35: endpoints[0].networkVisibilities[1]: must be one of Project, Organization, Public, got \"Internet\"" },
	{ FERRY, "endpoints:\n  - name: a\n    type: TCP\n    port: 1\n    networkVisibilities: []\n",
	  ".ferry/component.yaml:5:26: endpoints[0].networkVisibilities: must name at least one of Project, Organization, Public" },
	{ FERRY, "endpoints:\n  - name: a\n    type: TCP\n    port: 1\n    networkVisibilities: Public\n",
	  ".ferry/component.yaml:5:26: endpoints[0].networkVisibilities: must be a list, got \"Public\"" },
	{ FERRY, "endpoints:\n  - {name: a, type: TCP, port: 1, schemaFilePath: ../openapi.yaml}\n",
	  ".ferry/component.yaml:2:51: endpoints[0].schemaFilePath: must be a file path relative to the build context that stays inside it, got \"../openapi.yaml\"" },
	{ FERRY, "endpoints:\n  - {name: a, type: TCP, port: 1, schemaFilePath: api/../../x.yaml}\n",
	  ".ferry/component.yaml:2:51: endpoints[0].schemaFilePath: must be a file path relative to the build context that stays inside it, got \"api/../../x.yaml\"" },
	{ FERRY, "endpoints:\n  - {name: a, type: TCP, port: 1, schemaFilePath: /etc/passwd}\n",
	  ".ferry/component.yaml:2:51: endpoints[0].schemaFilePath: must be a file path relative to the build context that stays inside it, got \"/etc/passwd\"" },
	{ FERRY, "endpoints:\n  - {name: a, type: TCP, port: 1, schemaFilePath: ./.}\n",
	  ".ferry/component.yaml:2:51: endpoints[0].schemaFilePath: must be a file path relative to the build context that stays inside it, got \"./.\"" },
	/* dependencies */
	{ FERRY, "dependencies:\n  connectionReferences:\n    - name: xyz\n",
	  ".ferry/component.yaml:3:7: dependencies.connectionReferences[0].resourceRef: is required" },
	{ FERRY, "dependencies:\n  connectionReferences:\n    - {name: a__b, resourceRef: c/v1}\n",
	  ".ferry/component.yaml:3:14: dependencies.connectionReferences[0].name: must be 3 to 50 letters and digits, with single '_', '-', '.' or spaces between them, got \"a__b\"" },
	/* configurations.env */
	{ FERRY, "configurations:\n  env:\n    - name: 1DB\n",
	  ".ferry/component.yaml:3:13: configurations.env[0].name: must be letters, digits and '_', not starting with a digit, got \"1DB\"" },
	{ FERRY, "configurations:\n  env:\n    - name: DB-USER\n",
	  ".ferry/component.yaml:3:13: configurations.env[0].name: must be letters, digits and '_', not starting with a digit, got \"DB-USER\"" },
	{ FERRY, "configurations:\n  env:\n    - name: A\n    - name: A\n",
	  ".ferry/component.yaml:4:13: configurations.env[1].name: environment variable A is declared twice" },
	{ FERRY, "configurations:\n  env:\n    - name: A\n      type: int\n",
	  ".ferry/component.yaml:4:13: configurations.env[0].type: must be one of string, number, boolean, secret, object, array, got \"int\"" },
	{ FERRY, "configurations:\n  env:\n    - name: A\n      required: maybe\n",
	  ".ferry/component.yaml:4:17: configurations.env[0].required: must be true or false, got \"maybe\"" },
	{ FERRY, "configurations:\n  env:\n    - name: A\n      valueFrom:\n        configForm:\n          type: float\n",
	  ".ferry/component.yaml:6:17: configurations.env[0].valueFrom.configForm.type: must be one of string, number, boolean, secret, object, array, got \"float\"" },
	{ FERRY, "configurations:\n  env:\n    - name: A\n      type: secret\n      valueFrom:\n        configForm: {}\n",
	  ".ferry/component.yaml:4:13: configurations.env[0].type: give it under valueFrom.configForm or flat, not both" },
	{ FERRY, "configurations:\n  env:\n    - name: A\n      valueFrom:\n        connectionRef: {name: nope, key: URL}\n",
	  ".ferry/component.yaml:5:31: configurations.env[0].valueFrom.connectionRef.name: names no connection declared in dependencies, got \"nope\"" },
	{ FERRY, "dependencies:\n  connectionReferences: [{name: ccc, resourceRef: r/v1}]\nconfigurations:\n  env:\n    - name: A\n      valueFrom:\n        connectionRef: {name: ccc}\n",
	  ".ferry/component.yaml:7:24: configurations.env[0].valueFrom.connectionRef.key: is required" },
	{ FERRY, "configurations:\n  env:\n    - name: A\n      valueFrom:\n        configForm: {}\n        connectionRef: {name: c, key: k}\n",
	  ".ferry/component.yaml:5:9: configurations.env[0].valueFrom: give one of connectionRef, configGroupRef or configForm" },
	{ FERRY, "configurations:\n  env:\n    - name: A\n      valueFrom:\n        fromSecret: x\n",
	  ".ferry/component.yaml:5:9: configurations.env[0].valueFrom.fromSecret: unknown field (expected one of connectionRef, configGroupRef, configForm)" },
	{ CHOREO, "schemaVersion: 1.2\nconfigurations:\n  env:\n    - name: A\n      valueFrom: {}\n",
	  ".choreo/component.yaml:5:18: configurations.env[0].valueFrom: must hold connectionRef, configGroupRef or configForm" },
	{ CHOREO, "schemaVersion: 1.2\nconfigurations:\n  env:\n    - name: A\n",
	  ".choreo/component.yaml:4:7: configurations.env[0].valueFrom: is required unless a value is given (value, or valueFrom with connectionRef, configGroupRef or configForm)" },
	/* configurations.file */
	{ FERRY, "configurations:\n  file:\n    - name: a\n      mountPath: etc/a\n",
	  ".ferry/component.yaml:4:18: configurations.file[0].mountPath: must be an absolute path without empty, \".\" or \"..\" parts, got \"etc/a\"" },
	{ FERRY, "configurations:\n  file:\n    - name: a\n      mountPath: /etc/../a\n",
	  ".ferry/component.yaml:4:18: configurations.file[0].mountPath: must be an absolute path without empty, \".\" or \"..\" parts, got \"/etc/../a\"" },
	{ FERRY, "configurations:\n  file:\n    - name: a\n      mountPath: /\n",
	  ".ferry/component.yaml:4:18: configurations.file[0].mountPath: must be an absolute path without empty, \".\" or \"..\" parts, got \"/\"" },
	{ FERRY, "configurations:\n  file:\n    - name: a\n",
	  ".ferry/component.yaml:3:7: configurations.file[0].mountPath: is required" },
	{ FERRY, "configurations:\n  file:\n    - {name: a, mountPath: /x}\n    - {name: b, mountPath: /x}\n",
	  ".ferry/component.yaml:4:28: configurations.file[1].mountPath: /x is already the mount path of file[0]" },
	{ FERRY, "configurations:\n  file:\n    - {name: a, mountPath: /x}\n    - {name: a, mountPath: /y}\n",
	  ".ferry/component.yaml:4:14: configurations.file[1].name: file configuration \"a\" is declared twice" },
	{ FERRY, "configurations:\n  file:\n    - {name: a, mountPath: /x, type: number}\n",
	  ".ferry/component.yaml:3:38: configurations.file[0].type: must be one of string, secret, got \"number\"" },
	{ FERRY, "configurations:\n  file:\n    - {name: a/b, mountPath: /x}\n",
	  ".ferry/component.yaml:3:14: configurations.file[0].name: must use only letters, digits, '.', '_' and '-', got \"a/b\"" },
	{ FERRY, "configurations:\n  files: []\n",
	  ".ferry/component.yaml:2:3: configurations.files: unknown field (expected one of env, file)" },
	/* health */
	{ FERRY, "health:\n  readiness:\n    periodSeconds: 5\n",
	  ".ferry/component.yaml:3:5: health.readiness: must have one of http, tcp or exec" },
	{ FERRY, "health:\n  liveness:\n    tcp: {port: 1}\n    exec: {command: [x]}\n",
	  ".ferry/component.yaml:4:5: health.liveness.exec: give only one of http, tcp or exec (tcp is already given)" },
	{ FERRY, "health:\n  liveness:\n    exec:\n      command: /bin/check --quick\n",
	  ".ferry/component.yaml:4:16: health.liveness.exec.command: must be a non-empty list of strings (the program and its arguments; no shell is used), got \"/bin/check --quick\"" },
	{ FERRY, "health:\n  liveness:\n    exec:\n      command: [\"\", x]\n",
	  ".ferry/component.yaml:4:17: health.liveness.exec.command[0]: must be a string of at most 4096 characters (not empty), got \"\"" },
	{ FERRY, "health:\n  liveness:\n    exec: {}\n",
	  ".ferry/component.yaml:3:11: health.liveness.exec.command: is required" },
	{ FERRY, "health:\n  readiness:\n    tcp: {}\n",
	  ".ferry/component.yaml:3:10: health.readiness.tcp.port: is required when the descriptor declares no endpoint" },
	{ FERRY, "health:\n  readiness:\n    http: {port: 80, path: healthz}\n",
	  ".ferry/component.yaml:3:28: health.readiness.http.path: must be an URL path starting with '/' (no spaces, '?' or '#'), got \"healthz\"" },
	{ FERRY, "health:\n  readiness:\n    http: {port: 80}\n    periodSeconds: 0\n",
	  ".ferry/component.yaml:4:20: health.readiness.periodSeconds: must be an integer from 1 to 3600, got \"0\"" },
	{ FERRY, "health:\n  readiness:\n    http: {port: 80}\n    failureThreshold: 101\n",
	  ".ferry/component.yaml:4:23: health.readiness.failureThreshold: must be an integer from 1 to 100, got \"101\"" },
	{ FERRY, "health:\n  readiness:\n    http: {port: 80}\n    initialDelaySeconds: -1\n",
	  ".ferry/component.yaml:4:26: health.readiness.initialDelaySeconds: must be an integer from 0 to 3600, got \"-1\"" },
	{ FERRY, "health:\n  readiness:\n    http: {port: 80}\n    timeoutSeconds: 1.5\n",
	  ".ferry/component.yaml:4:21: health.readiness.timeoutSeconds: must be an integer from 1 to 3600, got \"1.5\"" },
	/* replicas, resources, schedule, timezone */
	{ FERRY, "replicas: 21\n",
	  ".ferry/component.yaml:1:11: replicas: must be an integer from 1 to 20, got \"21\"" },
	{ FERRY, "replicas: 0\n",
	  ".ferry/component.yaml:1:11: replicas: must be an integer from 1 to 20, got \"0\"" },
	{ FERRY, "resources:\n  cpu: 2x\n",
	  ".ferry/component.yaml:2:8: resources.cpu: must be cores like \"0.5\" or millicores like \"500m\", from 1m to 64, got \"2x\"" },
	{ FERRY, "resources:\n  cpu: 0.0005\n",
	  ".ferry/component.yaml:2:8: resources.cpu: must be cores like \"0.5\" or millicores like \"500m\", from 1m to 64, got \"0.0005\"" },
	{ FERRY, "resources:\n  cpu: 65\n",
	  ".ferry/component.yaml:2:8: resources.cpu: must be cores like \"0.5\" or millicores like \"500m\", from 1m to 64, got \"65\"" },
	{ FERRY, "resources:\n  cpu: 0m\n",
	  ".ferry/component.yaml:2:8: resources.cpu: must be cores like \"0.5\" or millicores like \"500m\", from 1m to 64, got \"0m\"" },
	{ FERRY, "resources:\n  memory: 1MB\n",
	  ".ferry/component.yaml:2:11: resources.memory: must be a size like \"256Mi\", \"1Gi\" or \"512M\", from 6Mi to 1Ti, got \"1MB\"" },
	{ FERRY, "resources:\n  memory: 1Mi\n",
	  ".ferry/component.yaml:2:11: resources.memory: must be a size like \"256Mi\", \"1Gi\" or \"512M\", from 6Mi to 1Ti, got \"1Mi\"" },
	{ FERRY, "resources:\n  memory: 2Ti\n",
	  ".ferry/component.yaml:2:11: resources.memory: must be a size like \"256Mi\", \"1Gi\" or \"512M\", from 6Mi to 1Ti, got \"2Ti\"" },
	{ FERRY, "resources:\n  disk: 1Gi\n",
	  ".ferry/component.yaml:2:3: resources.disk: unknown field (expected one of cpu, memory)" },
	{ FERRY, "schedule: {cron: x}\n",
	  ".ferry/component.yaml:1:11: schedule: must be a string, got a mapping" },
	{ FERRY, "timezone: ../../etc/passwd\n",
	  ".ferry/component.yaml:1:11: timezone: must be a time zone name like \"Europe/Berlin\" or \"UTC\", got \"../../etc/passwd\"" },
	/* security: only podman's default capabilities can be declared */
	{ FERRY, "security:\n  capabilities: [NET_BIND_SERVICE, SYS_ADMIN]\n",
	  ".ferry/component.yaml:2:36: security.capabilities[1]: must be one of CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT (a service gets no other capability), got \"SYS_ADMIN\"" },
	{ FERRY, "security:\n  capabilities: NET_RAW\n",
	  ".ferry/component.yaml:2:17: security.capabilities: must be a list, got \"NET_RAW\"" },
	{ FERRY, "security:\n  readOnlyRootFilesystem: maybe\n",
	  ".ferry/component.yaml:2:27: security.readOnlyRootFilesystem: must be true or false, got \"maybe\"" },
	{ FERRY, "security:\n  privileged: true\n",
	  ".ferry/component.yaml:2:3: security.privileged: unknown field (expected one of capabilities, readOnlyRootFilesystem)" },
	/* Choreo's older files */
	{ CCONF, "apiVersion: core.choreo.dev/v1\nkind: ComponentConfig\n",
	  ".choreo/component-config.yaml:1:13: apiVersion: must be core.choreo.dev/v1beta1, got \"core.choreo.dev/v1\"" },
	{ CCONF, "apiVersion: core.choreo.dev/v1beta1\nkind: Component\n",
	  ".choreo/component-config.yaml:2:7: kind: must be ComponentConfig, got \"Component\"" },
	{ CCONF, "kind: ComponentConfig\n",
	  ".choreo/component-config.yaml:1:1: apiVersion: is required" },
	{ CCONF, "apiVersion: core.choreo.dev/v1beta1\nkind: ComponentConfig\nspec:\n  inbound:\n    - name: \"!!\"\n      port: 8080\n      type: TCP\n",
	  ".choreo/component-config.yaml:5:13: spec.inbound[0].name: needs at least one letter or digit to make an endpoint name, got \"!!\"" },
	{ CCONF, "apiVersion: core.choreo.dev/v1beta1\nkind: ComponentConfig\nspec:\n  inbound:\n    - {name: A, port: 8080, type: REST}\n",
	  ".choreo/component-config.yaml:5:7: spec.inbound[0].context: is required for REST endpoints" },
	{ EPS, "version: 0.1\nendpoints:\n  - {name: a, port: 8080, type: TCP, networkVisibility: [Public]}\n",
	  ".choreo/endpoints.yaml:3:57: endpoints[0].networkVisibility: must be one of Project, Organization, Public, got a list" },
	{ EPS, "version: 0.1\nendpoints:\n  - {name: a, port: x, type: TCP}\n",
	  ".choreo/endpoints.yaml:3:21: endpoints[0].port: must be an integer from 1001 to 65534, got \"x\"" },
};

static void test_errors(void **state)
{
	(void)state;
	check_bad_cases(bad, sizeof(bad) / sizeof(bad[0]));
}

static void test_limits(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	struct descriptor *d = NULL;

	(void)state;
	/* too deep */
	strbuf_addstr(&sb, "schedule: ");
	for (int i = 0; i < 40; i++)
		strbuf_addch(&sb, '[');
	assert_int_equal(descriptor_parse(&d, sb.buf, sb.len, "c.yaml", FERRY, &e), -1);
	assert_string_equal(e.msg, "c.yaml:1:42: the document is nested too deeply (at most 32 levels)");

	/* too big */
	strbuf_reset(&sb);
	ferr_clear(&e);
	strbuf_addstr(&sb, "schedule: x\n");
	while (sb.len <= DESCRIPTOR_MAX_FILE_SIZE)
		strbuf_addstr(&sb, "# padding padding padding padding padding padding\n");
	assert_int_equal(descriptor_parse(&d, sb.buf, sb.len, "c.yaml", FERRY, &e), -1);
	assert_int_equal(e.status, 413);
	assert_string_equal(e.msg, "c.yaml: the descriptor is larger than 256 KiB");

	/* too many entries in one list */
	strbuf_reset(&sb);
	ferr_clear(&e);
	strbuf_addstr(&sb, "schedule: [");
	for (int i = 0; i < 1100; i++)
		strbuf_addstr(&sb, "1,");
	strbuf_addstr(&sb, "]\n");
	assert_int_equal(descriptor_parse(&d, sb.buf, sb.len, "c.yaml", FERRY, &e), -1);
	assert_string_equal(e.msg, "c.yaml:1:2060: too many entries in one list or mapping (at most 1024)");

	/* more endpoints than allowed */
	strbuf_reset(&sb);
	ferr_clear(&e);
	strbuf_addstr(&sb, "endpoints:\n");
	for (int i = 0; i < 65; i++)
		strbuf_addf(&sb, "  - {name: e%d, port: %d, type: TCP}\n", i, i + 1);
	assert_int_equal(descriptor_parse(&d, sb.buf, sb.len, "c.yaml", FERRY, &e), -1);
	assert_string_equal(e.msg, "c.yaml:2:3: endpoints: has 65 entries, at most 64 are allowed");
	assert_null(d);
	strbuf_release(&sb);
}

/* ---- finding the file in a build context ---- */

static char ctx[64];

static void ctx_path(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s/%s", ctx, rel);
}

static int ctx_setup(void **state)
{
	(void)state;
	testfs_tmpdir(ctx, sizeof(ctx), "descriptor");
	return 0;
}

/* Removes what the tests below create, by name: nothing else is there. */
static int ctx_teardown(void **state)
{
	static const char *const files[] = {
		".ferry/component.yaml", ".ferry/component.yml", ".choreo/component.yaml",
		".choreo/component-config.yaml", ".choreo/endpoints.yaml", "openapi.yaml",
		"api/openapi.yaml", "link.yaml", "outside-link.yaml",
	};
	static const char *const dirs[] = { ".ferry", ".choreo", "api", "adir" };
	char path[256];

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		ctx_path(path, sizeof(path), files[i]);
		unlink(path);
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		ctx_path(path, sizeof(path), dirs[i]);
		rmdir(path);
	}
	return rmdir(ctx);
}

static struct descriptor *load_ok(void)
{
	struct ferr e = FERR_INIT;
	struct descriptor *d = NULL;

	if (descriptor_load(&d, ctx, &e) < 0)
		fail_msg("unexpected error: %s", e.msg);
	assert_non_null(d);
	return d;
}

static void load_fails(const char *msg)
{
	struct ferr e = FERR_INIT;
	struct descriptor *d = (struct descriptor *)1;

	assert_int_equal(descriptor_load(&d, ctx, &e), -1);
	assert_null(d);
	assert_string_equal(e.msg, msg);
}

static void test_load_priority(void **state)
{
	struct descriptor *d;
	char path[256];

	(void)state;
	/* nothing: the defaults, reported as such */
	d = load_ok();
	assert_int_equal(d->format, DESCRIPTOR_DEFAULT);
	assert_null(d->file);
	descriptor_free(d);

	testfs_dir(ctx, ".choreo");
	testfs_put(ctx, ".choreo/endpoints.yaml",
		   "version: 0.1\nendpoints:\n  - {name: eps, port: 8001, type: TCP}\n");
	d = load_ok();
	assert_int_equal(d->format, DESCRIPTOR_CHOREO_ENDPOINTS);
	assert_string_equal(d->file, ".choreo/endpoints.yaml");
	assert_string_equal(d->endpoints[0].name, "eps");
	descriptor_free(d);

	testfs_put(ctx, ".choreo/component-config.yaml",
		   "apiVersion: core.choreo.dev/v1beta1\nkind: ComponentConfig\n"
		   "spec:\n  inbound:\n    - {name: cc, port: 8002, type: TCP}\n");
	d = load_ok();
	assert_int_equal(d->format, DESCRIPTOR_CHOREO_COMPONENT_CONFIG);
	assert_string_equal(d->endpoints[0].name, "cc");
	descriptor_free(d);

	testfs_put(ctx, ".choreo/component.yaml",
		   "schemaVersion: 1.2\nendpoints:\n  - {name: choreo, service: {port: 8003}, type: TCP,"
		   " networkVisibilities: [Project]}\n");
	d = load_ok();
	assert_int_equal(d->format, DESCRIPTOR_CHOREO);
	assert_string_equal(d->endpoints[0].name, "choreo");
	descriptor_free(d);

	testfs_dir(ctx, ".ferry");
	testfs_put(ctx, ".ferry/component.yml", "replicas: 2\n");
	load_fails(".ferry/component.yml: ferry reads .ferry/component.yaml; rename the file");
	ctx_path(path, sizeof(path), ".ferry/component.yml");
	assert_int_equal(unlink(path), 0);

	testfs_put(ctx, ".ferry/component.yaml", "replicas: 2\n");
	d = load_ok();
	assert_int_equal(d->format, DESCRIPTOR_FERRY);
	assert_string_equal(d->file, ".ferry/component.yaml");
	assert_int_equal(d->replicas, 2);
	descriptor_free(d);

	/* a broken higher-priority file is an error, not a fall-back */
	testfs_put(ctx, ".ferry/component.yaml", "replicas: 2\nreplicas: 3\n");
	load_fails(".ferry/component.yaml:2:1: duplicate key \"replicas\"");
}

static void test_load_files(void **state)
{
	struct ferr e = FERR_INIT;
	struct descriptor *d;
	char path[256];
	int fd;

	(void)state;
	testfs_dir(ctx, ".ferry");
	testfs_dir(ctx, "api");
	testfs_put(ctx, ".ferry/component.yaml",
		   "endpoints:\n  - {name: a, port: 1, type: TCP, schemaFilePath: api/openapi.yaml}\n");
	load_fails(".ferry/component.yaml:2:51: endpoints[0].schemaFilePath: api/openapi.yaml does not exist in the build context");

	testfs_put(ctx, "api/openapi.yaml", "openapi: 3.0.0\n");
	d = load_ok();
	assert_string_equal(d->endpoints[0].schema_file_path, "api/openapi.yaml");
	descriptor_free(d);

	fd = descriptor_open_in_context(ctx, "api/openapi.yaml", &e);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(descriptor_open_in_context(ctx, "api", &e), -1);
	assert_string_equal(e.msg, "api is not a regular file");
	ferr_clear(&e);
	assert_int_equal(descriptor_open_in_context(ctx, "api/../api/openapi.yaml", &e), -1);
	assert_string_equal(e.msg, "api/../api/openapi.yaml: must be a normalised path inside the build context");
	ferr_clear(&e);
	assert_int_equal(descriptor_open_in_context(ctx, "../etc/passwd", &e), -1);
	assert_string_equal(e.msg, "../etc/passwd: must be a normalised path inside the build context");
	ferr_clear(&e);
	assert_int_equal(descriptor_open_in_context(ctx, "/etc/passwd", &e), -1);
	ferr_clear(&e);
	assert_int_equal(descriptor_open_in_context(ctx, "nothing.yaml", &e), -1);
	assert_int_equal(e.status, 404);
	assert_string_equal(e.msg, "nothing.yaml does not exist in the build context");
	ferr_clear(&e);

	/* a schema file that is a symbolic link out of the context */
	ctx_path(path, sizeof(path), "outside-link.yaml");
	assert_int_equal(symlink("/etc/passwd", path), 0);
	testfs_put(ctx, ".ferry/component.yaml",
		   "endpoints:\n  - {name: a, port: 1, type: TCP, schemaFilePath: outside-link.yaml}\n");
	load_fails(".ferry/component.yaml:2:51: endpoints[0].schemaFilePath: outside-link.yaml leads out of the build context through a symbolic link");

	/* the descriptor itself must not be a symbolic link */
	ctx_path(path, sizeof(path), ".ferry/component.yaml");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	load_fails(".ferry/component.yaml must be a regular file, not a symbolic link");
	assert_int_equal(unlink(path), 0);

	/* nor a directory */
	assert_int_equal(mkdir(path, 0755), 0);
	load_fails(".ferry/component.yaml must be a regular file");
	assert_int_equal(rmdir(path), 0);

	/* size is checked before reading */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, DESCRIPTOR_MAX_FILE_SIZE + 1), 0);
	close(fd);
	load_fails(".ferry/component.yaml is larger than 256 KiB");
	assert_int_equal(unlink(path), 0);
}

/* ---- JSON ---- */

static void assert_round_trip(struct descriptor *d)
{
	struct ferr e = FERR_INIT;
	struct descriptor *back = NULL;
	json_t *j1 = descriptor_to_json(d), *j2;

	if (descriptor_from_json(&back, j1, &e) < 0)
		fail_msg("from_json: %s", e.msg);
	j2 = descriptor_to_json(back);
	if (!json_equal(j1, j2)) {
		char *a = json_dumps(j1, JSON_SORT_KEYS), *b = json_dumps(j2, JSON_SORT_KEYS);

		fail_msg("round trip differs:\n%s\n%s", a, b);
	}
	json_decref(j1);
	json_decref(j2);
	descriptor_free(back);
}

static void test_json(void **state)
{
	static const struct {
		enum descriptor_format fmt;
		const char *file;
	} files[] = {
		{ FERRY, "ferry-full.yaml" }, { CHOREO, "choreo-1.0.yaml" },
		{ CHOREO, "choreo-1.1.yaml" }, { CHOREO, "choreo-1.2.yaml" },
		{ CCONF, "component-config.yaml" }, { EPS, "endpoints.yaml" },
	};
	struct descriptor *d;
	json_t *j;

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		d = parse_file(files[i].fmt, files[i].file);
		assert_round_trip(d);
		descriptor_free(d);
	}
	d = descriptor_new_default();
	assert_round_trip(d);
	descriptor_free(d);

	/* the stored shape, as other modules and the API read it */
	d = parse_file(FERRY, "ferry-full.yaml");
	j = descriptor_to_json(d);
	assert_string_equal(json_string_value(json_object_get(j, "format")), "ferry");
	assert_string_equal(json_string_value(json_object_get(j, "file")), ".ferry/component.yaml");
	{
		json_t *ep = json_array_get(json_object_get(j, "endpoints"), 0);
		json_t *vis = json_object_get(ep, "network_visibilities");
		json_t *ready = json_object_get(json_object_get(j, "health"), "readiness");
		json_t *res = json_object_get(j, "resources");

		assert_string_equal(json_string_value(json_object_get(ep, "name")), "orders-api");
		assert_int_equal(json_integer_value(json_object_get(ep, "port")), 8080);
		assert_string_equal(json_string_value(json_object_get(ep, "type")), "REST");
		assert_string_equal(json_string_value(json_array_get(vis, 0)), "Project");
		assert_string_equal(json_string_value(json_array_get(vis, 1)), "Public");
		assert_string_equal(json_string_value(json_object_get(ready, "kind")), "http");
		assert_int_equal(json_integer_value(json_object_get(ready, "port")), 8080);
		assert_int_equal(json_integer_value(json_object_get(res, "cpu_millicores")), 500);
		assert_string_equal(json_string_value(json_object_get(
			json_array_get(json_object_get(j, "env"), 1), "type")), "secret");
		assert_true(json_is_null(json_object_get(
			json_array_get(json_object_get(j, "env"), 0), "connection_ref")));
	}
	json_decref(j);
	descriptor_free(d);

	d = descriptor_new_default();
	j = descriptor_to_json(d);
	assert_string_equal(json_string_value(json_object_get(j, "format")), "default");
	assert_true(json_is_null(json_object_get(j, "file")));
	assert_int_equal(json_array_size(json_object_get(j, "endpoints")), 0);
	assert_true(json_is_null(json_object_get(json_object_get(j, "health"), "liveness")));
	json_decref(j);
	descriptor_free(d);
}

static void test_json_rejects(void **state)
{
	static const struct {
		const char *path;  /* "endpoints.0.port" style, into ferry-full's JSON */
		const char *value; /* JSON text */
		const char *msg;
	} cases[] = {
		{ "endpoints.0.port", "0", "stored descriptor: endpoints[0].port: must be an integer in range" },
		{ "endpoints.0.type", "\"SOAP\"", "stored descriptor: endpoints[0].type: has an unknown value" },
		{ "endpoints.0.name", "\"Bad Name\"", "stored descriptor: endpoints[0].name: must be a DNS label" },
		{ "endpoints.0.base_path", "null", "stored descriptor: endpoints[0].base_path: must be an URL path, and is required for REST and GraphQL" },
		{ "endpoints.0.schema_file_path", "\"../x\"", "stored descriptor: endpoints[0].schema_file_path: must be a normalised relative path" },
		{ "endpoints.0.network_visibilities", "[]", "stored descriptor: endpoints[0].network_visibilities: must not be empty" },
		{ "env.2.connection_ref.name", "\"nope\"", "stored descriptor: env[2].connection_ref.name: names no declared connection" },
		{ "files.0.mount_path", "\"x\"", "stored descriptor: files[0].mount_path: must be an absolute path" },
		{ "health.readiness.kind", "\"none\"", "stored descriptor: health.readiness.kind: must be http, tcp or exec" },
		{ "replicas", "0", "stored descriptor: replicas: must be an integer in range" },
		{ "resources.memory_bytes", "1", "stored descriptor: resources.memory_bytes: must be an integer in range" },
		{ "format", "\"other\"", "stored descriptor: format: has an unknown value" },
		{ "file", "null", "stored descriptor: file: must be set exactly when a file was read" },
	};
	struct descriptor *d = parse_file(FERRY, "ferry-full.yaml"), *back;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = descriptor_to_json(d), *parent = j, *v;
		char buf[128], *part, *next;
		struct ferr e = FERR_INIT;

		snprintf(buf, sizeof(buf), "%s", cases[i].path);
		for (part = buf; (next = strchr(part, '.')); part = next + 1) {
			*next = '\0';
			parent = json_is_array(parent) ?
				json_array_get(parent, strtoul(part, NULL, 10)) :
				json_object_get(parent, part);
			assert_non_null(parent);
		}
		v = json_loads(cases[i].value, JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		assert_int_equal(json_object_set_new(parent, part, v), 0);
		back = (struct descriptor *)1;
		assert_int_equal(descriptor_from_json(&back, j, &e), -1);
		assert_null(back);
		if (strcmp(e.msg, cases[i].msg))
			fail_msg("case %s:\n  want %s\n  got  %s", cases[i].path, cases[i].msg, e.msg);
		json_decref(j);
	}
	descriptor_free(d);
}

/* The examples in docs/descriptor.md parse: the YAML blocks, in order,
 * are one of each format, and the JSON block reads back. */
static void test_docs_examples(void **state)
{
	static const enum descriptor_format order[] = { FERRY, CHOREO, CCONF, EPS };
	char path[512];
	struct strbuf doc = STRBUF_INIT;
	size_t n_yaml = 0, n_json = 0;
	FILE *f;
	char chunk[4096];
	size_t n;
	char *p;

	(void)state;
	snprintf(path, sizeof(path), "%s/docs/descriptor.md", SOURCE_ROOT);
	f = fopen(path, "rb");
	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		strbuf_add(&doc, chunk, n);
	fclose(f);
	for (p = doc.buf; (p = strstr(p, "\n```")); ) {
		bool yaml = !strncmp(p, "\n```yaml\n", 9), json = !strncmp(p, "\n```json\n", 9);
		char *start = p + 9, *end;

		if (!yaml && !json) {
			/* skip any other fenced block whole */
			end = strstr(p + 4, "\n```");
			assert_non_null(end);
			p = end + 4;
			continue;
		}
		end = strstr(start, "\n```");
		assert_non_null(end);
		if (yaml) {
			struct ferr e = FERR_INIT;
			struct descriptor *d = NULL;

			assert_true(n_yaml < sizeof(order) / sizeof(order[0]));
			if (descriptor_parse(&d, start, (size_t)(end - start) + 1,
					     descriptor_format_path(order[n_yaml]), order[n_yaml], &e) < 0)
				fail_msg("docs example %zu: %s", n_yaml, e.msg);
			assert_true(d->n_endpoints > 0);
			descriptor_free(d);
			n_yaml++;
		} else {
			struct ferr e = FERR_INIT;
			struct descriptor *d = NULL;
			json_error_t je;
			json_t *j = json_loadb(start, (size_t)(end - start), 0, &je);

			if (!j)
				fail_msg("docs JSON example: %s", je.text);
			if (descriptor_from_json(&d, j, &e) < 0)
				fail_msg("docs JSON example: %s", e.msg);
			descriptor_free(d);
			json_decref(j);
			n_json++;
		}
		p = end + 4;
	}
	assert_int_equal(n_yaml, 4);
	assert_int_equal(n_json, 1);
	strbuf_release(&doc);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(descriptor_format_name(DESCRIPTOR_CHOREO_COMPONENT_CONFIG),
			    "choreo-component-config");
	assert_string_equal(descriptor_format_path(DESCRIPTOR_CHOREO_ENDPOINTS),
			    ".choreo/endpoints.yaml");
	assert_null(descriptor_format_path(DESCRIPTOR_DEFAULT));
	assert_string_equal(endpoint_type_name(ENDPOINT_GRAPHQL), "GraphQL");
	assert_string_equal(config_type_name(CONFIG_SECRET), "secret");
	assert_string_equal(probe_kind_name(PROBE_EXEC), "exec");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ferry_full),
		cmocka_unit_test(test_choreo_1_0),
		cmocka_unit_test(test_choreo_1_1),
		cmocka_unit_test(test_choreo_1_2),
		cmocka_unit_test(test_component_config),
		cmocka_unit_test(test_endpoints_yaml),
		cmocka_unit_test(test_legacy_long_name),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test_setup_teardown(test_load_priority, ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(test_load_files, ctx_setup, ctx_teardown),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_rejects),
		cmocka_unit_test(test_docs_examples),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
