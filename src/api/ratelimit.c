#include "api/ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

struct bucket {
	char key[72];
	double tokens;
	double last;          /* seconds, CLOCK_MONOTONIC */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct bucket table[RATELIMIT_KEYS];
static unsigned rate = 60, burst = 30;

void ratelimit_configure(unsigned per_minute, unsigned b)
{
	pthread_mutex_lock(&lock);
	rate = per_minute ? per_minute : 60;
	burst = b ? b : 30;
	memset(table, 0, sizeof(table));
	pthread_mutex_unlock(&lock);
}

unsigned ratelimit_per_minute(void)
{
	return rate;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

unsigned ratelimit_take(const char *key)
{
	double now = now_s(), per_s;
	struct bucket *b = NULL, *oldest = NULL;
	unsigned wait = 0, h = hash(key);

	pthread_mutex_lock(&lock);
	per_s = rate / 60.0;
	/* a small neighbourhood of the hash: found there, or replace its oldest */
	for (unsigned i = 0; i < 8; i++) {
		struct bucket *c = &table[(h + i) % RATELIMIT_KEYS];
		if (c->key[0] && !strncmp(c->key, key, sizeof(c->key) - 1)) {
			b = c;
			break;
		}
		if (!oldest || c->last < oldest->last)
			oldest = c;
	}
	if (!b) {
		b = oldest;
		snprintf(b->key, sizeof(b->key), "%s", key);
		b->tokens = burst;
		b->last = now;
	}
	b->tokens += (now - b->last) * per_s;
	if (b->tokens > burst)
		b->tokens = burst;
	b->last = now;
	if (b->tokens >= 1)
		b->tokens -= 1;
	else
		wait = (unsigned)((1 - b->tokens) / per_s) + 1;
	pthread_mutex_unlock(&lock);
	return wait;
}
