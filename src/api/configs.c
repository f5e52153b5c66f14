/* Configuration values of a component: list, set, unset.
 *
 *   GET    .../components/{c}/configs[?env=E][&history=1]
 *   POST   .../components/{c}/configs        {"env": E?, "values": [
 *              {"key", "value" | "value_base64", "kind"?, "mount_path"?,
 *               "secret"?}, ...]}
 *   DELETE .../components/{c}/configs/{key}[?env=E]
 *
 * Values travel only in request bodies, never in paths or queries (which
 * the request log records). The audit names the keys and scope, never a
 * value. */
#include "api/handlers.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/json.h"
#include "lib/strbuf.h"
#include "lib/banned.h"

/* Wipes a value the request body held once it is no longer needed. The
 * body is freed by the HTTP layer with json_decref, which does not wipe:
 * writing over the string in place is safe (jansson keeps no hash of
 * string values) and keeps secrets from lingering in freed heap memory. */
static void wipe_json_string(json_t *v)
{
	if (json_is_string(v))
		sodium_memzero((char *)json_string_value(v), json_string_length(v));
}

static int flag(const char *s)
{
	return s && (!strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "yes"));
}

static void audit_keys(struct api_req *r, const char *env, const char *const *keys, size_t n)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "config ");
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&sb, "%s%s", i ? "," : "", keys[i]);
	strbuf_addf(&sb, " of %s/%s (%s)", r->params[0], r->params[1], env ? env : "component-wide");
	if (sb.len >= sizeof(r->audit_object))
		/* Too many keys for one line: keep the start and say so. */
		snprintf(r->audit_object, sizeof(r->audit_object), "config %zu keys of %s/%s (%s)", n,
			 r->params[0], r->params[1], env ? env : "component-wide");
	else
		snprintf(r->audit_object, sizeof(r->audit_object), "%s", sb.buf);
	strbuf_release(&sb);
}

int h_config_list(struct api_req *r, json_t **ret, struct ferr *e)
{
	return config_list(r->who, r->params[0], r->params[1], api_query(r, "env"),
			   flag(api_query(r, "history")), ret, e);
}

/* Reads values[i] into in (value either borrowed from the body or decoded
 * into *decoded, which the caller wipes and frees). */
static int read_value(json_t *o, size_t i, struct config_input *in, char **decoded,
		      size_t *decoded_len, struct ferr *e)
{
	static const char *const keys[] = { "key", "value", "value_base64", "kind", "mount_path",
		"secret", NULL };
	const char *kind = NULL, *b64 = NULL;
	json_t *v;

	if (!json_is_object(o))
		return ferr_invalid(e, "values[%zu] must be an object", i);
	if (json_only_keys(o, keys, e) < 0 || json_need_string(o, "key", &in->key, e) < 0 ||
	    json_get_string(o, "kind", &kind, e) < 0 ||
	    json_get_string(o, "mount_path", &in->mount_path, e) < 0 ||
	    json_get_bool(o, "secret", &in->secret, e) < 0 ||
	    json_get_string(o, "value_base64", &b64, e) < 0)
		return ferr_prefix(e, "values[%zu]", i);
	if (kind) {
		if (config_kind_parse(kind, &in->kind, e) < 0)
			return ferr_prefix(e, "values[%zu]", i);
	} else {
		in->kind = in->mount_path ? CONFIG_KIND_FILE : CONFIG_KIND_ENV;
	}
	v = json_object_get(o, "value");
	if (v && !json_is_null(v) && b64)
		return ferr_invalid(e, "values[%zu]: give either \"value\" or \"value_base64\", not both", i);
	if (b64) {
		size_t max = strlen(b64) / 4 * 3 + 3, got = 0;

		/* *decoded_len is the allocation, wiped in full afterwards. */
		*decoded_len = max + 1;
		if (!(*decoded = calloc(1, *decoded_len)))
			abort();
		if (sodium_base642bin((unsigned char *)*decoded, max, b64, strlen(b64), " \n\r", &got,
				      NULL, sodium_base64_VARIANT_ORIGINAL) < 0)
			return ferr_invalid(e, "values[%zu]: \"value_base64\" of %s is not valid base64", i, in->key);
		in->value = *decoded;
		in->value_len = got;
		return 0;
	}
	if (!json_is_string(v))
		return ferr_invalid(e, "values[%zu]: \"value\" (a string) or \"value_base64\" is required for %s",
				    i, in->key);
	in->value = json_string_value(v);
	in->value_len = json_string_length(v);
	return 0;
}

int h_config_set(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "env", "values", NULL };
	struct config_input *in = NULL;
	const char **names = NULL;
	char **decoded = NULL;
	size_t *decoded_len = NULL, n = 0;
	const char *env = NULL;
	json_t *values, *o;
	size_t i;
	int rc = -1;

	if (json_only_keys(r->body, keys, e) < 0 || json_get_string(r->body, "env", &env, e) < 0)
		goto out;
	values = json_object_get(r->body, "values");
	if (!json_is_array(values)) {
		ferr_invalid(e, "field \"values\" must be an array of {\"key\", \"value\"} objects");
		goto out;
	}
	n = json_array_size(values);
	if (n == 0 || n > CONFIG_MAX_SET) {
		ferr_invalid(e, "give from 1 to %d values to set (got %zu)", CONFIG_MAX_SET, n);
		goto out;
	}
	if (!(in = calloc(n, sizeof(*in))) || !(names = calloc(n, sizeof(*names))) ||
	    !(decoded = calloc(n, sizeof(*decoded))) || !(decoded_len = calloc(n, sizeof(*decoded_len))))
		abort();
	json_array_foreach(values, i, o) {
		if (read_value(o, i, &in[i], &decoded[i], &decoded_len[i], e) < 0)
			goto out;
		names[i] = in[i].key;
	}
	audit_keys(r, env, names, n);
	r->status = 201;
	rc = config_set(r->who, r->params[0], r->params[1], env, in, n, ret, e);
	if (rc == 0)
		api_note_held(r, *ret);
out:
	if (r->body && (values = json_object_get(r->body, "values")))
		json_array_foreach(values, i, o) {
			wipe_json_string(json_object_get(o, "value"));
			wipe_json_string(json_object_get(o, "value_base64"));
		}
	for (i = 0; decoded && i < n; i++)
		if (decoded[i]) {
			sodium_memzero(decoded[i], decoded_len[i]);
			free(decoded[i]);
		}
	free(decoded);
	free(decoded_len);
	free(names);
	free(in);
	return rc;
}

int h_config_unset(struct api_req *r, json_t **ret, struct ferr *e)
{
	const char *env = api_query(r, "env"), *key = r->params[2];

	audit_keys(r, env, &key, 1);
	if (config_unset(r->who, r->params[0], r->params[1], env, key, ret, e) < 0)
		return -1;
	api_note_held(r, *ret);
	return 0;
}
