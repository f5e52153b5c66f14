/* access: who is asking (a principal: role and project scope) and the
 * checks every operation makes of it. A leaf: the lookups (core/lookup.h)
 * and every operation build on it; the tokens that carry a principal are
 * core/auth.h.
 */
#ifndef FERRY_ACCESS_H
#define FERRY_ACCESS_H

#include <stdint.h>

#include "lib/error.h"

enum role { ROLE_VIEWER = 0, ROLE_DEVELOPER = 1, ROLE_ADMIN = 2 };

struct principal {
	int64_t token_id;
	char name[64];
	enum role role;
	int64_t project_id; /* 0: every project */
};

const char *role_name(enum role r);
/* Parses "admin", "developer", "viewer". Returns -1 with e set otherwise. */
int role_parse(const char *s, enum role *ret, struct ferr *e);

/* Access checks: 0 if allowed, else -1 with e set. */
int auth_require_write(const struct principal *who, struct ferr *e);   /* not a viewer */
int auth_require_admin(const struct principal *who, struct ferr *e);
/* 0 if who may see project_id; else 404 naming what (as if it did not exist). */
int auth_require_project(const struct principal *who, int64_t project_id,
			 const char *what, struct ferr *e);

#endif
