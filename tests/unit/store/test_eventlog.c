/* Unit tests of store/eventlog against a real SQLite file: lines appended
 * to one owner's log read back in order after an id, with a limit or the
 * log's default, tagged or not, bytes that are not UTF-8 escaped, owners
 * kept apart; a write refused (no such table) names the log; the cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fstree.h"
#include "store/eventlog.h"
#include "store/store.h"

static char dir[64], db[128];

static const struct eventlog plain = EVENTLOG_TABLE("test log", "t_logs", "owner", "text", "line", 3);

static const struct eventlog tagged = {
	.what = "step log",
	.insert_sql = "INSERT INTO t_steps (owner, ts, text, step) VALUES (?1, ?2, ?3, ?4)",
	.read_sql = "SELECT id, ts, text, step FROM t_steps WHERE owner = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
	.text_key = "text",
	.tag_key = "step",
	.default_limit = 100,
};

static const struct eventlog missing = EVENTLOG_TABLE("missing log", "t_logs", "owner", "text", "text", 10);

static int setup(void **state)
{
	struct ferr e = FERR_INIT;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ferry-eventlog-test-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(db, sizeof(db), "%s/ferry.db", dir);
	if (store_open(db, &e) < 0)
		return -1;
	return store_exec("CREATE TABLE t_logs (id INTEGER PRIMARY KEY, owner INTEGER, ts TEXT, text TEXT);"
			  "CREATE TABLE t_steps (id INTEGER PRIMARY KEY, owner INTEGER, ts TEXT, step TEXT,"
			  " text TEXT);", &e);
}

static int teardown(void **state)
{
	(void)state;
	store_close();
	return fstree_remove(dir);
}

static const char *text_at(json_t *arr, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(arr, i), key));
}

static void test_append_and_read_after(void **state)
{
	struct ferr e = FERR_INIT;
	char line[16];
	json_t *arr = NULL;
	int64_t second;

	(void)state;
	for (int i = 0; i < 5; i++) {
		snprintf(line, sizeof(line), "line %d", i);
		assert_int_equal(eventlog_append(&plain, 7, NULL, line, strlen(line), &e), 0);
		assert_int_equal(eventlog_append(&plain, 8, NULL, "other", 5, &e), 0);
	}
	/* the default limit, oldest first, this owner only */
	assert_int_equal(eventlog_read(&plain, 7, 0, 0, &arr, &e), 0);
	assert_int_equal(json_array_size(arr), 3);
	assert_string_equal(text_at(arr, 0, "line"), "line 0");
	assert_string_equal(text_at(arr, 2, "line"), "line 2");
	assert_non_null(text_at(arr, 0, "ts"));
	second = json_integer_value(json_object_get(json_array_get(arr, 1), "id"));
	json_decref(arr);
	/* after an id, with a limit */
	assert_int_equal(eventlog_read(&plain, 7, second, 10, &arr, &e), 0);
	assert_int_equal(json_array_size(arr), 3);
	assert_string_equal(text_at(arr, 0, "line"), "line 2");
	assert_string_equal(text_at(arr, 2, "line"), "line 4");
	json_decref(arr);
	/* nothing after the last */
	assert_int_equal(eventlog_read(&plain, 9, 0, 10, &arr, &e), 0);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
}

static void test_tagged_and_binary(void **state)
{
	static const char bad[] = { 'o', 'k', ' ', (char)0xff, ' ', 'x' };
	struct ferr e = FERR_INIT;
	json_t *arr = NULL;
	char *dump;

	(void)state;
	assert_int_equal(eventlog_append(&tagged, 1, "checkout", "cloned", 6, &e), 0);
	assert_int_equal(eventlog_append(&tagged, 1, "image", bad, sizeof(bad), &e), 0);
	assert_int_equal(eventlog_read(&tagged, 1, 0, 0, &arr, &e), 0);
	assert_int_equal(json_array_size(arr), 2);
	assert_string_equal(text_at(arr, 0, "step"), "checkout");
	assert_string_equal(text_at(arr, 0, "text"), "cloned");
	assert_string_equal(text_at(arr, 1, "step"), "image");
	assert_non_null(text_at(arr, 1, "text")); /* escaped, still a string */
	assert_int_equal(strncmp(text_at(arr, 1, "text"), "ok ", 3), 0);
	/* the keys in the order the logs always had: id, ts, step, text */
	dump = json_dumps(json_array_get(arr, 0), JSON_COMPACT);
	assert_non_null(strstr(dump, "\"step\":\"checkout\",\"text\":\"cloned\""));
	free(dump);
	json_decref(arr);
}

static void test_errors_name_the_log(void **state)
{
	struct ferr e = FERR_INIT;

	(void)state;
	/* a table that refuses the row (its CHECK): the error names the log */
	assert_int_equal(store_exec("DROP TABLE t_logs", &e), 0);
	assert_int_equal(store_exec("CREATE TABLE t_logs (id INTEGER PRIMARY KEY, owner INTEGER NOT NULL"
				    " CHECK (owner > 0), ts TEXT, text TEXT)", &e), 0);
	assert_int_equal(eventlog_append(&missing, -1, NULL, "x", 1, &e), -1);
	assert_non_null(strstr(e.msg, "write: missing log"));
}

static void test_cap(void **state)
{
	struct eventlog_cap c = EVENTLOG_CAP(10);

	(void)state;
	assert_int_equal(eventlog_cap_take(&c, 4), 1);
	assert_int_equal(eventlog_cap_take(&c, 6), 1);   /* exactly full */
	assert_int_equal(c.used, 10);
	assert_int_equal(eventlog_cap_take(&c, 1), 0);   /* the first over: write the marker */
	assert_int_equal(eventlog_cap_take(&c, 1), -1);  /* then nothing */
	assert_int_equal(eventlog_cap_take(&c, 0), 1);   /* an empty line still fits, as before */
	assert_int_equal(c.used, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_read_after),
		cmocka_unit_test(test_tagged_and_binary),
		cmocka_unit_test(test_errors_name_the_log),
		cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
