/* lookup: projects, environments and components by name (or a
 * component's project by id), as who may see them. A leaf of core: every
 * module that turns the names of a request into ids uses it, and it uses
 * nothing of core but core/access.h.
 */
#ifndef FERRY_LOOKUP_H
#define FERRY_LOOKUP_H

#include <stdint.h>

#include "core/access.h"
#include "lib/error.h"

/* Finds project name as who may see it. 404 if absent or out of scope. */
int project_lookup(const struct principal *who, const char *name, int64_t *ret_id,
		   struct ferr *e);

/* Environment id by name within a project (no access check: callers have
 * done project_lookup). 404 if absent. */
int env_lookup(int64_t project_id, const char *name, int64_t *ret_id, struct ferr *e);

/* Component id by project and name as who may see it (404 otherwise). */
int component_lookup(const struct principal *who, const char *project, const char *name,
		     int64_t *ret_project_id, int64_t *ret_id, struct ferr *e);

/* The project of component component_id (no access check). 404 if the
 * component does not exist. */
int component_project_id(int64_t component_id, int64_t *ret, struct ferr *e);

#endif
