/* Append-only logs of text lines; see eventlog.h. */
#include "store/eventlog.h"

#include <stdio.h>

#include "lib/jsontext.h"
#include "store/store.h"
#include "lib/banned.h"

int eventlog_append(const struct eventlog *l, int64_t owner, const char *tag, const char *text,
		    size_t len, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(l->insert_sql);
	char now[32];

	store_now(now);
	sqlite3_bind_int64(st, 1, owner);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, text, (int)len, SQLITE_STATIC);
	if (l->tag_key)
		sqlite3_bind_text(st, 4, tag, -1, SQLITE_STATIC);
	if (store_run(st, l->what, e) < 0)
		return ferr_prefix(e, "write");
	return 0;
}

int eventlog_read(const struct eventlog *l, int64_t owner, int64_t after, int limit, json_t **ret,
		  struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(l->read_sql);
	json_t *arr = json_array();
	int rc;

	sqlite3_bind_int64(st, 1, owner);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int(st, 3, limit > 0 ? limit : l->default_limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = json_pack("{s:I, s:s}", "id", (json_int_t)sqlite3_column_int64(st, 0),
					"ts", sqlite3_column_text(st, 1));
		/* the tag first: the order the logs always had */
		if (l->tag_key)
			json_object_set_new(row, l->tag_key, json_string((const char *)sqlite3_column_text(st, 3)));
		json_object_set_new(row, l->text_key, json_text((const char *)sqlite3_column_text(st, 2),
								 (size_t)sqlite3_column_bytes(st, 2)));
		json_array_append_new(arr, row);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		char what[96];

		json_decref(arr);
		snprintf(what, sizeof(what), "read %s", l->what);
		return store_error(e, what);
	}
	*ret = arr;
	return 0;
}

int eventlog_cap_take(struct eventlog_cap *c, size_t cost)
{
	if (c->used + cost <= c->max) {
		c->used += cost;
		return 1;
	}
	if (c->over)
		return -1;
	c->over = 1;
	return 0;
}
