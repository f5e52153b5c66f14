/* session (API side): who a request is, from a bearer token or the console's
 * session cookie, and the /api/v1/session routes that sign in and out.
 *
 * A request with "Authorization: Bearer T" is the token's (the CLI). Else a
 * "ferry_session" cookie names a session (core/session.h); then every method
 * but GET and HEAD must carry the session's CSRF token in X-CSRF-Token, and
 * an Origin header, when sent, must be this server's own.
 */
#ifndef FERRY_API_SESSION_H
#define FERRY_API_SESSION_H

#include "api/api.h"

#define SESSION_COOKIE "ferry_session"

/* Fills who for the request on c, or returns -1 with a 401 (no or bad
 * credentials) or 403 (a cookie write without its CSRF token) in e.
 * *ret_cookie is set to 1 if the session cookie was used. */
int api_authenticate(struct MHD_Connection *c, const char *method, struct principal *who,
		     int *ret_cookie, struct ferr *e);

/* Session lifetime for new sessions, in seconds (ferryd --session-ttl). */
void api_session_set_ttl(int seconds);

#endif
