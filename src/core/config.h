/* config: configuration values of components, kept apart from code and image.
 *
 * A value belongs to one component and one scope: component-wide (the
 * environment-independent values, scope "component") or one environment's
 * own (it overrides the component-wide value of the same key there). Its
 * kind is an environment variable ("env") or a file mounted at an absolute
 * path ("file"). A secret value is write-only: it can be replaced or
 * removed, never read back through the API, the CLI, logs or the audit.
 *
 * Every value, secret or not, is sealed by the vault (key scope
 * "project:<id>") with associated data binding it to its row: project,
 * component, scope, key, version, kind, secret flag and mount path. Every
 * change (one config_set of several keys, or one config_unset) bumps the
 * component's configuration version and writes new rows stamped with it;
 * older versions are kept as history. The layout is in docs/configuration.md.
 *
 * The functions taking a principal check access as the rest of the API:
 * project scope (404 for projects the token cannot see), viewers read,
 * developers and admins write. Nothing here ever puts a value into an error
 * message.
 */
#ifndef FERRY_CONFIG_H
#define FERRY_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/auth.h"
#include "lib/error.h"

enum config_kind {
	CONFIG_KIND_ENV = 0,   /* environment variable */
	CONFIG_KIND_FILE,      /* file mounted at mount_path */
};

/* Largest value (the vault's limit): 1 MiB. */
#define CONFIG_MAX_VALUE (1024 * 1024)
/* Largest "KEY=VALUE" plus its NUL that exec passes to a process
 * (MAX_ARG_STRLEN); ferry-init refuses longer records, so a longer value
 * must be a file mount. */
#define CONFIG_MAX_ENV_RECORD (32 * 4096)
#define CONFIG_MAX_KEY 255
#define CONFIG_MAX_MOUNT_PATH 1024
/* Most keys one config_set may change. */
#define CONFIG_MAX_SET 100

/* One value to set. Strings are borrowed. */
struct config_input {
	const char *key;
	enum config_kind kind;
	const char *mount_path;  /* CONFIG_KIND_FILE: absolute; else NULL */
	int secret;
	const char *value;       /* value_len bytes, may hold NULs for files */
	size_t value_len;
};

/* A decrypted value, owned by whoever got it (see config_values_free). */
struct config_value {
	char *key;
	enum config_kind kind;
	int secret;
	char *mount_path;        /* NULL for CONFIG_KIND_ENV */
	int64_t env_id;          /* 0: component-wide */
	int64_t version;         /* configuration version that set it */
	char *value;             /* value_len bytes and a NUL; wiped when freed */
	size_t value_len;
};

/* "env" or "file". */
const char *config_kind_name(enum config_kind k);
/* Parses "env" or "file"; -1 with a 400 in e otherwise. */
int config_kind_parse(const char *s, enum config_kind *ret, struct ferr *e);

/* Checks a key: an environment variable name [A-Za-z_][A-Za-z0-9_]* for
 * CONFIG_KIND_ENV, a file configuration name [A-Za-z0-9._-]+ (not "." or
 * "..") for CONFIG_KIND_FILE; 1-255 characters. 0, or -1 with a 400. */
int config_check_key(enum config_kind kind, const char *key, struct ferr *e);

/* Checks a file mount path: absolute, normalised (no empty, "." or ".."
 * parts, no trailing '/'), not "/" itself, not below /.ferry (where
 * ferry-init reads the configuration), no control characters, at most
 * CONFIG_MAX_MOUNT_PATH. 0, or -1 with a 400 naming the problem. */
int config_check_mount_path(const char *path, struct ferr *e);

/* Sets n values of project/component in one transaction (all or none).
 * env NULL: component-wide; else the environment's own values (404 naming
 * it if the project has no such environment). Refuses, with nothing
 * changed: a bad key or mount path, a key twice, a value over 1 MiB (413),
 * an environment variable whose record exceeds CONFIG_MAX_ENV_RECORD
 * (413, advice: use a file mount) or holding a NUL, a mount path another
 * key of the same scope uses (409), replacing a secret with a non-secret
 * value (409: unset it first). On success the change is one new
 * configuration version, config_changed() is called, and *ret is a JSON
 * array of the entries as config_list shows them (never a secret value). */
int config_set(const struct principal *who, const char *project, const char *component,
	       const char *env, const struct config_input *in, size_t n, json_t **ret,
	       struct ferr *e);

/* Removes key from the scope (env NULL: component-wide) as a new version.
 * 404 if the key is not set there. *ret is {"key", "scope", "version"}. */
int config_unset(const struct principal *who, const char *project, const char *component,
		 const char *env, const char *key, json_t **ret, struct ferr *e);

/* The current configuration as a JSON array sorted by key. env NULL: the
 * component-wide values; else the values in effect in env (component-wide
 * ones it does not override, scope "component", and its own, scope env).
 * Each entry: key, scope, kind, secret, value (absent for secrets; for a
 * value that is not UTF-8 text without NUL, value_base64 instead),
 * mount_path (files), version, updated_at, updated_by.
 * history: instead every version of the scope's values (env NULL:
 * component-wide; else env's own), newest first, unsets included with
 * "deleted": true. Decryption failures are errors (500, code
 * undecryptable), never garbage. */
int config_list(const struct principal *who, const char *project, const char *component,
		const char *env, int history, json_t **ret, struct ferr *e);

/* The component's configuration version: 0 before its first change, then
 * increased by every change. Returns 0 with *ret set, or -1 with e set. */
int config_current_version(int64_t component_id, int64_t *ret, struct ferr *e);

/* The current values of one scope of a component (env_id 0: component-wide;
 * else that environment's own values only), decrypted, sorted by key (byte
 * order), secrets included. No access check: for core callers (snapshots).
 * Returns 0 with *ret (n entries; may be NULL when n is 0) to release with
 * config_values_free, or -1 with e set. */
int config_current_values(int64_t component_id, int64_t env_id, struct config_value **ret,
			  size_t *ret_n, struct ferr *e);

/* Wipes every value and frees the array. Accepts NULL. */
void config_values_free(struct config_value *v, size_t n);

/* After every committed change of component_id's configuration (env_id 0
 * for a component-wide change, by who, the user's name) config publishes
 * the domain event configuration.changed (core/events.h). A change where
 * the component is active creates a new deployment: ferryd subscribes
 * deployment_on_change. What a subscriber answers, a new reference, is what
 * config_set and config_unset put in their answer as "redeploy":
 * {"deployment": ID} or {"deployment": null, "reason": "why none"}.
 * config_set_changed_hook(fn) subscribes one such fn (NULL: none; a
 * second call replaces the first), for tests and tools. */
typedef json_t *(*config_changed_fn)(int64_t component_id, int64_t env_id, const char *who);

/* The gate config_set and config_unset pass after their checks and before
 * any change (approval_install sets it). env_id 0: component-wide (env
 * NULL). unset_key: config_unset's key (in NULL, n 0). Returns 0 to go
 * ahead, 1 when the change is held (*ret set), or -1 with e set. */
typedef int (*config_gate_fn)(const struct principal *who, int64_t project_id, int64_t component_id,
			      int64_t env_id, const char *env, const char *component,
			      const struct config_input *in, size_t n, const char *unset_key,
			      json_t **ret, struct ferr *e);
void config_set_gate_hook(config_gate_fn fn);
/* config_set and config_unset past the gate: an approved change. */
int config_set_approved(const struct principal *who, const char *project, const char *component,
			const char *env, const struct config_input *in, size_t n, json_t **ret,
			struct ferr *e);
int config_unset_approved(const struct principal *who, const char *project, const char *component,
			  const char *env, const char *key, json_t **ret, struct ferr *e);
void config_set_changed_hook(config_changed_fn fn);
/* Publishes configuration.changed; the subscribers' answer (new
 * reference), or {"deployment": null, "reason": ...} when none answered. */
json_t *config_changed(int64_t component_id, int64_t env_id, const char *who);

#endif
