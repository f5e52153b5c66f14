/* Promotion: the rules for moving a deployment's image and
 * environment-independent configuration to another environment.
 *
 *  - The line: --from may only name the environment right before the
 *    target. An admin may go past it with a reason, which the new
 *    deployment keeps (skip_reason) and its rollout log shows.
 *  - No silent older version: while the source environment is rolling out
 *    a newer deployment, a promote waits for that rollout and promotes its
 *    result (or, with no_wait, is refused naming the deployment in flight).
 *    If that rollout fails, nothing is promoted.
 *  - The answer names what was promoted: the source deployment, its commit
 *    and digest ("source").
 */
#include "core/deployment.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/lookup.h"
#include "core/deployment_int.h"
#include "core/rollout.h"
#include "store/store.h"
#include "lib/banned.h"

/* How long a promote waits for the source environment's rollout. Under the
 * CLI's 600 s request timeout, above any readiness budget a descriptor can
 * reasonably ask for. */
#define PROMOTE_WAIT_S 540
#define PROMOTE_POLL_US (250 * 1000)

static atomic_int stopping;

void deployment_stop_waiting(void)
{
	atomic_store(&stopping, 1);
}

struct dep_brief {
	int64_t id;
	int seq;
	char status[16];
	char commit[64];
	char digest[80];
	char error[256];
};

/* The newest deployment of component_id in env_id that is pending or
 * rolling out; 0 if none. */
static int64_t in_flight(int64_t component_id, int64_t env_id)
{
	sqlite3_stmt *st = store_stmt("SELECT max(id) FROM deployments WHERE component_id = ?"
				      " AND environment_id = ? AND status IN ('pending','rolling-out')");
	int64_t id = 0;

	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_int64(st, 2, env_id);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return id;
}

static int brief(int64_t id, struct dep_brief *b, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT seq, status, commit_sha, digest, coalesce(error, '')"
				      " FROM deployments WHERE id = ?");
	int rc;

	memset(b, 0, sizeof(*b));
	b->id = id;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		b->seq = sqlite3_column_int(st, 0);
		snprintf(b->status, sizeof(b->status), "%s", sqlite3_column_text(st, 1));
		snprintf(b->commit, sizeof(b->commit), "%s", sqlite3_column_text(st, 2));
		snprintf(b->digest, sizeof(b->digest), "%s", sqlite3_column_text(st, 3));
		snprintf(b->error, sizeof(b->error), "%s", sqlite3_column_text(st, 4));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "deployment %lld not found", (long long)id);
	if (rc != SQLITE_ROW)
		return store_error(e, "read deployment");
	return 0;
}

static int settled(const char *status)
{
	return strcmp(status, "pending") && strcmp(status, "rolling-out");
}

/* Waits until nothing of the component rolls out in the source
 * environment. A rollout that fails there ends the promote: its result is
 * what was asked for, and an older active deployment is not a substitute. */
static int wait_for_source(int64_t component_id, int64_t from_id, const char *from_name,
			   int no_wait, struct ferr *e)
{
	time_t deadline = time(NULL) + PROMOTE_WAIT_S;
	struct dep_brief b;
	int64_t id;

	while ((id = in_flight(component_id, from_id))) {
		if (brief(id, &b, e) < 0)
			return -1;
		if (no_wait)
			return ferr_conflict(e, "\"%s\" is rolling out deployment %lld (#%d, commit %.12s, %s);"
					     " promote once it is active, or without --no-wait to wait for it",
					     from_name, (long long)id, b.seq, b.commit, b.status);
		while (!settled(b.status)) {
			if (atomic_load(&stopping))
				return ferr_set(e, 503, "stopping", "ferryd is stopping: nothing was promoted"
						" (deployment %lld was still rolling out in \"%s\")",
						(long long)id, from_name);
			if (time(NULL) > deadline)
				return ferr_conflict(e, "deployment %lld is still rolling out in \"%s\" after %d s:"
						     " nothing was promoted", (long long)id, from_name,
						     PROMOTE_WAIT_S);
			usleep(PROMOTE_POLL_US);
			if (brief(id, &b, e) < 0)
				return -1;
		}
		if (!strcmp(b.status, "failed") || !strcmp(b.status, "rolled-back"))
			return ferr_conflict(e, "deployment %lld (#%d, commit %.12s), rolling out in \"%s\" when"
					     " the promote was asked for, failed: %s; nothing was promoted",
					     (long long)id, b.seq, b.commit, from_name,
					     b.error[0] ? b.error : "failed");
	}
	return 0;
}

/* The line rule: the environment before the target, unless an admin
 * gives a reason. */
static int check_line(const struct principal *who, const char *from_name, int from_rank,
		      const char *to, int to_rank, const char *skip_reason, struct ferr *e)
{
	if (from_rank == to_rank - 1) {
		if (skip_reason)
			return ferr_invalid(e, "\"%s\" comes right before \"%s\": there is nothing to skip,"
					    " drop --skip-reason", from_name, to);
		return 0;
	}
	if (who->role != ROLE_ADMIN)
		return ferr_forbidden(e, "promotion follows the environment line: \"%s\" takes deployments"
				      " from the environment right before it, not from \"%s\"; only an admin"
				      " may skip, with --skip-reason", to, from_name);
	if (!skip_reason)
		return ferr_invalid(e, "promoting from \"%s\" to \"%s\" leaves the environment line:"
				    " say why with --skip-reason TEXT (it is recorded)", from_name, to);
	return 0;
}

static json_t *source_json(const struct dep_brief *b, const char *env)
{
	return json_pack("{s:I, s:s, s:i, s:s, s:s}", "id", (json_int_t)b->id, "environment", env,
			 "seq", b->seq, "commit", b->commit, "digest", b->digest);
}

int deployment_promote(const struct principal *who, const char *project, const char *component,
		       const struct promote_opts *o, json_t **ret, struct ferr *e)
{
	struct new_deployment n = { .cause = "promote", .who = who->name };
	int64_t from_id, source, id;
	int to_rank, from_rank;
	struct dep_brief b;
	char from_name[64];
	json_t *health;

	if (o->skip_reason && !*o->skip_reason)
		return ferr_invalid(e, "--skip-reason must not be empty");
	if (component_lookup(who, project, component, &n.project_id, &n.component_id, e) < 0 ||
	    auth_require_write(who, e) < 0 ||
	    deployment_env_at(n.project_id, o->to, 0, &n.env_id, &to_rank, e) < 0)
		return -1;
	if (o->from) {
		if (deployment_env_at(n.project_id, o->from, 0, &from_id, &from_rank, e) < 0)
			return -1;
		if (from_id == n.env_id)
			return ferr_invalid(e, "cannot promote from \"%s\" to itself", o->to);
		snprintf(from_name, sizeof(from_name), "%s", o->from);
	} else {
		if (to_rank == 0)
			return ferr_invalid(e, "\"%s\" is the first environment: deploy to it with ferry deploy, or give --from", o->to);
		if (deployment_env_at(n.project_id, NULL, to_rank - 1, &from_id, &from_rank, e) < 0)
			return -1;
		{
			sqlite3_stmt *st = store_stmt("SELECT name FROM environments WHERE id = ?");
			sqlite3_bind_int64(st, 1, from_id);
			from_name[0] = '\0';
			if (sqlite3_step(st) == SQLITE_ROW)
				snprintf(from_name, sizeof(from_name), "%s", sqlite3_column_text(st, 0));
			sqlite3_reset(st);
		}
	}
	if (check_line(who, from_name, from_rank, o->to, to_rank, o->skip_reason, e) < 0 ||
	    wait_for_source(n.component_id, from_id, from_name, o->no_wait, e) < 0)
		return -1;
	source = deployment_active_in(n.component_id, from_id, &n.build_id, &n.independent_id);
	if (!source)
		return ferr_conflict(e, "%s/%s has no active deployment in \"%s\" to promote (a failed deployment cannot be promoted)",
				     project, component, from_name);
	health = rollout_health(n.component_id, from_id);
	if (!json_is_true(json_object_get(health, "healthy"))) {
		json_decref(health);
		return ferr_conflict(e, "%s/%s is not healthy in \"%s\": an unhealthy deployment cannot be promoted",
				     project, component, from_name);
	}
	json_decref(health);
	if (brief(source, &b, e) < 0)
		return -1;
	n.promoted_from = source;
	n.skip_reason = o->skip_reason;
	{
		char summary[512];
		struct deployment_gate_info g = { .summary = summary, .source_deployment = source,
						  .source_env = from_id };
		int held;
		snprintf(summary, sizeof(summary), "promote %s/%s to %s: deployment %lld (#%d in %s, commit %.12s, %s)%s%s",
			 project, component, o->to, (long long)source, b.seq, from_name, b.commit, b.digest,
			 o->skip_reason ? ", skipping the line: " : "", o->skip_reason ? o->skip_reason : "");
		if ((held = deployment_gate(who, &n, &g, ret, e)) != 0) {
			if (held < 0)
				return -1;
			json_object_set_new(*ret, "source", source_json(&b, from_name));
			return 0;
		}
	}
	if (deployment_create(&n, &id, e) < 0 || deployment_show_by_id(id, ret, e) < 0)
		return -1;
	json_object_set_new(*ret, "source", source_json(&b, from_name));
	return 0;
}
