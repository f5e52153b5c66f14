#include "api/connguard.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

#include "lib/clock.h"
#include "lib/banned.h"

#define ADDR_BUCKETS 1024

struct guard_conn {
	struct guard_conn *prev, *next;
	int fd;
	unsigned bucket;             /* of its client address */
	long long deadline_ms;       /* 0: not reading a request */
	int refused;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct guard_conn *conns;
static unsigned open_count;
/* Connections per client address, by a hash of it: two addresses that
 * share a bucket share a limit, which errs on the side of refusing. */
static unsigned per_addr[ADDR_BUCKETS];
static struct connguard_limits lim;
static pthread_t reaper;
static int running, stopping;

static unsigned addr_bucket(const struct sockaddr *sa)
{
	const unsigned char *p;
	size_t n;
	unsigned h = 2166136261u;

	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET) {
		p = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
		n = 4;
	} else if (sa->sa_family == AF_INET6) {
		p = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		n = 16;
	} else {
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h % ADDR_BUCKETS;
}

/* A fresh connection over a limit gets its answer straight on the socket:
 * MHD has read nothing yet, and a response queued through MHD would need
 * the request it may never send. */
static void refuse(int fd, const char *why)
{
	char body[200], msg[512];
	int b, n;

	if (!lim.tls) {
		b = snprintf(body, sizeof(body),
			     "{\"error\":\"%s\",\"code\":\"unavailable\",\"status\":503}\n", why);
		n = snprintf(msg, sizeof(msg),
			     "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n"
			     "Content-Type: application/json\r\nConnection: close\r\n"
			     "Content-Length: %d\r\n\r\n%s", b, body);
		if (b > 0 && (size_t)b < sizeof(body) && n > 0 && (size_t)n < sizeof(msg))
			(void)!send(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	/* MHD reads EOF and closes it */
	shutdown(fd, SHUT_RDWR);
}

void connguard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		      enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *ci;
	struct guard_conn *g;

	(void)cls;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		g = *socket_context;
		if (!g)
			return;
		pthread_mutex_lock(&lock);
		if (g->prev)
			g->prev->next = g->next;
		else
			conns = g->next;
		if (g->next)
			g->next->prev = g->prev;
		open_count--;
		per_addr[g->bucket]--;
		pthread_mutex_unlock(&lock);
		free(g);
		*socket_context = NULL;
		return;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	g->fd = ci ? ci->connect_fd : -1;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	g->bucket = addr_bucket(ci ? ci->client_addr : NULL);
	pthread_mutex_lock(&lock);
	g->next = conns;
	if (conns)
		conns->prev = g;
	conns = g;
	open_count++;
	per_addr[g->bucket]++;
	g->deadline_ms = mono_ms() + (long long)lim.request_timeout_s * 1000;
	if (per_addr[g->bucket] > lim.per_ip) {
		g->refused = 1;
		refuse(g->fd, "too many connections from this address: try again later");
	} else if (open_count > lim.total) {
		g->refused = 1;
		refuse(g->fd, "too many connections: try again later");
	}
	pthread_mutex_unlock(&lock);
	*socket_context = g;
}

static struct guard_conn *of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

static void set_deadline(struct MHD_Connection *c, int reading)
{
	struct guard_conn *g = of(c);

	if (!g)
		return;
	pthread_mutex_lock(&lock);
	if (!reading)
		g->deadline_ms = 0;
	else
		g->deadline_ms = mono_ms() + (long long)lim.request_timeout_s * 1000;
	pthread_mutex_unlock(&lock);
}

void connguard_request_started(struct MHD_Connection *c)
{
	(void)c; /* the deadline set when the request was awaited still runs */
}

void connguard_request_read(struct MHD_Connection *c)
{
	set_deadline(c, 0);
}

void connguard_request_done(struct MHD_Connection *c)
{
	set_deadline(c, 1);
}

/* Once a second: connections whose request is not in by its deadline are
 * shut down (their thread sees EOF, MHD closes them). */
static void *reap(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		struct timespec ts;
		long long now = mono_ms();
		unsigned n = 0;

		for (struct guard_conn *g = conns; g; g = g->next)
			if (g->deadline_ms && now >= g->deadline_ms && g->fd >= 0) {
				shutdown(g->fd, SHUT_RDWR);
				g->deadline_ms = 0;
				n++;
			}
		if (n)
			log_info("event=slow_requests_closed count=%u timeout_s=%u", n,
				 lim.request_timeout_s);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&wake, &lock, &ts);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int connguard_start(const struct connguard_limits *l, struct ferr *e)
{
	lim = *l;
	if (!lim.per_ip)
		lim.per_ip = 64;
	if (!lim.total)
		lim.total = 512;
	if (!lim.request_timeout_s)
		lim.request_timeout_s = 30;
	if (!lim.idle_timeout_s)
		lim.idle_timeout_s = 60;
	stopping = 0;
	if (pthread_create(&reaper, NULL, reap, NULL) != 0)
		return ferr_internal(e, "cannot start the connection reaper: %s", strerror(errno));
	running = 1;
	return 0;
}

void connguard_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(reaper, NULL);
	running = 0;
}

const struct connguard_limits *connguard_limits(void)
{
	return &lim;
}

unsigned connguard_open(void)
{
	unsigned n;

	pthread_mutex_lock(&lock);
	n = open_count;
	pthread_mutex_unlock(&lock);
	return n;
}
