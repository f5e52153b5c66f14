/* Choreo's descriptor rules, one case per rule of the reference validator
 * and per format, valid and invalid (test_descriptor.c covers ferry's own
 * format, files, limits and the JSON form). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/descriptor.h"
#include "descriptor_cases.h"

#define CHOREO DESCRIPTOR_CHOREO
#define CCONF  DESCRIPTOR_CHOREO_COMPONENT_CONFIG
#define EPS    DESCRIPTOR_CHOREO_ENDPOINTS
#define FERRY  DESCRIPTOR_FERRY

#define CCONF_HEAD "apiVersion: core.choreo.dev/v1beta1\nkind: ComponentConfig\n"

static struct descriptor *ok(enum descriptor_format fmt, const char *yaml)
{
	struct ferr e = FERR_INIT;
	struct descriptor *d = NULL;
	json_t *j;
	struct descriptor *back = NULL;

	if (descriptor_parse(&d, yaml, strlen(yaml), descriptor_format_path(fmt), fmt, &e) < 0)
		fail_msg("unexpected error: %s\n--- in:\n%s", e.msg, yaml);
	/* every accepted descriptor survives the stored form */
	j = descriptor_to_json(d);
	if (descriptor_from_json(&back, j, &e) < 0)
		fail_msg("from_json: %s", e.msg);
	{
		json_t *j2 = descriptor_to_json(back);

		assert_true(json_equal(j, j2));
		json_decref(j2);
	}
	json_decref(j);
	descriptor_free(back);
	return d;
}

static bool has_warning(const struct descriptor *d, const char *text)
{
	for (size_t i = 0; i < d->n_warnings; i++)
		if (!strcmp(d->warnings[i], text))
			return true;
	return false;
}

static void assert_warning(const struct descriptor *d, const char *text)
{
	if (!has_warning(d, text)) {
		for (size_t i = 0; i < d->n_warnings; i++)
			print_error("  have: %s\n", d->warnings[i]);
		fail_msg("missing warning: %s", text);
	}
}

/* ---- valid: what the reference accepts, ferry reads ---- */

static void test_endpoint_names_mapped(void **state)
{
	struct descriptor *d = ok(CHOREO,
		"schemaVersion: 1.2\n"
		"endpoints:\n"
		"  - name: go_greeter\n"
		"    service: {port: 9090, basePath: /greeter}\n"
		"    type: REST\n"
		"  - name: go-greeter\n"
		"    service: {port: 9091, basePath: /other}\n"
		"    type: REST\n"
		"  - name: a1234567890_valid_string_example_with_numbers_123\n"
		"    service: {port: 9092, basePath: /x}\n"
		"    type: REST\n");

	(void)state;
	assert_string_equal(d->endpoints[0].name, "go-greeter");
	assert_string_equal(d->endpoints[0].declared_name, "go_greeter");
	assert_string_equal(d->endpoints[0].display_name, "go_greeter");
	/* the second keeps its own name; the mapped one was first */
	assert_string_equal(d->endpoints[1].name, "go-greeter-2");
	assert_string_equal(d->endpoints[1].declared_name, "go-greeter");
	assert_string_equal(d->endpoints[2].name, "a1234567890-valid-string-example-with-numbers-123");
	assert_warning(d, ".choreo/component.yaml:3:11: endpoints[0].name: \"go_greeter\" is \"go-greeter\" in ferry's URLs and routes (a DNS label)");
	assert_warning(d, ".choreo/component.yaml:6:11: endpoints[1].name: \"go-greeter\" is \"go-greeter-2\" in ferry's URLs and routes (a DNS label)");
	descriptor_free(d);
}

static void test_ports_and_versions(void **state)
{
	static const char *const versions[] = { "1.2", "\"1.2\"", "1.20", "'1.2'", " 1.2 " };
	struct descriptor *d;
	char yaml[256];

	(void)state;
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 "schemaVersion: %s\nendpoints:\n"
			 "  - {name: a, service: {port: 1001, basePath: /}, type: REST}\n"
			 "  - {name: b, service: {port: \"65534\", basePath: /}, type: REST}\n",
			 versions[i]);
		d = ok(CHOREO, yaml);
		assert_string_equal(d->schema_version, "1.2");
		assert_int_equal(d->endpoints[0].port, 1001);
		assert_int_equal(d->endpoints[1].port, 65534);
		assert_int_equal(d->n_warnings, 0);
		descriptor_free(d);
	}
	/* 1 is 1.0 to a number */
	d = ok(CHOREO, "schemaVersion: 1\n");
	assert_string_equal(d->schema_version, "1.0");
	assert_warning(d, ".choreo/component.yaml:1:16: schemaVersion: component.yaml 1.0 is outdated: 1.2 is current");
	descriptor_free(d);
}

static void test_types_and_visibilities(void **state)
{
	struct descriptor *d = ok(CHOREO,
		"schemaVersion: 1.2\n"
		"endpoints:\n"
		"  - {name: r, service: {port: 8001}, type: REST}\n"
		"  - {name: q, service: {port: 8002, basePath: /graphql}, type: GraphQL,"
		" networkVisibilities: [Organization]}\n"
		"  - {name: w, service: {port: 8003, basePath: /ws}, type: WS,"
		" networkVisibilities: [Public, Organization, Project]}\n"
		"  - {name: g, service: {port: 8004}, type: GRPC, networkVisibilities: [Project]}\n"
		"  - {name: t, service: {port: 8005}, type: TCP, networkVisibilities: [Project]}\n"
		"  - {name: u, service: {port: 8006}, type: UDP, networkVisibilities: [Project]}\n");

	(void)state;
	assert_int_equal(d->n_endpoints, 6);
	/* Choreo made basePath optional: "/" and a warning */
	assert_string_equal(d->endpoints[0].base_path, "/");
	assert_int_equal(d->endpoints[0].visibilities, VISIBILITY_PUBLIC);
	assert_warning(d, ".choreo/component.yaml:3:24: endpoints[0].service.basePath: not given: the REST endpoint is served at /");
	assert_int_equal(d->endpoints[1].type, ENDPOINT_GRAPHQL);
	assert_int_equal(d->endpoints[1].visibilities, VISIBILITY_ORGANIZATION);
	assert_int_equal(d->endpoints[2].visibilities,
			 VISIBILITY_PUBLIC | VISIBILITY_ORGANIZATION | VISIBILITY_PROJECT);
	for (int i = 3; i < 6; i++) {
		assert_int_equal(d->endpoints[i].visibilities, VISIBILITY_PROJECT);
		assert_null(d->endpoints[i].base_path);
	}
	assert_int_equal(d->endpoints[5].type, ENDPOINT_UDP);
	descriptor_free(d);
}

static void test_layout_and_unknown_keys(void **state)
{
	/* comments, 1- and 4-space indentation, flow style, a legacy singular
	 * networkVisibility inside 1.2, unknown keys at several levels */
	struct descriptor *d = ok(CHOREO,
		"# a comment before everything\n"
		"schemaVersion: 1.2   # trailing comment\n"
		"endpoints:\n"
		"- name: greeter  \n"
		"  service:\n"
		"      basePath: /greeting-service\n"
		"      port: 9090\n"
		"  type: REST\n"
		"  networkVisibility: Public\n"
		"  networkVisibilities:\n"
		"   - Public\n"
		"dependencies: {connectionReferences: [{name: hrc, resourceRef: hr-svc/v1}], extra: 1}\n"
		"futureSection:\n"
		"    anything: [1, 2]\n");

	(void)state;
	assert_string_equal(d->endpoints[0].name, "greeter");
	assert_int_equal(d->endpoints[0].port, 9090);
	assert_string_equal(d->endpoints[0].base_path, "/greeting-service");
	assert_int_equal(d->n_connections, 1);
	assert_int_equal(d->n_warnings, 3);
	assert_warning(d, ".choreo/component.yaml:9:3: endpoints[0].networkVisibility: unknown field, ignored (known here: name, displayName, service, type, networkVisibilities, schemaFilePath)");
	assert_warning(d, ".choreo/component.yaml:12:77: dependencies.extra: unknown field, ignored (known here: serviceReferences, connectionReferences)");
	assert_warning(d, ".choreo/component.yaml:13:1: futureSection: unknown field, ignored (known here: schemaVersion, endpoints, dependencies, configuration, configurations, proxy)");
	descriptor_free(d);
}

static void test_connection_references(void **state)
{
	struct descriptor *d = ok(CHOREO,
		"schemaVersion: 1.1\n"
		"dependencies:\n"
		"  connectionReferences:\n"
		"    - {name: hello conn, resourceRef: service:/connkeys/hello-svc/v1/803f0/PUBLIC}\n"
		"    - {name: plain.ref, resourceRef: hello-svc/1.0}\n"
		"    - {name: with_vis, resourceRef: hello-svc/v2/PROJECT}\n"
		"    - {name: ep-and-vis, resourceRef: hello-svc/V1/ep/ORGANIZATION}\n"
		"    - {name: db1, resourceRef: database:main-server/orders}\n"
		"    - {name: db2, resourceRef: database:orders}\n"
		"    - {name: tp1, resourceRef: thirdparty:stripe api/v1.2}\n"
		"    - {name: st1, resourceRef: storage:my bucket}\n"
		"    - {name: \" spaced \", resourceRef: x/v1}\n");
	const struct descriptor_connection *c = d->connections;

	(void)state;
	assert_int_equal(d->n_connections, 9);
	assert_string_equal(c[0].name, "hello conn");
	assert_string_equal(c[0].project, "connkeys");
	assert_string_equal(c[0].component, "hello-svc");
	assert_string_equal(c[0].version, "v1");
	assert_string_equal(c[0].endpoint, "803f0");
	assert_string_equal(c[0].visibility, "PUBLIC");
	assert_null(c[1].project);
	assert_string_equal(c[1].component, "hello-svc");
	assert_string_equal(c[1].version, "1.0");
	assert_null(c[1].endpoint);
	assert_null(c[2].endpoint);
	assert_string_equal(c[2].visibility, "PROJECT");
	assert_string_equal(c[3].endpoint, "ep");
	assert_string_equal(c[3].visibility, "ORGANIZATION");
	assert_int_equal(c[4].kind, CONNECTION_DATABASE);
	assert_string_equal(c[4].target, "main-server/orders");
	assert_string_equal(c[5].target, "orders");
	assert_int_equal(c[6].kind, CONNECTION_THIRDPARTY);
	assert_string_equal(c[6].target, "stripe api/v1.2");
	assert_int_equal(c[7].kind, CONNECTION_STORAGE);
	assert_string_equal(c[8].name, "spaced");
	descriptor_free(d);

	/* a name declared twice: the reference does not refuse it */
	d = ok(CHOREO, "schemaVersion: 1.2\ndependencies:\n  connectionReferences:\n"
		       "    - {name: abc, resourceRef: a/v1}\n    - {name: abc, resourceRef: b/v1}\n");
	assert_int_equal(d->n_connections, 1);
	assert_string_equal(d->connections[0].component, "a");
	assert_warning(d, ".choreo/component.yaml:5:14: dependencies.connectionReferences[1].name: connection \"abc\" is declared twice: the first is used");
	descriptor_free(d);

	/* 1.0 does not know connectionReferences: a warning, not read */
	d = ok(CHOREO, "schemaVersion: 1.0\ndependencies:\n  connectionReferences:\n"
		       "    - {name: abc, resourceRef: a/v1}\n");
	assert_int_equal(d->n_connections, 0);
	assert_warning(d, ".choreo/component.yaml:3:3: dependencies.connectionReferences: unknown field, ignored (known here: serviceReferences)");
	descriptor_free(d);
}

static void test_service_references(void **state)
{
	struct descriptor *d = ok(CHOREO,
		"schemaVersion: \"1.0\"\n"
		"dependencies:\n"
		"    serviceReferences:\n"
		"      - name: choreo:///apifirst/mttm/mmvhxd/ad088/v1.0/PUBLIC\n"
		"        connectionConfig: 19d2648b-d29c-4452-afdd-1b9311e81412\n"
		"        env:\n"
		"          - from: ServiceURL\n"
		"            to: SERVICE_URL\n"
		"          - {from: ConsumerKey, to: CONSUMER_KEY}\n"
		"      - name: thirdparty:weather/v1\n"
		"        connectionConfig: 00000000-0000-0000-0000-000000000000\n"
		"        env: []\n");

	(void)state;
	assert_int_equal(d->n_connections, 2);
	assert_string_equal(d->connections[0].project, "mttm");
	assert_string_equal(d->connections[0].component, "mmvhxd");
	assert_string_equal(d->connections[0].endpoint, "ad088");
	assert_string_equal(d->connections[0].version, "v1.0");
	assert_string_equal(d->connections[0].connection_config, "19d2648b-d29c-4452-afdd-1b9311e81412");
	assert_int_equal(d->connections[1].kind, CONNECTION_THIRDPARTY);
	assert_int_equal(d->n_env, 2);
	assert_string_equal(d->env[0].name, "SERVICE_URL");
	assert_string_equal(d->env[0].connection_name, "choreo:///apifirst/mttm/mmvhxd/ad088/v1.0/PUBLIC");
	assert_string_equal(d->env[1].connection_key, "ConsumerKey");
	descriptor_free(d);
}

static void test_configurations(void **state)
{
	struct descriptor *d = ok(CHOREO,
		"schemaVersion: 1.2\n"
		"dependencies:\n"
		"  connectionReferences:\n"
		"    - {name: hello-conn, resourceRef: hello/v1}\n"
		"configurations:\n"
		"  env:\n"
		"    - {name: URL, valueFrom: {connectionRef: {name: hello-conn, key: ServiceURL}}}\n"
		"    - {name: GRP, valueFrom: {configGroupRef: {name: shared, key: region}}}\n"
		"    - {name: LIT, value: 42}\n"
		"    - {name: EMPTY_FORM, valueFrom: {configForm: {}}}\n"
		"    - name: OBJ\n"
		"      valueFrom:\n"
		"        configForm: {type: object, displayName: Logging, properties: [{name: level}]}\n"
		"    - {name: ARR, valueFrom: {configForm: {type: array, required: false}}}\n"
		"    - {name: ODD, valueFrom: {configForm: {type: json}}}\n"
		"    - {name: DEFAULTED, value: x, valueFrom: {configForm: {type: string}}}\n"
		"  file:\n"
		"    - name: application.yaml\n"
		"      mountPath: /src/resources/application.yaml\n"
		"      type: yaml\n"
		"      values:\n"
		"        - name: logging\n"
		"          valueFrom: {configForm: {type: object}}\n");

	(void)state;
	assert_int_equal(d->n_env, 8);
	assert_string_equal(d->env[0].connection_key, "ServiceURL");
	assert_string_equal(d->env[1].group_name, "shared");
	assert_string_equal(d->env[1].group_key, "region");
	assert_string_equal(d->env[2].value, "42");
	assert_int_equal(d->env[3].type, CONFIG_STRING);
	assert_true(d->env[3].required);
	assert_int_equal(d->env[4].type, CONFIG_OBJECT);
	assert_string_equal(d->env[4].display_name, "Logging");
	assert_int_equal(d->env[5].type, CONFIG_ARRAY);
	assert_false(d->env[5].required);
	assert_int_equal(d->env[6].type, CONFIG_STRING);
	assert_warning(d, ".choreo/component.yaml:15:50: configurations.env[6].valueFrom.configForm.type: \"json\" is not one of string, number, boolean, secret, object, array: read as string");
	assert_string_equal(d->env[7].value, "x");
	assert_int_equal(d->n_files, 1);
	assert_string_equal(d->files[0].name, "application.yaml");
	assert_int_equal(d->n_warnings, 1);
	descriptor_free(d);

	/* the alias, and 1.1's configForm is unknown (the entry has a value) */
	d = ok(CHOREO, "schemaVersion: 1.1\nconfiguration:\n  env:\n"
		       "    - {name: A, value: a, valueFrom: {configForm: {}}}\n");
	assert_string_equal(d->env[0].value, "a");
	assert_warning(d, ".choreo/component.yaml:4:39: configuration.env[0].valueFrom.configForm: unknown field, ignored (known here: connectionRef, configGroupRef)");
	descriptor_free(d);

	/* both spellings: configurations wins */
	d = ok(CHOREO, "schemaVersion: 1.2\nconfiguration:\n  env: [{name: A, value: a}]\n"
		       "configurations:\n  env: [{name: B, value: b}]\n");
	assert_int_equal(d->n_env, 1);
	assert_string_equal(d->env[0].name, "B");
	assert_warning(d, ".choreo/component.yaml:2:1: configuration: is ignored: configurations is given too");
	descriptor_free(d);
}

static void test_proxy(void **state)
{
	struct descriptor *d = ok(CHOREO,
		"schemaVersion: 1.1\n"
		"proxy:\n"
		"  type: REST\n"
		"  schemaFilePath: openapi.yaml\n"
		"  docPath: docs\n"
		"  thumbnailPath: ./img/../thumbnail.png\n");

	(void)state;
	assert_non_null(d->proxy);
	assert_int_equal(d->proxy->type, ENDPOINT_REST);
	assert_string_equal(d->proxy->schema_file_path, "openapi.yaml");
	assert_string_equal(d->proxy->doc_path, "docs");
	assert_string_equal(d->proxy->thumbnail_path, "thumbnail.png");
	assert_int_equal(d->n_endpoints, 0);
	descriptor_free(d);
}

static void test_legacy_formats(void **state)
{
	struct descriptor *d = ok(CCONF, CCONF_HEAD
		"metadata:\n  name: greeter\n"
		"spec:\n"
		"  inbound:\n"
		"    - name: Greeting Service\n"
		"      port: 9090\n"
		"      type: REST\n"
		"      networkVisibility: Public\n"
		"      context: /greeting\n"
		"    - name: Greeting Service\n"           /* free text, not unique */
		"      port: 9091\n"
		"      type: TCP\n"                        /* legacy TCP may be Public */
		"      networkVisibility: Public\n"
		"  outbound:\n"
		"    serviceReferences:\n"
		"      - name: database:orders\n"
		"        connectionConfig: 19d2648b-d29c-4452-afdd-1b9311e81412\n"
		"        env: [{from: HostName, to: DB_HOST}]\n");

	(void)state;
	assert_string_equal(d->endpoints[0].name, "greeting-service");
	assert_string_equal(d->endpoints[1].name, "greeting-service-2");
	assert_int_equal(d->endpoints[1].visibilities, VISIBILITY_PUBLIC);
	assert_int_equal(d->connections[0].kind, CONNECTION_DATABASE);
	assert_string_equal(d->env[0].name, "DB_HOST");
	assert_warning(d, ".choreo/component-config.yaml:1:1: .choreo/component-config.yaml is an outdated descriptor: component.yaml 1.2 is current");
	descriptor_free(d);

	for (int i = 0; i < 2; i++) {
		d = ok(EPS, i ? "version: \"1.0\"\nendpoints: []\n" :
			"version: 0.1\nendpoints:\n  - {name: ws, port: 8080, type: WS, context: /ws_1/a-b}\n");
		assert_string_equal(d->schema_version, i ? "1.0" : "0.1");
		assert_int_equal(d->n_endpoints, i ? 0 : 1);
		descriptor_free(d);
	}
}

/* ---- invalid: what the reference refuses, with what it would accept ---- */


#define V12 "schemaVersion: 1.2\n"
#define EP(x) V12 "endpoints:\n  - " x "\n"

static const struct bad bad[] = {
	/* schemaVersion */
	{ CHOREO, "schemaVersion: 2.0\n",
	  ".choreo/component.yaml:1:16: schemaVersion: must be one of 1.0, 1.1, 1.2, got \"2.0\"" },
	{ CHOREO, "schemaVersion: 0.9\n",
	  ".choreo/component.yaml:1:16: schemaVersion: must be one of 1.0, 1.1, 1.2, got \"0.9\"" },
	{ CHOREO, "schemaVersion: v1.2\n",
	  ".choreo/component.yaml:1:16: schemaVersion: must be one of 1.0, 1.1, 1.2, got \"v1.2\"" },
	{ CHOREO, "endpoints: []\n",
	  ".choreo/component.yaml:1:1: schemaVersion: is required (one of 1.0, 1.1, 1.2)" },
	/* endpoint name */
	{ CHOREO, EP("{name: Go_Greeter, service: {port: 8080}, type: REST}"),
	  ".choreo/component.yaml:3:12: endpoints[0].name: must start with a lower-case letter and hold only lower-case letters, digits, '_' and '-', at most 50 characters, got \"Go_Greeter\"" },
	{ CHOREO, EP("{name: 1invalid-start, service: {port: 8080}, type: REST}"),
	  ".choreo/component.yaml:3:12: endpoints[0].name: must start with a lower-case letter and hold only lower-case letters, digits, '_' and '-', at most 50 characters, got \"1invalid-start\"" },
	{ CHOREO, EP("{name: a12345678901234567890123456789012345678901234567890, service: {port: 8080}, type: REST}"),
	  ".choreo/component.yaml:3:12: endpoints[0].name: must start with a lower-case letter and hold only lower-case letters, digits, '_' and '-', at most 50 characters, got \"a12345678901234567890123456789012345678901234567890\"" },
	{ CHOREO, EP("{service: {port: 8080}, type: REST}"),
	  ".choreo/component.yaml:3:5: endpoints[0].name: is required" },
	{ CHOREO, V12 "endpoints:\n  - {name: a, service: {port: 8080}, type: REST}\n  - {name: a, service: {port: 8081}, type: REST}\n",
	  ".choreo/component.yaml:4:12: endpoints[1].name: endpoint name \"a\" is already used by endpoints[0] (names must be unique)" },
	/* displayName */
	{ CHOREO, EP("{name: a, displayName: This string is way too long because it has more than fifty, service: {port: 8080}, type: REST}"),
	  ".choreo/component.yaml:3:28: endpoints[0].displayName: is too long (at most 50 characters)" },
	/* service and port */
	{ CHOREO, EP("{name: a, type: REST}"),
	  ".choreo/component.yaml:3:5: endpoints[0].service: is required (with port, and basePath for REST, GraphQL and WS)" },
	{ CHOREO, EP("{name: a, service: {port: 1000}, type: REST}"),
	  ".choreo/component.yaml:3:31: endpoints[0].service.port: must be an integer from 1001 to 65534, got \"1000\"" },
	{ CHOREO, EP("{name: a, service: {port: 65535}, type: REST}"),
	  ".choreo/component.yaml:3:31: endpoints[0].service.port: must be an integer from 1001 to 65534, got \"65535\"" },
	{ CHOREO, EP("{name: a, service: {basePath: /}, type: REST}"),
	  ".choreo/component.yaml:3:24: endpoints[0].service.port: is required" },
	/* basePath */
	{ CHOREO, EP("{name: a, service: {port: 8080, basePath: invalid/path}, type: REST}"),
	  ".choreo/component.yaml:3:47: endpoints[0].service.basePath: must start with '/' and hold only letters, digits, '-', '_' and '/', got \"invalid/path\"" },
	{ CHOREO, EP("{name: a, service: {port: 8080, basePath: /special&chars}, type: GraphQL}"),
	  ".choreo/component.yaml:3:47: endpoints[0].service.basePath: must start with '/' and hold only letters, digits, '-', '_' and '/', got \"/special&chars\"" },
	/* type */
	{ CHOREO, EP("{name: a, service: {port: 8080}}"),
	  ".choreo/component.yaml:3:5: endpoints[0].type: is required" },
	{ CHOREO, EP("{name: a, service: {port: 8080}, type: SOAP}"),
	  ".choreo/component.yaml:3:44: endpoints[0].type: must be one of REST, GraphQL, WS, GRPC, TCP, UDP, got \"SOAP\"" },
	/* visibilities */
	{ CHOREO, EP("{name: a, service: {port: 8080}, type: TCP}"),
	  ".choreo/component.yaml:3:5: endpoints[0]: a TCP endpoint can only have networkVisibilities [Project] (none is given)" },
	{ CHOREO, EP("{name: a, service: {port: 8080}, type: UDP, networkVisibilities: [Public]}"),
	  ".choreo/component.yaml:3:70: endpoints[0].networkVisibilities: a UDP endpoint can only have networkVisibilities [Project]" },
	{ CHOREO, EP("{name: a, service: {port: 8080}, type: GRPC, networkVisibilities: [Public, Organization, Project]}"),
	  ".choreo/component.yaml:3:71: endpoints[0].networkVisibilities: a GRPC endpoint can only have networkVisibilities [Project]" },
	{ CHOREO, EP("{name: a, service: {port: 8080}, type: REST, networkVisibilities: [Internet]}"),
	  ".choreo/component.yaml:3:72: endpoints[0].networkVisibilities[0]: must be one of Project, Organization, Public, got \"Internet\"" },
	/* schemaFilePath stays inside */
	{ CHOREO, EP("{name: a, service: {port: 8080}, type: REST, schemaFilePath: ../openapi.yaml}"),
	  ".choreo/component.yaml:3:66: endpoints[0].schemaFilePath: must be a file path relative to the build context that stays inside it, got \"../openapi.yaml\"" },
	/* connectionReferences */
	{ CHOREO, V12 "dependencies:\n  connectionReferences:\n    - {name: ab, resourceRef: a/v1}\n",
	  ".choreo/component.yaml:4:14: dependencies.connectionReferences[0].name: must be 3 to 50 letters and digits, with single '_', '-', '.' or spaces between them, got \"ab\"" },
	{ CHOREO, V12 "dependencies:\n  connectionReferences:\n    - {name: a  b, resourceRef: a/v1}\n",
	  ".choreo/component.yaml:4:14: dependencies.connectionReferences[0].name: must be 3 to 50 letters and digits, with single '_', '-', '.' or spaces between them, got \"a  b\"" },
	{ CHOREO, V12 "dependencies:\n  connectionReferences:\n    - {name: -abc, resourceRef: a/v1}\n",
	  ".choreo/component.yaml:4:14: dependencies.connectionReferences[0].name: must be 3 to 50 letters and digits, with single '_', '-', '.' or spaces between them, got \"-abc\"" },
	{ CHOREO, V12 "dependencies:\n  connectionReferences:\n    - {name: abc}\n",
	  ".choreo/component.yaml:4:7: dependencies.connectionReferences[0].resourceRef: is required" },
	{ CHOREO, V12 "dependencies:\n  connectionReferences:\n    - {name: abc, resourceRef: service:comp}\n",
	  ".choreo/component.yaml:4:32: dependencies.connectionReferences[0].resourceRef: must be [service:][/<project>/]<component>/<major-version>[/<endpoint>][/<PUBLIC|PROJECT|ORGANIZATION>], got \"service:comp\"" },
	{ CHOREO, V12 "dependencies:\n  connectionReferences:\n    - {name: abc, resourceRef: comp/latest}\n",
	  ".choreo/component.yaml:4:32: dependencies.connectionReferences[0].resourceRef: must be a service ([service:][/<project>/]<component>/<major-version>[/<endpoint>][/<visibility>]), database:[<server>/]<database>, thirdparty:<name>/<version> or storage:<name>, got \"comp/latest\"" },
	{ CHOREO, V12 "dependencies:\n  connectionReferences:\n    - {name: abc, resourceRef: database:a/b/c}\n",
	  ".choreo/component.yaml:4:32: dependencies.connectionReferences[0].resourceRef: must be database:[<server>/]<database> (letters, digits, '_' and '-'), got \"database:a/b/c\"" },
	{ CHOREO, V12 "dependencies:\n  connectionReferences:\n    - {name: abc, resourceRef: thirdparty:stripe}\n",
	  ".choreo/component.yaml:4:32: dependencies.connectionReferences[0].resourceRef: must be thirdparty:<service-name>/<version> (a version like v1 or v1.2), got \"thirdparty:stripe\"" },
	{ CHOREO, V12 "dependencies:\n  connectionReferences:\n    - {name: abc, resourceRef: \"storage:\"}\n",
	  ".choreo/component.yaml:4:32: dependencies.connectionReferences[0].resourceRef: must be storage:<name> (letters, digits, spaces, '.', '_' and '-'), got \"storage:\"" },
	/* serviceReferences */
	{ CHOREO, V12 "dependencies:\n  serviceReferences:\n    - {name: \"choreo:///a/b/c/v1/PUBLIC\", connectionConfig: 19d2648b-d29c-4452-afdd-1b9311e81412, env: []}\n",
	  ".choreo/component.yaml:4:14: dependencies.serviceReferences[0].name: must be choreo:///<org>/<project>/<component>/<endpoint>/v<major>[.<minor>]/<PUBLIC|PROJECT|ORGANIZATION>, got \"choreo:///a/b/c/v1/PUBLIC\"" },
	{ CHOREO, V12 "dependencies:\n  serviceReferences:\n    - {name: \"choreo:///o/p/c/e/v1/PUBLIC\", connectionConfig: not-a-uuid, env: []}\n",
	  ".choreo/component.yaml:4:63: dependencies.serviceReferences[0].connectionConfig: must be a UUID, got \"not-a-uuid\"" },
	{ CHOREO, V12 "dependencies:\n  serviceReferences:\n    - {name: \"choreo:///o/p/c/e/v1/PUBLIC\", connectionConfig: 19d2648b-d29c-4452-afdd-1b9311e81412}\n",
	  ".choreo/component.yaml:4:7: dependencies.serviceReferences[0].env: is required (a list of {from, to})" },
	{ CHOREO, V12 "dependencies:\n  serviceReferences:\n    - {name: \"choreo:///o/p/c/e/v1/PUBLIC\", connectionConfig: 19d2648b-d29c-4452-afdd-1b9311e81412, env: [{from: ServiceURL}]}\n",
	  ".choreo/component.yaml:4:107: dependencies.serviceReferences[0].env[0].to: is required" },
	/* configurations */
	{ CHOREO, V12 "configurations:\n  env:\n    - {name: 1DB, value: x}\n",
	  ".choreo/component.yaml:4:14: configurations.env[0].name: must be letters, digits and '_', not starting with a digit, got \"1DB\"" },
	{ CHOREO, V12 "configurations:\n  env:\n    - {name: A, value: x}\n    - {name: A, value: y}\n",
	  ".choreo/component.yaml:5:14: configurations.env[1].name: environment variable A is declared twice" },
	{ CHOREO, V12 "configurations:\n  env:\n    - {name: A}\n",
	  ".choreo/component.yaml:4:7: configurations.env[0].valueFrom: is required unless a value is given (value, or valueFrom with connectionRef, configGroupRef or configForm)" },
	{ CHOREO, V12 "configurations:\n  env:\n    - {name: A, value: \"\"}\n",
	  ".choreo/component.yaml:4:7: configurations.env[0].valueFrom: is required unless a value is given (value, or valueFrom with connectionRef, configGroupRef or configForm)" },
	{ CHOREO, "schemaVersion: 1.1\nconfigurations:\n  env:\n    - {name: A, valueFrom: {configForm: {}}}\n",
	  ".choreo/component.yaml:4:28: configurations.env[0].valueFrom: must hold connectionRef or configGroupRef (configForm needs schemaVersion 1.2)" },
	{ CHOREO, V12 "configurations:\n  env:\n    - {name: A, valueFrom: {connectionRef: {name: nope, key: ServiceURL}}}\n",
	  ".choreo/component.yaml:4:51: configurations.env[0].valueFrom.connectionRef.name: names no connection declared in dependencies, got \"nope\"" },
	{ CHOREO, V12 "configurations:\n  env:\n    - {name: A, valueFrom: {configGroupRef: {name: g}}}\n",
	  ".choreo/component.yaml:4:45: configurations.env[0].valueFrom.configGroupRef.key: is required" },
	{ CHOREO, V12 "configurations:\n  env:\n    - {name: A, value: [1]}\n",
	  ".choreo/component.yaml:4:24: configurations.env[0].value: must be a string, got a list" },
	/* proxy */
	{ CHOREO, V12 "proxy:\n  type: REST\n",
	  ".choreo/component.yaml:3:3: proxy.schemaFilePath: is required (the API's OpenAPI file)" },
	{ CHOREO, V12 "proxy:\n  type: SOAP\n  schemaFilePath: a.yaml\n",
	  ".choreo/component.yaml:3:9: proxy.type: must be one of REST, got \"SOAP\"" },
	/* component-config.yaml */
	{ CCONF, "apiVersion: core.choreo.dev/v1alpha1\nkind: ComponentConfig\n",
	  ".choreo/component-config.yaml:1:13: apiVersion: must be core.choreo.dev/v1beta1, got \"core.choreo.dev/v1alpha1\"" },
	{ CCONF, CCONF_HEAD "spec:\n  inbound:\n    - {name: A, port: 1000, type: TCP}\n",
	  ".choreo/component-config.yaml:5:23: spec.inbound[0].port: must be an integer from 1001 to 65534, got \"1000\"" },
	{ CCONF, CCONF_HEAD "spec:\n  inbound:\n    - {name: A, port: 8080, type: WS}\n",
	  ".choreo/component-config.yaml:5:7: spec.inbound[0].context: is required for WS endpoints" },
	{ CCONF, CCONF_HEAD "spec:\n  inbound:\n    - {name: A, port: 8080, type: REST, context: greeting}\n",
	  ".choreo/component-config.yaml:5:50: spec.inbound[0].context: must start with '/' and hold only letters, digits, '-', '_' and '/', got \"greeting\"" },
	{ CCONF, CCONF_HEAD "spec:\n  inbound:\n    - {port: 8080, type: TCP}\n",
	  ".choreo/component-config.yaml:5:7: spec.inbound[0].name: is required" },
	{ CCONF, CCONF_HEAD "spec:\n  outbound:\n    serviceReferences:\n      - {name: \"http://x\", connectionConfig: 19d2648b-d29c-4452-afdd-1b9311e81412, env: []}\n",
	  ".choreo/component-config.yaml:6:16: spec.outbound.serviceReferences[0].name: must be choreo:///<org>/<project>/<component>/<endpoint>/v<major>/<visibility>, thirdparty:<name>/<version> or database:[<server>/]<database>, got \"http://x\"" },
	/* endpoints.yaml */
	{ EPS, "endpoints: []\n", ".choreo/endpoints.yaml:1:1: version: is required (e.g. 0.1)" },
	{ EPS, "version: 0.1\n", ".choreo/endpoints.yaml:1:1: endpoints: is required (a list, which may be empty)" },
	{ EPS, "version: 0.1\nendpoints:\n  - {name: a, port: 65535, type: TCP}\n",
	  ".choreo/endpoints.yaml:3:21: endpoints[0].port: must be an integer from 1001 to 65534, got \"65535\"" },
	{ EPS, "version: 0.1\nendpoints:\n  - {name: a, port: 8080, type: GraphQL}\n",
	  ".choreo/endpoints.yaml:3:5: endpoints[0].context: is required for GraphQL endpoints" },
	/* ferry's own format keeps refusing unknown keys, and takes the names */
	{ FERRY, "endpoints:\n  - {name: go_greeter, port: 80, type: TCP, visibility: Project}\n",
	  ".ferry/component.yaml:2:45: endpoints[0].visibility: unknown field (expected one of name, displayName, service, port, basePath, type, networkVisibilities, schemaFilePath)" },
};

static void test_errors(void **state)
{
	(void)state;
	check_bad_cases(bad, sizeof(bad) / sizeof(bad[0]));
}

static void test_ferry_names(void **state)
{
	struct descriptor *d = ok(FERRY, "endpoints:\n  - {name: go_greeter, port: 80, type: TCP}\n");

	(void)state;
	assert_string_equal(d->endpoints[0].name, "go-greeter");
	assert_string_equal(d->endpoints[0].declared_name, "go_greeter");
	/* ferry's format keeps its own port range and TCP visibility */
	assert_int_equal(d->endpoints[0].port, 80);
	assert_int_equal(d->endpoints[0].visibilities, VISIBILITY_PUBLIC);
	descriptor_free(d);
}

static void test_many_warnings(void **state)
{
	char yaml[8192];
	size_t o;
	struct descriptor *d;

	(void)state;
	o = (size_t)snprintf(yaml, sizeof(yaml), "schemaVersion: 1.2\n");
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "unknown%d: x\n", i);
	d = ok(CHOREO, yaml);
	assert_int_equal(d->n_warnings, DESCRIPTOR_MAX_WARNINGS);
	assert_string_equal(d->warnings[DESCRIPTOR_MAX_WARNINGS - 1],
			    ".choreo/component.yaml: 37 more warnings not shown");
	descriptor_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint_names_mapped),
		cmocka_unit_test(test_ports_and_versions),
		cmocka_unit_test(test_types_and_visibilities),
		cmocka_unit_test(test_layout_and_unknown_keys),
		cmocka_unit_test(test_connection_references),
		cmocka_unit_test(test_service_references),
		cmocka_unit_test(test_configurations),
		cmocka_unit_test(test_proxy),
		cmocka_unit_test(test_legacy_formats),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_ferry_names),
		cmocka_unit_test(test_many_warnings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
