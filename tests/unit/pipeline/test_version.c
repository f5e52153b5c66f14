/* Unit tests of pipeline/version: each ordering against its published
 * vectors.
 *
 *  - dpkg: the cases of dpkg's own lib/dpkg/t/t-version.c (equality, epoch,
 *    version and revision differences) and of scripts/t/Dpkg_Version.t,
 *    plus Debian security-update shapes (+debNNuM, ~debNNuM). Every row was
 *    checked against `dpkg --compare-versions` on Debian 12.
 *  - semver: semver.org §11's precedence examples.
 *  - PEP 440: the spec's ordering example ("Summary of permitted suffixes
 *    and relative ordering") and its normalisation section, checked against
 *    python3-packaging's Version.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/version.h"

#include "lib/banned.h"

struct row {
	const char *a, *b;
	int want;
};

static int sgn(int v) { return (v > 0) - (v < 0); }

static void check_rows(enum version_scheme s, const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int got = sgn(version_cmp(s, rows[i].a, rows[i].b));
		int back = sgn(version_cmp(s, rows[i].b, rows[i].a));

		if (got != rows[i].want || back != -rows[i].want)
			fail_msg("scheme %d: cmp(%s, %s) = %d (reverse %d), want %d", (int)s,
			         rows[i].a, rows[i].b, got, back, rows[i].want);
	}
}

/* Each element strictly below the next; also checks transitivity over the
 * whole list. */
static void check_chain(enum version_scheme s, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			int want = i < j ? -1 : i > j ? 1 : 0;
			int got = sgn(version_cmp(s, v[i], v[j]));
			if (got != want)
				fail_msg("scheme %d: cmp(%s, %s) = %d, want %d", (int)s, v[i], v[j],
				         got, want);
		}
}

static void test_dpkg(void **state)
{
	static const struct row rows[] = {
	{ "1.0", "1.0", 0 },
	{ "1.0", "2.0", -1 },
	{ "2.0", "1.0", 1 },
	{ "1.0-0", "1.0", 0 },
	{ "0:1.0", "1.0", 0 },
	{ "0:0-0", "0:0-0", 0 },
	{ "0:0-00", "0:00-0", 0 },
	{ "1:2-3", "1:2-3", 0 },
	{ "0:0-0", "1:0-0", -1 },
	{ "1:0-0", "0:0-0", 1 },
	{ "0:a-0", "0:b-0", -1 },
	{ "1:a-0", "0:b-0", 1 },
	{ "0:0-a", "0:0-b", -1 },
	{ "1.0-1", "2.0-2", -1 },
	{ "2.2~rc-4", "2.2-1", -1 },
	{ "2.2-1", "2.2~rc-4", 1 },
	{ "1.0000-1", "1.0-1", 0 },
	{ "1", "0:1", 0 },
	{ "0", "0:0-0", 0 },
	{ "2:2.5", "1:7.5", 1 },
	{ "1:0foo", "0foo", 1 },
	{ "0:0foo", "0foo", 0 },
	{ "0foo", "0foo", 0 },
	{ "0foo-0", "0foo", 0 },
	{ "0foo", "0foo-0", 0 },
	{ "0foo", "0fo", 1 },
	{ "0foo-0", "0foo+", -1 },
	{ "0foo~1", "0foo", -1 },
	{ "0foo~foo+Bar", "0foo~foo+bar", -1 },
	{ "0foo~~", "0foo~", -1 },
	{ "1~", "1", -1 },
	{ "12345+that-really-is-some-ver-0", "12345+that-really-is-some-ver-10", -1 },
	{ "0foo-0", "0foo-01", -1 },
	{ "0foo.bar", "0foobar", 1 },
	{ "0foo.bar", "0foo1bar", 1 },
	{ "0foo.bar", "0foo0bar", 1 },
	{ "0foo1bar-1", "0foobar-1", -1 },
	{ "0foo2.0", "0foo2", 1 },
	{ "0foo2.0.0", "0foo2.10.0", -1 },
	{ "0foo2.0", "0foo2.0.0", -1 },
	{ "0foo2.0", "0foo2.10", -1 },
	{ "0foo2.1", "0foo2.10", -1 },
	{ "1.09", "1.9", 0 },
	{ "1.0.8+nmu1", "1.0.8", 1 },
	{ "3.11", "3.10+nmu1", 1 },
	{ "0.9j-20080306-4", "0.9i-20070324-2", 1 },
	{ "1.2.0~b7-1", "1.2.0~b6-1", 1 },
	{ "1.011-1", "1.06-2", 1 },
	{ "0.0.9+dfsg1-1", "0.0.8+dfsg1-3", 1 },
	{ "4.6.99+svn6582-1", "4.6.99+svn6496-1", 1 },
	{ "53", "52", 1 },
	{ "0.9.9~pre122-1", "0.9.9~pre111-1", 1 },
	{ "2:2.3.2-2+lenny2", "2:2.3.2-2", 1 },
	{ "1:3.8.1-1", "3.8.GA-1", 1 },
	{ "1.0.1+gpl-1", "1.0.1-2", 1 },
	{ "1a", "1000a", -1 },
	{ "1.0~rc1", "1.0", -1 },
	{ "1.0~rc1~", "1.0~rc1", -1 },
	{ "1.0a", "1.0+", -1 },
	{ "1.0a", "1.0.", -1 },
	{ "1.0+b1", "1.0", 1 },
	{ "2.36-9+deb12u4", "2.36-9+deb12u3", 1 },
	{ "2.36-9+deb12u4", "2.36-9", 1 },
	{ "7.88.1-10+deb12u5", "7.88.1-10+deb12u12", -1 },
	{ "3.0.11-1~deb12u2", "3.0.11-1", -1 },
	{ "1:1.2.13.dfsg-1", "1.2.13.dfsg-2", 1 },
	};
	(void)state;
	check_rows(VERSION_DPKG, rows, sizeof(rows) / sizeof(rows[0]));
}

static void test_dpkg_valid(void **state)
{
	(void)state;
	assert_true(version_valid_dpkg("1.0"));
	assert_true(version_valid_dpkg("1:2.36-9+deb12u4"));
	assert_true(version_valid_dpkg("0.9.9~pre122-1"));
	assert_false(version_valid_dpkg(""));
	assert_false(version_valid_dpkg("a1.0"));      /* upstream starts with a digit */
	assert_false(version_valid_dpkg("x:1.0"));     /* epoch is a number */
	assert_false(version_valid_dpkg("1.0 beta"));
	assert_false(version_valid_dpkg("1.0-a_b"));   /* '_' not allowed */
}

static void test_semver_precedence(void **state)
{
	/* semver.org §11, in order. */
	static const char *const chain[] = {
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1",
	};
	static const struct row rows[] = {
		/* build metadata does not count (§10) */
		{ "1.0.0+20130313144700", "1.0.0", 0 },
		{ "1.0.0-beta+exp.sha.5114f85", "1.0.0-beta", 0 },
		{ "1.0.0-alpha+001", "1.0.0-alpha+002", 0 },
		/* numbers compare numerically, also past 64 bits */
		{ "1.10.0", "1.9.0", 1 },
		{ "100000000000000000000.0.0", "99999999999999999999.0.0", 1 },
		/* numeric identifiers below alphanumeric ones */
		{ "1.0.0-1", "1.0.0-a", -1 },
		{ "1.0.0-a-1", "1.0.0-a", 1 },
		/* Go: the v prefix, +incompatible, pseudo-versions */
		{ "v1.2.3", "1.2.3", 0 },
		{ "v2.0.0+incompatible", "v2.0.0", 0 },
		{ "v0.0.0-20230101120000-abcdef123456", "v0.0.0-20230202120000-abcdef123456", -1 },
		{ "v0.0.0-20230101120000-abcdef123456", "v0.0.1", -1 },
		{ "v1.2.4-0.20230101120000-abcdef123456", "v1.2.3", 1 },
		{ "v1.2.4-0.20230101120000-abcdef123456", "v1.2.4", -1 },
		/* lenient forms seen in advisories */
		{ "1.2", "1.2.0", 0 },
		{ "1", "1.0.0", 0 },
		{ "0", "0.0.1", -1 },
	};
	(void)state;
	check_chain(VERSION_SEMVER, chain, sizeof(chain) / sizeof(chain[0]));
	check_rows(VERSION_SEMVER, rows, sizeof(rows) / sizeof(rows[0]));
}

static void test_semver_valid(void **state)
{
	(void)state;
	assert_true(version_valid_semver("1.0.0-alpha.1+build.5"));
	assert_true(version_valid_semver("v1.2.3"));
	assert_true(version_valid_semver("0.0.0-20230101120000-abcdef123456"));
	assert_false(version_valid_semver("1.2"));
	assert_false(version_valid_semver("01.2.3"));         /* leading zero */
	assert_false(version_valid_semver("1.2.3-01"));       /* numeric pre-release with zero */
	assert_false(version_valid_semver("1.2.3-"));
	assert_false(version_valid_semver("1.2.3-a..b"));
}

static void test_pep440_order(void **state)
{
	/* PEP 440, "Summary of permitted suffixes and relative ordering". */
	static const char *const chain[] = {
		"1.dev0", "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
		"1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345",
		"1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5",
		"1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1",
	};
	static const struct row rows[] = {
		/* epochs */
		{ "1!1.0", "2.0", 1 },
		{ "1.0", "1!0.1", -1 },
		{ "0!1.0", "1.0", 0 },
		/* release segments: trailing zeros and leading zeros do not count */
		{ "1.0", "1.0.0", 0 },
		{ "1.0.0.0", "1", 0 },
		{ "1.01", "1.1", 0 },
		{ "1.10", "1.9", 1 },
		/* strings that are not PEP 440 sort before every version */
		{ "not-a-version", "0.0.1", -1 },
	};
	(void)state;
	check_chain(VERSION_PEP440, chain, sizeof(chain) / sizeof(chain[0]));
	check_rows(VERSION_PEP440, rows, sizeof(rows) / sizeof(rows[0]));
}

static void test_pep440_normalisation(void **state)
{
	/* PEP 440, "Normalization": each pair is the same version. */
	static const struct row rows[] = {
		{ "1.0ALPHA1", "1.0a1", 0 }, { "1.0-a1", "1.0a1", 0 }, { "1.0.a.1", "1.0a1", 0 },
		{ "1.0a", "1.0a0", 0 }, { "1.1.0c1", "1.1rc1", 0 }, { "1.0beta2", "1.0b2", 0 },
		{ "1.0pre3", "1.0rc3", 0 }, { "1.0preview3", "1.0rc3", 0 },
		{ "1.0-r4", "1.0.post4", 0 }, { "1.0.rev4", "1.0.post4", 0 },
		{ "1.0.post", "1.0.post0", 0 }, { "1.0-1", "1.0.post1", 0 },
		{ "1.0-dev", "1.0.dev0", 0 }, { "1.0_dev_2", "1.0.dev2", 0 },
		{ "v1.0", "1.0", 0 }, { " 1.0\n", "1.0", 0 }, { "1.0.POST1", "1.0.post1", 0 },
		{ "1.0+ubuntu-1", "1.0+ubuntu.1", 0 }, { "1.0+Local", "1.0+local", 0 },
	};
	(void)state;
	check_rows(VERSION_PEP440, rows, sizeof(rows) / sizeof(rows[0]));
	assert_true(version_valid_pep440("1!2.0.post1.dev3+local.7"));
	assert_false(version_valid_pep440("1.0abc"));
	assert_false(version_valid_pep440("1.0+"));
	assert_false(version_valid_pep440("french toast"));
}

static void test_apk(void **state)
{
	/* apk ordering as version.h describes it: pre-release suffixes, letters,
	 * post-release suffixes and -rN revisions. */
	static const char *const chain[] = {
		"1.0_alpha", "1.0_alpha2", "1.0_beta", "1.0_pre1", "1.0_rc1", "1.0", "1.0-r1",
		"1.0-r10", "1.0_p1", "1.0a", "1.0b", "1.0.1", "1.1", "1.10", "2.0",
	};
	static const struct row rows[] = {
		{ "1.2.3-r0", "1.2.3", 0 },
		{ "3.0.8-r0", "3.0.10-r0", -1 },
		{ "1.36.1-r5", "1.36.1-r15", -1 },
		{ "2.4.57_git20230101-r0", "2.4.57-r0", 1 },
	};
	(void)state;
	check_chain(VERSION_APK, chain, sizeof(chain) / sizeof(chain[0]));
	check_rows(VERSION_APK, rows, sizeof(rows) / sizeof(rows[0]));
}

/* Orderings must stay total on junk: antisymmetric and no crash. */
static void test_junk_is_ordered(void **state)
{
	static const char *const junk[] = {
		"", "~", "-", ":", "::", "1:", ":1", "-1", "1-", "v", "+", "1..2", "1.-2",
		"\xff\xfe", "9999999999999999999999999999", "1!", "!1", "1.0+", "_1", "1_", "r",
	};
	static const enum version_scheme schemes[] = {
		VERSION_DPKG, VERSION_APK, VERSION_SEMVER, VERSION_PEP440,
	};
	size_t n = sizeof(junk) / sizeof(junk[0]);
	(void)state;
	for (size_t s = 0; s < 4; s++)
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n; j++) {
				int a = sgn(version_cmp(schemes[s], junk[i], junk[j]));
				int b = sgn(version_cmp(schemes[s], junk[j], junk[i]));
				if (a != -b)
					fail_msg("scheme %zu: %s vs %s not antisymmetric", s, junk[i],
					         junk[j]);
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dpkg),
		cmocka_unit_test(test_dpkg_valid),
		cmocka_unit_test(test_semver_precedence),
		cmocka_unit_test(test_semver_valid),
		cmocka_unit_test(test_pep440_order),
		cmocka_unit_test(test_pep440_normalisation),
		cmocka_unit_test(test_apk),
		cmocka_unit_test(test_junk_is_ordered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
