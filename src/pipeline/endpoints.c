#include "pipeline/endpoints.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "pipeline/yaml_tree.h"
#include "lib/banned.h"

/* A plain YAML scalar as JSON: null, booleans and numbers typed as YAML 1.2's
 * core schema reads them, everything else a string. */
static json_t *scalar_json(const struct ynode *n)
{
	char *end;

	if (!n->plain)
		return json_stringn(n->str, n->len);
	if (ynode_is_null(n))
		return json_null();
	if (!strcmp(n->str, "true") || !strcmp(n->str, "True") || !strcmp(n->str, "TRUE"))
		return json_true();
	if (!strcmp(n->str, "false") || !strcmp(n->str, "False") || !strcmp(n->str, "FALSE"))
		return json_false();
	if (n->len && strspn(n->str, "+-0123456789") == n->len) {
		long long v;
		errno = 0;
		v = strtoll(n->str, &end, 10);
		if (!errno && !*end)
			return json_integer(v);
	}
	if (n->len && strspn(n->str, "+-0123456789.eE") == n->len && strpbrk(n->str, "0123456789")) {
		double d = strtod(n->str, &end);
		if (!*end)
			return json_real(d);
	}
	return json_stringn(n->str, n->len);
}

static json_t *ynode_json(const struct ynode *n)
{
	json_t *j;

	if (!n)
		return json_null();
	switch (n->kind) {
	case YNODE_SCALAR:
		return scalar_json(n);
	case YNODE_SEQ:
		j = json_array();
		for (size_t i = 0; i < n->n; i++)
			json_array_append_new(j, ynode_json(n->child[i]));
		return j;
	case YNODE_MAP:
	default:
		j = json_object();
		for (size_t i = 0; i + 1 < n->n; i += 2)
			json_object_set_new(j, n->child[i]->str, ynode_json(n->child[i + 1]));
		return j;
	}
}

/* Reads and checks one API specification: JSON or YAML whose top level has
 * openapi, swagger or asyncapi. */
json_t *endpoints_schema_load(const char *context, const char *rel, struct ferr *e)
{
	static const char *const kinds[] = { "openapi", "swagger", "asyncapi", NULL };
	struct strbuf sb = STRBUF_INIT;
	json_t *doc = NULL, *out = NULL;
	struct ynode *root = NULL;
	int fd = descriptor_open_in_context(context, rel, e), rc, err;

	if (fd < 0)
		return NULL;
	rc = strbuf_read_fd(&sb, fd, ENDPOINTS_SCHEMA_MAX);
	err = errno;
	close(fd);
	if (rc > 0) {
		ferr_invalid(e, "%s: larger than %u bytes", rel, ENDPOINTS_SCHEMA_MAX);
		goto out;
	}
	if (rc < 0) {
		ferr_internal(e, "%s: %s", rel, strerror(err));
		goto out;
	}
	{
		size_t i = 0;
		while (i < sb.len && strchr(" \t\r\n", sb.buf[i]))
			i++;
		if (i < sb.len && sb.buf[i] == '{') {
			json_error_t je;
			doc = json_loadb(sb.buf, sb.len, JSON_REJECT_DUPLICATES, &je);
			if (!doc) {
				ferr_invalid(e, "%s:%d:%d: not valid JSON: %s", rel, je.line, je.column, je.text);
				goto out;
			}
		} else {
			if (ytree_parse(&root, sb.buf, sb.len, rel, e) < 0)
				goto out;
			doc = ynode_json(root);
		}
	}
	if (!json_is_object(doc)) {
		ferr_invalid(e, "%s: an API specification must be a mapping at the top level", rel);
		goto out;
	}
	for (const char *const *k = kinds; *k; k++) {
		json_t *v = json_object_get(doc, *k);
		if (!v)
			continue;
		if (!json_is_string(v) && !json_is_number(v)) {
			ferr_invalid(e, "%s: \"%s\" must be a version string", rel, *k);
			goto out;
		}
		out = json_pack("{s:s, s:s, s:o, s:O}", "path", rel,
				"format", !strcmp(*k, "swagger") ? "openapi" : *k,
				"version", json_is_string(v) ? json_incref(v) : json_sprintf("%g", json_number_value(v)),
				"document", doc);
		goto out;
	}
	ferr_invalid(e, "%s: not an OpenAPI or AsyncAPI document (no \"openapi\", \"swagger\" or "
		     "\"asyncapi\" at the top level)", rel);
out:
	json_decref(doc);
	ynode_free(root);
	strbuf_release(&sb);
	return out;
}

static const char *const visibility_names[] = { "Project", "Organization", "Public" };

json_t *endpoints_json(const struct descriptor *d, const char *context, endpoints_note_fn *note,
		       void *ctx, struct ferr *e)
{
	json_t *arr = json_array();
	struct strbuf line = STRBUF_INIT;

	for (size_t i = 0; i < d->n_endpoints; i++) {
		const struct descriptor_endpoint *ep = &d->endpoints[i];
		json_t *vis = json_array(), *schema = json_null(), *o;

		for (int b = 0; b < 3; b++)
			if (ep->visibilities & (1u << b))
				json_array_append_new(vis, json_string(visibility_names[b]));
		if (ep->schema_file_path) {
			schema = endpoints_schema_load(context, ep->schema_file_path, e);
			if (!schema) {
				json_decref(vis);
				json_decref(arr);
				strbuf_release(&line);
				return NULL;
			}
			strbuf_addf(&line, "endpoint %s: %s %s from %s", ep->name,
				    json_string_value(json_object_get(schema, "format")),
				    json_string_value(json_object_get(schema, "version")), ep->schema_file_path);
		} else {
			strbuf_addf(&line, "endpoint %s: no API specification", ep->name);
		}
		if (note)
			note(ctx, line.buf);
		strbuf_reset(&line);
		o = json_pack("{s:s, s:s, s:i, s:s*, s:s, s:o, s:s*, s:o}",
			      "name", ep->name, "display_name", ep->display_name, "port", ep->port,
			      "base_path", ep->base_path, "type", endpoint_type_name(ep->type),
			      "visibilities", vis, "schema_file_path", ep->schema_file_path,
			      "schema", schema);
		json_array_append_new(arr, o);
	}
	strbuf_release(&line);
	return arr;
}
