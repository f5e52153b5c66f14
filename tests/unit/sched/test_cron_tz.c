/* Tests of sched/tz: offsets agree with glibc's localtime_r (an independent
 * TZif reader; this test is single-threaded, so setting TZ here is fine),
 * span invariants, hand-built TZif files for the footer rules, name
 * validation, and robustness against truncated or corrupt files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched/tz.h"

static const char *const zones[] = {
	"Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe",
	"America/Sao_Paulo", "Europe/Dublin", "Antarctica/Troll", "Pacific/Apia",
	"Asia/Kathmandu", "America/St_Johns", "Africa/Casablanca", "Asia/Tehran",
	"Pacific/Chatham", "America/Santiago", "Europe/London", "Asia/Tokyo",
};

static int32_t glibc_offset(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	assert_non_null(localtime_r(&tt, &tm));
	return (int32_t)tm.tm_gmtoff;
}

static void check_span(const struct tz *tz, int64_t t)
{
	struct tz_span sp;

	tz_span_at(tz, t, &sp);
	assert_true(sp.start <= t && t < sp.end);
	assert_int_equal(sp.utoff, tz_offset_at(tz, t));
	if (sp.start != INT64_MIN) {
		assert_int_equal(tz_offset_at(tz, sp.start), sp.utoff);
		assert_int_equal(tz_offset_at(tz, sp.start - 1), sp.prev_utoff);
		assert_int_not_equal(sp.prev_utoff, sp.utoff);
	}
	if (sp.end != INT64_MAX) {
		assert_int_equal(tz_offset_at(tz, sp.end - 1), sp.utoff);
		assert_int_equal(tz_offset_at(tz, sp.end), sp.next_utoff);
		assert_int_not_equal(sp.next_utoff, sp.utoff);
	}
}

/* 1970..2100 every ~5 days at shifting times of day, plus every span edge. */
static void test_matches_glibc(void **state)
{
	(void)state;
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		struct tz *tz;
		struct ferr e = FERR_INIT;
		char env[160];

		assert_int_equal(tz_load(&tz, zones[z], NULL, &e), 0);
		assert_string_equal(tz_name(tz), zones[z]);
		snprintf(env, sizeof(env), ":%s", zones[z]);
		setenv("TZ", env, 1);
		tzset();
		for (int64_t t = 0; t < 4102444800LL; t += 5 * 86400 + 3917) {
			int32_t want = glibc_offset(t), got = tz_offset_at(tz, t);
			if (want != got)
				fail_msg("%s at %lld: offset %d, glibc says %d", zones[z],
					 (long long)t, got, want);
			check_span(tz, t);
		}
		/* walk the spans themselves */
		struct tz_span sp;
		int64_t t = 0;
		int spans = 0;
		while (t < 4102444800LL) {
			tz_span_at(tz, t, &sp);
			if (sp.end == INT64_MAX)
				break;
			if (glibc_offset(sp.end) != sp.next_utoff ||
			    glibc_offset(sp.end - 1) != sp.utoff)
				fail_msg("%s: span edge %lld disagrees with glibc", zones[z],
					 (long long)sp.end);
			check_span(tz, sp.end);
			t = sp.end;
			spans++;
		}
		tz_free(tz);
	}
	unsetenv("TZ");
	tzset();
}

static void test_utc(void **state)
{
	struct tz_span sp;
	struct tz *tz;
	struct ferr e = FERR_INIT;

	(void)state;
	tz_span_at(NULL, 12345, &sp);
	assert_true(sp.start == INT64_MIN && sp.end == INT64_MAX && sp.utoff == 0);
	assert_string_equal(tz_name(tz_utc()), "UTC");
	assert_string_equal(tz_name(NULL), "UTC");
	assert_int_equal(tz_load(&tz, "UTC", NULL, &e), 0);
	assert_int_equal(tz_offset_at(tz, 1700000000), 0);
	tz_free(tz);
	tz_free(NULL);
	tz_free((struct tz *)tz_utc()); /* a no-op, documented */
	assert_int_equal(tz_load(&tz, "Etc/UTC", NULL, &e), 0);
	tz_span_at(tz, 1700000000, &sp);
	assert_int_equal(sp.utoff, 0);
	assert_true(sp.end == INT64_MAX);
	tz_free(tz);
}

static void test_names(void **state)
{
	static const char *const bad[] = {
		"", "/etc/passwd", "../etc/passwd", "Europe/../../etc/passwd", "Europe//Berlin",
		"Europe/Berlin/", "Europe/.hidden", "Europe/Berlin ", "Europe\\Berlin",
		"Europe/Ber\nlin", "..",
	};
	struct ferr e;
	struct tz *tz;
	char longname[300];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ferr_clear(&e);
		if (tz_validate_name(bad[i], &e) == 0)
			fail_msg("name \"%s\" was accepted", bad[i]);
		assert_int_equal(e.status, 400);
	}
	ferr_clear(&e);
	assert_int_equal(tz_validate_name("/etc/passwd", &e), -1);
	assert_string_equal(e.msg, "time zone \"/etc/passwd\": must be a zone name such as "
			    "\"Europe/Berlin\", not a path");
	ferr_clear(&e);
	assert_int_equal(tz_load(&tz, "../../etc/passwd", NULL, &e), -1);
	assert_null(tz);
	assert_string_equal(e.msg, "time zone \"../../etc/passwd\": a component may not "
			    "start with '.'");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ferr_clear(&e);
	assert_int_equal(tz_validate_name(longname, &e), -1);

	assert_int_equal(tz_validate_name("America/Argentina/Buenos_Aires", NULL), 0);
	assert_int_equal(tz_validate_name("Etc/GMT+5", NULL), 0);
	assert_int_equal(tz_validate_name("America/Port-au-Prince", NULL), 0);

	ferr_clear(&e);
	assert_int_equal(tz_load(&tz, "Mars/Olympus_Mons", NULL, &e), -1);
	assert_int_equal(e.status, 404);
	assert_string_equal(e.code, "not_found");
	assert_string_equal(e.msg, "unknown time zone \"Mars/Olympus_Mons\": use an IANA "
			    "name such as \"Europe/Berlin\" or \"UTC\"");
	ferr_clear(&e);
	assert_int_equal(tz_load(&tz, "Europe", NULL, &e), -1);
	assert_int_equal(e.status, 404);
	assert_string_equal(e.msg, "unknown time zone \"Europe\": it names a directory of "
			    "zones, not a zone");
	ferr_clear(&e);
	assert_int_equal(tz_load(&tz, "Europe/Berlin", "/nonexistent-zoneinfo", &e), -1);
	assert_int_equal(e.status, 404);
	/* a file that exists but is no TZif file */
	ferr_clear(&e);
	assert_int_equal(tz_load(&tz, "zone1970.tab", NULL, &e), -1);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.msg, "time zone \"zone1970.tab\": not a valid TZif file: it "
			    "does not start with a TZif header");
}

static void test_leap_second_zone_refused(void **state)
{
	struct ferr e = FERR_INIT;
	struct tz *tz;
	FILE *f = fopen(TZ_DEFAULT_DIR "/right/Europe/Berlin", "re");

	(void)state;
	if (!f)
		skip(); /* tzdata without the right/ tree */
	fclose(f);
	assert_int_equal(tz_load(&tz, "right/Europe/Berlin", NULL, &e), -1);
	assert_string_equal(e.msg, "time zone \"right/Europe/Berlin\" counts leap seconds (a "
			    "right/ zone); use the zone without the right/ prefix");
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	unsigned char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Every truncation of a real file is refused (never read past the end:
 * ASan watches), and flipping bytes never crashes. */
static void test_truncated_and_corrupt(void **state)
{
	size_t len;
	unsigned char *buf = slurp(TZ_DEFAULT_DIR "/America/New_York", &len);
	struct tz *tz;

	(void)state;
	for (size_t n = 0; n < len; n++) {
		unsigned char *copy = malloc(n ? n : 1);
		struct ferr e = FERR_INIT;
		memcpy(copy, buf, n);
		if (tz_parse(&tz, "trunc", copy, n, &e) == 0)
			fail_msg("a %zu-byte prefix of a %zu-byte file was accepted", n, len);
		assert_int_equal(e.status, 400);
		free(copy);
	}
	srand(7);
	for (int round = 0; round < 3000; round++) {
		unsigned char *copy = malloc(len);
		memcpy(copy, buf, len);
		for (int k = 0; k < 1 + round % 4; k++)
			copy[(size_t)rand() % len] ^= (unsigned char)(1u << (rand() % 8));
		if (tz_parse(&tz, "flip", copy, len, NULL) == 0) {
			for (int64_t t = -2000000000LL; t < 5000000000LL; t += 86400 * 97)
				check_span(tz, t);
			tz_free(tz);
		}
		free(copy);
	}
	free(buf);
}

/* --- hand-built TZif files --------------------------------------------- */

static void put32(unsigned char **p, uint32_t v)
{
	(*p)[0] = (unsigned char)(v >> 24);
	(*p)[1] = (unsigned char)(v >> 16);
	(*p)[2] = (unsigned char)(v >> 8);
	(*p)[3] = (unsigned char)v;
	*p += 4;
}

/* A v2 file with no transitions, one type of offset `off`, and `footer`:
 * what zic -b slim writes for a zone whose rules never changed. */
static size_t make_slim(unsigned char *buf, int32_t off, const char *footer)
{
	unsigned char *p = buf;

	for (int pass = 0; pass < 2; pass++) {
		memcpy(p, "TZif2", 5);
		memset(p + 5, 0, 15);
		p += 20;
		put32(&p, 0); /* isutcnt */
		put32(&p, 0); /* isstdcnt */
		put32(&p, 0); /* leapcnt */
		put32(&p, 0); /* timecnt */
		put32(&p, 1); /* typecnt */
		put32(&p, 4); /* charcnt */
		put32(&p, (uint32_t)off);
		*p++ = 0;
		*p++ = 0;
		memcpy(p, "XXX", 4);
		p += 4;
	}
	*p++ = '\n';
	memcpy(p, footer, strlen(footer));
	p += strlen(footer);
	*p++ = '\n';
	return (size_t)(p - buf);
}

static void compare_footer_with_zone(const char *footer, int32_t std_off, const char *zone,
				     int64_t from, int64_t to)
{
	unsigned char buf[512];
	size_t len = make_slim(buf, std_off, footer);
	struct tz *mine, *real;
	struct ferr e = FERR_INIT;

	if (tz_parse(&mine, "slim", buf, len, &e) < 0)
		fail_msg("footer %s: %s", footer, e.msg);
	assert_int_equal(tz_load(&real, zone, NULL, &e), 0);
	for (int64_t t = from; t < to; t += 86400 + 3599) {
		if (tz_offset_at(mine, t) != tz_offset_at(real, t))
			fail_msg("footer %s at %lld: %d, %s has %d", footer, (long long)t,
				 tz_offset_at(mine, t), zone, tz_offset_at(real, t));
		check_span(mine, t);
	}
	tz_free(mine);
	tz_free(real);
}

static void test_footer_rules(void **state)
{
	(void)state;
	/* 2008-2040: the rules in force there are the footers' rules */
	compare_footer_with_zone("CET-1CEST,M3.5.0,M10.5.0/3", 3600, "Europe/Berlin",
				 1199145600LL, 2208988800LL);
	compare_footer_with_zone("EST5EDT,M3.2.0,M11.1.0", -18000, "America/New_York",
				 1199145600LL, 2208988800LL);
	compare_footer_with_zone("AEST-10AEDT,M10.1.0,M4.1.0/3", 36000, "Australia/Sydney",
				 1230768000LL, 2208988800LL);
	compare_footer_with_zone("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 37800,
				 "Australia/Lord_Howe", 1230768000LL, 2208988800LL);
	compare_footer_with_zone("<+0330>-3:30", 12600, "Asia/Tehran",
				 1700000000LL, 2208988800LL);
}

static void test_footer_forms(void **state)
{
	unsigned char buf[512];
	size_t len;
	struct tz *tz;
	struct ferr e = FERR_INIT;

	(void)state;
	/* all-year DST (RFC 8536 3.3.1): always -4h */
	len = make_slim(buf, -18000, "EST5EDT,0/0,J365/25");
	assert_int_equal(tz_parse(&tz, "x", buf, len, &e), 0);
	for (int64_t t = 1600000000LL; t < 1800000000LL; t += 86400 * 3 + 7)
		assert_int_equal(tz_offset_at(tz, t), -4 * 3600);
	tz_free(tz);

	/* Julian day forms: DST from J60 (Mar 1) to zero-based day 300 */
	len = make_slim(buf, 0, "AAA0BBB,J60/0,300/0");
	assert_int_equal(tz_parse(&tz, "x", buf, len, &e), 0);
	/* 2024-03-01T00:00Z starts DST; 2024 day 300 (zero-based) is Oct 27 */
	assert_int_equal(tz_offset_at(tz, 1709251199), 0);
	assert_int_equal(tz_offset_at(tz, 1709251200), 3600);
	assert_int_equal(tz_offset_at(tz, 1729987200 - 3600 - 1), 3600);
	assert_int_equal(tz_offset_at(tz, 1729987200 - 3600), 0);
	tz_free(tz);

	/* malformed footers are refused */
	static const char *const bad[] = {
		"CET-1CEST", "CET-1CEST,M3.5.0", "CET-1CEST,M13.5.0,M10.5.0",
		"C-1", "CET", "CET-1CEST,M3.5.0,M10.5.0/3 trailing", "<AB>1",
		"CET-25", "CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,J0,J100",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ferr_clear(&e);
		len = make_slim(buf, 3600, bad[i]);
		if (tz_parse(&tz, "bad", buf, len, &e) == 0)
			fail_msg("footer \"%s\" accepted", bad[i]);
		assert_string_equal(e.msg, "time zone \"bad\": not a valid TZif file: its "
				    "POSIX TZ footer cannot be parsed");
	}
	/* an empty footer: the single type's offset applies forever */
	len = make_slim(buf, 7200, "");
	assert_int_equal(tz_parse(&tz, "x", buf, len, &e), 0);
	assert_int_equal(tz_offset_at(tz, 4000000000LL), 7200);
	tz_free(tz);
}

/* The version 1 block alone (32-bit times, no footer) is read too. */
static void test_version1(void **state)
{
	size_t len;
	unsigned char *buf = slurp(TZ_DEFAULT_DIR "/Europe/Paris", &len);
	struct tz *v1, *full;
	struct ferr e = FERR_INIT;

	(void)state;
	buf[4] = 0;
	assert_int_equal(tz_parse(&v1, "v1", buf, len, &e), 0);
	assert_int_equal(tz_load(&full, "Europe/Paris", NULL, &e), 0);
	/* Debian ships "fat" files: 32-bit transitions up to 2037 */
	for (int64_t t = 0; t < 2000000000LL; t += 86400 * 2 + 11)
		assert_int_equal(tz_offset_at(v1, t), tz_offset_at(full, t));
	tz_free(v1);
	tz_free(full);
	free(buf);
}

static void *cache_worker(void *arg)
{
	const struct tz *tz;
	struct ferr e = FERR_INIT;
	int64_t sum = 0;

	(void)arg;
	for (int i = 0; i < 200; i++) {
		const char *name = zones[i % (sizeof(zones) / sizeof(zones[0]))];
		if (tz_get(&tz, name, &e) < 0)
			return (void *)1;
		sum += tz_offset_at(tz, 1700000000LL + i * 86400LL);
	}
	return (void *)(intptr_t)(sum == 0 ? 1 : 0);
}

static void test_cache_threads(void **state)
{
	pthread_t th[8];
	const struct tz *a, *b;
	struct ferr e = FERR_INIT;

	(void)state;
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, cache_worker, NULL), 0);
	for (int i = 0; i < 8; i++) {
		void *r;
		assert_int_equal(pthread_join(th[i], &r), 0);
		assert_null(r);
	}
	assert_int_equal(tz_get(&a, "Europe/Berlin", &e), 0);
	assert_int_equal(tz_get(&b, "Europe/Berlin", &e), 0);
	assert_ptr_equal(a, b);
	assert_int_equal(tz_get(&a, "UTC", &e), 0);
	assert_ptr_equal(a, tz_utc());
	assert_int_equal(tz_get(&a, "No/Such_Zone", &e), -1);
	assert_null(a);
}

static void test_calendar(void **state)
{
	int64_t y;
	int m, d;

	(void)state;
	assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(tz_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(tz_days_from_civil(1969, 12, 31), -1);
	assert_int_equal(tz_weekday(0), 4);       /* Thursday */
	assert_int_equal(tz_weekday(-1), 3);
	assert_int_equal(tz_days_in_month(2100, 2), 28);
	assert_int_equal(tz_days_in_month(2000, 2), 29);
	assert_int_equal(tz_floor_div(-1, 60), -1);
	assert_int_equal(tz_floor_div(-60, 60), -1);
	/* round trip over a wide range, checked against timegm/gmtime_r */
	for (int64_t z = -800000; z < 3000000; z += 37) {
		struct tm tm;
		time_t t = (time_t)(z * 86400);
		tz_civil_from_days(z, &y, &m, &d);
		assert_int_equal(tz_days_from_civil(y, m, d), z);
		assert_non_null(gmtime_r(&t, &tm));
		assert_int_equal(y, tm.tm_year + 1900);
		assert_int_equal(m, tm.tm_mon + 1);
		assert_int_equal(d, tm.tm_mday);
		assert_int_equal(tz_weekday(z), tm.tm_wday);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calendar),
		cmocka_unit_test(test_utc),
		cmocka_unit_test(test_matches_glibc),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_leap_second_zone_refused),
		cmocka_unit_test(test_truncated_and_corrupt),
		cmocka_unit_test(test_footer_rules),
		cmocka_unit_test(test_footer_forms),
		cmocka_unit_test(test_version1),
		cmocka_unit_test(test_cache_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
