/* Roles and the access checks; see access.h. */
#include "core/access.h"

#include <string.h>

#include "lib/banned.h"

static const char *const roles[] = { "viewer", "developer", "admin" };

const char *role_name(enum role r)
{
	return roles[r];
}

int role_parse(const char *s, enum role *ret, struct ferr *e)
{
	for (int i = 0; i < 3; i++)
		if (s && !strcmp(s, roles[i])) {
			*ret = (enum role)i;
			return 0;
		}
	return ferr_invalid(e, "role \"%s\" is not one of admin, developer, viewer", s ? s : "");
}

int auth_require_write(const struct principal *who, struct ferr *e)
{
	if (who->role < ROLE_DEVELOPER)
		return ferr_forbidden(e, "token \"%s\" has the viewer role, which can only read", who->name);
	return 0;
}

int auth_require_admin(const struct principal *who, struct ferr *e)
{
	if (who->role < ROLE_ADMIN)
		return ferr_forbidden(e, "token \"%s\" has the %s role: this needs an admin token",
				      who->name, role_name(who->role));
	return 0;
}

int auth_require_project(const struct principal *who, int64_t project_id,
			 const char *what, struct ferr *e)
{
	if (who->project_id && who->project_id != project_id)
		return ferr_notfound(e, "project \"%s\" not found", what);
	return 0;
}
