#include "core/metrics.h"

#include <stdio.h>

#include "core/traffic.h"
#include "lib/promtext.h"
#include "store/store.h"
#include "lib/banned.h"

/* Durations of finished objects, in seconds, from their RFC 3339 times. */
#define SECONDS(a, b) "(julianday(" b ") - julianday(" a ")) * 86400.0"

struct family {
	const char *name;
	const char *duration;    /* a summary: _sum and _count */
	const char *help;
	const char *sql;         /* rows: label value, count, duration sum */
	const char *label;
};

static const struct family families[] = {
	{ "ferry_builds", "ferry_build_duration_seconds", "builds in the store by status; the duration of finished ones",
	  "SELECT status, count(*), coalesce(sum(CASE WHEN finished_at IS NOT NULL AND started_at IS NOT NULL"
	  " THEN " SECONDS("started_at", "finished_at") " END), 0) FROM builds GROUP BY status", "status" },
	{ "ferry_deployments", "ferry_rollout_duration_seconds", "deployments (rollouts) by status; the duration of their rollouts",
	  "SELECT status, count(*), coalesce(sum(CASE WHEN finished_at IS NOT NULL AND started_at IS NOT NULL"
	  " THEN " SECONDS("started_at", "finished_at") " END), 0) FROM deployments GROUP BY status", "status" },
	{ "ferry_executions", "ferry_execution_duration_seconds", "task executions by status; the duration of finished ones",
	  "SELECT status, count(*), coalesce(sum(CASE WHEN finished_at IS NOT NULL AND started_at IS NOT NULL"
	  " THEN " SECONDS("started_at", "finished_at") " END), 0) FROM executions GROUP BY status", "status" },
};

static int render_family(struct strbuf *out, const struct family *f)
{
	char sum_name[96], count_name[96], help[200];
	sqlite3_stmt *st = store_stmt(f->sql);
	struct strbuf counts = STRBUF_INIT, sums = STRBUF_INIT;
	int rc;

	snprintf(sum_name, sizeof(sum_name), "%s_sum", f->duration);
	snprintf(count_name, sizeof(count_name), "%s_count", f->duration);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		prom_sample(&counts, f->name, (double)sqlite3_column_int64(st, 1), f->label, v, NULL);
		prom_sample(&sums, sum_name, sqlite3_column_double(st, 2), f->label, v, NULL);
		prom_sample(&sums, count_name, (double)sqlite3_column_int64(st, 1), f->label, v, NULL);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		prom_family(out, f->name, "gauge", f->help);
		strbuf_add(out, counts.buf, counts.len);
		snprintf(help, sizeof(help), "seconds taken by the finished ones of %s, by status", f->name);
		prom_family(out, f->duration, "summary", help);
		strbuf_add(out, sums.buf, sums.len);
	}
	strbuf_release(&counts);
	strbuf_release(&sums);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int render_queues(struct strbuf *out)
{
	sqlite3_stmt *st;
	int rc;

	prom_family(out, "ferry_jobs", "gauge", "jobs of the durable queue waiting or running, by kind");
	st = store_stmt("SELECT kind, status, count(*) FROM jobs WHERE status IN ('queued','running')"
			" GROUP BY kind, status");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		prom_sample(out, "ferry_jobs", (double)sqlite3_column_int64(st, 2), "kind",
			    (const char *)sqlite3_column_text(st, 0), "status", (const char *)sqlite3_column_text(st, 1),
			    NULL);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -1;
	prom_family(out, "ferry_notification_deliveries", "gauge",
		    "notification deliveries in the log by status (pending and retrying ones wait)");
	st = store_stmt("SELECT status, count(*) FROM notification_deliveries GROUP BY status");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		prom_sample(out, "ferry_notification_deliveries", (double)sqlite3_column_int64(st, 1), "status",
			    (const char *)sqlite3_column_text(st, 0), NULL);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void render_gateway(struct strbuf *out)
{
	static const char *const classes[6] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx" };
	int64_t by_class[6], unrouted;

	traffic_totals(by_class, &unrouted);
	prom_family(out, "ferry_gateway_requests_total", "counter",
		    "requests the gateway answered since ferryd started, by status class");
	for (int i = 0; i < 6; i++)
		prom_sample(out, "ferry_gateway_requests_total", (double)by_class[i], "code", classes[i], NULL);
	prom_family(out, "ferry_gateway_unrouted_requests_total", "counter",
		    "of those, the ones no replica answered (no route, or no ready replica)");
	prom_sample(out, "ferry_gateway_unrouted_requests_total", (double)unrouted, NULL);
}

void metrics_render(struct strbuf *out)
{
	int errors = 0;

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		errors += render_family(out, &families[i]) < 0;
	errors += render_queues(out) < 0;
	render_gateway(out);
	prom_family(out, "ferry_metrics_errors", "gauge", "families left out of this answer by a store error");
	prom_sample(out, "ferry_metrics_errors", (double)errors, NULL);
}
