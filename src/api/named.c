/* A project's connections and configuration groups (core/named_values.h):
 *
 *   GET    /projects/{p}/connections[?env=E]
 *   POST   /projects/{p}/connections          {"name", "env", "values": [
 *              {"key", "value", "secret"?}, ...]}
 *   DELETE /projects/{p}/connections/{name}[?env=E]
 *
 * and the same under /projects/{p}/config-groups. Values travel only in
 * request bodies and are wiped from the body once read; the audit names
 * the set, environment and keys, never a value. */
#include "api/handlers.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/named_values.h"
#include "lib/strbuf.h"
#include "lib/banned.h"

static int list(struct api_req *r, enum named_kind kind, json_t **ret, struct ferr *e)
{
	return named_list(r->who, r->params[0], kind, api_query(r, "env"), ret, e);
}

static void audit(struct api_req *r, enum named_kind kind, const char *name, const char *env,
		  const struct named_input *in, size_t n)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "%s %s of %s (%s):", kind == NAMED_CONNECTION ? "connection" : "config-group",
		    name ? name : "?", r->params[0], env ? env : "every environment");
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&sb, "%s%s", i ? "," : " ", in[i].key);
	snprintf(r->audit_object, sizeof(r->audit_object), "%s", sb.buf);
	strbuf_release(&sb);
}

static int set(struct api_req *r, enum named_kind kind, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "name", "env", "values", NULL };
	static const char *const value_keys[] = { "key", "value", "secret", NULL };
	const char *name = NULL, *env = NULL;
	struct named_input *in = NULL;
	json_t *values, *o;
	size_t i, n = 0;
	int rc = -1;

	if (json_only_keys(r->body, keys, e) < 0 || json_need_string(r->body, "name", &name, e) < 0 ||
	    json_need_string(r->body, "env", &env, e) < 0)
		goto out;
	values = json_object_get(r->body, "values");
	if (!json_is_array(values) || json_array_size(values) == 0 ||
	    json_array_size(values) > NAMED_MAX_SET) {
		ferr_invalid(e, "field \"values\" must be an array of 1 to %d {\"key\", \"value\"} objects",
			     NAMED_MAX_SET);
		goto out;
	}
	n = json_array_size(values);
	if (!(in = calloc(n, sizeof(*in))))
		abort();
	json_array_foreach(values, i, o) {
		json_t *v = json_object_get(o, "value");

		if (!json_is_object(o) || json_only_keys(o, value_keys, e) < 0 ||
		    json_need_string(o, "key", &in[i].key, e) < 0 ||
		    json_get_bool(o, "secret", &in[i].secret, e) < 0 || !json_is_string(v)) {
			if (!ferr_isset(e))
				ferr_invalid(e, "each value is {\"key\", \"value\" (a string), \"secret\"?}");
			ferr_prefix(e, "values[%zu]", i);
			goto out;
		}
		in[i].value = json_string_value(v);
		in[i].value_len = json_string_length(v);
	}
	audit(r, kind, name, env, in, n);
	r->status = 201;
	rc = named_set(r->who, r->params[0], kind, name, env, in, n, ret, e);
out:
	if (r->body && (values = json_object_get(r->body, "values")))
		json_array_foreach(values, i, o) {
			json_t *v = json_object_get(o, "value");

			if (json_is_string(v))
				sodium_memzero((char *)json_string_value(v), json_string_length(v));
		}
	free(in);
	return rc;
}

static int del(struct api_req *r, enum named_kind kind, json_t **ret, struct ferr *e)
{
	audit(r, kind, r->params[1], api_query(r, "env"), NULL, 0);
	return named_delete(r->who, r->params[0], kind, r->params[1], api_query(r, "env"), ret, e);
}

int h_connection_list(struct api_req *r, json_t **ret, struct ferr *e)
{
	return list(r, NAMED_CONNECTION, ret, e);
}

int h_connection_set(struct api_req *r, json_t **ret, struct ferr *e)
{
	return set(r, NAMED_CONNECTION, ret, e);
}

int h_connection_delete(struct api_req *r, json_t **ret, struct ferr *e)
{
	return del(r, NAMED_CONNECTION, ret, e);
}

int h_config_group_list(struct api_req *r, json_t **ret, struct ferr *e)
{
	return list(r, NAMED_CONFIG_GROUP, ret, e);
}

int h_config_group_set(struct api_req *r, json_t **ret, struct ferr *e)
{
	return set(r, NAMED_CONFIG_GROUP, ret, e);
}

int h_config_group_delete(struct api_req *r, json_t **ret, struct ferr *e)
{
	return del(r, NAMED_CONFIG_GROUP, ret, e);
}
