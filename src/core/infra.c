/* The build infrastructure's state; see infra.h. */
#include "core/infra.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "core/core.h"
#include "lib/banned.h"

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stopping;
	int ready;                 /* registry open and ferry/busybox there */
	struct ferr error;         /* the last start-up failure */
	struct registry *const *caches;
	const char *const *upstreams;
	size_t n_caches;
} infra = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, FERR_INIT, NULL, NULL, 0 };

static void deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int infra_wait(int timeout_ms, struct ferr *e)
{
	struct timespec ts;
	int ret = 0;

	deadline(&ts, timeout_ms);
	pthread_mutex_lock(&infra.lock);
	while (!infra.ready && !infra.stopping) {
		if (pthread_cond_timedwait(&infra.cond, &infra.lock, &ts) == ETIMEDOUT)
			break;
	}
	if (!infra.ready) {
		if (infra.error.status)
			ret = ferr_set(e, infra.error.status, infra.error.code, "%s", infra.error.msg);
		else
			ret = ferr_set(e, 503, "starting", "the image registry is still starting");
	}
	pthread_mutex_unlock(&infra.lock);
	return ret;
}

void infra_set_registry(struct registry *reg)
{
	pthread_mutex_lock(&infra.lock);
	core.registry = reg;
	pthread_mutex_unlock(&infra.lock);
}

void infra_set_caches(struct registry *const *caches, const char *const *upstreams, size_t n)
{
	pthread_mutex_lock(&infra.lock);
	infra.caches = caches;
	infra.upstreams = upstreams;
	infra.n_caches = n;
	pthread_mutex_unlock(&infra.lock);
}

void infra_ready(void)
{
	pthread_mutex_lock(&infra.lock);
	infra.ready = 1;
	infra.error = (struct ferr)FERR_INIT;
	pthread_cond_broadcast(&infra.cond);
	pthread_mutex_unlock(&infra.lock);
}

void infra_failed(const struct ferr *err)
{
	pthread_mutex_lock(&infra.lock);
	infra.error = *err;
	pthread_mutex_unlock(&infra.lock);
}

void infra_stopping(void)
{
	pthread_mutex_lock(&infra.lock);
	infra.stopping = 1;
	pthread_cond_broadcast(&infra.cond);
	pthread_mutex_unlock(&infra.lock);
}

void infra_reset(void)
{
	pthread_mutex_lock(&infra.lock);
	infra.stopping = 0;
	infra.ready = 0;
	infra.error = (struct ferr)FERR_INIT;
	pthread_mutex_unlock(&infra.lock);
}

int infra_sleep(int ms)
{
	struct timespec ts;
	int stop;

	deadline(&ts, ms);
	pthread_mutex_lock(&infra.lock);
	if (!infra.stopping)
		pthread_cond_timedwait(&infra.cond, &infra.lock, &ts);
	stop = infra.stopping;
	pthread_mutex_unlock(&infra.lock);
	return stop;
}

size_t infra_caches(struct registry *const **caches, const char *const **upstreams)
{
	size_t n;

	pthread_mutex_lock(&infra.lock);
	if (caches)
		*caches = infra.caches;
	if (upstreams)
		*upstreams = infra.upstreams;
	n = infra.n_caches;
	pthread_mutex_unlock(&infra.lock);
	return n;
}
