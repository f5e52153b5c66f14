#include "lib/wake.h"

#include <pthread.h>
#include <time.h>

#include "lib/banned.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static uint64_t seq;

/* The waits are timed on the monotonic clock: a clock step must not
 * lengthen or cut them. */
static void init(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&cond, &a);
	pthread_condattr_destroy(&a);
}

uint64_t wake_seq(void)
{
	uint64_t s;

	pthread_once(&once, init);
	pthread_mutex_lock(&lock);
	s = seq;
	pthread_mutex_unlock(&lock);
	return s;
}

void wake_all(void)
{
	pthread_once(&once, init);
	pthread_mutex_lock(&lock);
	seq++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

void wake_wait(uint64_t seen, int timeout_ms)
{
	struct timespec ts;

	pthread_once(&once, init);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&lock);
	while (seq == seen)
		if (pthread_cond_timedwait(&cond, &lock, &ts))
			break;
	pthread_mutex_unlock(&lock);
}
