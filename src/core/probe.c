/* HTTP and TCP probes over the loopback, each bounded by one deadline. */
#include "core/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/banned.h"

static int left_ms(long long deadline)
{
	long long d = deadline - mono_ms();

	return d < 0 ? 0 : (int)d;
}

static void say(char *answer, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *answer, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!size)
		return;
	va_start(ap, fmt);
	vsnprintf(answer, size, fmt, ap);
	va_end(ap);
}

/* Waits for events on fd until the deadline: 1 ready, 0 timed out, -1
 * error. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { fd, events, 0 };

	for (;;) {
		int r = poll(&p, 1, left_ms(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r;
	}
}

/* A non-blocking connect to 127.0.0.1:port. Returns the fd, or -1 with
 * the answer written. */
static int connect_loopback(int port, long long deadline, int timeout_ms, char *answer,
			    size_t size)
{
	struct sockaddr_in sa;
	int fd, err = 0;
	socklen_t len = sizeof(err);

	if (port < 1 || port > 65535) {
		say(answer, size, "no such port %d", port);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		say(answer, size, "cannot open a socket: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		say(answer, size, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	switch (wait_fd(fd, POLLOUT, deadline)) {
	case 0:
		say(answer, size, "connect timed out after %d ms", timeout_ms);
		close(fd);
		return -1;
	case -1:
		say(answer, size, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		say(answer, size, "%s", strerror(err));
		close(fd);
		return -1;
	}
	return fd;
}

int probe_tcp(int port, int timeout_ms, char *answer, size_t size)
{
	long long deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 1000);
	int fd = connect_loopback(port, deadline, timeout_ms, answer, size);

	if (fd < 0)
		return 0;
	close(fd);
	say(answer, size, "TCP connect to port %d accepted", port);
	return 1;
}

/* Parses "HTTP/1.x NNN" at the start of buf. Returns the status or -1. */
static int status_of(const char *buf, size_t len)
{
	int st = 0;

	if (len < 12 || memcmp(buf, "HTTP/1.", 7) || buf[8] != ' ')
		return -1;
	for (size_t i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		st = st * 10 + (buf[i] - '0');
	}
	return st;
}

int probe_http(int port, const char *path, const char *host, int timeout_ms, char *answer,
	       size_t size)
{
	long long deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 1000);
	char req[1024], buf[256];
	size_t got = 0, off = 0;
	int fd, n, st;

	if (!path || path[0] != '/' || strpbrk(path, " \r\n")) {
		say(answer, size, "bad probe path");
		return 0;
	}
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ferry-probe\r\n"
		     "Accept: */*\r\nConnection: close\r\n\r\n", path, host ? host : "localhost");
	if (n < 0 || (size_t)n >= sizeof(req)) {
		say(answer, size, "probe path too long");
		return 0;
	}
	fd = connect_loopback(port, deadline, timeout_ms, answer, size);
	if (fd < 0)
		return 0;
	while (off < (size_t)n) {
		ssize_t w = send(fd, req + off, (size_t)n - off, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline) <= 0)
				goto timeout;
			continue;
		}
		if (w < 0) {
			say(answer, size, "send failed: %s", strerror(errno));
			close(fd);
			return 0;
		}
		off += (size_t)w;
	}
	while (got < 12) {
		ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLIN, deadline) <= 0)
				goto timeout;
			continue;
		}
		if (r <= 0) {
			if (r == 0)
				say(answer, size, "connection closed without an HTTP answer");
			else
				say(answer, size, "receive failed: %s", strerror(errno));
			close(fd);
			return 0;
		}
		got += (size_t)r;
	}
	close(fd);
	st = status_of(buf, got);
	if (st < 0) {
		say(answer, size, "the answer is not HTTP");
		return 0;
	}
	say(answer, size, "HTTP %d", st);
	return st >= 200 && st <= 399;
timeout:
	close(fd);
	say(answer, size, "no answer within %d ms", timeout_ms);
	return 0;
}
