/* descriptor_choreo: .choreo/component.yaml, schemaVersion 1.0, 1.1 or
 * 1.2, with the rules of Choreo's source-config validator:
 *   1.0  endpoints, dependencies.serviceReferences
 *   1.1  + dependencies.connectionReferences, configurations (or its alias
 *        configuration) with env entries from value, connectionRef or
 *        configGroupRef
 *   1.2  + valueFrom.configForm
 * and the API-proxy form (a top-level proxy: instead of endpoints).
 * Unknown keys, and sections a version does not know, are warnings. */
#include <stdio.h>

#include "pipeline/descriptor_int.h"

#include "lib/banned.h"

static int parse_proxy(struct dp *p, const struct ynode *root)
{
	static const char *const keys[] = {
		"type", "schemaFilePath", "docPath", "thumbnailPath", NULL,
	};
	static const char *const types[] = { "REST" };
	const struct ynode *m;
	struct descriptor_proxy *px;
	size_t old;
	int t;

	if (dp_get_map(p, root, "proxy", &m) < 0)
		return -1;
	if (!m)
		return 0;
	if (p->d->n_endpoints)
		dp_warn(p, dp_get(root, "endpoints"), "endpoints",
			"an API proxy normally declares no endpoints: they are read as given");
	px = p->d->proxy = dsc_calloc(1, sizeof(*px));
	old = dp_push_key(p, "proxy");
	if (dp_check_keys(p, m, keys) < 0 ||
	    dp_get_enum(p, m, "type", types, N_ELEMS(types), -1, &t) < 0)
		return -1;
	px->type = ENDPOINT_REST;
	if (!dp_get(m, "schemaFilePath"))
		return dp_fail(p, m, "schemaFilePath", "is required (the API's OpenAPI file)");
	if (dp_context_file(p, m, "schemaFilePath", true, &px->schema_file_path) < 0 ||
	    dp_context_file(p, m, "docPath", false, &px->doc_path) < 0 ||
	    dp_context_file(p, m, "thumbnailPath", true, &px->thumbnail_path) < 0)
		return -1;
	dp_pop(p, old);
	return 0;
}

int dp_parse_choreo(struct dp *p, const struct ynode *root)
{
	static const int versions[] = { 10, 11, 12 };
	static const char *const keys_1_0[] = {
		"schemaVersion", "endpoints", "dependencies", "proxy", NULL,
	};
	static const char *const keys[] = {
		"schemaVersion", "endpoints", "dependencies", "configuration", "configurations",
		"proxy", NULL,
	};
	int v;

	if (dp_schema_version(p, root, "schemaVersion", versions, N_ELEMS(versions), &v) < 0)
		return -1;
	p->d->schema_version = dsc_strdup(v == 10 ? "1.0" : v == 11 ? "1.1" : "1.2");
	p->rules = (struct dp_rules){
		.port_min = 1001, .port_max = 65534, .choreo_names = true,
		.project_only_types = true, .config_form = v >= 12,
		.connection_refs = v >= 11, .configurations = v >= 11,
	};
	if (v < 12)
		dp_warn(p, dp_get(root, "schemaVersion"), "schemaVersion",
			"component.yaml %s is outdated: 1.2 is current", p->d->schema_version);
	if (dp_check_keys(p, root, v >= 11 ? keys : keys_1_0) < 0 ||
	    dp_endpoints(p, root, "endpoints", false) < 0 || dp_dependencies(p, root) < 0 ||
	    (v >= 11 && dp_configurations(p, root) < 0) || parse_proxy(p, root) < 0)
		return -1;
	return 0;
}
