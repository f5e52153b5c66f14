/* Approvals: environment policies, requests, votes, and the gates that
 * hold deployments and configuration changes back (see approval.h). */
#include "core/approval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/events.h"
#include "core/audit.h"
#include "core/lookup.h"
#include "core/config.h"
#include "core/core.h"
#include "core/deployment.h"
#include "core/deployment_int.h"
#include "core/json.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "store/store.h"
#include "vault/vault.h"
#include "lib/banned.h"

/* ------------------------------------------------------------------ */
/* Policies                                                             */

struct policy {
	int require;
	json_t *approvers;  /* owned: array of strings */
	int approvals;
	int64_t ttl_s;
};

static int policy_load(int64_t env_id, struct policy *p)
{
	sqlite3_stmt *st = store_stmt("SELECT approvers, approvals, ttl_s FROM environment_approvals"
				      " WHERE environment_id = ?");

	memset(p, 0, sizeof(*p));
	sqlite3_bind_int64(st, 1, env_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		p->require = 1;
		p->approvers = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
		p->approvals = sqlite3_column_int(st, 1);
		p->ttl_s = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (p->require && !json_is_array(p->approvers)) {
		json_decref(p->approvers);
		p->approvers = json_pack("[s]", "admin");
	}
	return p->require;
}

static void policy_release(struct policy *p)
{
	json_decref(p->approvers);
	p->approvers = NULL;
}

static int is_approver(json_t *approvers, const struct principal *who)
{
	json_t *v;
	size_t i;

	json_array_foreach(approvers, i, v) {
		const char *s = json_string_value(v);
		if (s && (!strcmp(s, role_name(who->role)) || !strcmp(s, who->name)))
			return 1;
	}
	return 0;
}

static json_t *env_json(int64_t env_id)
{
	sqlite3_stmt *st = store_stmt("SELECT e.name, e.rank, e.production, a.approvers, a.approvals, a.ttl_s"
				      " FROM environments e LEFT JOIN environment_approvals a"
				      " ON a.environment_id = e.id WHERE e.id = ?");
	json_t *j = NULL;

	sqlite3_bind_int64(st, 1, env_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		json_t *approval = json_null();
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			approval = json_pack("{s:o, s:i, s:I}",
				"approvers", json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL),
				"approvals", sqlite3_column_int(st, 4),
				"ttl_s", (json_int_t)sqlite3_column_int64(st, 5));
		j = json_pack("{s:s, s:i, s:b, s:o}", "name", sqlite3_column_text(st, 0),
			      "rank", sqlite3_column_int(st, 1), "production", sqlite3_column_int(st, 2),
			      "approval", approval);
	}
	sqlite3_reset(st);
	return j;
}

static int check_approver_name(const char *s, struct ferr *e)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return ferr_invalid(e, "approver \"%s\" must be a role (admin, developer) or a token name of 1-63 characters", s);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || s[i] == ',' || s[i] == 0x7f)
			return ferr_invalid(e, "approver \"%s\" holds a space, a comma or a control character", s);
	if (!strcmp(s, "viewer"))
		return ferr_invalid(e, "viewers only read: they cannot be approvers");
	return 0;
}

int env_approval_update(const struct principal *who, const char *project, const char *env,
			const struct env_approval_policy *p, json_t **ret, struct ferr *e)
{
	struct policy old;
	int64_t pid, eid;
	sqlite3_stmt *st;
	char now[32];
	json_t *approvers;
	char *text;
	int had;

	if (project_lookup(who, project, &pid, e) < 0 || auth_require_admin(who, e) < 0 ||
	    env_lookup(pid, env, &eid, e) < 0)
		return -1;
	if (!p->require) {
		st = store_stmt("DELETE FROM environment_approvals WHERE environment_id = ?");
		sqlite3_bind_int64(st, 1, eid);
		if (sqlite3_step(st) != SQLITE_DONE)
			return store_error(e, "clear the approval policy");
		*ret = env_json(eid);
		return 0;
	}
	if (p->approvals < 0 || p->approvals > APPROVAL_MAX_COUNT)
		return ferr_invalid(e, "--approvals must be from 1 to %d", APPROVAL_MAX_COUNT);
	if (p->ttl_s < 0 || p->ttl_s > 30LL * 24 * 3600)
		return ferr_invalid(e, "the approval expiry must be from 1 second to 30 days");
	had = policy_load(eid, &old);
	approvers = json_array();
	if (p->set_approvers) {
		for (int i = 0; p->approvers[i]; i++) {
			if (check_approver_name(p->approvers[i], e) < 0) {
				json_decref(approvers);
				policy_release(&old);
				return -1;
			}
			json_array_append_new(approvers, json_string(p->approvers[i]));
		}
		if (json_array_size(approvers) == 0) {
			json_decref(approvers);
			policy_release(&old);
			return ferr_invalid(e, "--approvers needs at least one role or token name");
		}
	} else if (had) {
		json_array_extend(approvers, old.approvers);
	} else {
		json_array_append_new(approvers, json_string("admin"));
	}
	text = json_dumps(approvers, JSON_COMPACT);
	store_now(now);
	st = store_stmt("INSERT INTO environment_approvals (environment_id, approvers, approvals, ttl_s,"
			" updated_by, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
			" ON CONFLICT (environment_id) DO UPDATE SET approvers = ?2, approvals = ?3,"
			" ttl_s = ?4, updated_by = ?5, updated_at = ?6");
	sqlite3_bind_int64(st, 1, eid);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, p->approvals ? p->approvals : had ? old.approvals : 1);
	sqlite3_bind_int64(st, 4, p->ttl_s ? p->ttl_s : had ? old.ttl_s : APPROVAL_DEFAULT_TTL_S);
	sqlite3_bind_text(st, 5, who->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		free(text);
		json_decref(approvers);
		policy_release(&old);
		return store_error(e, "save the approval policy");
	}
	sqlite3_reset(st);
	free(text);
	json_decref(approvers);
	policy_release(&old);
	*ret = env_json(eid);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Requests                                                             */

#define REQUEST_COLUMNS \
	"r.id, p.name, c.name, e.name, r.action, r.summary, r.status, r.requested_by," \
	" r.approvals_needed, r.created_at, r.expires_at, r.decided_at, r.reason, r.deployment_id," \
	" r.approvers, r.project_id"
#define REQUEST_FROM \
	" FROM approval_requests r JOIN projects p ON p.id = r.project_id" \
	" JOIN components c ON c.id = r.component_id JOIN environments e ON e.id = r.environment_id"

static json_t *votes_json(int64_t id)
{
	sqlite3_stmt *st = store_stmt("SELECT name, decision, comment, at FROM approval_votes"
				      " WHERE request_id = ? ORDER BY at, name");
	json_t *arr = json_array();

	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:s}",
			"by", sqlite3_column_text(st, 0), "decision", sqlite3_column_text(st, 1),
			"comment", json_text_or_null(st, 2), "at", sqlite3_column_text(st, 3)));
	sqlite3_reset(st);
	return arr;
}

static json_t *request_row(sqlite3_stmt *st)
{
	json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:o, s:o, s:o, s:o}",
		"id", (json_int_t)sqlite3_column_int64(st, 0),
		"project", sqlite3_column_text(st, 1), "component", sqlite3_column_text(st, 2),
		"environment", sqlite3_column_text(st, 3), "action", sqlite3_column_text(st, 4),
		"summary", sqlite3_column_text(st, 5), "status", sqlite3_column_text(st, 6),
		"requested_by", sqlite3_column_text(st, 7),
		"approvals_needed", sqlite3_column_int(st, 8),
		"created_at", sqlite3_column_text(st, 9), "expires_at", sqlite3_column_text(st, 10),
		"decided_at", json_text_or_null(st, 11), "reason", json_text_or_null(st, 12),
		"deployment", sqlite3_column_type(st, 13) == SQLITE_NULL ? json_null()
			: json_integer(sqlite3_column_int64(st, 13)),
		"approvers", json_loads((const char *)sqlite3_column_text(st, 14), 0, NULL));
	return j;
}

static int request_json(int64_t id, json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT " REQUEST_COLUMNS REQUEST_FROM " WHERE r.id = ?");
	int rc;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = request_row(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "approval request %lld not found", (long long)id);
	if (rc != SQLITE_ROW)
		return store_error(e, "read approval request");
	json_object_set_new(*ret, "votes", votes_json(id));
	return 0;
}

/* What an open request is about, read in one go. */
struct request {
	int64_t id, project_id, component_id, env_id;
	char action[16];
	char status[16];
	char project[64];
	char requested_by[64];
	int64_t requester_token;
	enum role requester_role;
	int64_t requester_scope;
	int approvals_needed;
	char expires_at[32];
	json_t *payload;   /* owned */
	json_t *approvers; /* owned */
	uint8_t *sealed;   /* owned, sealed_len bytes */
	size_t sealed_len;
};

static void request_release(struct request *r)
{
	json_decref(r->payload);
	json_decref(r->approvers);
	free(r->sealed);
	memset(r, 0, sizeof(*r));
}

static int request_load(const struct principal *who, int64_t id, struct request *r, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT r.project_id, r.component_id, r.environment_id, r.action, r.status, p.name,"
		" r.requested_by, r.requested_by_token, r.requested_role, coalesce(r.requested_scope, 0),"
		" r.approvals_needed, r.expires_at, r.payload, r.approvers, r.sealed"
		" FROM approval_requests r JOIN projects p ON p.id = r.project_id WHERE r.id = ?");
	int rc;

	memset(r, 0, sizeof(*r));
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r->id = id;
		r->project_id = sqlite3_column_int64(st, 0);
		r->component_id = sqlite3_column_int64(st, 1);
		r->env_id = sqlite3_column_int64(st, 2);
		snprintf(r->action, sizeof(r->action), "%s", sqlite3_column_text(st, 3));
		snprintf(r->status, sizeof(r->status), "%s", sqlite3_column_text(st, 4));
		snprintf(r->project, sizeof(r->project), "%s", sqlite3_column_text(st, 5));
		snprintf(r->requested_by, sizeof(r->requested_by), "%s", sqlite3_column_text(st, 6));
		r->requester_token = sqlite3_column_int64(st, 7);
		role_parse((const char *)sqlite3_column_text(st, 8), &r->requester_role, NULL);
		r->requester_scope = sqlite3_column_int64(st, 9);
		r->approvals_needed = sqlite3_column_int(st, 10);
		snprintf(r->expires_at, sizeof(r->expires_at), "%s", sqlite3_column_text(st, 11));
		r->payload = json_loads((const char *)sqlite3_column_text(st, 12), 0, NULL);
		r->approvers = json_loads((const char *)sqlite3_column_text(st, 13), 0, NULL);
		if (sqlite3_column_type(st, 14) == SQLITE_BLOB) {
			r->sealed_len = (size_t)sqlite3_column_bytes(st, 14);
			r->sealed = malloc(r->sealed_len ? r->sealed_len : 1);
			if (!r->sealed)
				abort();
			memcpy(r->sealed, sqlite3_column_blob(st, 14), r->sealed_len);
		}
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE || (rc == SQLITE_ROW && who && who->project_id &&
				  who->project_id != r->project_id)) {
		request_release(r);
		return ferr_notfound(e, "approval request %lld not found", (long long)id);
	}
	if (rc != SQLITE_ROW)
		return store_error(e, "read approval request");
	if (!r->payload)
		r->payload = json_object();
	if (!json_is_array(r->approvers)) {
		json_decref(r->approvers);
		r->approvers = json_array();
	}
	return 0;
}

/* Moves a pending request to a final status. Returns 1 if this call did
 * it, 0 if it was no longer pending. */
static int request_close(int64_t id, const char *status, const char *reason, int64_t deployment_id)
{
	sqlite3_stmt *st = store_stmt("UPDATE approval_requests SET status = ?, reason = coalesce(?, reason),"
				      " deployment_id = nullif(?, 0), decided_at = ?"
				      " WHERE id = ? AND status IN ('pending', 'approving')");
	char now[32];
	int n;

	store_now(now);
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, deployment_id);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		log_warnx("event=approval_close_failed request=%lld", (long long)id);
		return 0;
	}
	sqlite3_reset(st);
	n = sqlite3_changes(store_db());
	if (n > 0)
		event_publish(EVENT_APPROVAL_DECIDED, id);
	return n > 0;
}

static void audit_auto(const struct request *r, const char *action, const char *why)
{
	char object[256];

	snprintf(object, sizeof(object), "approval request %lld (%s)", (long long)r->id, r->action);
	audit_record(NULL, "ferry", action, object, r->project, 200, why);
}

/* Why the request's source changed since it was made, or "" if it did
 * not. The checks follow approval.h. */
static void source_changed(const struct request *r, char *why, size_t size)
{
	json_t *pl = r->payload;
	int64_t src = json_integer_value(json_object_get(pl, "source_deployment"));

	why[0] = '\0';
	if (!strcmp(r->action, "promote") || !strcmp(r->action, "rollback")) {
		int64_t env = json_integer_value(json_object_get(pl, "source_env"));
		int64_t now = deployment_active_in(r->component_id, env, NULL, NULL);
		if (src && now != src)
			snprintf(why, size, "its source changed: deployment %lld is no longer the active one"
				 " (now: %lld)", (long long)src, (long long)now);
	} else if (!strcmp(r->action, "deploy")) {
		if (json_is_true(json_object_get(pl, "newest_build"))) {
			sqlite3_stmt *st = store_stmt("SELECT max(id) FROM builds WHERE component_id = ?"
						      " AND status = 'succeeded'");
			int64_t newest = 0, build = json_integer_value(json_object_get(pl, "build"));
			sqlite3_bind_int64(st, 1, r->component_id);
			if (sqlite3_step(st) == SQLITE_ROW)
				newest = sqlite3_column_int64(st, 0);
			sqlite3_reset(st);
			if (newest != build)
				snprintf(why, size, "its source changed: build %lld is newer than build %lld",
					 (long long)newest, (long long)build);
		}
	} else {
		int64_t v = 0;
		struct ferr ignore = FERR_INIT;
		if (config_current_version(r->component_id, &v, &ignore) == 0 &&
		    v != json_integer_value(json_object_get(pl, "config_version")))
			snprintf(why, size, "its source changed: the configuration of the component moved from"
				 " version %lld to %lld", (long long)json_integer_value(json_object_get(pl, "config_version")),
				 (long long)v);
	}
}

/* Marks a pending request expired or invalidated when it is. Returns 1
 * if it is still pending. */
static int request_refresh(struct request *r)
{
	char now[32], why[256];

	if (strcmp(r->status, "pending"))
		return 0;
	store_now(now);
	if (strcmp(now, r->expires_at) >= 0) {
		if (request_close(r->id, "expired", "not approved before it expired", 0))
			audit_auto(r, "approval.expire", "expired at its deadline");
		snprintf(r->status, sizeof(r->status), "expired");
		return 0;
	}
	source_changed(r, why, sizeof(why));
	if (why[0]) {
		if (request_close(r->id, "invalidated", why, 0))
			audit_auto(r, "approval.invalidate", why);
		snprintf(r->status, sizeof(r->status), "invalidated");
		return 0;
	}
	return 1;
}

static void refresh_pending(int64_t project_id)
{
	sqlite3_stmt *st = store_stmt("SELECT id FROM approval_requests WHERE status = 'pending'"
				      " AND (?1 = 0 OR project_id = ?1) ORDER BY id LIMIT 500");
	int64_t ids[500];
	int n = 0;

	sqlite3_bind_int64(st, 1, project_id);
	while (sqlite3_step(st) == SQLITE_ROW && n < 500)
		ids[n++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	for (int i = 0; i < n; i++) {
		struct request r;
		if (request_load(NULL, ids[i], &r, NULL) == 0) {
			request_refresh(&r);
			request_release(&r);
		}
	}
}

int approval_list(const struct principal *who, const char *project, int all, json_t **ret,
		  struct ferr *e)
{
	int64_t pid = who->project_id;
	sqlite3_stmt *st;

	if (project && project_lookup(who, project, &pid, e) < 0)
		return -1;
	refresh_pending(pid);
	st = store_stmt("SELECT " REQUEST_COLUMNS REQUEST_FROM
			" WHERE (?1 = 0 OR r.project_id = ?1) AND (?2 OR r.status = 'pending')"
			" ORDER BY r.id DESC LIMIT 200");
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, all);
	return json_rows(st, request_row, "list approval requests", ret, e);
}

int approval_show(const struct principal *who, int64_t id, json_t **ret, struct ferr *e)
{
	struct request r;

	if (request_load(who, id, &r, e) < 0)
		return -1;
	request_refresh(&r);
	request_release(&r);
	return request_json(id, ret, e);
}

void approval_project_of(const struct principal *who, int64_t id, char *out, size_t size)
{
	struct request r;

	out[0] = '\0';
	if (request_load(who, id, &r, NULL) == 0) {
		snprintf(out, size, "%s", r.project);
		request_release(&r);
	}
}

/* ------------------------------------------------------------------ */
/* Deciding                                                             */

static int may_decide(const struct principal *who, const struct request *r, int approving,
		      struct ferr *e)
{
	if (auth_require_write(who, e) < 0)
		return -1;
	if (approving && (who->token_id == r->requester_token || !strcmp(who->name, r->requested_by)))
		return ferr_forbidden(e, "\"%s\" asked for approval request %lld: the requester cannot approve"
				      " their own request", who->name, (long long)r->id);
	if (!approving && who->token_id == r->requester_token)
		return 0; /* withdrawing one's own request */
	if (!is_approver(r->approvers, who)) {
		char *list = json_dumps(r->approvers, JSON_COMPACT);
		ferr_forbidden(e, "token \"%s\" (%s) is not an approver of \"%s\" (approvers: %s)", who->name,
			       role_name(who->role), json_string_value(json_object_get(r->payload, "environment")),
			       list ? list : "?");
		free(list);
		return -1;
	}
	return 0;
}

static int not_pending(const struct request *r, struct ferr *e)
{
	return ferr_conflict(e, "approval request %lld is %s: it can no longer be decided", (long long)r->id,
			     r->status);
}

static int vote(const struct principal *who, int64_t id, const char *decision, const char *comment,
		struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("INSERT INTO approval_votes (request_id, token_id, name, decision,"
				      " comment, at) VALUES (?, ?, ?, ?, ?, ?)");
	char now[32];
	int rc;

	store_now(now);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, who->token_id);
	sqlite3_bind_text(st, 3, who->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, decision, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, comment, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT)
		return ferr_conflict(e, "\"%s\" already decided on approval request %lld", who->name, (long long)id);
	if (rc != SQLITE_DONE)
		return store_error(e, "record the decision");
	return 0;
}

static int approvals_count(int64_t id)
{
	sqlite3_stmt *st = store_stmt("SELECT count(DISTINCT name) FROM approval_votes WHERE request_id = ?"
				      " AND decision = 'approve'");
	int n = 0;

	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return n;
}

static int make_deployment(const struct request *r, int64_t *ret_id, struct ferr *e)
{
	json_t *pl = r->payload;
	struct new_deployment n = {
		.component_id = r->component_id, .project_id = r->project_id, .env_id = r->env_id,
		.build_id = json_integer_value(json_object_get(pl, "build")),
		.independent_id = json_integer_value(json_object_get(pl, "independent")),
		.snapshot_id = json_integer_value(json_object_get(pl, "snapshot")),
		.cause = json_string_value(json_object_get(pl, "cause")),
		.promoted_from = json_integer_value(json_object_get(pl, "promoted_from")),
		.who = r->requested_by,
		.skip_reason = json_string_value(json_object_get(pl, "skip_reason")),
	};

	if (!n.cause)
		return ferr_internal(e, "approval request %lld holds no deployment", (long long)r->id);
	return deployment_create(&n, ret_id, e);
}

/* The held configuration change: {"env": name|null, "unset": key} or the
 * values sealed in r->sealed. */
static int make_config_change(const struct request *r, json_t **ret, struct ferr *e)
{
	struct principal as = { .token_id = r->requester_token, .role = r->requester_role,
				.project_id = r->requester_scope };
	const char *env = json_string_value(json_object_get(r->payload, "env"));
	const char *component = json_string_value(json_object_get(r->payload, "component"));
	struct config_input *in = NULL;
	char **vals = NULL;
	size_t *lens = NULL, n = 0;
	json_t *values = NULL, *v;
	char *plain = NULL;
	size_t plain_len = 0, i;
	struct strbuf aad = STRBUF_INIT;
	int rc = -1;

	snprintf(as.name, sizeof(as.name), "%s", r->requested_by);
	if (!strcmp(r->action, "config.unset"))
		return config_unset_approved(&as, r->project, component, env,
					     json_string_value(json_object_get(r->payload, "unset")), ret, e);
	vault_aad_add(&aad, "approval_request");
	vault_aad_add_int(&aad, r->id);
	vault_aad_add_int(&aad, r->project_id);
	if (!r->sealed || vault_unseal(core.vault, aad.buf, aad.len, r->sealed, r->sealed_len,
				       "held configuration change", &plain, &plain_len, e) < 0) {
		if (!ferr_isset(e))
			ferr_internal(e, "approval request %lld holds no configuration change", (long long)r->id);
		goto out;
	}
	values = json_loadb(plain, plain_len, 0, NULL);
	n = json_array_size(values);
	if (!n) {
		ferr_internal(e, "approval request %lld: the held configuration change cannot be read", (long long)r->id);
		goto out;
	}
	if (!(in = calloc(n, sizeof(*in))) || !(vals = calloc(n, sizeof(*vals))) || !(lens = calloc(n, sizeof(*lens))))
		abort();
	json_array_foreach(values, i, v) {
		const char *b64 = json_string_value(json_object_get(v, "value"));
		size_t blen = b64 ? strlen(b64) : 0;
		vals[i] = malloc(blen + 1);
		if (!vals[i])
			abort();
		if (sodium_base642bin((unsigned char *)vals[i], blen + 1, b64 ? b64 : "", blen, NULL, &lens[i],
				      NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
			ferr_internal(e, "approval request %lld: a held value cannot be decoded", (long long)r->id);
			goto out;
		}
		vals[i][lens[i]] = '\0';
		in[i].key = json_string_value(json_object_get(v, "key"));
		in[i].kind = json_is_true(json_object_get(v, "file")) ? CONFIG_KIND_FILE : CONFIG_KIND_ENV;
		in[i].mount_path = json_string_value(json_object_get(v, "mount_path"));
		in[i].secret = json_is_true(json_object_get(v, "secret"));
		in[i].value = vals[i];
		in[i].value_len = lens[i];
	}
	rc = config_set_approved(&as, r->project, component, env, in, n, ret, e);
out:
	for (i = 0; vals && i < n; i++)
		if (vals[i]) {
			sodium_memzero(vals[i], lens[i]);
			free(vals[i]);
		}
	free(vals);
	free(lens);
	free(in);
	if (values) {
		json_array_foreach(values, i, v)
			if (json_is_string(json_object_get(v, "value")))
				sodium_memzero((void *)json_string_value(json_object_get(v, "value")),
					       strlen(json_string_value(json_object_get(v, "value"))));
	}
	json_decref(values);
	vault_plain_free(plain, plain_len);
	strbuf_release(&aad);
	return rc;
}

/* Makes the change an approved request holds. The request is "approving"
 * while it runs, so that a second approval cannot make it twice. */
static int carry_out(struct request *r, json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("UPDATE approval_requests SET status = 'approving'"
				      " WHERE id = ? AND status = 'pending'");
	int64_t dep = 0;
	json_t *change = NULL;
	int rc;

	sqlite3_bind_int64(st, 1, r->id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE || sqlite3_changes(store_db()) == 0)
		return ferr_conflict(e, "approval request %lld is being carried out already", (long long)r->id);
	if (!strncmp(r->action, "config.", 7))
		rc = make_config_change(r, &change, e);
	else
		rc = make_deployment(r, &dep, e);
	if (rc < 0) {
		request_close(r->id, "failed", e->msg, 0);
		audit_auto(r, "approval.fail", e->msg);
		ferr_prefix(e, "approval request %lld was approved, but its change failed", (long long)r->id);
		return -1;
	}
	request_close(r->id, "approved", NULL, dep);
	if (request_json(r->id, ret, e) < 0) {
		json_decref(change);
		return -1;
	}
	if (dep) {
		json_t *d = NULL;
		if (deployment_show_by_id(dep, &d, e) == 0)
			json_object_set_new(*ret, "deployment_detail", d);
		deployment_event(dep, "approval request %lld approved: this deployment was held for approval",
				 (long long)r->id);
	}
	if (change)
		json_object_set_new(*ret, "config", change);
	return 0;
}

int approval_approve(const struct principal *who, int64_t id, const char *comment, json_t **ret,
		     struct ferr *e)
{
	struct request r;
	int rc = -1;

	if (request_load(who, id, &r, e) < 0)
		return -1;
	if (!request_refresh(&r)) {
		not_pending(&r, e);
		goto out;
	}
	if (may_decide(who, &r, 1, e) < 0 || vote(who, id, "approve", comment, e) < 0)
		goto out;
	if (approvals_count(id) < r.approvals_needed) {
		rc = request_json(id, ret, e);
		goto out;
	}
	rc = carry_out(&r, ret, e);
out:
	request_release(&r);
	return rc;
}

int approval_reject(const struct principal *who, int64_t id, const char *reason, json_t **ret,
		    struct ferr *e)
{
	struct request r;
	int rc = -1;

	if (!reason || !*reason)
		return ferr_invalid(e, "say why with --reason TEXT (it is recorded)");
	if (request_load(who, id, &r, e) < 0)
		return -1;
	if (!request_refresh(&r)) {
		not_pending(&r, e);
		goto out;
	}
	if (may_decide(who, &r, 0, e) < 0 || vote(who, id, "reject", reason, e) < 0)
		goto out;
	if (!request_close(id, "rejected", reason, 0)) {
		ferr_conflict(e, "approval request %lld was decided meanwhile", (long long)id);
		goto out;
	}
	rc = request_json(id, ret, e);
out:
	request_release(&r);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Gates                                                                */

static int64_t request_insert(const struct principal *who, int64_t project_id, int64_t component_id,
			      int64_t env_id, const char *action, const char *summary, json_t *payload,
			      const struct policy *p, struct ferr *e)
{
	sqlite3_stmt *st;
	char now[32], expires[32];
	char *pl = json_dumps(payload, JSON_COMPACT), *approvers = json_dumps(p->approvers, JSON_COMPACT);
	time_t t = time(NULL) + (time_t)p->ttl_s;
	struct tm tm;
	int64_t id = -1;

	store_now(now);
	gmtime_r(&t, &tm);
	strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
	st = store_stmt("INSERT INTO approval_requests (project_id, component_id, environment_id, action,"
			" summary, payload, approvers, approvals_needed, requested_by, requested_by_token,"
			" requested_role, requested_scope, status, created_at, expires_at)"
			" VALUES (?,?,?,?,?,?,?,?,?,?,?,nullif(?, 0),'pending',?,?)");
	sqlite3_bind_int64(st, 1, project_id);
	sqlite3_bind_int64(st, 2, component_id);
	sqlite3_bind_int64(st, 3, env_id);
	sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, summary, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, pl, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, approvers, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, p->approvals > 0 ? p->approvals : 1);
	sqlite3_bind_text(st, 9, who ? who->name : "auto-deploy", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, who ? who->token_id : 0);
	sqlite3_bind_text(st, 11, who ? role_name(who->role) : "developer", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 12, who ? who->project_id : 0);
	sqlite3_bind_text(st, 13, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 14, expires, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		id = sqlite3_last_insert_rowid(store_db());
	else
		store_error(e, "create the approval request");
	sqlite3_reset(st);
	free(pl);
	free(approvers);
	return id;
}

static void audit_requested(const struct principal *who, int64_t id, const char *project,
			    const char *summary)
{
	char object[256];

	snprintf(object, sizeof(object), "approval request %lld: %s", (long long)id, summary);
	audit_record(who, who ? NULL : "auto-deploy", "approval.request", object, project, 202, "ok");
	event_publish(EVENT_APPROVAL_REQUESTED, id);
}

static void project_name(int64_t project_id, char *out, size_t size)
{
	sqlite3_stmt *st = store_stmt("SELECT name FROM projects WHERE id = ?");

	out[0] = '\0';
	sqlite3_bind_int64(st, 1, project_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, size, "%s", sqlite3_column_text(st, 0));
	sqlite3_reset(st);
}

static int deployment_gate_approval(const struct principal *who, const struct new_deployment *n,
				    const struct deployment_gate_info *g, json_t **ret, struct ferr *e)
{
	char project[64];
	struct policy p;
	json_t *payload;
	int64_t id;

	if (!policy_load(n->env_id, &p))
		return 0;
	payload = json_pack("{s:I, s:I, s:I, s:s, s:I, s:s*, s:I, s:I, s:b}",
		"build", (json_int_t)n->build_id, "independent", (json_int_t)n->independent_id,
		"snapshot", (json_int_t)n->snapshot_id, "cause", n->cause,
		"promoted_from", (json_int_t)n->promoted_from, "skip_reason", n->skip_reason,
		"source_deployment", (json_int_t)g->source_deployment, "source_env", (json_int_t)g->source_env,
		"newest_build", g->newest_build);
	id = request_insert(who, n->project_id, n->component_id, n->env_id,
			    !strcmp(n->cause, "auto-deploy") ? "deploy" : n->cause, g->summary, payload, &p, e);
	json_decref(payload);
	policy_release(&p);
	if (id < 0)
		return -1;
	project_name(n->project_id, project, sizeof(project));
	audit_requested(who, id, project, g->summary);
	log_info("event=approval_requested request=%lld action=%s", (long long)id, n->cause);
	if (!ret)
		return 1;
	if (request_json(id, &payload, e) < 0)
		return -1;
	*ret = json_pack("{s:o}", "approval_request", payload);
	return 1;
}

static int config_gate_approval(const struct principal *who, int64_t project_id, int64_t component_id,
				int64_t env_id, const char *env, const char *component,
				const struct config_input *in, size_t n, const char *unset_key,
				json_t **ret, struct ferr *e)
{
	struct strbuf aad = STRBUF_INIT, summary = STRBUF_INIT;
	int64_t target = env_id, id, version = 0;
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	char scope[32], project[64];
	struct policy p;
	json_t *payload, *values = NULL;
	char *plain = NULL;
	int rc = -1;

	if (!target && deployment_env_at(project_id, NULL, 0, &target, NULL, e) < 0)
		return -1;
	if (!policy_load(target, &p))
		return 0;
	if (config_current_version(component_id, &version, e) < 0)
		goto out;
	project_name(project_id, project, sizeof(project));
	if (unset_key) {
		strbuf_addf(&summary, "unset configuration %s of %s/%s (%s)", unset_key, project, component,
			    env ? env : "component-wide");
	} else {
		strbuf_addf(&summary, "set configuration");
		for (size_t i = 0; i < n; i++)
			strbuf_addf(&summary, "%s%s%s", i ? ", " : " ", in[i].key, in[i].secret ? " (secret)" : "");
		strbuf_addf(&summary, " of %s/%s (%s)", project, component, env ? env : "component-wide");
	}
	payload = json_pack("{s:s, s:s*, s:s*, s:I}", "component", component, "env", env,
			    "unset", unset_key, "config_version", (json_int_t)version);
	if (store_begin(e) < 0) {
		json_decref(payload);
		goto out;
	}
	id = request_insert(who, project_id, component_id, target, unset_key ? "config.unset" : "config.set",
			    summary.buf, payload, &p, e);
	json_decref(payload);
	if (id < 0)
		goto fail;
	if (!unset_key) {
		sqlite3_stmt *st;
		values = json_array();
		for (size_t i = 0; i < n; i++) {
			size_t b64len = sodium_base64_encoded_len(in[i].value_len, sodium_base64_VARIANT_ORIGINAL);
			char *b64 = malloc(b64len);
			if (!b64)
				abort();
			sodium_bin2base64(b64, b64len, (const unsigned char *)in[i].value, in[i].value_len,
					  sodium_base64_VARIANT_ORIGINAL);
			json_array_append_new(values, json_pack("{s:s, s:b, s:s*, s:b, s:s}", "key", in[i].key,
				"file", in[i].kind == CONFIG_KIND_FILE, "mount_path", in[i].mount_path,
				"secret", !!in[i].secret, "value", b64));
			sodium_memzero(b64, b64len);
			free(b64);
		}
		plain = json_dumps(values, JSON_COMPACT);
		vault_aad_add(&aad, "approval_request");
		vault_aad_add_int(&aad, id);
		vault_aad_add_int(&aad, project_id);
		snprintf(scope, sizeof(scope), "project:%lld", (long long)project_id);
		if (!plain || vault_seal(core.vault, scope, aad.buf, aad.len, plain, strlen(plain), &blob,
					 &blob_len, e) < 0)
			goto fail;
		st = store_stmt("UPDATE approval_requests SET sealed = ? WHERE id = ?");
		sqlite3_bind_blob(st, 1, blob, (int)blob_len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, id);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			rc = -1;
			store_error(e, "save the held configuration change");
			goto fail;
		}
	}
	if (store_commit(e) < 0) {
		rc = -1;
		goto out;
	}
	audit_requested(who, id, project, summary.buf);
	rc = request_json(id, &payload, e) < 0 ? -1 : 1;
	if (rc == 1)
		*ret = json_pack("{s:o}", "approval_request", payload);
	goto out;
fail:
	rc = -1;
	store_rollback();
out:
	if (plain) {
		sodium_memzero(plain, strlen(plain));
		free(plain);
	}
	if (values) {
		size_t i;
		json_t *v;
		json_array_foreach(values, i, v)
			sodium_memzero((void *)json_string_value(json_object_get(v, "value")),
				       strlen(json_string_value(json_object_get(v, "value"))));
	}
	json_decref(values);
	free(blob);
	strbuf_release(&aad);
	strbuf_release(&summary);
	policy_release(&p);
	return rc;
}

void approval_install(void)
{
	deployment_set_gate(deployment_gate_approval);
	config_set_gate_hook(config_gate_approval);
}
