/* Unit tests of store/transition's multi-row form, status_update_where,
 * over a small machine of its own and a real SQLite file: for every (from,
 * to) pair the rows its WHERE selects move when the machine allows it and
 * stay when it does not (no error: the count says 0), rows outside the
 * WHERE never move, `only` narrows the previous states, and a status out
 * of range is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "tmp_store.h"
#include "store/transition.h"

/*   new → open → closed → archived
 *       ↘ closed                     */
enum { S_NEW, S_OPEN, S_CLOSED, S_ARCHIVED, S__COUNT };
static const char *const names[S__COUNT] = { "new", "open", "closed", "archived" };
static const unsigned allowed_from[S__COUNT] = {
	[S_OPEN] = STATUS_BIT(S_NEW),
	[S_CLOSED] = STATUS_BIT(S_NEW) | STATUS_BIT(S_OPEN),
	[S_ARCHIVED] = STATUS_BIT(S_CLOSED),
};
static const struct status_machine machine = { "ticket", S__COUNT, names, allowed_from };

static char dir[64], db[128];

static int setup(void **state)
{
	(void)state;
	return tmp_store_open(dir, db, "transition", "CREATE TABLE tickets(id INTEGER PRIMARY KEY, grp INTEGER, status TEXT,"
			      " note TEXT, at TEXT)");
}

static int teardown(void **state)
{
	(void)state;
	return tmp_store_close(dir, db);
}

static void reset_rows(int from)
{
	struct ferr e = FERR_INIT;
	sqlite3_stmt *st;

	assert_int_equal(store_exec("DELETE FROM tickets", &e), 0);
	/* rows 1 and 2 in group 1 (the WHERE's), row 3 in group 2 */
	for (int id = 1; id <= 3; id++) {
		st = store_stmt("INSERT INTO tickets(id, grp, status) VALUES (?, ?, ?)");
		sqlite3_bind_int(st, 1, id);
		sqlite3_bind_int(st, 2, id < 3 ? 1 : 2);
		sqlite3_bind_text(st, 3, names[from], -1, SQLITE_STATIC);
		assert_int_equal(store_run(st, "insert", &e), 0);
	}
}

static void status_of(int id, char out[16], char note[32])
{
	sqlite3_stmt *st = store_stmt("SELECT status, coalesce(note, ''), coalesce(at, '')"
				      " FROM tickets WHERE id = ?");

	sqlite3_bind_int(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, 16, "%s", (const char *)sqlite3_column_text(st, 0));
	if (note)
		snprintf(note, 32, "%s", (const char *)sqlite3_column_text(st, 1));
	sqlite3_reset(st);
}

/* The move of group grp's rows to `to`, narrowed to only. */
static int move_group(int grp, unsigned only, int to, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("UPDATE tickets SET status = ?1, at = ?2, note = ?3"
				      " WHERE grp = ?4 AND instr(?5, ',' || status || ',') > 0");

	sqlite3_bind_int(st, 4, grp);
	return status_update_where(&machine, only, to, "why", st, 0, e);
}

static void test_every_move(void **state)
{
	static const struct { int from, to; } allowed[] = {
		{ S_NEW, S_OPEN }, { S_NEW, S_CLOSED }, { S_OPEN, S_CLOSED }, { S_CLOSED, S_ARCHIVED },
	};
	int nallowed = 0;

	(void)state;
	for (int from = 0; from < S__COUNT; from++) {
		for (int to = 0; to < S__COUNT; to++) {
			struct ferr e = FERR_INIT;
			char now[16], note[32];
			int want = 0;

			for (size_t k = 0; k < sizeof(allowed) / sizeof(allowed[0]); k++)
				want |= allowed[k].from == from && allowed[k].to == to;
			nallowed += want;
			assert_int_equal(status_allowed(&machine, from, to), want);
			reset_rows(from);
			assert_int_equal(move_group(1, STATUS_ANY, to, &e), want ? 2 : 0);
			assert_int_equal(e.status, 0);  /* a refused move is no error */
			for (int id = 1; id <= 2; id++) {
				status_of(id, now, note);
				assert_string_equal(now, names[want ? to : from]);
				assert_string_equal(note, want ? "why" : "");
			}
			status_of(3, now, note);        /* outside the WHERE */
			assert_string_equal(now, names[from]);
			assert_string_equal(note, "");
		}
	}
	assert_int_equal(nallowed, 4);
}

/* Rows in mixed statuses: only those the machine lets reach `to` move. */
static void test_mixed_rows(void **state)
{
	struct ferr e = FERR_INIT;
	sqlite3_stmt *st;
	char now[16];

	(void)state;
	reset_rows(S_NEW);
	st = store_stmt("UPDATE tickets SET status = 'archived' WHERE id = 2");
	assert_int_equal(store_run(st, "set", &e), 0);
	assert_int_equal(move_group(1, STATUS_ANY, S_CLOSED, &e), 1);
	status_of(1, now, NULL);
	assert_string_equal(now, "closed");
	status_of(2, now, NULL);
	assert_string_equal(now, "archived");
}

/* only narrows the previous states: closed is reachable from new, but not
 * when the caller allows only open. */
static void test_only_narrows(void **state)
{
	struct ferr e = FERR_INIT;
	char now[16];

	(void)state;
	reset_rows(S_NEW);
	assert_int_equal(move_group(1, STATUS_BIT(S_OPEN), S_CLOSED, &e), 0);
	status_of(1, now, NULL);
	assert_string_equal(now, "new");
	assert_int_equal(move_group(1, STATUS_BIT(S_NEW), S_CLOSED, &e), 2);
	status_of(1, now, NULL);
	assert_string_equal(now, "closed");
}

static void test_no_such_status(void **state)
{
	struct ferr e = FERR_INIT;
	char now[16];

	(void)state;
	reset_rows(S_NEW);
	assert_int_equal(move_group(1, STATUS_ANY, S__COUNT, &e), -1);
	assert_int_equal(e.status, 500);
	status_of(1, now, NULL);
	assert_string_equal(now, "new");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mixed_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_narrows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_such_status, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
