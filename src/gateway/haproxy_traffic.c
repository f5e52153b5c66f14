/* The HAProxy driver's traffic feed: HAProxy logs one line per request
 * ("<backend> <server> <status> <Ta ms>", log-format in haproxy_cfg.c) to a
 * unix datagram socket of ferryd's; a thread reads it and hands each request
 * to the sink set with gateway_set_traffic_sink(). HAProxy's logging never
 * waits: a datagram the socket cannot take is dropped, so a slow reader
 * costs samples, never latency. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "gateway/haproxy_int.h"
#include "lib/banned.h"

#define BATCH 64

struct hap_traffic {
	char bufs[BATCH][512];   /* the reader's: lines of one recvmmsg */
	int fd;
	int stop_pipe[2];
	pthread_t thread;
	gateway_traffic_fn fn;
};

static gateway_traffic_fn sink;

void gateway_set_traffic_sink(gateway_traffic_fn fn)
{
	sink = fn;
}

gateway_traffic_fn hap_traffic_sink(void)
{
	return sink;
}

int hap_traffic_parse(const char *line, size_t len, char server[GATEWAY_KEY_MAX + 1], int *ret_status,
		      int *ret_ms)
{
	char buf[512], be[128], srv[GATEWAY_KEY_MAX + 1];
	int status, ms;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, line, len);
	buf[len] = '\0';
	/* a syslog header may come first when the format is not raw: the
	 * fields are the last four words */
	{
		char *w[4] = { 0 }, *p = buf + len;
		int n = 0;
		while (p > buf && (p[-1] == '\n' || p[-1] == ' '))
			*--p = '\0';
		while (n < 4 && p > buf) {
			while (p > buf && p[-1] != ' ')
				p--;
			w[3 - n++] = p;
			if (p > buf)
				*--p = '\0';
		}
		if (n < 4)
			return -1;
		if (snprintf(be, sizeof(be), "%s", w[0]) >= (int)sizeof(be) ||
		    snprintf(srv, sizeof(srv), "%s", w[1]) >= (int)sizeof(srv))
			return -1;
		if (sscanf(w[2], "%d", &status) != 1 || sscanf(w[3], "%d", &ms) != 1)
			return -1;
	}
	memcpy(server, srv, sizeof(srv));
	*ret_status = status;
	*ret_ms = ms;
	return 0;
}

static void *reader(void *arg)
{
	struct hap_traffic *t = arg;
	struct pollfd p[2] = { { t->fd, POLLIN, 0 }, { t->stop_pipe[0], POLLIN, 0 } };
	char (*bufs)[512] = t->bufs;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	char server[GATEWAY_KEY_MAX + 1];
	int status, ms;

	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		int n;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		/* many lines per call: one system call per line would cost the
		 * gateway's own CPU under load */
		while ((n = recvmmsg(t->fd, msgs, BATCH, MSG_DONTWAIT, NULL)) > 0)
			for (int i = 0; i < n; i++)
				if (hap_traffic_parse(bufs[i], msgs[i].msg_len, server, &status, &ms) == 0)
					t->fn(server, status, ms);
	}
	return NULL;
}

struct hap_traffic *hap_traffic_start(const char *path, struct ferr *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hap_traffic *t;
	int rcvbuf = 8 << 20;

	if (!sink)
		return NULL;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		ferr_invalid(e, "gateway: %s is too long for a unix socket path", path);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	t->fn = sink;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	t->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (t->fd < 0 || bind(t->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    pipe2(t->stop_pipe, O_CLOEXEC) < 0) {
		ferr_internal(e, "gateway: traffic socket %s: %s", path, strerror(errno));
		if (t->fd >= 0)
			close(t->fd);
		free(t);
		return NULL;
	}
	/* room for bursts: past net.core.rmem_max when ferryd may (root) */
	if (setsockopt(t->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (pthread_create(&t->thread, NULL, reader, t) != 0) {
		ferr_internal(e, "gateway: cannot start the traffic reader");
		close(t->fd);
		close(t->stop_pipe[0]);
		close(t->stop_pipe[1]);
		free(t);
		return NULL;
	}
	return t;
}

void hap_traffic_stop(struct hap_traffic *t)
{
	if (!t)
		return;
	if (write(t->stop_pipe[1], "x", 1) < 0) {
		/* the reader then ends with the process */
	}
	pthread_join(t->thread, NULL);
	close(t->fd);
	close(t->stop_pipe[0]);
	close(t->stop_pipe[1]);
	free(t);
}
