/* Unit tests of core/probe: HTTP and TCP probes against a loopback server
 * run by the test itself (answers chosen per test: a status, garbage,
 * silence, a closed connection). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/probe.h"

struct server {
	int fd;
	int port;
	const char *answer;   /* sent after the request; NULL: stay silent */
	int close_at_once;
	char request[1024];
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	int c = accept(s->fd, NULL, NULL);
	ssize_t n;

	if (c < 0)
		return NULL;
	if (s->close_at_once) {
		close(c);
		return NULL;
	}
	n = recv(c, s->request, sizeof(s->request) - 1, 0);
	if (n > 0)
		s->request[n] = '\0';
	if (s->answer)
		send(c, s->answer, strlen(s->answer), MSG_NOSIGNAL);
	else
		usleep(600 * 1000);
	close(c);
	return NULL;
}

static void server_start(struct server *s)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);

	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->fd, 4), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sa, &len), 0);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

/* A port nothing listens on: bound then closed. */
static int closed_port(void)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int http_with(const char *answer, char *text, size_t size, char *request)
{
	struct server s = { .answer = answer };
	int ok;

	server_start(&s);
	ok = probe_http(s.port, "/healthz", NULL, 2000, text, size);
	server_stop(&s);
	if (request)
		memcpy(request, s.request, sizeof(s.request));
	return ok;
}

static void test_http_statuses(void **state)
{
	char text[PROBE_ANSWER_MAX], req[1024];

	(void)state;
	assert_int_equal(http_with("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", text, sizeof(text), req), 1);
	assert_string_equal(text, "HTTP 200");
	assert_non_null(strstr(req, "GET /healthz HTTP/1.1\r\n"));
	assert_non_null(strstr(req, "Host: localhost\r\n"));
	assert_int_equal(http_with("HTTP/1.0 302 Found\r\n\r\n", text, sizeof(text), NULL), 1);
	assert_string_equal(text, "HTTP 302");
	assert_int_equal(http_with("HTTP/1.1 399 Odd\r\n\r\n", text, sizeof(text), NULL), 1);
	assert_int_equal(http_with("HTTP/1.1 400 Bad\r\n\r\n", text, sizeof(text), NULL), 0);
	assert_string_equal(text, "HTTP 400");
	assert_int_equal(http_with("HTTP/1.1 503 Unavailable\r\n\r\n", text, sizeof(text), NULL), 0);
	assert_string_equal(text, "HTTP 503");
	assert_int_equal(http_with("HTTP/1.1 199 Early\r\n\r\n", text, sizeof(text), NULL), 0);
}

static void test_http_not_http(void **state)
{
	char text[PROBE_ANSWER_MAX];

	(void)state;
	assert_int_equal(http_with("SSH-2.0-OpenSSH_9.2 hello there\r\n", text, sizeof(text), NULL), 0);
	assert_string_equal(text, "the answer is not HTTP");
	assert_int_equal(http_with("HTTP/1.1 2x0 OK\r\n\r\n", text, sizeof(text), NULL), 0);
	assert_int_equal(http_with("HTTP", text, sizeof(text), NULL), 0);
	assert_string_equal(text, "connection closed without an HTTP answer");
}

static void test_http_closed_and_refused(void **state)
{
	struct server s = { .close_at_once = 1 };
	char text[PROBE_ANSWER_MAX];

	(void)state;
	server_start(&s);
	assert_int_equal(probe_http(s.port, "/", NULL, 1000, text, sizeof(text)), 0);
	server_stop(&s);
	assert_int_equal(probe_http(closed_port(), "/", NULL, 1000, text, sizeof(text)), 0);
	assert_string_equal(text, "Connection refused");
}

static void test_http_timeout(void **state)
{
	struct server s = { .answer = NULL };
	char text[PROBE_ANSWER_MAX];
	struct timespec a, b;
	long ms;

	(void)state;
	server_start(&s);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(probe_http(s.port, "/slow", "c.p.e.localhost", 200, text, sizeof(text)), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	server_stop(&s);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= 190 && ms < 550);
	assert_string_equal(text, "no answer within 200 ms");
	assert_non_null(strstr(s.request, "Host: c.p.e.localhost\r\n"));
}

static void test_http_bad_path(void **state)
{
	char text[PROBE_ANSWER_MAX];

	(void)state;
	assert_int_equal(probe_http(80, "healthz", NULL, 100, text, sizeof(text)), 0);
	assert_int_equal(probe_http(80, "/a b", NULL, 100, text, sizeof(text)), 0);
	assert_int_equal(probe_http(80, "/a\r\nX: y", NULL, 100, text, sizeof(text)), 0);
	assert_string_equal(text, "bad probe path");
	assert_int_equal(probe_http(0, "/", NULL, 100, text, sizeof(text)), 0);
	assert_string_equal(text, "no such port 0");
}

static void test_tcp(void **state)
{
	struct server s = { .close_at_once = 1 };
	char text[PROBE_ANSWER_MAX];

	(void)state;
	server_start(&s);
	assert_int_equal(probe_tcp(s.port, 1000, text, sizeof(text)), 1);
	server_stop(&s);
	assert_int_equal(probe_tcp(closed_port(), 1000, text, sizeof(text)), 0);
	assert_string_equal(text, "Connection refused");
	/* no buffer at all is fine */
	assert_int_equal(probe_tcp(closed_port(), 1000, NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_statuses),
		cmocka_unit_test(test_http_not_http),
		cmocka_unit_test(test_http_closed_and_refused),
		cmocka_unit_test(test_http_timeout),
		cmocka_unit_test(test_http_bad_path),
		cmocka_unit_test(test_tcp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
