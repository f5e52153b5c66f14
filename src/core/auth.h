/* auth: API tokens (their roles and project scope are core/access.h).
 *
 * A token is "fry_" + 64 hex digits (256 random bits). Only its BLAKE2b-256
 * hash is stored. Roles: viewer (read), developer (read and change
 * components, builds, deployments, configuration), admin (everything,
 * including projects, environments, tokens and the audit log). A token may be
 * scoped to one project: it then sees nothing else, and anything else is
 * answered 404 so that names do not leak.
 */
#ifndef FERRY_AUTH_H
#define FERRY_AUTH_H

#include <jansson.h>
#include <stdint.h>

#include "core/access.h"
#include "lib/error.h"

#define TOKEN_LEN 68 /* "fry_" + 64 hex */

/* Looks up the bearer token. Returns 0 and fills who, or -1 with a 401 in e
 * (unknown, malformed or revoked token). */
int auth_lookup(const char *token, struct principal *who, struct ferr *e);

/* Creates a token. project may be NULL. The plaintext token is written to
 * ret_token (TOKEN_LEN + 1 bytes) and shown once; *ret_json describes it
 * (without the token). Only admins may create tokens. */
int token_create(const struct principal *who, const char *name, enum role role,
		 const char *project, char ret_token[TOKEN_LEN + 1], json_t **ret_json,
		 struct ferr *e);
int token_list(const struct principal *who, json_t **ret, struct ferr *e);
int token_revoke(const struct principal *who, int64_t id, struct ferr *e);

/* At first start (no token in the store) creates an admin token named
 * "admin" and writes it to path with mode 0600. Returns 1 if it created one,
 * 0 if tokens already existed, -1 with e set. */
int auth_bootstrap(const char *path, struct ferr *e);

#endif
