/* Unit tests of core/history_retention: which builds, deployments,
 * executions, snapshots, jobs and audit entries a pass deletes and which it
 * keeps, against a real SQLite store (foreign keys on) in a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_fixture.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/execution.h"
#include "core/history_retention.h"
#include "store/store.h"

/* 2026-06-01T00:00:00Z: "now" for every pass; rows are dated days before */
#define NOW ((time_t)1780272000)

static void sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sql(const char *fmt, ...)
{
	struct ferr e = FERR_INIT;
	char buf[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	if (store_exec(buf, &e) < 0)
		fail_msg("%s: %s", buf, e.msg);
}

static long long count(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long count(const char *fmt, ...)
{
	sqlite3_stmt *st;
	char buf[1024];
	long long n = -1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_int_equal(sqlite3_prepare_v2(store_db(), buf, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* 'YYYY-MM-DDTHH:MM:SSZ' of NOW minus days */
static const char *ago(double days)
{
	static char buf[8][32];
	static int i;
	time_t t = NOW - (time_t)(days * 86400);
	struct tm tm;
	char *b = buf[i++ % 8];

	gmtime_r(&t, &tm);
	strftime(b, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return b;
}

static int64_t build(struct core_fixture *f, const char *status, const char *digest,
		     const char *image, double days)
{
	sql("INSERT INTO builds (component_id, project_id, status, trigger, triggered_by, digest,"
	    " image, created_at, finished_at) VALUES (%lld, %lld, '%s', 'manual', 'admin', %s%s%s,"
	    " %s%s%s, '%s', '%s')", (long long)f->cid, (long long)f->pid, status,
	    digest ? "'" : "", digest ? digest : "NULL", digest ? "'" : "",
	    image ? "'" : "", image ? image : "NULL", image ? "'" : "", ago(days), ago(days));
	return sqlite3_last_insert_rowid(store_db());
}

static int64_t snapshot(struct core_fixture *f, int64_t base, double days)
{
	if (base)
		sql("INSERT INTO config_snapshots (component_id, env_id, kind, base_id, config_version,"
		    " entries, created_at) VALUES (%lld, %lld, 'joined', %lld, 0, 0, '%s')",
		    (long long)f->cid, (long long)f->dev, (long long)base, ago(days));
	else
		sql("INSERT INTO config_snapshots (component_id, kind, config_version, entries, created_at)"
		    " VALUES (%lld, 'independent', 0, 0, '%s')", (long long)f->cid, ago(days));
	return sqlite3_last_insert_rowid(store_db());
}

static int64_t deployment(struct core_fixture *f, int64_t env, int seq, int64_t build_id,
			  int64_t snap, const char *status, int64_t from, double days)
{
	char pf[32] = "NULL";

	if (from)
		snprintf(pf, sizeof(pf), "%lld", (long long)from);
	sql("INSERT INTO deployments (component_id, project_id, environment_id, seq, build_id,"
	    " commit_sha, digest, image, descriptor, snapshot_id, independent_snapshot_id,"
	    " config_version, cause, promoted_from, status, created_by, created_at)"
	    " VALUES (%lld, %lld, %lld, %d, %lld, 'c0ffee', 'sha256:00', 'img', '{}', %lld, %lld, 0,"
	    " 'deploy', %s, '%s', 'admin', '%s')", (long long)f->cid, (long long)f->pid,
	    (long long)env, seq, (long long)build_id, (long long)snap, (long long)snap, pf, status,
	    ago(days));
	return sqlite3_last_insert_rowid(store_db());
}

static int64_t execution(struct core_fixture *f, int64_t dep, const char *status, double days)
{
	sql("INSERT INTO executions (component_id, project_id, environment_id, deployment_id,"
	    " commit_sha, trigger, triggered_by, triggered_at, status, timeout_s)"
	    " VALUES (%lld, %lld, %lld, %lld, 'c0ffee', 'manual', 'admin', '%s', '%s', 60)",
	    (long long)f->cid, (long long)f->pid, (long long)f->dev, (long long)dep, ago(days), status);
	return sqlite3_last_insert_rowid(store_db());
}

static int exists(const char *table, int64_t id)
{
	return count("SELECT count(*) FROM %s WHERE id = %lld", table, (long long)id) == 1;
}

static struct history_retention rules(int keep, int days)
{
	return (struct history_retention){ .keep = keep, .max_age_days = days, .audit_keep = 10,
					   .execution_days = 90, .keep_deployments = 2,
					   .keep_builds = 2 };
}

static long long deleted(json_t *r, const char *kind)
{
	return json_integer_value(json_object_get(r, kind));
}

/* By count: builds beyond the newest keep go, unless a deployment uses
 * them, they are among the newest keep_builds successful ones, or still
 * queued; their steps and logs go with them. */
static void test_builds_by_count(void **state)
{
	struct core_fixture *f = fixture_new("hist-builds", "service");
	struct history_retention r = rules(3, 365);
	struct ferr e = FERR_INIT;
	int64_t b[10], queued, snap;
	json_t *ret = NULL, *rep;

	(void)state;
	queued = build(f, "queued", NULL, NULL, 30);
	for (int i = 0; i < 10; i++)
		b[i] = build(f, i == 7 || i == 8 ? "failed" : "succeeded",
			     i == 7 || i == 8 ? NULL : "sha256:ab", NULL, 20 - i);
	sql("INSERT INTO build_logs (build_id, step, ts, text) VALUES (%lld, 'image', 'x', 'line')",
	    (long long)b[1]);
	sql("INSERT INTO build_steps (build_id, idx, name, status) VALUES (%lld, 0, 'image', 'succeeded')",
	    (long long)b[1]);
	snap = snapshot(f, 0, 20);
	deployment(f, f->dev, 1, b[0], snap, "active", 0, 19);

	/* newest 3: b9 b8 b7; newest 2 successful: b9 b6; b0: deployed */
	rep = history_retention_report(&r, NOW, &e);
	assert_non_null(rep);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(rep, "builds"), "records")), 11);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(rep, "builds"), "reclaimable")), 5);
	json_decref(rep);

	assert_int_equal(history_retention_apply(&r, NOW, &ret, &e), 0);
	assert_int_equal(deleted(ret, "builds"), 5);
	json_decref(ret);
	assert_true(exists("builds", queued));
	assert_true(exists("builds", b[0]));
	for (int i = 1; i <= 5; i++)
		assert_false(exists("builds", b[i]));
	for (int i = 6; i <= 9; i++)
		assert_true(exists("builds", b[i]));
	assert_int_equal(count("SELECT count(*) FROM build_logs"), 0);
	assert_int_equal(count("SELECT count(*) FROM build_steps"), 0);

	/* a second pass has nothing left to do */
	assert_int_equal(history_retention_apply(&r, NOW, &ret, &e), 0);
	assert_int_equal(deleted(ret, "builds"), 0);
	json_decref(ret);
	fixture_free(f);
}

/* By age, with a generous count: only what is older than max_age_days,
 * and never the newest keep_builds successful builds. */
static void test_builds_by_age(void **state)
{
	struct core_fixture *f = fixture_new("hist-age", "service");
	struct history_retention r = rules(1000, 100);
	struct ferr e = FERR_INIT;
	int64_t old1, old2, old3, young;
	json_t *ret = NULL;

	(void)state;
	old1 = build(f, "succeeded", "sha256:01", NULL, 300);
	old2 = build(f, "failed", NULL, NULL, 200);
	old3 = build(f, "succeeded", "sha256:03", NULL, 150);
	young = build(f, "failed", NULL, NULL, 10);
	/* newest 2 successful: old3 and old1 (old, but deployable) */
	assert_int_equal(history_retention_apply(&r, NOW, &ret, &e), 0);
	json_decref(ret);
	assert_true(exists("builds", old1));
	assert_false(exists("builds", old2));
	assert_true(exists("builds", old3));
	assert_true(exists("builds", young));
	fixture_free(f);
}

/* With the managed registry, the last record of an image still in the
 * registry stays (registry_prune deletes the image by it first). */
static void test_builds_tracking_images(void **state)
{
	struct core_fixture *f = fixture_new("hist-img", "service");
	struct history_retention r = rules(1, 365);
	struct ferr e = FERR_INIT;
	int64_t a1, a2, gone, newest;
	json_t *ret = NULL;

	(void)state;
	r.keep_builds = 1;
	r.track_images = 1;
	a1 = build(f, "succeeded", "sha256:aa", "reg/shop/web@sha256:aa", 5);
	a2 = build(f, "succeeded", "sha256:aa", "reg/shop/web@sha256:aa", 4);
	gone = build(f, "succeeded", "sha256:bb", NULL, 3);
	newest = build(f, "succeeded", "sha256:cc", "reg/shop/web@sha256:cc", 2);
	assert_int_equal(history_retention_apply(&r, NOW, &ret, &e), 0);
	json_decref(ret);
	assert_false(exists("builds", a1));
	assert_true(exists("builds", a2));
	assert_false(exists("builds", gone));
	assert_true(exists("builds", newest));
	fixture_free(f);
}

/* Deployments: beyond the newest keep per component and environment, not
 * active, not among the rollback targets, without executions, and not
 * promoted into one that stays. Their builds and snapshots go after them. */
static void test_deployments(void **state)
{
	struct core_fixture *f = fixture_new("hist-deps", "service");
	struct history_retention r = rules(3, 365);
	struct ferr e = FERR_INIT;
	int64_t d[9], staging, sp, snap[9], bld[9], recent, prodlike;
	json_t *ret = NULL;

	(void)state;
	staging = fixture_env(f->pid, "production");
	for (int i = 1; i <= 8; i++) {
		bld[i] = build(f, "succeeded", "sha256:ab", NULL, 50 - i);
		snap[i] = snapshot(f, 0, 50 - i);
		d[i] = deployment(f, f->dev, i, bld[i], snap[i], i == 8 ? "active" : "superseded", 0,
				  50 - i);
	}
	/* staging's only deployment came from dev seq 2 and reuses its snapshot */
	sp = snapshot(f, snap[2], 30);
	deployment(f, staging, 1, bld[2], sp, "active", d[2], 30);
	/* dev seq 3 ran an execution */
	execution(f, d[3], "succeeded", 40);
	/* an orphan snapshot in the grace minute, and an old one */
	recent = snapshot(f, 0, 20.0 / 86400);
	prodlike = snapshot(f, 0, 40);

	/* newest 3 in dev: 8 7 6 (and 8, 7 are the 2 rollback targets);
	 * 2: promoted into staging; 3: has an execution; 1, 4, 5 go */
	assert_int_equal(history_retention_apply(&r, NOW, &ret, &e), 0);
	assert_int_equal(deleted(ret, "deployments"), 3);
	json_decref(ret);
	for (int i = 1; i <= 8; i++)
		assert_int_equal(exists("deployments", d[i]), !(i == 1 || i == 4 || i == 5));
	/* keep 3: newest builds 8 7 6; deployed ones stay: 2 3 */
	for (int i = 1; i <= 8; i++)
		assert_int_equal(exists("builds", bld[i]), !(i == 1 || i == 4 || i == 5));
	for (int i = 1; i <= 8; i++)
		assert_int_equal(exists("config_snapshots", snap[i]), !(i == 1 || i == 4 || i == 5));
	assert_true(exists("config_snapshots", sp));
	assert_true(exists("config_snapshots", recent));
	assert_false(exists("config_snapshots", prodlike));
	fixture_free(f);
}

/* Old deployments go by age too, but never the rollback targets. */
static void test_deployments_by_age(void **state)
{
	struct core_fixture *f = fixture_new("hist-depage", "service");
	struct history_retention r = rules(1000, 100);
	struct ferr e = FERR_INIT;
	int64_t d[5], b, s;
	json_t *ret = NULL;

	(void)state;
	b = build(f, "succeeded", "sha256:ab", NULL, 400);
	s = snapshot(f, 0, 400);
	for (int i = 1; i <= 4; i++)
		d[i] = deployment(f, f->dev, i, b, s, i == 4 ? "undeployed" : "superseded", 0, 400 - i);
	assert_int_equal(history_retention_apply(&r, NOW, &ret, &e), 0);
	json_decref(ret);
	assert_false(exists("deployments", d[1]));
	assert_false(exists("deployments", d[2]));
	assert_true(exists("deployments", d[3]));
	assert_true(exists("deployments", d[4]));
	fixture_free(f);
}

/* Never the deployment a rollback without a target goes back to (the newest
 * superseded or undeployed one, however many failed after it), nor what a
 * pending approval would promote from or compare with. */
static void test_rollback_target_and_approvals(void **state)
{
	struct core_fixture *f = fixture_new("hist-target", "service");
	struct history_retention r = rules(1000, 100);
	struct ferr e = FERR_INIT;
	int64_t d[9], b, s;
	json_t *ret = NULL;

	(void)state;
	b = build(f, "succeeded", "sha256:ab", NULL, 400);
	s = snapshot(f, 0, 400);
	/* 1 2 superseded, 3..7 failed, all past the age; 8 failed, recent */
	for (int i = 1; i <= 8; i++)
		d[i] = deployment(f, f->dev, i, b, s, i <= 2 ? "superseded" : "failed", 0,
				  i == 8 ? 1 : 400 - i);
	sql("INSERT INTO approval_requests (project_id, component_id, environment_id, action, summary,"
	    " payload, approvers, approvals_needed, requested_by, requested_by_token, requested_role,"
	    " status, created_at, expires_at) VALUES (%lld, %lld, %lld, 'promote', 'p',"
	    " '{\"promoted_from\": %lld, \"source_deployment\": %lld, \"build\": %lld}',"
	    " '[\"admin\"]', 1, 'admin', 1, 'admin', 'pending', '%s', '%s')",
	    (long long)f->pid, (long long)f->cid, (long long)f->dev, (long long)d[3],
	    (long long)d[4], (long long)b, ago(1), ago(-1));
	assert_int_equal(history_retention_apply(&r, NOW, &ret, &e), 0);
	json_decref(ret);
	/* 8 7: the newest keep_deployments; 2: the rollback target; 3 4: the approval's */
	for (int i = 1; i <= 8; i++)
		assert_int_equal(exists("deployments", d[i]), !(i == 1 || i == 5 || i == 6));
	fixture_free(f);
}

/* More victims than one batch, each promotion's source in an earlier row
 * than the deployment promoted from it: every batch leaves no row that
 * names a deleted one (foreign keys are on), and all of them go. */
static void test_promotion_line_across_batches(void **state)
{
	struct core_fixture *f = fixture_new("hist-batches", "service");
	struct history_retention r = rules(1, 100);
	struct ferr e = FERR_INIT;
	int64_t prod, b, s, from[700];
	json_t *ret = NULL;
	const int n = 700;

	(void)state;
	prod = fixture_env(f->pid, "production");
	b = build(f, "succeeded", "sha256:ab", NULL, 400);
	s = snapshot(f, 0, 400);
	sql("BEGIN");
	for (int i = 0; i < n; i++)
		from[i] = deployment(f, f->dev, i + 1, b, s, "superseded", 0, 400);
	for (int i = 0; i < n; i++)
		deployment(f, prod, i + 1, b, s, "superseded", from[i], 400);
	sql("COMMIT");
	assert_int_equal(history_retention_apply(&r, NOW, &ret, &e), 0);
	/* each environment keeps keep_deployments (2), its newest */
	assert_int_equal(deleted(ret, "deployments"), 2 * n - 2 * 2);
	json_decref(ret);
	assert_int_equal(count("SELECT count(*) FROM deployments d WHERE promoted_from IS NOT NULL"
			       " AND NOT EXISTS (SELECT 1 FROM deployments s WHERE s.id = d.promoted_from)"), 0);
	fixture_free(f);
}

/* Executions beyond the newest keep go (never a running one), with their
 * logs; those inside 30 days leave a tally row. */
static void test_executions(void **state)
{
	struct core_fixture *f = fixture_new("hist-exec", "manual-task");
	struct history_retention r = rules(3, 365);
	struct ferr e = FERR_INIT;
	int64_t b, s, dep, x[7];
	json_t *ret = NULL;

	(void)state;
	b = build(f, "succeeded", "sha256:ab", NULL, 60);
	s = snapshot(f, 0, 60);
	dep = deployment(f, f->dev, 1, b, s, "active", 0, 60);
	x[0] = execution(f, dep, "running", 50);
	for (int i = 1; i <= 6; i++)
		x[i] = execution(f, dep, i == 2 ? "skipped" : "succeeded", 40 - 6 * i);
	sql("INSERT INTO execution_logs (execution_id, ts, line) VALUES (%lld, 'x', 'out')",
	    (long long)x[1]);
	assert_int_equal(history_retention_apply(&r, NOW, &ret, &e), 0);
	assert_int_equal(deleted(ret, "executions"), 3);
	json_decref(ret);
	assert_true(exists("executions", x[0]));
	for (int i = 1; i <= 6; i++)
		assert_int_equal(exists("executions", x[i]), i > 3);
	assert_int_equal(count("SELECT count(*) FROM execution_logs"), 0);
	/* x1 (34 days ago) is outside the window; x2 skipped; x3 (22 days) tallied */
	assert_int_equal(count("SELECT count(*) FROM execution_tally"), 1);
	assert_int_equal(execution_count_30d(f->cid, 0, NOW), 4);
	fixture_free(f);
}

/* Jobs: kept while their build or deployment stays, or running; others by
 * count per kind. Audit: the newest audit_keep. */
static void test_jobs_and_audit(void **state)
{
	struct core_fixture *f = fixture_new("hist-jobs", "service");
	struct history_retention r = rules(2, 365);
	struct ferr e = FERR_INIT;
	int64_t jb, jgone, jrun, jlate, jrollout, jrollgone, other[4], b, s, dep;
	json_t *ret = NULL;

	(void)state;
#define JOB(kind, status, payload) \
	(sql("INSERT INTO jobs (kind, status, payload, created_at) VALUES ('%s', '%s', '%s', '%s')", \
	     kind, status, payload, ago(5)), sqlite3_last_insert_rowid(store_db()))
	b = build(f, "succeeded", "sha256:ab", NULL, 5);
	jb = JOB("build", "succeeded", "{}");
	sql("UPDATE builds SET job_id = %lld WHERE id = %lld", (long long)jb, (long long)b);
	jgone = JOB("build", "failed", "{\"build\": 999}");
	jrun = JOB("build", "running", "{}");
	{
		/* ended before the build was linked to it */
		char pl[64];
		snprintf(pl, sizeof(pl), "{\"build\": %lld}", (long long)b);
		jlate = JOB("build", "succeeded", pl);
	}
	s = snapshot(f, 0, 5);
	dep = deployment(f, f->dev, 1, b, s, "active", 0, 5);
	{
		char pl[64];
		snprintf(pl, sizeof(pl), "{\"deployment\": %lld}", (long long)dep);
		jrollout = JOB("rollout", "succeeded", pl);
	}
	jrollgone = JOB("rollout", "succeeded", "{\"deployment\": 999}");
	for (int i = 0; i < 4; i++)
		other[i] = JOB("undeploy", "succeeded", "{}");
#undef JOB
	for (int i = 0; i < 25; i++)
		sql("INSERT INTO audit (ts, actor, role, action, object, status, result)"
		    " VALUES ('%s', 'admin', 'admin', 'x', 'y', 200, 'ok')", ago(1));
	assert_int_equal(history_retention_apply(&r, NOW, &ret, &e), 0);
	assert_int_equal(deleted(ret, "jobs"), 4);
	json_decref(ret);
	assert_true(exists("jobs", jb));
	assert_false(exists("jobs", jgone));
	assert_true(exists("jobs", jrun));
	assert_true(exists("jobs", jlate));
	assert_true(exists("jobs", jrollout));
	assert_false(exists("jobs", jrollgone));
	assert_false(exists("jobs", other[0]));
	assert_false(exists("jobs", other[1]));
	assert_true(exists("jobs", other[2]));
	assert_true(exists("jobs", other[3]));
	assert_int_equal(count("SELECT count(*) FROM audit"), 10);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builds_by_count),
		cmocka_unit_test(test_builds_by_age),
		cmocka_unit_test(test_builds_tracking_images),
		cmocka_unit_test(test_deployments),
		cmocka_unit_test(test_deployments_by_age),
		cmocka_unit_test(test_rollback_target_and_approvals),
		cmocka_unit_test(test_promotion_line_across_batches),
		cmocka_unit_test(test_executions),
		cmocka_unit_test(test_jobs_and_audit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
