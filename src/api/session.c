/* POST/GET/DELETE /api/v1/session, and request authentication. */
#include "api/session.h"

#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/handlers.h"
#include "core/audit.h"
#include "core/json.h"
#include "core/session.h"
#include "lib/banned.h"

static int session_ttl = SESSION_TTL_DEFAULT_S;

void api_session_set_ttl(int seconds)
{
	session_ttl = seconds > 0 ? seconds : SESSION_TTL_DEFAULT_S;
}

static int is_tls(struct MHD_Connection *c)
{
	return MHD_get_connection_info(c, MHD_CONNECTION_INFO_PROTOCOL) != NULL;
}

/* An Origin header, when the browser sends one, must name this server:
 * scheme://Host of the request itself. */
static int origin_ok(struct MHD_Connection *c)
{
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	char want[300];

	if (!origin)
		return 1;
	if (!host)
		return 0;
	snprintf(want, sizeof(want), "%s://%s", is_tls(c) ? "https" : "http", host);
	return !strcmp(origin, want);
}

static int safe_method(const char *method)
{
	return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

int api_authenticate(struct MHD_Connection *c, const char *method, struct principal *who,
		     int *ret_cookie, struct ferr *e)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, SESSION_COOKIE);
	struct session s;

	*ret_cookie = 0;
	if (h) {
		if (strncmp(h, "Bearer ", 7))
			return ferr_set(e, 401, "unauthorized",
					"this needs an API token: send Authorization: Bearer TOKEN");
		return auth_lookup(h + 7, who, e);
	}
	if (!cookie)
		return ferr_set(e, 401, "unauthorized",
				"this needs an API token (Authorization: Bearer TOKEN) or a console session");
	if (session_lookup(cookie, &s, e) < 0)
		return -1;
	if (!safe_method(method)) {
		if (!origin_ok(c))
			return ferr_forbidden(e, "a %s with the session cookie from another origin is refused", method);
		if (!session_csrf_ok(&s, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF-Token")))
			return ferr_forbidden(e, "a %s with the session cookie needs the session's X-CSRF-Token header",
					      method);
	}
	*who = s.who;
	*ret_cookie = 1;
	sodium_memzero(&s.csrf, sizeof(s.csrf));
	return 0;
}

static json_t *session_json(const struct session *s)
{
	return json_pack("{s:s, s:s, s:{s:I, s:s, s:s, s:b}}", "csrf", s->csrf, "expires_at", s->expires_at,
			 "who", "token_id", (json_int_t)s->who.token_id, "name", s->who.name,
			 "role", role_name(s->who.role), "scoped", s->who.project_id != 0);
}

static void set_cookie(struct api_req *r, const char *value, int max_age)
{
	snprintf(r->set_cookie, sizeof(r->set_cookie),
		 SESSION_COOKIE "=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", value, max_age,
		 is_tls(r->conn) ? "; Secure" : "");
}

/* POST /api/v1/session {"token": "fry_…"}: a public route (the token is the
 * credential); answers the session's CSRF token and sets the cookie. */
int h_session_create(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "token", NULL };
	char id[SESSION_ID_LEN + 1];
	const char *token = NULL;
	struct session s;

	if (!r->body)
		return ferr_invalid(e, "send {\"token\": \"fry_…\"}: the API token to sign in with");
	if (json_only_keys(r->body, keys, e) < 0 || json_need_string(r->body, "token", &token, e) < 0)
		return -1;
	if (session_create(token, session_ttl, id, &s, e) < 0)
		return -1;
	set_cookie(r, id, session_ttl);
	sodium_memzero(id, sizeof(id));
	audit_record(&s.who, NULL, "session.create", "session", NULL, 201, "ok");
	*ret = session_json(&s);
	r->status = 201;
	return 0;
}

/* The session of a request made with the cookie, or -1 with e set. */
static int request_session(struct api_req *r, struct session *s, struct ferr *e)
{
	const char *cookie = api_cookie(r, SESSION_COOKIE);

	if (!cookie || api_header(r, "Authorization"))
		return ferr_invalid(e, "this request was not made with a console session "
				    "(it carried a bearer token or no session cookie)");
	return session_lookup(cookie, s, e);
}

int h_session_show(struct api_req *r, json_t **ret, struct ferr *e)
{
	struct session s;

	if (request_session(r, &s, e) < 0)
		return -1;
	*ret = session_json(&s);
	return 0;
}

int h_session_delete(struct api_req *r, json_t **ret, struct ferr *e)
{
	struct session s;

	if (request_session(r, &s, e) < 0 || session_delete(api_cookie(r, SESSION_COOKIE), e) < 0)
		return -1;
	set_cookie(r, "", 0);
	snprintf(r->audit_object, sizeof(r->audit_object), "session");
	*ret = json_pack("{s:b}", "signed_out", 1);
	return 0;
}
