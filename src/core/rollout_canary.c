#include "core/rollout_canary.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/traffic.h"
#include "lib/log.h"
#include "lib/banned.h"

#define TICK_MS 250
#define PROBE_EVERY_MS 1000

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void say(const struct canary *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct canary *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->say(c->arg, buf);
}

/* Weights for the new version's share pct: the servers of a route split
 * GATEWAY_WEIGHT_MAX-ish units as pct : 100 - pct, at least 1 each. */
static int weight_for(int pct, size_t n)
{
	int w = (int)((pct * 2 + (int)n / 2) / (int)(n ? n : 1));

	return w < 1 ? 1 : w > GATEWAY_WEIGHT_MAX ? GATEWAY_WEIGHT_MAX : w;
}

static size_t on_route(const struct canary_server *s, size_t n, const char *route)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += !strcmp(s[i].route, route);
	return k;
}

/* Sets the shares for step pct; at 100 the old servers are drained (they
 * keep running for a rollback). */
static int set_share(const struct canary *c, int pct, struct ferr *e)
{
	for (size_t i = 0; i < c->nnews; i++) {
		size_t n = on_route(c->news, c->nnews, c->news[i].route);
		if (gateway_server_set_weight(c->gw, c->news[i].route, c->news[i].id, weight_for(pct, n), e) < 0)
			return -1;
	}
	for (size_t i = 0; i < c->nolds; i++) {
		size_t n = on_route(c->olds, c->nolds, c->olds[i].route);
		if (pct >= 100) {
			if (gateway_server_set_state(c->gw, c->olds[i].route, c->olds[i].id, GATEWAY_SERVER_DRAIN, e) < 0)
				return -1;
		} else if (gateway_server_set_weight(c->gw, c->olds[i].route, c->olds[i].id,
						     weight_for(100 - pct, n), e) < 0 ||
			   gateway_server_set_state(c->gw, c->olds[i].route, c->olds[i].id, GATEWAY_SERVER_READY,
						    e) < 0) {
			return -1;
		}
	}
	return 0;
}

/* Every request back on the old servers: they take traffic again first,
 * then the new ones get no new request (in-flight ones finish). */
static void shift_back(const struct canary *c)
{
	struct ferr e = FERR_INIT;

	for (size_t i = 0; i < c->nolds; i++) {
		if (gateway_server_set_state(c->gw, c->olds[i].route, c->olds[i].id, GATEWAY_SERVER_READY, &e) < 0 ||
		    gateway_server_set_weight(c->gw, c->olds[i].route, c->olds[i].id, 1, &e) < 0) {
			log_warnx("event=canary_shift_back_failed server=%s err=\"%s\"", c->olds[i].id, e.msg);
			ferr_clear(&e);
		}
	}
	for (size_t i = 0; i < c->nnews; i++)
		if (gateway_server_set_state(c->gw, c->news[i].route, c->news[i].id, GATEWAY_SERVER_DRAIN, &e) < 0) {
			log_warnx("event=canary_shift_back_failed server=%s err=\"%s\"", c->news[i].id, e.msg);
			ferr_clear(&e);
		}
}

static json_t *numbers(const struct traffic_stats *s, int failures, int step, int64_t after_ms, int window_s)
{
	return json_pack("{s:I, s:I, s:f, s:I, s:i, s:i, s:f, s:i}", "requests", (json_int_t)s->requests,
			 "errors_5xx", (json_int_t)s->errors,
			 "error_ratio", s->requests ? (double)s->errors / (double)s->requests : 0.0,
			 "p95_ms", (json_int_t)traffic_percentile(s, 95), "readiness_failures", failures, "step", step,
			 "after_s", (double)after_ms / 1000.0, "window_s", window_s);
}

/* 1 and reason if s (and failures) break a threshold. */
static int breached(const struct rollout_policy *p, const struct traffic_stats *s, int failures, char *reason,
		    size_t size)
{
	double ratio = s->requests ? (double)s->errors / (double)s->requests : 0.0;
	int64_t p95 = traffic_percentile(s, 95);

	if (p->max_readiness_failures >= 0 && failures > p->max_readiness_failures) {
		snprintf(reason, size, "%d failed readiness probes > %d", failures, p->max_readiness_failures);
		return 1;
	}
	if (s->requests < p->min_requests)
		return 0;
	if (p->max_error_ratio >= 0 && ratio > p->max_error_ratio) {
		snprintf(reason, size, "5xx ratio %.3f (%lld of %lld requests) > %.3f", ratio, (long long)s->errors,
			 (long long)s->requests, p->max_error_ratio);
		return 1;
	}
	if (p->max_p95_ms >= 0 && p95 > p->max_p95_ms) {
		snprintf(reason, size, "p95 latency %lld ms over %lld requests > %lld ms", (long long)p95,
			 (long long)s->requests, (long long)p->max_p95_ms);
		return 1;
	}
	return 0;
}

int canary_run(const struct canary *c, json_t **ret_numbers, char *reason, size_t reason_size)
{
	const struct rollout_policy *p = c->policy;
	int64_t start = mono_ms(), last_probe = 0;
	struct ferr e = FERR_INIT;
	int failures = 0;

	*ret_numbers = NULL;
	for (int k = 0; k <= p->nsteps; k++) {
		/* k == nsteps: the watch window at 100% */
		int step = k < p->nsteps ? p->steps[k] : 100;
		int hold_s = k < p->nsteps ? (step == 100 ? 0 : p->pause_s) : p->watch_s;
		int64_t until;

		if (k < p->nsteps) {
			if (set_share(c, step, &e) < 0) {
				snprintf(reason, reason_size, "the gateway refused the step to %d%%: %s", step, e.msg);
				*ret_numbers = json_pack("{s:i}", "step", step);
				shift_back(c);
				return 0;
			}
			say(c, step == 100 ? "canary: 100%% of the traffic on the new version; the old one waits, drained"
					   : "canary: %d%% of the traffic on the new version for %d s", step, p->pause_s);
		} else if (hold_s) {
			say(c, "canary: watching for %d s", hold_s);
		}
		until = mono_ms() + (int64_t)hold_s * 1000;
		while (mono_ms() < until) {
			struct traffic_stats s;
			int64_t now = mono_ms();
			int window_s = (int)((now - start) / 1000) + TRAFFIC_BUCKET_S;

			if (c->cancelled(c->arg)) {
				shift_back(c);
				return -1;
			}
			if (now - last_probe >= PROBE_EVERY_MS) {
				char why[256];
				last_probe = now;
				for (int i = 0; i < c->nreplicas; i++)
					if (!c->probe(c->arg, i, why, sizeof(why))) {
						failures++;
						say(c, "canary: replica %d failed a readiness probe (%d so far): %s", i,
						    failures, why);
					}
			}
			traffic_window(c->deployment, window_s, &s);
			if (breached(p, &s, failures, reason, reason_size)) {
				shift_back(c);
				*ret_numbers = numbers(&s, failures, step, mono_ms() - start, window_s);
				return 0;
			}
			sleep_ms(TICK_MS);
		}
	}
	{
		struct traffic_stats s;
		traffic_window(c->deployment, (int)((mono_ms() - start) / 1000) + TRAFFIC_BUCKET_S, &s);
		say(c, "canary: passed: %lld requests, %lld 5xx, p95 %lld ms, %d failed readiness probes",
		    (long long)s.requests, (long long)s.errors, (long long)traffic_percentile(&s, 95), failures);
	}
	return 1;
}
