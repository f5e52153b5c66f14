#include "core/history_retention.h"

#include <stdio.h>
#include <string.h>

#include "core/execution.h"
#include "store/store.h"
#include "lib/strbuf.h"
#include "lib/banned.h"

#define BATCH 1000
/* Snapshots are made in the transaction that inserts their deployment, so
 * none is ever seen unreferenced in flight; the minute is a margin. */
#define SNAPSHOT_GRACE_S 60

/* The parameters every selection below may use (unused ones are ignored):
 *   ?1 keep  ?2 age cut-off  ?3 keep_deployments  ?4 keep_builds
 *   ?5 track_images  ?6 snapshot grace cut-off  ?7 audit_keep
 *   ?8 execution age cut-off
 * Each selection gives the ids of the rows that go. A NOT IN list must
 * never hold a NULL (it would keep everything), hence the IS NOT NULLs. */
struct history_kind {
	const char *name;
	const char *table;
	const char *victims;
};

/* Pending approvals name the build and snapshots they would deploy. */
#define OPEN_APPROVALS " FROM approval_requests WHERE status IN ('pending','approving')" \
	" AND json_valid(payload)"

static const struct history_kind kinds[] = {
	{ "executions", "executions",
	  "SELECT id FROM (SELECT id, status, triggered_at, ROW_NUMBER() OVER"
	  "  (PARTITION BY component_id, environment_id ORDER BY id DESC) AS n FROM executions)"
	  " WHERE status NOT IN ('pending','running') AND (n > ?1 OR triggered_at < ?8)" },
	{ "deployments", "deployments",
	  "WITH RECURSIVE cand(id) AS ("
	  "  SELECT id FROM (SELECT id, status, created_at, finished_at, ROW_NUMBER() OVER"
	  "   (PARTITION BY component_id, environment_id ORDER BY seq DESC) AS n FROM deployments)"
	  "  WHERE (n > ?1 OR COALESCE(finished_at, created_at) < ?2) AND n > ?3"
	  "   AND status NOT IN ('pending','rolling-out','active')"
	  "   AND id NOT IN (SELECT deployment_id FROM executions)"
	  "   AND id NOT IN (SELECT json_extract(payload, '$.deployment') FROM jobs"
	  "    WHERE kind = 'rollout' AND status IN ('queued','running') AND json_valid(payload)"
	  "    AND json_extract(payload, '$.deployment') IS NOT NULL)"
	  /* what a rollback without a target goes back to */
	  "   AND id NOT IN (SELECT max(id) FROM deployments WHERE status IN ('superseded','undeployed')"
	  "    GROUP BY component_id, environment_id)"
	  /* what a pending approval would promote from or compare with */
	  "   AND id NOT IN (SELECT json_extract(payload, '$.promoted_from')" OPEN_APPROVALS
	  "    AND json_extract(payload, '$.promoted_from') IS NOT NULL)"
	  "   AND id NOT IN (SELECT json_extract(payload, '$.source_deployment')" OPEN_APPROVALS
	  "    AND json_extract(payload, '$.source_deployment') IS NOT NULL)),"
	  " need(id) AS ("
	  "  SELECT promoted_from FROM deployments"
	  "   WHERE promoted_from IS NOT NULL AND id NOT IN (SELECT id FROM cand)"
	  "  UNION SELECT d.promoted_from FROM deployments d JOIN need ON d.id = need.id"
	  "   WHERE d.promoted_from IS NOT NULL)"
	  " SELECT id FROM cand WHERE id NOT IN (SELECT id FROM need)" },
	{ "builds", "builds",
	  "SELECT id FROM (SELECT id, status, image, created_at, finished_at, ROW_NUMBER() OVER"
	  "  (PARTITION BY component_id ORDER BY id DESC) AS n FROM builds)"
	  " WHERE (n > ?1 OR COALESCE(finished_at, created_at) < ?2)"
	  "  AND status IN ('succeeded','failed','cancelled')"
	  "  AND id NOT IN (SELECT build_id FROM deployments)"
	  "  AND id NOT IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY component_id"
	  "   ORDER BY id DESC) AS m FROM builds WHERE status = 'succeeded' AND digest IS NOT NULL)"
	  "   WHERE m <= ?4)"
	  "  AND id NOT IN (SELECT json_extract(payload, '$.build')" OPEN_APPROVALS
	  "   AND json_extract(payload, '$.build') IS NOT NULL)"
	  "  AND NOT (?5 AND image IS NOT NULL AND id IN (SELECT max(id) FROM builds"
	  "   WHERE image IS NOT NULL GROUP BY component_id, digest))" },
	{ "snapshots", "config_snapshots",
	  "SELECT id FROM config_snapshots WHERE created_at < ?6"
	  " AND id NOT IN (SELECT snapshot_id FROM deployments)"
	  " AND id NOT IN (SELECT independent_snapshot_id FROM deployments)"
	  " AND id NOT IN (SELECT base_id FROM config_snapshots WHERE base_id IS NOT NULL)"
	  " AND id NOT IN (SELECT json_extract(payload, '$.snapshot')" OPEN_APPROVALS
	  "  AND json_extract(payload, '$.snapshot') IS NOT NULL)"
	  " AND id NOT IN (SELECT json_extract(payload, '$.independent')" OPEN_APPROVALS
	  "  AND json_extract(payload, '$.independent') IS NOT NULL)" },
	{ "jobs", "jobs",
	  "SELECT id FROM (SELECT id, kind, status, payload, created_at, finished_at, ROW_NUMBER()"
	  "  OVER (PARTITION BY kind ORDER BY id DESC) AS n FROM jobs)"
	  " WHERE status IN ('succeeded','failed','cancelled','interrupted')"
	  "  AND id NOT IN (SELECT job_id FROM builds WHERE job_id IS NOT NULL)"
	  /* by their payload too: a build's job is linked to it only after
	   * the job went in (and may have ended by then) */
	  "  AND CASE kind WHEN 'build' THEN NOT json_valid(payload)"
	  "    OR json_extract(payload, '$.build') IS NULL"
	  "    OR json_extract(payload, '$.build') NOT IN (SELECT id FROM builds)"
	  "   WHEN 'rollout' THEN NOT json_valid(payload)"
	  "    OR json_extract(payload, '$.deployment') IS NULL"
	  "    OR json_extract(payload, '$.deployment') NOT IN (SELECT id FROM deployments)"
	  "   ELSE n > ?1 OR COALESCE(finished_at, created_at) < ?2 END" },
	{ "webhook_deliveries", "webhook_deliveries",
	  "SELECT id FROM (SELECT id, received_at, ROW_NUMBER() OVER (PARTITION BY component_id"
	  "  ORDER BY id DESC) AS n FROM webhook_deliveries) WHERE n > ?1 OR received_at < ?2" },
	{ "approvals", "approval_requests",
	  "SELECT id FROM (SELECT id, status, created_at, decided_at, ROW_NUMBER() OVER"
	  "  (PARTITION BY component_id, environment_id ORDER BY id DESC) AS n FROM approval_requests)"
	  " WHERE status NOT IN ('pending','approving')"
	  "  AND (n > ?1 OR COALESCE(decided_at, created_at) < ?2)" },
	{ "audit", "audit",
	  "SELECT id FROM audit WHERE ts < ?2"
	  " OR id <= COALESCE((SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET ?7), 0)" },
};

#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static void fmt_time(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int prepare(const char *sql, const struct history_retention *r, time_t now,
		   sqlite3_stmt **st, struct ferr *e)
{
	char cut[32], grace[32], exec_cut[32];

	if (sqlite3_prepare_v2(store_db(), sql, -1, st, NULL) != SQLITE_OK)
		return store_error(e, "history retention");
	fmt_time(now - (time_t)r->max_age_days * 86400, cut);
	fmt_time(now - SNAPSHOT_GRACE_S, grace);
	fmt_time(now - (time_t)r->execution_days * 86400, exec_cut);
	/* SQLITE_RANGE for a parameter this selection does not use */
	sqlite3_bind_int(*st, 1, r->keep);
	sqlite3_bind_text(*st, 2, cut, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(*st, 3, r->keep_deployments);
	sqlite3_bind_int(*st, 4, r->keep_builds);
	sqlite3_bind_int(*st, 5, r->track_images);
	sqlite3_bind_text(*st, 6, grace, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(*st, 7, r->audit_keep);
	sqlite3_bind_text(*st, 8, exec_cut, -1, SQLITE_TRANSIENT);
	return 0;
}

/* One integer from sql (a count). */
static int scalar(const char *sql, const struct history_retention *r, time_t now,
		  long long *ret, struct ferr *e)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(sql, r, now, &st, e);

	if (rc == 0) {
		if (sqlite3_step(st) == SQLITE_ROW)
			*ret = sqlite3_column_int64(st, 0);
		else
			rc = store_error(e, "count history records");
	}
	sqlite3_finalize(st);
	return rc;
}

/* Deletes k's victims, BATCH rows per transaction. */
static long long delete_kind(const struct history_kind *k, const struct history_retention *r,
			     time_t now, struct ferr *e)
{
	struct strbuf sql = STRBUF_INIT;
	long long total = 0;
	int n;

	/* newest first: a deployment's promoted_from names an older one, so
	 * a batch never deletes a row a later batch's row still names */
	strbuf_addf(&sql, "DELETE FROM %s WHERE id IN (SELECT id FROM (%s)"
		    " ORDER BY id DESC LIMIT %d)", k->table,
		    k->victims, BATCH);
	do {
		sqlite3_stmt *st = NULL;
		int rc;

		if (store_begin(e) < 0) {
			total = -1;
			break;
		}
		rc = prepare(sql.buf, r, now, &st, e);
		if (rc == 0 && sqlite3_step(st) != SQLITE_DONE)
			rc = store_error(e, "delete old history");
		n = rc == 0 ? sqlite3_changes(store_db()) : 0;
		sqlite3_finalize(st);
		if (rc < 0) {
			store_rollback();
			ferr_prefix(e, "%s", k->name);
			total = -1;
			break;
		}
		if (store_commit(e) < 0) {
			total = -1;
			break;
		}
		total += n;
	} while (n == BATCH);
	strbuf_release(&sql);
	return total;
}

int history_retention_apply(const struct history_retention *r, time_t now, json_t **ret,
			    struct ferr *e)
{
	json_t *out = json_object();
	int rc = -1;

	for (size_t i = 0; i < N_KINDS; i++) {
		const struct history_kind *k = &kinds[i];
		long long n;

		if (!strcmp(k->table, "executions")) {
			/* with the tally that keeps the 30-day count exact */
			long long a = execution_prune_beyond(r->keep, now, e);
			long long b = a < 0 ? -1 : execution_prune(r->execution_days, now, e);
			n = b < 0 ? -1 : a + b;
		} else if (!strcmp(k->table, "config_snapshots")) {
			/* a joined snapshot's base is free only once it is gone */
			long long m;
			n = 0;
			do {
				m = delete_kind(k, r, now, e);
				n = m < 0 ? -1 : n + m;
			} while (m > 0);
		} else {
			n = delete_kind(k, r, now, e);
		}
		if (n < 0)
			goto out;
		json_object_set_new(out, k->name, json_integer(n));
	}
	rc = 0;
out:
	if (rc == 0 && ret)
		*ret = out;
	else
		json_decref(out);
	return rc;
}

json_t *history_retention_report(const struct history_retention *r, time_t now, struct ferr *e)
{
	json_t *out = json_object();

	for (size_t i = 0; i < N_KINDS; i++) {
		const struct history_kind *k = &kinds[i];
		struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
		long long records = 0, gone = 0;
		int rc;

		strbuf_addf(&a, "SELECT count(*) FROM %s", k->table);
		strbuf_addf(&b, "SELECT count(*) FROM (%s)", k->victims);
		rc = scalar(a.buf, r, now, &records, e);
		if (rc == 0)
			rc = scalar(b.buf, r, now, &gone, e);
		strbuf_release(&a);
		strbuf_release(&b);
		if (rc < 0) {
			json_decref(out);
			return NULL;
		}
		json_object_set_new(out, k->name,
				    json_pack("{s:I, s:I}", "records", (json_int_t)records,
					      "reclaimable", (json_int_t)gone));
	}
	json_object_set_new(out, "keep", json_integer(r->keep));
	json_object_set_new(out, "max_age_days", json_integer(r->max_age_days));
	json_object_set_new(out, "audit_keep", json_integer(r->audit_keep));
	json_object_set_new(out, "execution_days", json_integer(r->execution_days));
	return out;
}
