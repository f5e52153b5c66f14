/* descriptor_legacy: Choreo's older files, read with its validator's rules.
 *   .choreo/component-config.yaml  apiVersion core.choreo.dev/v1beta1, kind
 *                                  ComponentConfig, spec.inbound[] and
 *                                  spec.outbound.serviceReferences[]
 *   .choreo/endpoints.yaml         version (required, any text) and
 *                                  endpoints[]
 * Their endpoint names are free text ("Greeting Service"); ferry maps them
 * to DNS labels and says so. Both get an "outdated" warning, as Choreo
 * gives. */
#include <stdio.h>

#include "pipeline/descriptor_int.h"

#include "lib/banned.h"

#define CHOREO_API_VERSION "core.choreo.dev/v1beta1"

static void legacy_rules(struct dp *p)
{
	p->rules = (struct dp_rules){ .port_min = 1001, .port_max = 65534 };
}

static void outdated(struct dp *p, const struct ynode *root)
{
	dp_warn(p, root, NULL, "%s is an outdated descriptor: component.yaml 1.2 is current",
		p->file);
}

int dp_parse_component_config(struct dp *p, const struct ynode *root)
{
	static const char *const keys[] = { "apiVersion", "kind", "metadata", "spec", NULL };
	static const char *const spec_keys[] = { "inbound", "outbound", NULL };
	static const char *const outbound_keys[] = { "serviceReferences", NULL };
	const struct ynode *spec, *outbound;
	char got[80];
	char *s = NULL;
	int r = -1;

	legacy_rules(p);
	outdated(p, root);
	if (dp_check_keys(p, root, keys) < 0 ||
	    dp_get_str(p, root, "apiVersion", true, MAX_TEXT, &s) < 0)
		goto out;
	if (strcmp(s, CHOREO_API_VERSION)) {
		dp_fail(p, dp_get(root, "apiVersion"), "apiVersion", "must be %s, got %s",
			CHOREO_API_VERSION, dp_describe(dp_get(root, "apiVersion"), got, sizeof(got)));
		goto out;
	}
	free(s);
	if (dp_get_str(p, root, "kind", true, MAX_TEXT, &s) < 0)
		goto out;
	if (strcmp(s, "ComponentConfig")) {
		dp_fail(p, dp_get(root, "kind"), "kind", "must be ComponentConfig, got %s",
			dp_describe(dp_get(root, "kind"), got, sizeof(got)));
		goto out;
	}
	if (dp_get_map(p, root, "spec", &spec) < 0)
		goto out;
	if (spec) {
		size_t old = dp_push_key(p, "spec");

		if (dp_check_keys(p, spec, spec_keys) < 0 ||
		    dp_endpoints(p, spec, "inbound", true) < 0 ||
		    dp_get_map(p, spec, "outbound", &outbound) < 0)
			goto out;
		if (outbound) {
			dp_push_key(p, "outbound");
			if (dp_check_keys(p, outbound, outbound_keys) < 0 ||
			    dp_service_references(p, outbound) < 0)
				goto out;
		}
		dp_pop(p, old);
	}
	r = 0;
out:
	free(s);
	return r;
}

int dp_parse_endpoints_yaml(struct dp *p, const struct ynode *root)
{
	static const char *const keys[] = { "version", "endpoints", NULL };
	const struct ynode *v;
	char got[80];

	legacy_rules(p);
	outdated(p, root);
	if (dp_check_keys(p, root, keys) < 0)
		return -1;
	v = dp_get(root, "version");
	if (!v)
		return dp_fail(p, root, "version", "is required (e.g. 0.1)");
	if (v->kind != YNODE_SCALAR)
		return dp_fail(p, v, "version", "must be a string such as 0.1, got %s",
			       dp_describe(v, got, sizeof(got)));
	if (v->len <= 32) /* any text is accepted; a longer one is not kept */
		p->d->schema_version = dsc_strdup(v->str);
	if (!dp_get(root, "endpoints"))
		return dp_fail(p, root, "endpoints", "is required (a list, which may be empty)");
	return dp_endpoints(p, root, "endpoints", true);
}
