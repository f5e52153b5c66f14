/* named_values: a project's connections and configuration groups.
 *
 * Both are named sets of keys with a value per environment of the project:
 * a connection holds what a component needs to reach an outside resource
 * (a database's HostName, Port, Username, Password; a third-party API's
 * URL and key), a configuration group settings several components share.
 * A component's descriptor refers to them by name and key
 * (valueFrom.connectionRef, valueFrom.configGroupRef); the values are
 * resolved per environment when a deployment is created (core/resolve.h)
 * and recorded in its snapshot.
 *
 * Values are sealed by the vault like configuration values (key scope
 * "project:<id>", associated data binding project, kind, name,
 * environment, key and secret flag). A secret is write-only: the API never
 * returns it. Changing a value does not change running deployments; the
 * next deployment (deploy, promote, a configuration change) takes it.
 */
#ifndef FERRY_NAMED_VALUES_H
#define FERRY_NAMED_VALUES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/auth.h"
#include "core/config.h"
#include "lib/error.h"

enum named_kind {
	NAMED_CONNECTION = 0,
	NAMED_CONFIG_GROUP,
};

/* "connection" or "config group" (for messages). */
const char *named_kind_text(enum named_kind k);

/* Most keys one named_set may change. */
#define NAMED_MAX_SET 100

struct named_input {
	const char *key;     /* [A-Za-z0-9._-]+, 1..255 */
	const char *value;   /* value_len bytes, no NUL (environment variables) */
	size_t value_len;
	int secret;
};

/* Sets n keys of the connection or group name in environment env of
 * project (all or none): new keys are added, given keys replaced, others
 * kept. name: 1..100 characters without control characters or '/'.
 * Refuses (nothing changed) a bad key, a key twice, a value over 1 MiB
 * (413) or with a NUL, replacing a secret with a plain value (409: delete
 * it first). Developers and admins only. *ret: the keys written as
 * named_list shows them. */
int named_set(const struct principal *who, const char *project, enum named_kind kind,
	      const char *name, const char *env, const struct named_input *in, size_t n,
	      json_t **ret, struct ferr *e);

/* Every key of the project's connections or groups (env NULL: all
 * environments), sorted by name, environment rank and key: name, env,
 * key, secret, value (absent for secrets), updated_at, updated_by. */
int named_list(const struct principal *who, const char *project, enum named_kind kind,
	       const char *env, json_t **ret, struct ferr *e);

/* Deletes name (env NULL: in every environment). 404 if nothing was
 * there. *ret: {"name", "env", "deleted": count}. */
int named_delete(const struct principal *who, const char *project, enum named_kind kind,
		 const char *name, const char *env, json_t **ret, struct ferr *e);

/* The decrypted value of key in name in env_id, for core callers (no
 * access check). Returns 1 with *ret filled (key, secret, value; kind
 * env; *ret is usually an element of an array the caller releases with
 * config_values_free), 0 when there is no such key, or -1 with e set. */
int named_value_get(int64_t project_id, enum named_kind kind, const char *name, int64_t env_id,
		    const char *key, struct config_value *ret, struct ferr *e);

#endif
