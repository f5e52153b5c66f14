/* Metrics: ferryd's own numbers in the Prometheus text format (/metrics),
 * and a component's gateway numbers per deployment. */
#include "api/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/apistats.h"
#include "core/metrics.h"
#include "core/traffic.h"
#include "lib/promtext.h"
#include "store/store.h"
#include "lib/banned.h"

/* ?since=: a duration back from now ("90s", "15m", "1h", "2d") or an RFC
 * 3339 UTC time ("2026-12-03T11:00:00Z"). Default: one hour. */
static int parse_since(const char *s, int64_t *ret, struct ferr *e)
{
	int64_t now = (int64_t)time(NULL);
	struct tm tm = { 0 };
	char *end;
	long long n;

	if (!s || !*s) {
		*ret = now - 3600;
		return 0;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end && !*end) {
		*ret = (int64_t)timegm(&tm);
		return 0;
	}
	n = strtoll(s, &end, 10);
	if (end == s || n <= 0 || (strcmp(end, "s") && strcmp(end, "m") && strcmp(end, "h") && strcmp(end, "d")))
		return ferr_invalid(e, "since=\"%s\": give a duration (90s, 15m, 1h, 2d) or a time like"
				    " 2026-12-03T11:00:00Z", s);
	n *= !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : 86400;
	if (n > (long long)TRAFFIC_KEEP_DAYS * 86400)
		return ferr_invalid(e, "since=\"%s\" is before the %d days metrics are kept", s, TRAFFIC_KEEP_DAYS);
	*ret = now - n;
	return 0;
}

int h_component_metrics(struct api_req *r, json_t **ret, struct ferr *e)
{
	const char *env = api_query(r, "env");
	int64_t since = 0;

	if (!env || !*env)
		return ferr_invalid(e, "give the environment: ?env=E");
	if (parse_since(api_query(r, "since"), &since, e) < 0)
		return -1;
	return traffic_series(r->who, r->params[0], r->params[1], env, since, ret, e);
}

/* /metrics is answered in one piece: the text is made first, then read. */
struct text_state {
	struct strbuf text;
	size_t pos;
};

static long text_read(void *state, char *buf, size_t max)
{
	struct text_state *t = state;
	size_t n = t->text.len - t->pos;

	if (!n)
		return -1;
	if (n > max)
		n = max;
	memcpy(buf, t->text.buf + t->pos, n);
	t->pos += n;
	return (long)n;
}

static void text_done(void *state)
{
	struct text_state *t = state;

	strbuf_release(&t->text);
	free(t);
}

static int up(json_t *part, const char *also)
{
	const char *s = json_string_value(json_object_get(part, "state"));
	int yes = s && (!strcmp(s, "up") || (also && !strcmp(s, also)));

	json_decref(part);
	return yes;
}

int h_metrics(struct api_req *r, json_t **ret, struct ferr *e)
{
	struct text_state *t;

	(void)ret;
	if (r->who->project_id)
		return ferr_forbidden(e, "/metrics covers every project: scrape it with a token that has no"
				      " project scope (a viewer token is enough)");
	t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	strbuf_init(&t->text, 16384);
	prom_family(&t->text, "ferry_up", "gauge", "1: ferryd answers");
	prom_sample(&t->text, "ferry_up", 1, "version", FERRY_VERSION, NULL);
	prom_family(&t->text, "ferry_store_schema_version", "gauge", "the store's schema version");
	prom_sample(&t->text, "ferry_store_schema_version", store_schema_version(), NULL);
	prom_family(&t->text, "ferry_registry_up", "gauge",
		    "1: the image registry is up (managed and running, or external)");
	prom_sample(&t->text, "ferry_registry_up", up(health_registry_part(), "external"), NULL);
	prom_family(&t->text, "ferry_gateway_up", "gauge", "1: the gateway (HAProxy) runs");
	prom_sample(&t->text, "ferry_gateway_up", up(health_gateway_part(), NULL), NULL);
	apistats_render(&t->text);
	metrics_render(&t->text);
	r->stream.read = text_read;
	r->stream.done = text_done;
	r->stream.state = t;
	r->stream.content_type = "text/plain; version=0.0.4; charset=utf-8";
	return 0;
}
