#include "core/resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/named_values.h"
#include "lib/strbuf.h"
#include "pipeline/descriptor.h"
#include "store/store.h"
#include "lib/banned.h"

struct names {
	int64_t project_id;
	char project[128];
	char env[128];
	char component[128];
};

static int text_col(sqlite3_stmt *st, int col, char *out, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(out, size, "%s", t ? (const char *)t : "");
	return 0;
}

static int load_names(int64_t component_id, int64_t env_id, struct names *n, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT p.id, p.name, c.name, e.name FROM components c"
				      " JOIN projects p ON p.id = c.project_id"
				      " JOIN environments e ON e.project_id = p.id AND e.id = ?2"
				      " WHERE c.id = ?1");
	int rc;

	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_int64(st, 2, env_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		n->project_id = sqlite3_column_int64(st, 0);
		text_col(st, 1, n->project, sizeof(n->project));
		text_col(st, 2, n->component, sizeof(n->component));
		text_col(st, 3, n->env, sizeof(n->env));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "environment %lld is not in the component's project",
				     (long long)env_id);
	return rc == SQLITE_ROW ? 0 : store_error(e, "read component");
}

/* The descriptor of the dependency's active deployment in the environment
 * (new reference), or NULL with e set. */
static json_t *deployed_descriptor(const struct names *n, const struct descriptor_connection *c,
				   struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT d.descriptor FROM deployments d"
				      " JOIN components c ON c.id = d.component_id"
				      " WHERE c.project_id = ? AND c.name = ? AND d.environment_id ="
				      " (SELECT id FROM environments WHERE project_id = ? AND name = ?)"
				      " AND d.status = 'active' ORDER BY d.seq DESC LIMIT 1");
	json_t *j = NULL;
	int rc;

	sqlite3_bind_int64(st, 1, n->project_id);
	sqlite3_bind_text(st, 2, c->component, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n->project_id);
	sqlite3_bind_text(st, 4, n->env, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
		j = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_error(e, "read deployments");
		return NULL;
	}
	if (!j)
		ferr_conflict(e, "connection %s: component %s is not deployed in %s (its %s's URL is injected there): deploy %s/%s to %s first",
			      c->name, c->component, n->env, n->env, n->project, c->component, n->env);
	return j;
}

/* The endpoint of the dependency the connection names: by its name or
 * declared name; a reference to an endpoint ferry does not know (Choreo's
 * endpoint handles are ids) takes the dependency's only endpoint. */
static const json_t *pick_endpoint(const json_t *desc, const struct descriptor_connection *c,
				   const struct names *n, struct ferr *e)
{
	const json_t *eps = json_object_get(desc, "endpoints"), *ep;
	struct strbuf names = STRBUF_INIT;
	size_t i;

	json_array_foreach(eps, i, ep) {
		const char *name = json_string_value(json_object_get(ep, "name"));
		const char *declared = json_string_value(json_object_get(ep, "declared_name"));

		if (c->endpoint && ((name && !strcmp(name, c->endpoint)) ||
				    (declared && !strcmp(declared, c->endpoint))))
			return ep;
		strbuf_addf(&names, "%s%s", i ? ", " : "", name ? name : "?");
	}
	if (json_array_size(eps) == 1)
		return json_array_get(eps, 0);
	if (json_array_size(eps) == 0)
		ferr_conflict(e, "connection %s: component %s declares no endpoint in its deployment in %s",
			      c->name, c->component, n->env);
	else
		ferr_invalid(e, "connection %s: component %s has endpoints %s: name one in the resourceRef (%s/%s/<endpoint>)",
			     c->name, c->component, names.buf, c->component, c->version);
	strbuf_release(&names);
	return NULL;
}

static int service_url(const struct names *n, const struct descriptor_connection *c,
		       const char *key, struct strbuf *url, struct ferr *e)
{
	const json_t *ep;
	const char *type, *base;
	json_t *desc;

	if (strcasecmp(key, "ServiceURL"))
		return ferr_invalid(e, "connection %s: a connection to a component gives the key ServiceURL (asked for %s)",
				    c->name, key);
	if (c->project && strcmp(c->project, n->project))
		return ferr_invalid(e, "connection %s: points at project %s; ferry connects components of the same project (%s) only",
				    c->name, c->project, n->project);
	if (!(desc = deployed_descriptor(n, c, e)))
		return -1;
	if (!(ep = pick_endpoint(desc, c, n, e))) {
		json_decref(desc);
		return -1;
	}
	type = json_string_value(json_object_get(ep, "type"));
	base = json_string_value(json_object_get(ep, "base_path"));
	if (!base || !strcmp(base, "/"))
		base = "";
	if (type && (!strcmp(type, "REST") || !strcmp(type, "GraphQL")))
		strbuf_addf(url, "http://%s:%lld%s", c->component,
			    (long long)json_integer_value(json_object_get(ep, "port")), base);
	else if (type && !strcmp(type, "WS"))
		strbuf_addf(url, "ws://%s:%lld%s", c->component,
			    (long long)json_integer_value(json_object_get(ep, "port")), base);
	else
		strbuf_addf(url, "%s:%lld", c->component,
			    (long long)json_integer_value(json_object_get(ep, "port")));
	json_decref(desc);
	return 0;
}

static struct config_value *push(struct config_value **v, size_t *n, const char *key)
{
	struct config_value *r = realloc(*v, (*n + 1) * sizeof(**v));

	if (!r)
		abort();
	*v = r;
	r = &r[(*n)++];
	memset(r, 0, sizeof(*r));
	if (!(r->key = strdup(key)))
		abort();
	r->kind = CONFIG_KIND_ENV;
	return r;
}

static void set_text(struct config_value *v, const char *s, size_t len)
{
	if (!(v->value = malloc(len + 1)))
		abort();
	memcpy(v->value, s, len);
	v->value[len] = '\0';
	v->value_len = len;
}

/* A named value (connection or group) into v, or an error saying how to
 * create it. */
static int named(const struct names *n, enum named_kind kind, const char *name, int64_t env_id,
		 const char *key, const char *var, struct config_value *v, struct ferr *e)
{
	char *k = v->key;
	int r;

	r = named_value_get(n->project_id, kind, name, env_id, key, v, e);
	if (r < 0) {
		v->key = k;
		return -1;
	}
	if (r == 0) {
		v->key = k;
		return ferr_conflict(e, "%s needs key %s of %s \"%s\" in %s: set it with ferry %s %s '%s' --env %s %s=...",
				     var, key, named_kind_text(kind), name, n->env,
				     kind == NAMED_CONNECTION ? "connection create" : "config-group set",
				     n->project, name, n->env, key);
	}
	free(v->key); /* named_value_get gave the connection's key name */
	v->key = k;
	return 0;
}

int resolve_descriptor_values(int64_t component_id, int64_t env_id, const json_t *descriptor,
			      struct config_value **ret, size_t *ret_n, struct ferr *e)
{
	struct descriptor *d = NULL;
	struct config_value *v = NULL;
	struct names n = { 0 };
	size_t nv = 0;
	int rc = -1;

	*ret = NULL;
	*ret_n = 0;
	/* A deployment of a build stored before descriptors were kept has none. */
	if (!json_object_get(descriptor, "format"))
		return 0;
	if (descriptor_from_json(&d, descriptor, e) < 0 || load_names(component_id, env_id, &n, e) < 0)
		goto out;
	for (size_t i = 0; i < d->n_env; i++) {
		const struct descriptor_env *ev = &d->env[i];
		const struct descriptor_connection *c;
		struct config_value *x;

		if (ev->connection_name) {
			struct strbuf url = STRBUF_INIT;

			c = descriptor_connection_find(d, ev->connection_name);
			x = push(&v, &nv, ev->name);
			if (c && c->kind == CONNECTION_SERVICE) {
				if (service_url(&n, c, ev->connection_key, &url, e) < 0) {
					strbuf_release(&url);
					goto out;
				}
				set_text(x, url.buf, url.len);
				strbuf_release(&url);
			} else if (named(&n, NAMED_CONNECTION, ev->connection_name, env_id,
					 ev->connection_key, ev->name, x, e) < 0) {
				goto out;
			}
		} else if (ev->group_name) {
			x = push(&v, &nv, ev->name);
			if (named(&n, NAMED_CONFIG_GROUP, ev->group_name, env_id, ev->group_key,
				  ev->name, x, e) < 0)
				goto out;
		} else if (ev->value) {
			x = push(&v, &nv, ev->name);
			set_text(x, ev->value, strlen(ev->value));
		}
	}
	*ret = v;
	*ret_n = nv;
	v = NULL;
	nv = 0;
	rc = 0;
out:
	config_values_free(v, nv);
	descriptor_free(d);
	return rc;
}
