/* descriptor: names, defaults, freeing, and which format reader parses a
 * file. The readers are in descriptor_ferry.c, descriptor_choreo.c and
 * descriptor_legacy.c, over the shared reader in descriptor_reader.c. */
#include "pipeline/descriptor.h"

#include <stdio.h>

#include "pipeline/descriptor_int.h"

#include "lib/banned.h"

const char *const descriptor_endpoint_types[6] = {
	"REST", "GraphQL", "WS", "GRPC", "TCP", "UDP",
};
const char *const descriptor_visibilities[3] = { "Project", "Organization", "Public" };
const char *const descriptor_config_types[6] = {
	"string", "number", "boolean", "secret", "object", "array",
};
const char *const descriptor_file_types[2] = { "string", "secret" };
const enum config_type descriptor_file_config_types[2] = { CONFIG_STRING, CONFIG_SECRET };
const char *const descriptor_probe_kinds[4] = { "none", "http", "tcp", "exec" };
const char *const descriptor_capabilities[DESCRIPTOR_N_CAPABILITIES] = {
	"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE",
	"SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
};
const char *const descriptor_connection_kinds[4] = {
	"service", "database", "thirdparty", "storage",
};
const char *const descriptor_format_names[5] = {
	"default", "ferry", "choreo", "choreo-component-config", "choreo-endpoints",
};

static const char *const format_paths[] = {
	[DESCRIPTOR_DEFAULT] = NULL,
	[DESCRIPTOR_FERRY] = ".ferry/component.yaml",
	[DESCRIPTOR_CHOREO] = ".choreo/component.yaml",
	[DESCRIPTOR_CHOREO_COMPONENT_CONFIG] = ".choreo/component-config.yaml",
	[DESCRIPTOR_CHOREO_ENDPOINTS] = ".choreo/endpoints.yaml",
};

const char *descriptor_format_path(enum descriptor_format f)
{
	return (size_t)f < N_ELEMS(format_paths) ? format_paths[f] : NULL;
}

const char *descriptor_format_name(enum descriptor_format f)
{
	return (size_t)f < N_ELEMS(descriptor_format_names) ? descriptor_format_names[f] : "unknown";
}

const char *endpoint_type_name(enum endpoint_type t)
{
	return (size_t)t < N_ELEMS(descriptor_endpoint_types) ? descriptor_endpoint_types[t] : "unknown";
}

const char *config_type_name(enum config_type t)
{
	return (size_t)t < N_ELEMS(descriptor_config_types) ? descriptor_config_types[t] : "unknown";
}

const char *probe_kind_name(enum probe_kind k)
{
	return (size_t)k < N_ELEMS(descriptor_probe_kinds) ? descriptor_probe_kinds[k] : "unknown";
}

const char *connection_kind_name(enum connection_kind k)
{
	return (size_t)k < N_ELEMS(descriptor_connection_kinds) ? descriptor_connection_kinds[k] :
		"unknown";
}

const char *visibility_name(unsigned visibility_bit)
{
	for (size_t i = 0; i < N_ELEMS(descriptor_visibilities); i++)
		if (visibility_bit == 1u << i)
			return descriptor_visibilities[i];
	return "unknown";
}

const struct descriptor_connection *descriptor_connection_find(const struct descriptor *d,
							       const char *name)
{
	for (size_t i = 0; i < d->n_connections; i++)
		if (!strcmp(d->connections[i].name, name))
			return &d->connections[i];
	return NULL;
}

static void probe_defaults(struct descriptor_probe *pr)
{
	pr->period_seconds = 10;
	pr->timeout_seconds = 1;
	pr->failure_threshold = 3;
	pr->initial_delay_seconds = 0;
}

struct descriptor *descriptor_new_default(void)
{
	struct descriptor *d = dsc_calloc(1, sizeof(*d));

	d->replicas = 1;
	probe_defaults(&d->readiness);
	probe_defaults(&d->liveness);
	return d;
}

static int parse_tree(struct dp *p, const struct ynode *root)
{
	char got[80];

	if (root->kind != YNODE_MAP)
		return dp_fail(p, root, NULL, "the descriptor must be a YAML mapping, got %s",
			       dp_describe(root, got, sizeof(got)));
	switch (p->fmt) {
	case DESCRIPTOR_FERRY:
		return dp_parse_ferry(p, root);
	case DESCRIPTOR_CHOREO:
		return dp_parse_choreo(p, root);
	case DESCRIPTOR_CHOREO_COMPONENT_CONFIG:
		return dp_parse_component_config(p, root);
	case DESCRIPTOR_CHOREO_ENDPOINTS:
		return dp_parse_endpoints_yaml(p, root);
	default:
		return ferr_internal(p->e, "descriptor format %d cannot be parsed", p->fmt);
	}
}

int descriptor_parse_in_context(struct descriptor **ret, const char *buf, size_t len,
				const char *file, enum descriptor_format fmt,
				const char *context, struct ferr *e)
{
	struct dp p = {
		.file = file, .fmt = fmt, .context = context, .e = e, .path = STRBUF_INIT,
	};
	/* An empty file is an empty mapping: all defaults (or, for Choreo,
	 * "schemaVersion is required"). */
	struct ynode empty = { .kind = YNODE_MAP, .line = 1, .col = 1 };
	struct ynode *root = NULL;
	int r;

	*ret = NULL;
	if (len > DESCRIPTOR_MAX_FILE_SIZE)
		return ferr_set(e, 413, "too_large", "%s: the descriptor is larger than %d KiB",
				file, DESCRIPTOR_MAX_FILE_SIZE / 1024);
	if (ytree_parse(&root, buf, len, file, e) < 0)
		return -1;
	p.d = descriptor_new_default();
	p.d->format = fmt;
	p.d->file = dsc_strdup(file);
	r = parse_tree(&p, root ? root : &empty);
	ynode_free(root);
	strbuf_release(&p.path);
	if (r < 0) {
		descriptor_free(p.d);
		return -1;
	}
	if (p.dropped_warnings) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "%s: %zu more warnings not shown", file, p.dropped_warnings);
		p.d->warnings[p.d->n_warnings++] = strbuf_detach(&sb, NULL);
	}
	*ret = p.d;
	return 0;
}

int descriptor_parse(struct descriptor **ret, const char *buf, size_t len,
		     const char *file, enum descriptor_format fmt, struct ferr *e)
{
	return descriptor_parse_in_context(ret, buf, len, file, fmt, NULL, e);
}

static void probe_release(struct descriptor_probe *pr)
{
	free(pr->http_path);
	for (size_t i = 0; i < pr->exec_argc; i++)
		free(pr->exec_argv[i]);
	free(pr->exec_argv);
}

void descriptor_free(struct descriptor *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_endpoints; i++) {
		free(d->endpoints[i].name);
		free(d->endpoints[i].declared_name);
		free(d->endpoints[i].display_name);
		free(d->endpoints[i].base_path);
		free(d->endpoints[i].schema_file_path);
	}
	free(d->endpoints);
	for (size_t i = 0; i < d->n_connections; i++) {
		struct descriptor_connection *c = &d->connections[i];

		free(c->name);
		free(c->resource_ref);
		free(c->project);
		free(c->component);
		free(c->version);
		free(c->endpoint);
		free(c->visibility);
		free(c->target);
		free(c->connection_config);
	}
	free(d->connections);
	for (size_t i = 0; i < d->n_env; i++) {
		free(d->env[i].name);
		free(d->env[i].display_name);
		free(d->env[i].value);
		free(d->env[i].connection_name);
		free(d->env[i].connection_key);
		free(d->env[i].group_name);
		free(d->env[i].group_key);
	}
	free(d->env);
	for (size_t i = 0; i < d->n_files; i++) {
		free(d->files[i].name);
		free(d->files[i].display_name);
		free(d->files[i].mount_path);
	}
	free(d->files);
	if (d->proxy) {
		free(d->proxy->schema_file_path);
		free(d->proxy->doc_path);
		free(d->proxy->thumbnail_path);
		free(d->proxy);
	}
	for (size_t i = 0; i < d->n_warnings; i++)
		free(d->warnings[i]);
	free(d->warnings);
	probe_release(&d->readiness);
	probe_release(&d->liveness);
	free(d->file);
	free(d->schema_version);
	free(d->schedule);
	free(d->timezone);
	free(d);
}
