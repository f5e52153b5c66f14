/* Unit tests of pipeline/osv: CVSS 3.x base scores, severity rules,
 * OSV range semantics (introduced / fixed / last_affected / limit, several
 * intervals, unsorted events, versions lists), duplicates and withdrawn
 * records, and loading a directory with subdirectories, arrays, a zip
 * export and a file that is not OSV (tests/unit/pipeline/data/vuln/osvdb). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/osv.h"

#include "lib/banned.h"

#ifndef DATA_DIR
#error "DATA_DIR must name tests/unit/pipeline/data/vuln"
#endif

static void test_cvss3(void **state)
{
	static const struct { const char *v; double score; } rows[] = {
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8 },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0 },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5 },
		{ "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8 },
		{ "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1 },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1 },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", 5.3 },
		{ "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2 },
		{ "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6 },
		{ "CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4 },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0 },
		/* temporal metrics and any order are fine */
		{ "CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N/E:P/RL:O", 9.8 },
		/* not a complete 3.x base vector */
		{ "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P", -1 },
		{ "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", -1 },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", -1 },
		{ "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", -1 },
		{ "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", -1 },
		{ "CVSS:3.1/", -1 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		double got = osv_cvss3_base_score(rows[i].v);
		if (fabs(got - rows[i].score) > 1e-9)
			fail_msg("%s: %.1f, want %.1f", rows[i].v, got, rows[i].score);
	}
	assert_int_equal(osv_severity_from_score(9.0), OSV_SEV_CRITICAL);
	assert_int_equal(osv_severity_from_score(8.9), OSV_SEV_HIGH);
	assert_int_equal(osv_severity_from_score(7.0), OSV_SEV_HIGH);
	assert_int_equal(osv_severity_from_score(4.0), OSV_SEV_MEDIUM);
	assert_int_equal(osv_severity_from_score(0.1), OSV_SEV_LOW);
	assert_int_equal(osv_severity_from_score(0.0), OSV_SEV_UNKNOWN);
	assert_int_equal(osv_severity_from_word("MODERATE"), OSV_SEV_MEDIUM);
	assert_int_equal(osv_severity_from_word("important"), OSV_SEV_HIGH);
	assert_int_equal(osv_severity_from_word("not yet assigned"), OSV_SEV_UNKNOWN);
	assert_int_equal(osv_severity_from_word("9.1"), OSV_SEV_CRITICAL);
	assert_string_equal(osv_severity_name(OSV_SEV_UNKNOWN), "UNKNOWN");
}

static void test_ecosystems(void **state)
{
	const char *fam, *rel;
	size_t rl;
	(void)state;

	assert_true(osv_ecosystem_parse("Debian:12", &fam, &rel, &rl));
	assert_string_equal(fam, "Debian");
	assert_int_equal(rl, 2);
	assert_memory_equal(rel, "12", 2);
	assert_true(osv_ecosystem_parse("Debian", &fam, &rel, &rl));
	assert_null(rel);
	assert_true(osv_ecosystem_parse("Ubuntu:22.04:LTS", &fam, &rel, &rl));
	assert_string_equal(fam, "Ubuntu");
	assert_int_equal(rl, 5);
	assert_false(osv_ecosystem_parse("Ubuntu:Pro:18.04:LTS", &fam, &rel, &rl));
	assert_true(osv_ecosystem_parse("Alpine:v3.18", &fam, &rel, &rl));
	assert_true(osv_ecosystem_parse("crates.io", &fam, &rel, &rl));
	assert_false(osv_ecosystem_parse("Maven", &fam, &rel, &rl));
	assert_false(osv_ecosystem_parse("DebianX", &fam, &rel, &rl));
}

/* Adds one record given as JSON text. */
static int add(struct osv_index *ix, const char *json)
{
	struct ferr e = FERR_INIT;
	int r = osv_index_add_buffer(ix, json, strlen(json), "test.json", &e);

	if (r < 0)
		print_message("add: %s\n", e.msg);
	return r;
}

static const struct osv_affected *one(struct osv_index *ix, const char *fam, const char *name)
{
	const struct osv_affected *a;

	osv_index_finish(ix);
	assert_int_equal(osv_index_lookup(ix, fam, name, &a), 1);
	return a;
}

static void expect_match(const struct osv_affected *a, const char *v, bool want, const char *fixed)
{
	const char *got = "unset";
	bool m = osv_affected_match(a, v, &got);

	if (m != want)
		fail_msg("%s: match %d, want %d", v, m, want);
	if (m && (fixed ? !got || strcmp(got, fixed) : got != NULL))
		fail_msg("%s: fixed %s, want %s", v, got ? got : "NULL", fixed ? fixed : "NULL");
}

static void test_ranges(void **state)
{
	struct osv_index *ix = osv_index_new();
	const struct osv_affected *a;
	(void)state;

	/* two intervals, events given out of order */
	assert_int_equal(add(ix, "{\"id\":\"R-1\",\"affected\":[{\"package\":{\"ecosystem\":\"npm\","
	    "\"name\":\"p\"},\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"2.0.0\"},"
	    "{\"fixed\":\"2.3.1\"},{\"introduced\":\"0\"},{\"fixed\":\"1.4.0\"}]}]}]}"), 1);
	a = one(ix, "npm", "p");
	expect_match(a, "0.0.1", true, "1.4.0");
	expect_match(a, "1.3.9", true, "1.4.0");
	expect_match(a, "1.4.0-rc.1", true, "1.4.0");
	expect_match(a, "1.4.0", false, NULL);
	expect_match(a, "1.9.9", false, NULL);
	expect_match(a, "2.0.0-beta", false, NULL);
	expect_match(a, "2.0.0", true, "2.3.1");
	expect_match(a, "2.3.1", false, NULL);
	expect_match(a, "3.0.0", false, NULL);
	osv_index_free(ix);

	/* last_affected: the end version itself is affected, no fix known */
	ix = osv_index_new();
	assert_int_equal(add(ix, "{\"id\":\"R-2\",\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\","
	    "\"name\":\"src\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"1:1.0-1\"},"
	    "{\"last_affected\":\"1:1.2-1\"}]}]}]}"), 1);
	a = one(ix, "Debian", "src");
	expect_match(a, "1.5-1", false, NULL);         /* epoch 0 < epoch 1 */
	expect_match(a, "1:1.0-1", true, NULL);
	expect_match(a, "1:1.2-1", true, NULL);
	expect_match(a, "1:1.2-1+b1", false, NULL);
	expect_match(a, "1:1.2~rc1-1", true, NULL);
	osv_index_free(ix);

	/* limit, PyPI normalisation of names, PEP 440 ordering */
	ix = osv_index_new();
	assert_int_equal(add(ix, "{\"id\":\"R-3\",\"affected\":[{\"package\":{\"ecosystem\":\"PyPI\","
	    "\"name\":\"Zope.Interface\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":["
	    "{\"introduced\":\"1.0\"},{\"limit\":\"2.0\"}]}]}]}"), 1);
	a = one(ix, "PyPI", "zope-interface");
	expect_match(a, "1.0rc1", false, NULL);
	expect_match(a, "1.0", true, NULL);
	expect_match(a, "1.9.post1", true, NULL);
	expect_match(a, "2.0.dev1", true, NULL);
	expect_match(a, "2.0", false, NULL);
	a = one(ix, "PyPI", "zope_interface");
	osv_index_free(ix);

	/* versions[] only, and a GIT range that is ignored */
	ix = osv_index_new();
	assert_int_equal(add(ix, "{\"id\":\"R-4\",\"affected\":[{\"package\":{\"ecosystem\":\"Go\","
	    "\"name\":\"example.com/m\"},\"versions\":[\"1.0.0\",\"1.1.0\"],\"ranges\":[{\"type\":\"GIT\","
	    "\"repo\":\"x\",\"events\":[{\"introduced\":\"0\"}]}]}]}"), 1);
	a = one(ix, "Go", "example.com/m");
	expect_match(a, "v1.1.0", true, NULL);
	expect_match(a, "v1.0.1", false, NULL);
	osv_index_free(ix);
}

static void test_records(void **state)
{
	struct osv_index *ix = osv_index_new();
	const struct osv_affected *a;
	struct ferr e = FERR_INIT;
	(void)state;

	/* withdrawn, unsupported ecosystem, no versions: skipped */
	assert_int_equal(add(ix, "{\"id\":\"W\",\"withdrawn\":\"2024-01-01T00:00:00Z\",\"affected\":[{"
	    "\"package\":{\"ecosystem\":\"npm\",\"name\":\"w\"},\"versions\":[\"1.0.0\"]}]}"), 0);
	assert_int_equal(add(ix, "{\"id\":\"M\",\"affected\":[{\"package\":{\"ecosystem\":\"Maven\","
	    "\"name\":\"m\"},\"versions\":[\"1.0\"]}]}"), 0);
	assert_int_equal(add(ix, "{\"id\":\"N\",\"affected\":[{\"package\":{\"ecosystem\":\"npm\","
	    "\"name\":\"n\"}}]}"), 0);
	assert_int_equal(osv_index_count(ix), 0);
	/* not OSV */
	assert_int_equal(osv_index_add_buffer(ix, "{\"affected\":[]}", 15, "x.json", &e), -1);
	assert_non_null(strstr(e.msg, "x.json"));
	ferr_clear(&e);
	assert_int_equal(osv_index_add_buffer(ix, "{", 1, "y.json", &e), -1);
	assert_non_null(strstr(e.msg, "y.json:1"));

	/* the same id twice: the newer "modified" wins, whichever comes first */
	assert_int_equal(add(ix, "{\"id\":\"D\",\"modified\":\"2024-02-01T00:00:00Z\",\"summary\":\"new\","
	    "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"d\"},\"versions\":[\"2.0.0\"]}]}"), 1);
	assert_int_equal(add(ix, "{\"id\":\"D\",\"modified\":\"2023-01-01T00:00:00Z\",\"summary\":\"old\","
	    "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"d\"},\"versions\":[\"1.0.0\"]}]}"), 0);
	assert_int_equal(add(ix, "{\"id\":\"D\",\"modified\":\"2024-03-01T00:00:00Z\",\"summary\":\"newest\","
	    "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"d\"},\"versions\":[\"3.0.0\"]}]}"), 1);
	assert_int_equal(osv_index_count(ix), 1);
	a = one(ix, "npm", "d");
	assert_string_equal(a->rec->title, "newest");
	assert_true(osv_affected_match(a, "3.0.0", NULL));
	assert_false(osv_affected_match(a, "2.0.0", NULL));

	/* severity precedence: affected-level word > record word > CVSS >
	 * urgency; the title falls back to the first line of details */
	assert_int_equal(add(ix, "{\"id\":\"S1\",\"details\":\"line one\\nline two\","
	    "\"database_specific\":{\"severity\":\"LOW\"},"
	    "\"severity\":[{\"type\":\"CVSS_V3\",\"score\":\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\"}],"
	    "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"s1\"},\"versions\":[\"1.0.0\"],"
	    "\"ecosystem_specific\":{\"severity\":\"HIGH\"}},"
	    "{\"package\":{\"ecosystem\":\"npm\",\"name\":\"s1b\"},\"versions\":[\"1.0.0\"]}]}"), 1);
	assert_int_equal(add(ix, "{\"id\":\"S2\",\"severity\":[{\"type\":\"CVSS_V3\",\"score\":"
	    "\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N\"},{\"type\":\"CVSS_V3\",\"score\":"
	    "\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N\"}],"
	    "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"s2\"},\"versions\":[\"1.0.0\"],"
	    "\"ecosystem_specific\":{\"urgency\":\"low\"}}]}"), 1);
	assert_int_equal(add(ix, "{\"id\":\"S3\",\"severity\":[{\"type\":\"Ubuntu\",\"score\":\"medium\"}],"
	    "\"affected\":[{\"package\":{\"ecosystem\":\"Ubuntu:22.04:LTS\",\"name\":\"s3\"},\"versions\":[\"1.0\"]}]}"), 1);
	assert_int_equal(add(ix, "{\"id\":\"S4\",\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\","
	    "\"name\":\"s4\"},\"versions\":[\"1.0\"],\"ecosystem_specific\":{\"urgency\":\"high\"}}]}"), 1);
	assert_int_equal(add(ix, "{\"id\":\"S5\",\"affected\":[{\"package\":{\"ecosystem\":\"npm\","
	    "\"name\":\"s5\"},\"versions\":[\"1.0.0\"]}]}"), 1);
	assert_int_equal(one(ix, "npm", "s1")->severity, OSV_SEV_HIGH);
	assert_string_equal(one(ix, "npm", "s1")->rec->title, "line one");
	assert_int_equal(one(ix, "npm", "s1b")->severity, OSV_SEV_LOW);
	assert_int_equal(one(ix, "npm", "s2")->severity, OSV_SEV_HIGH);   /* highest vector: 7.5 */
	assert_int_equal(one(ix, "Ubuntu", "s3")->severity, OSV_SEV_MEDIUM);
	assert_int_equal(one(ix, "Debian", "s4")->severity, OSV_SEV_HIGH);
	assert_int_equal(one(ix, "npm", "s5")->severity, OSV_SEV_UNKNOWN);
	assert_string_equal(one(ix, "npm", "s5")->rec->title, "S5");
	assert_int_equal(osv_index_lookup(ix, "npm", "nothing", &a), 0);
	osv_index_free(ix);
}

static void test_load_dir(void **state)
{
	struct osv_index *ix = osv_index_new();
	struct ferr e = FERR_INIT;
	const struct osv_affected *a;
	char msg[256];
	(void)state;

	assert_int_equal(osv_index_load_dir(ix, DATA_DIR "/osvdb", &e), 0);
	/* 5 Debian (1 withdrawn) + 1 npm + 2 PyPI (one array) + 1 crates.io
	 * + 1 Alpine + 2 Go (from all.zip) */
	assert_int_equal(osv_index_count(ix), 11);
	assert_int_equal(osv_index_invalid(ix, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "broken.json"));
	assert_int_equal(osv_index_lookup(ix, "Go", "golang.org/x/net", &a), 1);
	assert_string_equal(a->rec->id, "GO-2023-2102");
	assert_int_equal(a->rec->naliases, 2);
	assert_int_equal(osv_index_lookup(ix, "Debian", "glibc", &a), 2);
	assert_int_equal(osv_index_lookup(ix, "Debian", "zlib", &a), 1);
	osv_index_free(ix);

	/* a missing directory is an empty database */
	ix = osv_index_new();
	assert_int_equal(osv_index_load_dir(ix, DATA_DIR "/no-such-dir", &e), 0);
	assert_int_equal(osv_index_count(ix), 0);
	osv_index_free(ix);

	/* a file that is not a zip */
	ix = osv_index_new();
	assert_int_equal(osv_index_add_zip(ix, DATA_DIR "/go.sum", &e), -1);
	assert_non_null(strstr(e.msg, "not a zip"));
	osv_index_free(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cvss3),
		cmocka_unit_test(test_ecosystems),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_load_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
