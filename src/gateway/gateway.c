/* Driver-independent half of the gateway: argument checks and the thin
 * wrappers that dispatch through the ops table. */
#include "gateway.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/banned.h"

int gateway_route_set(struct gateway *gw, const struct gateway_route *r, struct ferr *e)
{
	return gw->ops->route_set(gw, r, e);
}

int gateway_route_remove(struct gateway *gw, const char *key, struct ferr *e)
{
	return gw->ops->route_remove(gw, key, e);
}

int gateway_server_add(struct gateway *gw, const char *key, const char *id,
		       const char *addr, struct ferr *e)
{
	return gw->ops->server_add(gw, key, id, addr, e);
}

int gateway_server_ready(struct gateway *gw, const char *key, const char *id,
			 struct ferr *e)
{
	return gw->ops->server_set_state(gw, key, id, GATEWAY_SERVER_READY, e);
}

int gateway_server_set_state(struct gateway *gw, const char *key, const char *id,
			     enum gateway_server_state st, struct ferr *e)
{
	return gw->ops->server_set_state(gw, key, id, st, e);
}

int gateway_server_set_weight(struct gateway *gw, const char *key, const char *id, int weight,
			      struct ferr *e)
{
	if (weight < 1 || weight > GATEWAY_WEIGHT_MAX)
		return ferr_invalid(e, "gateway: weight %d is not from 1 to %d", weight, GATEWAY_WEIGHT_MAX);
	return gw->ops->server_set_weight(gw, key, id, weight, e);
}

int gateway_server_sessions(struct gateway *gw, const char *key, const char *id,
			    struct ferr *e)
{
	return gw->ops->server_sessions(gw, key, id, e);
}

int gateway_server_remove(struct gateway *gw, const char *key, const char *id,
			  struct ferr *e)
{
	return gw->ops->server_remove(gw, key, id, e);
}

int gateway_sync(struct gateway *gw, const struct gateway_route_state *routes,
		 size_t n, struct ferr *e)
{
	return gw->ops->sync(gw, routes, n, 0, e);
}

int gateway_sync_routes(struct gateway *gw, const struct gateway_route_state *routes,
			size_t n, struct ferr *e)
{
	return gw->ops->sync(gw, routes, n, 1, e);
}

int gateway_supervise(struct gateway *gw, struct ferr *e)
{
	return gw->ops->supervise(gw, e);
}

int gateway_stop(struct gateway *gw, struct ferr *e)
{
	return gw->ops->stop(gw, e);
}

void gateway_free(struct gateway *gw)
{
	if (gw)
		gw->ops->free(gw);
}

/* Everything below ends up inside HAProxy CLI commands and map files, where
 * a space, ';' or newline would split a command: the character sets are
 * deliberately narrow. */

int gateway_check_name(const char *what, const char *s, struct ferr *e)
{
	size_t n;

	if (!s || !*s)
		return ferr_invalid(e, "gateway: %s is empty", what);
	n = strlen(s);
	if (n > GATEWAY_KEY_MAX)
		return ferr_invalid(e, "gateway: %s is longer than %d characters",
				    what, GATEWAY_KEY_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-' && c != ':')
			return ferr_invalid(e, "gateway: %s \"%.*s\" may only hold letters, "
					    "digits, '.', '_', '-' and ':'",
					    what, GATEWAY_KEY_MAX, s);
	}
	return 0;
}

static int check_host(const char *h, struct ferr *e)
{
	size_t n = strlen(h);

	if (!n || n > GATEWAY_HOST_MAX)
		return ferr_invalid(e, "gateway: host must be 1 to %d characters",
				    GATEWAY_HOST_MAX);
	if (h[0] == '.' || h[0] == '-' || h[n - 1] == '.')
		return ferr_invalid(e, "gateway: host \"%s\" is not a DNS name", h);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (!(islower(c) || isdigit(c) || c == '.' || c == '-'))
			return ferr_invalid(e, "gateway: host \"%s\" may only hold lowercase "
					    "letters, digits, '.' and '-' (no port)", h);
		if (c == '.' && h[i + 1] == '.')
			return ferr_invalid(e, "gateway: host \"%s\" has an empty label", h);
	}
	return 0;
}

/* Path characters we accept: RFC 3986 unreserved plus '/'. Percent-escapes,
 * spaces and the CLI's separators are refused. */
static int path_char_ok(unsigned char c)
{
	return isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~';
}

static int check_path(const char *what, const char *p, struct ferr *e)
{
	size_t n = strlen(p);

	if (p[0] != '/')
		return ferr_invalid(e, "gateway: %s \"%s\" must start with '/'", what, p);
	if (n > GATEWAY_PATH_MAX)
		return ferr_invalid(e, "gateway: %s is longer than %d characters",
				    what, GATEWAY_PATH_MAX);
	for (size_t i = 0; i < n; i++) {
		if (!path_char_ok((unsigned char)p[i]))
			return ferr_invalid(e, "gateway: %s \"%s\" may only hold letters, digits, "
					    "'/', '-', '.', '_' and '~'", what, p);
		if (p[i] == '/' && p[i + 1] == '/')
			return ferr_invalid(e, "gateway: %s \"%s\" has an empty segment", what, p);
		if (p[i] == '.' && (i == 0 || p[i - 1] == '/') && p[i + 1] == '.' &&
		    (p[i + 2] == '/' || !p[i + 2]))
			return ferr_invalid(e, "gateway: %s \"%s\" has a \"..\" segment", what, p);
	}
	return 0;
}

int gateway_base_path_norm(char *buf, size_t size, const char *base_path, struct ferr *e)
{
	size_t n;

	if (!base_path || !*base_path)
		base_path = "/";
	if (check_path("base path", base_path, e) < 0)
		return -1;
	n = strlen(base_path);
	if (snprintf(buf, size, "%s%s", base_path, base_path[n - 1] == '/' ? "" : "/") >=
	    (int)size)
		return ferr_invalid(e, "gateway: base path is too long");
	return 0;
}

static int check_prefix(const char *p, struct ferr *e)
{
	int segs = 0;

	if (check_path("path prefix", p, e) < 0)
		return -1;
	/* The gateway strips exactly three segments before forwarding (one
	 * static rewrite rule serves every route), hence the fixed shape. */
	for (const char *s = p; *s; s++)
		if (*s == '/' && s[1])
			segs++;
	if (segs != 3 || p[strlen(p) - 1] == '/')
		return ferr_invalid(e, "gateway: path prefix \"%s\" must look like "
				    "/project/environment/component", p);
	return 0;
}

int gateway_check_route(const struct gateway_route *r, struct ferr *e)
{
	char base[GATEWAY_PATH_MAX + 2];

	if (gateway_check_name("route key", r->key, e) < 0)
		return -1;
	if (!r->host && !r->path_prefix)
		return ferr_invalid(e, "gateway: route %s needs a host or a path prefix", r->key);
	if (r->host && check_host(r->host, e) < 0)
		return -1;
	if (r->path_prefix && check_prefix(r->path_prefix, e) < 0)
		return -1;
	return gateway_base_path_norm(base, sizeof(base), r->base_path, e);
}

int gateway_check_addr(const char *addr, struct ferr *e)
{
	const char *colon, *p;
	char *end;
	long port;

	if (!addr || !*addr)
		return ferr_invalid(e, "gateway: server address is empty");
	if (strlen(addr) > 64)
		return ferr_invalid(e, "gateway: server address is too long");
	for (p = addr; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".:[]-", *p))
			return ferr_invalid(e, "gateway: server address \"%s\" is not "
					    "HOST:PORT", addr);
	colon = strrchr(addr, ':');
	if (!colon || colon == addr || (addr[0] == '[' && colon[-1] != ']'))
		return ferr_invalid(e, "gateway: server address \"%s\" has no port "
				    "(want 127.0.0.1:PORT)", addr);
	port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 1 || port > 65535)
		return ferr_invalid(e, "gateway: server address \"%s\" has a bad port", addr);
	return 0;
}

const char *gateway_server_state_name(enum gateway_server_state st)
{
	switch (st) {
	case GATEWAY_SERVER_MAINT: return "maint";
	case GATEWAY_SERVER_READY: return "ready";
	case GATEWAY_SERVER_DRAIN: return "drain";
	}
	return "?";
}

int gateway_server_state_parse(const char *s, enum gateway_server_state *ret)
{
	if (!strcmp(s, "maint"))
		*ret = GATEWAY_SERVER_MAINT;
	else if (!strcmp(s, "ready"))
		*ret = GATEWAY_SERVER_READY;
	else if (!strcmp(s, "drain"))
		*ret = GATEWAY_SERVER_DRAIN;
	else
		return -1;
	return 0;
}

int gateway_server_drain(struct gateway *gw, const char *key, const char *id,
			 int timeout_ms, struct ferr *e)
{
	long long deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int n;

	if (gw->ops->server_set_state(gw, key, id, GATEWAY_SERVER_DRAIN, e) < 0)
		return -1;
	for (;;) {
		n = gw->ops->server_sessions(gw, key, id, e);
		if (n <= 0)
			return n;
		if (mono_ms() >= deadline)
			return ferr_set(e, 504, "timeout", "gateway: server %s of route %s still "
					"has %d request(s) in flight after %d ms", id, key, n,
					timeout_ms);
		/* short: a drain is on the path of every rollout step */
		nanosleep(&(struct timespec){ 0, 20 * 1000000L }, NULL);
	}
}
