/* descriptor_sections: the sections the descriptor formats share:
 * endpoints (component.yaml's and the legacy inbound form), dependencies
 * (connectionReferences and the legacy serviceReferences) and
 * configurations (env and file). Which parts a format knows, and its port
 * range and name rules, come from p->rules. */
#include <stdio.h>

#include "pipeline/descriptor_int.h"

#include "lib/banned.h"

static const char *const endpoint_keys[] = {
	"name", "displayName", "service", "type", "networkVisibilities", "schemaFilePath", NULL,
};
static const char *const ferry_endpoint_keys[] = {
	"name", "displayName", "service", "port", "basePath", "type",
	"networkVisibilities", "schemaFilePath", NULL,
};

static bool needs_base_path(enum endpoint_type t)
{
	return t == ENDPOINT_REST || t == ENDPOINT_GRAPHQL || t == ENDPOINT_WS;
}

static bool project_only(enum endpoint_type t)
{
	return t == ENDPOINT_GRPC || t == ENDPOINT_TCP || t == ENDPOINT_UDP;
}

static int port_field(struct dp *p, const struct ynode *map, int *port)
{
	return dp_get_int(p, map, "port", true, p->rules.port_min, p->rules.port_max, 0, port);
}

static int base_path_field(struct dp *p, const struct ynode *map, const char *key, char **out)
{
	char got[80];

	if (p->fmt == DESCRIPTOR_FERRY)
		return dp_url_path(p, map, key, out);
	if (dp_get_str(p, map, key, false, MAX_PATH, out) < 0)
		return -1;
	if (*out && !rule_choreo_path(*out))
		return dp_fail(p, dp_get(map, key), key,
			       "must start with '/' and hold only letters, digits, '-', '_' and '/', got %s",
			       dp_describe(dp_get(map, key), got, sizeof(got)));
	return 0;
}

static int visibilities(struct dp *p, const struct ynode *m, struct descriptor_endpoint *ep)
{
	const struct ynode *vis;

	if (dp_get_list(p, m, "networkVisibilities", N_ELEMS(descriptor_visibilities) * 4, &vis) < 0)
		return -1;
	for (size_t i = 0; vis && i < vis->n; i++) {
		char key[48];
		int v;

		snprintf(key, sizeof(key), "networkVisibilities[%zu]", i);
		if (dp_node_enum(p, vis->child[i], key, descriptor_visibilities,
				 N_ELEMS(descriptor_visibilities), &v) < 0)
			return -1;
		ep->visibilities |= 1u << v;
	}
	if (p->rules.project_only_types && project_only(ep->type) &&
	    ep->visibilities != VISIBILITY_PROJECT)
		return dp_fail(p, vis ? vis : m, vis ? "networkVisibilities" : NULL,
			       "a %s endpoint can only have networkVisibilities [Project]%s",
			       endpoint_type_name(ep->type), vis ? "" : " (none is given)");
	if (vis && vis->n == 0) {
		if (p->fmt == DESCRIPTOR_FERRY)
			return dp_fail(p, vis, "networkVisibilities",
				       "must name at least one of Project, Organization, Public");
		dp_warn(p, vis, "networkVisibilities", "is empty: the endpoint is Public");
	}
	if (!ep->visibilities)
		ep->visibilities = VISIBILITY_PUBLIC;
	return 0;
}

static int parse_endpoint(struct dp *p, const struct ynode *m, struct descriptor_endpoint *ep)
{
	const struct ynode *svc, *at;
	size_t old = p->path.len;
	char got[80];
	int t;

	if (dp_check_keys(p, m, p->rules.flat_forms ? ferry_endpoint_keys : endpoint_keys) < 0 ||
	    dp_get_str(p, m, "name", true, MAX_TEXT, &ep->declared_name) < 0)
		return -1;
	if (!rule_endpoint_name(ep->declared_name))
		return dp_fail(p, dp_get(m, "name"), "name",
			       "must start with a lower-case letter and hold only lower-case letters, digits, '_' and '-', at most 50 characters, got %s",
			       dp_describe(dp_get(m, "name"), got, sizeof(got)));
	if (dp_get_str(p, m, "displayName", false, p->fmt == DESCRIPTOR_FERRY ? MAX_TEXT : 50,
		       &ep->display_name) < 0 ||
	    dp_get_map(p, m, "service", &svc) < 0)
		return -1;
	if (svc) {
		static const char *const svc_keys[] = { "port", "basePath", NULL };
		const char *flat = dp_get(m, "port") ? "port" : dp_get(m, "basePath") ? "basePath" : NULL;

		if (p->rules.flat_forms && flat)
			return dp_fail(p, dp_get(m, flat), flat,
				       "give the port and base path either under service or flat, not both");
		at = svc;
		dp_push_key(p, "service");
		if (dp_check_keys(p, svc, svc_keys) < 0)
			return -1;
	} else if (p->rules.flat_forms) {
		at = m;
	} else {
		return dp_fail(p, m, "service", "is required (with port, and basePath for REST, GraphQL and WS)");
	}
	if (port_field(p, at, &ep->port) < 0 || base_path_field(p, at, "basePath", &ep->base_path) < 0)
		return -1;
	dp_pop(p, old);
	if (dp_get_enum(p, m, "type", descriptor_endpoint_types, N_ELEMS(descriptor_endpoint_types),
			-1, &t) < 0)
		return -1;
	ep->type = (enum endpoint_type)t;
	if (!ep->base_path && p->rules.base_path_required &&
	    (ep->type == ENDPOINT_REST || ep->type == ENDPOINT_GRAPHQL))
		return dp_fail(p, at, svc ? "service.basePath" : "basePath",
			       "is required for %s endpoints", endpoint_type_name(ep->type));
	if (!ep->base_path && needs_base_path(ep->type) && !p->rules.base_path_required) {
		/* Choreo made it optional in component.yaml; ferry routes to "/". */
		ep->base_path = dsc_strdup("/");
		dp_warn(p, at, "service.basePath", "not given: the %s endpoint is served at /",
			endpoint_type_name(ep->type));
	}
	if (visibilities(p, m, ep) < 0)
		return -1;
	return dp_context_file(p, m, "schemaFilePath", true, &ep->schema_file_path);
}

/* spec.inbound[] of component-config.yaml and endpoints[] of endpoints.yaml. */
static int parse_legacy_endpoint(struct dp *p, const struct ynode *m,
				 struct descriptor_endpoint *ep)
{
	static const char *const keys[] = {
		"name", "port", "type", "networkVisibility", "context", "schemaFilePath", NULL,
	};
	const struct ynode *vis;
	char got[80];
	int t, v;

	if (dp_check_keys(p, m, keys) < 0 ||
	    dp_get_str(p, m, "name", true, MAX_TEXT, &ep->declared_name) < 0 ||
	    port_field(p, m, &ep->port) < 0 ||
	    dp_get_enum(p, m, "type", descriptor_endpoint_types, N_ELEMS(descriptor_endpoint_types),
			-1, &t) < 0)
		return -1;
	ep->type = (enum endpoint_type)t;
	vis = dp_get(m, "networkVisibility");
	if (!vis) {
		ep->visibilities = VISIBILITY_PUBLIC;
	} else {
		if (dp_node_enum(p, vis, "networkVisibility", descriptor_visibilities,
				 N_ELEMS(descriptor_visibilities), &v) < 0)
			return -1;
		ep->visibilities = 1u << v;
	}
	if (dp_get_str(p, m, "context", false, MAX_PATH, &ep->base_path) < 0)
		return -1;
	if (ep->base_path && !rule_choreo_path(ep->base_path))
		return dp_fail(p, dp_get(m, "context"), "context",
			       "must start with '/' and hold only letters, digits, '-', '_' and '/', got %s",
			       dp_describe(dp_get(m, "context"), got, sizeof(got)));
	if (!ep->base_path && needs_base_path(ep->type))
		return dp_fail(p, m, "context", "is required for %s endpoints",
			       endpoint_type_name(ep->type));
	return dp_context_file(p, m, "schemaFilePath", true, &ep->schema_file_path);
}

static bool label_taken(const struct descriptor *d, size_t upto, const char *label)
{
	for (size_t j = 0; j < upto; j++)
		if (!strcmp(d->endpoints[j].name, label))
			return true;
	return false;
}

/* Gives endpoint i its DNS label: the declared name when it is one, else
 * the mapped name, made unique with "-2", "-3"... The mapping is kept
 * (declared_name) and told in a warning. */
static int map_endpoint_name(struct dp *p, const struct ynode *m, size_t i)
{
	struct descriptor_endpoint *ep = &p->d->endpoints[i];
	char *label = rule_dns_label_from(ep->declared_name);
	char got[80];

	if (!label)
		return dp_fail(p, dp_get(m, "name"), "name",
			       "needs at least one letter or digit to make an endpoint name, got %s",
			       dp_describe(dp_get(m, "name"), got, sizeof(got)));
	if (label_taken(p->d, i, label)) {
		struct strbuf sb = STRBUF_INIT;

		for (int k = 2; ; k++) {
			strbuf_reset(&sb);
			strbuf_addf(&sb, "%.*s-%d", 56, label, k);
			if (!label_taken(p->d, i, sb.buf))
				break;
		}
		free(label);
		label = strbuf_detach(&sb, NULL);
	}
	ep->name = label;
	if (!ep->display_name)
		ep->display_name = dsc_strdup(ep->declared_name);
	if (!strcmp(ep->name, ep->declared_name)) {
		free(ep->declared_name);
		ep->declared_name = NULL;
	} else {
		dp_warn(p, dp_get(m, "name"), "name",
			"\"%s\" is \"%s\" in ferry's URLs and routes (a DNS label)",
			ep->declared_name, ep->name);
	}
	return 0;
}

int dp_endpoints(struct dp *p, const struct ynode *parent, const char *key, bool legacy)
{
	struct descriptor *d = p->d;
	const struct ynode *list;
	size_t old;

	if (dp_get_list(p, parent, key, MAX_ENDPOINTS, &list) < 0)
		return -1;
	if (!list)
		return 0;
	d->endpoints = dsc_calloc(list->n, sizeof(*d->endpoints));
	old = dp_push_key(p, key);
	for (size_t i = 0; i < list->n; i++) {
		const struct ynode *m = list->child[i];
		struct descriptor_endpoint *ep = &d->endpoints[d->n_endpoints++];
		size_t o = dp_push_index(p, i);

		if (dp_want_kind(p, m, NULL, YNODE_MAP) < 0 ||
		    (legacy ? parse_legacy_endpoint(p, m, ep) : parse_endpoint(p, m, ep)) < 0)
			return -1;
		/* component.yaml's names are unique as written (the legacy
		 * formats' free-text names need not be). */
		for (size_t j = 0; !legacy && j < i; j++)
			if (!strcmp(d->endpoints[j].declared_name ? d->endpoints[j].declared_name :
				    d->endpoints[j].name, ep->declared_name))
				return dp_fail(p, dp_get(m, "name"), "name",
					       "endpoint name \"%s\" is already used by %s[%zu] (names must be unique)",
					       ep->declared_name, key, j);
		if (map_endpoint_name(p, m, i) < 0)
			return -1;
		dp_pop(p, o);
	}
	dp_pop(p, old);
	return 0;
}

/* ---- dependencies ---- */

static struct descriptor_connection *new_connection(struct descriptor *d)
{
	struct descriptor_connection *c;

	c = realloc(d->connections, (d->n_connections + 1) * sizeof(*c));
	if (!c)
		abort();
	d->connections = c;
	c = &d->connections[d->n_connections++];
	memset(c, 0, sizeof(*c));
	return c;
}

static struct descriptor_env *new_env(struct descriptor *d)
{
	struct descriptor_env *v;

	v = realloc(d->env, (d->n_env + 1) * sizeof(*v));
	if (!v)
		abort();
	d->env = v;
	v = &d->env[d->n_env++];
	memset(v, 0, sizeof(*v));
	v->required = true;
	v->type = CONFIG_STRING;
	return v;
}

static const struct descriptor_env *find_env(const struct descriptor *d, const char *name)
{
	for (size_t i = 0; i < d->n_env; i++)
		if (!strcmp(d->env[i].name, name))
			return &d->env[i];
	return NULL;
}

/* Choreo compares the names as written; blanks around them do not count. */
static char *trimmed(const char *s)
{
	size_t n;

	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || (s[n - 1] >= '\t' && s[n - 1] <= '\r')))
		n--;
	return strndup(s, n);
}

static int connection_references(struct dp *p, const struct ynode *list)
{
	static const char *const keys[] = { "name", "resourceRef", NULL };
	char got[80];

	for (size_t i = 0; i < list->n; i++) {
		const struct ynode *m = list->child[i];
		size_t o = dp_push_index(p, i);
		struct descriptor_connection *c;
		const char *why;
		char *name, *ref;

		if (dp_want_kind(p, m, NULL, YNODE_MAP) < 0 || dp_check_keys(p, m, keys) < 0 ||
		    dp_get_str(p, m, "name", true, MAX_TEXT, &name) < 0)
			return -1;
		if (!rule_connection_name(name)) {
			free(name);
			return dp_fail(p, dp_get(m, "name"), "name",
				       "must be 3 to 50 letters and digits, with single '_', '-', '.' or spaces between them, got %s",
				       dp_describe(dp_get(m, "name"), got, sizeof(got)));
		}
		ref = trimmed(name);
		free(name);
		name = ref;
		if (descriptor_connection_find(p->d, name)) {
			dp_warn(p, dp_get(m, "name"), "name",
				"connection \"%s\" is declared twice: the first is used", name);
			free(name);
			dp_pop(p, o);
			continue;
		}
		if (dp_get_str(p, m, "resourceRef", true, MAX_PATH, &ref) < 0) {
			free(name);
			return -1;
		}
		c = new_connection(p->d);
		c->name = name;
		c->resource_ref = ref;
		if (rule_resource_ref(c, ref, &why) < 0)
			return dp_fail(p, dp_get(m, "resourceRef"), "resourceRef",
				       "must be %s, got %s", why,
				       dp_describe(dp_get(m, "resourceRef"), got, sizeof(got)));
		dp_pop(p, o);
	}
	return 0;
}

int dp_service_references(struct dp *p, const struct ynode *parent)
{
	static const char *const keys[] = { "name", "connectionConfig", "env", NULL };
	static const char *const pair_keys[] = { "from", "to", NULL };
	const struct ynode *list;
	char got[80];
	size_t old;

	if (dp_get_list(p, parent, "serviceReferences", MAX_CONNECTIONS, &list) < 0)
		return -1;
	if (!list)
		return 0;
	old = dp_push_key(p, "serviceReferences");
	for (size_t i = 0; i < list->n; i++) {
		const struct ynode *m = list->child[i], *env;
		size_t o = dp_push_index(p, i), oe;
		struct descriptor_connection *c;
		const char *why;
		char *name;

		if (dp_want_kind(p, m, NULL, YNODE_MAP) < 0 || dp_check_keys(p, m, keys) < 0 ||
		    dp_get_str(p, m, "name", true, MAX_PATH, &name) < 0)
			return -1;
		if (descriptor_connection_find(p->d, name)) {
			dp_fail(p, dp_get(m, "name"), "name", "\"%s\" is referenced twice", name);
			free(name);
			return -1;
		}
		c = new_connection(p->d);
		c->name = name;
		c->resource_ref = dsc_strdup(name);
		if (rule_service_ref(c, name, &why) < 0)
			return dp_fail(p, dp_get(m, "name"), "name", "must be %s, got %s", why,
				       dp_describe(dp_get(m, "name"), got, sizeof(got)));
		if (dp_get_str(p, m, "connectionConfig", true, MAX_TEXT, &c->connection_config) < 0)
			return -1;
		if (!rule_uuid(c->connection_config))
			return dp_fail(p, dp_get(m, "connectionConfig"), "connectionConfig",
				       "must be a UUID, got %s",
				       dp_describe(dp_get(m, "connectionConfig"), got, sizeof(got)));
		if (!dp_get(m, "env"))
			return dp_fail(p, m, "env", "is required (a list of {from, to})");
		if (dp_get_list(p, m, "env", MAX_ENV, &env) < 0)
			return -1;
		oe = dp_push_key(p, "env");
		for (size_t k = 0; k < env->n; k++) {
			const struct ynode *pair = env->child[k];
			size_t op = dp_push_index(p, k);
			struct descriptor_env *v;
			char *to;

			if (dp_want_kind(p, pair, NULL, YNODE_MAP) < 0 ||
			    dp_check_keys(p, pair, pair_keys) < 0 ||
			    dp_get_str(p, pair, "to", true, 255, &to) < 0)
				return -1;
			if (!rule_env_name(to) || find_env(p->d, to)) {
				dp_fail(p, dp_get(pair, "to"), "to",
					rule_env_name(to) ? "environment variable %s is set twice" :
					"must be an environment variable name (letters, digits and '_', not starting with a digit), got \"%s\"",
					to);
				free(to);
				return -1;
			}
			v = new_env(p->d);
			v->name = to;
			v->display_name = dsc_strdup(to);
			v->connection_name = dsc_strdup(c->name);
			if (dp_get_str(p, pair, "from", true, MAX_TEXT, &v->connection_key) < 0)
				return -1;
			dp_pop(p, op);
		}
		dp_pop(p, oe);
		dp_pop(p, o);
	}
	dp_pop(p, old);
	return 0;
}

int dp_dependencies(struct dp *p, const struct ynode *root)
{
	static const char *const keys[] = { "serviceReferences", "connectionReferences", NULL };
	static const char *const keys_1_0[] = { "serviceReferences", NULL };
	const struct ynode *deps, *list;
	size_t old;

	if (dp_get_map(p, root, "dependencies", &deps) < 0)
		return -1;
	if (!deps)
		return 0;
	old = dp_push_key(p, "dependencies");
	if (dp_check_keys(p, deps, p->rules.connection_refs ? keys : keys_1_0) < 0 ||
	    dp_service_references(p, deps) < 0)
		return -1;
	if (p->rules.connection_refs) {
		if (dp_get_list(p, deps, "connectionReferences", MAX_CONNECTIONS, &list) < 0)
			return -1;
		if (list) {
			size_t o = dp_push_key(p, "connectionReferences");

			if (connection_references(p, list) < 0)
				return -1;
			dp_pop(p, o);
		}
	}
	dp_pop(p, old);
	return 0;
}

/* ---- configurations ---- */

static int config_form(struct dp *p, const struct ynode *m, struct descriptor_env *env)
{
	const struct ynode *t;
	int i;

	if (dp_get_str(p, m, "displayName", false, MAX_TEXT, &env->display_name) < 0 ||
	    dp_get_bool(p, m, "required", true, &env->required) < 0)
		return -1;
	t = dp_get(m, "type");
	if (!t)
		return 0;
	if (p->rules.strict) {
		if (dp_get_enum(p, m, "type", descriptor_config_types,
				N_ELEMS(descriptor_config_types), CONFIG_STRING, &i) < 0)
			return -1;
		env->type = (enum config_type)i;
		return 0;
	}
	/* Choreo's validator takes any type; the documented ones are read and
	 * others are strings, with a warning. */
	i = t->kind == YNODE_SCALAR ?
		rule_enum_index(descriptor_config_types, N_ELEMS(descriptor_config_types), t->str) : -1;
	if (i < 0) {
		char list[128], got[80];

		rule_join_names(list, sizeof(list), descriptor_config_types,
				N_ELEMS(descriptor_config_types));
		dp_warn(p, t, "type", "%s is not one of %s: read as string",
			dp_describe(t, got, sizeof(got)), list);
		i = CONFIG_STRING;
	}
	env->type = (enum config_type)i;
	return 0;
}

static int name_key_ref(struct dp *p, const struct ynode *ref, char **name, char **key)
{
	static const char *const keys[] = { "name", "key", NULL };

	if (dp_check_keys(p, ref, keys) < 0 || dp_get_str(p, ref, "name", true, MAX_NAME, name) < 0 ||
	    dp_get_str(p, ref, "key", true, MAX_TEXT, key) < 0)
		return -1;
	return 0;
}

static int value_from(struct dp *p, const struct ynode *from, struct descriptor_env *env)
{
	static const char *const keys[] = {
		"connectionRef", "configGroupRef", "configForm", NULL,
	};
	static const char *const keys_1_1[] = { "connectionRef", "configGroupRef", NULL };
	const struct ynode *conn, *group, *form = NULL;
	size_t old = dp_push_key(p, "valueFrom");
	char got[80];
	int given;

	if (dp_check_keys(p, from, p->rules.config_form ? keys : keys_1_1) < 0 ||
	    dp_get_map(p, from, "connectionRef", &conn) < 0 ||
	    dp_get_map(p, from, "configGroupRef", &group) < 0 ||
	    (p->rules.config_form && dp_get_map(p, from, "configForm", &form) < 0))
		return -1;
	given = !!conn + !!group + !!form;
	if (given > 1) {
		if (p->rules.strict)
			return dp_fail(p, from, NULL,
				       "give one of connectionRef, configGroupRef or configForm");
		dp_warn(p, from, NULL, "gives %d sources: %s is used", given,
			conn ? "connectionRef" : "configGroupRef");
	}
	if (conn) {
		dp_push_key(p, "connectionRef");
		if (name_key_ref(p, conn, &env->connection_name, &env->connection_key) < 0)
			return -1;
		if (!descriptor_connection_find(p->d, env->connection_name))
			return dp_fail(p, dp_get(conn, "name"), "name",
				       "names no connection declared in dependencies, got %s",
				       dp_describe(dp_get(conn, "name"), got, sizeof(got)));
	} else if (group) {
		dp_push_key(p, "configGroupRef");
		if (name_key_ref(p, group, &env->group_name, &env->group_key) < 0)
			return -1;
	} else if (form) {
		dp_push_key(p, "configForm");
		if (dp_check_keys(p, form, (const char *const[]){ "displayName", "required",
				  "type", "properties", "values", NULL }) < 0 ||
		    config_form(p, form, env) < 0)
			return -1;
	} else if (!env->value) {
		dp_pop(p, old);
		return dp_fail(p, from, "valueFrom", "must hold %s",
			       p->rules.config_form ? "connectionRef, configGroupRef or configForm" :
			       "connectionRef or configGroupRef (configForm needs schemaVersion 1.2)");
	}
	dp_pop(p, old);
	return 0;
}

static int parse_env(struct dp *p, const struct ynode *m, struct descriptor_env *env)
{
	static const char *const keys[] = { "name", "value", "valueFrom", NULL };
	static const char *const ferry_keys[] = {
		"name", "value", "valueFrom", "displayName", "required", "type", NULL,
	};
	static const char *const flat[] = { "displayName", "required", "type" };
	const struct ynode *from, *value;
	char got[80];

	if (dp_check_keys(p, m, p->rules.flat_forms ? ferry_keys : keys) < 0 ||
	    dp_get_str(p, m, "name", true, 255, &env->name) < 0)
		return -1;
	if (!rule_env_name(env->name))
		return dp_fail(p, dp_get(m, "name"), "name",
			       "must be letters, digits and '_', not starting with a digit, got %s",
			       dp_describe(dp_get(m, "name"), got, sizeof(got)));
	value = dp_get(m, "value");
	if (value) {
		if (dp_want_kind(p, value, "value", YNODE_SCALAR) < 0)
			return -1;
		if (value->len > 0)
			env->value = dsc_strdup(value->str);
	}
	if (dp_get_map(p, m, "valueFrom", &from) < 0)
		return -1;
	if (from) {
		for (size_t i = 0; p->rules.flat_forms && i < N_ELEMS(flat); i++)
			if (dp_get(m, flat[i]))
				return dp_fail(p, dp_get(m, flat[i]), flat[i],
					       "give it under valueFrom.configForm or flat, not both");
		return value_from(p, from, env);
	}
	if (p->rules.flat_forms)
		return config_form(p, m, env);
	if (!env->value)
		return dp_fail(p, m, "valueFrom", "is required unless a value is given (%s)",
			       p->rules.config_form ?
			       "value, or valueFrom with connectionRef, configGroupRef or configForm" :
			       "value, or valueFrom with connectionRef or configGroupRef");
	return 0;
}

static int parse_file(struct dp *p, const struct ynode *m, struct descriptor_file *f)
{
	static const char *const ferry_keys[] = {
		"name", "mountPath", "displayName", "required", "type", NULL,
	};
	/* Choreo's file configurations carry a file type (yaml, toml...) and
	 * their form's values; ferry takes the content as one value. */
	static const char *const keys[] = {
		"name", "mountPath", "type", "value", "values", "valueFrom", "displayName",
		"required", NULL,
	};
	char got[80];
	int t = 0;

	f->required = true;
	f->type = CONFIG_STRING;
	if (dp_check_keys(p, m, p->rules.strict ? ferry_keys : keys) < 0 ||
	    dp_get_str(p, m, "name", true, MAX_NAME, &f->name) < 0 ||
	    dp_get_str(p, m, "mountPath", true, MAX_MOUNT_PATH, &f->mount_path) < 0)
		return -1;
	if (!rule_simple_name(f->name))
		return dp_fail(p, dp_get(m, "name"), "name",
			       "must use only letters, digits, '.', '_' and '-', got %s",
			       dp_describe(dp_get(m, "name"), got, sizeof(got)));
	if (!rule_mount_path(f->mount_path))
		return dp_fail(p, dp_get(m, "mountPath"), "mountPath",
			       "must be an absolute path without empty, \".\" or \"..\" parts, got %s",
			       dp_describe(dp_get(m, "mountPath"), got, sizeof(got)));
	if (dp_get_str(p, m, "displayName", false, MAX_TEXT, &f->display_name) < 0 ||
	    dp_get_bool(p, m, "required", true, &f->required) < 0)
		return -1;
	if (p->rules.strict &&
	    dp_get_enum(p, m, "type", descriptor_file_types, N_ELEMS(descriptor_file_types), 0, &t) < 0)
		return -1;
	f->type = descriptor_file_config_types[t];
	if (!f->display_name)
		f->display_name = dsc_strdup(f->name);
	return 0;
}

static int env_list(struct dp *p, const struct ynode *list)
{
	size_t o = dp_push_key(p, "env");

	for (size_t i = 0; i < list->n; i++) {
		const struct ynode *m = list->child[i];
		size_t oi = dp_push_index(p, i);
		const struct descriptor_env *dup;
		struct descriptor_env *ev;

		if (dp_want_kind(p, m, NULL, YNODE_MAP) < 0)
			return -1;
		ev = new_env(p->d);
		if (parse_env(p, m, ev) < 0)
			return -1;
		p->d->n_env--; /* find_env must not find ev itself */
		dup = find_env(p->d, ev->name);
		p->d->n_env++;
		if (dup)
			return dp_fail(p, dp_get(m, "name"), "name",
				       "environment variable %s is declared twice", ev->name);
		if (!ev->display_name)
			ev->display_name = dsc_strdup(ev->name);
		dp_pop(p, oi);
	}
	dp_pop(p, o);
	return 0;
}

static int file_list(struct dp *p, const struct ynode *list)
{
	struct descriptor *d = p->d;
	size_t o = dp_push_key(p, "file");

	d->files = dsc_calloc(list->n, sizeof(*d->files));
	for (size_t i = 0; i < list->n; i++) {
		const struct ynode *m = list->child[i];
		struct descriptor_file *f = &d->files[d->n_files++];
		size_t oi = dp_push_index(p, i);

		if (dp_want_kind(p, m, NULL, YNODE_MAP) < 0 || parse_file(p, m, f) < 0)
			return -1;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(d->files[j].name, f->name))
				return dp_fail(p, dp_get(m, "name"), "name",
					       "file configuration \"%s\" is declared twice", f->name);
			if (!strcmp(d->files[j].mount_path, f->mount_path))
				return dp_fail(p, dp_get(m, "mountPath"), "mountPath",
					       "%s is already the mount path of file[%zu]",
					       f->mount_path, j);
		}
		dp_pop(p, oi);
	}
	dp_pop(p, o);
	return 0;
}

int dp_configurations(struct dp *p, const struct ynode *root)
{
	static const char *const keys[] = { "env", "file", NULL };
	const struct ynode *conf, *env, *files;
	const char *key = "configurations";
	size_t old;

	/* Choreo reads "configuration" as an alias. */
	if (!p->rules.strict && !dp_get(root, key) && dp_get(root, "configuration"))
		key = "configuration";
	else if (!p->rules.strict && dp_get(root, "configuration"))
		dp_warn(p, ynode_map_key_of(root, dp_get(root, "configuration")), "configuration",
			"is ignored: configurations is given too");
	if (dp_get_map(p, root, key, &conf) < 0)
		return -1;
	if (!conf)
		return 0;
	old = dp_push_key(p, key);
	if (dp_check_keys(p, conf, keys) < 0 || dp_get_list(p, conf, "env", MAX_ENV, &env) < 0 ||
	    dp_get_list(p, conf, "file", MAX_FILES, &files) < 0)
		return -1;
	if ((env && env_list(p, env) < 0) || (files && file_list(p, files) < 0))
		return -1;
	dp_pop(p, old);
	return 0;
}
