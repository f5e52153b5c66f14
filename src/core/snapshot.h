/* snapshot: the immutable, encrypted configuration a deployment carries.
 *
 * A deployment never reads the live configuration: it references a
 * snapshot, taken when it is created, so that nothing about it changes
 * afterwards. Two kinds (table config_snapshots):
 *
 *   independent  the component-wide (environment-independent) values, as
 *                fixed at the setup area when the first deployment is made;
 *   joined       an independent snapshot (its base) joined with one
 *                environment's own values, which win key by key. This is
 *                what a deployment runs with.
 *
 * Promotion copies a deployment's independent snapshot into the next
 * environment: snapshot_join(base of the deployment's snapshot, next env).
 *
 * Each entry is sealed on its own by the vault, with associated data binding
 * it to its snapshot id, component, environment, position and the number of
 * entries, so entries cannot be moved, reordered, dropped or swapped
 * between snapshots without failing to decrypt.
 *
 * Functions here do no access checks (core callers, e.g. the deploy code,
 * have done them). Each works inside the caller's store transaction if one
 * is open, else in its own.
 */
#ifndef FERRY_SNAPSHOT_H
#define FERRY_SNAPSHOT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "lib/error.h"

struct snapshot {
	int64_t id;
	int64_t component_id;
	int64_t env_id;           /* 0 for an independent snapshot */
	int64_t base_id;          /* joined: its independent snapshot; else 0 */
	int64_t config_version;   /* the component's configuration version when taken */
	struct config_value *entries; /* sorted by key; env_id 0 = component-wide */
	size_t n;
};

/* Takes an independent snapshot of component_id's current component-wide
 * values. Returns 0 with *ret_id, or -1 with e set. */
int snapshot_create_independent(int64_t component_id, int64_t *ret_id, struct ferr *e);

/* Joins independent snapshot independent_id with env_id's current own
 * values (the environment must belong to the component's project) into a
 * new joined snapshot. Returns 0 with *ret_id, or -1 with e set (404 for an
 * unknown snapshot or environment, 400 if independent_id is not an
 * independent snapshot, 500 undecryptable if it was tampered with). */
int snapshot_join(int64_t independent_id, int64_t env_id, int64_t *ret_id, struct ferr *e);

/* The snapshot a new deployment of component_id in env_id carries: an
 * independent snapshot of the current component-wide values joined with
 * env_id's current own values, both taken in one transaction. Returns 0
 * with *ret_id (the joined snapshot; its base is the independent one), or
 * -1 with e set. */
int snapshot_build(int64_t component_id, int64_t env_id, int64_t *ret_id, struct ferr *e);

/* snapshot_join and snapshot_build with extra values (resolve.h: what the
 * build's descriptor resolved for the environment) that fill keys neither
 * the component-wide nor the environment's own values set. Their env_id
 * is set to env_id; the caller keeps ownership of extra. */
int snapshot_join_with(int64_t independent_id, int64_t env_id, struct config_value *extra,
		       size_t n_extra, int64_t *ret_id, struct ferr *e);
int snapshot_build_with(int64_t component_id, int64_t env_id, struct config_value *extra,
			size_t n_extra, int64_t *ret_id, struct ferr *e);

/* Reads and decrypts snapshot id. Returns 0 with *ret (free with
 * snapshot_free), or -1 with e set: 404 if absent, 500 "undecryptable" if
 * any entry was changed, moved, dropped or the master key is wrong. */
int snapshot_load(int64_t id, struct snapshot **ret, struct ferr *e);

/* Wipes every value and frees s. Accepts NULL. */
void snapshot_free(struct snapshot *s);

/* Checks s against the configurables a build's descriptor declares.
 * declared is the descriptor as descriptor_to_json gives it (its "env" and
 * "files" arrays are read; NULL or missing arrays declare nothing).
 * Problems: a required env variable or file missing; a declared env
 * variable set as a file or the other way round; a number that does not
 * parse or a boolean that is not true/false; a value declared secret but
 * not stored as a secret; a file at another or a non-absolute path; two
 * files at one path. Env variables a connection fills are not checked.
 * Values are never quoted. Returns 0 if none, else -1 with a 422
 * "invalid_configuration" whose message lists every problem (as many as
 * fit, then the count), and, if ret_problems is not NULL, a new JSON array
 * of every problem as a string in *ret_problems. */
int snapshot_validate(const struct snapshot *s, const json_t *declared, json_t **ret_problems,
		      struct ferr *e);

#endif
