/* descriptor_json: a parsed descriptor as stored with its build, and read
 * back as strictly as a file. Keys added later (declared names, connection
 * parts, values, groups, proxy, warnings) are optional when read, so that
 * descriptors stored before them still load. */
#include <stdio.h>

#include "pipeline/descriptor_int.h"

#include "lib/banned.h"

static json_t *jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *probe_to_json(const struct descriptor_probe *pr)
{
	json_t *o;

	if (pr->kind == PROBE_NONE)
		return json_null();
	o = json_pack("{s:s, s:i, s:i, s:i, s:i}", "kind", probe_kind_name(pr->kind),
		      "period_seconds", pr->period_seconds,
		      "timeout_seconds", pr->timeout_seconds,
		      "failure_threshold", pr->failure_threshold,
		      "initial_delay_seconds", pr->initial_delay_seconds);
	if (pr->kind == PROBE_HTTP)
		json_object_set_new(o, "path", json_string(pr->http_path));
	if (pr->kind == PROBE_HTTP || pr->kind == PROBE_TCP)
		json_object_set_new(o, "port", json_integer(pr->port));
	if (pr->kind == PROBE_EXEC) {
		json_t *a = json_array();

		for (size_t i = 0; i < pr->exec_argc; i++)
			json_array_append_new(a, json_string(pr->exec_argv[i]));
		json_object_set_new(o, "command", a);
	}
	return o;
}

json_t *descriptor_to_json(const struct descriptor *d)
{
	json_t *o = json_object(), *a;

	json_object_set_new(o, "format", json_string(descriptor_format_name(d->format)));
	json_object_set_new(o, "file", jstr_or_null(d->file));
	json_object_set_new(o, "schema_version", jstr_or_null(d->schema_version));

	a = json_array();
	for (size_t i = 0; i < d->n_endpoints; i++) {
		const struct descriptor_endpoint *ep = &d->endpoints[i];
		json_t *vis = json_array();

		for (size_t v = 0; v < N_ELEMS(descriptor_visibilities); v++)
			if (ep->visibilities & (1u << v))
				json_array_append_new(vis, json_string(descriptor_visibilities[v]));
		json_array_append_new(a, json_pack("{s:s, s:o, s:s, s:i, s:o, s:s, s:o, s:o}",
			"name", ep->name, "declared_name", jstr_or_null(ep->declared_name),
			"display_name", ep->display_name, "port", ep->port,
			"base_path", jstr_or_null(ep->base_path),
			"type", endpoint_type_name(ep->type), "network_visibilities", vis,
			"schema_file_path", jstr_or_null(ep->schema_file_path)));
	}
	json_object_set_new(o, "endpoints", a);

	a = json_array();
	for (size_t i = 0; i < d->n_connections; i++) {
		const struct descriptor_connection *c = &d->connections[i];

		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			"name", c->name, "resource_ref", c->resource_ref,
			"kind", connection_kind_name(c->kind), "project", jstr_or_null(c->project),
			"component", jstr_or_null(c->component), "version", jstr_or_null(c->version),
			"endpoint", jstr_or_null(c->endpoint), "visibility", jstr_or_null(c->visibility),
			"target", jstr_or_null(c->target),
			"connection_config", jstr_or_null(c->connection_config)));
	}
	json_object_set_new(o, "connection_references", a);

	a = json_array();
	for (size_t i = 0; i < d->n_env; i++) {
		const struct descriptor_env *ev = &d->env[i];
		json_t *ref = ev->connection_name ?
			json_pack("{s:s, s:s}", "name", ev->connection_name, "key",
				  ev->connection_key) : json_null();
		json_t *group = ev->group_name ?
			json_pack("{s:s, s:s}", "name", ev->group_name, "key", ev->group_key) :
			json_null();

		json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:s, s:o, s:o, s:o}",
			"name", ev->name, "display_name", ev->display_name,
			"required", ev->required, "type", config_type_name(ev->type),
			"value", jstr_or_null(ev->value), "connection_ref", ref,
			"config_group_ref", group));
	}
	json_object_set_new(o, "env", a);

	a = json_array();
	for (size_t i = 0; i < d->n_files; i++) {
		const struct descriptor_file *f = &d->files[i];

		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:b, s:s}",
			"name", f->name, "display_name", f->display_name,
			"mount_path", f->mount_path, "required", f->required,
			"type", config_type_name(f->type)));
	}
	json_object_set_new(o, "files", a);

	json_object_set_new(o, "proxy", !d->proxy ? json_null() :
		json_pack("{s:s, s:s, s:o, s:o}", "type", endpoint_type_name(d->proxy->type),
			  "schema_file_path", d->proxy->schema_file_path,
			  "doc_path", jstr_or_null(d->proxy->doc_path),
			  "thumbnail_path", jstr_or_null(d->proxy->thumbnail_path)));
	a = json_array();
	for (size_t i = 0; i < d->n_warnings; i++)
		json_array_append_new(a, json_string(d->warnings[i]));
	json_object_set_new(o, "warnings", a);

	json_object_set_new(o, "health", json_pack("{s:o, s:o}",
		"readiness", probe_to_json(&d->readiness),
		"liveness", probe_to_json(&d->liveness)));
	json_object_set_new(o, "replicas", json_integer(d->replicas));
	json_object_set_new(o, "resources", json_pack("{s:o, s:o}",
		"cpu_millicores", d->cpu_millicores ? json_integer(d->cpu_millicores) : json_null(),
		"memory_bytes", d->memory_bytes ? json_integer(d->memory_bytes) : json_null()));
	json_object_set_new(o, "schedule", jstr_or_null(d->schedule));
	json_object_set_new(o, "timezone", jstr_or_null(d->timezone));
	a = json_array();
	for (int i = 0; i < DESCRIPTOR_N_CAPABILITIES; i++)
		if (d->capabilities & (1u << i))
			json_array_append_new(a, json_string(descriptor_capabilities[i]));
	json_object_set_new(o, "security", json_pack("{s:o, s:b}", "capabilities", a,
		"read_only_root_filesystem", d->read_only_root));
	return o;
}

/* Reading back: the JSON came from descriptor_to_json, normally through the
 * store, but is checked as strictly as a file would be. */
struct jr {
	struct ferr *e;
	char field[160];
};

static int jfail(struct jr *r, const char *key, const char *what)
{
	return ferr_invalid(r->e, "stored descriptor: %s%s%s: %s", r->field,
			    r->field[0] && key ? "." : "", key ? key : "", what);
}

static int jstr(struct jr *r, const json_t *o, const char *key, bool required,
		size_t max, char **out)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return required ? jfail(r, key, "is missing") : 0;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return jfail(r, key, "must be a non-empty string");
	*out = dsc_strdup(json_string_value(v));
	return 0;
}

static int jint(struct jr *r, const json_t *o, const char *key, long long min,
		long long max, long long *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return jfail(r, key, "must be an integer in range");
	*out = json_integer_value(v);
	return 0;
}

static int jint32(struct jr *r, const json_t *o, const char *key, long long min,
		  long long max, int *out)
{
	long long v = 0;

	if (jint(r, o, key, min, max, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

static int jbool(struct jr *r, const json_t *o, const char *key, bool *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_boolean(v))
		return jfail(r, key, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

static int jenum(struct jr *r, const json_t *o, const char *key,
		 const char *const names[], size_t n, int *out)
{
	const char *s = json_string_value(json_object_get(o, key));

	for (size_t i = 0; s && i < n; i++) {
		if (!strcmp(names[i], s)) {
			*out = (int)i;
			return 0;
		}
	}
	return jfail(r, key, "has an unknown value");
}

static const json_t *jarray(struct jr *r, const json_t *o, const char *key, size_t max)
{
	const json_t *a = json_object_get(o, key);

	if (!json_is_array(a) || json_array_size(a) > max) {
		jfail(r, key, "must be a list");
		return NULL;
	}
	return a;
}

static void jfield(struct jr *r, const char *key, size_t i)
{
	snprintf(r->field, sizeof(r->field), "%s[%zu]", key, i);
}

static int probe_from_json(struct jr *r, const json_t *o, const char *key,
			   struct descriptor_probe *pr)
{
	const json_t *cmd;
	int k;

	snprintf(r->field, sizeof(r->field), "health.%s", key);
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o) ||
	    jenum(r, o, "kind", descriptor_probe_kinds, N_ELEMS(descriptor_probe_kinds), &k) < 0 ||
	    k == PROBE_NONE)
		return jfail(r, "kind", "must be http, tcp or exec");
	pr->kind = (enum probe_kind)k;
	if (jint32(r, o, "period_seconds", 1, 3600, &pr->period_seconds) < 0 ||
	    jint32(r, o, "timeout_seconds", 1, 3600, &pr->timeout_seconds) < 0 ||
	    jint32(r, o, "failure_threshold", 1, 100, &pr->failure_threshold) < 0 ||
	    jint32(r, o, "initial_delay_seconds", 0, 3600, &pr->initial_delay_seconds) < 0)
		return -1;
	if (pr->kind == PROBE_HTTP &&
	    (jstr(r, o, "path", true, MAX_PATH, &pr->http_path) < 0 || !rule_url_path(pr->http_path)))
		return jfail(r, "path", "must be an URL path");
	if ((pr->kind == PROBE_HTTP || pr->kind == PROBE_TCP) &&
	    jint32(r, o, "port", 1, 65535, &pr->port) < 0)
		return -1;
	if (pr->kind == PROBE_EXEC) {
		cmd = jarray(r, o, "command", MAX_EXEC_ARGS);
		if (!cmd || json_array_size(cmd) == 0)
			return jfail(r, "command", "must be a non-empty list");
		pr->exec_argv = dsc_calloc(json_array_size(cmd) + 1, sizeof(char *));
		for (size_t i = 0; i < json_array_size(cmd); i++) {
			const json_t *a = json_array_get(cmd, i);

			if (!json_is_string(a) || json_string_length(a) > MAX_ARG ||
			    strlen(json_string_value(a)) != json_string_length(a) ||
			    (i == 0 && json_string_length(a) == 0))
				return jfail(r, "command", "must hold strings");
			pr->exec_argv[pr->exec_argc++] = dsc_strdup(json_string_value(a));
		}
	}
	return 0;
}

/* "endpoints": unique DNS-label names, each with its visibilities. */
static int endpoints_from_json(struct jr *r, struct descriptor *d, const json_t *j)
{
	const json_t *a;
	int x;

	if (!(a = jarray(r, j, "endpoints", MAX_ENDPOINTS)))
		return -1;
	d->endpoints = dsc_calloc(json_array_size(a), sizeof(*d->endpoints));
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *o = json_array_get(a, i), *vis;
		struct descriptor_endpoint *ep = &d->endpoints[d->n_endpoints++];
		char *sfp;

		jfield(r, "endpoints", i);
		if (jstr(r, o, "name", true, 63, &ep->name) < 0 || !rule_dns_label(ep->name))
			return jfail(r, "name", "must be a DNS label");
		if (jstr(r, o, "declared_name", false, MAX_TEXT, &ep->declared_name) < 0 ||
		    jstr(r, o, "display_name", true, MAX_TEXT, &ep->display_name) < 0 ||
		    jint32(r, o, "port", 1, 65535, &ep->port) < 0 ||
		    jenum(r, o, "type", descriptor_endpoint_types, N_ELEMS(descriptor_endpoint_types), &x) < 0)
			return -1;
		ep->type = (enum endpoint_type)x;
		if (jstr(r, o, "base_path", false, MAX_PATH, &ep->base_path) < 0 ||
		    (ep->base_path && !rule_url_path(ep->base_path)) ||
		    (!ep->base_path && (ep->type == ENDPOINT_REST || ep->type == ENDPOINT_GRAPHQL)))
			return jfail(r, "base_path", "must be an URL path, and is required for REST and GraphQL");
		if (jstr(r, o, "schema_file_path", false, MAX_PATH, &ep->schema_file_path) < 0)
			return -1;
		if (ep->schema_file_path) {
			sfp = rule_context_path(ep->schema_file_path);
			if (!sfp || strcmp(sfp, ep->schema_file_path)) {
				free(sfp);
				return jfail(r, "schema_file_path", "must be a normalised relative path");
			}
			free(sfp);
		}
		if (!(vis = jarray(r, o, "network_visibilities", N_ELEMS(descriptor_visibilities))))
			return -1;
		for (size_t k = 0; k < json_array_size(vis); k++) {
			const char *s = json_string_value(json_array_get(vis, k));
			int b = s ? rule_enum_index(descriptor_visibilities, N_ELEMS(descriptor_visibilities), s) : -1;

			if (b < 0 || strcmp(s, descriptor_visibilities[b]))
				return jfail(r, "network_visibilities", "has an unknown value");
			ep->visibilities |= 1u << b;
		}
		if (!ep->visibilities)
			return jfail(r, "network_visibilities", "must not be empty");
		for (size_t k = 0; k < i; k++)
			if (!strcmp(d->endpoints[k].name, ep->name))
				return jfail(r, "name", "is used twice");
	}
	return 0;
}

/* "connection_references", each name unique. */
static int connections_from_json(struct jr *r, struct descriptor *d, const json_t *j)
{
	const json_t *a;
	int x;

	if (!(a = jarray(r, j, "connection_references", MAX_CONNECTIONS)))
		return -1;
	d->connections = dsc_calloc(json_array_size(a), sizeof(*d->connections));
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *o = json_array_get(a, i);
		struct descriptor_connection *c = &d->connections[d->n_connections++];

		jfield(r, "connection_references", i);
		if (jstr(r, o, "name", true, MAX_PATH, &c->name) < 0 || descriptor_connection_find(d, c->name) != c)
			return jfail(r, "name", "must be a unique name");
		if (jstr(r, o, "resource_ref", true, MAX_PATH, &c->resource_ref) < 0)
			return -1;
		/* Written before kinds were kept: a service reference. */
		if (json_object_get(o, "kind") &&
		    jenum(r, o, "kind", descriptor_connection_kinds,
			  N_ELEMS(descriptor_connection_kinds), &x) < 0)
			return -1;
		c->kind = json_object_get(o, "kind") ? (enum connection_kind)x : CONNECTION_SERVICE;
		if (jstr(r, o, "project", false, MAX_NAME, &c->project) < 0 ||
		    jstr(r, o, "component", false, MAX_NAME, &c->component) < 0 ||
		    jstr(r, o, "version", false, MAX_NAME, &c->version) < 0 ||
		    jstr(r, o, "endpoint", false, MAX_NAME, &c->endpoint) < 0 ||
		    jstr(r, o, "visibility", false, MAX_NAME, &c->visibility) < 0 ||
		    jstr(r, o, "target", false, MAX_PATH, &c->target) < 0 ||
		    jstr(r, o, "connection_config", false, MAX_NAME, &c->connection_config) < 0)
			return -1;
	}
	return 0;
}

/* "env": unique names; a connection_ref names a declared connection. */
static int env_from_json(struct jr *r, struct descriptor *d, const json_t *j)
{
	const json_t *a;
	int x;

	if (!(a = jarray(r, j, "env", MAX_ENV)))
		return -1;
	d->env = dsc_calloc(json_array_size(a), sizeof(*d->env));
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *o = json_array_get(a, i), *ref;
		struct descriptor_env *ev = &d->env[d->n_env++];

		jfield(r, "env", i);
		if (jstr(r, o, "name", true, 255, &ev->name) < 0 || !rule_env_name(ev->name))
			return jfail(r, "name", "must be an environment variable name");
		for (size_t k = 0; k < i; k++)
			if (!strcmp(d->env[k].name, ev->name))
				return jfail(r, "name", "is used twice");
		if (jstr(r, o, "display_name", true, MAX_TEXT, &ev->display_name) < 0 ||
		    jbool(r, o, "required", &ev->required) < 0 ||
		    jenum(r, o, "type", descriptor_config_types, N_ELEMS(descriptor_config_types), &x) < 0)
			return -1;
		ev->type = (enum config_type)x;
		ref = json_object_get(o, "connection_ref");
		if (ref && !json_is_null(ref)) {
			if (!json_is_object(ref))
				return jfail(r, "connection_ref", "must be an object or null");
			if (jstr(r, ref, "name", true, MAX_NAME, &ev->connection_name) < 0 ||
			    jstr(r, ref, "key", true, MAX_TEXT, &ev->connection_key) < 0)
				return -1;
			if (!descriptor_connection_find(d, ev->connection_name))
				return jfail(r, "connection_ref.name", "names no declared connection");
		}
		ref = json_object_get(o, "config_group_ref");
		if (ref && !json_is_null(ref)) {
			if (!json_is_object(ref))
				return jfail(r, "config_group_ref", "must be an object or null");
			if (jstr(r, ref, "name", true, MAX_NAME, &ev->group_name) < 0 ||
			    jstr(r, ref, "key", true, MAX_TEXT, &ev->group_key) < 0)
				return -1;
		}
		if (json_is_string(json_object_get(o, "value")))
			ev->value = dsc_strdup(json_string_value(json_object_get(o, "value")));
	}
	return 0;
}

/* "files": names and mount paths unique. */
static int files_from_json(struct jr *r, struct descriptor *d, const json_t *j)
{
	const json_t *a;
	int x;

	if (!(a = jarray(r, j, "files", MAX_FILES)))
		return -1;
	d->files = dsc_calloc(json_array_size(a), sizeof(*d->files));
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *o = json_array_get(a, i);
		struct descriptor_file *f = &d->files[d->n_files++];

		jfield(r, "files", i);
		if (jstr(r, o, "name", true, MAX_NAME, &f->name) < 0 || !rule_simple_name(f->name))
			return jfail(r, "name", "must be a simple name");
		if (jstr(r, o, "mount_path", true, MAX_MOUNT_PATH, &f->mount_path) < 0 ||
		    !rule_mount_path(f->mount_path))
			return jfail(r, "mount_path", "must be an absolute path");
		for (size_t k = 0; k < i; k++)
			if (!strcmp(d->files[k].name, f->name) ||
			    !strcmp(d->files[k].mount_path, f->mount_path))
				return jfail(r, "name", "name or mount path is used twice");
		if (jstr(r, o, "display_name", true, MAX_TEXT, &f->display_name) < 0 ||
		    jbool(r, o, "required", &f->required) < 0 ||
		    jenum(r, o, "type", descriptor_file_types, N_ELEMS(descriptor_file_types), &x) < 0)
			return -1;
		f->type = descriptor_file_config_types[x];
	}
	return 0;
}

/* "proxy" (may be null) and "warnings". */
static int proxy_warnings_from_json(struct jr *r, struct descriptor *d, const json_t *j)
{
	const json_t *v;
	int x;

	r->field[0] = '\0';
	v = json_object_get(j, "proxy");
	if (v && !json_is_null(v)) {
		d->proxy = dsc_calloc(1, sizeof(*d->proxy));
		snprintf(r->field, sizeof(r->field), "proxy");
		if (jenum(r, v, "type", descriptor_endpoint_types, 1, &x) < 0 ||
		    jstr(r, v, "schema_file_path", true, MAX_PATH, &d->proxy->schema_file_path) < 0 ||
		    jstr(r, v, "doc_path", false, MAX_PATH, &d->proxy->doc_path) < 0 ||
		    jstr(r, v, "thumbnail_path", false, MAX_PATH, &d->proxy->thumbnail_path) < 0)
			return -1;
		d->proxy->type = ENDPOINT_REST;
		r->field[0] = '\0';
	}
	v = json_object_get(j, "warnings");
	if (v && json_array_size(v)) {
		if (!json_is_array(v) || json_array_size(v) > DESCRIPTOR_MAX_WARNINGS)
			return jfail(r, "warnings", "must be a list of at most 64 strings");
		d->warnings = dsc_calloc(json_array_size(v), sizeof(char *));
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (!json_is_string(json_array_get(v, i)))
				return jfail(r, "warnings", "must hold strings");
			d->warnings[d->n_warnings++] = dsc_strdup(json_string_value(json_array_get(v, i)));
		}
	}
	return 0;
}

/* "health", "replicas", "resources", "schedule" and "timezone". */
static int runtime_from_json(struct jr *r, struct descriptor *d, const json_t *j)
{
	const json_t *h, *res, *v;

	h = json_object_get(j, "health");
	if (!json_is_object(h))
		return jfail(r, "health", "must be an object");
	if (probe_from_json(r, json_object_get(h, "readiness"), "readiness", &d->readiness) < 0 ||
	    probe_from_json(r, json_object_get(h, "liveness"), "liveness", &d->liveness) < 0)
		return -1;
	r->field[0] = '\0';
	if (jint32(r, j, "replicas", 1, 20, &d->replicas) < 0)
		return -1;
	res = json_object_get(j, "resources");
	if (!json_is_object(res))
		return jfail(r, "resources", "must be an object");
	snprintf(r->field, sizeof(r->field), "resources");
	v = json_object_get(res, "cpu_millicores");
	if (v && !json_is_null(v)) {
		long long c;

		if (jint(r, res, "cpu_millicores", 1, 64000, &c) < 0)
			return -1;
		d->cpu_millicores = c;
	}
	v = json_object_get(res, "memory_bytes");
	if (v && !json_is_null(v)) {
		long long m;

		if (jint(r, res, "memory_bytes", MEMORY_MIN, MEMORY_MAX, &m) < 0)
			return -1;
		d->memory_bytes = m;
	}
	r->field[0] = '\0';
	if (jstr(r, j, "schedule", false, MAX_TEXT, &d->schedule) < 0 ||
	    jstr(r, j, "timezone", false, 64, &d->timezone) < 0)
		return -1;
	if (d->timezone && !rule_timezone(d->timezone))
		return jfail(r, "timezone", "must be a time zone name");
	return 0;
}

/* "security", absent in descriptors stored before it existed: the defaults. */
static int security_from_json(struct jr *r, struct descriptor *d, const json_t *j)
{
	const json_t *v;

	v = json_object_get(j, "security");
	if (v && !json_is_null(v)) {
		const json_t *caps;
		int k;

		if (!json_is_object(v))
			return jfail(r, "security", "must be an object");
		snprintf(r->field, sizeof(r->field), "security");
		if (json_object_get(v, "read_only_root_filesystem") &&
		    jbool(r, v, "read_only_root_filesystem", &d->read_only_root) < 0)
			return -1;
		caps = json_object_get(v, "capabilities");
		if (caps && !json_is_array(caps))
			return jfail(r, "capabilities", "must be a list");
		for (size_t i = 0; i < json_array_size(caps); i++) {
			const json_t *c = json_array_get(caps, i);

			k = json_is_string(c) ? rule_enum_index(descriptor_capabilities,
				DESCRIPTOR_N_CAPABILITIES, json_string_value(c)) : -1;
			if (k < 0)
				return jfail(r, "capabilities", "must hold capability names");
			d->capabilities |= 1u << k;
		}
		r->field[0] = '\0';
	}
	return 0;
}

static int from_json(struct jr *r, struct descriptor *d, const json_t *j)
{
	int x;

	if (!json_is_object(j))
		return jfail(r, NULL, "must be a JSON object");
	if (jenum(r, j, "format", descriptor_format_names, N_ELEMS(descriptor_format_names), &x) < 0)
		return -1;
	d->format = (enum descriptor_format)x;
	if (jstr(r, j, "file", false, MAX_PATH, &d->file) < 0 ||
	    jstr(r, j, "schema_version", false, 32, &d->schema_version) < 0)
		return -1;
	if ((d->format == DESCRIPTOR_DEFAULT) != !d->file)
		return jfail(r, "file", "must be set exactly when a file was read");
	if (endpoints_from_json(r, d, j) < 0 || connections_from_json(r, d, j) < 0 ||
	    env_from_json(r, d, j) < 0 || files_from_json(r, d, j) < 0 ||
	    proxy_warnings_from_json(r, d, j) < 0 || runtime_from_json(r, d, j) < 0)
		return -1;
	return security_from_json(r, d, j);
}

int descriptor_from_json(struct descriptor **ret, const json_t *j, struct ferr *e)
{
	struct jr r = { .e = e };
	struct descriptor *d = descriptor_new_default();

	*ret = NULL;
	if (from_json(&r, d, j) < 0) {
		/* Checks that fail without setting e (a bad name after a good
		 * read) have already called jfail; be sure anyway. */
		if (!ferr_isset(e))
			ferr_invalid(e, "stored descriptor: invalid");
		descriptor_free(d);
		return -1;
	}
	*ret = d;
	return 0;
}
