/* session: the web console's sign-in. An API token is exchanged once for a
 * session; the browser then holds only the session's random id (in an
 * HttpOnly cookie) and never the token.
 *
 * A session id and its CSRF token are 64 hex digits (256 random bits each).
 * Only the BLAKE2b-256 hash of the id is stored. A session acts with its
 * token's role and project scope, ends at its expiry or on logout, and is
 * refused (and deleted) as soon as its token is revoked.
 */
#ifndef FERRY_SESSION_H
#define FERRY_SESSION_H

#include <stdint.h>

#include "core/auth.h"
#include "lib/error.h"

#define SESSION_ID_LEN 64
#define SESSION_TTL_DEFAULT_S (12 * 3600)

struct session {
	struct principal who;
	char csrf[SESSION_ID_LEN + 1];
	char expires_at[32];   /* RFC 3339 UTC */
};

/* Exchanges token for a new session lasting ttl_s seconds. Writes the
 * session id (shown once, for the cookie) to ret_id and fills *ret.
 * Returns 0, or -1 with a 401 in e for a token auth_lookup refuses.
 * Expired sessions are swept here. */
int session_create(const char *token, int ttl_s, char ret_id[SESSION_ID_LEN + 1],
		   struct session *ret, struct ferr *e);

/* Looks up a live session by its id. Returns 0 and fills *ret, or -1 with
 * a 401 in e (malformed, unknown, expired, or its token revoked). */
int session_lookup(const char *id, struct session *ret, struct ferr *e);

/* Ends a session (logout). Returns 0 whether or not it existed, -1 with e
 * set on a store failure. */
int session_delete(const char *id, struct ferr *e);

/* 1 if given equals the session's CSRF token (constant time), else 0. */
int session_csrf_ok(const struct session *s, const char *given);

#endif
