/* descriptor_ferry: .ferry/component.yaml, Choreo's component.yaml 1.2
 * with ferry's extensions (health probes, replicas, resources, schedule,
 * time zone), the flat forms (port and basePath beside name; an env
 * entry's displayName, required and type beside its name) and unknown keys
 * refused as typos. */
#include <stdio.h>
#include <strings.h>

#include "pipeline/descriptor_int.h"

#include "lib/banned.h"

static int probe_port(struct dp *p, const struct ynode *m, int *port)
{
	if (dp_get(m, "port"))
		return dp_get_int(p, m, "port", true, 1, 65535, 0, port);
	if (p->d->n_endpoints == 0)
		return dp_fail(p, m, "port", "is required when the descriptor declares no endpoint");
	*port = p->d->endpoints[0].port;
	return 0;
}

static int parse_probe(struct dp *p, const struct ynode *health, const char *key,
		       struct descriptor_probe *pr)
{
	static const char *const keys[] = {
		"http", "tcp", "exec", "periodSeconds", "timeoutSeconds",
		"failureThreshold", "initialDelaySeconds", NULL,
	};
	static const char *const kinds[] = { "http", "tcp", "exec" };
	static const char *const http_keys[] = { "path", "port", NULL };
	static const char *const tcp_keys[] = { "port", NULL };
	static const char *const exec_keys[] = { "command", NULL };
	const struct ynode *m, *k = NULL, *cmd;
	const char *kind = NULL;
	size_t old, kind_old;
	char got[80];

	if (dp_get_map(p, health, key, &m) < 0)
		return -1;
	if (!m)
		return 0;
	old = dp_push_key(p, key);
	if (dp_check_keys(p, m, keys) < 0)
		return -1;
	for (size_t i = 0; i < N_ELEMS(kinds); i++) {
		if (!dp_get(m, kinds[i]))
			continue;
		if (kind)
			return dp_fail(p, ynode_map_key_of(m, dp_get(m, kinds[i])), kinds[i],
				    "give only one of http, tcp or exec (%s is already given)", kind);
		kind = kinds[i];
		if (dp_get_map(p, m, kind, &k) < 0)
			return -1;
	}
	if (!kind)
		return dp_fail(p, m, NULL, "must have one of http, tcp or exec");
	kind_old = dp_push_key(p, kind);
	if (!strcmp(kind, "http")) {
		pr->kind = PROBE_HTTP;
		if (dp_check_keys(p, k, http_keys) < 0 || probe_port(p, k, &pr->port) < 0 ||
		    dp_url_path(p, k, "path", &pr->http_path) < 0)
			return -1;
		if (!pr->http_path)
			pr->http_path = dsc_strdup("/");
	} else if (!strcmp(kind, "tcp")) {
		pr->kind = PROBE_TCP;
		if (dp_check_keys(p, k, tcp_keys) < 0 || probe_port(p, k, &pr->port) < 0)
			return -1;
	} else {
		pr->kind = PROBE_EXEC;
		if (dp_check_keys(p, k, exec_keys) < 0)
			return -1;
		cmd = dp_get(k, "command");
		if (!cmd)
			return dp_fail(p, k, "command", "is required");
		if (cmd->kind != YNODE_SEQ || cmd->n == 0)
			return dp_fail(p, cmd, "command",
				    "must be a non-empty list of strings (the program and its arguments; no shell is used), got %s",
				    dp_describe(cmd, got, sizeof(got)));
		if (cmd->n > MAX_EXEC_ARGS)
			return dp_fail(p, cmd, "command", "has %zu entries, at most %d are allowed",
				    cmd->n, MAX_EXEC_ARGS);
		pr->exec_argv = dsc_calloc(cmd->n + 1, sizeof(char *));
		for (size_t i = 0; i < cmd->n; i++) {
			const struct ynode *a = cmd->child[i];
			char akey[32];

			snprintf(akey, sizeof(akey), "command[%zu]", i);
			if (a->kind != YNODE_SCALAR || (i == 0 && a->len == 0) || a->len > MAX_ARG)
				return dp_fail(p, a, akey,
					    "must be a string of at most %d characters%s, got %s",
					    MAX_ARG, i == 0 ? " (not empty)" : "",
					    dp_describe(a, got, sizeof(got)));
			pr->exec_argv[pr->exec_argc++] = dsc_strdup(a->str);
		}
	}
	dp_pop(p, kind_old);
	if (dp_get_int(p, m, "periodSeconds", false, 1, 3600, 10, &pr->period_seconds) < 0 ||
	    dp_get_int(p, m, "timeoutSeconds", false, 1, 3600, 1, &pr->timeout_seconds) < 0 ||
	    dp_get_int(p, m, "failureThreshold", false, 1, 100, 3, &pr->failure_threshold) < 0 ||
	    dp_get_int(p, m, "initialDelaySeconds", false, 0, 3600, 0,
		    &pr->initial_delay_seconds) < 0)
		return -1;
	dp_pop(p, old);
	return 0;
}

/* security: {capabilities: [NAME...], readOnlyRootFilesystem: BOOL} */
static int parse_security(struct dp *p, const struct ynode *root)
{
	static const char *const keys[] = { "capabilities", "readOnlyRootFilesystem", NULL };
	struct descriptor *d = p->d;
	const struct ynode *sec, *caps;
	char got[80], list[256];
	size_t old;

	if (dp_get_map(p, root, "security", &sec) < 0)
		return -1;
	if (!sec)
		return 0;
	old = dp_push_key(p, "security");
	if (dp_check_keys(p, sec, keys) < 0 ||
	    dp_get_bool(p, sec, "readOnlyRootFilesystem", false, &d->read_only_root) < 0 ||
	    dp_get_list(p, sec, "capabilities", DESCRIPTOR_N_CAPABILITIES, &caps) < 0)
		return -1;
	dp_push_key(p, "capabilities");
	for (size_t i = 0; caps && i < caps->n; i++) {
		const struct ynode *v = caps->child[i];
		const char *name = v->kind == YNODE_SCALAR ? v->str : "";
		size_t o = dp_push_index(p, i);
		int k;

		if (!strncasecmp(name, "CAP_", 4))
			name += 4;
		k = v->kind == YNODE_SCALAR ?
			rule_enum_index(descriptor_capabilities, DESCRIPTOR_N_CAPABILITIES, name) : -1;
		if (k < 0) {
			rule_join_names(list, sizeof(list), descriptor_capabilities,
					DESCRIPTOR_N_CAPABILITIES);
			return dp_fail(p, v, NULL, "must be one of %s (a service gets no other "
				       "capability), got %s", list, dp_describe(v, got, sizeof(got)));
		}
		dp_pop(p, o);
		d->capabilities |= 1u << k;
	}
	dp_pop(p, old);
	return 0;
}

static int parse_ferry_extensions(struct dp *p, const struct ynode *root)
{
	static const char *const health_keys[] = { "readiness", "liveness", NULL };
	static const char *const res_keys[] = { "cpu", "memory", NULL };
	struct descriptor *d = p->d;
	const struct ynode *health, *res, *v;
	char got[80];
	size_t old;

	if (dp_get_map(p, root, "health", &health) < 0)
		return -1;
	if (health) {
		old = dp_push_key(p, "health");
		if (dp_check_keys(p, health, health_keys) < 0 ||
		    parse_probe(p, health, "readiness", &d->readiness) < 0 ||
		    parse_probe(p, health, "liveness", &d->liveness) < 0)
			return -1;
		dp_pop(p, old);
	}
	if (dp_get_int(p, root, "replicas", false, 1, 20, 1, &d->replicas) < 0 ||
	    dp_get_map(p, root, "resources", &res) < 0)
		return -1;
	if (res) {
		old = dp_push_key(p, "resources");
		if (dp_check_keys(p, res, res_keys) < 0)
			return -1;
		if ((v = dp_get(res, "cpu")) &&
		    (v->kind != YNODE_SCALAR || !rule_parse_cpu(v->str, &d->cpu_millicores)))
			return dp_fail(p, v, "cpu",
				    "must be cores like \"0.5\" or millicores like \"500m\", from 1m to 64, got %s",
				    dp_describe(v, got, sizeof(got)));
		if ((v = dp_get(res, "memory")) &&
		    (v->kind != YNODE_SCALAR || !rule_parse_memory(v->str, &d->memory_bytes)))
			return dp_fail(p, v, "memory",
				    "must be a size like \"256Mi\", \"1Gi\" or \"512M\", from 6Mi to 1Ti, got %s",
				    dp_describe(v, got, sizeof(got)));
		dp_pop(p, old);
	}
	if (dp_get_str(p, root, "schedule", false, MAX_TEXT, &d->schedule) < 0 ||
	    dp_get_str(p, root, "timezone", false, 64, &d->timezone) < 0)
		return -1;
	if (d->timezone && !rule_timezone(d->timezone))
		return dp_fail(p, dp_get(root, "timezone"), "timezone",
			    "must be a time zone name like \"Europe/Berlin\" or \"UTC\", got %s",
			    dp_describe(dp_get(root, "timezone"), got, sizeof(got)));
	return parse_security(p, root);
}

int dp_parse_ferry(struct dp *p, const struct ynode *root)
{
	static const char *const keys[] = {
		"schemaVersion", "endpoints", "dependencies", "configurations", "health",
		"replicas", "resources", "schedule", "timezone", "security", NULL,
	};
	static const int versions[] = { 10, 11, 12 };
	int v;

	p->rules = (struct dp_rules){
		.strict = true, .port_min = 1, .port_max = 65535, .base_path_required = true,
		.flat_forms = true, .config_form = true, .connection_refs = true,
		.configurations = true,
	};
	if (dp_check_keys(p, root, keys) < 0)
		return -1;
	if (dp_get(root, "schemaVersion")) {
		if (dp_schema_version(p, root, "schemaVersion", versions, N_ELEMS(versions), &v) < 0)
			return -1;
		p->d->schema_version = dsc_strdup(v == 10 ? "1.0" : v == 11 ? "1.1" : "1.2");
	}
	if (dp_endpoints(p, root, "endpoints", false) < 0 || dp_dependencies(p, root) < 0 ||
	    dp_configurations(p, root) < 0 || parse_ferry_extensions(p, root) < 0)
		return -1;
	return 0;
}
