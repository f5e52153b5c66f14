/* audit: who changed what, when, with what result. */
#ifndef FERRY_AUDIT_H
#define FERRY_AUDIT_H

#include <jansson.h>

#include "core/auth.h"
#include "lib/error.h"

/* Records one change. who may be NULL (an unauthenticated delivery, e.g. a
 * webhook: actor is then given in actor). object names the thing changed
 * ("project/app", "token 3"); project may be NULL. result is "ok" or the
 * error message. Never pass tokens or secret values. Failures to record are
 * logged, not returned: a change that happened must not report failure. */
void audit_record(const struct principal *who, const char *actor, const char *action,
		  const char *object, const char *project, int status, const char *result);

/* Entries newest first, at most limit, optionally for one project. Admins
 * only; a project-scoped admin sees only its project's entries. */
int audit_list(const struct principal *who, const char *project, int limit, json_t **ret,
	       struct ferr *e);

#endif
