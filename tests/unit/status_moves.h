/* status_moves: the every-move check of a status machine
 * (store/transition.h), shared by the unit tests of builds, executions and
 * jobs. Include after <cmocka.h>, with a store open.
 *
 * check_every_move() sets row id of table to every status in turn (a raw
 * UPDATE) and tries every move through the module's transition: the pairs
 * in allowed[] must move the row (and status_allowed agree), every other
 * pair must answer 409 naming the status it found and leave the row as it
 * was; a missing row answers 404.
 */
#ifndef FERRY_TEST_STATUS_MOVES_H
#define FERRY_TEST_STATUS_MOVES_H

#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "store/transition.h"

struct status_move { int from, to; };

static void status_row(const char *table, int64_t id, const char *set, char out[32])
{
	char sql[128];
	sqlite3_stmt *st;

	if (set)
		snprintf(sql, sizeof(sql), "UPDATE %s SET status = ?2 WHERE id = ?1", table);
	else
		snprintf(sql, sizeof(sql), "SELECT status FROM %s WHERE id = ?1", table);
	assert_int_equal(sqlite3_prepare_v2(store_db(), sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	if (set)
		sqlite3_bind_text(st, 2, set, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), set ? SQLITE_DONE : SQLITE_ROW);
	if (!set)
		snprintf(out, 32, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static void check_every_move(const struct status_machine *m, const char *table, int64_t id,
			     const struct status_move *allowed, size_t nallowed,
			     int (*transition)(int64_t id, int to, struct ferr *e))
{
	size_t moved = 0;

	for (int s = 0; s < m->count; s++)
		assert_int_equal(status_parse(m, status_name(m, s)), s);
	assert_int_equal(status_parse(m, "no-such-status"), -1);
	assert_null(status_name(m, m->count));
	for (int from = 0; from < m->count; from++) {
		for (int to = 0; to < m->count; to++) {
			struct ferr e = FERR_INIT;
			char now[32];
			int want = 0;

			for (size_t k = 0; k < nallowed; k++)
				want |= allowed[k].from == from && allowed[k].to == to;
			moved += (size_t)want;
			assert_int_equal(status_allowed(m, from, to), want);
			status_row(table, id, status_name(m, from), NULL);
			if (want) {
				assert_int_equal(transition(id, to, &e), 0);
				status_row(table, id, NULL, now);
				assert_string_equal(now, status_name(m, to));
			} else {
				assert_int_equal(transition(id, to, &e), -1);
				assert_int_equal(e.status, 409);
				assert_non_null(strstr(e.msg, status_name(m, from)));
				status_row(table, id, NULL, now);
				assert_string_equal(now, status_name(m, from));
			}
		}
	}
	assert_int_equal(moved, nallowed);
	{
		struct ferr e = FERR_INIT;
		assert_int_equal(transition(id + 1000, 0, &e), -1);
		assert_int_equal(e.status, 404);
	}
}

#endif
