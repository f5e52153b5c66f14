/* Internals of the HAProxy gateway driver, shared by haproxy*.c and the unit
 * tests. Not for core: core uses gateway.h only.
 *
 * The driver keeps a mirror of every route and server it was told about
 * (struct hap_state). HAProxy itself is changed through its runtime API; the
 * mirror is what lets it render a complete configuration when HAProxy must
 * be (re)started or the backend pool must grow, so a restart comes back with
 * every route in place.
 *
 * Layout in HAProxy: one frontend; a fixed pool of backends "r0".."rN-1"
 * (slots), one per route; three map files:
 *   hosts.map  "<host><base>"   -> "r<slot>"   (looked up with map_beg on
 *                                               host + path + "/")
 *   paths.map  "<prefix><base>" -> "r<slot>"   (map_beg on path + "/")
 *   meta.map   "r<slot>"        -> "<key>|<host>|<prefix>|<base>"
 * meta.map is never used to route; it lets a new ferryd adopt a running
 * HAProxy and learn which slot holds which route.
 */
#ifndef FERRY_GATEWAY_HAPROXY_INT_H
#define FERRY_GATEWAY_HAPROXY_INT_H

#include <stddef.h>

#include "gateway.h"
#include "lib/error.h"
#include "lib/strbuf.h"

#define HAP_DEFAULT_SLOTS 256u
#define HAP_MAX_SLOTS     65536u

struct hap_server {
	char *id;
	char *addr;
	enum gateway_server_state state;
	int weight;                /* 0: HAProxy's default (1) */
};

struct hap_route {
	char *key;
	char *host;    /* or NULL */
	char *prefix;  /* or NULL */
	char *base;    /* normalized: "/" or "/a/" */
	struct hap_server *srv;
	size_t nsrv, asrv;
};

struct hap_state {
	unsigned nslots;
	struct hap_route **slot; /* nslots entries; NULL = free */
};

/* Where HAProxy's files live (all absolute, no spaces). */
struct hap_files {
	const char *sock;
	const char *hosts_map;
	const char *paths_map;
	const char *meta_map;
	const char *traffic;     /* datagram socket for request lines, or NULL */
};

/* --- traffic feed (haproxy_traffic.c) --- */

struct hap_traffic;
/* The sink set with gateway_set_traffic_sink(), or NULL. */
gateway_traffic_fn hap_traffic_sink(void);
/* Binds the datagram socket at path and starts its reader thread. NULL
 * when no sink is set, or on failure (with e set). */
struct hap_traffic *hap_traffic_start(const char *path, struct ferr *e);
void hap_traffic_stop(struct hap_traffic *t);
/* Parses one request line ("... <backend> <server> <status> <ms>").
 * Returns 0 or -1 if it is not one. */
int hap_traffic_parse(const char *line, size_t len, char server[GATEWAY_KEY_MAX + 1], int *ret_status,
		      int *ret_ms);

/* --- state (haproxy_cfg.c) --- */

/* Sets up an empty state with nslots free slots. */
void hap_state_init(struct hap_state *st, unsigned nslots);
/* Frees all routes and the slot array. */
void hap_state_release(struct hap_state *st);
/* Grows the pool to nslots (>= current); existing routes keep their slot. */
void hap_state_grow(struct hap_state *st, unsigned nslots);
/* Slot of the route named key, or -1. */
int hap_state_find(const struct hap_state *st, const char *key);
/* First free slot, or -1 when the pool is full. */
int hap_state_free_slot(const struct hap_state *st);
/* New route from a checked gateway_route (base normalized); never NULL. */
struct hap_route *hap_route_new(const struct gateway_route *r, const char *norm_base);
void hap_route_free(struct hap_route *r);
/* Index of server id in r, or -1. */
int hap_route_find_server(const struct hap_route *r, const char *id);
/* Appends a server (copies id and addr); returns its index. */
size_t hap_route_add_server(struct hap_route *r, const char *id, const char *addr,
			    enum gateway_server_state st);
void hap_route_del_server(struct hap_route *r, size_t i);

/* --- rendering (haproxy_cfg.c) --- */

/* The whole haproxy.cfg for listen and the state. Servers in maint or drain
 * are rendered "disabled"; the driver puts drain ones back in drain through
 * the runtime API once HAProxy is up. */
void hap_render_config(struct strbuf *out, const struct hap_files *f, const char *listen,
		       const struct hap_state *st);
/* The three map files' contents. */
void hap_render_maps(struct strbuf *hosts, struct strbuf *paths, struct strbuf *meta,
		     const struct hap_state *st);
/* "key|host|prefix|base" value of meta.map for r. */
void hap_meta_value(struct strbuf *out, const struct hap_route *r);
/* Parses a meta.map value back into a new route (slot-less). Returns NULL
 * when it is malformed. */
struct hap_route *hap_meta_parse(const char *value);

/* --- runtime API (haproxy_cli.c) --- */

/* Sends one command on the admin socket and reads the whole answer into out
 * (capped at 16 MiB). Returns 0, or -1 with e set (502) when the socket
 * cannot be reached or does not answer within timeout_ms. */
int hap_cli(const char *sock, const char *cmd, struct strbuf *out, int timeout_ms,
	    struct ferr *e);
/* Runs cmd and checks the answer: empty, or starting with one of the
 * NULL-terminated ok[] strings. Anything else is HAProxy refusing: -1, e
 * holds its words. */
int hap_cli_expect(const char *sock, const char *cmd, const char *const *ok, struct ferr *e);

/* From `show stat <backend> 4 -1` output, the current sessions plus queued
 * requests of server srv. Returns the count, or -1 if srv is not there. */
int hap_parse_stat_sessions(const char *csv, const char *srv);

/* One line of `show servers state <backend>`. */
struct hap_server_line {
	char name[GATEWAY_KEY_MAX + 1];
	char addr[80];
	enum gateway_server_state state;
};
/* Parses the output of `show servers state <backend>` into out (at most max
 * lines). Returns the number of servers found (may exceed max: then only
 * max were stored), or -1 if the output is not what HAProxy 2.6 prints. */
int hap_parse_servers_state(const char *text, struct hap_server_line *out, size_t max);

/* Calls fn for each "key value" entry of `show map` output. */
void hap_parse_map(const char *text, void (*fn)(const char *key, const char *value, void *arg),
		   void *arg);

/* Highest N of backends named "rN" in `show backend` output, or -1. */
int hap_parse_max_slot(const char *text);

#endif
