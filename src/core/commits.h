/* commits: the commits of a component's branch, as `ferry commits` shows. */
#ifndef FERRY_COMMITS_H
#define FERRY_COMMITS_H

#include <jansson.h>

#include "core/auth.h"
#include "lib/error.h"

/* Fetches the component's mirror, then lists up to limit commits of its
 * branch newest first (limit 0: 50; at most 1000) as an array of {sha,
 * author, email, time, message}. Errors: 404 unknown component or branch,
 * 502 with the remote's message when the repository cannot be reached. */
int commits_list(const struct principal *who, const char *project, const char *component,
		 int limit, json_t **ret, struct ferr *e);

#endif
