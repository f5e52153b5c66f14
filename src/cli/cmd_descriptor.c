/* ferry descriptor check [DIR]: reads the component descriptor of a build
 * context locally, with the same parser the build's descriptor step runs,
 * and prints what ferry would use: endpoints with their addresses,
 * configurables, connections and warnings. No server is needed, so an
 * editor or a CI step can run it. An invalid descriptor exits 1 with
 * "file:line:col: field: problem". */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "pipeline/descriptor.h"
#include "lib/strbuf.h"
#include "lib/banned.h"

/* Where the gateway serves Public and Organization endpoints (the default
 * gateway port; see deployment_url in core) and where components of the
 * same project and environment reach it (the component's network alias). */
static json_t *endpoint_row(const struct descriptor_endpoint *ep, const char *project,
			    const char *component)
{
	struct strbuf vis = STRBUF_INIT, pub = STRBUF_INIT, in = STRBUF_INIT;
	bool http = ep->type != ENDPOINT_TCP && ep->type != ENDPOINT_UDP;
	const char *base = ep->base_path ? ep->base_path : "";
	json_t *row;

	for (unsigned b = 1; b <= VISIBILITY_PUBLIC; b <<= 1)
		if (ep->visibilities & b)
			strbuf_addf(&vis, "%s%s", vis.len ? "," : "", visibility_name(b));
	strbuf_addf(&in, "%s://%s:%d%s", !http ? (ep->type == ENDPOINT_UDP ? "udp" : "tcp") :
		    ep->type == ENDPOINT_WS ? "ws" : ep->type == ENDPOINT_GRPC ? "grpc" : "http",
		    component, ep->port, http ? base : "");
	if (http && (ep->visibilities & (VISIBILITY_PUBLIC | VISIBILITY_ORGANIZATION)))
		strbuf_addf(&pub, "http://%s.%s.{env}.localhost:8080%s", component, project,
			    *base ? base : "/");
	row = json_pack("{s:s, s:o, s:s, s:i, s:o, s:s, s:s, s:o}",
			"name", ep->name,
			"declared_name", ep->declared_name ? json_string(ep->declared_name) : json_null(),
			"type", endpoint_type_name(ep->type), "port", ep->port,
			"base_path", ep->base_path ? json_string(ep->base_path) : json_null(),
			"visibilities", vis.buf, "project_url", in.buf,
			"public_url", pub.len ? json_string(pub.buf) : json_null());
	strbuf_release(&vis);
	strbuf_release(&pub);
	strbuf_release(&in);
	return row;
}

static json_t *configurable_row(const struct descriptor_env *ev)
{
	struct strbuf src = STRBUF_INIT;
	json_t *row;

	if (ev->connection_name)
		strbuf_addf(&src, "connection %s: %s", ev->connection_name, ev->connection_key);
	else if (ev->group_name)
		strbuf_addf(&src, "config group %s: %s", ev->group_name, ev->group_key);
	else if (ev->value)
		strbuf_addstr(&src, "value");
	else
		strbuf_addstr(&src, "form");
	row = json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "name", ev->name, "kind", "env",
			"source", src.buf, "type", config_type_name(ev->type),
			"required", ev->required && !ev->value,
			"default", ev->value ? json_string(ev->value) : json_null());
	strbuf_release(&src);
	return row;
}

static json_t *connection_row(const struct descriptor_connection *c, const char *project)
{
	struct strbuf target = STRBUF_INIT;
	json_t *row;

	if (c->kind == CONNECTION_SERVICE)
		strbuf_addf(&target, "%s/%s %s%s%s", c->project ? c->project : project, c->component,
			    c->version, c->endpoint ? " endpoint " : "", c->endpoint ? c->endpoint : "");
	else
		strbuf_addstr(&target, c->target);
	row = json_pack("{s:s, s:s, s:s, s:s}", "name", c->name,
			"kind", connection_kind_name(c->kind), "target", target.buf,
			"resource_ref", c->resource_ref);
	strbuf_release(&target);
	return row;
}

static json_t *report(const struct descriptor *d, const char *project, const char *component)
{
	json_t *eps = json_array(), *confs = json_array(), *conns = json_array();

	for (size_t i = 0; i < d->n_endpoints; i++)
		json_array_append_new(eps, endpoint_row(&d->endpoints[i], project, component));
	for (size_t i = 0; i < d->n_env; i++)
		json_array_append_new(confs, configurable_row(&d->env[i]));
	for (size_t i = 0; i < d->n_files; i++)
		json_array_append_new(confs, json_pack("{s:s, s:s, s:s, s:s, s:b, s:n}",
			"name", d->files[i].name, "kind", "file", "source", d->files[i].mount_path,
			"type", config_type_name(d->files[i].type), "required", d->files[i].required,
			"default"));
	for (size_t i = 0; i < d->n_connections; i++)
		json_array_append_new(conns, connection_row(&d->connections[i], project));
	return json_pack("{s:o, s:s, s:o, s:o, s:o, s:o}",
			 "file", d->file ? json_string(d->file) : json_null(),
			 "format", descriptor_format_name(d->format),
			 "endpoints", eps, "configurables", confs, "connections", conns,
			 "descriptor", descriptor_to_json(d));
}

static void human(json_t *r)
{
	static const struct column ep_cols[] = {
		{ "ENDPOINT", "name" }, { "DECLARED", "declared_name" }, { "TYPE", "type" },
		{ "PORT", "port" }, { "BASE PATH", "base_path" }, { "VISIBILITY", "visibilities" },
		{ "IN THE PROJECT", "project_url" }, { "GATEWAY", "public_url" }, { NULL, NULL },
	};
	static const struct column conf_cols[] = {
		{ "CONFIGURABLE", "name" }, { "KIND", "kind" }, { "SOURCE", "source" },
		{ "TYPE", "type" }, { "REQUIRED", "required" }, { "DEFAULT", "default" },
		{ NULL, NULL },
	};
	static const struct column conn_cols[] = {
		{ "CONNECTION", "name" }, { "KIND", "kind" }, { "TARGET", "target" }, { NULL, NULL },
	};
	json_t *desc = json_object_get(r, "descriptor"), *w, *proxy;
	size_t i;

	if (json_is_null(json_object_get(r, "file"))) {
		printf("no descriptor (.ferry/component.yaml, .choreo/component.yaml, "
		       ".choreo/component-config.yaml, .choreo/endpoints.yaml): defaults\n");
		return;
	}
	printf("%s: valid (%s format", json_string_value(json_object_get(r, "file")),
	       json_string_value(json_object_get(r, "format")));
	if (json_is_string(json_object_get(desc, "schema_version")))
		printf(", version %s", json_string_value(json_object_get(desc, "schema_version")));
	printf(")\n");
	json_array_foreach(json_object_get(desc, "warnings"), i, w)
		printf("warning: %s\n", json_string_value(w));
	proxy = json_object_get(desc, "proxy");
	if (json_is_object(proxy))
		printf("\nAPI proxy: %s, schema %s\n", json_string_value(json_object_get(proxy, "type")),
		       json_string_value(json_object_get(proxy, "schema_file_path")));
	if (json_array_size(json_object_get(r, "endpoints"))) {
		printf("\n");
		print_table(json_object_get(r, "endpoints"), ep_cols);
	}
	if (json_array_size(json_object_get(r, "configurables"))) {
		printf("\n");
		print_table(json_object_get(r, "configurables"), conf_cols);
	}
	if (json_array_size(json_object_get(r, "connections"))) {
		printf("\n");
		print_table(json_object_get(r, "connections"), conn_cols);
	}
	{
		json_t *sec = json_object_get(desc, "security"), *caps = json_object_get(sec, "capabilities"), *c;

		printf("\nat run time: ");
		if (!json_array_size(caps))
			printf("no Linux capability at all");
		json_array_foreach(caps, i, c)
			printf("%s%s", i ? ", " : "capabilities ", json_string_value(c));
		if (json_array_size(caps))
			printf(" (every other one dropped)");
		printf(", %s root file system, no-new-privileges, "
		       "default seccomp profile\n",
		       json_is_true(json_object_get(sec, "read_only_root_filesystem")) ?
		       "read-only" : "writable");
	}
}

int cmd_descriptor_check(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = {
		{ "project", 1, NULL }, { "component", 1, NULL }, { NULL, 0, NULL },
	};
	const char *project, *component;
	struct descriptor *d;
	struct args a;
	json_t *r;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos > 1)
		return usage_error(e, "give at most one directory (the build context; default .)");
	project = opt_get(opts, "project") ? opt_get(opts, "project") : "{project}";
	component = opt_get(opts, "component") ? opt_get(opts, "component") : "{component}";
	if (descriptor_load(&d, a.npos ? a.pos[0] : ".", e) < 0)
		return -1;
	r = report(d, project, component);
	print_result(r, human);
	json_decref(r);
	descriptor_free(d);
	return 0;
}
