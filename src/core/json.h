/* Small helpers between SQLite rows and jansson values. */
#ifndef FERRY_CORE_JSON_H
#define FERRY_CORE_JSON_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#include "lib/error.h"

/* Column col as a JSON string (bytes that are not UTF-8 become U+FFFD), or
 * JSON null if it is NULL. New reference. */
json_t *json_text_or_null(sqlite3_stmt *st, int col);

/* Steps st to its end, appending row(st) for each row to a new array:
 * 0 with *ret, or -1 with e set (the store's error, naming what). Resets
 * st either way. */
int json_rows(sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *st), const char *what, json_t **ret,
	      struct ferr *e);

/* Reads optional members of a request body with type checks. Each returns 0
 * (leaving *ret untouched when the member is absent or null), or -1 with a
 * 400 in e naming the field and the expected type. */
int json_get_string(json_t *obj, const char *key, const char **ret, struct ferr *e);
int json_get_bool(json_t *obj, const char *key, int *ret, struct ferr *e);
int json_get_int(json_t *obj, const char *key, int64_t *ret, struct ferr *e);
/* Like json_get_string but the member must be there. */
int json_need_string(json_t *obj, const char *key, const char **ret, struct ferr *e);
/* Refuses members not in the NULL-terminated list allowed (typos must not
 * pass silently). */
int json_only_keys(json_t *obj, const char *const *allowed, struct ferr *e);

#endif
