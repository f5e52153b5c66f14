#include "core/log_retention.h"

#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "lib/strbuf.h"
#include "lib/banned.h"

struct log_kind {
	const char *name;
	const char *table;
	const char *owner;
	const char *text;
	/* owners whose log may go by age (?1: the cut-off time) */
	const char *ended;
	/* owners whose log never goes */
	const char *open;
};

static const struct log_kind kinds[] = {
	{ "build", "build_logs", "build_id", "text",
	  "SELECT id FROM builds WHERE status IN ('succeeded','failed','cancelled')"
	  " AND COALESCE(finished_at, created_at) < ?1",
	  "SELECT id FROM builds WHERE status IN ('queued','running')" },
	{ "deployment", "deployment_events", "deployment_id", "text",
	  "SELECT id FROM deployments WHERE status IN ('failed','superseded','undeployed')"
	  " AND COALESCE(finished_at, created_at) < ?1",
	  "SELECT id FROM deployments WHERE status IN ('pending','rolling-out','active')" },
	{ "execution", "execution_logs", "execution_id", "line",
	  "SELECT id FROM executions WHERE status NOT IN ('pending','running')"
	  " AND COALESCE(finished_at, triggered_at) < ?1",
	  "SELECT id FROM executions WHERE status IN ('pending','running')" },
};

/* The owners whose logs the rules delete: too old, or whose newer logs
 * already fill the size budget (?2: max bytes), so the newest is kept. */
static void victims(struct strbuf *sb, const struct log_kind *k)
{
	strbuf_addf(sb, "SELECT %s FROM %s WHERE %s IN (%s) GROUP BY %s"
		    " UNION SELECT o FROM (SELECT %s AS o, SUM(SUM(length(%s))) OVER"
		    " (ORDER BY %s DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS newer"
		    " FROM %s GROUP BY %s)"
		    " WHERE COALESCE(newer, 0) >= ?2 AND o NOT IN (%s)",
		    k->owner, k->table, k->owner, k->ended, k->owner,
		    k->owner, k->text, k->owner, k->table, k->owner, k->open);
}

static void cutoff(time_t now, int days, char out[32])
{
	time_t t = now - (time_t)days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int prepare(const char *sql, const struct log_retention *r, time_t now, sqlite3_stmt **st,
		   struct ferr *e)
{
	char cut[32];

	if (sqlite3_prepare_v2(store_db(), sql, -1, st, NULL) != SQLITE_OK)
		return store_error(e, "log retention");
	cutoff(now, r->max_age_days, cut);
	sqlite3_bind_text(*st, 1, cut, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(*st, 2, r->max_bytes);
	return 0;
}

/* Bytes the victims' logs hold (the total when all is set). */
static int measure(const struct log_kind *k, const struct log_retention *r, time_t now, int all,
		   long long *ret_bytes, long long *ret_logs, struct ferr *e)
{
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	strbuf_addf(&sql, "SELECT COALESCE(SUM(length(%s)), 0), COUNT(DISTINCT %s) FROM %s",
		    k->text, k->owner, k->table);
	if (!all) {
		strbuf_addf(&sql, " WHERE %s IN (", k->owner);
		victims(&sql, k);
		strbuf_addstr(&sql, ")");
	}
	if (prepare(sql.buf, r, now, &st, e) < 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW) {
		store_error(e, "measure logs");
		goto out;
	}
	*ret_bytes = sqlite3_column_int64(st, 0);
	*ret_logs = sqlite3_column_int64(st, 1);
	rc = 0;
out:
	sqlite3_finalize(st);
	strbuf_release(&sql);
	return rc;
}

int log_retention_apply(const struct log_retention *r, time_t now, long long *ret_freed,
			struct ferr *e)
{
	*ret_freed = 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct log_kind *k = &kinds[i];
		struct strbuf sql = STRBUF_INIT;
		sqlite3_stmt *st = NULL;
		long long bytes = 0, logs = 0;
		int rc;

		if (measure(k, r, now, 0, &bytes, &logs, e) < 0)
			return -1;
		if (!logs)
			continue;
		strbuf_addf(&sql, "DELETE FROM %s WHERE %s IN (", k->table, k->owner);
		victims(&sql, k);
		strbuf_addstr(&sql, ")");
		rc = prepare(sql.buf, r, now, &st, e);
		if (rc == 0 && sqlite3_step(st) != SQLITE_DONE)
			rc = store_error(e, "delete old logs");
		sqlite3_finalize(st);
		strbuf_release(&sql);
		if (rc < 0)
			return -1;
		*ret_freed += bytes;
	}
	return 0;
}

json_t *log_retention_report(const struct log_retention *r, time_t now, struct ferr *e)
{
	json_t *out = json_object();

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		long long bytes, logs, rbytes, rlogs;
		if (measure(&kinds[i], r, now, 1, &bytes, &logs, e) < 0 ||
		    measure(&kinds[i], r, now, 0, &rbytes, &rlogs, e) < 0) {
			json_decref(out);
			return NULL;
		}
		json_object_set_new(out, kinds[i].name,
				    json_pack("{s:I, s:I, s:I, s:I}", "bytes", (json_int_t)bytes, "logs",
					      (json_int_t)logs, "reclaimable_bytes", (json_int_t)rbytes,
					      "reclaimable_logs", (json_int_t)rlogs));
	}
	return out;
}
