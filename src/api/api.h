/* api: ferry's HTTP JSON API (libmicrohttpd + jansson).
 *
 * Every route is one line of the table in routes.c. A handler gets the
 * parsed request and either fills *ret with a JSON body (status 200 unless
 * it sets r->status) or returns -1 with e set, which becomes
 * {"error": msg, "code": code} with e->status. Changes (routes with an audit
 * action) are recorded in the audit log with their result.
 */
#ifndef FERRY_API_H
#define FERRY_API_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/auth.h"
#include "lib/error.h"

struct MHD_Connection;

#define API_MAX_PARAMS 4

/* Streams a response body: called repeatedly from the connection's own
 * thread; writes up to max bytes into buf and returns how many, 0 to wait
 * and be called again (the function should block briefly itself), or -1
 * at the end. Frees its state when done is called. */
struct api_stream {
	long (*read)(void *state, char *buf, size_t max);
	void (*done)(void *state);
	void *state;
	const char *content_type;
};

struct api_req {
	const char *method;
	const char *path;
	const char *params[API_MAX_PARAMS]; /* path captures, in order */
	json_t *body;                       /* parsed JSON body, or NULL */
	const struct principal *who;        /* NULL only on unauthenticated routes */
	struct MHD_Connection *conn;
	const char *raw_body;               /* the body as received (webhooks) */
	size_t raw_len;
	int status;                         /* set to change 200 (e.g. 201, 202) */
	struct api_stream stream;           /* set .read to stream instead of *ret */
	char audit_object[256];             /* what a change touched; default: path */
	char audit_project[64];             /* its project, when not in the path */
	char set_cookie[200];               /* a Set-Cookie header for the answer, or "" */
};

/* A query argument, or NULL. */
const char *api_query(struct api_req *r, const char *name);
/* A request header, or NULL. */
const char *api_header(struct api_req *r, const char *name);
/* A request cookie, or NULL. */
const char *api_cookie(struct api_req *r, const char *name);
/* A query argument as an integer in [min, max]; def if absent. -1 with e
 * set if present but not a number in range. */
int api_query_int(struct api_req *r, const char *name, long long min, long long max,
		  long long def, long long *ret, struct ferr *e);

typedef int (*api_handler)(struct api_req *r, json_t **ret, struct ferr *e);

struct api_route {
	const char *method;
	const char *pattern;  /* "/api/v1/projects/{}/components"; {} captures a segment */
	api_handler handler;
	const char *action;   /* audit action for changes ("project.create"); NULL for reads */
	int public;           /* 1: no bearer token (healthz, webhooks verify their own) */
};

extern const struct api_route api_routes[];

struct api_options {
	const char *listen;      /* "127.0.0.1:7700" */
	size_t body_limit;       /* bytes; larger → 413 */
	const char *tls_cert;    /* PEM files, or NULL for plain HTTP */
	const char *tls_key;
	int max_connections;      /* all clients; over it: 503 (0: 512) */
	unsigned per_ip_connections; /* one client address; over it: 503 (0: 64) */
	unsigned request_timeout_s; /* a request's headers and body (0: 30) */
	unsigned idle_timeout_s;  /* an idle keep-alive connection (0: 60) */
	const char *console_dir; /* the web console's files, served at "/"; NULL: no console */
};

/* Starts serving in background threads. Returns 0 or -1 with e set. */
int api_start(const struct api_options *o, struct ferr *e);
/* Stops accepting, waits for requests in flight, frees everything. */
void api_stop(void);

#endif
