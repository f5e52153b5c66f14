/* The HTTP server: request intake, limits, auth, routing, responses, the
 * request log and the audit hook. Handlers live in one file per resource. */
#include "api/api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/apistats.h"
#include "api/connguard.h"
#include "api/session.h"
#include "api/headers.h"
#include "api/static.h"
#include "core/audit.h"
#include "lib/log.h"
#include "lib/jsontext.h"
#include "lib/strbuf.h"
#include "store/store.h"
#include "lib/banned.h"

struct request {
	struct strbuf body;
	int too_large;
	struct timespec start;
	struct principal who;
	int authed;
	int status;
	const struct api_route *route; /* matched (for apistats) */
	int console;
	char method[16];
	char path[256];
	char set_cookie[200];
	int retry_after;               /* > 0: a Retry-After header (an error's) */
};

static struct MHD_Daemon *daemon_;
static size_t body_limit;
static char *tls_cert_pem, *tls_key_pem;

const char *api_query(struct api_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *api_header(struct api_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *api_cookie(struct api_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

int api_query_int(struct api_req *r, const char *name, long long min, long long max,
		  long long def, long long *ret, struct ferr *e)
{
	const char *s = api_query(r, name);
	char *end;
	long long v;

	if (!s || !*s) {
		*ret = def;
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return ferr_invalid(e, "query parameter %s=\"%s\" must be a number from %lld to %lld",
				    name, s, min, max);
	*ret = v;
	return 0;
}

static enum MHD_Result send_body(struct MHD_Connection *c, struct request *rq, int status,
				 char *text, size_t len, const char *type)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	MHD_add_response_header(resp, "Content-Type", type);
	api_add_safe_headers(resp);
	if (rq && rq->set_cookie[0])
		MHD_add_response_header(resp, "Set-Cookie", rq->set_cookie);
	if (rq && rq->retry_after > 0) {
		char secs[16];
		snprintf(secs, sizeof(secs), "%d", rq->retry_after);
		MHD_add_response_header(resp, "Retry-After", secs);
	}
	if (rq)
		rq->status = status;
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, struct request *rq, int status, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	size_t len;

	/* Only a value jansson cannot print comes here without text: answer
	 * that rather than crash on it. */
	if (!text)
		text = strdup("{\"error\":\"internal error: the answer could not be encoded\",\"code\":\"internal\"}");
	if (!text)
		abort();
	len = strlen(text);

	/* One newline at the end reads better in a terminal. */
	text = realloc(text, len + 2);
	if (!text)
		abort();
	text[len] = '\n';
	text[len + 1] = '\0';
	return send_body(c, rq, status, text, len + 1, "application/json");
}

static enum MHD_Result send_error(struct MHD_Connection *c, struct request *rq, const struct ferr *e)
{
	/* The message may quote what the client sent (a path, a header), which
	 * need not be UTF-8: json_text keeps it valid JSON (json_pack would
	 * fail and leave nothing to send). */
	json_t *j = json_pack("{s:o, s:s}", "error", json_text0(e->msg),
			      "code", e->code[0] ? e->code : "error");
	enum MHD_Result ret;

	if (rq)
		rq->retry_after = e->retry_after;
	ret = send_json(c, rq, e->status ? e->status : 500, j);

	json_decref(j);
	return ret;
}

/* Matches path against pattern, capturing {} segments into params. */
static int match(const char *pattern, const char *path, const char *params[API_MAX_PARAMS],
		 char store[][256])
{
	int n = 0;

	while (*pattern && *path) {
		if (pattern[0] == '{' && pattern[1] == '}') {
			size_t len = strcspn(path, "/");
			if (len == 0 || len >= 256 || n == API_MAX_PARAMS)
				return 0;
			memcpy(store[n], path, len);
			store[n][len] = '\0';
			params[n] = store[n];
			n++;
			path += len;
			pattern += 2;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

static long stream_read_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct api_stream *s = cls;
	long n;

	(void)pos;
	n = s->read(s->state, buf, max);
	return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void stream_free_cb(void *cls)
{
	struct api_stream *s = cls;

	if (s->done)
		s->done(s->state);
	free(s);
}

static void audit_change(const struct api_route *rt, struct api_req *r, int status,
			 const struct ferr *e)
{
	const char *project = NULL;

	if (!rt->action || !r->who)
		return;
	if (!strncmp(rt->pattern, "/api/v1/projects/{}", 19))
		project = r->params[0];
	else if (r->audit_project[0])
		project = r->audit_project;
	audit_record(r->who, NULL, rt->action, r->audit_object[0] ? r->audit_object : r->path,
		     project, status, status < 400 ? "ok" : e->msg);
}

static enum MHD_Result dispatch(struct MHD_Connection *c, struct request *rq, const char *url,
				const char *method)
{
	char captures[API_MAX_PARAMS][256];
	struct api_req r = { 0 };
	const struct api_route *rt = NULL;
	struct ferr e = FERR_INIT;
	int path_known = 0, rc;
	json_t *out = NULL;
	enum MHD_Result ret;

	if (console_wants(url)) {
		rq->status = 1; /* the console sets the real one */
		rq->console = 1;
		return console_serve(c, method, url, &rq->status);
	}
	r.method = method;
	r.path = url;
	r.conn = c;
	for (const struct api_route *x = api_routes; x->method; x++) {
		if (!match(x->pattern, url, r.params, captures))
			continue;
		path_known = 1;
		if (!strcmp(x->method, method)) {
			rt = x;
			break;
		}
	}
	rq->route = rt;
	if (!rt) {
		if (path_known)
			ferr_set(&e, 405, "method_not_allowed", "%s is not allowed on %s", method, url);
		else
			ferr_notfound(&e, "no such API path: %s", url);
		return send_error(c, rq, &e);
	}
	/* a thread that cannot open the store answers so, rather than with a
	 * misleading 404 from a lookup that could not run */
	if (store_thread_ready(&e) < 0)
		return send_error(c, rq, &e);

	if (!rt->public) {
		int by_cookie;
		if (api_authenticate(c, method, &rq->who, &by_cookie, &e) < 0)
			return send_error(c, rq, &e);
		rq->authed = 1;
		r.who = &rq->who;
	}

	if (rq->body.len) {
		json_error_t jerr;
		r.raw_body = rq->body.buf;
		r.raw_len = rq->body.len;
		const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
		/* Webhooks (public routes) parse their own bodies. */
		if (!rt->public || (type && strstr(type, "json") && strncmp(url, "/api/v1/hooks/", 14))) {
			r.body = json_loadb(rq->body.buf, rq->body.len, JSON_REJECT_DUPLICATES, &jerr);
			if (!r.body) {
				ferr_invalid(&e, "the request body is not valid JSON: %s (line %d, column %d)",
					     jerr.text, jerr.line, jerr.column);
				audit_change(rt, &r, 400, &e);
				return send_error(c, rq, &e);
			}
			if (!json_is_object(r.body)) {
				json_decref(r.body);
				ferr_invalid(&e, "the request body must be a JSON object");
				audit_change(rt, &r, 400, &e);
				return send_error(c, rq, &e);
			}
		}
	}

	rc = rt->handler(&r, &out, &e);
	json_decref(r.body);
	memcpy(rq->set_cookie, r.set_cookie, sizeof(rq->set_cookie));
	if (rc < 0) {
		json_decref(out);
		if (!e.status)
			ferr_internal(&e, "internal error");
		audit_change(rt, &r, e.status, &e);
		return send_error(c, rq, &e);
	}
	audit_change(rt, &r, r.status ? r.status : 200, &e);
	if (r.stream.read) {
		struct api_stream *s = malloc(sizeof(*s));
		struct MHD_Response *resp;

		if (!s)
			abort();
		*s = r.stream;
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read_cb,
							 s, stream_free_cb);
		MHD_add_response_header(resp, "Content-Type",
					s->content_type ? s->content_type : "application/x-ndjson");
		api_add_safe_headers(resp);
		rq->status = r.status ? r.status : 200;
		ret = MHD_queue_response(c, (unsigned)rq->status, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (!out)
		out = json_object();
	ret = send_json(c, rq, r.status ? r.status : 200, out);
	json_decref(out);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	struct request *rq = *con_cls;

	(void)cls;
	(void)version;
	if (!rq) {
		const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");

		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		strbuf_init(&rq->body, 0);
		clock_gettime(CLOCK_MONOTONIC, &rq->start);
		snprintf(rq->method, sizeof(rq->method), "%s", method);
		snprintf(rq->path, sizeof(rq->path), "%s", url);
		*con_cls = rq;
		if (len && strtoull(len, NULL, 10) > body_limit) {
			struct ferr e = FERR_INIT;
			ferr_set(&e, 413, "too_large", "the request body is larger than the limit of %zu bytes", body_limit);
			return send_error(c, rq, &e);
		}
		/* One allocation of the announced size: a body may hold secret
		 * values, and growing would leave copies behind in freed memory. */
		if (len)
			strbuf_grow(&rq->body, (size_t)strtoull(len, NULL, 10));
		return MHD_YES;
	}
	if (*upload_size) {
		if (rq->body.len + *upload_size > body_limit)
			rq->too_large = 1;
		else if (!rq->too_large)
			strbuf_add(&rq->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	connguard_request_read(c);
	if (rq->status)
		return MHD_YES; /* already answered (413 on Content-Length) */
	if (rq->too_large) {
		struct ferr e = FERR_INIT;
		ferr_set(&e, 413, "too_large", "the request body is larger than the limit of %zu bytes", body_limit);
		return send_error(c, rq, &e);
	}
	return dispatch(c, rq, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;
	struct timespec end;
	char q[300];
	double ms;

	(void)cls;
	connguard_request_done(c);
	if (!rq)
		return;
	clock_gettime(CLOCK_MONOTONIC, &end);
	ms = (double)(end.tv_sec - rq->start.tv_sec) * 1e3 + (double)(end.tv_nsec - rq->start.tv_nsec) / 1e6;
	apistats_count(rq->route, rq->console, rq->status, ms);
	log_info("event=request method=%s path=%s status=%d ms=%.2f actor=%s%s",
		 rq->method, log_quote(q, sizeof(q), rq->path), rq->status, ms,
		 rq->authed ? rq->who.name : "-",
		 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
	if (rq->body.alloc)
		explicit_bzero(rq->body.buf, rq->body.alloc);
	strbuf_release(&rq->body);
	free(rq);
	*con_cls = NULL;
}

static char *slurp(const char *path, struct ferr *e)
{
	FILE *f = fopen(path, "re");
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;

	if (!f) {
		ferr_invalid(e, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && sb.len < (1 << 20))
		strbuf_add(&sb, buf, n);
	fclose(f);
	return strbuf_detach(&sb, NULL);
}

static int parse_listen(const char *s, struct sockaddr_in *sa, struct ferr *e)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return ferr_invalid(e, "listen address \"%s\" is not HOST:PORT", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return ferr_invalid(e, "listen address \"%s\": bad port", s);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return ferr_invalid(e, "listen address \"%s\": %s is not an IPv4 address", s, host);
	return 0;
}

int api_start(const struct api_options *o, struct ferr *e)
{
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_POLL | MHD_USE_ERROR_LOG;
	struct sockaddr_in sa;

	if (parse_listen(o->listen, &sa, e) < 0)
		return -1;
	body_limit = o->body_limit ? o->body_limit : (1u << 20);
	console_set_dir(o->console_dir);
	if (o->tls_cert || o->tls_key) {
		if (!o->tls_cert || !o->tls_key)
			return ferr_invalid(e, "--tls-cert and --tls-key go together");
		if (!(tls_cert_pem = slurp(o->tls_cert, e)) || !(tls_key_pem = slurp(o->tls_key, e)))
			return -1;
		flags |= MHD_USE_TLS;
	}
	{
		struct connguard_limits gl = { .per_ip = o->per_ip_connections,
					       .total = (unsigned)o->max_connections,
					       .request_timeout_s = o->request_timeout_s,
					       .idle_timeout_s = o->idle_timeout_s,
					       .tls = tls_cert_pem != NULL };
		if (connguard_start(&gl, e) < 0)
			return -1;
	}
	{
		const struct connguard_limits *gl = connguard_limits();
		/* MHD's own hard limit sits above ours, so that a connection over
		 * our limit still gets its 503 from connguard. */
		unsigned hard = gl->total + gl->per_ip + 64;
		if (tls_cert_pem)
			daemon_ = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				MHD_OPTION_NOTIFY_CONNECTION, connguard_notify, NULL,
				MHD_OPTION_CONNECTION_LIMIT, hard,
				MHD_OPTION_CONNECTION_TIMEOUT, gl->idle_timeout_s,
				MHD_OPTION_HTTPS_MEM_CERT, tls_cert_pem,
				MHD_OPTION_HTTPS_MEM_KEY, tls_key_pem,
				MHD_OPTION_END);
		else
			daemon_ = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				MHD_OPTION_NOTIFY_CONNECTION, connguard_notify, NULL,
				MHD_OPTION_CONNECTION_LIMIT, hard,
				MHD_OPTION_CONNECTION_TIMEOUT, gl->idle_timeout_s,
				MHD_OPTION_END);
	}
	if (!daemon_) {
		connguard_stop();
		return ferr_internal(e, "cannot listen on %s (in use, or bad TLS key/certificate)", o->listen);
	}
	return 0;
}

void api_stop(void)
{
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	connguard_stop();
	free(tls_cert_pem);
	free(tls_key_pem);
	tls_cert_pem = tls_key_pem = NULL;
}
