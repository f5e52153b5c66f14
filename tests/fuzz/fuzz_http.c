/* libFuzzer target: the HTTP API end to end. Each input is one raw
 * HTTP/1.1 request, sent over loopback to the real server of src/api
 * (libmicrohttpd, the route table, authentication by bearer token or
 * session cookie, query strings, the JSON body of every route, the
 * handlers and core behind them) running in this process on a real store
 * (fuzz_world.h). So request lines, headers, cookies, tokens and bodies
 * from hostile clients are all reached.
 *
 * To get past authentication, "@ADMIN@" in an input becomes a valid admin
 * token and "@VIEWER@" a viewer's; "@LEN@" becomes the length of what
 * follows the blank line, so that mutated bodies keep a matching
 * Content-Length. The seed corpus (scripts/fuzz makes it from
 * src/api/routes.c) has one request per route.
 *
 * Checks, besides ASan/UBSan in the server's threads: the server keeps
 * accepting connections, and never answers 500 (an internal error is a
 * bug; 502/503/507 say a part ferry drives is not there, as here).
 * No job workers, rollout engine or registry run: what they would do stays
 * queued or is refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "core/auth.h"
#include "core/component.h"
#include "fuzz_world.h"
#include "lib/log.h"
#include "lib/strbuf.h"

#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int port;
static char admin_token[TOKEN_LEN + 1], viewer_token[TOKEN_LEN + 1];

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), p;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		perror("free port");
		exit(1);
	}
	p = ntohs(sa.sin_port);
	close(fd);
	return p;
}

static void start(void)
{
	static const struct principal admin = { 1, "admin", ROLE_ADMIN, 0 };
	const struct fuzz_world *w = fuzz_world();
	struct ferr e = FERR_INIT;
	char path[128], listen[32], url[64];
	json_t *j = NULL;
	FILE *f;

	log_set_level(LOG_ERROR);
	snprintf(path, sizeof(path), "%s/admin.token", w->dir);
	if (auth_bootstrap(path, &e) < 0 || !(f = fopen(path, "r"))) {
		fprintf(stderr, "fuzz_http: admin token: %s\n", e.msg);
		exit(1);
	}
	if (!fgets(admin_token, sizeof(admin_token), f))
		exit(1);
	fclose(f);
	admin_token[strcspn(admin_token, "\n")] = '\0';
	if (token_create(&admin, "viewer", ROLE_VIEWER, NULL, viewer_token, &j, &e) < 0) {
		fprintf(stderr, "fuzz_http: viewer token: %s\n", e.msg);
		exit(1);
	}
	json_decref(j);
	port = free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(url, sizeof(url), "http://%s", listen);
	component_set_public_url(url);
	{
		struct api_options ao = { .listen = listen, .body_limit = 1u << 20,
					  .request_timeout_s = 2, .idle_timeout_s = 2 };
		if (api_start(&ao, &e) < 0) {
			fprintf(stderr, "fuzz_http: api_start: %s\n", e.msg);
			exit(1);
		}
	}
	/* At exit the server stops (waiting for requests in flight) before
	 * fuzz_world closes the store under them (atexit runs in reverse). */
	atexit(api_stop);
}

/* The input with the placeholders replaced. */
static void expand(struct strbuf *out, const char *in, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	const char *end;
	size_t i = 0;

	while (i < n) {
		if (in[i] == '@' && n - i >= 7 && !memcmp(in + i, "@ADMIN@", 7)) {
			strbuf_addstr(&sb, admin_token);
			i += 7;
		} else if (in[i] == '@' && n - i >= 8 && !memcmp(in + i, "@VIEWER@", 8)) {
			strbuf_addstr(&sb, viewer_token);
			i += 8;
		} else {
			strbuf_addch(&sb, in[i++]);
		}
	}
	end = memmem(sb.buf, sb.len, "\r\n\r\n", 4);
	for (size_t k = 0; k + 5 <= sb.len; k++) {
		if (memcmp(sb.buf + k, "@LEN@", 5))
			continue;
		strbuf_add(out, sb.buf, k);
		strbuf_addf(out, "%zu", end && end > sb.buf + k ?
			    (size_t)(sb.buf + sb.len - (end + 4)) : (size_t)0);
		strbuf_add(out, sb.buf + k + 5, sb.len - k - 5);
		strbuf_release(&sb);
		return;
	}
	strbuf_add(out, sb.buf, sb.len);
	strbuf_release(&sb);
}

/* Sends req and reads the answer until the server closes or is quiet for
 * a while (a stream that follows a log). Returns the status, 0 if none. */
static int roundtrip(const struct strbuf *req)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char buf[4096];
	size_t off = 0, got = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "fuzz_http: the server does not accept connections: %s\n",
			strerror(errno));
		abort();
	}
	while (off < req->len) {
		ssize_t n = send(fd, req->buf + off, req->len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR); /* no more: a short body ends here, not at a timeout */
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		char rest[4096];
		ssize_t n;

		if (poll(&p, 1, 500) <= 0)
			break;
		/* the first 4 KiB are kept (the status line), the rest read and
		 * dropped */
		if (got < sizeof(buf) - 1)
			n = read(fd, buf + got, sizeof(buf) - 1 - got);
		else
			n = read(fd, rest, sizeof(rest));
		if (n <= 0)
			break;
		if (got < sizeof(buf) - 1)
			got += (size_t)n;
	}
	buf[got] = '\0';
	if (got >= 12 && !strncmp(buf, "HTTP/1.", 7))
		status = atoi(buf + 9);
	close(fd);
	return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf req = STRBUF_INIT;
	int status;

	if (!port)
		start();
	expand(&req, (const char *)data, size);
	status = roundtrip(&req);
	if (status == 500) {
		fprintf(stderr, "fuzz_http: the server answered 500 to:\n%.*s\n", (int)req.len, req.buf);
		abort();
	}
	strbuf_release(&req);
	return 0;
}
