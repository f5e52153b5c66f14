/* The OpenAPI description: the embedded source joined with the route table
 * (see openapi.h), and the check that keeps the two equal. */
#include "api/openapi.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api/handlers.h"
#include "lib/banned.h"

extern const char openapi_text[]; /* openapi_text.c, generated from openapi.json */

static const char *const methods[] = { "get", "put", "post", "delete", "patch", NULL };

json_t *openapi_source(struct ferr *e)
{
	json_error_t je;
	json_t *doc = json_loads(openapi_text, 0, &je);

	if (!doc)
		ferr_internal(e, "src/api/openapi.json line %d: %s", je.line, je.text);
	return doc;
}

void openapi_route_pattern(const char *path, char *out, size_t n)
{
	size_t o = 0;

	for (const char *p = path; *p && o + 1 < n; p++) {
		out[o++] = *p;
		if (*p == '{') {
			const char *close = strchr(p, '}');
			if (!close)
				break;
			p = close - 1;
		}
	}
	out[o] = '\0';
}

static void lower(const char *s, char *out, size_t n)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[i] = '\0';
}

/* The operation of doc describing route pattern+method, or NULL. */
static json_t *find_operation(const json_t *doc, const char *pattern, const char *method)
{
	json_t *paths = json_object_get(doc, "paths"), *ops;
	const char *path;
	char pat[512], m[16];

	lower(method, m, sizeof(m));
	json_object_foreach(paths, path, ops) {
		openapi_route_pattern(path, pat, sizeof(pat));
		if (!strcmp(pat, pattern))
			return json_object_get(ops, m);
	}
	return NULL;
}

static const struct api_route *find_route(const struct api_route *routes, const char *pattern,
					  const char *method)
{
	for (const struct api_route *r = routes; r->method; r++) {
		char m[16];
		lower(r->method, m, sizeof(m));
		if (!strcmp(r->pattern, pattern) && !strcmp(m, method))
			return r;
	}
	return NULL;
}

/* Problems with the path parameters of path and with operation op. */
static int check_operation(const json_t *doc, const char *path, const char *method, const json_t *op,
			   struct strbuf *problems)
{
	json_t *params = json_object_get(json_object_get(doc, "components"), "parameters");
	json_t *responses = json_object_get(op, "responses"), *resp;
	const char *code;
	int n = 0, ok2xx = 0;

	for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
		char name[64];
		const char *close = strchr(p, '}');
		json_t *def;
		if (!close || (size_t)(close - p - 1) >= sizeof(name) || close == p + 1) {
			strbuf_addf(problems, "src/api/openapi.json: path %s: each {} must hold a parameter name\n", path);
			n++;
			break;
		}
		memcpy(name, p + 1, (size_t)(close - p - 1));
		name[close - p - 1] = '\0';
		def = json_object_get(params, name);
		if (!def || strcmp(json_string_value(json_object_get(def, "in")) ?: "", "path")) {
			strbuf_addf(problems, "src/api/openapi.json: path %s uses {%s}: add \"%s\": { \"name\": \"%s\", "
				    "\"in\": \"path\", \"required\": true, \"schema\": { ... } } to components.parameters, "
				    "or use one that is there\n", path, name, name, name);
			n++;
		}
	}
	if (!json_is_string(json_object_get(op, "summary"))) {
		strbuf_addf(problems, "src/api/openapi.json: %s %s has no \"summary\"\n", method, path);
		n++;
	}
	json_object_foreach(responses, code, resp) {
		if (code[0] == '2')
			ok2xx = 1;
		if (!json_is_string(json_object_get(resp, "description"))) {
			strbuf_addf(problems, "src/api/openapi.json: %s %s response %s has no \"description\"\n",
				    method, path, code);
			n++;
		}
	}
	if (!ok2xx) {
		strbuf_addf(problems, "src/api/openapi.json: %s %s needs \"responses\" with its success status "
			    "(\"200\", \"201\" or \"202\") and the schema of its answer\n", method, path);
		n++;
	}
	return n;
}

int openapi_check(const json_t *doc, const struct api_route *routes, struct strbuf *problems)
{
	json_t *paths = json_object_get(doc, "paths"), *ops, *op;
	const char *path, *m;
	int n = 0;

	if (!json_is_object(paths)) {
		strbuf_addstr(problems, "src/api/openapi.json has no \"paths\" object\n");
		return 1;
	}
	for (const struct api_route *r = routes; r->method; r++) {
		char m2[16];
		if (find_operation(doc, r->pattern, r->method))
			continue;
		lower(r->method, m2, sizeof(m2));
		strbuf_addf(problems,
			    "route %s %s (src/api/routes.c) is not described: add to \"paths\" of src/api/openapi.json\n"
			    "    \"%s\": { \"%s\": { \"summary\": \"what it does\", \"responses\": { \"200\": "
			    "{ \"description\": \"what it answers\", \"content\": { \"application/json\": { \"schema\": "
			    "{ \"$ref\": \"#/components/schemas/Object\" } } } } } } }\n"
			    "    (merge into the path's object if it is there; name each {} after components.parameters: "
			    "project, component, env, key, id, hook; add \"requestBody\" for a body, "
			    "\"parameters\" for query arguments; docs/api.md says more)\n",
			    r->method, r->pattern, r->pattern, m2);
		n++;
	}
	json_object_foreach(paths, path, ops) {
		char pat[512];
		openapi_route_pattern(path, pat, sizeof(pat));
		json_object_foreach(ops, m, op) {
			int known = 0;
			for (int i = 0; methods[i]; i++)
				known |= !strcmp(methods[i], m);
			if (!known) {
				if (strcmp(m, "parameters") && strcmp(m, "summary") && strcmp(m, "description")) {
					strbuf_addf(problems, "src/api/openapi.json: path %s: \"%s\" is not an HTTP method\n", path, m);
					n++;
				}
				continue;
			}
			if (!find_route(routes, pat, m)) {
				strbuf_addf(problems, "src/api/openapi.json describes %s %s but src/api/routes.c has no "
					    "such route: remove it there, or add the route\n", m, path);
				n++;
				continue;
			}
			n += check_operation(doc, path, m, op, problems);
		}
	}
	return n;
}

/* Adds a $ref for each {name} of path to op's parameters, first, in order. */
static void add_path_parameters(const char *path, json_t *op)
{
	json_t *params = json_object_get(op, "parameters"), *all = json_array();

	for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
		const char *close = strchr(p, '}');
		if (!close)
			break;
		json_array_append_new(all, json_pack("{s:s+#}", "$ref", "#/components/parameters/",
						     p + 1, (int)(close - p - 1)));
	}
	if (json_is_array(params))
		json_array_extend(all, params);
	json_object_set_new(op, "parameters", all);
}

static json_t *error_response(const char *what)
{
	return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", what, "content", "application/json",
			 "schema", "$ref", "#/components/schemas/Error");
}

json_t *openapi_document(const struct api_route *routes, struct ferr *e)
{
	json_t *doc = openapi_source(e), *ops, *op;
	const char *path, *m;

	if (!doc)
		return NULL;
	json_object_foreach(json_object_get(doc, "paths"), path, ops) {
		char pat[512];
		openapi_route_pattern(path, pat, sizeof(pat));
		json_object_foreach(ops, m, op) {
			const struct api_route *r = find_route(routes, pat, m);
			json_t *responses = json_object_get(op, "responses");
			if (!r || !json_is_object(op))
				continue;
			add_path_parameters(path, op);
			if (r->public)
				json_object_set_new(op, "security", json_array());
			else
				json_object_set_new(responses, "401", error_response("no token, or one that is not valid"));
			if (r->action)
				json_object_set_new(op, "x-ferry-audit", json_string(r->action));
			if (!json_object_get(responses, "default"))
				json_object_set_new(responses, "default",
						    error_response("refused: the message says why (see docs/api.md)"));
		}
	}
	return doc;
}

int h_openapi(struct api_req *r, json_t **ret, struct ferr *e)
{
	(void)r;
	*ret = openapi_document(api_routes, e);
	return *ret ? 0 : -1;
}
