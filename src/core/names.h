/* names: validation of the names users give things. */
#ifndef FERRY_NAMES_H
#define FERRY_NAMES_H

#include "lib/error.h"

/* A DNS label: 1-63 of [a-z0-9-], not starting or ending with '-'.
 * what ("project name") starts the error message. */
int name_check_label(const char *what, const char *s, struct ferr *e);

/* An environment variable name: [A-Za-z_][A-Za-z0-9_]*, at most 255. */
int name_check_env_key(const char *what, const char *s, struct ferr *e);

#endif
