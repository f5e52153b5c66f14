/* eventlog: an append-only log of text lines belonging to one object: a
 * build's step logs, a deployment's rollout log, a job's log, an
 * execution's output. One row per line, so a follower reads after the last
 * id it saw; a writer may cap what one object's log holds.
 *
 * Each kind describes its table once (struct eventlog, a static constant in
 * the module that owns the log); this module appends, reads and caps for
 * all of them. The SQL is given as string literals because store_stmt
 * caches statements by their pointer.
 */
#ifndef FERRY_STORE_EVENTLOG_H
#define FERRY_STORE_EVENTLOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

struct eventlog {
	const char *what;        /* "build log": names the log in errors */
	/* INSERT binding ?1 the owner's id, ?2 the time (RFC 3339), ?3 the
	 * text and, when the table has one, ?4 the tag (a build's step). */
	const char *insert_sql;
	/* SELECT id, ts, text[, tag] ... WHERE <owner> = ?1 AND id > ?2
	 * ORDER BY id LIMIT ?3 */
	const char *read_sql;
	const char *text_key;    /* the JSON key of the text: "text", "line" */
	const char *tag_key;     /* the JSON key of the tag ("step"), or NULL: none */
	int default_limit;       /* lines read when the caller asks for 0 or fewer */
};

/* The description of an untagged log: table (owner column, id, ts and
 * text column), its JSON key and default limit, as string literals. */
#define EVENTLOG_TABLE(what_, table, owner, column, key, limit)                              \
	{ .what = (what_),                                                                   \
	  .insert_sql = "INSERT INTO " table " (" owner ", ts, " column ") VALUES (?1, ?2, ?3)", \
	  .read_sql = "SELECT id, ts, " column " FROM " table " WHERE " owner " = ?1"           \
		      " AND id > ?2 ORDER BY id LIMIT ?3",                                     \
	  .text_key = (key), .tag_key = NULL, .default_limit = (limit) }

/* Appends one line (len bytes of text; tag only for a log with one) stamped
 * now. Returns 0, or -1 with e set (store_error: a full disk is 507). */
int eventlog_append(const struct eventlog *l, int64_t owner, const char *tag, const char *text,
		    size_t len, struct ferr *e);

/* Up to limit lines (<= 0: l->default_limit) of owner's log after line id
 * after, oldest first, as [{"id", "ts", text_key[, tag_key]}] (text that
 * is not UTF-8 is escaped, lib/jsontext). Returns 0 with *ret (new
 * reference) or -1 with e set. */
int eventlog_read(const struct eventlog *l, int64_t owner, int64_t after, int limit, json_t **ret,
		  struct ferr *e);

/* A writer's cap on one log: max bytes, counted as the writer decides
 * (a line's length, or with its newline). */
struct eventlog_cap {
	size_t max;
	size_t used;
	int over;
};
#define EVENTLOG_CAP(max) { (max), 0, 0 }

/* Takes cost bytes from the cap. Returns 1 when they fit (counted), 0 the
 * first time they do not (the writer then appends its "truncated" line),
 * -1 every later time (nothing more is stored). */
int eventlog_cap_take(struct eventlog_cap *c, size_t cost);

#endif
