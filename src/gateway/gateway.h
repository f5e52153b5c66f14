/* gateway: the HTTP entry point in front of every deployed endpoint.
 *
 * Core sees only this header: an opaque struct gateway with an ops table.
 * The one driver today is HAProxy (haproxy.c), changed only through its
 * runtime API; ferryd builds it (gateway/haproxy.h) and hands it in.
 * docs/gateway.md explains how requests are routed.
 *
 * Vocabulary:
 *   route   one endpoint of one active component in one environment, named
 *           by a caller-chosen key. Requests reach it either by Host
 *           (host + a path under base_path) or by path (path_prefix +
 *           base_path, the prefix being stripped before forwarding).
 *   server  one replica behind a route: an id and a "127.0.0.1:PORT"
 *           address. A server is in one of three states: maint (added but
 *           takes no traffic), ready (takes new requests), drain (no new
 *           requests; in-flight ones finish).
 *
 * Health checks are ferryd's job: the gateway never probes servers. It only
 * sends traffic to servers the caller declared ready.
 *
 * A route with no ready server answers 503 with a JSON body; a request that
 * matches no route answers 404 with a JSON body.
 *
 * All functions are thread-safe (one lock per gateway). Functions returning
 * int return 0 on success and -1 with e filled on failure.
 */
#ifndef FERRY_GATEWAY_H
#define FERRY_GATEWAY_H

#include <stddef.h>

#include "lib/error.h"

enum gateway_server_state {
	GATEWAY_SERVER_MAINT = 0,
	GATEWAY_SERVER_READY,
	GATEWAY_SERVER_DRAIN,
};

/* Limits on caller-given names, checked by every operation. */
#define GATEWAY_KEY_MAX   100  /* route key and server id: [A-Za-z0-9._:-] */
#define GATEWAY_HOST_MAX  253  /* lowercase DNS name: [a-z0-9.-] */
#define GATEWAY_PATH_MAX  256  /* path_prefix and base_path */

struct gateway_route {
	const char *key;         /* caller's name for the route, unique */
	const char *host;        /* "c.p.e.localhost" (no port; matched case-
				    insensitively, any port), or NULL */
	const char *path_prefix; /* "/p/e/c": exactly three non-empty segments,
				    or NULL */
	const char *base_path;   /* "/" or "/api" (trailing '/' ignored); NULL
				    means "/" */
};

struct gateway_server {
	const char *id;                  /* unique within its route */
	const char *addr;                /* "127.0.0.1:PORT" */
	enum gateway_server_state state;
};

/* One route with all its servers: the unit of desired state for
 * gateway_sync(). */
struct gateway_route_state {
	struct gateway_route route;
	const struct gateway_server *servers;
	size_t nservers;
};

struct gateway;

struct gateway_ops {
	const char *name;
	int (*route_set)(struct gateway *gw, const struct gateway_route *r, struct ferr *e);
	int (*route_remove)(struct gateway *gw, const char *key, struct ferr *e);
	int (*server_add)(struct gateway *gw, const char *key, const char *id,
			  const char *addr, struct ferr *e);
	int (*server_set_state)(struct gateway *gw, const char *key, const char *id,
				enum gateway_server_state st, struct ferr *e);
	int (*server_sessions)(struct gateway *gw, const char *key, const char *id,
			       struct ferr *e);
	int (*server_set_weight)(struct gateway *gw, const char *key, const char *id, int weight,
				 struct ferr *e);
	int (*server_remove)(struct gateway *gw, const char *key, const char *id,
			     struct ferr *e);
	int (*sync)(struct gateway *gw, const struct gateway_route_state *routes,
		    size_t n, int only_listed, struct ferr *e);
	int (*supervise)(struct gateway *gw, struct ferr *e);
	int (*stop)(struct gateway *gw, struct ferr *e);
	void (*free)(struct gateway *gw);
};

struct gateway {
	const struct gateway_ops *ops;
};

/* One request the gateway answered: the server (replica) id that answered
 * it ("<NOSRV>" when none did), its HTTP status and its total active time
 * in ms. Called from the gateway's own thread, once per request: be quick. */
typedef void (*gateway_traffic_fn)(const char *server_id, int status, int total_ms);

/* Sets the sink of per-request samples; call before the gateway starts
 * (haproxy_gateway_start, gateway/haproxy.h). NULL
 * (the default): the gateway logs no request (nothing measured). */
void gateway_set_traffic_sink(gateway_traffic_fn fn);


/* Adds or changes a route. A new route answers 503 until a server is ready.
 * Changing host, prefix or base path of an existing route keeps its
 * servers; new entries are added before old ones are removed so requests
 * never see a gap. Idempotent. */
int gateway_route_set(struct gateway *gw, const struct gateway_route *r, struct ferr *e);

/* Removes a route: requests for it answer 404 at once; its servers are
 * removed, cutting whatever is still in flight (drain them first for a
 * graceful end). Removing an unknown key succeeds. */
int gateway_route_remove(struct gateway *gw, const char *key, struct ferr *e);

/* Adds server id at addr to route key in state maint (no traffic).
 * Idempotent for the same addr; a conflict (409) for another addr.
 * Fails 404 when the route is unknown. */
int gateway_server_add(struct gateway *gw, const char *key, const char *id,
		       const char *addr, struct ferr *e);

/* Puts the server in the ready state: it takes new requests from now on. */
int gateway_server_ready(struct gateway *gw, const char *key, const char *id,
			 struct ferr *e);

/* Drains the server: no new request goes to it, in-flight ones finish.
 * Waits until it has no current session or timeout_ms passes (0: do not
 * wait). Returns 0 once drained, or -1 with e->status 504 if sessions were
 * still open at the timeout (the server stays draining; the caller may
 * remove it anyway). */
int gateway_server_drain(struct gateway *gw, const char *key, const char *id,
			 int timeout_ms, struct ferr *e);

/* Sets any state directly (maint, ready or drain), without waiting. */
int gateway_server_set_state(struct gateway *gw, const char *key, const char *id,
			     enum gateway_server_state st, struct ferr *e);

/* Sets the server's share of its route's traffic: a weight from 1 to
 * GATEWAY_WEIGHT_MAX against the other servers' (new servers: 1). A canary
 * at 10% beside one old replica is 10 against 90. */
#define GATEWAY_WEIGHT_MAX 256
int gateway_server_set_weight(struct gateway *gw, const char *key, const char *id, int weight,
			      struct ferr *e);

/* Returns the number of requests currently being served by the server
 * (HAProxy's scur plus its queue), or -1 with e set. */
int gateway_server_sessions(struct gateway *gw, const char *key, const char *id,
			    struct ferr *e);

/* Removes the server: maint, then any session left is shut, then deleted.
 * Drain it first for a graceful removal. Removing an unknown server of a
 * known route succeeds. */
int gateway_server_remove(struct gateway *gw, const char *key, const char *id,
			  struct ferr *e);

/* Converges the gateway to exactly these routes and servers: routes and
 * servers not listed are removed, missing ones added, states set. Used after
 * ferryd (re)starts, with the desired state kept in the store. */
int gateway_sync(struct gateway *gw, const struct gateway_route_state *routes,
		 size_t n, struct ferr *e);

/* Like gateway_sync, but only the listed routes are converged (each set,
 * its servers added, states set, its unlisted servers removed); routes not
 * listed are left as they are. Used after a gateway restart, for the
 * routes whose desired state the store decides alone. */
int gateway_sync_routes(struct gateway *gw, const struct gateway_route_state *routes,
			size_t n, struct ferr *e);

/* Checks the gateway process; if it died, starts it again (with a backoff
 * between failed attempts) from the routes and servers it holds, which are
 * the result of every call made so far. Call it every second or so from
 * the supervisor thread. Returns 1 if it restarted the process, 0 if it was
 * running, -1 with e set if it is down and could not be started (yet). */
int gateway_supervise(struct gateway *gw, struct ferr *e);

/* Stops the gateway process (SIGTERM, then SIGKILL after 5 s). The gateway
 * may be freed or restarted by gateway_supervise() afterwards. */
int gateway_stop(struct gateway *gw, struct ferr *e);

/* Frees the gateway object. Does NOT stop the process: a ferryd that exits
 * without gateway_stop() leaves HAProxy serving, and the next ferryd
 * adopts it. Accepts NULL. */
void gateway_free(struct gateway *gw);

/* Helpers shared by drivers and callers. */

/* Checks a route key or server id. */
int gateway_check_name(const char *what, const char *s, struct ferr *e);
/* Checks a whole route (key, host, prefix, base path). */
int gateway_check_route(const struct gateway_route *r, struct ferr *e);
/* Checks an "IP:PORT" or "[IPv6]:PORT" server address. */
int gateway_check_addr(const char *addr, struct ferr *e);
/* Normalizes a base path into buf: "/" or "/a/b/" (always ends with '/').
 * NULL means "/". Returns 0, or -1 with e set. */
int gateway_base_path_norm(char *buf, size_t size, const char *base_path,
			   struct ferr *e);
/* "maint", "ready", "drain"; and back (returns -1 when unknown). */
const char *gateway_server_state_name(enum gateway_server_state st);
int gateway_server_state_parse(const char *s, enum gateway_server_state *ret);

#endif
