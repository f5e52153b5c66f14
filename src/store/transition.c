#include "store/transition.h"

#include <stdio.h>
#include <string.h>

#include "store/reserve.h"
#include "store/store.h"
#include "lib/banned.h"

const char *status_name(const struct status_machine *m, int s)
{
	return s >= 0 && s < m->count ? m->names[s] : NULL;
}

int status_parse(const struct status_machine *m, const char *name)
{
	for (int s = 0; name && s < m->count; s++)
		if (!strcmp(m->names[s], name))
			return s;
	return -1;
}

int status_allowed(const struct status_machine *m, int from, int to)
{
	if (from < 0 || from >= m->count || to < 0 || to >= m->count)
		return 0;
	return (m->allowed_from[to] >> from) & 1;
}

int status_final(const struct status_machine *m, const char *name)
{
	int s = status_parse(m, name);

	if (s < 0)
		return 0;
	for (int to = 0; to < m->count; to++)
		if (status_allowed(m, s, to))
			return 0;
	return 1;
}

void status_from_list(const struct status_machine *m, int to, unsigned only, char *buf,
		      size_t size)
{
	size_t off;

	off = (size_t)snprintf(buf, size, ",");
	for (int s = 0; s < m->count && off < size; s++)
		if (((only >> s) & 1) && status_allowed(m, s, to))
			off += (size_t)snprintf(buf + off, size - off, "%s,", m->names[s]);
}

/* Binds the machine's parameters of update (?1 status, ?2 time, ?3 text,
 * ?5 from list; buffers of the caller's, which must outlive the step) and
 * steps it. Returns the rows changed (>= 0) or -1 with e set; update is
 * reset. */
static int update_step(const struct status_machine *m, unsigned only, int to, const char *text,
		       sqlite3_stmt *update, int essential, char now[32], char from[256],
		       struct ferr *e)
{
	char what[64];
	int rc, changed;

	if (to < 0 || to >= m->count) {
		sqlite3_reset(update);
		return ferr_internal(e, "%s status %d does not exist", m->what, to);
	}
	status_from_list(m, to, only, from, 256);
	store_now(now);
	sqlite3_bind_text(update, 1, m->names[to], -1, SQLITE_STATIC);
	sqlite3_bind_text(update, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(update, 3, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(update, 5, from, -1, SQLITE_STATIC);
	rc = essential ? store_step_essential(update) : sqlite3_step(update);
	changed = rc == SQLITE_DONE ? sqlite3_changes(store_db()) : -1;
	if (rc != SQLITE_DONE) {
		snprintf(what, sizeof(what), "update %s", m->what);
		store_error(e, what);
	}
	sqlite3_reset(update);
	return changed;
}

int status_update(const struct status_machine *m, int64_t id, unsigned only, int to,
		  const char *text, sqlite3_stmt *update, sqlite3_stmt *current, int essential,
		  struct ferr *e)
{
	char what[64], now[32], from[256];
	int rc, changed;

	sqlite3_bind_int64(update, 4, id);
	changed = update_step(m, only, to, text, update, essential, now, from, e);
	if (changed < 0)
		return -1;
	if (changed == 1)
		return 0;
	snprintf(what, sizeof(what), "update %s", m->what);
	sqlite3_bind_int64(current, 1, id);
	rc = sqlite3_step(current);
	if (rc == SQLITE_DONE)
		ferr_notfound(e, "%s %lld not found", m->what, (long long)id);
	else if (rc != SQLITE_ROW)
		store_error(e, what);
	else
		ferr_conflict(e, "%s %lld is %s: it cannot become %s", m->what, (long long)id,
			      (const char *)sqlite3_column_text(current, 0), m->names[to]);
	sqlite3_reset(current);
	return -1;
}

int status_update_where(const struct status_machine *m, unsigned only, int to, const char *text,
			sqlite3_stmt *update, int essential, struct ferr *e)
{
	char now[32], from[256];

	return update_step(m, only, to, text, update, essential, now, from, e);
}
