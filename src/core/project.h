/* project: projects and their ordered line of environments. */
#ifndef FERRY_PROJECT_H
#define FERRY_PROJECT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/auth.h"
#include "core/lookup.h"
#include "lib/error.h"

#define PROJECT_MAX_ENVS 16

/* Creates a project with the given environments in promotion order (the
 * last is the production one); envs NULL or n 0 means development,
 * production. Admin only. *ret is the project as project_show gives it. */
int project_create(const struct principal *who, const char *name,
		   const char *const *envs, size_t n, json_t **ret, struct ferr *e);
int project_list(const struct principal *who, json_t **ret, struct ferr *e);
int project_show(const struct principal *who, const char *name, json_t **ret, struct ferr *e);

/* Environments in promotion order. */
int env_list(const struct principal *who, const char *project, json_t **ret, struct ferr *e);
/* Inserts env name right after env after (admin only). The production
 * environment ends the line: nothing can be added after it. */
int env_add(const struct principal *who, const char *project, const char *name,
	    const char *after, json_t **ret, struct ferr *e);

#endif
