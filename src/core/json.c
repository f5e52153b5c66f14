#include "json.h"

#include <string.h>

#include "lib/jsontext.h"
#include "store/store.h"
#include "lib/banned.h"

json_t *json_text_or_null(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	/* Stored text may come from tools and repositories: never lose a row
	 * to bytes that are not UTF-8. */
	return json_text((const char *)sqlite3_column_text(st, col), (size_t)sqlite3_column_bytes(st, col));
}

static json_t *member(json_t *obj, const char *key)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;
	return json_is_null(v) ? NULL : v;
}

int json_get_string(json_t *obj, const char *key, const char **ret, struct ferr *e)
{
	json_t *v = member(obj, key);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return ferr_invalid(e, "field \"%s\" must be a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return ferr_invalid(e, "field \"%s\" must not contain NUL characters", key);
	*ret = json_string_value(v);
	return 0;
}

int json_need_string(json_t *obj, const char *key, const char **ret, struct ferr *e)
{
	const char *s = NULL;

	if (json_get_string(obj, key, &s, e) < 0)
		return -1;
	if (!s)
		return ferr_invalid(e, "field \"%s\" is required", key);
	*ret = s;
	return 0;
}

int json_get_bool(json_t *obj, const char *key, int *ret, struct ferr *e)
{
	json_t *v = member(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return ferr_invalid(e, "field \"%s\" must be true or false", key);
	*ret = json_is_true(v);
	return 0;
}

int json_get_int(json_t *obj, const char *key, int64_t *ret, struct ferr *e)
{
	json_t *v = member(obj, key);

	if (!v)
		return 0;
	if (!json_is_integer(v))
		return ferr_invalid(e, "field \"%s\" must be an integer", key);
	*ret = json_integer_value(v);
	return 0;
}

int json_only_keys(json_t *obj, const char *const *allowed, struct ferr *e)
{
	const char *key;
	json_t *v;

	if (!obj)
		return 0;
	json_object_foreach(obj, key, v) {
		int ok = 0;
		(void)v;
		for (const char *const *a = allowed; *a; a++)
			if (!strcmp(*a, key))
				ok = 1;
		if (!ok)
			return ferr_invalid(e, "unknown field \"%s\"", key);
	}
	return 0;
}

int json_rows(sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *st), const char *what, json_t **ret,
	      struct ferr *e)
{
	json_t *arr = json_array();
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, row(st));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return store_error(e, what);
	}
	*ret = arr;
	return 0;
}
