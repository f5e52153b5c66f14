/* approval: environments whose changes wait for people to agree.
 *
 * An environment may require approval (ferry env update P ENV
 * --require-approval): approvers (role names or token names, default
 * "admin"), how many distinct approvals a change needs (default 1) and how
 * long a request lives (default 24 h). Then a deploy, promote or rollback
 * into it, and a configuration change that takes effect there, creates an
 * approval request instead of a rollout or a new configuration version.
 *
 * A request is pending until enough approvers approve it (then the change
 * it holds is made, as the requester, and the request is "approved" with
 * the deployment it made), one rejects it ("rejected", with the reason),
 * it expires ("expired") or its source changes before it is approved
 * ("invalidated": the promoted deployment is no longer the active one of
 * the source environment, the deployment a rollback replaces no longer
 * serves, a newer build exists for a deploy of the newest build, or the
 * component's configuration changed since a held configuration change).
 * If making the change fails when it is approved, the request is "failed"
 * with the error. The requester never counts as an approver. Every step
 * is in the audit log. Values of a held configuration change are sealed
 * by the vault like configuration values (never stored in plaintext) and
 * never shown.
 */
#ifndef FERRY_APPROVAL_H
#define FERRY_APPROVAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/auth.h"
#include "lib/error.h"

#define APPROVAL_DEFAULT_TTL_S (24 * 3600)
#define APPROVAL_MAX_APPROVERS 16
#define APPROVAL_MAX_COUNT 10

struct env_approval_policy {
	int require;                 /* 0: the other fields are ignored */
	const char *approvers[APPROVAL_MAX_APPROVERS]; /* NULL-terminated; none: "admin" */
	int approvals;               /* 0: keep (default 1) */
	int64_t ttl_s;               /* 0: keep (default 24 h) */
	int set_approvers;           /* approvers given */
};

/* ferry env update P ENV: sets or clears the approval policy of an
 * environment (admins only). *ret is the environment with its "approval"
 * ({"approvers", "approvals", "ttl_s"} or null). */
int env_approval_update(const struct principal *who, const char *project, const char *env,
			const struct env_approval_policy *p, json_t **ret, struct ferr *e);

/* Requests newest first: pending ones only unless all; project NULL:
 * every project who may see. Pending requests past their expiry or whose
 * source changed are marked expired / invalidated first. */
int approval_list(const struct principal *who, const char *project, int all, json_t **ret,
		  struct ferr *e);
int approval_show(const struct principal *who, int64_t id, json_t **ret, struct ferr *e);
/* Approves request id. When it reaches the needed count, makes the change
 * held (as the requester) and *ret carries "deployment" (or "config").
 * 403 for the requester and for tokens that are not approvers; 409 when
 * the request is not pending (expired, invalidated, decided). */
int approval_approve(const struct principal *who, int64_t id, const char *comment, json_t **ret,
		     struct ferr *e);
/* Rejects request id with reason (required). Approvers, and the requester
 * (withdrawing it), may reject. */
int approval_reject(const struct principal *who, int64_t id, const char *reason, json_t **ret,
		    struct ferr *e);

/* The project of request id into out (empty when who cannot see it):
 * for the audit entry of a decision, refused or not. */
void approval_project_of(const struct principal *who, int64_t id, char *out, size_t size);

/* Wires the gates of core/deployment and core/config to approvals; ferryd
 * calls it once at start. */
void approval_install(void);

#endif
