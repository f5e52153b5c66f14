/* The scan's policy and report: severities, fail-on levels, ignore files
 * (Trivy's format), and the external scanners' JSON merged in. The trivy and
 * grype samples under data/scan/ follow those tools' documented output
 * (neither tool is in Debian). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "pipeline/scan.h"
#include "testfs.h"

#ifndef DATA_DIR
#error "DATA_DIR must name tests/unit/pipeline/data"
#endif

static json_t *f(const char *id, const char *sev, const char *alias)
{
	return json_pack("{s:s, s:s, s:s, s:[s*], s:s, s:s}", "id", id, "severity", sev, "title", "t",
			 "aliases", alias, "where", "w", "type", "vulnerability");
}

static json_t *sample(void)
{
	return json_pack("[o, o, o, o, o]", f("A-LOW", "LOW", NULL), f("A-CRIT", "CRITICAL", "CVE-1"),
			 f("A-MED", "MEDIUM", NULL), f("A-HIGH", "HIGH", NULL), f("A-UNK", "UNKNOWN", NULL));
}

static void levels(void **state)
{
	(void)state;
	assert_int_equal(scan_severity_level("critical"), SCAN_CRITICAL);
	assert_int_equal(scan_severity_level("Low"), SCAN_LOW);
	assert_int_equal(scan_severity_level("severe"), -1);
	assert_int_equal(scan_fail_on_parse("never"), SCAN_NEVER);
	assert_int_equal(scan_fail_on_parse("HIGH"), SCAN_HIGH);
	assert_int_equal(scan_fail_on_parse("unknown"), -1);
	assert_string_equal(scan_fail_on_name(SCAN_MEDIUM), "medium");
	assert_string_equal(scan_severity_name(SCAN_HIGH), "HIGH");
}

static void policy(void **state)
{
	json_t *r;
	(void)state;

	r = scan_report_make(sample(), NULL, SCAN_CRITICAL, NULL);
	assert_false(json_is_true(json_object_get(r, "passed")));
	assert_int_equal(json_integer_value(json_object_get(r, "blocking")), 1);
	assert_non_null(strstr(json_string_value(json_object_get(r, "reason")), "A-CRIT"));
	/* sorted most severe first */
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "findings"), 0), "id")), "A-CRIT");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "findings"), 4), "id")), "A-UNK");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "summary"), "MEDIUM")), 1);
	json_decref(r);
	/* high counts HIGH and CRITICAL; low everything known; UNKNOWN never blocks */
	r = scan_report_make(sample(), NULL, SCAN_HIGH, NULL);
	assert_int_equal(json_integer_value(json_object_get(r, "blocking")), 2);
	json_decref(r);
	r = scan_report_make(sample(), NULL, SCAN_LOW, NULL);
	assert_int_equal(json_integer_value(json_object_get(r, "blocking")), 4);
	json_decref(r);
	r = scan_report_make(sample(), NULL, SCAN_NEVER, NULL);
	assert_true(json_is_true(json_object_get(r, "passed")));
	assert_true(json_is_null(json_object_get(r, "reason")));
	assert_string_equal(json_string_value(json_object_get(r, "fail_on")), "never");
	json_decref(r);
}

static void ignore_files(void **state)
{
	struct scan_ignore ig = SCAN_IGNORE_INIT;
	static const char trivy[] =
		"# accepted risks\n"
		"\n"
		"CVE-1   # by alias\n"
		"  A-HIGH exp:2099-12-31\n"
		"A-MED exp:2001-01-01\n"
		"CVE-NOT-FOUND\r\n";
	struct strbuf sum = STRBUF_INIT;
	json_t *r, *s;
	(void)state;

	scan_ignore_add_text(&ig, trivy, strlen(trivy), ".trivyignore", 1700000000);
	scan_ignore_add_text(&ig, "A-LOW\n", 6, ".ferryignore", 1700000000);
	assert_int_equal(ig.n, 4);
	assert_string_equal(ig.ids[3], "A-LOW");
	assert_int_equal(json_array_size(ig.expired), 1);
	r = scan_report_make(sample(), &ig, SCAN_CRITICAL, NULL);
	assert_true(json_is_true(json_object_get(r, "passed")));
	s = json_object_get(r, "suppressed");
	assert_int_equal(json_array_size(s), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(s, 0), "id")), "A-CRIT");
	assert_string_equal(json_string_value(json_object_get(json_array_get(s, 0), "suppressed_by")), ".trivyignore");
	assert_string_equal(json_string_value(json_object_get(json_array_get(s, 2), "suppressed_by")), ".ferryignore");
	/* A-MED's suppression expired: still reported */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "summary"), "MEDIUM")), 1);
	assert_int_equal(json_array_size(json_object_get(r, "ignore_files")), 2);
	scan_report_summary(r, &sum);
	assert_string_equal(sum.buf, "0 critical, 0 high, 1 medium, 0 low, 1 unknown; 3 suppressed");
	json_decref(r);
	strbuf_release(&sum);
	scan_ignore_release(&ig);
}

static json_t *by_id(json_t *arr, const char *id)
{
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
		if (!strcmp(json_string_value(json_object_get(v, "id")), id))
			return v;
	return NULL;
}

static void external(void **state)
{
	struct ferr e = FERR_INIT;
	json_t *tr = json_array(), *gr = json_array(), *mine, *v;
	size_t len;
	char *text;
	(void)state;

	text = testfs_read(DATA_DIR "/scan", "trivy.json", &len);
	assert_int_equal(scan_parse_trivy(text, len, tr, &e), 3);
	free(text);
	v = by_id(tr, "CVE-2023-5678");
	assert_string_equal(json_string_value(json_object_get(v, "package")), "libssl3");
	assert_string_equal(json_string_value(json_object_get(v, "fixed_version")), "3.0.13-1~deb12u1");
	assert_string_equal(json_string_value(json_object_get(v, "where")), "debian 12.5");
	v = by_id(tr, "CVE-2024-0001");
	assert_true(json_is_null(json_object_get(v, "fixed_version")));
	assert_string_equal(json_string_value(json_object_get(v, "title")), "no title, only a description");
	assert_string_equal(json_string_value(json_object_get(by_id(tr, "GHSA-c2qf-rxjj-qqgw"), "where")),
			    "app/node_modules/semver/package.json");

	text = testfs_read(DATA_DIR "/scan", "grype.json", &len);
	assert_int_equal(scan_parse_grype(text, len, gr, &e), 2);
	free(text);
	v = by_id(gr, "GHSA-c2qf-rxjj-qqgw");
	assert_string_equal(json_string_value(json_object_get(v, "severity")), "MEDIUM");
	assert_string_equal(json_string_value(json_array_get(json_object_get(v, "aliases"), 0)), "CVE-2022-25883");
	assert_string_equal(json_string_value(json_object_get(by_id(gr, "CVE-2005-2541"), "severity")), "LOW");

	/* Merged into the built-in findings: the one already found (by its
	 * alias) is not doubled, it gains a source. */
	mine = json_pack("[{s:s, s:[s], s:s, s:s, s:s}]", "id", "CVE-2022-25883", "aliases",
			 "GHSA-c2qf-rxjj-qqgw", "package", "semver", "installed_version", "7.5.1",
			 "severity", "HIGH");
	assert_int_equal(scan_merge(mine, gr, "grype"), 1);
	assert_int_equal(json_array_size(mine), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(mine, 0), "sources"), 0)), "grype");
	assert_string_equal(json_string_value(json_object_get(json_array_get(mine, 1), "source")), "grype");

	assert_int_equal(scan_parse_trivy("{\"Results\": 3}", 14, tr, &e), -1);
	ferr_clear(&e);
	assert_int_equal(scan_parse_grype("not json", 8, gr, &e), -1);
	json_decref(tr);
	json_decref(gr);
	json_decref(mine);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(levels),
		cmocka_unit_test(policy),
		cmocka_unit_test(ignore_files),
		cmocka_unit_test(external),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
