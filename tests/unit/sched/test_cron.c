/* Tests of sched/cron beyond the table: parsed bit sets and flags, odd
 * inputs, a randomized comparison with a naive evaluator in UTC (glibc's
 * gmtime_r for the calendar), a minute-by-minute simulation of cronie's
 * main loop across real DST transitions, limits, and threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched/cron.h"
#include "sched/tz.h"

static void parse_ok(struct cron *c, const char *expr)
{
	struct ferr e = FERR_INIT;

	if (cron_parse(c, expr, &e) < 0)
		fail_msg("\"%s\" refused: %s", expr, e.msg);
}

static void test_parse_bits(void **state)
{
	struct cron c;

	(void)state;
	parse_ok(&c, "*/15 * * * *");
	assert_true(c.minute == ((1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45)));
	assert_int_equal(c.hour, 0xffffff);
	assert_int_equal(c.dom, 0xfffffffe);
	assert_int_equal(c.month, 0x1ffe);
	assert_int_equal(c.dow, 0x7f);
	assert_int_equal(c.flags, CRON_MIN_STAR | CRON_HOUR_STAR | CRON_DOM_STAR | CRON_DOW_STAR);
	assert_true(cron_is_wildcard(&c));

	parse_ok(&c, "5 4 * * sun");
	assert_true(c.minute == 1ull << 5);
	assert_int_equal(c.hour, 1u << 4);
	assert_int_equal(c.dow, 1u);
	assert_int_equal(c.flags, CRON_DOM_STAR);
	assert_false(cron_is_wildcard(&c));

	parse_ok(&c, "0 0 * * 7");
	assert_int_equal(c.dow, 1u);
	parse_ok(&c, "0 0 * * 0,7");
	assert_int_equal(c.dow, 1u);
	parse_ok(&c, "0 0 * * sat-sun");
	assert_int_equal(c.dow, (1u << 6) | 1u);
	parse_ok(&c, "0 0 * * MON-Fri");
	assert_int_equal(c.dow, 0x3e);
	parse_ok(&c, "0 0 1,15 * wed");
	assert_int_equal(c.flags, 0u);
	parse_ok(&c, "0 0 */2 * mon");
	assert_int_equal(c.flags, CRON_DOM_STAR);
	parse_ok(&c, "0 0 1 dec,JAN,Feb *");
	assert_int_equal(c.month, (1u << 12) | (1u << 1) | (1u << 2));
	parse_ok(&c, "0 12-14/2,20 * * *");
	assert_int_equal(c.hour, (1u << 12) | (1u << 14) | (1u << 20));
	parse_ok(&c, "58/1 * * * *");
	assert_true(c.minute == ((1ull << 58) | (1ull << 59)));

	/* macros are their five-field equivalents */
	struct cron m;
	parse_ok(&m, "@hourly");
	parse_ok(&c, "0 * * * *");
	assert_memory_equal(&m, &c, sizeof(c));
	assert_true(cron_is_wildcard(&m));
	parse_ok(&m, "@weekly");
	parse_ok(&c, "0 0 * * 0");
	assert_memory_equal(&m, &c, sizeof(c));
	parse_ok(&m, "@annually");
	parse_ok(&c, "0 0 1 1 *");
	assert_memory_equal(&m, &c, sizeof(c));
}

static void test_parse_odd_input(void **state)
{
	struct ferr e = FERR_INIT;
	struct cron c, before;
	char big[CRON_EXPR_MAX + 16];

	(void)state;
	memset(&before, 0xab, sizeof(before));
	c = before;
	assert_int_equal(cron_parse(&c, NULL, &e), -1);
	assert_string_equal(e.msg, "empty schedule: expected five fields (minute hour "
			    "day-of-month month day-of-week) or a macro such as @daily");
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "invalid");
	assert_memory_equal(&c, &before, sizeof(c)); /* untouched on failure */

	ferr_clear(&e);
	assert_int_equal(cron_parse(&c, " \t ", &e), -1);
	assert_string_equal(e.code, "invalid");

	ferr_clear(&e);
	assert_int_equal(cron_parse(&c, "0 0 * * *\n", &e), -1);
	assert_string_equal(e.msg, "schedule contains a control or non-ASCII character at "
			    "position 10");
	ferr_clear(&e);
	assert_int_equal(cron_parse(&c, "0 0 * * \xc3\xa9", &e), -1);
	assert_string_equal(e.msg, "schedule contains a control or non-ASCII character at "
			    "position 9");

	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "0 0 * * *", 9);
	parse_ok(&c, big); /* trailing blanks do not count */
	memset(big, '1', sizeof(big) - 1);
	ferr_clear(&e);
	assert_int_equal(cron_parse(&c, big, &e), -1);
	assert_string_equal(e.msg, "schedule is longer than 1024 characters");

	/* NULL error object is allowed */
	assert_int_equal(cron_parse(&c, "61 * * * *", NULL), -1);
}

/* --- randomized comparison with a naive evaluator (UTC) ---------------- */

struct naive {
	bool set[5][64];
	bool star[5];
};

static const int lo_of[5] = { 0, 0, 1, 1, 0 };
static const int hi_of[5] = { 59, 23, 31, 12, 7 };
static const char *const mon3[] = { "jan", "feb", "mar", "apr", "may", "jun",
				    "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const dow3[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

static void put_value(char *buf, size_t len, int f, int v)
{
	size_t at = strlen(buf);

	if (f == 3 && rnd(3) == 0)
		snprintf(buf + at, len - at, "%s", mon3[v - 1]);
	else if (f == 4 && v < 7 && rnd(3) == 0)
		snprintf(buf + at, len - at, "%s", dow3[v]);
	else
		snprintf(buf + at, len - at, "%d", v);
}

/* Appends one random field to buf and records what it means in n. */
static void gen_field(char *buf, size_t len, int f, struct naive *n)
{
	int lo0 = lo_of[f], hi0 = hi_of[f], span = hi0 - lo0 + 1;
	int elems = 1 + (int)rnd(3);
	size_t at;

	memset(n->set[f], 0, sizeof(n->set[f]));
	if (rnd(3) == 0) {
		elems = 1;
		at = strlen(buf);
		if (rnd(2)) {
			snprintf(buf + at, len - at, "*");
			for (int v = lo0; v <= hi0; v++)
				n->set[f][v] = true;
		} else {
			int step = 1 + (int)rnd((unsigned)hi0);
			snprintf(buf + at, len - at, "*/%d", step);
			for (int v = lo0; v <= hi0; v += step)
				n->set[f][v] = true;
		}
		n->star[f] = true;
		goto fold;
	}
	n->star[f] = false;
	for (int i = 0; i < elems; i++) {
		int a = lo0 + (int)rnd((unsigned)span), b = a + (int)rnd((unsigned)(hi0 - a + 1));
		int kind = (int)rnd(4), step = 1;
		if (i)
			strncat(buf, ",", len - strlen(buf) - 1);
		put_value(buf, len, f, a);
		if (kind == 1 || kind == 3) {
			at = strlen(buf);
			snprintf(buf + at, len - at, "-");
			put_value(buf, len, f, b);
		}
		if (kind >= 2) {
			step = 1 + (int)rnd((unsigned)hi0);
			at = strlen(buf);
			snprintf(buf + at, len - at, "/%d", step);
		}
		int end = kind == 0 ? a : kind == 2 ? hi0 : b;
		for (int v = a; v <= end; v += step)
			n->set[f][v] = true;
	}
fold:
	if (f == 4 && n->set[4][7])
		n->set[4][0] = true;
}

static bool naive_day(const struct naive *n, const struct tm *tm)
{
	bool dom = n->set[2][tm->tm_mday], dow = n->set[4][tm->tm_wday];

	if (!n->set[3][tm->tm_mon + 1])
		return false;
	return (n->star[2] || n->star[4]) ? dom && dow : dom || dow;
}

/* First minute strictly after `after` within 30 years, or -1. */
static int64_t naive_next(const struct naive *n, int64_t after)
{
	int64_t first = (after / 60 + 1) * 60; /* after >= 0 here */
	int64_t day = first / 86400 * 86400;

	for (int i = 0; i < 366 * 30; i++, day += 86400) {
		time_t t = (time_t)day;
		struct tm tm;
		gmtime_r(&t, &tm);
		if (!naive_day(n, &tm))
			continue;
		for (int h = 0; h < 24; h++) {
			if (!n->set[1][h])
				continue;
			for (int m = 0; m < 60; m++) {
				int64_t cand = day + h * 3600 + m * 60;
				if (n->set[0][m] && cand >= first)
					return cand;
			}
		}
	}
	return -1;
}

static void test_random_against_naive(void **state)
{
	int compared = 0, refused = 0;

	(void)state;
	for (int i = 0; i < 4000; i++) {
		char expr[512] = "";
		struct naive n;
		struct cron c;
		struct ferr e = FERR_INIT;

		for (int f = 0; f < 5; f++) {
			if (f)
				strncat(expr, " ", sizeof(expr) - strlen(expr) - 1);
			gen_field(expr, sizeof(expr), f, &n);
		}
		if (cron_parse(&c, expr, &e) < 0) {
			/* only "never runs" may be refused: check that it is true */
			if (strncmp(e.msg, "never runs:", 11) != 0)
				fail_msg("\"%s\" refused: %s", expr, e.msg);
			int64_t t = naive_next(&n, 946684800LL);
			if (t >= 0)
				fail_msg("\"%s\" refused as never running, but runs at %lld",
					 expr, (long long)t);
			refused++;
			continue;
		}
		for (int k = 0; k < 3; k++) {
			int64_t after = 946684800LL + (int64_t)rnd(40u * 366 * 86400);
			int64_t want = naive_next(&n, after);
			time_t got;
			if (want < 0)
				continue;
			if (cron_next(&c, NULL, (time_t)after, &got, &e) < 0)
				fail_msg("\"%s\": %s", expr, e.msg);
			if ((int64_t)got != want)
				fail_msg("\"%s\" after %lld: got %lld, naive %lld", expr,
					 (long long)after, (long long)got, (long long)want);
			compared++;
		}
	}
	printf("compared %d, refused %d\n", compared, refused);
	assert_true(compared > 9000);
}

/* --- cronie simulation across DST -------------------------------------- */

static bool cron_matches_civil(const struct cron *c, int64_t vmin)
{
	int64_t days = tz_floor_div(vmin, 1440), mod = vmin - days * 1440, y;
	int mo, d, wd = tz_weekday(days);
	int h = (int)(mod / 60), mi = (int)(mod % 60);
	bool dom, dow;

	tz_civil_from_days(days, &y, &mo, &d);
	if (!(c->minute >> mi & 1) || !(c->hour >> h & 1) || !(c->month >> mo & 1))
		return false;
	dom = c->dom >> d & 1;
	dow = c->dow >> wd & 1;
	return (c->flags & (CRON_DOM_STAR | CRON_DOW_STAR)) ? dom && dow : dom || dow;
}

/* cronie's cron.c main loop, one tick per real minute from `start`: records
 * the instants at which jobs would be started. Returns the count. */
static size_t simulate_cronie(const struct cron *c, const struct tz *tz, int64_t start,
			      int64_t end, int64_t *runs, size_t max)
{
	bool wild = cron_is_wildcard(c);
	size_t n = 0;
	int64_t t = start;
	int64_t vt = tz_floor_div(t + tz_offset_at(tz, t), 60);

#define RUN(v, dowild, dononwild)                                                \
	do {                                                                     \
		if (cron_matches_civil(c, (v)) &&                                \
		    ((wild && (dowild)) || (!wild && (dononwild))) &&            \
		    (n == 0 || runs[n - 1] != t) && n < max)                     \
			runs[n++] = t;                                           \
	} while (0)

	while (t < end) {
		t += 60;
		int64_t clock = tz_floor_div(t + tz_offset_at(tz, t), 60);
		int64_t diff = clock - vt;
		if (diff == 1) {
			vt = clock;
			RUN(vt, true, true);
		} else if (diff > 180 || diff < -180) {
			vt = clock;
			RUN(clock, true, true);
		} else if (diff > 5) {
			RUN(clock, true, false);
			while (vt < clock) {
				vt++;
				RUN(vt, false, true);
			}
		} else if (diff > 0) {
			while (vt < clock) {
				vt++;
				RUN(vt, true, true);
			}
		} else {
			RUN(clock, true, false);
		}
	}
#undef RUN
	return n;
}

static void test_dst_against_cronie(void **state)
{
	static const char *const sim_zones[] = {
		"Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe",
		"America/Sao_Paulo", "Antarctica/Troll", "Pacific/Apia", "Pacific/Chatham",
		"Africa/Casablanca", "America/Santiago",
	};
	static const char *const exprs[] = {
		"30 2 * * *", "0 2 * * *", "*/15 * * * *", "30 * * * *", "0,30 1-3 * * *",
		"*/5 2 * * *", "0 3 * * *", "59 1 * * *", "0-59 2 * * *", "15 2,3 * * *",
		"0 0 * * *", "* * * * *", "45 23 * * *", "0 */2 * * *", "30 0 * * *",
		"0 1 * * *",
	};
	int windows = 0;

	(void)state;
	for (size_t z = 0; z < sizeof(sim_zones) / sizeof(sim_zones[0]); z++) {
		const struct tz *tz;
		struct ferr e = FERR_INIT;
		struct tz_span sp;
		int64_t t = 1293840000LL; /* 2011-01-01 */

		assert_int_equal(tz_get(&tz, sim_zones[z], &e), 0);
		for (;;) {
			tz_span_at(tz, t, &sp);
			if (sp.end >= 1767225600LL) /* 2026-01-01 */
				break;
			t = sp.end;
			windows++;
			/* a window of a day and a half on each side of the change */
			int64_t from = tz_floor_div(sp.end - 129600, 60) * 60;
			int64_t to = sp.end + 129600;
			for (size_t x = 0; x < sizeof(exprs) / sizeof(exprs[0]); x++) {
				struct cron c;
				static int64_t sim[8192];
				time_t got;
				size_t ns, i = 0;
				int64_t prev;

				parse_ok(&c, exprs[x]);
				/* the simulated daemon starts a day earlier, so it has
				 * a history at `from` */
				ns = simulate_cronie(&c, tz, from - 86400, to, sim, 8192);
				while (i < ns && sim[i] <= from)
					i++;
				prev = from;
				for (;;) {
					if (cron_next(&c, tz, (time_t)prev, &got, &e) < 0)
						fail_msg("%s", e.msg);
					if (got > to)
						break;
					if (i >= ns || sim[i] != (int64_t)got)
						fail_msg("%s \"%s\" near %lld: cron_next %lld, "
							 "cronie %lld", sim_zones[z], exprs[x],
							 (long long)sp.end, (long long)got,
							 i < ns ? (long long)sim[i] : -1LL);
					i++;
					prev = got;
				}
				if (i != ns)
					fail_msg("%s \"%s\" near %lld: cronie also runs at %lld",
						 sim_zones[z], exprs[x], (long long)sp.end,
						 (long long)sim[i]);
			}
		}
	}
	printf("%d transitions simulated\n", windows);
	assert_true(windows > 100);
}

/* --- limits ------------------------------------------------------------ */

static void test_limits(void **state)
{
	struct cron c;
	struct ferr e = FERR_INIT;
	time_t t;

	(void)state;
	parse_ok(&c, "* * * * *");
	assert_int_equal(cron_next(&c, NULL, (time_t)253402300800LL, &t, &e), -1);
	assert_string_equal(e.msg, "time 253402300800 is outside the supported years 1-9999");
	ferr_clear(&e);
	assert_int_equal(cron_next(&c, NULL, (time_t)-62135596801LL, &t, &e), -1);
	ferr_clear(&e);
	assert_int_equal(cron_next(&c, NULL, (time_t)-62135596800LL, &t, &e), 0);
	assert_int_equal((int64_t)t, -62135596740LL);

	/* a struct cron not made by cron_parse that can never fire */
	memset(&c, 0, sizeof(c));
	c.minute = 1;
	c.hour = 1;
	c.dom = 1u << 30;
	c.month = 1u << 2;
	c.dow = 0x7f;
	c.flags = CRON_DOW_STAR;
	ferr_clear(&e);
	assert_int_equal(cron_next(&c, NULL, 0, &t, &e), -1);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.code, "never_runs");
	assert_string_equal(e.msg, "never runs: no matching time within 400 years");
}

static void test_next_n_and_speed(void **state)
{
	const struct tz *tz;
	struct ferr e = FERR_INIT;
	struct cron c;
	time_t out[5];
	struct timespec a, b;

	(void)state;
	assert_int_equal(tz_get(&tz, "Europe/Berlin", &e), 0);
	/* Feb 29 falling on a Sunday: years apart, found by skipping fields */
	parse_ok(&c, "0 0 29 2 */7");
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(cron_next_n(&c, tz, 1700000000, 5, out, &e), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	/* 2032, 2060, 2088, then 2128: 2100 is no leap year, which breaks the
	 * 28-year cycle */
	static const int years[5] = { 2032, 2060, 2088, 2128, 2156 };
	for (int i = 0; i < 5; i++) {
		int64_t days = tz_floor_div(out[i] + tz_offset_at(tz, out[i]), 86400), y;
		int m, d;
		tz_civil_from_days(days, &y, &m, &d);
		assert_int_equal(y, years[i]);
		assert_int_equal(m, 2);
		assert_int_equal(d, 29);
		assert_int_equal(tz_weekday(days), 0);
	}
	double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	/* Printed, not asserted: speed belongs to benchmarks, and this runs
	 * under valgrind too. (Minute by minute would be ~60 million steps per
	 * call: minutes, not milliseconds.) */
	printf("1000 x next five of \"0 0 29 2 */7\" in Europe/Berlin: %.1f ms\n", ms);
}

/* --- threads ----------------------------------------------------------- */

struct job {
	const char *zone;
	const char *expr;
	time_t want[5];
	int ok;
};

static struct job jobs[] = {
	{ "Europe/Berlin", "30 2 * * *", { 0 }, 0 },
	{ "America/New_York", "*/20 1 * * *", { 0 }, 0 },
	{ "Australia/Lord_Howe", "15 2 * * sun", { 0 }, 0 },
	{ "Asia/Kathmandu", "@hourly", { 0 }, 0 },
};

static void *thread_worker(void *arg)
{
	(void)arg;
	for (int round = 0; round < 300; round++) {
		struct job *j = &jobs[round % 4];
		const struct tz *tz;
		struct cron c;
		struct ferr e = FERR_INIT;
		time_t got[5];

		if (tz_get(&tz, j->zone, &e) < 0 || cron_parse(&c, j->expr, &e) < 0 ||
		    cron_next_n(&c, tz, 1729900000, 5, got, &e) < 0 ||
		    memcmp(got, j->want, sizeof(got)) != 0)
			return (void *)1;
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t th[6];

	(void)state;
	for (int i = 0; i < 4; i++) {
		struct tz *tz;
		struct cron c;
		struct ferr e = FERR_INIT;
		assert_int_equal(tz_load(&tz, jobs[i].zone, NULL, &e), 0);
		parse_ok(&c, jobs[i].expr);
		assert_int_equal(cron_next_n(&c, tz, 1729900000, 5, jobs[i].want, &e), 0);
		tz_free(tz);
	}
	for (int i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thread_worker, NULL), 0);
	for (int i = 0; i < 6; i++) {
		void *r;
		assert_int_equal(pthread_join(th[i], &r), 0);
		assert_null(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_bits),
		cmocka_unit_test(test_parse_odd_input),
		cmocka_unit_test(test_random_against_naive),
		cmocka_unit_test(test_dst_against_cronie),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_next_n_and_speed),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
