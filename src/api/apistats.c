#include "api/apistats.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/promtext.h"
#include "lib/banned.h"

#define MAX_STATUSES 8   /* distinct answers per route; more go to "other" */

struct route_stats {
	int status[MAX_STATUSES];
	long long count[MAX_STATUSES];
	long long other;
	double seconds;
	long long n;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct route_stats *stats;  /* one per route, then unmatched, then console */
static size_t nroutes;

static size_t route_count(void)
{
	size_t n = 0;

	while (api_routes[n].method)
		n++;
	return n;
}

void apistats_count(const struct api_route *rt, int console, int status, double ms)
{
	struct route_stats *s;
	int i;

	pthread_mutex_lock(&lock);
	if (!stats) {
		nroutes = route_count();
		stats = calloc(nroutes + 2, sizeof(*stats));
		if (!stats)
			abort();
	}
	s = &stats[rt ? (size_t)(rt - api_routes) : console ? nroutes + 1 : nroutes];
	for (i = 0; i < MAX_STATUSES && s->status[i] && s->status[i] != status; i++)
		;
	if (i < MAX_STATUSES) {
		s->status[i] = status;
		s->count[i]++;
	} else {
		s->other++;
	}
	s->seconds += ms / 1000.0;
	s->n++;
	pthread_mutex_unlock(&lock);
}

static void route_labels(size_t i, const char **method, const char **route)
{
	if (i < nroutes) {
		*method = api_routes[i].method;
		*route = api_routes[i].pattern;
	} else {
		*method = "any";
		*route = i == nroutes ? "(no route)" : "(console)";
	}
}

void apistats_render(struct strbuf *out)
{
	struct strbuf times = STRBUF_INIT;

	prom_family(out, "ferry_api_requests_total", "counter",
		    "API requests since ferryd started, by route ({} a path segment) and status");
	pthread_mutex_lock(&lock);
	for (size_t i = 0; stats && i < nroutes + 2; i++) {
		const struct route_stats *s = &stats[i];
		const char *method, *route;
		char code[16];

		if (!s->n)
			continue;
		route_labels(i, &method, &route);
		for (int k = 0; k < MAX_STATUSES && s->status[k]; k++) {
			snprintf(code, sizeof(code), "%d", s->status[k]);
			prom_sample(out, "ferry_api_requests_total", (double)s->count[k], "method", method, "route", route,
				    "status", code, NULL);
		}
		if (s->other)
			prom_sample(out, "ferry_api_requests_total", (double)s->other, "method", method, "route", route,
				    "status", "other", NULL);
		prom_sample(&times, "ferry_api_request_duration_seconds_sum", s->seconds, "method", method, "route",
			    route, NULL);
		prom_sample(&times, "ferry_api_request_duration_seconds_count", (double)s->n, "method", method,
			    "route", route, NULL);
	}
	pthread_mutex_unlock(&lock);
	prom_family(out, "ferry_api_request_duration_seconds", "summary", "time to answer API requests, by route");
	strbuf_add(out, times.buf, times.len);
	strbuf_release(&times);
}
