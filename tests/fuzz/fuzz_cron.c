/* libFuzzer target for schedules: the cron expression parser, the TZif
 * reader, and next-run evaluation through both.
 *
 * The first byte picks the mode, the rest is the input:
 *   even: a cron expression. Whatever cron_parse accepts must yield five
 *         strictly increasing UTC run times, each on a minute that the
 *         expression matches.
 *   odd:  a TZif file. Whatever tz_parse accepts must give consistent spans,
 *         and fixed-time and wildcard schedules must evaluate through it
 *         to increasing times without hanging.
 * Every refusal must carry a message.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined
 *   ninja -C build-fuzz tests/fuzz/fuzz_cron
 *   ./build-fuzz/tests/fuzz/fuzz_cron -max_len=4096
 * Seed corpus suggestion: "\0" + lines of tests/unit/sched/cron_cases.txt,
 * and "\1" + files of /usr/share/zoneinfo.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sched/cron.h"
#include "sched/tz.h"

#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_match_utc(const struct cron *c, time_t t)
{
	int64_t days = tz_floor_div((int64_t)t, 86400), sod = (int64_t)t - days * 86400, y;
	int m, d, wd = tz_weekday(days);
	int h = (int)(sod / 3600), mi = (int)(sod % 3600 / 60);
	int dom, dow;

	if (sod % 60 != 0)
		abort(); /* runs are on whole minutes */
	tz_civil_from_days(days, &y, &m, &d);
	if (!(c->minute >> mi & 1) || !(c->hour >> h & 1) || !(c->month >> m & 1))
		abort();
	dom = c->dom >> d & 1;
	dow = c->dow >> wd & 1;
	if ((c->flags & (CRON_DOM_STAR | CRON_DOW_STAR)) ? !(dom && dow) : !(dom || dow))
		abort();
}

static void fuzz_expr(const char *s)
{
	struct cron c;
	struct ferr e = FERR_INIT;
	time_t out[5];
	static const time_t starts[] = { 0, 1709251199, -2208988800LL, 253402000000LL };

	if (cron_parse(&c, s, &e) < 0) {
		if (!e.msg[0])
			abort();
		return;
	}
	for (size_t k = 0; k < sizeof(starts) / sizeof(starts[0]); k++) {
		ferr_clear(&e);
		if (cron_next_n(&c, NULL, starts[k], 5, out, &e) < 0) {
			/* only running off the end of year 9999 may fail */
			if (strcmp(e.msg, "the next run is after the year 9999") != 0)
				abort();
			continue;
		}
		time_t prev = starts[k];
		for (int i = 0; i < 5; i++) {
			if (out[i] <= prev)
				abort();
			check_match_utc(&c, out[i]);
			prev = out[i];
		}
	}
}

static void fuzz_tzif(const uint8_t *data, size_t size)
{
	struct tz *tz;
	struct ferr e = FERR_INIT;
	static const char *const exprs[] = { "30 2 * * *", "*/7 * * * *", "0 0 29 2 *" };

	if (tz_parse(&tz, "fuzz", data, size, &e) < 0) {
		if (!e.msg[0])
			abort();
		return;
	}
	for (int64_t t = -4000000000LL; t < 8000000000LL; t += 86400 * 29 + 3607) {
		struct tz_span sp;
		tz_span_at(tz, t, &sp);
		if (!(sp.start <= t && t < sp.end) || tz_offset_at(tz, t) != sp.utoff)
			abort();
		if (sp.end != INT64_MAX && tz_offset_at(tz, sp.end) != sp.next_utoff)
			abort();
		if (sp.start != INT64_MIN && tz_offset_at(tz, sp.start - 1) != sp.prev_utoff)
			abort();
	}
	for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
		struct cron c;
		time_t out[5];
		if (cron_parse(&c, exprs[i], &e) < 0)
			abort();
		if (cron_next_n(&c, tz, 1600000000, 5, out, &e) == 0)
			for (int k = 1; k < 5; k++)
				if (out[k] <= out[k - 1])
					abort();
	}
	tz_free(tz);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		fuzz_tzif(data + 1, size - 1);
		return 0;
	}
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	fuzz_expr(s);
	free(s);
	return 0;
}
